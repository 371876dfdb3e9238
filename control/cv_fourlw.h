/*
 * cv_fourlw — ZooKeeper's four-letter words, rendered byte for byte in
 * ZooKeeper 3.8's formats from a snapshot the caller fills.
 *
 * Contract
 * - Pure rendering: no I/O, no clocks, no global state, no allocation. The
 *   caller (an io lcore, or the control plane) builds a struct
 *   cv_fourlw_view from per-core counters and the sequencer's tables and
 *   calls cv_fourlw_render; the callbacks in the view are called during the
 *   render only, from the calling thread. cv_fourlw_env_probe is the one
 *   function here that asks the OS (uname, getpwuid, getcwd, sysinfo); call
 *   it once at start-up.
 * - Recognition (cv_fourlw_is_command): ZooKeeper reads the first 4 bytes of
 *   a new connection as the frame length and, if they spell a known word,
 *   answers it and closes; corvid's transports do the same with these bytes.
 *   Known words: conf cons crst dirs dump envi gtmk ruok stmk srst srvr stat
 *   wchc wchp wchs mntr isro hash. (ZooKeeper also "knows" the telnet close
 *   sequence ff f4 ff fd; corvid treats it as a negative length and closes,
 *   which is what the client asked for.)
 * - Whitelist: a word not in cfg's whitelist gets ZooKeeper's exact reply
 *   "<cmd> is not executed because it is not in the whitelist.\n" and has
 *   no effect (crst / srst do not reset).
 * - A server that is not serving (election, start-up) answers most words
 *   with "This ZooKeeper instance is not currently serving requests\n", isro
 *   with "null", as ZooKeeper does; ruok, envi, gtmk, stmk answer anyway.
 *
 * Where corvid differs from ZooKeeper 3.8, on purpose
 * - wchs / wchc / wchp report every watch kind (data, child, persistent,
 *   recursive) as (path, session) pairs. ZooKeeper 3.8 dumps its data-watch
 *   table only, so child watches are invisible there; corvid's invariant S1
 *   needs wchp, wchs, cons and dump to agree about everything a session holds.
 * - Listings are in a deterministic order (sessions ascending, paths in byte
 *   order, connections as the caller gives them); ZooKeeper's are hash order.
 * - mntr prints ZooKeeper 3.8.0's key set in its order (recorded from a real
 *   server, see tests/control/fourlw_golden): metrics corvid has are real,
 *   metrics of machinery corvid does not have (JVM, Netty, commit processor
 *   queues...) are 0 unless the caller's mntr_lookup supplies them. The
 *   per-namespace summaries (zk_*_<ns>_{read,write}_per_namespace), which
 *   ZooKeeper adds per top-level znode, are not printed.
 * - envi keeps ZooKeeper's keys; java.* values are "<NA>", the value
 *   ZooKeeper itself prints for an absent Java property. os.memory.* are the
 *   process' memory (free = max - used; max = the configured limit or RAM;
 *   total = resident), in MB as ZooKeeper prints them.
 * - dump: "expire at" times are rendered in the local time zone, as Java's
 *   Date.toString does; hash prints nothing (corvid keeps no digest log).
 */
#ifndef CV_FOURLW_H
#define CV_FOURLW_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cv_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The ZooKeeper version corvid speaks; zookeeper.version and "Zookeeper
 * version:" start with it, because clients parse it (kazoo's
 * server_version() reads envi's zookeeper.version). */
#define CV_FOURLW_ZK_VERSION "3.8.0"

#define CV_FOURLW_NOT_SERVING "This ZooKeeper instance is not currently serving requests\n"

enum cv_fourlw_mode {
    CV_FOURLW_STANDALONE,
    CV_FOURLW_LEADER,
    CV_FOURLW_FOLLOWER,
    CV_FOURLW_OBSERVER,
    CV_FOURLW_READ_ONLY,
};

/* Latency as ZooKeeper's counters keep it: ms; min/max 0 when count is 0. */
struct cv_fourlw_latency {
    int64_t count, total, min, max;
};

/* A percentile summary (mntr's zk_{avg,min,max,cnt,sum,p50,p95,p99,p999}_X). */
struct cv_fourlw_summary {
    int64_t count, total, min, max;
    int64_t p50, p95, p99, p999;
};

/* One client connection (cons, stat, dump). */
struct cv_fourlw_conn {
    struct sockaddr_storage remote; /* AF_INET or AF_INET6 */
    int interest_ops;               /* ZooKeeper's selector ops: 0, 1 (read), 4, 5 */
    int64_t queued;                 /* outstanding requests */
    int64_t received, sent;         /* packets */
    int64_t session_id;             /* 0: no session yet (brief line) */
    const char *last_op;            /* cv_fourlw_op_name(); "NA" after a reset */
    int64_t established_ms;         /* wall clock, ms since the epoch */
    int32_t timeout;                /* negotiated session timeout, ms */
    int64_t last_cxid;              /* -1: none (not printed) */
    int64_t last_zxid;              /* -1 after a reset, as ZooKeeper */
    int64_t last_response_ms;       /* monotonic ms (ZooKeeper: elapsed-time clock) */
    int64_t last_latency;
    struct cv_fourlw_latency latency;
    int64_t expire_wall_ms; /* dump: when the connection expires (wall ms) */
};

/* A session for dump's SessionTracker section. */
struct cv_fourlw_session {
    int64_t id;
    int64_t expire_wall_ms; /* its expiry bucket, as a wall-clock time */
};

/* Called once per (session, path) pair; non-zero stops the walk. Same
 * signature as cv_watch_visit_fn, so cv_watch_foreach_* can be used as is. */
typedef int (*cv_fourlw_visit_fn)(void *ctx, int64_t session, const char *path, size_t len,
                                  unsigned kinds);

struct cv_fourlw_env {
    char host_name[256];
    char os_name[65], os_arch[65], os_version[128];
    char user_name[64], user_home[256], user_dir[1024];
    int64_t mem_free, mem_max, mem_total; /* bytes */
};

struct cv_fourlw_view {
    const struct cv_config *config; /* whitelist and conf; required */
    const char *version;            /* cv_fourlw_version_string() */
    bool serving;
    enum cv_fourlw_mode mode;
    const char *peer_state; /* quorum modes: "leading - broadcast", ... (mntr zk_peer_state) */
    int64_t zxid;           /* last processed */
    struct cv_fourlw_latency latency;
    int64_t packets_received, packets_sent;
    int64_t outstanding_requests;
    int64_t node_count;
    int64_t watch_count; /* mntr zk_watch_count */
    int64_t ephemerals_count;
    int64_t approximate_data_size;
    int64_t global_sessions;
    int64_t open_fds, max_fds;
    int64_t uptime_ms;
    int64_t data_dir_size, log_dir_size; /* bytes (dirs, conf) */
    int64_t trace_mask;                  /* gtmk / stmk */
    int32_t quorum_size;                 /* quorum modes */
    /* leader only: learners, synced followers/observers, pending syncs,
     * proposal sizes (-1 when none, as BufferStats) */
    int64_t learners, synced_followers, synced_non_voting_followers, synced_observers;
    int64_t pending_syncs, leader_uptime_ms;
    int64_t proposal_last, proposal_min, proposal_max;
    int64_t observer_master_id; /* observer only */
    /* client responses (BufferStats: -1 when none) */
    int64_t response_last, response_min, response_max;
    struct cv_fourlw_summary read_latency, update_latency, fsync_time;
    /* connections, in the order to print them */
    const struct cv_fourlw_conn *conns;
    size_t nconns;
    /* srvr's "Connections:" and mntr's num_alive_connections when > 0 (a
     * count from the counters, when conns is not filled); else nconns */
    int64_t num_connections;
    /* sessions for dump (any order) */
    const struct cv_fourlw_session *sessions;
    size_t nsessions;
    /* watches (wchs): sessions holding one, distinct paths, (path, session) pairs */
    int64_t watch_sessions, watch_paths, watch_pairs;
    /* wchc (by_path false: by session, then path) and wchp (by_path true: by
     * path, then session); NULL prints nothing. Returns 0 or the visit's
     * non-zero value. */
    int (*walk_watches)(void *ctx, bool by_path, cv_fourlw_visit_fn visit, void *vctx);
    /* dump: every ephemeral as (owner session, path), grouped by session;
     * NULL prints none. */
    int (*walk_ephemerals)(void *ctx, cv_fourlw_visit_fn visit, void *vctx);
    void *walk_ctx;
    /* mntr: a value for any other zk_ key (without "zk_"), e.g.
     * "bytes_received_count"; return true and set *value to supply it.
     * Keys ZooKeeper prints as decimals (avg_*, connection_drop_probability)
     * get *value formatted as Java prints a double. NULL: all such keys 0. */
    bool (*mntr_lookup)(void *ctx, const char *key, double *value);
    void *mntr_ctx;
    const struct cv_fourlw_env *env; /* envi; NULL prints <NA> values */
};

/* Whether the first 4 bytes of a connection are a four-letter word. */
bool cv_fourlw_is_command(const uint8_t first4[4]);

/* What the caller must do besides sending the reply. */
#define CV_FOURLW_RESET_CONN_STATS   1u /* crst: every connection's counters */
#define CV_FOURLW_RESET_SERVER_STATS 2u /* srst: latency + packet counters (+ proposal sizes) */

/*
 * The reply to cmd (4 bytes) as ZooKeeper sends it, the whitelist of
 * v->config applied. Writes out[0..n) plus a NUL and returns n, or -ENOBUFS
 * (cap too small: retry larger, nothing to reset), -ENOENT (not a word).
 * If actions is not NULL it receives CV_FOURLW_RESET_* bits: crst and srst
 * render their confirmation and leave the reset to the caller, who does it
 * before sending the reply.
 * stmk: the caller reads the 8-byte mask that follows, stores it, and
 * renders with v->trace_mask set to it (ZooKeeper echoes the new mask).
 */
int cv_fourlw_render(const char cmd[4], const struct cv_fourlw_view *v, char *out, size_t cap,
                     unsigned *actions);

/* "<cmd> is not executed because it is not in the whitelist.\n" */
int cv_fourlw_not_whitelisted(const char cmd[4], char *out, size_t cap);

/* ZooKeeper's Version.getFullVersion() shape:
 * "3.8.0-corvid-<corvid_version>, built on <build_date>". */
int cv_fourlw_version_string(const char *corvid_version, const char *build_date, char *out,
                             size_t cap);

/* srvr's "Mode:" and mntr's zk_server_state: "leader", "follower",
 * "observer", "read-only", "standalone". */
const char *cv_fourlw_mode_name(enum cv_fourlw_mode m);

/* FinalRequestProcessor's lastOp name for a ZooKeeper opcode ("GETD",
 * "CREA", ...; "NA" for anything else). */
const char *cv_fourlw_op_name(int32_t opcode);

/* Fill env from the OS: host name, uname, user, working directory, memory.
 * 0 or -errno (fields that could not be read hold "<NA>" / 0). */
int cv_fourlw_env_probe(struct cv_fourlw_env *env);

/* A Java double as String.valueOf prints it, for values ZooKeeper rounds to
 * 4 decimals (latency averages): "0.0", "3.2667", "12.5". */
int cv_fourlw_java_double(double x, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* CV_FOURLW_H */
