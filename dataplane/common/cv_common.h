/*
 * cv_common — assertions and small helpers shared by every component.
 *
 * CV_ASSERT states an invariant. It is checked unless NDEBUG is defined and
 * CV_ASSERT_ALWAYS is not; corvid's CMake defines CV_ASSERT_ALWAYS for every
 * build type, so only a hand-made -DNDEBUG build without it drops them. A
 * failed assertion prints the condition and location and aborts: an
 * invariant that does not hold means state can no longer be trusted.
 * CV_VERIFY is for conditions that would corrupt data: checked in all builds.
 */
#ifndef CV_COMMON_H
#define CV_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CV_LIKELY(x)   __builtin_expect(!!(x), 1)
#define CV_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define CV_VERIFY(cond)                                                                            \
    do {                                                                                           \
        if (CV_UNLIKELY(!(cond))) {                                                                \
            fprintf(stderr, "corvid: invariant violated: %s (%s:%d)\n", #cond, __FILE__,           \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#if defined(NDEBUG) && !defined(CV_ASSERT_ALWAYS)
#define CV_ASSERT(cond) ((void)0)
#else
#define CV_ASSERT(cond) CV_VERIFY(cond)
#endif

#define CV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The power-of-two bucket of v among n (every latency histogram: bucket b
 * holds [2^b, 2^(b+1)); bucket 0 also 0, bucket n-1 also everything above). */
static inline unsigned cv_log2_bucket(uint64_t v, unsigned n)
{
    unsigned b = v ? 63u - (unsigned)__builtin_clzll(v) : 0;
    return b < n ? b : n - 1;
}

#endif /* CV_COMMON_H */
