// cv_sess: timeout negotiation, session id layout, keyed-MAC passwords, the
// rule that membership changes only by applied transactions (S3), the
// closing flag, ZooKeeper's bucketed expiry queue (rounding, touch, order,
// once-only, cost), restart of every clock on leader change (S4), snapshot
// serialization, and a seeded randomized comparison against a naive model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "cv_proto.h"
#include "cv_sess.h"

namespace
{

cv_sess_config make_cfg(int32_t tick = 2000, uint32_t cap = 1024, uint8_t secret_fill = 0x5a)
{
    cv_sess_config cfg;
    cv_sess_config_init(&cfg, tick, cap);
    cfg.secret_len = 32;
    for (uint32_t i = 0; i < cfg.secret_len; i++)
        cfg.secret[i] = (uint8_t)(secret_fill + i);
    return cfg;
}

struct Table {
    cv_sess_table t;
    explicit Table(const cv_sess_config &cfg) { EXPECT_EQ(0, cv_sess_table_init(&t, &cfg)); }
    ~Table() { cv_sess_table_fini(&t); }
    cv_sess_table *operator->() { return &t; }
    operator cv_sess_table *() { return &t; }
};

std::vector<int64_t> expire(cv_sess_table *t, int64_t now, size_t max = 4096)
{
    std::vector<int64_t> out(max);
    size_t n = cv_sess_expired(t, now, out.data(), max);
    out.resize(n);
    return out;
}

cv_sess_info info(cv_sess_table *t, int64_t id)
{
    cv_sess_info i;
    EXPECT_EQ(0, cv_sess_get(t, id, &i)) << std::hex << id;
    return i;
}

// ---- configuration and negotiation ------------------------------------------

TEST(SessConfig, DefaultsAreTwoAndTwentyTicks)
{
    cv_sess_config cfg = make_cfg(2000);
    EXPECT_EQ(4000, cfg.min_timeout_ms);
    EXPECT_EQ(40000, cfg.max_timeout_ms);
    const char *why = "x";
    EXPECT_EQ(0, cv_sess_config_check(&cfg, &why));
    EXPECT_EQ(nullptr, why);
}

TEST(SessConfig, CheckNamesTheBadSetting)
{
    const char *why = nullptr;
    cv_sess_config cfg = make_cfg();
    cfg.tick_ms = 0;
    EXPECT_EQ(-EINVAL, cv_sess_config_check(&cfg, &why));
    EXPECT_NE(nullptr, strstr(why, "tickTime"));

    cfg = make_cfg();
    cfg.min_timeout_ms = 50000;
    EXPECT_EQ(-EINVAL, cv_sess_config_check(&cfg, &why));
    EXPECT_NE(nullptr, strstr(why, "maxSessionTimeout"));

    cfg = make_cfg();
    cfg.secret_len = 8;
    EXPECT_EQ(-EINVAL, cv_sess_config_check(&cfg, &why));
    EXPECT_NE(nullptr, strstr(why, "secret"));

    cfg = make_cfg();
    cfg.max_sessions = 0;
    EXPECT_EQ(-EINVAL, cv_sess_config_check(&cfg, &why));

    cv_sess_table t;
    EXPECT_EQ(-EINVAL, cv_sess_table_init(&t, &cfg));
}

TEST(SessNegotiate, TimeoutClampedToMinAndMax)
{
    cv_sess_config cfg = make_cfg(2000);
    EXPECT_EQ(4000, cv_sess_negotiate_timeout(&cfg, 0));
    EXPECT_EQ(4000, cv_sess_negotiate_timeout(&cfg, -1));
    EXPECT_EQ(4000, cv_sess_negotiate_timeout(&cfg, INT32_MIN));
    EXPECT_EQ(4000, cv_sess_negotiate_timeout(&cfg, 3999));
    EXPECT_EQ(4000, cv_sess_negotiate_timeout(&cfg, 4000));
    EXPECT_EQ(10000, cv_sess_negotiate_timeout(&cfg, 10000));
    EXPECT_EQ(40000, cv_sess_negotiate_timeout(&cfg, 40000));
    EXPECT_EQ(40000, cv_sess_negotiate_timeout(&cfg, 40001));
    EXPECT_EQ(40000, cv_sess_negotiate_timeout(&cfg, INT32_MAX));
    cfg.min_timeout_ms = 1000;
    cfg.max_timeout_ms = 1000;
    EXPECT_EQ(1000, cv_sess_negotiate_timeout(&cfg, 30000));
    EXPECT_EQ(1000, cv_sess_negotiate_timeout(&cfg, 1));
}

// ---- ids ----------------------------------------------------------------------

TEST(SessId, LayoutIsServerIdThenZooKeeperTimeBitsThenCounter)
{
    const int64_t start = INT64_C(0x123456789AB); // more than 40 bits: the top is dropped
    int64_t id = cv_sess_id_make(7, start, 0);
    // SessionTrackerImpl.initializeNextSessionId: (time << 24) >>> 8 | sid << 56
    uint64_t zk = (((uint64_t)start << 24) >> 8) | ((uint64_t)7 << 56);
    EXPECT_EQ((int64_t)zk, id);
    EXPECT_EQ(7u, (uint64_t)id >> 56);
    EXPECT_EQ((uint64_t)start & 0xFFFFFFFFFFull, ((uint64_t)id >> 16) & 0xFFFFFFFFFFull);
    EXPECT_EQ(0u, (uint64_t)id & 0xFFFF);
    EXPECT_EQ(id + 5, cv_sess_id_make(7, start, 5));
    // The counter carries into the time bits but never into the server id.
    int64_t wrap = cv_sess_id_make(7, -1, 0xFFFF + 1);
    EXPECT_EQ(7u, (uint64_t)wrap >> 56);
    EXPECT_EQ(254u, (uint64_t)cv_sess_id_make(254, -1, UINT64_MAX) >> 56);
}

TEST(SessId, ReservedOwnerValuesAreRecognised)
{
    EXPECT_TRUE(cv_sess_id_reserved(0));
    EXPECT_TRUE(cv_sess_id_reserved(INT64_MIN)); // container
    EXPECT_TRUE(cv_sess_id_reserved((int64_t)0xFF00000000000000ull));
    EXPECT_TRUE(cv_sess_id_reserved((int64_t)0xFF00000000001234ull)); // TTL
    EXPECT_FALSE(cv_sess_id_reserved(1));
    EXPECT_FALSE(cv_sess_id_reserved((int64_t)0xFE00000000000000ull));
    EXPECT_FALSE(cv_sess_id_reserved((int64_t)0x8000000000000001ull));
}

TEST(SessId, ServerId255IsRefused)
{
    cv_sess_idgen g;
    EXPECT_EQ(-EINVAL, cv_sess_idgen_init(&g, 255, 0));
    EXPECT_EQ(-EINVAL, cv_sess_idgen_init(&g, 1000, 0));
    EXPECT_EQ(0, cv_sess_idgen_init(&g, 254, 0));
}

TEST(SessId, GeneratorSkipsReservedValues)
{
    cv_sess_idgen g;
    // Server 0 started at time 0 would hand out 0, server 128 the container value.
    ASSERT_EQ(0, cv_sess_idgen_init(&g, 0, 0));
    EXPECT_EQ(1, cv_sess_idgen_next(&g, nullptr));
    ASSERT_EQ(0, cv_sess_idgen_init(&g, 128, 0));
    EXPECT_EQ((int64_t)0x8000000000000001ull, cv_sess_idgen_next(&g, nullptr));
}

TEST(SessId, GeneratorSkipsIdsInTheTable)
{
    cv_sess_config cfg = make_cfg();
    Table t(cfg);
    cv_sess_idgen g;
    ASSERT_EQ(0, cv_sess_idgen_init(&g, 3, 1000));
    int64_t a = cv_sess_id_make(3, 1000, 0);
    ASSERT_EQ(0, cv_sess_apply_create(t, a, 4000, 0));
    ASSERT_EQ(0, cv_sess_apply_create(t, a + 1, 4000, 0));
    EXPECT_EQ(a + 2, cv_sess_idgen_next(&g, t));
}

TEST(SessId, UniqueOverManyIdsAndServers)
{
    std::set<int64_t> seen;
    for (unsigned sid : {0u, 1u, 127u, 128u, 200u, 254u}) {
        cv_sess_idgen g;
        ASSERT_EQ(0, cv_sess_idgen_init(&g, sid, INT64_C(1700000000000)));
        for (int i = 0; i < 20000; i++) {
            int64_t id = cv_sess_idgen_next(&g, nullptr);
            ASSERT_EQ(sid, (uint64_t)id >> 56);
            ASSERT_FALSE(cv_sess_id_reserved(id));
            ASSERT_TRUE(seen.insert(id).second) << std::hex << id;
        }
    }
    EXPECT_EQ(6u * 20000, seen.size());
}

// ---- passwords -------------------------------------------------------------------

TEST(SessPassword, OwnPasswordAcceptedByAnyServerWithTheSecret)
{
    cv_sess_config a = make_cfg(2000), b = make_cfg(3000, 8); // same secret, other settings
    uint8_t pw[CV_SESS_PASSWD_LEN];
    ASSERT_EQ(0, cv_sess_password(&a, 0x0100000000000042, pw));
    EXPECT_EQ(0, cv_sess_password_check(&a, 0x0100000000000042, pw, sizeof(pw)));
    EXPECT_EQ(0, cv_sess_password_check(&b, 0x0100000000000042, pw, sizeof(pw)));
    uint8_t again[CV_SESS_PASSWD_LEN];
    ASSERT_EQ(0, cv_sess_password(&b, 0x0100000000000042, again));
    EXPECT_EQ(0, memcmp(pw, again, sizeof(pw)));
}

TEST(SessPassword, WrongByteRefused)
{
    cv_sess_config cfg = make_cfg();
    uint8_t pw[CV_SESS_PASSWD_LEN];
    ASSERT_EQ(0, cv_sess_password(&cfg, 77, pw));
    for (size_t i = 0; i < sizeof(pw); i++) {
        for (uint8_t bit : {0x01, 0x80}) {
            uint8_t bad[CV_SESS_PASSWD_LEN];
            memcpy(bad, pw, sizeof(pw));
            bad[i] ^= bit;
            EXPECT_EQ(-EACCES, cv_sess_password_check(&cfg, 77, bad, sizeof(bad))) << i;
        }
    }
}

TEST(SessPassword, WrongLengthRefused)
{
    cv_sess_config cfg = make_cfg();
    uint8_t pw[CV_SESS_PASSWD_LEN + 1] = {};
    ASSERT_EQ(0, cv_sess_password(&cfg, 77, pw));
    EXPECT_EQ(-EACCES, cv_sess_password_check(&cfg, 77, pw, 15));
    EXPECT_EQ(-EACCES, cv_sess_password_check(&cfg, 77, pw, 17));
    EXPECT_EQ(-EACCES, cv_sess_password_check(&cfg, 77, pw, 0));
    EXPECT_EQ(-EACCES, cv_sess_password_check(&cfg, 77, nullptr, 16));
    EXPECT_EQ(0, cv_sess_password_check(&cfg, 77, pw, 16));
}

TEST(SessPassword, OtherSessionsPasswordRefused)
{
    cv_sess_config cfg = make_cfg();
    uint8_t pw[CV_SESS_PASSWD_LEN];
    ASSERT_EQ(0, cv_sess_password(&cfg, 77, pw));
    EXPECT_EQ(-EACCES, cv_sess_password_check(&cfg, 78, pw, sizeof(pw)));
    EXPECT_EQ(-EACCES, cv_sess_password_check(&cfg, 77 | (INT64_C(1) << 56), pw, sizeof(pw)));
}

TEST(SessPassword, OtherSecretRefused)
{
    cv_sess_config a = make_cfg(2000, 16, 0x5a), b = make_cfg(2000, 16, 0x5b);
    uint8_t pw[CV_SESS_PASSWD_LEN];
    ASSERT_EQ(0, cv_sess_password(&a, 77, pw));
    EXPECT_EQ(-EACCES, cv_sess_password_check(&b, 77, pw, sizeof(pw)));
    b = a;
    b.secret_len = 31; // a prefix of the same key is another key
    EXPECT_EQ(-EACCES, cv_sess_password_check(&b, 77, pw, sizeof(pw)));
    b.secret_len = 0;
    EXPECT_EQ(-EINVAL, cv_sess_password(&b, 77, pw));
    EXPECT_EQ(-EACCES, cv_sess_password_check(&b, 77, pw, sizeof(pw)));
}

// ---- membership (S3) ---------------------------------------------------------------

TEST(SessMembership, OnlyApplyCreateAddsAndOnlyApplyCloseRemoves)
{
    cv_sess_config cfg = make_cfg();
    Table t(cfg);
    const int64_t id = 0x0100000000000001;
    // Nothing else creates a session.
    EXPECT_EQ(CV_ZSESSIONEXPIRED, cv_sess_touch(t, id, 0));
    EXPECT_EQ(-ENOENT, cv_sess_set_closing(t, id));
    EXPECT_TRUE(expire(t, 1000000).empty());
    cv_sess_restart_clocks(t, 0);
    EXPECT_FALSE(cv_sess_is_live(t, id));
    EXPECT_EQ(0u, cv_sess_count(t));

    EXPECT_EQ(0, cv_sess_apply_create(t, id, 6000, 1000000));
    EXPECT_EQ(1u, cv_sess_count(t));
    EXPECT_TRUE(cv_sess_is_live(t, id));

    // Nothing else removes one: closing and expiry only mark it.
    EXPECT_EQ(0, cv_sess_set_closing(t, id));
    EXPECT_EQ(1u, cv_sess_count(t));
    EXPECT_TRUE(expire(t, 9000000).empty());
    EXPECT_EQ(1u, cv_sess_count(t));
    cv_sess_info i;
    EXPECT_EQ(0, cv_sess_get(t, id, &i));

    EXPECT_EQ(0, cv_sess_apply_close(t, id));
    EXPECT_EQ(0u, cv_sess_count(t));
    EXPECT_EQ(-ENOENT, cv_sess_get(t, id, &i));
    EXPECT_EQ(-ENOENT, cv_sess_apply_close(t, id));
}

TEST(SessMembership, ReplayedCreateIsIdempotentAndUpdatesTimeout)
{
    cv_sess_config cfg = make_cfg();
    Table t(cfg);
    EXPECT_EQ(0, cv_sess_apply_create(t, 5, 6000, 0));
    EXPECT_EQ(1, cv_sess_apply_create(t, 5, 8000, 1000));
    EXPECT_EQ(1u, cv_sess_count(t));
    EXPECT_EQ(8000, info(t, 5).timeout);
    EXPECT_EQ(10000, info(t, 5).deadline); // round_next(1000 + 8000)
}

TEST(SessMembership, BadCreateRefusedWithoutChange)
{
    cv_sess_config cfg = make_cfg(2000, 2);
    Table t(cfg);
    EXPECT_EQ(-EINVAL, cv_sess_apply_create(t, 0, 6000, 0));
    EXPECT_EQ(-EINVAL, cv_sess_apply_create(t, INT64_MIN, 6000, 0));
    EXPECT_EQ(-EINVAL, cv_sess_apply_create(t, (int64_t)0xFF00000000000005ull, 6000, 0));
    EXPECT_EQ(-EINVAL, cv_sess_apply_create(t, 5, 0, 0));
    EXPECT_EQ(-EINVAL, cv_sess_apply_create(t, 5, -1, 0));
    EXPECT_EQ(0u, cv_sess_count(t));
    EXPECT_EQ(0, cv_sess_apply_create(t, 1, 6000, 0));
    EXPECT_EQ(0, cv_sess_apply_create(t, 2, 6000, 0));
    EXPECT_EQ(-ENOSPC, cv_sess_apply_create(t, 3, 6000, 0));
    EXPECT_EQ(1, cv_sess_apply_create(t, 2, 6000, 0)); // present: not a new slot
    EXPECT_EQ(2u, cv_sess_count(t));
    EXPECT_EQ(0, cv_sess_apply_close(t, 1));
    EXPECT_EQ(0, cv_sess_apply_create(t, 3, 6000, 0));
}

TEST(SessClosing, ClosingRejectsTouchesButKeepsTheSession)
{
    cv_sess_config cfg = make_cfg();
    Table t(cfg);
    ASSERT_EQ(0, cv_sess_apply_create(t, 9, 6000, 0));
    EXPECT_EQ(0, cv_sess_touch(t, 9, 100));
    EXPECT_EQ(0, cv_sess_set_closing(t, 9));
    EXPECT_EQ(1, cv_sess_set_closing(t, 9));
    EXPECT_FALSE(cv_sess_is_live(t, 9));
    EXPECT_EQ(CV_ZSESSIONEXPIRED, cv_sess_touch(t, 9, 200));
    EXPECT_TRUE(info(t, 9).closing);
    EXPECT_EQ(1u, cv_sess_count(t));
    // A closing session is not handed out by expiry: its close is already decided.
    EXPECT_TRUE(expire(t, 1000000).empty());
}

// ---- expiry ------------------------------------------------------------------------

TEST(SessExpiry, DeadlineRoundsUpToTheNextTickStrictly)
{
    cv_sess_config cfg = make_cfg(2000);
    Table t(cfg);
    ASSERT_EQ(0, cv_sess_apply_create(t, 1, 4000, 0));    // 4000 -> 6000 (strictly after)
    ASSERT_EQ(0, cv_sess_apply_create(t, 2, 4000, 1000)); // 5000 -> 6000
    ASSERT_EQ(0, cv_sess_apply_create(t, 3, 4000, 1999)); // 5999 -> 6000
    ASSERT_EQ(0, cv_sess_apply_create(t, 4, 4000, 2000)); // 6000 -> 8000
    EXPECT_EQ(6000, info(t, 1).deadline);
    EXPECT_EQ(6000, info(t, 2).deadline);
    EXPECT_EQ(6000, info(t, 3).deadline);
    EXPECT_EQ(8000, info(t, 4).deadline);
    EXPECT_TRUE(expire(t, 5999).empty());
    EXPECT_EQ((std::vector<int64_t>{1, 2, 3}), expire(t, 6000));
    EXPECT_TRUE(expire(t, 7999).empty());
    EXPECT_EQ((std::vector<int64_t>{4}), expire(t, 8000));
}

TEST(SessExpiry, TouchMovesToTheBucketOfNowPlusTimeout)
{
    cv_sess_config cfg = make_cfg(2000);
    Table t(cfg);
    ASSERT_EQ(0, cv_sess_apply_create(t, 1, 4000, 0));
    ASSERT_EQ(0, cv_sess_apply_create(t, 2, 4000, 0));
    EXPECT_EQ(0, cv_sess_touch(t, 1, 3000)); // 7000 -> 8000
    EXPECT_EQ(8000, info(t, 1).deadline);
    EXPECT_EQ((std::vector<int64_t>{2}), expire(t, 6000));
    EXPECT_EQ(0, cv_sess_touch(t, 1, 7000)); // 11000 -> 12000
    EXPECT_TRUE(expire(t, 11999).empty());
    EXPECT_TRUE(cv_sess_is_live(t, 1));
    EXPECT_EQ((std::vector<int64_t>{1}), expire(t, 12000));
}

TEST(SessExpiry, ExpiredReturnedOnceAndLeftClosing)
{
    cv_sess_config cfg = make_cfg(2000);
    Table t(cfg);
    ASSERT_EQ(0, cv_sess_apply_create(t, 1, 4000, 0));
    EXPECT_EQ((std::vector<int64_t>{1}), expire(t, 6000));
    EXPECT_FALSE(cv_sess_is_live(t, 1));
    EXPECT_TRUE(info(t, 1).closing);
    EXPECT_EQ(CV_ZSESSIONEXPIRED, cv_sess_touch(t, 1, 6000));
    EXPECT_TRUE(expire(t, 6000).empty());
    EXPECT_TRUE(expire(t, 600000).empty());
    EXPECT_EQ(1u, cv_sess_count(t)); // until its closeSession is applied
    EXPECT_EQ(0, cv_sess_apply_close(t, 1));
}

TEST(SessExpiry, OrderIsBucketTimeThenUnsignedIdAndDeterministic)
{
    cv_sess_config cfg = make_cfg(1000);
    std::vector<int64_t> ids = {(int64_t)0xFE00000000000001ull,
                                3,
                                (int64_t)0x8000000000000002ull,
                                1,
                                0x0100000000000000,
                                2};
    std::vector<int64_t> first;
    for (int round = 0; round < 2; round++) {
        Table t(cfg);
        // Insert in a different order each round; two buckets.
        for (size_t k = 0; k < ids.size(); k++) {
            int64_t id = round ? ids[ids.size() - 1 - k] : ids[k];
            int32_t timeout = (id == 3 || id == 1) ? 5000 : 3000;
            ASSERT_EQ(0, cv_sess_apply_create(t, id, timeout, 0));
        }
        std::vector<int64_t> got = expire(t, 100000);
        std::vector<int64_t> want = {2,
                                     0x0100000000000000,
                                     (int64_t)0x8000000000000002ull,
                                     (int64_t)0xFE00000000000001ull,
                                     1,
                                     3};
        EXPECT_EQ(want, got);
        if (round == 0)
            first = got;
        else
            EXPECT_EQ(first, got);
    }
}

TEST(SessExpiry, BucketLargerThanMaxContinuesOnTheNextCall)
{
    cv_sess_config cfg = make_cfg(1000);
    Table t(cfg);
    for (int64_t id = 10; id >= 1; id--)
        ASSERT_EQ(0, cv_sess_apply_create(t, id, 2000, 0));
    ASSERT_EQ(0, cv_sess_apply_create(t, 100, 3000, 0));
    EXPECT_EQ((std::vector<int64_t>{1, 2, 3, 4}), expire(t, 10000, 4));
    // Every session of the taken bucket is already closing.
    EXPECT_FALSE(cv_sess_is_live(t, 9));
    EXPECT_EQ((std::vector<int64_t>{5, 6, 7, 8}), expire(t, 10000, 4));
    EXPECT_EQ((std::vector<int64_t>{9, 10, 100}), expire(t, 10000, 4));
    EXPECT_TRUE(expire(t, 10000, 4).empty());
    EXPECT_TRUE(expire(t, 10000, 0).empty());
}

TEST(SessExpiry, SessionClosedOrClosingWhilePendingIsNotReturned)
{
    cv_sess_config cfg = make_cfg(1000);
    Table t(cfg);
    for (int64_t id = 1; id <= 5; id++)
        ASSERT_EQ(0, cv_sess_apply_create(t, id, 2000, 0));
    EXPECT_EQ((std::vector<int64_t>{1}), expire(t, 3000, 1));
    EXPECT_EQ(0, cv_sess_apply_close(t, 2));              // its closeSession got applied meanwhile
    EXPECT_EQ(0, cv_sess_set_closing(t, 3));              // a close request decided first
    EXPECT_EQ(0, cv_sess_apply_create(t, 2, 9000, 3000)); // and a new session reuses the id
    EXPECT_EQ((std::vector<int64_t>{4, 5}), expire(t, 3000));
    EXPECT_TRUE(cv_sess_is_live(t, 2));
}

TEST(SessExpiry, CostIsProportionalToExpiredNotToTableSize)
{
    cv_sess_config cfg = make_cfg(1000, 20000);
    Table t(cfg);
    for (int64_t id = 1; id <= 19990; id++)
        ASSERT_EQ(0, cv_sess_apply_create(t, id, 20000, 0));
    for (int64_t id = 100001; id <= 100005; id++)
        ASSERT_EQ(0, cv_sess_apply_create(t, id, 2000, 0));
    uint64_t before = t->expiry_work;
    EXPECT_EQ((std::vector<int64_t>{100001, 100002, 100003, 100004, 100005}), expire(t, 3000));
    // 5 sessions + the few buckets between the cursor and now.
    EXPECT_LE(t->expiry_work - before, 5u + 4u);
    before = t->expiry_work;
    for (int i = 0; i < 2000; i++)
        EXPECT_TRUE(expire(t, 3000 + i).empty());
    EXPECT_LE(t->expiry_work - before, 2u); // one bucket crossed (4000)
}

TEST(SessExpiry, TimeoutBeyondTheWheelStillExpiresOnTime)
{
    cv_sess_config cfg = make_cfg(1000); // max 20 s; the wheel spans 64 s
    Table t(cfg);
    ASSERT_EQ(0, cv_sess_apply_create(t, 1, 500000, 0));
    ASSERT_EQ(0, cv_sess_apply_create(t, 2, 100000, 0));
    ASSERT_EQ(0, cv_sess_apply_create(t, 3, 2000, 0));
    EXPECT_EQ((std::vector<int64_t>{3}), expire(t, 3000));
    EXPECT_TRUE(expire(t, 100999).empty());
    EXPECT_EQ((std::vector<int64_t>{2}), expire(t, 101000));
    EXPECT_EQ(0, cv_sess_touch(t, 1, 200000)); // 700000 -> 701000
    EXPECT_TRUE(expire(t, 700999).empty());
    EXPECT_EQ((std::vector<int64_t>{1}), expire(t, 800000));
}

TEST(SessExpiry, LongIdleGapSkipsEmptyBuckets)
{
    cv_sess_config cfg = make_cfg(1);
    Table t(cfg);
    ASSERT_EQ(0, cv_sess_apply_create(t, 1, 5, 0));
    EXPECT_EQ((std::vector<int64_t>{1}), expire(t, 10));
    uint64_t before = t->expiry_work;
    EXPECT_TRUE(expire(t, INT64_C(1) << 40).empty());
    EXPECT_LE(t->expiry_work - before, 2u);
    ASSERT_EQ(0, cv_sess_apply_create(t, 2, 5, INT64_C(1) << 40));
    EXPECT_EQ((std::vector<int64_t>{2}), expire(t, (INT64_C(1) << 40) + 6));
}

TEST(SessExpiry, RestartClocksRestartsEverySessionFromNow)
{
    cv_sess_config cfg = make_cfg(2000);
    Table t(cfg);
    ASSERT_EQ(0, cv_sess_apply_create(t, 1, 4000, 0));  // due 6000
    ASSERT_EQ(0, cv_sess_apply_create(t, 2, 10000, 0)); // due 12000
    ASSERT_EQ(0, cv_sess_apply_create(t, 3, 4000, 0));
    ASSERT_EQ(0, cv_sess_set_closing(t, 3)); // close decided, not applied
    // A leader change at 5000: nothing expires at 6000 any more.
    cv_sess_restart_clocks(t, 5000);
    EXPECT_EQ(10000, info(t, 1).deadline);
    EXPECT_EQ(16000, info(t, 2).deadline);
    EXPECT_TRUE(cv_sess_is_live(t, 3)); // the undecided close is dropped
    EXPECT_TRUE(expire(t, 9999).empty());
    EXPECT_EQ((std::vector<int64_t>{1, 3}), expire(t, 10000));
    EXPECT_EQ((std::vector<int64_t>{2}), expire(t, 16000));
}

TEST(SessExpiry, RestartClocksDropsAHalfHandedOutBucket)
{
    cv_sess_config cfg = make_cfg(1000);
    Table t(cfg);
    for (int64_t id = 1; id <= 4; id++)
        ASSERT_EQ(0, cv_sess_apply_create(t, id, 2000, 0));
    EXPECT_EQ((std::vector<int64_t>{1}), expire(t, 3000, 1));
    cv_sess_restart_clocks(t, 3000);
    for (int64_t id = 1; id <= 4; id++)
        EXPECT_TRUE(cv_sess_is_live(t, id));
    EXPECT_TRUE(expire(t, 5999).empty());
    EXPECT_EQ((std::vector<int64_t>{1, 2, 3, 4}), expire(t, 6000));
}

// ---- inspection ----------------------------------------------------------------------

TEST(SessList, AscendingUnsignedIdsInPages)
{
    cv_sess_config cfg = make_cfg(1000, 300);
    Table t(cfg);
    std::vector<int64_t> ids;
    std::mt19937_64 rng(42);
    while (ids.size() < 250) {
        int64_t id = (int64_t)rng();
        if (cv_sess_id_reserved(id) || std::find(ids.begin(), ids.end(), id) != ids.end())
            continue;
        ids.push_back(id);
        ASSERT_EQ(0, cv_sess_apply_create(t, id, 3000 + (int32_t)ids.size(), 0));
    }
    ASSERT_EQ(0, cv_sess_set_closing(t, ids[7]));
    std::sort(ids.begin(), ids.end(),
              [](int64_t a, int64_t b) { return (uint64_t)a < (uint64_t)b; });
    std::vector<int64_t> got;
    cv_sess_info page[17];
    int64_t last = 0;
    const int64_t *after = nullptr;
    size_t n;
    while ((n = cv_sess_list(t, after, page, 17)) > 0) {
        for (size_t i = 0; i < n; i++)
            got.push_back(page[i].id);
        last = page[n - 1].id;
        after = &last;
    }
    EXPECT_EQ(ids, got);
    size_t closing = 0;
    std::vector<cv_sess_info> all(300);
    ASSERT_EQ(250u, cv_sess_list(t, nullptr, all.data(), all.size()));
    for (size_t i = 0; i < 250; i++)
        closing += all[i].closing;
    EXPECT_EQ(1u, closing);
}

// ---- snapshots ---------------------------------------------------------------------

TEST(SessSnapshot, RoundTripAndZooKeeperLayout)
{
    cv_sess_config cfg = make_cfg(2000);
    Table t(cfg);
    ASSERT_EQ(0, cv_sess_apply_create(t, (int64_t)0x8100000000000005ull, 30000, 0));
    ASSERT_EQ(0, cv_sess_apply_create(t, 0x0100000000000007, 4000, 0));
    ASSERT_EQ(0, cv_sess_set_closing(t, 0x0100000000000007)); // still in the snapshot
    std::vector<uint8_t> buf(cv_sess_serialized_size(t));
    ASSERT_EQ(4u + 2 * 12, buf.size());
    ASSERT_EQ((int64_t)buf.size(), cv_sess_serialize(t, buf.data(), buf.size()));
    const std::vector<uint8_t> want = {
        0,    0, 0, 2,                                  // count
        0x01, 0, 0, 0, 0, 0, 0, 0x07, 0, 0, 0x0f, 0xa0, // id, timeout 4000
        0x81, 0, 0, 0, 0, 0, 0, 0x05, 0, 0, 0x75, 0x30, // id, timeout 30000
    };
    EXPECT_EQ(want, buf);
    EXPECT_EQ(-ENOBUFS, cv_sess_serialize(t, buf.data(), buf.size() - 1));

    std::vector<uint8_t> withtail = buf;
    withtail.push_back(0xAB);
    Table u(cfg);
    size_t used = 0;
    ASSERT_EQ(0, cv_sess_deserialize(u, withtail.data(), withtail.size(), &used, 10000));
    EXPECT_EQ(buf.size(), used);
    EXPECT_EQ(2u, cv_sess_count(u));
    EXPECT_EQ(4000, info(u, 0x0100000000000007).timeout);
    EXPECT_EQ(30000, info(u, (int64_t)0x8100000000000005ull).timeout);
    EXPECT_TRUE(cv_sess_is_live(u, 0x0100000000000007));
    EXPECT_EQ(16000, info(u, 0x0100000000000007).deadline); // round_next(10000 + 4000)
    std::vector<uint8_t> again(cv_sess_serialized_size(u));
    ASSERT_EQ((int64_t)again.size(), cv_sess_serialize(u, again.data(), again.size()));
    EXPECT_EQ(buf, again);
    // Only into an empty table.
    EXPECT_EQ(-EBUSY, cv_sess_deserialize(u, buf.data(), buf.size(), nullptr, 0));
}

TEST(SessSnapshot, EmptyTable)
{
    cv_sess_config cfg = make_cfg();
    Table t(cfg);
    uint8_t buf[4];
    ASSERT_EQ(4, cv_sess_serialize(t, buf, 4));
    Table u(cfg);
    EXPECT_EQ(0, cv_sess_deserialize(u, buf, 4, nullptr, 0));
    EXPECT_EQ(0u, cv_sess_count(u));
}

TEST(SessSnapshot, EveryTruncationRejectedAndLeavesTheTableEmpty)
{
    cv_sess_config cfg = make_cfg();
    Table t(cfg);
    for (int64_t id = 1; id <= 5; id++)
        ASSERT_EQ(0, cv_sess_apply_create(t, id * 1000, 4000 + (int32_t)id, 0));
    std::vector<uint8_t> buf(cv_sess_serialized_size(t));
    ASSERT_EQ((int64_t)buf.size(), cv_sess_serialize(t, buf.data(), buf.size()));
    for (size_t len = 0; len < buf.size(); len++) {
        Table u(cfg);
        std::vector<uint8_t> cut(buf.begin(), buf.begin() + len); // exact size: ASan sees overreads
        EXPECT_EQ(-EBADMSG, cv_sess_deserialize(u, cut.data(), cut.size(), nullptr, 0)) << len;
        EXPECT_EQ(0u, cv_sess_count(u));
    }
}

TEST(SessSnapshot, CorruptInputRejected)
{
    cv_sess_config cfg = make_cfg(2000, 4);
    auto rec = [](std::vector<uint8_t> &v, uint64_t id, int32_t to) {
        for (int s = 56; s >= 0; s -= 8)
            v.push_back((uint8_t)(id >> s));
        for (int s = 24; s >= 0; s -= 8)
            v.push_back((uint8_t)((uint32_t)to >> s));
    };
    auto run = [&](std::vector<uint8_t> v) {
        Table u(cfg);
        int rc = cv_sess_deserialize(u, v.data(), v.size(), nullptr, 0);
        EXPECT_EQ(0u, cv_sess_count(u));
        return rc;
    };
    std::vector<uint8_t> v = {0xFF, 0xFF, 0xFF, 0xFF}; // count -1
    EXPECT_EQ(-EBADMSG, run(v));
    v = {0x7F, 0xFF, 0xFF, 0xFF}; // a count the bytes cannot hold
    rec(v, 1, 4000);
    EXPECT_EQ(-EBADMSG, run(v));
    v = {0, 0, 0, 2};
    rec(v, 1, 4000);
    rec(v, 1, 5000); // duplicate
    EXPECT_EQ(-EBADMSG, run(v));
    v = {0, 0, 0, 2};
    rec(v, 1, 4000);
    rec(v, 0, 4000); // reserved id
    EXPECT_EQ(-EBADMSG, run(v));
    v = {0, 0, 0, 1};
    rec(v, 0xFF00000000000009ull, 4000); // TTL owner
    EXPECT_EQ(-EBADMSG, run(v));
    v = {0, 0, 0, 1};
    rec(v, 1, 0); // timeout 0
    EXPECT_EQ(-EBADMSG, run(v));
    v = {0, 0, 0, 5};
    for (uint64_t id = 1; id <= 5; id++)
        rec(v, id, 4000);
    EXPECT_EQ(-ENOSPC, run(v)); // capacity 4
}

// ---- randomized comparison against a naive model --------------------------------------

// The reference: a map scanned in full at every step.
struct Model {
    enum St { LIVE, EXPIRING, CLOSING };
    struct S {
        int32_t timeout;
        int64_t deadline;
        St st;
    };
    int64_t tick;
    size_t cap;
    std::map<uint64_t, S> m; // unsigned id order
    std::vector<int64_t> pend;
    size_t pend_pos = 0;

    int64_t round_next(int64_t x) const
    {
        int64_t q = x / tick - ((x % tick != 0) && x < 0);
        return (q + 1) * tick;
    }
    int create(int64_t id, int32_t to, int64_t now)
    {
        auto it = m.find((uint64_t)id);
        if (it != m.end()) {
            it->second.timeout = to;
            if (it->second.st == LIVE)
                it->second.deadline = round_next(now + to);
            return 1;
        }
        if (m.size() == cap)
            return -ENOSPC;
        m[(uint64_t)id] = S{to, round_next(now + to), LIVE};
        return 0;
    }
    int close(int64_t id) { return m.erase((uint64_t)id) ? 0 : -ENOENT; }
    int touch(int64_t id, int64_t now)
    {
        auto it = m.find((uint64_t)id);
        if (it == m.end() || it->second.st != LIVE)
            return CV_ZSESSIONEXPIRED;
        it->second.deadline = round_next(now + it->second.timeout);
        return 0;
    }
    int set_closing(int64_t id)
    {
        auto it = m.find((uint64_t)id);
        if (it == m.end())
            return -ENOENT;
        if (it->second.st == CLOSING)
            return 1;
        it->second.st = CLOSING;
        return 0;
    }
    std::vector<int64_t> expired(int64_t now, size_t max)
    {
        std::vector<int64_t> out;
        while (out.size() < max) {
            while (pend_pos < pend.size() && out.size() < max) {
                int64_t id = pend[pend_pos++];
                auto it = m.find((uint64_t)id);
                if (it == m.end() || it->second.st != EXPIRING)
                    continue;
                it->second.st = CLOSING;
                out.push_back(id);
            }
            if (pend_pos < pend.size() || out.size() == max)
                break;
            pend.clear();
            pend_pos = 0;
            // Scan everything for the earliest due bucket.
            int64_t first = INT64_MAX;
            for (auto &kv : m)
                if (kv.second.st == LIVE && kv.second.deadline <= now)
                    first = std::min(first, kv.second.deadline);
            if (first == INT64_MAX)
                break;
            for (auto &kv : m)
                if (kv.second.st == LIVE && kv.second.deadline == first) {
                    kv.second.st = EXPIRING;
                    pend.push_back((int64_t)kv.first);
                }
        }
        return out;
    }
    void restart(int64_t now)
    {
        pend.clear();
        pend_pos = 0;
        for (auto &kv : m) {
            kv.second.st = LIVE;
            kv.second.deadline = round_next(now + kv.second.timeout);
        }
    }
};

void expect_same(cv_sess_table *t, const Model &m, uint64_t step)
{
    ASSERT_EQ(m.m.size(), cv_sess_count(t)) << "step " << step;
    std::vector<cv_sess_info> all(m.cap + 1);
    size_t n = cv_sess_list(t, nullptr, all.data(), all.size());
    ASSERT_EQ(m.m.size(), n);
    size_t i = 0;
    for (auto &kv : m.m) {
        const cv_sess_info &s = all[i++];
        ASSERT_EQ((int64_t)kv.first, s.id) << "step " << step;
        ASSERT_EQ(kv.second.timeout, s.timeout) << "step " << step;
        ASSERT_EQ(kv.second.deadline, s.deadline) << "step " << step << " id " << s.id;
        ASSERT_EQ(kv.second.st != Model::LIVE, s.closing) << "step " << step << " id " << s.id;
        ASSERT_EQ(kv.second.st == Model::LIVE, cv_sess_is_live(t, s.id));
    }
}

void randomized_run(uint64_t seed, int steps)
{
    cv_sess_config cfg = make_cfg(1000, 96); // min 2 s, max 20 s; wheel 64 s
    Table t(cfg);
    Model m;
    m.tick = 1000;
    m.cap = 96;
    std::mt19937_64 rng(seed);
    auto rnd = [&](uint64_t n) { return rng() % n; };
    std::vector<int64_t> pool;
    for (int i = 0; i < 128; i++) {
        uint64_t sid = (uint64_t)(i % 4 == 0 ? 200 : i % 3) << 56;
        pool.push_back((int64_t)(sid | (uint64_t)(i + 1)));
    }
    int64_t now = (int64_t)rnd(1000000);
    size_t expired_total = 0;
    for (int step = 0; step < steps; step++) {
        int64_t id = pool[rnd(pool.size())];
        unsigned op = (unsigned)rnd(100);
        if (op < 25) {
            int32_t to = rnd(10) == 0 ? (int32_t)(20000 + rnd(120000))
                                      : cv_sess_negotiate_timeout(&cfg, (int32_t)rnd(25000));
            ASSERT_EQ(m.create(id, to, now), cv_sess_apply_create(t, id, to, now));
        } else if (op < 35) {
            ASSERT_EQ(m.close(id), cv_sess_apply_close(t, id));
        } else if (op < 60) {
            ASSERT_EQ(m.touch(id, now), cv_sess_touch(t, id, now));
        } else if (op < 63) {
            ASSERT_EQ(m.set_closing(id), cv_sess_set_closing(t, id));
        } else if (op < 85) {
            size_t max = rnd(4) == 0 ? 1 + rnd(3) : 1000;
            std::vector<int64_t> want = m.expired(now, max);
            std::vector<int64_t> got = expire(t, now, max);
            ASSERT_EQ(want, got) << "step " << step << " now " << now;
            expired_total += got.size();
        } else if (op < 86) {
            m.restart(now);
            cv_sess_restart_clocks(t, now);
        } else if (op < 87) {
            // Snapshot and reload: same sessions, same bytes.
            std::vector<uint8_t> buf(cv_sess_serialized_size(t));
            ASSERT_EQ((int64_t)buf.size(), cv_sess_serialize(t, buf.data(), buf.size()));
            Table u(cfg);
            ASSERT_EQ(0, cv_sess_deserialize(u, buf.data(), buf.size(), nullptr, now));
            std::vector<uint8_t> again(buf.size());
            ASSERT_EQ((int64_t)buf.size(), cv_sess_serialize(u, again.data(), again.size()));
            ASSERT_EQ(buf, again);
            for (size_t off = 4; off + 12 < buf.size(); off += 12) // ascending unsigned ids
                ASSERT_LT(memcmp(&buf[off], &buf[off + 12], 8), 0);
        } else {
            now += rnd(50) == 0 ? (int64_t)rnd(300000) : (int64_t)rnd(2500);
        }
        expect_same(t, m, (uint64_t)step);
        if (::testing::Test::HasFatalFailure())
            return;
    }
    EXPECT_GT(expired_total, 0u);
}

TEST(SessExpiryModel, RandomizedAgainstNaiveScanSeed1)
{
    randomized_run(1, 20000);
}
TEST(SessExpiryModel, RandomizedAgainstNaiveScanSeed2)
{
    randomized_run(0xC0FFEE, 20000);
}
TEST(SessExpiryModel, RandomizedAgainstNaiveScanManySeeds)
{
    for (uint64_t seed = 100; seed < 120; seed++) {
        SCOPED_TRACE(seed);
        randomized_run(seed, 3000);
        if (::testing::Test::HasFatalFailure())
            return;
    }
}

} // namespace
