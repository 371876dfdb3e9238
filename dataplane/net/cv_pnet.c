/* cv_pnet — UDP peer transport over cv_chan. Contract in cv_pnet.h. */
#include "cv_pnet.h"

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cv_chan.h"

#define BURST 32

struct ovf {
    struct ovf *next;
    uint32_t len;
    uint8_t data[];
};

struct peer {
    bool known;
    uint8_t id;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct cv_chan *chan;
    struct ovf *ovf_head, *ovf_tail;
    uint64_t ovf_bytes;
    bool broken;  /* overflowed: reset and reported at the next poll */
    bool dropped; /* test-only drop filter */
    uint8_t *asm_buf;
    size_t asm_len;
    bool asm_bad;    /* a message too large: skip to its last fragment */
    uint64_t pair;   /* bumped by every reset: staged messages of an old pair are dropped */
    int64_t last_tx; /* when a datagram last left for this peer */
};

struct cv_pnet {
    struct cv_pnet_config cfg;
    int fd;
    uint64_t inc_base, resets;
    size_t frag; /* payload bytes per fragment */
    struct peer peers[CV_PNET_MAX_PEERS];
    uint8_t *rx_bufs, *tx_bufs;
    struct mmsghdr rx_msgs[BURST], tx_msgs[BURST];
    struct iovec rx_iov[BURST], tx_iov[BURST];
    struct sockaddr_storage rx_addr[BURST];
    unsigned ntx;
    uint8_t *frag_buf;
    /* whole messages of one datagram, staged as (u32 len, bytes): delivered
     * after cv_chan_recv returns, so the owner may reset the pair */
    uint8_t *stage;
    size_t stage_len, stage_cap;
    int64_t drop_checked_ms;
    struct cv_pnet_stats st;
    /* deliver callback state while a datagram is handed to cv_chan */
    const struct cv_pnet_cb *cb;
    struct peer *cur;
};

void cv_pnet_config_init(struct cv_pnet_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_dgram = 65000;
    cfg->max_msg = 4u << 20;
    cfg->send_bytes = 16u << 20;
    cfg->overflow_max = 1ull << 30;
    cfg->probe_ms = 50;
}

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    char ps[8];
    snprintf(ps, sizeof ps, "%u", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0 || !res)
        return -EADDRNOTAVAIL;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return false;
}

static uint64_t next_inc(struct cv_pnet *n)
{
    return n->inc_base + ++n->resets;
}

int cv_pnet_new(struct cv_pnet **out, const struct cv_pnet_config *cfg, char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->max_dgram < CV_CHAN_MIN_DGRAM + 64 || cfg->max_dgram > CV_CHAN_MAX_DGRAM ||
        !cfg->self || cfg->self >= CV_PNET_MAX_PEERS || cfg->npeers > CV_PNET_MAX_PEERS) {
        snprintf(err, errlen, "peer transport: bad configuration");
        return -EINVAL;
    }
    struct cv_pnet *n = calloc(1, sizeof *n);
    if (!n)
        return -ENOMEM;
    n->cfg = *cfg;
    n->fd = -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    n->inc_base = ((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u) << 6;
    struct cv_chan_config cc;
    cv_chan_config_init(&cc);
    cc.max_dgram = cfg->max_dgram;
    cc.send_bytes = cfg->send_bytes;
    cc.send_window = 1u << 20;
    cc.recv_window = 256;
    n->frag = cfg->max_dgram - CV_CHAN_HDR_SIZE - CV_CHAN_CRC_SIZE - CV_CHAN_MSG_HDR - 1;
    const struct cv_pnet_peer *self = NULL;
    int rc = 0;
    for (unsigned i = 0; i < cfg->npeers; i++) {
        const struct cv_pnet_peer *pp = &cfg->peers[i];
        if (!pp->id || pp->id >= CV_PNET_MAX_PEERS) {
            rc = -EINVAL;
            snprintf(err, errlen, "peer transport: server id %u out of range", pp->id);
            goto fail;
        }
        if (pp->id == cfg->self) {
            self = pp;
            continue;
        }
        struct peer *p = &n->peers[pp->id];
        p->id = pp->id;
        p->known = true;
        if (resolve(pp->host, pp->port, &p->addr, &p->addrlen)) {
            rc = -EADDRNOTAVAIL;
            snprintf(err, errlen, "peer transport: cannot resolve server.%u's host '%s'", pp->id,
                     pp->host);
            goto fail;
        }
        p->chan = cv_chan_new(&cc, next_inc(n));
        if (!p->chan) {
            rc = -ENOMEM;
            snprintf(err, errlen, "peer transport: out of memory");
            goto fail;
        }
    }
    if (!self) {
        rc = -EINVAL;
        snprintf(err, errlen, "peer transport: this server (id %u) is not among the servers",
                 cfg->self);
        goto fail;
    }
    struct sockaddr_storage me;
    socklen_t melen;
    const char *bh = cfg->bind_host && cfg->bind_host[0] ? cfg->bind_host : self->host;
    if (resolve(bh, self->port, &me, &melen)) {
        rc = -EADDRNOTAVAIL;
        snprintf(err, errlen, "peer transport: cannot resolve '%s'", bh);
        goto fail;
    }
    n->fd = socket(me.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (n->fd < 0 || bind(n->fd, (struct sockaddr *)&me, melen) < 0) {
        rc = -errno;
        snprintf(err, errlen, "peer transport: cannot bind UDP %s:%u: %s", bh, self->port,
                 strerror(errno));
        goto fail;
    }
    int on = 1;
    if (me.ss_family == AF_INET6)
        setsockopt(n->fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof on);
    else
        setsockopt(n->fd, SOL_IP, IP_RECVERR, &on, sizeof on);
    int buf = 16 << 20;
    setsockopt(n->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(n->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    n->rx_bufs = malloc((size_t)BURST * cfg->max_dgram);
    n->tx_bufs = malloc((size_t)BURST * cfg->max_dgram);
    n->frag_buf = malloc(cfg->max_dgram);
    n->stage_cap = (size_t)cfg->max_dgram * 2 + cfg->max_msg + 8;
    n->stage = malloc(n->stage_cap);
    if (!n->rx_bufs || !n->tx_bufs || !n->frag_buf || !n->stage) {
        rc = -ENOMEM;
        snprintf(err, errlen, "peer transport: out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < BURST; i++) {
        n->rx_iov[i].iov_base = n->rx_bufs + (size_t)i * cfg->max_dgram;
        n->rx_iov[i].iov_len = cfg->max_dgram;
        n->tx_iov[i].iov_base = n->tx_bufs + (size_t)i * cfg->max_dgram;
    }
    *out = n;
    return 0;
fail:
    cv_pnet_free(n);
    return rc;
}

static void ovf_clear(struct peer *p)
{
    for (struct ovf *o = p->ovf_head, *next; o; o = next) {
        next = o->next;
        free(o);
    }
    p->ovf_head = p->ovf_tail = NULL;
    p->ovf_bytes = 0;
}

void cv_pnet_free(struct cv_pnet *n)
{
    if (!n)
        return;
    for (unsigned i = 0; i < CV_PNET_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (p->chan)
            cv_chan_free(p->chan);
        ovf_clear(p);
        free(p->asm_buf);
    }
    if (n->fd >= 0)
        close(n->fd);
    free(n->rx_bufs);
    free(n->tx_bufs);
    free(n->frag_buf);
    free(n->stage);
    free(n);
}

int cv_pnet_fd(const struct cv_pnet *n)
{
    return n->fd;
}

/* Move waiting fragments into the channel as far as its ring allows. */
static void ovf_feed(struct peer *p)
{
    while (p->ovf_head) {
        struct ovf *o = p->ovf_head;
        if (cv_chan_send(p->chan, o->data, o->len))
            return;
        p->ovf_head = o->next;
        if (!p->ovf_head)
            p->ovf_tail = NULL;
        p->ovf_bytes -= o->len;
        free(o);
    }
}

static int send_frag(struct cv_pnet *n, struct peer *p, const uint8_t *f, size_t len)
{
    if (!p->ovf_head && cv_chan_send(p->chan, f, len) == 0)
        return 0;
    if (p->ovf_bytes + len > n->cfg.overflow_max)
        return -EPIPE;
    struct ovf *o = malloc(sizeof *o + len);
    if (!o)
        return -EPIPE;
    o->next = NULL;
    o->len = (uint32_t)len;
    memcpy(o->data, f, len);
    if (p->ovf_tail)
        p->ovf_tail->next = o;
    else
        p->ovf_head = o;
    p->ovf_tail = o;
    p->ovf_bytes += len;
    if (p->ovf_bytes > n->st.overflow_peak)
        n->st.overflow_peak = p->ovf_bytes;
    return 0;
}

int cv_pnet_send(struct cv_pnet *n, uint8_t to, const void *msg, size_t len)
{
    if (to >= CV_PNET_MAX_PEERS || !n->peers[to].known)
        return -EINVAL;
    if (len > n->cfg.max_msg)
        return -EMSGSIZE;
    struct peer *p = &n->peers[to];
    if (p->broken)
        return -EPIPE;
    const uint8_t *m = msg;
    size_t off = 0;
    do {
        size_t k = len - off < n->frag ? len - off : n->frag;
        n->frag_buf[0] = off + k < len; /* more fragments follow */
        memcpy(n->frag_buf + 1, m + off, k);
        if (send_frag(n, p, n->frag_buf, k + 1)) {
            p->broken = true;
            return -EPIPE;
        }
        off += k;
    } while (off < len);
    return 0;
}

/* The pair is gone (either end reset it): what waits to be sent or to be
 * reassembled belongs to it and is dropped. */
static void pair_gone(struct cv_pnet *n, struct peer *p)
{
    ovf_clear(p);
    p->asm_len = 0;
    p->asm_bad = false;
    p->broken = false;
    p->pair++;
    n->st.resets++;
}

static void peer_reset_local(struct cv_pnet *n, struct peer *p)
{
    cv_chan_reset(p->chan, next_inc(n));
    pair_gone(n, p);
}

void cv_pnet_reset(struct cv_pnet *n, uint8_t to)
{
    if (to < CV_PNET_MAX_PEERS && n->peers[to].known)
        peer_reset_local(n, &n->peers[to]);
}

static void stage(struct cv_pnet *n, const uint8_t *m, size_t len)
{
    if (n->stage_len + 4 + len > n->stage_cap) {
        n->st.bad_dgrams++; /* cannot happen: one datagram completes at most this much */
        return;
    }
    uint32_t l = (uint32_t)len;
    memcpy(n->stage + n->stage_len, &l, 4);
    memcpy(n->stage + n->stage_len + 4, m, len);
    n->stage_len += 4 + len;
}

void cv_pnet_break(struct cv_pnet *n, uint8_t to)
{
    if (to < CV_PNET_MAX_PEERS && n->peers[to].known)
        n->peers[to].broken = true;
}

/* cv_chan's deliver: one fragment. */
static void on_frag(void *ctx, const uint8_t *f, size_t len)
{
    struct cv_pnet *n = ctx;
    struct peer *p = n->cur;
    if (len < 1)
        return;
    bool more = f[0] != 0;
    if (!more && p->asm_len == 0 && !p->asm_bad) {
        stage(n, f + 1, len - 1);
        return;
    }
    if (!p->asm_buf && !(p->asm_buf = malloc(n->cfg.max_msg)))
        p->asm_bad = true;
    if (!p->asm_bad && p->asm_len + len - 1 <= n->cfg.max_msg) {
        memcpy(p->asm_buf + p->asm_len, f + 1, len - 1);
        p->asm_len += len - 1;
    } else {
        p->asm_bad = true;
    }
    if (more)
        return;
    if (!p->asm_bad)
        stage(n, p->asm_buf, p->asm_len);
    else
        n->st.bad_dgrams++;
    p->asm_len = 0;
    p->asm_bad = false;
}

static void read_drop_file(struct cv_pnet *n, int64_t now)
{
    if (!n->cfg.drop_file || now - n->drop_checked_ms < 20)
        return;
    n->drop_checked_ms = now;
    for (unsigned i = 0; i < CV_PNET_MAX_PEERS; i++)
        n->peers[i].dropped = false;
    FILE *f = fopen(n->cfg.drop_file, "r");
    if (!f)
        return;
    unsigned id;
    while (fscanf(f, "%u", &id) == 1)
        if (id < CV_PNET_MAX_PEERS)
            n->peers[id].dropped = true;
    fclose(f);
}

static struct peer *peer_by_addr(struct cv_pnet *n, const struct sockaddr_storage *a)
{
    for (unsigned j = 1; j < CV_PNET_MAX_PEERS; j++)
        if (n->peers[j].known && same_addr(&n->peers[j].addr, a))
            return &n->peers[j];
    return NULL;
}

/* ICMP errors the kernel queued for datagrams we sent: a closed port means
 * the peer's process is gone. */
static int drain_errors(struct cv_pnet *n, const struct cv_pnet_cb *cb)
{
    int found = 0;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage to;
        uint8_t data[64];
        union {
            uint8_t b[512];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = {data, sizeof data};
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_name = &to;
        mh.msg_namelen = sizeof to;
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.b;
        mh.msg_controllen = sizeof ctl.b;
        if (recvmsg(n->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
            break;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            bool v4 = c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR;
            bool v6 = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR;
            if (!v4 && !v6)
                continue;
            struct sock_extended_err ee;
            memcpy(&ee, CMSG_DATA(c), sizeof ee);
            bool port_unreach =
                (ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == 3 && ee.ee_code == 3) ||
                (ee.ee_origin == SO_EE_ORIGIN_ICMP6 && ee.ee_type == 1 && ee.ee_code == 4);
            struct peer *p = port_unreach ? peer_by_addr(n, &to) : NULL;
            if (p && cb && cb->unreachable) {
                n->st.unreachable++;
                cb->unreachable(cb->ctx, p->id);
                found++;
            }
        }
    }
    return found;
}

/* A peer nothing was sent to for a while gets an empty datagram: if its
 * process is gone, the kernel answers with "port unreachable" (reported
 * through the unreachable callback), which is how a dead peer is noticed
 * without waiting for silence timers. Receivers ignore empty datagrams. */
static void probe_idle(struct cv_pnet *n, int64_t now)
{
    if (!n->cfg.probe_ms)
        return;
    for (unsigned i = 1; i < CV_PNET_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (!p->known || p->dropped || now - p->last_tx < n->cfg.probe_ms)
            continue;
        p->last_tx = now;
        if (sendto(n->fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&p->addr, p->addrlen) == 0)
            n->st.dgrams_tx++;
    }
}

static void tx_flush(struct cv_pnet *n)
{
    unsigned off = 0;
    while (off < n->ntx) {
        int k = sendmmsg(n->fd, n->tx_msgs + off, n->ntx - off, MSG_DONTWAIT);
        if (k < 0 && errno == ECONNREFUSED)
            k = sendmmsg(n->fd, n->tx_msgs + off, n->ntx - off, MSG_DONTWAIT); /* a pending
                                                        ICMP error was reported, not ours */
        if (k <= 0) {
            /* A full socket buffer or an unreachable peer: the channel
             * retransmits what did not leave. */
            n->st.send_errors++;
            break;
        }
        for (int i = 0; i < k; i++)
            n->st.bytes_tx += n->tx_msgs[off + i].msg_hdr.msg_iov->iov_len;
        n->st.dgrams_tx += (uint64_t)k;
        off += (unsigned)k;
    }
    n->ntx = 0;
}

int cv_pnet_poll(struct cv_pnet *n, int64_t now, const struct cv_pnet_cb *cb)
{
    int work = 0;
    read_drop_file(n, now);
    for (unsigned i = 0; i < CV_PNET_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (p->known && p->broken) {
            peer_reset_local(n, p);
            cb->broken(cb->ctx, p->id);
            work++;
        }
    }
    for (int round = 0; round < 4; round++) {
        for (unsigned i = 0; i < BURST; i++) {
            memset(&n->rx_msgs[i].msg_hdr, 0, sizeof n->rx_msgs[i].msg_hdr);
            n->rx_msgs[i].msg_hdr.msg_iov = &n->rx_iov[i];
            n->rx_msgs[i].msg_hdr.msg_iovlen = 1;
            n->rx_msgs[i].msg_hdr.msg_name = &n->rx_addr[i];
            n->rx_msgs[i].msg_hdr.msg_namelen = sizeof n->rx_addr[i];
        }
        int k = recvmmsg(n->fd, n->rx_msgs, BURST, MSG_DONTWAIT, NULL);
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            work += drain_errors(n, cb) + 1; /* an ICMP error: read it, go on */
            continue;
        }
        if (k <= 0)
            break;
        work += k;
        for (int i = 0; i < k; i++) {
            size_t len = n->rx_msgs[i].msg_len;
            n->st.dgrams_rx++;
            n->st.bytes_rx += len;
            if (len == 0)
                continue; /* a liveness probe (see probe_idle) */
            struct peer *p = peer_by_addr(n, &n->rx_addr[i]);
            if (!p) {
                n->st.dropped_unknown++;
                continue;
            }
            if (p->dropped) {
                n->st.dropped_filter++;
                continue;
            }
            const uint8_t *d = n->rx_iov[i].iov_base;
            n->cb = cb;
            n->cur = p;
            n->stage_len = 0;
            int rc = cv_chan_recv(p->chan, d, len, now, on_frag, n);
            if (rc == CV_CHAN_RESET) {
                /* The peer restarted or reset: the old pair is gone. Tell
                 * the owner, then take the datagram as the new pair's first. */
                pair_gone(n, p);
                cb->broken(cb->ctx, p->id);
                n->stage_len = 0;
                rc = cv_chan_recv(p->chan, d, len, now, on_frag, n);
            }
            if (rc == -EBADMSG)
                n->st.bad_dgrams++;
            /* Deliver outside cv_chan_recv; a reset on the way drops the rest. */
            uint64_t pair = p->pair;
            for (size_t off = 0; off < n->stage_len && p->pair == pair;) {
                uint32_t l;
                memcpy(&l, n->stage + off, 4);
                cb->deliver(cb->ctx, p->id, n->stage + off + 4, l);
                off += 4 + l;
            }
            n->stage_len = 0;
        }
        if (k < BURST)
            break;
    }
    /* Transmit: fragments waiting for room first, then what is due. */
    for (unsigned i = 1; i < CV_PNET_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (!p->known)
            continue;
        if (p->ovf_head)
            ovf_feed(p);
        if (cv_chan_next_due(p->chan) > now)
            continue;
        for (;;) {
            uint8_t *b = n->tx_iov[n->ntx].iov_base;
            size_t len = cv_chan_poll_tx(p->chan, now, b, n->cfg.max_dgram);
            if (!len)
                break;
            work++;
            if (p->dropped) {
                n->st.dropped_filter++;
                continue;
            }
            struct mmsghdr *mh = &n->tx_msgs[n->ntx];
            memset(mh, 0, sizeof *mh);
            p->last_tx = now;
            n->tx_iov[n->ntx].iov_len = len;
            mh->msg_hdr.msg_iov = &n->tx_iov[n->ntx];
            mh->msg_hdr.msg_iovlen = 1;
            mh->msg_hdr.msg_name = &p->addr;
            mh->msg_hdr.msg_namelen = p->addrlen;
            if (++n->ntx == BURST)
                tx_flush(n);
        }
    }
    if (n->ntx)
        tx_flush(n);
    probe_idle(n, now);
    return work;
}

void cv_pnet_get_stats(const struct cv_pnet *n, struct cv_pnet_stats *st)
{
    *st = n->st;
    for (unsigned i = 1; i < CV_PNET_MAX_PEERS; i++) {
        if (!n->peers[i].known)
            continue;
        struct cv_chan_stats cs;
        cv_chan_stats(n->peers[i].chan, &cs);
        st->retransmits += cs.retransmits;
    }
}
