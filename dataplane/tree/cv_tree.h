/*
 * cv_tree — the ZooKeeper data tree: znodes, their Stat, data and ACLs, the
 * ephemeral / container / TTL indexes, the ACL cache, an incrementally
 * maintained digest and a snapshot format.
 *
 * Contract
 * - Pure: no I/O, clocks, threads, or global mutable state. Everything lives
 *   in struct cv_tree, so many trees may exist in one process (simulation).
 *   A tree is owned by one lcore (the sequencer); nothing here locks. Two
 *   trees may be used concurrently from two threads.
 * - Applies committed transactions; it does not validate requests. Versions,
 *   permissions, path syntax, sequential names and NOCHILDRENFOREPHEMERALS are
 *   the caller's prepare step. Paths given to it are valid ZooKeeper paths
 *   ("/" or "/a/b": no trailing slash, no empty component), not
 *   NUL-terminated. The tree still keeps itself consistent: an operation that
 *   cannot be applied returns a negative errno and changes nothing:
 *     -ENOENT    the node (or, for create, its parent) does not exist
 *     -EEXIST    create of a node that exists (including "/")
 *     -ENOTEMPTY delete of a node that has children
 *     -EINVAL    delete of "/", create under a session-owned ephemeral, an
 *                acl_id that is not live, dlen < -1, a path without a '/'
 *     -ENOMEM    allocation failed (the tree is unchanged)
 * - Stat semantics are Apache ZooKeeper 3.8.0's DataTree / DataNode, checked
 *   against the real server:
 *     create: czxid = mzxid = pzxid = zxid, ctime = mtime = time, versions 0.
 *             Parent: if parent_cversion == -1 it becomes stored cversion + 1;
 *             then if parent_cversion > stored cversion, stored cversion =
 *             parent_cversion and pzxid = zxid (else the parent is unchanged).
 *     delete: parent pzxid = zxid if zxid > pzxid. The stored cversion is NOT
 *             changed: ZooKeeper stores the number of child creations and
 *             reports cversion = 2 * stored - numChildren (DataNode.copyStat),
 *             so a delete still shows as +1 to clients. The prepare step must
 *             therefore derive CreateTxn.parentCVersion and sequential suffixes
 *             from the STORED value (cv_znode_stat_persisted), as ZooKeeper's
 *             PrepRequestProcessor does.
 *     set_data: data, version, mzxid, mtime.   set_acl: acl, aversion.
 *     Stat.ephemeralOwner is reported as 0 for containers and TTL nodes;
 *     Stat.dataLength is 0 for null data.
 * - Owners (ZooKeeper's EphemeralType with extended types enabled): 0 =
 *   persistent, INT64_MIN = container, top byte 0xFF with bits 40..55 zero =
 *   TTL (ttl in the low 40 bits), any other top-byte-0xFF value = an unknown
 *   extended type (kept, indexed nowhere), anything else = an ephemeral owned
 *   by that session id. Server ids are therefore limited to 0..254, as in
 *   ZooKeeper.
 * - Pointers: a const struct cv_znode * from lookup or iteration, and any
 *   data / name / ACL pointer obtained from it, stays valid until the next
 *   mutating call on the same tree (mutations may move node records).
 *   Iteration callbacks must not mutate the tree; collect first, then apply.
 * - Memory: every mutating call that adds bytes allocates, and only those:
 *   create (node record; hash and index growth), set_data / set_acl and the
 *   parent update of create / delete (a node record is rewritten in place
 *   when its new encoding fits in its current size class, else reallocated),
 *   acl_intern (a new ACL list), the first ephemeral of a session (index
 *   entry), serialize (temporary traversal state), deserialize (a whole new
 *   tree), and the ephemeral / container / TTL listings (a temporary path
 *   buffer). Node records of up to 2 KiB come from the tree's own slab arena
 *   (256 KiB chunks, one free list per 4-byte size class, never returned to
 *   libc before cv_tree_free); larger records are malloc'd one by one.
 *   cv_tree_reserve pre-sizes the id table and name index at start-up.
 *   Lookup, Stat, data, name, children and ACL reads never allocate;
 *   cv_tree_check and cv_tree_digest_recompute allocate temporaries.
 *   Measured (perf/bench_tree, 1M znodes /bench/dXXX/nYYYYYY with 100-byte
 *   data): ~172 bytes per znode including the id table and name index.
 *
 * Node layout (see cv_tree_int.h): a 28-byte header (parent, sibling links,
 *   ACL id, first child / child count or the session's ephemeral links,
 *   record size, flags), then the name, the nine persisted Stat fields as
 *   LEB128 varints (zxids and times as zigzag deltas: a typical node's Stat
 *   takes ~18 bytes instead of 60), and the data inline. Nodes are named by
 *   32-bit ids; a table maps ids to records. Lookup is one probe per path
 *   component in a single open-addressed table keyed by (parent id, name),
 *   4 bytes per slot. No full paths and no per-node child sets are stored.
 */
#ifndef CV_TREE_H
#define CV_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "cv_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cv_tree;
struct cv_znode;

/* ---- owners (EphemeralType) ---------------------------------------------- */

#define CV_OWNER_CONTAINER     INT64_MIN
#define CV_OWNER_EXTENDED_MASK 0xff00000000000000ULL
#define CV_OWNER_RESERVED_MASK 0x00ffff0000000000ULL
#define CV_OWNER_TTL_MAX       0x000000ffffffffffLL /* 2^40 - 1 ms */

static inline int cv_owner_is_container(int64_t o)
{
    return o == CV_OWNER_CONTAINER;
}

static inline int cv_owner_is_extended(int64_t o)
{
    return ((uint64_t)o & CV_OWNER_EXTENDED_MASK) == CV_OWNER_EXTENDED_MASK;
}

static inline int cv_owner_is_ttl(int64_t o)
{
    return cv_owner_is_extended(o) && ((uint64_t)o & CV_OWNER_RESERVED_MASK) == 0;
}

static inline int64_t cv_owner_ttl_ms(int64_t o)
{
    return cv_owner_is_ttl(o) ? (int64_t)((uint64_t)o & (uint64_t)CV_OWNER_TTL_MAX) : 0;
}

/* The owner of a TTL node, or 0 if ttl_ms is not in [1, 2^40 - 1] (ZooKeeper
 * refuses those). */
static inline int64_t cv_owner_make_ttl(int64_t ttl_ms)
{
    if (ttl_ms <= 0 || ttl_ms > CV_OWNER_TTL_MAX)
        return 0;
    return (int64_t)(CV_OWNER_EXTENDED_MASK | (uint64_t)ttl_ms);
}

/* An ephemeral owned by a session (EphemeralType.NORMAL). */
static inline int cv_owner_is_session(int64_t o)
{
    return o != 0 && !cv_owner_is_container(o) && !cv_owner_is_extended(o);
}

/* ---- life cycle ---------------------------------------------------------- */

/* A new tree holding ZooKeeper's system nodes exactly as a fresh 3.8 server
 * shows them: "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config", all
 * with empty (not null) data and zero Stat fields, except /zookeeper/config:
 * aversion -1 and ACL world:anyone READ; the others world:anyone ALL. NULL if
 * out of memory. */
struct cv_tree *cv_tree_new(void);
void cv_tree_free(struct cv_tree *t);

/* Pre-size the id table and the name index for `nodes` znodes, so creates up
 * to that count never rehash (a rehash of a million-node index stalls the
 * caller for ~0.1 s). Optional; 0 or -ENOMEM (nothing changed). */
int cv_tree_reserve(struct cv_tree *t, uint64_t nodes);

/* ---- lookup and read ----------------------------------------------------- */

/* The node at path, or NULL. O(depth) hash probes. */
const struct cv_znode *cv_tree_lookup(const struct cv_tree *t, const char *path, size_t len);

/* Stat as ZooKeeper sends it (translated cversion, numChildren, dataLength,
 * client-visible ephemeralOwner). */
void cv_znode_stat(const struct cv_tree *t, const struct cv_znode *n, struct cv_stat *st);
/* The stored (persisted) Stat fields: raw cversion and raw owner. */
void cv_znode_stat_persisted(const struct cv_znode *n, struct cv_stat_persisted *st);
/* Data: *p points into the tree; *len is -1 for null data (then *p is NULL). */
void cv_znode_data(const struct cv_tree *t, const struct cv_znode *n, const uint8_t **p,
                   int32_t *len);
/* Last path component ("" for the root); not NUL-terminated. */
void cv_znode_name(const struct cv_znode *n, const char **p, size_t *len);
uint32_t cv_znode_acl_id(const struct cv_znode *n);
/* The stored ephemeralOwner (0, a session id, container or TTL encoding). */
int64_t cv_znode_owner(const struct cv_znode *n);
uint32_t cv_znode_num_children(const struct cv_znode *n);

/* Write n's full path into buf (at most cap bytes, no NUL) and return its
 * length; if that is > cap, buf holds nothing useful: retry larger. */
size_t cv_tree_path(const struct cv_tree *t, const struct cv_znode *n, char *buf, size_t cap);

/* Children, in creation order (ZooKeeper's order is unspecified).
 *   struct cv_tree_iter it; cv_tree_children(t, n, &it);
 *   while ((c = cv_tree_iter_next(t, &it))) cv_znode_name(c, ...); */
struct cv_tree_iter {
    uint32_t next;
};
void cv_tree_children(const struct cv_tree *t, const struct cv_znode *n, struct cv_tree_iter *it);
const struct cv_znode *cv_tree_iter_next(const struct cv_tree *t, struct cv_tree_iter *it);

/* getAllChildrenNumber: every descendant, not counting n itself. O(1) for
 * the root (node count - 1, as ZooKeeper), a subtree walk otherwise. */
uint64_t cv_tree_count_descendants(const struct cv_tree *t, const struct cv_znode *n);

/* ---- mutations (apply of committed transactions) ------------------------ */

/*
 * DataTree.createNode. data/dlen: dlen -1 is null data (data ignored);
 * bytes are copied. acl_id: a live id from cv_tree_acl_intern; the node takes
 * its own reference. owner: ephemeralOwner (see owners above). out_stat may be
 * NULL; else it receives the new node's Stat.
 */
int cv_tree_create(struct cv_tree *t, const char *path, size_t len, const void *data, int32_t dlen,
                   uint32_t acl_id, int64_t owner, int64_t zxid, int64_t time_ms,
                   int32_t parent_cversion, struct cv_stat *out_stat);

/* DataTree.deleteNode (see the Stat rules above). */
int cv_tree_delete(struct cv_tree *t, const char *path, size_t len, int64_t zxid);

/* DataTree.setData: data, version = version, mzxid = zxid, mtime = time. */
int cv_tree_set_data(struct cv_tree *t, const char *path, size_t len, const void *data,
                     int32_t dlen, int32_t version, int64_t zxid, int64_t time_ms,
                     struct cv_stat *out_stat);

/* DataTree.setACL: acl = acl_id (a live id; the node takes a reference and
 * drops the old one), aversion = aversion. */
int cv_tree_set_acl(struct cv_tree *t, const char *path, size_t len, uint32_t acl_id,
                    int32_t aversion, struct cv_stat *out_stat);

/* ---- ACL cache (ReferenceCountedACLCache) -------------------------------- */

/*
 * Intern an ACL list (order matters, as in ZooKeeper). Identical lists get the
 * same id. The bytes of scheme and id are copied. *id_out receives an id
 * holding one reference for the caller, who passes the id to create / set_acl
 * (which take their own references) and then drops its reference with
 * cv_tree_acl_release. An id whose last reference goes is freed and may be
 * reused. Returns 0, -EINVAL (count < 0, a string with len < -1 or a NULL
 * pointer with len > 0) or -ENOMEM.
 */
int cv_tree_acl_intern(struct cv_tree *t, const struct cv_acl *acls, int32_t count,
                       uint32_t *id_out);
/* Drop one reference (-EINVAL if id is not live). */
int cv_tree_acl_release(struct cv_tree *t, uint32_t id);
/* Take one more reference on a live id (-EINVAL if not live): keeps a
 * deleted node's list readable until the caller releases it. */
int cv_tree_acl_retain(struct cv_tree *t, uint32_t id);
/* The list of a live id: *acls points into tree storage (strings too). */
int cv_tree_acl_get(const struct cv_tree *t, uint32_t id, const struct cv_acl **acls,
                    int32_t *count);
/* References held on a live id (nodes + callers), or 0 if not live. */
uint32_t cv_tree_acl_refs(const struct cv_tree *t, uint32_t id);
/* Live ids. */
uint32_t cv_tree_acl_count(const struct cv_tree *t);
/* Ids of the two lists every tree holds (the system nodes use them). */
uint32_t cv_tree_acl_open(const struct cv_tree *t);      /* world:anyone ALL */
uint32_t cv_tree_acl_read_only(const struct cv_tree *t); /* world:anyone READ */

/* ---- ephemerals, containers, TTL nodes ----------------------------------- */

/* Callbacks receive a full path (valid during the call only) and the node;
 * a nonzero return stops the iteration and is returned. The listing
 * functions return 0, that value, or -ENOMEM (temporary path buffer). */
typedef int (*cv_tree_node_cb)(void *ctx, const char *path, size_t len, const struct cv_znode *n);

/* Ephemerals of one session, in creation order, without scanning the tree. */
int cv_tree_ephemerals(const struct cv_tree *t, int64_t session, cv_tree_node_cb cb, void *ctx);
uint32_t cv_tree_ephemeral_count(const struct cv_tree *t, int64_t session);
/* Ephemerals of all sessions; number of sessions owning at least one. */
uint64_t cv_tree_ephemeral_total(const struct cv_tree *t);
uint32_t cv_tree_ephemeral_sessions(const struct cv_tree *t);
/* Each session owning ephemerals (order unspecified but deterministic for a
 * given history); stop on nonzero. */
int cv_tree_ephemeral_owners(const struct cv_tree *t, int (*cb)(void *ctx, int64_t session),
                             void *ctx);

/* ContainerManager.getCandidates, containers: childless containers whose
 * stored cversion > 0, or, when max_never_used_ms != 0, whose
 * now_ms - mtime > max_never_used_ms. */
int cv_tree_container_candidates(const struct cv_tree *t, int64_t now_ms, int64_t max_never_used_ms,
                                 cv_tree_node_cb cb, void *ctx);
/* ... and TTL nodes: childless, ttl != 0 and now_ms - mtime > ttl. */
int cv_tree_ttl_candidates(const struct cv_tree *t, int64_t now_ms, cv_tree_node_cb cb, void *ctx);
uint32_t cv_tree_container_count(const struct cv_tree *t);
uint32_t cv_tree_ttl_count(const struct cv_tree *t);

/* ---- digest -------------------------------------------------------------- */

/* Sum (mod 2^64) over all nodes of a 64-bit hash of (full path, data incl.
 * null-ness, the nine persisted Stat fields, the ACL list's contents), each
 * hash a CRC-64 finalised by a 64-bit mixer. Maintained on every mutation,
 * O(1). Equal for equal contents however they were reached; ACL ids do not
 * matter, only ACL contents. Not ZooKeeper's digest (which is CRC-32 based and
 * skips /zookeeper); corvid replicas compare corvid digests. */
uint64_t cv_tree_digest(const struct cv_tree *t);
/* One node's term of that sum (0: no such node). A digest of what every
 * replica must agree on leaves out /zookeeper/config, whose mtime is each
 * server's own start time (as in ZooKeeper). */
uint64_t cv_tree_node_digest(const struct cv_tree *t, const char *path, size_t len);
/* The same sum recomputed by a full walk (tests, fsck); 0 if out of memory
 * for the path buffer (practically impossible: one path's length). */
uint64_t cv_tree_digest_recompute(const struct cv_tree *t);

/* Full consistency check (links, counts, indexes, hash table, ACL refcounts,
 * digest): 0, or -EUCLEAN after printing the first violation to stderr. For
 * tests and fsck; O(n). */
int cv_tree_check(const struct cv_tree *t);

/* Test hook (out-of-memory injection): the tree's allocation (malloc or arena
 * record) after the next n succeeds fails once; n < 0 turns it off. Per tree,
 * no global state. */
void cv_tree_fail_alloc_after(struct cv_tree *t, int64_t n);

/* ---- snapshot ------------------------------------------------------------ */

/*
 * Snapshot format, version 1 (all fixed-width integers big-endian; varint =
 * unsigned LEB128, at most 10 bytes; zz() = zigzag):
 *   "CVTR"  u32 version=1  u64 node_count  u32 acl_count
 *   acl_count ACL lists (numbered 1..acl_count in this order):
 *     varint n; n x { varint perms(u32), varint scheme_len+1, scheme,
 *                      varint id_len+1, id }           (len+1 = 0: null)
 *   node_count nodes in pre-order (root first, children in list order):
 *     varint parent_delta (own index - parent index; 0 for the root only),
 *     varint acl (1..acl_count), varint name_len, name,
 *     varint zz(czxid), zz(mzxid - czxid), zz(pzxid - czxid), zz(ctime),
 *            zz(mtime - ctime), zz(version), zz(cversion), zz(aversion),
 *            owner (as u64),
 *     varint dlen+1 (0: null), data
 *   u64 digest (cv_tree_digest)  u32 crc32c of every byte before it
 * The differences are wrapping 64-bit. Deserialize checks the CRC, every
 * length against the bytes left, the pre-order and name rules (non-empty,
 * no '/', no NUL, unique among siblings, no children under a session
 * ephemeral), and the digest, and returns -EBADMSG for any violation
 * without reading outside [p, p + n). ACL ids are renumbered densely;
 * contents and every node's references are preserved.
 */
#define CV_TREE_SNAP_VERSION 1

/* write returns 0 or a negative errno, which is returned as is. Returns 0,
 * that error, or -ENOMEM. */
int cv_tree_serialize(const struct cv_tree *t, int (*write)(void *ctx, const void *p, size_t n),
                      void *ctx);
/* *out receives a new tree (free with cv_tree_free). 0, -EBADMSG, -ENOMEM. */
int cv_tree_deserialize(struct cv_tree **out, const uint8_t *p, size_t n);

/* ---- accounting ---------------------------------------------------------- */

uint64_t cv_tree_node_count(const struct cv_tree *t);
/* Sum of data lengths (null counts 0). */
uint64_t cv_tree_data_bytes(const struct cv_tree *t);
/* Bytes this tree holds from the allocator: arena chunks (used or free),
 * large records, id table, hash tables, indexes, ACL lists. Excludes libc
 * malloc headers. */
size_t cv_tree_memory_bytes(const struct cv_tree *t);

#ifdef __cplusplus
}
#endif
#endif /* CV_TREE_H */
