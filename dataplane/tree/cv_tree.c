/*
 * cv_tree — nodes, lookup, mutations, indexes, digest. See cv_tree.h.
 */
#include <stddef.h>

#include "cv_tree_int.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define CV_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define CV_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define CV_POISON(p, n)   ((void)(p), (void)(n))
#define CV_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* ---- accounted allocation ------------------------------------------------ */

static bool inject_failure(struct cv_tree *t)
{
    return t->fail_after >= 0 && t->fail_after-- == 0;
}

void cv_tree_fail_alloc_after(struct cv_tree *t, int64_t n)
{
    t->fail_after = n;
}

void *cv_tree__alloc(struct cv_tree *t, size_t n)
{
    if (inject_failure(t))
        return NULL;
    void *p = malloc(n ? n : 1);
    if (p)
        t->mem += n;
    return p;
}

void *cv_tree__calloc(struct cv_tree *t, size_t n)
{
    if (inject_failure(t))
        return NULL;
    void *p = calloc(1, n ? n : 1);
    if (p)
        t->mem += n;
    return p;
}

void cv_tree__free(struct cv_tree *t, void *p, size_t n)
{
    if (!p)
        return;
    free(p);
    CV_ASSERT(t->mem >= n);
    t->mem -= n;
}

void *cv_tree__realloc(struct cv_tree *t, void *p, size_t old, size_t n)
{
    if (inject_failure(t))
        return NULL;
    void *q = realloc(p, n ? n : 1);
    if (q)
        t->mem = t->mem - old + n;
    return q;
}

/* ---- u32 hash tables ----------------------------------------------------- */

int cv_tab_reserve(struct cv_tree *t, struct cv_u32tab *tb, uint32_t want, cv_tab_hash_fn fn)
{
    uint64_t cap = tb->slot ? (uint64_t)tb->mask + 1 : 0;
    if ((uint64_t)want * 4 <= cap * 3)
        return 0;
    uint64_t ncap = cap ? cap * 2 : 16;
    while ((uint64_t)want * 4 > ncap * 3)
        ncap *= 2;
    if (ncap > (1ULL << 31))
        return -ENOMEM;
    uint32_t *ns = cv_tree__calloc(t, (size_t)ncap * sizeof(uint32_t));
    if (!ns)
        return -ENOMEM;
    uint32_t nmask = (uint32_t)(ncap - 1);
    for (uint64_t i = 0; i < cap; i++) {
        uint32_t v = tb->slot[i];
        if (!v)
            continue;
        uint32_t j = (uint32_t)fn(t, v) & nmask;
        while (ns[j])
            j = (j + 1) & nmask;
        ns[j] = v;
    }
    cv_tree__free(t, tb->slot, (size_t)cap * sizeof(uint32_t));
    tb->slot = ns;
    tb->mask = nmask;
    return 0;
}

void cv_tab_insert(struct cv_u32tab *tb, uint32_t v, uint64_t h)
{
    CV_ASSERT(tb->slot && (uint64_t)(tb->count + 1) * 4 <= ((uint64_t)tb->mask + 1) * 3);
    uint32_t i = (uint32_t)h & tb->mask;
    while (tb->slot[i])
        i = (i + 1) & tb->mask;
    tb->slot[i] = v;
    tb->count++;
}

void cv_tab_remove(struct cv_tree *t, struct cv_u32tab *tb, uint32_t v, uint64_t h,
                   cv_tab_hash_fn fn)
{
    uint32_t mask = tb->mask;
    uint32_t i = (uint32_t)h & mask;
    while (tb->slot[i] != v) {
        CV_VERIFY(tb->slot[i] != 0); /* v must be present */
        i = (i + 1) & mask;
    }
    /* Backward shift: pull later members of the run into the hole when the
     * hole lies on their probe path. */
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        uint32_t w = tb->slot[j];
        if (!w)
            break;
        uint32_t home = (uint32_t)fn(t, w) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            tb->slot[i] = w;
            i = j;
        }
    }
    tb->slot[i] = 0;
    tb->count--;
}

void cv_tab_free(struct cv_tree *t, struct cv_u32tab *tb)
{
    if (tb->slot)
        cv_tree__free(t, tb->slot, ((size_t)tb->mask + 1) * sizeof(uint32_t));
    memset(tb, 0, sizeof(*tb));
}

/* ---- arena and records ---------------------------------------------------- */

static void arena_put(struct cv_tree *t, void *p, uint32_t units)
{
    struct cv_arena *a = &t->arena;
    memcpy(p, &a->free_list[units], sizeof(void *)); /* records are only 4-byte aligned */
    a->free_list[units] = p;
    CV_POISON(p, (size_t)units * CV_ARENA_UNIT);
}

static void *arena_get(struct cv_tree *t, uint32_t units)
{
    struct cv_arena *a = &t->arena;
    size_t need = (size_t)units * CV_ARENA_UNIT;
    if (inject_failure(t))
        return NULL;
    void *p = a->free_list[units];
    if (p) {
        CV_UNPOISON(p, need);
        memcpy(&a->free_list[units], p, sizeof(void *));
        return p;
    }
    if (a->bump_left < need) {
        if (a->nchunks == a->chunks_cap) {
            uint32_t ncap = a->chunks_cap ? a->chunks_cap * 2 : 16;
            uint8_t **nc =
                cv_tree__realloc(t, a->chunks, a->chunks_cap * sizeof(*nc), ncap * sizeof(*nc));
            if (!nc)
                return NULL;
            a->chunks = nc;
            a->chunks_cap = ncap;
        }
        uint8_t *c = cv_tree__alloc(t, CV_ARENA_CHUNK);
        if (!c)
            return NULL;
        a->chunks[a->nchunks++] = c;
        if (a->bump_left >= sizeof(void *)) { /* keep the old chunk's tail */
            uint32_t u = (uint32_t)(a->bump_left / CV_ARENA_UNIT);
            CV_UNPOISON(a->bump, sizeof(void *));
            arena_put(t, a->bump, u);
        }
        a->bump = c;
        a->bump_left = CV_ARENA_CHUNK;
        CV_POISON(c, CV_ARENA_CHUNK);
    }
    p = a->bump;
    CV_UNPOISON(p, need);
    a->bump += need;
    a->bump_left -= need;
    return p;
}

static size_t rec_capacity(const struct cv_znode *n)
{
    if (n->flags & CV_ZN_HEAP) {
        size_t cap;
        memcpy(&cap, (const uint8_t *)n - 8, sizeof(cap));
        return cap;
    }
    return (size_t)n->units * CV_ARENA_UNIT;
}

static struct cv_znode *rec_alloc(struct cv_tree *t, size_t bytes)
{
    size_t units = (bytes + CV_ARENA_UNIT - 1) / CV_ARENA_UNIT;
    struct cv_znode *n;
    if (units <= CV_ARENA_MAX_UNITS) {
        n = arena_get(t, (uint32_t)units);
        if (!n)
            return NULL;
        n->units = (uint16_t)units;
        n->flags = 0;
    } else {
        size_t cap = units * CV_ARENA_UNIT;
        uint8_t *b = cv_tree__alloc(t, cap + 8);
        if (!b)
            return NULL;
        memcpy(b, &cap, sizeof(cap));
        n = (struct cv_znode *)(b + 8);
        n->units = 0;
        n->flags = CV_ZN_HEAP;
    }
    return n;
}

static void rec_free(struct cv_tree *t, struct cv_znode *n)
{
    if (n->flags & CV_ZN_HEAP) {
        size_t cap = rec_capacity(n);
        cv_tree__free(t, (uint8_t *)n - 8, cap + 8);
    } else {
        arena_put(t, n, n->units);
    }
}

/* Can a record of capacity cap be rewritten in place to need bytes? Arena
 * records keep their exact size class (so no space is stranded); heap records
 * may shrink to half before they move. */
static int rec_fits(const struct cv_znode *n, size_t need)
{
    if (n->flags & CV_ZN_HEAP) {
        size_t cap = rec_capacity(n);
        return need <= cap && need * 2 >= cap && need > CV_ARENA_MAX_UNITS * CV_ARENA_UNIT;
    }
    return (need + CV_ARENA_UNIT - 1) / CV_ARENA_UNIT == n->units;
}

static size_t rec_need(size_t nlen, size_t slen, int32_t dlen)
{
    return sizeof(struct cv_znode) + cv_vlen(nlen) + nlen + slen +
           cv_vlen((uint64_t)((int64_t)dlen + 1)) + (dlen > 0 ? (size_t)dlen : 0);
}

/* Write stat, data length and data starting at the record's stat offset. */
static void rec_write_tail(struct cv_znode *n, const struct cv_stat_persisted *s, const void *data,
                           int32_t dlen)
{
    uint8_t *p = (uint8_t *)cv_zn_stat_ptr(n);
    size_t sl = cv_tree__stat_encode(p, s);
    CV_ASSERT(sl < 256);
    n->slen = (uint8_t)sl;
    p += sl;
    p += cv_vput(p, (uint64_t)((int64_t)dlen + 1));
    if (dlen > 0)
        memcpy(p, data, (size_t)dlen);
}

void cv_tree__data(const struct cv_znode *n, const uint8_t **p, int32_t *len)
{
    const uint8_t *q = cv_zn_stat_ptr(n) + n->slen;
    int64_t l = (int64_t)cv_vget_fast(&q) - 1;
    *len = (int32_t)l;
    *p = l >= 0 ? q : NULL;
}

static void zn_stat(const struct cv_znode *n, struct cv_stat_persisted *s)
{
    const uint8_t *p = cv_zn_stat_ptr(n);
    size_t k = cv_tree__stat_decode(p, p + n->slen, s);
    CV_VERIFY(k == n->slen);
}

/* ---- stat codec ------------------------------------------------------------ */

static inline uint64_t delta(int64_t a, int64_t b)
{
    return cv_zz((int64_t)((uint64_t)a - (uint64_t)b));
}

size_t cv_tree__stat_len(const struct cv_stat_persisted *s)
{
    return cv_vlen(cv_zz(s->czxid)) + cv_vlen(delta(s->mzxid, s->czxid)) +
           cv_vlen(delta(s->pzxid, s->czxid)) + cv_vlen(cv_zz(s->ctime)) +
           cv_vlen(delta(s->mtime, s->ctime)) + cv_vlen(cv_zz(s->version)) +
           cv_vlen(cv_zz(s->cversion)) + cv_vlen(cv_zz(s->aversion)) +
           cv_vlen((uint64_t)s->ephemeral_owner);
}

size_t cv_tree__stat_encode(uint8_t *p, const struct cv_stat_persisted *s)
{
    size_t k = 0;
    k += cv_vput(p + k, cv_zz(s->czxid));
    k += cv_vput(p + k, delta(s->mzxid, s->czxid));
    k += cv_vput(p + k, delta(s->pzxid, s->czxid));
    k += cv_vput(p + k, cv_zz(s->ctime));
    k += cv_vput(p + k, delta(s->mtime, s->ctime));
    k += cv_vput(p + k, cv_zz(s->version));
    k += cv_vput(p + k, cv_zz(s->cversion));
    k += cv_vput(p + k, cv_zz(s->aversion));
    k += cv_vput(p + k, (uint64_t)s->ephemeral_owner);
    return k;
}

size_t cv_tree__stat_decode(const uint8_t *p, const uint8_t *end, struct cv_stat_persisted *s)
{
    uint64_t v[9];
    size_t k = 0;
    for (int i = 0; i < 9; i++) {
        size_t m = cv_vget(p + k, end, &v[i]);
        if (!m)
            return 0;
        k += m;
    }
    int64_t ver[3];
    for (int i = 0; i < 3; i++) {
        ver[i] = cv_unzz(v[5 + i]);
        if (ver[i] < INT32_MIN || ver[i] > INT32_MAX)
            return 0;
    }
    s->czxid = cv_unzz(v[0]);
    s->mzxid = (int64_t)((uint64_t)s->czxid + (uint64_t)cv_unzz(v[1]));
    s->pzxid = (int64_t)((uint64_t)s->czxid + (uint64_t)cv_unzz(v[2]));
    s->ctime = cv_unzz(v[3]);
    s->mtime = (int64_t)((uint64_t)s->ctime + (uint64_t)cv_unzz(v[4]));
    s->version = (int32_t)ver[0];
    s->cversion = (int32_t)ver[1];
    s->aversion = (int32_t)ver[2];
    s->ephemeral_owner = (int64_t)v[8];
    return k;
}

/* ---- node ids ------------------------------------------------------------- */

static int ids_reserve(struct cv_tree *t)
{
    if (t->free_ids || t->nodes_hwm < t->nodes_cap)
        return 0;
    if (t->nodes_cap >= UINT32_MAX / 2)
        return -ENOMEM;
    uint32_t ncap = t->nodes_cap ? t->nodes_cap * 2 : 64;
    struct cv_znode **nn =
        cv_tree__realloc(t, t->nodes, t->nodes_cap * sizeof(*nn), (size_t)ncap * sizeof(*nn));
    if (!nn)
        return -ENOMEM;
    t->nodes = nn;
    t->nodes_cap = ncap;
    return 0;
}

static uint32_t id_take(struct cv_tree *t)
{
    uint32_t id;
    if (t->free_ids) {
        id = t->free_ids;
        t->free_ids = (uint32_t)((uintptr_t)t->nodes[id] >> 1);
    } else {
        CV_ASSERT(t->nodes_hwm < t->nodes_cap);
        id = t->nodes_hwm++;
    }
    return id;
}

static void id_put(struct cv_tree *t, uint32_t id)
{
    t->nodes[id] = (struct cv_znode *)(((uintptr_t)t->free_ids << 1) | 1);
    t->free_ids = id;
}

/* ---- name index ------------------------------------------------------------- */

static inline uint64_t name_hash(uint32_t parent, const uint8_t *s, size_t n)
{
    uint64_t h = ((uint64_t)parent << 32 | n) * 0x9e3779b97f4a7c15ULL;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, s, n);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    }
    return cv_mix64(h);
}

static uint64_t names_rehash(const struct cv_tree *t, uint32_t id)
{
    const struct cv_znode *n = t->nodes[id];
    size_t len;
    const uint8_t *nm = cv_zn_name(n, &len);
    return name_hash(n->parent, nm, len);
}

static uint32_t names_find(const struct cv_tree *t, uint32_t parent, const uint8_t *s, size_t len,
                           uint64_t h)
{
    const struct cv_u32tab *tb = &t->names;
    if (!tb->slot)
        return 0;
    for (uint32_t i = (uint32_t)h & tb->mask;; i = (i + 1) & tb->mask) {
        uint32_t id = tb->slot[i];
        if (!id)
            return 0;
        const struct cv_znode *n = t->nodes[id];
        if (n->parent != parent)
            continue;
        size_t l;
        const uint8_t *nm = cv_zn_name(n, &l);
        if (l == len && memcmp(nm, s, len) == 0)
            return id;
    }
}

/* Id of the node at path, or 0. */
static uint32_t lookup_id(const struct cv_tree *t, const char *path, size_t len)
{
    if (len == 0 || path[0] != '/')
        return 0;
    if (len == 1)
        return CV_ROOT_ID;
    const char *p = path + 1, *end = path + len;
    uint32_t cur = CV_ROOT_ID;
    for (;;) {
        const char *q = memchr(p, '/', (size_t)(end - p));
        if (!q)
            q = end;
        if (q == p)
            return 0;
        size_t l = (size_t)(q - p);
        cur = names_find(t, cur, (const uint8_t *)p, l, name_hash(cur, (const uint8_t *)p, l));
        if (!cur || q == end)
            return cur;
        p = q + 1;
    }
}

/* ---- intrusive lists (siblings; a session's ephemerals) ----------------- */

#define LNK(t, id, off) (*(uint32_t *)((uint8_t *)(t)->nodes[id] + (off)))
#define SIB_NEXT        offsetof(struct cv_znode, next)
#define SIB_PREV        offsetof(struct cv_znode, prev)
#define EPH_NEXT        offsetof(struct cv_znode, u.eph.next)
#define EPH_PREV        offsetof(struct cv_znode, u.eph.prev)

static void list_append(struct cv_tree *t, uint32_t *head, uint32_t id, size_t onext, size_t oprev)
{
    LNK(t, id, onext) = 0;
    if (!*head) {
        *head = id;
        LNK(t, id, oprev) = id;
        return;
    }
    uint32_t last = LNK(t, *head, oprev);
    LNK(t, last, onext) = id;
    LNK(t, id, oprev) = last;
    LNK(t, *head, oprev) = id;
}

static void list_remove(struct cv_tree *t, uint32_t *head, uint32_t id, size_t onext, size_t oprev)
{
    uint32_t next = LNK(t, id, onext), prev = LNK(t, id, oprev);
    if (*head == id) {
        *head = next;
        if (next)
            LNK(t, next, oprev) = prev;
    } else {
        LNK(t, prev, onext) = next;
        if (next)
            LNK(t, next, oprev) = prev;
        else
            LNK(t, *head, oprev) = prev;
    }
}

/* ---- session / container / TTL indexes ------------------------------------ */

static uint64_t sess_rehash(const struct cv_tree *t, uint32_t e)
{
    return cv_mix64((uint64_t)t->sess[e].owner);
}

static uint64_t id_rehash(const struct cv_tree *t, uint32_t id)
{
    (void)t;
    return cv_mix64(id);
}

static uint32_t sess_find(const struct cv_tree *t, int64_t owner)
{
    const struct cv_u32tab *tb = &t->sess_index;
    if (!tb->slot)
        return 0;
    for (uint32_t i = (uint32_t)cv_mix64((uint64_t)owner) & tb->mask;; i = (i + 1) & tb->mask) {
        uint32_t e = tb->slot[i];
        if (!e)
            return 0;
        if (t->sess[e].owner == owner)
            return e;
    }
}

/* Make room for one more session entry without creating it. */
static int sess_reserve(struct cv_tree *t)
{
    if (!t->sess_free && t->sess_hwm == t->sess_cap) {
        uint32_t ncap = t->sess_cap ? t->sess_cap * 2 : 16;
        if (ncap < t->sess_cap)
            return -ENOMEM;
        struct cv_eph_sess *ns =
            cv_tree__realloc(t, t->sess, t->sess_cap * sizeof(*ns), (size_t)ncap * sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        if (t->sess_hwm == 0)
            t->sess_hwm = 1; /* entry 0 is unused */
        t->sess = ns;
        t->sess_cap = ncap;
    }
    return cv_tab_reserve(t, &t->sess_index, t->sess_index.count + 1, sess_rehash);
}

static uint32_t sess_get_or_add(struct cv_tree *t, int64_t owner)
{
    uint32_t e = sess_find(t, owner);
    if (e)
        return e;
    if (t->sess_free) {
        e = t->sess_free;
        t->sess_free = t->sess[e].head;
    } else {
        CV_ASSERT(t->sess_hwm < t->sess_cap);
        e = t->sess_hwm++;
    }
    t->sess[e].owner = owner;
    t->sess[e].head = 0;
    t->sess[e].count = 0;
    cv_tab_insert(&t->sess_index, e, cv_mix64((uint64_t)owner));
    t->sess_live++;
    return e;
}

static void sess_drop(struct cv_tree *t, uint32_t e)
{
    cv_tab_remove(t, &t->sess_index, e, cv_mix64((uint64_t)t->sess[e].owner), sess_rehash);
    t->sess[e].count = 0;
    t->sess[e].head = t->sess_free;
    t->sess_free = e;
    t->sess_live--;
}

static uint8_t owner_flags(int64_t owner)
{
    if (cv_owner_is_session(owner))
        return CV_ZN_SESSION;
    if (cv_owner_is_container(owner))
        return CV_ZN_CONTAINER;
    if (cv_owner_is_ttl(owner))
        return CV_ZN_TTL;
    return 0;
}

static int index_reserve(struct cv_tree *t, uint8_t kind)
{
    if (kind & CV_ZN_SESSION)
        return sess_reserve(t);
    if (kind & CV_ZN_CONTAINER)
        return cv_tab_reserve(t, &t->containers, t->containers.count + 1, id_rehash);
    if (kind & CV_ZN_TTL)
        return cv_tab_reserve(t, &t->ttls, t->ttls.count + 1, id_rehash);
    return 0;
}

static void index_add(struct cv_tree *t, uint32_t id, int64_t owner)
{
    uint8_t f = t->nodes[id]->flags;
    if (f & CV_ZN_SESSION) {
        uint32_t e = sess_get_or_add(t, owner);
        list_append(t, &t->sess[e].head, id, EPH_NEXT, EPH_PREV);
        t->sess[e].count++;
        t->eph_total++;
    } else if (f & CV_ZN_CONTAINER) {
        cv_tab_insert(&t->containers, id, cv_mix64(id));
    } else if (f & CV_ZN_TTL) {
        cv_tab_insert(&t->ttls, id, cv_mix64(id));
    }
}

static void index_remove(struct cv_tree *t, uint32_t id, int64_t owner)
{
    uint8_t f = t->nodes[id]->flags;
    if (f & CV_ZN_SESSION) {
        uint32_t e = sess_find(t, owner);
        CV_VERIFY(e != 0);
        list_remove(t, &t->sess[e].head, id, EPH_NEXT, EPH_PREV);
        t->eph_total--;
        if (--t->sess[e].count == 0)
            sess_drop(t, e);
    } else if (f & CV_ZN_CONTAINER) {
        cv_tab_remove(t, &t->containers, id, cv_mix64(id), id_rehash);
    } else if (f & CV_ZN_TTL) {
        cv_tab_remove(t, &t->ttls, id, cv_mix64(id), id_rehash);
    }
}

/* ---- digest ------------------------------------------------------------------ */

static inline void be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t cv_tree__node_hash(const struct cv_tree *t, const char *path, size_t plen,
                            const struct cv_znode *n)
{
    struct cv_stat_persisted s;
    const uint8_t *d;
    int32_t dlen;
    zn_stat(n, &s);
    cv_tree__data(n, &d, &dlen);
    uint8_t b[8 * 12];
    be64(b, plen);
    be64(b + 8, (uint64_t)(int64_t)dlen);
    be64(b + 16, (uint64_t)s.czxid);
    be64(b + 24, (uint64_t)s.mzxid);
    be64(b + 32, (uint64_t)s.pzxid);
    be64(b + 40, (uint64_t)s.ctime);
    be64(b + 48, (uint64_t)s.mtime);
    be64(b + 56, (uint64_t)(int64_t)s.version);
    be64(b + 64, (uint64_t)(int64_t)s.cversion);
    be64(b + 72, (uint64_t)(int64_t)s.aversion);
    be64(b + 80, (uint64_t)s.ephemeral_owner);
    be64(b + 88, cv_tree__acl_hash(t, n->acl));
    uint64_t c = cv_crc64_update(0, b, sizeof(b));
    c = cv_crc64_update(c, path, plen);
    if (dlen > 0)
        c = cv_crc64_update(c, d, (size_t)dlen);
    return cv_mix64(c ^ 0x6376747265650001ULL);
}

/* ---- record rewrite with a new stat (parent updates, setACL) ---------------- */

/* Allocate the replacement record if the new stat does not fit in place. */
static int restat_prepare(struct cv_tree *t, uint32_t id, const struct cv_stat_persisted *s,
                          struct cv_znode **fresh)
{
    const struct cv_znode *n = t->nodes[id];
    const uint8_t *d;
    int32_t dlen;
    size_t nlen;
    cv_zn_name(n, &nlen);
    cv_tree__data(n, &d, &dlen);
    size_t need = rec_need(nlen, cv_tree__stat_len(s), dlen);
    *fresh = NULL;
    if (rec_fits(n, need))
        return 0;
    *fresh = rec_alloc(t, need);
    return *fresh ? 0 : -ENOMEM;
}

static void restat_commit(struct cv_tree *t, uint32_t id, const struct cv_stat_persisted *s,
                          struct cv_znode *fresh)
{
    struct cv_znode *n = t->nodes[id];
    const uint8_t *d;
    int32_t dlen;
    cv_tree__data(n, &d, &dlen);
    if (!fresh) {
        /* Move the data length + data to just after the new stat, then write it. */
        uint8_t *sp = (uint8_t *)cv_zn_stat_ptr(n);
        uint8_t *tail = sp + n->slen;
        size_t tail_len = (size_t)(d ? d + dlen - tail : (const uint8_t *)tail + 1 - tail);
        size_t sl = cv_tree__stat_len(s);
        memmove(sp + sl, tail, tail_len);
        cv_tree__stat_encode(sp, s);
        n->slen = (uint8_t)sl;
        return;
    }
    size_t nlen;
    const uint8_t *nm = cv_zn_name(n, &nlen);
    uint16_t units = fresh->units;
    uint8_t heap = fresh->flags & CV_ZN_HEAP;
    memcpy(fresh, n, sizeof(*n));
    fresh->units = units;
    fresh->flags = (uint8_t)((n->flags & ~CV_ZN_HEAP) | heap);
    size_t k = cv_vput(fresh->body, nlen);
    memcpy(fresh->body + k, nm, nlen);
    rec_write_tail(fresh, s, d, dlen);
    t->nodes[id] = fresh;
    rec_free(t, n);
}

/* ---- construction ------------------------------------------------------------ */

struct cv_tree *cv_tree__new_empty(void)
{
    struct cv_tree *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->mem = sizeof(*t);
    t->fail_after = -1;
    t->nodes_hwm = 1;
    t->acls_hwm = 1;
    if (ids_reserve(t) != 0) {
        cv_tree_free(t);
        return NULL;
    }
    return t;
}

int cv_tree__init_root(struct cv_tree *t, uint32_t acl, const struct cv_stat_persisted *s,
                       const void *data, int32_t dlen)
{
    CV_VERIFY(t->nodes_hwm == 1 && t->node_count == 0);
    if (!cv_tree__acl_live(t, acl) || dlen < -1 || cv_owner_is_session(s->ephemeral_owner))
        return -EINVAL;
    uint8_t kind = owner_flags(s->ephemeral_owner);
    int rc = index_reserve(t, kind);
    if (rc)
        return rc;
    struct cv_znode *n = rec_alloc(t, rec_need(0, cv_tree__stat_len(s), dlen));
    if (!n)
        return -ENOMEM;
    uint32_t id = id_take(t);
    CV_VERIFY(id == CV_ROOT_ID);
    t->nodes[id] = n;
    n->parent = 0;
    n->next = n->prev = 0;
    n->acl = acl;
    n->u.kids.first = n->u.kids.count = 0;
    n->flags |= kind;
    n->body[0] = 0; /* empty name */
    rec_write_tail(n, s, data, dlen);
    cv_tree__acl_ref(t, acl);
    index_add(t, id, s->ephemeral_owner);
    t->node_count = 1;
    t->data_bytes = dlen > 0 ? (uint64_t)dlen : 0;
    t->digest = cv_tree__node_hash(t, "/", 1, n);
    return 0;
}

int cv_tree__insert(struct cv_tree *t, uint32_t pid, const uint8_t *name, size_t nlen,
                    const struct cv_stat_persisted *s, const void *data, int32_t dlen, uint32_t acl,
                    const char *path, size_t plen, uint32_t *id_out)
{
    if (dlen < -1 || !cv_tree__acl_live(t, acl) || nlen == 0)
        return -EINVAL;
    if (t->nodes[pid]->flags & CV_ZN_SESSION)
        return -EINVAL;
    uint64_t h = name_hash(pid, name, nlen);
    if (names_find(t, pid, name, nlen, h))
        return -EEXIST;
    uint8_t kind = owner_flags(s->ephemeral_owner);
    int rc = ids_reserve(t);
    if (!rc)
        rc = cv_tab_reserve(t, &t->names, t->names.count + 1, names_rehash);
    if (!rc)
        rc = index_reserve(t, kind);
    if (rc)
        return rc;
    struct cv_znode *n = rec_alloc(t, rec_need(nlen, cv_tree__stat_len(s), dlen));
    if (!n)
        return -ENOMEM;

    /* Nothing below fails. */
    uint32_t id = id_take(t);
    t->nodes[id] = n;
    n->parent = pid;
    n->acl = acl;
    n->u.kids.first = n->u.kids.count = 0;
    n->flags |= kind;
    size_t k = cv_vput(n->body, nlen);
    memcpy(n->body + k, name, nlen);
    rec_write_tail(n, s, data, dlen);
    cv_tab_insert(&t->names, id, h);
    struct cv_znode *p = t->nodes[pid];
    list_append(t, &p->u.kids.first, id, SIB_NEXT, SIB_PREV);
    p->u.kids.count++;
    cv_tree__acl_ref(t, acl);
    index_add(t, id, s->ephemeral_owner);
    t->node_count++;
    t->data_bytes += dlen > 0 ? (uint64_t)dlen : 0;
    t->digest += cv_tree__node_hash(t, path, plen, n);
    if (id_out)
        *id_out = id;
    return 0;
}

struct cv_tree *cv_tree_new(void)
{
    struct cv_tree *t = cv_tree__new_empty();
    if (!t)
        return NULL;
    static const uint8_t world[] = "world", anyone[] = "anyone";
    struct cv_acl acl = {31, {{world, 5}, {anyone, 6}}};
    struct cv_stat_persisted z;
    memset(&z, 0, sizeof(z));
    uint32_t cfg;
    if (cv_tree_acl_intern(t, &acl, 1, &t->acl_open) != 0)
        goto fail;
    acl.perms = 1;
    if (cv_tree_acl_intern(t, &acl, 1, &t->acl_read) != 0)
        goto fail;
    if (cv_tree__init_root(t, t->acl_open, &z, "", 0) != 0)
        goto fail;
    uint32_t zk, quota;
    if (cv_tree__insert(t, CV_ROOT_ID, (const uint8_t *)"zookeeper", 9, &z, "", 0, t->acl_open,
                        "/zookeeper", 10, &zk) != 0)
        goto fail;
    if (cv_tree__insert(t, zk, (const uint8_t *)"quota", 5, &z, "", 0, t->acl_open,
                        "/zookeeper/quota", 16, &quota) != 0)
        goto fail;
    z.aversion = -1; /* DataTree.addConfigNode: setACL(READ_ACL_UNSAFE, -1) */
    if (cv_tree__insert(t, zk, (const uint8_t *)"config", 6, &z, "", 0, t->acl_read,
                        "/zookeeper/config", 17, &cfg) != 0)
        goto fail;
    /* The tree's own references keep both lists alive even when unused. */
    return t;
fail:
    cv_tree_free(t);
    return NULL;
}

void cv_tree_free(struct cv_tree *t)
{
    if (!t)
        return;
    for (uint32_t id = 1; id < t->nodes_hwm; id++) {
        struct cv_znode *n = t->nodes[id];
        if (!((uintptr_t)n & 1) && (n->flags & CV_ZN_HEAP))
            free((uint8_t *)n - 8);
    }
    for (uint32_t i = 0; i < t->arena.nchunks; i++) {
        CV_UNPOISON(t->arena.chunks[i], CV_ARENA_CHUNK);
        free(t->arena.chunks[i]);
    }
    free(t->arena.chunks);
    free(t->nodes);
    free(t->names.slot);
    free(t->sess);
    free(t->sess_index.slot);
    free(t->containers.slot);
    free(t->ttls.slot);
    cv_tree__acl_free_all(t);
    free(t);
}

int cv_tree_reserve(struct cv_tree *t, uint64_t nodes)
{
    if (nodes >= UINT32_MAX / 2)
        return -ENOMEM;
    if (nodes + 1 > t->nodes_cap) {
        uint32_t ncap = (uint32_t)nodes + 1;
        struct cv_znode **nn =
            cv_tree__realloc(t, t->nodes, t->nodes_cap * sizeof(*nn), (size_t)ncap * sizeof(*nn));
        if (!nn)
            return -ENOMEM;
        t->nodes = nn;
        t->nodes_cap = ncap;
    }
    return cv_tab_reserve(t, &t->names, (uint32_t)nodes, names_rehash);
}

/* ---- reads ------------------------------------------------------------------- */

const struct cv_znode *cv_tree_lookup(const struct cv_tree *t, const char *path, size_t len)
{
    uint32_t id = lookup_id(t, path, len);
    return id ? t->nodes[id] : NULL;
}

void cv_znode_stat_persisted(const struct cv_znode *n, struct cv_stat_persisted *st)
{
    zn_stat(n, st);
}

void cv_znode_stat(const struct cv_tree *t, const struct cv_znode *n, struct cv_stat *st)
{
    (void)t;
    struct cv_stat_persisted s;
    const uint8_t *d;
    int32_t dlen;
    zn_stat(n, &s);
    cv_tree__data(n, &d, &dlen);
    uint32_t kids = cv_zn_nkids(n);
    st->czxid = s.czxid;
    st->mzxid = s.mzxid;
    st->ctime = s.ctime;
    st->mtime = s.mtime;
    st->version = s.version;
    /* DataNode.copyStat: stored cversion counts creates; clients see changes. */
    st->cversion = (int32_t)((uint32_t)s.cversion * 2u - kids);
    st->aversion = s.aversion;
    st->ephemeral_owner = cv_owner_is_session(s.ephemeral_owner) ? s.ephemeral_owner : 0;
    st->data_length = dlen < 0 ? 0 : dlen;
    st->num_children = (int32_t)kids;
    st->pzxid = s.pzxid;
}

void cv_znode_data(const struct cv_tree *t, const struct cv_znode *n, const uint8_t **p,
                   int32_t *len)
{
    (void)t;
    cv_tree__data(n, p, len);
}

void cv_znode_name(const struct cv_znode *n, const char **p, size_t *len)
{
    *p = (const char *)cv_zn_name(n, len);
}

uint32_t cv_znode_acl_id(const struct cv_znode *n)
{
    return n->acl;
}

int64_t cv_znode_owner(const struct cv_znode *n)
{
    struct cv_stat_persisted s;
    zn_stat(n, &s);
    return s.ephemeral_owner;
}

uint32_t cv_znode_num_children(const struct cv_znode *n)
{
    return cv_zn_nkids(n);
}

size_t cv_tree_path(const struct cv_tree *t, const struct cv_znode *n, char *buf, size_t cap)
{
    if (n->parent == 0) {
        if (cap >= 1)
            buf[0] = '/';
        return 1;
    }
    size_t total = 0, l;
    for (const struct cv_znode *c = n; c->parent; c = t->nodes[c->parent]) {
        cv_zn_name(c, &l);
        total += 1 + l;
    }
    if (total > cap)
        return total;
    size_t pos = total;
    for (const struct cv_znode *c = n; c->parent; c = t->nodes[c->parent]) {
        const uint8_t *nm = cv_zn_name(c, &l);
        pos -= l;
        memcpy(buf + pos, nm, l);
        buf[--pos] = '/';
    }
    return total;
}

void cv_tree_children(const struct cv_tree *t, const struct cv_znode *n, struct cv_tree_iter *it)
{
    (void)t;
    it->next = cv_zn_has_kids(n) ? n->u.kids.first : 0;
}

const struct cv_znode *cv_tree_iter_next(const struct cv_tree *t, struct cv_tree_iter *it)
{
    if (!it->next)
        return NULL;
    const struct cv_znode *c = t->nodes[it->next];
    it->next = c->next;
    return c;
}

uint64_t cv_tree_count_descendants(const struct cv_tree *t, const struct cv_znode *n)
{
    if (n->parent == 0)
        return t->node_count - 1;
    if (!cv_zn_has_kids(n))
        return 0;
    uint32_t cur = n->u.kids.first;
    const uint32_t top = t->nodes[cur]->parent;
    uint64_t c = 0;
    for (;;) {
        c++;
        const struct cv_znode *x = t->nodes[cur];
        if (cv_zn_has_kids(x)) {
            cur = x->u.kids.first;
            continue;
        }
        for (;;) {
            x = t->nodes[cur];
            if (x->next) {
                cur = x->next;
                break;
            }
            cur = x->parent;
            if (cur == top)
                return c;
        }
    }
}

/* ---- mutations ---------------------------------------------------------------- */

/* Split a path into parent length (1 for "/x") and last component. */
static int split_path(const char *path, size_t len, size_t *plen, const uint8_t **name,
                      size_t *nlen)
{
    if (len < 2 || path[0] != '/')
        return -EINVAL;
    size_t i = len;
    while (i > 0 && path[i - 1] != '/')
        i--;
    /* path[i - 1] is the last '/' */
    if (i == len)
        return -EINVAL;
    *plen = i == 1 ? 1 : i - 1;
    *name = (const uint8_t *)path + i;
    *nlen = len - i;
    return 0;
}

static void fill_stat(const struct cv_tree *t, uint32_t id, struct cv_stat *out)
{
    if (out)
        cv_znode_stat(t, t->nodes[id], out);
}

int cv_tree_create(struct cv_tree *t, const char *path, size_t len, const void *data, int32_t dlen,
                   uint32_t acl_id, int64_t owner, int64_t zxid, int64_t time_ms,
                   int32_t parent_cversion, struct cv_stat *out_stat)
{
    if (len == 1 && path[0] == '/')
        return -EEXIST;
    size_t plen, nlen;
    const uint8_t *name;
    int rc = split_path(path, len, &plen, &name, &nlen);
    if (rc)
        return rc;
    if (dlen < -1 || !cv_tree__acl_live(t, acl_id))
        return -EINVAL;
    uint32_t pid = lookup_id(t, path, plen);
    if (!pid)
        return -ENOENT;
    const struct cv_znode *p = t->nodes[pid];
    if (p->flags & CV_ZN_SESSION)
        return -EINVAL;
    if (names_find(t, pid, name, nlen, name_hash(pid, name, nlen)))
        return -EEXIST;

    /* DataTree.createNode's parent update. */
    struct cv_stat_persisted ps;
    zn_stat(p, &ps);
    int32_t cv = parent_cversion == -1 ? (int32_t)((uint32_t)ps.cversion + 1u) : parent_cversion;
    bool bump = cv > ps.cversion;
    struct cv_znode *fresh = NULL;
    if (bump) {
        ps.cversion = cv;
        ps.pzxid = zxid;
        rc = restat_prepare(t, pid, &ps, &fresh);
        if (rc)
            return rc;
    }

    struct cv_stat_persisted s = {zxid, zxid, time_ms, time_ms, 0, 0, 0, owner, zxid};
    uint32_t id;
    rc = cv_tree__insert(t, pid, name, nlen, &s, data, dlen, acl_id, path, len, &id);
    if (rc) {
        if (fresh)
            rec_free(t, fresh);
        return rc;
    }
    if (bump) {
        uint64_t old = cv_tree__node_hash(t, path, plen, t->nodes[pid]);
        restat_commit(t, pid, &ps, fresh);
        t->digest += cv_tree__node_hash(t, path, plen, t->nodes[pid]) - old;
    }
    fill_stat(t, id, out_stat);
    return 0;
}

int cv_tree_delete(struct cv_tree *t, const char *path, size_t len, int64_t zxid)
{
    if (len == 1 && path[0] == '/')
        return -EINVAL;
    size_t plen, nlen;
    const uint8_t *name;
    int rc = split_path(path, len, &plen, &name, &nlen);
    if (rc)
        return rc;
    uint32_t id = lookup_id(t, path, len);
    if (!id)
        return -ENOENT;
    struct cv_znode *n = t->nodes[id];
    if (cv_zn_nkids(n))
        return -ENOTEMPTY;
    uint32_t pid = n->parent;

    struct cv_stat_persisted ps;
    zn_stat(t->nodes[pid], &ps);
    bool bump = zxid > ps.pzxid;
    struct cv_znode *fresh = NULL;
    if (bump) {
        ps.pzxid = zxid;
        rc = restat_prepare(t, pid, &ps, &fresh);
        if (rc)
            return rc;
    }

    /* Nothing below fails. */
    const uint8_t *d;
    int32_t dlen;
    cv_tree__data(n, &d, &dlen);
    t->digest -= cv_tree__node_hash(t, path, len, n);
    cv_tab_remove(t, &t->names, id, name_hash(pid, name, nlen), names_rehash);
    struct cv_znode *p = t->nodes[pid];
    list_remove(t, &p->u.kids.first, id, SIB_NEXT, SIB_PREV);
    p->u.kids.count--;
    index_remove(t, id, cv_znode_owner(n));
    cv_tree__acl_unref(t, n->acl);
    t->node_count--;
    t->data_bytes -= dlen > 0 ? (uint64_t)dlen : 0;
    rec_free(t, n);
    id_put(t, id);
    if (bump) {
        uint64_t old = cv_tree__node_hash(t, path, plen, t->nodes[pid]);
        restat_commit(t, pid, &ps, fresh);
        t->digest += cv_tree__node_hash(t, path, plen, t->nodes[pid]) - old;
    }
    return 0;
}

int cv_tree_set_data(struct cv_tree *t, const char *path, size_t len, const void *data,
                     int32_t dlen, int32_t version, int64_t zxid, int64_t time_ms,
                     struct cv_stat *out_stat)
{
    if (dlen < -1)
        return -EINVAL;
    uint32_t id = lookup_id(t, path, len);
    if (!id)
        return -ENOENT;
    struct cv_znode *n = t->nodes[id];
    struct cv_stat_persisted s;
    zn_stat(n, &s);
    s.version = version;
    s.mzxid = zxid;
    s.mtime = time_ms;
    const uint8_t *od;
    int32_t olen;
    cv_tree__data(n, &od, &olen);
    size_t nlen;
    const uint8_t *nm = cv_zn_name(n, &nlen);
    size_t need = rec_need(nlen, cv_tree__stat_len(&s), dlen);
    const uint8_t *src = data;
    size_t cap = rec_capacity(n);
    bool alias = dlen > 0 && src < (const uint8_t *)n + cap && src + dlen > (const uint8_t *)n;
    uint64_t old = cv_tree__node_hash(t, path, len, n);
    if (rec_fits(n, need) && !alias) {
        rec_write_tail(n, &s, data, dlen);
    } else {
        struct cv_znode *f = rec_alloc(t, need);
        if (!f)
            return -ENOMEM;
        uint16_t units = f->units;
        uint8_t heap = f->flags & CV_ZN_HEAP;
        memcpy(f, n, sizeof(*n));
        f->units = units;
        f->flags = (uint8_t)((n->flags & ~CV_ZN_HEAP) | heap);
        size_t k = cv_vput(f->body, nlen);
        memcpy(f->body + k, nm, nlen);
        rec_write_tail(f, &s, data, dlen);
        t->nodes[id] = f;
        rec_free(t, n);
        n = f;
    }
    t->data_bytes =
        t->data_bytes - (olen > 0 ? (uint64_t)olen : 0) + (dlen > 0 ? (uint64_t)dlen : 0);
    t->digest += cv_tree__node_hash(t, path, len, n) - old;
    fill_stat(t, id, out_stat);
    return 0;
}

int cv_tree_set_acl(struct cv_tree *t, const char *path, size_t len, uint32_t acl_id,
                    int32_t aversion, struct cv_stat *out_stat)
{
    if (!cv_tree__acl_live(t, acl_id))
        return -EINVAL;
    uint32_t id = lookup_id(t, path, len);
    if (!id)
        return -ENOENT;
    struct cv_stat_persisted s;
    zn_stat(t->nodes[id], &s);
    s.aversion = aversion;
    struct cv_znode *fresh;
    int rc = restat_prepare(t, id, &s, &fresh);
    if (rc)
        return rc;
    uint64_t old = cv_tree__node_hash(t, path, len, t->nodes[id]);
    restat_commit(t, id, &s, fresh);
    struct cv_znode *n = t->nodes[id];
    uint32_t old_acl = n->acl;
    cv_tree__acl_ref(t, acl_id);
    n->acl = acl_id;
    cv_tree__acl_unref(t, old_acl);
    t->digest += cv_tree__node_hash(t, path, len, n) - old;
    fill_stat(t, id, out_stat);
    return 0;
}

/* ---- walks ---------------------------------------------------------------------- */

int cv_tree__walk(const struct cv_tree *t, cv_tree_walk_fn fn, void *ctx)
{
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    int rc = fn(ctx, CV_ROOT_ID, 0, "/", 1);
    uint32_t cur = CV_ROOT_ID, depth = 0;
    /* buf holds cur's path with the root as "" */
    while (rc == 0) {
        const struct cv_znode *x = t->nodes[cur];
        uint32_t nxt;
        if (cv_zn_has_kids(x)) {
            nxt = x->u.kids.first;
            depth++;
        } else {
            /* climb to the nearest node with a next sibling */
            for (;;) {
                x = t->nodes[cur];
                if (x->next) {
                    nxt = x->next;
                    break;
                }
                if (x->parent == 0) {
                    free(buf);
                    return 0;
                }
                cur = x->parent;
                depth--;
                while (len > 0 && buf[len - 1] != '/')
                    len--;
                len--; /* the '/' */
            }
            /* drop the sibling's own name */
            while (len > 0 && buf[len - 1] != '/')
                len--;
            len--;
        }
        size_t l;
        const uint8_t *nm = cv_zn_name(t->nodes[nxt], &l);
        if (len + 1 + l > cap) {
            while (len + 1 + l > cap)
                cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
        }
        buf[len++] = '/';
        memcpy(buf + len, nm, l);
        len += l;
        cur = nxt;
        rc = fn(ctx, cur, depth, buf, len);
    }
    free(buf);
    return rc;
}

static int digest_fn(void *ctx, uint32_t id, uint32_t depth, const char *path, size_t plen)
{
    (void)depth;
    void **c = ctx;
    const struct cv_tree *t = c[0];
    *(uint64_t *)c[1] += cv_tree__node_hash(t, path, plen, t->nodes[id]);
    return 0;
}

uint64_t cv_tree_digest(const struct cv_tree *t)
{
    return t->digest;
}

uint64_t cv_tree_node_digest(const struct cv_tree *t, const char *path, size_t len)
{
    const struct cv_znode *n = cv_tree_lookup(t, path, len);
    return n ? cv_tree__node_hash(t, path, len, n) : 0;
}

uint64_t cv_tree_digest_recompute(const struct cv_tree *t)
{
    uint64_t sum = 0;
    void *c[2] = {(void *)t, &sum};
    if (cv_tree__walk(t, digest_fn, c) != 0)
        return 0;
    return sum;
}

/* ---- ephemerals, containers, TTLs ------------------------------------------------- */

struct pathbuf {
    char *p;
    size_t cap;
};

static int emit(const struct cv_tree *t, struct pathbuf *pb, uint32_t id, cv_tree_node_cb cb,
                void *ctx)
{
    const struct cv_znode *n = t->nodes[id];
    size_t l = cv_tree_path(t, n, pb->p, pb->cap);
    if (l > pb->cap) {
        size_t ncap = pb->cap ? pb->cap : 256;
        while (ncap < l)
            ncap *= 2;
        char *np = realloc(pb->p, ncap);
        if (!np)
            return -ENOMEM;
        pb->p = np;
        pb->cap = ncap;
        cv_tree_path(t, n, pb->p, pb->cap);
    }
    return cb(ctx, pb->p, l, n);
}

int cv_tree_ephemerals(const struct cv_tree *t, int64_t session, cv_tree_node_cb cb, void *ctx)
{
    uint32_t e = sess_find(t, session);
    if (!e)
        return 0;
    struct pathbuf pb = {NULL, 0};
    int rc = 0;
    for (uint32_t id = t->sess[e].head; id && rc == 0; id = t->nodes[id]->u.eph.next)
        rc = emit(t, &pb, id, cb, ctx);
    free(pb.p);
    return rc;
}

uint32_t cv_tree_ephemeral_count(const struct cv_tree *t, int64_t session)
{
    uint32_t e = sess_find(t, session);
    return e ? t->sess[e].count : 0;
}

uint64_t cv_tree_ephemeral_total(const struct cv_tree *t)
{
    return t->eph_total;
}
uint32_t cv_tree_ephemeral_sessions(const struct cv_tree *t)
{
    return t->sess_live;
}

int cv_tree_ephemeral_owners(const struct cv_tree *t, int (*cb)(void *ctx, int64_t session),
                             void *ctx)
{
    for (uint32_t e = 1; e < t->sess_hwm; e++) {
        if (t->sess[e].count == 0)
            continue;
        int rc = cb(ctx, t->sess[e].owner);
        if (rc)
            return rc;
    }
    return 0;
}

static int tab_candidates(const struct cv_tree *t, const struct cv_u32tab *tb, int64_t now_ms,
                          int64_t never_used_ms, bool ttl, cv_tree_node_cb cb, void *ctx)
{
    if (!tb->slot)
        return 0;
    struct pathbuf pb = {NULL, 0};
    int rc = 0;
    for (uint64_t i = 0; i <= tb->mask && rc == 0; i++) {
        uint32_t id = tb->slot[i];
        if (!id)
            continue;
        const struct cv_znode *n = t->nodes[id];
        if (cv_zn_nkids(n))
            continue;
        struct cv_stat_persisted s;
        zn_stat(n, &s);
        int64_t elapsed = (int64_t)((uint64_t)now_ms - (uint64_t)s.mtime);
        bool yes;
        if (ttl) {
            int64_t ttl_ms = cv_owner_ttl_ms(s.ephemeral_owner);
            yes = ttl_ms != 0 && elapsed > ttl_ms;
        } else {
            yes = s.cversion > 0 || (never_used_ms != 0 && elapsed > never_used_ms);
        }
        if (yes)
            rc = emit(t, &pb, id, cb, ctx);
    }
    free(pb.p);
    return rc;
}

int cv_tree_container_candidates(const struct cv_tree *t, int64_t now_ms, int64_t max_never_used_ms,
                                 cv_tree_node_cb cb, void *ctx)
{
    return tab_candidates(t, &t->containers, now_ms, max_never_used_ms, false, cb, ctx);
}

int cv_tree_ttl_candidates(const struct cv_tree *t, int64_t now_ms, cv_tree_node_cb cb, void *ctx)
{
    return tab_candidates(t, &t->ttls, now_ms, 0, true, cb, ctx);
}

uint32_t cv_tree_container_count(const struct cv_tree *t)
{
    return t->containers.count;
}
uint32_t cv_tree_ttl_count(const struct cv_tree *t)
{
    return t->ttls.count;
}

/* ---- accounting ------------------------------------------------------------------- */

uint64_t cv_tree_node_count(const struct cv_tree *t)
{
    return t->node_count;
}
uint64_t cv_tree_data_bytes(const struct cv_tree *t)
{
    return t->data_bytes;
}
size_t cv_tree_memory_bytes(const struct cv_tree *t)
{
    return t->mem;
}

/* ---- consistency check -------------------------------------------------------------- */

struct check_ctx {
    const struct cv_tree *t;
    uint64_t nodes, data, digest, eph, containers, ttls;
    uint32_t *acl_refs;
    int bad;
};

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "cv_tree_check: %s failed (%s:%d)\n", #c, __FILE__, __LINE__);         \
            k->bad = 1;                                                                            \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static int check_fn(void *ctx, uint32_t id, uint32_t depth, const char *path, size_t plen)
{
    (void)depth;
    struct check_ctx *k = ctx;
    const struct cv_tree *t = k->t;
    const struct cv_znode *n = t->nodes[id];
    CHECK(!((uintptr_t)n & 1));
    CHECK(lookup_id(t, path, plen) == id);
    size_t nlen;
    const uint8_t *nm = cv_zn_name(n, &nlen);
    CHECK((id == CV_ROOT_ID) == (nlen == 0) && (id == CV_ROOT_ID) == (n->parent == 0));
    CHECK(!memchr(nm, '/', nlen));
    struct cv_stat_persisted s;
    const uint8_t *sp = cv_zn_stat_ptr(n);
    CHECK(cv_tree__stat_decode(sp, sp + n->slen, &s) == n->slen);
    const uint8_t *d;
    int32_t dlen;
    cv_tree__data(n, &d, &dlen);
    CHECK(dlen >= -1);
    size_t need = rec_need(nlen, n->slen, dlen);
    CHECK(need <= rec_capacity(n));
    CHECK((n->flags & (CV_ZN_SESSION | CV_ZN_CONTAINER | CV_ZN_TTL)) ==
          owner_flags(s.ephemeral_owner));
    if (!(n->flags & CV_ZN_SESSION)) {
        uint32_t c = 0, last = 0;
        for (uint32_t x = n->u.kids.first; x; x = t->nodes[x]->next) {
            CHECK(t->nodes[x]->parent == id);
            CHECK(t->nodes[x]->prev == (last ? last : t->nodes[n->u.kids.first]->prev));
            last = x;
            c++;
        }
        CHECK(c == n->u.kids.count);
        if (n->u.kids.first)
            CHECK(t->nodes[n->u.kids.first]->prev == last);
    } else {
        k->eph++;
    }
    if (n->flags & CV_ZN_CONTAINER)
        k->containers++;
    if (n->flags & CV_ZN_TTL)
        k->ttls++;
    CHECK(cv_tree__acl_live(t, n->acl));
    k->acl_refs[n->acl]++;
    k->nodes++;
    k->data += dlen > 0 ? (uint64_t)dlen : 0;
    k->digest += cv_tree__node_hash(t, path, plen, n);
    return 0;
}

int cv_tree_check(const struct cv_tree *t)
{
    struct check_ctx kc;
    memset(&kc, 0, sizeof(kc));
    struct check_ctx *k = &kc;
    k->t = t;
    k->acl_refs = calloc(t->acls_hwm + 1, sizeof(uint32_t));
    if (!k->acl_refs)
        return -ENOMEM;
    int rc = cv_tree__walk(t, check_fn, k);
    if (rc == 0) {
        if (k->nodes != t->node_count || k->data != t->data_bytes || k->digest != t->digest ||
            k->eph != t->eph_total || k->containers != t->containers.count ||
            k->ttls != t->ttls.count || t->names.count != t->node_count - 1) {
            fprintf(stderr, "cv_tree_check: totals differ\n");
            k->bad = 1;
        }
        for (uint32_t a = 1; a < t->acls_hwm && !k->bad; a++) {
            if (k->acl_refs[a] > t->acls[a].refs) {
                fprintf(stderr, "cv_tree_check: acl %u refs %u < users %u\n", a, t->acls[a].refs,
                        k->acl_refs[a]);
                k->bad = 1;
            }
        }
        /* Session lists hold exactly the session's nodes. */
        uint64_t listed = 0;
        for (uint32_t e = 1; e < t->sess_hwm && !k->bad; e++) {
            if (!t->sess[e].count)
                continue;
            uint32_t c = 0;
            for (uint32_t x = t->sess[e].head; x; x = t->nodes[x]->u.eph.next) {
                if (!(t->nodes[x]->flags & CV_ZN_SESSION) ||
                    cv_znode_owner(t->nodes[x]) != t->sess[e].owner) {
                    k->bad = 1;
                    break;
                }
                c++;
            }
            if (c != t->sess[e].count || sess_find(t, t->sess[e].owner) != e)
                k->bad = 1;
            listed += c;
        }
        if (!k->bad && listed != t->eph_total)
            k->bad = 1;
        if (k->bad && rc == 0)
            fprintf(stderr, "cv_tree_check: index mismatch\n");
    }
    free(k->acl_refs);
    if (rc < 0)
        return rc;
    return k->bad ? -EUCLEAN : 0;
}
