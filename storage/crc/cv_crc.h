/*
 * cv_crc — checksums for records on disk and messages on the wire, computed
 * with Intel ISA-L (runtime-dispatched SSE4.2/PCLMUL/AVX code paths).
 *
 * Contract: pure functions over caller-owned bytes; no allocation, no locks,
 * callable from any lcore. Conventional parameters, so values match other
 * tools: cv_crc32c is CRC-32C (Castagnoli, iSCSI; "123456789" -> 0xE3069283),
 * cv_crc64 is CRC-64/XZ (ECMA-182 reflected; "123456789" -> 0x995DC9BBDF1939FA).
 * Both may be chained: crc(a || b) == crc_update(crc(a), b).
 */
#ifndef CV_CRC_H
#define CV_CRC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uint32_t cv_crc32c_update(uint32_t crc, const void *buf, size_t len);
uint64_t cv_crc64_update(uint64_t crc, const void *buf, size_t len);

static inline uint32_t cv_crc32c(const void *buf, size_t len)
{
    return cv_crc32c_update(0, buf, len);
}

static inline uint64_t cv_crc64(const void *buf, size_t len)
{
    return cv_crc64_update(0, buf, len);
}

#ifdef __cplusplus
}
#endif
#endif /* CV_CRC_H */
