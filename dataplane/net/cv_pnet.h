/*
 * cv_pnet — the peer transport of an ensemble member in socket mode: one
 * kernel UDP socket on the member's quorum port, one cv_chan (reliable FIFO
 * channel) per peer, polled by the sequencer lcore. This is the transport
 * the DPDK issue moves onto a dedicated NIC queue.
 *
 * Contract
 * - Messages: opaque byte strings of up to max_msg bytes to a peer id.
 *   Within one pair incarnation they arrive once, in order, intact
 *   (cv_chan). A message larger than one datagram is carried as fragments
 *   (each fragment a cv_chan message with a one-byte "more follows" flag)
 *   and reassembled before delivery.
 * - Flow control: the channel's send ring bounds what is queued or unacked.
 *   Messages beyond it (a SNAP sync's chunks) wait in an overflow queue and
 *   move into the channel as the peer acks; only when the overflow exceeds
 *   overflow_max bytes is the pair declared broken. Nothing is ever dropped
 *   silently: a broken pair is reported to the caller (which tells Zab, like
 *   a closed TCP connection).
 * - Peers are recognised by source address and port (server.N's host and
 *   quorum port). Datagrams from anyone else are counted and dropped.
 * - Incarnations are derived from the wall clock in microseconds at start
 *   and increase with every reset, so a restarted member is seen as new.
 * - Failure detection: the socket asks for ICMP errors (IP_RECVERR); a
 *   "port unreachable" for a peer's address (its process died, its port is
 *   closed) is reported at once through the unreachable callback, like a
 *   TCP reset. A peer nothing was sent to for probe_ms gets an empty
 *   datagram (ignored by receivers) so that a dead one is noticed. Silence (a paused process, a
 * partition) is the owner's to detect with its timers.
 * - Test-only drop filter: with drop_file set, while that file exists the
 *   ids listed in it (whitespace separated) are cut off: datagrams to and
 *   from them are dropped (re-read at most every 20 ms). Partitions without
 *   network namespaces.
 * - Calls: cv_pnet_send and cv_pnet_reset may run inside the deliver
 *   callback; cv_pnet_poll must not.
 * - No allocation per message except overflow entries (only when a channel
 *   is full); the socket calls are recvmmsg / sendmmsg batches.
 */
#ifndef CV_PNET_H
#define CV_PNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CV_PNET_MAX_PEERS 64 /* ids 1..63 */

struct cv_pnet_peer {
    uint8_t id;
    char host[256]; /* IPv4 or IPv6 literal, or a name resolved at start */
    uint16_t port;  /* its quorum port */
};

struct cv_pnet_config {
    uint8_t self;
    const char *bind_host;                        /* "" or NULL: this member's host from peers[] */
    struct cv_pnet_peer peers[CV_PNET_MAX_PEERS]; /* every member, self included */
    unsigned npeers;
    uint32_t max_dgram;    /* default 65000 */
    uint32_t max_msg;      /* largest message (reassembly bound); default 4 MiB */
    uint32_t send_bytes;   /* cv_chan send ring per peer; default 16 MiB */
    uint64_t overflow_max; /* bytes waiting beyond the ring per peer; default 1 GiB */
    uint32_t probe_ms;     /* an empty datagram to a peer idle this long (default 50; 0: never) */
    const char *drop_file; /* test-only; NULL normally */
};

void cv_pnet_config_init(struct cv_pnet_config *cfg);

struct cv_pnet;

/* Bind the socket and create the channels. 0 or -errno with err set. */
int cv_pnet_new(struct cv_pnet **out, const struct cv_pnet_config *cfg, char *err, size_t errlen);
void cv_pnet_free(struct cv_pnet *n);

/* Queue one message to a peer. 0; -EMSGSIZE (larger than max_msg); -EPIPE:
 * the pair broke (overflow): the caller handles it like a reset. */
int cv_pnet_send(struct cv_pnet *n, uint8_t to, const void *msg, size_t len);
/* Break the pair with `to` (everything queued either way is dropped). */
void cv_pnet_reset(struct cv_pnet *n, uint8_t to);
/* Break the pair with `to` at the next poll, which reports it through the
 * broken callback (for an owner that cannot take the report now). */
void cv_pnet_break(struct cv_pnet *n, uint8_t to);

struct cv_pnet_cb {
    void *ctx;
    /* One whole message from a peer. */
    void (*deliver)(void *ctx, uint8_t from, const uint8_t *msg, size_t len);
    /* The pair with `from` broke (the peer restarted or reset, or our
     * overflow bound was hit): what was in flight is lost. */
    void (*broken)(void *ctx, uint8_t from);
    /* The kernel reported `peer`'s port unreachable (ICMP): its process is
     * gone, as a TCP reset would say. May be NULL. */
    void (*unreachable)(void *ctx, uint8_t peer);
};
/* Receive what arrived, then transmit what is due. Returns work done. */
int cv_pnet_poll(struct cv_pnet *n, int64_t now_ms, const struct cv_pnet_cb *cb);
/* The socket, for an idle reactor to wait on. */
int cv_pnet_fd(const struct cv_pnet *n);

struct cv_pnet_stats {
    uint64_t dgrams_rx, dgrams_tx, bytes_rx, bytes_tx, retransmits;
    uint64_t dropped_unknown, dropped_filter, bad_dgrams, resets, overflow_peak;
    uint64_t send_errors, unreachable;
};
void cv_pnet_get_stats(const struct cv_pnet *n, struct cv_pnet_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* CV_PNET_H */
