/*
 * cv_core read — the read half of ZooKeeper's FinalRequestProcessor, plus
 * the session-level requests that change no data (watches, whoAmI, ping,
 * sync), served from applied state.
 */
#include <string.h>

#include "cv_core_int.h"
#include "cv_path.h"

struct rd {
    struct cv_core *c;
    const struct cv_core_req *r;
    const struct cv_core_sink *sink;
};

static int encode(struct rd *x, struct cv_response *resp, int32_t err, uint8_t *out, size_t cap)
{
    resp->hdr.xid = x->r->req->hdr.xid;
    resp->hdr.zxid = x->c->last_applied;
    resp->hdr.err = err;
    resp->op = x->r->req->hdr.type;
    if (err)
        resp->has_body = 0;
    return cv_proto_encode_response(out, cap, resp);
}

/* Reads do not validate paths (ZooKeeper checks them only on writes). Its
 * DataTree also maps "" to the root, so getData("") answers the root. */
static const struct cv_znode *lookup(struct rd *x, const struct cv_jbuf *p)
{
    if (p->len < 0)
        return NULL;
    if (p->len == 0)
        return cv_tree_lookup(x->c->tree, "/", 1);
    return cv_tree_lookup(x->c->tree, (const char *)p->ptr, (size_t)p->len);
}

/* The node a read names: 0, CV_ZNONODE, or CV_ZMARSHALLINGERROR for a null
 * path (ZooKeeper: a NullPointerException inside FinalRequestProcessor). */
static int32_t find(struct rd *x, const struct cv_jbuf *p, const struct cv_znode **out)
{
    if (p->len < 0)
        return CV_ZMARSHALLINGERROR;
    *out = lookup(x, p);
    return *out ? 0 : CV_ZNONODE;
}

static int acl_check(struct rd *x, const struct cv_znode *n, int perm)
{
    const struct cv_acl *acls = NULL;
    int32_t count = 0;
    cv_tree_acl_get(x->c->tree, cv_znode_acl_id(n), &acls, &count);
    static const struct cv_acl_auth none;
    return cv_acl_check(acls, count, perm, x->r->auth ? x->r->auth : &none, x->c->cfg.super_digest);
}

static void watch(struct rd *x, const struct cv_jbuf *p, unsigned kind)
{
    /* -ENOMEM leaves no watch: the client is told nothing it can rely on
     * fires, which is the least bad answer without memory. */
    cv_watch_add(x->c->watches, (const char *)p->ptr, (size_t)p->len, x->r->session, kind);
}

/* Children names of n as an items array in scratch. */
static int children(struct rd *x, const struct cv_znode *n, struct cv_jvec *out)
{
    uint32_t count = cv_znode_num_children(n);
    struct cv_jbuf *items = cv_core_scratch(x->c, (size_t)count * sizeof *items + 1);
    if (!items)
        return -ENOBUFS;
    struct cv_tree_iter it;
    const struct cv_znode *ch;
    uint32_t i = 0;
    cv_tree_children(x->c->tree, n, &it);
    while ((ch = cv_tree_iter_next(x->c->tree, &it)) && i < count) {
        const char *name;
        size_t len;
        cv_znode_name(ch, &name, &len);
        items[i].ptr = (const uint8_t *)name;
        items[i].len = (int32_t)len;
        i++;
    }
    out->count = (int32_t)i;
    out->items = items;
    out->raw = NULL;
    return 0;
}

/* getData / getChildren as handleGetDataRequest / handleGetChildrenRequest. */
static int32_t get_data(struct rd *x, const struct cv_path_watch *q, struct cv_get_data_response *o)
{
    const struct cv_znode *n;
    int32_t err = find(x, &q->path, &n);
    if (err || (err = acl_check(x, n, CV_PERM_READ)))
        return err;
    int32_t len;
    cv_znode_data(x->c->tree, n, &o->data.ptr, &len);
    o->data.len = len;
    cv_znode_stat(x->c->tree, n, &o->stat);
    if (q->watch)
        watch(x, &q->path, CV_WATCH_DATA);
    return 0;
}

static int32_t get_children(struct rd *x, const struct cv_path_watch *q,
                            struct cv_children_response *o)
{
    const struct cv_znode *n;
    int32_t err = find(x, &q->path, &n);
    if (err || (err = acl_check(x, n, CV_PERM_READ)))
        return err;
    if (children(x, n, &o->children))
        return CV_ZSYSTEMERROR;
    cv_znode_stat(x->c->tree, n, &o->stat);
    if (q->watch)
        watch(x, &q->path, CV_WATCH_CHILD);
    return 0;
}

static int32_t get_acl(struct rd *x, const struct cv_path *q, struct cv_get_acl_response *o)
{
    const struct cv_znode *n;
    int32_t err = find(x, &q->path, &n);
    if (err || (err = acl_check(x, n, CV_PERM_READ | CV_PERM_ADMIN)))
        return err;
    const struct cv_acl *acls;
    int32_t count;
    cv_tree_acl_get(x->c->tree, cv_znode_acl_id(n), &acls, &count);
    cv_znode_stat(x->c->tree, n, &o->stat);
    struct cv_acl *items = cv_core_scratch(x->c, (size_t)count * sizeof *items + 1);
    if (!items)
        return CV_ZSYSTEMERROR;
    bool admin = acl_check(x, n, CV_PERM_ADMIN) == 0;
    for (int32_t i = 0; i < count; i++) {
        items[i] = acls[i];
        /* Without ADMIN, digest ids are shown as "user:x" (ZooKeeper 3.8). */
        const struct cv_jbuf *sc = &acls[i].id.scheme, *id = &acls[i].id.id;
        if (!admin && sc->len == 6 && memcmp(sc->ptr, "digest", 6) == 0 && id->len > 0) {
            const uint8_t *colon = memchr(id->ptr, ':', (size_t)id->len);
            if (colon) {
                size_t user = (size_t)(colon - id->ptr);
                uint8_t *masked = cv_core_scratch(x->c, user + 2);
                if (!masked)
                    return CV_ZSYSTEMERROR;
                memcpy(masked, id->ptr, user);
                masked[user] = ':';
                masked[user + 1] = 'x';
                items[i].id.id.ptr = masked;
                items[i].id.id.len = (int32_t)(user + 2);
            }
        }
    }
    o->acl.count = count;
    o->acl.items = items;
    o->acl.raw = NULL;
    return 0;
}

/* getEphemerals(prefix): the session's ephemerals starting with prefix
 * (a plain string prefix, as ZooKeeper; "" or "/" means all). */
struct eph_ctx {
    struct rd *x;
    const struct cv_jbuf *prefix;
    struct cv_jbuf *items;
    int32_t n, cap;
};

static int eph_visit(void *ctx, const char *path, size_t len, const struct cv_znode *node)
{
    struct eph_ctx *e = ctx;
    (void)node;
    const struct cv_jbuf *pf = e->prefix;
    bool all = pf->len <= 0 || (pf->len == 1 && pf->ptr[0] == '/');
    if (!all && (len < (size_t)pf->len || memcmp(path, pf->ptr, (size_t)pf->len) != 0))
        return 0;
    if (e->n == e->cap)
        return -ENOBUFS;
    char *copy = cv_core_scratch(e->x->c, len + 1);
    if (!copy)
        return -ENOBUFS;
    memcpy(copy, path, len);
    e->items[e->n].ptr = (const uint8_t *)copy;
    e->items[e->n].len = (int32_t)len;
    e->n++;
    return 0;
}

static int32_t get_ephemerals(struct rd *x, const struct cv_path *q, struct cv_children_response *o)
{
    if (q->path.len < 0)
        return CV_ZMARSHALLINGERROR;
    uint32_t total = cv_tree_ephemeral_count(x->c->tree, x->r->session);
    struct eph_ctx e = {x, &q->path,
                        cv_core_scratch(x->c, (size_t)total * sizeof(struct cv_jbuf) + 1), 0,
                        (int32_t)total};
    if (!e.items || cv_tree_ephemerals(x->c->tree, x->r->session, eph_visit, &e))
        return CV_ZSYSTEMERROR;
    o->children.count = e.n;
    o->children.items = e.items;
    o->children.raw = NULL;
    return 0;
}

/* SetWatches / SetWatches2 with ZooKeeper's relativeZxid rule. */
static void notify(struct rd *x, int event, const struct cv_jbuf *path)
{
    cv_core_notify(x->c, x->sink, x->r->session, event, (const char *)path->ptr, (size_t)path->len);
}

static void set_watches(struct rd *x, const struct cv_set_watches *w, bool v2)
{
    struct cv_jvec_iter it;
    struct cv_jbuf p;
    struct cv_stat st;
    cv_jvec_iter_init(&it, &w->data, NULL);
    while (cv_jvec_next(&it, &p)) {
        const struct cv_znode *n = lookup(x, &p);
        if (!n) {
            notify(x, CV_WATCH_EV_NODE_DELETED, &p);
            continue;
        }
        cv_znode_stat(x->c->tree, n, &st);
        if (st.mzxid > w->relative_zxid)
            notify(x, CV_WATCH_EV_NODE_DATA_CHANGED, &p);
        else
            watch(x, &p, CV_WATCH_DATA);
    }
    cv_jvec_iter_init(&it, &w->exist, NULL);
    while (cv_jvec_next(&it, &p)) {
        if (lookup(x, &p))
            notify(x, CV_WATCH_EV_NODE_CREATED, &p);
        else
            watch(x, &p, CV_WATCH_DATA);
    }
    cv_jvec_iter_init(&it, &w->child, NULL);
    while (cv_jvec_next(&it, &p)) {
        const struct cv_znode *n = lookup(x, &p);
        if (!n) {
            notify(x, CV_WATCH_EV_NODE_DELETED, &p);
            continue;
        }
        cv_znode_stat(x->c->tree, n, &st);
        if (st.pzxid > w->relative_zxid)
            notify(x, CV_WATCH_EV_NODE_CHILDREN_CHANGED, &p);
        else
            watch(x, &p, CV_WATCH_CHILD);
    }
    if (!v2)
        return;
    cv_jvec_iter_init(&it, &w->persistent, NULL);
    while (cv_jvec_next(&it, &p))
        watch(x, &p, CV_WATCH_PERSISTENT);
    cv_jvec_iter_init(&it, &w->persistent_recursive, NULL);
    while (cv_jvec_next(&it, &p))
        watch(x, &p, CV_WATCH_PERSISTENT_RECURSIVE);
}

static int32_t who_am_i(struct rd *x, struct cv_who_am_i_response *o)
{
    const struct cv_acl_auth *a = x->r->auth;
    unsigned n = a ? cv_acl_auth_count(a) : 0;
    struct cv_client_info *items = cv_core_scratch(x->c, n * sizeof *items + 1);
    if (!items)
        return CV_ZSYSTEMERROR;
    for (unsigned i = 0; i < n; i++) {
        struct cv_id id;
        cv_acl_auth_get(a, i, &id);
        items[i].auth_scheme = id.scheme;
        items[i].user = id.id;
        /* AuthUtil.getUser: a digest id shows its user name only. */
        if (id.scheme.len == 6 && memcmp(id.scheme.ptr, "digest", 6) == 0 && id.id.len > 0) {
            const uint8_t *colon = memchr(id.id.ptr, ':', (size_t)id.id.len);
            if (colon)
                items[i].user.len = (int32_t)(colon - id.id.ptr);
        }
    }
    o->client_info.count = (int32_t)n;
    o->client_info.items = items;
    o->client_info.raw = NULL;
    return 0;
}

static int32_t multi_read(struct rd *x, const struct cv_multi *m, struct cv_multi *o)
{
    struct cv_multi_result *res = cv_core_scratch(x->c, ((size_t)m->count + 1) * sizeof *res);
    if (!res)
        return CV_ZSYSTEMERROR;
    struct cv_multi_iter it;
    struct cv_multi_op op;
    cv_multi_iter_init(&it, m);
    int32_t k = 0;
    while (cv_multi_next_op(&it, &op)) {
        struct cv_multi_result *r = &res[k++];
        memset(r, 0, sizeof *r);
        int32_t err;
        if (op.hdr.type == CV_OP_GET_DATA) {
            err = get_data(x, &op.u.path_watch, &r->u.get_data);
        } else if (op.hdr.type == CV_OP_GET_CHILDREN) {
            err = get_children(x, &op.u.path_watch, &r->u.get_children);
        } else {
            return CV_ZMARSHALLINGERROR; /* "Invalid type of readOp" */
        }
        if (err) {
            memset(&r->u, 0, sizeof r->u);
            r->hdr.type = CV_OP_ERROR;
            r->u.error.value = err;
        } else {
            r->hdr.type = op.hdr.type;
        }
        r->hdr.err = err;
    }
    o->count = k;
    o->items = res;
    o->raw = NULL;
    o->end = cv_multi_end();
    return 0;
}

bool cv_core_is_read(int32_t op)
{
    switch (op) {
    case CV_OP_EXISTS:
    case CV_OP_GET_DATA:
    case CV_OP_GET_CHILDREN:
    case CV_OP_GET_CHILDREN2:
    case CV_OP_GET_ACL:
    case CV_OP_GET_ALL_CHILDREN_NUMBER:
    case CV_OP_GET_EPHEMERALS:
    case CV_OP_SYNC:
    case CV_OP_PING:
    case CV_OP_WHO_AM_I:
    case CV_OP_MULTI_READ:
    case CV_OP_SET_WATCHES:
    case CV_OP_SET_WATCHES2:
    case CV_OP_ADD_WATCH:
    case CV_OP_CHECK_WATCHES:
    case CV_OP_REMOVE_WATCHES: return true;
    }
    return false;
}

int cv_core_read(struct cv_core *c, const struct cv_core_req *r, const struct cv_core_sink *sink,
                 uint8_t *out, size_t cap)
{
    const struct cv_request *q = r->req;
    struct rd x = {c, r, sink};
    struct cv_response resp;
    memset(&resp, 0, sizeof resp);
    resp.has_body = 1;
    int32_t type = q->hdr.type;
    if (!cv_core_is_read(type))
        return -EINVAL;
    if (cv_core_session_pending(c, r->session))
        return CV_CORE_HOLD;
    c->scratch_used = 0;
    /* PrepRequestProcessor checks the session of every request, reads too. */
    struct cv_sess_info info;
    if (!r->local_session && (cv_sess_get(&c->sess, r->session, &info) || info.closing))
        return encode(&x, &resp, CV_ZSESSIONEXPIRED, out, cap);

    int32_t err = 0;
    switch (type) {
    case CV_OP_PING:
        resp.has_body = 0;
        resp.hdr.xid = CV_XID_PING;
        break;
    case CV_OP_EXISTS: {
        const struct cv_path_watch *w = &q->u.path_watch;
        if (w->path.len < 0) {
            err = CV_ZMARSHALLINGERROR;
            break;
        }
        if (memchr(w->path.ptr, 0, (size_t)w->path.len)) {
            err = CV_ZBADARGUMENTS;
            break;
        }
        /* ZooKeeper 3.8.0 checks no ACL for exists, and sets the watch
         * whether or not the node exists. */
        const struct cv_znode *n = lookup(&x, &w->path);
        if (w->watch)
            watch(&x, &w->path, CV_WATCH_DATA);
        if (!n) {
            err = CV_ZNONODE;
            break;
        }
        cv_znode_stat(c->tree, n, &resp.u.stat.stat);
        break;
    }
    case CV_OP_GET_DATA: err = get_data(&x, &q->u.path_watch, &resp.u.get_data); break;
    case CV_OP_GET_CHILDREN:
    case CV_OP_GET_CHILDREN2: err = get_children(&x, &q->u.path_watch, &resp.u.children); break;
    case CV_OP_GET_ACL: err = get_acl(&x, &q->u.path, &resp.u.get_acl); break;
    case CV_OP_GET_ALL_CHILDREN_NUMBER: {
        const struct cv_znode *n;
        if ((err = find(&x, &q->u.path.path, &n)) || (err = acl_check(&x, n, CV_PERM_READ)))
            break;
        resp.u.number.value = (int32_t)cv_tree_count_descendants(c->tree, n);
        break;
    }
    case CV_OP_GET_EPHEMERALS: err = get_ephemerals(&x, &q->u.path, &resp.u.children); break;
    case CV_OP_SYNC: resp.u.path = q->u.path; break;
    case CV_OP_WHO_AM_I: err = who_am_i(&x, &resp.u.who_am_i); break;
    case CV_OP_MULTI_READ: err = multi_read(&x, &q->u.multi, &resp.u.multi); break;
    case CV_OP_SET_WATCHES:
    case CV_OP_SET_WATCHES2:
        set_watches(&x, &q->u.set_watches, type == CV_OP_SET_WATCHES2);
        resp.has_body = 0;
        break;
    case CV_OP_ADD_WATCH: {
        /* ZooKeeper: no path validation; an unknown mode or a null path
         * throws inside FinalRequestProcessor, which answers MARSHALLINGERROR. */
        int kind = cv_watch_kind_from_add_mode(q->u.path_type.type);
        if (kind <= 0 || q->u.path_type.path.len < 0) {
            err = CV_ZMARSHALLINGERROR;
            break;
        }
        watch(&x, &q->u.path_type.path, (unsigned)kind);
        resp.u.number.value = 0;
        break;
    }
    case CV_OP_CHECK_WATCHES:
    case CV_OP_REMOVE_WATCHES: {
        const struct cv_path_type *w = &q->u.path_type;
        /* As ZooKeeper 3.8: an unknown watcher type is MARSHALLINGERROR;
         * checkWatches(null) too, removeWatches(null) finds no watcher. */
        if (w->path.len < 0) {
            err = cv_watch_kinds_of_type(w->type) && type == CV_OP_REMOVE_WATCHES
                      ? CV_ZNOWATCHER
                      : CV_ZMARSHALLINGERROR;
            break;
        }
        int rc = type == CV_OP_CHECK_WATCHES
                     ? cv_watch_check(c->watches, (const char *)w->path.ptr, (size_t)w->path.len,
                                      r->session, w->type)
                     : cv_watch_remove(c->watches, (const char *)w->path.ptr, (size_t)w->path.len,
                                       r->session, w->type);
        err = rc < 0 ? CV_ZMARSHALLINGERROR : rc == 0 ? CV_ZNOWATCHER : 0;
        resp.has_body = 0;
        break;
    }
    }
    int32_t xid_override = type == CV_OP_PING ? CV_XID_PING : q->hdr.xid;
    int n = encode(&x, &resp, err, out, cap);
    if (n > 0 && type == CV_OP_PING)
        cv_jute_wr32(out + 4, (uint32_t)xid_override);
    return n;
}
