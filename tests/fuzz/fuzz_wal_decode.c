/*
 * libFuzzer target for the write-ahead log's batch decoder
 * (cv_wal_decode_batch), which the recovery scan runs over whatever it finds
 * on disk.
 *
 * Input: [mode][bytes...].
 * - raw: the bytes as a batch, as found on a damaged disk.
 * - fixed: the bytes as a batch with every record CRC and the batch CRC
 *   recomputed first (as far as the lengths allow), so the structure checks
 *   behind the checksums get exercised.
 * - built: the bytes cut into records (type, length, payload) and encoded
 *   with cv_wal_batch_*, then one byte changed.
 *
 * Properties beyond "no crash, no read outside the buffer" (ASan/UBSan; the
 * buffer is an exact-size heap copy and the callback reads every record
 * byte): a decoded batch's length is a BLOCK multiple covering its header
 * and payload; records come in strictly increasing zxid order inside the
 * input; a built batch decodes to exactly the records put in; changing any
 * byte before its padding makes it invalid; changing padding does not.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv_crc.h"
#include "cv_wal.h"

enum { M_RAW, M_FIXED, M_BUILT, M_COUNT };

#define MAX_RECS 64

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_wal_decode: property violated: %s\n", what);
        abort();
    }
}

struct seen {
    const uint8_t *lo, *hi;
    uint32_t n;
    int64_t prev;
    uint32_t sum;
    struct cv_wal_rec rec[MAX_RECS];
};

static int touch(void *ctx, const struct cv_wal_rec *r)
{
    struct seen *s = ctx;
    check(r->data >= s->lo && r->data + r->len <= s->hi, "record inside the input");
    check(s->n == 0 || r->zxid > s->prev, "zxids increase");
    uint32_t sum = 0;
    for (uint32_t i = 0; i < r->len; i++)
        sum += r->data[i]; /* ASan checks every byte */
    s->sum += sum;
    if (s->n < MAX_RECS)
        s->rec[s->n] = *r;
    s->n++;
    s->prev = r->zxid;
    return 0;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static long decode(const uint8_t *p, size_t n, struct seen *s)
{
    memset(s, 0, sizeof *s);
    s->lo = p;
    s->hi = p + n;
    long k = cv_wal_decode_batch(p, n, 0, touch, s);
    check(k == -EBADMSG || k > 0, "returns a length or -EBADMSG");
    if (k > 0) {
        check(k % CV_WAL_BLOCK == 0, "length is a BLOCK multiple");
        check((size_t)k >= CV_WAL_BATCH_HDR + rd32(p + 8), "length covers the batch");
        check((size_t)k < n + CV_WAL_BLOCK, "length within one BLOCK of the input");
        check(s->n == rd32(p + 4), "every record handed over");
    }
    return k;
}

/* Recompute the record CRCs and the batch CRC of the batch at p. */
static void fix_crcs(uint8_t *p, size_t n)
{
    if (n < CV_WAL_BATCH_HDR)
        return;
    uint32_t count = rd32(p + 4), payload = rd32(p + 8);
    if (payload > n - CV_WAL_BATCH_HDR)
        payload = (uint32_t)(n - CV_WAL_BATCH_HDR);
    uint8_t *q = p + CV_WAL_BATCH_HDR, *end = q + payload;
    for (uint32_t i = 0; i < count && (size_t)(end - q) >= CV_WAL_RECORD_HDR; i++) {
        uint32_t len = rd32(q);
        if (len > (size_t)(end - q) - CV_WAL_RECORD_HDR)
            break;
        wr32(q + 16, cv_crc32c_update(cv_crc32c(q, 16), q + CV_WAL_RECORD_HDR, len));
        q += CV_WAL_RECORD_HDR + len;
    }
    wr32(p + 40, cv_crc32c_update(cv_crc32c(p, 40), p + CV_WAL_BATCH_HDR, payload));
}

static void built(const uint8_t *d, size_t n)
{
    static uint8_t buf[16 * CV_WAL_BLOCK];
    struct cv_wal_batch b;
    cv_wal_batch_init(&b, buf, sizeof buf);
    /* [u16 flip position][records: u8 type, u8 len, len bytes]... */
    if (n < 2)
        return;
    size_t flip = (size_t)d[0] | (size_t)d[1] << 8;
    size_t i = 2;
    int64_t zxid = 1;
    const uint8_t *data[MAX_RECS];
    uint32_t lens[MAX_RECS], types[MAX_RECS];
    uint32_t count = 0;
    while (i + 2 <= n && count < MAX_RECS) {
        uint32_t type = d[i], len = d[i + 1];
        i += 2;
        if (len > n - i)
            len = (uint32_t)(n - i);
        zxid += 1 + type % 3;
        check(cv_wal_batch_add(&b, zxid, type, d + i, len) == 0, "record fits");
        data[count] = d + i;
        lens[count] = len;
        types[count] = type;
        count++;
        i += len;
    }
    if (!count)
        return;
    size_t used = b.used;
    size_t len = cv_wal_batch_seal(&b, 1 + flip);
    struct seen s;
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    check(decode(copy, len, &s) == (long)len, "a built batch decodes");
    check(s.n == count, "as many records as were added");
    for (uint32_t k = 0; k < count; k++)
        check(s.rec[k].type == types[k] && s.rec[k].len == lens[k] &&
                  memcmp(s.rec[k].data, data[k], lens[k]) == 0,
              "records decode as added");
    size_t at = flip % len;
    copy[at] ^= (uint8_t)(1 + d[n - 1] % 255);
    long k = decode(copy, len, &s);
    if (at < used)
        check(k == -EBADMSG, "a changed byte before the padding is caught");
    else
        check(k == (long)len, "padding is not checked");
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % M_COUNT;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (mode == M_BUILT) {
        built(p, n);
        return 0;
    }
    /* An exact-size heap copy: any read past n is an ASan report. */
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);
    if (mode == M_FIXED)
        fix_crcs(copy, n);
    struct seen s;
    decode(copy, n, &s);
    free(copy);
    return 0;
}
