/*
 * cv_server — the control plane's side of a running server: what the lcores
 * publish into the counter registry, the views the four-letter words and
 * the admin HTTP server render, and the mailbox through which the control
 * plane reads the sequencer's tables.
 *
 * Contract
 * - Publishing: each reactor runs cv_server_lcore_poll (a poller) that, at
 *   most once a millisecond, copies its lcore's figures into its own
 *   registry slot: the reactor's loop counters, its io lcore's socket
 *   counters and ring depths, and on the sequencer lcore every figure of
 *   the sequencer, the tree, sessions, watches, storage and Zab. Nothing is
 *   published from the request path itself; the poller reports no work,
 *   so it never keeps an adaptive reactor awake. A four-letter word
 *   publishes the sequencer's slot first, so mntr and the registry agree.
 * - Views: cv_server_view fills a cv_fourlw_view's scalars from a registry
 *   read (the same function for mntr over TCP, /commands/monitor and
 *   everything else), so every interface prints the same figures.
 * - Mailbox (struct cv_ctl_box): one request at a time from the control
 *   plane (any thread; cv_ctl_call serialises callers) to the sequencer
 *   lcore, which serves it from cv_server_lcore_poll: it copies the tables
 *   asked for (connections, sessions, watches, ephemerals) into the box's
 *   buffer, or runs an action (snapshot now, check the tree, reset
 *   counters). The buffer is the control plane's, allocated once; a request
 *   that times out is still completed later into the same buffer, and the
 *   next call waits for it first.
 */
#ifndef CV_SERVER_H
#define CV_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cv_config.h"
#include "cv_fourlw.h"
#include "cv_metrics.h"
#include "cv_runtime.h"
#include "cv_seq.h"
#include "cv_sock.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a mailbox request asks the sequencer for. */
#define CV_CTL_CONNS          1u   /* cv_fourlw_conn records */
#define CV_CTL_SESSIONS       2u   /* cv_fourlw_session records */
#define CV_CTL_WATCHES        4u   /* (session, path) watch pairs, by session */
#define CV_CTL_WATCHES_BYPATH 8u   /* the same, by path (with CV_CTL_WATCHES) */
#define CV_CTL_EPHEMERALS     16u  /* (owner, path) pairs */
#define CV_CTL_SNAPSHOT       32u  /* write a snapshot now */
#define CV_CTL_CHECK          64u  /* check the tree's invariants, compute its digest */
#define CV_CTL_RESET_CONNS    128u /* crst */
#define CV_CTL_RESET_STATS    256u /* srst */

struct cv_ctl_box {
    uint64_t posted __attribute__((aligned(64))); /* the control plane's request count */
    uint64_t done __attribute__((aligned(64)));   /* the requests the sequencer served */
    /* the request (written before posted is raised) */
    unsigned what;
    char *buf;
    size_t cap;
    /* the answer (written before done is raised) */
    size_t nconns, nsessions, npairs, neph;
    size_t conns_off, sessions_off, pairs_off, pairs_len, eph_off, eph_len;
    bool truncated;  /* the buffer was too small: lists are cut short */
    int snapshot_rc; /* CV_CTL_SNAPSHOT: 0 started, -EALREADY running, -errno */
    int check_rc;    /* CV_CTL_CHECK: 0 or -EUCLEAN */
    char check_msg[256];
    uint64_t digest; /* the tree's, /zookeeper/config left out (cv_tree_node_digest) */
    int64_t zxid;    /* last applied when served */
    int64_t node_count;
    void *lock; /* the control plane's mutex (cv_ctl_call) */
};

/* One packed (session, path) pair in the box's buffer; 8-byte aligned. */
struct cv_ctl_pair {
    int64_t session;
    uint32_t kinds;
    uint32_t len;
    char path[];
};
#define CV_CTL_PAIR_SIZE(len) ((sizeof(struct cv_ctl_pair) + (len) + 1 + 7) & ~(size_t)7)

struct cv_server {
    const struct cv_config *cfg;
    const char *version;
    struct cv_fourlw_env env;
    struct cv_metrics *metrics;
    struct cv_metrics_slot *seq_slot; /* the sequencer lcore's slot */
    struct cv_ctl_box *ctl;           /* NULL: no admin mailbox */
    /* the sequencer lcore's buffers for four-letter words */
    struct cv_fourlw_conn *conns;
    size_t conns_cap;
    struct cv_fourlw_session *sessions;
    size_t sessions_cap;
};

/* Per-reactor publisher (cv_server_lcore_poll's ctx). */
struct cv_lcore_pub {
    struct cv_metrics_slot *slot;
    struct cv_reactor *reactor;
    struct cv_io *io;                   /* NULL: no io on this lcore */
    struct rte_ring *to_seq, *from_seq; /* the io lcore's rings */
    struct cv_server *srv;              /* the sequencer lcore only */
    struct cv_seq *seq;
    uint64_t next_tsc, period_tsc;
};
void cv_lcore_pub_init(struct cv_lcore_pub *p, struct cv_metrics_slot *slot,
                       struct cv_reactor *reactor);
int cv_server_lcore_poll(void *pub);

/* The sequencer's figures into its slot (sequencer lcore). */
void cv_server_publish_seq(struct cv_server *srv, struct cv_seq *seq);

/* Read the registry (cv_metrics_read) plus the process' figures, which
 * nobody publishes (they read /proc: no lcore should): open and maximum
 * file descriptors. Every reader of the registry calls this. */
void cv_server_read(const struct cv_server *srv, struct cv_metrics_read *r);

/* v's scalars from r (plus cfg, version, env); mntr_lookup answers from r
 * (ctx must stay valid while v is rendered: pass r). Lists stay empty. */
void cv_server_view(const struct cv_server *srv, const struct cv_metrics_read *r,
                    struct cv_fourlw_view *v);
/* dirs / conf: the snapshot and log directories' sizes into v (reads the
 * directories: off the lcores, or in a four-letter word as ZooKeeper). */
void cv_server_dir_sizes(const struct cv_server *srv, struct cv_fourlw_view *v);

/* mntr's lines after ZooKeeper's keys: corvid's own figures from r. */
size_t cv_server_mntr_extra(const struct cv_metrics_read *r, char *out, size_t cap);

/* ---- the mailbox, control-plane side ------------------------------------ */

/* A box with a buffer of cap bytes, or NULL. */
struct cv_ctl_box *cv_ctl_new(size_t cap);
void cv_ctl_free(struct cv_ctl_box *b);
/* Post `what` and wait for the sequencer, at most timeout_ms: 0, or
 * -ETIMEDOUT. The answer stays in b until the next call (callers hold
 * b->lock through cv_ctl_lock / cv_ctl_unlock while they read it). */
void cv_ctl_lock(struct cv_ctl_box *b);
void cv_ctl_unlock(struct cv_ctl_box *b);
int cv_ctl_call(struct cv_ctl_box *b, unsigned what, int timeout_ms);
/* Walk the box's answer as a cv_fourlw_view walker (ctx = the box). */
int cv_ctl_walk_watches(void *box, bool by_path, cv_fourlw_visit_fn visit, void *vctx);
int cv_ctl_walk_ephemerals(void *box, cv_fourlw_visit_fn visit, void *vctx);

#ifdef __cplusplus
}
#endif
#endif /* CV_SERVER_H */
