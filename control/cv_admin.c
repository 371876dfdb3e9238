/*
 * cv_admin — ZooKeeper 3.8's AdminServer JSON bodies. See cv_admin.h.
 */
#include "cv_admin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

enum cmd_id {
    C_CONFIGURATION,
    C_CONNECTION_STAT_RESET,
    C_CONNECTIONS,
    C_DIRS,
    C_DUMP,
    C_ENVIRONMENT,
    C_GET_TRACE_MASK,
    C_HASH,
    C_INITIAL_CONFIGURATION,
    C_IS_READ_ONLY,
    C_LAST_SNAPSHOT,
    C_LEADER,
    C_MONITOR,
    C_OBSERVER_CONNECTION_STAT_RESET,
    C_OBSERVERS,
    C_RUOK,
    C_SERVER_STATS,
    C_SET_TRACE_MASK,
    C_STAT_RESET,
    C_STATS,
    C_SYSTEM_PROPERTIES,
    C_VOTING_VIEW,
    C_WATCH_SUMMARY,
    C_WATCHES,
    C_WATCHES_BY_PATH,
    C_ZABSTATE,
    C_COUNT
};

#define CONNS CV_ADMIN_NEEDS_CONNS
#define MNTR  (CV_ADMIN_NEEDS_CONNS | CV_ADMIN_NEEDS_MNTR)

/* Commands.registerAllCommands of ZooKeeper 3.8.0, sorted as /commands
 * lists them; indexed by enum cmd_id. */
static const struct cv_admin_command commands[C_COUNT] = {
    [C_CONFIGURATION] = {"configuration", {"conf", "config", NULL}, 0, true, true},
    [C_CONNECTION_STAT_RESET] =
        {"connection_stat_reset", {"crst", NULL}, CV_ADMIN_MUTATES, true, true},
    [C_CONNECTIONS] = {"connections", {"cons", NULL}, CONNS, true, true},
    [C_DIRS] = {"dirs", {NULL}, 0, true, true},
    [C_DUMP] = {"dump", {NULL}, CV_ADMIN_NEEDS_SESSIONS | CV_ADMIN_NEEDS_EPHEMERALS, true, true},
    [C_ENVIRONMENT] = {"environment", {"env", "envi", NULL}, CV_ADMIN_NEEDS_ENV, true, false},
    [C_GET_TRACE_MASK] = {"get_trace_mask", {"gtmk", NULL}, 0, true, false},
    [C_HASH] = {"hash", {NULL}, 0, true, true},
    [C_INITIAL_CONFIGURATION] = {"initial_configuration", {"icfg", NULL}, 0, true, true},
    [C_IS_READ_ONLY] = {"is_read_only", {"isro", NULL}, 0, true, true},
    [C_LAST_SNAPSHOT] = {"last_snapshot", {"lsnp", NULL}, 0, true, true},
    [C_LEADER] = {"leader", {"lead", NULL}, 0, true, true},
    [C_MONITOR] = {"monitor", {"mntr", NULL}, MNTR, true, false},
    [C_OBSERVER_CONNECTION_STAT_RESET] =
        {"observer_connection_stat_reset", {"orst", NULL}, CV_ADMIN_MUTATES, true, true},
    [C_OBSERVERS] = {"observers", {"obsr", NULL}, 0, true, true},
    [C_RUOK] = {"ruok", {NULL}, 0, true, true},
    [C_SERVER_STATS] = {"server_stats", {"srvr", NULL}, MNTR, true, true},
    [C_SET_TRACE_MASK] = {"set_trace_mask", {"stmk", NULL}, CV_ADMIN_MUTATES, true, false},
    [C_STAT_RESET] = {"stat_reset", {"srst", NULL}, CV_ADMIN_MUTATES, true, true},
    [C_STATS] = {"stats", {"stat", NULL}, MNTR, true, true},
    [C_SYSTEM_PROPERTIES] = {"system_properties", {"sysp", NULL}, CV_ADMIN_NEEDS_ENV, true, false},
    [C_VOTING_VIEW] = {"voting_view", {NULL}, 0, true, true},
    [C_WATCH_SUMMARY] = {"watch_summary", {"wchs", NULL}, 0, true, true},
    [C_WATCHES] = {"watches", {"wchc", NULL}, CV_ADMIN_NEEDS_WATCHES, true, true},
    [C_WATCHES_BY_PATH] = {"watches_by_path", {"wchp", NULL}, CV_ADMIN_NEEDS_WATCHES, true, true},
    [C_ZABSTATE] = {"zabstate", {NULL}, 0, true, false},
};

const struct cv_admin_command *cv_admin_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < C_COUNT; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
        for (size_t a = 0; a < N_OF(commands[i].aliases) && commands[i].aliases[a]; a++)
            if (strcmp(commands[i].aliases[a], name) == 0)
                return &commands[i];
    }
    return NULL;
}

size_t cv_admin_ncommands(void)
{
    return C_COUNT;
}

const struct cv_admin_command *cv_admin_command_at(size_t i)
{
    return i < C_COUNT ? &commands[i] : NULL;
}

bool cv_admin_parse_long(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    const char *p = s;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    if (!*p)
        return false;
    uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, acc = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (acc > (lim - d) / 10)
            return false;
        acc = acc * 10 + d;
    }
    *out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return true;
}

/* ---- growable text buffer ------------------------------------------------ */

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void b_mem(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void b_str(struct buf *b, const char *s)
{
    b_mem(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void b_fmt(struct buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->oom = true;
        return;
    }
    b_mem(b, tmp, (size_t)n);
}

static char *b_finish(struct buf *b)
{
    if (b->oom || !b->p) {
        free(b->p);
        errno = ENOMEM;
        return NULL;
    }
    return b->p;
}

/* ---- Jackson's DefaultPrettyPrinter -------------------------------------- */

static void j_string(struct buf *b, const char *s, size_t n)
{
    b_mem(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\t': esc = "\\t"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof u, "\\u%04X", c);
                esc = u;
            }
        }
        if (esc) {
            b_mem(b, s + i - run, run);
            run = 0;
            b_str(b, esc);
        } else {
            run++;
        }
    }
    b_mem(b, s + n - run, run);
    b_mem(b, "\"", 1);
}

static void j_indent(struct buf *b, int level)
{
    for (int i = 0; i < level; i++)
        b_mem(b, "  ", 2);
}

static void j_value(struct buf *b, const json_t *v, int level)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if (json_object_size(v) == 0) {
            b_str(b, "{ }");
            break;
        }
        b_str(b, "{");
        const char *k;
        json_t *m;
        bool first = true;
        json_object_foreach((json_t *)v, k, m)
        {
            b_str(b, first ? "\n" : ",\n");
            first = false;
            j_indent(b, level + 1);
            j_string(b, k, strlen(k));
            b_str(b, " : ");
            j_value(b, m, level + 1);
        }
        b_str(b, "\n");
        j_indent(b, level);
        b_str(b, "}");
        break;
    }
    case JSON_ARRAY: {
        if (json_array_size(v) == 0) {
            b_str(b, "[ ]");
            break;
        }
        b_str(b, "[ ");
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                b_str(b, ", ");
            j_value(b, json_array_get(v, i), level);
        }
        b_str(b, " ]");
        break;
    }
    case JSON_STRING: j_string(b, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: b_fmt(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
    case JSON_REAL: {
        char d[64];
        cv_fourlw_java_double(json_real_value(v), d, sizeof d);
        b_str(b, d);
        break;
    }
    case JSON_TRUE: b_str(b, "true"); break;
    case JSON_FALSE: b_str(b, "false"); break;
    case JSON_NULL: b_str(b, "null"); break;
    }
}

/* ---- building ------------------------------------------------------------ */

/* The render's state: the object being filled, and whether something failed
 * (allocation, or a 4lw render that should not fail). */
struct ctx {
    json_t *o;
    bool failed;
};

static void set(struct ctx *c, json_t *o, const char *k, json_t *v)
{
    if (!v || json_object_set_new_nocheck(o, k, v))
        c->failed = true;
}

static void seti(struct ctx *c, json_t *o, const char *k, int64_t i)
{
    set(c, o, k, json_integer((json_int_t)i));
}

static void sets(struct ctx *c, json_t *o, const char *k, const char *s)
{
    set(c, o, k, json_string_nocheck(s ? s : ""));
}

static void push(struct ctx *c, json_t *a, json_t *v)
{
    if (!v || json_array_append_new(a, v))
        c->failed = true;
}

/* The view with every four-letter word allowed: the AdminServer does not
 * look at 4lw.commands.whitelist. */
struct allview {
    struct cv_fourlw_view v;
    struct cv_config *cfg;
};

static bool allview_init(struct allview *a, const struct cv_fourlw_view *v)
{
    a->v = *v;
    a->cfg = malloc(sizeof *a->cfg);
    if (!a->cfg)
        return false;
    memcpy(a->cfg, v->config, sizeof *a->cfg);
    a->cfg->fourlw_allowed = ~0u;
    a->v.config = a->cfg;
    return true;
}

/* A word's text (malloc'd), or NULL. */
static char *word(const struct cv_fourlw_view *v, const char *w)
{
    struct allview a;
    if (!v->config || !allview_init(&a, v))
        return NULL;
    char *out = NULL;
    for (size_t cap = 1 << 15; cap <= (1u << 26); cap *= 2) {
        char *p = realloc(out, cap);
        if (!p)
            break;
        out = p;
        int n = cv_fourlw_render(w, &a.v, out, cap, NULL);
        if (n >= 0) {
            free(a.cfg);
            return out;
        }
        if (n != -ENOBUFS)
            break;
    }
    free(out);
    free(a.cfg);
    return NULL;
}

static bool quorum_mode(enum cv_fourlw_mode m)
{
    return m == CV_FOURLW_LEADER || m == CV_FOURLW_FOLLOWER || m == CV_FOURLW_OBSERVER;
}

/* mntr's "zk_<key>\t<value>" lines as members: strings for the text
 * values, integers where the value is one, reals otherwise. */
static json_t *mntr_object(struct ctx *c, const struct cv_fourlw_view *v)
{
    char *t = word(v, "mntr");
    json_t *o = json_object();
    if (!t || !o) {
        free(t);
        json_decref(o);
        c->failed = true;
        return NULL;
    }
    for (char *line = t, *next; *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : line + strlen(line);
        if (nl)
            *nl = 0;
        char *tab = strchr(line, '\t');
        if (strncmp(line, "zk_", 3) != 0 || !tab)
            continue;
        *tab = 0;
        const char *key = line + 3, *val = tab + 1;
        int64_t i;
        if (strcmp(key, "version") == 0 || strcmp(key, "server_state") == 0 ||
            strcmp(key, "peer_state") == 0)
            sets(c, o, key, val);
        else if (cv_admin_parse_long(val, &i))
            seti(c, o, key, i);
        else
            set(c, o, key, json_real(strtod(val, NULL)));
    }
    free(t);
    return o;
}

static void copy_member(struct ctx *c, json_t *to, const char *k, json_t *from, const char *fk)
{
    json_t *m = json_object_get(from, fk);
    set(c, to, k, m ? json_deep_copy(m) : json_integer(0));
}

/* ServerCnxn's remote address as Jackson writes an InetSocketAddress
 * ("1.2.3.4:5", "[0:0:0:0:0:0:0:1]:5"), an IPv4-mapped IPv6 as IPv4. */
static void addr_port(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(out, cap, "%s:%u", ip, ntohs(in->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        const uint8_t *a = in6->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, 12) == 0) {
            snprintf(out, cap, "%u.%u.%u.%u:%u", a[12], a[13], a[14], a[15], ntohs(in6->sin6_port));
            return;
        }
        int n = snprintf(out, cap, "[");
        for (int g = 0; g < 8 && n >= 0 && (size_t)n < cap; g++)
            n += snprintf(out + n, cap - (size_t)n, "%s%x", g ? ":" : "",
                          (unsigned)(a[2 * g] << 8 | a[2 * g + 1]));
        if (n >= 0 && (size_t)n < cap)
            snprintf(out + n, cap - (size_t)n, "]:%u", ntohs(in6->sin6_port));
    } else {
        snprintf(out, cap, "%s", "");
    }
}

/* ServerCnxn.getConnectionInfo */
static json_t *conn_info(struct ctx *c, const struct cv_fourlw_conn *k, bool brief)
{
    json_t *o = json_object();
    if (!o) {
        c->failed = true;
        return NULL;
    }
    char a[128];
    addr_port(&k->remote, a, sizeof a);
    sets(c, o, "remote_socket_address", a);
    seti(c, o, "interest_ops", k->interest_ops);
    seti(c, o, "outstanding_requests", k->queued);
    seti(c, o, "packets_received", k->received);
    seti(c, o, "packets_sent", k->sent);
    if (!brief) {
        int64_t n = k->latency.count;
        seti(c, o, "session_id", k->session_id);
        sets(c, o, "last_operation", k->last_op ? k->last_op : "NA");
        seti(c, o, "established", k->established_ms);
        seti(c, o, "session_timeout", k->timeout);
        seti(c, o, "last_cxid", k->last_cxid);
        seti(c, o, "last_zxid", k->last_zxid);
        seti(c, o, "last_response_time", k->last_response_ms);
        seti(c, o, "last_latency", k->last_latency);
        seti(c, o, "min_latency", n ? k->latency.min : 0);
        seti(c, o, "avg_latency", n ? k->latency.total / n : 0);
        seti(c, o, "max_latency", n ? k->latency.max : 0);
    }
    return o;
}

static void put_conns(struct ctx *c, const struct cv_fourlw_view *v, bool brief)
{
    json_t *a = json_array();
    if (a)
        for (size_t i = 0; i < v->nconns; i++)
            push(c, a, conn_info(c, &v->conns[i], brief));
    set(c, c->o, "connections", a);
    set(c, c->o, "secure_connections", json_array());
}

static json_t *buffer_stats(struct ctx *c, int64_t last, int64_t min, int64_t max)
{
    json_t *o = json_object();
    if (!o) {
        c->failed = true;
        return NULL;
    }
    seti(c, o, "last_buffer_size", last);
    seti(c, o, "min_buffer_size", min);
    seti(c, o, "max_buffer_size", max);
    return o;
}

/* SrvrCommand: version, read_only, server_stats (ServerStats as a bean),
 * client_response, proposal_stats (leader), node_count. */
static void put_server_stats(struct ctx *c, const struct cv_fourlw_view *v,
                             const struct cv_admin_extra *x)
{
    json_t *m = mntr_object(c, v);
    json_t *s = json_object();
    if (!m || !s) {
        json_decref(m);
        json_decref(s);
        c->failed = true;
        return;
    }
    json_t *o = c->o;
    sets(c, o, "version", v->version ? v->version : CV_FOURLW_ZK_VERSION);
    set(c, o, "read_only", json_boolean(v->mode == CV_FOURLW_READ_ONLY));
    seti(c, s, "packets_sent", v->packets_sent);
    seti(c, s, "packets_received", v->packets_received);
    seti(c, s, "fsync_threshold_exceed_count", x ? x->fsync_threshold_exceed_count : 0);
    set(c, s, "client_response_stats",
        buffer_stats(c, v->response_last, v->response_min, v->response_max));
    set(c, s, "provider_null", json_false());
    seti(c, s, "data_dir_size", v->data_dir_size);
    seti(c, s, "log_dir_size", v->log_dir_size);
    sets(c, s, "server_state", cv_fourlw_mode_name(v->mode));
    seti(c, s, "last_processed_zxid", v->zxid);
    seti(c, s, "outstanding_requests", v->outstanding_requests);
    copy_member(c, s, "avg_latency", m, "avg_latency");
    copy_member(c, s, "max_latency", m, "max_latency");
    copy_member(c, s, "min_latency", m, "min_latency");
    seti(c, s, "num_alive_client_connections", (int64_t)v->nconns);
    seti(c, s, "uptime", v->uptime_ms);
    copy_member(c, s, "auth_failed_count", m, "auth_failed_count");
    copy_member(c, s, "non_mtlsremote_conn_count", m, "non_mtls_remote_conn_count");
    copy_member(c, s, "non_mtlslocal_conn_count", m, "non_mtls_local_conn_count");
    set(c, o, "server_stats", s);
    set(c, o, "client_response",
        buffer_stats(c, v->response_last, v->response_min, v->response_max));
    if (v->mode == CV_FOURLW_LEADER)
        set(c, o, "proposal_stats",
            buffer_stats(c, v->proposal_last, v->proposal_min, v->proposal_max));
    seti(c, o, "node_count", v->node_count);
    json_decref(m);
}

/* conf's figures under ConfCommand's names. */
static void put_configuration(struct ctx *c, const struct cv_fourlw_view *v)
{
    static const struct {
        const char *conf, *json;
        bool str;
    } keys[] = {
        {"clientPort", "client_port", false},
        {"dataDir", "data_dir", true},
        {"dataLogDir", "data_log_dir", true},
        {"tickTime", "tick_time", false},
        {"maxClientCnxns", "max_client_cnxns", false},
        {"minSessionTimeout", "min_session_timeout", false},
        {"maxSessionTimeout", "max_session_timeout", false},
        {"serverId", "server_id", false},
        {"clientPortListenBacklog", "client_port_listen_backlog", false},
    };
    size_t cap = 8 * CV_CONFIG_PATH_MAX;
    char *t = malloc(cap);
    if (!t || cv_config_render(v->config, v->data_dir_size, v->log_dir_size, t, cap) < 0) {
        free(t);
        c->failed = true;
        return;
    }
    for (size_t k = 0; k < N_OF(keys); k++) {
        size_t kl = strlen(keys[k].conf);
        for (char *l = t; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
            if (strncmp(l, keys[k].conf, kl) != 0 || l[kl] != '=')
                continue;
            const char *val = l + kl + 1;
            size_t vl = strcspn(val, "\n");
            if (keys[k].str) {
                set(c, c->o, keys[k].json, json_stringn_nocheck(val, vl));
            } else {
                char num[32];
                int64_t i = 0;
                snprintf(num, sizeof num, "%.*s", (int)(vl < 31 ? vl : 31), val);
                if (!cv_admin_parse_long(num, &i))
                    c->failed = true;
                seti(c, c->o, keys[k].json, i);
            }
            break;
        }
    }
    free(t);
}

/* envi's "key=value" lines, all strings. */
static void put_environment(struct ctx *c, const struct cv_fourlw_view *v)
{
    char *t = word(v, "envi");
    if (!t) {
        c->failed = true;
        return;
    }
    for (char *line = t, *next; *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : line + strlen(line);
        if (nl)
            *nl = 0;
        char *eq = strchr(line, '=');
        if (!eq)
            continue; /* "Environment:" */
        *eq = 0;
        sets(c, c->o, line, eq + 1);
    }
    free(t);
}

struct prop {
    char key[160];
    const char *val;
};

static int prop_cmp(const void *a, const void *b)
{
    return strcmp(((const struct prop *)a)->key, ((const struct prop *)b)->key);
}

static void put_system_properties(struct ctx *c, const struct cv_fourlw_view *v)
{
    const struct cv_fourlw_env *e = v->env;
    struct prop p[16 + CV_CONFIG_MAX_EXTRA];
    size_t n = 0;
#define P(k, v) (snprintf(p[n].key, sizeof p[n].key, "%s", k), p[n++].val = (v))
    P("file.separator", "/");
    P("line.separator", "\n");
    P("path.separator", ":");
    if (e) {
        if (e->os_arch[0])
            P("os.arch", e->os_arch);
        if (e->os_name[0])
            P("os.name", e->os_name);
        if (e->os_version[0])
            P("os.version", e->os_version);
        if (e->user_dir[0])
            P("user.dir", e->user_dir);
        if (e->user_home[0])
            P("user.home", e->user_home);
        if (e->user_name[0])
            P("user.name", e->user_name);
    }
    if (v->config && v->config->fourlw_whitelist[0])
        P("zookeeper.4lw.commands.whitelist", v->config->fourlw_whitelist);
    for (uint32_t i = 0; v->config && i < v->config->nextra && i < CV_CONFIG_MAX_EXTRA; i++) {
        snprintf(p[n].key, sizeof p[n].key, "zookeeper.%s", v->config->extra[i].key);
        p[n++].val = v->config->extra[i].value;
    }
#undef P
    qsort(p, n, sizeof p[0], prop_cmp);
    for (size_t i = 0; i < n; i++)
        sets(c, c->o, p[i].key, p[i].val);
}

/* dump */
static int64_t exp_key(const struct cv_fourlw_session *s, const struct cv_admin_extra *x)
{
    return s->expire_wall_ms + (x ? x->clock_offset_ms : 0);
}

struct group {
    struct ctx *c;
    json_t *map;
    bool by_path;
    bool path_values; /* the array holds paths (else session ids) */
};

/* A walk's (session, path) pair into map[key] = [values...]. */
static int group_visit(void *vctx, int64_t session, const char *path, size_t len, unsigned kinds)
{
    (void)kinds;
    struct group *g = vctx;
    char key[32];
    char *pkey = NULL;
    const char *k = key;
    if (g->by_path) {
        pkey = malloc(len + 1);
        if (!pkey) {
            g->c->failed = true;
            return -ENOMEM;
        }
        memcpy(pkey, path, len);
        pkey[len] = 0;
        k = pkey;
    } else {
        snprintf(key, sizeof key, "%" PRId64, session);
    }
    json_t *a = json_object_get(g->map, k);
    if (!a) {
        a = json_array();
        set(g->c, g->map, k, a);
    }
    free(pkey);
    if (!a || g->c->failed)
        return -ENOMEM;
    push(g->c, a,
         g->path_values ? json_stringn_nocheck(path, len) : json_integer((json_int_t)session));
    return g->c->failed ? -ENOMEM : 0;
}

static int64_t cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

static int sess_cmp(const void *a, const void *b)
{
    const struct cv_fourlw_session *x = *(const struct cv_fourlw_session *const *)a,
                                   *y = *(const struct cv_fourlw_session *const *)b;
    int64_t r = cmp_i64(x->expire_wall_ms, y->expire_wall_ms);
    return r ? (int)r : (x < y ? -1 : x > y);
}

static void put_dump(struct ctx *c, const struct cv_fourlw_view *v, const struct cv_admin_extra *x)
{
    json_t *exp = json_object();
    set(c, c->o, "expiry_time_to_session_ids", exp);
    if (!exp)
        return;
    if (v->nsessions) {
        /* buckets in time order, members in the order given */
        const struct cv_fourlw_session **s = malloc(v->nsessions * sizeof *s);
        if (!s) {
            c->failed = true;
            return;
        }
        for (size_t i = 0; i < v->nsessions; i++)
            s[i] = &v->sessions[i];
        qsort(s, v->nsessions, sizeof *s, sess_cmp);
        for (size_t i = 0; i < v->nsessions && !c->failed; i++) {
            char key[32];
            snprintf(key, sizeof key, "%" PRId64, exp_key(s[i], x));
            json_t *a = json_object_get(exp, key);
            if (!a) {
                a = json_array();
                set(c, exp, key, a);
            }
            if (a)
                push(c, a, json_integer((json_int_t)s[i]->id));
        }
        free(s);
    }
    json_t *eph = json_object();
    set(c, c->o, "session_id_to_ephemeral_paths", eph);
    struct group g = {c, eph, false, true};
    if (eph && v->walk_ephemerals)
        v->walk_ephemerals(v->walk_ctx, group_visit, &g);
}

static void put_watches(struct ctx *c, const struct cv_fourlw_view *v, bool by_path)
{
    json_t *m = json_object();
    set(c, c->o, by_path ? "path_to_session_ids" : "session_id_to_watched_paths", m);
    struct group g = {c, m, by_path, !by_path};
    if (m && v->walk_watches)
        v->walk_watches(v->walk_ctx, by_path, group_visit, &g);
}

/* QuorumServer.delimitedHostString + port */
static void host_port(const char *host, unsigned port, char *out, size_t cap)
{
    bool v6 = strchr(host, ':') != NULL;
    snprintf(out, cap, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

static const struct cv_config_server *self_server(const struct cv_fourlw_view *v,
                                                  const struct cv_admin_extra *x)
{
    int64_t id = x ? x->server_id : v->config->my_id;
    for (uint32_t i = 0; i < v->config->nservers; i++)
        if ((int64_t)v->config->servers[i].id == id)
            return &v->config->servers[i];
    return NULL;
}

static void client_address(const struct cv_config *cfg, const struct cv_config_server *s, bool self,
                           char *out, size_t cap)
{
    if (s->client_port)
        host_port(s->client_host, s->client_port, out, cap);
    else if (self && cfg->client_port)
        host_port(cfg->client_addr, cfg->client_port, out, cap);
    else
        out[0] = 0;
}

static void put_voting_view(struct ctx *c, const struct cv_fourlw_view *v,
                            const struct cv_admin_extra *x)
{
    json_t *cur = json_object();
    set(c, c->o, "current_config", cur);
    if (!cur || !quorum_mode(v->mode))
        return;
    const struct cv_config_server *me = self_server(v, x);
    for (uint32_t i = 0; i < v->config->nservers; i++) {
        const struct cv_config_server *s = &v->config->servers[i];
        if (s->role != CV_ROLE_PARTICIPANT)
            continue;
        json_t *o = json_object(), *sa = json_array(), *ea = json_array();
        char hp[CV_CONFIG_HOST_MAX + 16], id[16];
        host_port(s->host, s->quorum_port, hp, sizeof hp);
        push(c, sa, json_string_nocheck(hp));
        host_port(s->host, s->election_port, hp, sizeof hp);
        push(c, ea, json_string_nocheck(hp));
        if (!o) {
            json_decref(sa);
            json_decref(ea);
            c->failed = true;
            return;
        }
        set(c, o, "server_addresses", sa);
        set(c, o, "election_addresses", ea);
        client_address(v->config, s, s == me, hp, sizeof hp);
        sets(c, o, "client_address", hp);
        sets(c, o, "learner_type", "participant");
        snprintf(id, sizeof id, "%u", s->id);
        set(c, cur, id, o);
    }
}

/* MultipleAddresses as a Jackson bean, for one address. */
static json_t *multi_address(struct ctx *c, const char *host, unsigned port)
{
    char hp[CV_CONFIG_HOST_MAX + 16], wild[32];
    host_port(host, port, hp, sizeof hp);
    snprintf(wild, sizeof wild, "0.0.0.0:%u", port);
    json_t *o = json_object();
    if (!o) {
        c->failed = true;
        return NULL;
    }
    json_t *a;
    set(c, o, "empty", json_false());
    set(c, o, "all_addresses", a = json_array());
    push(c, a, json_string_nocheck(hp));
    set(c, o, "all_reachable_addresses", a = json_array());
    push(c, a, json_string_nocheck(hp));
    sets(c, o, "one", hp);
    sets(c, o, "reachable_address", hp);
    set(c, o, "wildcard_addresses", a = json_array());
    push(c, a, json_string_nocheck(wild));
    set(c, o, "all_ports", a = json_array());
    push(c, a, json_integer(port));
    set(c, o, "all_host_strings", a = json_array());
    push(c, a, json_string_nocheck(host));
    set(c, o, "all_reachable_addresses_or_all", a = json_array());
    push(c, a, json_string_nocheck(hp));
    sets(c, o, "reachable_or_one", hp);
    return o;
}

static void put_zabstate(struct ctx *c, const struct cv_fourlw_view *v,
                         const struct cv_admin_extra *x)
{
    if (!v->serving || !quorum_mode(v->mode)) {
        set(c, c->o, "voting", json_false());
        sets(c, c->o, "zabstate", "");
        return;
    }
    const struct cv_config_server *me = self_server(v, x);
    seti(c, c->o, "myid", x ? x->server_id : v->config->my_id);
    set(c, c->o, "is_leader", json_boolean(v->mode == CV_FOURLW_LEADER));
    set(c, c->o, "quorum_address", me ? multi_address(c, me->host, me->quorum_port) : json_null());
    set(c, c->o, "election_address",
        me ? multi_address(c, me->host, me->election_port) : json_null());
    char hp[CV_CONFIG_HOST_MAX + 16] = "";
    if (me)
        client_address(v->config, me, true, hp, sizeof hp);
    set(c, c->o, "client_address", hp[0] ? json_string_nocheck(hp) : json_null());
    set(c, c->o, "voting",
        json_boolean(me && me->role == CV_ROLE_PARTICIPANT && v->mode != CV_FOURLW_OBSERVER));
    char z[32];
    snprintf(z, sizeof z, "0x%" PRIx64, (uint64_t)v->zxid);
    sets(c, c->o, "last_zxid", z);
    seti(c, c->o, "zab_epoch", (int64_t)((uint64_t)v->zxid >> 32));
    seti(c, c->o, "zab_counter", (int64_t)((uint64_t)v->zxid & 0xffffffffu));
    /* ZabState: the part of the peer state after " - " ("leading - broadcast") */
    const char *st = v->peer_state ? strstr(v->peer_state, " - ") : NULL;
    sets(c, c->o, "zabstate", st ? st + 3 : "");
}

static void put_observers(struct ctx *c, const struct cv_fourlw_view *v,
                          const struct cv_admin_extra *x)
{
    bool leader = v->mode == CV_FOURLW_LEADER;
    bool list = leader && x && x->observers;
    seti(c, c->o, "synced_observers",
         !leader ? 0
         : list  ? (int64_t)x->nobservers
                 : v->synced_observers);
    json_t *a = json_array();
    set(c, c->o, "observers", a);
    for (size_t i = 0; a && list && i < x->nobservers; i++) {
        const struct cv_admin_observer *ob = &x->observers[i];
        json_t *o = json_object();
        push(c, a, o);
        if (!o)
            return;
        char ap[128];
        addr_port(&ob->remote, ap + 1, sizeof ap - 1);
        ap[0] = '/';
        sets(c, o, "remote_socket_address", ap);
        seti(c, o, "sid", ob->sid);
        seti(c, o, "established", ob->established_ms);
        seti(c, o, "queued_packets", ob->queued_packets);
        seti(c, o, "queued_packets_size", ob->queued_packets_size);
        seti(c, o, "packets_received", ob->packets_received);
        seti(c, o, "packets_sent", ob->packets_sent);
        seti(c, o, "requests", ob->requests);
        seti(c, o, "last_zxid", ob->last_zxid);
    }
}

static void put_leader(struct ctx *c, const struct cv_fourlw_view *v,
                       const struct cv_admin_extra *x)
{
    if (!quorum_mode(v->mode) && v->mode != CV_FOURLW_READ_ONLY) {
        sets(c, c->o, "error", "server is not initialized");
        return;
    }
    set(c, c->o, "is_leader", json_boolean(x ? x->is_leader : v->mode == CV_FOURLW_LEADER));
    seti(c, c->o, "leader_id", x ? x->leader_id : -1);
    sets(c, c->o, "leader_ip", x && x->leader_ip ? x->leader_ip : "");
}

/* ---- dispatch ------------------------------------------------------------ */

static char *finish(json_t *o, const char *command, const char *error)
{
    struct buf b = {0};
    bool ok = o != NULL;
    if (ok && !json_object_get(o, "error")) {
        ok = !json_object_set_new_nocheck(o, "command", json_string_nocheck(command)) &&
             !json_object_set_new_nocheck(o, "error",
                                          error ? json_string_nocheck(error) : json_null());
    } else if (ok) {
        ok = !json_object_set_new_nocheck(o, "command", json_string_nocheck(command));
    }
    if (ok)
        j_value(&b, o, 0);
    json_decref(o);
    if (!ok) {
        free(b.p);
        errno = ENOMEM;
        return NULL;
    }
    return b_finish(&b);
}

char *cv_admin_render(const char *name, const struct cv_fourlw_view *v,
                      const struct cv_admin_extra *x, unsigned *actions)
{
    if (actions)
        *actions = 0;
    const struct cv_admin_command *cmd = cv_admin_find(name);
    if (!cmd) {
        errno = ENOENT;
        return NULL;
    }
    if (!v || !v->config) {
        errno = EINVAL;
        return NULL;
    }
    enum cmd_id id = (enum cmd_id)(cmd - commands);
    struct ctx c = {json_object(), false};
    if (!c.o) {
        errno = ENOMEM;
        return NULL;
    }
    if (cmd->server_required && !v->serving)
        return finish(c.o, cmd->name, "This ZooKeeper instance is not currently serving requests");
    if (id == C_MONITOR && !v->serving) /* ZooKeeper 3.8.0: a 500 (NullPointerException) */
        return finish(c.o, cmd->name, "This ZooKeeper instance is not currently serving requests");
    unsigned act = 0;
    switch (id) {
    case C_CONFIGURATION: put_configuration(&c, v); break;
    case C_CONNECTION_STAT_RESET: act = CV_FOURLW_RESET_CONN_STATS; break;
    case C_CONNECTIONS: put_conns(&c, v, false); break;
    case C_DIRS:
        seti(&c, c.o, "datadir_size", v->data_dir_size);
        seti(&c, c.o, "logdir_size", v->log_dir_size);
        break;
    case C_DUMP: put_dump(&c, v, x); break;
    case C_ENVIRONMENT: put_environment(&c, v); break;
    case C_GET_TRACE_MASK: seti(&c, c.o, "tracemask", v->trace_mask); break;
    case C_HASH: set(&c, c.o, "digests", json_array()); break;
    case C_INITIAL_CONFIGURATION:
        set(&c, c.o, "initial_configuration",
            x && x->initial_config ? json_string_nocheck(x->initial_config) : json_null());
        break;
    case C_IS_READ_ONLY:
        set(&c, c.o, "read_only", json_boolean(v->mode == CV_FOURLW_READ_ONLY));
        break;
    case C_LAST_SNAPSHOT: {
        int64_t z = x ? x->last_snapshot_zxid : -1;
        int64_t t = x ? x->last_snapshot_time_ms : -1;
        char hex[24];
        snprintf(hex, sizeof hex, "%" PRIx64, (uint64_t)z);
        sets(&c, c.o, "zxid", hex);
        seti(&c, c.o, "timestamp", z == -1 || t < 0 ? -1 : t / 1000);
        break;
    }
    case C_LEADER: put_leader(&c, v, x); break;
    case C_MONITOR: {
        json_t *m = mntr_object(&c, v);
        if (m) {
            json_decref(c.o);
            c.o = m;
        }
        break;
    }
    case C_OBSERVER_CONNECTION_STAT_RESET: act = CV_ADMIN_RESET_OBSERVER_STATS; break;
    case C_OBSERVERS: put_observers(&c, v, x); break;
    case C_RUOK: break;
    case C_SERVER_STATS: put_server_stats(&c, v, x); break;
    case C_SET_TRACE_MASK: {
        int64_t mask;
        if (!x || !cv_admin_parse_long(x->trace_mask_arg, &mask)) {
            sets(&c, c.o, "error", "setTraceMask requires long traceMask argument");
        } else {
            seti(&c, c.o, "tracemask", mask);
            act = CV_ADMIN_SET_TRACE_MASK;
        }
        break;
    }
    case C_STAT_RESET: act = CV_FOURLW_RESET_SERVER_STATS; break;
    case C_STATS:
        put_server_stats(&c, v, x);
        put_conns(&c, v, true);
        break;
    case C_SYSTEM_PROPERTIES: put_system_properties(&c, v); break;
    case C_VOTING_VIEW: put_voting_view(&c, v, x); break;
    case C_WATCH_SUMMARY:
        seti(&c, c.o, "num_connections", v->watch_sessions);
        seti(&c, c.o, "num_paths", v->watch_paths);
        seti(&c, c.o, "num_total_watches", v->watch_pairs);
        break;
    case C_WATCHES: put_watches(&c, v, false); break;
    case C_WATCHES_BY_PATH: put_watches(&c, v, true); break;
    case C_ZABSTATE: put_zabstate(&c, v, x); break;
    case C_COUNT: break;
    }
    if (c.failed) {
        json_decref(c.o);
        errno = ENOMEM;
        return NULL;
    }
    char *out = finish(c.o, cmd->name, NULL);
    if (out && actions)
        *actions = act;
    return out;
}

char *cv_admin_render_index(void)
{
    struct buf b = {0};
    for (size_t i = 0; i < C_COUNT; i++) {
        b_str(&b, "<a href=\"/commands/");
        b_str(&b, commands[i].name);
        b_str(&b, "\">");
        b_str(&b, commands[i].name);
        b_str(&b, "</a>\n<br/>\n");
    }
    return b_finish(&b);
}

char *cv_admin_render_unknown(const char *name, int *http_status)
{
    if (http_status)
        *http_status = 200;
    const char *n = name ? name : "";
    struct buf msg = {0};
    b_str(&msg, "Unknown command: ");
    b_str(&msg, n);
    char *m = b_finish(&msg);
    if (!m)
        return NULL;
    json_t *o = json_object();
    char *out = NULL;
    if (o && !json_object_set_new_nocheck(o, "command", json_string_nocheck(n)) &&
        !json_object_set_new_nocheck(o, "error", json_string_nocheck(m))) {
        struct buf b = {0};
        j_value(&b, o, 0);
        out = b_finish(&b);
    } else {
        errno = ENOMEM;
    }
    json_decref(o);
    free(m);
    return out;
}
