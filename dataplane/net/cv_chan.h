/*
 * cv_chan — a reliable FIFO channel between two servers over UDP datagrams,
 * as a pure state machine: no sockets, no clocks (time is a parameter, in
 * milliseconds), no threads, no global state. One struct cv_chan is one end of
 * one peer pair. The network may lose, duplicate, reorder, delay and corrupt
 * datagrams, and either end may restart.
 *
 * Contract
 * - Delivery: within one incarnation pair (this end's incarnation, the
 *   peer's incarnation) every message passed to cv_chan_send is handed to the
 *   peer's deliver() at most once, in send order, intact, with no gaps: a
 *   delivered message's predecessors in the pair were all delivered before it.
 *   While both ends live and the network eventually carries datagrams, every
 *   message is delivered (retransmission with exponential backoff, forever;
 *   there is no give-up timer: the owner decides when a silent peer is dead).
 *   Messages are opaque byte strings of 0 .. cv_chan_max_msg() bytes; there
 *   is no fragmentation (size max_dgram for the largest message).
 * - Incarnations: every end has a nonzero 64-bit incarnation, strictly
 *   greater after each restart or reset (owner's duty). An end learns the
 *   peer's incarnation from the peer's datagrams. Messages are only carried in
 *   datagrams addressed to the exact incarnation of the receiver, so before an
 *   end knows its peer it sends only hellos (header-only datagrams addressed
 *   to incarnation 0) and holds its data; the first reply completes the
 *   handshake (one round trip, once per pair). Datagrams from an older peer
 *   incarnation are ignored; datagrams addressed to another incarnation of
 *   this end carry nothing this end accepts, but are answered so the peer
 *   learns this end's incarnation.
 * - Reset: a datagram from a newer incarnation of a known peer means the peer
 *   restarted or reset. cv_chan_recv then drops every queued, unacked and
 *   received-but-undelivered message of the old pair, adopts the new peer
 *   incarnation and returns CV_CHAN_RESET without delivering anything from
 *   that datagram (the owner may pass the same datagram again after handling
 *   the reset, or let the peer retransmit it). The owner must treat it like a
 *   broken TCP connection: some messages it sent may not have arrived, and
 *   the peer lost its state. It is reported once per peer incarnation change.
 *   cv_chan_reset is the local counterpart (the owner decided the pair is
 *   broken, e.g. after -ENOBUFS): everything is dropped, this end takes a new
 *   incarnation and the peer reports CV_CHAN_RESET when it next hears from it.
 * - Memory is allocated only in cv_chan_new and bounded by the config: the
 *   send ring holds queued + unacked messages, send_bytes in all (each message
 *   costs its length + 4); the receive side buffers at most recv_window
 *   out-of-order datagrams of at most max_dgram bytes each.
 * - Determinism: the outputs (datagrams, deliveries, return values, next_due)
 *   are a function of the config, the incarnation and the sequence of calls
 *   with their arguments only.
 * - Time: every `now` is in milliseconds, non-decreasing across calls (an
 *   earlier value is treated as the latest one seen).
 * - Not thread-safe: one owner thread per struct cv_chan. deliver() may call
 *   cv_chan_send, cv_chan_next_due and cv_chan_stats on the same channel, but
 *   not cv_chan_recv, cv_chan_poll_tx, cv_chan_reset or cv_chan_free.
 *
 * Wire format (big-endian), one datagram:
 *   u32 magic 'CVCH' | u8 version 1 | u8 flags 0 | u16 count
 *   u64 src incarnation | u64 dst incarnation (0: unknown, hello)
 *   u64 seq of the first message | u64 ack (next seq the sender expects)
 *   count x (u32 length | bytes) | u32 CRC-32C of everything before it.
 * Sequence numbers start at 1 in every incarnation pair. A datagram with
 * count 0 is a pure ack (or a hello when dst is 0); a hello carries no
 * messages.
 */
#ifndef CV_CHAN_H
#define CV_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CV_CHAN_MAGIC     0x43564348u /* "CVCH" */
#define CV_CHAN_VERSION   1
#define CV_CHAN_HDR_SIZE  40
#define CV_CHAN_CRC_SIZE  4
#define CV_CHAN_MSG_HDR   4 /* per-message length prefix */
#define CV_CHAN_MIN_DGRAM 64
#define CV_CHAN_MAX_DGRAM 65507 /* largest UDP payload over IPv4 */
#define CV_CHAN_MAX_COUNT 65535 /* messages in one datagram */
#define CV_CHAN_RESET     1     /* cv_chan_recv: the peer restarted or reset */

struct cv_chan_config {
    uint32_t max_dgram;   /* largest datagram produced (default 1400); the largest message is
                             max_dgram - 48 bytes. Both ends should use the same value. */
    uint32_t send_bytes;  /* send ring: queued + unacked messages, len + 4 each (default 4 MiB) */
    uint32_t send_window; /* sent-but-unacked bytes (len + 4 each) before new data waits for
                             acks; at least one message is always allowed (default 256 KiB) */
    uint32_t recv_window; /* out-of-order datagrams buffered until the gap before them fills
                             (default 64; 0 = drop them and rely on go-back-N) */
    int64_t rto_min_ms;   /* retransmission timeout, doubled on every expiry ... (default 5) */
    int64_t rto_max_ms;   /* ... up to this (default 200); back to rto_min on progress */
    int64_t ack_delay_ms; /* a pure ack is sent at most this long after data arrives (default
                             1; keep it below the peer's rto_min) */
};

struct cv_chan_stats {
    uint64_t dgrams_tx;     /* datagrams produced by cv_chan_poll_tx */
    uint64_t dgrams_rx;     /* well-formed datagrams passed to cv_chan_recv */
    uint64_t retransmits;   /* datagrams carrying at least one message sent before */
    uint64_t msgs_tx;       /* messages sent for the first time */
    uint64_t msgs_rx;       /* messages delivered */
    uint64_t dups_dropped;  /* messages received again after delivery */
    uint64_t bad_dropped;   /* datagrams rejected as malformed (-EBADMSG) */
    uint64_t stale_dropped; /* datagrams ignored: older peer incarnation, or addressed to
                               another incarnation of this end */
    uint64_t resets;        /* CV_CHAN_RESET returned (peer restarted or reset) */
    uint64_t local_resets;  /* cv_chan_reset calls */
};

struct cv_chan;

void cv_chan_config_init(struct cv_chan_config *cfg);

/* A new end with this incarnation (nonzero), knowing nothing of its peer.
 * NULL: bad config, incarnation 0, or no memory. */
struct cv_chan *cv_chan_new(const struct cv_chan_config *cfg, uint64_t incarnation);
void cv_chan_free(struct cv_chan *c);

/* Queue one message (copied). 0; -EMSGSIZE (len > cv_chan_max_msg); -ENOBUFS (the send ring
 * is full: the peer is not acking; the caller treats the pair as broken and calls
 * cv_chan_reset). */
int cv_chan_send(struct cv_chan *c, const void *msg, size_t len);

/* The next datagram to put on the wire at time now, written to dgram (cap must be at least
 * max_dgram): new data batched as many messages as fit, a go-back-N retransmission after
 * the RTO expired, a pure ack when one is owed, or a hello while the peer is unknown.
 * Returns its length, or 0 when nothing is due. Call repeatedly until 0. */
size_t cv_chan_poll_tx(struct cv_chan *c, int64_t now, uint8_t *dgram, size_t cap);

/* When cv_chan_poll_tx next has something to send: INT64_MAX when nothing is pending; a
 * time at or before the current time (possibly INT64_MIN) when something is due now. After
 * cv_chan_poll_tx(now) returned 0 it is > now until the next cv_chan_send/recv/reset. */
int64_t cv_chan_next_due(const struct cv_chan *c);

/* A datagram from the peer, received at time now. Messages that become deliverable in order
 * are handed to deliver(ctx, msg, len) (msg valid during the call only). Returns 0;
 * -EBADMSG (malformed or failed CRC: dropped, no state change); or CV_CHAN_RESET (see the
 * contract). Stale datagrams are ignored and return 0. */
int cv_chan_recv(struct cv_chan *c, const uint8_t *dgram, size_t len, int64_t now,
                 void (*deliver)(void *ctx, const uint8_t *msg, size_t len), void *ctx);

/* Local reset: drop all queued, unacked and received state and continue as incarnation
 * new_incarnation, which must be greater than the current one (else -EINVAL, no change).
 * The peer's incarnation stays known, so no new handshake is needed. */
int cv_chan_reset(struct cv_chan *c, uint64_t new_incarnation);

void cv_chan_stats(const struct cv_chan *c, struct cv_chan_stats *out);
size_t cv_chan_max_msg(const struct cv_chan *c);
uint64_t cv_chan_incarnation(const struct cv_chan *c);
uint64_t cv_chan_peer_incarnation(const struct cv_chan *c); /* 0: not known yet */

/* The decoder cv_chan_recv uses. Checks everything (size, magic, version, flags, CRC, every
 * message length inside the datagram, count consistent with the bytes, no trailing bytes,
 * src nonzero; a datagram with messages has a nonzero dst and seq, and seq + count does not
 * overflow) and never reads outside dgram[0, len). 0 with *hdr filled and *it (may be NULL)
 * ready to iterate the messages, or -EBADMSG. */
struct cv_chan_hdr {
    uint64_t src_inc;
    uint64_t dst_inc;
    uint64_t seq;
    uint64_t ack;
    uint32_t count;
};
struct cv_chan_iter {
    const uint8_t *pos;
    const uint8_t *end;
    uint32_t left;
};
int cv_chan_parse(const uint8_t *dgram, size_t len, struct cv_chan_hdr *hdr,
                  struct cv_chan_iter *it);
/* The next message of a parsed datagram: true with *msg, *len set (inside the datagram), or
 * false at the end. Bounds-checked on its own as well. */
bool cv_chan_iter_next(struct cv_chan_iter *it, const uint8_t **msg, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* CV_CHAN_H */
