/* The admin and metrics HTTP servers and the DPDK telemetry commands (see
 * cv_http.h). Everything here runs on control-plane threads. */
#include "cv_http.h"

#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_telemetry.h>

#include "cv_admin.h"
#include "cv_prom.h"
#include "cv_store.h"

#define MAX_BODY   65536
#define HEADER_MEM 32768

struct cv_http {
    struct MHD_Daemon *admin, *metrics;
    struct cv_server *srv;
    struct cv_http_config cfg;
};

void cv_http_config_defaults(struct cv_http_config *c)
{
    memset(c, 0, sizeof *c);
    c->admin_enabled = true;
    c->admin_addr = "0.0.0.0";
    c->admin_port = 8080;
    c->metrics_port = 7000;
    c->metrics_addr = "0.0.0.0";
    c->max_conns = 64;
    c->idle_timeout_s = 10;
    c->cmd_timeout_ms = 5000;
}

/* ---- responses -------------------------------------------------------------- */

/* extra: one more header ("Name: value" split at extra_value), or NULL */
static enum MHD_Result reply_with(struct MHD_Connection *conn, unsigned status, const char *type,
                                  char *body, const char *extra, const char *extra_value)
{
    struct MHD_Response *rs =
        MHD_create_response_from_buffer(body ? strlen(body) : 0, body, MHD_RESPMEM_MUST_FREE);
    if (!rs) {
        free(body);
        return MHD_NO;
    }
    if (type)
        MHD_add_response_header(rs, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(rs, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (status >= 400)
        MHD_add_response_header(rs, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "must-revalidate,no-cache,no-store");
    if (extra)
        MHD_add_response_header(rs, extra, extra_value);
    enum MHD_Result r = MHD_queue_response(conn, status, rs);
    MHD_destroy_response(rs);
    return r;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             char *body)
{
    return reply_with(conn, status, type, body, NULL, NULL);
}

/* {"command": name, "error": text} plus whatever `more` holds (stolen). */
static char *json_body(const char *name, const char *error, json_t *more)
{
    json_t *o = more ? more : json_object();
    json_object_set_new(o, "command", name ? json_string(name) : json_null());
    json_object_set_new(o, "error", error ? json_string(error) : json_null());
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

#define HTML "text/html;charset=iso-8859-1"

/* An error page shaped like Jetty's (ZooKeeper's AdminServer answers bad
 * paths and methods with one). */
static char *html_error(unsigned status, const char *msg, const char *url)
{
    char *s = NULL;
    /* the path is not echoed: it is the client's, and this is HTML */
    (void)url;
    if (asprintf(&s,
                 "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;"
                 "charset=ISO-8859-1\"/>\n<title>Error %u %s</title>\n</head>\n<body><h2>HTTP "
                 "ERROR %u %s</h2>\n</body>\n</html>\n",
                 status, msg, status, msg) < 0)
        return NULL;
    return s;
}

static char *hex64(char *buf, size_t cap, int64_t v)
{
    snprintf(buf, cap, "0x%" PRIx64, (uint64_t)v);
    return buf;
}

/* ---- the admin server ------------------------------------------------------- */

struct req {
    size_t body;
};

static unsigned ctl_needs(const struct cv_admin_command *c)
{
    unsigned w = 0;
    if (c->needs & CV_ADMIN_NEEDS_CONNS)
        w |= CV_CTL_CONNS;
    if (c->needs & CV_ADMIN_NEEDS_SESSIONS)
        w |= CV_CTL_SESSIONS;
    if (c->needs & CV_ADMIN_NEEDS_WATCHES)
        w |= CV_CTL_WATCHES | (strcmp(c->name, "watches_by_path") == 0 ? CV_CTL_WATCHES_BYPATH : 0);
    if (c->needs & CV_ADMIN_NEEDS_EPHEMERALS)
        w |= CV_CTL_EPHEMERALS;
    return w;
}

static const char *leader_host(const struct cv_config *cfg, int64_t id)
{
    for (uint32_t i = 0; i < cfg->nservers; i++)
        if ((int64_t)cfg->servers[i].id == id)
            return cfg->servers[i].host;
    return NULL;
}

static int64_t mono_minus_wall_ms(void)
{
    struct timespec m, w;
    clock_gettime(CLOCK_MONOTONIC, &m);
    clock_gettime(CLOCK_REALTIME, &w);
    return ((int64_t)m.tv_sec - (int64_t)w.tv_sec) * 1000 + (m.tv_nsec - w.tv_nsec) / 1000000;
}

/* *truncated: the sequencer's tables did not fit the mailbox (the lists in
 * the body are cut short; the reply says so in a header and the log). */
static unsigned zk_command(struct cv_http *h, struct MHD_Connection *conn, const char *name,
                           char **body, bool *truncated)
{
    const struct cv_admin_command *c = cv_admin_find(name);
    if (!c) {
        int status = 200;
        *body = cv_admin_render_unknown(name, &status);
        return (unsigned)status;
    }
    struct cv_server *srv = h->srv;
    struct cv_ctl_box *box = srv->ctl;
    struct cv_metrics_read *r = malloc(sizeof *r);
    if (!r)
        return 500;
    unsigned what = ctl_needs(c);
    unsigned status = 200;
    cv_ctl_lock(box);
    if (what && cv_ctl_call(box, what, h->cfg.cmd_timeout_ms)) {
        cv_ctl_unlock(box);
        free(r);
        *body = json_body(c->name, "the sequencer did not answer in time", NULL);
        return 503;
    }
    cv_server_read(srv, r);
    *truncated = what && box->truncated;
    struct cv_fourlw_view v;
    cv_server_view(srv, r, &v);
    if (what & CV_CTL_CONNS) {
        v.conns = (const struct cv_fourlw_conn *)(box->buf + box->conns_off);
        v.nconns = box->nconns;
        v.num_connections = 0;
    }
    if (what & CV_CTL_SESSIONS) {
        v.sessions = (const struct cv_fourlw_session *)(box->buf + box->sessions_off);
        v.nsessions = box->nsessions;
    }
    v.walk_watches = (what & CV_CTL_WATCHES) ? cv_ctl_walk_watches : NULL;
    v.walk_ephemerals = (what & CV_CTL_EPHEMERALS) ? cv_ctl_walk_ephemerals : NULL;
    v.walk_ctx = box;
    if (strcmp(c->name, "configuration") == 0 || strcmp(c->name, "dirs") == 0)
        cv_server_dir_sizes(srv, &v);
    struct cv_admin_extra x;
    memset(&x, 0, sizeof x);
    x.server_id = cv_config_distributed(srv->cfg) ? srv->cfg->my_id : 0;
    x.is_leader = v.mode == CV_FOURLW_LEADER;
    x.leader_id = r->v[CV_M_LEADER_ID];
    x.leader_ip = x.leader_id > 0 ? leader_host(srv->cfg, x.leader_id) : NULL;
    x.last_snapshot_zxid = r->v[CV_M_SNAPSHOT_ZXID];
    x.last_snapshot_time_ms = r->v[CV_M_SNAPSHOT_TIME_MS] > 0 ? r->v[CV_M_SNAPSHOT_TIME_MS] : -1;
    x.trace_mask_arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "traceMask");
    x.clock_offset_ms = mono_minus_wall_ms();
    x.fsync_threshold_exceed_count = r->v[CV_M_FSYNC_SLOW];
    unsigned actions = 0;
    *body = cv_admin_render(c->name, &v, &x, &actions);
    unsigned reset = 0;
    if (actions & CV_FOURLW_RESET_CONN_STATS)
        reset |= CV_CTL_RESET_CONNS;
    if (actions & CV_FOURLW_RESET_SERVER_STATS)
        reset |= CV_CTL_RESET_STATS;
    if (reset && cv_ctl_call(box, reset, h->cfg.cmd_timeout_ms))
        status = 503;
    cv_ctl_unlock(box);
    free(r);
    if (!*body)
        return 500;
    return status;
}

static unsigned snapshot_command(struct cv_http *h, char **body)
{
    struct cv_ctl_box *box = h->srv->ctl;
    cv_ctl_lock(box);
    int rc = cv_ctl_call(box, CV_CTL_SNAPSHOT, h->cfg.cmd_timeout_ms);
    int src = box->snapshot_rc;
    int64_t zxid = box->zxid;
    cv_ctl_unlock(box);
    if (rc) {
        *body = json_body("snapshot", "the sequencer did not answer in time", NULL);
        return 503;
    }
    char z[24];
    json_t *o = json_object();
    json_object_set_new(o, "zxid", json_string(hex64(z, sizeof z, zxid)));
    json_object_set_new(o, "started", json_boolean(src == 0));
    if (src)
        json_object_set_new(
            o, "reason",
            json_string(src == -EALREADY ? "a snapshot is being written already" : strerror(-src)));
    *body = json_body("snapshot", NULL, o);
    return 200;
}

static unsigned check_command(struct cv_http *h, char **body)
{
    struct cv_server *srv = h->srv;
    struct cv_ctl_box *box = srv->ctl;
    cv_ctl_lock(box);
    int rc = cv_ctl_call(box, CV_CTL_CHECK, h->cfg.cmd_timeout_ms);
    int tree_rc = box->check_rc;
    char tree[sizeof box->check_msg];
    memcpy(tree, box->check_msg, sizeof tree);
    uint64_t digest = box->digest;
    int64_t zxid = box->zxid, nodes = box->node_count;
    cv_ctl_unlock(box);
    if (rc) {
        *body = json_body("check_data", "the sequencer did not answer in time", NULL);
        return 503;
    }
    /* The data directory, read here (off the lcores) while the server runs:
     * a batch being written may show as damage at the log's tail, which
     * start-up repairs and cv_store_check does not count as an error. */
    char log[CV_CONFIG_PATH_MAX + 32], snap[CV_CONFIG_PATH_MAX + 32];
    cv_store_paths(srv->cfg->data_dir, srv->cfg->data_log_dir, log, snap, sizeof log);
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    int store_rc = f ? cv_store_check(log, snap, f) : -ENOMEM;
    if (f)
        fclose(f);
    char z[24], d[24];
    snprintf(d, sizeof d, "0x%016" PRIx64, digest);
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_boolean(tree_rc == 0 && store_rc == 0));
    json_object_set_new(o, "zxid", json_string(hex64(z, sizeof z, zxid)));
    json_object_set_new(o, "digest", json_string(d));
    json_object_set_new(o, "node_count", json_integer(nodes));
    json_object_set_new(o, "tree", json_string(tree));
    json_object_set_new(o, "storage", json_string(text ? text : "cannot check"));
    free(text);
    *body = json_body("check_data", NULL, o);
    return 200;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

/* libmicrohttpd calls a handler first with the headers, then once per piece
 * of body, then once more: true (and *rq) on that last call. The body is
 * counted, not kept (no command takes one). */
static bool request_complete(void **con_cls, size_t *upload_size, struct req **rq)
{
    *rq = *con_cls;
    if (!*rq) {
        *con_cls = calloc(1, sizeof **rq);
        return false;
    }
    if (*upload_size) {
        (*rq)->body += *upload_size;
        *upload_size = 0;
        return false;
    }
    return true;
}

/* A body this much over MAX_BODY is not read to its end: the connection
 * is closed (below it, the whole body is read and 413 answered). */
#define MAX_BODY_READ (16 * MAX_BODY)

static enum MHD_Result admin_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **con_cls)
{
    struct cv_http *h = cls;
    (void)version, (void)upload;
    struct req *rq;
    if (!request_complete(con_cls, upload_size, &rq))
        return *con_cls && ((struct req *)*con_cls)->body <= MAX_BODY_READ ? MHD_YES : MHD_NO;
    if (rq->body > MAX_BODY)
        return reply(conn, MHD_HTTP_CONTENT_TOO_LARGE, "application/json",
                     json_body(NULL, "request body too large", NULL));
    bool own = strcmp(url, "/commands/snapshot") == 0 || strcmp(url, "/commands/check_data") == 0;
    /* As ZooKeeper's servlet: GET (and HEAD) only; corvid's own commands
     * also take POST, and snapshot (it writes one) not HEAD. */
    bool head = strcmp(method, "HEAD") == 0;
    if ((strcmp(method, "GET") && !head && !(own && !strcmp(method, "POST"))) ||
        (head && strcmp(url, "/commands/snapshot") == 0))
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, HTML,
                     html_error(405, "HTTP method not supported by this URL", url));
    if (strcmp(url, "/commands") == 0 || strcmp(url, "/commands/") == 0)
        return reply(conn, 200, NULL, cv_admin_render_index());
    if (strncmp(url, "/commands/", 10) != 0)
        return reply(conn, MHD_HTTP_NOT_FOUND, HTML, html_error(404, "Not Found", url));
    const char *name = url + 10;
    char *body = NULL;
    unsigned status;
    bool truncated = false;
    if (strcmp(name, "snapshot") == 0)
        status = snapshot_command(h, &body);
    else if (strcmp(name, "check_data") == 0)
        status = check_command(h, &body);
    else
        status = zk_command(h, conn, name, &body, &truncated);
    if (!body)
        return reply(conn, 500, "application/json", json_body(name, "out of memory", NULL));
    if (truncated)
        fprintf(stderr,
                "corvid: admin: %s: the sequencer's tables exceed the mailbox; the "
                "answer is cut short\n",
                name);
    return reply_with(conn, status, "application/json", body,
                      truncated ? "X-Corvid-Truncated" : NULL, "true");
}

/* ---- the metrics server ----------------------------------------------------- */

static enum MHD_Result metrics_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct cv_http *h = cls;
    (void)version, (void)upload;
    struct req *rq;
    if (!request_complete(con_cls, upload_size, &rq))
        return *con_cls ? MHD_YES : MHD_NO;
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                     strdup("method not allowed\n"));
    if (strcmp(url, "/metrics") != 0)
        return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain",
                     strdup("not found: Prometheus metrics are at /metrics\n"));
    struct cv_metrics_read *r = malloc(sizeof *r);
    if (!r)
        return MHD_NO;
    cv_server_read(h->srv, r);
    struct cv_prom_info info = {h->srv->version,
                                cv_fourlw_mode_name((enum cv_fourlw_mode)r->v[CV_M_MODE]),
                                cv_config_distributed(h->srv->cfg) ? h->srv->cfg->my_id : 0};
    char *out = NULL;
    for (size_t cap = 128 << 10; cap <= (64u << 20); cap *= 2) {
        out = malloc(cap);
        if (!out)
            break;
        if (cv_prom_render(r, &info, out, cap) >= 0)
            break;
        free(out);
        out = NULL;
    }
    free(r);
    if (!out)
        return reply(conn, 500, "text/plain", strdup("cannot render the metrics\n"));
    return reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8", out);
}

/* ---- start and stop ---------------------------------------------------------- */

static int bind_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss, unsigned *flags)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (!addr || !addr[0])
        addr = "0.0.0.0";
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        return 0;
    }
    if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *flags |= MHD_USE_IPv6;
        return 0;
    }
    return -EINVAL;
}

static struct MHD_Daemon *start_one(struct cv_http *h, const char *addr, uint16_t port,
                                    MHD_AccessHandlerCallback cb, char *err, size_t errlen,
                                    const char *what)
{
    struct sockaddr_storage ss;
    /* one event-driven thread per server: no thread per connection (a
     * scrape costs no thread creation; slow clients hold no thread) */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
    if (bind_addr(addr, port, &ss, &flags)) {
        snprintf(err, errlen, "%s: '%s' is not an IP address", what, addr);
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, port, NULL, NULL, cb, h, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_CONNECTION_LIMIT,
        h->cfg.max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->cfg.max_conns / 2,
        MHD_OPTION_CONNECTION_TIMEOUT, h->cfg.idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HEADER_MEM, MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_END);
    if (!d)
        snprintf(err, errlen, "%s: cannot listen on %s:%u (%s)", what, addr, port,
                 strerror(errno ? errno : EADDRINUSE));
    return d;
}

int cv_http_start(struct cv_http **out, const struct cv_http_config *c, struct cv_server *srv,
                  char *err, size_t errlen)
{
    *out = NULL;
    err[0] = 0;
    if (!c->admin_enabled && !c->metrics_port)
        return 0;
    struct cv_http *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->srv = srv;
    h->cfg = *c;
    /* The servers' threads inherit this thread's CPUs: the ones no lcore
     * polls (or all of them when every CPU polls). */
    cpu_set_t old, ctl;
    bool pinned = pthread_getaffinity_np(pthread_self(), sizeof old, &old) == 0;
    cpu_set_t all;
    CPU_ZERO(&all);
    if (c->cpus) {
        memcpy(&all, c->cpus, sizeof all);
    } else {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        for (long i = 0; i < ncpu && i < CPU_SETSIZE; i++)
            CPU_SET((int)i, &all);
    }
    ctl = all;
    for (unsigned i = 0; i < c->nlcores; i++)
        CPU_CLR((int)c->lcores[i], &ctl);
    if (CPU_COUNT(&ctl) == 0)
        ctl = all;
    if (pinned)
        pthread_setaffinity_np(pthread_self(), sizeof ctl, &ctl);
    char e2[256] = "";
    if (c->admin_enabled)
        h->admin =
            start_one(h, c->admin_addr, c->admin_port, admin_cb, err, errlen, "admin.serverPort");
    if (c->metrics_port)
        h->metrics = start_one(h, c->metrics_addr, c->metrics_port, metrics_cb, e2, sizeof e2,
                               "metricsProvider.httpPort");
    if (pinned)
        pthread_setaffinity_np(pthread_self(), sizeof old, &old);
    if (e2[0])
        snprintf(err + strlen(err), errlen - strlen(err), "%s%s", err[0] ? "; " : "", e2);
    if (!h->admin && !h->metrics) {
        free(h);
        return -EADDRINUSE;
    }
    *out = h;
    return 0;
}

bool cv_http_admin_up(const struct cv_http *h)
{
    return h && h->admin;
}

bool cv_http_metrics_up(const struct cv_http *h)
{
    return h && h->metrics;
}

void cv_http_stop(struct cv_http *h)
{
    if (!h)
        return;
    if (h->admin)
        MHD_stop_daemon(h->admin);
    if (h->metrics)
        MHD_stop_daemon(h->metrics);
    free(h);
}

/* ---- DPDK telemetry ---------------------------------------------------------- */

static struct cv_server *tel_srv; /* set once at start-up, before the telemetry thread asks */

static struct cv_metrics_read *tel_read(struct rte_tel_data *d);

static void tel_value(struct rte_tel_data *d, const char *name, int64_t v, bool is_signed)
{
    if (is_signed && v < 0)
        rte_tel_data_add_dict_int(d, name, v < INT32_MIN ? INT32_MIN : (int)v);
    else
        rte_tel_data_add_dict_u64(d, name, (uint64_t)v);
}

static int tel_metrics(const char *cmd, const char *params, struct rte_tel_data *d)
{
    (void)cmd, (void)params;
    struct cv_metrics_read *r = tel_read(d);
    if (!r)
        return -ENOMEM;
    for (int id = 0; id < CV_M_COUNT; id++)
        tel_value(d, cv_metric_defs[id].name, r->v[id], cv_metric_defs[id].flags & CV_MF_SIGNED);
    free(r);
    return 0;
}

/* The registry for a telemetry answer (d started as a dict), or NULL. */
static struct cv_metrics_read *tel_read(struct rte_tel_data *d)
{
    struct cv_metrics_read *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    cv_server_read(tel_srv, r);
    rte_tel_data_start_dict(d);
    return r;
}

static int tel_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
    (void)cmd, (void)params;
    struct cv_metrics_read *r = tel_read(d);
    if (!r)
        return -ENOMEM;
    for (unsigned i = 0; i < r->nslots; i++) {
        struct rte_tel_data *c = rte_tel_data_alloc();
        if (!c)
            break;
        rte_tel_data_start_dict(c);
        for (int id = 0; id < CV_M_COUNT; id++)
            if (cv_metric_defs[id].flags & CV_MF_PER_LCORE)
                rte_tel_data_add_dict_u64(c, cv_metric_defs[id].name, (uint64_t)r->slot[i].v[id]);
        char key[16];
        snprintf(key, sizeof key, "%u", r->slot[i].lcore);
        rte_tel_data_add_dict_container(d, key, c, 0);
    }
    free(r);
    return 0;
}

static int tel_latency(const char *cmd, const char *params, struct rte_tel_data *d)
{
    (void)cmd, (void)params;
    struct cv_metrics_read *r = tel_read(d);
    if (!r)
        return -ENOMEM;
    for (int id = 0; id < CV_H_COUNT; id++) {
        struct rte_tel_data *c = rte_tel_data_alloc();
        if (!c)
            break;
        /* bucket b: samples of [2^b, 2^(b+1)) microseconds */
        rte_tel_data_start_array(c, RTE_TEL_U64_VAL);
        for (int b = 0; b < CV_HIST_BUCKETS; b++)
            rte_tel_data_add_array_u64(c, r->h[id].bucket[b]);
        rte_tel_data_add_dict_container(d, cv_hist_defs[id].name, c, 0);
    }
    free(r);
    return 0;
}

int cv_http_register_telemetry(struct cv_server *srv)
{
    tel_srv = srv;
    int rc = rte_telemetry_register_cmd("/corvid/metrics", tel_metrics,
                                        "corvid's counters and gauges (the registry's sums)");
    if (!rc)
        rc = rte_telemetry_register_cmd("/corvid/lcores", tel_lcores,
                                        "corvid's per-lcore counters, keyed by lcore id");
    if (!rc)
        rc = rte_telemetry_register_cmd(
            "/corvid/latency", tel_latency,
            "corvid's latency histograms: counts per bucket b of [2^b, 2^(b+1)) us");
    return rc;
}
