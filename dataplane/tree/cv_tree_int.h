/*
 * cv_tree internals shared by cv_tree.c, cv_tree_acl.c and cv_tree_snap.c.
 * Not part of the API: nothing outside dataplane/tree includes this.
 */
#ifndef CV_TREE_INT_H
#define CV_TREE_INT_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cv_common.h"
#include "cv_crc.h"
#include "cv_tree.h"

/* Node flags. */
#define CV_ZN_SESSION   0x01 /* owner is a session: u.eph links are in use */
#define CV_ZN_CONTAINER 0x02 /* in t->containers */
#define CV_ZN_TTL       0x04 /* in t->ttls */
#define CV_ZN_HEAP      0x08 /* record malloc'd on its own (8-byte size prefix) */

#define CV_ROOT_ID 1u

/*
 * A node record: 28-byte header, then the body
 *   varint name_len, name, stat (slen bytes of varints, see stat_encode),
 *   varint dlen + 1 (0 = null data), data.
 * Records are 4-byte aligned (heap records 8); links are node ids (0 = none).
 * A free arena record holds the free list's next pointer in its first bytes.
 */
struct cv_znode {
    uint32_t parent;
    uint32_t next; /* next sibling */
    uint32_t prev; /* previous sibling; the first child's prev is the last child */
    uint32_t acl;
    union {
        struct {
            uint32_t first; /* first child */
            uint32_t count; /* number of children */
        } kids;
        struct { /* session ephemerals never have children (ZooKeeper forbids it) */
            uint32_t next;
            uint32_t prev; /* the session's first ephemeral's prev is its last */
        } eph;
    } u;
    uint16_t units; /* arena size class (record bytes / 4), 0 for heap records */
    uint8_t flags;
    uint8_t slen; /* bytes of the encoded stat */
    uint8_t body[];
};

/* Open addressing, linear probing, backward-shift deletion, values != 0. */
struct cv_u32tab {
    uint32_t *slot;
    uint32_t mask; /* capacity - 1 (capacity a power of two) when slot != NULL */
    uint32_t count;
};

#define CV_ARENA_UNIT      4u   /* size-class granularity; records are 4-byte aligned */
#define CV_ARENA_MAX_UNITS 512u /* records up to 2 KiB come from the arena */
#define CV_ARENA_CHUNK     (256u * 1024u)

struct cv_arena {
    uint8_t **chunks;
    uint32_t nchunks, chunks_cap;
    uint8_t *bump;
    size_t bump_left;
    void *free_list[CV_ARENA_MAX_UNITS + 1]; /* by units */
};

struct cv_acl_ent {
    uint64_t hash; /* of the canonical encoding: digest input and cache key */
    uint32_t refs; /* 0: the slot is free (next_free is valid) */
    int32_t count;
    uint32_t blob_len;
    uint32_t next_free;
    struct cv_acl *items; /* one allocation: items[count] then the blob */
    const uint8_t *blob;  /* canonical encoding: {perms, slen, scheme, ilen, id}* */
};

struct cv_eph_sess {
    int64_t owner;
    uint32_t head;  /* first ephemeral; next free entry when count == 0 */
    uint32_t count; /* 0: the entry is free */
};

struct cv_tree {
    struct cv_znode **nodes; /* by id; a free id holds (next_free << 1 | 1) */
    uint32_t nodes_cap, nodes_hwm, free_ids;
    uint64_t node_count, data_bytes;
    uint64_t digest;
    size_t mem;
    struct cv_u32tab names; /* (parent id, name) -> id */
    struct cv_arena arena;

    struct cv_acl_ent *acls; /* by id, [0] unused */
    uint32_t acls_cap, acls_hwm, acl_free, acl_live;
    struct cv_u32tab acl_index; /* content hash -> id */
    uint32_t acl_open, acl_read;

    struct cv_eph_sess *sess; /* [0] unused */
    uint32_t sess_cap, sess_hwm, sess_free, sess_live;
    struct cv_u32tab sess_index; /* owner -> entry */
    uint64_t eph_total;

    struct cv_u32tab containers, ttls; /* node ids */

    int64_t fail_after; /* test hook: fail the allocation after this many; < 0 never */
};

/* ---- small helpers -------------------------------------------------------- */

static inline uint64_t cv_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline size_t cv_vlen(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline size_t cv_vput(uint8_t *p, uint64_t v)
{
    size_t i = 0;
    while (v >= 0x80) {
        p[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[i++] = (uint8_t)v;
    return i;
}

/* Bounds-checked: bytes consumed, or 0 if truncated or longer than 64 bits. */
static inline size_t cv_vget(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (size_t i = 0; i < 10; i++) {
        if (p + i >= end)
            return 0;
        uint8_t b = p[i];
        if (i == 9 && b > 1)
            return 0;
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

/* For bytes the tree wrote itself. */
static inline uint64_t cv_vget_fast(const uint8_t **pp)
{
    const uint8_t *p = *pp;
    uint64_t r = 0;
    unsigned s = 0;
    for (;;) {
        uint8_t b = *p++;
        r |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80))
            break;
        s += 7;
    }
    *pp = p;
    return r;
}

static inline uint64_t cv_zz(int64_t v)
{
    return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
}
static inline int64_t cv_unzz(uint64_t u)
{
    return (int64_t)((u >> 1) ^ (0 - (u & 1)));
}

static inline struct cv_znode *cv_tree__node(const struct cv_tree *t, uint32_t id)
{
    return t->nodes[id];
}

/* Name of a record. */
static inline const uint8_t *cv_zn_name(const struct cv_znode *n, size_t *len)
{
    const uint8_t *p = n->body;
    *len = (size_t)cv_vget_fast(&p);
    return p;
}

static inline const uint8_t *cv_zn_stat_ptr(const struct cv_znode *n)
{
    size_t len;
    const uint8_t *p = cv_zn_name(n, &len);
    return p + len;
}

static inline int cv_zn_has_kids(const struct cv_znode *n)
{
    return !(n->flags & CV_ZN_SESSION) && n->u.kids.first != 0;
}

static inline uint32_t cv_zn_nkids(const struct cv_znode *n)
{
    return (n->flags & CV_ZN_SESSION) ? 0 : n->u.kids.count;
}

/* Stat codec (persisted fields; see the snapshot format in cv_tree.h). */
size_t cv_tree__stat_len(const struct cv_stat_persisted *s);
size_t cv_tree__stat_encode(uint8_t *p, const struct cv_stat_persisted *s);
/* Bounds-checked; bytes consumed or 0. */
size_t cv_tree__stat_decode(const uint8_t *p, const uint8_t *end, struct cv_stat_persisted *s);

/* Tree-accounted malloc. */
void *cv_tree__alloc(struct cv_tree *t, size_t n);
void *cv_tree__calloc(struct cv_tree *t, size_t n);
void cv_tree__free(struct cv_tree *t, void *p, size_t n);
void *cv_tree__realloc(struct cv_tree *t, void *p, size_t old, size_t n);

/* u32 table keyed through a rehash function. */
typedef uint64_t (*cv_tab_hash_fn)(const struct cv_tree *t, uint32_t v);
int cv_tab_reserve(struct cv_tree *t, struct cv_u32tab *tb, uint32_t want, cv_tab_hash_fn fn);
void cv_tab_insert(struct cv_u32tab *tb, uint32_t v, uint64_t h);
/* Remove value v whose hash is h (must be present). */
void cv_tab_remove(struct cv_tree *t, struct cv_u32tab *tb, uint32_t v, uint64_t h,
                   cv_tab_hash_fn fn);
void cv_tab_free(struct cv_tree *t, struct cv_u32tab *tb);

/* ACL internals. */
int cv_tree__acl_live(const struct cv_tree *t, uint32_t id);
void cv_tree__acl_ref(struct cv_tree *t, uint32_t id);
void cv_tree__acl_unref(struct cv_tree *t, uint32_t id);
uint64_t cv_tree__acl_hash(const struct cv_tree *t, uint32_t id);
void cv_tree__acl_free_all(struct cv_tree *t);

/* An empty tree (root only, no ACLs, no system nodes). */
struct cv_tree *cv_tree__new_empty(void);
/* Set the root's stat and ACL (empty tree construction). */
int cv_tree__init_root(struct cv_tree *t, uint32_t acl, const struct cv_stat_persisted *s,
                       const void *data, int32_t dlen);
/* Insert a node under pid with the given stat, no parent update; the path is
 * the node's full path (for the digest). *id_out gets its id. 0, -EEXIST,
 * -EINVAL (session-ephemeral parent, bad acl), -ENOMEM. */
int cv_tree__insert(struct cv_tree *t, uint32_t pid, const uint8_t *name, size_t nlen,
                    const struct cv_stat_persisted *s, const void *data, int32_t dlen, uint32_t acl,
                    const char *path, size_t plen, uint32_t *id_out);

uint64_t cv_tree__node_hash(const struct cv_tree *t, const char *path, size_t plen,
                            const struct cv_znode *n);

/* Pre-order walk, children in list order. fn gets the node id, its depth
 * (root 0) and its path ("/" for the root); nonzero stops and is returned.
 * -ENOMEM if the path buffer cannot grow. */
typedef int (*cv_tree_walk_fn)(void *ctx, uint32_t id, uint32_t depth, const char *path,
                               size_t plen);
int cv_tree__walk(const struct cv_tree *t, cv_tree_walk_fn fn, void *ctx);

/* Record data (len -1 for null). */
void cv_tree__data(const struct cv_znode *n, const uint8_t **p, int32_t *len);

#endif /* CV_TREE_INT_H */
