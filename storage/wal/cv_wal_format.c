/*
 * cv_wal — on-disk format: segment headers, batch encoder, batch decoder.
 * Layout in cv_wal.h.
 */
#include <errno.h>

#include "cv_crc.h"
#include "cv_wal_int.h"

/* ---- segment header ------------------------------------------------------ */

void cv_wal__seg_hdr_write(uint8_t *p, const struct cv_wal_seg_hdr *h)
{
    memset(p, 0, CV_WAL_BLOCK);
    memcpy(p, CV_WAL_SEG_MAGIC, 8);
    cv_wal__put32(p + 8, CV_WAL_VERSION);
    cv_wal__put32(p + 12, CV_WAL_BLOCK);
    cv_wal__put64(p + 16, h->ensemble_id);
    cv_wal__put64(p + 24, h->epoch);
    cv_wal__put64(p + 32, (uint64_t)h->first_zxid);
    cv_wal__put64(p + 40, h->seg_seq);
    cv_wal__put32(p + 48, cv_crc32c(p, 48));
}

bool cv_wal__seg_hdr_read(const uint8_t *p, size_t n, struct cv_wal_seg_hdr *h)
{
    if (n < CV_WAL_BLOCK || memcmp(p, CV_WAL_SEG_MAGIC, 8) != 0 ||
        cv_wal__get32(p + 8) != CV_WAL_VERSION || cv_wal__get32(p + 12) != CV_WAL_BLOCK ||
        cv_wal__get32(p + 48) != cv_crc32c(p, 48))
        return false;
    h->ensemble_id = cv_wal__get64(p + 16);
    h->epoch = cv_wal__get64(p + 24);
    h->first_zxid = (int64_t)cv_wal__get64(p + 32);
    h->seg_seq = cv_wal__get64(p + 40);
    return true;
}

/* ---- batch encoder ------------------------------------------------------- */

void cv_wal_batch_init(struct cv_wal_batch *b, void *p, size_t cap)
{
    b->p = p;
    b->cap = cap;
    b->used = CV_WAL_BATCH_HDR;
    b->count = 0;
    b->first_zxid = b->last_zxid = 0;
}

int cv_wal_batch_add(struct cv_wal_batch *b, int64_t zxid, uint32_t type, const void *data,
                     uint32_t len)
{
    if (b->count && zxid <= b->last_zxid)
        return -EINVAL;
    if ((uint64_t)CV_WAL_RECORD_HDR + len > b->cap - b->used)
        return -ENOSPC;
    uint8_t *q = b->p + b->used;
    cv_wal__put32(q, len);
    cv_wal__put32(q + 4, type);
    cv_wal__put64(q + 8, (uint64_t)zxid);
    if (len)
        memcpy(q + CV_WAL_RECORD_HDR, data, len);
    cv_wal__put32(q + 16, cv_crc32c_update(cv_crc32c(q, 16), q + CV_WAL_RECORD_HDR, len));
    b->used += CV_WAL_RECORD_HDR + len;
    if (b->count++ == 0)
        b->first_zxid = zxid;
    b->last_zxid = zxid;
    return 0;
}

size_t cv_wal_batch_seal(struct cv_wal_batch *b, uint64_t seq)
{
    uint8_t *p = b->p;
    uint32_t payload = (uint32_t)(b->used - CV_WAL_BATCH_HDR);
    memcpy(p, CV_WAL_BATCH_MAGIC, 4);
    cv_wal__put32(p + 4, b->count);
    cv_wal__put32(p + 8, payload);
    cv_wal__put32(p + 12, 0);
    cv_wal__put64(p + 16, seq);
    cv_wal__put64(p + 24, (uint64_t)b->first_zxid);
    cv_wal__put64(p + 32, (uint64_t)b->last_zxid);
    cv_wal__put32(p + 40, cv_crc32c_update(cv_crc32c(p, 40), p + CV_WAL_BATCH_HDR, payload));
    cv_wal__put32(p + 44, 0);
    size_t total = (size_t)cv_wal__round_block(b->used);
    memset(p + b->used, 0, total - b->used);
    return total;
}

/* Keep only the records with zxid <= zxid (a batch being filled, or a copy
 * of a sealed one: the records are laid out the same way). */
void cv_wal__batch_cut(struct cv_wal_batch *b, int64_t zxid)
{
    if (!b->count || b->last_zxid <= zxid)
        return;
    size_t off = CV_WAL_BATCH_HDR;
    uint32_t kept = 0;
    int64_t last = 0;
    while (kept < b->count) {
        const uint8_t *q = b->p + off;
        int64_t z = (int64_t)cv_wal__get64(q + 8);
        if (z > zxid)
            break;
        last = z;
        kept++;
        off += CV_WAL_RECORD_HDR + cv_wal__get32(q);
    }
    if (!kept) {
        cv_wal_batch_init(b, b->p, b->cap);
        return;
    }
    b->used = off;
    b->count = kept;
    b->last_zxid = last;
}

/* ---- batch decoder ------------------------------------------------------- */

#define BAD(w)                                                                                     \
    do {                                                                                           \
        if (why)                                                                                   \
            *why = (w);                                                                            \
        return -EBADMSG;                                                                           \
    } while (0)

long cv_wal__decode(const uint8_t *p, size_t n, uint64_t expect_seq, bool has_floor, int64_t floor,
                    int64_t first_zxid, cv_wal_replay_fn fn, void *ctx, const char **why)
{
    if (n < CV_WAL_BATCH_HDR)
        BAD("truncated batch header");
    if (memcmp(p, CV_WAL_BATCH_MAGIC, 4) != 0)
        BAD(cv_wal__get32(p) == 0 ? "zeroes" : "no batch magic");
    uint32_t count = cv_wal__get32(p + 4);
    uint32_t payload = cv_wal__get32(p + 8);
    uint64_t seq = cv_wal__batch_seq(p);
    int64_t first = cv_wal__batch_first(p), last = cv_wal__batch_last(p);
    if (cv_wal__get32(p + 12) != 0 || cv_wal__get32(p + 44) != 0)
        BAD("reserved header bytes not zero");
    if (seq == 0 || (expect_seq && seq != expect_seq))
        BAD("batch sequence out of order");
    if (count == 0 || (uint64_t)count * CV_WAL_RECORD_HDR > payload ||
        payload > n - CV_WAL_BATCH_HDR)
        BAD("record count or payload length out of range");
    if (last < first || (has_floor && first <= floor) || (first_zxid && first != first_zxid))
        BAD("zxid range out of order");
    const uint8_t *q = p + CV_WAL_BATCH_HDR, *end = q + payload;
    if (cv_crc32c_update(cv_crc32c(p, 40), q, payload) != cv_wal__get32(p + 40))
        BAD("batch crc mismatch");

    int64_t prev = 0;
    for (uint32_t i = 0; i < count; i++) {
        if ((size_t)(end - q) < CV_WAL_RECORD_HDR)
            BAD("record header past the payload");
        uint32_t len = cv_wal__get32(q);
        if (len > (size_t)(end - q) - CV_WAL_RECORD_HDR)
            BAD("record past the payload");
        int64_t zxid = (int64_t)cv_wal__get64(q + 8);
        if (i == 0 ? zxid != first : zxid <= prev)
            BAD("record zxids out of order");
        if (cv_crc32c_update(cv_crc32c(q, 16), q + CV_WAL_RECORD_HDR, len) != cv_wal__get32(q + 16))
            BAD("record crc mismatch");
        prev = zxid;
        q += CV_WAL_RECORD_HDR + len;
    }
    if (q != end || prev != last)
        BAD("records do not fill the batch");

    if (fn) {
        q = p + CV_WAL_BATCH_HDR;
        for (uint32_t i = 0; i < count; i++) {
            struct cv_wal_rec r = {
                .zxid = (int64_t)cv_wal__get64(q + 8),
                .type = cv_wal__get32(q + 4),
                .data = q + CV_WAL_RECORD_HDR,
                .len = cv_wal__get32(q),
            };
            int rc = fn(ctx, &r);
            if (rc)
                return rc;
            q += CV_WAL_RECORD_HDR + r.len;
        }
    }
    return (long)cv_wal__round_block(CV_WAL_BATCH_HDR + (uint64_t)payload);
}

long cv_wal_decode_batch(const uint8_t *p, size_t n, uint64_t expect_seq, cv_wal_replay_fn fn,
                         void *ctx)
{
    return cv_wal__decode(p, n, expect_seq, false, 0, 0, fn, ctx, NULL);
}
