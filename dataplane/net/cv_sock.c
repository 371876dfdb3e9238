/* cv_sock — the kernel-socket transport of an io lcore. Contract in cv_sock.h. */
#include "cv_sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_ring.h>

#include "cv_proto.h"

enum conn_state { C_FREE, C_NEW, C_CONNECTING, C_CONNECTED, C_FOURLW, C_CLOSING };

struct conn {
    int fd;
    uint32_t gen;
    uint8_t state;
    uint8_t epollout;
    uint8_t told_seq; /* the sequencer knows this connection (CONNECT or FOURLW sent) */
    uint8_t dirty;    /* in io->dirty: output queued during this burst */
    uint8_t *in;
    uint32_t in_len, in_cap;
    uint8_t *out;
    uint32_t out_off, out_len, out_cap;
    uint32_t ip; /* index in the per-IP table */
    int64_t session;
    char peer[48];
    uint16_t peer_port;
};

struct ip_count {
    char ip[48];
    uint32_t n;
};

struct cv_io {
    struct cv_rt *rt;
    uint16_t index;
    struct cv_sock_config cfg;
    struct rte_ring *to_seq, *from_seq;
    int lfd, efd;
    struct conn *conns;
    uint32_t *free_slots;
    uint32_t nfree;
    uint32_t *dirty; /* connections to flush once at the end of a burst */
    uint32_t ndirty;
    struct ip_count *ips;
    uint32_t nips;
    int64_t last_zxid;
    int throttled; /* some connection has frames held back by max_outstanding */
    struct cv_io_stats st;
};

static const char *const fourlw[] = {"ruok", "srvr", "stat", "mntr", "cons", "crst",
                                     "srst", "conf", "envi", "wchs", "wchc", "wchp",
                                     "dump", "isro", "dirs", "gtmk", "stmk"};

int cv_sock_is_fourlw(const uint8_t b[4])
{
    for (size_t i = 0; i < sizeof fourlw / sizeof fourlw[0]; i++)
        if (memcmp(b, fourlw[i], 4) == 0)
            return 1;
    return 0;
}

static int listen_on(const char *addr, uint16_t port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        sl = sizeof *a4;
    } else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        sl = sizeof *a6;
    } else {
        snprintf(err, errlen, "clientPortAddress: '%s' is not an IPv4 or IPv6 address", addr);
        return -EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 1024)) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on %s:%u: %s", addr, port, strerror(e));
        close(fd);
        return -e;
    }
    return fd;
}

int cv_io_new(struct cv_io **out, struct cv_rt *rt, uint16_t index,
              const struct cv_sock_config *cfg, struct rte_ring *to_seq, struct rte_ring *from_seq,
              char *err, size_t errlen)
{
    struct cv_io *io = calloc(1, sizeof *io);
    if (!io)
        return -ENOMEM;
    io->rt = rt;
    io->index = index;
    io->cfg = *cfg;
    io->to_seq = to_seq;
    io->from_seq = from_seq;
    io->conns = calloc(cfg->max_conns, sizeof *io->conns);
    io->free_slots = malloc(cfg->max_conns * sizeof *io->free_slots);
    io->ips = calloc(cfg->max_conns, sizeof *io->ips);
    io->dirty = malloc(cfg->max_conns * sizeof *io->dirty);
    if (!io->conns || !io->free_slots || !io->ips || !io->dirty) {
        cv_io_free(io);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < cfg->max_conns; i++)
        io->free_slots[io->nfree++] = cfg->max_conns - 1 - i;
    io->lfd = listen_on(cfg->addr, cfg->port, err, errlen);
    io->efd = epoll_create1(EPOLL_CLOEXEC);
    if (io->lfd < 0 || io->efd < 0) {
        int rc = io->lfd < 0 ? io->lfd : -errno;
        io->lfd = io->lfd < 0 ? -1 : io->lfd;
        cv_io_free(io);
        return rc;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
    epoll_ctl(io->efd, EPOLL_CTL_ADD, io->lfd, &ev);
    *out = io;
    return 0;
}

void cv_io_free(struct cv_io *io)
{
    if (!io)
        return;
    for (uint32_t i = 0; io->conns && i < io->cfg.max_conns; i++) {
        if (io->conns[i].state != C_FREE) {
            close(io->conns[i].fd);
            free(io->conns[i].in);
            free(io->conns[i].out);
        }
    }
    if (io->lfd >= 0)
        close(io->lfd);
    if (io->efd > 0)
        close(io->efd);
    free(io->conns);
    free(io->free_slots);
    free(io->ips);
    free(io->dirty);
    free(io);
}

void cv_io_get_stats(const struct cv_io *io, struct cv_io_stats *st)
{
    *st = io->st;
}

/* ---- messages to the sequencer -------------------------------------------- */

static struct cv_conn_ref ref(const struct cv_io *io, const struct conn *c)
{
    struct cv_conn_ref r = {io->index, 0, (uint32_t)(c - io->conns), c->gen};
    return r;
}

/* 0, or -ENOBUFS when no message or ring room is free (try again later). */
static int to_seq(struct cv_io *io, struct conn *c, uint16_t type, const void *data, size_t len)
{
    struct cv_msg *m = cv_msg_get_input(io->rt, len);
    if (!m)
        return -ENOBUFS;
    m->type = type;
    m->conn = ref(io, c);
    m->session = c->session;
    m->len = (uint32_t)len;
    if (len)
        memcpy(m->data, data, len);
    memcpy(m->peer, c->peer, sizeof m->peer);
    m->peer_port = c->peer_port;
    if (rte_ring_enqueue(io->to_seq, m) != 0) {
        cv_msg_put(io->rt, m);
        return -ENOBUFS;
    }
    return 0;
}

/* ---- connections ------------------------------------------------------------ */

static void conn_close(struct cv_io *io, struct conn *c)
{
    if (c->state == C_FREE)
        return;
    epoll_ctl(io->efd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    if (c->told_seq) {
        /* The sequencer must forget the connection; retry until it can. */
        while (to_seq(io, c, CV_MSG_GONE, NULL, 0) != 0 && !cv_rt_stopping())
            ;
    }
    if (io->ips[c->ip].n)
        io->ips[c->ip].n--;
    uint32_t gen = c->gen; /* messages still in flight for it must not match a reuse */
    memset(c, 0, sizeof *c);
    c->gen = gen;
    io->st.closed++;
    io->st.open--;
    io->free_slots[io->nfree++] = (uint32_t)(c - io->conns);
}

static uint32_t ip_slot(struct cv_io *io, const char *ip)
{
    uint32_t free_slot = UINT32_MAX;
    for (uint32_t i = 0; i < io->nips; i++) {
        if (io->ips[i].n && strcmp(io->ips[i].ip, ip) == 0)
            return i;
        if (!io->ips[i].n && free_slot == UINT32_MAX)
            free_slot = i;
    }
    if (free_slot == UINT32_MAX)
        free_slot = io->nips++;
    snprintf(io->ips[free_slot].ip, sizeof io->ips[free_slot].ip, "%s", ip);
    return free_slot;
}

static void set_epollout(struct cv_io *io, struct conn *c, int on)
{
    if (c->epollout == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0),
                             .data.u64 = (uint64_t)(c - io->conns)};
    epoll_ctl(io->efd, EPOLL_CTL_MOD, c->fd, &ev);
    c->epollout = (uint8_t)on;
}

static int do_accept(struct cv_io *io)
{
    int work = 0;
    for (int k = 0; k < 32; k++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(io->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break;
        work++;
        char peer[48] = "";
        uint16_t peer_port = 0;
        if (ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, peer, sizeof peer);
            peer_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, peer, sizeof peer);
            peer_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
        if (io->nfree == 0) {
            io->st.refused_full++;
            close(fd);
            continue;
        }
        uint32_t ip = ip_slot(io, peer);
        if (io->cfg.max_per_ip && io->ips[ip].n >= io->cfg.max_per_ip) {
            /* ZooKeeper: "Too many connections from <ip> - max is N" and close */
            fprintf(stderr, "corvid: too many connections from %s - max is %u\n", peer,
                    io->cfg.max_per_ip);
            io->st.refused_per_ip++;
            close(fd);
            continue;
        }
        uint32_t slot = io->free_slots[--io->nfree];
        struct conn *c = &io->conns[slot];
        uint32_t gen = c->gen;
        memset(c, 0, sizeof *c);
        c->gen = gen + 1;
        c->fd = fd;
        c->state = C_NEW;
        c->ip = ip;
        io->ips[ip].n++;
        snprintf(c->peer, sizeof c->peer, "%s", peer);
        c->peer_port = peer_port;
        c->in_cap = 4096;
        c->in = malloc(c->in_cap);
        c->out_cap = 4096;
        c->out = malloc(c->out_cap);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = slot};
        if (!c->in || !c->out || epoll_ctl(io->efd, EPOLL_CTL_ADD, fd, &ev)) {
            c->told_seq = 0;
            io->st.open++;
            conn_close(io, c);
            continue;
        }
        io->st.accepted++;
        io->st.open++;
    }
    return work;
}

/* Queue bytes for the client; false if the connection must be closed. */
static int queue_out(struct cv_io *io, struct conn *c, const uint8_t *p, size_t n)
{
    if (c->out_off && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if ((size_t)c->out_len - c->out_off + n > io->cfg.out_limit) {
        io->st.slow_readers++;
        return 0;
    }
    if (c->out_len + n > c->out_cap) {
        if (c->out_off) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        if (c->out_len + n > c->out_cap) {
            uint32_t cap = c->out_cap;
            while (cap < c->out_len + n)
                cap *= 2;
            uint8_t *q = realloc(c->out, cap);
            if (!q)
                return 0;
            c->out = q;
            c->out_cap = cap;
        }
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += (uint32_t)n;
    return 1;
}

/* Write what we can; returns -1 if the connection failed. */
static int flush(struct cv_io *io, struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->out_off += (uint32_t)n;
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    set_epollout(io, c, c->out_len > 0);
    return 0;
}

static void answer_ping(struct cv_io *io, struct conn *c)
{
    struct cv_response r;
    memset(&r, 0, sizeof r);
    r.hdr.xid = CV_XID_PING;
    r.hdr.zxid = io->last_zxid;
    r.op = CV_OP_PING;
    uint8_t f[32];
    int n = cv_proto_encode_response(f, sizeof f, &r);
    if (n < 0 || !queue_out(io, c, f, (size_t)n))
        c->state = C_CLOSING;
    io->st.pings++;
}

/* Act on complete frames in c->in, as far as state and back-pressure allow.
 * Returns the number of frames consumed; closes on bad input. */
static int process_input(struct cv_io *io, struct conn *c)
{
    uint32_t off = 0;
    int n = 0;
    while (c->state == C_NEW || c->state == C_CONNECTED) {
        size_t left = c->in_len - off;
        const uint8_t *p = c->in + off;
        if (c->state == C_NEW && left >= 4 && cv_sock_is_fourlw(p)) {
            if (to_seq(io, c, CV_MSG_FOURLW, p, 4)) {
                io->throttled = 1; /* no message free: retried from cv_io_poll */
                break;
            }
            c->told_seq = 1;
            c->state = C_FOURLW;
            off += 4;
            n++;
            break;
        }
        uint32_t plen = 0;
        int64_t f = cv_proto_frame(p, left, io->cfg.max_frame, &plen);
        if (f < 0) {
            io->st.bad_frames++;
            c->state = C_CLOSING;
            break;
        }
        if (f == 0)
            break;
        if (c->state == C_NEW) {
            if (to_seq(io, c, CV_MSG_CONNECT, p, (size_t)f)) {
                io->throttled = 1;
                break;
            }
            c->told_seq = 1;
            c->state = C_CONNECTING; /* S1: nothing more until the session is known */
            off += (uint32_t)f;
            n++;
            break;
        }
        if (plen >= 8 && (int32_t)cv_jute_rd32(p + 8) == CV_OP_PING) {
            answer_ping(io, c);
            to_seq(io, c, CV_MSG_TOUCH, NULL, 0); /* a lost touch only costs freshness */
        } else {
            if (io->st.outstanding >= io->cfg.max_outstanding) {
                io->throttled = 1; /* globalOutstandingLimit: wait for answers */
                break;
            }
            if (to_seq(io, c, CV_MSG_REQUEST, p, (size_t)f)) {
                io->throttled = 1; /* no message free (the pool is in flight) */
                break;
            }
            io->st.outstanding++;
        }
        off += (uint32_t)f;
        n++;
    }
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    io->st.frames_in += (uint64_t)n;
    return n;
}

static void on_readable(struct cv_io *io, struct conn *c)
{
    for (int k = 0; k < 4 && (c->state == C_NEW || c->state == C_CONNECTED); k++) {
        if (c->in_len == c->in_cap) {
            /* Grow for a frame that does not fit yet (bounded by max_frame). */
            uint32_t need = c->in_cap * 2;
            if (c->in_len >= 4) {
                uint32_t plen = cv_jute_rd32(c->in);
                if (plen <= io->cfg.max_frame && plen + 4 > c->in_cap)
                    need = plen + 4;
            }
            if (need > io->cfg.max_frame + 4 + 4096)
                need = io->cfg.max_frame + 4 + 4096;
            if (need <= c->in_cap) {
                process_input(io, c);
                if (c->in_len == c->in_cap)
                    return; /* throttled: frames wait here, the socket holds the rest */
                continue;
            }
            uint8_t *q = realloc(c->in, need);
            if (!q) {
                c->state = C_CLOSING;
                return;
            }
            c->in = q;
            c->in_cap = need;
        }
        size_t room = c->in_cap - c->in_len;
        ssize_t r = recv(c->fd, c->in + c->in_len, room, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            c->state = C_CLOSING;
            return;
        }
        if (r < 0)
            return;
        c->in_len += (uint32_t)r;
        io->st.bytes_in += (uint64_t)r;
        process_input(io, c);
        if ((size_t)r < room)
            return; /* drained: no second recv just to hear EAGAIN (level-triggered) */
    }
}

/* ---- the poller ------------------------------------------------------------- */

/* Replies of one burst are queued per connection and written with one send
 * per connection at the end, not one per reply. */
static int from_seq(struct cv_io *io)
{
    void *msgs[32];
    unsigned n = rte_ring_dequeue_burst(io->from_seq, msgs, 32, NULL);
    for (unsigned i = 0; i < n; i++) {
        struct cv_msg *m = msgs[i];
        if (m->zxid > io->last_zxid)
            io->last_zxid = m->zxid;
        if (io->st.outstanding >= m->answers)
            io->st.outstanding -= m->answers;
        else
            io->st.outstanding = 0;
        struct conn *c = m->conn.slot < io->cfg.max_conns ? &io->conns[m->conn.slot] : NULL;
        if (c && c->state != C_FREE && c->gen == m->conn.gen) {
            if (m->len && !queue_out(io, c, m->data, m->len))
                c->state = C_CLOSING;
            if (m->type == CV_MSG_ESTABLISHED && c->state == C_CONNECTING) {
                c->session = m->session;
                c->state = C_CONNECTED;
                process_input(io, c); /* frames pipelined behind the ConnectRequest */
            } else if (m->type == CV_MSG_CLOSE) {
                flush(io, c);
                c->state = C_CLOSING;
            }
            if (c->state == C_CLOSING) {
                conn_close(io, c);
            } else if (c->out_len > c->out_off && !c->dirty) {
                c->dirty = 1;
                io->dirty[io->ndirty++] = m->conn.slot;
            }
        }
        cv_msg_put(io->rt, m);
    }
    for (uint32_t i = 0; i < io->ndirty; i++) {
        struct conn *c = &io->conns[io->dirty[i]];
        c->dirty = 0;
        if (c->state != C_FREE && flush(io, c))
            conn_close(io, c);
    }
    io->ndirty = 0;
    return (int)n;
}

static int handle_events(struct cv_io *io, int timeout_ms)
{
    struct epoll_event evs[64];
    int n = epoll_wait(io->efd, evs, 64, timeout_ms);
    for (int i = 0; i < n; i++) {
        if (evs[i].data.u64 == UINT64_MAX) {
            do_accept(io);
            continue;
        }
        if (evs[i].data.u64 == UINT64_MAX - 1)
            continue; /* a wake-up fd (cv_io_wake_on): its owner polls it */
        struct conn *c = &io->conns[evs[i].data.u64];
        if (c->state == C_FREE)
            continue;
        if (evs[i].events & (EPOLLERR | EPOLLHUP))
            c->state = C_CLOSING;
        if (c->state != C_CLOSING && (evs[i].events & EPOLLOUT) && flush(io, c))
            c->state = C_CLOSING;
        if (c->state != C_CLOSING && (evs[i].events & EPOLLIN)) {
            if (c->state == C_NEW || c->state == C_CONNECTED) {
                on_readable(io, c);
            } else if (c->state == C_CONNECTING || c->state == C_FOURLW) {
                /* Not reading yet; just notice a peer that went away. */
                uint8_t b;
                ssize_t r = recv(c->fd, &b, 1, MSG_PEEK);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                    c->state = C_CLOSING;
            }
            if (c->state != C_CLOSING && c->out_len && flush(io, c))
                c->state = C_CLOSING;
        }
        if (c->state == C_CLOSING)
            conn_close(io, c);
    }
    return n > 0 ? n : 0;
}

int cv_io_poll(void *arg)
{
    struct cv_io *io = arg;
    int work = from_seq(io);
    work += handle_events(io, 0);
    /* Frames held back by the outstanding limit, or for want of a free
     * message (the socket will not signal them again), move on as answers
     * arrive. */
    if (io->throttled && io->st.outstanding < io->cfg.max_outstanding) {
        io->throttled = 0;
        for (uint32_t i = 0; i < io->cfg.max_conns; i++) {
            struct conn *c = &io->conns[i];
            if ((c->state == C_CONNECTED || c->state == C_NEW) && c->in_len >= 4) {
                process_input(io, c);
                if (c->state == C_CLOSING)
                    conn_close(io, c);
            }
        }
    }
    return work;
}

int cv_io_wake_on(struct cv_io *io, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX - 1};
    return epoll_ctl(io->efd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

void cv_io_idle(void *arg, unsigned max_us)
{
    struct cv_io *io = arg;
    /* Messages from the sequencer do not wake epoll: keep the wait short
     * when this lcore also waits for them. */
    if (rte_ring_count(io->from_seq))
        return;
    handle_events(io, (int)(max_us / 1000));
}
