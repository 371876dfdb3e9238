/*
 * cv_http — the control plane's HTTP servers, off the dataplane lcores:
 * ZooKeeper 3.8's AdminServer API (admin.serverPort, GET/POST
 * /commands[/<name>]) and Prometheus' /metrics (metricsProvider.httpPort).
 *
 * Contract
 * - libmicrohttpd, one event-driven (epoll) thread per server, started on
 *   the process' CPUs the lcores do not use (all of them when every CPU
 *   runs an lcore)
 *   so an admin request never runs on a polling core's CPU unless it must.
 *   A command that waits for the sequencer (the tables, snapshot,
 *   check_data) holds its server's thread for that long: /metrics has its
 *   own server and thread.
 * - Figures come from the counter registry (cv_metrics_read); the tables
 *   (connections, sessions, watches, ephemerals) and actions (snapshot now,
 *   check the tree, counter resets) go through the sequencer's mailbox
 *   (struct cv_ctl_box), bounded by cmd_timeout_ms (HTTP 503 when the
 *   sequencer does not answer in time).
 * - Bad requests get HTTP errors and touch nothing else, as ZooKeeper's
 *   AdminServer answers them where it has an answer: a path outside
 *   /commands: 404 (an HTML error page); a method other than GET/HEAD: 405
 *   (corvid's own commands also take POST); an unknown command: 200 with
 *   ZooKeeper's "Unknown command" JSON. Beyond ZooKeeper: request headers
 *   above 32 KiB: 431 (libmicrohttpd); a request body above 64 KiB: 413; a
 *   client that does not finish its request within idle_timeout_s seconds
 *   (slowloris, admin.idleTimeout): closed. At most max_conns connections
 *   per server (per client IP: max_conns / 2); more are refused. /metrics
 *   answers GET/HEAD /metrics only (404, 405 otherwise).
 * - corvid's own commands beside ZooKeeper's: snapshot (write a snapshot
 *   now) and check_data (the tree's invariants and digest, the data
 *   directory's check); see docs/operations.md.
 * - DPDK telemetry: cv_http_register_telemetry adds the /corvid/... commands to
 *   DPDK's telemetry socket (dpdk-telemetry.py), served from the registry.
 */
#ifndef CV_HTTP_H
#define CV_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cv_server.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cv_http_config {
    bool admin_enabled;
    const char *admin_addr; /* IPv4/IPv6 literal; "" or "0.0.0.0": any */
    uint16_t admin_port;
    uint16_t metrics_port; /* 0: no /metrics server */
    const char *metrics_addr;
    unsigned max_conns;      /* per server */
    unsigned idle_timeout_s; /* slowloris bound */
    int cmd_timeout_ms;      /* how long a command waits for the sequencer */
    const unsigned *lcores;  /* the CPUs the reactors run on */
    unsigned nlcores;
    const void *cpus; /* cpu_set_t *: the process' CPUs before EAL pinned its
                         threads (NULL: every online CPU) */
};

void cv_http_config_defaults(struct cv_http_config *c);

struct cv_http;

/* Start the servers. 0, or -errno with err set; a server that cannot bind
 * is reported in err and the other still starts (*out is set whenever
 * anything started). */
int cv_http_start(struct cv_http **out, const struct cv_http_config *c, struct cv_server *srv,
                  char *err, size_t errlen);
void cv_http_stop(struct cv_http *h);
/* Which of the two servers listen (h may be NULL). */
bool cv_http_admin_up(const struct cv_http *h);
bool cv_http_metrics_up(const struct cv_http *h);

/* Register corvid's DPDK telemetry commands (/corvid/metrics, /corvid/lcores and
 * /corvid/latency); they read srv's registry. 0 or -errno. */
int cv_http_register_telemetry(struct cv_server *srv);

#ifdef __cplusplus
}
#endif
#endif /* CV_HTTP_H */
