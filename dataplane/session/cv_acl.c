/*
 * cv_acl — ACL checks and authentication. See cv_acl.h.
 */
#include "cv_acl.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "cv_common.h"

static const char SCHEME_DIGEST[] = "digest";
static const char SCHEME_IP[] = "ip";

/* ---- small string helpers ------------------------------------------------------ */

static bool jb_is(struct cv_jbuf b, const char *s)
{
    size_t n = strlen(s);
    return b.len >= 0 && (size_t)b.len == n && (n == 0 || memcmp(b.ptr, s, n) == 0);
}

static bool jb_eq(struct cv_jbuf a, struct cv_jbuf b)
{
    if (a.len < 0 || b.len < 0)
        return a.len < 0 && b.len < 0;
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static const uint8_t *find_byte(const uint8_t *p, size_t len, uint8_t c)
{
    return len ? memchr(p, c, len) : NULL;
}

/* Strict UTF-8, as Java's decoder accepts it (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
static bool utf8_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + j] & 0x3F);
        }
        static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k + 1;
    }
    return true;
}

/* Java's Integer.parseInt(s, radix) for ASCII digits: optional sign, at
 * least one digit, int range. */
static bool java_parse_int(const uint8_t *p, size_t len, int radix, int32_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (len == 0)
        return false;
    if (p[0] == '+' || p[0] == '-') {
        neg = p[0] == '-';
        i = 1;
        if (len == 1)
            return false;
    }
    int64_t v = 0;
    for (; i < len; i++) {
        int d;
        uint8_t c = p[i];
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (radix == 16 && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (radix == 16 && c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        v = v * radix + d;
        if (v > (int64_t)INT32_MAX + 1)
            return false;
    }
    if (neg)
        v = -v;
    if (v > INT32_MAX || v < INT32_MIN)
        return false;
    *out = (int32_t)v;
    return true;
}

/* ---- addresses (IPAuthenticationProvider) ---------------------------------------- */

static bool v4_parse(const uint8_t *p, size_t len, uint8_t out[16])
{
    /* addr.split("\\.", -1): exactly four parts, empty ones kept. */
    size_t start = 0;
    int part = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '.')
            continue;
        if (part == 4)
            return false;
        int32_t v;
        if (!java_parse_int(p + start, i - start, 10, &v) || v < 0 || v > 255)
            return false;
        out[part++] = (uint8_t)v;
        start = i + 1;
    }
    return part == 4;
}

/* Segments "h:h:...:h" (split(":", -1)) into out from byte position at;
 * returns the number of segments, or -1. */
static int v6_segments(const uint8_t *p, size_t len, uint8_t *out, int max_segs)
{
    if (len == 0)
        return 0;
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != ':')
            continue;
        size_t sl = i - start;
        int32_t v;
        if (sl == 0 || sl > 4 || n == max_segs || !java_parse_int(p + start, sl, 16, &v))
            return -1;
        if (out) {
            out[2 * n] = (uint8_t)((uint32_t)v >> 8);
            out[2 * n + 1] = (uint8_t)v;
        }
        n++;
        start = i + 1;
    }
    return n;
}

/* IPAuthenticationProvider.parseV6addr. */
static bool v6_parse(const uint8_t *p, size_t len, uint8_t out[16])
{
    /* split("::", -1): non-overlapping matches, left to right. */
    size_t dc = len;
    for (size_t i = 0; i + 1 < len; i++) {
        if (p[i] == ':' && p[i + 1] == ':') {
            dc = i;
            break;
        }
    }
    memset(out, 0, 16);
    if (dc == len)
        return v6_segments(p, len, out, 8) == 8;
    const uint8_t *rest = p + dc + 2;
    size_t rest_len = len - dc - 2;
    for (size_t i = 0; i + 1 < rest_len; i++)
        if (rest[i] == ':' && rest[i + 1] == ':')
            return false; /* a second "::" */
    int n1 = v6_segments(p, dc, NULL, 8);
    int n2 = v6_segments(rest, rest_len, NULL, 8);
    if (n1 < 0 || n2 < 0 || n1 + n2 >= 8)
        return false;
    v6_segments(p, dc, out, 8);
    v6_segments(rest, rest_len, out + 16 - 2 * n2, 8);
    return true;
}

/* addr2Bytes: 16 (IPv6, text holds ':'), 4 (IPv4, text holds '.'), 0 invalid. */
static int addr_parse(const uint8_t *p, size_t len, uint8_t out[16])
{
    if (find_byte(p, len, ':'))
        return v6_parse(p, len, out) ? 16 : 0;
    if (find_byte(p, len, '.'))
        return v4_parse(p, len, out) ? 4 : 0;
    return 0;
}

/* "addr[/bits]" (split("/", 2)): address length, 0 if invalid. */
static int cidr_parse(const uint8_t *p, size_t len, uint8_t addr[16], int *bits)
{
    const uint8_t *slash = find_byte(p, len, '/');
    size_t alen = slash ? (size_t)(slash - p) : len;
    int n = addr_parse(p, alen, addr);
    if (n == 0)
        return 0;
    *bits = n * 8;
    if (slash) {
        int32_t b;
        if (!java_parse_int(slash + 1, len - alen - 1, 10, &b) || b < 0 || b > n * 8)
            return 0;
        *bits = b;
    }
    return n;
}

static void addr_mask(uint8_t *b, int n, int bits)
{
    for (int i = 0; i < n; i++) {
        int keep = bits - 8 * i;
        if (keep <= 0)
            b[i] = 0;
        else if (keep < 8)
            b[i] &= (uint8_t)(0xFF << (8 - keep));
    }
}

bool cv_acl_ip_id_valid(const uint8_t *id, size_t len)
{
    uint8_t a[16];
    int bits;
    return id && cidr_parse(id, len, a, &bits) != 0;
}

bool cv_acl_ip_match(const uint8_t *addr, size_t addr_len, const uint8_t *expr, size_t expr_len)
{
    uint8_t acl[16], remote[16];
    int bits;
    if (!addr || !expr)
        return false;
    int n = cidr_parse(expr, expr_len, acl, &bits);
    if (n == 0 || addr_parse(addr, addr_len, remote) != n)
        return false;
    addr_mask(acl, n, bits);
    addr_mask(remote, n, bits);
    return memcmp(acl, remote, (size_t)n) == 0;
}

/* ---- digest ------------------------------------------------------------------------- */

int cv_acl_digest(const uint8_t *idpw, size_t len, char *out, size_t cap)
{
    const uint8_t *colon = find_byte(idpw, len, ':');
    size_t user = colon ? (size_t)(colon - idpw) : len;
    size_t total = user + 1 + CV_ACL_DIGEST_B64_LEN;
    if (cap < total + 1)
        return -ENOBUFS;
    uint8_t md[SHA_DIGEST_LENGTH];
    if (!SHA1(idpw, len, md))
        return -EIO;
    memcpy(out, idpw, user);
    out[user] = ':';
    /* Standard base64 with '=' padding, as ZooKeeper's own encoder; writes
     * 28 characters and a NUL. */
    int w = EVP_EncodeBlock((unsigned char *)out + user + 1, md, SHA_DIGEST_LENGTH);
    CV_VERIFY(w == CV_ACL_DIGEST_B64_LEN);
    return (int)total;
}

bool cv_acl_digest_id_valid(const uint8_t *id, size_t len)
{
    /* Java's split(":") with trailing empty strings removed: count the parts
     * up to the last non-empty one. */
    if (!id)
        return false;
    size_t parts = 0, start = 0, last_nonempty = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && id[i] != ':')
            continue;
        parts++;
        if (i > start)
            last_nonempty = parts;
        start = i + 1;
    }
    /* "" splits to [""] (one part) and cannot be valid either way. */
    return last_nonempty == 2;
}

/* ---- auth state ------------------------------------------------------------------------ */

void cv_acl_auth_init(struct cv_acl_auth *a)
{
    memset(a, 0, sizeof(*a));
}

static bool auth_has(const struct cv_acl_auth *a, uint8_t scheme, const uint8_t *id, size_t len)
{
    for (unsigned i = 0; i < a->n; i++)
        if (a->ids[i].scheme == scheme && a->ids[i].len == len &&
            memcmp(a->buf + a->ids[i].off, id, len) == 0)
            return true;
    return false;
}

static int auth_add(struct cv_acl_auth *a, uint8_t scheme, const uint8_t *id, size_t len)
{
    if (auth_has(a, scheme, id, len))
        return 0;
    if (a->n == CV_ACL_AUTH_MAX_IDS || len > (size_t)(CV_ACL_AUTH_BUF - a->used))
        return -ENOSPC;
    a->ids[a->n].scheme = scheme;
    a->ids[a->n].off = a->used;
    a->ids[a->n].len = (uint16_t)len;
    memcpy(a->buf + a->used, id, len);
    a->used = (uint16_t)(a->used + len);
    a->n++;
    return 0;
}

int cv_acl_auth_add_ip(struct cv_acl_auth *a, const char *addr, size_t len)
{
    uint8_t b[16];
    if (!addr || addr_parse((const uint8_t *)addr, len, b) == 0)
        return -EINVAL;
    return auth_add(a, CV_ACL_SCHEME_IP, (const uint8_t *)addr, len);
}

int cv_acl_authenticate(struct cv_acl_auth *a, struct cv_jbuf scheme, struct cv_jbuf auth)
{
    if (jb_is(scheme, SCHEME_IP))
        return 0;
    if (!jb_is(scheme, SCHEME_DIGEST))
        return CV_ZAUTHFAILED;
    if (auth.len < 0 || (!auth.ptr && auth.len > 0))
        return CV_ZAUTHFAILED;
    size_t len = (size_t)auth.len;
    /* As DigestAuthenticationProvider: whatever precedes the first ':' (all
     * of it if there is none) is the user. Bytes Java would not decode as
     * UTF-8 are refused rather than digested as U+FFFD. */
    if (!utf8_valid(auth.ptr, len))
        return CV_ZAUTHFAILED;
    char id[CV_ACL_AUTH_BUF + 1];
    int n = cv_acl_digest(auth.ptr, len, id, sizeof(id));
    if (n < 0)
        return CV_ZAUTHFAILED; /* user name longer than the state can hold */
    return auth_add(a, CV_ACL_SCHEME_DIGEST, (const uint8_t *)id, (size_t)n) == 0 ? 0
                                                                                  : CV_ZAUTHFAILED;
}

int cv_acl_auth_check(const struct cv_acl_auth *a)
{
    if (a->n > CV_ACL_AUTH_MAX_IDS || a->used > CV_ACL_AUTH_BUF)
        return -EINVAL;
    for (unsigned i = 0; i < a->n; i++)
        if ((uint32_t)a->ids[i].off + a->ids[i].len > a->used)
            return -EINVAL;
    return 0;
}

int cv_acl_auth_get(const struct cv_acl_auth *a, unsigned i, struct cv_id *out)
{
    if (i >= a->n)
        return -ENOENT;
    out->scheme = cv_jstr(a->ids[i].scheme == CV_ACL_SCHEME_DIGEST ? SCHEME_DIGEST : SCHEME_IP);
    out->id.ptr = a->buf + a->ids[i].off;
    out->id.len = a->ids[i].len;
    return 0;
}

bool cv_acl_auth_is_super(const struct cv_acl_auth *a, const char *superdigest)
{
    return superdigest &&
           auth_has(a, CV_ACL_SCHEME_DIGEST, (const uint8_t *)superdigest, strlen(superdigest));
}

/* ---- checkACL ----------------------------------------------------------------------- */

static bool id_matches(const struct cv_id *id, const struct cv_acl_auth *a)
{
    if (id->id.len < 0 || (id->id.len > 0 && !id->id.ptr))
        return false;
    const uint8_t *p = id->id.ptr;
    size_t len = (size_t)id->id.len;
    if (jb_is(id->scheme, "world"))
        return jb_is(id->id, "anyone");
    if (jb_is(id->scheme, SCHEME_DIGEST))
        return auth_has(a, CV_ACL_SCHEME_DIGEST, p, len);
    if (jb_is(id->scheme, SCHEME_IP)) {
        for (unsigned i = 0; i < a->n; i++)
            if (a->ids[i].scheme == CV_ACL_SCHEME_IP &&
                cv_acl_ip_match(a->buf + a->ids[i].off, a->ids[i].len, p, len))
                return true;
    }
    return false;
}

int cv_acl_check(const struct cv_acl *acls, int n, int perm, const struct cv_acl_auth *a,
                 const char *superdigest)
{
    if (n <= 0 || !acls)
        return 0;
    if (cv_acl_auth_is_super(a, superdigest))
        return 0;
    for (int i = 0; i < n; i++)
        if ((acls[i].perms & perm) != 0 && id_matches(&acls[i].id, a))
            return 0;
    return CV_ZNOAUTH;
}

/* ---- fixupACL ------------------------------------------------------------------------- */

static bool acl_eq(const struct cv_acl *x, const struct cv_acl *y)
{
    return x->perms == y->perms && jb_eq(x->id.scheme, y->id.scheme) && jb_eq(x->id.id, y->id.id);
}

struct fixup_out {
    struct cv_acl *out;
    int cap, n;
    uint8_t *buf;
    size_t buf_cap, used;
    bool full;
};

static struct cv_jbuf copy_str(struct fixup_out *o, const uint8_t *p, size_t len)
{
    struct cv_jbuf b = {NULL, 0};
    if (len > o->buf_cap - o->used) {
        o->full = true;
        return b;
    }
    b.ptr = o->buf + o->used;
    b.len = (int32_t)len;
    if (len)
        memcpy(o->buf + o->used, p, len);
    o->used += len;
    return b;
}

static void emit(struct fixup_out *o, int32_t perms, const uint8_t *scheme, size_t scheme_len,
                 const uint8_t *id, size_t id_len)
{
    if (o->full || o->n == o->cap) {
        o->full = true;
        return;
    }
    struct cv_acl *e = &o->out[o->n];
    e->perms = perms;
    e->id.scheme = copy_str(o, scheme, scheme_len);
    e->id.id = copy_str(o, id, id_len);
    if (!o->full)
        o->n++;
}

int cv_acl_fixup(const struct cv_acl *in, int n, const struct cv_acl_auth *a, struct cv_acl *out,
                 int out_cap, uint8_t *buf, size_t buf_cap)
{
    if (n <= 0 || n > CV_ACL_MAX_ENTRIES || !in)
        return CV_ZINVALIDACL;
    struct fixup_out o = {out, out_cap < 0 ? 0 : out_cap, 0, buf, buf ? buf_cap : 0, 0, false};
    for (int i = 0; i < n; i++) {
        const struct cv_acl *e = &in[i];
        /* removeDuplicates: keep the first of equal entries. */
        bool dup = false;
        for (int j = 0; j < i && !dup; j++)
            dup = acl_eq(&in[j], e);
        if (dup)
            continue;
        struct cv_jbuf sch = e->id.scheme, id = e->id.id;
        if (sch.len < 0 || (sch.len > 0 && !sch.ptr))
            return CV_ZINVALIDACL;
        if (jb_is(sch, "auth")) {
            /* Each authenticated id whose provider isAuthenticated(): digest
             * yes, ip no. */
            bool any = false;
            for (unsigned k = 0; k < a->n; k++) {
                if (a->ids[k].scheme != CV_ACL_SCHEME_DIGEST)
                    continue;
                any = true;
                emit(&o, e->perms, (const uint8_t *)SCHEME_DIGEST, sizeof(SCHEME_DIGEST) - 1,
                     a->buf + a->ids[k].off, a->ids[k].len);
            }
            if (!any)
                return CV_ZINVALIDACL;
            continue;
        }
        if (id.len < 0 || (id.len > 0 && !id.ptr))
            return CV_ZINVALIDACL;
        bool ok;
        if (jb_is(sch, "world"))
            ok = jb_is(id, "anyone");
        else if (jb_is(sch, SCHEME_DIGEST))
            ok = cv_acl_digest_id_valid(id.ptr, (size_t)id.len);
        else if (jb_is(sch, SCHEME_IP))
            ok = cv_acl_ip_id_valid(id.ptr, (size_t)id.len);
        else
            ok = false; /* no provider for the scheme (super included) */
        if (!ok)
            return CV_ZINVALIDACL;
        emit(&o, e->perms, sch.ptr, (size_t)sch.len, id.ptr, (size_t)id.len);
    }
    return o.full ? -ENOBUFS : o.n;
}
