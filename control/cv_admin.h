/*
 * cv_admin — the JSON bodies of ZooKeeper 3.8's AdminServer (GET
 * /commands/<name>), rendered from the same struct cv_fourlw_view the
 * four-letter words render from.
 *
 * Contract
 * - Pure rendering: no I/O, no clocks, no threads, no global mutable state.
 *   The view's callbacks (walk_watches, walk_ephemerals, mntr_lookup) are
 *   called during the render only, from the calling thread. The one
 *   exception is cv_config_render's getcwd() for a relative dataDir
 *   (configuration), as for the `conf` word.
 * - Allocation: results are malloc'd NUL-terminated strings the caller
 *   frees; NULL with errno set on failure (ENOENT unknown command, ENOMEM).
 * - Format: byte for byte the layout of ZooKeeper's Jackson
 *   DefaultPrettyPrinter ("key" : value, 2-space indent per object level,
 *   arrays inline "[ a, b ]", empty "{ }" / "[ ]", no trailing newline),
 *   members in ZooKeeper's order, numbers typed as ZooKeeper types them
 *   (integers as integers, decimals as Java prints a double: "0.0",
 *   "3.2667"), session ids as JSON numbers (as map keys: decimal strings).
 *   Every body ends with "command" (the primary name, also when asked by
 *   alias) and "error" (null, or the message). When a command fails inside
 *   its body (leader when standalone, set_trace_mask without a mask) the
 *   "error" member comes first, as ZooKeeper's LinkedHashMap puts it.
 * - Consistency with the four-letter words: monitor is cv_fourlw_render's
 *   mntr text turned into members (zk_ dropped; version / server_state /
 *   peer_state strings, decimals reals, the rest integers); server_stats and
 *   stats take their latency / counters from the same mntr figures (so they
 *   agree with srvr / stat); environment is envi's lines; configuration is
 *   conf's figures; wchc / wchp / dump use the same walks. The 4lw
 *   whitelist does not apply (ZooKeeper's AdminServer ignores it).
 * - A view that is not serving: the commands ZooKeeper marks
 *   serverRequired answer {"command", "error": "This ZooKeeper instance is
 *   not currently serving requests"}; environment, get_trace_mask,
 *   set_trace_mask, system_properties and zabstate answer anyway (zabstate
 *   with voting false, zabstate ""), as ZooKeeper's do.
 *
 * Where corvid differs from ZooKeeper 3.8, on purpose
 * - monitor when not serving: ZooKeeper 3.8.0 answers HTTP 500 (a
 *   NullPointerException page); corvid answers the not-serving JSON error.
 * - monitor omits the dynamic per-namespace keys, as mntr does.
 * - watches / watches_by_path / watch_summary count every watch kind, as
 *   wchc / wchp / wchs do (ZooKeeper: data watches only).
 * - environment: java.* values are "<NA>", as envi.
 * - system_properties: corvid is not a JVM. It answers the properties that
 *   have a meaning for a C process (file/line/path separators, os.*, user.*)
 *   plus "zookeeper.<key>" for the zoo.cfg keys ZooKeeper would have turned
 *   into system properties (4lw.commands.whitelist and the keys corvid
 *   stores without meaning), sorted as Java's TreeMap.
 * - hash: "digests" is always empty (corvid keeps no digest log; ZooKeeper
 *   with digests disabled answers the same).
 * - Maps ZooKeeper keeps in hash order (dump, watches, voting_view) are in
 *   a deterministic order: expiry times ascending, otherwise walk order.
 */
#ifndef CV_ADMIN_H
#define CV_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cv_fourlw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a command needs besides the view's scalars (config, version,
 * serving, mode, peer_state, zxid, counters, sizes); the caller fills only
 * these parts of the view. */
#define CV_ADMIN_NEEDS_CONNS      1u  /* v->conns / v->nconns */
#define CV_ADMIN_NEEDS_SESSIONS   2u  /* v->sessions */
#define CV_ADMIN_NEEDS_WATCHES    4u  /* v->walk_watches (either order) */
#define CV_ADMIN_NEEDS_EPHEMERALS 8u  /* v->walk_ephemerals */
#define CV_ADMIN_MUTATES          16u /* asks the caller to reset / set something (*actions) */
#define CV_ADMIN_NEEDS_MNTR       32u /* v->mntr_lookup (metrics corvid keeps outside the view) */
#define CV_ADMIN_NEEDS_ENV        64u /* v->env */

struct cv_admin_command {
    const char *name;       /* ZooKeeper's primary name: "monitor", "connections", ... */
    const char *aliases[3]; /* "mntr", "cons", ... NULL-terminated */
    unsigned needs;
    bool supported;       /* false: corvid answers with an error naming why */
    bool server_required; /* ZooKeeper's serverRequired: not-serving error when !v->serving */
};

/* The command for a primary name or an alias; NULL: unknown. */
const struct cv_admin_command *cv_admin_find(const char *name_or_alias);
/* Every command, in ZooKeeper's /commands order (primary names sorted). */
size_t cv_admin_ncommands(void);
const struct cv_admin_command *cv_admin_command_at(size_t i);

/* observers (leader): one synced observer, LearnerHandler's figures. */
struct cv_admin_observer {
    struct sockaddr_storage remote; /* rendered "/<ip>:<port>" */
    int64_t sid;
    int64_t established_ms; /* wall clock */
    int64_t queued_packets, queued_packets_size;
    int64_t packets_received, packets_sent;
    int64_t requests;
    int64_t last_zxid;
};

/* What the commands need that the view lacks. NULL: all zero / none. */
struct cv_admin_extra {
    int64_t server_id; /* myid; 0 standalone (zabstate's myid) */
    /* leader: is_leader, leader_id, leader_ip (NULL renders "") */
    bool is_leader;
    int64_t leader_id;
    const char *leader_ip;
    /* last_snapshot: zxid (-1: none -> "ffffffffffffffff"), file time
     * (ms since the epoch; rendered in seconds as ZooKeeper; -1: none) */
    int64_t last_snapshot_zxid;
    int64_t last_snapshot_time_ms;
    /* initial_configuration: the zoo.cfg text as read; NULL renders null
     * (what ZooKeeper answers in quorum mode). */
    const char *initial_config;
    /* set_trace_mask: the request's traceMask query value; NULL: absent */
    const char *trace_mask_arg;
    /* dump: ZooKeeper keys expiry times on its monotonic clock; the key is
     * session.expire_wall_ms + clock_offset_ms (monotonic - wall at render
     * time; 0 keys them by wall-clock ms). */
    int64_t clock_offset_ms;
    /* server_stats / stats: fsyncs slower than fsync.warningthresholdms */
    int64_t fsync_threshold_exceed_count;
    /* observers (leader only): synced observers; when NULL the count is
     * v->synced_observers and the list is empty. */
    const struct cv_admin_observer *observers;
    size_t nobservers;
};

/* *actions bits, besides CV_FOURLW_RESET_CONN_STATS (connection_stat_reset)
 * and CV_FOURLW_RESET_SERVER_STATS (stat_reset): */
#define CV_ADMIN_RESET_OBSERVER_STATS 4u /* observer_connection_stat_reset */
#define CV_ADMIN_SET_TRACE_MASK       8u /* set_trace_mask: store cv_admin_parse_long(arg) */

/*
 * The JSON body for command `name` (primary name or alias) as ZooKeeper 3.8
 * sends it, including its "command" and "error" members. Returns a malloc'd
 * NUL-terminated string (caller frees) or NULL with errno = ENOENT (unknown
 * command) / ENOMEM. x may be NULL. If actions is not NULL it receives
 * CV_FOURLW_RESET_* / CV_ADMIN_* bits; the caller does them before sending.
 */
char *cv_admin_render(const char *name, const struct cv_fourlw_view *v,
                      const struct cv_admin_extra *x, unsigned *actions);

/* The body of GET /commands (and /commands/): ZooKeeper's HTML list of
 * links, one per primary name. Sent with no Content-Type header. */
char *cv_admin_render_index(void);

/* ZooKeeper's JSON body for an unknown command; *http_status (if not NULL)
 * receives its status: 200 (ZooKeeper 3.8.0 answers unknown commands 200,
 * Content-Type application/json). */
char *cv_admin_render_unknown(const char *name, int *http_status);

/* Java's Long.parseLong: optional sign, decimal digits, in range. */
bool cv_admin_parse_long(const char *s, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CV_ADMIN_H */
