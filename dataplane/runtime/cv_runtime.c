/* cv_runtime — contract in cv_runtime.h. */
#include "cv_runtime.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <rte_ring.h>

static volatile sig_atomic_t stop_flag;

struct cv_rt {
    struct cv_rt_config cfg;
    struct rte_mempool *pools[2];
    size_t sizes[2];
    struct cv_reactor reactors[CV_RT_MAX_LCORES];
    unsigned nrings;
};

void cv_rt_stop(void)
{
    stop_flag = 1;
}
bool cv_rt_stopping(void)
{
    return stop_flag != 0;
}

static void on_signal(int sig)
{
    (void)sig;
    cv_rt_stop();
}

void cv_rt_handle_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int64_t cv_rt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cv_rt_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void cv_rt_config_defaults(struct cv_rt_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->lcores[0] = 0;
    cfg->nlcores = 1;
    cfg->mode = CV_RT_POLL_ADAPTIVE;
    cfg->spin_us = 200;
    cfg->small_msgs = 16384;
    cfg->small_size = 2048 - sizeof(struct cv_msg);
    cfg->large_msgs = 32;
    cfg->large_size = (1u << 20) + 64 * 1024; /* a jute.maxbuffer frame and room */
}

int cv_reactor_add(struct cv_reactor *r, cv_poll_fn fn, void *ctx, const char *name)
{
    if (r->npollers == CV_RT_MAX_POLLERS)
        return -ENOSPC;
    r->pollers[r->npollers].fn = fn;
    r->pollers[r->npollers].ctx = ctx;
    r->pollers[r->npollers].name = name;
    r->npollers++;
    return 0;
}

/* DPDK's runtime directory for a file prefix: /var/run/dpdk/<prefix> for
 * root, else $XDG_RUNTIME_DIR (or /tmp) /dpdk/<prefix>. */
static void runtime_base(char *out, size_t cap)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    snprintf(out, cap, "%s/dpdk", getuid() == 0 ? "/var/run" : xdg ? xdg : "/tmp");
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(dir);
}

/* Every process leaves a corvid<pid> runtime directory (the telemetry
 * socket) that a kill -9 cannot remove: remove the ones whose process is
 * gone, so they do not pile up. */
static void sweep_runtime_dirs(void)
{
    char base[256], dir[512];
    runtime_base(base, sizeof base);
    DIR *d = opendir(base);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        if (strncmp(e->d_name, "corvid", 6) || !e->d_name[6])
            continue;
        long pid = strtol(e->d_name + 6, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        snprintf(dir, sizeof dir, "%s/%s", base, e->d_name);
        remove_dir(dir);
    }
    closedir(d);
}

int cv_rt_init(struct cv_rt **out, const struct cv_rt_config *cfg, char *err, size_t errlen)
{
    if (cfg->nlcores == 0 || cfg->nlcores > CV_RT_MAX_LCORES) {
        snprintf(err, errlen, "lcores: between 1 and %d lcores, got %u", CV_RT_MAX_LCORES,
                 cfg->nlcores);
        return -EINVAL;
    }
    char lcores[256] = "";
    for (unsigned i = 0; i < cfg->nlcores; i++) {
        size_t n = strlen(lcores);
        snprintf(lcores + n, sizeof lcores - n, "%s%u", i ? "," : "", cfg->lcores[i]);
    }
    /* EAL arguments: no hugepages, no PCI, no shared config and a prefix of
     * our own, so nothing on the host needs setting up and several processes
     * can coexist. */
    char extra[512] = "";
    if (cfg->eal_extra)
        snprintf(extra, sizeof extra, "%s", cfg->eal_extra);
    char *argv[64];
    int argc = 0;
    argv[argc++] = "corvid";
    argv[argc++] = "-l";
    argv[argc++] = lcores;
    argv[argc++] = "--main-lcore";
    char main_lcore[16];
    snprintf(main_lcore, sizeof main_lcore, "%u", cfg->lcores[0]);
    argv[argc++] = main_lcore;
    argv[argc++] = "--no-huge";
    argv[argc++] = "-m";
    argv[argc++] = "512";
    argv[argc++] = "--no-pci";
    argv[argc++] = "--no-shconf";
    char prefix[48];
    snprintf(prefix, sizeof prefix, "--file-prefix=corvid%d", (int)getpid());
    argv[argc++] = prefix;
    if (!cfg->telemetry)
        argv[argc++] = "--no-telemetry";
    argv[argc++] = "--log-level=lib.*:warning";
    for (char *tok = strtok(extra, " "); tok && argc < 62; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    argv[argc] = NULL;
    sweep_runtime_dirs();
    if (rte_eal_init(argc, argv) < 0) {
        snprintf(err, errlen, "DPDK EAL initialisation failed: %s (lcores %s)",
                 rte_strerror(rte_errno), lcores);
        return -EINVAL;
    }
    struct cv_rt *rt = calloc(1, sizeof *rt);
    if (!rt)
        return -ENOMEM;
    rt->cfg = *cfg;
    rt->sizes[0] = cfg->small_size;
    rt->sizes[1] = cfg->large_size;
    unsigned counts[2] = {cfg->small_msgs, cfg->large_msgs};
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "cv_msg%d", i);
        rt->pools[i] =
            rte_mempool_create(name, counts[i], sizeof(struct cv_msg) + rt->sizes[i],
                               i == 0 ? 64 : 0, 0, NULL, NULL, NULL, NULL, (int)rte_socket_id(), 0);
        if (!rt->pools[i]) {
            snprintf(err, errlen, "cannot create message pool %s: %s", name,
                     rte_strerror(rte_errno));
            free(rt);
            return -ENOMEM;
        }
    }
    for (unsigned i = 0; i < cfg->nlcores; i++) {
        rt->reactors[i].lcore = cfg->lcores[i];
        rt->reactors[i].mode = cfg->mode;
        rt->reactors[i].spin_cycles = rte_get_tsc_hz() / 1000000 * cfg->spin_us;
    }
    *out = rt;
    return 0;
}

struct cv_reactor *cv_rt_reactor(struct cv_rt *rt, unsigned i)
{
    return &rt->reactors[i];
}
unsigned cv_rt_nlcores(const struct cv_rt *rt)
{
    return rt->cfg.nlcores;
}
size_t cv_msg_max(const struct cv_rt *rt)
{
    return rt->sizes[1];
}

struct cv_msg *cv_msg_get(struct cv_rt *rt, size_t len)
{
    for (int i = 0; i < 2; i++) {
        if (len > rt->sizes[i])
            continue;
        void *obj;
        if (rte_mempool_get(rt->pools[i], &obj) == 0) {
            struct cv_msg *m = obj;
            memset(m, 0, sizeof *m);
            m->pool = (uint16_t)i;
            m->cap = (uint32_t)rt->sizes[i];
            return m;
        }
    }
    return NULL;
}

struct cv_msg *cv_msg_get_input(struct cv_rt *rt, size_t len)
{
    /* Input takes a message of its own class only (a small frame never
     * falls through to the large class), and of the large class (a few
     * dozen jute.maxbuffer frames) all but about a quarter, which stays for
     * replies: io lcores read the count without a lock, so two of them may
     * both take the last one above it. */
    int i = len > rt->sizes[0];
    if (i && rte_mempool_avail_count(rt->pools[1]) <= rt->cfg.large_msgs / 4)
        return NULL;
    void *obj;
    if (len > rt->sizes[i] || rte_mempool_get(rt->pools[i], &obj) != 0)
        return NULL;
    struct cv_msg *m = obj;
    memset(m, 0, sizeof *m);
    m->pool = (uint16_t)i;
    m->cap = (uint32_t)rt->sizes[i];
    return m;
}

void cv_msg_put(struct cv_rt *rt, struct cv_msg *m)
{
    rte_mempool_put(rt->pools[m->pool], m);
}

struct rte_ring *cv_rt_ring(struct cv_rt *rt, const char *name, unsigned size)
{
    (void)rt;
    return rte_ring_create(name, size, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
}

/* The reactor loop: run every poller; when idle long enough in adaptive mode,
 * let the idle hook (or a short sleep) give the CPU away. */
static int reactor_main(void *arg)
{
    struct cv_reactor *r = arg;
    uint64_t last_work = rte_get_tsc_cycles();
    while (!stop_flag) {
        int work = 0;
        for (unsigned i = 0; i < r->npollers; i++)
            work += r->pollers[i].fn(r->pollers[i].ctx);
        r->iterations++;
        if (work) {
            r->busy_iterations++;
            last_work = rte_get_tsc_cycles();
            continue;
        }
        if (r->mode == CV_RT_POLL_BUSY || rte_get_tsc_cycles() - last_work < r->spin_cycles)
            continue;
        r->sleeps++;
        if (r->idle) {
            r->idle(r->idle_ctx, 1000);
        } else {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

int cv_rt_run(struct cv_rt *rt)
{
    for (unsigned i = 1; i < rt->cfg.nlcores; i++) {
        int rc = rte_eal_remote_launch(reactor_main, &rt->reactors[i], rt->cfg.lcores[i]);
        if (rc) {
            cv_rt_stop();
            rte_eal_mp_wait_lcore();
            return rc;
        }
    }
    reactor_main(&rt->reactors[0]);
    rte_eal_mp_wait_lcore();
    return 0;
}

void cv_rt_fini(struct cv_rt *rt)
{
    if (!rt)
        return;
    for (int i = 0; i < 2; i++)
        rte_mempool_free(rt->pools[i]);
    free(rt);
    rte_eal_cleanup();
    char base[256], dir[512];
    runtime_base(base, sizeof base);
    snprintf(dir, sizeof dir, "%s/corvid%d", base, (int)getpid());
    remove_dir(dir);
}
