/*
 * cv_sock — the kernel-socket transport of an io lcore.
 *
 * Contract
 * - One struct cv_io per io lcore, used only by that lcore. It owns a
 *   non-blocking TCP listener (SO_REUSEPORT, so every io lcore can have its
 *   own and the kernel spreads connections) and the connections it accepts;
 *   a connection never moves between lcores. All sockets are polled with a
 *   non-blocking epoll_wait inside the reactor (cv_io_poll); in adaptive mode
 *   the reactor's idle hook (cv_io_idle) may block in epoll_wait briefly.
 * - Connection state machine (S1): the first frame is a ConnectRequest, sent
 *   to the sequencer; nothing after it is read or processed until the
 *   sequencer answers (ESTABLISHED with the session, or CLOSE). Then frames
 *   are forwarded in order; pings are answered here (with the last zxid the
 *   sequencer reported) and reported to the sequencer as touches. A first
 *   frame that is a four-letter word is forwarded as such and the connection
 *   closes after the answer, as ZooKeeper does.
 * - Bad input closes the connection: a frame length above jute.maxbuffer or
 *   negative, a first frame that is not a ConnectRequest. The process and the
 *   other connections are unaffected.
 * - Back-pressure: a connection's queued output is bounded (out_limit): a
 *   client that does not read is closed. Requests forwarded but not yet
 *   answered are bounded per lcore (max_outstanding, this lcore's share of
 *   globalOutstandingLimit): above it no more input is processed until
 *   answers come back. maxClientCnxns is enforced per client IP per lcore.
 * - Memory: connection slots are allocated at start-up; a connection's
 *   buffers are allocated when it is accepted and grow (up to the frame and
 *   output limits) only when a larger frame or burst needs them.
 */
#ifndef CV_SOCK_H
#define CV_SOCK_H

#include <stdint.h>

#include "cv_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cv_sock_config {
    const char *addr;         /* clientPortAddress (IPv4 or IPv6 literal) */
    uint16_t port;            /* clientPort */
    uint32_t max_conns;       /* connection slots of this lcore */
    uint32_t max_per_ip;      /* maxClientCnxns; 0 = unlimited */
    uint32_t max_frame;       /* jute.maxbuffer */
    uint32_t max_outstanding; /* this lcore's share of globalOutstandingLimit */
    uint32_t out_limit;       /* bytes queued for one connection before it is closed */
};

struct cv_io_stats {
    uint64_t accepted, closed, refused_per_ip, refused_full, bad_frames, slow_readers;
    uint64_t pings;
    uint64_t frames_in; /* frames consumed: connects, requests, pings, four-letter words */
    uint64_t bytes_in;
    uint32_t open;
    uint32_t outstanding;
};

struct cv_io;

/* to_seq / from_seq: this lcore's rings to and from the sequencer. */
int cv_io_new(struct cv_io **io, struct cv_rt *rt, uint16_t index, const struct cv_sock_config *cfg,
              struct rte_ring *to_seq, struct rte_ring *from_seq, char *err, size_t errlen);
void cv_io_free(struct cv_io *io);

int cv_io_poll(void *io);
void cv_io_idle(void *io, unsigned max_us);
/* Also wake this lcore's idle wait when fd is readable (the sequencer's peer
 * socket when both share an lcore). 0 or -errno. */
int cv_io_wake_on(struct cv_io *io, int fd);
void cv_io_get_stats(const struct cv_io *io, struct cv_io_stats *st);

/* Whether 4 bytes are one of ZooKeeper's four-letter words. */
int cv_sock_is_fourlw(const uint8_t b[4]);

#ifdef __cplusplus
}
#endif
#endif /* CV_SOCK_H */
