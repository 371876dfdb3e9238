/*
 * cv_proto_replay — check the codec against a recorded ZooKeeper conversation.
 *
 * A recording is a sequence of frames, each tagged with a connection id and a
 * direction (client→server 'C', server→client 'S'). For every frame the
 * replayer decodes it as the protocol state of its connection says it must be
 * (ConnectRequest/ConnectResponse first, then requests and the replies whose
 * opcode the request with the same xid named), re-encodes it element by
 * element (vectors and multi entries rebuilt from their decoded items, never
 * copied raw), and compares the bytes with the original.
 *
 * Text format of a recording file (tests/proto/golden/README.md):
 *   # comment
 *   <conn-id> <C|S> <hex of the whole frame, length prefix included>
 *
 * Contract: a tool for tests and `corvid --self-check`, not the request path.
 * cv_replay_init allocates a scratch arena once (malloc); nothing else
 * allocates. Not thread-safe: one struct cv_replay per thread.
 */
#ifndef CV_PROTO_REPLAY_H
#define CV_PROTO_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cv_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CV_REPLAY_MAX_CONNS 64
#define CV_REPLAY_XID_RING  1024
/* Opcodes -16..111 map to slots 0..127. */
#define CV_REPLAY_OP_SLOTS    128
#define CV_REPLAY_OP_SLOT(op) ((unsigned)((op) + 16) & (CV_REPLAY_OP_SLOTS - 1))

struct cv_replay_conn {
    int id; /* 0: slot free */
    uint8_t got_connect_req;
    uint8_t got_connect_resp;
    uint32_t next; /* next slot in the xid ring */
    int32_t xid[CV_REPLAY_XID_RING];
    int32_t op[CV_REPLAY_XID_RING];
};

struct cv_replay_stats {
    uint32_t frames;
    uint32_t ok; /* decoded and re-encoded byte-exactly */
    uint32_t failed;
    uint32_t connect_req, connect_resp, notifications;
    uint32_t req[CV_REPLAY_OP_SLOTS];       /* requests by opcode */
    uint32_t resp[CV_REPLAY_OP_SLOTS];      /* replies by request opcode */
    uint32_t resp_err[CV_REPLAY_OP_SLOTS];  /* replies carrying an error code */
    uint32_t multi_ops[CV_REPLAY_OP_SLOTS]; /* ops inside multi requests */
};

struct cv_replay {
    struct cv_replay_conn conns[CV_REPLAY_MAX_CONNS];
    struct cv_replay_stats st;
    uint8_t *arena; /* scratch for rebuilt vectors and the re-encoded frame */
    size_t arena_size;
    size_t arena_used;
    char last_error[256];
};

/* 0 or -ENOMEM. */
int cv_replay_init(struct cv_replay *r);
void cv_replay_fini(struct cv_replay *r);

/* Replay one whole frame (length prefix included). 0 when it decoded and
 * re-encoded byte-exactly; negative otherwise, with r->last_error saying why. */
int cv_replay_frame(struct cv_replay *r, int conn, char dir, const uint8_t *frame, size_t len);

/* Replay every frame of a recording file; connection ids are scoped to the
 * file (state from earlier files is forgotten, statistics add up). Returns the number of frames
 * that failed (0 = all good), or a negative errno if the file cannot be read or a line is not in
 * the format. Failures are described on log (may be NULL). */
int cv_replay_file(struct cv_replay *r, const char *path, FILE *log);

/* Rebuild every vector (and multi entry list) reachable from rec as an items
 * array in the arena, so that encoding walks elements instead of copying raw
 * bytes. Exposed for tests and the fuzz target. 0 or -ENOMEM. */
int cv_replay_deepen(struct cv_replay *r, const struct cv_jrec_desc *d, void *rec);
int cv_replay_deepen_multi(struct cv_replay *r, struct cv_multi *m, int results);

#ifdef __cplusplus
}
#endif
#endif /* CV_PROTO_REPLAY_H */
