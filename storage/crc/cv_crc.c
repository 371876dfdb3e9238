/* cv_crc — ISA-L wrappers. Contract in cv_crc.h. */
#include "cv_crc.h"

#include <isa-l/crc.h>
#include <isa-l/crc64.h>
#include <limits.h>

uint32_t cv_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
    /* ISA-L's crc32_iscsi neither pre- nor post-inverts; the standard CRC-32C
     * does both. It also takes an int length, so feed huge buffers in parts. */
    uint32_t c = ~crc;
    const unsigned char *p = (const unsigned char *)buf;
    while (len > 0) {
        int n = len > (size_t)INT_MAX ? INT_MAX : (int)len;
        c = crc32_iscsi((unsigned char *)p, n, c);
        p += n;
        len -= (size_t)n;
    }
    return ~c;
}

uint64_t cv_crc64_update(uint64_t crc, const void *buf, size_t len)
{
    return crc64_ecma_refl(crc, (const unsigned char *)buf, len);
}
