/*
 * cv_watch — see cv_watch.h for the contract and the ZooKeeper rules.
 *
 * Layout: three intrusive chained hash tables over three kinds of record.
 *   path  (interned bytes)  -> doubly linked list of its entries
 *   sess  (session id)      -> doubly linked list of its entries
 *   entry (path, session)   -> the kinds that pair holds
 * Every entry is on exactly one path list, one session list and one hash
 * chain, so removing an entry, a path's watchers or a session's watches
 * costs only what it removes. Triggers dedup sessions with a per-trigger
 * epoch mark and sort the notified ids into a scratch array whose capacity
 * is kept >= the number of sessions by cv_watch_add, so triggers never
 * allocate.
 */
#include "cv_watch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cv_common.h"

#define HT_MIN_BUCKETS 16u

struct hnode {
    struct hnode *next;
    uint64_t hash;
};

struct htab {
    struct hnode **b;
    size_t mask; /* buckets - 1 */
    size_t count;
};

struct wpath {
    struct hnode h; /* first: records are found through their hnode */
    struct went *head;
    uint32_t n_entries;
    uint32_t n_recursive; /* entries holding PERSISTENT_RECURSIVE */
    uint32_t len;
    char bytes[];
};

struct wsess {
    struct hnode h;
    struct went *head;
    int64_t id;
    uint64_t mark; /* == w->epoch: already notified by the current trigger */
    size_t n_entries;
};

struct went {
    struct hnode h;
    struct went *pprev, *pnext; /* on path->head */
    struct went *sprev, *snext; /* on sess->head */
    struct wpath *path;
    struct wsess *sess;
    unsigned kinds;
};

struct cv_watches {
    struct htab paths, sessions, entries;
    uint64_t seed;
    uint64_t epoch;
    size_t n_kind[4];
    size_t n_recursive; /* entries holding PERSISTENT_RECURSIVE, all paths */
    int64_t *scratch;
    size_t scratch_cap;
    void *(*alloc_fn)(void *ctx, size_t size);
    void (*free_fn)(void *ctx, void *ptr, size_t size);
    void *alloc_ctx;
};

/* ---- allocation ---- */

static void *default_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void default_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    (void)size;
    free(ptr);
}

static void *w_alloc(const struct cv_watches *w, size_t size)
{
    return w->alloc_fn(w->alloc_ctx, size);
}

static void w_free(const struct cv_watches *w, void *ptr, size_t size)
{
    if (ptr)
        w->free_fn(w->alloc_ctx, ptr, size);
}

/* ---- hashing ---- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t hash_bytes(uint64_t seed, const char *p, size_t len)
{
    uint64_t h = mix64(seed ^ (len * 0x9e3779b97f4a7c15ULL));
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        h = mix64(h ^ v) + 0x9e3779b97f4a7c15ULL;
    }
    uint64_t tail = 0;
    memcpy(&tail, p + i, len - i);
    return mix64(h ^ tail ^ 0xff51afd7ed558ccdULL);
}

static uint64_t hash_session(uint64_t seed, int64_t id)
{
    return mix64(seed ^ 0xc4ceb9fe1a85ec53ULL ^ (uint64_t)id);
}

static uint64_t hash_entry(const struct wpath *p, int64_t id)
{
    return mix64(p->h.hash ^ (0x2545f4914f6cdd1dULL * (uint64_t)id + 1));
}

/* ---- hash table ---- */

static int htab_init(const struct cv_watches *w, struct htab *t)
{
    t->b = w_alloc(w, HT_MIN_BUCKETS * sizeof(*t->b));
    if (!t->b)
        return -ENOMEM;
    memset(t->b, 0, HT_MIN_BUCKETS * sizeof(*t->b));
    t->mask = HT_MIN_BUCKETS - 1;
    t->count = 0;
    return 0;
}

static void htab_fini(const struct cv_watches *w, struct htab *t)
{
    w_free(w, t->b, (t->mask + 1) * sizeof(*t->b));
    t->b = NULL;
}

static struct hnode *htab_first(const struct htab *t, uint64_t hash)
{
    return t->b[hash & t->mask];
}

/* Doubling is best effort: without memory the chains just get longer. */
static void htab_maybe_grow(const struct cv_watches *w, struct htab *t)
{
    size_t n = t->mask + 1;
    if (t->count <= n || n > SIZE_MAX / 2 / sizeof(*t->b))
        return;
    struct hnode **nb = w_alloc(w, 2 * n * sizeof(*nb));
    if (!nb)
        return;
    memset(nb, 0, 2 * n * sizeof(*nb));
    size_t nmask = 2 * n - 1;
    for (size_t i = 0; i < n; i++) {
        struct hnode *e = t->b[i];
        while (e) {
            struct hnode *next = e->next;
            e->next = nb[e->hash & nmask];
            nb[e->hash & nmask] = e;
            e = next;
        }
    }
    w_free(w, t->b, n * sizeof(*t->b));
    t->b = nb;
    t->mask = nmask;
}

static void htab_insert(const struct cv_watches *w, struct htab *t, struct hnode *n)
{
    struct hnode **slot = &t->b[n->hash & t->mask];
    n->next = *slot;
    *slot = n;
    t->count++;
    htab_maybe_grow(w, t);
}

static void htab_remove(struct htab *t, struct hnode *n)
{
    struct hnode **pp = &t->b[n->hash & t->mask];
    while (*pp != n) {
        CV_VERIFY(*pp != NULL);
        pp = &(*pp)->next;
    }
    *pp = n->next;
    n->next = NULL;
    CV_ASSERT(t->count > 0);
    t->count--;
}

/* ---- lookups ---- */

static struct wpath *path_find_h(const struct cv_watches *w, const char *p, size_t len,
                                 uint64_t hash)
{
    for (struct hnode *n = htab_first(&w->paths, hash); n; n = n->next) {
        struct wpath *wp = (struct wpath *)n;
        if (n->hash == hash && wp->len == len && memcmp(wp->bytes, p, len) == 0)
            return wp;
    }
    return NULL;
}

static struct wpath *path_find(const struct cv_watches *w, const char *p, size_t len)
{
    if (len > UINT32_MAX)
        return NULL;
    return path_find_h(w, p, len, hash_bytes(w->seed, p, len));
}

static struct wsess *sess_find(const struct cv_watches *w, int64_t id)
{
    uint64_t hash = hash_session(w->seed, id);
    for (struct hnode *n = htab_first(&w->sessions, hash); n; n = n->next) {
        struct wsess *s = (struct wsess *)n;
        if (s->id == id)
            return s;
    }
    return NULL;
}

static struct went *ent_find(const struct cv_watches *w, const struct wpath *p, int64_t id)
{
    uint64_t hash = hash_entry(p, id);
    for (struct hnode *n = htab_first(&w->entries, hash); n; n = n->next) {
        struct went *e = (struct went *)n;
        if (e->path == p && e->sess->id == id)
            return e;
    }
    return NULL;
}

/* ---- counters ---- */

static unsigned kind_index(unsigned bit)
{
    switch (bit) {
    case CV_WATCH_DATA: return 0;
    case CV_WATCH_CHILD: return 1;
    case CV_WATCH_PERSISTENT: return 2;
    default: return 3;
    }
}

/* Accounts for e->kinds changing from `from` to `to`. */
static void kinds_changed(struct cv_watches *w, struct went *e, unsigned from, unsigned to)
{
    for (unsigned bit = 1; bit <= CV_WATCH_PERSISTENT_RECURSIVE; bit <<= 1) {
        if ((from & bit) == (to & bit))
            continue;
        size_t *c = &w->n_kind[kind_index(bit)];
        if (to & bit) {
            (*c)++;
        } else {
            CV_ASSERT(*c > 0);
            (*c)--;
        }
    }
    if ((from ^ to) & CV_WATCH_PERSISTENT_RECURSIVE) {
        if (to & CV_WATCH_PERSISTENT_RECURSIVE) {
            e->path->n_recursive++;
            w->n_recursive++;
        } else {
            CV_ASSERT(e->path->n_recursive > 0 && w->n_recursive > 0);
            e->path->n_recursive--;
            w->n_recursive--;
        }
    }
    e->kinds = to;
}

/* ---- record lifetime ---- */

static size_t path_size(uint32_t len)
{
    return sizeof(struct wpath) + len;
}

static void path_free(struct cv_watches *w, struct wpath *p)
{
    CV_ASSERT(p->n_entries == 0 && p->head == NULL && p->n_recursive == 0);
    htab_remove(&w->paths, &p->h);
    w_free(w, p, path_size(p->len));
}

static void sess_free(struct cv_watches *w, struct wsess *s)
{
    CV_ASSERT(s->n_entries == 0 && s->head == NULL);
    htab_remove(&w->sessions, &s->h);
    w_free(w, s, sizeof(*s));
}

/* Unlinks and frees e; frees its session if that was its last watch. Its
 * path is left to the caller (a trigger is still walking it). */
static void ent_drop(struct cv_watches *w, struct went *e)
{
    struct wpath *p = e->path;
    struct wsess *s = e->sess;
    kinds_changed(w, e, e->kinds, 0);
    htab_remove(&w->entries, &e->h);
    if (e->pprev)
        e->pprev->pnext = e->pnext;
    else
        p->head = e->pnext;
    if (e->pnext)
        e->pnext->pprev = e->pprev;
    if (e->sprev)
        e->sprev->snext = e->snext;
    else
        s->head = e->snext;
    if (e->snext)
        e->snext->sprev = e->sprev;
    CV_ASSERT(p->n_entries > 0 && s->n_entries > 0);
    p->n_entries--;
    s->n_entries--;
    w_free(w, e, sizeof(*e));
    if (s->n_entries == 0)
        sess_free(w, s);
}

static void path_release_if_empty(struct cv_watches *w, struct wpath *p)
{
    if (p->n_entries == 0)
        path_free(w, p);
}

/* ---- public: types ---- */

int cv_watch_kind_from_add_mode(int32_t mode)
{
    switch (mode) {
    case 0: return CV_WATCH_PERSISTENT;
    case 1: return CV_WATCH_PERSISTENT_RECURSIVE;
    default: return -EINVAL;
    }
}

unsigned cv_watch_kinds_of_type(int32_t watcher_type)
{
    switch (watcher_type) {
    case CV_WATCHER_CHILDREN: return CV_WATCH_CHILD;
    case CV_WATCHER_DATA: return CV_WATCH_DATA;
    case CV_WATCHER_ANY: return CV_WATCH_ALL_KINDS;
    case CV_WATCHER_PERSISTENT: return CV_WATCH_PERSISTENT;
    case CV_WATCHER_PERSISTENT_RECURSIVE: return CV_WATCH_PERSISTENT_RECURSIVE;
    default: return 0;
    }
}

/* ---- public: lifetime ---- */

struct cv_watches *cv_watch_create(const struct cv_watch_params *params)
{
    struct cv_watch_params d = {0};
    if (params)
        d = *params;
    if (!d.alloc_fn || !d.free_fn) {
        d.alloc_fn = default_alloc;
        d.free_fn = default_free;
        d.alloc_ctx = NULL;
    }
    struct cv_watches *w = d.alloc_fn(d.alloc_ctx, sizeof(*w));
    if (!w)
        return NULL;
    memset(w, 0, sizeof(*w));
    w->seed = d.hash_seed;
    w->alloc_fn = d.alloc_fn;
    w->free_fn = d.free_fn;
    w->alloc_ctx = d.alloc_ctx;
    if (htab_init(w, &w->paths) || htab_init(w, &w->sessions) || htab_init(w, &w->entries)) {
        cv_watch_destroy(w);
        return NULL;
    }
    return w;
}

void cv_watch_destroy(struct cv_watches *w)
{
    if (!w)
        return;
    if (w->sessions.b) {
        /* Dropping every session empties every path too. */
        for (size_t i = 0; i <= w->sessions.mask; i++) {
            while (w->sessions.b[i])
                cv_watch_remove_session(w, ((struct wsess *)w->sessions.b[i])->id);
        }
    }
    CV_ASSERT(w->entries.count == 0 && w->paths.count == 0);
    htab_fini(w, &w->paths);
    htab_fini(w, &w->sessions);
    htab_fini(w, &w->entries);
    w_free(w, w->scratch, w->scratch_cap * sizeof(*w->scratch));
    w_free(w, w, sizeof(*w));
}

/* ---- public: add ---- */

int cv_watch_add(struct cv_watches *w, const char *path, size_t len, int64_t session,
                 unsigned kinds)
{
    if (kinds == 0 || (kinds & ~CV_WATCH_ALL_KINDS) || len > UINT32_MAX)
        return -EINVAL;

    uint64_t ph = hash_bytes(w->seed, path, len);
    struct wpath *p = path_find_h(w, path, len, ph);
    struct wsess *s = sess_find(w, session);
    struct went *e = (p && s) ? ent_find(w, p, session) : NULL;
    if (e) {
        kinds_changed(w, e, e->kinds, e->kinds | kinds);
        return 0;
    }

    /* Allocate everything first so a failure changes nothing. */
    struct wpath *np = NULL;
    struct wsess *ns = NULL;
    int64_t *nscratch = NULL;
    size_t ncap = w->scratch_cap;
    if (!s && w->sessions.count + 1 > w->scratch_cap) {
        ncap = w->scratch_cap ? 2 * w->scratch_cap : 16;
        if (ncap > SIZE_MAX / sizeof(*nscratch))
            return -ENOMEM;
        nscratch = w_alloc(w, ncap * sizeof(*nscratch));
        if (!nscratch)
            return -ENOMEM;
    }
    if (!p) {
        np = w_alloc(w, path_size((uint32_t)len));
        if (!np)
            goto nomem;
    }
    if (!s) {
        ns = w_alloc(w, sizeof(*ns));
        if (!ns)
            goto nomem;
    }
    e = w_alloc(w, sizeof(*e));
    if (!e)
        goto nomem;

    if (nscratch) {
        /* Contents are per-trigger; nothing to copy. */
        w_free(w, w->scratch, w->scratch_cap * sizeof(*w->scratch));
        w->scratch = nscratch;
        w->scratch_cap = ncap;
    }
    if (np) {
        memset(np, 0, sizeof(*np));
        np->h.hash = ph;
        np->len = (uint32_t)len;
        memcpy(np->bytes, path, len);
        htab_insert(w, &w->paths, &np->h);
        p = np;
    }
    if (ns) {
        memset(ns, 0, sizeof(*ns));
        ns->h.hash = hash_session(w->seed, session);
        ns->id = session;
        htab_insert(w, &w->sessions, &ns->h);
        s = ns;
    }
    memset(e, 0, sizeof(*e));
    e->path = p;
    e->sess = s;
    e->h.hash = hash_entry(p, session);
    e->pnext = p->head;
    if (p->head)
        p->head->pprev = e;
    p->head = e;
    p->n_entries++;
    e->snext = s->head;
    if (s->head)
        s->head->sprev = e;
    s->head = e;
    s->n_entries++;
    htab_insert(w, &w->entries, &e->h);
    kinds_changed(w, e, 0, kinds);
    return 0;

nomem:
    w_free(w, nscratch, ncap * sizeof(*nscratch));
    w_free(w, np, np ? path_size((uint32_t)len) : 0);
    w_free(w, ns, sizeof(*ns));
    return -ENOMEM;
}

/* ---- public: triggers ---- */

static void note_session(struct cv_watches *w, struct wsess *s, size_t *n)
{
    if (s->mark == w->epoch)
        return;
    s->mark = w->epoch;
    CV_VERIFY(*n < w->scratch_cap);
    w->scratch[(*n)++] = s->id;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Length of the parent of path[0..len), or 0 for the root / no parent. */
static size_t parent_len(const char *path, size_t len)
{
    if (len <= 1)
        return 0;
    size_t i = len - 1;
    while (i > 0 && path[i] != '/')
        i--;
    if (path[i] != '/')
        return 0;
    return i == 0 ? 1 : i;
}

size_t cv_watch_trigger(struct cv_watches *w, const char *path, size_t len, int event_type,
                        cv_watch_emit_fn emit, void *ctx)
{
    unsigned exact;
    switch (event_type) {
    case CV_WATCH_EV_NODE_CREATED:
    case CV_WATCH_EV_NODE_DATA_CHANGED:
        exact = CV_WATCH_DATA | CV_WATCH_PERSISTENT | CV_WATCH_PERSISTENT_RECURSIVE;
        break;
    case CV_WATCH_EV_NODE_DELETED: exact = CV_WATCH_ALL_KINDS; break;
    case CV_WATCH_EV_NODE_CHILDREN_CHANGED: exact = CV_WATCH_CHILD | CV_WATCH_PERSISTENT; break;
    default: return 0;
    }
    if (len == 0 || len > UINT32_MAX)
        return 0;

    w->epoch++;
    size_t n = 0;

    struct wpath *p = path_find(w, path, len);
    if (p) {
        struct went *e = p->head;
        while (e) {
            struct went *next = e->pnext;
            unsigned match = e->kinds & exact;
            if (match) {
                note_session(w, e->sess, &n);
                unsigned left = e->kinds & ~(match & CV_WATCH_ONE_SHOT);
                if (left == 0)
                    ent_drop(w, e);
                else if (left != e->kinds)
                    kinds_changed(w, e, e->kinds, left);
            }
            e = next;
        }
        path_release_if_empty(w, p);
    }

    /* Recursive watches on ancestors: never for child changes (ZooKeeper
     * skips them), and only looked for when some exist. */
    if (exact & CV_WATCH_PERSISTENT_RECURSIVE) {
        size_t plen = len;
        while (w->n_recursive > 0 && (plen = parent_len(path, plen)) > 0) {
            struct wpath *a = path_find(w, path, plen);
            if (!a || a->n_recursive == 0)
                continue;
            for (struct went *e = a->head; e; e = e->pnext) {
                if (e->kinds & CV_WATCH_PERSISTENT_RECURSIVE)
                    note_session(w, e->sess, &n);
            }
        }
    }

    if (n > 1)
        qsort(w->scratch, n, sizeof(*w->scratch), cmp_i64);
    if (emit) {
        for (size_t i = 0; i < n; i++)
            emit(ctx, w->scratch[i], event_type, path, len);
    }
    return n;
}

size_t cv_watch_on_create(struct cv_watches *w, const char *path, size_t len, cv_watch_emit_fn emit,
                          void *ctx)
{
    size_t n = cv_watch_trigger(w, path, len, CV_WATCH_EV_NODE_CREATED, emit, ctx);
    size_t pl = parent_len(path, len);
    if (pl)
        n += cv_watch_trigger(w, path, pl, CV_WATCH_EV_NODE_CHILDREN_CHANGED, emit, ctx);
    return n;
}

size_t cv_watch_on_delete(struct cv_watches *w, const char *path, size_t len, cv_watch_emit_fn emit,
                          void *ctx)
{
    size_t n = cv_watch_trigger(w, path, len, CV_WATCH_EV_NODE_DELETED, emit, ctx);
    size_t pl = parent_len(path, len);
    if (pl)
        n += cv_watch_trigger(w, path, pl, CV_WATCH_EV_NODE_CHILDREN_CHANGED, emit, ctx);
    return n;
}

size_t cv_watch_on_set_data(struct cv_watches *w, const char *path, size_t len,
                            cv_watch_emit_fn emit, void *ctx)
{
    return cv_watch_trigger(w, path, len, CV_WATCH_EV_NODE_DATA_CHANGED, emit, ctx);
}

/* ---- public: remove / check ---- */

int cv_watch_remove(struct cv_watches *w, const char *path, size_t len, int64_t session,
                    int32_t watcher_type)
{
    unsigned sel = cv_watch_kinds_of_type(watcher_type);
    if (!sel)
        return -EINVAL;
    struct wpath *p = path_find(w, path, len);
    struct went *e = p ? ent_find(w, p, session) : NULL;
    if (!e)
        return 0;
    unsigned removed = e->kinds & sel;
    if (!removed)
        return 0;
    if (e->kinds == removed) {
        ent_drop(w, e);
        path_release_if_empty(w, p);
    } else {
        kinds_changed(w, e, e->kinds, e->kinds & ~removed);
    }
    return (int)removed;
}

unsigned cv_watch_kinds(const struct cv_watches *w, const char *path, size_t len, int64_t session)
{
    const struct wpath *p = path_find(w, path, len);
    const struct went *e = p ? ent_find(w, p, session) : NULL;
    return e ? e->kinds : 0;
}

int cv_watch_check(const struct cv_watches *w, const char *path, size_t len, int64_t session,
                   int32_t watcher_type)
{
    unsigned sel = cv_watch_kinds_of_type(watcher_type);
    if (!sel)
        return -EINVAL;
    return (cv_watch_kinds(w, path, len, session) & sel) != 0;
}

/* ---- public: sessions ---- */

size_t cv_watch_remove_session(struct cv_watches *w, int64_t session)
{
    struct wsess *s = sess_find(w, session);
    if (!s)
        return 0;
    size_t n = s->n_entries;
    /* The last ent_drop frees s itself. */
    for (size_t i = 0; i < n; i++) {
        struct went *e = s->head;
        struct wpath *p = e->path;
        ent_drop(w, e);
        path_release_if_empty(w, p);
    }
    CV_ASSERT(sess_find(w, session) == NULL);
    return n;
}

size_t cv_watch_session_count(const struct cv_watches *w, int64_t session)
{
    const struct wsess *s = sess_find(w, session);
    return s ? s->n_entries : 0;
}

void cv_watch_get_stats(const struct cv_watches *w, struct cv_watch_stats *st)
{
    st->sessions = w->sessions.count;
    st->paths = w->paths.count;
    st->watches = w->entries.count;
    for (size_t i = 0; i < 4; i++)
        st->by_kind[i] = w->n_kind[i];
}

/* ---- public: walks ---- */

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return (alen > blen) - (alen < blen);
}

static int cmp_path_node(const void *x, const void *y)
{
    const struct wpath *a = (const struct wpath *)*(struct hnode *const *)x;
    const struct wpath *b = (const struct wpath *)*(struct hnode *const *)y;
    return cmp_bytes(a->bytes, a->len, b->bytes, b->len);
}

static int cmp_sess_node(const void *x, const void *y)
{
    const struct wsess *a = (const struct wsess *)*(struct hnode *const *)x;
    const struct wsess *b = (const struct wsess *)*(struct hnode *const *)y;
    return (a->id > b->id) - (a->id < b->id);
}

static int cmp_ent_by_path(const void *x, const void *y)
{
    const struct wpath *a = (*(struct went *const *)x)->path;
    const struct wpath *b = (*(struct went *const *)y)->path;
    return cmp_bytes(a->bytes, a->len, b->bytes, b->len);
}

static int cmp_ent_by_sess(const void *x, const void *y)
{
    int64_t a = (*(struct went *const *)x)->sess->id;
    int64_t b = (*(struct went *const *)y)->sess->id;
    return (a > b) - (a < b);
}

/* Collects every record of table t into a new array (count elements). */
static struct hnode **collect(const struct cv_watches *w, const struct htab *t)
{
    struct hnode **v = w_alloc(w, (t->count ? t->count : 1) * sizeof(*v));
    if (!v)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i <= t->mask; i++) {
        for (struct hnode *n = t->b[i]; n; n = n->next)
            v[k++] = n;
    }
    CV_ASSERT(k == t->count);
    return v;
}

/* Shared walk: outer records sorted by outer_cmp, each one's entries sorted
 * by inner_cmp. by_session selects which list an outer record owns. */
static int walk(const struct cv_watches *w, bool by_session, cv_watch_visit_fn visit, void *ctx)
{
    const struct htab *t = by_session ? &w->sessions : &w->paths;
    size_t max_inner = 0;
    for (size_t i = 0; i <= t->mask; i++) {
        for (struct hnode *n = t->b[i]; n; n = n->next) {
            size_t c = by_session ? ((struct wsess *)n)->n_entries : ((struct wpath *)n)->n_entries;
            if (c > max_inner)
                max_inner = c;
        }
    }
    struct hnode **outer = collect(w, t);
    struct went **inner = w_alloc(w, (max_inner ? max_inner : 1) * sizeof(*inner));
    if (!outer || !inner) {
        w_free(w, outer, (t->count ? t->count : 1) * sizeof(*outer));
        w_free(w, inner, (max_inner ? max_inner : 1) * sizeof(*inner));
        return -ENOMEM;
    }
    qsort(outer, t->count, sizeof(*outer), by_session ? cmp_sess_node : cmp_path_node);
    int rc = 0;
    for (size_t i = 0; i < t->count && rc == 0; i++) {
        size_t k = 0;
        if (by_session) {
            for (struct went *e = ((struct wsess *)outer[i])->head; e; e = e->snext)
                inner[k++] = e;
        } else {
            for (struct went *e = ((struct wpath *)outer[i])->head; e; e = e->pnext)
                inner[k++] = e;
        }
        qsort(inner, k, sizeof(*inner), by_session ? cmp_ent_by_path : cmp_ent_by_sess);
        for (size_t j = 0; j < k && rc == 0; j++) {
            const struct went *e = inner[j];
            rc = visit(ctx, e->sess->id, e->path->bytes, e->path->len, e->kinds);
        }
    }
    w_free(w, outer, (t->count ? t->count : 1) * sizeof(*outer));
    w_free(w, inner, (max_inner ? max_inner : 1) * sizeof(*inner));
    return rc;
}

int cv_watch_foreach_by_session(const struct cv_watches *w, cv_watch_visit_fn visit, void *ctx)
{
    return walk(w, true, visit, ctx);
}

int cv_watch_foreach_by_path(const struct cv_watches *w, cv_watch_visit_fn visit, void *ctx)
{
    return walk(w, false, visit, ctx);
}

/* ---- public: validation ---- */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return -__LINE__;                                                                      \
    } while (0)

int cv_watch_validate(const struct cv_watches *w)
{
    size_t kind[4] = {0}, recursive = 0, via_paths = 0, via_sessions = 0;

    CHECK(w->scratch_cap >= w->sessions.count);
    for (size_t i = 0; i <= w->paths.mask; i++) {
        for (struct hnode *n = w->paths.b[i]; n; n = n->next) {
            const struct wpath *p = (const struct wpath *)n;
            CHECK((n->hash & w->paths.mask) == i);
            CHECK(n->hash == hash_bytes(w->seed, p->bytes, p->len));
            CHECK(path_find(w, p->bytes, p->len) == p);
            CHECK(p->n_entries > 0 && p->head != NULL && p->head->pprev == NULL);
            size_t c = 0, r = 0;
            for (const struct went *e = p->head; e; e = e->pnext) {
                CHECK(e->path == p);
                CHECK(e->pnext == NULL || e->pnext->pprev == e);
                CHECK(e->kinds != 0 && (e->kinds & ~CV_WATCH_ALL_KINDS) == 0);
                CHECK(sess_find(w, e->sess->id) == e->sess);
                CHECK(ent_find(w, p, e->sess->id) == e);
                for (unsigned b = 0; b < 4; b++)
                    kind[b] += (e->kinds >> b) & 1;
                r += (e->kinds & CV_WATCH_PERSISTENT_RECURSIVE) != 0;
                c++;
            }
            CHECK(c == p->n_entries && r == p->n_recursive);
            recursive += r;
            via_paths += c;
        }
    }
    for (size_t i = 0; i <= w->sessions.mask; i++) {
        for (struct hnode *n = w->sessions.b[i]; n; n = n->next) {
            const struct wsess *s = (const struct wsess *)n;
            CHECK((n->hash & w->sessions.mask) == i);
            CHECK(n->hash == hash_session(w->seed, s->id));
            CHECK(s->n_entries > 0 && s->head != NULL && s->head->sprev == NULL);
            CHECK(s->mark <= w->epoch);
            size_t c = 0;
            for (const struct went *e = s->head; e; e = e->snext) {
                CHECK(e->sess == s);
                CHECK(e->snext == NULL || e->snext->sprev == e);
                CHECK(path_find(w, e->path->bytes, e->path->len) == e->path);
                CHECK(ent_find(w, e->path, s->id) == e);
                c++;
            }
            CHECK(c == s->n_entries);
            via_sessions += c;
        }
    }
    size_t in_table = 0;
    for (size_t i = 0; i <= w->entries.mask; i++) {
        for (struct hnode *n = w->entries.b[i]; n; n = n->next) {
            const struct went *e = (const struct went *)n;
            CHECK((n->hash & w->entries.mask) == i);
            CHECK(n->hash == hash_entry(e->path, e->sess->id));
            in_table++;
        }
    }
    /* Each entry found from a path or a session is the one the pair index
     * holds, and all three counts agree: the three views are the same set. */
    CHECK(in_table == w->entries.count);
    CHECK(via_paths == w->entries.count && via_sessions == w->entries.count);
    CHECK(recursive == w->n_recursive);
    for (unsigned b = 0; b < 4; b++)
        CHECK(kind[b] == w->n_kind[b]);
    return 0;
}
