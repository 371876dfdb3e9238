// cv_lincheck: hand-written histories, model-generated histories (valid, and
// with one result corrupted) checked against a brute-force permutation
// checker, random small histories, and a performance sanity run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cv_lincheck.h"

namespace
{

constexpr int64_t kUnknownRet = -1; // ignored by the checker for UNKNOWN ops

cv_lc_op mk(uint8_t kind, int client, int64_t call, int64_t ret, int64_t value, int32_t expect,
            int32_t version, uint8_t outcome, uint8_t sync)
{
    cv_lc_op o{};
    o.call = call;
    o.ret = ret;
    o.client = client;
    o.kind = kind;
    o.outcome = outcome;
    o.sync = sync;
    o.value = value;
    o.expect = expect;
    o.version = version;
    return o;
}

struct History {
    std::vector<cv_lc_op> ops;
    int64_t init = 0;
    cv_lc_result res{};

    size_t add(const cv_lc_op &o)
    {
        ops.push_back(o);
        return ops.size() - 1;
    }
    size_t write(int c, int64_t call, int64_t ret, int64_t v, int32_t ver = -1,
                 uint8_t out = CV_LC_OK)
    {
        return add(mk(CV_LC_WRITE, c, call, ret, v, 0, ver, out, 0));
    }
    size_t cas(int c, int64_t call, int64_t ret, int32_t expect, int64_t v, uint8_t out,
               int32_t ver = -1)
    {
        return add(mk(CV_LC_CAS, c, call, ret, v, expect, ver, out, 0));
    }
    size_t sread(int c, int64_t call, int64_t ret, int64_t v, int32_t ver, uint8_t out = CV_LC_OK)
    {
        return add(mk(CV_LC_READ, c, call, ret, v, 0, ver, out, 1));
    }
    size_t pread(int c, int64_t call, int64_t ret, int64_t v, int32_t ver, uint8_t out = CV_LC_OK)
    {
        return add(mk(CV_LC_READ, c, call, ret, v, 0, ver, out, 0));
    }
    int check(uint64_t max_states = 0)
    {
        return cv_lc_check(ops.data(), ops.size(), init, max_states, &res);
    }
};

// ---- brute force: every order of every admissible subset -------------------

struct Brute {
    const std::vector<cv_lc_op> &ops;
    int64_t init;
    std::vector<size_t> lin; // linearizable ops
    std::vector<bool> req;

    Brute(const std::vector<cv_lc_op> &o, int64_t i) : ops(o), init(i)
    {
        for (size_t k = 0; k < ops.size(); k++) {
            const cv_lc_op &x = ops[k];
            bool l = x.kind == CV_LC_READ ? (x.sync && x.outcome == CV_LC_OK)
                                          : !(x.kind == CV_LC_WRITE && x.outcome == CV_LC_FAIL);
            if (l) {
                lin.push_back(k);
                req.push_back(x.outcome != CV_LC_UNKNOWN);
            }
        }
    }
    // a must precede b in every linearization
    bool before(size_t a, size_t b) const
    {
        return ops[a].outcome != CV_LC_UNKNOWN && ops[a].ret < ops[b].call;
    }
    bool apply(const cv_lc_op &o, int64_t &val, int64_t &ver) const
    {
        switch (o.kind) {
        case CV_LC_READ: return o.value == val && o.version == ver;
        case CV_LC_WRITE:
            val = o.value;
            ver++;
            return !(o.outcome == CV_LC_OK && o.version >= 0 && o.version != ver);
        default:
            if (o.outcome == CV_LC_FAIL)
                return ver != o.expect;
            if (ver != o.expect)
                return o.outcome == CV_LC_UNKNOWN; // a no-op, allowed for UNKNOWN
            val = o.value;
            ver++;
            return !(o.outcome == CV_LC_OK && o.version >= 0 && o.version != ver);
        }
    }
    bool dfs(uint32_t placed, int64_t val, int64_t ver) const
    {
        bool done = true;
        for (size_t i = 0; i < lin.size(); i++)
            if (req[i] && !(placed >> i & 1))
                done = false;
        if (done)
            return true;
        for (size_t i = 0; i < lin.size(); i++) {
            if (placed >> i & 1)
                continue;
            bool ok = true;
            for (size_t j = 0; j < lin.size() && ok; j++)
                if (j != i && !(placed >> j & 1) && before(lin[j], lin[i]))
                    ok = false;
            if (!ok)
                continue;
            int64_t v2 = val, r2 = ver;
            if (apply(ops[lin[i]], v2, r2) && dfs(placed | 1u << i, v2, r2))
                return true;
        }
        return false;
    }
    bool linearizable() const { return dfs(0, init, 0); }
};

// ---- generator: a sequential execution of the model, intervals widened ------

struct GenConfig {
    int clients = 4;
    int ops = 40;
    bool plain = true;          // plain reads, sometimes stale within the session rules
    double unknown = 0.1;       // WRITE/CAS/READ become UNKNOWN
    double fail = 0.03;         // WRITE/READ FAIL (no effect)
    bool versions_known = true; // WRITE/CAS OK report the new version
    int64_t spread = 150;       // how far the first call / last return stretch
    double dup = 0.2;           // WRITE a recently used value rather than a fresh one
    bool unknown_cas = true;    // CAS may be UNKNOWN too
};

std::vector<cv_lc_op> generate(std::mt19937_64 &rng, const GenConfig &g, int64_t init)
{
    auto uni = [&](int64_t lo, int64_t hi) {
        return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    };
    auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };

    // linearization points 100 * i; each client sequential
    std::vector<int> client(g.ops);
    std::vector<std::vector<int>> by_client(g.clients);
    for (int i = 0; i < g.ops; i++) {
        client[i] = (int)uni(0, g.clients - 1);
        by_client[client[i]].push_back(i);
    }
    std::vector<int64_t> call(g.ops), ret(g.ops);
    for (auto &l : by_client) {
        for (size_t k = 0; k < l.size(); k++) {
            int64_t p = 100 * (int64_t)l[k];
            if (k == 0)
                call[l[k]] = p - uni(0, g.spread);
            if (k + 1 == l.size()) {
                ret[l[k]] = p + uni(0, g.spread);
            } else {
                int64_t q = 100 * (int64_t)l[k + 1];
                int64_t s = uni(p, q - 1);
                ret[l[k]] = uni(p, s);
                call[l[k + 1]] = uni(s + 1, q);
            }
        }
    }

    std::vector<cv_lc_op> out;
    std::vector<int64_t> vals{init}; // value at each version
    std::vector<int64_t> lb(g.clients, 0);
    int64_t next_value = init + 1;
    for (int i = 0; i < g.ops; i++) {
        int c = client[i];
        int64_t ver = (int64_t)vals.size() - 1;
        int r = (int)uni(0, 99);
        cv_lc_op o{};
        o.call = call[i];
        o.ret = ret[i];
        o.client = c;
        o.version = -1;
        if (r < 30) { // WRITE
            o.kind = CV_LC_WRITE;
            o.value = chance(g.dup) ? uni(init, init + 2) : next_value++;
            if (chance(g.fail)) {
                o.outcome = CV_LC_FAIL;
            } else if (chance(g.unknown)) {
                o.outcome = CV_LC_UNKNOWN;
                if (chance(0.5))
                    vals.push_back(o.value);
            } else {
                vals.push_back(o.value);
                o.outcome = CV_LC_OK;
                if (g.versions_known)
                    o.version = (int32_t)(ver + 1);
                lb[c] = std::max(lb[c], ver + 1);
            }
        } else if (r < 50) { // CAS
            o.kind = CV_LC_CAS;
            o.value = next_value++;
            o.expect = (int32_t)(chance(0.6) ? ver : std::max<int64_t>(0, ver + uni(-2, 2)));
            bool hit = o.expect == ver;
            if (g.unknown_cas && chance(g.unknown)) {
                o.outcome = CV_LC_UNKNOWN;
                if (hit && chance(0.5))
                    vals.push_back(o.value);
            } else if (hit) {
                vals.push_back(o.value);
                o.outcome = CV_LC_OK;
                if (g.versions_known)
                    o.version = (int32_t)(ver + 1);
                lb[c] = std::max(lb[c], ver + 1);
            } else {
                o.outcome = CV_LC_FAIL;
            }
        } else { // READ
            o.kind = CV_LC_READ;
            o.sync = !(g.plain && r >= 80);
            if (chance(g.fail)) {
                o.outcome = CV_LC_FAIL;
                o.value = 12345;
            } else if (chance(g.unknown)) {
                o.outcome = CV_LC_UNKNOWN;
                o.value = 54321;
            } else {
                o.outcome = CV_LC_OK;
                int64_t v = o.sync ? ver : uni(lb[c], ver); // plain reads may lag
                o.value = vals[v];
                o.version = (int32_t)v;
                lb[c] = std::max(lb[c], v);
            }
        }
        if (o.outcome == CV_LC_UNKNOWN)
            o.ret = kUnknownRet;
        out.push_back(o);
    }
    return out;
}

size_t count_linearizable(const std::vector<cv_lc_op> &ops)
{
    Brute b(ops, 0);
    return b.lin.size();
}

// Corrupt one sync read's result or one CAS's outcome; false if none exists.
bool corrupt(std::mt19937_64 &rng, std::vector<cv_lc_op> &ops)
{
    std::vector<size_t> cand;
    for (size_t i = 0; i < ops.size(); i++) {
        const cv_lc_op &o = ops[i];
        if ((o.kind == CV_LC_READ && o.sync && o.outcome == CV_LC_OK) ||
            (o.kind == CV_LC_CAS && o.outcome != CV_LC_UNKNOWN))
            cand.push_back(i);
    }
    if (cand.empty())
        return false;
    cv_lc_op &o = ops[cand[std::uniform_int_distribution<size_t>(0, cand.size() - 1)(rng)]];
    int how = std::uniform_int_distribution<int>(0, 3)(rng);
    if (o.kind == CV_LC_READ) {
        if (how == 0)
            o.version += 1;
        else if (how == 1 && o.version > 0)
            o.version -= 1;
        else if (how == 2)
            o.value = std::uniform_int_distribution<int64_t>(0, 4)(rng);
        else
            o.value += 1;
    } else if (o.outcome == CV_LC_OK) {
        o.outcome = CV_LC_FAIL;
        o.version = -1;
    } else {
        o.outcome = CV_LC_OK;
        o.version = how < 2 ? o.expect + 1 : -1;
    }
    return true;
}

std::string dump(const std::vector<cv_lc_op> &ops)
{
    std::string s;
    char b[160];
    for (size_t i = 0; i < ops.size(); i++) {
        const cv_lc_op &o = ops[i];
        snprintf(b, sizeof(b),
                 "%zu: c%d [%lld,%lld] kind %d out %d sync %d val %lld exp %d ver %d\n", i,
                 o.client, (long long)o.call, (long long)o.ret, o.kind, o.outcome, o.sync,
                 (long long)o.value, o.expect, o.version);
        s += b;
    }
    return s;
}

// ---- hand-written histories --------------------------------------------------

TEST(Lincheck, EmptyHistoryIsLinearizable)
{
    cv_lc_result res{};
    EXPECT_EQ(cv_lc_check(nullptr, 0, 0, 0, &res), 1);
    EXPECT_EQ(res.bad, -1);
    EXPECT_EQ(cv_lc_check(nullptr, 0, 0, 0, nullptr), 1);
}

TEST(Lincheck, SequentialHistoryIsLinearizable)
{
    History h;
    h.init = 5;
    h.sread(1, 0, 1, 5, 0);
    h.write(1, 2, 3, 7, 1);
    h.sread(2, 4, 5, 7, 1);
    h.cas(2, 6, 7, 1, 8, CV_LC_OK, 2);
    h.cas(3, 8, 9, 1, 9, CV_LC_FAIL);
    h.pread(3, 10, 11, 8, 2);
    h.write(3, 12, 13, 10, 3);
    h.sread(1, 14, 15, 10, 3);
    EXPECT_EQ(h.check(), 1) << h.res.why;
    EXPECT_EQ(h.res.bad, -1);
    EXPECT_GT(h.res.explored, 0u);
}

TEST(Lincheck, ConcurrentWriteAndSyncReadMaySeeEitherState)
{
    for (int order = 0; order < 2; order++) {
        for (int sees_new = 0; sees_new < 2; sees_new++) {
            History h;
            if (order == 0) { // write called first
                h.write(1, 0, 10, 7, 1);
                h.sread(2, 5, 15, sees_new ? 7 : 0, sees_new ? 1 : 0);
            } else { // read called first
                h.sread(2, 0, 10, sees_new ? 7 : 0, sees_new ? 1 : 0);
                h.write(1, 5, 15, 7, 1);
            }
            EXPECT_EQ(h.check(), 1) << order << sees_new << " " << h.res.why;
        }
    }
}

TEST(Lincheck, ConcurrentSyncReadOfAnotherStateIsNotLinearizable)
{
    History h;
    h.write(1, 0, 10, 7, 1);
    size_t r = h.sread(2, 5, 15, 7, 2);
    EXPECT_EQ(h.check(), 0);
    EXPECT_EQ(h.res.bad, (int64_t)r) << h.res.why;
}

TEST(Lincheck, StaleSyncReadIsNotLinearizable)
{
    History h;
    h.write(1, 0, 5, 7, 1);
    size_t r = h.sread(2, 6, 10, 0, 0);
    EXPECT_EQ(h.check(), 0);
    EXPECT_EQ(h.res.bad, (int64_t)r);
    EXPECT_NE(std::string(h.res.why).find("cannot be linearized"), std::string::npos) << h.res.why;
}

TEST(Lincheck, EqualTimesCountAsOverlapping)
{
    History h;
    h.write(1, 0, 5, 7, 1);
    h.sread(2, 5, 10, 0, 0); // called when the write returned: may precede it
    EXPECT_EQ(h.check(), 1) << h.res.why;
}

TEST(Lincheck, TwoSyncReadsCannotSeeConcurrentWritesInOppositeOrders)
{
    History h;
    h.write(1, 0, 100, 1);
    h.write(2, 0, 100, 2);
    h.sread(3, 10, 20, 1, 1);
    h.sread(3, 30, 40, 2, 2);
    h.sread(4, 10, 20, 2, 1);
    EXPECT_EQ(h.check(), 0) << h.res.why;
}

TEST(Lincheck, LostAcknowledgedWriteIsDetected)
{
    History h;
    h.write(1, 0, 1, 1, 1);
    h.write(2, 2, 3, 2, 2);
    size_t r = h.sread(3, 4, 5, 1, 1); // the second write vanished
    EXPECT_EQ(h.check(), 0);
    EXPECT_EQ(h.res.bad, (int64_t)r) << h.res.why;

    History u; // the same without reported versions
    u.write(1, 0, 1, 1);
    u.write(2, 2, 3, 2);
    u.sread(3, 4, 5, 1, 2);
    EXPECT_EQ(u.check(), 0) << u.res.why;
}

TEST(Lincheck, WriteReportingTheWrongVersionIsAViolation)
{
    History h;
    h.write(1, 0, 1, 1, 1);
    size_t w = h.write(2, 2, 3, 2, 3); // skipped a version
    EXPECT_EQ(h.check(), 0);
    EXPECT_EQ(h.res.bad, (int64_t)w) << h.res.why;

    History z;
    z.write(1, 0, 1, 1, 0);
    EXPECT_EQ(z.check(), 0);
    EXPECT_EQ(z.res.bad, 0);
}

TEST(Lincheck, CasSucceedsOnlyWhereTheVersionMatches)
{
    History h; // the CAS (expect 0) must go before the concurrent write
    h.write(1, 0, 10, 1, 2);
    h.cas(2, 5, 15, 0, 5, CV_LC_OK, 1);
    h.sread(3, 20, 21, 1, 2);
    EXPECT_EQ(h.check(), 1) << h.res.why;

    History bad = h;
    bad.ops[2] = mk(CV_LC_READ, 3, 20, 21, 5, 0, 2, CV_LC_OK, 1); // CAS cannot go last
    EXPECT_EQ(bad.check(), 0) << bad.res.why;

    History late; // the write returned before the CAS was called: expect 0 is stale
    late.write(1, 0, 1, 1, 1);
    size_t c = late.cas(2, 2, 3, 0, 5, CV_LC_OK);
    EXPECT_EQ(late.check(), 0);
    EXPECT_EQ(late.res.bad, (int64_t)c) << late.res.why;

    History rep; // an OK CAS must report expect + 1
    rep.cas(1, 0, 1, 0, 5, CV_LC_OK, 3);
    EXPECT_EQ(rep.check(), 0);
    EXPECT_EQ(rep.res.bad, 0) << rep.res.why;
}

TEST(Lincheck, FailedCasMustSeeAnotherVersion)
{
    History alone; // nothing changed the version: BADVERSION is wrong
    alone.cas(1, 0, 1, 0, 5, CV_LC_FAIL);
    EXPECT_EQ(alone.check(), 0);
    EXPECT_EQ(alone.res.bad, 0) << alone.res.why;

    History conc; // a concurrent write explains it
    conc.write(2, 0, 10, 3, 1);
    conc.cas(1, 5, 6, 0, 5, CV_LC_FAIL);
    EXPECT_EQ(conc.check(), 1) << conc.res.why;

    History before; // ... but not one that started after the CAS returned
    before.cas(1, 0, 1, 0, 5, CV_LC_FAIL);
    before.write(2, 2, 3, 3, 1);
    EXPECT_EQ(before.check(), 0) << before.res.why;

    History placed; // CAS(expect 1) fails before the write, would succeed after
    placed.write(2, 0, 10, 3, 1);
    placed.cas(1, 5, 6, 1, 5, CV_LC_FAIL);
    placed.sread(3, 7, 8, 0, 0); // ... and the write has not happened yet
    EXPECT_EQ(placed.check(), 1) << placed.res.why;
    placed.ops[2] = mk(CV_LC_READ, 3, 7, 8, 3, 0, 1, CV_LC_OK, 1); // it has: the CAS
    EXPECT_EQ(placed.check(), 1) << placed.res.why;                // still fits before the write
}

TEST(Lincheck, FailedCasHasNoEffect)
{
    History h;
    h.cas(1, 0, 1, 4, 5, CV_LC_FAIL);
    size_t r = h.sread(2, 2, 3, 5, 1);
    EXPECT_EQ(h.check(), 0);
    EXPECT_EQ(h.res.bad, (int64_t)r) << h.res.why;
}

TEST(Lincheck, UnknownWriteThatTookEffectIsLinearizable)
{
    History h;
    h.write(1, 0, kUnknownRet, 7, -1, CV_LC_UNKNOWN);
    h.sread(2, 10, 11, 0, 0);
    h.sread(2, 20, 21, 0, 0);
    h.sread(2, 30, 31, 7, 1); // took effect long after the client gave up
    h.write(3, 40, 41, 8, 2);
    EXPECT_EQ(h.check(), 1) << h.res.why;
}

TEST(Lincheck, UnknownWriteThatNeverTookEffectIsLinearizable)
{
    History h;
    h.write(1, 0, kUnknownRet, 7, -1, CV_LC_UNKNOWN);
    h.cas(1, 5, kUnknownRet, 0, 9, CV_LC_UNKNOWN);
    h.write(2, 10, 11, 8, 1);
    h.sread(2, 20, 21, 8, 1);
    h.cas(3, 30, 31, 1, 10, CV_LC_OK, 2);
    EXPECT_EQ(h.check(), 1) << h.res.why;
}

TEST(Lincheck, UnknownWriteCannotTakeEffectBeforeItsCall)
{
    History h;
    size_t r = h.sread(2, 0, 1, 7, 1);
    h.write(1, 5, kUnknownRet, 7, -1, CV_LC_UNKNOWN);
    EXPECT_EQ(h.check(), 0);
    EXPECT_EQ(h.res.bad, (int64_t)r) << h.res.why;
}

TEST(Lincheck, UnknownWriteTakesEffectAtMostOnce)
{
    History h;
    h.write(1, 0, kUnknownRet, 7, -1, CV_LC_UNKNOWN);
    h.sread(2, 10, 11, 7, 1);
    h.sread(2, 20, 21, 7, 2);
    EXPECT_EQ(h.check(), 0) << h.res.why;
}

TEST(Lincheck, UnknownCasTakesEffectOnlyWhereItsVersionMatches)
{
    History h;
    h.cas(1, 0, kUnknownRet, 0, 9, CV_LC_UNKNOWN);
    h.write(2, 5, 6, 5, 1);
    h.sread(3, 10, 11, 9, 2); // the CAS expected 0, the version was 1
    EXPECT_EQ(h.check(), 0) << h.res.why;

    History ok;
    ok.cas(1, 0, kUnknownRet, 1, 9, CV_LC_UNKNOWN);
    ok.write(2, 5, 6, 5, 1);
    ok.sread(3, 10, 11, 9, 2);
    ok.sread(3, 12, 13, 9, 2);
    EXPECT_EQ(ok.check(), 1) << ok.res.why;
}

TEST(Lincheck, ManyPendingUnknownWritesDoNotBlowUpTheSearch)
{
    // 300 UNKNOWN writes (three values, or never read) that never took effect,
    // all pending until the end, around a sequence of acknowledged writes and
    // reads without reported write versions.
    History h;
    for (int i = 0; i < 300; i++)
        h.write(100 + i, i, kUnknownRet, i % 2 ? 1000 + i : i % 3, -1, CV_LC_UNKNOWN);
    for (int i = 0; i < 300; i++) {
        h.write(1, 1000 + 10 * i, 1001 + 10 * i, i % 3);
        h.sread(2, 1002 + 10 * i, 1003 + 10 * i, i % 3, i + 1);
    }
    EXPECT_EQ(h.check(), 1) << h.res.why;
    printf("explored %llu states\n", (unsigned long long)h.res.explored);
    EXPECT_LT(h.res.explored, 100000u);

    h.sread(2, 5000, 5001, 0, 302); // two of them took effect at the end: fine
    EXPECT_EQ(h.check(), 1) << h.res.why;
    h.sread(2, 5002, 5003, 0, 1000); // 700 of them: there are only 300
    EXPECT_EQ(h.check(), 0);
    EXPECT_EQ(h.res.bad, (int64_t)h.ops.size() - 1) << h.res.why;
    EXPECT_NE(std::string(h.res.why).find("could raise"), std::string::npos) << h.res.why;
}

TEST(Lincheck, FailedAndUnknownReadsAreIgnored)
{
    History h;
    h.write(1, 0, 1, 7, 1);
    h.sread(2, 2, 3, 99, 9, CV_LC_FAIL);
    h.sread(2, 4, 5, 98, 8, CV_LC_UNKNOWN);
    h.pread(2, 6, 7, 97, 7, CV_LC_UNKNOWN);
    h.write(3, 8, 9, 5, -1, CV_LC_FAIL);
    h.sread(2, 10, 11, 7, 1);
    EXPECT_EQ(h.check(), 1) << h.res.why;
}

TEST(Lincheck, PlainReadMayLagBehindOtherClients)
{
    History h;
    h.write(1, 0, 1, 7, 1);
    h.write(1, 2, 3, 8, 2);
    h.pread(2, 10, 11, 0, 0);
    h.pread(2, 12, 13, 7, 1);
    h.pread(2, 14, 15, 7, 1);
    h.pread(2, 16, 17, 8, 2);
    EXPECT_EQ(h.check(), 1) << h.res.why;
}

TEST(Lincheck, PlainReadGoingBackwardsIsAViolation)
{
    History h;
    h.write(1, 0, 1, 7, 1);
    h.pread(2, 10, 11, 7, 1);
    size_t r = h.pread(2, 12, 13, 0, 0);
    EXPECT_EQ(h.check(), 0);
    EXPECT_EQ(h.res.bad, (int64_t)r);
    EXPECT_NE(std::string(h.res.why).find("earlier read"), std::string::npos) << h.res.why;

    History s; // after a sync read too
    s.write(1, 0, 1, 7, 1);
    s.sread(2, 10, 11, 7, 1);
    size_t p = s.pread(2, 12, 13, 0, 0);
    EXPECT_EQ(s.check(), 0);
    EXPECT_EQ(s.res.bad, (int64_t)p) << s.res.why;

    History other; // another client's view is its own
    other.write(1, 0, 1, 7, 1);
    other.pread(2, 10, 11, 7, 1);
    other.pread(3, 12, 13, 0, 0);
    EXPECT_EQ(other.check(), 1) << other.res.why;
}

TEST(Lincheck, ReadYourWritesViolationIsDetected)
{
    History h;
    h.write(1, 0, 1, 7, 1);
    size_t r = h.pread(1, 2, 3, 0, 0);
    EXPECT_EQ(h.check(), 0);
    EXPECT_EQ(h.res.bad, (int64_t)r);
    EXPECT_NE(std::string(h.res.why).find("own write"), std::string::npos) << h.res.why;

    History ok; // a read called before the write returned may miss it
    ok.write(1, 0, 10, 7, 1);
    ok.pread(1, 5, 6, 0, 0);
    EXPECT_EQ(ok.check(), 1) << ok.res.why;
}

TEST(Lincheck, PlainReadOfValueNobodyWroteIsAViolation)
{
    History h;
    h.write(1, 0, 1, 7, 1);
    size_t r = h.pread(2, 2, 3, 42, 1);
    EXPECT_EQ(h.check(), 0);
    EXPECT_EQ(h.res.bad, (int64_t)r);
    EXPECT_NE(std::string(h.res.why).find("no write"), std::string::npos) << h.res.why;

    History later; // written only after the read returned
    size_t p = later.pread(2, 0, 1, 7, 1);
    later.write(1, 5, 6, 7, 1);
    EXPECT_EQ(later.check(), 0);
    EXPECT_EQ(later.res.bad, (int64_t)p) << later.res.why;

    History ver; // the writer reported another version
    ver.write(1, 0, 1, 7, 1);
    ver.pread(2, 2, 3, 7, 3);
    EXPECT_EQ(ver.check(), 0) << ver.res.why;

    History fail; // a failed write produced nothing
    fail.write(1, 0, 1, 7, -1, CV_LC_FAIL);
    fail.pread(2, 2, 3, 7, 1);
    EXPECT_EQ(fail.check(), 0) << fail.res.why;

    History unk; // an UNKNOWN write may have produced it
    unk.write(1, 0, kUnknownRet, 7, -1, CV_LC_UNKNOWN);
    unk.pread(2, 2, 3, 7, 1);
    EXPECT_EQ(unk.check(), 1) << unk.res.why;
}

TEST(Lincheck, EarliestCalledPlainReadViolationIsReported)
{
    History h;
    h.write(1, 0, 1, 7, 1);
    h.pread(3, 20, 21, 42, 1);           // nobody wrote 42
    size_t r = h.pread(1, 10, 11, 0, 0); // read-your-writes, called earlier
    EXPECT_EQ(h.check(), 0);
    EXPECT_EQ(h.res.bad, (int64_t)r) << h.res.why;
}

TEST(Lincheck, SearchLimitReturnsE2big)
{
    History h;
    for (int i = 0; i < 10; i++)
        h.write(1, 2 * i, 2 * i + 1, i + 1, i + 1);
    EXPECT_EQ(h.check(3), -E2BIG);
    EXPECT_GT(h.res.explored, 3u);
    EXPECT_EQ(h.check(), 1);
    EXPECT_EQ(h.res.explored, 10u);
}

TEST(Lincheck, MalformedOpsAreRejected)
{
    History h;
    h.write(1, 5, 4, 7, 1);
    EXPECT_EQ(h.check(), -EINVAL);
    h.ops[0] = mk(CV_LC_WRITE, 1, 5, 4, 7, 0, -1, CV_LC_UNKNOWN, 0); // ret ignored
    EXPECT_EQ(h.check(), 1);
    h.ops[0].kind = 9;
    EXPECT_EQ(h.check(), -EINVAL);
    EXPECT_EQ(cv_lc_check(nullptr, 3, 0, 0, nullptr), -EINVAL);
}

// ---- randomized --------------------------------------------------------------

TEST(Lincheck, GeneratedHistoriesAreLinearizable)
{
    for (uint64_t seed = 1; seed <= 400; seed++) {
        std::mt19937_64 rng(seed);
        GenConfig g;
        g.clients = 3 + (int)(seed % 4);
        g.ops = 20 + (int)(seed % 200);
        g.versions_known = seed % 5 != 0;
        g.unknown = seed % 3 == 0 ? 0.0 : 0.08;
        auto ops = generate(rng, g, (int64_t)(seed % 3));
        cv_lc_result res{};
        int rc = cv_lc_check(ops.data(), ops.size(), (int64_t)(seed % 3), 0, &res);
        ASSERT_EQ(rc, 1) << "seed " << seed << ": " << res.why << "\n" << dump(ops);
    }
}

TEST(Lincheck, CorruptedHistoriesAgreeWithBruteForce)
{
    int compared = 0, violations = 0;
    for (uint64_t seed = 1; seed <= 1500; seed++) {
        std::mt19937_64 rng(seed * 7919);
        GenConfig g;
        g.clients = 3 + (int)(seed % 4);
        g.ops = 4 + (int)(seed % 6);
        g.plain = false;
        g.spread = 250;
        g.versions_known = seed % 2 == 0;
        g.unknown = seed % 3 == 0 ? 0.3 : 0.15;
        g.dup = seed % 4 == 0 ? 0.6 : 0.2;
        auto ops = generate(rng, g, 0);
        if (count_linearizable(ops) > 8)
            continue;
        ASSERT_TRUE(Brute(ops, 0).linearizable()) << "generator, seed " << seed << "\n"
                                                  << dump(ops);
        if (!corrupt(rng, ops))
            continue;
        bool want = Brute(ops, 0).linearizable();
        cv_lc_result res{};
        int rc = cv_lc_check(ops.data(), ops.size(), 0, 0, &res);
        ASSERT_EQ(rc, want ? 1 : 0) << "seed " << seed << ": " << res.why << "\n" << dump(ops);
        if (!want) {
            ASSERT_GE(res.bad, 0);
            ASSERT_LT(res.bad, (int64_t)ops.size());
            violations++;
        }
        compared++;
    }
    printf("compared %d corrupted histories, %d not linearizable\n", compared, violations);
    EXPECT_GE(compared, 500);
    EXPECT_GE(violations, 150);
    EXPECT_GE(compared - violations, 50);
}

TEST(Lincheck, RandomSmallHistoriesAgreeWithBruteForce)
{
    int violations = 0, total = 3000;
    for (int seed = 1; seed <= total; seed++) {
        std::mt19937_64 rng(seed);
        auto uni = [&](int64_t lo, int64_t hi) {
            return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
        };
        std::vector<cv_lc_op> ops;
        int n = (int)uni(1, 8);
        int64_t values = uni(1, 4); // few values: duplicates, many unread ("blind") values
        for (int i = 0; i < n; i++) {
            int64_t call = uni(0, 20), ret = call + uni(0, 12);
            int kind = (int)uni(0, 2);
            int o = (int)uni(0, 9);
            uint8_t out = o < 5 ? CV_LC_OK : o < 7 ? CV_LC_FAIL : CV_LC_UNKNOWN;
            ops.push_back(mk((uint8_t)kind, (int)uni(0, 3), call, ret, uni(0, values),
                             (int32_t)uni(0, 3), (int32_t)uni(-1, 4), out, 1));
        }
        bool want = Brute(ops, 0).linearizable();
        cv_lc_result res{};
        int rc = cv_lc_check(ops.data(), ops.size(), 0, 0, &res);
        ASSERT_EQ(rc, want ? 1 : 0) << "seed " << seed << ": " << res.why << "\n" << dump(ops);
        violations += !want;
    }
    printf("%d random histories, %d not linearizable\n", total, violations);
    EXPECT_GT(violations, 100);
    EXPECT_LT(violations, total - 100);
}

// ---- performance sanity (prints, no timing assertion) -----------------------

void perf_run(const char *name, const GenConfig &g, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    auto ops = generate(rng, g, 0);
    cv_lc_result res{};
    auto t0 = std::chrono::steady_clock::now();
    int rc = cv_lc_check(ops.data(), ops.size(), 0, 0, &res);
    auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    printf("%s: %zu ops, %d clients: %.3f ms, %llu states\n", name, ops.size(), g.clients,
           us / 1000.0, (unsigned long long)res.explored);
    EXPECT_EQ(rc, 1) << res.why;
}

TEST(Lincheck, PerformanceSanity)
{
    GenConfig g;
    g.ops = 2000;
    g.clients = 8;
    g.spread = 400;
    perf_run("8 clients, versions reported, 10% unknown", g, 42);
    g.versions_known = false;
    perf_run("8 clients, write versions unreported, 10% unknown", g, 43);
    g.unknown = 0;
    perf_run("8 clients, write versions unreported, no unknown", g, 44);
    g.clients = 16;
    g.versions_known = true;
    g.unknown = 0.02;
    g.spread = 1500;
    perf_run("16 clients, versions reported, 2% unknown", g, 45);
    g.versions_known = false;
    g.unknown = 0.3;
    g.dup = 0.5;
    perf_run("16 clients, write versions unreported, 30% unknown", g, 46);
}

} // namespace
