/* cv_core — life cycle, sessions, digest, snapshot. Contract in cv_core.h. */
#include <stdlib.h>
#include <string.h>

#include "cv_core_int.h"
#include "cv_crc.h"

void cv_core_config_init(struct cv_core_config *cfg, int32_t tick_ms)
{
    memset(cfg, 0, sizeof *cfg);
    cv_sess_config_init(&cfg->sess, tick_ms, 1u << 16);
    cfg->max_outstanding = 1u << 16;
    cfg->max_frame = CV_PROTO_DEFAULT_MAX_FRAME;
}

struct cv_core *cv_core_new(const struct cv_core_config *cfg, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (cv_sess_config_check(&cfg->sess, why))
        return NULL;
    if (cfg->server_id > CV_SESS_SERVER_ID_MAX) {
        *why = "server id must be 0..254";
        return NULL;
    }
    if (cfg->max_outstanding < 16 || cfg->max_frame < 1024) {
        *why = "max_outstanding must be >= 16 and max_frame >= 1024";
        return NULL;
    }
    struct cv_core *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cfg = *cfg;
    c->tree = cv_tree_new();
    c->watches = cv_watch_create(NULL);
    c->pending_cap = cfg->sess.max_sessions;
    c->pending_ids = malloc(c->pending_cap * sizeof *c->pending_ids);
    /* prepare needs room for a whole multi's sub-transactions, fixed-up ACL
     * lists and sequential paths; read for rebuilt children lists. */
    c->scratch_cap = 4 * (size_t)cfg->max_frame + (1u << 20);
    c->scratch = malloc(c->scratch_cap);
    c->frame_cap = (size_t)cfg->max_frame + 64;
    c->frame = malloc(c->frame_cap);
    if (!c->tree || !c->watches || !c->pending_ids || !c->scratch || !c->frame ||
        cv_sess_table_init(&c->sess, &cfg->sess) || cv_core_changes_init(c) ||
        cv_sess_idgen_init(&c->idgen, cfg->server_id, cfg->start_ms)) {
        *why = "out of memory";
        cv_core_free(c);
        return NULL;
    }
    cv_core_refresh_config_node(c);
    return c;
}

void cv_core_refresh_config_node(struct cv_core *c)
{
    const char *q = c->cfg.quorum_config;
    if (!q)
        return;
    /* DataTree: the config node is set with version -1 (it is not a client
     * write), czxid/mzxid 0. */
    cv_tree_set_data(c->tree, "/zookeeper/config", 17, q, (int32_t)strlen(q), -1, 0,
                     c->cfg.start_ms, NULL);
}

void cv_core_free(struct cv_core *c)
{
    if (!c)
        return;
    cv_core_changes_fini(c);
    cv_tree_free(c->tree);
    cv_watch_destroy(c->watches);
    cv_sess_table_fini(&c->sess);
    free(c->pending_ids);
    free(c->scratch);
    free(c->frame);
    free(c);
}

struct cv_tree *cv_core_tree(struct cv_core *c)
{
    return c->tree;
}
struct cv_sess_table *cv_core_sessions(struct cv_core *c)
{
    return &c->sess;
}
struct cv_watches *cv_core_watches(struct cv_core *c)
{
    return c->watches;
}
int64_t cv_core_last_applied(const struct cv_core *c)
{
    return c->last_applied;
}
int64_t cv_core_last_prepared(const struct cv_core *c)
{
    return c->last_prepared;
}
uint32_t cv_core_outstanding(const struct cv_core *c)
{
    return cv_core_change_count(c);
}

void cv_core_restart_clocks(struct cv_core *c, int64_t now_ms)
{
    cv_sess_restart_clocks(&c->sess, now_ms);
}

int cv_core_set_zxid(struct cv_core *c, int64_t zxid)
{
    if (cv_core_change_count(c) || c->pending_n)
        return -EBUSY;
    c->last_prepared = c->last_applied = zxid;
    return 0;
}

void *cv_core_scratch(struct cv_core *c, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n > c->scratch_cap - c->scratch_used)
        return NULL;
    void *p = c->scratch + c->scratch_used;
    c->scratch_used += n;
    return p;
}

bool cv_core_session_pending(const struct cv_core *c, int64_t id)
{
    for (uint32_t i = 0; i < c->pending_n; i++)
        if (c->pending_ids[i] == id)
            return true;
    return false;
}

int cv_core_prepare_create_session(struct cv_core *c, int32_t requested_timeout, int64_t now_ms,
                                   int64_t *session, int32_t *timeout, uint8_t *out, size_t cap,
                                   size_t *len)
{
    if (c->pending_n == c->pending_cap ||
        cv_sess_count(&c->sess) + c->pending_n >= c->cfg.sess.max_sessions)
        return -EBUSY;
    int64_t id = cv_core_new_session_id(c);
    int rc =
        cv_core_prepare_create_session_id(c, id, requested_timeout, now_ms, timeout, out, cap, len);
    if (rc == 0)
        *session = id;
    return rc;
}

int64_t cv_core_new_session_id(struct cv_core *c)
{
    int64_t id = cv_sess_idgen_next(&c->idgen, &c->sess);
    while (cv_core_session_pending(c, id))
        id = cv_sess_idgen_next(&c->idgen, &c->sess);
    return id;
}

int cv_core_prepare_create_session_id(struct cv_core *c, int64_t id, int32_t requested_timeout,
                                      int64_t now_ms, int32_t *timeout, uint8_t *out, size_t cap,
                                      size_t *len)
{
    if (id == 0 || cv_sess_id_reserved(id))
        return -EINVAL;
    struct cv_sess_info info;
    if (cv_core_session_pending(c, id) || cv_sess_get(&c->sess, id, &info) == 0)
        return -EEXIST;
    if (c->pending_n == c->pending_cap ||
        cv_sess_count(&c->sess) + c->pending_n >= c->cfg.sess.max_sessions)
        return -EBUSY;
    int32_t to = cv_sess_negotiate_timeout(&c->cfg.sess, requested_timeout);
    struct cv_txn t;
    memset(&t, 0, sizeof t);
    t.hdr.client_id = id;
    t.hdr.zxid = c->last_prepared + 1;
    t.hdr.time = now_ms;
    t.hdr.type = CV_OP_CREATE_SESSION;
    t.has_body = 1;
    t.u.number.value = to;
    int n = cv_proto_encode_txn(out, cap, &t);
    if (n < 0)
        return n;
    c->last_prepared++;
    c->pending_ids[c->pending_n++] = id;
    *timeout = to;
    *len = (size_t)n;
    return 0;
}

void cv_core_abandon(struct cv_core *c, int64_t now_ms)
{
    cv_core_change_rollback_all(c);
    c->pending_n = 0;
    c->last_prepared = c->last_applied;
    cv_sess_restart_clocks(&c->sess, now_ms);
}

size_t cv_core_expired(struct cv_core *c, int64_t now_ms, int64_t *out, size_t max)
{
    return cv_sess_expired(&c->sess, now_ms, out, max);
}

int cv_core_touch(struct cv_core *c, int64_t session, int64_t now_ms)
{
    return cv_sess_touch(&c->sess, session, now_ms);
}

size_t cv_core_drop_watches(struct cv_core *c, int64_t session)
{
    return cv_watch_remove_session(c->watches, session);
}

int cv_core_validate_session(struct cv_core *c, const struct cv_connect_request *cr,
                             int32_t *timeout)
{
    if (cv_core_session_pending(c, cr->session_id))
        return CV_CORE_HOLD;
    struct cv_sess_info info;
    if (cv_sess_get(&c->sess, cr->session_id, &info) || info.closing)
        return CV_ZSESSIONEXPIRED;
    if (cr->passwd.len < 0 || cv_sess_password_check(&c->cfg.sess, cr->session_id, cr->passwd.ptr,
                                                     (size_t)cr->passwd.len))
        return CV_ZSESSIONEXPIRED;
    *timeout = info.timeout;
    return 0;
}

int cv_core_connect_response(const struct cv_core *c, int64_t session, int32_t timeout,
                             bool has_read_only, uint8_t *out, size_t cap)
{
    uint8_t pw[CV_SESS_PASSWD_LEN] = {0};
    if (session != 0 && cv_sess_password(&c->cfg.sess, session, pw))
        return -EIO;
    struct cv_connect_response r = {0, session ? timeout : 0, session, {pw, CV_SESS_PASSWD_LEN},
                                    0, has_read_only};
    return cv_proto_encode_connect_response(out, cap, &r);
}

/* ---- digest and snapshot -------------------------------------------------- */

uint64_t cv_core_sess_hash(int64_t id, int32_t timeout)
{
    uint8_t rec[12];
    cv_jute_wr32(rec, (uint32_t)((uint64_t)id >> 32));
    cv_jute_wr32(rec + 4, (uint32_t)id);
    cv_jute_wr32(rec + 8, (uint32_t)timeout);
    uint64_t h = cv_crc64(rec, sizeof rec);
    h ^= h >> 33; /* spread CRC-64's linearity before summing */
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

uint64_t cv_core_digest(const struct cv_core *c)
{
    /* Sessions count by (id, timeout); deadlines are local state. */
    return cv_tree_digest(c->tree) ^ (c->sess_digest * 0x9e3779b97f4a7c15ull) ^
           (uint64_t)c->last_applied;
}

static uint64_t sess_digest_recompute(const struct cv_sess_table *t)
{
    struct cv_sess_info infos[256];
    int64_t after = 0;
    const int64_t *cursor = NULL;
    uint64_t sum = 0;
    for (;;) {
        size_t n = cv_sess_list(t, cursor, infos, 256);
        for (size_t i = 0; i < n; i++)
            sum += cv_core_sess_hash(infos[i].id, infos[i].timeout);
        if (n < 256)
            return sum;
        after = infos[n - 1].id;
        cursor = &after;
    }
}

/* Snapshot: "CVCS" u32 version, i64 last_applied, u32 sess_len, sessions,
 * then the tree's own snapshot. */
static const uint8_t core_magic[4] = {'C', 'V', 'C', 'S'};

int cv_core_serialize(const struct cv_core *c, int (*write)(void *ctx, const void *p, size_t n),
                      void *ctx)
{
    size_t slen = cv_sess_serialized_size(&c->sess);
    uint8_t *s = malloc(slen + 20);
    if (!s)
        return -ENOMEM;
    memcpy(s, core_magic, 4);
    cv_jute_wr32(s + 4, 1);
    cv_jute_wr32(s + 8, (uint32_t)((uint64_t)c->last_applied >> 32));
    cv_jute_wr32(s + 12, (uint32_t)c->last_applied);
    int64_t n = cv_sess_serialize(&c->sess, s + 20, slen);
    int rc = n < 0 ? (int)n : 0;
    if (rc == 0) {
        cv_jute_wr32(s + 16, (uint32_t)n);
        rc = write(ctx, s, 20 + (size_t)n);
    }
    free(s);
    return rc ? rc : cv_tree_serialize(c->tree, write, ctx);
}

int cv_core_restore(struct cv_core *c, const uint8_t *p, size_t n, int64_t now_ms)
{
    if (cv_core_change_count(c) || c->pending_n)
        return -EBUSY;
    if (n < 20 || memcmp(p, core_magic, 4) || cv_jute_rd32(p + 4) != 1)
        return -EBADMSG;
    int64_t zxid = (int64_t)((uint64_t)cv_jute_rd32(p + 8) << 32 | cv_jute_rd32(p + 12));
    uint32_t slen = cv_jute_rd32(p + 16);
    if (slen > n - 20)
        return -EBADMSG;
    struct cv_sess_table sess;
    if (cv_sess_table_init(&sess, &c->cfg.sess))
        return -ENOMEM;
    size_t used = 0;
    int rc = cv_sess_deserialize(&sess, p + 20, slen, &used, now_ms);
    if (rc == 0 && used != slen)
        rc = -EBADMSG;
    struct cv_tree *t = NULL;
    if (rc == 0)
        rc = cv_tree_deserialize(&t, p + 20 + slen, n - 20 - slen);
    if (rc) {
        cv_sess_table_fini(&sess);
        return rc == -ENOMEM ? rc : -EBADMSG;
    }
    cv_sess_table_fini(&c->sess);
    c->sess = sess;
    cv_tree_free(c->tree);
    c->tree = t;
    /* Watches belong to connections, which a restore does not carry. */
    cv_watch_destroy(c->watches);
    c->watches = cv_watch_create(NULL);
    if (!c->watches)
        return -ENOMEM;
    c->last_applied = c->last_prepared = zxid;
    c->sess_digest = sess_digest_recompute(&c->sess);
    return 0;
}
