/*
 * cv_core apply — ZooKeeper's DataTree.processTxn and the write half of
 * FinalRequestProcessor: mutate state from a transaction alone, then report
 * the reply, watch notifications and session changes through the sink.
 */
#include <string.h>

#include "cv_core_int.h"

struct apply {
    struct cv_core *c;
    const struct cv_core_sink *sink;
    const struct cv_txn_header *hdr;
    uint32_t deleted_acl; /* the ACL of the node whose NodeDeleted is emitted */
};

/* ---- watch notifications -------------------------------------------------- */

void cv_core_notify(struct cv_core *c, const struct cv_core_sink *sink, int64_t session,
                    int32_t event_type, const char *path, size_t len)
{
    if (!sink || !sink->notify)
        return;
    struct cv_response r;
    memset(&r, 0, sizeof r);
    r.hdr.xid = CV_XID_NOTIFICATION;
    r.hdr.zxid = -1; /* as ZooKeeper sends it */
    r.op = CV_OP_NOTIFICATION;
    r.has_body = 1;
    r.u.event.type = event_type;
    r.u.event.state = 3; /* SyncConnected */
    r.u.event.path.ptr = (const uint8_t *)path;
    r.u.event.path.len = (int32_t)len;
    int n = cv_proto_encode_response(c->frame, c->frame_cap, &r);
    if (n > 0)
        sink->notify(sink->ctx, session, c->frame, (size_t)n);
}

/* ZooKeeper 3.8 as Debian ships it (with the CVE-2024-23944 fix) delivers a
 * watch event only to a connection that may READ the znode the event is
 * about: the node itself, or the parent for NodeChildrenChanged. The watch is
 * consumed either way. */
static bool may_read(const struct apply *a, int64_t session, int event_type, const char *path,
                     size_t len)
{
    struct cv_core *c = a->c;
    uint32_t acl;
    if (event_type == CV_WATCH_EV_NODE_DELETED) {
        acl = a->deleted_acl;
    } else {
        const struct cv_znode *n = cv_tree_lookup(c->tree, path, len);
        if (!n)
            return false;
        acl = cv_znode_acl_id(n);
    }
    const struct cv_acl *acls;
    int32_t count;
    if (cv_tree_acl_get(c->tree, acl, &acls, &count))
        return false;
    static const struct cv_acl_auth none;
    const struct cv_acl_auth *auth =
        a->sink->auth_of ? a->sink->auth_of(a->sink->ctx, session) : NULL;
    return cv_acl_check(acls, count, CV_PERM_READ, auth ? auth : &none, c->cfg.super_digest) == 0;
}

static void emit_watch(void *ctx, int64_t session, int event_type, const char *path, size_t len)
{
    struct apply *a = ctx;
    if (!a->sink || !a->sink->notify || !may_read(a, session, event_type, path, len))
        return;
    cv_core_notify(a->c, a->sink, session, event_type, path, len);
}

/* ---- single operations ---------------------------------------------------- */

static int32_t zerr_of(int rc)
{
    switch (rc) {
    case 0: return CV_ZOK;
    case -ENOENT: return CV_ZNONODE;
    case -EEXIST: return CV_ZNODEEXISTS;
    case -ENOTEMPTY: return CV_ZNOTEMPTY;
    case -EINVAL: return CV_ZNOCHILDRENFOREPHEMERALS;
    }
    return CV_ZSYSTEMERROR;
}

static const char *jpath(const struct cv_jbuf *b, size_t *len)
{
    *len = b->len > 0 ? (size_t)b->len : 0;
    return (const char *)b->ptr;
}

static int64_t create_owner(const struct apply *a, int32_t type, const struct cv_create_txn *t)
{
    switch (type) {
    case CV_OP_CREATE_CONTAINER: return CV_OWNER_CONTAINER;
    case CV_OP_CREATE_TTL: return cv_owner_make_ttl(t->ttl);
    }
    return t->ephemeral ? a->hdr->client_id : 0;
}

/* S3: an ephemeral create needs its owner in the session table now. */
static bool owner_gone(const struct apply *a, int32_t type, const struct cv_create_txn *t)
{
    if (type == CV_OP_CREATE_CONTAINER || type == CV_OP_CREATE_TTL || !t->ephemeral)
        return false;
    struct cv_sess_info info;
    return cv_sess_get(&a->c->sess, a->hdr->client_id, &info) != 0;
}

/* A transaction's ACL vector as an id in the tree's cache, holding one
 * reference for the caller (released once the node took its own). */
static int32_t intern_acl(struct cv_core *c, const struct cv_jvec *v, uint32_t *id)
{
    int32_t n = v->count > 0 ? v->count : 0;
    struct cv_acl *acls = cv_core_scratch(c, (size_t)n * sizeof *acls + 1);
    if (!acls)
        return CV_ZSYSTEMERROR;
    struct cv_jvec_iter it;
    cv_jvec_iter_init(&it, v, &cv_rec_acl);
    for (int32_t i = 0; i < n; i++)
        if (!cv_jvec_next(&it, &acls[i]))
            return CV_ZMARSHALLINGERROR;
    return cv_tree_acl_intern(c->tree, acls, n, id) ? CV_ZSYSTEMERROR : 0;
}

static int32_t apply_create(struct apply *a, int32_t type, const struct cv_create_txn *t,
                            struct cv_stat *st)
{
    struct cv_core *c = a->c;
    if (owner_gone(a, type, t))
        return CV_ZSESSIONEXPIRED;
    uint32_t acl_id;
    int32_t err = intern_acl(c, &t->acl, &acl_id);
    if (err)
        return err;
    size_t len;
    const char *path = jpath(&t->path, &len);
    int rc = cv_tree_create(c->tree, path, len, t->data.ptr, t->data.len, acl_id,
                            create_owner(a, type, t), a->hdr->zxid, a->hdr->time,
                            t->parent_cversion, st);
    cv_tree_acl_release(c->tree, acl_id);
    if (rc)
        return zerr_of(rc);
    cv_watch_on_create(c->watches, path, len, emit_watch, a);
    return 0;
}

static int32_t delete_node(struct apply *a, const char *path, size_t len)
{
    struct cv_tree *t = a->c->tree;
    const struct cv_znode *n = cv_tree_lookup(t, path, len);
    if (!n)
        return CV_ZNONODE;
    /* The deleted node's ACL decides who hears NodeDeleted: keep it alive. */
    a->deleted_acl = cv_znode_acl_id(n);
    CV_VERIFY(cv_tree_acl_retain(t, a->deleted_acl) == 0);
    int rc = cv_tree_delete(t, path, len, a->hdr->zxid);
    if (!rc)
        cv_watch_on_delete(a->c->watches, path, len, emit_watch, a);
    cv_tree_acl_release(t, a->deleted_acl);
    return rc ? zerr_of(rc) : 0;
}

static int32_t apply_set_data(struct apply *a, const struct cv_set_data *t, struct cv_stat *st)
{
    size_t len;
    const char *path = jpath(&t->path, &len);
    int rc = cv_tree_set_data(a->c->tree, path, len, t->data.ptr, t->data.len, t->version,
                              a->hdr->zxid, a->hdr->time, st);
    if (rc)
        return zerr_of(rc);
    cv_watch_on_set_data(a->c->watches, path, len, emit_watch, a);
    return 0;
}

static int32_t apply_set_acl(struct apply *a, const struct cv_set_acl *t, struct cv_stat *st)
{
    struct cv_core *c = a->c;
    uint32_t acl_id;
    int32_t err = intern_acl(c, &t->acl, &acl_id);
    if (err)
        return err;
    size_t len;
    const char *path = jpath(&t->path, &len);
    int rc = cv_tree_set_acl(c->tree, path, len, acl_id, t->version, st);
    cv_tree_acl_release(c->tree, acl_id);
    return zerr_of(rc);
}

/* closeSession: delete paths2Delete, then anything else the session still
 * owns (ZooKeeper's killSession), drop its watches, then the session. */
struct kill_ctx {
    struct apply *a;
    char *paths;
    size_t used, cap;
    uint32_t *lens;
    uint32_t n, max;
};

static int collect_ephemeral(void *ctx, const char *path, size_t len, const struct cv_znode *n)
{
    struct kill_ctx *k = ctx;
    (void)n;
    if (k->n == k->max || k->used + len > k->cap)
        return -ENOBUFS;
    memcpy(k->paths + k->used, path, len);
    k->used += len;
    k->lens[k->n++] = (uint32_t)len;
    return 0;
}

static int32_t apply_close_session(struct apply *a, const struct cv_txn *t)
{
    struct cv_core *c = a->c;
    int64_t session = a->hdr->client_id;
    if (t->has_body) {
        struct cv_jvec_iter it;
        struct cv_jbuf p;
        cv_jvec_iter_init(&it, &t->u.close_session.children, NULL);
        while (cv_jvec_next(&it, &p)) {
            size_t len;
            const char *path = jpath(&p, &len);
            const struct cv_znode *n = cv_tree_lookup(c->tree, path, len);
            if (n && cv_znode_owner(n) == session)
                delete_node(a, path, len);
        }
    }
    /* Whatever the session still owns goes too: the log decides, not the
     * list prepare saw. Collect first: deleting changes the index. */
    uint32_t left = cv_tree_ephemeral_count(c->tree, session);
    if (left) {
        struct kill_ctx k = {a, NULL, 0, c->scratch_cap / 2, NULL, 0, left};
        k.lens = cv_core_scratch(c, left * sizeof *k.lens);
        k.paths = cv_core_scratch(c, k.cap);
        CV_VERIFY(k.lens && k.paths &&
                  cv_tree_ephemerals(c->tree, session, collect_ephemeral, &k) == 0);
        size_t off = 0;
        for (uint32_t i = 0; i < k.n; i++) {
            delete_node(a, k.paths + off, k.lens[i]);
            off += k.lens[i];
        }
    }
    CV_VERIFY(cv_tree_ephemeral_count(c->tree, session) == 0);
    cv_watch_remove_session(c->watches, session);
    struct cv_sess_info info;
    if (cv_sess_get(&c->sess, session, &info) == 0) {
        c->sess_digest -= cv_core_sess_hash(info.id, info.timeout);
        cv_sess_apply_close(&c->sess, session);
    }
    return 0;
}

/* ---- multi ---------------------------------------------------------------- */

static int32_t apply_multi(struct apply *a, const struct cv_txn *t, struct cv_multi_result *res,
                           int32_t *nres)
{
    struct cv_jvec_iter it;
    struct cv_txn_entry e;
    struct cv_txn sub;
    bool failed = false;
    /* A failed multi was logged with error entries; one whose ephemeral
     * owner is gone by now fails here, as a whole, before anything applies. */
    int32_t gone_at = -1, i = 0;
    cv_jvec_iter_init(&it, &t->u.multi.txns, &cv_rec_txn_entry);
    while (cv_jvec_next(&it, &e)) {
        if (e.type == CV_OP_ERROR)
            failed = true;
        else if (gone_at < 0 && cv_proto_decode_sub_txn(&e, &sub) == 0 &&
                 (e.type == CV_OP_CREATE || e.type == CV_OP_CREATE2) &&
                 owner_gone(a, e.type, &sub.u.create))
            gone_at = i;
        i++;
    }
    bool post_failed = false;
    int32_t k = 0;
    cv_jvec_iter_init(&it, &t->u.multi.txns, &cv_rec_txn_entry);
    while (cv_jvec_next(&it, &e)) {
        struct cv_multi_result *r = &res[k];
        memset(r, 0, sizeof *r);
        CV_VERIFY(cv_proto_decode_sub_txn(&e, &sub) == 0);
        int32_t err = 0;
        if (e.type == CV_OP_ERROR) {
            post_failed = true;
            err = sub.u.number.value;
        } else if (failed) {
            err = post_failed ? CV_ZRUNTIMEINCONSISTENCY : CV_ZOK;
        } else if (gone_at >= 0) {
            err = k < gone_at    ? CV_ZOK
                  : k == gone_at ? CV_ZSESSIONEXPIRED
                                 : CV_ZRUNTIMEINCONSISTENCY;
        }
        if (failed || gone_at >= 0) {
            r->hdr.type = CV_OP_ERROR;
            r->hdr.err = err;
            r->u.error.value = err;
            k++;
            continue;
        }
        r->hdr.type = e.type;
        switch (e.type) {
        case CV_OP_CREATE:
        case CV_OP_CREATE2:
        case CV_OP_CREATE_CONTAINER:
        case CV_OP_CREATE_TTL:
            err = apply_create(a, e.type, &sub.u.create, &r->u.create.stat);
            r->u.create.path = sub.u.create.path;
            /* ZooKeeper 3.8 answers create and create2 inside a multi with the
             * path only (type create), container and TTL creates with path +
             * stat (type create2). */
            r->hdr.type = e.type == CV_OP_CREATE_CONTAINER || e.type == CV_OP_CREATE_TTL
                              ? CV_OP_CREATE2
                              : CV_OP_CREATE;
            break;
        case CV_OP_DELETE:
        case CV_OP_DELETE_CONTAINER:
            r->hdr.type = CV_OP_DELETE;
            err = delete_node(a, (const char *)sub.u.path.path.ptr, (size_t)sub.u.path.path.len);
            break;
        case CV_OP_SET_DATA: err = apply_set_data(a, &sub.u.set_data, &r->u.set_data.stat); break;
        case CV_OP_CHECK: break;
        default: err = CV_ZMARSHALLINGERROR;
        }
        /* Prepare validated every op against the state-to-be: an op that fails
         * here means the log and the state disagree. */
        CV_VERIFY(err == 0);
        k++;
    }
    *nres = k;
    return 0;
}

/* ---- entry point ---------------------------------------------------------- */

static void send_reply(struct apply *a, struct cv_response *r)
{
    if (!a->sink || !a->sink->reply)
        return;
    r->hdr.xid = a->hdr->cxid;
    r->hdr.zxid = a->hdr->zxid;
    if (r->hdr.err)
        r->has_body = 0; /* ZooKeeper's error replies are header-only */
    int n = cv_proto_encode_response(a->c->frame, a->c->frame_cap, r);
    CV_VERIFY(n > 0);
    a->sink->reply(a->sink->ctx, a->hdr->client_id, a->c->frame, (size_t)n);
}

int cv_core_apply(struct cv_core *c, const uint8_t *bytes, size_t len,
                  const struct cv_core_sink *sink)
{
    struct cv_txn t;
    if (cv_proto_decode_txn(bytes, len, &t))
        return -EBADMSG;
    if (t.hdr.zxid <= c->last_applied)
        return -EINVAL;
    c->scratch_used = 0;
    struct apply a = {c, sink, &t.hdr, 0};
    struct cv_response r;
    memset(&r, 0, sizeof r);
    r.op = t.hdr.type;
    bool client_asked = t.hdr.cxid != 0 || t.hdr.type != CV_OP_CLOSE_SESSION;
    switch (t.hdr.type) {
    case CV_OP_CREATE_SESSION: {
        struct cv_sess_info old;
        bool existed = cv_sess_get(&c->sess, t.hdr.client_id, &old) == 0;
        int rc = cv_sess_apply_create(&c->sess, t.hdr.client_id, t.u.number.value, t.hdr.time);
        if (rc >= 0) {
            if (existed)
                c->sess_digest -= cv_core_sess_hash(old.id, old.timeout);
            c->sess_digest += cv_core_sess_hash(t.hdr.client_id, t.u.number.value);
        }
        for (uint32_t i = 0; i < c->pending_n; i++) {
            if (c->pending_ids[i] == t.hdr.client_id) {
                c->pending_ids[i] = c->pending_ids[--c->pending_n];
                break;
            }
        }
        c->last_applied = t.hdr.zxid;
        cv_core_change_retire(c, c->last_applied);
        if (rc == 0 && sink && sink->session_created)
            sink->session_created(sink->ctx, t.hdr.client_id, t.u.number.value);
        return 0;
    }
    case CV_OP_CREATE:
    case CV_OP_CREATE2:
    case CV_OP_CREATE_CONTAINER:
    case CV_OP_CREATE_TTL:
        r.hdr.err = apply_create(&a, t.hdr.type, &t.u.create, &r.u.create.stat);
        r.u.create.path = t.u.create.path;
        r.has_body = 1;
        break;
    case CV_OP_DELETE:
        r.hdr.err = delete_node(&a, (const char *)t.u.path.path.ptr, (size_t)t.u.path.path.len);
        break;
    case CV_OP_DELETE_CONTAINER:
        delete_node(&a, (const char *)t.u.path.path.ptr, (size_t)t.u.path.path.len);
        client_asked = false;
        break;
    case CV_OP_SET_DATA:
        r.hdr.err = apply_set_data(&a, &t.u.set_data, &r.u.stat.stat);
        r.has_body = 1;
        break;
    case CV_OP_SET_ACL:
        r.hdr.err = apply_set_acl(&a, &t.u.set_acl, &r.u.stat.stat);
        r.has_body = 1;
        break;
    case CV_OP_CHECK: break;
    case CV_OP_ERROR: r.hdr.err = t.u.number.value; break;
    case CV_OP_CLOSE_SESSION: apply_close_session(&a, &t); break;
    case CV_OP_MULTI: {
        int32_t n = t.u.multi.txns.count > 0 ? t.u.multi.txns.count : 0;
        struct cv_multi_result *res = cv_core_scratch(c, ((size_t)n + 1) * sizeof *res);
        CV_VERIFY(res != NULL);
        int32_t nres = 0;
        apply_multi(&a, &t, res, &nres);
        r.has_body = 1;
        r.u.multi.count = nres;
        r.u.multi.items = res;
        r.u.multi.end = cv_multi_end();
        break;
    }
    default: return -EBADMSG;
    }
    c->last_applied = t.hdr.zxid;
    cv_core_change_retire(c, c->last_applied);
    if (client_asked && t.hdr.type != CV_OP_CLOSE_SESSION)
        send_reply(&a, &r);
    if (t.hdr.type == CV_OP_CLOSE_SESSION) {
        if (client_asked)
            send_reply(&a, &r);
        if (sink && sink->session_closed)
            sink->session_closed(sink->ctx, t.hdr.client_id);
    }
    return 0;
}
