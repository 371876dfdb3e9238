/*
 * libFuzzer target for cv_chan's datagram decoder (cv_chan_parse,
 * cv_chan_iter_next) and the channel state machine that runs it on every
 * datagram from the network (cv_chan_recv, cv_chan_poll_tx).
 *
 * Input: [mode][bytes...].
 * - raw: the bytes as a datagram, as anything on the network may send.
 * - fixed: the bytes as a datagram with the CRC recomputed first, so the
 *   structure checks behind the checksum get exercised.
 * - built: the bytes cut into header fields and messages, encoded; it must
 *   decode to exactly what was put in, and one changed byte or any truncation
 *   must be rejected.
 * - chan: the bytes as a script driving two channels over a network the script
 *   controls (send, poll, deliver, duplicate, drop, reorder, rewrite a datagram
 *   with a valid CRC, inject bytes, restart, reset, advance time).
 *
 * Properties beyond "no crash, no read outside the buffer" (ASan/UBSan; every
 * datagram is an exact-size heap copy and every message byte is read): a
 * datagram that parses re-encodes to the same bytes and its messages tile its
 * body; cv_chan_recv returns 0, -EBADMSG or CV_CHAN_RESET; every datagram a
 * channel produces parses and fits max_dgram; next_due is > now once poll_tx
 * returned 0; and as long as the script has not forged a datagram, each end
 * delivers the other's streams in order, without gaps or duplicates, a new
 * stream only after a reset and from its first message.
 *
 * Built with -DCV_FUZZ_SEED_MAIN it is instead a seed generator:
 * `fuzz_chan_decode_seed DIR` writes one seed per mode.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv_chan.h"
#include "cv_crc.h"

enum { M_RAW, M_FIXED, M_BUILT, M_CHAN, M_COUNT };

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_chan_decode: property violated: %s\n", what);
        abort();
    }
}

static void wr(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static void fix_crc(uint8_t *d, size_t n)
{
    if (n >= CV_CHAN_CRC_SIZE)
        wr(d + n - CV_CHAN_CRC_SIZE, cv_crc32c(d, n - CV_CHAN_CRC_SIZE), 4);
}

/* Parse d (an exact-size heap buffer) and check what a successful parse promises. */
static int parse_checked(const uint8_t *d, size_t n)
{
    struct cv_chan_hdr h;
    struct cv_chan_iter it;
    int rc = cv_chan_parse(d, n, &h, &it);
    check(rc == 0 || rc == -EBADMSG, "parse returns 0 or -EBADMSG");
    if (rc != 0)
        return rc;
    check(n >= CV_CHAN_HDR_SIZE + CV_CHAN_CRC_SIZE, "a parsed datagram holds a header");
    check(h.src_inc != 0, "src is nonzero");
    check(h.count == 0 || (h.dst_inc != 0 && h.seq != 0 && h.seq <= UINT64_MAX - h.count),
          "data has dst and a seq that does not overflow");
    /* Re-encode: the wire form is canonical. */
    uint8_t *re = malloc(n);
    wr(re, CV_CHAN_MAGIC, 4);
    re[4] = CV_CHAN_VERSION;
    re[5] = 0;
    wr(re + 6, h.count, 2);
    wr(re + 8, h.src_inc, 8);
    wr(re + 16, h.dst_inc, 8);
    wr(re + 24, h.seq, 8);
    wr(re + 32, h.ack, 8);
    size_t off = CV_CHAN_HDR_SIZE;
    const uint8_t *m;
    size_t l;
    uint32_t k = 0;
    unsigned sum = 0;
    while (cv_chan_iter_next(&it, &m, &l)) {
        check(m >= d + CV_CHAN_HDR_SIZE + 4 && l <= (size_t)(d + n - CV_CHAN_CRC_SIZE - m),
              "message inside the body");
        check(m == d + off + 4, "messages are contiguous");
        for (size_t i = 0; i < l; i++)
            sum += m[i];
        wr(re + off, l, 4);
        memcpy(re + off + 4, m, l);
        off += 4 + l;
        k++;
    }
    (void)sum;
    check(k == h.count, "count messages");
    check(off == n - CV_CHAN_CRC_SIZE, "messages fill the body exactly");
    fix_crc(re, n);
    check(memcmp(re, d, n) == 0, "re-encodes to the same bytes");
    free(re);
    return 0;
}

static void one(const uint8_t *p, size_t n, int fix)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);
    if (fix)
        fix_crc(copy, n);
    parse_checked(copy, n);
    free(copy);
}

/* ---- built ---- */

#define MAX_MSGS 64

static void built(const uint8_t *d, size_t n)
{
    /* [u16 flip][u8 flipval][u8 src%4][u8 dst%4][u8 seq][u8 ack][u8 count-hint]
     * [messages: u8 len, bytes]... */
    if (n < 8)
        return;
    size_t flip = (size_t)d[0] << 8 | d[1];
    uint8_t flipval = (uint8_t)(1 + d[2] % 255);
    uint64_t src = 1 + d[3] % 4, dst = d[4] % 4, seq = d[5], ack = d[6];
    uint32_t count = 0;
    const uint8_t *msg[MAX_MSGS];
    size_t len[MAX_MSGS];
    size_t i = 8, body = 0;
    if (d[7] & 1) {
        src = UINT64_MAX - d[3];
        seq = UINT64_MAX - d[5]; /* near the top: overflow checks */
    }
    while (i < n && count < MAX_MSGS) {
        size_t l = d[i++];
        if (l > n - i)
            l = n - i;
        msg[count] = d + i;
        len[count] = l;
        body += 4 + l;
        count++;
        i += l;
    }
    size_t total = CV_CHAN_HDR_SIZE + body + CV_CHAN_CRC_SIZE;
    uint8_t *g = malloc(total);
    wr(g, CV_CHAN_MAGIC, 4);
    g[4] = CV_CHAN_VERSION;
    g[5] = 0;
    wr(g + 6, count, 2);
    wr(g + 8, src, 8);
    wr(g + 16, dst, 8);
    wr(g + 24, seq, 8);
    wr(g + 32, ack, 8);
    size_t off = CV_CHAN_HDR_SIZE;
    for (uint32_t k = 0; k < count; k++) {
        wr(g + off, len[k], 4);
        memcpy(g + off + 4, msg[k], len[k]);
        off += 4 + len[k];
    }
    fix_crc(g, total);
    int valid = count == 0 || (dst != 0 && seq != 0 && seq <= UINT64_MAX - count);
    struct cv_chan_hdr h;
    struct cv_chan_iter it;
    int rc = cv_chan_parse(g, total, &h, &it);
    check(rc == (valid ? 0 : -EBADMSG), "a built datagram parses iff its fields are legal");
    if (rc == 0) {
        check(h.src_inc == src && h.dst_inc == dst && h.seq == seq && h.ack == ack &&
                  h.count == count,
              "header decodes as built");
        const uint8_t *m;
        size_t l;
        for (uint32_t k = 0; k < count; k++) {
            check(cv_chan_iter_next(&it, &m, &l), "every message comes back");
            check(l == len[k] && memcmp(m, msg[k], l) == 0, "messages decode as built");
        }
        check(!cv_chan_iter_next(&it, &m, &l), "and no more");
        /* One changed byte anywhere is caught (CRC-32C catches every burst <= 32 bits). */
        uint8_t *bad = malloc(total);
        memcpy(bad, g, total);
        bad[flip % total] ^= flipval;
        check(cv_chan_parse(bad, total, NULL, NULL) == -EBADMSG, "a changed byte is caught");
        free(bad);
        /* Every truncation is caught: the message walk no longer ends at the CRC. */
        size_t cut = flip % total;
        uint8_t *short_copy = malloc(cut ? cut : 1);
        memcpy(short_copy, g, cut);
        check(cv_chan_parse(short_copy, cut, NULL, NULL) == -EBADMSG, "a truncation is caught");
        free(short_copy);
    }
    free(g);
}

/* ---- chan: two ends and a scripted network ---- */

#define POOL    16
#define END_MAX 4096

struct pkt {
    uint8_t *d;
    size_t n;
    int to;
};

struct end {
    struct cv_chan *c;
    uint64_t inc;
    /* as a sender */
    uint32_t epoch, sent;
    /* as a receiver */
    int have, reset_seen;
    uint32_t last_epoch, next;
};

struct world {
    struct cv_chan_config cfg;
    struct end e[2];
    struct pkt pool[POOL];
    int npool;
    int64_t now;
    int forged; /* a datagram not produced by an end was accepted: content checks off */
    int to;     /* receiver during a deliver callback */
};

static void on_deliver(void *ctx, const uint8_t *m, size_t l)
{
    struct world *w = ctx;
    struct end *r = &w->e[w->to];
    unsigned sum = 0;
    for (size_t i = 0; i < l; i++)
        sum += m[i]; /* ASan checks every byte */
    (void)sum;
    if (w->forged)
        return;
    check(l >= 8, "a delivered message is one that was sent");
    uint32_t epoch = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
    uint32_t k = (uint32_t)m[4] << 24 | (uint32_t)m[5] << 16 | (uint32_t)m[6] << 8 | m[7];
    for (size_t i = 8; i < l; i++)
        check(m[i] == (uint8_t)(k * 7 + i), "message intact");
    if (r->have && epoch == r->last_epoch) {
        check(!r->reset_seen, "no old stream after a reset");
        check(k == r->next, "in order, no gap, no duplicate");
    } else {
        check(!r->have || epoch > r->last_epoch, "an old stream does not come back");
        check(r->reset_seen, "a new stream only after a reset");
        check(k == 0, "a new stream starts at its first message");
        r->last_epoch = epoch;
    }
    r->have = 1;
    r->next = k + 1;
    r->reset_seen = 0;
}

static void new_epoch(struct end *e)
{
    e->epoch++;
    e->sent = 0;
    e->reset_seen = 1;
}

static void recv_at(struct world *w, int to, const uint8_t *d, size_t n, int forged)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, d, n);
    struct cv_chan_stats before, after;
    cv_chan_stats(w->e[to].c, &before);
    int was_forged = w->forged;
    w->to = to;
    if (forged && cv_chan_parse(copy, n, NULL, NULL) == 0)
        w->forged = 1;
    int rc = cv_chan_recv(w->e[to].c, copy, n, w->now, on_deliver, w);
    check(rc == 0 || rc == -EBADMSG || rc == CV_CHAN_RESET, "recv returns 0, -EBADMSG, RESET");
    cv_chan_stats(w->e[to].c, &after);
    if (rc == -EBADMSG)
        check(after.bad_dropped == before.bad_dropped + 1 && after.msgs_rx == before.msgs_rx,
              "a rejected datagram changes nothing but the counter");
    if (rc == CV_CHAN_RESET) {
        check(after.msgs_rx == before.msgs_rx, "nothing delivered with a reset");
        new_epoch(&w->e[to]);
    }
    (void)was_forged;
    free(copy);
}

static void poll_end(struct world *w, int i)
{
    uint8_t *buf = malloc(w->cfg.max_dgram);
    for (int guard = 0; guard < 1000; guard++) {
        int64_t due = cv_chan_next_due(w->e[i].c);
        size_t n = cv_chan_poll_tx(w->e[i].c, w->now, buf, w->cfg.max_dgram);
        if (n == 0) {
            check(due > w->now, "next_due > now once poll_tx has nothing");
            break;
        }
        check(due <= w->now, "poll_tx sends only when next_due says so");
        check(n <= w->cfg.max_dgram, "datagram fits max_dgram");
        uint8_t *d = malloc(n);
        memcpy(d, buf, n);
        check(parse_checked(d, n) == 0, "a produced datagram parses");
        if (w->npool < POOL) {
            w->pool[w->npool++] = (struct pkt){d, n, 1 - i};
        } else {
            free(d); /* the network is full: lost */
        }
    }
    free(buf);
}

static void send_msg(struct world *w, int i, size_t len)
{
    struct end *e = &w->e[i];
    size_t max = cv_chan_max_msg(e->c);
    if (len < 8)
        len = 8;
    if (len > max)
        len = max;
    uint8_t m[CV_CHAN_MAX_DGRAM];
    uint32_t k = e->sent;
    wr(m, e->epoch, 4);
    wr(m + 4, k, 4);
    for (size_t j = 8; j < len; j++)
        m[j] = (uint8_t)(k * 7 + j);
    int rc = cv_chan_send(e->c, m, len);
    check(rc == 0 || rc == -ENOBUFS, "send returns 0 or -ENOBUFS");
    if (rc == -ENOBUFS) {
        e->inc++;
        check(cv_chan_reset(e->c, e->inc) == 0, "reset to a greater incarnation");
        new_epoch(e);
        wr(m, e->epoch, 4);
        wr(m + 4, 0, 4);
        for (size_t j = 8; j < len; j++)
            m[j] = (uint8_t)j;
        check(cv_chan_send(e->c, m, len) == 0, "an empty ring takes a message");
    }
    e->sent++;
}

static void drop_pkt(struct world *w, int k)
{
    free(w->pool[k].d);
    w->pool[k] = w->pool[--w->npool];
}

static void chan(const uint8_t *s, size_t n)
{
    struct world w;
    memset(&w, 0, sizeof w);
    cv_chan_config_init(&w.cfg);
    w.cfg.max_dgram = 128;
    w.cfg.send_bytes = 512;
    w.cfg.send_window = 300;
    w.cfg.recv_window = 3;
    w.cfg.rto_min_ms = 2;
    w.cfg.rto_max_ms = 16;
    w.cfg.ack_delay_ms = 1;
    for (int i = 0; i < 2; i++) {
        w.e[i].inc = 10 * (uint64_t)(i + 1);
        w.e[i].c = cv_chan_new(&w.cfg, w.e[i].inc);
        check(w.e[i].c != NULL, "new");
        w.e[i].reset_seen = 1;
    }
    size_t i = 0;
    while (i < n) {
        uint8_t op = s[i++];
        uint8_t arg = i < n ? s[i] : 0;
        int who = op >> 7;
        switch (op & 15) {
        case 0:
        case 1: send_msg(&w, who, arg), i++; break;
        case 2: w.now += arg % 32, i++; break;
        case 3:
        case 4: poll_end(&w, who); break;
        case 5:
        case 6: /* deliver (6: and keep a copy: a duplicate later) */
            if (w.npool > 0) {
                int k = arg % w.npool;
                struct pkt p = w.pool[k];
                recv_at(&w, p.to, p.d, p.n, 0);
                if ((op & 15) == 5)
                    drop_pkt(&w, k);
            }
            i++;
            break;
        case 7: /* drop */
            if (w.npool > 0)
                drop_pkt(&w, arg % w.npool);
            i++;
            break;
        case 8: /* rewrite one byte of a datagram, with a valid CRC */
            if (w.npool > 0 && i + 2 < n) {
                struct pkt *p = &w.pool[arg % w.npool];
                size_t at = ((size_t)s[i + 1] << 8 | s[i + 2]) % p->n;
                if (at < p->n - CV_CHAN_CRC_SIZE) {
                    uint8_t *q = malloc(p->n);
                    memcpy(q, p->d, p->n);
                    q[at] ^= (uint8_t)(op | 1);
                    fix_crc(q, p->n);
                    recv_at(&w, p->to, q, p->n, 1);
                    free(q);
                }
            }
            i += 3;
            break;
        case 9: /* inject the next arg bytes, CRC fixed, as a datagram */
        {
            size_t len = arg;
            i++;
            if (len > n - i)
                len = n - i;
            uint8_t *q = malloc(len ? len : 1);
            memcpy(q, s + i, len);
            fix_crc(q, len);
            recv_at(&w, who, q, len, 1);
            free(q);
            i += len;
            break;
        }
        case 10: /* inject raw bytes (CRC almost surely wrong) */
        {
            size_t len = arg;
            i++;
            if (len > n - i)
                len = n - i;
            recv_at(&w, who, s + i, len, 0);
            i += len;
            break;
        }
        case 11: /* restart: a new end */
            cv_chan_free(w.e[who].c);
            w.e[who].inc += 1 + arg % 3;
            w.e[who].c = cv_chan_new(&w.cfg, w.e[who].inc);
            check(w.e[who].c != NULL, "new after restart");
            new_epoch(&w.e[who]);
            i++;
            break;
        case 12: /* local reset; an illegal one must be refused */
            check(cv_chan_reset(w.e[who].c, w.e[who].inc) == -EINVAL, "reset to same refused");
            w.e[who].inc += 1 + arg % 3;
            check(cv_chan_reset(w.e[who].c, w.e[who].inc) == 0, "reset");
            new_epoch(&w.e[who]);
            i++;
            break;
        case 13: /* jump to the next due time of an end */
        {
            int64_t due = cv_chan_next_due(w.e[who].c);
            if (due != INT64_MAX && due > w.now && due - w.now < 1000)
                w.now = due;
            break;
        }
        default: break;
        }
    }
    for (int k = w.npool - 1; k >= 0; k--)
        drop_pkt(&w, k);
    cv_chan_free(w.e[0].c);
    cv_chan_free(w.e[1].c);
}

#ifndef CV_FUZZ_SEED_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % M_COUNT) {
    case M_RAW: one(p, n, 0); break;
    case M_FIXED: one(p, n, 1); break;
    case M_BUILT: built(p, n); break;
    case M_CHAN: chan(p, n); break;
    }
    return 0;
}
#else
static void save(const char *dir, const char *name, uint8_t mode, const uint8_t *b, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fwrite(&mode, 1, 1, f);
    fwrite(b, 1, n, f);
    fclose(f);
    /* Every seed must already satisfy the target's properties. */
    switch (mode) {
    case M_RAW: one(b, n, 0); break;
    case M_FIXED: one(b, n, 1); break;
    case M_BUILT: built(b, n); break;
    case M_CHAN: chan(b, n); break;
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    /* A real data datagram and a pure ack from a channel pair. */
    struct cv_chan_config cfg;
    cv_chan_config_init(&cfg);
    struct cv_chan *a = cv_chan_new(&cfg, 7), *b = cv_chan_new(&cfg, 9);
    uint8_t d[2][1400];
    size_t n;
    cv_chan_send(a, "hello", 5);
    n = cv_chan_poll_tx(a, 0, d[0], sizeof d[0]); /* hello */
    cv_chan_recv(b, d[0], n, 0, NULL, NULL);
    n = cv_chan_poll_tx(b, 0, d[1], sizeof d[1]); /* its answer */
    save(argv[1], "ack", M_RAW, d[1], n);
    cv_chan_recv(a, d[1], n, 0, NULL, NULL);
    cv_chan_send(a, "", 0);
    cv_chan_send(a, "a longer message", 16);
    n = cv_chan_poll_tx(a, 0, d[0], sizeof d[0]);
    save(argv[1], "data", M_RAW, d[0], n);
    save(argv[1], "data_fixed", M_FIXED, d[0], n);
    cv_chan_free(a);
    cv_chan_free(b);
    static const uint8_t built_seed[] = {0, 9, 3, 1, 1, 1, 1, 0, 3, 'a', 'b', 'c', 0, 2, 'x', 'y'};
    save(argv[1], "built", M_BUILT, built_seed, sizeof built_seed);
    /* send, send, poll both, deliver all, time, poll, deliver; with a restart in the middle */
    static const uint8_t chan_seed[] = {
        0,   20, 0, 30, 129, 9,  3, 131, 5,  0, 5,  0, 3, 131, 5, 0,   5, 0,   2, 5, 3, 131, 5,
        0,   5,  0, 5,  0,   11, 1, 0,   40, 3, 5,  0, 5, 0,   3, 131, 5, 0,   5, 0, 2, 3,   3,
        131, 5,  0, 5,  0,   5,  0, 8,   0,  0, 20, 6, 0, 5,   0, 13,  3, 131, 5, 0, 5, 0};
    save(argv[1], "chan", M_CHAN, chan_seed, sizeof chan_seed);
    return 0;
}
#endif
