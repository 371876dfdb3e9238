/*
 * cv_peer — the messages corvid servers exchange (atomic broadcast, election,
 * forwarding), framed once: a fixed header, a payload and a CRC-32C.
 *
 * Wire format of one message (all integers big-endian):
 *
 *   off  size  field
 *     0     2  magic 0xC7 0x5A
 *     2     1  version (CV_PEER_VERSION)
 *     3     1  type (enum cv_peer_type)
 *     4     1  from: the sender's server id (1..CV_PEER_MAX_SID)
 *     5     1  state: VOTE: the sender's role (enum cv_peer_state); otherwise 0
 *     6     2  flags (CV_PEER_F_*; unknown bits must be 0)
 *     8     4  payload length
 *    12     8  epoch
 *    20     8  round
 *    28     8  zxid
 *    36     8  a
 *    44     8  b
 *    52     n  payload
 *  52+n     4  CRC-32C of bytes [0, 52+n)
 *
 * Field meaning per type (unused fields are 0 on encode and ignored on decode
 * except where a rule below says otherwise):
 *   VOTE         round = election round (logical clock); a = proposed leader
 *                id; b = proposed leader's epoch; zxid = proposed leader's last
 *                zxid; epoch = sender's current epoch; state = sender's role.
 *   FOLLOWERINFO epoch = sender's acceptedEpoch; zxid = its last logged zxid;
 *                flags CV_PEER_F_OBSERVER when it is an observer.
 *   LEADERINFO   epoch = the new epoch the leader proposes; zxid = leader's
 *                last logged zxid.
 *   ACKEPOCH     epoch = the sender's currentEpoch; zxid = its last logged zxid.
 *   DIFF         zxid = the zxid the follower's log is truncated/kept to (the
 *                proposals that follow are the difference).
 *   TRUNC        zxid = truncate the log after this zxid; the proposals that
 *                follow are the difference from there.
 *   SNAP         zxid = the snapshot's last zxid; a = this chunk's offset;
 *                b = the snapshot's total size; payload = the chunk bytes.
 *                Rule: a >= 0, b >= a + n.
 *   PROPOSAL     zxid; payload = the transaction (non-empty).
 *   COMMIT       zxid: every proposal up to and including zxid is committed.
 *   INFORM       zxid; payload = a committed transaction (observers; non-empty).
 *   NEWLEADER    epoch = the new epoch; zxid = the leader's last zxid.
 *   ACK          zxid: every proposal up to and including zxid is logged (an
 *                ACK of NEWLEADER carries the epoch's first zxid, epoch << 32).
 *   UPTODATE     zxid = the leader's last committed zxid.
 *   PING         leader -> follower: zxid = last committed zxid; a = the
 *                newest sync round (the follower echoes it).
 *                follower -> leader: a = the round echoed; payload = the
 *                sessions touched since the previous ping, 8 bytes each
 *                (rule: n % 8 == 0).
 *   REQUEST      a = session; b = a cookie the sender chooses; payload = the
 *                client request (decoded by the receiver with cv_proto).
 *   SYNCREQ      follower -> leader: a = session, b = cookie.
 *   SYNCED       leader -> follower: a = session, b = cookie, zxid = the
 *                leader's last proposed zxid when the request arrived, once
 *                a quorum has confirmed its leadership since (-1: refused,
 *                ask again).
 *   RESYNC       follower -> leader: zxid = its last logged zxid. It stopped
 *                logging because its disk fell too far behind (the lag
 *                bound) and its log has caught up: synchronise its log from
 *                there (DIFF or SNAP, NEWLEADER, UPTODATE) while it keeps
 *                serving.
 *
 * Contract: pure functions over caller-owned bytes; no allocation. Decode
 * checks every length against the bytes given before reading, verifies the
 * CRC, the magic, the version, the type, the sender id, the flags and the
 * per-type rules above; a decoded message's payload points into the input.
 */
#ifndef CV_PEER_H
#define CV_PEER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CV_PEER_VERSION     1
#define CV_PEER_HDR         52u
#define CV_PEER_OVERHEAD    (CV_PEER_HDR + 4u)
#define CV_PEER_MAX_SID     63
#define CV_PEER_MAX_PAYLOAD (1u << 21) /* 2 MiB: a jute.maxbuffer txn plus slack */

#define CV_PEER_F_OBSERVER 0x0001u
#define CV_PEER_F_ALL      0x0001u

enum cv_peer_type {
    CV_PEER_VOTE = 1,
    CV_PEER_FOLLOWERINFO,
    CV_PEER_LEADERINFO,
    CV_PEER_ACKEPOCH,
    CV_PEER_DIFF,
    CV_PEER_TRUNC,
    CV_PEER_SNAP,
    CV_PEER_PROPOSAL,
    CV_PEER_COMMIT,
    CV_PEER_INFORM,
    CV_PEER_NEWLEADER,
    CV_PEER_ACK,
    CV_PEER_UPTODATE,
    CV_PEER_PING,
    CV_PEER_REQUEST,
    CV_PEER_SYNCREQ,
    CV_PEER_SYNCED,
    CV_PEER_RESYNC,
    CV_PEER_TYPE_MAX = CV_PEER_RESYNC
};

enum cv_peer_state { CV_PEER_LOOKING = 0, CV_PEER_FOLLOWING, CV_PEER_LEADING, CV_PEER_OBSERVING };

struct cv_peer_msg {
    uint8_t type;
    uint8_t from;
    uint8_t state;
    uint16_t flags;
    int64_t epoch;
    int64_t round;
    int64_t zxid;
    int64_t a;
    int64_t b;
    const uint8_t *payload; /* NULL when len is 0 */
    uint32_t len;
};

/* Bytes cv_peer_encode writes for m. */
static inline size_t cv_peer_encoded_len(const struct cv_peer_msg *m)
{
    return CV_PEER_OVERHEAD + m->len;
}

/* Encode m into out[0..cap). Returns the length written, -ENOBUFS if cap is
 * too small, -EINVAL if m breaks a rule above (its type, sender, flags, state
 * or payload). */
int cv_peer_encode(const struct cv_peer_msg *m, uint8_t *out, size_t cap);

/* Decode the message at the start of p[0..n). 0 with *m and *used (bytes the
 * message took; several messages may be concatenated), -EAGAIN if p holds
 * only part of a message (n too short for the header or the length it
 * declares), -EBADMSG if the bytes are not a valid message (bad magic,
 * version, CRC, type, sender, flags, state, oversized or rule-breaking
 * payload). */
int cv_peer_decode(const uint8_t *p, size_t n, struct cv_peer_msg *m, size_t *used);

/* "VOTE", "PROPOSAL", ...; "?" for an unknown type. */
const char *cv_peer_type_name(int type);

/* A client request a follower forwards (the payload of a REQUEST whose
 * cookie is not -1): u32 length of the session's authenticated ids (big
 * endian), those bytes (opaque here: the sender's struct cv_acl_auth, which
 * the receiver must check, cv_acl_auth_check), then the request header and
 * body without a length prefix. encode: the length, or -ENOBUFS. decode: 0
 * with the two parts pointing into p, or -EBADMSG (lengths that do not add
 * up, an empty request). */
int cv_peer_fwd_encode(uint8_t *out, size_t cap, const void *auth, uint32_t alen,
                       const uint8_t *req, size_t rlen);
int cv_peer_fwd_decode(const uint8_t *p, size_t len, const uint8_t **auth, uint32_t *alen,
                       const uint8_t **req, size_t *rlen);

#ifdef __cplusplus
}
#endif
#endif /* CV_PEER_H */
