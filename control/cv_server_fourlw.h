/*
 * cv_server_fourlw — the sequencer's four-letter-word hook: renders the
 * reply from the counter registry (the sequencer's slot published first,
 * so mntr prints what /metrics and /commands/monitor print) and, for the
 * words that list them, the sequencer's live tables. Runs on the sequencer
 * lcore; its buffers are allocated once at start-up (struct cv_server).
 */
#ifndef CV_SERVER_FOURLW_H
#define CV_SERVER_FOURLW_H

#include "cv_server.h"

/* cv_seq_hooks.fourlw with ctx = struct cv_server *. */
size_t cv_server_fourlw(void *ctx, struct cv_seq *seq, const char cmd[4], char *out, size_t cap);

/* A connection as the four-letter words and the admin commands print it. */
void cv_server_conn_record(const struct cv_seq_conn_info *c, struct cv_fourlw_conn *o);

/* The sequencer's watches (by session, or by path) and ephemerals (grouped
 * by owner) as cv_fourlw_view walks them; ctx = the struct cv_seq *.
 * Sequencer lcore only. */
int cv_server_walk_watches(void *ctx, bool by_path, cv_fourlw_visit_fn visit, void *vctx);
int cv_server_walk_ephemerals(void *ctx, cv_fourlw_visit_fn visit, void *vctx);

#endif /* CV_SERVER_FOURLW_H */
