/*
 * cv_ctl — the testable half of corvidctl, the operator CLI over corvid's
 * admin HTTP endpoint (ZooKeeper 3.8's AdminServer API: GET
 * http://host:admin.serverPort/commands/<name> answers one JSON object with
 * ZooKeeper's field names plus "command" and "error").
 *
 * Contract
 * - No global mutable state; every function is safe to call from several
 *   threads at once on distinct arguments. Nothing here calls exit().
 * - HTTP client (cv_http_request): one blocking HTTP/1.1 request over a
 *   plain TCP socket, "Connection: close". The host is resolved with
 *   getaddrinfo (IPv4, IPv6, names; every address is tried in order), the
 *   whole exchange (connect, send, receive) must finish within timeout_ms,
 *   measured with poll() on a monotonic clock (getaddrinfo itself is not
 *   bounded). The body is delimited by Content-Length, or by the server
 *   closing the connection when there is none. Limits: the header block
 *   (status line + headers) at most CV_HTTP_MAX_HEADER bytes, the body at
 *   most CV_HTTP_MAX_BODY bytes; beyond either the request fails. Chunked
 *   transfer coding is not supported (the request fails, saying so).
 *   Any HTTP status is a successful exchange: the caller checks it.
 * - Admin replies (cv_ctl_get): a request plus the checks corvidctl applies
 *   to every reply: status 200, the body a JSON object, its "error" member
 *   absent or null. A non-200 reply whose body is a JSON object with an
 *   "error" string reports that string.
 * - Formatting (cv_ctl_fmt_*): JSON text of one reply in, human text out to
 *   a FILE*. Each one first applies the same checks on the document (JSON
 *   object, "error" null) and returns -1 with a one-line message in err if
 *   they fail, writing nothing. Listings are printed in a deterministic order
 *   (sessions ascending as unsigned 64-bit, paths in byte order); mntr keeps
 *   the server's key order. Session ids are printed as 0x<hex>, as
 *   ZooKeeper's four-letter words do.
 */
#ifndef CV_CTL_H
#define CV_CTL_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CV_HTTP_MAX_HEADER (64u * 1024u)
#define CV_HTTP_MAX_BODY   (64u * 1024u * 1024u)

/* cv_http_request results (negative: the exchange failed). */
enum cv_http_status {
    CV_HTTP_OK = 0,
    CV_HTTP_ERESOLVE = -1, /* getaddrinfo failed */
    CV_HTTP_ECONNECT = -2, /* no address accepted the connection */
    CV_HTTP_ETIMEOUT = -3, /* the deadline passed (connect, send or receive) */
    CV_HTTP_EIO = -4,      /* send/recv failed, or the peer closed too early */
    CV_HTTP_EPROTO = -5,   /* malformed status line / headers, chunked coding */
    CV_HTTP_ETOOBIG = -6,  /* header block or body over its limit */
    CV_HTTP_ENOMEM = -7,
    CV_HTTP_EINVAL = -8, /* bad arguments (method, path) */
};

struct cv_http_response {
    int status;      /* e.g. 200 */
    char reason[64]; /* reason phrase, truncated */
    char *body;      /* malloc'd, NUL-terminated (the NUL is not counted) */
    size_t body_len;
};

/*
 * One request. method: "GET" or "POST" (POST sends an empty body). path
 * starts with '/'. host: a name or an address literal (IPv6 without
 * brackets); port: decimal. On CV_HTTP_OK resp holds the reply (free it
 * with cv_http_response_free); otherwise resp holds nothing to free and err
 * (if errlen > 0) a one-line reason.
 */
int cv_http_request(const char *host, const char *port, const char *method, const char *path,
                    int timeout_ms, struct cv_http_response *resp, char *err, size_t errlen);
void cv_http_response_free(struct cv_http_response *resp);

/* The response's header block [p, p+len) (status line and headers, without
 * the final CRLFCRLF): sets resp->status and resp->reason and
 * *content_length (-1 when absent). CV_HTTP_OK, or an error with err set.
 * (cv_http_request's decoder, exposed for its fuzz target.) */
int cv_http_parse_head(const char *p, size_t len, struct cv_http_response *resp,
                       long long *content_length, char *err, size_t errlen);

/*
 * "H", "H:P", "[V6]", "[V6]:P", or a bare IPv6 literal (two colons or more,
 * no port). default_port fills a missing port. Returns 0, or -1 (err set)
 * for an empty host, a bad port (not 1..65535) or a malformed bracket.
 */
int cv_ctl_parse_hostport(const char *s, const char *default_port, char *host, size_t hostlen,
                          char *port, size_t portlen, char *err, size_t errlen);

/* "host:port", with brackets around an IPv6 literal. */
void cv_ctl_hostport_label(const char *host, const char *port, char *out, size_t outlen);

/* ---- admin replies ------------------------------------------------------- */

enum cv_ctl_result {
    CV_CTL_OK = 0,
    CV_CTL_UNREACHABLE = 1, /* the HTTP exchange failed (see cv_http_request) */
    CV_CTL_FAILED = 2,      /* HTTP status != 200, not a JSON object, "error" set */
};

#define CV_CTL_ERRLEN 512

struct cv_ctl_reply {
    char label[300];           /* "host:port" */
    int result;                /* enum cv_ctl_result */
    char error[CV_CTL_ERRLEN]; /* one line, when result != CV_CTL_OK */
    char *body;                /* the reply's JSON text when CV_CTL_OK (malloc'd) */
    size_t body_len;
};

/*
 * GET or POST http://host:port/commands/<command> and apply the checks
 * above. Always fills r (label, result, error or body); returns r->result.
 * Release with cv_ctl_reply_free.
 */
int cv_ctl_get(const char *host, const char *port, const char *method, const char *command,
               int timeout_ms, struct cv_ctl_reply *r);
void cv_ctl_reply_free(struct cv_ctl_reply *r);

/*
 * The checks alone, on a reply already received: status 200 (or -1 to skip
 * the status check), body a JSON object, "error" absent or null. Returns 0,
 * or -1 with a one-line message in err.
 */
int cv_ctl_check_reply(int http_status, const char *reason, const char *body, size_t len, char *err,
                       size_t errlen);

/* The document re-indented (2 spaces, server key order), then '\n'. */
int cv_ctl_print_json(const char *json, size_t len, FILE *out, char *err, size_t errlen);

/*
 * Several replies as one JSON object keyed by label: the document for a
 * member that answered, {"error": "..."} for one that did not.
 */
int cv_ctl_print_json_multi(const struct cv_ctl_reply *r, size_t n, FILE *out, char *err,
                            size_t errlen);

/* ---- human formats (return 0, or -1 with err set and nothing written) --- */

/* monitor: "key  value" lines, keys padded to one column, "command"/"error" left out. */
int cv_ctl_fmt_mntr(const char *json, size_t len, FILE *out, char *err, size_t errlen);

/* connections: a table of connections then secure_connections (marked "tls"). */
int cv_ctl_fmt_cons(const char *json, size_t len, FILE *out, char *err, size_t errlen);

/* watches_by_path: each path, then its session ids indented. */
int cv_ctl_fmt_wchp(const char *json, size_t len, FILE *out, char *err, size_t errlen);

/* dump: each session (from either map), its expiry time, its ephemerals indented. */
int cv_ctl_fmt_dump(const char *json, size_t len, FILE *out, char *err, size_t errlen);

/*
 * snapshot: one sentence. Returns 0 when "started" is true, 1 when the
 * server declined (the reason is printed), -1 on a malformed reply. out may
 * be NULL: the verdict only.
 */
int cv_ctl_fmt_snapshot(const char *json, size_t len, FILE *out, char *err, size_t errlen);

/*
 * status: one line per member from its /commands/monitor reply (mon[i]) and
 * its /commands/server_stats reply (stats[i], for the zxid:
 * server_stats.last_processed_zxid; ZooKeeper's monitor has no zxid). A
 * member whose monitor request failed is printed as unreachable (transport
 * failure) or failed (the server answered with an error), with the reason.
 * stats may be NULL or a failed reply: the zxid is then printed as "-".
 * Returns the number of members whose monitor reply was not CV_CTL_OK.
 */
int cv_ctl_fmt_status(const struct cv_ctl_reply *mon, const struct cv_ctl_reply *stats, size_t n,
                      FILE *out);

/*
 * check_data over n members: a paragraph per member (ok / NOT OK, zxid,
 * digest, node count, the tree verdict when not "ok", the storage report
 * indented), then, for each zxid at which two or more members answered,
 * whether their digests agree. Returns 0 when every member answered, every
 * one is ok and no digests disagree; 1 otherwise. out may be NULL: the
 * verdict only.
 */
int cv_ctl_fmt_check_data(const struct cv_ctl_reply *r, size_t n, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* CV_CTL_H */
