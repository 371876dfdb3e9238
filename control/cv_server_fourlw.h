/*
 * cv_server_fourlw — the sequencer's four-letter-word hook: builds a
 * cv_fourlw view from the sequencer's state and renders the reply. Runs on
 * the sequencer lcore; its buffers are allocated once at start-up.
 */
#ifndef CV_SERVER_FOURLW_H
#define CV_SERVER_FOURLW_H

#include "cv_config.h"
#include "cv_fourlw.h"
#include "cv_seq.h"

struct cv_server_4lw {
    const struct cv_config *cfg;
    const char *version;
    struct cv_fourlw_env env;
    struct cv_fourlw_conn *conns;
    size_t conns_cap;
    struct cv_fourlw_session *sessions;
    size_t sessions_cap;
};

/* cv_seq_hooks.fourlw with ctx = struct cv_server_4lw *. */
size_t cv_server_fourlw(void *ctx, struct cv_seq *seq, const char cmd[4], char *out, size_t cap);

#endif /* CV_SERVER_FOURLW_H */
