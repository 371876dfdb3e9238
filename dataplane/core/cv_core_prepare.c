/*
 * cv_core prepare — ZooKeeper's PrepRequestProcessor: validate a write
 * against the state-to-be and turn it into a transaction. The order of the
 * checks (and so which error a bad request gets) follows ZooKeeper 3.8.
 */
#include <stdio.h>
#include <string.h>

#include "cv_core_int.h"
#include "cv_path.h"

/* ZooKeeper CreateMode flags. */
enum {
    M_PERSISTENT,
    M_EPHEMERAL,
    M_PERSISTENT_SEQ,
    M_EPHEMERAL_SEQ,
    M_CONTAINER,
    M_TTL,
    M_TTL_SEQ
};

struct prep {
    struct cv_core *c;
    int64_t session;
    const struct cv_acl_auth *auth;
    int64_t zxid;
    int64_t time;
    int internal; /* a negative errno that aborts the whole prepare (-EBUSY, -ENOBUFS) */
};

/* One prepared operation: its transaction type and body (strings point into
 * the request or the scratch arena). err != 0 makes it an error txn. */
struct op_txn {
    int32_t type;
    int32_t err;
    struct cv_txn txn;
};

static struct cv_jbuf jb(const char *p, size_t n)
{
    struct cv_jbuf b = {(const uint8_t *)p, (int32_t)n};
    return b;
}

static int session_check(struct prep *p)
{
    struct cv_sess_info info;
    if (cv_sess_get(&p->c->sess, p->session, &info) || info.closing)
        return CV_ZSESSIONEXPIRED;
    return 0;
}

static int add_change(struct prep *p, const char *path, size_t len, const struct cv_view *v)
{
    int rc = cv_core_change_add(p->c, p->zxid, path, len, v);
    if (rc)
        p->internal = rc;
    return rc;
}

static int check_acl(struct prep *p, uint32_t acl_id, int perm)
{
    const struct cv_acl *acls = NULL;
    int32_t n = 0;
    if (acl_id && cv_tree_acl_get(p->c->tree, acl_id, &acls, &n))
        return CV_ZSYSTEMERROR;
    return cv_acl_check(acls, n, perm, p->auth, p->c->cfg.super_digest);
}

/* ZooKeeper's checkAndIncVersion: -1 matches any version. */
static int check_version(int32_t current, int32_t expected, int32_t *next)
{
    if (expected != -1 && expected != current)
        return CV_ZBADVERSION;
    *next = current + 1;
    return 0;
}

/* fixupACL into the scratch arena; returns the count or a ZooKeeper error. */
static int fixup_acl(struct prep *p, const struct cv_jvec *in, struct cv_acl **out)
{
    int32_t n = in->count;
    if (n <= 0)
        return CV_ZINVALIDACL;
    if (n > CV_ACL_MAX_ENTRIES)
        return CV_ZINVALIDACL;
    struct cv_acl *src = cv_core_scratch(p->c, (size_t)n * sizeof *src);
    size_t bytes = in->raw_len + (size_t)n * CV_ACL_FIXUP_BUF_PER_ENTRY;
    int out_cap = n * CV_ACL_AUTH_MAX_IDS;
    struct cv_acl *dst = cv_core_scratch(p->c, (size_t)out_cap * sizeof *dst);
    uint8_t *buf = cv_core_scratch(p->c, bytes);
    if (!src || !dst || !buf) {
        p->internal = -ENOBUFS;
        return CV_ZSYSTEMERROR;
    }
    struct cv_jvec_iter it;
    cv_jvec_iter_init(&it, in, &cv_rec_acl);
    for (int32_t i = 0; i < n; i++)
        if (!cv_jvec_next(&it, &src[i]))
            return CV_ZMARSHALLINGERROR;
    int k = cv_acl_fixup(src, n, p->auth, dst, out_cap, buf, bytes);
    if (k == -ENOBUFS) {
        p->internal = -ENOBUFS;
        return CV_ZSYSTEMERROR;
    }
    if (k < 0)
        return k;
    *out = dst;
    return k;
}

static int view_parent(struct prep *p, const char *path, size_t len, size_t plen,
                       struct cv_view *parent)
{
    /* The parent of "/x" is "/"; of "/" ZooKeeper's "" (the root too). */
    const char *pp = plen ? path : "/";
    size_t pl = plen ? plen : 1;
    (void)len;
    return cv_core_view(p->c, pp, pl, parent) ? 0 : CV_ZNONODE;
}

/* ---- create, create2, createContainer, createTTL -------------------------- */

static int prep_create(struct prep *p, int32_t type, const struct cv_create_request *r,
                       struct op_txn *o)
{
    int32_t flags = r->flags;
    int64_t ttl = type == CV_OP_CREATE_TTL ? r->ttl : -1;
    if (flags < M_PERSISTENT || flags > M_TTL_SEQ)
        return CV_ZBADARGUMENTS; /* CreateMode.fromFlag */
    bool is_ttl = flags == M_TTL || flags == M_TTL_SEQ;
    bool is_seq = flags == M_PERSISTENT_SEQ || flags == M_EPHEMERAL_SEQ || flags == M_TTL_SEQ;
    bool is_eph = flags == M_EPHEMERAL || flags == M_EPHEMERAL_SEQ;
    bool is_container = flags == M_CONTAINER;
    /* validateCreateRequest */
    if (is_ttl && !p->c->cfg.extended_types)
        return CV_ZUNIMPLEMENTED;
    if (is_ttl ? (ttl <= 0 || ttl > CV_OWNER_TTL_MAX) : ttl > -1)
        return CV_ZBADARGUMENTS; /* EphemeralType.validateTTL */
    /* createTTL with a mode that is not TTL and ttl < 0 passes ZooKeeper's
     * validation, is logged, and then kills the server when it applies
     * (toEphemeralOwner throws). Refuse it as validateTTL does ttl >= 0. */
    if (type == CV_OP_CREATE_TTL && !is_ttl)
        return CV_ZBADARGUMENTS;
    int err = session_check(p);
    if (err)
        return err;
    /* validatePathForCreate */
    if (r->path.len < 0)
        return CV_ZBADARGUMENTS;
    const char *path = (const char *)r->path.ptr;
    size_t len = (size_t)r->path.len, plen;
    if (!cv_path_parent(path, len, &plen))
        return CV_ZBADARGUMENTS;
    struct cv_acl *acls;
    int nacl = fixup_acl(p, &r->acl, &acls);
    if (nacl < 0)
        return nacl;
    struct cv_view parent;
    if ((err = view_parent(p, path, len, plen, &parent)))
        return err;
    if ((err = check_acl(p, parent.acl_id, CV_PERM_CREATE)))
        return err;
    if (is_seq) {
        char *np = cv_core_scratch(p->c, len + 12);
        if (!np) {
            p->internal = -ENOBUFS;
            return CV_ZSYSTEMERROR;
        }
        memcpy(np, path, len);
        len += (size_t)snprintf(np + len, 12, "%010d", parent.cversion);
        path = np;
    }
    if (!cv_path_valid(path, len))
        return CV_ZBADARGUMENTS;
    struct cv_view node;
    if (cv_core_view(p->c, path, len, &node))
        return CV_ZNODEEXISTS;
    if (cv_owner_is_session(parent.owner))
        return CV_ZNOCHILDRENFOREPHEMERALS;
    int32_t new_cversion = parent.cversion + 1;

    int64_t owner = 0;
    if (is_container)
        owner = CV_OWNER_CONTAINER;
    else if (is_ttl)
        owner = cv_owner_make_ttl(ttl);
    else if (is_eph)
        owner = p->session;

    /* Transaction: the type names the record (CreateTxn for create/create2). */
    struct cv_create_txn *ct = &o->txn.u.create;
    ct->path = jb(path, len);
    ct->data = r->data;
    ct->acl.count = nacl;
    ct->acl.items = acls;
    ct->acl.raw = NULL;
    ct->ephemeral = is_eph;
    ct->parent_cversion = new_cversion;
    ct->ttl = ttl;
    o->type = type;

    uint32_t acl_id;
    if (cv_tree_acl_intern(p->c->tree, acls, nacl, &acl_id)) {
        p->internal = -ENOMEM;
        return CV_ZSYSTEMERROR;
    }
    struct cv_view np = parent;
    np.child_count++;
    np.cversion = new_cversion;
    struct cv_view nn = {true, 0, 0, 0, 0, owner, acl_id};
    int rc = add_change(p, plen ? path : "/", plen ? plen : 1, &np);
    if (rc == 0)
        rc = add_change(p, path, len, &nn);
    cv_tree_acl_release(p->c->tree, acl_id);
    return rc ? CV_ZSYSTEMERROR : 0;
}

/* ---- delete / deleteContainer --------------------------------------------- */

static int parent_and_validate(struct prep *p, const char *path, size_t len, size_t *plen)
{
    /* getParentPathAndValidate */
    if (!cv_path_parent(path, len, plen) || cv_path_is_special(path, len))
        return CV_ZBADARGUMENTS;
    (void)p;
    return 0;
}

static int prep_delete(struct prep *p, const struct cv_path_version *r, struct op_txn *o)
{
    int err = session_check(p);
    if (err)
        return err;
    if (r->path.len < 0)
        return CV_ZBADARGUMENTS;
    const char *path = (const char *)r->path.ptr;
    size_t len = (size_t)r->path.len, plen;
    if ((err = parent_and_validate(p, path, len, &plen)))
        return err;
    struct cv_view parent, node;
    if ((err = view_parent(p, path, len, plen, &parent)))
        return err;
    if ((err = check_acl(p, parent.acl_id, CV_PERM_DELETE)))
        return err;
    if (!cv_core_view(p->c, path, len, &node))
        return CV_ZNONODE;
    int32_t next;
    if ((err = check_version(node.version, r->version, &next)))
        return err;
    if (node.child_count > 0)
        return CV_ZNOTEMPTY;
    o->type = CV_OP_DELETE;
    o->txn.u.path.path = r->path;
    struct cv_view np = parent, gone;
    np.child_count--;
    memset(&gone, 0, sizeof gone);
    if (add_change(p, plen ? path : "/", plen ? plen : 1, &np) || add_change(p, path, len, &gone))
        return CV_ZSYSTEMERROR;
    return 0;
}

/* ContainerManager's deleteContainer: a childless container or TTL node. */
static int prep_delete_container(struct prep *p, const char *path, size_t len, struct op_txn *o)
{
    size_t plen;
    int err = parent_and_validate(p, path, len, &plen);
    if (err)
        return err;
    struct cv_view node, parent;
    if (!cv_core_view(p->c, path, len, &node))
        return CV_ZNONODE;
    if (node.child_count > 0)
        return CV_ZNOTEMPTY;
    if (cv_owner_is_session(node.owner))
        return CV_ZBADVERSION;
    if ((err = view_parent(p, path, len, plen, &parent)))
        return err;
    o->type = CV_OP_DELETE_CONTAINER;
    o->txn.u.path.path = jb(path, len);
    struct cv_view np = parent, gone;
    np.child_count--;
    memset(&gone, 0, sizeof gone);
    if (add_change(p, plen ? path : "/", plen ? plen : 1, &np) || add_change(p, path, len, &gone))
        return CV_ZSYSTEMERROR;
    return 0;
}

/* ---- setData, setACL, check ----------------------------------------------- */

static int valid_path(const struct cv_jbuf *b)
{
    return b->len >= 0 && cv_path_valid((const char *)b->ptr, (size_t)b->len);
}

static int prep_set_data(struct prep *p, const struct cv_set_data *r, struct op_txn *o)
{
    int err = session_check(p);
    if (err)
        return err;
    if (!valid_path(&r->path))
        return CV_ZBADARGUMENTS;
    const char *path = (const char *)r->path.ptr;
    size_t len = (size_t)r->path.len;
    struct cv_view node;
    if (!cv_core_view(p->c, path, len, &node))
        return CV_ZNONODE;
    if ((err = check_acl(p, node.acl_id, CV_PERM_WRITE)))
        return err;
    int32_t next;
    if ((err = check_version(node.version, r->version, &next)))
        return err;
    o->type = CV_OP_SET_DATA;
    o->txn.u.set_data.path = r->path;
    o->txn.u.set_data.data = r->data;
    o->txn.u.set_data.version = next;
    node.version = next;
    return add_change(p, path, len, &node) ? CV_ZSYSTEMERROR : 0;
}

static int prep_set_acl(struct prep *p, const struct cv_set_acl *r, struct op_txn *o)
{
    int err = session_check(p);
    if (err)
        return err;
    if (!valid_path(&r->path))
        return CV_ZBADARGUMENTS;
    struct cv_acl *acls;
    int nacl = fixup_acl(p, &r->acl, &acls);
    if (nacl < 0)
        return nacl;
    const char *path = (const char *)r->path.ptr;
    size_t len = (size_t)r->path.len;
    struct cv_view node;
    if (!cv_core_view(p->c, path, len, &node))
        return CV_ZNONODE;
    if ((err = check_acl(p, node.acl_id, CV_PERM_ADMIN)))
        return err;
    int32_t next;
    if ((err = check_version(node.aversion, r->version, &next)))
        return err;
    o->type = CV_OP_SET_ACL;
    o->txn.u.set_acl.path = r->path;
    o->txn.u.set_acl.acl.count = nacl;
    o->txn.u.set_acl.acl.items = acls;
    o->txn.u.set_acl.acl.raw = NULL;
    o->txn.u.set_acl.version = next;
    uint32_t acl_id;
    if (cv_tree_acl_intern(p->c->tree, acls, nacl, &acl_id)) {
        p->internal = -ENOMEM;
        return CV_ZSYSTEMERROR;
    }
    node.aversion = next;
    node.acl_id = acl_id;
    int rc = add_change(p, path, len, &node);
    cv_tree_acl_release(p->c->tree, acl_id);
    return rc ? CV_ZSYSTEMERROR : 0;
}

static int prep_check(struct prep *p, const struct cv_path_version *r, struct op_txn *o)
{
    int err = session_check(p);
    if (err)
        return err;
    if (!valid_path(&r->path))
        return CV_ZBADARGUMENTS;
    struct cv_view node;
    if (!cv_core_view(p->c, (const char *)r->path.ptr, (size_t)r->path.len, &node))
        return CV_ZNONODE;
    if ((err = check_acl(p, node.acl_id, CV_PERM_READ)))
        return err;
    int32_t next;
    if ((err = check_version(node.version, r->version, &next)))
        return err;
    o->type = CV_OP_CHECK;
    o->txn.u.check.path = r->path;
    o->txn.u.check.version = next; /* ZooKeeper logs the incremented version */
    return 0;
}

/* ---- closeSession --------------------------------------------------------- */

/* paths2Delete: the session's ephemerals as the state-to-be has them. */
struct close_ctx {
    struct prep *p;
    struct cv_jbuf *paths;
    int32_t n, cap;
    int err;
};

static int close_add(struct close_ctx *x, const char *path, size_t len)
{
    if (x->n == x->cap) {
        x->err = -ENOBUFS;
        return 1;
    }
    char *copy = cv_core_scratch(x->p->c, len);
    if (!copy) {
        x->err = -ENOBUFS;
        return 1;
    }
    memcpy(copy, path, len);
    x->paths[x->n++] = jb(copy, len);
    return 0;
}

static int close_from_tree(void *ctx, const char *path, size_t len, const struct cv_znode *n)
{
    struct close_ctx *x = ctx;
    struct cv_view v;
    (void)n;
    /* Still this session's once everything outstanding applies? */
    if (cv_core_view(x->p->c, path, len, &v) && v.owner == x->p->session)
        return close_add(x, path, len);
    return 0;
}

static int close_from_changes(void *ctx, const char *path, size_t len, const struct cv_view *v)
{
    struct close_ctx *x = ctx;
    if (!v->exists || v->owner != x->p->session)
        return 0;
    const struct cv_znode *n = cv_tree_lookup(x->p->c->tree, path, len);
    if (n && cv_znode_owner(n) == x->p->session)
        return 0; /* listed from the tree already */
    return close_add(x, path, len);
}

static int prep_close_session(struct prep *p, struct op_txn *o)
{
    struct cv_core *c = p->c;
    struct close_ctx x = {p, NULL, 0, 0, 0};
    x.cap = (int32_t)(cv_tree_ephemeral_count(c->tree, p->session) + cv_core_change_count(c));
    x.paths = cv_core_scratch(c, ((size_t)x.cap + 1) * sizeof *x.paths);
    if (!x.paths) {
        p->internal = -ENOBUFS;
        return CV_ZSYSTEMERROR;
    }
    int rc = cv_tree_ephemerals(c->tree, p->session, close_from_tree, &x);
    if (rc == 0)
        rc = cv_core_change_foreach(c, close_from_changes, &x);
    if (rc < 0 || x.err) {
        p->internal = x.err ? x.err : rc;
        return CV_ZSYSTEMERROR;
    }
    for (int32_t i = 0; i < x.n; i++) {
        const char *path = (const char *)x.paths[i].ptr;
        size_t len = (size_t)x.paths[i].len, plen;
        struct cv_view parent, gone;
        memset(&gone, 0, sizeof gone);
        if (cv_path_parent(path, len, &plen) && view_parent(p, path, len, plen, &parent) == 0) {
            parent.child_count--;
            if (add_change(p, plen ? path : "/", plen ? plen : 1, &parent))
                return CV_ZSYSTEMERROR;
        }
        if (add_change(p, path, len, &gone))
            return CV_ZSYSTEMERROR;
    }
    o->type = CV_OP_CLOSE_SESSION;
    o->txn.has_body = 1;
    o->txn.u.close_session.children.count = x.n;
    o->txn.u.close_session.children.items = x.paths;
    o->txn.u.close_session.children.raw = NULL;
    return 0;
}

/* ---- one op, multi, and the entry points ---------------------------------- */

static int prep_op(struct prep *p, int32_t type, const void *body, struct op_txn *o)
{
    memset(o, 0, sizeof *o);
    o->txn.has_body = 1;
    switch (type) {
    case CV_OP_CREATE:
    case CV_OP_CREATE2:
    case CV_OP_CREATE_CONTAINER:
    case CV_OP_CREATE_TTL: return prep_create(p, type, body, o);
    case CV_OP_DELETE: return prep_delete(p, body, o);
    case CV_OP_SET_DATA: return prep_set_data(p, body, o);
    case CV_OP_SET_ACL: return prep_set_acl(p, body, o);
    case CV_OP_CHECK: return prep_check(p, body, o);
    }
    return CV_ZBADARGUMENTS; /* not an op a write can carry */
}

/* Encode one op's body (no header) for a MultiTxn entry. */
static int encode_body(struct cv_core *c, const struct op_txn *o, struct cv_txn_entry *e)
{
    int32_t type = o->err ? CV_OP_ERROR : o->type;
    struct cv_int_record er = {o->err};
    const struct cv_jrec_desc *d = cv_proto_txn_desc(type);
    const void *body = o->err ? (const void *)&er : (const void *)&o->txn.u;
    size_t n = cv_jute_encoded_size(d, body);
    uint8_t *buf = cv_core_scratch(c, n);
    if (!buf)
        return -ENOBUFS;
    struct cv_jute_out out;
    cv_jute_out_init(&out, buf, n);
    if (cv_jute_encode(d, &out, body))
        return -ENOBUFS;
    e->type = type;
    e->data.ptr = buf;
    e->data.len = (int32_t)n;
    return 0;
}

static int prep_multi(struct prep *p, const struct cv_multi *m, struct cv_txn *t)
{
    struct cv_core *c = p->c;
    int32_t n = m->count;
    struct cv_txn_entry *entries = cv_core_scratch(c, ((size_t)n + 1) * sizeof *entries);
    struct op_txn *o = cv_core_scratch(c, sizeof *o);
    if (!entries || !o)
        return -ENOBUFS;
    struct cv_multi_iter it;
    cv_multi_iter_init(&it, m);
    struct cv_multi_op op;
    bool failed = false;
    for (int32_t i = 0; i < n; i++) {
        if (!cv_multi_next_op(&it, &op))
            return -EBADMSG;
        if (failed) {
            memset(o, 0, sizeof *o);
            o->err = CV_ZRUNTIMEINCONSISTENCY;
        } else {
            o->err = prep_op(p, op.hdr.type, &op.u, o);
            if (p->internal)
                return p->internal;
            if (o->err) {
                failed = true;
                cv_core_change_rollback(c, p->zxid);
            }
        }
        int rc = encode_body(c, o, &entries[i]);
        if (rc)
            return rc;
    }
    t->hdr.type = CV_OP_MULTI;
    t->has_body = 1;
    t->u.multi.txns.count = n;
    t->u.multi.txns.items = entries;
    t->u.multi.txns.raw = NULL;
    return 0;
}

static bool is_write(int32_t type)
{
    switch (type) {
    case CV_OP_CREATE:
    case CV_OP_CREATE2:
    case CV_OP_CREATE_CONTAINER:
    case CV_OP_CREATE_TTL:
    case CV_OP_DELETE:
    case CV_OP_SET_DATA:
    case CV_OP_SET_ACL:
    case CV_OP_CHECK:
    case CV_OP_MULTI:
    case CV_OP_RECONFIG:
    case CV_OP_DELETE_CONTAINER:
    case CV_OP_CLOSE_SESSION: return true;
    }
    return false;
}

/* Encode t (or, on a validation error, an ErrorTxn) and commit the zxid. */
static int finish(struct prep *p, struct cv_txn *t, int32_t err, uint8_t *out, size_t cap,
                  size_t *len)
{
    struct cv_core *c = p->c;
    if (err) {
        cv_core_change_rollback(c, p->zxid);
        t->hdr.type = CV_OP_ERROR;
        t->has_body = 1;
        t->u.number.value = err;
    }
    int n = cv_proto_encode_txn(out, cap, t);
    if (n < 0) {
        cv_core_change_rollback(c, p->zxid);
        return n;
    }
    c->last_prepared = p->zxid;
    *len = (size_t)n;
    return 0;
}

static void prep_init(struct prep *p, struct cv_core *c, int64_t session,
                      const struct cv_acl_auth *auth, int64_t now, struct cv_txn *t, int32_t cxid,
                      int32_t type)
{
    memset(p, 0, sizeof *p);
    p->c = c;
    p->session = session;
    p->auth = auth;
    p->zxid = c->last_prepared + 1;
    p->time = now;
    c->scratch_used = 0;
    memset(t, 0, sizeof *t);
    t->hdr.client_id = session;
    t->hdr.cxid = cxid;
    t->hdr.zxid = p->zxid;
    t->hdr.time = now;
    t->hdr.type = type;
}

int cv_core_prepare(struct cv_core *c, const struct cv_core_req *r, int64_t now_ms, uint8_t *out,
                    size_t cap, size_t *len)
{
    const struct cv_request *req = r->req;
    if (!is_write(req->hdr.type))
        return -EINVAL;
    if (cv_core_session_pending(c, r->session))
        return CV_CORE_HOLD;
    struct prep p;
    struct cv_txn t;
    static const struct cv_acl_auth no_auth;
    prep_init(&p, c, r->session, r->auth ? r->auth : &no_auth, now_ms, &t, req->hdr.xid,
              req->hdr.type);
    int32_t err = 0;
    switch (req->hdr.type) {
    case CV_OP_MULTI: {
        int rc = prep_multi(&p, &req->u.multi, &t);
        if (rc) {
            cv_core_change_rollback(c, p.zxid);
            return rc == -EBADMSG ? -EINVAL : rc;
        }
        break;
    }
    case CV_OP_DELETE_CONTAINER:
        /* Only the server's container manager deletes containers. ZooKeeper
         * 3.8 reads a client's request body as a raw path string (length
         * prefix included), which never validates: an ErrorTxn. */
        err = CV_ZBADARGUMENTS;
        break;
    case CV_OP_RECONFIG:
        /* Standalone: ZooKeeper answers UNIMPLEMENTED (or RECONFIGDISABLED). */
        err = c->cfg.reconfig_enabled ? CV_ZUNIMPLEMENTED : CV_ZRECONFIGDISABLED;
        break;
    case CV_OP_CLOSE_SESSION: {
        struct cv_sess_info info;
        if (cv_sess_get(&c->sess, r->session, &info)) {
            err = CV_ZSESSIONEXPIRED;
            break;
        }
        struct op_txn *o = cv_core_scratch(c, sizeof *o);
        if (!o)
            return -ENOBUFS;
        memset(o, 0, sizeof *o);
        err = prep_close_session(&p, o);
        if (!err) {
            t.has_body = 1;
            t.u = o->txn.u;
        }
        break;
    }
    default: {
        struct op_txn *o = cv_core_scratch(c, sizeof *o);
        if (!o)
            return -ENOBUFS;
        err = prep_op(&p, req->hdr.type, &req->u, o);
        if (!err) {
            t.hdr.type = o->type;
            t.has_body = 1;
            t.u = o->txn.u;
        }
    }
    }
    if (p.internal) {
        cv_core_change_rollback(c, p.zxid);
        return p.internal;
    }
    int rc = finish(&p, &t, err, out, cap, len);
    if (rc == 0 && req->hdr.type == CV_OP_CLOSE_SESSION && !err)
        cv_sess_set_closing(&c->sess, r->session);
    return rc;
}

int cv_core_prepare_expire(struct cv_core *c, int64_t session, int64_t now_ms, uint8_t *out,
                           size_t cap, size_t *len)
{
    struct cv_sess_info info;
    if (cv_sess_get(&c->sess, session, &info))
        return -ENOENT;
    struct prep p;
    struct cv_txn t;
    prep_init(&p, c, session, NULL, now_ms, &t, 0, CV_OP_CLOSE_SESSION);
    struct op_txn *o = cv_core_scratch(c, sizeof *o);
    if (!o)
        return -ENOBUFS;
    memset(o, 0, sizeof *o);
    int32_t err = prep_close_session(&p, o);
    if (p.internal) {
        cv_core_change_rollback(c, p.zxid);
        return p.internal;
    }
    t.has_body = 1;
    t.u = o->txn.u;
    int rc = finish(&p, &t, err, out, cap, len);
    if (rc == 0)
        cv_sess_set_closing(&c->sess, session);
    return rc;
}

struct hk_ctx {
    struct cv_core *c;
    char *path;
    size_t len, cap;
};

static int hk_pick(void *ctx, const char *path, size_t len, const struct cv_znode *n)
{
    struct hk_ctx *x = ctx;
    struct cv_view v;
    (void)n;
    /* Skip nodes an outstanding change touches: the check runs again later. */
    if (!cv_core_view(x->c, path, len, &v) || v.child_count > 0 ||
        cv_tree_lookup(x->c->tree, path, len) == NULL)
        return 0;
    if (len > x->cap)
        return 0;
    memcpy(x->path, path, len);
    x->len = len;
    return 1;
}

int cv_core_prepare_housekeeping(struct cv_core *c, int64_t now_ms, uint8_t *out, size_t cap,
                                 size_t *len)
{
    c->scratch_used = 0;
    struct hk_ctx x = {c, cv_core_scratch(c, c->cfg.max_frame), 0, c->cfg.max_frame};
    if (!x.path)
        return -ENOBUFS;
    int rc = cv_tree_container_candidates(c->tree, now_ms, c->cfg.container_max_never_used_ms,
                                          hk_pick, &x);
    if (rc == 0)
        rc = cv_tree_ttl_candidates(c->tree, now_ms, hk_pick, &x);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return -ENOENT;
    struct prep p;
    struct cv_txn t;
    size_t used = c->scratch_used;
    prep_init(&p, c, 0, NULL, now_ms, &t, 0, CV_OP_DELETE_CONTAINER);
    c->scratch_used = used; /* keep the path */
    struct op_txn o;
    memset(&o, 0, sizeof o);
    int32_t err = prep_delete_container(&p, x.path, x.len, &o);
    if (p.internal) {
        cv_core_change_rollback(c, p.zxid);
        return p.internal;
    }
    if (!err) {
        t.has_body = 1;
        t.u = o.txn.u;
    }
    return finish(&p, &t, err, out, cap, len);
}
