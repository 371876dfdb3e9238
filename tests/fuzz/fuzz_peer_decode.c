/*
 * libFuzzer target for the peer-message decoder (cv_peer_decode).
 *
 * Input: a byte stream; every message at its start is decoded, one after the
 * other, until decode stops returning 0. Properties beyond sanitizer
 * cleanliness: decode returns only 0, -EAGAIN or -EBADMSG and never claims
 * more bytes than it was given; every decoded message re-encodes to exactly
 * the bytes it took, and decoding that encoding gives identical fields and
 * payload bytes. A REQUEST's payload (a forwarded client request) is also
 * split with cv_peer_fwd_decode: the parts lie inside the payload and add up
 * to it; an ids part of the size of struct cv_acl_auth that
 * cv_acl_auth_check accepts yields only ids inside it (every byte is read);
 * the request part goes through the client-request decoder.
 *
 * Built with -DCV_FUZZ_SEED_MAIN it is instead a seed generator:
 * `fuzz_peer_decode_seed DIR` writes valid messages of every type.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv_acl.h"
#include "cv_peer.h"
#include "cv_proto.h"

static uint8_t enc[CV_PEER_OVERHEAD + CV_PEER_MAX_PAYLOAD];

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_peer_decode: property violated: %s\n", what);
        abort();
    }
}

static int same(const struct cv_peer_msg *x, const struct cv_peer_msg *y)
{
    if (x->type != y->type || x->from != y->from || x->state != y->state || x->flags != y->flags ||
        x->epoch != y->epoch || x->round != y->round || x->zxid != y->zxid || x->a != y->a ||
        x->b != y->b || x->len != y->len)
        return 0;
    if (x->len == 0)
        return x->payload == NULL && y->payload == NULL;
    return x->payload && y->payload && memcmp(x->payload, y->payload, x->len) == 0;
}

static void check_forward(const struct cv_peer_msg *m)
{
    const uint8_t *ap, *rp;
    uint32_t alen;
    size_t rlen;
    if (cv_peer_fwd_decode(m->payload, m->len, &ap, &alen, &rp, &rlen) != 0)
        return;
    check(ap == m->payload + 4 && rp == ap + alen && 4 + (size_t)alen + rlen == m->len && rlen > 0,
          "the forwarded parts lie inside the payload and add up to it");
    if (alen == sizeof(struct cv_acl_auth)) {
        struct cv_acl_auth a;
        memcpy(&a, ap, sizeof a);
        if (cv_acl_auth_check(&a) == 0) {
            volatile uint8_t sum = 0;
            struct cv_id id;
            for (unsigned i = 0; cv_acl_auth_get(&a, i, &id) == 0; i++)
                for (int32_t k = 0; k < id.id.len; k++)
                    sum ^= id.id.ptr[k];
            (void)sum;
        }
    }
    struct cv_request req;
    (void)cv_proto_decode_request(rp, rlen, &req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    for (;;) {
        struct cv_peer_msg m;
        size_t used = 0;
        int r = cv_peer_decode(data + off, size - off, &m, &used);
        check(r == 0 || r == -EAGAIN || r == -EBADMSG, "decode returns 0, -EAGAIN or -EBADMSG");
        if (r != 0)
            break;
        check(used >= CV_PEER_OVERHEAD && used <= size - off, "used lies within the input");
        check(used == cv_peer_encoded_len(&m), "used is the message's encoded length");
        check(m.len == 0 || (m.payload == data + off + CV_PEER_HDR),
              "the payload points into the input");

        if (m.type == CV_PEER_REQUEST && m.len)
            check_forward(&m);
        int k = cv_peer_encode(&m, enc, sizeof enc);
        check(k >= 0 && (size_t)k == used, "a decoded message re-encodes to its length");
        check(cv_peer_encode(&m, enc, (size_t)k - 1) == -ENOBUFS, "one byte short is -ENOBUFS");
        k = cv_peer_encode(&m, enc, (size_t)k);
        struct cv_peer_msg again;
        size_t used2 = 0;
        check(cv_peer_decode(enc, (size_t)k, &again, &used2) == 0 && used2 == (size_t)k,
              "the re-encoding decodes whole");
        check(same(&m, &again), "decode(encode(m)) == m");
        off += used;
    }
    return 0;
}

#ifdef CV_FUZZ_SEED_MAIN
static void save(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    if (n && fwrite(p, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
    /* Every seed must already satisfy the target's properties. */
    LLVMFuzzerTestOneInput(p, n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_peer_decode_seed DIR\n");
        return 2;
    }
    static const uint8_t txn[] = {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 'h', 'i'};
    static const uint8_t touches[] = {0, 0, 0, 0, 0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 2};
    static uint8_t all[64 * 1024];
    size_t all_len = 0;
    for (int t = CV_PEER_VOTE; t <= CV_PEER_TYPE_MAX; t++) {
        struct cv_peer_msg m;
        memset(&m, 0, sizeof m);
        m.type = (uint8_t)t;
        m.from = (uint8_t)(t % CV_PEER_MAX_SID + 1);
        m.epoch = 7;
        m.round = 3;
        m.zxid = (7LL << 32) | (int64_t)t;
        m.a = 0x0123456789abcdefLL;
        m.b = 42;
        switch (t) {
        case CV_PEER_VOTE:
            m.state = CV_PEER_LEADING;
            m.a = 2;
            break;
        case CV_PEER_FOLLOWERINFO: m.flags = CV_PEER_F_OBSERVER; break;
        case CV_PEER_SNAP:
            m.a = 100;
            m.b = 100 + (int64_t)sizeof txn + 50;
            m.payload = txn;
            m.len = sizeof txn;
            break;
        case CV_PEER_PROPOSAL:
        case CV_PEER_INFORM:
        case CV_PEER_REQUEST:
            m.payload = txn;
            m.len = sizeof txn;
            break;
        case CV_PEER_PING:
            m.payload = touches;
            m.len = sizeof touches;
            break;
        }
        uint8_t buf[256];
        int k = cv_peer_encode(&m, buf, sizeof buf);
        if (k < 0) {
            fprintf(stderr, "fuzz_peer_decode_seed: cannot encode %s: %d\n", cv_peer_type_name(t),
                    k);
            return 1;
        }
        char name[64];
        snprintf(name, sizeof name, "seed-%s", cv_peer_type_name(t));
        save(argv[1], name, buf, (size_t)k);
        memcpy(all + all_len, buf, (size_t)k);
        all_len += (size_t)k;
    }
    /* Every type back to back, then the start of one more. */
    memcpy(all + all_len, all, 40);
    save(argv[1], "seed-stream", all, all_len + 40);
    return 0;
}
#endif
