/* cv_proto_replay — recorded-conversation checker. Contract in cv_proto_replay.h. */
#include "cv_proto_replay.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>

#define ARENA_SIZE (32u << 20) /* jute.maxbuffer-sized frames expand ~4x when deepened */

int cv_replay_init(struct cv_replay *r)
{
    memset(r, 0, sizeof *r);
    r->arena = malloc(ARENA_SIZE);
    if (!r->arena)
        return -ENOMEM;
    r->arena_size = ARENA_SIZE;
    return 0;
}

void cv_replay_fini(struct cv_replay *r)
{
    free(r->arena);
    r->arena = NULL;
}

static void *arena_alloc(struct cv_replay *r, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n > r->arena_size - r->arena_used)
        return NULL;
    void *p = r->arena + r->arena_used;
    r->arena_used += n;
    return p;
}

static int fail(struct cv_replay *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->last_error, sizeof r->last_error, fmt, ap);
    va_end(ap);
    return -EBADMSG;
}

static int deepen_vec(struct cv_replay *r, const struct cv_jrec_desc *elem, struct cv_jvec *v)
{
    if (v->count <= 0 || v->items)
        return 0;
    size_t stride = elem ? elem->size : sizeof(struct cv_jbuf);
    uint8_t *items = arena_alloc(r, stride * (size_t)v->count);
    if (!items)
        return -ENOMEM;
    struct cv_jvec_iter it;
    cv_jvec_iter_init(&it, v, elem);
    int32_t n = 0;
    while (n < v->count && cv_jvec_next(&it, items + stride * (size_t)n)) {
        if (elem && cv_replay_deepen(r, elem, items + stride * (size_t)n))
            return -ENOMEM;
        n++;
    }
    if (n != v->count)
        return -EBADMSG;
    v->items = items;
    v->raw = NULL;
    v->raw_len = 0;
    return 0;
}

int cv_replay_deepen(struct cv_replay *r, const struct cv_jrec_desc *d, void *rec)
{
    uint8_t *base = (uint8_t *)rec;
    for (uint16_t i = 0; i < d->nfields; i++) {
        const struct cv_jfield *f = &d->fields[i];
        int rc = 0;
        if (f->kind == CV_JK_REC)
            rc = cv_replay_deepen(r, f->sub, base + f->off);
        else if (f->kind == CV_JK_VEC)
            rc = deepen_vec(r, f->sub, (struct cv_jvec *)(void *)(base + f->off));
        if (rc)
            return rc;
    }
    return 0;
}

int cv_replay_deepen_multi(struct cv_replay *r, struct cv_multi *m, int results)
{
    if (m->count <= 0 || m->items)
        return 0;
    size_t stride = results ? sizeof(struct cv_multi_result) : sizeof(struct cv_multi_op);
    uint8_t *items = arena_alloc(r, stride * (size_t)m->count);
    if (!items)
        return -ENOMEM;
    struct cv_multi_iter it;
    cv_multi_iter_init(&it, m);
    for (int32_t n = 0; n < m->count; n++) {
        void *item = items + stride * (size_t)n;
        const struct cv_jrec_desc *d;
        void *body;
        int known;
        if (results) {
            struct cv_multi_result *res = item;
            if (!cv_multi_next_result(&it, res))
                return -EBADMSG;
            d = cv_proto_multi_result_desc(res->hdr.type, &known);
            body = &res->u;
        } else {
            struct cv_multi_op *op = item;
            if (!cv_multi_next_op(&it, op))
                return -EBADMSG;
            d = cv_proto_multi_op_desc(op->hdr.type, &known);
            body = &op->u;
        }
        if (d && cv_replay_deepen(r, d, body))
            return -ENOMEM;
    }
    m->items = items;
    m->raw = NULL;
    m->raw_len = 0;
    return 0;
}

static struct cv_replay_conn *conn_get(struct cv_replay *r, int id)
{
    struct cv_replay_conn *free_slot = NULL;
    for (int i = 0; i < CV_REPLAY_MAX_CONNS; i++) {
        if (r->conns[i].id == id)
            return &r->conns[i];
        if (!free_slot && r->conns[i].id == 0)
            free_slot = &r->conns[i];
    }
    if (free_slot) {
        memset(free_slot, 0, sizeof *free_slot);
        free_slot->id = id;
        for (int i = 0; i < CV_REPLAY_XID_RING; i++)
            free_slot->op[i] = INT32_MIN; /* no request in this slot yet */
    }
    return free_slot;
}

static void xid_put(struct cv_replay_conn *c, int32_t xid, int32_t op)
{
    c->xid[c->next] = xid;
    c->op[c->next] = op;
    c->next = (c->next + 1) % CV_REPLAY_XID_RING;
}

/* The newest request with this xid names the reply's opcode. */
static int xid_op(const struct cv_replay_conn *c, int32_t xid, int32_t *op)
{
    for (uint32_t k = 1; k <= CV_REPLAY_XID_RING; k++) {
        uint32_t i = (c->next + CV_REPLAY_XID_RING - k) % CV_REPLAY_XID_RING;
        if (c->xid[i] == xid && c->op[i] != INT32_MIN) {
            *op = c->op[i];
            return 0;
        }
    }
    return -1;
}

static int compare(struct cv_replay *r, const char *what, const uint8_t *orig, size_t len,
                   const uint8_t *enc, int n)
{
    if (n < 0)
        return fail(r, "%s: re-encode failed (%d)", what, n);
    if ((size_t)n != len)
        return fail(r, "%s: re-encoded %d bytes, recorded %zu", what, n, len);
    for (size_t i = 0; i < len; i++)
        if (orig[i] != enc[i])
            return fail(r, "%s: re-encoded byte %zu is %02x, recorded %02x", what, i, enc[i],
                        orig[i]);
    return 0;
}

static int replay_request(struct cv_replay *r, struct cv_replay_conn *c, const uint8_t *frame,
                          size_t len, uint8_t *out, size_t cap)
{
    struct cv_request req;
    int rc = cv_proto_decode_request(frame + 4, len - 4, &req);
    if (rc)
        return fail(r, "request (type %d) did not decode: %d", req.hdr.type, rc);
    const char *name = cv_proto_op_name(req.hdr.type);
    if (req.hdr.type == CV_OP_MULTI || req.hdr.type == CV_OP_MULTI_READ) {
        if (cv_replay_deepen_multi(r, &req.u.multi, 0))
            return fail(r, "%s: could not rebuild ops", name);
        for (int32_t i = 0; i < req.u.multi.count; i++)
            r->st.multi_ops[CV_REPLAY_OP_SLOT(
                ((const struct cv_multi_op *)req.u.multi.items)[i].hdr.type)]++;
    } else {
        int known;
        const struct cv_jrec_desc *d = cv_proto_request_desc(req.hdr.type, &known);
        if (d && cv_replay_deepen(r, d, &req.u))
            return fail(r, "%s: could not rebuild vectors", name);
    }
    xid_put(c, req.hdr.xid, req.hdr.type);
    r->st.req[CV_REPLAY_OP_SLOT(req.hdr.type)]++;
    return compare(r, name, frame, len, out, cv_proto_encode_request(out, cap, &req));
}

static int replay_response(struct cv_replay *r, struct cv_replay_conn *c, const uint8_t *frame,
                           size_t len, uint8_t *out, size_t cap)
{
    if (len < 8)
        return fail(r, "reply shorter than its header");
    int32_t xid = (int32_t)cv_jute_rd32(frame + 4);
    int32_t op = CV_OP_NOTIFICATION;
    if (xid != CV_XID_NOTIFICATION && xid_op(c, xid, &op))
        return fail(r, "reply xid %d matches no request", xid);
    struct cv_response resp;
    int rc = cv_proto_decode_response(frame + 4, len - 4, op, &resp);
    const char *name = cv_proto_op_name(op);
    if (rc)
        return fail(r, "reply to %s (xid %d) did not decode: %d", name, xid, rc);
    if (resp.has_body) {
        if (op == CV_OP_MULTI || op == CV_OP_MULTI_READ)
            rc = cv_replay_deepen_multi(r, &resp.u.multi, 1);
        else
            rc = cv_replay_deepen(r, cv_proto_response_desc(resp.op), &resp.u);
        if (rc)
            return fail(r, "reply to %s: could not rebuild vectors", name);
    }
    if (op == CV_OP_NOTIFICATION) {
        r->st.notifications++;
    } else {
        r->st.resp[CV_REPLAY_OP_SLOT(op)]++;
        if (resp.hdr.err)
            r->st.resp_err[CV_REPLAY_OP_SLOT(op)]++;
    }
    return compare(r, name, frame, len, out, cv_proto_encode_response(out, cap, &resp));
}

int cv_replay_frame(struct cv_replay *r, int conn, char dir, const uint8_t *frame, size_t len)
{
    r->st.frames++;
    r->arena_used = 0;
    r->last_error[0] = 0;
    int rc;
    uint32_t plen;
    struct cv_replay_conn *c = conn > 0 ? conn_get(r, conn) : NULL;
    if (conn <= 0) {
        c = NULL;
        rc = fail(r, "connection id %d is not positive", conn);
    } else if (!c) {
        rc = fail(r, "more than %d connections", CV_REPLAY_MAX_CONNS);
    } else if (cv_proto_frame(frame, len, UINT32_MAX >> 1, &plen) != (int64_t)len) {
        rc = fail(r, "length prefix does not match the frame (%zu bytes)", len);
    } else {
        /* Re-encoded frames go to the arena's top half; rebuilt items to the bottom. */
        size_t cap = len + 64;
        uint8_t *out = r->arena + r->arena_size - cap;
        r->arena_size -= cap;
        if (dir == 'C' && !c->got_connect_req) {
            struct cv_connect_request cr;
            c->got_connect_req = 1;
            r->st.connect_req++;
            rc = cv_proto_decode_connect_request(frame + 4, len - 4, &cr);
            rc = rc ? fail(r, "ConnectRequest did not decode: %d", rc)
                    : compare(r, "ConnectRequest", frame, len, out,
                              cv_proto_encode_connect_request(out, cap, &cr));
        } else if (dir == 'S' && !c->got_connect_resp) {
            struct cv_connect_response cr;
            c->got_connect_resp = 1;
            r->st.connect_resp++;
            rc = cv_proto_decode_connect_response(frame + 4, len - 4, &cr);
            rc = rc ? fail(r, "ConnectResponse did not decode: %d", rc)
                    : compare(r, "ConnectResponse", frame, len, out,
                              cv_proto_encode_connect_response(out, cap, &cr));
        } else if (dir == 'C') {
            rc = replay_request(r, c, frame, len, out, cap);
        } else if (dir == 'S') {
            rc = replay_response(r, c, frame, len, out, cap);
        } else {
            rc = fail(r, "direction '%c' is neither C nor S", dir);
        }
        r->arena_size += cap;
    }
    if (rc)
        r->st.failed++;
    else
        r->st.ok++;
    return rc;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

int cv_replay_file(struct cv_replay *r, const char *path, FILE *log)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    /* Connection ids are per recording: each file starts from a clean slate. */
    memset(r->conns, 0, sizeof r->conns);
    size_t cap = 0;
    char *line = NULL;
    ssize_t n;
    int failures = 0, lineno = 0, rc = 0;
    uint8_t *frame = NULL;
    size_t frame_cap = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == 0)
            continue;
        int conn;
        char dir;
        int off = 0;
        if (sscanf(p, "%d %c %n", &conn, &dir, &off) != 2 || off == 0) {
            rc = -EINVAL;
            break;
        }
        char *hex = p + off;
        size_t hl = strcspn(hex, " \t\r\n");
        if (hl % 2) {
            rc = -EINVAL;
            break;
        }
        if (hl / 2 > frame_cap) {
            frame_cap = hl / 2;
            uint8_t *nf = realloc(frame, frame_cap);
            if (!nf) {
                rc = -ENOMEM;
                break;
            }
            frame = nf;
        }
        for (size_t i = 0; i < hl / 2; i++) {
            int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                rc = -EINVAL;
                break;
            }
            frame[i] = (uint8_t)(hi << 4 | lo);
        }
        if (rc)
            break;
        if (cv_replay_frame(r, conn, dir, frame, hl / 2)) {
            failures++;
            if (log)
                fprintf(log, "%s:%d: conn %d %c: %s\n", path, lineno, conn, dir, r->last_error);
        }
    }
    if (rc && log)
        fprintf(log, "%s:%d: not a '<conn> <C|S> <hex>' line\n", path, lineno);
    free(line);
    free(frame);
    fclose(f);
    return rc ? rc : failures;
}
