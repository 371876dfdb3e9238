/*
 * libFuzzer target for the control plane's decoders of untrusted text:
 * corvidctl's HTTP response head parser (cv_http_parse_head) and its JSON
 * readers (cv_ctl_fmt_*: whatever a server, or something posing as one,
 * answers), the host:port parser, and the admin server's command lookup and
 * Long.parseLong (cv_admin_find, cv_admin_parse_long: the request path and
 * query the HTTP server hands over).
 *
 * Input: [mode][bytes...]. Properties beyond "no crash, no read outside the
 * buffer" (ASan/UBSan; every input is an exact-size heap copy): a head that
 * parses has a 3-digit status and a NUL-terminated printable reason, and a
 * Content-Length >= -1; a formatter returns what cv_ctl.h says it may (0;
 * -1 with a message in err and nothing printed; snapshot also 1, the server
 * declined); a parsed host:port has a non-empty host and a port in
 * 1..65535; cv_admin_find returns a command whose name or alias is the input.
 *
 * Built with -DCV_FUZZ_SEED_MAIN it is instead a seed generator:
 * `fuzz_admin_decode_seed DIR` writes the recorded ZooKeeper AdminServer
 * bodies (tests/control/admin_golden) under each JSON mode, and HTTP heads.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv_admin.h"
#include "cv_ctl.h"

enum { M_HEAD, M_MNTR, M_CONS, M_WCHP, M_DUMP, M_SNAPSHOT, M_JSON, M_HOSTPORT, M_ADMIN, M_COUNT };

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "property violated: %s (%s:%d)\n", #c, __FILE__, __LINE__);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void formatter(int mode, const char *p, size_t n)
{
    char *text = NULL;
    size_t tlen = 0;
    FILE *out = open_memstream(&text, &tlen);
    if (!out)
        return;
    char err[256] = "";
    int rc;
    switch (mode) {
    case M_MNTR: rc = cv_ctl_fmt_mntr(p, n, out, err, sizeof err); break;
    case M_CONS: rc = cv_ctl_fmt_cons(p, n, out, err, sizeof err); break;
    case M_WCHP: rc = cv_ctl_fmt_wchp(p, n, out, err, sizeof err); break;
    case M_DUMP: rc = cv_ctl_fmt_dump(p, n, out, err, sizeof err); break;
    case M_SNAPSHOT: rc = cv_ctl_fmt_snapshot(p, n, out, err, sizeof err); break;
    default: rc = cv_ctl_print_json(p, n, out, err, sizeof err); break;
    }
    fclose(out);
    /* the contracts in cv_ctl.h: 0 printed; -1 an error said in err and
     * nothing printed; snapshot also 1, the server declined (printed) */
    CHECK(rc == 0 || rc == -1 || (mode == M_SNAPSHOT && rc == 1));
    if (rc == -1)
        CHECK(err[0] != 0 && tlen == 0);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % M_COUNT;
    size_t n = size - 1;
    char *p = malloc(n + 1); /* exact size plus a NUL the decoders must not need */
    if (!p)
        return 0;
    memcpy(p, data + 1, n);
    p[n] = 0;
    switch (mode) {
    case M_HEAD: {
        struct cv_http_response r;
        memset(&r, 0, sizeof r);
        long long cl = -2;
        char err[256] = "";
        char *exact = malloc(n ? n : 1);
        if (!exact)
            break;
        memcpy(exact, p, n);
        if (cv_http_parse_head(exact, n, &r, &cl, err, sizeof err) == CV_HTTP_OK) {
            CHECK(r.status >= 0 && r.status <= 999);
            CHECK(cl >= -1);
            CHECK(memchr(r.reason, 0, sizeof r.reason) != NULL);
            for (const char *c = r.reason; *c; c++)
                CHECK((unsigned char)*c >= 0x20);
        } else {
            CHECK(err[0] != 0);
        }
        free(exact);
        break;
    }
    case M_HOSTPORT: {
        char host[256], port[16], err[256] = "";
        if (cv_ctl_parse_hostport(p, "8080", host, sizeof host, port, sizeof port, err,
                                  sizeof err) == 0) {
            CHECK(host[0] != 0);
            long v = strtol(port, NULL, 10);
            CHECK(v >= 1 && v <= 65535);
        }
        break;
    }
    case M_ADMIN: {
        const struct cv_admin_command *c = cv_admin_find(p);
        if (c) {
            bool named = strcmp(c->name, p) == 0;
            for (int i = 0; i < 3 && c->aliases[i]; i++)
                named |= strcmp(c->aliases[i], p) == 0;
            CHECK(named);
        }
        int64_t v;
        (void)cv_admin_parse_long(p, &v);
        int status = 0;
        free(cv_admin_render_unknown(p, &status));
        break;
    }
    default: formatter(mode, p, n); break;
    }
    free(p);
    return 0;
}

#ifdef CV_FUZZ_SEED_MAIN
static void put(const char *dir, const char *name, int mode, const void *b, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fputc(mode, f);
    fwrite(b, 1, n, f);
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    static const char *const heads[] = {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12",
        "HTTP/1.1 404 Not Found\r\nServer: Jetty(9.4.57.v20241219)",
        "HTTP/1.0 500 Server Error\r\nTransfer-Encoding: chunked",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6",
    };
    char name[64];
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        snprintf(name, sizeof name, "head%zu", i);
        put(argv[1], name, M_HEAD, heads[i], strlen(heads[i]));
    }
    put(argv[1], "hostport", M_HOSTPORT, "[::1]:8080", 10);
    put(argv[1], "admin", M_ADMIN, "watches_by_path", 15);
    static const char *const setups[] = {"standalone", "leader", "follower", "observer"};
    static const struct {
        const char *file;
        int mode;
    } bodies[] = {{"monitor", M_MNTR}, {"connections", M_CONS},  {"watches_by_path", M_WCHP},
                  {"dump", M_DUMP},    {"server_stats", M_JSON}, {"voting_view", M_JSON}};
    for (size_t s = 0; s < 4; s++)
        for (size_t b = 0; b < sizeof bodies / sizeof bodies[0]; b++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s/%s.json", CV_ADMIN_GOLDEN_DIR, setups[s],
                     bodies[b].file);
            FILE *f = fopen(path, "rb");
            if (!f)
                continue;
            static char buf[1 << 16];
            size_t n = fread(buf, 1, sizeof buf, f);
            fclose(f);
            snprintf(name, sizeof name, "%s_%s", setups[s], bodies[b].file);
            put(argv[1], name, bodies[b].mode, buf, n);
        }
    const char *snap =
        "{\"command\":\"snapshot\",\"error\":null,\"zxid\":\"0x5\",\"started\":true}";
    put(argv[1], "snapshot", M_SNAPSHOT, snap, strlen(snap));
    return 0;
}
#endif
