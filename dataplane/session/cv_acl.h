/*
 * cv_acl — ZooKeeper ACLs and authentication: the digest, ip, world and auth
 * schemes, the superDigest user, per-connection auth state, checkACL and
 * PrepRequestProcessor.fixupACL.
 *
 * Contract
 * - Pure: no I/O, clocks, threads or global state; any lcore may call it on
 *   structures it owns. Nothing allocates except cv_acl_digest /
 *   cv_acl_authenticate("digest"), which call OpenSSL's one-shot SHA1 (it may
 *   allocate internally; it runs once per addAuth, not per request).
 * - ACL records are struct cv_acl from cv_proto.h; their strings are struct
 *   cv_jbuf (not NUL-terminated; len < 0 is null). A list is (pointer,
 *   count), count < 0 meaning a null list.
 * - Connection auth state (struct cv_acl_auth) is caller-owned, fixed size,
 *   and copies every byte it keeps: the caller's buffers may be reused.
 * - Results are 0 or negative ZooKeeper codes (CV_ZNOAUTH, CV_ZINVALIDACL,
 *   CV_ZAUTHFAILED) where a client sees them, negative errno otherwise.
 *
 * Differences from Apache ZooKeeper, on purpose
 * - addAuth("digest", x) is refused (AUTHFAILED) when x is not valid UTF-8:
 *   ZooKeeper would silently digest U+FFFD substitutes. (Without a ':' the
 *   whole of x is the user, as in ZooKeeper.)
 * - ip ACL ids may be IPv6 (ZooKeeper's current IPAuthenticationProvider
 *   rules; 3.8 accepts IPv4 only).
 * - fixupACL refuses lists longer than CV_ACL_MAX_ENTRIES (INVALIDACL):
 *   ZooKeeper's duplicate removal is quadratic and unbounded.
 */
#ifndef CV_ACL_H
#define CV_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cv_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ZooDefs.Perms */
enum cv_perm {
    CV_PERM_READ = 1,
    CV_PERM_WRITE = 2,
    CV_PERM_CREATE = 4,
    CV_PERM_DELETE = 8,
    CV_PERM_ADMIN = 16,
    CV_PERM_ALL = 31,
};

/* Authenticated id schemes a connection can hold. */
enum cv_acl_scheme {
    CV_ACL_SCHEME_DIGEST = 1,
    CV_ACL_SCHEME_IP = 2,
};

/* Per connection: at most CV_ACL_AUTH_MAX_IDS ids sharing CV_ACL_AUTH_BUF
 * bytes (a digest id is its user name + 29 bytes; an ip id at most 39). */
#define CV_ACL_AUTH_MAX_IDS 8
#define CV_ACL_AUTH_BUF     256
/* base64(SHA-1) */
#define CV_ACL_DIGEST_B64_LEN 28
/* Output bytes one "auth" entry may expand to in cv_acl_fixup. */
#define CV_ACL_FIXUP_BUF_PER_ENTRY (6 * CV_ACL_AUTH_MAX_IDS + CV_ACL_AUTH_BUF)
/* The longest ACL list cv_acl_fixup accepts. */
#define CV_ACL_MAX_ENTRIES 1024

struct cv_acl_auth {
    uint8_t n;
    uint16_t used; /* bytes of buf in use */
    struct {
        uint8_t scheme; /* enum cv_acl_scheme */
        uint16_t off, len;
    } ids[CV_ACL_AUTH_MAX_IDS];
    uint8_t buf[CV_ACL_AUTH_BUF];
};

/* An empty state: nothing authenticated. */
void cv_acl_auth_init(struct cv_acl_auth *a);

/* A state another member sent with a forwarded request: 0 when its counts
 * are in range and every id lies inside buf, -EINVAL otherwise (then it must
 * not be used). */
int cv_acl_auth_check(const struct cv_acl_auth *a);

/*
 * At connect: the peer's address as ZooKeeper's ip provider sees it
 * ("a.b.c.d", or an IPv6 address in text form; no "/bits"). 0, -EINVAL (not
 * an address), -ENOSPC (state full). Adding an id the state already holds
 * is a no-op (ServerCnxn.addAuthInfo ignores duplicates).
 */
int cv_acl_auth_add_ip(struct cv_acl_auth *a, const char *addr, size_t len);

/*
 * An AuthPacket (addAuth). "digest" with "user:password" adds the id
 * "user:base64(sha1(user:password))"; "ip" succeeds without change (the
 * provider adds the peer address, which cv_acl_auth_add_ip did at connect).
 * Returns 0, or CV_ZAUTHFAILED for an unknown scheme, a null or malformed
 * auth (no ':', invalid UTF-8), or no room left in the state — in which case
 * the state is unchanged.
 */
int cv_acl_authenticate(struct cv_acl_auth *a, struct cv_jbuf scheme, struct cv_jbuf auth);

static inline unsigned cv_acl_auth_count(const struct cv_acl_auth *a)
{
    return a->n;
}
/* The i-th authenticated id, in the order added; strings point into a (the
 * scheme into a static string). 0 or -ENOENT. */
int cv_acl_auth_get(const struct cv_acl_auth *a, unsigned i, struct cv_id *out);

/* Whether a holds the digest id equal to superdigest ("user:base64",
 * zookeeper.DigestAuthenticationProvider.superDigest; NULL: no super user). */
bool cv_acl_auth_is_super(const struct cv_acl_auth *a, const char *superdigest);

/*
 * DigestAuthenticationProvider.generateDigest: "user:" + base64(SHA-1 of all
 * of idpw), user being idpw up to its first ':' (all of it if there is none).
 * Writes a NUL-terminated string; returns its length, or -ENOBUFS if cap is
 * smaller than (user length + 30), or -EIO if OpenSSL fails.
 */
int cv_acl_digest(const uint8_t *idpw, size_t len, char *out, size_t cap);

/* DigestAuthenticationProvider.isValid: Java's id.split(":") has exactly two
 * parts (trailing empty parts dropped: "u:h" and "u:h:" yes, "u:" and "a:b:c"
 * no). */
bool cv_acl_digest_id_valid(const uint8_t *id, size_t len);

/* IPAuthenticationProvider.isValid: "addr" or "addr/bits", IPv4 dotted quad
 * (each part Java's Integer.parseInt in 0..255) or IPv6 text, bits in
 * 0..32 / 0..128. */
bool cv_acl_ip_id_valid(const uint8_t *id, size_t len);

/* IPAuthenticationProvider.matches: addr (a connection's ip id) lies in the
 * CIDR block expr; false if either does not parse or their families differ. */
bool cv_acl_ip_match(const uint8_t *addr, size_t addr_len, const uint8_t *expr, size_t expr_len);

/*
 * ZooKeeperServer.checkACL: may a connection with auth state a do perm
 * (a CV_PERM_* bit, or several: any one suffices) on a node with the ACL
 * list acls[0..n)? 0 (allowed) or CV_ZNOAUTH.
 *   - n <= 0 (empty or null list): allowed;
 *   - a holds the superdigest id: allowed;
 *   - an entry whose perms include perm and whose id is world:anyone, or
 *     digest:<an id a holds, byte for byte>, or ip:<a CIDR block holding one
 *     of a's ip ids>: allowed.
 * Other schemes (auth never reaches a stored list; super, sasl, x509 ...)
 * match nothing.
 */
int cv_acl_check(const struct cv_acl *acls, int n, int perm, const struct cv_acl_auth *a,
                 const char *superdigest);

/*
 * PrepRequestProcessor.fixupACL for create / setACL. Input entries that are
 * exact duplicates (perms, scheme, id) of an earlier one are dropped first.
 * Then, in order:
 *   - world:anyone is kept (world with any other id is invalid);
 *   - auth:<anything> becomes one entry per digest id of a (ip ids are not
 *     "authenticated" ids), in a's order, with the same perms; none -> invalid;
 *   - digest:<id> is kept if cv_acl_digest_id_valid, ip:<id> if
 *     cv_acl_ip_id_valid; any other scheme, or a null scheme or id, is invalid.
 * Expanded entries are not deduplicated again (nor are they in ZooKeeper).
 *
 * Output: out[0..cap) entries whose strings are copied into buf[0..buf_cap)
 * (so out is independent of in and a). Always enough room: out_cap >=
 * n * CV_ACL_AUTH_MAX_IDS and buf_cap >= the input's scheme + id bytes +
 * n * CV_ACL_FIXUP_BUF_PER_ENTRY (an auth entry's expansion: at most
 * CV_ACL_AUTH_MAX_IDS "digest" schemes plus the state's id bytes).
 *
 * Returns the number of entries (> 0), CV_ZINVALIDACL (n < 0, n == 0,
 * n > CV_ACL_MAX_ENTRIES, or an invalid entry), or -ENOBUFS (valid, but the
 * output did not fit; discard it).
 */
int cv_acl_fixup(const struct cv_acl *in, int n, const struct cv_acl_auth *a, struct cv_acl *out,
                 int out_cap, uint8_t *buf, size_t buf_cap);

#ifdef __cplusplus
}
#endif
#endif /* CV_ACL_H */
