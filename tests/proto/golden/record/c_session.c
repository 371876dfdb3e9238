/*
 * C client (libzookeeper_mt, ZooKeeper 3.8) session used to record golden
 * ZooKeeper frames.  Exercises the synchronous and asynchronous API.
 *
 * Build: gcc -O0 -g -o c_session c_session.c -lzookeeper_mt -lpthread
 * Usage: ./c_session HOST:PORT [PROXY_PID]
 *        PROXY_PID: pid of record/proxy.py; SIGUSR1 to it forces a reconnect.
 * Everything lives under /c.  Every wait is bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int connected_count; /* CONNECTED session events seen (main handle) */
static int other_connected; /* CONNECTED session events seen (other handle) */
static int node_events;     /* non-session watch events seen */
static int completions;     /* async completions seen */
static struct timespec t0;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
}

static void logf_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("[c %5.1fs] ", now_s());
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
}
#define LOG(...) logf_(__VA_ARGS__)
/* evaluates the call exactly once */
static int rc_log(const char *what, int rc)
{
    LOG("%-34s -> %d (%s)", what, rc, zerror(rc));
    return rc;
}
#define RC(what, call) rc_log(what, (call))

static const char *evname(int type)
{
    if (type == ZOO_CREATED_EVENT)
        return "CREATED";
    if (type == ZOO_DELETED_EVENT)
        return "DELETED";
    if (type == ZOO_CHANGED_EVENT)
        return "CHANGED";
    if (type == ZOO_CHILD_EVENT)
        return "CHILD";
    if (type == ZOO_SESSION_EVENT)
        return "SESSION";
    if (type == ZOO_NOTWATCHING_EVENT)
        return "NOTWATCHING";
    return "?";
}

/* wait until *counter >= target, at most secs seconds */
static int wait_for(int *counter, int target, double secs)
{
    struct timespec dl;
    int ok;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += (time_t)secs;
    dl.tv_nsec += (long)((secs - (time_t)secs) * 1e9);
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&mu);
    while (*counter < target) {
        if (pthread_cond_timedwait(&cv, &mu, &dl) == ETIMEDOUT)
            break;
    }
    ok = *counter >= target;
    pthread_mutex_unlock(&mu);
    if (!ok)
        LOG("WARNING: timed out waiting (%d < %d)", *counter, target);
    return ok;
}

static int get_count(int *counter)
{
    int v;
    pthread_mutex_lock(&mu);
    v = *counter;
    pthread_mutex_unlock(&mu);
    return v;
}

static void bump(int *counter)
{
    pthread_mutex_lock(&mu);
    (*counter)++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void main_watcher(zhandle_t *h, int type, int state, const char *path, void *ctx)
{
    (void)h;
    LOG("global watcher[%s]: type=%s state=%d path=%s", (const char *)ctx, evname(type), state,
        path ? path : "");
    if (type == ZOO_SESSION_EVENT) {
        if (state == ZOO_CONNECTED_STATE || state == ZOO_READONLY_STATE)
            bump(strcmp((const char *)ctx, "main") == 0 ? &connected_count : &other_connected);
    } else {
        bump(&node_events);
    }
}

static void my_watcher(zhandle_t *h, int type, int state, const char *path, void *ctx)
{
    (void)h;
    LOG("specific watcher(%s): type=%s state=%d path=%s", (const char *)ctx, evname(type), state,
        path ? path : "");
    if (type != ZOO_SESSION_EVENT)
        bump(&node_events);
}

/* ---- async completions */
static void void_cb(int rc, const void *data)
{
    LOG("async %-28s -> %d (%s)", (const char *)data, rc, zerror(rc));
    bump(&completions);
}
static void string_cb(int rc, const char *value, const void *data)
{
    LOG("async %-28s -> %d (%s) %s", (const char *)data, rc, zerror(rc), value ? value : "");
    bump(&completions);
}
static void string_stat_cb(int rc, const char *value, const struct Stat *st, const void *data)
{
    LOG("async %-28s -> %d (%s) %s czxid=%lld", (const char *)data, rc, zerror(rc),
        value ? value : "", st ? (long long)st->czxid : -1LL);
    bump(&completions);
}
static void stat_cb(int rc, const struct Stat *st, const void *data)
{
    LOG("async %-28s -> %d (%s) version=%d", (const char *)data, rc, zerror(rc),
        st ? st->version : -1);
    bump(&completions);
}
static void data_cb(int rc, const char *value, int len, const struct Stat *st, const void *data)
{
    (void)value;
    (void)st;
    LOG("async %-28s -> %d (%s) len=%d", (const char *)data, rc, zerror(rc), len);
    bump(&completions);
}
static void strings_cb(int rc, const struct String_vector *s, const void *data)
{
    LOG("async %-28s -> %d (%s) n=%d", (const char *)data, rc, zerror(rc), s ? s->count : -1);
    bump(&completions);
}
static void strings_stat_cb(int rc, const struct String_vector *s, const struct Stat *st,
                            const void *data)
{
    (void)st;
    LOG("async %-28s -> %d (%s) n=%d", (const char *)data, rc, zerror(rc), s ? s->count : -1);
    bump(&completions);
}
static void acl_cb(int rc, struct ACL_vector *acl, struct Stat *st, const void *data)
{
    (void)st;
    LOG("async %-28s -> %d (%s) n=%d", (const char *)data, rc, zerror(rc), acl ? acl->count : -1);
    bump(&completions);
}

/* zookeeper.h (3.8.0) declares the completion of zoo_aremove_watches and
 * zoo_aremove_all_watches as "void_completion_t *", but the library calls the
 * pointer itself as the function: pass the function, cast to that type. */
#define CB_PTR ((void_completion_t *)void_cb)

/* issue an async call and wait (bounded) for its completion callback */
#define ASYNC(what, call)                                                                          \
    do {                                                                                           \
        int c0_ = get_count(&completions);                                                         \
        int r_ = (call);                                                                           \
        if (r_ != ZOK)                                                                             \
            rc_log(what " (issue)", r_);                                                           \
        else                                                                                       \
            wait_for(&completions, c0_ + 1, 5.0);                                                  \
    } while (0)

int main(int argc, char **argv)
{
    char buf[512], pbuf[256];
    int len, rc, n;
    struct Stat st;
    struct String_vector sv;
    struct ACL_vector acl;
    pid_t proxy = argc > 2 ? (pid_t)atoi(argv[2]) : 0;
    zhandle_t *zh, *z2;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (argc < 2) {
        fprintf(stderr, "usage: %s host:port [proxy_pid]\n", argv[0]);
        return 2;
    }
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
    zoo_deterministic_conn_order(1);

    /* flags 0: readOnly=false in ConnectRequest */
    zh = zookeeper_init(argv[1], main_watcher, 4000, NULL, "main", 0);
    if (!zh) {
        perror("zookeeper_init");
        return 1;
    }
    if (!wait_for(&connected_count, 1, 10))
        return 1;
    LOG("connected, session 0x%llx timeout %d", (long long)zoo_client_id(zh)->client_id,
        zoo_recv_timeout(zh));

    /* ---------------- create variants (sync) */
    RC("zoo_create persistent",
       zoo_create(zh, "/c", "root", 4, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, pbuf, sizeof pbuf));
    RC("zoo_create ephemeral",
       zoo_create(zh, "/c/eph", "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, pbuf, sizeof pbuf));
    RC("zoo_create persistent_sequential",
       zoo_create(zh, "/c/seq-", "s", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, pbuf,
                  sizeof pbuf));
    LOG("  created %s", pbuf);
    RC("zoo_create ephemeral_sequential", zoo_create(zh, "/c/eseq-", "es", 2, &ZOO_OPEN_ACL_UNSAFE,
                                                     ZOO_EPHEMERAL_SEQUENTIAL, pbuf, sizeof pbuf));
    LOG("  created %s", pbuf);
    RC("zoo_create null data", zoo_create(zh, "/c/nulldata", NULL, -1, &ZOO_OPEN_ACL_UNSAFE,
                                          ZOO_PERSISTENT, pbuf, sizeof pbuf));
    RC("zoo_create container",
       zoo_create(zh, "/c/cont", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_CONTAINER, pbuf, sizeof pbuf));
    RC("zoo_create container child", zoo_create(zh, "/c/cont/child", "x", 1, &ZOO_OPEN_ACL_UNSAFE,
                                                ZOO_PERSISTENT, pbuf, sizeof pbuf));
    RC("zoo_create_ttl persistent_with_ttl",
       zoo_create_ttl(zh, "/c/ttl", "t", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_WITH_TTL, 60000,
                      pbuf, sizeof pbuf));
    RC("zoo_create_ttl ttl=0 (bad)", zoo_create_ttl(zh, "/c/ttl0", "t", 1, &ZOO_OPEN_ACL_UNSAFE,
                                                    ZOO_PERSISTENT_WITH_TTL, 0, pbuf, sizeof pbuf));
    memset(&st, 0, sizeof st);
    RC("zoo_create2 persistent", zoo_create2(zh, "/c/c2", "create2", 7, &ZOO_OPEN_ACL_UNSAFE,
                                             ZOO_PERSISTENT, pbuf, sizeof pbuf, &st));
    LOG("  create2 stat czxid=%lld", (long long)st.czxid);
    RC("zoo_create2 container", zoo_create2(zh, "/c/cont2", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                                            ZOO_CONTAINER, pbuf, sizeof pbuf, &st));
    RC("zoo_create2_ttl persistent_seq_ttl",
       zoo_create2_ttl(zh, "/c/ttlseq-", "ts", 2, &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_PERSISTENT_SEQUENTIAL_WITH_TTL, 30000, pbuf, sizeof pbuf, &st));
    LOG("  created %s", pbuf);
    /* create errors */
    RC("zoo_create existing",
       zoo_create(zh, "/c/c2", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, pbuf, sizeof pbuf));
    RC("zoo_create no parent", zoo_create(zh, "/c/missing/x", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                                          ZOO_PERSISTENT, pbuf, sizeof pbuf));
    RC("zoo_create under ephemeral",
       zoo_create(zh, "/c/eph/x", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, pbuf, sizeof pbuf));
    RC("zoo_create creator acl no auth", zoo_create(zh, "/c/noauthacl", "", 0, &ZOO_CREATOR_ALL_ACL,
                                                    ZOO_PERSISTENT, pbuf, sizeof pbuf));
    RC("zoo_create2 existing", zoo_create2(zh, "/c/c2", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                                           pbuf, sizeof pbuf, &st));

    /* create variants (async) */
    ASYNC("zoo_acreate", zoo_acreate(zh, "/c/a1", "a1", 2, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                                     string_cb, "zoo_acreate"));
    ASYNC("zoo_acreate existing", zoo_acreate(zh, "/c/a1", "a1", 2, &ZOO_OPEN_ACL_UNSAFE,
                                              ZOO_PERSISTENT, string_cb, "zoo_acreate existing"));
    ASYNC("zoo_acreate2", zoo_acreate2(zh, "/c/a2", "a2", 2, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL,
                                       string_stat_cb, "zoo_acreate2 ephemeral"));
    ASYNC("zoo_acreate_ttl",
          zoo_acreate_ttl(zh, "/c/a3", "a3", 2, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_WITH_TTL,
                          45000, string_cb, "zoo_acreate_ttl"));
    ASYNC("zoo_acreate2_ttl", zoo_acreate2_ttl(zh, "/c/a4-", "a4", 2, &ZOO_OPEN_ACL_UNSAFE,
                                               ZOO_PERSISTENT_SEQUENTIAL_WITH_TTL, 45000,
                                               string_stat_cb, "zoo_acreate2_ttl"));

    /* ---------------- exists */
    RC("zoo_exists present watch=1", zoo_exists(zh, "/c/c2", 1, &st));
    RC("zoo_exists absent watch=1", zoo_exists(zh, "/c/later", 1, &st));
    RC("zoo_wexists absent", zoo_wexists(zh, "/c/later2", my_watcher, "wexists", &st));
    ASYNC("zoo_aexists", zoo_aexists(zh, "/c/c2", 0, stat_cb, "zoo_aexists"));
    ASYNC("zoo_awexists",
          zoo_awexists(zh, "/c/nothere", my_watcher, "awexists", stat_cb, "zoo_awexists absent"));
    n = get_count(&node_events);
    RC("zoo_create /c/later",
       zoo_create(zh, "/c/later", "L", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, pbuf, sizeof pbuf));
    RC("zoo_create /c/later2", zoo_create(zh, "/c/later2", "L", 1, &ZOO_OPEN_ACL_UNSAFE,
                                          ZOO_PERSISTENT, pbuf, sizeof pbuf));
    wait_for(&node_events, n + 2, 5);

    /* ---------------- get */
    len = sizeof buf;
    RC("zoo_get watch=1", zoo_get(zh, "/c/c2", 1, buf, &len, &st));
    len = sizeof buf;
    RC("zoo_get null data", zoo_get(zh, "/c/nulldata", 0, buf, &len, &st));
    LOG("  null data len=%d", len);
    len = sizeof buf;
    RC("zoo_wget", zoo_wget(zh, "/c/later", my_watcher, "wget", buf, &len, &st));
    len = sizeof buf;
    RC("zoo_get absent", zoo_get(zh, "/c/nope", 0, buf, &len, &st));
    ASYNC("zoo_aget", zoo_aget(zh, "/c/c2", 0, data_cb, "zoo_aget"));
    ASYNC("zoo_awget", zoo_awget(zh, "/c/later2", my_watcher, "awget", data_cb, "zoo_awget"));

    /* ---------------- set */
    n = get_count(&node_events);
    RC("zoo_set version 0", zoo_set(zh, "/c/c2", "v1", 2, 0));
    RC("zoo_set2 any version", zoo_set2(zh, "/c/later", "v1", 2, -1, &st));
    RC("zoo_set bad version", zoo_set(zh, "/c/c2", "v2", 2, 42));
    RC("zoo_set absent", zoo_set(zh, "/c/nope", "v2", 2, -1));
    ASYNC("zoo_aset", zoo_aset(zh, "/c/later2", "v1", 2, -1, stat_cb, "zoo_aset"));
    wait_for(&node_events, n + 3, 5);

    /* ---------------- children */
    RC("zoo_get_children watch=1", zoo_get_children(zh, "/c", 1, &sv));
    deallocate_String_vector(&sv);
    RC("zoo_wget_children", zoo_wget_children(zh, "/c/cont", my_watcher, "wget_children", &sv));
    deallocate_String_vector(&sv);
    RC("zoo_get_children2", zoo_get_children2(zh, "/c", 0, &sv, &st));
    deallocate_String_vector(&sv);
    RC("zoo_wget_children2",
       zoo_wget_children2(zh, "/c/cont2", my_watcher, "wget_children2", &sv, &st));
    deallocate_String_vector(&sv);
    RC("zoo_get_children absent", zoo_get_children(zh, "/c/nope", 0, &sv));
    ASYNC("zoo_aget_children", zoo_aget_children(zh, "/c", 0, strings_cb, "zoo_aget_children"));
    ASYNC("zoo_awget_children", zoo_awget_children(zh, "/c/later", my_watcher, "awget_children",
                                                   strings_cb, "zoo_awget_children"));
    ASYNC("zoo_aget_children2",
          zoo_aget_children2(zh, "/c", 0, strings_stat_cb, "zoo_aget_children2"));
    ASYNC("zoo_awget_children2", zoo_awget_children2(zh, "/c/later2", my_watcher, "awget_children2",
                                                     strings_stat_cb, "zoo_awget_children2"));
    n = get_count(&node_events);
    RC("zoo_create child of /c/cont",
       zoo_create(zh, "/c/cont/b", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, pbuf, sizeof pbuf));
    RC("zoo_create child of /c/cont2", zoo_create(zh, "/c/cont2/b", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                                                  ZOO_PERSISTENT, pbuf, sizeof pbuf));
    RC("zoo_create child of /c/later", zoo_create(zh, "/c/later/b", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                                                  ZOO_PERSISTENT, pbuf, sizeof pbuf));
    wait_for(&node_events, n + 3, 5);

    /* ---------------- delete */
    len = sizeof buf;
    RC("zoo_wget /c/eph", zoo_wget(zh, "/c/eph", my_watcher, "wget-eph", buf, &len, &st));
    n = get_count(&node_events);
    RC("zoo_delete ephemeral", zoo_delete(zh, "/c/eph", -1));
    wait_for(&node_events, n + 1, 5);
    RC("zoo_delete bad version", zoo_delete(zh, "/c/nulldata", 3));
    RC("zoo_delete version 0", zoo_delete(zh, "/c/nulldata", 0));
    RC("zoo_delete not empty", zoo_delete(zh, "/c/cont", -1));
    RC("zoo_delete absent", zoo_delete(zh, "/c/nope", -1));
    ASYNC("zoo_adelete", zoo_adelete(zh, "/c/a1", 0, void_cb, "zoo_adelete"));
    ASYNC("zoo_adelete absent", zoo_adelete(zh, "/c/a1", -1, void_cb, "zoo_adelete absent"));

    /* ---------------- ACL */
    memset(&acl, 0, sizeof acl);
    RC("zoo_get_acl", zoo_get_acl(zh, "/c/c2", &acl, &st));
    LOG("  acl count=%d aversion=%d", acl.count, st.aversion);
    deallocate_ACL_vector(&acl);
    {
        struct ACL a[2] = {{ZOO_PERM_READ | ZOO_PERM_ADMIN, {"world", "anyone"}},
                           {ZOO_PERM_ALL, {"ip", "127.0.0.1"}}};
        struct ACL_vector v = {2, a};
        struct ACL bad[1] = {{ZOO_PERM_ALL, {"digest", "missing-colon"}}};
        struct ACL_vector bv = {1, bad};
        RC("zoo_set_acl version 0", zoo_set_acl(zh, "/c/c2", 0, &v));
        RC("zoo_set_acl bad version", zoo_set_acl(zh, "/c/c2", 0, &v));
        RC("zoo_set_acl invalid acl", zoo_set_acl(zh, "/c/c2", -1, &bv));
        RC("zoo_set_acl absent", zoo_set_acl(zh, "/c/nope", -1, &v));
        ASYNC("zoo_aset_acl",
              zoo_aset_acl(zh, "/c/later", -1, &ZOO_OPEN_ACL_UNSAFE, void_cb, "zoo_aset_acl"));
    }
    ASYNC("zoo_aget_acl", zoo_aget_acl(zh, "/c/c2", acl_cb, "zoo_aget_acl"));
    RC("zoo_get_acl absent", zoo_get_acl(zh, "/c/nope", &acl, &st));

    /* ---------------- sync */
    ASYNC("zoo_async", zoo_async(zh, "/c", string_cb, "zoo_async (sync)"));

    /* ---------------- multi */
    {
        zoo_op_t ops[6];
        zoo_op_result_t res[6];
        char p1[128], p2[128];
        struct Stat s1;
        zoo_create_op_init(&ops[0], "/c/m1", "m1", 2, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, p1,
                           sizeof p1);
        zoo_create_op_init(&ops[1], "/c/m-", "m2", 2, &ZOO_OPEN_ACL_UNSAFE,
                           ZOO_EPHEMERAL_SEQUENTIAL, p2, sizeof p2);
        zoo_set_op_init(&ops[2], "/c/m1", "m1b", 3, 0, &s1);
        zoo_check_op_init(&ops[3], "/c/later", 1);
        zoo_delete_op_init(&ops[4], "/c/later2/none-yet", -1);
        rc = zoo_multi(zh, 4, ops, res);
        RC("zoo_multi ok", rc);
        for (int i = 0; i < 4; i++)
            LOG("  result[%d] err=%d", i, res[i].err);

        zoo_create_op_init(&ops[0], "/c/m3", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, p1,
                           sizeof p1);
        zoo_check_op_init(&ops[1], "/c/m1", 99); /* BADVERSION */
        zoo_delete_op_init(&ops[2], "/c/m1", -1);
        rc = zoo_multi(zh, 3, ops, res);
        RC("zoo_multi fail (check)", rc);
        for (int i = 0; i < 3; i++)
            LOG("  result[%d] err=%d", i, res[i].err);

        zoo_delete_op_init(&ops[0], "/c/m1", -1);
        zoo_create_op_init(&ops[1], "/c/m1", "again", 5, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, p1,
                           sizeof p1);
        zoo_delete_op_init(&ops[2], "/c/nope", -1); /* NONODE */
        rc = zoo_multi(zh, 3, ops, res);
        RC("zoo_multi fail (delete absent)", rc);
        for (int i = 0; i < 3; i++)
            LOG("  result[%d] err=%d", i, res[i].err);

        /* Not ZOO_CONTAINER / TTL modes here: the server answers those
         * sub-ops with a create2-type result (path + Stat) and the 3.8.0 C
         * client aborts in deserialize_multi (assertion `entry').  The Java
         * session covers container/TTL creates inside multi. */
        zoo_create_op_init(&ops[0], "/c/mc", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL,
                           p1, sizeof p1);
        zoo_set_op_init(&ops[1], "/c/m1", "m1c", 3, -1, &s1);
        ASYNC("zoo_amulti", zoo_amulti(zh, 2, ops, res, void_cb, "zoo_amulti"));
        LOG("  amulti result[0] err=%d result[1] err=%d", res[0].err, res[1].err);
        rc = zoo_multi(zh, 0, ops, res);
        RC("zoo_multi empty", rc);
    }

    /* ---------------- config / reconfig */
    len = sizeof buf;
    RC("zoo_getconfig", zoo_getconfig(zh, 0, buf, &len, &st));
    LOG("  config len=%d", len);
    len = sizeof buf;
    RC("zoo_wgetconfig", zoo_wgetconfig(zh, my_watcher, "wgetconfig", buf, &len, &st));
    ASYNC("zoo_agetconfig", zoo_agetconfig(zh, 1, data_cb, "zoo_agetconfig watch=1"));
    ASYNC("zoo_awgetconfig",
          zoo_awgetconfig(zh, my_watcher, "awgetconfig", data_cb, "zoo_awgetconfig"));
    len = sizeof buf;
    RC("zoo_reconfig incremental",
       zoo_reconfig(zh, "server.9=127.0.0.1:28889:38889:participant;127.0.0.1:21819", NULL, NULL,
                    -1, buf, &len, &st));
    ASYNC("zoo_areconfig",
          zoo_areconfig(zh, NULL, NULL,
                        "server.1=127.0.0.1:28881:38881:participant;127.0.0.1:21811", 4294967296LL,
                        data_cb, "zoo_areconfig non-incremental"));

    /* ---------------- auth */
    ASYNC("zoo_add_auth",
          zoo_add_auth(zh, "digest", "cuser:cpass", 11, void_cb, "zoo_add_auth digest"));
    RC("zoo_create CREATOR_ALL_ACL", zoo_create(zh, "/c/mine", "mine", 4, &ZOO_CREATOR_ALL_ACL,
                                                ZOO_PERSISTENT, pbuf, sizeof pbuf));
    len = sizeof buf;
    RC("zoo_get own node", zoo_get(zh, "/c/mine", 0, buf, &len, &st));

    /* second session (readOnly allowed flag) without auth -> NOAUTH */
    z2 = zookeeper_init(argv[1], main_watcher, 4000, NULL, "other", ZOO_READONLY);
    if (z2 && wait_for(&other_connected, 1, 10)) {
        len = sizeof buf;
        RC("other: zoo_get creator-only", zoo_get(z2, "/c/mine", 0, buf, &len, &st));
        RC("other: zoo_set creator-only", zoo_set(z2, "/c/mine", "x", 1, -1));
        RC("other: zoo_get_acl creator-only", zoo_get_acl(z2, "/c/mine", &acl, &st));
        if (rc == ZOK)
            deallocate_ACL_vector(&acl);
        ASYNC("zoo_add_auth bad",
              zoo_add_auth(z2, "nosuchscheme", "x", 1, void_cb, "other: zoo_add_auth bad scheme"));
        usleep(300000);
        LOG("other: state after bad auth = %d", zoo_state(z2));
    }
    if (z2)
        RC("other: zookeeper_close", zookeeper_close(z2));

    /* ---------------- remove watches (checkWatches 17 / removeWatches 18) */
    RC("zoo_create /c/rw",
       zoo_create(zh, "/c/rw", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, pbuf, sizeof pbuf));
    len = sizeof buf;
    RC("zoo_wget /c/rw", zoo_wget(zh, "/c/rw", my_watcher, "rw-data", buf, &len, &st));
    RC("zoo_wget_children /c/rw", zoo_wget_children(zh, "/c/rw", my_watcher, "rw-child", &sv));
    deallocate_String_vector(&sv);
    RC("zoo_get_children /c/c2 watch=1", zoo_get_children(zh, "/c/c2", 1, &sv));
    deallocate_String_vector(&sv);
    RC("zoo_exists /c/c2 watch=1", zoo_exists(zh, "/c/c2", 1, &st));
    RC("zoo_remove_watches data",
       zoo_remove_watches(zh, "/c/rw", ZWATCHTYPE_DATA, my_watcher, "rw-data", 0));
    RC("zoo_remove_watches data again",
       zoo_remove_watches(zh, "/c/rw", ZWATCHTYPE_DATA, my_watcher, "rw-data", 0));
    ASYNC("zoo_aremove_watches",
          zoo_aremove_watches(zh, "/c/rw", ZWATCHTYPE_CHILD, my_watcher, "rw-child", 0, CB_PTR,
                              "zoo_aremove_watches child"));
    RC("zoo_remove_all_watches any", zoo_remove_all_watches(zh, "/c/c2", ZWATCHTYPE_ANY, 0));
    RC("zoo_remove_all_watches any again", zoo_remove_all_watches(zh, "/c/c2", ZWATCHTYPE_ANY, 0));
    len = sizeof buf;
    RC("zoo_wget /c/rw again", zoo_wget(zh, "/c/rw", my_watcher, "rw-data2", buf, &len, &st));
    ASYNC("zoo_aremove_all_watches",
          zoo_aremove_all_watches(zh, "/c/rw", ZWATCHTYPE_DATA, 0, CB_PTR,
                                  "zoo_aremove_all_watches data"));
    len = sizeof buf;
    RC("zoo_wget /c/rw local", zoo_wget(zh, "/c/rw", my_watcher, "rw-local", buf, &len, &st));
    RC("zoo_remove_watches local=1",
       zoo_remove_watches(zh, "/c/rw", ZWATCHTYPE_DATA, my_watcher, "rw-local", 1));

    /* ---------------- pings */
    LOG("idling for pings");
    sleep(4);

    /* ---------------- forced reconnect with watches registered -> SetWatches */
    len = sizeof buf;
    RC("zoo_wget /c/c2", zoo_wget(zh, "/c/c2", my_watcher, "pre-reconnect data", buf, &len, &st));
    RC("zoo_wexists absent /c/appear",
       zoo_wexists(zh, "/c/appear", my_watcher, "pre-reconnect exist", &st));
    RC("zoo_wget_children /c/later",
       zoo_wget_children(zh, "/c/later", my_watcher, "pre-reconnect child", &sv));
    deallocate_String_vector(&sv);
    if (proxy > 0) {
        int c = get_count(&connected_count);
        LOG("SIGUSR1 -> proxy %d", (int)proxy);
        kill(proxy, SIGUSR1);
        wait_for(&connected_count, c + 1, 15);
        n = get_count(&node_events);
        RC("zoo_set /c/later (after reconnect)", zoo_set(zh, "/c/later", "after", 5, -1));
        RC("zoo_create /c/appear", zoo_create(zh, "/c/appear", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                                              ZOO_EPHEMERAL, pbuf, sizeof pbuf));
        RC("zoo_create /c/later/c", zoo_create(zh, "/c/later/c", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                                               ZOO_PERSISTENT, pbuf, sizeof pbuf));
        wait_for(&node_events, n + 2, 5);
    }

    /* ---------------- close */
    RC("zookeeper_close", zookeeper_close(zh));
    LOG("done; node events seen: %d", get_count(&node_events));
    return 0;
}
