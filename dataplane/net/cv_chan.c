/*
 * cv_chan — reliable FIFO channel over datagrams (see cv_chan.h for the
 * contract).
 *
 * Send side: a byte ring of [u32 len | bytes] records, addressed by
 * monotonically increasing byte positions (index = pos % size). Four cursors,
 * each a (seq, pos) pair: una (oldest unacked), nxt (next to transmit; moved
 * back to una on RTO expiry: go-back-N), max (one past the highest sent) and
 * end (one past the last queued). una <= nxt <= max <= end.
 *
 * Receive side: rcv_nxt is the next sequence number expected. A datagram
 * starting at or before rcv_nxt is processed in order (older messages are
 * duplicates); one starting after it is copied into one of recv_window slots
 * and drained once the gap before it fills.
 */
#include "cv_chan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cv_common.h"
#include "cv_crc.h"

#define SLOT_BODY(cfg) ((cfg)->max_dgram - CV_CHAN_HDR_SIZE - CV_CHAN_CRC_SIZE)
#define MAX_TIME       (INT64_MAX / 4) /* bound on configured durations: no overflow when doubled */

struct slot {
    uint64_t seq;
    uint32_t count;
    uint32_t len;
    bool used;
    uint8_t *body; /* count x (u32 len | bytes), len bytes, validated */
};

struct cv_chan {
    struct cv_chan_config cfg;
    uint32_t max_msg;
    uint64_t inc;
    uint64_t peer_inc; /* 0: unknown */
    int64_t clock;     /* latest time seen */

    uint8_t *ring;
    uint64_t ring_size;
    uint64_t una_pos, nxt_pos, max_pos, end_pos;
    uint64_t snd_una, snd_nxt, snd_max, snd_end;
    int64_t rto;
    int64_t rto_due;   /* INT64_MAX: not armed (nothing in flight) */
    int64_t hello_due; /* INT64_MAX: not armed (peer known, or nothing queued) */

    uint64_t rcv_nxt;
    bool ack_owed;
    int64_t ack_due;
    struct slot *slots;
    uint8_t *slot_mem;

    struct cv_chan_stats st;
};

/* ---- byte order ---- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static int64_t add_sat(int64_t t, int64_t d)
{
    return t > INT64_MAX - d ? INT64_MAX : t + d;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* ---- decoding ---- */

int cv_chan_parse(const uint8_t *dgram, size_t len, struct cv_chan_hdr *hdr,
                  struct cv_chan_iter *it)
{
    if (dgram == NULL || len < CV_CHAN_HDR_SIZE + CV_CHAN_CRC_SIZE)
        return -EBADMSG;
    if (get32(dgram) != CV_CHAN_MAGIC || dgram[4] != CV_CHAN_VERSION || dgram[5] != 0)
        return -EBADMSG;
    size_t body_end = len - CV_CHAN_CRC_SIZE;
    if (cv_crc32c(dgram, body_end) != get32(dgram + body_end))
        return -EBADMSG;

    struct cv_chan_hdr h = {
        .count = get16(dgram + 6),
        .src_inc = get64(dgram + 8),
        .dst_inc = get64(dgram + 16),
        .seq = get64(dgram + 24),
        .ack = get64(dgram + 32),
    };
    if (h.src_inc == 0)
        return -EBADMSG;
    if (h.count > 0 && (h.dst_inc == 0 || h.seq == 0 || h.seq > UINT64_MAX - h.count))
        return -EBADMSG;

    /* Walk every message: all lengths inside the body, the last one ending exactly at it. */
    size_t off = CV_CHAN_HDR_SIZE;
    for (uint32_t i = 0; i < h.count; i++) {
        if (body_end - off < CV_CHAN_MSG_HDR)
            return -EBADMSG;
        uint32_t l = get32(dgram + off);
        off += CV_CHAN_MSG_HDR;
        if (l > body_end - off)
            return -EBADMSG;
        off += l;
    }
    if (off != body_end)
        return -EBADMSG;

    if (hdr != NULL)
        *hdr = h;
    if (it != NULL) {
        it->pos = dgram + CV_CHAN_HDR_SIZE;
        it->end = dgram + body_end;
        it->left = h.count;
    }
    return 0;
}

bool cv_chan_iter_next(struct cv_chan_iter *it, const uint8_t **msg, size_t *len)
{
    if (it->left == 0 || it->pos > it->end || (size_t)(it->end - it->pos) < CV_CHAN_MSG_HDR)
        return false;
    uint32_t l = get32(it->pos);
    if (l > (size_t)(it->end - it->pos) - CV_CHAN_MSG_HDR)
        return false;
    *msg = it->pos + CV_CHAN_MSG_HDR;
    *len = l;
    it->pos += CV_CHAN_MSG_HDR + l;
    it->left--;
    return true;
}

/* ---- life cycle ---- */

void cv_chan_config_init(struct cv_chan_config *cfg)
{
    *cfg = (struct cv_chan_config){
        .max_dgram = 1400,
        .send_bytes = 4u << 20,
        .send_window = 256u << 10,
        .recv_window = 64,
        .rto_min_ms = 5,
        .rto_max_ms = 200,
        .ack_delay_ms = 1,
    };
}

static bool config_ok(const struct cv_chan_config *cfg)
{
    return cfg->max_dgram >= CV_CHAN_MIN_DGRAM && cfg->max_dgram <= CV_CHAN_MAX_DGRAM &&
           cfg->send_bytes >= cfg->max_dgram && cfg->send_window >= 1 &&
           cfg->recv_window <= 65536 && cfg->rto_min_ms >= 1 &&
           cfg->rto_max_ms >= cfg->rto_min_ms && cfg->rto_max_ms <= MAX_TIME &&
           cfg->ack_delay_ms >= 0 && cfg->ack_delay_ms <= MAX_TIME;
}

/* Forget everything about the current pair except the peer's incarnation. */
static void drop_pair_state(struct cv_chan *c)
{
    c->una_pos = c->nxt_pos = c->max_pos = c->end_pos = 0;
    c->snd_una = c->snd_nxt = c->snd_max = c->snd_end = 1;
    c->rto = c->cfg.rto_min_ms;
    c->rto_due = INT64_MAX;
    c->hello_due = INT64_MAX;
    c->rcv_nxt = 1;
    c->ack_owed = false;
    c->ack_due = INT64_MAX;
    for (uint32_t i = 0; i < c->cfg.recv_window; i++)
        c->slots[i].used = false;
}

struct cv_chan *cv_chan_new(const struct cv_chan_config *cfg, uint64_t incarnation)
{
    if (cfg == NULL || !config_ok(cfg) || incarnation == 0)
        return NULL;
    struct cv_chan *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->cfg = *cfg;
    c->ring = calloc(1, cfg->send_bytes);
    if (cfg->recv_window > 0) {
        c->slots = calloc(cfg->recv_window, sizeof(*c->slots));
        c->slot_mem = calloc(cfg->recv_window, SLOT_BODY(cfg));
    }
    if (c->ring == NULL || (cfg->recv_window > 0 && (c->slots == NULL || c->slot_mem == NULL))) {
        cv_chan_free(c);
        return NULL;
    }
    for (uint32_t i = 0; i < cfg->recv_window; i++)
        c->slots[i].body = c->slot_mem + (size_t)i * SLOT_BODY(cfg);
    c->max_msg = cfg->max_dgram - CV_CHAN_HDR_SIZE - CV_CHAN_CRC_SIZE - CV_CHAN_MSG_HDR;
    c->ring_size = cfg->send_bytes;
    c->inc = incarnation;
    c->peer_inc = 0;
    c->clock = INT64_MIN;
    drop_pair_state(c);
    return c;
}

void cv_chan_free(struct cv_chan *c)
{
    if (c == NULL)
        return;
    free(c->ring);
    free(c->slots);
    free(c->slot_mem);
    free(c);
}

int cv_chan_reset(struct cv_chan *c, uint64_t new_incarnation)
{
    if (new_incarnation <= c->inc)
        return -EINVAL;
    drop_pair_state(c);
    c->inc = new_incarnation;
    c->st.local_resets++;
    return 0;
}

void cv_chan_stats(const struct cv_chan *c, struct cv_chan_stats *out)
{
    *out = c->st;
}

size_t cv_chan_max_msg(const struct cv_chan *c)
{
    return c->max_msg;
}

uint64_t cv_chan_incarnation(const struct cv_chan *c)
{
    return c->inc;
}

uint64_t cv_chan_peer_incarnation(const struct cv_chan *c)
{
    return c->peer_inc;
}

/* ---- send side ---- */

static void ring_get(const struct cv_chan *c, uint64_t pos, void *dst, size_t n)
{
    size_t off = (size_t)(pos % c->ring_size);
    size_t first = n < c->ring_size - off ? n : (size_t)(c->ring_size - off);
    memcpy(dst, c->ring + off, first);
    memcpy((uint8_t *)dst + first, c->ring, n - first);
}

static void ring_put(struct cv_chan *c, uint64_t pos, const void *src, size_t n)
{
    size_t off = (size_t)(pos % c->ring_size);
    size_t first = n < c->ring_size - off ? n : (size_t)(c->ring_size - off);
    memcpy(c->ring + off, src, first);
    memcpy(c->ring, (const uint8_t *)src + first, n - first);
}

static uint32_t ring_len(const struct cv_chan *c, uint64_t pos)
{
    uint8_t b[CV_CHAN_MSG_HDR];
    ring_get(c, pos, b, sizeof(b));
    return get32(b);
}

int cv_chan_send(struct cv_chan *c, const void *msg, size_t len)
{
    if (len > c->max_msg)
        return -EMSGSIZE;
    uint64_t need = CV_CHAN_MSG_HDR + len;
    if (c->end_pos - c->una_pos + need > c->ring_size)
        return -ENOBUFS;
    uint8_t b[CV_CHAN_MSG_HDR];
    put32(b, (uint32_t)len);
    ring_put(c, c->end_pos, b, sizeof(b));
    if (len > 0)
        ring_put(c, c->end_pos + CV_CHAN_MSG_HDR, msg, len);
    c->end_pos += need;
    c->snd_end++;
    if (c->peer_inc == 0 && c->hello_due == INT64_MAX)
        c->hello_due = c->clock; /* probe for the peer now */
    return 0;
}

/* May a new (never sent) message of this many bytes go out now? */
static bool window_allows(const struct cv_chan *c, uint32_t len)
{
    uint64_t inflight = c->max_pos - c->una_pos;
    return inflight == 0 || inflight + CV_CHAN_MSG_HDR + len <= c->cfg.send_window;
}

static bool data_ready(const struct cv_chan *c)
{
    if (c->peer_inc == 0)
        return false;
    if (c->snd_nxt < c->snd_max)
        return true; /* retransmission pending */
    return c->snd_nxt < c->snd_end && window_allows(c, ring_len(c, c->nxt_pos));
}

static size_t finish(struct cv_chan *c, uint8_t *d, size_t len, uint64_t dst, uint64_t seq,
                     uint32_t count)
{
    put32(d, CV_CHAN_MAGIC);
    d[4] = CV_CHAN_VERSION;
    d[5] = 0;
    put16(d + 6, (uint16_t)count);
    put64(d + 8, c->inc);
    put64(d + 16, dst);
    put64(d + 24, seq);
    put64(d + 32, dst != 0 ? c->rcv_nxt : 0);
    put32(d + len, cv_crc32c(d, len));
    c->st.dgrams_tx++;
    return len + CV_CHAN_CRC_SIZE;
}

static size_t emit_data(struct cv_chan *c, int64_t now, uint8_t *d)
{
    size_t off = CV_CHAN_HDR_SIZE;
    size_t room = c->cfg.max_dgram - CV_CHAN_HDR_SIZE - CV_CHAN_CRC_SIZE;
    uint64_t first = c->snd_nxt;
    uint32_t n = 0;
    bool retx = false;
    while (n < CV_CHAN_MAX_COUNT && c->snd_nxt < c->snd_end) {
        uint32_t l = ring_len(c, c->nxt_pos);
        if (CV_CHAN_MSG_HDR + (size_t)l > room)
            break;
        if (c->snd_nxt < c->snd_max)
            retx = true;
        else if (!window_allows(c, l))
            break;
        ring_get(c, c->nxt_pos, d + off, CV_CHAN_MSG_HDR + (size_t)l);
        off += CV_CHAN_MSG_HDR + (size_t)l;
        room -= CV_CHAN_MSG_HDR + (size_t)l;
        c->nxt_pos += CV_CHAN_MSG_HDR + (uint64_t)l;
        c->snd_nxt++;
        n++;
        if (c->snd_nxt > c->snd_max) {
            c->snd_max = c->snd_nxt;
            c->max_pos = c->nxt_pos;
            c->st.msgs_tx++;
        }
    }
    CV_VERIFY(n > 0); /* data_ready() held and a message always fits (len <= max_msg) */
    if (retx)
        c->st.retransmits++;
    if (c->rto_due == INT64_MAX)
        c->rto_due = add_sat(now, c->rto);
    c->ack_owed = false; /* piggybacked */
    c->ack_due = INT64_MAX;
    return finish(c, d, off, c->peer_inc, first, n);
}

size_t cv_chan_poll_tx(struct cv_chan *c, int64_t now, uint8_t *dgram, size_t cap)
{
    CV_VERIFY(cap >= c->cfg.max_dgram); /* caller bug: every datagram must fit */
    if (now < c->clock)
        now = c->clock;
    c->clock = now;

    if (c->peer_inc == 0) {
        /* Only hellos until the peer is known: a probe when data waits, or a reply. */
        bool probe = c->hello_due <= now;
        bool reply = c->ack_owed && c->ack_due <= now;
        if (!probe && !reply)
            return 0;
        if (probe) {
            c->hello_due = add_sat(now, c->rto);
            c->rto = min64(c->rto * 2, c->cfg.rto_max_ms);
        }
        c->ack_owed = false;
        c->ack_due = INT64_MAX;
        return finish(c, dgram, CV_CHAN_HDR_SIZE, 0, 0, 0);
    }

    if (c->snd_una < c->snd_max && c->rto_due <= now) {
        /* RTO expired: go back to the oldest unacked message, back off. */
        c->snd_nxt = c->snd_una;
        c->nxt_pos = c->una_pos;
        c->rto = min64(c->rto * 2, c->cfg.rto_max_ms);
        c->rto_due = add_sat(now, c->rto);
    }
    if (data_ready(c))
        return emit_data(c, now, dgram);
    if (c->ack_owed && c->ack_due <= now) {
        c->ack_owed = false;
        c->ack_due = INT64_MAX;
        return finish(c, dgram, CV_CHAN_HDR_SIZE, c->peer_inc, c->snd_nxt, 0);
    }
    return 0;
}

int64_t cv_chan_next_due(const struct cv_chan *c)
{
    int64_t t = c->ack_owed ? c->ack_due : INT64_MAX;
    if (c->peer_inc == 0)
        return min64(t, c->hello_due);
    if (data_ready(c))
        return c->clock;
    if (c->snd_una < c->snd_max)
        t = min64(t, c->rto_due);
    return t;
}

/* ---- receive side ---- */

static void owe_ack(struct cv_chan *c, int64_t due)
{
    if (!c->ack_owed || due < c->ack_due)
        c->ack_due = due;
    c->ack_owed = true;
}

static void on_ack(struct cv_chan *c, uint64_t ack, int64_t now)
{
    if (ack <= c->snd_una || ack > c->snd_max)
        return; /* old, or beyond anything sent (cannot come from the peer: ignored) */
    while (c->snd_una < ack) {
        c->una_pos += CV_CHAN_MSG_HDR + (uint64_t)ring_len(c, c->una_pos);
        c->snd_una++;
    }
    if (c->snd_nxt < c->snd_una) {
        c->snd_nxt = c->snd_una;
        c->nxt_pos = c->una_pos;
    }
    c->rto = c->cfg.rto_min_ms;
    c->rto_due = c->snd_una < c->snd_max ? add_sat(now, c->rto) : INT64_MAX;
}

typedef void (*deliver_fn)(void *ctx, const uint8_t *msg, size_t len);

/* Messages of a datagram starting at seq <= rcv_nxt: duplicates dropped, the rest delivered. */
static void deliver_from(struct cv_chan *c, uint64_t seq, struct cv_chan_iter *it,
                         deliver_fn deliver, void *ctx)
{
    const uint8_t *m;
    size_t l;
    while (cv_chan_iter_next(it, &m, &l)) {
        if (seq < c->rcv_nxt) {
            c->st.dups_dropped++;
        } else {
            c->rcv_nxt++;
            c->st.msgs_rx++;
            deliver(ctx, m, l);
        }
        seq++;
    }
}

static void store_ahead(struct cv_chan *c, const struct cv_chan_hdr *h,
                        const struct cv_chan_iter *it)
{
    size_t len = (size_t)(it->end - it->pos);
    if (c->cfg.recv_window == 0 || len > SLOT_BODY(&c->cfg))
        return;
    struct slot *free_slot = NULL, *highest = NULL;
    for (uint32_t i = 0; i < c->cfg.recv_window; i++) {
        struct slot *s = &c->slots[i];
        if (!s->used) {
            if (free_slot == NULL)
                free_slot = s;
            continue;
        }
        if (s->seq <= h->seq && s->seq + s->count >= h->seq + h->count)
            return; /* already held */
        if (highest == NULL || s->seq > highest->seq)
            highest = s;
    }
    struct slot *s = free_slot;
    if (s == NULL) {
        if (highest == NULL || highest->seq <= h->seq)
            return; /* full of data nearer the gap */
        s = highest;
    }
    s->used = true;
    s->seq = h->seq;
    s->count = h->count;
    s->len = (uint32_t)len;
    memcpy(s->body, it->pos, len);
}

/* After rcv_nxt advanced: deliver what the slots hold from it on, free what is behind it. */
static void drain(struct cv_chan *c, deliver_fn deliver, void *ctx)
{
    bool progress = true;
    while (progress) {
        progress = false;
        for (uint32_t i = 0; i < c->cfg.recv_window; i++) {
            struct slot *s = &c->slots[i];
            if (!s->used || s->seq > c->rcv_nxt)
                continue;
            if (s->seq + s->count > c->rcv_nxt) {
                struct cv_chan_iter it = {s->body, s->body + s->len, s->count};
                uint64_t before = c->rcv_nxt;
                deliver_from(c, s->seq, &it, deliver, ctx);
                if (c->rcv_nxt != before)
                    progress = true;
            }
            s->used = false;
        }
    }
}

static void on_data(struct cv_chan *c, const struct cv_chan_hdr *h, struct cv_chan_iter *it,
                    int64_t now, deliver_fn deliver, void *ctx)
{
    owe_ack(c, add_sat(now, c->cfg.ack_delay_ms));
    if (h->seq > c->rcv_nxt) {
        store_ahead(c, h, it);
        return;
    }
    uint64_t before = c->rcv_nxt;
    deliver_from(c, h->seq, it, deliver, ctx);
    if (c->rcv_nxt != before)
        drain(c, deliver, ctx);
}

static int peer_restarted(struct cv_chan *c, uint64_t peer_inc, int64_t now)
{
    drop_pair_state(c);
    c->peer_inc = peer_inc;
    c->st.resets++;
    owe_ack(c, now); /* let the new incarnation learn ours at once */
    return CV_CHAN_RESET;
}

int cv_chan_recv(struct cv_chan *c, const uint8_t *dgram, size_t len, int64_t now,
                 deliver_fn deliver, void *ctx)
{
    if (now < c->clock)
        now = c->clock;
    c->clock = now;
    struct cv_chan_hdr h;
    struct cv_chan_iter it;
    if (cv_chan_parse(dgram, len, &h, &it) != 0) {
        c->st.bad_dropped++;
        return -EBADMSG;
    }
    c->st.dgrams_rx++;
    if (h.src_inc < c->peer_inc) {
        c->st.stale_dropped++; /* from a dead incarnation of the peer */
        return 0;
    }
    if (h.dst_inc != 0 && h.dst_inc != c->inc) {
        /* Addressed to another incarnation of this end. It still proves a known peer
         * restarted; otherwise the peer is told who we are (without learning it from this
         * datagram, which may be a stale one reaching a new end). */
        if (c->peer_inc != 0 && h.src_inc > c->peer_inc)
            return peer_restarted(c, h.src_inc, now);
        c->st.stale_dropped++;
        owe_ack(c, now);
        return 0;
    }
    if (h.src_inc > c->peer_inc) {
        if (c->peer_inc != 0)
            return peer_restarted(c, h.src_inc, now);
        c->peer_inc = h.src_inc; /* first contact: queued data goes to this peer */
        c->rto = c->cfg.rto_min_ms;
        c->hello_due = INT64_MAX;
    }
    if (h.dst_inc == 0) {
        owe_ack(c, now); /* a hello: the peer does not know us yet */
        return 0;
    }
    on_ack(c, h.ack, now);
    if (h.count > 0) {
        CV_VERIFY(deliver != NULL); /* caller bug: messages would be acked and lost */
        on_data(c, &h, &it, now, deliver, ctx);
    }
    return 0;
}
