/*
 * cv_core_int — internals shared by the cv_core source files. Not a public
 * interface.
 *
 * Outstanding changes (ZooKeeper's outstandingChanges / ChangeRecord): every
 * node a prepared-but-not-applied transaction touches gets a record of what
 * that node will look like once the transaction applies. Records live in a
 * ring in zxid order (apply retires them from the tail; a failed multi rolls
 * its own back from the head). A hash from path to the newest record for
 * that path gives prepare its view; each record remembers the record it
 * replaced in the hash so a rollback can put it back.
 */
#ifndef CV_CORE_INT_H
#define CV_CORE_INT_H

#include "cv_common.h"
#include "cv_core.h"

/* A node as prepare sees it. */
struct cv_view {
    bool exists;
    int32_t version;
    int32_t aversion;
    int32_t cversion; /* stored (persisted) cversion, as ZooKeeper's ChangeRecord */
    int32_t child_count;
    int64_t owner;   /* raw ephemeralOwner */
    uint32_t acl_id; /* 0 for a node that does not exist */
};

struct cv_change {
    int64_t zxid;
    uint64_t path_off; /* absolute offset in the path ring */
    uint32_t path_len;
    uint32_t hash;
    int64_t hnext;    /* seq of the next record in the hash chain, -1 none */
    int64_t replaced; /* seq of the record this one replaced in the hash, -1 none */
    bool current;     /* in the hash */
    struct cv_view v; /* v.acl_id holds a reference on the tree's ACL cache */
};

struct cv_core {
    struct cv_core_config cfg;
    struct cv_tree *tree;
    struct cv_sess_table sess;
    struct cv_sess_idgen idgen;
    struct cv_watches *watches;
    int64_t last_prepared;
    int64_t last_applied;
    uint64_t sess_digest; /* sum of cv_core_sess_hash over the table's sessions */

    /* outstanding changes */
    struct cv_change *ch;
    uint32_t ch_mask;
    int64_t ch_head, ch_tail; /* sequence numbers; slot = seq & mask */
    int64_t *ch_buckets;
    uint32_t ch_bucket_mask;
    char *paths;
    uint64_t paths_cap, paths_head, paths_tail;

    /* Sessions whose createSession is prepared, not applied: id, timeout. */
    int64_t *pending_ids;
    uint32_t pending_n, pending_cap;

    /* scratch for prepare / apply / read (reset per call) */
    uint8_t *scratch;
    size_t scratch_cap, scratch_used;
    uint8_t *frame; /* reply / notification frames */
    size_t frame_cap;
};

/* scratch arena */
void *cv_core_scratch(struct cv_core *c, size_t n);

/* outstanding changes (cv_core_changes.c) */
int cv_core_changes_init(struct cv_core *c);
void cv_core_changes_fini(struct cv_core *c);
/* The view of path: the newest outstanding record, else the applied tree. */
bool cv_core_view(struct cv_core *c, const char *path, size_t len, struct cv_view *v);
/* Add a record (takes a reference on v->acl_id when nonzero). 0 or -EBUSY. */
int cv_core_change_add(struct cv_core *c, int64_t zxid, const char *path, size_t len,
                       const struct cv_view *v);
/* Drop every record of zxid from the head (a failed multi / aborted prepare). */
void cv_core_change_rollback(struct cv_core *c, int64_t zxid);
/* Roll back every outstanding record (leadership lost). */
void cv_core_change_rollback_all(struct cv_core *c);
/* Retire records with zxid <= applied. */
void cv_core_change_retire(struct cv_core *c, int64_t applied);
/* Visit outstanding records that are current, oldest first. */
int cv_core_change_foreach(struct cv_core *c,
                           int (*fn)(void *ctx, const char *path, size_t len,
                                     const struct cv_view *v),
                           void *ctx);
uint32_t cv_core_change_count(const struct cv_core *c);

/* An extra reference on a live ACL id (0 is ignored). */
int cv_core_acl_ref(struct cv_tree *t, uint32_t id);

/* One session's share of the digest: order-independent, so the sum can be
 * kept up to date on every createSession / closeSession apply. */
uint64_t cv_core_sess_hash(int64_t id, int32_t timeout);

/* Pending sessions (createSession prepared, not applied). */
bool cv_core_session_pending(const struct cv_core *c, int64_t id);

/* Encode a watch notification (xid -1, zxid -1, SyncConnected) and hand it
 * to sink->notify for session. Used by apply (triggers) and read (SetWatches). */
void cv_core_notify(struct cv_core *c, const struct cv_core_sink *sink, int64_t session,
                    int32_t event_type, const char *path, size_t len);

#endif /* CV_CORE_INT_H */
