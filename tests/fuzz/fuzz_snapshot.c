/*
 * libFuzzer target for the snapshot decoders: the data tree's
 * (cv_tree_deserialize), the session table's (cv_sess_deserialize) and the
 * whole core's (cv_core_restore, which frames both).
 *
 * Input: [mode][bytes...]. For the tree, the trailing CRC-32C is recomputed
 * over the fuzzed bytes first, so the structure parser behind the checksum is
 * what gets exercised. Properties beyond sanitizer cleanliness: whatever
 * decodes passes its own consistency check and re-serializes to bytes that
 * decode to the same digest (serialize is a fixed point after one round).
 *
 * Built with -DCV_FUZZ_SEED_MAIN it is instead a seed generator:
 * `fuzz_snapshot_seed DIR` writes valid snapshots of small random states.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv_core.h"
#include "cv_crc.h"

enum { M_TREE, M_SESS, M_CORE, M_COUNT };

struct buf {
    uint8_t *p;
    size_t len, cap;
};

static int buf_write(void *ctx, const void *p, size_t n)
{
    struct buf *b = ctx;
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            return -ENOMEM;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_snapshot: property violated: %s\n", what);
        abort();
    }
}

static struct cv_core *new_core(void)
{
    struct cv_core_config cfg;
    cv_core_config_init(&cfg, 1000);
    memcpy(cfg.sess.secret, "fuzz-secret-0123456789abcdef", 28);
    cfg.sess.secret_len = 28;
    cfg.sess.max_sessions = 1024;
    cfg.max_outstanding = 64;
    cfg.max_frame = 1 << 16;
    return cv_core_new(&cfg, NULL);
}

static void fuzz_tree(const uint8_t *data, size_t size)
{
    if (size < 8)
        return;
    uint8_t *p = malloc(size);
    memcpy(p, data, size);
    uint32_t crc = cv_crc32c(p, size - 4);
    p[size - 4] = (uint8_t)(crc >> 24);
    p[size - 3] = (uint8_t)(crc >> 16);
    p[size - 2] = (uint8_t)(crc >> 8);
    p[size - 1] = (uint8_t)crc;
    struct cv_tree *t = NULL;
    if (cv_tree_deserialize(&t, p, size) == 0) {
        check(cv_tree_check(t) == 0, "a decoded tree is consistent");
        struct buf b = {0};
        check(cv_tree_serialize(t, buf_write, &b) == 0, "a decoded tree serializes");
        struct cv_tree *again = NULL;
        check(cv_tree_deserialize(&again, b.p, b.len) == 0, "its serialization decodes");
        check(cv_tree_digest(again) == cv_tree_digest(t), "round trip keeps the digest");
        struct buf b2 = {0};
        check(cv_tree_serialize(again, buf_write, &b2) == 0 && b2.len == b.len &&
                  memcmp(b.p, b2.p, b.len) == 0,
              "serialize is a fixed point");
        free(b.p);
        free(b2.p);
        cv_tree_free(again);
        cv_tree_free(t);
    }
    free(p);
}

static void fuzz_sess(const uint8_t *data, size_t size)
{
    struct cv_sess_config cfg;
    cv_sess_config_init(&cfg, 1000, 1024);
    memcpy(cfg.secret, "fuzz-secret-0123456789abcdef", 28);
    cfg.secret_len = 28;
    struct cv_sess_table t;
    if (cv_sess_table_init(&t, &cfg))
        abort();
    size_t used = 0;
    if (cv_sess_deserialize(&t, data, size, &used, 0) == 0) {
        check(used <= size, "used never exceeds the input");
        /* The input may list sessions in any order (ZooKeeper's snapshots do);
         * serialize sorts them, so one round reaches a fixed point. */
        size_t n = cv_sess_serialized_size(&t);
        uint8_t *out = malloc(n + 1), *out2 = malloc(n + 1);
        int64_t k = cv_sess_serialize(&t, out, n);
        check(k >= 0 && (size_t)k == used, "re-serialization has the decoded length");
        struct cv_sess_table t2;
        if (cv_sess_table_init(&t2, &cfg))
            abort();
        size_t used2 = 0;
        check(cv_sess_deserialize(&t2, out, (size_t)k, &used2, 0) == 0 && used2 == (size_t)k,
              "a serialized table decodes");
        check(cv_sess_count(&t2) == cv_sess_count(&t), "round trip keeps every session");
        int64_t k2 = cv_sess_serialize(&t2, out2, n);
        check(k2 == k && memcmp(out, out2, (size_t)k) == 0, "serialize is a fixed point");
        cv_sess_table_fini(&t2);
        free(out);
        free(out2);
    }
    cv_sess_table_fini(&t);
}

static void fuzz_core(const uint8_t *data, size_t size)
{
    struct cv_core *c = new_core();
    if (!c)
        abort();
    if (cv_core_restore(c, data, size, 0) == 0) {
        uint64_t d = cv_core_digest(c);
        struct buf b = {0};
        check(cv_core_serialize(c, buf_write, &b) == 0, "a restored core serializes");
        struct cv_core *c2 = new_core();
        check(cv_core_restore(c2, b.p, b.len, 0) == 0, "its snapshot restores");
        check(cv_core_digest(c2) == d, "restore keeps the digest");
        free(b.p);
        cv_core_free(c2);
    }
    cv_core_free(c);
}

#ifndef CV_FUZZ_SEED_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % M_COUNT) {
    case M_TREE: fuzz_tree(data + 1, size - 1); break;
    case M_SESS: fuzz_sess(data + 1, size - 1); break;
    case M_CORE: fuzz_core(data + 1, size - 1); break;
    }
    return 0;
}
#else
/* Seeds: snapshots of a few small states built through the real write path. */
static void save(const char *dir, const char *name, uint8_t mode, const struct buf *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fwrite(&mode, 1, 1, f);
    fwrite(b->p, 1, b->len, f);
    fclose(f);
    /* Every seed must already satisfy the target's properties. */
    if (mode == M_TREE)
        fuzz_tree(b->p, b->len);
    else if (mode == M_SESS)
        fuzz_sess(b->p, b->len);
    else
        fuzz_core(b->p, b->len);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_snapshot_seed DIR\n");
        return 2;
    }
    struct cv_core *c = new_core();
    uint8_t txn[4096];
    size_t len;
    int64_t s;
    int32_t to;
    cv_core_prepare_create_session(c, 5000, 1000, &s, &to, txn, sizeof txn, &len);
    cv_core_apply(c, txn, len, NULL);
    struct cv_acl acl[2] = {{31, {cv_jstr("world"), cv_jstr("anyone")}},
                            {1, {cv_jstr("digest"), cv_jstr("u:hash")}}};
    const char *paths[] = {"/a", "/a/b", "/a/c", "/e", "/t"};
    for (int i = 0; i < 5; i++) {
        struct cv_request r;
        memset(&r, 0, sizeof r);
        r.hdr.xid = i + 1;
        r.hdr.type = i == 4 ? CV_OP_CREATE_TTL : CV_OP_CREATE;
        r.u.create.path = cv_jstr(paths[i]);
        r.u.create.data = cv_jstr(i % 2 ? "data" : "");
        r.u.create.acl.count = 1 + i % 2;
        r.u.create.acl.items = acl;
        r.u.create.flags = i == 3 ? 1 : i == 4 ? 5 : 0;
        r.u.create.ttl = i == 4 ? 5000 : 0;
        struct cv_core_req q = {s, NULL, &r, false};
        if (cv_core_prepare(c, &q, 2000 + i, txn, sizeof txn, &len) == 0)
            cv_core_apply(c, txn, len, NULL);
    }
    struct buf core = {0}, tree = {0};
    cv_core_serialize(c, buf_write, &core);
    cv_tree_serialize(cv_core_tree(c), buf_write, &tree);
    save(argv[1], "seed-core", M_CORE, &core);
    save(argv[1], "seed-tree", M_TREE, &tree);
    uint8_t *s_bytes = malloc(cv_sess_serialized_size(cv_core_sessions(c)));
    int64_t n = cv_sess_serialize(cv_core_sessions(c), s_bytes,
                                  cv_sess_serialized_size(cv_core_sessions(c)));
    struct buf sess = {s_bytes, (size_t)n, (size_t)n};
    save(argv[1], "seed-sess", M_SESS, &sess);
    struct cv_tree *empty = cv_tree_new();
    struct buf e = {0};
    cv_tree_serialize(empty, buf_write, &e);
    save(argv[1], "seed-tree-empty", M_TREE, &e);
    free(core.p);
    free(tree.p);
    free(s_bytes);
    free(e.p);
    cv_tree_free(empty);
    cv_core_free(c);
    return 0;
}
#endif
