/*
 * cv_runtime — lcores, reactors, pollers, and the messages lcores exchange.
 *
 * Contract
 * - One reactor per lcore runs a list of pollers (SPDK-style) until the
 *   process is asked to stop. A poller returns how much work it did (0 =
 *   idle). In CV_RT_POLL_BUSY mode the loop never sleeps; in CV_RT_POLL_ADAPTIVE
 *   mode, once no poller has done work for spin_us microseconds it calls the
 *   reactor's idle hook (the socket poller waits in epoll for at most a
 *   millisecond) or sleeps briefly, so several nodes can share a small
 *   machine. Under steady load (the next request comes within spin_us) an
 *   adaptive reactor therefore polls like a busy one.
 * - lcores are launched through DPDK's EAL (rte_eal_remote_launch), even in
 *   socket mode, with defaults that need no set-up (--no-huge, --no-pci,
 *   --no-shconf, a per-process --file-prefix "corvid<pid>"). The main lcore
 *   runs its own reactor.
 * - lcores talk only through single-producer / single-consumer rte_rings of
 *   struct cv_msg pointers; messages come from rte_mempools created at
 *   start-up (a small and a large size class). No locks, no allocation per
 *   request.
 * - The stop flag is the one piece of process-wide state: a signal handler
 *   sets it (as DPDK's examples do).
 */
#ifndef CV_RUNTIME_H
#define CV_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CV_RT_MAX_LCORES  16
#define CV_RT_MAX_POLLERS 8

enum cv_poll_mode { CV_RT_POLL_ADAPTIVE, CV_RT_POLL_BUSY };

/* ---- messages between lcores --------------------------------------------- */

enum cv_msg_type {
    /* io lcore -> sequencer */
    CV_MSG_CONNECT = 1, /* data: the ConnectRequest frame; peer: the client's address */
    CV_MSG_REQUEST,     /* data: one request frame */
    CV_MSG_TOUCH,       /* a ping was answered: restart the session's expiry clock */
    CV_MSG_GONE,        /* the connection closed (by the peer or the io lcore) */
    CV_MSG_FOURLW,      /* data: the four letters */
    /* sequencer -> io lcore */
    CV_MSG_SEND,        /* data: frame(s) to send */
    CV_MSG_ESTABLISHED, /* data: the ConnectResponse; session: the session id */
    CV_MSG_CLOSE,       /* close after sending data (may be empty) */
};

/* A connection handle: which io lcore, which slot, which incarnation. */
struct cv_conn_ref {
    uint16_t io;
    uint16_t pad;
    uint32_t slot;
    uint32_t gen;
};

struct cv_msg {
    uint16_t type;
    uint16_t pool;      /* which pool it came from */
    uint32_t len;       /* bytes in data */
    uint32_t cap;       /* room in data */
    uint32_t answers;   /* CV_MSG_SEND: requests of this connection it answers */
    uint16_t peer_port; /* CV_MSG_CONNECT: the client's TCP port */
    uint16_t pad2;
    struct cv_conn_ref conn;
    int64_t session;
    int64_t zxid;  /* the sequencer's last applied zxid when it sent this */
    char peer[48]; /* CV_MSG_CONNECT: the peer's address (text) */
    /* The receiving lcore's own use while it keeps the message (the
     * sequencer queues requests that must wait): a link and two values. */
    struct cv_msg *link;
    int64_t wait, t0;
    uint8_t data[];
};

struct cv_rt;

/* A message with room for at least len bytes, or NULL when the pools are
 * exhausted (the caller applies back-pressure and retries later). */
struct cv_msg *cv_msg_get(struct cv_rt *rt, size_t len);
/* The same for a client's input (an io lcore forwarding a request): only
 * from the smallest class that fits, and NULL also when taking a large one
 * would leave less than about a quarter of that class free. Requests the
 * sequencer must hold keep their messages; without this reserve, held
 * requests could take every large message and leave none for the replies
 * that would let them go (a deadlock with large values). */
struct cv_msg *cv_msg_get_input(struct cv_rt *rt, size_t len);
void cv_msg_put(struct cv_rt *rt, struct cv_msg *m);
/* Largest message data the pools hold. */
size_t cv_msg_max(const struct cv_rt *rt);

/* ---- reactors and pollers ------------------------------------------------- */

typedef int (*cv_poll_fn)(void *ctx);
/* Called by an idle reactor in adaptive mode: may block for up to max_us. */
typedef void (*cv_idle_fn)(void *ctx, unsigned max_us);

struct cv_reactor {
    unsigned lcore;
    enum cv_poll_mode mode;
    uint64_t spin_cycles; /* adaptive: TSC cycles polled after the last work */
    struct {
        cv_poll_fn fn;
        void *ctx;
        const char *name;
    } pollers[CV_RT_MAX_POLLERS];
    unsigned npollers;
    cv_idle_fn idle;
    void *idle_ctx;
    /* counters (this lcore only) */
    uint64_t iterations, busy_iterations, sleeps;
};

int cv_reactor_add(struct cv_reactor *r, cv_poll_fn fn, void *ctx, const char *name);

struct cv_rt_config {
    /* lcores to start; lcores[0] is the main lcore */
    unsigned lcores[CV_RT_MAX_LCORES];
    unsigned nlcores;
    enum cv_poll_mode mode;
    unsigned spin_us;      /* adaptive: keep polling this long after the last work */
    const char *eal_extra; /* extra EAL arguments, space separated, or NULL */
    unsigned small_msgs;   /* messages of small_size bytes */
    unsigned small_size;
    unsigned large_msgs; /* messages of large_size bytes */
    unsigned large_size;
    /* DPDK's telemetry socket (/var/run/dpdk/corvid<pid>/dpdk_telemetry.v2
     * as root); off by default */
    bool telemetry;
};

void cv_rt_config_defaults(struct cv_rt_config *cfg);

/* Initialise EAL and the message pools. 0, or a negative errno with a
 * message in err. */
int cv_rt_init(struct cv_rt **rt, const struct cv_rt_config *cfg, char *err, size_t errlen);
/* The reactor of lcores[i]. */
struct cv_reactor *cv_rt_reactor(struct cv_rt *rt, unsigned i);
unsigned cv_rt_nlcores(const struct cv_rt *rt);
/* An SPSC ring of cv_msg pointers; name must be unique. */
struct rte_ring *cv_rt_ring(struct cv_rt *rt, const char *name, unsigned size);
/* Run every reactor (the main lcore's on the calling thread) until stopped. */
int cv_rt_run(struct cv_rt *rt);
void cv_rt_fini(struct cv_rt *rt);

/* Stop every reactor (async-signal-safe). */
void cv_rt_stop(void);
bool cv_rt_stopping(void);
/* Install SIGINT / SIGTERM handlers that call cv_rt_stop. */
void cv_rt_handle_signals(void);

/* Milliseconds of wall-clock time (ZooKeeper stamps transactions with it). */
int64_t cv_rt_now_ms(void);
/* Microseconds of a monotonic clock (latencies: a step of the wall clock
 * must not show as one). */
int64_t cv_rt_mono_us(void);

#ifdef __cplusplus
}
#endif
#endif /* CV_RUNTIME_H */
