// cv_acl: ZooKeeper's digest ids (vectors from the real Java class), the
// addAuth state, checkACL for every scheme and permission (world, digest,
// ip CIDR, super, empty lists), the ip and digest id validity rules, and
// fixupACL (auth expansion, duplicates, INVALIDACL cases, output capacity).
//
// Digest vectors were produced with ZooKeeper 3.8.0's own class:
//   java -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-api.jar
//     org.apache.zookeeper.server.auth.DigestAuthenticationProvider 'user:password'
// and the isValid / matches expectations with a small Java driver calling
// IPAuthenticationProvider and DigestAuthenticationProvider of the same jar.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "cv_acl.h"
#include "cv_proto.h"

namespace
{

cv_jbuf jb(const char *s)
{
    return cv_jstr(s);
}
cv_jbuf jb(const std::string &s)
{
    return cv_jbuf{(const uint8_t *)s.data(), (int32_t)s.size()};
}

std::string str(cv_jbuf b)
{
    return b.len < 0 ? "<null>" : std::string((const char *)b.ptr, b.len);
}

cv_acl acl(int perms, const char *scheme, const char *id)
{
    cv_acl a;
    a.perms = perms;
    a.id.scheme = cv_jstr(scheme);
    a.id.id = cv_jstr(id);
    return a;
}

std::string digest(const std::string &idpw)
{
    char out[512];
    int n = cv_acl_digest((const uint8_t *)idpw.data(), idpw.size(), out, sizeof(out));
    EXPECT_GT(n, 0);
    EXPECT_EQ((size_t)n, strlen(out));
    return std::string(out, n > 0 ? n : 0);
}

int addauth(cv_acl_auth *a, const char *scheme, const std::string &auth)
{
    return cv_acl_authenticate(a, jb(scheme), jb(auth));
}

// ---- digest ---------------------------------------------------------------------

TEST(AclDigest, MatchesZooKeeperGenerateDigestVectors)
{
    struct {
        const char *in, *out;
    } v[] = {
        {"user:password", "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY="},
        {"super:secret", "super:lK75jTNcA+U9vtVEw5vB51mj/w4="},
        {"alice:pw1", "alice:0H3LR71td7bmv+FwKgVasiS36rc="},
        {"admin:admin", "admin:x1nq8J5GOJVPY6zgzhtTtA9izLc="},
        {"bob:", "bob:tK1fpNO1hB0F++FhHpSq0Fa4tv0="},
        {":x", ":57b19mLA2vMhI/edHul/TytWqWE="},
        {"a:b:c", "a:cLzgnoJ6mP5qz3w+mwvPE2vDgu0="},        // user up to the first ':'
        {"zk:zk:colon", "zk:BfRLebUly+CZU26CQTMBbn+Rgzc="}, // the password may hold ':'
        {"user:password ", "user:rIZfSXrfTTj2o/YR8NVYBiTc2D8="},
        {"nocolon", "nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g="}, // whole string is the user
        {"\xc3\xbc"
         "b\xc3\xab"
         "r:p\xc3\xa4sswörd",
         "\xc3\xbc"
         "b\xc3\xab"
         "r:NJfGXab5+hs4q1Wt9UUlncYGWEo="}, // übër:pässwörd, UTF-8
    };
    for (auto &e : v)
        EXPECT_EQ(e.out, digest(e.in)) << e.in;
}

TEST(AclDigest, OutputCapacityChecked)
{
    const char *in = "user:password";
    char out[64];
    // "user:" + 28 + NUL = 34
    EXPECT_EQ(-ENOBUFS, cv_acl_digest((const uint8_t *)in, strlen(in), out, 33));
    EXPECT_EQ(33, cv_acl_digest((const uint8_t *)in, strlen(in), out, 34));
    EXPECT_STREQ("user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=", out);
}

TEST(AclDigest, IdValidityFollowsJavaSplit)
{
    // DigestAuthenticationProvider.isValid: id.split(":").length == 2
    struct {
        const char *id;
        bool ok;
    } v[] = {
        {"u:h", true},  {"u:h:", true},  {"u:", false}, {"a:b:c", false},
        {":h", true},   {"::", false},   {"", false},   {":", false},
        {"u::", false}, {"u:h::", true}, {"uh", false}, {"user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=", true},
    };
    for (auto &e : v)
        EXPECT_EQ(e.ok, cv_acl_digest_id_valid((const uint8_t *)e.id, strlen(e.id))) << e.id;
}

// ---- authentication state --------------------------------------------------------

TEST(AclAuth, DigestAddsUserAndHashAndCopiesTheBytes)
{
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    std::string buf = "user:password";
    ASSERT_EQ(0, addauth(&a, "digest", buf));
    buf.assign("XXXX:XXXXXXXX"); // the caller reuses its buffer
    ASSERT_EQ(1u, cv_acl_auth_count(&a));
    cv_id id;
    ASSERT_EQ(0, cv_acl_auth_get(&a, 0, &id));
    EXPECT_EQ("digest", str(id.scheme));
    EXPECT_EQ("user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=", str(id.id));
    EXPECT_EQ(-ENOENT, cv_acl_auth_get(&a, 1, &id));
    // The same credentials again: no duplicate (ServerCnxn.addAuthInfo).
    ASSERT_EQ(0, addauth(&a, "digest", "user:password"));
    EXPECT_EQ(1u, cv_acl_auth_count(&a));
    ASSERT_EQ(0, addauth(&a, "digest", "alice:pw1"));
    EXPECT_EQ(2u, cv_acl_auth_count(&a));
}

TEST(AclAuth, DigestAuthWithoutColonMakesTheWholeStringTheUserAsZooKeeper)
{
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    ASSERT_EQ(0, addauth(&a, "digest", "nocolon"));
    cv_id id;
    ASSERT_EQ(0, cv_acl_auth_get(&a, 0, &id));
    // generateDigest("nocolon") from the real 3.8.0 jar
    EXPECT_EQ(std::string((const char *)id.id.ptr, id.id.len),
              "nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g=");
}

TEST(AclAuth, MalformedDigestAuthFails)
{
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    EXPECT_EQ(CV_ZAUTHFAILED, cv_acl_authenticate(&a, jb("digest"), cv_jbuf{nullptr, -1}));
    EXPECT_EQ(CV_ZAUTHFAILED, addauth(&a, "digest", std::string("us\xff:pw")));      // not UTF-8
    EXPECT_EQ(CV_ZAUTHFAILED, addauth(&a, "digest", std::string("u:\xc0\xaf")));     // overlong
    EXPECT_EQ(CV_ZAUTHFAILED, addauth(&a, "digest", std::string("u:\xed\xa0\x80"))); // surrogate
    EXPECT_EQ(CV_ZAUTHFAILED, addauth(&a, "digest", std::string("u:\xe2\x82")));     // truncated
    EXPECT_EQ(CV_ZAUTHFAILED, addauth(&a, "digest", std::string(300, 'u') + ":pw")); // too long
    EXPECT_EQ(0u, cv_acl_auth_count(&a));
}

TEST(AclAuth, UnknownSchemesFailAndIpIsANoOp)
{
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    EXPECT_EQ(CV_ZAUTHFAILED, addauth(&a, "super", "x:y"));
    EXPECT_EQ(CV_ZAUTHFAILED, addauth(&a, "world", "anyone"));
    EXPECT_EQ(CV_ZAUTHFAILED, addauth(&a, "sasl", "x"));
    EXPECT_EQ(CV_ZAUTHFAILED, addauth(&a, "Digest", "u:p"));
    EXPECT_EQ(CV_ZAUTHFAILED, cv_acl_authenticate(&a, cv_jbuf{nullptr, -1}, jb("u:p")));
    EXPECT_EQ(0, addauth(&a, "ip", "whatever"));
    EXPECT_EQ(0u, cv_acl_auth_count(&a));
}

TEST(AclAuth, StateIsBoundedAndFullStateRefusesWithoutChange)
{
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    int added = 0;
    for (int i = 0; i < 20; i++) {
        int rc = addauth(&a, "digest", "u" + std::to_string(i) + ":p");
        if (rc != 0) {
            EXPECT_EQ(CV_ZAUTHFAILED, rc);
            break;
        }
        added++;
    }
    EXPECT_EQ(CV_ACL_AUTH_MAX_IDS, added);
    EXPECT_EQ((unsigned)CV_ACL_AUTH_MAX_IDS, cv_acl_auth_count(&a));
    EXPECT_EQ(-ENOSPC, cv_acl_auth_add_ip(&a, "10.0.0.1", 8));
    // Bytes run out before slots for long user names.
    cv_acl_auth b;
    cv_acl_auth_init(&b);
    EXPECT_EQ(0, addauth(&b, "digest", std::string(200, 'a') + ":p"));
    EXPECT_EQ(CV_ZAUTHFAILED, addauth(&b, "digest", std::string(30, 'b') + ":p"));
    EXPECT_EQ(1u, cv_acl_auth_count(&b));
}

TEST(AclAuth, PeerAddressMustParse)
{
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    EXPECT_EQ(0, cv_acl_auth_add_ip(&a, "10.1.2.3", 8));
    EXPECT_EQ(0, cv_acl_auth_add_ip(&a, "10.1.2.3", 8)); // duplicate: no-op
    EXPECT_EQ(0, cv_acl_auth_add_ip(&a, "2001:db8::1", 11));
    EXPECT_EQ(-EINVAL, cv_acl_auth_add_ip(&a, "10.1.2.3/8", 10));
    EXPECT_EQ(-EINVAL, cv_acl_auth_add_ip(&a, "host", 4));
    EXPECT_EQ(-EINVAL, cv_acl_auth_add_ip(&a, "", 0));
    EXPECT_EQ(2u, cv_acl_auth_count(&a));
    cv_id id;
    ASSERT_EQ(0, cv_acl_auth_get(&a, 1, &id));
    EXPECT_EQ("ip", str(id.scheme));
    EXPECT_EQ("2001:db8::1", str(id.id));
}

// ---- ip ------------------------------------------------------------------------------

bool ipvalid(const char *s)
{
    return cv_acl_ip_id_valid((const uint8_t *)s, strlen(s));
}
bool ipmatch(const char *addr, const char *expr)
{
    return cv_acl_ip_match((const uint8_t *)addr, strlen(addr), (const uint8_t *)expr,
                           strlen(expr));
}

TEST(AclIp, ValidityMatchesZooKeeper)
{
    // Expectations from IPAuthenticationProvider.isValid (3.8.0).
    struct {
        const char *id;
        bool ok;
    } v[] = {
        {"1.2.3.4", true},
        {"1.2.3.4/0", true},
        {"1.2.3.4/32", true},
        {"1.2.3.4/33", false},
        {"1.2.3.4/-1", false},
        {"1.2.3.4/", false},
        {"1.2.3.4/8/9", false},
        {"+1.2.3.4", true},
        {"-0.0.0.0", true},
        {"001.002.003.004", true},
        {"256.1.1.1", false},
        {"1.2.3", false},
        {"1.2.3.4.", false},
        {"1..2.3", false},
        {"", false},
        {"1.2.3.4/+8", true},
        {"a.b.c.d", false},
        {"1.2.3.4/ 8", false},
        {"1.2.3.4/99999999999", false},
        {"nodots", false},
    };
    for (auto &e : v)
        EXPECT_EQ(e.ok, ipvalid(e.id)) << e.id;
}

TEST(AclIp, Ipv6TextFormsAsZooKeeperCurrentParser)
{
    EXPECT_TRUE(ipvalid("::1"));
    EXPECT_TRUE(ipvalid("::"));
    EXPECT_TRUE(ipvalid("1::"));
    EXPECT_TRUE(ipvalid("2001:db8::/32"));
    EXPECT_TRUE(ipvalid("2001:db8:0:0:0:0:0:1"));
    EXPECT_TRUE(ipvalid("0:0:0:0:0:0:0:1/128"));
    EXPECT_FALSE(ipvalid("0:0:0:0:0:0:0:1/129"));
    EXPECT_FALSE(ipvalid("1:2:3:4:5:6:7")); // 7 groups, no ::
    EXPECT_FALSE(ipvalid("1:2:3:4:5:6:7:8:9"));
    EXPECT_FALSE(ipvalid("1:2:3:4::5:6:7:8")); // :: must stand for a group
    EXPECT_FALSE(ipvalid("1::2::3"));
    EXPECT_FALSE(ipvalid(":::"));
    EXPECT_FALSE(ipvalid("12345::")); // group too long
    EXPECT_FALSE(ipvalid("g::1"));
    EXPECT_FALSE(ipvalid("::ffff:1.2.3.4")); // embedded IPv4 is not parsed
    EXPECT_FALSE(ipvalid("fe80::1%eth0"));

    EXPECT_TRUE(ipmatch("2001:db8::1", "2001:db8::/32"));
    EXPECT_TRUE(ipmatch("2001:0db8:0:0:0:0:0:1", "2001:db8::1"));
    EXPECT_FALSE(ipmatch("2001:db9::1", "2001:db8::/32"));
    EXPECT_TRUE(ipmatch("2001:db9::1", "2001:db8::/31"));
    EXPECT_TRUE(ipmatch("::1", "::/0"));
    EXPECT_FALSE(ipmatch("10.0.0.1", "::/0")); // families never match
    EXPECT_FALSE(ipmatch("::1", "0.0.0.0/0"));
}

TEST(AclIp, CidrMatchEdgeCases)
{
    // Expectations from IPAuthenticationProvider.matches (3.8.0).
    struct {
        const char *addr, *expr;
        bool ok;
    } v[] = {
        {"10.1.2.3", "10.0.0.0/8", true},
        {"11.1.2.3", "10.0.0.0/8", false},
        {"10.1.2.3", "0.0.0.0/0", true},
        {"255.255.255.255", "1.2.3.4/0", true},
        {"10.1.2.3", "10.1.2.3/32", true},
        {"10.1.2.4", "10.1.2.3/32", false},
        {"10.1.2.3", "10.1.2.3", true},
        {"10.1.2.3", "10.1.2.0/23", true},
        {"10.1.3.255", "10.1.2.0/23", true},
        {"10.1.4.0", "10.1.2.0/23", false},
        {"10.1.2.3", "10.1.2.3/33", false},
        {"10.1.2.3", "10.1.2.3/x", false},
        {"192.168.1.129", "192.168.1.128/25", true},
        {"192.168.1.127", "192.168.1.128/25", false},
        {"1.2.3.4", "1.2.3.4/-1", false},
        {"bad", "0.0.0.0/0", false},
        {"10.1.2.3", "10.1.2.99/24", true}, // host bits in the ACL are masked too
        {"128.0.0.1", "128.0.0.0/1", true},
        {"127.255.255.255", "128.0.0.0/1", false},
    };
    for (auto &e : v)
        EXPECT_EQ(e.ok, ipmatch(e.addr, e.expr)) << e.addr << " in " << e.expr;
}

// ---- checkACL ------------------------------------------------------------------------

const int kPerms[] = {CV_PERM_READ, CV_PERM_WRITE, CV_PERM_CREATE, CV_PERM_DELETE, CV_PERM_ADMIN};

TEST(AclCheck, EmptyOrNullListAllowsEverything)
{
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    for (int p : kPerms) {
        EXPECT_EQ(0, cv_acl_check(nullptr, 0, p, &a, nullptr));
        EXPECT_EQ(0, cv_acl_check(nullptr, -1, p, &a, nullptr));
    }
}

TEST(AclCheck, WorldAnyoneGrantsExactlyItsPerms)
{
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    for (int granted = 0; granted <= CV_PERM_ALL; granted++) {
        cv_acl l[] = {acl(granted, "world", "anyone")};
        for (int p : kPerms)
            EXPECT_EQ((granted & p) ? 0 : CV_ZNOAUTH, cv_acl_check(l, 1, p, &a, nullptr))
                << granted << " " << p;
    }
    cv_acl other[] = {acl(CV_PERM_ALL, "world", "someone"), acl(CV_PERM_ALL, "world", "")};
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(other, 2, CV_PERM_READ, &a, nullptr));
}

TEST(AclCheck, DigestNeedsTheExactAuthenticatedId)
{
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    cv_acl l[] = {acl(CV_PERM_READ | CV_PERM_ADMIN, "digest", "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=")};
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(l, 1, CV_PERM_READ, &a, nullptr));
    ASSERT_EQ(0, addauth(&a, "digest", "user:wrong"));
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(l, 1, CV_PERM_READ, &a, nullptr));
    ASSERT_EQ(0, addauth(&a, "digest", "user:password"));
    for (int p : kPerms)
        EXPECT_EQ((p & (CV_PERM_READ | CV_PERM_ADMIN)) ? 0 : CV_ZNOAUTH,
                  cv_acl_check(l, 1, p, &a, nullptr))
            << p;
    // Scheme names are exact; an ip id with the same text does not count.
    cv_acl wrong_scheme[] = {acl(CV_PERM_ALL, "Digest", "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=")};
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(wrong_scheme, 1, CV_PERM_READ, &a, nullptr));
}

TEST(AclCheck, IpMatchesTheConnectionsAddressByCidr)
{
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    ASSERT_EQ(0, cv_acl_auth_add_ip(&a, "10.1.2.3", 8));
    cv_acl in[] = {acl(CV_PERM_WRITE, "ip", "10.1.0.0/16")};
    cv_acl out[] = {acl(CV_PERM_ALL, "ip", "10.2.0.0/16"), acl(CV_PERM_ALL, "ip", "garbage")};
    EXPECT_EQ(0, cv_acl_check(in, 1, CV_PERM_WRITE, &a, nullptr));
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(in, 1, CV_PERM_READ, &a, nullptr));
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(out, 2, CV_PERM_WRITE, &a, nullptr));
    cv_acl_auth none;
    cv_acl_auth_init(&none);
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(in, 1, CV_PERM_WRITE, &none, nullptr));
}

TEST(AclCheck, AnyMatchingEntryWithThePermAllows)
{
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    ASSERT_EQ(0, cv_acl_auth_add_ip(&a, "192.168.0.7", 11));
    ASSERT_EQ(0, addauth(&a, "digest", "alice:pw1"));
    cv_acl l[] = {
        acl(CV_PERM_READ, "world", "anyone"),
        acl(CV_PERM_WRITE, "ip", "192.168.0.0/24"),
        acl(CV_PERM_DELETE, "digest", "alice:0H3LR71td7bmv+FwKgVasiS36rc="),
        acl(CV_PERM_ADMIN, "digest", "bob:nothash"),
        acl(CV_PERM_ALL, "auth", ""),      // never stored, matches nothing
        acl(CV_PERM_ALL, "super", ""),     // no provider
        acl(CV_PERM_ALL, "sasl", "alice"), // no provider here
    };
    int n = (int)(sizeof(l) / sizeof(l[0]));
    EXPECT_EQ(0, cv_acl_check(l, n, CV_PERM_READ, &a, nullptr));
    EXPECT_EQ(0, cv_acl_check(l, n, CV_PERM_WRITE, &a, nullptr));
    EXPECT_EQ(0, cv_acl_check(l, n, CV_PERM_DELETE, &a, nullptr));
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(l, n, CV_PERM_ADMIN, &a, nullptr));
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(l, n, CV_PERM_CREATE, &a, nullptr));
    // A null id in a stored entry matches nothing (and does not crash).
    cv_acl nul = acl(CV_PERM_ALL, "digest", nullptr);
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(&nul, 1, CV_PERM_READ, &a, nullptr));
}

TEST(AclCheck, SuperDigestPassesEveryCheck)
{
    const char *super = "super:lK75jTNcA+U9vtVEw5vB51mj/w4=";
    cv_acl l[] = {acl(CV_PERM_READ, "digest", "someone:else")};
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(l, 1, CV_PERM_ADMIN, &a, super));
    ASSERT_EQ(0, addauth(&a, "digest", "super:wrong"));
    EXPECT_FALSE(cv_acl_auth_is_super(&a, super));
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(l, 1, CV_PERM_ADMIN, &a, super));
    ASSERT_EQ(0, addauth(&a, "digest", "super:secret"));
    EXPECT_TRUE(cv_acl_auth_is_super(&a, super));
    for (int p : kPerms)
        EXPECT_EQ(0, cv_acl_check(l, 1, p, &a, super)) << p;
    // Without a configured super digest, the same id is an ordinary user.
    EXPECT_FALSE(cv_acl_auth_is_super(&a, nullptr));
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(l, 1, CV_PERM_ADMIN, &a, nullptr));
}

// ---- fixupACL --------------------------------------------------------------------------

struct Fixup {
    std::vector<cv_acl> out = std::vector<cv_acl>(64);
    std::vector<uint8_t> buf = std::vector<uint8_t>(4096);
    int rc = 0;
    Fixup(const std::vector<cv_acl> &in, const cv_acl_auth &a, int n = -2)
    {
        rc = cv_acl_fixup(in.data(), n == -2 ? (int)in.size() : n, &a, out.data(), (int)out.size(),
                          buf.data(), buf.size());
    }
    std::string entry(int i) const
    {
        return std::to_string(out[i].perms) + " " + str(out[i].id.scheme) + ":" + str(out[i].id.id);
    }
};

cv_acl_auth auth_with(std::initializer_list<const char *> digests, const char *ip = nullptr)
{
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    if (ip) {
        EXPECT_EQ(0, cv_acl_auth_add_ip(&a, ip, strlen(ip)));
    }
    for (const char *d : digests)
        EXPECT_EQ(0, addauth(&a, "digest", d));
    return a;
}

TEST(AclFixup, ValidEntriesKeptAndCopied)
{
    cv_acl_auth a = auth_with({});
    std::string id = "10.0.0.0/8";
    std::vector<cv_acl> in = {acl(CV_PERM_ALL, "world", "anyone"),
                              acl(CV_PERM_READ, "digest", "u:hash"), acl(CV_PERM_WRITE, "ip", "")};
    in[2].id.id = jb(id);
    Fixup f(in, a);
    ASSERT_EQ(3, f.rc);
    id.assign("XXXXXXXXXX"); // output does not point into the input
    EXPECT_EQ("31 world:anyone", f.entry(0));
    EXPECT_EQ("1 digest:u:hash", f.entry(1));
    EXPECT_EQ("2 ip:10.0.0.0/8", f.entry(2));
}

TEST(AclFixup, AuthExpandsToEveryDigestIdButNotIp)
{
    cv_acl_auth a = auth_with({"user:password", "alice:pw1"}, "10.1.2.3");
    Fixup f({acl(CV_PERM_READ, "world", "anyone"), acl(CV_PERM_ALL, "auth", "ignored")}, a);
    ASSERT_EQ(3, f.rc);
    EXPECT_EQ("1 world:anyone", f.entry(0));
    EXPECT_EQ("31 digest:user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=", f.entry(1));
    EXPECT_EQ("31 digest:alice:0H3LR71td7bmv+FwKgVasiS36rc=", f.entry(2));
    // The auth entry's id may be anything, even null.
    Fixup g({acl(CV_PERM_READ, "auth", nullptr)}, a);
    ASSERT_EQ(2, g.rc);
    EXPECT_EQ("1 digest:user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=", g.entry(0));
}

TEST(AclFixup, AuthWithoutAnAuthenticatedIdIsInvalid)
{
    EXPECT_EQ(CV_ZINVALIDACL, Fixup({acl(CV_PERM_ALL, "auth", "")}, auth_with({})).rc);
    // An ip id is not an authenticated id (IPAuthenticationProvider.isAuthenticated).
    EXPECT_EQ(CV_ZINVALIDACL, Fixup({acl(CV_PERM_ALL, "auth", "")}, auth_with({}, "10.1.2.3")).rc);
}

TEST(AclFixup, ExactDuplicatesRemovedBeforeExpansionOnly)
{
    cv_acl_auth a = auth_with({"user:password"});
    Fixup f({acl(CV_PERM_READ, "world", "anyone"), acl(CV_PERM_READ, "world", "anyone"),
             acl(CV_PERM_ALL, "world", "anyone"), acl(CV_PERM_ALL, "auth", ""),
             acl(CV_PERM_ALL, "auth", ""),
             acl(CV_PERM_ALL, "digest", "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=")},
            a);
    ASSERT_EQ(4, f.rc);
    EXPECT_EQ("1 world:anyone", f.entry(0));
    EXPECT_EQ("31 world:anyone", f.entry(1)); // other perms: not a duplicate
    EXPECT_EQ("31 digest:user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=", f.entry(2));
    EXPECT_EQ("31 digest:user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=", f.entry(3)); // as ZooKeeper: kept
}

TEST(AclFixup, InvalidAclCases)
{
    cv_acl_auth a = auth_with({"user:password"});
    auto rc = [&](std::vector<cv_acl> in) { return Fixup(in, a).rc; };
    EXPECT_EQ(CV_ZINVALIDACL, Fixup({}, a).rc);                              // empty list
    EXPECT_EQ(CV_ZINVALIDACL, Fixup({acl(1, "world", "anyone")}, a, -1).rc); // null list
    EXPECT_EQ(CV_ZINVALIDACL, rc({acl(CV_PERM_ALL, "world", "someone")}));
    EXPECT_EQ(CV_ZINVALIDACL, rc({acl(CV_PERM_ALL, "world", nullptr)}));
    EXPECT_EQ(CV_ZINVALIDACL, rc({acl(CV_PERM_ALL, nullptr, "anyone")}));
    EXPECT_EQ(CV_ZINVALIDACL, rc({acl(CV_PERM_ALL, "digest", "nohash")}));
    EXPECT_EQ(CV_ZINVALIDACL, rc({acl(CV_PERM_ALL, "digest", "a:b:c")}));
    EXPECT_EQ(CV_ZINVALIDACL, rc({acl(CV_PERM_ALL, "digest", "user:")}));
    EXPECT_EQ(CV_ZINVALIDACL, rc({acl(CV_PERM_ALL, "ip", "10.0.0.0/33")}));
    EXPECT_EQ(CV_ZINVALIDACL, rc({acl(CV_PERM_ALL, "ip", "10.0.0")}));
    EXPECT_EQ(CV_ZINVALIDACL, rc({acl(CV_PERM_ALL, "super", "")}));
    EXPECT_EQ(CV_ZINVALIDACL, rc({acl(CV_PERM_ALL, "sasl", "user")}));
    EXPECT_EQ(CV_ZINVALIDACL, rc({acl(CV_PERM_ALL, "unknown", "x")}));
    // One bad entry spoils the list, wherever it is.
    EXPECT_EQ(CV_ZINVALIDACL,
              rc({acl(CV_PERM_ALL, "world", "anyone"), acl(CV_PERM_ALL, "ip", "nope")}));
    // Too long a list.
    std::vector<cv_acl> many;
    for (int i = 0; i <= CV_ACL_MAX_ENTRIES; i++)
        many.push_back(acl(CV_PERM_READ, "world", "anyone"));
    EXPECT_EQ(CV_ZINVALIDACL, rc(many));
    many.pop_back();
    EXPECT_EQ(1, rc(many)); // all duplicates of one
}

TEST(AclFixup, OutputCapacityCheckedAndInvalidWinsOverFull)
{
    cv_acl_auth a = auth_with({"user:password", "alice:pw1"});
    std::vector<cv_acl> in = {acl(CV_PERM_ALL, "auth", ""), acl(CV_PERM_READ, "world", "anyone")};
    cv_acl out[3];
    uint8_t buf[256];
    EXPECT_EQ(3, cv_acl_fixup(in.data(), 2, &a, out, 3, buf, sizeof(buf)));
    EXPECT_EQ(-ENOBUFS, cv_acl_fixup(in.data(), 2, &a, out, 2, buf, sizeof(buf)));
    EXPECT_EQ(-ENOBUFS, cv_acl_fixup(in.data(), 2, &a, out, 3, buf, 40));
    in.push_back(acl(CV_PERM_ALL, "ip", "bad"));
    EXPECT_EQ(CV_ZINVALIDACL, cv_acl_fixup(in.data(), 3, &a, out, 1, buf, 10));
    // The documented sizes are enough for the worst case.
    cv_acl_auth full;
    cv_acl_auth_init(&full);
    for (int i = 0; i < CV_ACL_AUTH_MAX_IDS; i++)
        ASSERT_EQ(0, addauth(&full, "digest", "u" + std::to_string(i) + ":p"));
    std::vector<cv_acl> auths;
    size_t in_bytes = 0;
    for (int p = 1; p <= 4; p++) {
        auths.push_back(acl(p, "auth", ""));
        in_bytes += 4;
    }
    std::vector<cv_acl> big(auths.size() * CV_ACL_AUTH_MAX_IDS);
    std::vector<uint8_t> bigbuf(in_bytes + auths.size() * CV_ACL_FIXUP_BUF_PER_ENTRY);
    EXPECT_EQ((int)big.size(), cv_acl_fixup(auths.data(), (int)auths.size(), &full, big.data(),
                                            (int)big.size(), bigbuf.data(), bigbuf.size()));
}

TEST(AclFixup, FixedUpListPassesCheckForItsCreator)
{
    cv_acl_auth a = auth_with({"alice:pw1"});
    Fixup f({acl(CV_PERM_READ | CV_PERM_WRITE, "auth", "")}, a);
    ASSERT_EQ(1, f.rc);
    EXPECT_EQ(0, cv_acl_check(f.out.data(), f.rc, CV_PERM_WRITE, &a, nullptr));
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(f.out.data(), f.rc, CV_PERM_DELETE, &a, nullptr));
    cv_acl_auth b = auth_with({"bob:pw"});
    EXPECT_EQ(CV_ZNOAUTH, cv_acl_check(f.out.data(), f.rc, CV_PERM_READ, &b, nullptr));
}

} // namespace

TEST(AclAuthCheck, AStateBuiltHereIsAcceptedADamagedOneIsRefused)
{
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    EXPECT_EQ(cv_acl_auth_check(&a), 0);
    ASSERT_EQ(cv_acl_auth_add_ip(&a, "10.1.2.3", 8), 0);
    EXPECT_EQ(cv_acl_auth_check(&a), 0);
    cv_acl_auth bad = a;
    bad.ids[0].len = (uint16_t)(bad.used + 1); // an id reaching past what is used
    EXPECT_EQ(cv_acl_auth_check(&bad), -EINVAL);
    bad = a;
    bad.n = CV_ACL_AUTH_MAX_IDS + 1;
    EXPECT_EQ(cv_acl_auth_check(&bad), -EINVAL);
    bad = a;
    bad.used = CV_ACL_AUTH_BUF + 1;
    EXPECT_EQ(cv_acl_auth_check(&bad), -EINVAL);
}
