/*
 * cv_ctl — HTTP client and reply formatting for corvidctl. See cv_ctl.h.
 */
#include "cv_ctl.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#ifndef CV_VERSION
#define CV_VERSION "dev"
#endif

/* ---- small helpers ------------------------------------------------------- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats into err and flattens it to one line (control characters become
 * spaces), so a server's multi-line text cannot break the one-line promise. */
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 0 when fd is ready for events (or has an error/hang-up to report),
 * CV_HTTP_ETIMEOUT when the deadline passes first, CV_HTTP_EIO on poll failure. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return CV_HTTP_ETIMEOUT;
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int rc = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (rc > 0)
            return 0;
        if (rc == 0)
            return CV_HTTP_ETIMEOUT;
        if (errno != EINTR)
            return CV_HTTP_EIO;
    }
}

/* ---- HTTP client --------------------------------------------------------- */

static int http_connect(const char *host, const char *port, int64_t deadline, int timeout_ms,
                        int *fdp, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        seterr(err, errlen, "cannot resolve %s: %s", host,
               gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return CV_HTTP_ERESOLVE;
    }
    int rc = CV_HTTP_ECONNECT;
    seterr(err, errlen, "connect to %s port %s: no usable address", host, port);
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            seterr(err, errlen, "socket: %s", strerror(errno));
            continue;
        }
        int e = 0;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            e = errno;
            if (e == EINPROGRESS || e == EINTR) {
                int w = wait_fd(fd, POLLOUT, deadline);
                if (w == CV_HTTP_ETIMEOUT) {
                    close(fd);
                    seterr(err, errlen, "connect to %s port %s: timed out after %d ms", host, port,
                           timeout_ms);
                    rc = CV_HTTP_ETIMEOUT;
                    break;
                }
                socklen_t sl = sizeof e;
                if (w != 0)
                    e = errno;
                else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0)
                    e = errno;
            }
        }
        if (e == 0) {
            *fdp = fd;
            rc = CV_HTTP_OK;
            break;
        }
        close(fd);
        seterr(err, errlen, "connect to %s port %s: %s", host, port, strerror(e));
    }
    freeaddrinfo(res);
    return rc;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline, int timeout_ms,
                    char *err, size_t errlen)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int w = wait_fd(fd, POLLOUT, deadline);
            if (w == CV_HTTP_ETIMEOUT) {
                seterr(err, errlen, "sending the request: timed out after %d ms", timeout_ms);
                return w;
            }
            if (w != 0) {
                seterr(err, errlen, "poll: %s", strerror(errno));
                return w;
            }
            continue;
        }
        seterr(err, errlen, "sending the request: %s", n < 0 ? strerror(errno) : "short write");
        return CV_HTTP_EIO;
    }
    return CV_HTTP_OK;
}

struct buf {
    char *p;
    size_t len, cap;
};

static int buf_reserve(struct buf *b, size_t need)
{
    if (b->cap - b->len >= need)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Reads at most max bytes into b. Returns bytes read (>0), 0 at EOF, or a
 * negative CV_HTTP_* code (err set). */
static ssize_t read_some(int fd, struct buf *b, size_t max, int64_t deadline, int timeout_ms,
                         char *err, size_t errlen)
{
    if (buf_reserve(b, max + 1) != 0) {
        seterr(err, errlen, "out of memory");
        return CV_HTTP_ENOMEM;
    }
    for (;;) {
        int w = wait_fd(fd, POLLIN, deadline);
        if (w == CV_HTTP_ETIMEOUT) {
            seterr(err, errlen, "no complete reply within %d ms", timeout_ms);
            return w;
        }
        if (w != 0) {
            seterr(err, errlen, "poll: %s", strerror(errno));
            return w;
        }
        ssize_t n = recv(fd, b->p + b->len, max, 0);
        if (n >= 0) {
            b->len += (size_t)n;
            return n;
        }
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            continue;
        seterr(err, errlen, "receiving the reply: %s", strerror(errno));
        return CV_HTTP_EIO;
    }
}

static const char *find_crlfcrlf(const char *p, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
            return p + i;
    return NULL;
}

int cv_http_parse_head(const char *p, size_t len, struct cv_http_response *resp,
                       long long *content_length, char *err, size_t errlen)
{
    const char *end = p + len;
    const char *eol = memchr(p, '\r', len);
    if (eol == NULL)
        eol = end;
    /* Status line: HTTP/1.x SP 3DIGIT [SP reason] */
    size_t sl = (size_t)(eol - p);
    if (sl < 12 || memcmp(p, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)p[7]) || p[8] != ' ' ||
        !isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) ||
        !isdigit((unsigned char)p[11]) || (sl > 12 && p[12] != ' ')) {
        seterr(err, errlen, "malformed HTTP status line");
        return CV_HTTP_EPROTO;
    }
    resp->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    size_t rl = sl > 13 ? sl - 13 : 0;
    if (rl >= sizeof resp->reason)
        rl = sizeof resp->reason - 1;
    memcpy(resp->reason, p + 13, rl);
    resp->reason[rl] = '\0';
    for (char *c = resp->reason; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = ' ';

    *content_length = -1;
    const char *line = eol;
    while (line < end) {
        if (end - line < 2 || line[0] != '\r' || line[1] != '\n') {
            seterr(err, errlen, "malformed HTTP header block");
            return CV_HTTP_EPROTO;
        }
        line += 2;
        const char *le = line;
        while (le < end && *le != '\r')
            le++;
        const char *colon = memchr(line, ':', (size_t)(le - line));
        if (colon == NULL || colon == line) {
            seterr(err, errlen, "malformed HTTP header line");
            return CV_HTTP_EPROTO;
        }
        size_t nl = (size_t)(colon - line);
        const char *v = colon + 1, *ve = le;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vl = (size_t)(ve - v);
        if (nl == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
            long long cl = 0;
            if (vl == 0 || vl > 18) {
                seterr(err, errlen, "bad Content-Length header");
                return vl > 18 ? CV_HTTP_ETOOBIG : CV_HTTP_EPROTO;
            }
            for (size_t i = 0; i < vl; i++) {
                if (!isdigit((unsigned char)v[i])) {
                    seterr(err, errlen, "bad Content-Length header");
                    return CV_HTTP_EPROTO;
                }
                cl = cl * 10 + (v[i] - '0');
            }
            if (*content_length >= 0 && *content_length != cl) {
                seterr(err, errlen, "conflicting Content-Length headers");
                return CV_HTTP_EPROTO;
            }
            *content_length = cl;
        } else if (nl == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
            if (!(vl == 8 && strncasecmp(v, "identity", 8) == 0)) {
                seterr(err, errlen, "unsupported Transfer-Encoding \"%.*s\"",
                       (int)(vl > 40 ? 40 : vl), v);
                return CV_HTTP_EPROTO;
            }
        }
        line = le;
    }
    return CV_HTTP_OK;
}

static int http_exchange(int fd, const char *req, size_t reqlen, const char *method,
                         int64_t deadline, int timeout_ms, struct cv_http_response *resp, char *err,
                         size_t errlen)
{
    int rc = send_all(fd, req, reqlen, deadline, timeout_ms, err, errlen);
    if (rc != CV_HTTP_OK)
        return rc;

    struct buf b = {NULL, 0, 0};
    const char *hend = NULL;
    size_t scanned = 0;
    /* Header block: read until CRLFCRLF, never holding more than the limit. */
    while (hend == NULL) {
        if (b.len >= CV_HTTP_MAX_HEADER) {
            seterr(err, errlen, "reply header block exceeds %u bytes", CV_HTTP_MAX_HEADER);
            rc = CV_HTTP_ETOOBIG;
            goto out;
        }
        ssize_t n =
            read_some(fd, &b, CV_HTTP_MAX_HEADER - b.len, deadline, timeout_ms, err, errlen);
        if (n < 0) {
            rc = (int)n;
            goto out;
        }
        if (n == 0) {
            seterr(err, errlen,
                   b.len ? "connection closed inside the reply header"
                         : "connection closed without a reply");
            rc = CV_HTTP_EIO;
            goto out;
        }
        size_t from = scanned > 3 ? scanned - 3 : 0;
        hend = find_crlfcrlf(b.p + from, b.len - from);
        scanned = b.len;
    }
    size_t hlen = (size_t)(hend - b.p), body_off = hlen + 4;
    if (body_off > CV_HTTP_MAX_HEADER) {
        seterr(err, errlen, "reply header block exceeds %u bytes", CV_HTTP_MAX_HEADER);
        rc = CV_HTTP_ETOOBIG;
        goto out;
    }
    long long cl;
    rc = cv_http_parse_head(b.p, hlen, resp, &cl, err, errlen);
    if (rc != CV_HTTP_OK)
        goto out;
    if ((resp->status >= 100 && resp->status < 200) || resp->status == 204 || resp->status == 304 ||
        strcmp(method, "HEAD") == 0)
        cl = 0;
    if (cl > (long long)CV_HTTP_MAX_BODY) {
        seterr(err, errlen, "reply body of %lld bytes exceeds the %u byte limit", cl,
               CV_HTTP_MAX_BODY);
        rc = CV_HTTP_ETOOBIG;
        goto out;
    }
    /* Body: exactly cl bytes, or everything until the server closes. */
    for (;;) {
        size_t have = b.len - body_off;
        if (cl >= 0 && have >= (size_t)cl) {
            b.len = body_off + (size_t)cl;
            break;
        }
        if (cl < 0 && have > CV_HTTP_MAX_BODY) {
            seterr(err, errlen, "reply body exceeds the %u byte limit", CV_HTTP_MAX_BODY);
            rc = CV_HTTP_ETOOBIG;
            goto out;
        }
        size_t want = cl >= 0 ? (size_t)cl - have : CV_HTTP_MAX_BODY + 1 - have;
        if (want > 1u << 20)
            want = 1u << 20;
        ssize_t n = read_some(fd, &b, want, deadline, timeout_ms, err, errlen);
        if (n < 0) {
            rc = (int)n;
            goto out;
        }
        if (n == 0) {
            if (cl < 0)
                break;
            seterr(err, errlen, "connection closed after %zu of %lld body bytes", have, cl);
            rc = CV_HTTP_EIO;
            goto out;
        }
    }
    resp->body_len = b.len - body_off;
    memmove(b.p, b.p + body_off, resp->body_len);
    b.p[resp->body_len] = '\0';
    resp->body = b.p;
    b.p = NULL;
    rc = CV_HTTP_OK;
out:
    free(b.p);
    return rc;
}

int cv_http_request(const char *host, const char *port, const char *method, const char *path,
                    int timeout_ms, struct cv_http_response *resp, char *err, size_t errlen)
{
    memset(resp, 0, sizeof *resp);
    if (err && errlen)
        err[0] = '\0';
    if (host == NULL || port == NULL || method == NULL || path == NULL || path[0] != '/' ||
        timeout_ms <= 0) {
        seterr(err, errlen, "invalid request arguments");
        return CV_HTTP_EINVAL;
    }
    for (const char *c = method; *c; c++)
        if (!isupper((unsigned char)*c)) {
            seterr(err, errlen, "invalid method");
            return CV_HTTP_EINVAL;
        }
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
            seterr(err, errlen, "invalid request path");
            return CV_HTTP_EINVAL;
        }

    char label[320];
    cv_ctl_hostport_label(host, port, label, sizeof label);
    char *req = NULL;
    int reqlen =
        asprintf(&req,
                 "%s %s HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "User-Agent: corvidctl/" CV_VERSION "\r\n"
                 "Accept: application/json\r\n"
                 "%s"
                 "Connection: close\r\n"
                 "\r\n",
                 method, path, label, strcmp(method, "POST") == 0 ? "Content-Length: 0\r\n" : "");
    if (reqlen < 0) {
        seterr(err, errlen, "out of memory");
        return CV_HTTP_ENOMEM;
    }

    int64_t deadline = now_ms() + timeout_ms;
    int fd = -1;
    int rc = http_connect(host, port, deadline, timeout_ms, &fd, err, errlen);
    if (rc == CV_HTTP_OK) {
        rc =
            http_exchange(fd, req, (size_t)reqlen, method, deadline, timeout_ms, resp, err, errlen);
        close(fd);
    }
    free(req);
    if (rc != CV_HTTP_OK) {
        free(resp->body);
        memset(resp, 0, sizeof *resp);
    }
    return rc;
}

void cv_http_response_free(struct cv_http_response *resp)
{
    if (resp == NULL)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

/* ---- host:port ----------------------------------------------------------- */

static int copy_str(char *dst, size_t dstlen, const char *src, size_t n)
{
    if (n + 1 > dstlen)
        return -1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

int cv_ctl_parse_hostport(const char *s, const char *default_port, char *host, size_t hostlen,
                          char *port, size_t portlen, char *err, size_t errlen)
{
    const char *h = s, *p = NULL;
    size_t hl;
    if (s == NULL || *s == '\0') {
        seterr(err, errlen, "empty host");
        return -1;
    }
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb == s + 1 || (rb[1] != '\0' && rb[1] != ':')) {
            seterr(err, errlen, "malformed host \"%s\" (expected [address] or [address]:port)", s);
            return -1;
        }
        h = s + 1;
        hl = (size_t)(rb - h);
        if (rb[1] == ':')
            p = rb + 2;
    } else {
        const char *c1 = strchr(s, ':');
        if (c1 != NULL && strchr(c1 + 1, ':') == NULL) {
            hl = (size_t)(c1 - s);
            p = c1 + 1;
        } else {
            hl = strlen(s); /* no colon, or a bare IPv6 literal */
        }
    }
    if (hl == 0) {
        seterr(err, errlen, "empty host in \"%s\"", s);
        return -1;
    }
    if (p == NULL)
        p = default_port;
    char *end = NULL;
    errno = 0;
    long v = (p && *p && isdigit((unsigned char)*p)) ? strtol(p, &end, 10) : -1;
    if (v < 1 || v > 65535 || errno != 0 || *end != '\0') {
        seterr(err, errlen, "bad port \"%s\" (expected 1..65535)", p ? p : "");
        return -1;
    }
    if (copy_str(host, hostlen, h, hl) != 0) {
        seterr(err, errlen, "host name too long");
        return -1;
    }
    if ((size_t)snprintf(port, portlen, "%ld", v) >= portlen) {
        seterr(err, errlen, "port buffer too small");
        return -1;
    }
    return 0;
}

void cv_ctl_hostport_label(const char *host, const char *port, char *out, size_t outlen)
{
    if (strchr(host, ':') != NULL)
        snprintf(out, outlen, "[%s]:%s", host, port);
    else
        snprintf(out, outlen, "%s:%s", host, port);
}

/* ---- reply checks -------------------------------------------------------- */

/* Parses a reply document and applies the checks; NULL with err set on failure. */
static json_t *load_doc(const char *json, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    if (json == NULL) {
        seterr(err, errlen, "empty reply");
        return NULL;
    }
    json_t *root = json_loadb(json, len, 0, &je);
    if (root == NULL) {
        seterr(err, errlen, "malformed JSON reply: %s (line %d, column %d)", je.text, je.line,
               je.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        seterr(err, errlen, "malformed reply: not a JSON object");
        json_decref(root);
        return NULL;
    }
    json_t *e = json_object_get(root, "error");
    if (e != NULL && !json_is_null(e)) {
        if (json_is_string(e)) {
            seterr(err, errlen, "server error: %s", json_string_value(e));
        } else {
            char *d = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
            seterr(err, errlen, "server error: %s", d ? d : "(unprintable)");
            free(d);
        }
        json_decref(root);
        return NULL;
    }
    return root;
}

int cv_ctl_check_reply(int http_status, const char *reason, const char *body, size_t len, char *err,
                       size_t errlen)
{
    if (http_status != -1 && http_status != 200) {
        const char *detail = NULL;
        json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
        if (json_is_object(root) && json_is_string(json_object_get(root, "error")))
            detail = json_string_value(json_object_get(root, "error"));
        if (detail)
            seterr(err, errlen, "HTTP %d %s: %s", http_status, reason ? reason : "", detail);
        else
            seterr(err, errlen, "HTTP %d %s", http_status, reason ? reason : "");
        json_decref(root);
        return -1;
    }
    json_t *root = load_doc(body, len, err, errlen);
    if (root == NULL)
        return -1;
    json_decref(root);
    return 0;
}

int cv_ctl_get(const char *host, const char *port, const char *method, const char *command,
               int timeout_ms, struct cv_ctl_reply *r)
{
    memset(r, 0, sizeof *r);
    cv_ctl_hostport_label(host, port, r->label, sizeof r->label);
    char path[512];
    if ((size_t)snprintf(path, sizeof path, "/commands/%s", command) >= sizeof path) {
        r->result = CV_CTL_FAILED;
        seterr(r->error, sizeof r->error, "command name too long");
        return r->result;
    }
    struct cv_http_response resp;
    int rc =
        cv_http_request(host, port, method, path, timeout_ms, &resp, r->error, sizeof r->error);
    if (rc != CV_HTTP_OK) {
        r->result = rc == CV_HTTP_EINVAL ? CV_CTL_FAILED : CV_CTL_UNREACHABLE;
        return r->result;
    }
    if (cv_ctl_check_reply(resp.status, resp.reason, resp.body, resp.body_len, r->error,
                           sizeof r->error) != 0) {
        cv_http_response_free(&resp);
        r->result = CV_CTL_FAILED;
        return r->result;
    }
    r->result = CV_CTL_OK;
    r->body = resp.body;
    r->body_len = resp.body_len;
    return r->result;
}

void cv_ctl_reply_free(struct cv_ctl_reply *r)
{
    if (r == NULL)
        return;
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

/* ---- JSON output --------------------------------------------------------- */

#define JSON_OUT_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(16))

int cv_ctl_print_json(const char *json, size_t len, FILE *out, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json ? json_loadb(json, len, 0, &je) : NULL;
    if (root == NULL) {
        seterr(err, errlen, "malformed JSON reply: %s", json ? je.text : "empty");
        return -1;
    }
    int rc = json_dumpf(root, out, JSON_OUT_FLAGS | JSON_ENCODE_ANY);
    json_decref(root);
    if (rc != 0 || fputc('\n', out) == EOF) {
        seterr(err, errlen, "write error");
        return -1;
    }
    return 0;
}

int cv_ctl_print_json_multi(const struct cv_ctl_reply *r, size_t n, FILE *out, char *err,
                            size_t errlen)
{
    json_t *all = json_object();
    if (all == NULL) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = NULL;
        if (r[i].result == CV_CTL_OK)
            v = json_loadb(r[i].body, r[i].body_len, 0, NULL);
        if (v == NULL)
            v = json_pack("{s:s}", "error",
                          r[i].result == CV_CTL_OK ? "malformed JSON reply" : r[i].error);
        json_object_set_new(all, r[i].label, v);
    }
    int rc = json_dumpf(all, out, JSON_OUT_FLAGS);
    json_decref(all);
    if (rc != 0 || fputc('\n', out) == EOF) {
        seterr(err, errlen, "write error");
        return -1;
    }
    return 0;
}

/* ---- value formatting ---------------------------------------------------- */

/* A JSON scalar as text: integers in decimal, reals in their shortest
 * round-trip form (with ".0" when integral, like ZooKeeper's mntr), strings
 * raw, containers compact. */
static void value_str(const json_t *v, char *out, size_t outlen)
{
    if (v == NULL) {
        snprintf(out, outlen, "-");
    } else if (json_is_integer(v)) {
        snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(out, outlen, "%.*g", prec, d);
            if (strtod(out, NULL) == d)
                break;
        }
        if (isfinite(d) && strpbrk(out, ".eE") == NULL)
            strncat(out, ".0", outlen - strlen(out) - 1);
    } else if (json_is_string(v)) {
        snprintf(out, outlen, "%s", json_string_value(v));
    } else if (json_is_true(v)) {
        snprintf(out, outlen, "true");
    } else if (json_is_false(v)) {
        snprintf(out, outlen, "false");
    } else if (json_is_null(v)) {
        snprintf(out, outlen, "null");
    } else {
        char *d = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
        snprintf(out, outlen, "%s", d ? d : "?");
        free(d);
    }
}

/* A session id (JSON integer, or a decimal string as in object keys) as
 * 0x<hex> of its 64-bit two's complement; other strings as given. */
static void sid_str(const json_t *v, char *out, size_t outlen)
{
    if (json_is_integer(v))
        snprintf(out, outlen, "0x%" PRIx64, (uint64_t)json_integer_value(v));
    else
        value_str(v, out, outlen);
}

/* zxids arrive as "0x..." strings (corvid) or as numbers (ZooKeeper's
 * server_stats.last_processed_zxid); both print as 0x<hex>. */
static void zxid_str(const json_t *v, char *out, size_t outlen)
{
    if (json_is_integer(v))
        snprintf(out, outlen, "0x%" PRIx64, (uint64_t)json_integer_value(v));
    else
        value_str(v, out, outlen);
}

static bool parse_sid_key(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (s[0] == '-') {
        long long v = strtoll(s, &end, 10);
        *out = (uint64_t)v;
    } else {
        *out = strtoull(s, &end, s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10);
    }
    return *s != '\0' && *end == '\0' && errno == 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Session ids of a JSON array, sorted ascending as unsigned 64-bit. Non-integer
 * entries are skipped. Caller frees; *n set. */
static uint64_t *sorted_sids(const json_t *arr, size_t *n)
{
    size_t cap = json_array_size(arr);
    uint64_t *v = malloc((cap ? cap : 1) * sizeof *v);
    *n = 0;
    if (v == NULL)
        return NULL;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (json_is_integer(e))
            v[(*n)++] = (uint64_t)json_integer_value(e);
    }
    qsort(v, *n, sizeof *v, cmp_u64);
    return v;
}

/* Strings of a JSON array, sorted; the pointers belong to arr. */
static const char **sorted_strings(const json_t *arr, size_t *n)
{
    size_t cap = json_array_size(arr);
    const char **v = malloc((cap ? cap : 1) * sizeof *v);
    *n = 0;
    if (v == NULL)
        return NULL;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (json_is_string(e))
            v[(*n)++] = json_string_value(e);
    }
    qsort(v, *n, sizeof *v, cmp_strp);
    return v;
}

/* Keys of a JSON object, sorted; the pointers belong to obj. */
static const char **sorted_keys(const json_t *obj, size_t *n)
{
    size_t cap = json_object_size(obj);
    const char **v = malloc((cap ? cap : 1) * sizeof *v);
    *n = 0;
    if (v == NULL)
        return NULL;
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)obj, k, e)
    {
        v[(*n)++] = k;
    }
    qsort(v, *n, sizeof *v, cmp_strp);
    return v;
}

static json_t *member_of(json_t *root, const char *name, int (*is)(const json_t *), char *err,
                         size_t errlen, const char *what)
{
    json_t *m = json_object_get(root, name);
    if (m == NULL || !is(m)) {
        seterr(err, errlen, "malformed reply: no \"%s\" %s", name, what);
        return NULL;
    }
    return m;
}

static int is_object(const json_t *j)
{
    return json_is_object(j);
}
static int is_array(const json_t *j)
{
    return json_is_array(j);
}
static int is_bool(const json_t *j)
{
    return json_is_boolean(j);
}

/* ---- mntr ---------------------------------------------------------------- */

int cv_ctl_fmt_mntr(const char *json, size_t len, FILE *out, char *err, size_t errlen)
{
    json_t *root = load_doc(json, len, err, errlen);
    if (root == NULL)
        return -1;
    const char *k;
    json_t *v;
    int w = 0;
    json_object_foreach(root, k, v)
    {
        if (strcmp(k, "command") != 0 && strcmp(k, "error") != 0 && (int)strlen(k) > w)
            w = (int)strlen(k);
    }
    char val[512];
    json_object_foreach(root, k, v)
    {
        if (strcmp(k, "command") == 0 || strcmp(k, "error") == 0)
            continue;
        value_str(v, val, sizeof val);
        fprintf(out, "%-*s  %s\n", w, k, val);
    }
    json_decref(root);
    return 0;
}

/* ---- cons ---------------------------------------------------------------- */

enum { CONS_ADDR, CONS_SID, CONS_QUEUED, CONS_RECV, CONS_SENT, CONS_LOP, CONS_LAT, CONS_NCOL };

struct cons_row {
    char c[CONS_NCOL][72];
};

static void cons_fill(struct cons_row *row, const json_t *c, bool tls)
{
    char a[64], b[64], d[64];
    value_str(json_object_get(c, "remote_socket_address"), a, sizeof a);
    snprintf(row->c[CONS_ADDR], sizeof row->c[CONS_ADDR], "%s%s", a, tls ? " (tls)" : "");
    sid_str(json_object_get(c, "session_id"), row->c[CONS_SID], sizeof row->c[CONS_SID]);
    value_str(json_object_get(c, "outstanding_requests"), row->c[CONS_QUEUED],
              sizeof row->c[CONS_QUEUED]);
    value_str(json_object_get(c, "packets_received"), row->c[CONS_RECV], sizeof row->c[CONS_RECV]);
    value_str(json_object_get(c, "packets_sent"), row->c[CONS_SENT], sizeof row->c[CONS_SENT]);
    value_str(json_object_get(c, "last_operation"), row->c[CONS_LOP], sizeof row->c[CONS_LOP]);
    value_str(json_object_get(c, "min_latency"), a, sizeof a);
    value_str(json_object_get(c, "avg_latency"), b, sizeof b);
    value_str(json_object_get(c, "max_latency"), d, sizeof d);
    snprintf(row->c[CONS_LAT], sizeof row->c[CONS_LAT], "%.20s/%.20s/%.20s", a, b, d);
}

int cv_ctl_fmt_cons(const char *json, size_t len, FILE *out, char *err, size_t errlen)
{
    json_t *root = load_doc(json, len, err, errlen);
    if (root == NULL)
        return -1;
    json_t *plain = member_of(root, "connections", is_array, err, errlen, "array");
    json_t *tls = json_object_get(root, "secure_connections");
    if (plain == NULL || (tls != NULL && !json_is_array(tls))) {
        if (plain != NULL)
            seterr(err, errlen, "malformed reply: \"secure_connections\" is not an array");
        json_decref(root);
        return -1;
    }
    size_t n = json_array_size(plain) + json_array_size(tls), k = 0;
    struct cons_row *rows = calloc(n + 1, sizeof *rows);
    if (rows == NULL) {
        seterr(err, errlen, "out of memory");
        json_decref(root);
        return -1;
    }
    static const char *const head[CONS_NCOL] = {
        "ADDRESS", "SESSION", "QUEUED", "RECV", "SENT", "LAST_OP", "LATENCY_MIN/AVG/MAX"};
    for (int c = 0; c < CONS_NCOL; c++)
        snprintf(rows[0].c[c], sizeof rows[0].c[c], "%s", head[c]);
    k = 1;
    size_t i;
    json_t *c;
    json_array_foreach(plain, i, c)
    {
        cons_fill(&rows[k++], c, false);
    }
    json_array_foreach(tls, i, c)
    {
        cons_fill(&rows[k++], c, true);
    }
    if (n == 0) {
        fprintf(out, "no client connections\n");
    } else {
        int w[CONS_NCOL] = {0};
        for (size_t r = 0; r < k; r++)
            for (int col = 0; col < CONS_NCOL; col++)
                if ((int)strlen(rows[r].c[col]) > w[col])
                    w[col] = (int)strlen(rows[r].c[col]);
        for (size_t r = 0; r < k; r++) {
            /* text columns left-aligned, counters right-aligned */
            fprintf(out, "%-*s  %-*s  %*s  %*s  %*s  %-*s  %s\n", w[CONS_ADDR],
                    rows[r].c[CONS_ADDR], w[CONS_SID], rows[r].c[CONS_SID], w[CONS_QUEUED],
                    rows[r].c[CONS_QUEUED], w[CONS_RECV], rows[r].c[CONS_RECV], w[CONS_SENT],
                    rows[r].c[CONS_SENT], w[CONS_LOP], rows[r].c[CONS_LOP], rows[r].c[CONS_LAT]);
        }
    }
    free(rows);
    json_decref(root);
    return 0;
}

/* ---- wchp ---------------------------------------------------------------- */

int cv_ctl_fmt_wchp(const char *json, size_t len, FILE *out, char *err, size_t errlen)
{
    json_t *root = load_doc(json, len, err, errlen);
    if (root == NULL)
        return -1;
    json_t *map = member_of(root, "path_to_session_ids", is_object, err, errlen, "object");
    if (map == NULL) {
        json_decref(root);
        return -1;
    }
    size_t np;
    const char **paths = sorted_keys(map, &np);
    if (paths == NULL) {
        seterr(err, errlen, "out of memory");
        json_decref(root);
        return -1;
    }
    if (np == 0)
        fprintf(out, "no watches\n");
    for (size_t i = 0; i < np; i++) {
        json_t *ids = json_object_get(map, paths[i]);
        fprintf(out, "%s\n", paths[i]);
        size_t ns;
        uint64_t *sids = sorted_sids(ids, &ns);
        for (size_t j = 0; sids && j < ns; j++)
            fprintf(out, "    0x%" PRIx64 "\n", sids[j]);
        free(sids);
    }
    free(paths);
    json_decref(root);
    return 0;
}

/* ---- dump ---------------------------------------------------------------- */

struct dump_sess {
    uint64_t sid;
    const char *expiry; /* key of expiry_time_to_session_ids, or NULL */
    json_t *paths;      /* array, or NULL */
};

static int cmp_dump_sess(const void *a, const void *b)
{
    return cmp_u64(&((const struct dump_sess *)a)->sid, &((const struct dump_sess *)b)->sid);
}

static struct dump_sess *dump_find(struct dump_sess *s, size_t n, uint64_t sid)
{
    for (size_t i = 0; i < n; i++)
        if (s[i].sid == sid)
            return &s[i];
    return NULL;
}

int cv_ctl_fmt_dump(const char *json, size_t len, FILE *out, char *err, size_t errlen)
{
    json_t *root = load_doc(json, len, err, errlen);
    if (root == NULL)
        return -1;
    json_t *exp = member_of(root, "expiry_time_to_session_ids", is_object, err, errlen, "object");
    json_t *eph =
        exp ? member_of(root, "session_id_to_ephemeral_paths", is_object, err, errlen, "object")
            : NULL;
    if (eph == NULL) {
        json_decref(root);
        return -1;
    }
    size_t cap = json_object_size(eph), n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(exp, k, v)
    {
        cap += json_array_size(v);
    }
    struct dump_sess *s = calloc(cap + 1, sizeof *s);
    if (s == NULL) {
        seterr(err, errlen, "out of memory");
        json_decref(root);
        return -1;
    }
    /* Linear lookups: dump is an operator command over at most a few
     * thousand sessions. */
    json_object_foreach(exp, k, v)
    {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (!json_is_integer(e))
                continue;
            uint64_t sid = (uint64_t)json_integer_value(e);
            struct dump_sess *d = dump_find(s, n, sid);
            if (d == NULL) {
                d = &s[n++];
                d->sid = sid;
            }
            d->expiry = k;
        }
    }
    json_object_foreach(eph, k, v)
    {
        uint64_t sid;
        if (!parse_sid_key(k, &sid)) {
            seterr(err, errlen, "malformed reply: session id key \"%s\"", k);
            free(s);
            json_decref(root);
            return -1;
        }
        struct dump_sess *d = dump_find(s, n, sid);
        if (d == NULL) {
            d = &s[n++];
            d->sid = sid;
        }
        d->paths = json_is_array(v) ? v : NULL;
    }
    qsort(s, n, sizeof *s, cmp_dump_sess);
    fprintf(out, "%zu session%s\n", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        size_t np = 0;
        const char **paths = s[i].paths ? sorted_strings(s[i].paths, &np) : NULL;
        fprintf(out, "0x%" PRIx64, s[i].sid);
        if (s[i].expiry)
            fprintf(out, "  expires at %s", s[i].expiry);
        else
            fprintf(out, "  expiry not tracked by this server");
        if (np == 0)
            fprintf(out, "  no ephemerals\n");
        else
            fprintf(out, "  %zu ephemeral%s\n", np, np == 1 ? "" : "s");
        for (size_t j = 0; j < np; j++)
            fprintf(out, "    %s\n", paths[j]);
        free(paths);
    }
    free(s);
    json_decref(root);
    return 0;
}

/* ---- snapshot ------------------------------------------------------------ */

int cv_ctl_fmt_snapshot(const char *json, size_t len, FILE *out, char *err, size_t errlen)
{
    json_t *root = load_doc(json, len, err, errlen);
    if (root == NULL)
        return -1;
    json_t *started = member_of(root, "started", is_bool, err, errlen, "boolean");
    if (started == NULL) {
        json_decref(root);
        return -1;
    }
    char zxid[128], reason[512];
    zxid_str(json_object_get(root, "zxid"), zxid, sizeof zxid);
    json_t *r = json_object_get(root, "reason");
    int rc = 0;
    if (json_is_true(started)) {
        if (out)
            fprintf(out, "Snapshot started at zxid %s.\n", zxid);
    } else {
        value_str(json_is_string(r) ? r : NULL, reason, sizeof reason);
        if (out)
            fprintf(out, "Snapshot not started at zxid %s: %s.\n", zxid,
                    json_is_string(r) ? reason : "no reason given");
        rc = 1;
    }
    json_decref(root);
    return rc;
}

/* ---- status -------------------------------------------------------------- */

enum { ST_MEMBER, ST_MODE, ST_ZXID, ST_CONNS, ST_OUT, ST_LAT, ST_NODES, ST_NCOL };

int cv_ctl_fmt_status(const struct cv_ctl_reply *mon, const struct cv_ctl_reply *stats, size_t n,
                      FILE *out)
{
    static const char *const head[ST_NCOL] = {
        "MEMBER", "MODE", "ZXID", "CONNECTIONS", "OUTSTANDING", "LATENCY_AVG/MAX", "NODES"};
    char(*cell)[ST_NCOL][160] = calloc(n + 1, sizeof *cell);
    if (cell == NULL)
        return (int)n;
    int bad = 0;
    for (int c = 0; c < ST_NCOL; c++)
        snprintf(cell[0][c], sizeof cell[0][c], "%s", head[c]);
    for (size_t i = 0; i < n; i++) {
        char(*row)[160] = cell[i + 1];
        snprintf(row[ST_MEMBER], sizeof row[ST_MEMBER], "%.159s", mon[i].label);
        json_t *m = NULL;
        char e[CV_CTL_ERRLEN];
        if (mon[i].result == CV_CTL_OK)
            m = load_doc(mon[i].body, mon[i].body_len, e, sizeof e);
        if (m == NULL) {
            bad++;
            continue; /* printed from mon[i] below */
        }
        value_str(json_object_get(m, "server_state"), row[ST_MODE], sizeof row[ST_MODE]);
        snprintf(row[ST_ZXID], sizeof row[ST_ZXID], "-");
        if (stats && stats[i].result == CV_CTL_OK) {
            json_t *s = load_doc(stats[i].body, stats[i].body_len, e, sizeof e);
            json_t *z =
                s ? json_object_get(json_object_get(s, "server_stats"), "last_processed_zxid")
                  : NULL;
            if (z)
                zxid_str(z, row[ST_ZXID], sizeof row[ST_ZXID]);
            json_decref(s);
        }
        value_str(json_object_get(m, "num_alive_connections"), row[ST_CONNS], sizeof row[ST_CONNS]);
        value_str(json_object_get(m, "outstanding_requests"), row[ST_OUT], sizeof row[ST_OUT]);
        char a[64], x[64];
        value_str(json_object_get(m, "avg_latency"), a, sizeof a);
        value_str(json_object_get(m, "max_latency"), x, sizeof x);
        snprintf(row[ST_LAT], sizeof row[ST_LAT], "%s/%s", a, x);
        value_str(json_object_get(m, "znode_count"), row[ST_NODES], sizeof row[ST_NODES]);
        json_decref(m);
    }
    int w[ST_NCOL] = {0};
    for (size_t r = 0; r <= n; r++)
        for (int c = 0; c < ST_NCOL; c++)
            if ((int)strlen(cell[r][c]) > w[c])
                w[c] = (int)strlen(cell[r][c]);
    for (size_t r = 0; r <= n; r++) {
        const struct cv_ctl_reply *m = r ? &mon[r - 1] : NULL;
        if (m && m->result != CV_CTL_OK) {
            fprintf(out, "%-*s  %s: %s\n", w[ST_MEMBER], cell[r][ST_MEMBER],
                    m->result == CV_CTL_UNREACHABLE ? "unreachable" : "failed", m->error);
            continue;
        }
        if (m && cell[r][ST_MODE][0] == '\0') {
            char e[CV_CTL_ERRLEN];
            load_doc(m->body, m->body_len, e, sizeof e);
            fprintf(out, "%-*s  failed: %s\n", w[ST_MEMBER], cell[r][ST_MEMBER], e);
            continue;
        }
        fprintf(out, "%-*s  %-*s  %-*s  %*s  %*s  %-*s  %s\n", w[ST_MEMBER], cell[r][ST_MEMBER],
                w[ST_MODE], cell[r][ST_MODE], w[ST_ZXID], cell[r][ST_ZXID], w[ST_CONNS],
                cell[r][ST_CONNS], w[ST_OUT], cell[r][ST_OUT], w[ST_LAT], cell[r][ST_LAT],
                cell[r][ST_NODES]);
    }
    free(cell);
    return bad;
}

/* ---- check_data ---------------------------------------------------------- */

struct cd_member {
    const char *label;
    json_t *doc; /* NULL: did not answer usably */
    char zxid[128], digest[128];
    uint64_t zxid_v;
    bool zxid_ok, ok, compared;
};

static void print_indented(FILE *out, const char *text, const char *indent)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(out, "%s%.*s\n", indent, (int)l, p);
        p += l + (nl ? 1 : 0);
    }
}

static bool same_zxid(const struct cd_member *a, const struct cd_member *b)
{
    if (a->zxid_ok && b->zxid_ok)
        return a->zxid_v == b->zxid_v;
    return strcasecmp(a->zxid, b->zxid) == 0;
}

static bool same_digest(const char *a, const char *b)
{
    uint64_t x, y;
    if (parse_sid_key(a, &x) && parse_sid_key(b, &y))
        return x == y;
    return strcasecmp(a, b) == 0;
}

int cv_ctl_fmt_check_data(const struct cv_ctl_reply *r, size_t n, FILE *out)
{
    struct cd_member *m = calloc(n ? n : 1, sizeof *m);
    if (m == NULL)
        return 1;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char e[CV_CTL_ERRLEN];
        m[i].label = r[i].label;
        if (r[i].result != CV_CTL_OK) {
            rc = 1;
            if (out)
                fprintf(out, "%s: %s: %s\n", r[i].label,
                        r[i].result == CV_CTL_UNREACHABLE ? "unreachable" : "failed", r[i].error);
            continue;
        }
        json_t *d = load_doc(r[i].body, r[i].body_len, e, sizeof e);
        json_t *okv = d ? member_of(d, "ok", is_bool, e, sizeof e, "boolean") : NULL;
        if (okv == NULL) {
            rc = 1;
            if (out)
                fprintf(out, "%s: failed: %s\n", r[i].label, e);
            json_decref(d);
            continue;
        }
        m[i].doc = d;
        m[i].ok = json_is_true(okv);
        zxid_str(json_object_get(d, "zxid"), m[i].zxid, sizeof m[i].zxid);
        m[i].zxid_ok = parse_sid_key(m[i].zxid, &m[i].zxid_v);
        value_str(json_object_get(d, "digest"), m[i].digest, sizeof m[i].digest);
        if (!m[i].ok)
            rc = 1;
        if (out == NULL)
            continue;
        char nodes[64], tree[1024];
        value_str(json_object_get(d, "node_count"), nodes, sizeof nodes);
        value_str(json_object_get(d, "tree"), tree, sizeof tree);
        fprintf(out, "%s: data check %s at zxid %s: digest %s, %s nodes, tree %s\n", r[i].label,
                m[i].ok ? "ok" : "FAILED", m[i].zxid, m[i].digest, nodes, tree);
        json_t *st = json_object_get(d, "storage");
        if (json_is_string(st) && json_string_value(st)[0] != '\0') {
            fprintf(out, "  storage:\n");
            print_indented(out, json_string_value(st), "    ");
        }
    }
    /* Digests are comparable only between members at the same zxid. */
    size_t answered = 0;
    for (size_t i = 0; i < n; i++)
        answered += m[i].doc != NULL;
    for (size_t i = 0; i < n && answered > 1; i++) {
        if (m[i].doc == NULL || m[i].compared)
            continue;
        size_t group = 0;
        bool agree = true;
        for (size_t j = i; j < n; j++) {
            if (m[j].doc == NULL || !same_zxid(&m[i], &m[j]))
                continue;
            group++;
            agree = agree && same_digest(m[i].digest, m[j].digest);
        }
        if (group < 2) {
            if (out)
                fprintf(out, "%s is alone at zxid %s: digest not compared\n", m[i].label,
                        m[i].zxid);
            m[i].compared = true;
            continue;
        }
        if (!agree)
            rc = 1;
        if (out)
            fprintf(out, "zxid %s: digests %s across %zu members:", m[i].zxid,
                    agree ? "agree" : "DISAGREE", group);
        for (size_t j = i; j < n; j++) {
            if (m[j].doc == NULL || !same_zxid(&m[i], &m[j]))
                continue;
            m[j].compared = true;
            if (out && agree)
                fprintf(out, " %s", m[j].label);
            else if (out)
                fprintf(out, " %s=%s", m[j].label, m[j].digest);
        }
        if (out)
            fprintf(out, "\n");
    }
    for (size_t i = 0; i < n; i++)
        json_decref(m[i].doc);
    free(m);
    return rc;
}
