/*
 * cv_tree snapshots: serialize / deserialize (format in cv_tree.h).
 *
 * A node's snapshot record is its parent delta and ACL number followed by the
 * in-memory record body verbatim (name length, name, stat varints, data
 * length, data): the in-memory encoding was chosen to be the wire encoding.
 * The reader never trusts it: every varint and length is bounds-checked and
 * the nodes are rebuilt through the same insert path as creates.
 */
#include "cv_tree_int.h"

#define SNAP_MAGIC      "CVTR"
#define SNAP_HDR        20u /* magic, version, node count, acl count */
#define SNAP_TRAILER    12u /* digest, crc32c */
#define SNAP_MIN_NODE   13u /* delta, acl, name len, 9 stat varints, data len */
#define SNAP_MIN_ACL    3u  /* perms, scheme len, id len */
#define SNAP_WBUF_BYTES (64u * 1024u)

static inline void wr64(uint8_t *p, uint64_t v)
{
    cv_jute_wr32(p, (uint32_t)(v >> 32));
    cv_jute_wr32(p + 4, (uint32_t)v);
}

static inline uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)cv_jute_rd32(p) << 32 | cv_jute_rd32(p + 4);
}

/* ---- writer ------------------------------------------------------------------- */

struct wbuf {
    uint8_t *buf;
    size_t len;
    uint32_t crc;
    int (*write)(void *ctx, const void *p, size_t n);
    void *ctx;
    int err;
};

static void wflush(struct wbuf *w)
{
    if (w->err || !w->len)
        return;
    w->crc = cv_crc32c_update(w->crc, w->buf, w->len);
    int rc = w->write(w->ctx, w->buf, w->len);
    if (rc)
        w->err = rc < 0 ? rc : -EIO;
    w->len = 0;
}

static void wbytes(struct wbuf *w, const void *p, size_t n)
{
    const uint8_t *s = p;
    while (n && !w->err) {
        if (w->len == SNAP_WBUF_BYTES)
            wflush(w);
        size_t k = SNAP_WBUF_BYTES - w->len;
        if (k > n)
            k = n;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
    }
}

static void wvar(struct wbuf *w, uint64_t v)
{
    uint8_t b[10];
    wbytes(w, b, cv_vput(b, v));
}

struct ser_ctx {
    const struct cv_tree *t;
    struct wbuf *w;
    const uint32_t *acl_seq;
    uint64_t seq;
    uint64_t *stack; /* seq by depth */
    size_t stack_cap;
    int err;
};

static int ser_node(void *ctx, uint32_t id, uint32_t depth, const char *path, size_t plen)
{
    (void)path;
    (void)plen;
    struct ser_ctx *c = ctx;
    const struct cv_znode *n = c->t->nodes[id];
    if (depth >= c->stack_cap) {
        size_t ncap = c->stack_cap * 2;
        uint64_t *ns = realloc(c->stack, ncap * sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        c->stack = ns;
        c->stack_cap = ncap;
    }
    uint64_t seq = c->seq++;
    c->stack[depth] = seq;
    wvar(c->w, depth ? seq - c->stack[depth - 1] : 0);
    wvar(c->w, c->acl_seq[n->acl]);
    const uint8_t *d;
    int32_t dlen;
    cv_tree__data(n, &d, &dlen);
    const uint8_t *end = d ? d + dlen : cv_zn_stat_ptr(n) + n->slen + 1;
    wbytes(c->w, n->body, (size_t)(end - n->body));
    return c->w->err;
}

int cv_tree_serialize(const struct cv_tree *t, int (*write)(void *ctx, const void *p, size_t n),
                      void *ctx)
{
    struct wbuf w = {malloc(SNAP_WBUF_BYTES), 0, 0, write, ctx, 0};
    uint32_t *acl_seq = calloc(t->acls_hwm + 1, sizeof(uint32_t));
    struct ser_ctx c = {t, &w, acl_seq, 0, malloc(64 * sizeof(uint64_t)), 64, 0};
    int rc = -ENOMEM;
    if (!w.buf || !acl_seq || !c.stack)
        goto out;

    uint8_t hdr[SNAP_HDR];
    memcpy(hdr, SNAP_MAGIC, 4);
    cv_jute_wr32(hdr + 4, CV_TREE_SNAP_VERSION);
    wr64(hdr + 8, t->node_count);
    cv_jute_wr32(hdr + 16, t->acl_live);
    wbytes(&w, hdr, sizeof(hdr));

    uint32_t seq = 0;
    for (uint32_t id = 1; id < t->acls_hwm; id++) {
        const struct cv_acl_ent *e = &t->acls[id];
        if (!e->refs)
            continue;
        acl_seq[id] = ++seq;
        wvar(&w, (uint64_t)e->count);
        for (int32_t i = 0; i < e->count; i++) {
            const struct cv_acl *a = &e->items[i];
            wvar(&w, (uint32_t)a->perms);
            const struct cv_jbuf *bs[2] = {&a->id.scheme, &a->id.id};
            for (int k = 0; k < 2; k++) {
                wvar(&w, (uint64_t)((int64_t)bs[k]->len + 1));
                if (bs[k]->len > 0)
                    wbytes(&w, bs[k]->ptr, (size_t)bs[k]->len);
            }
        }
    }
    CV_VERIFY(seq == t->acl_live);

    rc = cv_tree__walk(t, ser_node, &c);
    if (rc)
        goto out;
    CV_VERIFY(c.seq == t->node_count);
    uint8_t dg[8];
    wr64(dg, t->digest);
    wbytes(&w, dg, sizeof(dg));
    wflush(&w);
    uint8_t crc[4];
    cv_jute_wr32(crc, w.crc);
    wbytes(&w, crc, sizeof(crc));
    wflush(&w);
    rc = w.err;
out:
    free(w.buf);
    free(acl_seq);
    free(c.stack);
    return rc;
}

/* ---- reader ------------------------------------------------------------------- */

struct rd {
    const uint8_t *p, *end;
    int bad;
};

static uint64_t rvar(struct rd *r)
{
    uint64_t v = 0;
    size_t k = r->bad ? 0 : cv_vget(r->p, r->end, &v);
    if (!k) {
        r->bad = 1;
        return 0;
    }
    r->p += k;
    return v;
}

/* A length prefix: v <= what is left. */
static size_t rlen(struct rd *r, uint64_t v)
{
    if (r->bad || v > (uint64_t)(r->end - r->p)) {
        r->bad = 1;
        return 0;
    }
    return (size_t)v;
}

/* varint len+1 then bytes: a jbuf into the input. */
static struct cv_jbuf rbuf(struct rd *r)
{
    struct cv_jbuf b = {NULL, -1};
    uint64_t v = rvar(r);
    if (r->bad || v == 0)
        return b;
    size_t l = rlen(r, v - 1);
    if (r->bad || l > INT32_MAX) {
        r->bad = 1;
        return b;
    }
    b.ptr = r->p;
    b.len = (int32_t)l;
    r->p += l;
    return b;
}

struct frame {
    uint64_t seq;
    uint32_t id;
    size_t plen; /* path length ("" for the root) */
};

static int load_acls(struct cv_tree *t, struct rd *r, uint32_t n, uint32_t *seq2id)
{
    struct cv_acl *items = NULL;
    size_t items_cap = 0;
    int rc = 0;
    for (uint32_t s = 1; s <= n && rc == 0; s++) {
        uint64_t cnt = rvar(r);
        if (r->bad || cnt > (uint64_t)(r->end - r->p) / SNAP_MIN_ACL) {
            rc = -EBADMSG;
            break;
        }
        if (cnt > items_cap) {
            struct cv_acl *ni = realloc(items, (size_t)cnt * sizeof(*ni));
            if (!ni) {
                rc = -ENOMEM;
                break;
            }
            items = ni;
            items_cap = (size_t)cnt;
        }
        for (uint64_t i = 0; i < cnt; i++) {
            uint64_t perms = rvar(r);
            if (perms > UINT32_MAX)
                r->bad = 1;
            items[i].perms = (int32_t)(uint32_t)perms;
            items[i].id.scheme = rbuf(r);
            items[i].id.id = rbuf(r);
        }
        if (r->bad) {
            rc = -EBADMSG;
            break;
        }
        rc = cv_tree_acl_intern(t, items, (int32_t)cnt, &seq2id[s]);
        if (rc == -EINVAL)
            rc = -EBADMSG;
    }
    free(items);
    return rc;
}

static int load_nodes(struct cv_tree *t, struct rd *r, uint64_t count, uint32_t nacl,
                      const uint32_t *seq2id)
{
    size_t scap = 64, depth = 0, pcap = 256;
    struct frame *st = malloc(scap * sizeof(*st));
    char *path = malloc(pcap);
    int rc = 0;
    if (!st || !path) {
        rc = -ENOMEM;
        goto out;
    }
    for (uint64_t seq = 0; seq < count; seq++) {
        uint64_t delta = rvar(r);
        uint64_t acl = rvar(r);
        const uint8_t *body = r->p;
        size_t nlen = rlen(r, rvar(r));
        const uint8_t *name = r->p;
        r->p += nlen;
        struct cv_stat_persisted s;
        size_t k = r->bad ? 0 : cv_tree__stat_decode(r->p, r->end, &s);
        if (!k)
            r->bad = 1;
        r->p += k;
        uint64_t dv = rvar(r);
        const uint8_t *data = NULL;
        int32_t dlen = -1;
        if (!r->bad && dv > 0) {
            size_t l = rlen(r, dv - 1);
            if (l > INT32_MAX)
                r->bad = 1;
            data = r->p;
            dlen = (int32_t)l;
            r->p += r->bad ? 0 : l;
        }
        (void)body;
        if (r->bad || acl == 0 || acl > nacl || (seq == 0) != (delta == 0) || delta > seq ||
            (seq == 0) != (nlen == 0) || memchr(name, '/', nlen) || memchr(name, 0, nlen)) {
            rc = -EBADMSG;
            goto out;
        }
        uint32_t acl_id = seq2id[acl];
        if (seq == 0) {
            rc = cv_tree__init_root(t, acl_id, &s, data, dlen);
            if (rc)
                goto out;
            st[0] = (struct frame){0, CV_ROOT_ID, 0};
            depth = 1;
            continue;
        }
        uint64_t pseq = seq - delta;
        while (depth > 0 && st[depth - 1].seq != pseq)
            depth--;
        if (depth == 0) { /* not an ancestor of the previous node: not pre-order */
            rc = -EBADMSG;
            goto out;
        }
        const struct frame *pf = &st[depth - 1];
        size_t plen = pf->plen + 1 + nlen;
        if (plen > pcap) {
            while (plen > pcap)
                pcap *= 2;
            char *np = realloc(path, pcap);
            if (!np) {
                rc = -ENOMEM;
                goto out;
            }
            path = np;
        }
        path[pf->plen] = '/';
        memcpy(path + pf->plen + 1, name, nlen);
        uint32_t id;
        rc = cv_tree__insert(t, pf->id, name, nlen, &s, data, dlen, acl_id, path, plen, &id);
        if (rc)
            goto out;
        if (depth == scap) {
            struct frame *ns = realloc(st, scap * 2 * sizeof(*ns));
            if (!ns) {
                rc = -ENOMEM;
                goto out;
            }
            st = ns;
            scap *= 2;
        }
        st[depth++] = (struct frame){seq, id, plen};
    }
out:
    free(st);
    free(path);
    if (rc == -EEXIST || rc == -EINVAL)
        rc = -EBADMSG;
    return rc;
}

int cv_tree_deserialize(struct cv_tree **out, const uint8_t *p, size_t n)
{
    *out = NULL;
    if (n < SNAP_HDR + SNAP_TRAILER + SNAP_MIN_NODE)
        return -EBADMSG;
    if (cv_crc32c(p, n - 4) != cv_jute_rd32(p + n - 4))
        return -EBADMSG;
    if (memcmp(p, SNAP_MAGIC, 4) != 0 || cv_jute_rd32(p + 4) != CV_TREE_SNAP_VERSION)
        return -EBADMSG;
    uint64_t count = rd64(p + 8);
    uint32_t nacl = cv_jute_rd32(p + 16);
    struct rd r = {p + SNAP_HDR, p + n - SNAP_TRAILER, 0};
    size_t left = (size_t)(r.end - r.p);
    if (count == 0 || count > left / SNAP_MIN_NODE || nacl == 0 || nacl > left)
        return -EBADMSG;

    struct cv_tree *t = cv_tree__new_empty();
    uint32_t *seq2id = calloc((size_t)nacl + 1, sizeof(uint32_t));
    int rc = -ENOMEM;
    if (!t || !seq2id)
        goto fail;
    rc = load_acls(t, &r, nacl, seq2id);
    if (rc)
        goto fail;
    rc = load_nodes(t, &r, count, nacl, seq2id);
    if (rc)
        goto fail;
    if (r.p != r.end || rd64(r.end) != t->digest) {
        rc = -EBADMSG;
        goto fail;
    }
    /* The loader's references go; the tree keeps its own on the two lists
     * every tree has. */
    static const uint8_t world[] = "world", anyone[] = "anyone";
    struct cv_acl acl = {31, {{world, 5}, {anyone, 6}}};
    rc = cv_tree_acl_intern(t, &acl, 1, &t->acl_open);
    acl.perms = 1;
    if (!rc)
        rc = cv_tree_acl_intern(t, &acl, 1, &t->acl_read);
    if (rc)
        goto fail;
    for (uint32_t s = 1; s <= nacl; s++)
        cv_tree__acl_unref(t, seq2id[s]);
    free(seq2id);
    *out = t;
    return 0;
fail:
    /* Unreleased loader references die with the tree. */
    free(seq2id);
    cv_tree_free(t);
    return rc;
}
