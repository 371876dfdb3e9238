/*
 * Real-client integration test: the ZooKeeper C client (libzookeeper_mt 3.8)
 * against a running server (corvid or Apache ZooKeeper).
 *
 *   zk_client_test HOST:PORT
 *
 * Covers the sync API (zoo_create, zoo_create2, zoo_exists, zoo_wexists,
 * zoo_get, zoo_wget, zoo_set, zoo_set2, zoo_get_children2, zoo_get_acl,
 * zoo_set_acl, zoo_delete, zoo_multi incl. a failing op, zoo_add_auth) and
 * the async API (zoo_acreate, zoo_aget, zoo_aset, zoo_aget_children,
 * zoo_adelete, zoo_amulti, zoo_async, zoo_awget), with watcher callbacks.
 * Prints one line per check and "N passed, M failed"; exits non-zero on any
 * failure. Bounded: alarm(60), every wait has a timeout.
 *
 * Build: gcc -DTHREADED -o zk_client_test zk_client_test.c -lzookeeper_mt -lpthread
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

static int n_pass, n_fail;

static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    printf("%s: ", ok ? "PASS" : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (ok)
        n_pass++;
    else
        n_fail++;
}

#define CHECK_RC(rc, want, what)                                                                   \
    check((rc) == (want), "%s -> %s (want %s)", what, zerror(rc), zerror(want))

/* ------------------------------------------------------------------ waiting */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

/* wait until *counter >= want, at most `secs`; returns 1 if reached */
static int wait_count(volatile int *counter, int want, int secs)
{
    struct timespec ts;
    int ok;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += secs;
    pthread_mutex_lock(&mu);
    while (*counter < want) {
        if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT)
            break;
    }
    ok = *counter >= want;
    pthread_mutex_unlock(&mu);
    return ok;
}

/* ------------------------------------------------------------------ watchers */

static volatile int connected_events;
static volatile int session_state;

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    (void)path;
    (void)ctx;
    if (type == ZOO_SESSION_EVENT) {
        pthread_mutex_lock(&mu);
        session_state = state;
        if (state == ZOO_CONNECTED_STATE)
            connected_events++;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
}

#define MAX_EVENTS 32
struct event_log {
    volatile int n;
    int type[MAX_EVENTS];
    char path[MAX_EVENTS][256];
    char tag[MAX_EVENTS][16];
};
static struct event_log evlog;

/* watcher context is a short tag string identifying which watch fired */
static void node_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    (void)state;
    if (type == ZOO_SESSION_EVENT)
        return;
    pthread_mutex_lock(&mu);
    if (evlog.n < MAX_EVENTS) {
        evlog.type[evlog.n] = type;
        snprintf(evlog.path[evlog.n], sizeof evlog.path[0], "%s", path ? path : "");
        snprintf(evlog.tag[evlog.n], sizeof evlog.tag[0], "%s", ctx ? (const char *)ctx : "");
        evlog.n++;
    }
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static const char *evname(int t)
{
    if (t == ZOO_CREATED_EVENT)
        return "CREATED";
    if (t == ZOO_DELETED_EVENT)
        return "DELETED";
    if (t == ZOO_CHANGED_EVENT)
        return "CHANGED";
    if (t == ZOO_CHILD_EVENT)
        return "CHILD";
    return "OTHER";
}

static int event_is(int i, int type, const char *path, const char *tag)
{
    return i < evlog.n && evlog.type[i] == type && strcmp(evlog.path[i], path) == 0 &&
           strcmp(evlog.tag[i], tag) == 0;
}

/* ----------------------------------------------------------- async results */

struct async_res {
    volatile int done;
    int rc;
    int order; /* completion order across all async calls */
    char str[512];
    char data[512];
    int datalen;
    struct Stat stat;
    int nchildren;
    char children[8][64];
};
static volatile int completion_seq;

static void finish(struct async_res *r, int rc)
{
    pthread_mutex_lock(&mu);
    r->rc = rc;
    r->order = ++completion_seq;
    r->done = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void string_cb(int rc, const char *value, const void *data)
{
    struct async_res *r = (struct async_res *)data;
    if (rc == ZOK && value)
        snprintf(r->str, sizeof r->str, "%s", value);
    finish(r, rc);
}

static void data_cb(int rc, const char *value, int len, const struct Stat *stat, const void *data)
{
    struct async_res *r = (struct async_res *)data;
    if (rc == ZOK) {
        r->datalen = len;
        if (value && len > 0)
            memcpy(r->data, value, len < (int)sizeof r->data ? len : (int)sizeof r->data);
        if (stat)
            r->stat = *stat;
    }
    finish(r, rc);
}

static void stat_cb(int rc, const struct Stat *stat, const void *data)
{
    struct async_res *r = (struct async_res *)data;
    if (rc == ZOK && stat)
        r->stat = *stat;
    finish(r, rc);
}

static void strings_cb(int rc, const struct String_vector *sv, const void *data)
{
    struct async_res *r = (struct async_res *)data;
    if (rc == ZOK && sv) {
        int i;
        r->nchildren = sv->count;
        for (i = 0; i < sv->count && i < 8; i++)
            snprintf(r->children[i], sizeof r->children[i], "%s", sv->data[i]);
    }
    finish(r, rc);
}

static void void_cb(int rc, const void *data)
{
    finish((struct async_res *)data, rc);
}

static int wait_done(struct async_res *r)
{
    return wait_count(&r->done, 1, 10);
}

static int has_child(struct String_vector *sv, const char *name)
{
    int i;
    for (i = 0; i < sv->count; i++)
        if (strcmp(sv->data[i], name) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ helpers */

static zhandle_t *connect_to(const char *hosts)
{
    int before = connected_events;
    zhandle_t *zh = zookeeper_init(hosts, session_watcher, 6000, 0, NULL, 0);
    if (!zh)
        return NULL;
    if (!wait_count(&connected_events, before + 1, 15)) {
        zookeeper_close(zh);
        return NULL;
    }
    return zh;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "FAIL: global timeout (alarm 60 s) hit\n";
    write(1, msg, sizeof msg - 1);
    _exit(3);
}

/* ------------------------------------------------------------------ tests */

static char base[128];

static void test_sync(zhandle_t *zh)
{
    char path[512], buf[512], pbuf[512];
    int len, rc;
    struct Stat st, st2;
    struct String_vector sv;
    const clientid_t *cid = zoo_client_id(zh);

    rc = zoo_create(zh, base, "base", 4, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, pbuf, sizeof pbuf);
    CHECK_RC(rc, ZOK, "zoo_create base");
    check(strcmp(pbuf, base) == 0, "zoo_create returns path %s", pbuf);

    rc = zoo_create(zh, base, "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    CHECK_RC(rc, ZNODEEXISTS, "zoo_create existing");

    snprintf(path, sizeof path, "%s/missing/child", base);
    rc = zoo_create(zh, path, "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    CHECK_RC(rc, ZNONODE, "zoo_create under missing parent");

    snprintf(path, sizeof path, "%s/n", base);
    memset(&st, 0, sizeof st);
    rc = zoo_create2(zh, path, "hello", 5, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, pbuf, sizeof pbuf,
                     &st);
    CHECK_RC(rc, ZOK, "zoo_create2");
    check(st.czxid > 0 && st.czxid == st.mzxid && st.czxid == st.pzxid && st.version == 0 &&
              st.dataLength == 5 && st.numChildren == 0 && st.ephemeralOwner == 0,
          "zoo_create2 stat czxid=%lld mzxid=%lld version=%d dataLength=%d", (long long)st.czxid,
          (long long)st.mzxid, st.version, st.dataLength);

    rc = zoo_exists(zh, path, 0, &st2);
    CHECK_RC(rc, ZOK, "zoo_exists existing");
    check(st2.czxid == st.czxid && st2.ctime == st.ctime, "zoo_exists stat matches create2 stat");
    snprintf(buf, sizeof buf, "%s/nope", base);
    rc = zoo_exists(zh, buf, 0, &st2);
    CHECK_RC(rc, ZNONODE, "zoo_exists missing");

    len = sizeof buf;
    rc = zoo_get(zh, path, 0, buf, &len, &st2);
    CHECK_RC(rc, ZOK, "zoo_get");
    check(len == 5 && memcmp(buf, "hello", 5) == 0 && st2.version == 0, "zoo_get data 'hello'");

    rc = zoo_set(zh, path, "world", 5, 0);
    CHECK_RC(rc, ZOK, "zoo_set version 0");
    rc = zoo_set(zh, path, "bad", 3, 0);
    CHECK_RC(rc, ZBADVERSION, "zoo_set stale version");
    rc = zoo_set2(zh, path, "again!", 6, 1, &st2);
    CHECK_RC(rc, ZOK, "zoo_set2 version 1");
    check(st2.version == 2 && st2.dataLength == 6 && st2.mzxid > st.mzxid,
          "zoo_set2 stat version=%d dataLength=%d", st2.version, st2.dataLength);
    len = sizeof buf;
    zoo_get(zh, path, 0, buf, &len, NULL);
    check(len == 6 && memcmp(buf, "again!", 6) == 0, "zoo_get after set");

    /* sequential + ephemeral */
    snprintf(buf, sizeof buf, "%s/seq-", base);
    rc = zoo_create(zh, buf, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, pbuf,
                    sizeof pbuf);
    CHECK_RC(rc, ZOK, "zoo_create sequential");
    snprintf(buf, sizeof buf, "%s/seq-0000000001", base);
    check(strcmp(pbuf, buf) == 0, "sequential name %s (parent had 1 child created)", pbuf);
    snprintf(buf, sizeof buf, "%s/eph", base);
    rc = zoo_create2(zh, buf, "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0, &st2);
    CHECK_RC(rc, ZOK, "zoo_create2 ephemeral");
    check(st2.ephemeralOwner == cid->client_id, "ephemeralOwner == session id 0x%llx",
          (long long)cid->client_id);
    snprintf(pbuf, sizeof pbuf, "%s/eph/kid", base);
    rc = zoo_create(zh, pbuf, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    CHECK_RC(rc, ZNOCHILDRENFOREPHEMERALS, "child of ephemeral");

    rc = zoo_get_children2(zh, base, 0, &sv, &st2);
    CHECK_RC(rc, ZOK, "zoo_get_children2");
    check(sv.count == 3 && has_child(&sv, "n") && has_child(&sv, "seq-0000000001") &&
              has_child(&sv, "eph") && st2.numChildren == 3 && st2.cversion == 3,
          "children n, seq-0000000001, eph; numChildren=%d cversion=%d", st2.numChildren,
          st2.cversion);
    deallocate_String_vector(&sv);

    /* ACLs */
    {
        struct ACL_vector acl;
        struct Stat ast;
        rc = zoo_get_acl(zh, path, &acl, &ast);
        CHECK_RC(rc, ZOK, "zoo_get_acl");
        check(acl.count == 1 && acl.data[0].perms == ZOO_PERM_ALL &&
                  strcmp(acl.data[0].id.scheme, "world") == 0 &&
                  strcmp(acl.data[0].id.id, "anyone") == 0 && ast.aversion == 0,
              "acl is world:anyone:cdrwa, aversion 0");
        deallocate_ACL_vector(&acl);
        {
            struct ACL ra[1] = {{ZOO_PERM_READ | ZOO_PERM_ADMIN, {"world", "anyone"}}};
            struct ACL_vector rv = {1, ra};
            rc = zoo_set_acl(zh, path, 5, &rv);
            CHECK_RC(rc, ZBADVERSION, "zoo_set_acl stale aversion");
            rc = zoo_set_acl(zh, path, 0, &rv);
            CHECK_RC(rc, ZOK, "zoo_set_acl read+admin");
        }
        rc = zoo_set(zh, path, "x", 1, -1);
        CHECK_RC(rc, ZNOAUTH, "zoo_set on read-only node");
        rc = zoo_get_acl(zh, path, &acl, &ast);
        check(rc == ZOK && acl.count == 1 &&
                  acl.data[0].perms == (ZOO_PERM_READ | ZOO_PERM_ADMIN) && ast.aversion == 1,
              "acl now r+a, aversion %d", ast.aversion);
        if (rc == ZOK)
            deallocate_ACL_vector(&acl);
        rc = zoo_set_acl(zh, path, -1, &ZOO_OPEN_ACL_UNSAFE);
        CHECK_RC(rc, ZOK, "zoo_set_acl back to open");
    }

    /* delete */
    rc = zoo_delete(zh, base, -1);
    CHECK_RC(rc, ZNOTEMPTY, "zoo_delete non-empty");
    rc = zoo_delete(zh, path, 0);
    CHECK_RC(rc, ZBADVERSION, "zoo_delete stale version");
    rc = zoo_delete(zh, path, 2);
    CHECK_RC(rc, ZOK, "zoo_delete version 2");
    rc = zoo_delete(zh, path, -1);
    CHECK_RC(rc, ZNONODE, "zoo_delete missing");
}

static void test_multi(zhandle_t *zh)
{
    char p1[256], p2[256], out1[256], out2[256];
    zoo_op_t ops[4];
    zoo_op_result_t res[4];
    struct Stat st;
    int rc;

    snprintf(p1, sizeof p1, "%s/m1", base);
    snprintf(p2, sizeof p2, "%s/m2", base);
    zoo_create_op_init(&ops[0], p1, "a", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, out1,
                       sizeof out1);
    zoo_set_op_init(&ops[1], p1, "bb", 2, 0, &st);
    zoo_check_op_init(&ops[2], p1, 1);
    zoo_create_op_init(&ops[3], p2, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, out2,
                       sizeof out2);
    memset(res, 0, sizeof res);
    rc = zoo_multi(zh, 4, ops, res);
    CHECK_RC(rc, ZOK, "zoo_multi create/set/check/create");
    check(res[0].err == ZOK && res[1].err == ZOK && res[2].err == ZOK && res[3].err == ZOK,
          "zoo_multi per-op results all ZOK");
    check(strcmp(out1, p1) == 0 && strcmp(out2, p2) == 0, "zoo_multi created paths");
    check(st.version == 1 && st.dataLength == 2, "zoo_multi set stat version=%d", st.version);

    /* failing multi: nothing applied */
    zoo_delete_op_init(&ops[0], p2, -1);
    zoo_check_op_init(&ops[1], p1, 7);
    zoo_set_op_init(&ops[2], p1, "zzz", 3, -1, NULL);
    memset(res, 0, sizeof res);
    rc = zoo_multi(zh, 3, ops, res);
    CHECK_RC(rc, ZBADVERSION, "zoo_multi with failing check");
    check(res[0].err == ZOK && res[1].err == ZBADVERSION && res[2].err == ZRUNTIMEINCONSISTENCY,
          "failed multi results: %s, %s, %s", zerror(res[0].err), zerror(res[1].err),
          zerror(res[2].err));
    check(zoo_exists(zh, p2, 0, NULL) == ZOK, "failed multi: delete rolled back");
    {
        char buf[16];
        int len = sizeof buf;
        zoo_get(zh, p1, 0, buf, &len, NULL);
        check(len == 2 && memcmp(buf, "bb", 2) == 0, "failed multi: set rolled back");
    }
}

static void test_auth(zhandle_t *zh, const char *hosts)
{
    struct async_res ar;
    char path[256], buf[64];
    int rc, len;
    zhandle_t *other;

    memset(&ar, 0, sizeof ar);
    rc = zoo_add_auth(zh, "digest", "cuser:cpass", 11, void_cb, &ar);
    CHECK_RC(rc, ZOK, "zoo_add_auth submitted");
    wait_done(&ar);
    check(ar.done && ar.rc == ZOK, "zoo_add_auth completed rc=%s", zerror(ar.rc));

    snprintf(path, sizeof path, "%s/secret", base);
    rc = zoo_create(zh, path, "s3", 2, &ZOO_CREATOR_ALL_ACL, ZOO_PERSISTENT, NULL, 0);
    CHECK_RC(rc, ZOK, "zoo_create with CREATOR_ALL_ACL");
    {
        struct ACL_vector acl;
        rc = zoo_get_acl(zh, path, &acl, NULL);
        check(rc == ZOK && acl.count == 1 && strcmp(acl.data[0].id.scheme, "digest") == 0 &&
                  strncmp(acl.data[0].id.id, "cuser:", 6) == 0,
              "auth ACL became digest:%s", rc == ZOK && acl.count ? acl.data[0].id.id : "?");
        if (rc == ZOK)
            deallocate_ACL_vector(&acl);
    }
    len = sizeof buf;
    rc = zoo_get(zh, path, 0, buf, &len, NULL);
    CHECK_RC(rc, ZOK, "owner reads digest-protected node");

    other = connect_to(hosts);
    check(other != NULL, "second session connected");
    if (!other)
        return;
    len = sizeof buf;
    rc = zoo_get(other, path, 0, buf, &len, NULL);
    CHECK_RC(rc, ZNOAUTH, "unauthenticated session is refused");
    memset(&ar, 0, sizeof ar);
    zoo_add_auth(other, "digest", "cuser:wrong", 11, void_cb, &ar);
    wait_done(&ar);
    len = sizeof buf;
    rc = zoo_get(other, path, 0, buf, &len, NULL);
    CHECK_RC(rc, ZNOAUTH, "wrong digest password is refused");
    memset(&ar, 0, sizeof ar);
    zoo_add_auth(other, "digest", "cuser:cpass", 11, void_cb, &ar);
    wait_done(&ar);
    check(ar.done && ar.rc == ZOK, "second add_auth completed");
    len = sizeof buf;
    rc = zoo_get(other, path, 0, buf, &len, NULL);
    check(rc == ZOK && len == 2 && memcmp(buf, "s3", 2) == 0, "authenticated session reads it");
    zookeeper_close(other);
}

static void test_watches_sync(zhandle_t *zh, zhandle_t *writer)
{
    char path[256], buf[64];
    int len, rc, n0;
    struct Stat st;

    snprintf(path, sizeof path, "%s/w", base);
    n0 = evlog.n;
    rc = zoo_wexists(zh, path, node_watcher, "exists", &st);
    CHECK_RC(rc, ZNONODE, "zoo_wexists on missing node sets a watch");
    zoo_create(writer, path, "0", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    check(wait_count(&evlog.n, n0 + 1, 10) && event_is(n0, ZOO_CREATED_EVENT, path, "exists"),
          "exists watch fired CREATED");

    len = sizeof buf;
    rc = zoo_wget(zh, path, node_watcher, "get", buf, &len, &st);
    CHECK_RC(rc, ZOK, "zoo_wget");
    zoo_set(writer, path, "1", 1, -1);
    zoo_set(writer, path, "2", 1, -1);
    check(wait_count(&evlog.n, n0 + 2, 10) && event_is(n0 + 1, ZOO_CHANGED_EVENT, path, "get"),
          "data watch fired CHANGED");
    /* a second set must not fire again: use a sync round-trip as a barrier */
    zoo_exists(zh, path, 0, NULL);
    usleep(300000);
    check(evlog.n == n0 + 2, "data watch fired exactly once (%d events)", evlog.n - n0);
}

static void test_async(zhandle_t *zh, zhandle_t *writer)
{
    struct async_res c1, c2, g, s, ch, d, sy, wg, m;
    char p1[256], p2[256], out[300];
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    int rc, n0;

    memset(&c1, 0, sizeof c1);
    memset(&c2, 0, sizeof c2);
    memset(&g, 0, sizeof g);
    memset(&s, 0, sizeof s);
    memset(&ch, 0, sizeof ch);
    memset(&d, 0, sizeof d);
    memset(&sy, 0, sizeof sy);
    memset(&wg, 0, sizeof wg);
    memset(&m, 0, sizeof m);

    snprintf(p1, sizeof p1, "%s/async", base);
    snprintf(p2, sizeof p2, "%s/async/q-", base);
    completion_seq = 0;
    /* pipeline several requests: completions must come back in order */
    rc = zoo_acreate(zh, p1, "v1", 2, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, string_cb, &c1);
    CHECK_RC(rc, ZOK, "zoo_acreate submitted");
    rc =
        zoo_acreate(zh, p2, "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, string_cb, &c2);
    CHECK_RC(rc, ZOK, "zoo_acreate sequential submitted");
    rc = zoo_aset(zh, p1, "v2", 2, 0, stat_cb, &s);
    CHECK_RC(rc, ZOK, "zoo_aset submitted");
    rc = zoo_aget(zh, p1, 0, data_cb, &g);
    CHECK_RC(rc, ZOK, "zoo_aget submitted");
    rc = zoo_aget_children(zh, p1, 0, strings_cb, &ch);
    CHECK_RC(rc, ZOK, "zoo_aget_children submitted");
    rc = zoo_async(zh, p1, string_cb, &sy);
    CHECK_RC(rc, ZOK, "zoo_async (sync) submitted");
    check(wait_done(&c1) && wait_done(&c2) && wait_done(&s) && wait_done(&g) && wait_done(&ch) &&
              wait_done(&sy),
          "all async completions arrived");
    check(c1.rc == ZOK && strcmp(c1.str, p1) == 0, "zoo_acreate -> %s %s", zerror(c1.rc), c1.str);
    snprintf(out, sizeof out, "%s0000000000", p2);
    check(c2.rc == ZOK && strcmp(c2.str, out) == 0, "zoo_acreate sequential -> %s", c2.str);
    check(s.rc == ZOK && s.stat.version == 1, "zoo_aset -> %s version %d", zerror(s.rc),
          s.stat.version);
    check(g.rc == ZOK && g.datalen == 2 && memcmp(g.data, "v2", 2) == 0 && g.stat.version == 1,
          "zoo_aget sees the earlier aset (v2, version %d)", g.stat.version);
    check(ch.rc == ZOK && ch.nchildren == 1 && strcmp(ch.children[0], "q-0000000000") == 0,
          "zoo_aget_children -> %d child(ren)", ch.nchildren);
    check(sy.rc == ZOK && strcmp(sy.str, p1) == 0, "zoo_async (sync) -> %s %s", zerror(sy.rc),
          sy.str);
    check(c1.order == 1 && c2.order == 2 && s.order == 3 && g.order == 4 && ch.order == 5 &&
              sy.order == 6,
          "async completions in submission order (%d %d %d %d %d %d)", c1.order, c2.order, s.order,
          g.order, ch.order, sy.order);

    /* async get with a watcher; another session changes the node */
    n0 = evlog.n;
    rc = zoo_awget(zh, p1, node_watcher, "awget", data_cb, &wg);
    check(rc == ZOK && wait_done(&wg) && wg.rc == ZOK, "zoo_awget completed");
    zoo_set(writer, p1, "v3", 2, -1);
    wait_count(&evlog.n, n0 + 1, 10);
    check(evlog.n > n0 && event_is(n0, ZOO_CHANGED_EVENT, p1, "awget"),
          "zoo_awget watcher fired %s", evlog.n > n0 ? evname(evlog.type[n0]) : "nothing");

    /* child watch via the async API */
    memset(&ch, 0, sizeof ch);
    n0 = evlog.n;
    rc = zoo_awget_children(zh, p1, node_watcher, "kids", strings_cb, &ch);
    check(rc == ZOK && wait_done(&ch) && ch.rc == ZOK, "zoo_awget_children completed");
    zoo_create(writer, p2, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, NULL, 0);
    check(wait_count(&evlog.n, n0 + 1, 10) && event_is(n0, ZOO_CHILD_EVENT, p1, "kids"),
          "child watcher fired CHILD");

    /* amulti: delete both children, then adelete the parent */
    snprintf(out, sizeof out, "%s0000000000", p2);
    zoo_delete_op_init(&ops[0], out, -1);
    snprintf(p2, sizeof p2, "%s/async/q-0000000001", base);
    zoo_delete_op_init(&ops[1], p2, -1);
    memset(res, 0, sizeof res);
    rc = zoo_amulti(zh, 2, ops, res, void_cb, &m);
    wait_done(&m);
    check(rc == ZOK && m.done && m.rc == ZOK && res[0].err == ZOK && res[1].err == ZOK,
          "zoo_amulti -> %s (%s, %s)", zerror(m.rc), zerror(res[0].err), zerror(res[1].err));
    memset(&m, 0, sizeof m);
    zoo_check_op_init(&ops[0], p1, 99);
    memset(res, 0, sizeof res);
    rc = zoo_amulti(zh, 1, ops, res, void_cb, &m);
    wait_done(&m);
    check(rc == ZOK && m.done && m.rc == ZBADVERSION && res[0].err == ZBADVERSION,
          "zoo_amulti failing check -> %s", zerror(m.rc));
    rc = zoo_adelete(zh, p1, -1, void_cb, &d);
    wait_done(&d);
    check(rc == ZOK && d.done && d.rc == ZOK, "zoo_adelete -> %s", zerror(d.rc));
    memset(&d, 0, sizeof d);
    rc = zoo_adelete(zh, p1, -1, void_cb, &d);
    wait_done(&d);
    check(rc == ZOK && d.done && d.rc == ZNONODE, "zoo_adelete missing -> %s", zerror(d.rc));
}

static void cleanup(zhandle_t *zh, const char *path)
{
    struct String_vector sv;
    char child[512];
    int i;
    if (zoo_get_children(zh, path, 0, &sv) == ZOK) {
        for (i = 0; i < sv.count; i++) {
            snprintf(child, sizeof child, "%s/%s", path, sv.data[i]);
            cleanup(zh, child);
        }
        deallocate_String_vector(&sv);
    }
    zoo_delete(zh, path, -1);
}

int main(int argc, char **argv)
{
    zhandle_t *zh, *writer;
    const char *hosts;

    if (argc < 2) {
        fprintf(stderr, "usage: %s host:port\n", argv[0]);
        return 2;
    }
    hosts = argv[1];
    signal(SIGALRM, on_alarm);
    alarm(60);
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    snprintf(base, sizeof base, "/c_client_%d_%ld", (int)getpid(), (long)time(NULL));

    zh = connect_to(hosts);
    check(zh != NULL, "zookeeper_init connected to %s", hosts);
    if (!zh)
        goto out;
    check(zoo_state(zh) == ZOO_CONNECTED_STATE, "zoo_state is CONNECTED");
    check(zoo_recv_timeout(zh) == 6000, "negotiated session timeout %d ms", zoo_recv_timeout(zh));
    writer = connect_to(hosts);
    check(writer != NULL, "writer session connected");
    if (!writer)
        goto out;
    check(zoo_client_id(writer)->client_id != zoo_client_id(zh)->client_id, "distinct session ids");

    test_sync(zh);
    test_multi(zh);
    test_watches_sync(zh, writer);
    test_async(zh, writer);
    test_auth(zh, hosts);

    cleanup(zh, base);
    check(zoo_exists(writer, base, 0, NULL) == ZNONODE, "cleanup removed %s", base);
    zookeeper_close(writer);
    zookeeper_close(zh);
out:
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail == 0 && n_pass > 0 ? 0 : 1;
}
