/*
 * cv_fourlw — four-letter words in ZooKeeper 3.8's formats. See cv_fourlw.h.
 */
#include "cv_fourlw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/*
 * mntr, after zk_version / zk_server_state (and zk_peer_state,
 * zk_observer_master_id): the gauges, in the order ZooKeeper 3.8.0's
 * ConcurrentHashMap yields them for each kind of server (standalone recorded
 * from a real server; the quorum orders computed by the same map with the
 * extra gauges, see tests/control/fourlw_golden/GaugeOrder.java), then the
 * counters, the basic summaries (avg/min/max/cnt/sum) and the percentile
 * summaries (+ p50/p95/p99/p999), in the recorded order.
 */
static const char *const gauges_standalone[] = {
    "ephemerals_count",
    "num_alive_connections",
    "avg_latency",
    "outstanding_requests",
    "znode_count",
    "global_sessions",
    "non_mtls_remote_conn_count",
    "last_client_response_size",
    "packets_sent",
    "packets_received",
    "max_client_response_size",
    "connection_drop_probability",
    "watch_count",
    "auth_failed_count",
    "min_latency",
    "max_file_descriptor_count",
    "approximate_data_size",
    "open_file_descriptor_count",
    "local_sessions",
    "uptime",
    "max_latency",
    "outstanding_tls_handshake",
    "min_client_response_size",
    "non_mtls_local_conn_count",
    NULL,
};
static const char *const gauges_leader[] = {
    "ephemerals_count",
    "num_alive_connections",
    "avg_latency",
    "min_proposal_size",
    "outstanding_requests",
    "znode_count",
    "global_sessions",
    "non_mtls_remote_conn_count",
    "last_client_response_size",
    "packets_sent",
    "packets_received",
    "max_proposal_size",
    "max_client_response_size",
    "synced_followers",
    "connection_drop_probability",
    "watch_count",
    "synced_non_voting_followers",
    "synced_observers",
    "auth_failed_count",
    "min_latency",
    "max_file_descriptor_count",
    "approximate_data_size",
    "open_file_descriptor_count",
    "last_proposal_size",
    "pending_syncs",
    "leader_uptime",
    "local_sessions",
    "uptime",
    "max_latency",
    "outstanding_tls_handshake",
    "learners",
    "min_client_response_size",
    "non_mtls_local_conn_count",
    "quorum_size",
    NULL,
};
static const char *const gauges_follower[] = {
    "ephemerals_count",
    "num_alive_connections",
    "avg_latency",
    "outstanding_requests",
    "znode_count",
    "global_sessions",
    "non_mtls_remote_conn_count",
    "last_client_response_size",
    "packets_sent",
    "packets_received",
    "max_client_response_size",
    "connection_drop_probability",
    "watch_count",
    "auth_failed_count",
    "min_latency",
    "max_file_descriptor_count",
    "approximate_data_size",
    "open_file_descriptor_count",
    "local_sessions",
    "uptime",
    "max_latency",
    "outstanding_tls_handshake",
    "min_client_response_size",
    "non_mtls_local_conn_count",
    "quorum_size",
    NULL,
};
static const char *const gauges_observer[] = {
    "ephemerals_count",
    "num_alive_connections",
    "avg_latency",
    "outstanding_requests",
    "znode_count",
    "global_sessions",
    "non_mtls_remote_conn_count",
    "last_client_response_size",
    "packets_sent",
    "packets_received",
    "max_client_response_size",
    "connection_drop_probability",
    "watch_count",
    "auth_failed_count",
    "min_latency",
    "max_file_descriptor_count",
    "approximate_data_size",
    "open_file_descriptor_count",
    "local_sessions",
    "uptime",
    "max_latency",
    "outstanding_tls_handshake",
    "min_client_response_size",
    "non_mtls_local_conn_count",
    "quorum_size",
    NULL,
};

static const char *const mntr_counters[] = {
    "proposal_count",
    "watch_bytes",
    "outstanding_changes_removed",
    "throttled_ops",
    "stale_requests_dropped",
    "large_requests_rejected",
    "insecure_admin_count",
    "connection_rejected",
    "cnxn_closed_without_zk_server_running",
    "sessionless_connections_expired",
    "looking_count",
    "dead_watchers_queued",
    "stale_requests",
    "connection_drop_count",
    "learner_proposal_received_count",
    "digest_mismatches_count",
    "dead_watchers_cleared",
    "response_packet_cache_hits",
    "bytes_received_count",
    "add_dead_watcher_stall_time",
    "request_throttle_wait_count",
    "requests_not_forwarded_to_commit_processor",
    "response_packet_cache_misses",
    "ensemble_auth_success",
    "prep_processor_request_queued",
    "learner_commit_received_count",
    "stale_replies",
    "connection_request_count",
    "response_bytes",
    "ensemble_auth_fail",
    "diff_count",
    "response_packet_get_children_cache_misses",
    "connection_revalidate_count",
    "quit_leading_due_to_disloyal_voter",
    "snap_count",
    "unrecoverable_error_count",
    "unsuccessful_handshake",
    "commit_count",
    "stale_sessions_expired",
    "response_packet_get_children_cache_hits",
    "sync_processor_request_queued",
    "outstanding_changes_queued",
    "request_commit_queued",
    "ensemble_auth_skip",
    "skip_learner_request_to_next_processor_count",
    "tls_handshake_exceeded",
    "revalidate_count",
};
static const char *const mntr_basic_summaries[] = {
    "socket_closing_time",
    "proposal_process_time",
    "leader_unavailable_time",
    "node_created_watch_count",
    "session_queues_drained",
    "write_commit_proc_req_queued",
    "connection_token_deficit",
    "read_commit_proc_req_queued",
    "node_deleted_watch_count",
    "startup_txns_load_time",
    "sync_processor_queue_size",
    "follower_sync_time",
    "prep_processor_queue_size",
    "fsynctime",
    "inflight_snap_count",
    "reads_issued_from_session_queue",
    "learner_request_processor_queue_size",
    "snapshottime",
    "unavailable_time",
    "startup_txns_loaded",
    "reads_after_write_in_session_queue",
    "requests_in_session_queue",
    "write_commit_proc_issued",
    "prep_process_time",
    "pending_session_queue_size",
    "time_waiting_empty_pool_in_commit_processor_read_ms",
    "commit_process_time",
    "dbinittime",
    "inflight_diff_count",
    "netty_queued_buffer_capacity",
    "election_time",
    "commit_commit_proc_req_queued",
    "sync_processor_batch_size",
    "node_children_watch_count",
    "write_batch_time_in_commit_processor",
    "read_commit_proc_issued",
    "concurrent_request_processing_in_commit_processor",
    "observer_sync_time",
    "node_changed_watch_count",
    "sync_process_time",
    "startup_snap_load_time",
};
static const char *const mntr_summaries[] = {
    "prep_processor_queue_time_ms",
    "jvm_pause_time_ms",
    "close_session_prep_time",
    "read_commitproc_time_ms",
    "updatelatency",
    "local_write_committed_time_ms",
    "request_throttle_queue_time_ms",
    "readlatency",
    "quorum_ack_latency",
    "om_commit_process_time_ms",
    "read_final_proc_time_ms",
    "commit_propagation_latency",
    "dead_watchers_cleaner_latency",
    "write_final_proc_time_ms",
    "proposal_ack_creation_latency",
    "proposal_latency",
    "om_proposal_process_time_ms",
    "sync_processor_queue_and_flush_time_ms",
    "propagation_latency",
    "server_write_committed_time_ms",
    "sync_processor_queue_time_ms",
    "sync_processor_queue_flush_time_ms",
    "write_commitproc_time_ms",
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- output buffer ------------------------------------------------------- */

struct out {
    char *p;
    size_t cap, len;
    bool full;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->full = true;
        return;
    }
    o->len += (size_t)n;
}

static void put_mem(struct out *o, const char *s, size_t n)
{
    if (o->full)
        return;
    if (n >= o->cap - o->len) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = 0;
}

/* ---- small formatters ---------------------------------------------------- */

int cv_fourlw_java_double(double x, char *out, size_t cap)
{
    char digits[32];
    int exp10 = 0;
    if (x == 0)
        return snprintf(out, cap, "%s", signbit(x) ? "-0.0" : "0.0");
    /* The shortest digit string that reads back as x (Double.toString). */
    for (int p = 1; p <= 17; p++) {
        char tmp[40];
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
        if (strtod(tmp, NULL) == x || p == 17) {
            char *e = strchr(tmp, 'e');
            exp10 = atoi(e + 1);
            size_t n = 0;
            for (char *s = tmp; s < e; s++)
                if (*s >= '0' && *s <= '9')
                    digits[n++] = *s;
            digits[n] = 0;
            break;
        }
    }
    size_t nd = strlen(digits);
    const char *sign = x < 0 ? "-" : "";
    double ax = x < 0 ? -x : x;
    if (ax >= 1e-3 && ax < 1e7) {
        char buf[64];
        size_t o = 0;
        if (exp10 >= 0) {
            for (int i = 0; i <= exp10; i++)
                buf[o++] = (size_t)i < nd ? digits[i] : '0';
            buf[o++] = '.';
            if ((size_t)exp10 + 1 < nd)
                for (size_t i = (size_t)exp10 + 1; i < nd; i++)
                    buf[o++] = digits[i];
            else
                buf[o++] = '0';
        } else {
            buf[o++] = '0';
            buf[o++] = '.';
            for (int i = 0; i < -exp10 - 1; i++)
                buf[o++] = '0';
            for (size_t i = 0; i < nd; i++)
                buf[o++] = digits[i];
        }
        buf[o] = 0;
        return snprintf(out, cap, "%s%s", sign, buf);
    }
    /* Computerized scientific notation: d.dddE<n>, at least one fraction digit. */
    return snprintf(out, cap, "%s%c.%sE%d", sign, digits[0], nd > 1 ? digits + 1 : "0", exp10);
}

/* AvgMinMaxCounter.getAvg: total / count rounded HALF_UP to 4 decimals. */
static double avg4(int64_t total, int64_t count)
{
    if (count <= 0)
        return 0;
    bool neg = total < 0;
    unsigned __int128 t = (unsigned __int128)(neg ? -(__int128)total : total);
    unsigned __int128 r = (t * 20000 / (unsigned __int128)count + 1) / 2;
    double d = (double)r / 10000.0;
    return neg ? -d : d;
}

static void put_double(struct out *o, double x)
{
    char b[64];
    cv_fourlw_java_double(x, b, sizeof b);
    put(o, "%s", b);
}

/* InetSocketAddress.toString() of an address without a host name:
 * "/1.2.3.4:5" or "/[0:0:0:0:0:0:0:1]:5" (Inet6Address: no "::" compression). */
static void put_addr(struct out *o, const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        char b[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in->sin_addr, b, sizeof b);
        put(o, "/%s:%u", b, ntohs(in->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        const uint8_t *a = in6->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, 12) == 0) { /* Java turns these into Inet4Address */
            put(o, "/%u.%u.%u.%u:%u", a[12], a[13], a[14], a[15], ntohs(in6->sin6_port));
            return;
        }
        put(o, "/[");
        for (int i = 0; i < 8; i++)
            put(o, "%s%x", i ? ":" : "", (unsigned)(a[2 * i] << 8 | a[2 * i + 1]));
        put(o, "]:%u", ntohs(in6->sin6_port));
    } else {
        put(o, "/0.0.0.0:0");
    }
}

static uint64_t hex(int64_t x)
{
    return (uint64_t)x; /* Long.toHexString: two's complement */
}

/* ---- words --------------------------------------------------------------- */

bool cv_fourlw_is_command(const uint8_t first4[4])
{
    return cv_config_4lw_word((const char *)first4) >= 0;
}

int cv_fourlw_not_whitelisted(const char cmd[4], char *out, size_t cap)
{
    int n = snprintf(out, cap, "%.4s is not executed because it is not in the whitelist.\n", cmd);
    return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}

int cv_fourlw_version_string(const char *corvid_version, const char *build_date, char *out,
                             size_t cap)
{
    int n = snprintf(out, cap, "%s-corvid-%s, built on %s", CV_FOURLW_ZK_VERSION, corvid_version,
                     build_date);
    return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}

const char *cv_fourlw_op_name(int32_t op)
{
    switch (op) {
    case 11: return "PING";
    case -10: return "SESS";
    case 14: return "MULT";
    case 22: return "MLTR";
    case 1:
    case 15:
    case 19:
    case 21: return "CREA";
    case 2:
    case 20: return "DELE";
    case 5: return "SETD";
    case 16: return "RECO";
    case 7: return "SETA";
    case -11: return "CLOS";
    case 9: return "SYNC";
    case 13: return "CHEC";
    case 3: return "EXIS";
    case 4: return "GETD";
    case 101: return "SETW";
    case 105: return "STW2";
    case 106: return "ADDW";
    case 6: return "GETA";
    case 8:
    case 12: return "GETC";
    case 104: return "GETACN";
    case 17: return "CHKW";
    case 18: return "REMW";
    case 107: return "HOMI";
    case 103: return "GETE";
    default: return "NA";
    }
}

const char *cv_fourlw_mode_name(enum cv_fourlw_mode m)
{
    switch (m) {
    case CV_FOURLW_LEADER: return "leader";
    case CV_FOURLW_FOLLOWER: return "follower";
    case CV_FOURLW_OBSERVER: return "observer";
    case CV_FOURLW_READ_ONLY: return "read-only";
    default: return "standalone";
    }
}

/* ServerCnxn.dumpConnectionInfo */
static void put_conn(struct out *o, const struct cv_fourlw_conn *c, bool brief)
{
    put(o, " ");
    put_addr(o, &c->remote);
    if (c->interest_ops == 0)
        put(o, "[0]");
    else
        put(o, "[%x]", (unsigned)c->interest_ops);
    put(o, "(queued=%" PRId64 ",recved=%" PRId64 ",sent=%" PRId64, c->queued, c->received, c->sent);
    if (!brief && c->session_id != 0) {
        put(o, ",sid=0x%" PRIx64 ",lop=%s,est=%" PRId64 ",to=%" PRId32, hex(c->session_id),
            c->last_op ? c->last_op : "NA", c->established_ms, c->timeout);
        if (c->last_cxid >= 0)
            put(o, ",lcxid=0x%" PRIx64, hex(c->last_cxid));
        int64_t n = c->latency.count;
        put(o,
            ",lzxid=0x%" PRIx64 ",lresp=%" PRId64 ",llat=%" PRId64 ",minlat=%" PRId64
            ",avglat=%" PRId64 ",maxlat=%" PRId64,
            hex(c->last_zxid), c->last_response_ms, c->last_latency, n ? c->latency.min : 0,
            n ? c->latency.total / n : 0, n ? c->latency.max : 0);
    }
    put(o, ")");
}

/* srvr's Connections and mntr's num_alive_connections. */
static size_t alive_connections(const struct cv_fourlw_view *v)
{
    return v->num_connections > 0 ? (size_t)v->num_connections : v->nconns;
}

/* srvr, stat: StatCommand + ServerStats.toString */
static void put_stat(struct out *o, const struct cv_fourlw_view *v, bool with_clients)
{
    put(o, "Zookeeper version: %s\n", v->version ? v->version : CV_FOURLW_ZK_VERSION);
    if (v->mode == CV_FOURLW_READ_ONLY)
        put(o, "READ-ONLY mode; serving only read-only clients\n");
    if (with_clients) {
        put(o, "Clients:\n");
        for (size_t i = 0; i < v->nconns; i++) {
            put_conn(o, &v->conns[i], true);
            put(o, "\n");
        }
        put(o, "\n");
    }
    const struct cv_fourlw_latency *l = &v->latency;
    put(o, "Latency min/avg/max: %" PRId64 "/", l->count ? l->min : 0);
    put_double(o, avg4(l->total, l->count));
    put(o, "/%" PRId64 "\n", l->count ? l->max : 0);
    put(o,
        "Received: %" PRId64 "\nSent: %" PRId64 "\nConnections: %zu\nOutstanding: %" PRId64
        "\nZxid: 0x%" PRIx64 "\nMode: %s\nNode count: %" PRId64 "\n",
        v->packets_received, v->packets_sent, alive_connections(v), v->outstanding_requests,
        hex(v->zxid), cv_fourlw_mode_name(v->mode), v->node_count);
    if (v->mode == CV_FOURLW_LEADER)
        put(o, "Proposal sizes last/min/max: %" PRId64 "/%" PRId64 "/%" PRId64 "\n",
            v->proposal_last, v->proposal_min, v->proposal_max);
}

/* Java's Date.toString(): "Mon Nov 23 09:44:41 UTC 2026", local time zone. */
static void put_date(struct out *o, int64_t wall_ms)
{
    time_t t = (time_t)(wall_ms >= 0 ? wall_ms / 1000 : (wall_ms - 999) / 1000);
    struct tm tm;
    char b[64];
    if (!localtime_r(&t, &tm) || !strftime(b, sizeof b, "%a %b %d %H:%M:%S %Z %Y", &tm))
        snprintf(b, sizeof b, "%" PRId64, wall_ms);
    put(o, "%s", b);
}

/* ExpiryQueue.dump for sessions (conns == NULL) or connections. Buckets in
 * time order; members in the order given. */
static void put_expiry(struct out *o, const char *what, const struct cv_fourlw_session *s,
                       const struct cv_fourlw_conn *c, size_t n)
{
#define EXP(i) (s ? s[i].expire_wall_ms : c[i].expire_wall_ms)
    size_t buckets = 0;
    int64_t last = INT64_MIN;
    bool first = true;
    for (;;) { /* count distinct times */
        bool found = false;
        int64_t next = INT64_MAX;
        for (size_t i = 0; i < n; i++)
            if ((first || EXP(i) > last) && EXP(i) <= next)
                next = EXP(i), found = true;
        if (!found)
            break;
        buckets++;
        last = next;
        first = false;
        if (next == INT64_MAX)
            break;
    }
    put(o, "%s Sets (%zu)/(%zu):\n", what, buckets, n);
    first = true;
    for (size_t b = 0; b < buckets && !o->full; b++) {
        int64_t next = INT64_MAX;
        for (size_t i = 0; i < n; i++)
            if ((first || EXP(i) > last) && EXP(i) <= next)
                next = EXP(i);
        size_t cnt = 0;
        for (size_t i = 0; i < n; i++)
            cnt += EXP(i) == next;
        put(o, "%zu expire at ", cnt);
        put_date(o, next);
        put(o, ":\n");
        for (size_t i = 0; i < n; i++) {
            if (EXP(i) != next)
                continue;
            if (s) {
                put(o, "\t0x%" PRIx64 "\n", hex(s[i].id));
            } else {
                put(o, "\tip: ");
                put_addr(o, &c[i].remote);
                put(o, " sessionId: 0x%" PRIx64 "\n", hex(c[i].session_id));
            }
        }
        last = next;
        first = false;
    }
#undef EXP
}

struct walk {
    struct out *o;
    int64_t session;
    size_t count;
    bool started;
    bool by_path;
    size_t path_off, len;
};

static int count_eph_sessions(void *ctx, int64_t session, const char *path, size_t len,
                              unsigned kinds)
{
    (void)path, (void)len, (void)kinds;
    struct walk *w = ctx;
    if (!w->started || session != w->session)
        w->count++;
    w->started = true;
    w->session = session;
    return 0;
}

static int put_eph(void *ctx, int64_t session, const char *path, size_t len, unsigned kinds)
{
    (void)kinds;
    struct walk *w = ctx;
    if (!w->started || session != w->session)
        put(w->o, "0x%" PRIx64 ":\n", hex(session));
    w->started = true;
    w->session = session;
    put(w->o, "\t");
    put_mem(w->o, path, len);
    put(w->o, "\n");
    return w->o->full ? -ENOBUFS : 0;
}

/* WatchManager.dumpWatches. By path, the current path is compared with the
 * copy already printed (the caller's pointer is valid during one call only). */
static int put_watch(void *ctx, int64_t session, const char *path, size_t len, unsigned kinds)
{
    (void)kinds;
    struct walk *w = ctx;
    struct out *o = w->o;
    if (w->by_path) {
        if (!w->started || len != w->len || memcmp(path, o->p + w->path_off, len) != 0) {
            w->path_off = o->len;
            w->len = len;
            put_mem(o, path, len);
            put(o, "\n");
        }
        put(o, "\t0x%" PRIx64 "\n", hex(session));
    } else {
        if (!w->started || session != w->session)
            put(o, "0x%" PRIx64 "\n", hex(session));
        put(o, "\t");
        put_mem(o, path, len);
        put(o, "\n");
    }
    w->started = true;
    w->session = session;
    return o->full ? -ENOBUFS : 0;
}

/* ---- mntr ---------------------------------------------------------------- */

static bool is_decimal_key(const char *k)
{
    return strncmp(k, "avg_", 4) == 0 || strcmp(k, "connection_drop_probability") == 0;
}

static void mntr_line(struct out *o, const char *key, bool decimal, double d, int64_t i)
{
    put(o, "zk_%s\t", key);
    if (decimal)
        put_double(o, d);
    else
        put(o, "%" PRId64, i);
    put(o, "\n");
}

/* A gauge corvid knows; false for the ones it only gets from mntr_lookup. */
static bool gauge_value(const struct cv_fourlw_view *v, const char *k, int64_t *i, double *d)
{
    const struct cv_fourlw_latency *l = &v->latency;
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
#define F(n, f) {n, offsetof(struct cv_fourlw_view, f)}
        F("ephemerals_count", ephemerals_count),
        F("outstanding_requests", outstanding_requests),
        F("znode_count", node_count),
        F("global_sessions", global_sessions),
        F("last_client_response_size", response_last),
        F("max_client_response_size", response_max),
        F("min_client_response_size", response_min),
        F("packets_sent", packets_sent),
        F("packets_received", packets_received),
        F("watch_count", watch_count),
        F("max_file_descriptor_count", max_fds),
        F("open_file_descriptor_count", open_fds),
        F("approximate_data_size", approximate_data_size),
        F("uptime", uptime_ms),
        F("min_proposal_size", proposal_min),
        F("max_proposal_size", proposal_max),
        F("last_proposal_size", proposal_last),
        F("synced_followers", synced_followers),
        F("synced_non_voting_followers", synced_non_voting_followers),
        F("synced_observers", synced_observers),
        F("pending_syncs", pending_syncs),
        F("leader_uptime", leader_uptime_ms),
        F("learners", learners),
#undef F
    };
    for (size_t j = 0; j < N_OF(fields); j++)
        if (strcmp(k, fields[j].name) == 0) {
            memcpy(i, (const char *)v + fields[j].off, sizeof *i);
            return true;
        }
    if (strcmp(k, "num_alive_connections") == 0)
        *i = (int64_t)alive_connections(v);
    else if (strcmp(k, "avg_latency") == 0)
        *d = avg4(l->total, l->count);
    else if (strcmp(k, "min_latency") == 0)
        *i = l->count ? l->min : 0;
    else if (strcmp(k, "max_latency") == 0)
        *i = l->count ? l->max : 0;
    else if (strcmp(k, "quorum_size") == 0)
        *i = v->quorum_size;
    else
        return false;
    return true;
}

static void mntr_other(struct out *o, const struct cv_fourlw_view *v, const char *key)
{
    bool dec = is_decimal_key(key);
    double d = 0;
    if (v->mntr_lookup && v->mntr_lookup(v->mntr_ctx, key, &d))
        mntr_line(o, key, dec, d, (int64_t)d);
    else
        mntr_line(o, key, dec, 0, 0);
}

static void mntr_summary(struct out *o, const struct cv_fourlw_view *v, const char *name, bool pct)
{
    const struct cv_fourlw_summary *s = NULL;
    if (strcmp(name, "readlatency") == 0)
        s = &v->read_latency;
    else if (strcmp(name, "updatelatency") == 0)
        s = &v->update_latency;
    else if (strcmp(name, "fsynctime") == 0)
        s = &v->fsync_time;
    static const char *const pre[] = {"avg_", "min_", "max_", "cnt_", "sum_",
                                      "p50_", "p95_", "p99_", "p999_"};
    for (size_t i = 0; i < (pct ? 9u : 5u); i++) {
        char key[128];
        snprintf(key, sizeof key, "%s%s", pre[i], name);
        if (!s) {
            mntr_other(o, v, key);
            continue;
        }
        int64_t n = s->count;
        int64_t vals[9] = {0,      n ? s->min : 0, n ? s->max : 0, n,      s->total,
                           s->p50, s->p95,         s->p99,         s->p999};
        mntr_line(o, key, i == 0, avg4(s->total, n), vals[i]);
    }
}

static void put_mntr(struct out *o, const struct cv_fourlw_view *v)
{
    put(o, "zk_version\t%s\n", v->version ? v->version : CV_FOURLW_ZK_VERSION);
    put(o, "zk_server_state\t%s\n", cv_fourlw_mode_name(v->mode));
    const char *const *gauges = gauges_standalone;
    if (v->mode == CV_FOURLW_LEADER || v->mode == CV_FOURLW_FOLLOWER ||
        v->mode == CV_FOURLW_OBSERVER) {
        put(o, "zk_peer_state\t%s\n", v->peer_state ? v->peer_state : "");
        gauges = v->mode == CV_FOURLW_LEADER     ? gauges_leader
                 : v->mode == CV_FOURLW_FOLLOWER ? gauges_follower
                                                 : gauges_observer;
    }
    if (v->mode == CV_FOURLW_OBSERVER)
        put(o, "zk_observer_master_id\t%" PRId64 "\n", v->observer_master_id);
    for (size_t g = 0; gauges[g]; g++) {
        int64_t i = 0;
        double d = 0;
        if (gauge_value(v, gauges[g], &i, &d))
            mntr_line(o, gauges[g], is_decimal_key(gauges[g]), d, i);
        else
            mntr_other(o, v, gauges[g]);
    }
    for (size_t c = 0; c < N_OF(mntr_counters); c++)
        mntr_other(o, v, mntr_counters[c]);
    for (size_t s = 0; s < N_OF(mntr_basic_summaries); s++)
        mntr_summary(o, v, mntr_basic_summaries[s], false);
    for (size_t s = 0; s < N_OF(mntr_summaries); s++)
        mntr_summary(o, v, mntr_summaries[s], true);
}

/* ---- envi ---------------------------------------------------------------- */

static void put_env(struct out *o, const struct cv_fourlw_view *v)
{
    const struct cv_fourlw_env *e = v->env;
#define S(f) (e && e->f[0] ? e->f : "<NA>")
    put(o, "Environment:\n");
    put(o, "zookeeper.version=%s\n", v->version ? v->version : CV_FOURLW_ZK_VERSION);
    put(o, "host.name=%s\n", S(host_name));
    static const char *const java[] = {"java.version",    "java.vendor",       "java.home",
                                       "java.class.path", "java.library.path", "java.io.tmpdir",
                                       "java.compiler"};
    for (size_t i = 0; i < N_OF(java); i++)
        put(o, "%s=<NA>\n", java[i]);
    put(o, "os.name=%s\nos.arch=%s\nos.version=%s\n", S(os_name), S(os_arch), S(os_version));
    put(o, "user.name=%s\nuser.home=%s\nuser.dir=%s\n", S(user_name), S(user_home), S(user_dir));
    int64_t mb = 1024 * 1024;
    put(o,
        "os.memory.free=%" PRId64 "MB\nos.memory.max=%" PRId64 "MB\nos.memory.total=%" PRId64
        "MB\n",
        e ? e->mem_free / mb : 0, e ? e->mem_max / mb : 0, e ? e->mem_total / mb : 0);
#undef S
}

int cv_fourlw_env_probe(struct cv_fourlw_env *e)
{
    int rc = 0;
    memset(e, 0, sizeof *e);
    if (gethostname(e->host_name, sizeof e->host_name - 1))
        rc = -errno;
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(e->os_name, sizeof e->os_name, "%s", u.sysname);
        /* Java's os.arch names: amd64 for x86_64, i386 for i686. */
        const char *arch = strcmp(u.machine, "x86_64") == 0 ? "amd64"
                           : strcmp(u.machine, "i686") == 0 ? "i386"
                                                            : u.machine;
        snprintf(e->os_arch, sizeof e->os_arch, "%s", arch);
        snprintf(e->os_version, sizeof e->os_version, "%s", u.release);
    } else {
        rc = -errno;
    }
    struct passwd pw, *res = NULL;
    char pbuf[4096];
    if (getpwuid_r(geteuid(), &pw, pbuf, sizeof pbuf, &res) == 0 && res) {
        snprintf(e->user_name, sizeof e->user_name, "%s", pw.pw_name);
        snprintf(e->user_home, sizeof e->user_home, "%s", pw.pw_dir);
    }
    if (!getcwd(e->user_dir, sizeof e->user_dir))
        e->user_dir[0] = 0;
    struct sysinfo si;
    int64_t ram = 0;
    if (sysinfo(&si) == 0)
        ram = (int64_t)si.totalram * si.mem_unit;
    struct rlimit rl;
    e->mem_max = ram;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (int64_t)rl.rlim_cur < ram)
        e->mem_max = (int64_t)rl.rlim_cur;
    /* resident set: /proc would be I/O; getrusage gives the peak, close enough
     * for a figure ZooKeeper reports from its heap. */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        e->mem_total = (int64_t)ru.ru_maxrss * 1024;
    e->mem_free = e->mem_max > e->mem_total ? e->mem_max - e->mem_total : 0;
    return rc;
}

/* ---- dispatch ------------------------------------------------------------ */

int cv_fourlw_render(const char cmd[4], const struct cv_fourlw_view *v, char *out, size_t cap,
                     unsigned *actions)
{
    if (actions)
        *actions = 0;
    int w = cv_config_4lw_word(cmd);
    if (w < 0)
        return -ENOENT;
    if (cap == 0)
        return -ENOBUFS;
    out[0] = 0;
    if (!v->config || !cv_config_4lw_allowed(v->config, cmd))
        return cv_fourlw_not_whitelisted(cmd, out, cap);
    struct out o = {out, cap, 0, false};
    bool serving = v->serving;
    switch (w) {
    case CV_4LW_RUOK: put(&o, "imok"); break;
    case CV_4LW_ENVI: put_env(&o, v); break;
    case CV_4LW_GTMK:
    case CV_4LW_STMK: put(&o, "%" PRId64, v->trace_mask); break;
    case CV_4LW_ISRO:
        put(&o, "%s", !serving ? "null" : v->mode == CV_FOURLW_READ_ONLY ? "ro" : "rw");
        break;
    case CV_4LW_HASH:
        if (!serving)
            put(&o, "%.*s", (int)strlen(CV_FOURLW_NOT_SERVING) - 1, CV_FOURLW_NOT_SERVING);
        break;
    default:
        if (!serving) {
            put(&o, "%s", CV_FOURLW_NOT_SERVING);
            break;
        }
        switch (w) {
        case CV_4LW_SRVR: put_stat(&o, v, false); break;
        case CV_4LW_STAT: put_stat(&o, v, true); break;
        case CV_4LW_CONS:
            for (size_t i = 0; i < v->nconns; i++) {
                put_conn(&o, &v->conns[i], false);
                put(&o, "\n");
            }
            put(&o, "\n");
            break;
        case CV_4LW_CRST:
            put(&o, "Connection stats reset.\n");
            if (actions && !o.full)
                *actions = CV_FOURLW_RESET_CONN_STATS;
            break;
        case CV_4LW_SRST:
            put(&o, "Server stats reset.\n");
            if (actions && !o.full)
                *actions = CV_FOURLW_RESET_SERVER_STATS;
            break;
        case CV_4LW_CONF: {
            int n = cv_config_render(v->config, v->data_dir_size, v->log_dir_size, out, cap);
            if (n < 0)
                return n;
            o.len = (size_t)n;
            break;
        }
        case CV_4LW_DIRS:
            put(&o, "datadir_size: %" PRId64 "\nlogdir_size: %" PRId64 "\n", v->data_dir_size,
                v->log_dir_size);
            break;
        case CV_4LW_MNTR: put_mntr(&o, v); break;
        case CV_4LW_WCHS:
            put(&o,
                "%" PRId64 " connections watching %" PRId64 " paths\nTotal watches:%" PRId64 "\n",
                v->watch_sessions, v->watch_paths, v->watch_pairs);
            break;
        case CV_4LW_WCHC:
        case CV_4LW_WCHP: {
            struct walk wk = {.o = &o, .by_path = w == CV_4LW_WCHP};
            if (v->walk_watches)
                v->walk_watches(v->walk_ctx, wk.by_path, put_watch, &wk);
            put(&o, "\n");
            break;
        }
        case CV_4LW_DUMP: {
            put(&o, "SessionTracker dump:\n");
            put_expiry(&o, "Session", v->sessions, NULL, v->nsessions);
            put(&o, "ephemeral nodes dump:\n");
            struct walk wk = {.o = &o};
            if (v->walk_ephemerals)
                v->walk_ephemerals(v->walk_ctx, count_eph_sessions, &wk);
            put(&o, "Sessions with Ephemerals (%zu):\n", wk.count);
            wk.started = false;
            if (v->walk_ephemerals)
                v->walk_ephemerals(v->walk_ctx, put_eph, &wk);
            put(&o, "Connections dump:\n");
            put_expiry(&o, "Connections", NULL, v->conns, v->nconns);
            break;
        }
        }
    }
    if (o.full)
        return -ENOBUFS;
    if (o.len > INT_MAX)
        return -ENOBUFS;
    return (int)o.len;
}
