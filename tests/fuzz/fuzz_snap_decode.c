/*
 * libFuzzer target for the snapshot file decoder (cv_snap_decode) and the
 * streaming verifier (cv_snap_verify_file).
 *
 * Input: [mode][image...]. Mode bit 0: recompute the header CRC32C and the
 * trailer CRC64 over the fuzzed bytes first, so the checks behind the
 * checksums (sizes, magics, reserved bytes) get exercised. Mode bit 1: also
 * write the image to a memfd and check that cv_snap_verify_file agrees with
 * cv_snap_decode. Properties beyond sanitizer cleanliness: a decoded body
 * lies inside the input, its length matches the header and the image size,
 * and every body byte is readable.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cv_crc.h"
#include "cv_snap.h"

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_snap_decode: property violated: %s\n", what);
        abort();
    }
}

static void fix_crcs(uint8_t *p, size_t n)
{
    if (n >= 64) {
        uint32_t c = cv_crc32c(p, 60);
        for (int i = 0; i < 4; i++)
            p[60 + i] = (uint8_t)(c >> (8 * i));
    }
    if (n >= 80) {
        uint64_t c = cv_crc64(p, n - 16);
        for (int i = 0; i < 8; i++)
            p[n - 16 + i] = (uint8_t)(c >> (8 * i));
    }
}

static int verify_via_file(const uint8_t *p, size_t n, struct cv_snap_info *info)
{
    int fd = memfd_create("fuzz_snap", MFD_CLOEXEC);
    check(fd >= 0, "memfd_create works");
    size_t off = 0;
    while (off < n) {
        ssize_t k = write(fd, p + off, n - off);
        check(k > 0, "memfd write works");
        off += (size_t)k;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int rc = cv_snap_verify_file(path, info);
    close(fd);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    size_t n = size - 1;
    uint8_t *p = malloc(n ? n : 1); /* an exact-size copy: ASan sees overreads */
    check(p != NULL, "malloc works");
    memcpy(p, data + 1, n);
    if (mode & 1)
        fix_crcs(p, n);

    struct cv_snap_info info;
    const uint8_t *body = NULL;
    size_t len = 0;
    int rc = cv_snap_decode(p, n, &info, &body, &len);
    check(rc == 0 || rc == -EBADMSG, "decode returns 0 or -EBADMSG");
    if (rc == 0) {
        check(body >= p && len <= n && (size_t)(body - p) <= n - len,
              "the body is inside the input");
        check(len == info.body_bytes && n == 64 + len + 16, "sizes agree");
        volatile uint8_t sum = 0;
        for (size_t i = 0; i < len; i++)
            sum ^= body[i];
        (void)sum;
    }
    if (mode & 2) {
        struct cv_snap_info vinfo;
        int vrc = verify_via_file(p, n, &vinfo);
        check(vrc == rc, "verify_file agrees with decode");
        check(rc != 0 || memcmp(&vinfo, &info, sizeof info) == 0, "and reports the same header");
    }
    free(p);
    return 0;
}
