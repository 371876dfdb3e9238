/*
 * cv_sess — session table, expiry queue, ids and passwords. See cv_sess.h.
 */
#include "cv_sess.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cv_common.h"
#include "cv_jute.h"
#include "cv_proto.h"

enum {
    ST_FREE = 0,
    ST_LIVE,     /* queued in the wheel or the overflow list */
    ST_EXPIRING, /* taken from its bucket, waiting in pend to be returned */
    ST_CLOSING,  /* closing decided (returned by expiry, or a close request) */
};

#define NIL             (-1)
#define MAX_SESSIONS    (1u << 28)
#define WHEEL_MAX_SLOTS (1u << 20)

/* ---- configuration -------------------------------------------------------- */

void cv_sess_config_init(struct cv_sess_config *cfg, int32_t tick_ms, uint32_t max_sessions)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->tick_ms = tick_ms;
    /* ZooKeeperServer: min defaults to 2x, max to 20x tickTime. */
    cfg->min_timeout_ms = tick_ms > INT32_MAX / 2 ? INT32_MAX : 2 * tick_ms;
    cfg->max_timeout_ms = tick_ms > INT32_MAX / 20 ? INT32_MAX : 20 * tick_ms;
    cfg->max_sessions = max_sessions;
}

int cv_sess_config_check(const struct cv_sess_config *cfg, const char **why)
{
    const char *msg = NULL;
    if (cfg->tick_ms <= 0)
        msg = "tickTime must be > 0 ms";
    else if (cfg->min_timeout_ms <= 0)
        msg = "minSessionTimeout must be > 0 ms";
    else if (cfg->max_timeout_ms < cfg->min_timeout_ms)
        msg = "maxSessionTimeout must be >= minSessionTimeout";
    else if (cfg->max_sessions == 0 || cfg->max_sessions > MAX_SESSIONS)
        msg = "max sessions must be in [1, 2^28]";
    else if (cfg->secret_len < CV_SESS_SECRET_MIN || cfg->secret_len > CV_SESS_SECRET_MAX)
        msg = "session secret must be 16..64 bytes";
    if (why)
        *why = msg;
    return msg ? -EINVAL : 0;
}

int32_t cv_sess_negotiate_timeout(const struct cv_sess_config *cfg, int32_t requested)
{
    int32_t t = requested;
    if (t < cfg->min_timeout_ms)
        t = cfg->min_timeout_ms;
    if (t > cfg->max_timeout_ms)
        t = cfg->max_timeout_ms;
    return t;
}

/* ---- ids ------------------------------------------------------------------ */

#define LOW56 ((UINT64_C(1) << 56) - 1)

int64_t cv_sess_id_make(uint8_t server_id, int64_t start_ms, uint64_t counter)
{
    /* (start << 24) >>> 8: the low 40 bits of the time at bits 55..16. */
    uint64_t time_bits = ((uint64_t)start_ms << 24) >> 8;
    uint64_t low = (time_bits + counter) & LOW56;
    return (int64_t)((uint64_t)server_id << 56 | low);
}

bool cv_sess_id_reserved(int64_t id)
{
    return id == CV_SESS_OWNER_NONE || id == CV_SESS_OWNER_CONTAINER ||
           ((uint64_t)id >> 56) == 0xFF;
}

int cv_sess_idgen_init(struct cv_sess_idgen *g, unsigned server_id, int64_t start_ms)
{
    if (server_id > CV_SESS_SERVER_ID_MAX)
        return -EINVAL;
    g->server_id = (uint8_t)server_id;
    g->start_ms = start_ms;
    g->counter = 0;
    return 0;
}

static int32_t find_slot(const struct cv_sess_table *t, int64_t id);

int64_t cv_sess_idgen_next(struct cv_sess_idgen *g, const struct cv_sess_table *t)
{
    for (;;) {
        int64_t id = cv_sess_id_make(g->server_id, g->start_ms, g->counter++);
        if (cv_sess_id_reserved(id))
            continue;
        if (t && find_slot(t, id) != NIL)
            continue;
        return id;
    }
}

/* ---- passwords ------------------------------------------------------------ */

static const char PW_LABEL[] = "corvid-session-passwd-v1";

int cv_sess_password(const struct cv_sess_config *cfg, int64_t id, uint8_t out[CV_SESS_PASSWD_LEN])
{
    if (cfg->secret_len == 0 || cfg->secret_len > CV_SESS_SECRET_MAX)
        return -EINVAL;
    uint8_t msg[sizeof(PW_LABEL) - 1 + 8];
    memcpy(msg, PW_LABEL, sizeof(PW_LABEL) - 1);
    uint8_t *p = msg + sizeof(PW_LABEL) - 1;
    cv_jute_wr32(p, (uint32_t)((uint64_t)id >> 32));
    cv_jute_wr32(p + 4, (uint32_t)id);
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    if (!HMAC(EVP_sha256(), cfg->secret, (int)cfg->secret_len, msg, sizeof(msg), mac, &mac_len) ||
        mac_len < CV_SESS_PASSWD_LEN)
        return -EINVAL;
    memcpy(out, mac, CV_SESS_PASSWD_LEN);
    OPENSSL_cleanse(mac, sizeof(mac));
    return 0;
}

int cv_sess_password_check(const struct cv_sess_config *cfg, int64_t id, const uint8_t *pw,
                           size_t len)
{
    if (pw == NULL || len != CV_SESS_PASSWD_LEN)
        return -EACCES;
    uint8_t want[CV_SESS_PASSWD_LEN];
    if (cv_sess_password(cfg, id, want) != 0)
        return -EACCES;
    int diff = CRYPTO_memcmp(want, pw, CV_SESS_PASSWD_LEN);
    OPENSSL_cleanse(want, sizeof(want));
    return diff == 0 ? 0 : -EACCES;
}

/* ---- time helpers ----------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* ExpiryQueue.roundToNextInterval: the first multiple of tick strictly after
 * time (floor division so negative simulated times behave the same). */
static int64_t round_next(const struct cv_sess_table *t, int64_t time)
{
    return (floor_div(time, t->tick_ms) + 1) * t->tick_ms;
}

static uint32_t wheel_idx(const struct cv_sess_table *t, int64_t bucket)
{
    return (uint32_t)((uint64_t)floor_div(bucket, t->tick_ms) & t->wheel_mask);
}

static int64_t horizon(const struct cv_sess_table *t)
{
    return t->cursor + (int64_t)(t->wheel_mask + 1) * t->tick_ms;
}

static void ensure_cursor(struct cv_sess_table *t, int64_t now)
{
    if (!t->cursor_set) {
        t->cursor = round_next(t, now);
        t->cursor_set = true;
    }
}

/* ---- id index: open addressing, linear probing, backward-shift delete ------- */

static uint32_t hash_id(int64_t id)
{
    uint64_t x = (uint64_t)id; /* splitmix64 finalizer */
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return (uint32_t)x;
}

static int32_t find_slot(const struct cv_sess_table *t, int64_t id)
{
    uint32_t i = hash_id(id) & t->index_mask;
    for (;;) {
        int32_t s = t->index[i];
        if (s == NIL || t->slots[s].id == id)
            return s;
        i = (i + 1) & t->index_mask;
    }
}

static void index_insert(struct cv_sess_table *t, int64_t id, int32_t s)
{
    uint32_t i = hash_id(id) & t->index_mask;
    while (t->index[i] != NIL)
        i = (i + 1) & t->index_mask;
    t->index[i] = s;
}

static void index_remove(struct cv_sess_table *t, int64_t id)
{
    uint32_t i = hash_id(id) & t->index_mask;
    while (t->slots[t->index[i]].id != id)
        i = (i + 1) & t->index_mask;
    /* Backward shift: move later members of the probe run into the hole. */
    uint32_t hole = i;
    for (;;) {
        i = (i + 1) & t->index_mask;
        int32_t s = t->index[i];
        if (s == NIL)
            break;
        uint32_t home = hash_id(t->slots[s].id) & t->index_mask;
        /* s may move to hole iff home is not cyclically in (hole, i]. */
        bool in_range = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!in_range) {
            t->index[hole] = s;
            hole = i;
        }
    }
    t->index[hole] = NIL;
}

/* ---- expiry lists ------------------------------------------------------------ */

static int32_t *list_head(struct cv_sess_table *t, const struct cv_sess_slot *s)
{
    return s->in_ovf ? &t->ovf_head : &t->wheel[wheel_idx(t, s->deadline)];
}

static void list_unlink(struct cv_sess_table *t, int32_t si)
{
    struct cv_sess_slot *s = &t->slots[si];
    CV_ASSERT(s->state == ST_LIVE);
    if (s->prev != NIL)
        t->slots[s->prev].next = s->next;
    else
        *list_head(t, s) = s->next;
    if (s->next != NIL)
        t->slots[s->next].prev = s->prev;
    s->prev = s->next = NIL;
    if (s->in_ovf)
        t->ovf_count--;
    else
        t->wheel_count--;
}

static void list_push(struct cv_sess_table *t, int32_t si, int32_t *head)
{
    struct cv_sess_slot *s = &t->slots[si];
    s->prev = NIL;
    s->next = *head;
    if (*head != NIL)
        t->slots[*head].prev = si;
    *head = si;
}

/* Queue slot si (not currently queued) in the bucket for deadline. */
static void queue_insert(struct cv_sess_table *t, int32_t si, int64_t deadline)
{
    struct cv_sess_slot *s = &t->slots[si];
    if (deadline < t->cursor)
        deadline = t->cursor; /* time went backwards: due at the next processing */
    s->deadline = deadline;
    if (deadline < horizon(t)) {
        s->in_ovf = 0;
        list_push(t, si, &t->wheel[wheel_idx(t, deadline)]);
        t->wheel_count++;
    } else {
        s->in_ovf = 1;
        list_push(t, si, &t->ovf_head);
        if (t->ovf_count == 0 || deadline < t->ovf_min)
            t->ovf_min = deadline;
        t->ovf_count++;
    }
}

/* Move overflow sessions that now fall inside the wheel's span. */
static void ovf_migrate(struct cv_sess_table *t)
{
    if (t->ovf_count == 0 || t->ovf_min >= horizon(t))
        return;
    int64_t new_min = INT64_MAX;
    int32_t si = t->ovf_head;
    while (si != NIL) {
        int32_t next = t->slots[si].next;
        t->expiry_work++;
        int64_t d = t->slots[si].deadline;
        if (d < horizon(t)) {
            list_unlink(t, si);
            queue_insert(t, si, d);
        } else if (d < new_min) {
            new_min = d;
        }
        si = next;
    }
    t->ovf_min = new_min;
}

/* Restart slot si's clock (it is live). */
static void reschedule(struct cv_sess_table *t, int32_t si, int64_t now)
{
    struct cv_sess_slot *s = &t->slots[si];
    ensure_cursor(t, now);
    int64_t d = round_next(t, now + s->timeout);
    if (d < t->cursor)
        d = t->cursor;
    CV_ASSERT(s->state == ST_LIVE); /* live sessions are always queued */
    if (d == s->deadline)
        return; /* ExpiryQueue.update: same bucket, nothing to do */
    list_unlink(t, si);
    queue_insert(t, si, d);
}

/* ---- table ---------------------------------------------------------------- */

static uint32_t pow2_at_least(uint64_t n)
{
    uint32_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

static void table_reset(struct cv_sess_table *t)
{
    t->count = 0;
    for (uint32_t i = 0; i < t->cap; i++) {
        t->slots[i].state = ST_FREE;
        t->slots[i].prev = NIL;
        t->slots[i].next = i + 1 < t->cap ? (int32_t)(i + 1) : NIL;
    }
    t->free_head = 0;
    for (uint32_t i = 0; i <= t->index_mask; i++)
        t->index[i] = NIL;
    for (uint32_t i = 0; i <= t->wheel_mask; i++)
        t->wheel[i] = NIL;
    t->wheel_count = 0;
    t->ovf_head = NIL;
    t->ovf_count = 0;
    t->ovf_min = INT64_MAX;
    t->pend_len = t->pend_pos = 0;
}

int cv_sess_table_init(struct cv_sess_table *t, const struct cv_sess_config *cfg)
{
    memset(t, 0, sizeof(*t));
    if (cv_sess_config_check(cfg, NULL) != 0)
        return -EINVAL;
    t->tick_ms = cfg->tick_ms;
    t->cap = cfg->max_sessions;
    t->index_mask = pow2_at_least((uint64_t)t->cap * 2) - 1;
    /* Twice the longest timeout (plus the rounding) so that a session touched
     * while the cursor lags a little still lands in the wheel. */
    uint64_t span = (uint64_t)cfg->max_timeout_ms / (uint64_t)cfg->tick_ms + 2;
    uint32_t w = pow2_at_least(span * 2);
    t->wheel_mask = (w > WHEEL_MAX_SLOTS ? WHEEL_MAX_SLOTS : w) - 1;
    t->slots = calloc(t->cap, sizeof(*t->slots));
    t->index = calloc((size_t)t->index_mask + 1, sizeof(*t->index));
    t->wheel = calloc((size_t)t->wheel_mask + 1, sizeof(*t->wheel));
    t->pend = calloc(t->cap, sizeof(*t->pend));
    if (!t->slots || !t->index || !t->wheel || !t->pend) {
        cv_sess_table_fini(t);
        return -ENOMEM;
    }
    table_reset(t);
    return 0;
}

void cv_sess_table_fini(struct cv_sess_table *t)
{
    free(t->slots);
    free(t->index);
    free(t->wheel);
    free(t->pend);
    memset(t, 0, sizeof(*t));
}

int cv_sess_apply_create(struct cv_sess_table *t, int64_t id, int32_t timeout, int64_t now)
{
    if (cv_sess_id_reserved(id) || timeout <= 0)
        return -EINVAL;
    int32_t si = find_slot(t, id);
    if (si != NIL) {
        struct cv_sess_slot *s = &t->slots[si];
        s->timeout = timeout;
        if (s->state == ST_LIVE)
            reschedule(t, si, now);
        return 1;
    }
    if (t->free_head == NIL)
        return -ENOSPC;
    si = t->free_head;
    struct cv_sess_slot *s = &t->slots[si];
    t->free_head = s->next;
    s->id = id;
    s->timeout = timeout;
    s->state = ST_LIVE;
    s->in_ovf = 0;
    s->prev = s->next = NIL;
    index_insert(t, id, si);
    t->count++;
    ensure_cursor(t, now);
    queue_insert(t, si, round_next(t, now + timeout));
    return 0;
}

int cv_sess_apply_close(struct cv_sess_table *t, int64_t id)
{
    int32_t si = find_slot(t, id);
    if (si == NIL)
        return -ENOENT;
    struct cv_sess_slot *s = &t->slots[si];
    if (s->state == ST_LIVE)
        list_unlink(t, si);
    /* An ST_EXPIRING id left in pend is skipped: its lookup fails (or finds a
     * different, live, session created later with the same id). */
    index_remove(t, id);
    s->state = ST_FREE;
    s->prev = NIL;
    s->next = t->free_head;
    t->free_head = si;
    t->count--;
    return 0;
}

bool cv_sess_is_live(const struct cv_sess_table *t, int64_t id)
{
    int32_t si = find_slot(t, id);
    return si != NIL && t->slots[si].state == ST_LIVE;
}

int cv_sess_touch(struct cv_sess_table *t, int64_t id, int64_t now)
{
    int32_t si = find_slot(t, id);
    if (si == NIL || t->slots[si].state != ST_LIVE)
        return CV_ZSESSIONEXPIRED;
    reschedule(t, si, now);
    return 0;
}

int cv_sess_set_closing(struct cv_sess_table *t, int64_t id)
{
    int32_t si = find_slot(t, id);
    if (si == NIL)
        return -ENOENT;
    struct cv_sess_slot *s = &t->slots[si];
    if (s->state == ST_CLOSING)
        return 1;
    if (s->state == ST_LIVE)
        list_unlink(t, si);
    /* ST_EXPIRING -> closing too: the request decided first, so expiry will
     * not hand it out a second time. */
    s->state = ST_CLOSING;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = (uint64_t) * (const int64_t *)a, y = (uint64_t) * (const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Take the bucket at the cursor into pend, sorted, and advance. */
static void take_bucket(struct cv_sess_table *t)
{
    int32_t *head = &t->wheel[wheel_idx(t, t->cursor)];
    CV_ASSERT(t->pend_pos == t->pend_len);
    t->pend_len = t->pend_pos = 0;
    t->expiry_work++;
    while (*head != NIL) {
        int32_t si = *head;
        struct cv_sess_slot *s = &t->slots[si];
        CV_ASSERT(s->deadline == t->cursor && !s->in_ovf);
        list_unlink(t, si);
        s->state = ST_EXPIRING;
        t->pend[t->pend_len++] = s->id;
        t->expiry_work++;
    }
    if (t->pend_len > 1)
        qsort(t->pend, t->pend_len, sizeof(*t->pend), cmp_u64);
    t->cursor += t->tick_ms;
    ovf_migrate(t);
}

size_t cv_sess_expired(struct cv_sess_table *t, int64_t now, int64_t *out, size_t max)
{
    size_t n = 0;
    ensure_cursor(t, now);
    while (n < max) {
        while (t->pend_pos < t->pend_len && n < max) {
            int64_t id = t->pend[t->pend_pos++];
            int32_t si = find_slot(t, id);
            if (si == NIL || t->slots[si].state != ST_EXPIRING)
                continue; /* closed, or closing by request, since its bucket was taken */
            t->slots[si].state = ST_CLOSING;
            out[n++] = id;
        }
        if (n == max || t->pend_pos < t->pend_len || t->cursor > now)
            break; /* take a bucket only with room to hand some of it out */
        if (t->wheel_count == 0) {
            /* Nothing in the wheel: skip the empty buckets at once, up to
             * now or to the earliest overflow deadline. */
            int64_t to = round_next(t, now);
            if (t->ovf_count && t->ovf_min < to)
                to = t->ovf_min > t->cursor ? t->ovf_min : t->cursor;
            if (to > t->cursor) {
                t->expiry_work++;
                t->cursor = to;
                ovf_migrate(t);
                continue;
            }
        }
        take_bucket(t);
    }
    return n;
}

void cv_sess_restart_clocks(struct cv_sess_table *t, int64_t now)
{
    for (uint32_t i = 0; i <= t->wheel_mask; i++)
        t->wheel[i] = NIL;
    t->wheel_count = 0;
    t->ovf_head = NIL;
    t->ovf_count = 0;
    t->ovf_min = INT64_MAX;
    t->pend_len = t->pend_pos = 0;
    /* As a new ExpiryQueue: the next bucket to process is the first after now. */
    t->cursor = round_next(t, now);
    t->cursor_set = true;
    for (uint32_t i = 0; i < t->cap; i++) {
        struct cv_sess_slot *s = &t->slots[i];
        if (s->state == ST_FREE)
            continue;
        s->state = ST_LIVE;
        s->prev = s->next = NIL;
        queue_insert(t, (int32_t)i, round_next(t, now + s->timeout));
    }
}

/* ---- inspection ------------------------------------------------------------- */

static void fill_info(const struct cv_sess_slot *s, struct cv_sess_info *out)
{
    out->id = s->id;
    out->deadline = s->deadline;
    out->timeout = s->timeout;
    out->closing = s->state != ST_LIVE;
}

int cv_sess_get(const struct cv_sess_table *t, int64_t id, struct cv_sess_info *out)
{
    int32_t si = find_slot(t, id);
    if (si == NIL)
        return -ENOENT;
    fill_info(&t->slots[si], out);
    return 0;
}

static bool info_less(const struct cv_sess_info *a, const struct cv_sess_info *b)
{
    return (uint64_t)a->id < (uint64_t)b->id;
}

/* Max-heap on unsigned id. */
static void heap_down(struct cv_sess_info *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && info_less(&h[m], &h[l]))
            m = l;
        if (r < n && info_less(&h[m], &h[r]))
            m = r;
        if (m == i)
            return;
        struct cv_sess_info tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

size_t cv_sess_list(const struct cv_sess_table *t, const int64_t *after, struct cv_sess_info *out,
                    size_t max)
{
    if (max == 0)
        return 0;
    size_t n = 0;
    bool heap = false;
    for (uint32_t i = 0; i < t->cap; i++) {
        const struct cv_sess_slot *s = &t->slots[i];
        if (s->state == ST_FREE || (after && (uint64_t)s->id <= (uint64_t)*after))
            continue;
        if (n < max) {
            fill_info(s, &out[n++]);
            continue;
        }
        if (!heap) {
            for (size_t k = n / 2; k-- > 0;)
                heap_down(out, n, k);
            heap = true;
        }
        if ((uint64_t)s->id < (uint64_t)out[0].id) {
            fill_info(s, &out[0]);
            heap_down(out, n, 0);
        }
    }
    /* Sort ascending: heapify (if not yet) then repeatedly move the max to the end. */
    if (!heap)
        for (size_t k = n / 2; k-- > 0;)
            heap_down(out, n, k);
    for (size_t end = n; end > 1; end--) {
        struct cv_sess_info tmp = out[0];
        out[0] = out[end - 1];
        out[end - 1] = tmp;
        heap_down(out, end - 1, 0);
    }
    return n;
}

/* ---- snapshots ---------------------------------------------------------------- */

#define SNAP_REC 12 /* long id + int timeout */

static int cmp_rec(const void *a, const void *b)
{
    return memcmp(a, b, 8);
}

size_t cv_sess_serialized_size(const struct cv_sess_table *t)
{
    return 4 + (size_t)t->count * SNAP_REC;
}

int64_t cv_sess_serialize(const struct cv_sess_table *t, uint8_t *out, size_t cap)
{
    size_t need = cv_sess_serialized_size(t);
    if (cap < need)
        return -ENOBUFS;
    struct cv_jute_out o;
    cv_jute_out_init(&o, out, cap);
    cv_jute_put_int(&o, (int32_t)t->count);
    for (uint32_t i = 0; i < t->cap; i++) {
        const struct cv_sess_slot *s = &t->slots[i];
        if (s->state == ST_FREE)
            continue;
        cv_jute_put_long(&o, s->id);
        cv_jute_put_int(&o, s->timeout);
    }
    /* Ascending unsigned id: the records' first 8 bytes are the id in
     * big-endian, so sorting them in place by those bytes is enough. */
    if (t->count > 1)
        qsort(out + 4, t->count, SNAP_REC, cmp_rec);
    CV_VERIFY(o.err == 0 && (size_t)(o.pos - out) == need);
    return (int64_t)need;
}

int cv_sess_deserialize(struct cv_sess_table *t, const uint8_t *p, size_t len, size_t *used,
                        int64_t now)
{
    if (t->count != 0)
        return -EBUSY;
    struct cv_jute_in in;
    cv_jute_in_init(&in, p, len);
    int32_t count = cv_jute_get_int(&in);
    if (in.err || count < 0 || (size_t)count > cv_jute_in_left(&in) / SNAP_REC)
        return -EBADMSG;
    if ((uint32_t)count > t->cap)
        return -ENOSPC;
    int rc = 0;
    for (int32_t i = 0; i < count && rc == 0; i++) {
        int64_t id = cv_jute_get_long(&in);
        int32_t timeout = cv_jute_get_int(&in);
        if (in.err) {
            rc = -EBADMSG;
            break;
        }
        int r = cv_sess_apply_create(t, id, timeout, now);
        if (r != 0)
            rc = r == -ENOSPC ? -ENOSPC : -EBADMSG; /* 1 = duplicate id */
    }
    if (rc != 0) {
        table_reset(t);
        return rc;
    }
    if (used)
        *used = (size_t)(in.pos - p);
    return 0;
}
