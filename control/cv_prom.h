/*
 * cv_prom — the Prometheus text exposition (format 0.0.4) of the cv_metrics
 * registry: what the metrics HTTP server answers on /metrics.
 *
 * Contract
 * - Pure rendering: no I/O, no clocks, no global state, no allocation. The
 *   caller takes a snapshot with cv_metrics_read and renders it into a
 *   buffer it owns; if the buffer is too small the render fails with
 *   -ENOBUFS and the caller retries with a larger one (the output of the
 *   current registry is a few tens of KiB with 17 slots).
 * - Families, in order: every metric of cv_metric_defs (CV_METRICS order),
 *   every histogram of cv_hist_defs, then corvid_info. Each family has
 *   "# HELP" (escaped: backslash, newline) and "# TYPE" lines.
 * - Names are the registry's names, unchanged: ZooKeeper-named metrics keep
 *   ZooKeeper's names (a counter like looking_count is "# TYPE looking_count
 *   counter" with sample "looking_count", as ZooKeeper 3.8's
 *   PrometheusMetricsProvider, simpleclient 0.9, exports it), so ZooKeeper's
 *   Grafana dashboards work.
 * - Types: the registry's kind, except for the ZooKeeper names that
 *   ZooKeeper itself registers as gauges though corvid counts them
 *   (packets_received, packets_sent, auth_failed_count: ZooKeeperServer
 *   registerGauge's them): they are exported as gauges, ZooKeeper's type
 *   (cv_prom_type).
 * - Values: the stored value times the metric's scale; CV_MF_SIGNED metrics
 *   as int64, the others as uint64. Integral values print as integers
 *   ("42", "-1"), others in the shortest form that reads back exactly.
 * - CV_MF_PER_LCORE metrics: one sample per slot in use, labelled
 *   lcore="<the slot's lcore id>", no unlabelled total (sum() in PromQL).
 * - Histograms: buckets le = 2^(b+1) us in seconds for b = 0 ..
 *   CV_HIST_BUCKETS-2, cumulative, every bucket every time (stable series),
 *   then le="+Inf". +Inf and _count are the sum of the buckets printed, not
 *   the histogram's own count (the buckets are read without a lock), so
 *   each scrape is self-consistent. _sum is sum_us in seconds.
 * - corvid_info{version, server_state, server_id} 1, a gauge; label values
 *   escaped (backslash, double quote, newline); NULL strings print as "".
 *   Omitted when info is NULL.
 */
#ifndef CV_PROM_H
#define CV_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "cv_metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cv_prom_info {
    const char *version;
    const char *server_state; /* "standalone", "leader", "follower", "observer", ... */
    int64_t server_id;
};

/* Render r as Prometheus text format 0.0.4 into out (cap bytes, NUL-terminated).
 * Returns the length, or -ENOBUFS if cap is too small (caller retries larger). */
int cv_prom_render(const struct cv_metrics_read *r, const struct cv_prom_info *info, char *out,
                   size_t cap);

/* The Prometheus type ("counter" or "gauge") metric id is exported as. */
const char *cv_prom_type(enum cv_metric_id id);

/* s escaped as the format escapes a HELP text (label == 0: backslash and
 * newline) or a label value (label != 0: double quote too), into out (cap
 * bytes, NUL-terminated). Returns the length, or -ENOBUFS. */
int cv_prom_escape(const char *s, int label, char *out, size_t cap);

/* The Content-Type of the rendering, for the HTTP server. */
#define CV_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#ifdef __cplusplus
}
#endif
#endif /* CV_PROM_H */
