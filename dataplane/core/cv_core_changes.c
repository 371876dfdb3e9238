/* cv_core outstanding changes — see cv_core_int.h. */
#include <stdlib.h>
#include <string.h>

#include "cv_core_int.h"

static uint32_t path_hash(const char *p, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a: deterministic, no seed needed here */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

static struct cv_change *rec(struct cv_core *c, int64_t seq)
{
    return &c->ch[(uint64_t)seq & c->ch_mask];
}

static const char *rec_path(const struct cv_core *c, const struct cv_change *r)
{
    return c->paths + (r->path_off % c->paths_cap);
}

static bool live(const struct cv_core *c, int64_t seq)
{
    return seq >= c->ch_tail && seq < c->ch_head;
}

int cv_core_changes_init(struct cv_core *c)
{
    uint32_t n = 1;
    while (n < c->cfg.max_outstanding)
        n <<= 1;
    c->ch = calloc(n, sizeof *c->ch);
    c->ch_mask = n - 1;
    c->ch_bucket_mask = 2 * n - 1;
    c->ch_buckets = malloc(2 * (size_t)n * sizeof *c->ch_buckets);
    c->paths_cap = (uint64_t)n * 128 + 2 * (uint64_t)c->cfg.max_frame;
    c->paths = malloc(c->paths_cap);
    if (!c->ch || !c->ch_buckets || !c->paths)
        return -ENOMEM;
    for (size_t i = 0; i < 2 * (size_t)n; i++)
        c->ch_buckets[i] = -1;
    c->ch_head = c->ch_tail = 0;
    c->paths_head = c->paths_tail = 0;
    return 0;
}

void cv_core_changes_fini(struct cv_core *c)
{
    free(c->ch);
    free(c->ch_buckets);
    free(c->paths);
    c->ch = NULL;
    c->ch_buckets = NULL;
    c->paths = NULL;
}

uint32_t cv_core_change_count(const struct cv_core *c)
{
    return (uint32_t)(c->ch_head - c->ch_tail);
}

static int64_t *bucket(struct cv_core *c, uint32_t hash)
{
    return &c->ch_buckets[hash & c->ch_bucket_mask];
}

static int64_t find_current(struct cv_core *c, const char *path, size_t len, uint32_t h)
{
    for (int64_t s = *bucket(c, h); s >= 0; s = rec(c, s)->hnext) {
        struct cv_change *r = rec(c, s);
        if (r->hash == h && r->path_len == len && memcmp(rec_path(c, r), path, len) == 0)
            return s;
    }
    return -1;
}

static void unlink_current(struct cv_core *c, int64_t seq)
{
    struct cv_change *r = rec(c, seq);
    int64_t *pp = bucket(c, r->hash);
    while (*pp >= 0 && *pp != seq)
        pp = &rec(c, *pp)->hnext;
    CV_ASSERT(*pp == seq);
    *pp = r->hnext;
    r->hnext = -1;
    r->current = false;
}

static void link_current(struct cv_core *c, int64_t seq)
{
    struct cv_change *r = rec(c, seq);
    int64_t *b = bucket(c, r->hash);
    r->hnext = *b;
    *b = seq;
    r->current = true;
}

int cv_core_acl_ref(struct cv_tree *t, uint32_t id)
{
    if (id == 0)
        return 0;
    const struct cv_acl *acls;
    int32_t n;
    uint32_t again;
    int rc = cv_tree_acl_get(t, id, &acls, &n);
    if (rc == 0)
        rc = cv_tree_acl_intern(t, acls, n, &again);
    CV_VERIFY(rc != 0 || again == id);
    return rc;
}

bool cv_core_view(struct cv_core *c, const char *path, size_t len, struct cv_view *v)
{
    int64_t s = find_current(c, path, len, path_hash(path, len));
    if (s >= 0) {
        *v = rec(c, s)->v;
        return v->exists;
    }
    const struct cv_znode *n = cv_tree_lookup(c->tree, path, len);
    memset(v, 0, sizeof *v);
    if (!n)
        return false;
    struct cv_stat_persisted sp;
    cv_znode_stat_persisted(n, &sp);
    v->exists = true;
    v->version = sp.version;
    v->aversion = sp.aversion;
    v->cversion = sp.cversion;
    v->child_count = (int32_t)cv_znode_num_children(n);
    v->owner = sp.ephemeral_owner;
    v->acl_id = cv_znode_acl_id(n);
    return true;
}

int cv_core_change_add(struct cv_core *c, int64_t zxid, const char *path, size_t len,
                       const struct cv_view *v)
{
    if (c->ch_head - c->ch_tail > (int64_t)c->ch_mask)
        return -EBUSY;
    /* Paths are stored contiguously; a path that would wrap starts over at 0. */
    uint64_t off = c->paths_head;
    if (off % c->paths_cap + len > c->paths_cap)
        off += c->paths_cap - off % c->paths_cap;
    if (off + len - c->paths_tail > c->paths_cap)
        return -EBUSY;
    if (v->acl_id && cv_core_acl_ref(c->tree, v->acl_id))
        return -ENOMEM;
    memcpy(c->paths + off % c->paths_cap, path, len);
    c->paths_head = off + len;

    int64_t seq = c->ch_head++;
    struct cv_change *r = rec(c, seq);
    r->zxid = zxid;
    r->path_off = off;
    r->path_len = (uint32_t)len;
    r->hash = path_hash(path, len);
    r->v = *v;
    r->replaced = find_current(c, path, len, r->hash);
    if (r->replaced >= 0)
        unlink_current(c, r->replaced);
    link_current(c, seq);
    return 0;
}

static void release(struct cv_core *c, struct cv_change *r)
{
    if (r->v.acl_id)
        CV_VERIFY(cv_tree_acl_release(c->tree, r->v.acl_id) == 0);
}

void cv_core_change_rollback(struct cv_core *c, int64_t zxid)
{
    while (c->ch_head > c->ch_tail && rec(c, c->ch_head - 1)->zxid == zxid) {
        int64_t seq = c->ch_head - 1;
        struct cv_change *r = rec(c, seq);
        if (r->current)
            unlink_current(c, seq);
        c->ch_head--;
        /* The record it replaced becomes current again if still outstanding. */
        if (live(c, r->replaced) && !rec(c, r->replaced)->current)
            link_current(c, r->replaced);
        c->paths_head = r->path_off;
        release(c, r);
    }
    if (c->ch_head == c->ch_tail)
        c->paths_head = c->paths_tail;
}

void cv_core_change_rollback_all(struct cv_core *c)
{
    while (c->ch_head > c->ch_tail)
        cv_core_change_rollback(c, rec(c, c->ch_head - 1)->zxid);
}

void cv_core_change_retire(struct cv_core *c, int64_t applied)
{
    while (c->ch_tail < c->ch_head && rec(c, c->ch_tail)->zxid <= applied) {
        struct cv_change *r = rec(c, c->ch_tail);
        if (r->current)
            unlink_current(c, c->ch_tail);
        release(c, r);
        c->ch_tail++;
    }
    c->paths_tail = c->ch_tail < c->ch_head ? rec(c, c->ch_tail)->path_off : c->paths_head;
}

int cv_core_change_foreach(struct cv_core *c,
                           int (*fn)(void *ctx, const char *path, size_t len,
                                     const struct cv_view *v),
                           void *ctx)
{
    for (int64_t s = c->ch_tail; s < c->ch_head; s++) {
        struct cv_change *r = rec(c, s);
        if (!r->current)
            continue;
        int rc = fn(ctx, rec_path(c, r), r->path_len, &r->v);
        if (rc)
            return rc;
    }
    return 0;
}
