/*
 * cv_sess — the session table: ZooKeeper's SessionTrackerImpl + ExpiryQueue,
 * as a pure state machine (invariants S3, S4, S5 of DESIGN.md).
 *
 * Contract
 * - Pure: no I/O, no clocks, no threads, no global state. Time is passed in
 *   as int64_t milliseconds from the caller's monotonic clock, within
 *   [-2^62, 2^62] (deadlines are computed without overflow checks); calls
 *   should pass non-decreasing times (an earlier time never expires anything early:
 *   a deadline that would fall before the expiry cursor is lifted to it).
 * - Owner: the sequencer lcore. Nothing here locks; one table per node, so a
 *   simulation runs many nodes in one process.
 * - Allocation: cv_sess_table_init allocates every array once, sized by
 *   cfg->max_sessions; nothing else allocates (cv_sess_password* call
 *   OpenSSL's one-shot HMAC, which may allocate internally; it runs at
 *   connect, not per request). cv_sess_table_fini frees.
 * - Membership (which sessions exist) changes ONLY through applied
 *   transactions: cv_sess_apply_create (createSession) and
 *   cv_sess_apply_close (closeSession), called in log order on every server
 *   (S3). Preparation never calls them. The `closing` state — an expiry or a
 *   close request decided but not yet applied — is local: it makes the
 *   session reject requests at once (cv_sess_is_live false, cv_sess_touch
 *   fails) without removing it.
 * - Expiry is ZooKeeper's bucketed ExpiryQueue: a session touched at `now`
 *   is due in the bucket round_next(now + timeout), where round_next(t) is
 *   the first multiple of tick_ms strictly greater than t (ExpiryQueue's
 *   roundToNextInterval). cv_sess_expired returns the sessions of every
 *   bucket whose time is <= now, buckets in time order and ids ascending
 *   (as unsigned 64-bit) within a bucket, each exactly once, and leaves them
 *   closing. The buckets are a timing wheel spanning twice the maximum
 *   session timeout; the cost of cv_sess_expired is O(sessions returned +
 *   buckets elapsed), never a scan of the table. A session whose timeout
 *   exceeds the wheel's span (only possible if a transaction carries a
 *   timeout above this node's configured maximum) waits in an overflow list
 *   that is scanned only when its earliest deadline comes within the span.
 * - Errors: 0 or a negative errno / negative ZooKeeper code (enum cv_zerr).
 *   A failed call changes no state unless it says otherwise.
 */
#ifndef CV_SESS_H
#define CV_SESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ZooKeeper's session password length (ConnectResponse.passwd). */
#define CV_SESS_PASSWD_LEN 16
/* Ensemble secret: at least 16 bytes (the password's strength), at most 64
 * (one HMAC-SHA256 block). */
#define CV_SESS_SECRET_MIN 16
#define CV_SESS_SECRET_MAX 64
/* The largest server id: 255 in the high byte would collide with TTL
 * ephemeralOwner values (0xFF00000000000000 | ttl), as ZooKeeper's
 * EphemeralType.validateServerId refuses it. */
#define CV_SESS_SERVER_ID_MAX 254

/* Special ephemeralOwner values no session id may take (EphemeralType). */
#define CV_SESS_OWNER_NONE      INT64_C(0)
#define CV_SESS_OWNER_CONTAINER INT64_MIN                   /* 0x8000000000000000 */
#define CV_SESS_OWNER_TTL_MASK  INT64_C(-72057594037927936) /* 0xFF00000000000000 */

struct cv_sess_config {
    int32_t tick_ms;                    /* ZooKeeper tickTime; the expiry bucket width. > 0 */
    int32_t min_timeout_ms;             /* minSessionTimeout; default 2 * tick_ms */
    int32_t max_timeout_ms;             /* maxSessionTimeout; default 20 * tick_ms */
    uint32_t max_sessions;              /* table capacity, the same on every server */
    uint8_t secret[CV_SESS_SECRET_MAX]; /* per-ensemble password key */
    uint32_t secret_len;
};

/* Fill cfg with ZooKeeper's defaults for tick_ms (min 2x, max 20x tickTime),
 * the given capacity, and no secret (set one before cv_sess_config_check). */
void cv_sess_config_init(struct cv_sess_config *cfg, int32_t tick_ms, uint32_t max_sessions);

/* 0, or -EINVAL with *why (if why is not NULL) naming the bad setting and
 * its limit: tick_ms > 0; 0 < min_timeout_ms <= max_timeout_ms;
 * 0 < max_sessions <= 2^28; CV_SESS_SECRET_MIN <= secret_len <=
 * CV_SESS_SECRET_MAX. */
int cv_sess_config_check(const struct cv_sess_config *cfg, const char **why);

/* The negotiated session timeout: requested clamped to [min, max], as
 * ZooKeeperServer.processConnectRequest does (a negative request gets min). */
int32_t cv_sess_negotiate_timeout(const struct cv_sess_config *cfg, int32_t requested);

/* ---- session ids ---------------------------------------------------------- */

/*
 * ZooKeeper's SessionTrackerImpl.initializeNextSessionId, as a pure function:
 *
 *     bits 63..56  server_id (0..254)
 *     bits 55..16  the low 40 bits of start_ms (the server's start time)
 *     bits 15..0   counter, added to bits 55..0 (a carry runs into the time
 *                  bits, as ZooKeeper's nextSessionId++ does; bits 55..0 wrap
 *                  modulo 2^56 so the high byte is always server_id)
 *
 * Ids of different servers never collide (high byte); ids of one server
 * collide only after 2^56 ids or if the server restarts with the same
 * start_ms. The result may be a reserved value (see cv_sess_id_reserved)
 * for server ids 0 and 128; cv_sess_idgen_next skips those.
 */
int64_t cv_sess_id_make(uint8_t server_id, int64_t start_ms, uint64_t counter);

/* True for ids no session may have: 0 (not ephemeral), 0x8000000000000000
 * (container) and 0xFF.. (TTL). */
bool cv_sess_id_reserved(int64_t id);

/* The id allocator of the server that accepts new sessions. Local state, not
 * replicated: the id travels in the createSession transaction. */
struct cv_sess_idgen {
    int64_t start_ms;
    uint64_t counter;
    uint8_t server_id;
};

/* -EINVAL if server_id > CV_SESS_SERVER_ID_MAX. */
int cv_sess_idgen_init(struct cv_sess_idgen *g, unsigned server_id, int64_t start_ms);

struct cv_sess_table;
/* The next id: never reserved and, when t is not NULL, not in t. */
int64_t cv_sess_idgen_next(struct cv_sess_idgen *g, const struct cv_sess_table *t);

/* ---- passwords ------------------------------------------------------------ */

/*
 * The password of a session: HMAC-SHA256(secret, "corvid-session-passwd-v1"
 * || id as 8 big-endian bytes), first 16 bytes. Any server holding the
 * ensemble secret can verify it without shared state (S5). Returns 0, or
 * -EINVAL if the secret is missing or OpenSSL fails.
 */
int cv_sess_password(const struct cv_sess_config *cfg, int64_t id, uint8_t out[CV_SESS_PASSWD_LEN]);

/* 0 if pw (len bytes) is id's password, else -EACCES (wrong length, wrong
 * bytes, or no secret). The comparison takes the same time whatever bytes
 * differ. */
int cv_sess_password_check(const struct cv_sess_config *cfg, int64_t id, const uint8_t *pw,
                           size_t len);

/* ---- the table ------------------------------------------------------------ */

/* Internal per-session record; read through cv_sess_get / cv_sess_list. */
struct cv_sess_slot {
    int64_t id;
    int64_t deadline; /* the bucket time it is (or was last) due in */
    int32_t timeout;
    int32_t prev, next; /* expiry list links (wheel slot or overflow); free-list link */
    uint8_t state;      /* enum in cv_sess.c */
    uint8_t in_ovf;
};

/* Caller-owned; fields are private to cv_sess.c. */
struct cv_sess_table {
    int32_t tick_ms;
    uint32_t cap;   /* max sessions */
    uint32_t count; /* sessions present (live or closing) */
    struct cv_sess_slot *slots;
    int32_t free_head;

    int32_t *index; /* open addressing, id -> slot, -1 empty */
    uint32_t index_mask;

    int32_t *wheel; /* list head per bucket, -1 empty */
    uint32_t wheel_mask;
    uint32_t wheel_count; /* sessions in the wheel */
    int64_t cursor;       /* the next bucket time to process (a multiple of tick_ms) */
    bool cursor_set;

    int32_t ovf_head; /* sessions beyond the wheel's span */
    uint32_t ovf_count;
    int64_t ovf_min; /* <= every overflow deadline (may be stale-low) */

    int64_t *pend; /* the bucket being handed out by cv_sess_expired, sorted */
    uint32_t pend_len, pend_pos;

    uint64_t expiry_work; /* sessions and buckets visited by expiry: a cost meter for tests */
};

/* Allocate the table for cfg (which must pass cv_sess_config_check). 0,
 * -EINVAL, or -ENOMEM (nothing allocated). */
int cv_sess_table_init(struct cv_sess_table *t, const struct cv_sess_config *cfg);
void cv_sess_table_fini(struct cv_sess_table *t);

/*
 * Apply a committed createSession(id, timeout) at `now`. 0: added, live, due
 * at round_next(now + timeout). 1: id was already present (a transaction
 * replayed over a fuzzy snapshot): its timeout is updated and, if live, its
 * clock restarts, as SessionTrackerImpl.trackSession does. -EINVAL: reserved
 * id or timeout <= 0. -ENOSPC: table full (deterministic on every server,
 * which share max_sessions; preparation should refuse before).
 */
int cv_sess_apply_create(struct cv_sess_table *t, int64_t id, int32_t timeout, int64_t now);

/* Apply a committed closeSession(id): the session is gone. 0 or -ENOENT. */
int cv_sess_apply_close(struct cv_sess_table *t, int64_t id);

/* Present and not closing. */
bool cv_sess_is_live(const struct cv_sess_table *t, int64_t id);
static inline uint32_t cv_sess_count(const struct cv_sess_table *t)
{
    return t->count;
}

/* Restart a live session's expiry clock: due at round_next(now + timeout).
 * 0, or CV_ZSESSIONEXPIRED if unknown or closing (SessionTrackerImpl
 * touchSession / checkSession). */
int cv_sess_touch(struct cv_sess_table *t, int64_t id, int64_t now);

/* A close request for id was accepted: the session rejects requests from now
 * on and leaves the expiry queue; it stays until its closeSession is applied.
 * 0 (now closing), 1 (already closing), -ENOENT. */
int cv_sess_set_closing(struct cv_sess_table *t, int64_t id);

/*
 * Expiry: write to out (at most max) the ids of sessions whose bucket time
 * is <= now, buckets in time order and ids ascending (unsigned) within one;
 * each is now closing and is returned exactly once. A bucket larger than max
 * continues on the next call (the whole bucket stops being live when it is
 * taken; a member closed or set closing before it is returned is skipped).
 * A bucket is taken only when there is room to return part of it. The caller turns each into a
 * closeSession request. Returns the number written.
 */
size_t cv_sess_expired(struct cv_sess_table *t, int64_t now, int64_t *out, size_t max);

/*
 * A leader change (S4): every session becomes live again with its clock
 * restarted from now, as ZooKeeper's new leader rebuilds its tracker from
 * the committed sessions. Closing decisions not yet applied are dropped: the
 * caller re-decides (a pending close request calls cv_sess_set_closing
 * again; expiry decides anew after a full timeout). O(max_sessions).
 */
void cv_sess_restart_clocks(struct cv_sess_table *t, int64_t now);

/* ---- inspection (cons, dump) ---------------------------------------------- */

struct cv_sess_info {
    int64_t id;
    int64_t deadline; /* bucket time; for a closing session the last one */
    int32_t timeout;
    bool closing;
};

/* 0 with *out filled, or -ENOENT. */
int cv_sess_get(const struct cv_sess_table *t, int64_t id, struct cv_sess_info *out);

/*
 * Up to max sessions in ascending (unsigned) id order, starting after
 * *after (NULL: from the smallest). Page through by passing the last id
 * returned. Returns the number written. Each call scans the whole table
 * (O(max_sessions log max)): use large pages; not for the request path.
 */
size_t cv_sess_list(const struct cv_sess_table *t, const int64_t *after, struct cv_sess_info *out,
                    size_t max);

/* ---- snapshots ------------------------------------------------------------ */

/*
 * ZooKeeper's snapshot session section (SerializeUtils.serializeSnapshot):
 * int count, then count x (long id, int timeout), big-endian; corvid writes
 * ids in ascending (unsigned) order so equal tables give equal bytes.
 */
size_t cv_sess_serialized_size(const struct cv_sess_table *t);
/* Bytes written, or -ENOBUFS (nothing written). O(n log n), no allocation. */
int64_t cv_sess_serialize(const struct cv_sess_table *t, uint8_t *out, size_t cap);

/*
 * Load a session section into an EMPTY table (-EBUSY otherwise); every
 * session is live and due at round_next(now + timeout), as ZooKeeper's
 * tracker does on load. *used (if not NULL) gets the bytes consumed.
 * -EBADMSG: truncated input, negative count, a reserved id, a duplicate id,
 * or a timeout <= 0. -ENOSPC: more sessions than max_sessions. On any error
 * the table is left empty.
 */
int cv_sess_deserialize(struct cv_sess_table *t, const uint8_t *p, size_t len, size_t *used,
                        int64_t now);

#ifdef __cplusplus
}
#endif
#endif /* CV_SESS_H */
