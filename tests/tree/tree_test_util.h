// Helpers shared by the cv_tree test binaries.
#ifndef CV_TREE_TEST_UTIL_H
#define CV_TREE_TEST_UTIL_H

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "cv_tree.h"

namespace cvt
{

// String literals only (static storage); std::string for anything else.
inline cv_jbuf jb(const char *s)
{
    return cv_jbuf{(const uint8_t *)s, (int32_t)strlen(s)};
}
inline cv_jbuf jb(const std::string &s)
{
    return cv_jbuf{(const uint8_t *)s.data(), (int32_t)s.size()};
}

struct Acl {
    int32_t perms;
    std::string scheme, id;
};

inline std::vector<Acl> acl_list(const cv_tree *t, uint32_t id)
{
    const cv_acl *a;
    int32_t n;
    std::vector<Acl> out;
    if (cv_tree_acl_get(t, id, &a, &n) != 0)
        return out;
    for (int32_t i = 0; i < n; i++)
        out.push_back(
            {a[i].perms,
             std::string((const char *)a[i].id.scheme.ptr,
                         a[i].id.scheme.len > 0 ? a[i].id.scheme.len : 0),
             std::string((const char *)a[i].id.id.ptr, a[i].id.id.len > 0 ? a[i].id.id.len : 0)});
    return out;
}

inline bool operator==(const Acl &a, const Acl &b)
{
    return a.perms == b.perms && a.scheme == b.scheme && a.id == b.id;
}

inline bool operator<(const Acl &a, const Acl &b)
{
    return std::tie(a.perms, a.scheme, a.id) < std::tie(b.perms, b.scheme, b.id);
}

// Field by field (the structs have padding).
inline bool stat_eq(const cv_stat &a, const cv_stat &b)
{
    return a.czxid == b.czxid && a.mzxid == b.mzxid && a.ctime == b.ctime && a.mtime == b.mtime &&
           a.version == b.version && a.cversion == b.cversion && a.aversion == b.aversion &&
           a.ephemeral_owner == b.ephemeral_owner && a.data_length == b.data_length &&
           a.num_children == b.num_children && a.pzxid == b.pzxid;
}

inline bool pstat_eq(const cv_stat_persisted &a, const cv_stat_persisted &b)
{
    return a.czxid == b.czxid && a.mzxid == b.mzxid && a.ctime == b.ctime && a.mtime == b.mtime &&
           a.version == b.version && a.cversion == b.cversion && a.aversion == b.aversion &&
           a.ephemeral_owner == b.ephemeral_owner && a.pzxid == b.pzxid;
}

// Intern, returning the id and dropping the caller reference afterwards is up to the test.
inline uint32_t intern(cv_tree *t, const std::vector<Acl> &v)
{
    std::vector<cv_acl> a;
    for (auto &x : v)
        a.push_back(cv_acl{x.perms, {jb(x.scheme), jb(x.id)}});
    uint32_t id = 0;
    EXPECT_EQ(0, cv_tree_acl_intern(t, a.data(), (int32_t)a.size(), &id));
    return id;
}

inline const cv_znode *look(const cv_tree *t, const std::string &p)
{
    return cv_tree_lookup(t, p.data(), p.size());
}

inline cv_stat stat_of(const cv_tree *t, const std::string &p)
{
    cv_stat st;
    memset(&st, 0x55, sizeof(st));
    const cv_znode *n = look(t, p);
    EXPECT_NE(nullptr, n) << p;
    if (n)
        cv_znode_stat(t, n, &st);
    return st;
}

// Data as a string; *is_null tells null from empty.
inline std::string data_of(const cv_tree *t, const std::string &p, bool *is_null = nullptr)
{
    const cv_znode *n = look(t, p);
    EXPECT_NE(nullptr, n) << p;
    if (!n)
        return "";
    const uint8_t *d;
    int32_t len;
    cv_znode_data(t, n, &d, &len);
    if (is_null)
        *is_null = len < 0;
    return len > 0 ? std::string((const char *)d, len) : std::string();
}

inline std::vector<std::string> children_of(const cv_tree *t, const std::string &p)
{
    std::vector<std::string> out;
    const cv_znode *n = look(t, p);
    if (!n)
        return out;
    cv_tree_iter it;
    cv_tree_children(t, n, &it);
    while (const cv_znode *c = cv_tree_iter_next(t, &it)) {
        const char *s;
        size_t l;
        cv_znode_name(c, &s, &l);
        out.emplace_back(s, l);
    }
    return out;
}

inline int collect_cb(void *ctx, const char *path, size_t len, const cv_znode *)
{
    static_cast<std::vector<std::string> *>(ctx)->emplace_back(path, len);
    return 0;
}

inline int write_vec(void *ctx, const void *p, size_t n)
{
    auto *v = static_cast<std::vector<uint8_t> *>(ctx);
    v->insert(v->end(), (const uint8_t *)p, (const uint8_t *)p + n);
    return 0;
}

inline std::vector<uint8_t> snapshot(const cv_tree *t)
{
    std::vector<uint8_t> v;
    EXPECT_EQ(0, cv_tree_serialize(t, write_vec, &v));
    return v;
}

} // namespace cvt

#endif
