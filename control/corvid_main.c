/*
 * corvid — the appliance binary: a ZooKeeper-compatible server.
 *
 *   corvid [--config zoo.cfg]   serve (embedded default config without --config)
 *   corvid --check-data [--config zoo.cfg]  report the data directory's state
 *   corvid --self-check [F...]  replay recorded ZooKeeper conversations through the codec
 *   corvid --version | --help
 *
 * The server reads ZooKeeper's zoo.cfg, recovers its state from dataDir
 * (snapshots) and dataLogDir (the write-ahead log), launches its lcores
 * through DPDK's EAL (socket transport: kernel TCP on each io lcore), and
 * runs the sequencer with the pure core. Exit status: 0 after a clean stop,
 * 1 on a start-up failure, 2 for a bad configuration or a data directory
 * whose history is damaged (see --check-data).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <numa.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <liburing.h>
#include <rte_version.h>

#include "cv_config.h"
#include "cv_crc.h"
#include "cv_proto_replay.h"
#include "cv_runtime.h"
#include "cv_seq.h"
#include "cv_http.h"
#include "cv_metrics.h"
#include "cv_server.h"
#include "cv_server_fourlw.h"
#include "cv_sock.h"
#include "cv_store.h"

#ifndef CV_GOLDEN_DIR
#define CV_GOLDEN_DIR "tests/proto/golden"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "usage: corvid [--config zoo.cfg] [--check-data] [--self-check [FILE.frames ...]]\n"
            "              [--version] [--help]\n"
            "\n"
            "corvid is a ZooKeeper-compatible coordination server. It reads ZooKeeper's\n"
            "zoo.cfg (with no --config, an embedded default: 127.0.0.1:2181, ./data) and\n"
            "serves ZooKeeper clients. Writes are acknowledged once they are in the\n"
            "write-ahead log on disk (dataLogDir/corvid-log; snapshots in\n"
            "dataDir/corvid-snap); a restart recovers the tree and the sessions.\n"
            "With server.N lines (and dataDir/myid) it is a member of a replicated\n"
            "ensemble: Zab over UDP on each server's quorum port (docs/replication.md).\n"
            "\n"
            "  --config FILE           read zoo.cfg from FILE; bad values exit with status 2\n"
            "  --check-data            report the snapshots and the log of the configured data\n"
            "                          directories without changing them; exit status 0 when\n"
            "                          corvid can start on them, 2 when their history is damaged\n"
            "  --self-check [FILE...]  replay recorded ZooKeeper conversations (default:\n"
            "                          every *.frames file in %s)\n"
            "                          through the codec; exit status 0 when all are byte-exact\n"
            "  --version               versions of corvid and its libraries\n"
            "  --help                  this text\n"
            "\nzoo.cfg keys:\n",
            CV_GOLDEN_DIR);
    cv_config_help(f);
}

static void print_versions(void)
{
    printf("corvid %s\n", CV_VERSION);
    printf("  DPDK     %s\n", rte_version());
    struct io_uring ring;
    int rc = io_uring_queue_init(2, &ring, 0);
    if (rc == 0) {
        printf("  liburing %s, io_uring usable on this kernel\n", CV_URING_VERSION);
        io_uring_queue_exit(&ring);
    } else {
        printf("  liburing %s, io_uring NOT usable here: %s\n", CV_URING_VERSION, strerror(-rc));
    }
    if (numa_available() >= 0)
        printf("  libnuma  %d NUMA node(s)\n", numa_max_node() + 1);
    else
        printf("  libnuma  NUMA not available on this host\n");
    printf("  ISA-L    crc32c(\"123456789\") = %08x\n", cv_crc32c("123456789", 9));
}

static int crc_known_answers(void)
{
    int ok = cv_crc32c("123456789", 9) == 0xE3069283u &&
             cv_crc64("123456789", 9) == 0x995DC9BBDF1939FAull;
    printf("crc known answers (CRC-32C, CRC-64/XZ via ISA-L): %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

static int replay_one(struct cv_replay *r, const char *path)
{
    struct cv_replay_stats before = r->st;
    int rc = cv_replay_file(r, path, stderr);
    if (rc < 0) {
        fprintf(stderr, "corvid: cannot replay %s: %s\n", path, strerror(-rc));
        return 1;
    }
    printf("%-40s %5u frames, %5u byte-exact, %u failed\n", path, r->st.frames - before.frames,
           r->st.ok - before.ok, r->st.failed - before.failed);
    return rc ? 1 : 0;
}

static void print_coverage(const struct cv_replay_stats *st)
{
    printf("\nrequests by opcode (replies, of which errors):\n");
    for (int op = -16; op < CV_REPLAY_OP_SLOTS - 16; op++) {
        unsigned s = CV_REPLAY_OP_SLOT(op);
        if (!st->req[s] && !st->resp[s] && !st->multi_ops[s])
            continue;
        printf("  %4d %-22s %5u (%u, %u)", op, cv_proto_op_name(op) ? cv_proto_op_name(op) : "?",
               st->req[s], st->resp[s], st->resp_err[s]);
        if (st->multi_ops[s])
            printf("  + %u inside multi", st->multi_ops[s]);
        printf("\n");
    }
    printf("  connect requests %u, connect responses %u, watch notifications %u\n", st->connect_req,
           st->connect_resp, st->notifications);
}

static int self_check(int nfiles, char **files)
{
    struct cv_replay r;
    int bad = crc_known_answers();
    if (cv_replay_init(&r)) {
        fprintf(stderr, "corvid: out of memory\n");
        return 1;
    }
    if (nfiles > 0) {
        for (int i = 0; i < nfiles; i++)
            bad |= replay_one(&r, files[i]);
    } else {
        struct dirent **names;
        int n = scandir(CV_GOLDEN_DIR, &names, NULL, alphasort);
        if (n < 0) {
            fprintf(stderr, "corvid: cannot read %s: %s\n", CV_GOLDEN_DIR, strerror(errno));
            cv_replay_fini(&r);
            return 1;
        }
        int found = 0;
        for (int i = 0; i < n; i++) {
            const char *name = names[i]->d_name;
            size_t len = strlen(name);
            if (len > 7 && strcmp(name + len - 7, ".frames") == 0) {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", CV_GOLDEN_DIR, name);
                bad |= replay_one(&r, path);
                found++;
            }
            free(names[i]);
        }
        free(names);
        if (!found) {
            fprintf(stderr, "corvid: no *.frames recordings in %s\n", CV_GOLDEN_DIR);
            bad = 1;
        }
    }
    print_coverage(&r.st);
    printf("\nself-check: %s\n", bad ? "FAILED" : "ok");
    cv_replay_fini(&r);
    return bad;
}

static void warn_cb(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "corvid: warning: %s\n", msg);
}

static int mkdirs(const char *path)
{
    char p[CV_CONFIG_PATH_MAX + 32];
    snprintf(p, sizeof p, "%s", path);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = 0;
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return -errno;
        *q = '/';
    }
    return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* Standalone without corvid.secret: a key generated once and kept in
 * dataDir/corvid-secret (mode 0600), so session passwords stay valid across
 * restarts (a recovered session must accept its client's password). */
static int load_secret(const char *data_dir, uint8_t *key, uint32_t *len)
{
    char path[CV_CONFIG_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/corvid-secret", data_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, key, 32);
        close(fd);
        if (n != 32) {
            fprintf(stderr,
                    "corvid: %s is damaged (not 32 bytes): remove it to start "
                    "anew (clients' sessions then expire)\n",
                    path);
            return -1;
        }
        *len = 32;
        return 0;
    }
    FILE *ur = fopen("/dev/urandom", "rb");
    if (!ur || fread(key, 1, 32, ur) != 32) {
        fprintf(stderr, "corvid: cannot read /dev/urandom for the session secret\n");
        if (ur)
            fclose(ur);
        return -1;
    }
    fclose(ur);
    char tmp[CV_CONFIG_PATH_MAX + 40];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write(fd, key, 32) == 32 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    ok = ok && rename(tmp, path) == 0;
    int dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ok = ok && dfd >= 0 && fsync(dfd) == 0;
    if (dfd >= 0)
        close(dfd);
    if (!ok) {
        fprintf(stderr, "corvid: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    *len = 32;
    return 0;
}

static int check_data(const struct cv_config *cfg)
{
    char log[CV_CONFIG_PATH_MAX + 32], snap[CV_CONFIG_PATH_MAX + 32];
    cv_store_paths(cfg->data_dir, cfg->data_log_dir, log, snap, sizeof log);
    return cv_store_check(log, snap, stdout) == 0 ? 0 : 2;
}

static const struct cv_config_server *my_server(const struct cv_config *cfg)
{
    for (uint32_t i = 0; i < cfg->nservers; i++)
        if ((int32_t)cfg->servers[i].id == cfg->my_id)
            return &cfg->servers[i];
    return NULL;
}

/* zoo.cfg's server.N lines -> Zab membership and the peer transport. corvid
 * uses each server's quorumPort (UDP) for every peer message, election
 * included; the electionPort is accepted and unused. */
static int ensemble_config(const struct cv_config *cfg, struct cv_seq_ensemble *ens, char *err,
                           size_t errlen)
{
    const struct cv_config_server *me = my_server(cfg);
    if (!me || cfg->my_id < 1 || cfg->my_id >= CV_ZAB_MAX_SERVERS) {
        snprintf(err, errlen, "myid %d names no server.N line (ids 1..%d)", cfg->my_id,
                 CV_ZAB_MAX_SERVERS - 1);
        return -1;
    }
    uint64_t voters = 0, observers = 0;
    for (uint32_t i = 0; i < cfg->nservers; i++) {
        const struct cv_config_server *sv = &cfg->servers[i];
        if (sv->id >= CV_ZAB_MAX_SERVERS) {
            snprintf(err, errlen, "server.%u: corvid supports ids 1..%d", sv->id,
                     CV_ZAB_MAX_SERVERS - 1);
            return -1;
        }
        if (sv->role == CV_ROLE_OBSERVER)
            observers |= 1ull << sv->id;
        else
            voters |= 1ull << sv->id;
    }
    cv_zab_config_init(&ens->zab, (uint8_t)cfg->my_id, voters, observers);
    ens->zab.tick_ms = cfg->tick_ms;
    ens->zab.init_limit = cfg->init_limit;
    ens->zab.sync_limit = cfg->sync_limit;
    /* Every log record after the newest snapshot must fit the history at a
     * restart (Zab decides their fate): 262144 proposals, and snapshots at
     * least every history / 4 transactions (serve() caps snapCount). */
    ens->zab.history = 1u << 18;
    ens->read_only = cfg->read_only_enabled;
    cv_pnet_config_init(&ens->pnet);
    ens->pnet.self = (uint8_t)cfg->my_id;
    ens->pnet.bind_host = cfg->quorum_listen_all_ips ? "0.0.0.0" : NULL;
    for (uint32_t i = 0; i < cfg->nservers; i++) {
        struct cv_pnet_peer *p = &ens->pnet.peers[ens->pnet.npeers++];
        p->id = (uint8_t)cfg->servers[i].id;
        snprintf(p->host, sizeof p->host, "%s", cfg->servers[i].host);
        p->port = cfg->servers[i].quorum_port;
    }
    if (cfg->test_peer_drop_file[0]) {
        ens->pnet.drop_file = cfg->test_peer_drop_file;
        fprintf(stderr,
                "corvid: warning: corvid.test.peerDropFile is set (%s): a test-only "
                "partition injector is in the peer transport's path\n",
                ens->pnet.drop_file);
    }
    return 0;
}

static int serve(struct cv_config *cfg)
{
    char err[512];
    /* lcores: corvid.lcores, else lcore 0 alone (every role on one lcore). */
    struct cv_rt_config rc;
    cv_rt_config_defaults(&rc);
    rc.nlcores = cfg->nlcores ? cfg->nlcores : 1;
    unsigned seq_lcore = cfg->nlcores ? cfg->sequencer_lcore : 0;
    for (unsigned i = 0; i < rc.nlcores; i++)
        rc.lcores[i] = cfg->nlcores ? cfg->lcores[i] : 0;
    /* The main lcore (reactor 0) is the sequencer's. */
    for (unsigned i = 0; i < rc.nlcores; i++) {
        if (rc.lcores[i] == seq_lcore) {
            rc.lcores[i] = rc.lcores[0];
            rc.lcores[0] = seq_lcore;
            break;
        }
    }
    rc.mode = cfg->poll_mode == CV_POLL_BUSY ? CV_RT_POLL_BUSY : CV_RT_POLL_ADAPTIVE;
    rc.spin_us = (unsigned)cfg->poll_spin_us;
    rc.eal_extra = cfg->eal_args[0] ? cfg->eal_args : NULL;
    rc.telemetry = cfg->telemetry;
    unsigned io_lcores[CV_RT_MAX_LCORES], nio = 0;
    if (cfg->nio_lcores) {
        for (unsigned i = 0; i < cfg->nio_lcores; i++)
            io_lcores[nio++] = cfg->io_lcores[i];
    } else {
        io_lcores[nio++] = rc.lcores[0];
    }
    /* The CPUs this process may use, before EAL pins its threads: the
     * control plane's threads take the ones no lcore polls. */
    static cpu_set_t cpus;
    bool have_cpus = sched_getaffinity(0, sizeof cpus, &cpus) == 0;
    struct cv_rt *rt;
    if (cv_rt_init(&rt, &rc, err, sizeof err)) {
        fprintf(stderr, "corvid: %s\n", err);
        return 1;
    }
    struct rte_ring *to_seq[CV_RT_MAX_LCORES], *from_seq[CV_RT_MAX_LCORES];
    struct cv_io *ios[CV_RT_MAX_LCORES];
    const uint32_t conns_per_io = 4096;
    struct cv_sock_config sc = {
        cfg->client_addr,
        cfg->client_port,
        conns_per_io,
        (uint32_t)cfg->max_client_cnxns,
        (uint32_t)cfg->jute_maxbuffer,
        (uint32_t)(cfg->global_outstanding_limit / (int32_t)nio + 1),
        16u << 20,
    };
    if (strcmp(cfg->client_addr, "0.0.0.0") == 0 || !cfg->client_addr[0])
        sc.addr = "0.0.0.0";
    for (unsigned i = 0; i < nio; i++) {
        char name[32];
        snprintf(name, sizeof name, "cv_to_seq%u", i);
        to_seq[i] = cv_rt_ring(rt, name, 32768);
        snprintf(name, sizeof name, "cv_from_seq%u", i);
        from_seq[i] = cv_rt_ring(rt, name, 32768);
        if (!to_seq[i] || !from_seq[i]) {
            fprintf(stderr, "corvid: cannot create rings\n");
            return 1;
        }
        int r = cv_io_new(&ios[i], rt, (uint16_t)i, &sc, to_seq[i], from_seq[i], err, sizeof err);
        if (r) {
            fprintf(stderr, "corvid: %s\n", err[0] ? err : strerror(-r));
            return 1;
        }
    }
    struct cv_seq_config qc;
    memset(&qc, 0, sizeof qc);
    cv_core_config_init(&qc.core, cfg->tick_ms);
    qc.core.sess.min_timeout_ms = cfg->min_session_timeout;
    qc.core.sess.max_timeout_ms = cfg->max_session_timeout;
    qc.core.sess.max_sessions = cfg->max_sessions;
    char log_dir[CV_CONFIG_PATH_MAX + 32], snap_dir[CV_CONFIG_PATH_MAX + 32];
    cv_store_paths(cfg->data_dir, cfg->data_log_dir, log_dir, snap_dir, sizeof log_dir);
    int mk = mkdirs(cfg->data_dir);
    if (!mk && cfg->data_log_dir[0])
        mk = mkdirs(cfg->data_log_dir);
    if (mk) {
        fprintf(stderr, "corvid: cannot create the data directories (%s): %s\n", cfg->data_dir,
                strerror(-mk));
        return 1;
    }
    if (cfg->secret_len) {
        memcpy(qc.core.sess.secret, cfg->secret, cfg->secret_len);
        qc.core.sess.secret_len = cfg->secret_len;
    } else if (load_secret(cfg->data_dir, qc.core.sess.secret, &qc.core.sess.secret_len)) {
        return 1;
    }
    struct cv_store_config stc;
    cv_store_config_defaults(&stc);
    stc.log_dir = log_dir;
    stc.snap_dir = snap_dir;
    stc.force_sync = cfg->force_sync;
    stc.snap_count = cfg->snap_count;
    stc.snap_retain = (uint32_t)(cfg->snap_retain_count < 3 ? 3 : cfg->snap_retain_count);
    stc.purge_interval_ms = (int64_t)cfg->purge_interval_h * 3600 * 1000;
    stc.slow_ms =
        (uint32_t)(cfg->fsync_warning_ms > UINT32_MAX ? UINT32_MAX : cfg->fsync_warning_ms);
    /* preAllocSize (KB) sizes a segment, as it sizes ZooKeeper's log files. */
    uint64_t seg = (uint64_t)cfg->pre_alloc_kb * 1024 / CV_WAL_BLOCK * CV_WAL_BLOCK;
    stc.segment_bytes = seg < (4u << 20) ? (4u << 20) : seg;
    stc.backend = cfg->wal_io == CV_WALIO_PWRITE ? CV_WAL_IO_PWRITE : CV_WAL_IO_URING;
    if (cfg->test_wal_stall_file[0]) {
        stc.stall_file = cfg->test_wal_stall_file;
        fprintf(stderr,
                "corvid: warning: corvid.test.walStallFile is set (%s): a test-only "
                "disk stall injector is in the log's path\n",
                stc.stall_file);
    }
    qc.store = &stc;
    qc.core.server_id = 0;
    static struct cv_seq_ensemble ens;
    bool distributed = cv_config_distributed(cfg);
    if (distributed) {
        if (ensemble_config(cfg, &ens, err, sizeof err)) {
            fprintf(stderr, "corvid: %s\n", err);
            return 2;
        }
        qc.ens = &ens;
        qc.core.server_id = (uint8_t)cfg->my_id;
        if (stc.snap_count > (int64_t)ens.zab.history / 4)
            stc.snap_count = (int64_t)ens.zab.history / 4; /* see ensemble_config */
        static char qcfg[CV_CONFIG_MAX_SERVERS * 160];
        size_t o = 0;
        for (uint32_t i = 0; i < cfg->nservers && o < sizeof qcfg; i++) {
            const struct cv_config_server *sv = &cfg->servers[i];
            o += (size_t)snprintf(qcfg + o, sizeof qcfg - o, "server.%u=%s:%u:%u:%s", sv->id,
                                  sv->host, sv->quorum_port, sv->election_port,
                                  sv->role == CV_ROLE_OBSERVER ? "observer" : "participant");
            if (sv->client_port && o < sizeof qcfg)
                o += (size_t)snprintf(qcfg + o, sizeof qcfg - o, ";%s:%u",
                                      sv->client_host[0] ? sv->client_host : "0.0.0.0",
                                      sv->client_port);
            if (o < sizeof qcfg)
                o += (size_t)snprintf(qcfg + o, sizeof qcfg - o, "\n");
        }
        if (o < sizeof qcfg)
            snprintf(qcfg + o, sizeof qcfg - o, "version=0");
        qc.core.quorum_config = qcfg;
    }
    qc.core.start_ms = cv_rt_now_ms();
    qc.core.super_digest = cfg->super_digest[0] ? cfg->super_digest : NULL;
    qc.core.extended_types = cfg->extended_types;
    qc.core.reconfig_enabled = cfg->reconfig_enabled;
    qc.core.max_frame = (uint32_t)cfg->jute_maxbuffer;
    qc.conns_per_io = conns_per_io;
    const char *cci = cv_config_extra(cfg, "znode.container.checkIntervalMs");
    qc.container_check_ms = cci ? atoll(cci) : 60000;
    if (qc.container_check_ms <= 0)
        qc.container_check_ms = 60000;
    const char *mnu = cv_config_extra(cfg, "znode.container.maxNeverUsedIntervalMs");
    qc.core.container_max_never_used_ms = mnu ? atoll(mnu) : 0;

    static struct cv_server srv;
    static char version[160];
    cv_fourlw_version_string(CV_VERSION, __DATE__, version, sizeof version);
    srv.cfg = cfg;
    srv.version = version;
    cv_fourlw_env_probe(&srv.env);
    srv.conns_cap = (size_t)nio * conns_per_io;
    srv.conns = calloc(srv.conns_cap, sizeof *srv.conns);
    srv.sessions_cap = 256;
    srv.sessions = calloc(srv.sessions_cap, sizeof *srv.sessions);
    /* The counter registry: a slot per reactor (slot i is reactor i's). */
    srv.metrics = cv_metrics_new();
    /* The admin mailbox's buffer: what wchp / dump / cons copy out of the
     * sequencer (cut short, and said so, beyond it). */
    if (cfg->admin_enabled)
        srv.ctl = cv_ctl_new(64u << 20);
    struct cv_seq_hooks hooks = {&srv, cv_server_fourlw};
    struct cv_seq *seq;
    if (!srv.conns || !srv.sessions || !srv.metrics || (cfg->admin_enabled && !srv.ctl)) {
        fprintf(stderr, "corvid: out of memory\n");
        return 1;
    }
    static struct cv_lcore_pub pubs[CV_RT_MAX_LCORES];
    for (unsigned r = 0; r < rc.nlcores; r++)
        cv_lcore_pub_init(&pubs[r], cv_metrics_claim(srv.metrics, r, rc.lcores[r]),
                          cv_rt_reactor(rt, r));
    srv.seq_slot = pubs[0].slot;
    int sr = cv_seq_new(&seq, rt, &qc, to_seq, from_seq, nio, &hooks, err, sizeof err);
    if (sr) {
        fprintf(stderr, "corvid: %s\n", err);
        return sr == -EUCLEAN ? 2 : 1;
    }
    struct cv_store_stats sst;
    cv_seq_store_stats(seq, &sst);
    char from[48] = "no snapshot";
    if (sst.recovered_snapshot_zxid >= 0)
        snprintf(from, sizeof from, "snapshot 0x%" PRIx64, (uint64_t)sst.recovered_snapshot_zxid);
    fprintf(stderr,
            "corvid: storage: log %s (%s%s, forceSync=%s), snapshots %s; recovered from %s + "
            "%" PRIu64 " log record(s) in %" PRIu64 " ms: zxid 0x%" PRIx64 "\n",
            log_dir, sst.wal.backend == CV_WAL_IO_URING ? "io_uring" : "pwrite",
            sst.wal.uring_fallback ? ", io_uring unavailable" : "", cfg->force_sync ? "yes" : "no",
            snap_dir, from, sst.recovered_records, sst.recovery_ms,
            (uint64_t)cv_core_last_applied(cv_seq_core(seq)));
    cv_reactor_add(cv_rt_reactor(rt, 0), cv_seq_poll, seq, "sequencer");
    pubs[0].srv = &srv;
    pubs[0].seq = seq;
    for (unsigned i = 0; i < nio; i++) {
        for (unsigned r = 0; r < rc.nlcores; r++) {
            if (rc.lcores[r] != io_lcores[i])
                continue;
            struct cv_reactor *re = cv_rt_reactor(rt, r);
            cv_reactor_add(re, cv_io_poll, ios[i], "io");
            pubs[r].io = ios[i];
            pubs[r].to_seq = to_seq[i];
            pubs[r].from_seq = from_seq[i];
            if (!re->idle) {
                re->idle = cv_io_idle;
                re->idle_ctx = ios[i];
                /* The sequencer's lcore also waits for peer datagrams and
                 * log completions. */
                if (r == 0 && cv_seq_peer_fd(seq) >= 0)
                    cv_io_wake_on(ios[i], cv_seq_peer_fd(seq));
                if (r == 0 && cv_seq_disk_fd(seq) >= 0 &&
                    cv_io_wake_on(ios[i], cv_seq_disk_fd(seq)) == 0)
                    cv_seq_disk_wakes(seq);
            }
        }
    }
    for (unsigned r = 0; r < rc.nlcores; r++)
        cv_reactor_add(cv_rt_reactor(rt, r), cv_server_lcore_poll, &pubs[r], "metrics");
    cv_server_publish_seq(&srv, seq);
    struct cv_http_config hc;
    cv_http_config_defaults(&hc);
    hc.admin_enabled = cfg->admin_enabled;
    hc.admin_addr = cfg->admin_addr;
    hc.admin_port = cfg->admin_port;
    hc.idle_timeout_s = (unsigned)((cfg->admin_idle_timeout_ms + 999) / 1000);
    hc.metrics_port = cfg->metrics_port > 0 ? (uint16_t)cfg->metrics_port : 0;
    hc.metrics_addr = cfg->metrics_addr;
    hc.lcores = rc.lcores;
    hc.nlcores = rc.nlcores;
    hc.cpus = have_cpus ? &cpus : NULL;
    struct cv_http *http = NULL;
    int hr = cv_http_start(&http, &hc, &srv, err, sizeof err);
    if (err[0]) /* as ZooKeeper: an admin server that cannot start is not fatal */
        fprintf(stderr, "corvid: warning: %s\n", err);
    else if (hr)
        fprintf(stderr, "corvid: warning: HTTP servers: %s\n", strerror(-hr));
    if (cv_http_admin_up(http))
        fprintf(stderr, "corvid: admin server (ZooKeeper's AdminServer API) on %s:%u/commands\n",
                hc.admin_addr, hc.admin_port);
    if (cv_http_metrics_up(http))
        fprintf(stderr, "corvid: Prometheus metrics on %s:%u/metrics\n", hc.metrics_addr,
                hc.metrics_port);
    if (cfg->telemetry) {
        if (cv_http_register_telemetry(&srv) == 0)
            fprintf(stderr, "corvid: DPDK telemetry: dpdk-telemetry.py -f corvid%d (/corvid/...)\n",
                    (int)getpid());
        else
            fprintf(stderr, "corvid: warning: cannot register the DPDK telemetry commands\n");
    }
    cv_rt_handle_signals();
    char mode[96] = "standalone";
    if (distributed)
        snprintf(mode, sizeof mode, "server.%d of %u, peers on UDP port %u", cfg->my_id,
                 cfg->nservers, my_server(cfg)->quorum_port);
    fprintf(stderr, "corvid %s: serving ZooKeeper clients on %s:%u (%s, %u lcore(s), %s polling)\n",
            CV_VERSION, sc.addr, cfg->client_port, mode, rc.nlcores,
            rc.mode == CV_RT_POLL_BUSY ? "busy" : "adaptive");
    cv_rt_run(rt);
    fprintf(stderr, "corvid: stopping\n");
    cv_http_stop(http);
    cv_seq_free(seq);
    for (unsigned i = 0; i < nio; i++)
        cv_io_free(ios[i]);
    cv_rt_fini(rt);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"self-check", no_argument, NULL, 's'},
        {"check-data", no_argument, NULL, 'd'},   {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int self = 0, check = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 's': self = 1; break;
        case 'd': check = 1; break;
        case 'v': print_versions(); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (self)
        return self_check(argc - optind, argv + optind) ? 1 : 0;
    if (optind < argc) {
        fprintf(stderr, "corvid: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    static struct cv_config cfg;
    char err[512] = "";
    int rc = cv_config_defaults(&cfg);
    if (rc == 0 && config)
        rc = cv_config_parse_file(&cfg, config, err, sizeof err, warn_cb, NULL);
    if (rc) {
        fprintf(stderr, "corvid: %s\n", err[0] ? err : "invalid configuration");
        return 2;
    }
    if (check)
        return check_data(&cfg);
    if (cv_config_distributed(&cfg) && cv_config_load_myid(&cfg, err, sizeof err)) {
        fprintf(stderr, "corvid: %s\n", err);
        return 2;
    }
    const struct cv_config_server *me = cv_config_distributed(&cfg) ? my_server(&cfg) : NULL;
    if (me && me->client_port) {
        /* server.N=...;[host:]clientPort gives this member's client address. */
        cfg.client_port = me->client_port;
        snprintf(cfg.client_addr, sizeof cfg.client_addr, "%s", me->client_host);
    }
    if (!cfg.client_port) {
        fprintf(stderr, "corvid: no clientPort (nor a client part in server.%d's line)\n",
                cfg.my_id);
        return 2;
    }
    return serve(&cfg);
}
