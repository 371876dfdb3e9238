/*
 * cv_prom — Prometheus text format 0.0.4 of the cv_metrics registry. See cv_prom.h.
 */
#include "cv_prom.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h> /* isnan, isinf: macros, no libm */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(CV_HIST_BUCKETS >= 2 && CV_HIST_BUCKETS <= 63, "bucket bounds are 2 << b");

/*
 * ZooKeeper names corvid counts as counters but ZooKeeper 3.8 exports as
 * gauges (ZooKeeperServer.registerMetrics: rootContext.registerGauge), so
 * their Prometheus type here is ZooKeeper's. tests/control/gen_metrics_table.py
 * reads this list (keep one quoted name per entry).
 */
static const char *const cv_prom_zk_gauges[] = {
    "packets_received",
    "packets_sent",
    "auth_failed_count",
};

const char *cv_prom_type(enum cv_metric_id id)
{
    const struct cv_metric_def *d = &cv_metric_defs[id];
    if (d->kind == CV_METRIC_GAUGE)
        return "gauge";
    for (size_t i = 0; i < sizeof cv_prom_zk_gauges / sizeof cv_prom_zk_gauges[0]; i++)
        if (strcmp(d->name, cv_prom_zk_gauges[i]) == 0)
            return "gauge";
    return "counter";
}

/* ---- the output buffer ----------------------------------------------------- */

struct out {
    char *p;
    size_t cap, len; /* len may run past cap: then the render fails */
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->p && o->len < o->cap && n < o->cap - o->len)
        memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) putf(struct out *o, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1; /* the formats here are numbers: never */
    put(o, buf, (size_t)n);
}

/* HELP text: backslash and newline escaped. Label values: double quote too. */
static void put_escaped(struct out *o, const char *s, int label)
{
    if (!s)
        return;
    for (; *s; s++) {
        if (*s == '\\')
            puts_(o, "\\\\");
        else if (*s == '\n')
            puts_(o, "\\n");
        else if (*s == '"' && label)
            puts_(o, "\\\"");
        else
            put(o, s, 1);
    }
}

/* A double as Prometheus reads it: integers without exponent, NaN / +Inf /
 * -Inf spelled as the format does, others in the shortest form that reads
 * back as the same double (at most 17 significant digits). */
static void put_double(struct out *o, double v)
{
    if (isnan(v)) {
        puts_(o, "NaN");
        return;
    }
    if (isinf(v)) {
        puts_(o, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v > -9007199254740992.0 && v < 9007199254740992.0 /* 2^53: integers exact */ &&
        v == (double)(long long)v) {
        putf(o, "%lld", (long long)v);
        return;
    }
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v)
            break;
    }
    puts_(o, buf);
}

/* The exported value of metric id whose stored value is raw. */
static void put_value(struct out *o, enum cv_metric_id id, int64_t raw)
{
    const struct cv_metric_def *d = &cv_metric_defs[id];
    int sgn = (d->flags & CV_MF_SIGNED) != 0;
    if (d->scale == 1.0) {
        if (sgn)
            putf(o, "%" PRId64, raw);
        else
            putf(o, "%" PRIu64, (uint64_t)raw);
        return;
    }
    double v = sgn ? (double)raw : (double)(uint64_t)raw;
    /* 1e-3 and 1e-6 are not exact in binary: divide by the exact 1000 or
     * 1000000 instead, so 1795483119225 ms prints as 1795483119.225 */
    double inv = (double)(int64_t)(1.0 / d->scale + 0.5);
    put_double(o, d->scale < 1.0 && inv * d->scale > 0.999999 && inv * d->scale < 1.000001
                      ? v / inv
                      : v * d->scale);
}

static void put_header(struct out *o, const char *name, const char *help, const char *type)
{
    puts_(o, "# HELP ");
    puts_(o, name);
    puts_(o, " ");
    put_escaped(o, help, 0);
    puts_(o, "\n# TYPE ");
    puts_(o, name);
    puts_(o, " ");
    puts_(o, type);
    puts_(o, "\n");
}

static void put_metric(struct out *o, const struct cv_metrics_read *r, enum cv_metric_id id)
{
    const struct cv_metric_def *d = &cv_metric_defs[id];
    put_header(o, d->name, d->help, cv_prom_type(id));
    if (!(d->flags & CV_MF_PER_LCORE)) {
        puts_(o, d->name);
        puts_(o, " ");
        put_value(o, id, r->v[id]);
        puts_(o, "\n");
        return;
    }
    unsigned n = r->nslots < CV_METRICS_SLOTS ? r->nslots : CV_METRICS_SLOTS;
    for (unsigned i = 0; i < n; i++) {
        puts_(o, d->name);
        putf(o, "{lcore=\"%u\"} ", r->slot[i].lcore);
        put_value(o, id, r->slot[i].v[id]);
        puts_(o, "\n");
    }
}

static void put_hist(struct out *o, const struct cv_metrics_read *r, enum cv_hist_id id)
{
    const struct cv_hist_def *d = &cv_hist_defs[id];
    const struct cv_hist *h = &r->h[id];
    put_header(o, d->name, d->help, "histogram");
    uint64_t cum = 0;
    for (unsigned b = 0; b < CV_HIST_BUCKETS; b++) {
        cum += h->bucket[b];
        if (b == CV_HIST_BUCKETS - 1)
            break; /* the last bucket has no upper bound: +Inf */
        puts_(o, d->name);
        puts_(o, "_bucket{le=\"");
        /* 2^(b+1) us in seconds: both operands exact, the quotient rounded once */
        put_double(o, (double)(UINT64_C(2) << b) / 1e6);
        putf(o, "\"} %" PRIu64 "\n", cum);
    }
    puts_(o, d->name);
    putf(o, "_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
    puts_(o, d->name);
    puts_(o, "_sum ");
    put_double(o, (double)h->sum_us / 1e6);
    puts_(o, "\n");
    puts_(o, d->name);
    putf(o, "_count %" PRIu64 "\n", cum);
}

static void put_info(struct out *o, const struct cv_prom_info *info)
{
    put_header(o, "corvid_info", "corvid's version, server state and server id (value 1)", "gauge");
    puts_(o, "corvid_info{version=\"");
    put_escaped(o, info->version, 1);
    puts_(o, "\",server_state=\"");
    put_escaped(o, info->server_state, 1);
    putf(o, "\",server_id=\"%" PRId64 "\"} 1\n", info->server_id);
}

static int finish(struct out *o)
{
    if (!o->p || o->len >= o->cap || o->len > INT_MAX) {
        if (o->p && o->cap)
            o->p[0] = '\0';
        return -ENOBUFS;
    }
    o->p[o->len] = '\0';
    return (int)o->len;
}

int cv_prom_escape(const char *s, int label, char *out, size_t cap)
{
    struct out o = {out, cap, 0};
    put_escaped(&o, s, label);
    return finish(&o);
}

int cv_prom_render(const struct cv_metrics_read *r, const struct cv_prom_info *info, char *out,
                   size_t cap)
{
    struct out o = {out, cap, 0};
    for (unsigned id = 0; id < CV_M_COUNT; id++)
        put_metric(&o, r, (enum cv_metric_id)id);
    for (unsigned id = 0; id < CV_H_COUNT; id++)
        put_hist(&o, r, (enum cv_hist_id)id);
    if (info)
        put_info(&o, info);
    return finish(&o);
}
