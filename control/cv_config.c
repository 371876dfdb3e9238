/*
 * cv_config — zoo.cfg parsing, validation, --help and the `conf` word.
 * See cv_config.h for the syntax and the differences from ZooKeeper.
 */
#include "cv_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- four-letter words --------------------------------------------------- */

static const char *const fourlw_names[CV_4LW_COUNT] = {
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk",
    "srst", "srvr", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash",
};

const char *cv_config_4lw_name(enum cv_fourlw_word w)
{
    return (unsigned)w < CV_4LW_COUNT ? fourlw_names[w] : NULL;
}

int cv_config_4lw_word(const char cmd[4])
{
    for (int i = 0; i < CV_4LW_COUNT; i++)
        if (memcmp(cmd, fourlw_names[i], 4) == 0)
            return i;
    return -1;
}

/* ---- the key table ------------------------------------------------------- */

enum ktype {
    K_INT,      /* int32 in [lo, hi] */
    K_INT64,    /* int64 in [lo, hi] */
    K_TIMEOUT,  /* int32: -1 (derived from tickTime) or [lo, hi] */
    K_PORT,     /* uint16 1..65535 */
    K_PORT_OPT, /* int32: 0 or -1 = unset, else 1..65535 */
    K_BOOL,     /* true / false */
    K_YESNO,    /* yes / no (ZooKeeper's skipACL, forceSync) */
    K_PATH,
    K_HOST,
    K_STR,
    K_WHITELIST,
    K_LCORES,
    K_LCORE,
    K_POLL,
    K_TRANSPORT,
    K_WALIO,
    K_SECRET,
    K_DIGEST,
    K_PEERTYPE,
    K_ELECTION, /* electionAlg: only 3 */
    K_SERVER,   /* server.N (prefix) */
    K_EXTRA,    /* stored in cfg->extra */
    K_REFUSED,  /* dynamicConfigFile */
};

#define F_PREFIX   1u /* name is a prefix ("server.") */
#define F_NO_TLS   2u /* corvid has no TLS / SASL: warn when enabled */
#define F_ZOOKEEPR 4u /* a ZooKeeper key (help text groups them) */

struct key {
    const char *name;
    enum ktype type;
    size_t off;
    int64_t lo, hi;
    const char *def; /* the value when absent from a zoo.cfg; NULL: required/derived */
    const char *help;
    unsigned flags;
};

#define O(f) offsetof(struct cv_config, f)
#define Z    F_ZOOKEEPR

static const struct key keys[] = {
    {"tickTime", K_INT, O(tick_ms), 1, INT_MAX, NULL,
     "milliseconds per tick: session expiry granularity, heartbeats (required)", Z},
    {"initLimit", K_INT, O(init_limit), 1, INT_MAX, NULL,
     "ticks a follower may take to connect and sync to the leader (required in an ensemble)", Z},
    {"syncLimit", K_INT, O(sync_limit), 1, INT_MAX, NULL,
     "ticks a follower may lag behind the leader (required in an ensemble)", Z},
    {"connectToLearnerMasterLimit", K_INT, O(connect_to_learner_master_limit), 0, INT_MAX, "0",
     "ticks to connect to the leader; 0 = initLimit", Z},
    {"dataDir", K_PATH, O(data_dir), 0, 0, NULL,
     "snapshot directory (ZooKeeper's dataDir/version-2) and the myid file (required)", Z},
    {"dataLogDir", K_PATH, O(data_log_dir), 0, 0, NULL,
     "transaction log directory (default: dataDir)", Z},
    {"clientPort", K_PORT, O(client_port), 1, 65535, NULL,
     "TCP port clients connect to (required unless server.N lines give one)", Z},
    {"clientPortAddress", K_HOST, O(client_addr), 0, 0, "0.0.0.0",
     "address the client port listens on", Z},
    {"clientPortListenBacklog", K_INT, O(client_backlog), -1, INT_MAX, "-1",
     "listen() backlog of the client port; -1 = the OS default", Z},
    {"maxClientCnxns", K_INT, O(max_client_cnxns), 0, INT_MAX, "60",
     "concurrent connections per client IP address; 0 = unlimited", Z},
    {"minSessionTimeout", K_TIMEOUT, O(min_session_timeout), 1, INT_MAX, "-1",
     "smallest session timeout granted, ms; -1 = 2 * tickTime", Z},
    {"maxSessionTimeout", K_TIMEOUT, O(max_session_timeout), 1, INT_MAX, "-1",
     "largest session timeout granted, ms; -1 = 20 * tickTime", Z},
    {"4lw.commands.whitelist", K_WHITELIST, O(fourlw_whitelist), 0, 0, "",
     "four-letter words answered: comma/blank separated, * = all; srvr always "
     "(ZooKeeper's default is srvr only), isro too with readonlymode.enabled",
     Z},
    {"jute.maxbuffer", K_INT, O(jute_maxbuffer), 1024, INT_MAX, "1048575",
     "largest request / reply frame, bytes (ZooKeeper: Java property only)", Z},
    {"globalOutstandingLimit", K_INT, O(global_outstanding_limit), 1, INT_MAX, "1000",
     "outstanding requests before reading from clients is throttled", Z},
    {"server.", K_SERVER, 0, 0, CV_CONFIG_MAX_SERVERS - 1, NULL,
     "server.N=host:quorumPort:electionPort[:participant|:observer][;[host:]clientPort]; "
     "corvid carries every peer message on quorumPort over UDP (electionPort is required "
     "and unused); N in 1..63 in an ensemble",
     F_PREFIX | Z},
    {"peerType", K_PEERTYPE, O(peer_type), 0, 0, "participant",
     "this server's role: participant or observer", Z},
    {"electionAlg", K_ELECTION, 0, 3, 3, "3", "leader election algorithm: only 3 exists", Z},
    {"extendedTypesEnabled", K_BOOL, O(extended_types), 0, 0, "false",
     "allow TTL nodes (createTTL, persistent-with-TTL)", Z},
    {"reconfigEnabled", K_BOOL, O(reconfig_enabled), 0, 0, "false", "allow the reconfig operation",
     Z},
    {"standaloneEnabled", K_BOOL, O(standalone_enabled), 0, 0, "true",
     "a single configured server runs standalone", Z},
    {"skipACL", K_YESNO, O(skip_acl), 0, 0, "no", "yes = no ACL checks at all", Z},
    {"readonlymode.enabled", K_BOOL, O(read_only_enabled), 0, 0, "false",
     "serve read-only clients when cut off from the quorum (ZooKeeper: Java property only)", Z},
    {"forceSync", K_YESNO, O(force_sync), 0, 0, "yes",
     "yes = make each log write durable before acknowledging it", Z},
    {"syncEnabled", K_BOOL, O(sync_enabled), 0, 0, "true",
     "observers log transactions to disk like followers", Z},
    {"quorumListenOnAllIPs", K_BOOL, O(quorum_listen_all_ips), 0, 0, "false",
     "quorum and election ports listen on every address", Z},
    {"localSessionsEnabled", K_BOOL, O(local_sessions_enabled), 0, 0, "false",
     "local sessions (stored; corvid creates global sessions)", Z},
    {"localSessionsUpgradingEnabled", K_BOOL, O(local_sessions_upgrading_enabled), 0, 0, "false",
     "upgrade local sessions (stored)", Z},
    {"snapCount", K_INT64, O(snap_count), 2, INT64_MAX, "100000",
     "transactions logged between snapshots", Z},
    {"preAllocSize", K_INT64, O(pre_alloc_kb), 1, INT64_MAX / 1024, "65536",
     "log file preallocation, KB", Z},
    {"fsync.warningthresholdms", K_INT64, O(fsync_warning_ms), 0, INT64_MAX, "1000",
     "a log write slower than this counts as a slow sync (mntr) and is logged", Z},
    {"autopurge.snapRetainCount", K_INT, O(snap_retain_count), INT_MIN, INT_MAX, "3",
     "snapshots (and their logs) kept by autopurge; below 3 means 3", Z},
    {"autopurge.purgeInterval", K_INT, O(purge_interval_h), 0, INT_MAX, "0",
     "hours between autopurge runs; 0 = never", Z},
    {"admin.enableServer", K_BOOL, O(admin_enabled), 0, 0, "true",
     "run the admin HTTP server (ZooKeeper's AdminServer API, /commands)", Z},
    {"admin.serverPort", K_PORT, O(admin_port), 1, 65535, "8080", "admin HTTP server port", Z},
    {"admin.serverAddress", K_HOST, O(admin_addr), 0, 0, "0.0.0.0", "admin HTTP server address", Z},
    {"admin.commandURL", K_EXTRA, 0, 0, 0, "/commands", "admin HTTP command path (stored)", Z},
    {"admin.idleTimeout", K_INT64, O(admin_idle_timeout_ms), 1, 86400000, "30000",
     "ms an admin HTTP connection may stay idle or unfinished before it is closed", Z},
    {"znode.container.checkIntervalMs", K_EXTRA, 0, 0, 0, "60000",
     "how often containers and TTL nodes are checked for deletion, ms (a Java system "
     "property in ZooKeeper)",
     0},
    {"znode.container.maxNeverUsedIntervalMs", K_EXTRA, 0, 0, 0, "0",
     "delete a container that never had a child after this many ms (0: never)", 0},
    {"metricsProvider.className", K_STR, O(metrics_provider), 0, 0,
     "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider",
     "metrics provider (stored: corvid serves Prometheus /metrics whatever it names)", Z},
    {"metricsProvider.httpPort", K_PORT_OPT, O(metrics_port), 0, 0, "7000",
     "Prometheus /metrics port (0: no metrics server)", Z},
    {"metricsProvider.httpHost", K_HOST, O(metrics_addr), 0, 0, "0.0.0.0",
     "Prometheus /metrics address", Z},
    {"metricsProvider.", K_EXTRA, 0, 0, 0, NULL,
     "other metricsProvider.* settings, e.g. exportJvmInfo (stored)", F_PREFIX | Z},
    {"secureClientPort", K_PORT_OPT, O(secure_client_port), 0, 0, NULL,
     "TLS client port (stored; corvid has no TLS: warns)", F_NO_TLS | Z},
    {"secureClientPortAddress", K_HOST, O(secure_client_addr), 0, 0, NULL,
     "TLS client address (stored)", Z},
    {"observerMasterPort", K_PORT_OPT, O(observer_master_port), 0, 0, NULL,
     "port followers serve observers on (stored)", Z},
    {"sslQuorum", K_BOOL, O(ssl_quorum), 0, 0, "false",
     "TLS between servers (stored; corvid has no TLS: warns)", F_NO_TLS | Z},
    {"portUnification", K_BOOL, O(port_unification), 0, 0, "false",
     "TLS and plain on one port (stored; warns)", F_NO_TLS | Z},
    {"quorum.auth.enableSasl", K_BOOL, O(quorum_sasl), 0, 0, "false",
     "SASL between servers (stored; corvid has no SASL: warns)", F_NO_TLS | Z},
    {"multiAddress.enabled", K_BOOL, O(multi_address), 0, 0, "false",
     "several addresses per server (stored; corvid: one address per server)", Z},
    {"ssl.", K_EXTRA, 0, 0, 0, NULL, "ssl.* TLS settings (stored; corvid has no TLS)",
     F_PREFIX | Z},
    {"quorum.", K_EXTRA, 0, 0, 0, NULL, "quorum.* SASL/TLS settings (stored)", F_PREFIX | Z},
    {"multiAddress.", K_EXTRA, 0, 0, 0, NULL, "multiAddress.* settings (stored)", F_PREFIX | Z},
    {"jvm.pause.", K_EXTRA, 0, 0, 0, NULL, "JVM pause monitor settings (stored; no JVM)",
     F_PREFIX | Z},
    {"dynamicConfigFile", K_REFUSED, 0, 0, 0, NULL,
     "refused: corvid reads server.N lines from zoo.cfg itself", Z},
    /* corvid's own keys */
    {"corvid.superDigest", K_DIGEST, O(super_digest), 0, 0, NULL,
     "super user, \"user:base64(sha1(user:password))\" (ZooKeeper: the Java property "
     "zookeeper.DigestAuthenticationProvider.superDigest)",
     0},
    {"corvid.secret", K_SECRET, 0, 0, 0, NULL,
     "session password key, 32..128 hex digits, the same on every server (required in an "
     "ensemble; standalone: generated once and kept in dataDir/corvid-secret)",
     0},
    {"corvid.maxSessions", K_INT, O(max_sessions), 1, 1 << 28, "65536",
     "session table capacity, the same on every server", 0},
    {"corvid.lcores", K_LCORES, O(lcores), 0, CV_CONFIG_LCORE_MAX, "0",
     "lcores corvid runs on: ids and ranges, e.g. 0,2-5", 0},
    {"corvid.ioLcores", K_LCORES, O(io_lcores), 0, CV_CONFIG_LCORE_MAX, NULL,
     "lcores that own client connections (default: every lcore)", 0},
    {"corvid.sequencerLcore", K_LCORE, O(sequencer_lcore), 0, CV_CONFIG_LCORE_MAX, NULL,
     "the lcore running sessions, tree and atomic broadcast (default: the first lcore)", 0},
    {"corvid.pollMode", K_POLL, O(poll_mode), 0, 0, "adaptive",
     "busy (spin: appliances) or adaptive (sleep when idle: shared machines)", 0},
    {"corvid.pollSpinUs", K_INT, O(poll_spin_us), 0, 1000000, "200",
     "adaptive mode: microseconds an lcore keeps polling after its last work before it "
     "sleeps (steady load then sees busy-poll latency; 0 sleeps at once)",
     0},
    {"corvid.transport", K_TRANSPORT, O(transport), 0, 0, "socket",
     "socket (kernel TCP, epoll) or dpdk (kernel bypass)", 0},
    {"corvid.eal", K_STR, O(eal_args), 0, 0, "", "extra DPDK EAL arguments (dpdk transport)", 0},
    {"corvid.telemetry", K_BOOL, O(telemetry), 0, 0, "true",
     "DPDK's telemetry socket with corvid's /corvid/* commands (dpdk-telemetry.py -f corvid<pid>)",
     0},
    {"corvid.walBackend", K_WALIO, O(wal_io), 0, 0, "io_uring",
     "how log batches reach the disk: io_uring (O_DIRECT writes with RWF_DSYNC, reaped "
     "without blocking; falls back to pwrite where io_uring is unavailable) or pwrite "
     "(O_DIRECT pwrite + fdatasync on the sequencer lcore)",
     0},
    {"corvid.test.walStallFile", K_STR, O(test_wal_stall_file), 0, 0, "",
     "TESTS ONLY: while this file exists, log writes do not complete (an injected disk "
     "stall); never set it in production",
     0},
    {"corvid.test.peerDropFile", K_STR, O(test_peer_drop_file), 0, 0, "",
     "TESTS ONLY: while this file exists, peer datagrams to and from the server ids listed "
     "in it are dropped (a partition without namespaces); never set it in production",
     0},
};

#undef O
#undef Z

const char cv_config_embedded[] = "tickTime=2000\n"
                                  "clientPort=2181\n"
                                  "clientPortAddress=127.0.0.1\n"
                                  "dataDir=./data\n"
                                  "maxClientCnxns=60\n"
                                  "admin.serverAddress=127.0.0.1\n"
                                  "metricsProvider.httpHost=127.0.0.1\n";

/* ---- messages ------------------------------------------------------------- */

struct perr {
    char *buf;
    size_t len;
    const char *name; /* file name */
    unsigned line;    /* 0: no line */
    cv_config_warn_fn warn;
    void *ctx;
};

static void fmt_loc(const struct perr *pe, char *out, size_t cap, const char *fmt, va_list ap)
{
    int n = pe->line ? snprintf(out, cap, "%s:%u: ", pe->name, pe->line)
                     : snprintf(out, cap, "%s: ", pe->name);
    if (n < 0 || (size_t)n >= cap)
        n = 0;
    vsnprintf(out + n, cap - (size_t)n, fmt, ap);
}

__attribute__((format(printf, 2, 3))) static int fail(struct perr *pe, const char *fmt, ...)
{
    if (pe->buf && pe->len) {
        va_list ap;
        va_start(ap, fmt);
        fmt_loc(pe, pe->buf, pe->len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

__attribute__((format(printf, 2, 3))) static void warnf(struct perr *pe, const char *fmt, ...)
{
    if (!pe->warn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    fmt_loc(pe, msg, sizeof msg, fmt, ap);
    va_end(ap);
    pe->warn(pe->ctx, msg);
}

/* ---- value parsers ------------------------------------------------------- */

/* Integer.parseInt / Long.parseLong: [+-]digits, nothing else. */
static bool parse_i64(const char *s, int64_t *out)
{
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!*p)
        return false;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (lim - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static bool eq_ci(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

static bool valid_host(const char *s)
{
    unsigned char buf[16];
    size_t n = strlen(s);
    if (n == 0 || n >= CV_CONFIG_HOST_MAX)
        return false;
    if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
        return true;
    if (s[0] == '[' && s[n - 1] == ']' && n < 64) {
        char tmp[64];
        memcpy(tmp, s + 1, n - 2);
        tmp[n - 2] = 0;
        return inet_pton(AF_INET6, tmp, buf) == 1;
    }
    /* A host name (RFC 1123): labels of letters, digits and '-'. */
    if (n > 253)
        return false;
    /* The last label is not all digits (RFC 1123 2.1: "300.1.1.1" is neither). */
    size_t last = n;
    while (last > 0 && s[last - 1] != '.')
        last--;
    if (strspn(s + last, "0123456789") == n - last)
        return false;
    size_t lab = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = s[i];
        if (c == '.' || c == 0) {
            if (lab == 0 || lab > 63 || s[i - 1] == '-')
                return false;
            lab = 0;
        } else if (isalnum((unsigned char)c) || (c == '-' && lab > 0) || c == '_') {
            lab++;
        } else {
            return false;
        }
    }
    return true;
}

static void copy_host(char *dst, const char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        memcpy(dst, s + 1, n - 2);
        dst[n - 2] = 0;
    } else {
        snprintf(dst, CV_CONFIG_HOST_MAX, "%s", s);
    }
}

static int parse_port(struct perr *pe, const char *key, const char *s, uint16_t *out)
{
    int64_t v;
    if (!parse_i64(s, &v) || v < 1 || v > 65535)
        return fail(pe, "%s: '%s' is not a port number (1..65535)", key, s);
    *out = (uint16_t)v;
    return 0;
}

static int cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* "0,2-5 7": ids and ranges separated by ',' or blanks; sorted, distinct. */
static int parse_lcores(struct perr *pe, const char *key, const char *s, uint16_t *out, uint32_t *n)
{
    uint32_t cnt = 0;
    const char *p = s;
    char item[64];
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, ", \t");
        if (len >= sizeof item)
            return fail(pe, "%s: '%s' is not a list of lcore ids (e.g. 0,2-5; ids 0..%d)", key, s,
                        CV_CONFIG_LCORE_MAX);
        memcpy(item, p, len);
        item[len] = 0;
        p += len;
        int64_t a, b;
        char *dash = strchr(item + 1, '-');
        if (dash) {
            *dash = 0;
            if (!parse_i64(item, &a) || !parse_i64(dash + 1, &b))
                a = -1, b = -1;
        } else if (!parse_i64(item, &a)) {
            a = -1, b = -1;
        } else {
            b = a;
        }
        if (a < 0 || b < a || b > CV_CONFIG_LCORE_MAX)
            return fail(pe, "%s: '%s' is not a list of lcore ids (e.g. 0,2-5; ids 0..%d)", key, s,
                        CV_CONFIG_LCORE_MAX);
        for (int64_t i = a; i <= b; i++) {
            bool dup = false;
            for (uint32_t j = 0; j < cnt; j++)
                dup |= out[j] == i;
            if (dup)
                continue;
            if (cnt == CV_CONFIG_MAX_LCORES)
                return fail(pe, "%s: '%s' names more than %d lcores", key, s, CV_CONFIG_MAX_LCORES);
            out[cnt++] = (uint16_t)i;
        }
    }
    if (cnt == 0)
        return fail(pe, "%s: '%s' is not a list of lcore ids (e.g. 0,2-5; ids 0..%d)", key, s,
                    CV_CONFIG_LCORE_MAX);
    qsort(out, cnt, sizeof *out, cmp_u16);
    *n = cnt;
    return 0;
}

static int parse_whitelist(struct perr *pe, const char *s, uint32_t *mask)
{
    uint32_t m = 0;
    const char *p = s;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, ", \t");
        if (len == 1 && *p == '*') {
            m = (1u << CV_4LW_COUNT) - 1;
        } else {
            int w = len == 4 ? cv_config_4lw_word(p) : -1;
            if (w < 0)
                return fail(pe,
                            "4lw.commands.whitelist: '%.*s' is not a four-letter word (one of "
                            "conf cons crst dirs dump envi gtmk ruok stmk srst srvr stat wchc "
                            "wchp wchs mntr isro hash, or *)",
                            (int)len, p);
            m |= 1u << w;
        }
        p += len;
    }
    *mask = m;
    return 0;
}

static bool valid_digest(const char *s)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s)
        return false;
    const char *d = colon + 1;
    if (strlen(d) != 28 || d[27] != '=')
        return false;
    for (int i = 0; i < 27; i++)
        if (!isalnum((unsigned char)d[i]) && d[i] != '+' && d[i] != '/')
            return false;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "host:p1:p2[:type]" or "[v6]:p1:p2[:type]": split into at most 5 parts as
 * ConfigUtils.getHostAndPort does. Returns the count, -1 on bad brackets. */
static int split_host_port(char *s, char **parts, int max)
{
    int n = 0;
    char *p = s;
    if (*p == '[') {
        char *close = strchr(p, ']');
        if (!close || (close[1] != ':' && close[1] != 0))
            return -1;
        parts[n++] = p; /* keeps the brackets; copy_host strips them */
        p = close + 1;
        if (*p == 0)
            return n;
        *p++ = 0;
    }
    while (n < max) {
        parts[n++] = p;
        char *c = strchr(p, ':');
        if (!c)
            return n;
        *c = 0;
        p = c + 1;
    }
    return max + 1;
}

static int parse_server(struct perr *pe, struct cv_config *c, const char *key, const char *val)
{
    const char *ids = key + strlen("server.");
    int64_t id;
    if (!parse_i64(ids, &id) || id < 0 || id > CV_CONFIG_MAX_SERVERS - 1)
        return fail(pe, "%s: '%s' is not a server id (0..%d)", key, ids, CV_CONFIG_MAX_SERVERS - 1);
    struct cv_config_server sv;
    memset(&sv, 0, sizeof sv);
    sv.id = (uint32_t)id;
    char buf[2 * CV_CONFIG_HOST_MAX + 64];
    if (strlen(val) >= sizeof buf)
        return fail(pe, "%s: '%.64s...' is too long", key, val);
    strcpy(buf, val);
    static const char *const fmt = "host:quorumPort:electionPort[:participant|:observer]"
                                   "[;[clientHost:]clientPort]";
    if (strchr(buf, '|'))
        return fail(pe, "%s: '%s': several addresses per server ('|') are not supported", key, val);
    char *semi = strchr(buf, ';');
    if (semi) {
        *semi++ = 0;
        if (strchr(semi, ';'))
            return fail(pe, "%s: '%s' is not %s", key, val, fmt);
        char *cp[4];
        int n = split_host_port(semi, cp, 3);
        if (n < 1 || n > 2)
            return fail(pe, "%s: '%s' is not %s", key, val, fmt);
        const char *chost = n == 2 ? cp[0] : "0.0.0.0";
        if (!valid_host(chost))
            return fail(pe, "%s: '%s': '%s' is not an IP address or host name", key, val, chost);
        if (parse_port(pe, key, cp[n - 1], &sv.client_port))
            return -EINVAL;
        copy_host(sv.client_host, chost);
    }
    char *sp[6];
    int n = split_host_port(buf, sp, 5);
    if (n < 3 || n > 4)
        return fail(pe, "%s: '%s' is not %s", key, val, fmt);
    if (!valid_host(sp[0]))
        return fail(pe, "%s: '%s': '%s' is not an IP address or host name", key, val, sp[0]);
    copy_host(sv.host, sp[0]);
    if (parse_port(pe, key, sp[1], &sv.quorum_port) ||
        parse_port(pe, key, sp[2], &sv.election_port))
        return -EINVAL;
    if (sv.quorum_port == sv.election_port)
        return fail(pe, "%s: '%s': the quorum and election ports must be different", key, val);
    if (n == 4) {
        if (eq_ci(sp[3], "observer"))
            sv.role = CV_ROLE_OBSERVER;
        else if (eq_ci(sp[3], "participant"))
            sv.role = CV_ROLE_PARTICIPANT;
        else
            return fail(pe, "%s: '%s': '%s' is not a role (participant or observer)", key, val,
                        sp[3]);
    }
    /* Keep the list sorted by id; "server.1" and "server.01" are one server. */
    uint32_t i = 0;
    while (i < c->nservers && c->servers[i].id < sv.id)
        i++;
    if (i < c->nservers && c->servers[i].id == sv.id)
        return fail(pe, "%s: server %u is already defined by another server.N key", key,
                    (unsigned)sv.id);
    memmove(&c->servers[i + 1], &c->servers[i], (c->nservers - i) * sizeof sv);
    c->servers[i] = sv;
    c->nservers++;
    return 0;
}

static int store_extra(struct perr *pe, struct cv_config *c, const char *key, const char *val)
{
    if (strlen(key) >= sizeof c->extra[0].key || strlen(val) >= sizeof c->extra[0].value)
        return fail(pe, "%s: key or value too long (at most %zu / %zu bytes)", key,
                    sizeof c->extra[0].key - 1, sizeof c->extra[0].value - 1);
    uint32_t i = 0;
    while (i < c->nextra && strcmp(c->extra[i].key, key) != 0)
        i++;
    if (i == c->nextra) {
        if (c->nextra == CV_CONFIG_MAX_EXTRA)
            return fail(pe, "%s: more than %d stored settings", key, CV_CONFIG_MAX_EXTRA);
        c->nextra++;
    }
    strcpy(c->extra[i].key, key);
    strcpy(c->extra[i].value, val);
    return 0;
}

/* Set one key. cfg is the scratch copy. */
static int apply(struct perr *pe, struct cv_config *c, const struct key *k, const char *key,
                 const char *v)
{
    void *f = (char *)c + k->off;
    int64_t x;
    switch (k->type) {
    case K_INT:
    case K_INT64:
        if (!parse_i64(v, &x) || x < k->lo || x > k->hi ||
            (k->type == K_INT && (x < INT_MIN || x > INT_MAX)))
            return fail(pe, "%s: '%s' is not an integer in %lld..%lld", key, v, (long long)k->lo,
                        (long long)k->hi);
        if (k->type == K_INT)
            *(int32_t *)f = (int32_t)x;
        else
            *(int64_t *)f = x;
        return 0;
    case K_TIMEOUT:
        if (!parse_i64(v, &x) || (x != -1 && (x < k->lo || x > k->hi)))
            return fail(pe, "%s: '%s' is not a timeout in ms (1..%lld, or -1 for the default)", key,
                        v, (long long)k->hi);
        *(int32_t *)f = (int32_t)x;
        return 0;
    case K_PORT: return parse_port(pe, key, v, (uint16_t *)f);
    case K_PORT_OPT:
        if (!parse_i64(v, &x) || x < -1 || x > 65535)
            return fail(pe, "%s: '%s' is not a port number (1..65535, or 0 for none)", key, v);
        *(int32_t *)f = x <= 0 ? -1 : (int32_t)x;
        if (x > 0 && (k->flags & F_NO_TLS))
            warnf(pe, "%s: corvid has no TLS; this port is not opened", key);
        return 0;
    case K_BOOL:
        if (eq_ci(v, "true"))
            *(bool *)f = true;
        else if (eq_ci(v, "false"))
            *(bool *)f = false;
        else
            return fail(pe, "%s: '%s' is not a boolean (true or false)", key, v);
        if (*(bool *)f && (k->flags & F_NO_TLS))
            warnf(pe, "%s: corvid has no TLS or SASL; ignored", key);
        return 0;
    case K_YESNO:
        if (eq_ci(v, "yes") || eq_ci(v, "true"))
            *(bool *)f = true;
        else if (eq_ci(v, "no") || eq_ci(v, "false"))
            *(bool *)f = false;
        else
            return fail(pe, "%s: '%s' is not yes or no", key, v);
        return 0;
    case K_PATH:
        if (!*v || strlen(v) >= CV_CONFIG_PATH_MAX)
            return fail(pe, "%s: '%s' is not a path (1..%d bytes)", key, v, CV_CONFIG_PATH_MAX - 1);
        strcpy((char *)f, v);
        return 0;
    case K_HOST:
        if (!valid_host(v))
            return fail(pe, "%s: '%s' is not an IP address or host name", key, v);
        copy_host((char *)f, v);
        return 0;
    case K_STR:
        if (strlen(v) >= CV_CONFIG_STR_MAX)
            return fail(pe, "%s: value too long (at most %d bytes)", key, CV_CONFIG_STR_MAX - 1);
        strcpy((char *)f, v);
        return 0;
    case K_WHITELIST:
        if (strlen(v) >= CV_CONFIG_STR_MAX)
            return fail(pe, "%s: value too long (at most %d bytes)", key, CV_CONFIG_STR_MAX - 1);
        if (parse_whitelist(pe, v, &c->fourlw_allowed))
            return -EINVAL;
        strcpy((char *)f, v);
        return 0;
    case K_LCORES:
        return parse_lcores(pe, key, v, (uint16_t *)f,
                            k->off == offsetof(struct cv_config, lcores) ? &c->nlcores
                                                                         : &c->nio_lcores);
    case K_LCORE:
        if (!parse_i64(v, &x) || x < k->lo || x > k->hi)
            return fail(pe, "%s: '%s' is not an lcore id (0..%d)", key, v, CV_CONFIG_LCORE_MAX);
        *(uint16_t *)f = (uint16_t)x;
        return 0;
    case K_POLL:
        if (eq_ci(v, "busy"))
            c->poll_mode = CV_POLL_BUSY;
        else if (eq_ci(v, "adaptive"))
            c->poll_mode = CV_POLL_ADAPTIVE;
        else
            return fail(pe, "%s: '%s' is not a poll mode (busy or adaptive)", key, v);
        return 0;
    case K_TRANSPORT:
        if (eq_ci(v, "socket"))
            c->transport = CV_TRANSPORT_SOCKET;
        else if (eq_ci(v, "dpdk"))
            c->transport = CV_TRANSPORT_DPDK;
        else
            return fail(pe, "%s: '%s' is not a transport (socket or dpdk)", key, v);
        return 0;
    case K_WALIO:
        if (eq_ci(v, "io_uring"))
            c->wal_io = CV_WALIO_URING;
        else if (eq_ci(v, "pwrite"))
            c->wal_io = CV_WALIO_PWRITE;
        else
            return fail(pe, "%s: '%s' is not a log backend (io_uring or pwrite)", key, v);
        return 0;
    case K_SECRET: {
        size_t n = strlen(v);
        if (n % 2 || n < 32 || n > 2 * CV_CONFIG_SECRET_MAX)
            goto bad_secret;
        for (size_t i = 0; i < n; i += 2) {
            int hi = hexval(v[i]), lo = hexval(v[i + 1]);
            if (hi < 0 || lo < 0)
                goto bad_secret;
            c->secret[i / 2] = (uint8_t)(hi << 4 | lo);
        }
        c->secret_len = (uint32_t)(n / 2);
        return 0;
    bad_secret:
        /* Never echo a secret into logs. */
        return fail(pe, "%s: the value is not 32..%d hex digits (an even count: 16..%d bytes)", key,
                    2 * CV_CONFIG_SECRET_MAX, CV_CONFIG_SECRET_MAX);
    }
    case K_DIGEST:
        if (*v && (!valid_digest(v) || strlen(v) >= CV_CONFIG_STR_MAX))
            return fail(pe,
                        "%s: '%s' is not user:base64(sha1(user:password)) (28 base64 "
                        "characters after the ':')",
                        key, v);
        strcpy((char *)f, v);
        return 0;
    case K_PEERTYPE:
        if (eq_ci(v, "observer"))
            c->peer_type = CV_ROLE_OBSERVER;
        else if (eq_ci(v, "participant"))
            c->peer_type = CV_ROLE_PARTICIPANT;
        else
            return fail(pe, "%s: '%s' is not a peer type (participant or observer)", key, v);
        return 0;
    case K_ELECTION:
        if (!parse_i64(v, &x) || x != 3)
            return fail(pe, "%s: '%s' is not a supported election algorithm (only 3)", key, v);
        return 0;
    case K_SERVER: return parse_server(pe, c, key, v);
    case K_EXTRA: return store_extra(pe, c, key, v);
    case K_REFUSED:
        return fail(pe, "%s: not supported by corvid: put the server.N lines in this file", key);
    }
    return fail(pe, "%s: internal error", key);
}

static const struct key *find_key(const char *key)
{
    const struct key *best = NULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct key *k = &keys[i];
        if (k->flags & F_PREFIX) {
            size_t n = strlen(k->name);
            if (strncmp(key, k->name, n) == 0 && key[n] && !best)
                best = k;
        } else if (strcmp(key, k->name) == 0) {
            return k;
        }
    }
    return best;
}

/* ---- java.util.Properties ------------------------------------------------ */

struct entry {
    char *key, *val;
    unsigned line;
};

static void put_utf8(char **o, unsigned cp)
{
    char *p = *o;
    if (cp < 0x80) {
        *p++ = (char)cp;
    } else if (cp < 0x800) {
        *p++ = (char)(0xC0 | cp >> 6);
        *p++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *p++ = (char)(0xE0 | cp >> 12);
        *p++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *p++ = (char)(0x80 | (cp & 0x3F));
    }
    *o = p;
}

/* Unescape s[0..n) into out (n + 1 bytes suffice: escapes never grow). */
static int unescape(const char *s, size_t n, char *out)
{
    char *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 == n) {
            *o++ = s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
        case 't': *o++ = '\t'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            unsigned cp = 0;
            for (int j = 0; j < 4; j++) {
                int h = i + 1 < n ? hexval(s[i + 1]) : -1;
                if (h < 0)
                    return -1; /* Properties: "Malformed \uxxxx encoding." */
                cp = cp << 4 | (unsigned)h;
                i++;
            }
            if (cp == 0)
                return -1;
            put_utf8(&o, cp);
            break;
        }
        default: *o++ = c;
        }
    }
    *o = 0;
    return 0;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f';
}

static char *trim(char *s)
{
    while (*s && (unsigned char)*s <= ' ')
        s++;
    size_t n = strlen(s);
    while (n && (unsigned char)s[n - 1] <= ' ')
        s[--n] = 0;
    return s;
}

/* Split text into (key, value) entries; a later duplicate replaces an
 * earlier one (keeping the later line number). */
static int read_properties(struct perr *pe, const char *text, size_t len, struct entry **out,
                           size_t *nout, char **store)
{
    /* Logical lines are joined into one buffer no longer than the text. */
    char *buf = malloc(2 * len + 2);
    struct entry *ents = NULL;
    size_t nents = 0, cap = 0;
    if (!buf)
        return -ENOMEM;
    char *w = buf;
    size_t i = 0;
    unsigned line = 0;
    while (i < len) {
        line++;
        unsigned first_line = line;
        /* skip leading blanks of the physical line */
        while (i < len && blank(text[i]))
            i++;
        if (i < len && (text[i] == '\n' || text[i] == '\r')) {
            if (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
                i++;
            i++;
            continue;
        }
        if (i >= len)
            break;
        bool comment = text[i] == '#' || text[i] == '!';
        char *lstart = w;
        for (;;) {
            size_t s = i;
            while (i < len && text[i] != '\n' && text[i] != '\r')
                i++;
            size_t e = i;
            if (i < len) {
                if (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
                    i++;
                i++;
            }
            size_t bs = 0;
            while (e - bs > s && text[e - bs - 1] == '\\')
                bs++;
            bool cont = !comment && (bs % 2) == 1;
            size_t keep = cont ? e - s - 1 : e - s;
            memcpy(w, text + s, keep);
            w += keep;
            if (!cont || i >= len)
                break;
            line++;
            while (i < len && blank(text[i]))
                i++;
        }
        if (comment) {
            w = lstart;
            continue;
        }
        *w = 0;
        /* key: up to the first unescaped '=', ':' or blank */
        size_t ll = (size_t)(w - lstart), k = 0;
        while (k < ll) {
            char c = lstart[k];
            if (c == '\\' && k + 1 < ll) {
                k += 2;
                continue;
            }
            if (c == '=' || c == ':' || blank(c))
                break;
            k++;
        }
        size_t v = k;
        while (v < ll && blank(lstart[v]))
            v++;
        if (v < ll && (lstart[v] == '=' || lstart[v] == ':')) {
            v++;
            while (v < ll && blank(lstart[v]))
                v++;
        }
        char *kbuf = w + 1, *vbuf = kbuf + k + 1;
        if (unescape(lstart, k, kbuf) || unescape(lstart + v, ll - v, vbuf)) {
            pe->line = first_line;
            free(buf);
            free(ents);
            return fail(pe, "malformed \\uXXXX escape");
        }
        w = vbuf + strlen(vbuf) + 1;
        char *key = trim(kbuf), *val = trim(vbuf);
        size_t j = 0;
        while (j < nents && strcmp(ents[j].key, key) != 0)
            j++;
        if (j == nents) {
            if (nents == cap) {
                size_t nc = cap ? 2 * cap : 32;
                struct entry *ne = realloc(ents, nc * sizeof *ne);
                if (!ne) {
                    free(buf);
                    free(ents);
                    return -ENOMEM;
                }
                ents = ne, cap = nc;
            }
            nents++;
        }
        ents[j] = (struct entry){key, val, first_line};
    }
    *out = ents;
    *nout = nents;
    *store = buf;
    return 0;
}

/* ---- parse --------------------------------------------------------------- */

static void file_defaults(struct cv_config *c)
{
    memset(c, 0, sizeof *c);
    c->my_id = -1;
    struct perr quiet = {0};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct key *k = &keys[i];
        if (k->def && !(k->flags & F_PREFIX))
            (void)apply(&quiet, c, k, k->name, k->def);
    }
    c->secure_client_port = -1;
    c->observer_master_port = -1;
    c->fourlw_allowed = 0;
}

static bool in_list(const uint16_t *l, uint32_t n, uint16_t x)
{
    for (uint32_t i = 0; i < n; i++)
        if (l[i] == x)
            return true;
    return false;
}

static int finish(struct perr *pe, struct cv_config *c, const bool *seen)
{
    pe->line = 0;
    if (!c->tick_ms)
        return fail(pe, "tickTime is not set (required: milliseconds per tick, e.g. 2000)");
    if (!c->data_dir[0])
        return fail(pe, "dataDir is not set (required: the snapshot directory)");
    if (!c->data_log_dir[0])
        strcpy(c->data_log_dir, c->data_dir);
    if (seen[1] && !c->client_port)
        return fail(pe, "clientPortAddress is set but clientPort is not set");
    if (!c->client_port) {
        bool any = false;
        for (uint32_t i = 0; i < c->nservers; i++)
            any |= c->servers[i].client_port != 0;
        if (!any)
            return fail(pe, "clientPort is not set (and no server.N line gives a client port)");
    }
    int64_t min = c->min_session_timeout == -1 ? 2 * (int64_t)c->tick_ms : c->min_session_timeout;
    int64_t max = c->max_session_timeout == -1 ? 20 * (int64_t)c->tick_ms : c->max_session_timeout;
    if (min > INT_MAX || max > INT_MAX)
        return fail(pe, "tickTime %d is too large for the default session timeouts (2x and 20x)",
                    c->tick_ms);
    if (min > max)
        return fail(pe, "minSessionTimeout (%lld) must not be larger than maxSessionTimeout (%lld)",
                    (long long)min, (long long)max);
    c->min_session_timeout = (int32_t)min;
    c->max_session_timeout = (int32_t)max;
    if (c->snap_retain_count < 3) {
        warnf(pe, "autopurge.snapRetainCount %d is below 3: using 3", c->snap_retain_count);
        c->snap_retain_count = 3;
    }
    /* The whitelist: ZooKeeper always adds srvr, and isro in read-only mode. */
    c->fourlw_allowed |= 1u << CV_4LW_SRVR;
    if (c->read_only_enabled)
        c->fourlw_allowed |= 1u << CV_4LW_ISRO;
    if (cv_config_distributed(c)) {
        if (!c->init_limit)
            return fail(pe, "initLimit is not set (required with more than one server)");
        if (!c->sync_limit)
            return fail(pe, "syncLimit is not set (required with more than one server)");
        if (!c->secret_len)
            return fail(pe, "corvid.secret is not set (required with more than one server: "
                            "every server must verify every session's password)");
        uint32_t voters = 0;
        for (uint32_t i = 0; i < c->nservers; i++)
            voters += c->servers[i].role == CV_ROLE_PARTICIPANT;
        if (voters == 0)
            return fail(pe, "no server.N line is a participant (observers cannot form a quorum)");
    }
    if (!c->connect_to_learner_master_limit)
        c->connect_to_learner_master_limit = c->init_limit;
    if (!c->nio_lcores) {
        memcpy(c->io_lcores, c->lcores, c->nlcores * sizeof c->lcores[0]);
        c->nio_lcores = c->nlcores;
    }
    for (uint32_t i = 0; i < c->nio_lcores; i++)
        if (!in_list(c->lcores, c->nlcores, c->io_lcores[i]))
            return fail(pe, "corvid.ioLcores: lcore %u is not in corvid.lcores", c->io_lcores[i]);
    if (!seen[2])
        c->sequencer_lcore = c->lcores[0];
    else if (!in_list(c->lcores, c->nlcores, c->sequencer_lcore))
        return fail(pe, "corvid.sequencerLcore: lcore %u is not in corvid.lcores",
                    c->sequencer_lcore);
    return 0;
}

int cv_config_parse_string(struct cv_config *cfg, const char *text, size_t len, const char *name,
                           char *err, size_t errlen, cv_config_warn_fn warn, void *ctx)
{
    struct perr pe = {err, errlen, name ? name : "zoo.cfg", 0, warn, ctx};
    if (err && errlen)
        err[0] = 0;
    struct cv_config *c = malloc(sizeof *c);
    if (!c)
        return -ENOMEM;
    file_defaults(c);
    struct entry *ents = NULL;
    size_t n = 0;
    char *store = NULL;
    int rc = read_properties(&pe, text, len, &ents, &n, &store);
    bool seen[3] = {false, false, false}; /* clientPort, clientPortAddress, sequencerLcore */
    /* Apply in line order of each key's last occurrence. */
    for (size_t pass = 0; rc == 0 && pass < n; pass++) {
        size_t best = n;
        for (size_t j = 0; j < n; j++)
            if (ents[j].key && (best == n || ents[j].line < ents[best].line))
                best = j;
        struct entry *e = &ents[best];
        pe.line = e->line;
        const struct key *k = find_key(e->key);
        if (!k) {
            warnf(&pe, "unknown key '%s' (ignored)", e->key);
        } else {
            rc = apply(&pe, c, k, e->key, e->val);
            seen[0] |= k->off == offsetof(struct cv_config, client_port) && k->type == K_PORT;
            seen[1] |= k->off == offsetof(struct cv_config, client_addr) && k->type == K_HOST;
            seen[2] |= k->type == K_LCORE;
        }
        e->key = NULL;
    }
    if (rc == 0)
        rc = finish(&pe, c, seen);
    if (rc == 0)
        *cfg = *c;
    free(ents);
    free(store);
    free(c);
    return rc;
}

int cv_config_parse_file(struct cv_config *cfg, const char *path, char *err, size_t errlen,
                         cv_config_warn_fn warn, void *ctx)
{
    if (err && errlen)
        err[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (err)
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? -ENOENT : -EIO;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    int rc = 0;
    while (text) {
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (len < cap)
            break;
        if (cap >= (1u << 24)) {
            rc = -EFBIG;
            if (err)
                snprintf(err, errlen, "%s: larger than 16 MB: not a zoo.cfg", path);
            break;
        }
        char *nt = realloc(text, cap * 2);
        if (!nt) {
            free(text);
            text = NULL;
            break;
        }
        text = nt, cap *= 2;
    }
    if (!text) {
        fclose(f);
        return -ENOMEM;
    }
    if (rc == 0 && ferror(f)) {
        rc = -EIO;
        if (err)
            snprintf(err, errlen, "%s: read error", path);
    }
    fclose(f);
    if (rc == 0)
        rc = cv_config_parse_string(cfg, text, len, path, err, errlen, warn, ctx);
    free(text);
    return rc;
}

int cv_config_defaults(struct cv_config *cfg)
{
    int rc = cv_config_parse_string(cfg, cv_config_embedded, strlen(cv_config_embedded),
                                    "embedded config", NULL, 0, NULL, NULL);
    return rc;
}

bool cv_config_distributed(const struct cv_config *c)
{
    return c->nservers > 1 || (c->nservers == 1 && !c->standalone_enabled);
}

int cv_config_load_myid(struct cv_config *c, char *err, size_t errlen)
{
    if (!cv_config_distributed(c)) {
        c->my_id = c->nservers == 1 ? (int32_t)c->servers[0].id : 0;
        return 0;
    }
    char path[CV_CONFIG_PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/myid", c->data_dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot open: %s (an ensemble member needs its id there)", path,
                 strerror(e));
        return e == ENOENT ? -ENOENT : -EIO;
    }
    char buf[64] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *s = trim(buf);
    int64_t id;
    if (!parse_i64(s, &id) || id < 0 || id > CV_CONFIG_MAX_SERVERS - 1) {
        snprintf(err, errlen, "%s: '%s' is not a server id (0..%d)", path, s,
                 CV_CONFIG_MAX_SERVERS - 1);
        return -EINVAL;
    }
    for (uint32_t i = 0; i < c->nservers; i++)
        if (c->servers[i].id == id) {
            c->my_id = (int32_t)id;
            return 0;
        }
    snprintf(err, errlen, "%s: id %lld has no server.%lld line", path, (long long)id,
             (long long)id);
    return -EINVAL;
}

/* ---- help, whitelist, conf ----------------------------------------------- */

void cv_config_help(FILE *f)
{
    fprintf(f, "zoo.cfg keys (ZooKeeper's, then corvid's own); 'default' is the value when\n"
               "the key is absent from the file:\n\n");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct key *k = &keys[i];
        char name[64];
        if (k->type == K_SERVER)
            snprintf(name, sizeof name, "server.N");
        else if (k->flags & F_PREFIX)
            snprintf(name, sizeof name, "%s*", k->name);
        else
            snprintf(name, sizeof name, "%s", k->name);
        const char *def = k->def ? (*k->def ? k->def : "(empty)") : "-";
        fprintf(f, "  %-30s default %-10s %s\n", name, def, k->help);
    }
    fprintf(f, "\nWithout --config corvid runs with this configuration:\n");
    for (const char *p = cv_config_embedded; *p;) {
        size_t n = strcspn(p, "\n");
        fprintf(f, "    %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

bool cv_config_4lw_allowed(const struct cv_config *c, const char *cmd)
{
    int w = cv_config_4lw_word(cmd);
    return w >= 0 && (c->fourlw_allowed & (1u << w));
}

const char *cv_config_key_name(size_t i)
{
    return i < sizeof keys / sizeof keys[0] ? keys[i].name : NULL;
}

const char *cv_config_extra(const struct cv_config *c, const char *key)
{
    for (uint32_t i = 0; i < c->nextra; i++)
        if (strcmp(c->extra[i].key, key) == 0)
            return c->extra[i].value;
    return NULL;
}

/* java.io.File(dir).getAbsolutePath() + "/version-2": relative paths are
 * joined to the working directory without normalising "." or "..";
 * repeated and trailing '/' are dropped, as File does. */
static void snap_dir(const char *dir, char *out, size_t cap)
{
    char tmp[2 * CV_CONFIG_PATH_MAX + 16];
    size_t n = 0;
    if (dir[0] != '/') {
        if (!getcwd(tmp, sizeof tmp - CV_CONFIG_PATH_MAX - 16))
            strcpy(tmp, ".");
        n = strlen(tmp);
        tmp[n++] = '/';
    }
    snprintf(tmp + n, sizeof tmp - n, "%s/version-2", dir);
    size_t o = 0;
    for (size_t i = 0; tmp[i] && o + 1 < cap; i++)
        if (!(tmp[i] == '/' && o > 0 && out[o - 1] == '/'))
            out[o++] = tmp[i];
    out[o] = 0;
}

int cv_config_render(const struct cv_config *c, int64_t data_dir_size, int64_t log_dir_size,
                     char *buf, size_t cap)
{
    char snap[2 * CV_CONFIG_PATH_MAX + 16], log[2 * CV_CONFIG_PATH_MAX + 16];
    snap_dir(c->data_dir, snap, sizeof snap);
    snap_dir(c->data_log_dir, log, sizeof log);
    int n =
        snprintf(buf, cap,
                 "clientPort=%u\n"
                 "secureClientPort=%d\n"
                 "dataDir=%s\n"
                 "dataDirSize=%lld\n"
                 "dataLogDir=%s\n"
                 "dataLogSize=%lld\n"
                 "tickTime=%d\n"
                 "maxClientCnxns=%d\n"
                 "minSessionTimeout=%d\n"
                 "maxSessionTimeout=%d\n"
                 "clientPortListenBacklog=%d\n"
                 "serverId=%d\n",
                 c->client_port, c->secure_client_port, snap, (long long)data_dir_size, log,
                 (long long)log_dir_size, c->tick_ms, c->max_client_cnxns, c->min_session_timeout,
                 c->max_session_timeout, c->client_backlog, c->my_id < 0 ? 0 : c->my_id);
    if (n < 0 || (size_t)n >= cap)
        return -ENOBUFS;
    return n;
}
