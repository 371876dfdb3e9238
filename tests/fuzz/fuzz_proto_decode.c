/*
 * libFuzzer target for every decoder in dataplane/proto.
 *
 * Input: [mode][op][payload...]. mode picks the decoder (connect request,
 * connect response, request, response to opcode (int8_t)op, transaction,
 * framing); the payload is what follows a frame's length prefix.
 *
 * Properties checked beyond "no crash, no overread, no leak" (ASan/UBSan):
 * - whatever decodes re-encodes (element by element) to the same length, and
 *   decoding that encoding gives back the same encoding (the only
 *   normalisation allowed is a boolean byte becoming 0/1);
 * - the framing function never claims more bytes than it was given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv_proto_replay.h"

enum { M_CONNECT_REQ, M_CONNECT_RESP, M_REQUEST, M_RESPONSE, M_TXN, M_FRAME, M_COUNT };

static struct cv_replay *rp;
static uint8_t *enc1, *enc2;
#define ENC_CAP (8u << 20)

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_proto_decode: property violated: %s\n", what);
        abort();
    }
}

/* Decode payload p (len n) in the given mode into a freshly deepened record
 * and encode it into out. Returns the encoded frame length, or < 0 when the
 * payload does not decode. */
static int decode_encode(int mode, int32_t op, const uint8_t *p, size_t n, uint8_t *out)
{
    rp->arena_used = 0;
    switch (mode) {
    case M_CONNECT_REQ: {
        struct cv_connect_request r;
        if (cv_proto_decode_connect_request(p, n, &r))
            return -1;
        return cv_proto_encode_connect_request(out, ENC_CAP, &r);
    }
    case M_CONNECT_RESP: {
        struct cv_connect_response r;
        if (cv_proto_decode_connect_response(p, n, &r))
            return -1;
        return cv_proto_encode_connect_response(out, ENC_CAP, &r);
    }
    case M_REQUEST: {
        struct cv_request r;
        if (cv_proto_decode_request(p, n, &r))
            return -1;
        int known;
        const struct cv_jrec_desc *d = cv_proto_request_desc(r.hdr.type, &known);
        if (r.hdr.type == CV_OP_MULTI || r.hdr.type == CV_OP_MULTI_READ)
            check(cv_replay_deepen_multi(rp, &r.u.multi, 0) == 0, "multi ops iterate");
        else if (d)
            check(cv_replay_deepen(rp, d, &r.u) == 0, "request vectors iterate");
        return cv_proto_encode_request(out, ENC_CAP, &r);
    }
    case M_RESPONSE: {
        struct cv_response r;
        if (cv_proto_decode_response(p, n, op, &r))
            return -1;
        if (r.has_body) {
            if (r.op == CV_OP_MULTI || r.op == CV_OP_MULTI_READ)
                check(cv_replay_deepen_multi(rp, &r.u.multi, 1) == 0, "multi results iterate");
            else
                check(cv_replay_deepen(rp, cv_proto_response_desc(r.op), &r.u) == 0,
                      "response vectors iterate");
        }
        return cv_proto_encode_response(out, ENC_CAP, &r);
    }
    case M_TXN: {
        struct cv_txn t;
        if (cv_proto_decode_txn(p, n, &t))
            return -1;
        if (t.has_body)
            check(cv_replay_deepen(rp, cv_proto_txn_desc(t.hdr.type), &t.u) == 0,
                  "txn vectors iterate");
        /* Transactions carry no length prefix: add room for the comparison. */
        int k = cv_proto_encode_txn(out + 4, ENC_CAP - 4, &t);
        if (k >= 0)
            cv_jute_wr32(out, (uint32_t)k);
        return k < 0 ? k : k + 4;
    }
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rp) {
        rp = malloc(sizeof *rp);
        enc1 = malloc(ENC_CAP);
        enc2 = malloc(ENC_CAP);
        if (!rp || !enc1 || !enc2 || cv_replay_init(rp))
            abort();
    }
    if (size < 2)
        return 0;
    int mode = data[0] % M_COUNT;
    int32_t op = (int8_t)data[1];
    const uint8_t *p = data + 2;
    size_t n = size - 2;

    if (mode == M_FRAME) {
        uint32_t plen = 0;
        uint32_t max = op > 0 ? (uint32_t)op * 4096u : CV_PROTO_DEFAULT_MAX_FRAME;
        int64_t f = cv_proto_frame(p, n, max, &plen);
        check(f <= (int64_t)n, "frame never longer than the bytes given");
        if (f > 0)
            check(plen <= max && (int64_t)plen + 4 == f, "frame length consistent");
        return 0;
    }

    int k1 = decode_encode(mode, op, p, n, enc1);
    if (k1 < 0)
        return 0;
    check((size_t)k1 == n + 4, "re-encoding has the decoded payload's length");
    int k2 = decode_encode(mode, op, enc1 + 4, (size_t)k1 - 4, enc2);
    check(k2 == k1, "re-encoding decodes again");
    check(memcmp(enc1, enc2, (size_t)k1) == 0, "encode(decode(encode(x))) == encode(x)");
    return 0;
}
