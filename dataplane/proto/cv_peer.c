/*
 * cv_peer — encode and decode the framed messages corvid servers exchange.
 * The wire format and every rule are in cv_peer.h. Unused fields of a type
 * are written as 0 and reported as 0 on decode (whatever the wire holds), so
 * decode(encode(m)) reproduces exactly the fields the type carries.
 */
#include <errno.h>
#include <string.h>

#include "cv_crc.h"
#include "cv_peer.h"

#define MAGIC0 0xC7u
#define MAGIC1 0x5Au

/* Which of the int64 fields (and the payload) a type carries. */
enum {
    U_EPOCH = 1 << 0,
    U_ROUND = 1 << 1,
    U_ZXID = 1 << 2,
    U_A = 1 << 3,
    U_B = 1 << 4,
    U_PAYLOAD = 1 << 5, /* may carry a payload */
    U_NONEMPTY = 1 << 6 /* must carry a non-empty payload */
};

static const uint8_t used_fields[CV_PEER_TYPE_MAX + 1] = {
    [CV_PEER_VOTE] = U_EPOCH | U_ROUND | U_ZXID | U_A | U_B,
    [CV_PEER_FOLLOWERINFO] = U_EPOCH | U_ZXID,
    [CV_PEER_LEADERINFO] = U_EPOCH | U_ZXID,
    [CV_PEER_ACKEPOCH] = U_EPOCH | U_ZXID,
    [CV_PEER_DIFF] = U_ZXID,
    [CV_PEER_TRUNC] = U_ZXID,
    [CV_PEER_SNAP] = U_ZXID | U_A | U_B | U_PAYLOAD,
    [CV_PEER_PROPOSAL] = U_ZXID | U_PAYLOAD | U_NONEMPTY,
    [CV_PEER_COMMIT] = U_ZXID,
    [CV_PEER_INFORM] = U_ZXID | U_PAYLOAD | U_NONEMPTY,
    [CV_PEER_NEWLEADER] = U_EPOCH | U_ZXID,
    [CV_PEER_ACK] = U_ZXID,
    [CV_PEER_UPTODATE] = U_ZXID,
    [CV_PEER_PING] = U_ZXID | U_A | U_PAYLOAD,
    [CV_PEER_REQUEST] = U_A | U_B | U_PAYLOAD,
    [CV_PEER_SYNCREQ] = U_A | U_B,
    [CV_PEER_SYNCED] = U_ZXID | U_A | U_B,
    [CV_PEER_RESYNC] = U_ZXID,
};

static const char *const type_names[CV_PEER_TYPE_MAX + 1] = {
    [CV_PEER_VOTE] = "VOTE",
    [CV_PEER_FOLLOWERINFO] = "FOLLOWERINFO",
    [CV_PEER_LEADERINFO] = "LEADERINFO",
    [CV_PEER_ACKEPOCH] = "ACKEPOCH",
    [CV_PEER_DIFF] = "DIFF",
    [CV_PEER_TRUNC] = "TRUNC",
    [CV_PEER_SNAP] = "SNAP",
    [CV_PEER_PROPOSAL] = "PROPOSAL",
    [CV_PEER_COMMIT] = "COMMIT",
    [CV_PEER_INFORM] = "INFORM",
    [CV_PEER_NEWLEADER] = "NEWLEADER",
    [CV_PEER_ACK] = "ACK",
    [CV_PEER_UPTODATE] = "UPTODATE",
    [CV_PEER_PING] = "PING",
    [CV_PEER_REQUEST] = "REQUEST",
    [CV_PEER_SYNCREQ] = "SYNCREQ",
    [CV_PEER_SYNCED] = "SYNCED",
    [CV_PEER_RESYNC] = "RESYNC",
};

int cv_peer_fwd_encode(uint8_t *out, size_t cap, const void *auth, uint32_t alen,
                       const uint8_t *req, size_t rlen)
{
    if (cap < 4 || cap - 4 < alen || cap - 4 - alen < rlen)
        return -ENOBUFS;
    out[0] = (uint8_t)(alen >> 24);
    out[1] = (uint8_t)(alen >> 16);
    out[2] = (uint8_t)(alen >> 8);
    out[3] = (uint8_t)alen;
    memcpy(out + 4, auth, alen);
    memcpy(out + 4 + alen, req, rlen);
    return (int)(4 + alen + rlen);
}

int cv_peer_fwd_decode(const uint8_t *p, size_t len, const uint8_t **auth, uint32_t *alen,
                       const uint8_t **req, size_t *rlen)
{
    if (len < 4)
        return -EBADMSG;
    uint32_t a = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (a > len - 4 || len - 4 - a == 0)
        return -EBADMSG;
    *auth = p + 4;
    *alen = a;
    *req = p + 4 + a;
    *rlen = len - 4 - a;
    return 0;
}

const char *cv_peer_type_name(int type)
{
    if (type < CV_PEER_VOTE || type > CV_PEER_TYPE_MAX)
        return "?";
    return type_names[type];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, int64_t s)
{
    uint64_t v = (uint64_t)s;
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t get64(const uint8_t *p)
{
    return (int64_t)((uint64_t)get32(p) << 32 | get32(p + 4));
}

/* The rules shared by encode and decode, on already-parsed header fields.
 * 0 when they hold, -1 otherwise. */
static int check_fields(unsigned type, unsigned from, unsigned state, unsigned flags, int64_t a,
                        int64_t b, uint32_t len)
{
    if (type < CV_PEER_VOTE || type > CV_PEER_TYPE_MAX)
        return -1;
    if (from < 1 || from > CV_PEER_MAX_SID)
        return -1;
    if (type == CV_PEER_VOTE ? state > CV_PEER_OBSERVING : state != 0)
        return -1;
    if (flags & ~(unsigned)CV_PEER_F_ALL)
        return -1;
    if ((flags & CV_PEER_F_OBSERVER) && type != CV_PEER_FOLLOWERINFO)
        return -1;
    if (len > CV_PEER_MAX_PAYLOAD)
        return -1;
    unsigned u = used_fields[type];
    if (!(u & U_PAYLOAD) && len != 0)
        return -1;
    if ((u & U_NONEMPTY) && len == 0)
        return -1;
    if (type == CV_PEER_PING && len % 8 != 0)
        return -1;
    /* SNAP: a >= 0 and b >= a + n, written so that nothing overflows. */
    if (type == CV_PEER_SNAP && (a < 0 || b < a || (uint64_t)b - (uint64_t)a < len))
        return -1;
    return 0;
}

int cv_peer_encode(const struct cv_peer_msg *m, uint8_t *out, size_t cap)
{
    if (check_fields(m->type, m->from, m->state, m->flags, m->a, m->b, m->len))
        return -EINVAL;
    if (m->len && !m->payload)
        return -EINVAL;
    size_t total = CV_PEER_OVERHEAD + (size_t)m->len;
    if (cap < total)
        return -ENOBUFS;
    unsigned u = used_fields[m->type];
    out[0] = MAGIC0;
    out[1] = MAGIC1;
    out[2] = CV_PEER_VERSION;
    out[3] = m->type;
    out[4] = m->from;
    out[5] = m->state;
    put16(out + 6, m->flags);
    put32(out + 8, m->len);
    put64(out + 12, u & U_EPOCH ? m->epoch : 0);
    put64(out + 20, u & U_ROUND ? m->round : 0);
    put64(out + 28, u & U_ZXID ? m->zxid : 0);
    put64(out + 36, u & U_A ? m->a : 0);
    put64(out + 44, u & U_B ? m->b : 0);
    if (m->len)
        memcpy(out + CV_PEER_HDR, m->payload, m->len);
    put32(out + CV_PEER_HDR + m->len, cv_crc32c(out, CV_PEER_HDR + m->len));
    return (int)total;
}

int cv_peer_decode(const uint8_t *p, size_t n, struct cv_peer_msg *m, size_t *used)
{
    if (n < CV_PEER_HDR)
        return -EAGAIN;
    /* The whole header is here: reject a bad one now rather than wait for
     * the body it declares. */
    if (p[0] != MAGIC0 || p[1] != MAGIC1 || p[2] != CV_PEER_VERSION)
        return -EBADMSG;
    uint32_t len = get32(p + 8);
    if (len > CV_PEER_MAX_PAYLOAD)
        return -EBADMSG;
    unsigned type = p[3];
    int64_t a = get64(p + 36), b = get64(p + 44);
    if (check_fields(type, p[4], p[5], get16(p + 6), a, b, len))
        return -EBADMSG;
    size_t total = CV_PEER_OVERHEAD + (size_t)len;
    if (n < total)
        return -EAGAIN;
    if (cv_crc32c(p, CV_PEER_HDR + len) != get32(p + CV_PEER_HDR + len))
        return -EBADMSG;
    unsigned u = used_fields[type];
    m->type = (uint8_t)type;
    m->from = p[4];
    m->state = p[5];
    m->flags = get16(p + 6);
    m->epoch = u & U_EPOCH ? get64(p + 12) : 0;
    m->round = u & U_ROUND ? get64(p + 20) : 0;
    m->zxid = u & U_ZXID ? get64(p + 28) : 0;
    m->a = u & U_A ? a : 0;
    m->b = u & U_B ? b : 0;
    m->payload = len ? p + CV_PEER_HDR : NULL;
    m->len = len;
    *used = total;
    return 0;
}
