/*
 * corvidctl — the operator CLI over corvid's admin HTTP endpoint
 * (ZooKeeper 3.8's AdminServer API, /commands/<name>). The HTTP client and
 * the formatting live in cv_ctl.c; this file is argument handling only.
 */
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv_ctl.h"

#define MAX_HOSTS 64

static const char usage_text[] =
    "usage: corvidctl [--host H[:P]]... [--port P] [--json] [--timeout SECONDS] COMMAND\n"
    "\n"
    "Query a corvid (or Apache ZooKeeper 3.8) server's admin HTTP endpoint,\n"
    "http://H:P/commands/<name>.\n"
    "\n"
    "Commands:\n"
    "  status        one line per member: mode, zxid, connections, outstanding\n"
    "                requests, latency avg/max, node count (from /commands/monitor,\n"
    "                the zxid from /commands/server_stats); unreachable or failing\n"
    "                members are printed as such, and make the exit status 1\n"
    "  mntr          /commands/monitor as aligned \"key value\" lines\n"
    "  cons          /commands/connections as a table\n"
    "  wchp          /commands/watches_by_path: each path, then its session ids\n"
    "  dump          /commands/dump: each session, its expiry, its ephemeral nodes\n"
    "  snapshot      POST /commands/snapshot: ask the server to write a snapshot now;\n"
    "                exit status 1 if the server did not start one\n"
    "  check-data    /commands/check_data: check the data tree's invariants and the\n"
    "                data directory; with several hosts, compare the digests of the\n"
    "                members that answered at the same zxid. Exit status 1 if any\n"
    "                member did not answer, is not ok, or digests disagree\n"
    "  raw NAME      print /commands/NAME as JSON (any admin command; NAME is\n"
    "                letters, digits, '_' and '-')\n"
    "  help          print this text\n"
    "\n"
    "Options:\n"
    "  --host H[:P]       server to ask (default 127.0.0.1). IPv6: [addr] or\n"
    "                     [addr]:P. Repeat it, or give a comma-separated list, to ask\n"
    "                     several members (status and check-data only)\n"
    "  --port P           admin port for hosts given without one (default 8080)\n"
    "  --json             print the reply as indented JSON instead of text; with\n"
    "                     several hosts, one object keyed by host:port, where a member\n"
    "                     that failed is {\"error\": \"...\"} (status prints the\n"
    "                     /commands/monitor replies)\n"
    "  --timeout SECONDS  limit for each request: connect, send and receive\n"
    "                     (default 5; fractions allowed; host name lookup is not\n"
    "                     covered). status and check-data ask members one by one\n"
    "  -h, --help         print this text\n"
    "\n"
    "Exit status: 0 success; 1 failure (connection refused, timeout, HTTP status\n"
    "other than 200, malformed JSON, a reply whose \"error\" member is set, or a\n"
    "negative result as described above); 2 usage error.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "corvidctl: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'corvidctl --help'.\n");
    return 2;
}

struct target {
    char host[256];
    char port[8];
};

static int finish(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "corvidctl: error writing to standard output\n");
        return 1;
    }
    return rc;
}

/* One reply: error line or formatted output. */
static int single(const struct target *t, const char *method, const char *command, bool json,
                  int timeout_ms, int (*fmt)(const char *, size_t, FILE *, char *, size_t))
{
    struct cv_ctl_reply r;
    char err[CV_CTL_ERRLEN];
    int rc = 0;
    if (cv_ctl_get(t->host, t->port, method, command, timeout_ms, &r) != CV_CTL_OK) {
        fprintf(stderr, "corvidctl: %s: %s\n", r.label, r.error);
        return 1;
    }
    if (json) {
        /* snapshot's verdict still sets the exit status */
        if (fmt == cv_ctl_fmt_snapshot &&
            cv_ctl_fmt_snapshot(r.body, r.body_len, NULL, err, sizeof err) != 0)
            rc = 1;
        if (cv_ctl_print_json(r.body, r.body_len, stdout, err, sizeof err) != 0) {
            fprintf(stderr, "corvidctl: %s: %s\n", r.label, err);
            rc = 1;
        }
    } else {
        int f = fmt(r.body, r.body_len, stdout, err, sizeof err);
        if (f < 0) {
            fprintf(stderr, "corvidctl: %s: %s\n", r.label, err);
            rc = 1;
        } else if (f > 0) {
            rc = 1;
        }
    }
    cv_ctl_reply_free(&r);
    return finish(rc);
}

static int multi(const struct target *t, size_t n, const char *command, bool json, int timeout_ms)
{
    bool status = strcmp(command, "status") == 0;
    struct cv_ctl_reply *r = calloc(n, sizeof *r), *s = NULL;
    if (r == NULL || (status && (s = calloc(n, sizeof *s)) == NULL)) {
        fprintf(stderr, "corvidctl: out of memory\n");
        free(r);
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        cv_ctl_get(t[i].host, t[i].port, "GET", status ? "monitor" : "check_data", timeout_ms,
                   &r[i]);
        if (status && !json && r[i].result == CV_CTL_OK)
            cv_ctl_get(t[i].host, t[i].port, "GET", "server_stats", timeout_ms, &s[i]);
    }
    char err[CV_CTL_ERRLEN];
    if (n == 1 && r[0].result != CV_CTL_OK) {
        /* one member: the general rule, a one-line message on stderr */
        fprintf(stderr, "corvidctl: %s: %s\n", r[0].label, r[0].error);
        rc = 1;
    } else if (json) {
        if (status) {
            for (size_t i = 0; i < n; i++)
                if (r[i].result != CV_CTL_OK)
                    rc = 1;
        } else {
            rc = cv_ctl_fmt_check_data(r, n, NULL);
        }
        int prc = n == 1 ? cv_ctl_print_json(r[0].body, r[0].body_len, stdout, err, sizeof err)
                         : cv_ctl_print_json_multi(r, n, stdout, err, sizeof err);
        if (prc != 0) {
            fprintf(stderr, "corvidctl: %s\n", err);
            rc = 1;
        }
    } else if (status) {
        rc = cv_ctl_fmt_status(r, s, n, stdout) != 0;
    } else {
        rc = cv_ctl_fmt_check_data(r, n, stdout);
    }
    for (size_t i = 0; i < n; i++) {
        cv_ctl_reply_free(&r[i]);
        if (s)
            cv_ctl_reply_free(&s[i]);
    }
    free(r);
    free(s);
    return finish(rc);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'H'}, {"port", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},       {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    char hostspecs[MAX_HOSTS][300];
    size_t nspecs = 0;
    const char *port = "8080";
    bool json = false;
    double timeout_s = 5.0;
    int c, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': {
            /* a comma-separated list; empty entries are usage errors */
            const char *p = optarg;
            for (;;) {
                size_t l = strcspn(p, ",");
                if (l == 0)
                    return usage_error("empty host in --host \"%s\"", optarg);
                if (nspecs == MAX_HOSTS)
                    return usage_error("more than 64 hosts%s", "");
                if (l >= sizeof hostspecs[0])
                    return usage_error("host name too long in --host \"%s\"", optarg);
                memcpy(hostspecs[nspecs], p, l);
                hostspecs[nspecs++][l] = '\0';
                if (p[l] == '\0')
                    break;
                p += l + 1;
            }
            break;
        }
        case 'p': port = optarg; break;
        case 'j': json = true; break;
        case 't': {
            char *end = NULL;
            timeout_s = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !isfinite(timeout_s) || timeout_s <= 0 ||
                timeout_s > 86400)
                return usage_error("bad --timeout \"%s\" (expected seconds, > 0, <= 86400)",
                                   optarg);
            break;
        }
        case 'h': fputs(usage_text, stdout); return finish(0);
        case ':': return usage_error("option %s needs an argument", argv[optind - 1]);
        default: return usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    {
        char e[CV_CTL_ERRLEN], h[256], p[8];
        if (cv_ctl_parse_hostport("x", port, h, sizeof h, p, sizeof p, e, sizeof e) != 0)
            return usage_error("bad --port \"%s\" (expected 1..65535)", port);
    }
    if (optind >= argc)
        return usage_error("no COMMAND given%s", "");
    const char *cmd = argv[optind];
    int nargs = argc - optind - 1;
    const char *raw_name = NULL;
    if (strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return finish(0);
    }
    if (strcmp(cmd, "raw") == 0) {
        if (nargs != 1)
            return usage_error("raw needs exactly one command NAME%s", "");
        raw_name = argv[optind + 1];
        if (raw_name[0] == '\0' ||
            strspn(raw_name, "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(raw_name))
            return usage_error("bad command NAME \"%s\" (letters, digits, '_', '-')", raw_name);
    } else if (nargs != 0) {
        return usage_error("unexpected argument \"%s\"", argv[optind + 1]);
    }

    bool several = strcmp(cmd, "status") == 0 || strcmp(cmd, "check-data") == 0;
    static const struct {
        const char *cmd, *method, *command;
        int (*fmt)(const char *, size_t, FILE *, char *, size_t);
    } table[] = {
        {"mntr", "GET", "monitor", cv_ctl_fmt_mntr},
        {"cons", "GET", "connections", cv_ctl_fmt_cons},
        {"wchp", "GET", "watches_by_path", cv_ctl_fmt_wchp},
        {"dump", "GET", "dump", cv_ctl_fmt_dump},
        {"snapshot", "POST", "snapshot", cv_ctl_fmt_snapshot},
        {"raw", "GET", NULL, NULL},
    };
    int which = -1;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(cmd, table[i].cmd) == 0)
            which = (int)i;
    if (!several && which < 0)
        return usage_error("unknown COMMAND \"%s\"", cmd);
    if (!several && nspecs > 1)
        return usage_error("%s takes one --host (several: status and check-data only)", cmd);

    struct target t[MAX_HOSTS];
    size_t n = nspecs ? nspecs : 1;
    for (size_t i = 0; i < n; i++) {
        char e[CV_CTL_ERRLEN];
        const char *spec = nspecs ? hostspecs[i] : "127.0.0.1";
        if (cv_ctl_parse_hostport(spec, port, t[i].host, sizeof t[i].host, t[i].port,
                                  sizeof t[i].port, e, sizeof e) != 0) {
            fprintf(stderr, "corvidctl: --host \"%s\": %s\nTry 'corvidctl --help'.\n", spec, e);
            return 2;
        }
    }

    double ms = ceil(timeout_s * 1000.0);
    int timeout_ms = ms < 1 ? 1 : (int)ms;
    if (several)
        rc = multi(t, n, cmd, json, timeout_ms);
    else if (raw_name)
        rc = single(&t[0], "GET", raw_name, true, timeout_ms, NULL);
    else
        rc = single(&t[0], table[which].method, table[which].command, json, timeout_ms,
                    table[which].fmt);
    return rc;
}
