/*
 * cv_core — corvid's pure state machine: ZooKeeper's PrepRequestProcessor
 * (prepare), DataTree.processTxn + FinalRequestProcessor (apply) and the read
 * path, over the data tree (cv_tree), the session table (cv_sess), the watch
 * manager (cv_watch) and ACLs (cv_acl).
 *
 * Contract
 * - Pure: no I/O, no clocks (time is a parameter), no threads, no global
 *   state. One struct cv_core per node; it is owned by the sequencer lcore.
 *   Determinism: applying the same transactions (bytes) to two cores started
 *   alike gives byte-identical state (cv_core_digest) and identical callback
 *   sequences. Prepare output depends on the applied state, the changes still
 *   outstanding and its arguments only.
 * - Prepare turns a client write into a transaction (encoded TxnHeader +
 *   body, the bytes the log stores and the atomic broadcast carries) against
 *   the state as it will be once every transaction prepared before it is
 *   applied (ZooKeeper's outstanding changes). A request that fails
 *   validation becomes an error transaction (type -1) and still consumes a
 *   zxid, as in ZooKeeper. Prepare never touches the tree, the session table
 *   membership or the watches (S3): only the outstanding-change records and
 *   a session's "closing" flag.
 * - Apply mutates state from a transaction alone and reports what happened
 *   through the sink: the reply frame for the request that produced it,
 *   watch notifications, session created / closed. An ephemeral create whose
 *   owner is not in the session table at apply fails with SESSIONEXPIRED
 *   (whole multi included), so no ephemeral is ever owned by a dead session.
 * - Reads are served from applied state; the caller orders them after the
 *   session's earlier writes (per-session FIFO).
 * - Sessions: requests of a session whose createSession is prepared but not
 *   yet applied return CV_CORE_HOLD (the caller queues them, never prepares
 *   them). A session that is closing or unknown gets SESSIONEXPIRED. Nothing
 *   (watch, ephemeral) is registered for a session that is not live (S1).
 * - Memory: cv_core_new allocates everything prepare/apply/read need beyond
 *   the tree's and the watch manager's own node storage: the outstanding-
 *   change ring (bounded by config.max_outstanding; prepare returns -EBUSY
 *   when full) and scratch buffers of config.max_frame bytes.
 */
#ifndef CV_CORE_H
#define CV_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cv_acl.h"
#include "cv_proto.h"
#include "cv_sess.h"
#include "cv_tree.h"
#include "cv_watch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returned by prepare / read: the session's createSession is not applied yet. */
#define CV_CORE_HOLD 1

struct cv_core_config {
    struct cv_sess_config sess;          /* tickTime, min/max session timeout, secret */
    uint8_t server_id;                   /* 0..254: the high byte of session ids */
    int64_t start_ms;                    /* seeds session ids (ZooKeeper: server start time) */
    const char *super_digest;            /* "super:<base64 sha1>", or NULL */
    bool extended_types;                 /* extendedTypesEnabled: TTL nodes */
    bool reconfig_enabled;               /* reconfigEnabled (standalone answers UNIMPLEMENTED) */
    uint32_t max_outstanding;            /* outstanding change records (default 65536) */
    uint32_t max_frame;                  /* jute.maxbuffer: largest txn / reply (default 0xfffff) */
    int64_t container_max_never_used_ms; /* znode.container.maxNeverUsedIntervalMs (0: off) */
    /* Ensemble: the data of /zookeeper/config, as ZooKeeper writes it
     * ("server.N=host:quorumPort:electionPort:role;clientHost:clientPort"
     * lines, then "version=0"), version -1, mtime start_ms. NULL: empty. */
    const char *quorum_config;
};

void cv_core_config_init(struct cv_core_config *cfg, int32_t tick_ms);

struct cv_core;

/* Write cfg.quorum_config into /zookeeper/config again (after a snapshot
 * replaced the tree: the node always shows this server's configuration, as
 * ZooKeeper rebuilds it at start). No-op without one. */
void cv_core_refresh_config_node(struct cv_core *c);

/* What apply reports. Every callback may be NULL. Pointers are valid during
 * the call only. */
struct cv_core_sink {
    void *ctx;
    /* The reply frame (length prefix included) for the request that produced
     * a transaction: session, and the frame's xid is the request's. Not
     * called for createSession (see session_created) or for transactions no
     * client asked for (container / TTL deletes, cxid 0 closes). */
    void (*reply)(void *ctx, int64_t session, const uint8_t *frame, size_t len);
    /* A watch notification for session: the whole frame (xid -1). */
    void (*notify)(void *ctx, int64_t session, const uint8_t *frame, size_t len);
    /* The authenticated ids of session's connection (NULL: none). A watch
     * event is sent only to a session that may READ the znode it is about
     * (ZooKeeper 3.8 with the CVE-2024-23944 fix); the watch is consumed
     * either way. */
    const struct cv_acl_auth *(*auth_of)(void *ctx, int64_t session);
    /* createSession applied: send the ConnectResponse (cv_core_connect_response). */
    void (*session_created)(void *ctx, int64_t session, int32_t timeout);
    /* closeSession applied: the session, its ephemerals and watches are gone. */
    void (*session_closed)(void *ctx, int64_t session);
};

/* One client request as an io lcore hands it over. */
struct cv_core_req {
    int64_t session;
    const struct cv_acl_auth *auth; /* the connection's authenticated ids */
    const struct cv_request *req;   /* decoded; points into the frame */
    /* Reads only: the session is a read-only mode session that exists only
     * on this server (no quorum knows it): the caller vouches for it, so it
     * is not looked up in the session table. */
    bool local_session;
};

struct cv_core;

/* NULL if out of memory or the configuration is invalid (*why says which
 * setting, when why is not NULL). */
struct cv_core *cv_core_new(const struct cv_core_config *cfg, const char **why);
void cv_core_free(struct cv_core *c);

/* Components, for inspection (four-letter words, tests). */
struct cv_tree *cv_core_tree(struct cv_core *c);
struct cv_sess_table *cv_core_sessions(struct cv_core *c);
struct cv_watches *cv_core_watches(struct cv_core *c);

int64_t cv_core_last_applied(const struct cv_core *c);
int64_t cv_core_last_prepared(const struct cv_core *c);
uint32_t cv_core_outstanding(const struct cv_core *c);
/* Digest of the whole applied state: tree content and session table. */
uint64_t cv_core_digest(const struct cv_core *c);

/* Set the zxid counters (recovery, a new epoch): the next prepare uses
 * zxid + 1. Only while nothing is outstanding: -EBUSY otherwise. */
int cv_core_set_zxid(struct cv_core *c, int64_t zxid);

/* Restart every live session's expiry clock at now_ms (after recovery, or a
 * leader change): nobody expires for the time the server was not serving. */
void cv_core_restart_clocks(struct cv_core *c, int64_t now_ms);

/* ---- prepare --------------------------------------------------------------
 * Each writes one encoded transaction (no length prefix) into out[0..cap) and
 * sets *len. Returns 0, CV_CORE_HOLD (nothing written, nothing consumed),
 * -EBUSY (outstanding changes full: retry after apply), -ENOBUFS (cap too
 * small; nothing consumed), -EINVAL (not a write request). */

/* A client write: create*, delete, setData, setACL, check, multi, reconfig,
 * closeSession. */
int cv_core_prepare(struct cv_core *c, const struct cv_core_req *r, int64_t now_ms, uint8_t *out,
                    size_t cap, size_t *len);

/* A new session (ConnectRequest with session id 0): chooses its id and
 * negotiates its timeout; its requests are held until this transaction is
 * applied. */
int cv_core_prepare_create_session(struct cv_core *c, int32_t requested_timeout, int64_t now_ms,
                                   int64_t *session, int32_t *timeout, uint8_t *out, size_t cap,
                                   size_t *len);

/* Ensemble: the server a client connects to chooses the new session's id
 * (its own server id in the high byte, as ZooKeeper does) and the leader
 * prepares the createSession with it. -EEXIST if the id is live or pending,
 * -EINVAL for 0 or a reserved id; otherwise as above. */
int64_t cv_core_new_session_id(struct cv_core *c);
int cv_core_prepare_create_session_id(struct cv_core *c, int64_t id, int32_t requested_timeout,
                                      int64_t now_ms, int32_t *timeout, uint8_t *out, size_t cap,
                                      size_t *len);

/* Leadership lost, or a new leader begins (S4): every change prepared but
 * not applied is forgotten (outstanding records, pending createSessions,
 * closing marks; last_prepared = last_applied) and every session's expiry
 * clock restarts at now_ms. The log decides what those changes become. */
void cv_core_abandon(struct cv_core *c, int64_t now_ms);

/* Close a session that expired (cxid 0). -ENOENT if it is not in the table
 * or already closing. */
int cv_core_prepare_expire(struct cv_core *c, int64_t session, int64_t now_ms, uint8_t *out,
                           size_t cap, size_t *len);

/* Sessions whose timeout passed by now_ms (marked closing; each returned
 * once): the caller prepares cv_core_prepare_expire for each. */
size_t cv_core_expired(struct cv_core *c, int64_t now_ms, int64_t *out, size_t max);

/* ContainerManager: one deleteContainer transaction for the first container
 * or TTL node due at now_ms that no outstanding change touches. Returns 0
 * with a transaction, -ENOENT when none is due. */
int cv_core_prepare_housekeeping(struct cv_core *c, int64_t now_ms, uint8_t *out, size_t cap,
                                 size_t *len);

/* ---- apply --------------------------------------------------------------- */

/* Apply one transaction, in zxid order. 0, or -EBADMSG if the bytes do not
 * decode (nothing changed), -EINVAL if its zxid is not above the last
 * applied one. */
int cv_core_apply(struct cv_core *c, const uint8_t *txn, size_t len,
                  const struct cv_core_sink *sink);

/* ---- reads and session-level requests ------------------------------------ */

/*
 * exists, getData, getChildren(2), getACL, getAllChildrenNumber,
 * getEphemerals, sync, ping, whoAmI, multiRead, setWatches(2), addWatch,
 * checkWatches, removeWatches: writes the reply frame into out and returns
 * its length; SetWatches may also emit notifications through sink->notify
 * first. CV_CORE_HOLD, -ENOBUFS, -EINVAL (not a read) as for prepare.
 */
int cv_core_read(struct cv_core *c, const struct cv_core_req *r, const struct cv_core_sink *sink,
                 uint8_t *out, size_t cap);

/* Whether cv_core_read serves this opcode (the rest are writes for prepare,
 * or the connection-level auth / sasl). */
bool cv_core_is_read(int32_t op);

/* A session heard from (any request or ping): restart its expiry clock.
 * -ENOENT if it is not live. */
int cv_core_touch(struct cv_core *c, int64_t session, int64_t now_ms);

/* The session's connection is gone (closed, or replaced by a reconnect):
 * its watches go with it, as ZooKeeper's removeCnxn drops a connection's
 * watches. The client re-registers them with SetWatches on its next
 * connection. Local state only (not part of the digest). Returns how many
 * (path, session) watches were removed. */
size_t cv_core_drop_watches(struct cv_core *c, int64_t session);

/*
 * Validate a ConnectRequest for an existing session (session id != 0):
 * 0 (live, password right: *timeout is its negotiated timeout), CV_CORE_HOLD
 * (its createSession is still outstanding), CV_ZSESSIONEXPIRED (unknown,
 * closing, or wrong password: ZooKeeper answers both with an "expired"
 * ConnectResponse).
 */
int cv_core_validate_session(struct cv_core *c, const struct cv_connect_request *cr,
                             int32_t *timeout);

/* The ConnectResponse frame for a live session (or, with session 0, the
 * "expired" one: timeout 0, id 0, 16 zero bytes of password), readOnly as
 * the client asked. Returns the frame length or -ENOBUFS. */
int cv_core_connect_response(const struct cv_core *c, int64_t session, int32_t timeout,
                             bool has_read_only, uint8_t *out, size_t cap);

/* ---- snapshot ------------------------------------------------------------ */

/* Serialize the applied state (tree + sessions + last applied zxid). Changes
 * prepared but not applied are not part of it (a "closing" mark is not
 * either: a close that was not applied is still to come from the log). */
int cv_core_serialize(const struct cv_core *c, int (*write)(void *ctx, const void *p, size_t n),
                      void *ctx);
/* Replace the state with a snapshot. 0, -EBADMSG, -ENOMEM, -EBUSY. */
int cv_core_restore(struct cv_core *c, const uint8_t *p, size_t n, int64_t now_ms);

#ifdef __cplusplus
}
#endif
#endif /* CV_CORE_H */
