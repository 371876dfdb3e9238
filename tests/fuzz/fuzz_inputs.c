/*
 * libFuzzer target for the parsers of untrusted client input outside the
 * codec: path validation (cv_path_valid, cv_path_parent), digest auth
 * (cv_acl_authenticate), ip ACL ids and CIDR matching, and fixupACL.
 *
 * Input: [mode][bytes...]. Properties beyond sanitizer cleanliness: a path
 * is valid only if it starts with '/' and is well-formed UTF-8; an ip id that
 * validates as a bare address matches itself; a digest id produced by
 * authenticate is a valid digest id; fixup output is all world/digest/ip.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv_acl.h"
#include "cv_path.h"

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_inputs: property violated: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0: {
        if (cv_path_valid((const char *)p, n)) {
            check(n > 0 && p[0] == '/', "a valid path starts with '/'");
            check(memchr(p, 0, n) == NULL, "a valid path has no NUL");
            size_t plen;
            check(cv_path_parent((const char *)p, n, &plen) && plen < n + (n == 1),
                  "a valid path has a parent");
        }
        break;
    }
    case 1: {
        /* scheme length in the first byte, then scheme, then auth bytes */
        size_t sl = n ? p[0] % 16 : 0;
        if (n < 1 + sl)
            return 0;
        struct cv_acl_auth a;
        cv_acl_auth_init(&a);
        struct cv_jbuf scheme = {p + 1, (int32_t)sl}, auth = {p + 1 + sl, (int32_t)(n - 1 - sl)};
        if (cv_acl_authenticate(&a, scheme, auth) == 0) {
            for (unsigned i = 0; i < cv_acl_auth_count(&a); i++) {
                struct cv_id id;
                check(cv_acl_auth_get(&a, i, &id) == 0, "an added id can be read back");
                if (id.scheme.len == 6 && memcmp(id.scheme.ptr, "digest", 6) == 0)
                    check(cv_acl_digest_id_valid(id.id.ptr, (size_t)id.id.len),
                          "authenticate yields a valid digest id");
            }
        }
        break;
    }
    case 2: {
        size_t cut = n ? p[0] % (n + 1) : 0;
        const uint8_t *addr = p + (n ? 1 : 0);
        size_t alen = cut > (n ? n - 1 : 0) ? (n ? n - 1 : 0) : cut;
        const uint8_t *expr = addr + alen;
        size_t elen = (n ? n - 1 : 0) - alen;
        bool valid = cv_acl_ip_id_valid(addr, alen);
        bool m = cv_acl_ip_match(addr, alen, expr, elen);
        (void)m;
        if (valid && !memchr(addr, '/', alen))
            check(cv_acl_ip_match(addr, alen, addr, alen), "a valid address matches itself");
        break;
    }
    case 3: {
        /* up to 8 ACL entries: [perms][slen][idlen] scheme id ... */
        struct cv_acl in[8];
        int k = 0;
        size_t off = 0;
        while (k < 8 && off + 3 <= n) {
            size_t sl = p[off + 1] % 12, il = p[off + 2] % 40;
            if (off + 3 + sl + il > n)
                break;
            in[k].perms = p[off] % 32;
            in[k].id.scheme = (struct cv_jbuf){p + off + 3, (int32_t)sl};
            in[k].id.id = (struct cv_jbuf){p + off + 3 + sl, (int32_t)il};
            off += 3 + sl + il;
            k++;
        }
        struct cv_acl_auth a;
        cv_acl_auth_init(&a);
        cv_acl_authenticate(&a, cv_jstr("digest"), cv_jstr("u:p"));
        struct cv_acl out[8 * CV_ACL_AUTH_MAX_IDS];
        uint8_t buf[8 * (40 + 12 + CV_ACL_FIXUP_BUF_PER_ENTRY)];
        int r = cv_acl_fixup(in, k, &a, out, (int)(sizeof out / sizeof out[0]), buf, sizeof buf);
        check(r != -ENOBUFS, "documented capacities are enough");
        for (int i = 0; i < r; i++) {
            const struct cv_jbuf *s = &out[i].id.scheme;
            check((s->len == 5 && !memcmp(s->ptr, "world", 5)) ||
                      (s->len == 6 && !memcmp(s->ptr, "digest", 6)) ||
                      (s->len == 2 && !memcmp(s->ptr, "ip", 2)),
                  "fixup keeps only world, digest and ip entries");
        }
        break;
    }
    }
    return 0;
}
