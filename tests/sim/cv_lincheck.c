/*
 * cv_lincheck — see cv_lincheck.h for the model and the contract.
 *
 * The search (Wing & Gong, with Lowe's memoization, as in Porcupine):
 * the linearizable ops become call and return entries in one doubly linked
 * list ordered by time (calls before returns at equal times). Walking the
 * list from its head, a call entry whose op the model accepts in the current
 * state is "lifted" (its call and return entries unlinked), pushed on a
 * stack, and the walk restarts at the head; reaching a return entry means its
 * op could not be placed before it returned, so the last placement is undone
 * (entries relinked, dancing-links style) and the walk continues after it.
 * UNKNOWN ops have no return entry: they may stay unplaced for ever, so the
 * search succeeds as soon as every required op is placed. Every
 * (set of placed ops, state) pair entered is remembered, and entering one
 * again is refused: its subtree has already failed.
 *
 * Reductions, each sound (they only drop placements or merge configurations
 * with the same futures), which keep UNKNOWN ops from multiplying the states:
 *  - a value no sync read returns is "blind": the state forgets it;
 *  - an UNKNOWN CAS is never placed where it would be a no-op;
 *  - UNKNOWN WRITEs of one value (or all blind ones) are interchangeable
 *    once called: only the earliest-called unplaced one of a class is tried;
 *  - an UNKNOWN CAS expecting a version already passed can never be placed
 *    again: cache keys count it as placed;
 *  - versions: a placement may not lift the version above the exact version
 *    some unplaced op needs, nor leave fewer ops that could raise it than
 *    the highest such version requires.
 * The version prune makes a violation surface at the op that was pruned
 * rather than where the history goes wrong, so a failed search is repeated
 * without it (for required ops), within a budget, for the explanation.
 *
 * Cache keys: required ops take bits [0, mr) in call order, UNKNOWN ops the
 * words after them. The required part is stored as the window [lo, hi) of
 * words between the all-ones prefix and the all-zeroes tail, which keeps keys
 * a few words long however long the history.
 */
#include "cv_lincheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LC_DEFAULT_MAX_STATES 10000000ull
#define LC_NONE               INT64_MAX /* no exact version needed */

/* blind: the value was written by an op whose value no sync read returns, so
 * it can never be observed and is not tracked (value is then 0). */
struct lc_state {
    int64_t value, version;
    uint8_t blind;
};

/* One entry of the time-ordered list; index 0 is the head sentinel. */
struct lc_entry {
    int32_t prev, next; /* next == -1: end of the list */
    int32_t lin;        /* linearizable op */
    uint8_t is_call;
};

/* One linearizable op. */
struct lc_lop {
    size_t op;             /* index into the caller's array */
    int32_t call_e, ret_e; /* entries; ret_e == -1 for UNKNOWN ops */
    uint32_t bit;          /* bit in the placed-set */
    uint8_t required;      /* not UNKNOWN: must be placed */
    uint8_t bumps;         /* WRITE or CAS that may take effect */
    uint8_t blind;         /* WRITE/CAS whose value no sync read returns */
    int32_t group, rank;   /* UNKNOWN WRITE: its class of interchangeable ones (same value,
                              or blind) and its rank there in call order; else -1 */
    int64_t need;          /* version the state must have when it is placed, or LC_NONE */
    uint64_t zob;          /* Zobrist key of its bit */
};

struct lc_frame {
    int32_t lin;
    struct lc_state prev;
};

/* 8 bytes a slot: the cache may hold millions of keys. */
struct lc_slot {
    uint32_t tag; /* the hash's top half; its low bits pick the slot */
    uint32_t off; /* arena offset + 1; 0 = empty */
};

struct lc_cache {
    struct lc_slot *slot;
    size_t cap, used;
    uint64_t *arena;
    size_t alen, acap;
};

__attribute__((format(printf, 2, 3))) static void lc_why(struct cv_lc_result *res, const char *fmt,
                                                         ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(res->why, sizeof(res->why), fmt, ap);
    va_end(ap);
    (void)k;
}

static uint64_t lc_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static const char *lc_outcome_name(uint8_t o)
{
    return o == CV_LC_OK ? "OK" : o == CV_LC_FAIL ? "FAIL" : "UNKNOWN";
}

/* A short description of an op, for the explanations. */
static void lc_describe(char *buf, size_t len, const struct cv_lc_op *o)
{
    int k;
    if (o->kind == CV_LC_READ)
        k = snprintf(buf, len, "%s READ (%lld, v%d)", o->sync ? "sync" : "plain",
                     (long long)o->value, (int)o->version);
    else if (o->kind == CV_LC_WRITE)
        k = snprintf(buf, len, "WRITE %lld %s v%d", (long long)o->value,
                     lc_outcome_name(o->outcome), (int)o->version);
    else
        k = snprintf(buf, len, "CAS v%d->%lld %s v%d", (int)o->expect, (long long)o->value,
                     lc_outcome_name(o->outcome), (int)o->version);
    (void)k;
}

/* ---- ops that can never be placed, whatever happens around them ---- */

static int lc_precheck(const struct cv_lc_op *ops, size_t n, int64_t init, struct cv_lc_result *res)
{
    for (size_t i = 0; i < n; i++) {
        const struct cv_lc_op *o = &ops[i];
        if (o->outcome != CV_LC_OK)
            continue;
        const char *why = NULL;
        if (o->kind == CV_LC_READ) {
            if (o->version < 0)
                why = "read a negative version";
            else if (o->version == 0 && o->value != init)
                why = "read version 0 with a value other than the initial one";
        } else if (o->kind == CV_LC_WRITE) {
            if (o->version == 0)
                why = "a write cannot produce version 0";
        } else {
            if (o->expect < 0)
                why = "an OK CAS cannot expect a negative version";
            else if (o->version >= 0 && (int64_t)o->version != (int64_t)o->expect + 1)
                why = "an OK CAS must report version expect + 1";
        }
        if (why) {
            char d[64];
            lc_describe(d, sizeof(d), o);
            res->bad = (int64_t)i;
            lc_why(res, "op %zu (%s, client %d): %s", i, d, (int)o->client, why);
            return 0;
        }
    }
    return 1;
}

/* ---- plain reads ---- */

struct lc_key {
    int64_t a, b; /* sort keys */
    int32_t client;
    size_t idx;
};

static int lc_cmp_key(const void *x, const void *y)
{
    const struct lc_key *p = x, *q = y;
    if (p->client != q->client)
        return p->client < q->client ? -1 : 1;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    return p->idx < q->idx ? -1 : p->idx > q->idx;
}

static int lc_is_plain_read(const struct cv_lc_op *o)
{
    return o->kind == CV_LC_READ && !o->sync && o->outcome == CV_LC_OK;
}

/* Could write w have produced the state (value, version) a read saw? */
static int lc_can_produce(const struct cv_lc_op *w, int64_t version)
{
    if (w->kind == CV_LC_CAS)
        return (int64_t)w->expect + 1 == version;
    if (w->outcome == CV_LC_OK && w->version >= 0)
        return w->version == version;
    return version >= 1;
}

/* The first rule a plain read breaks is recorded if it was called before the
 * one recorded so far. */
struct lc_plain_fail {
    int64_t call;
    size_t idx;
    int have;
    char why[160];
};

__attribute__((format(printf, 4, 5))) static void
lc_plain_record(struct lc_plain_fail *f, const struct cv_lc_op *ops, size_t i, const char *fmt, ...)
{
    if (f->have && (ops[i].call > f->call || (ops[i].call == f->call && i >= f->idx)))
        return;
    f->have = 1;
    f->call = ops[i].call;
    f->idx = i;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(f->why, sizeof(f->why), fmt, ap);
    va_end(ap);
    (void)k;
}

static int lc_plain(const struct cv_lc_op *ops, size_t n, int64_t init, struct cv_lc_result *res)
{
    size_t nw = 0, nr = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        const struct cv_lc_op *o = &ops[i];
        if (lc_is_plain_read(o))
            nr++;
        if (o->kind != CV_LC_READ && o->outcome != CV_LC_FAIL)
            nw++;
        if (o->kind != CV_LC_READ && o->outcome == CV_LC_OK && o->version >= 0)
            nb++;
    }
    if (nr == 0)
        return 1;
    size_t na = 0;
    for (size_t i = 0; i < n; i++)
        if (ops[i].kind == CV_LC_READ && ops[i].outcome == CV_LC_OK)
            na++;

    /* writes by (value, call); reads of each client by call; the client's
     * acknowledged writes by return */
    struct lc_key *w = malloc((nw ? nw : 1) * sizeof(*w));
    struct lc_key *a = malloc(na * sizeof(*a));
    struct lc_key *b = malloc((nb ? nb : 1) * sizeof(*b));
    if (!w || !a || !b) {
        free(w);
        free(a);
        free(b);
        return -ENOMEM;
    }
    size_t iw = 0, ia = 0, ib = 0;
    for (size_t i = 0; i < n; i++) {
        const struct cv_lc_op *o = &ops[i];
        if (o->kind != CV_LC_READ && o->outcome != CV_LC_FAIL)
            w[iw++] = (struct lc_key){o->value, o->call, 0, i};
        if (o->kind != CV_LC_READ && o->outcome == CV_LC_OK && o->version >= 0)
            b[ib++] = (struct lc_key){o->ret, 0, o->client, i};
        if (o->kind == CV_LC_READ && o->outcome == CV_LC_OK)
            a[ia++] = (struct lc_key){o->call, 0, o->client, i};
    }
    qsort(w, nw, sizeof(*w), lc_cmp_key);
    qsort(a, na, sizeof(*a), lc_cmp_key);
    qsort(b, nb, sizeof(*b), lc_cmp_key);

    struct lc_plain_fail f = {0};
    size_t pb = 0;
    int64_t rmax = -1, wmax = -1;
    size_t rmax_op = 0, wmax_op = 0;
    for (size_t k = 0; k < na; k++) {
        size_t i = a[k].idx;
        const struct cv_lc_op *r = &ops[i];
        if (k == 0 || a[k - 1].client != r->client) {
            rmax = -1;
            wmax = -1;
        }
        while (pb < nb &&
               (b[pb].client < r->client || (b[pb].client == r->client && b[pb].a < r->call))) {
            if (b[pb].client == r->client && ops[b[pb].idx].version > wmax) {
                wmax = ops[b[pb].idx].version;
                wmax_op = b[pb].idx;
            }
            pb++;
        }
        if (lc_is_plain_read(r)) {
            /* (a) a state some linearization could expose */
            int ok = r->version == 0 && r->value == init;
            if (!ok && r->version > 0) {
                size_t lo = 0, hi = nw;
                while (lo < hi) {
                    size_t mid = lo + (hi - lo) / 2;
                    if (w[mid].a < r->value)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                for (; lo < nw && w[lo].a == r->value && w[lo].b <= r->ret && !ok; lo++)
                    ok = lc_can_produce(&ops[w[lo].idx], r->version);
            }
            if (!ok)
                lc_plain_record(&f, ops, i,
                                "plain READ op %zu (client %d) saw (%lld, v%d), a state no "
                                "write called before it returned could produce",
                                i, (int)r->client, (long long)r->value, (int)r->version);
            /* (b) the client's reads never go backwards */
            else if (r->version < rmax)
                lc_plain_record(&f, ops, i,
                                "plain READ op %zu (client %d) saw v%d after the client's "
                                "earlier read op %zu saw v%lld",
                                i, (int)r->client, (int)r->version, rmax_op, (long long)rmax);
            /* (c) read-your-writes */
            else if (r->version < wmax)
                lc_plain_record(&f, ops, i,
                                "plain READ op %zu (client %d) saw v%d, older than v%lld of its "
                                "own write op %zu acknowledged before the read",
                                i, (int)r->client, (int)r->version, (long long)wmax, wmax_op);
        }
        if (r->version > rmax) {
            rmax = r->version;
            rmax_op = i;
        }
    }
    free(w);
    free(a);
    free(b);
    if (!f.have)
        return 1;
    res->bad = (int64_t)f.idx;
    memcpy(res->why, f.why, sizeof(res->why));
    return 0;
}

/* ---- the memo: (placed set, state) pairs ---- */

static void lc_window(const uint64_t *bits, size_t wr, uint32_t *lo, uint32_t *hi)
{
    size_t l = 0, h;
    while (l < wr && bits[l] == ~0ull)
        l++;
    h = wr;
    while (h > l && bits[h - 1] == 0)
        h--;
    *lo = (uint32_t)l;
    *hi = (uint32_t)h;
}

static int lc_key_eq(const uint64_t *k, struct lc_state st, uint32_t lo, uint32_t hi,
                     const uint64_t *bits, const uint64_t *ubits, size_t wu)
{
    if ((int64_t)k[0] != st.value || k[1] != ((uint64_t)st.version << 1 | st.blind) ||
        k[2] != ((uint64_t)hi << 32 | lo))
        return 0;
    if (memcmp(k + 3, bits + lo, (hi - lo) * sizeof(uint64_t)) != 0)
        return 0;
    return memcmp(k + 3 + (hi - lo), ubits, wu * sizeof(uint64_t)) == 0;
}

static int lc_cache_grow(struct lc_cache *c)
{
    size_t ncap = c->cap ? c->cap * 2 : 1024;
    struct lc_slot *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->slot[i].off)
            continue;
        size_t j = c->slot[i].tag & (ncap - 1);
        while (ns[j].off)
            j = (j + 1) & (ncap - 1);
        ns[j] = c->slot[i];
    }
    free(c->slot);
    c->slot = ns;
    c->cap = ncap;
    return 0;
}

/* 1 inserted, 0 already there, -ENOMEM. */
static int lc_cache_insert(struct lc_cache *c, uint64_t h, struct lc_state st, const uint64_t *bits,
                           const uint64_t *ubits, size_t wr, size_t wu)
{
    uint32_t lo, hi;
    lc_window(bits, wr, &lo, &hi);
    if ((c->used + 1) * 2 > c->cap && lc_cache_grow(c) < 0)
        return -ENOMEM;
    uint32_t tag = (uint32_t)(h >> 32);
    size_t j = tag & (c->cap - 1);
    for (; c->slot[j].off; j = (j + 1) & (c->cap - 1))
        if (c->slot[j].tag == tag &&
            lc_key_eq(c->arena + c->slot[j].off - 1, st, lo, hi, bits, ubits, wu))
            return 0;
    size_t len = 3 + (hi - lo) + wu;
    if (c->alen + len >= UINT32_MAX)
        return -ENOMEM;
    if (c->alen + len > c->acap) {
        size_t ncap = c->acap ? c->acap * 2 : 4096;
        while (ncap < c->alen + len)
            ncap *= 2;
        uint64_t *na = realloc(c->arena, ncap * sizeof(uint64_t));
        if (!na)
            return -ENOMEM;
        c->arena = na;
        c->acap = ncap;
    }
    uint64_t *k = c->arena + c->alen;
    k[0] = (uint64_t)st.value;
    k[1] = (uint64_t)st.version << 1 | st.blind;
    k[2] = (uint64_t)hi << 32 | lo;
    memcpy(k + 3, bits + lo, (hi - lo) * sizeof(uint64_t));
    memcpy(k + 3 + (hi - lo), ubits, wu * sizeof(uint64_t));
    c->slot[j].tag = tag;
    c->slot[j].off = (uint32_t)(c->alen + 1);
    c->alen += len;
    c->used++;
    return 1;
}

/* ---- the search ---- */

/* The model: may o be linearized in state s, and into which state? An UNKNOWN
 * CAS is only placed where it takes effect: where it would not, leaving it out
 * is the same. */
static int lc_step(const struct cv_lc_op *o, uint8_t blind, struct lc_state s, struct lc_state *ns)
{
    *ns = s;
    switch (o->kind) {
    case CV_LC_READ: return !s.blind && o->value == s.value && (int64_t)o->version == s.version;
    case CV_LC_WRITE:
        ns->value = blind ? 0 : o->value;
        ns->blind = blind;
        ns->version = s.version + 1;
        return o->outcome != CV_LC_OK || o->version < 0 || (int64_t)o->version == ns->version;
    case CV_LC_CAS:
        if (o->outcome == CV_LC_FAIL)
            return s.version != o->expect;
        if (s.version != o->expect)
            return 0;
        ns->value = blind ? 0 : o->value;
        ns->blind = blind;
        ns->version = s.version + 1;
        return o->outcome != CV_LC_OK || o->version < 0 || (int64_t)o->version == ns->version;
    }
    return 0;
}

struct lc_ev {
    int64_t time;
    int32_t is_ret;
    int32_t lin;
};

static int lc_cmp_ev(const void *x, const void *y)
{
    const struct lc_ev *p = x, *q = y;
    if (p->time != q->time)
        return p->time < q->time ? -1 : 1;
    if (p->is_ret != q->is_ret)
        return p->is_ret - q->is_ret; /* calls first: equal times overlap */
    return (p->lin > q->lin) - (p->lin < q->lin);
}

static int lc_cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static int lc_is_linearizable_op(const struct cv_lc_op *o)
{
    if (o->kind == CV_LC_READ)
        return o->sync && o->outcome == CV_LC_OK;
    if (o->kind == CV_LC_WRITE)
        return o->outcome != CV_LC_FAIL;
    return 1; /* CAS: OK, FAIL and UNKNOWN all constrain or may act */
}

/* The versions unplaced ops need: seg[1] is the least (LC_NONE if none),
 * seg[2 * segn + 1] the greatest (-1 if none). Leaf i := v (LC_NONE: none). */
static void lc_seg_set(int64_t *seg, size_t segn, uint32_t i, int64_t v)
{
    int64_t *mn = seg, *mx = seg + 2 * segn;
    size_t p = segn + i;
    mn[p] = v;
    mx[p] = v == LC_NONE ? -1 : v;
    for (p >>= 1; p; p >>= 1) {
        mn[p] = mn[2 * p] < mn[2 * p + 1] ? mn[2 * p] : mn[2 * p + 1];
        mx[p] = mx[2 * p] > mx[2 * p + 1] ? mx[2 * p] : mx[2 * p + 1];
    }
}

static void lc_unlink(struct lc_entry *e, int32_t x)
{
    e[e[x].prev].next = e[x].next;
    if (e[x].next >= 0)
        e[e[x].next].prev = e[x].prev;
}

static void lc_relink(struct lc_entry *e, int32_t x)
{
    e[e[x].prev].next = x;
    if (e[x].next >= 0)
        e[e[x].next].prev = x;
}

static int lc_search(const struct cv_lc_op *ops, size_t n, int64_t init, uint64_t max_states,
                     int prune_required, struct cv_lc_result *res)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += lc_is_linearizable_op(&ops[i]);
    if (m == 0)
        return 1;

    struct lc_lop *lop = calloc(m, sizeof(*lop));
    struct lc_ev *ev = malloc(2 * m * sizeof(*ev));
    int64_t *seen = malloc(m * sizeof(*seen));
    struct lc_entry *ent = malloc((2 * m + 1) * sizeof(*ent));
    struct lc_frame *stack = malloc(m * sizeof(*stack));
    uint64_t *bits = NULL;
    int64_t *seg = NULL;
    int32_t *ranked = NULL; /* per class: how many are placed */
    uint64_t *ukey = NULL;  /* the UNKNOWN part of a cache key */
    int64_t *ucas = NULL;   /* expected versions of the UNKNOWN CASes, ascending */
    size_t nucas = 0;
    struct lc_cache cache = {0};
    int rc = -ENOMEM;
    if (!lop || !ev || !ent || !stack || !seen)
        goto out;

    /* the values sync reads return: any other value is blind */
    size_t nseen = 0;
    for (size_t i = 0; i < n; i++)
        if (ops[i].kind == CV_LC_READ && ops[i].sync && ops[i].outcome == CV_LC_OK)
            seen[nseen++] = ops[i].value;
    qsort(seen, nseen, sizeof(*seen), lc_cmp_i64);

    /* linearizable ops in call order */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (lc_is_linearizable_op(&ops[i]))
            ev[k++] = (struct lc_ev){ops[i].call, 0, (int32_t)i};
    qsort(ev, m, sizeof(*ev), lc_cmp_ev);
    size_t mr = 0, mu = 0;
    int64_t avail = 0; /* unplaced ops that may raise the version */
    for (size_t j = 0; j < m; j++) {
        lop[j].op = (size_t)ev[j].lin;
        const struct cv_lc_op *o = &ops[lop[j].op];
        lop[j].required = o->outcome != CV_LC_UNKNOWN;
        lop[j].blind =
            o->kind != CV_LC_READ && !bsearch(&o->value, seen, nseen, sizeof(*seen), lc_cmp_i64);
        lop[j].group = lop[j].rank = -1;
        lop[j].bumps = o->kind != CV_LC_READ && o->outcome != CV_LC_FAIL;
        avail += lop[j].bumps;
        mr += lop[j].required;
        mu += !lop[j].required;
        lop[j].need = LC_NONE;
        if (o->outcome == CV_LC_OK) {
            if (o->kind == CV_LC_READ)
                lop[j].need = o->version;
            else if (o->kind == CV_LC_CAS)
                lop[j].need = o->expect;
            else if (o->version > 0)
                lop[j].need = (int64_t)o->version - 1;
        }
    }
    if (mr == 0) {
        rc = 1;
        goto out;
    }
    size_t wr = (mr + 63) / 64, wu = (mu + 63) / 64;
    size_t segn = 1;
    while (segn < mr)
        segn *= 2;
    bits = calloc(wr + wu, sizeof(*bits));
    seg = malloc(4 * segn * sizeof(*seg));
    if (!bits || !seg)
        goto out;
    for (size_t p = 0; p < 2 * segn; p++) {
        seg[p] = LC_NONE;
        seg[2 * segn + p] = -1;
    }
    /* Bits: required ops in call order; then UNKNOWN CASes by expected
     * version, then UNKNOWN WRITEs. An UNKNOWN CAS expecting less than the
     * current version can never be placed any more: in cache keys it counts
     * as placed, so that it makes no difference whether it was. Those form a
     * prefix of the UNKNOWN bits. */
    ukey = malloc((wu ? wu : 1) * sizeof(*ukey));
    ucas = malloc((mu ? mu : 1) * sizeof(*ucas));
    struct lc_key *uo = malloc((mu ? mu : 1) * sizeof(*uo));
    if (!ukey || !ucas || !uo) {
        free(uo);
        goto out;
    }
    size_t nu = 0;
    for (size_t j = 0; j < m; j++) {
        const struct cv_lc_op *o = &ops[lop[j].op];
        if (!lop[j].required)
            uo[nu++] = (struct lc_key){o->kind == CV_LC_CAS ? o->expect : 0, (int64_t)j,
                                       o->kind != CV_LC_CAS, j};
    }
    qsort(uo, nu, sizeof(*uo), lc_cmp_key);
    for (size_t x = 0; x < nu; x++) {
        lop[uo[x].idx].bit = (uint32_t)(wr * 64 + x);
        if (uo[x].client == 0)
            ucas[nucas++] = uo[x].a;
    }
    free(uo);
    uint64_t zs = 0x243f6a8885a308d3ull;
    size_t ir = 0;
    for (size_t j = 0; j < m; j++) {
        if (!lop[j].required)
            continue;
        lop[j].bit = (uint32_t)ir++;
        zs += 0x9e3779b97f4a7c15ull;
        lop[j].zob = lc_mix(zs);
        lc_seg_set(seg, segn, lop[j].bit, lop[j].need);
    }

    /* the entry list */
    size_t ne = 0;
    for (size_t j = 0; j < m; j++) {
        const struct cv_lc_op *o = &ops[lop[j].op];
        ev[ne++] = (struct lc_ev){o->call, 0, (int32_t)j};
        if (lop[j].required)
            ev[ne++] = (struct lc_ev){o->ret, 1, (int32_t)j};
    }
    qsort(ev, ne, sizeof(*ev), lc_cmp_ev);
    ent[0] = (struct lc_entry){-1, ne ? 1 : -1, -1, 0};
    for (size_t x = 1; x <= ne; x++) {
        const struct lc_ev *e = &ev[x - 1];
        ent[x] = (struct lc_entry){(int32_t)x - 1, x < ne ? (int32_t)x + 1 : -1, e->lin,
                                   (uint8_t)!e->is_ret};
        if (e->is_ret)
            lop[e->lin].ret_e = (int32_t)x;
        else
            lop[e->lin].call_e = (int32_t)x;
    }
    for (size_t j = 0; j < m; j++)
        if (!lop[j].required)
            lop[j].ret_e = -1;

    if (avail < seg[2 * segn + 1]) {
        /* some op needs a version more writes than there are could produce */
        size_t bi = 0;
        for (size_t j = 0; j < m; j++)
            if (lop[j].required && lop[j].need == seg[2 * segn + 1]) {
                bi = lop[j].op;
                break;
            }
        char d[64];
        lc_describe(d, sizeof(d), &ops[bi]);
        res->bad = (int64_t)bi;
        lc_why(res, "op %zu (%s, client %d) needs version %lld, but only %lld ops could raise it",
               bi, d, (int)ops[bi].client, (long long)seg[2 * segn + 1], (long long)avail);
        rc = 0;
        goto out;
    }

    struct lc_state st = {init, 0, 0}, best_state = st;
    int64_t best_depth = -1, best_lin = -1;
    uint64_t zob = 0;
    /* UNKNOWN WRITEs of one value (or all blind ones) have the same effect
     * and no deadline: once called they are interchangeable, so only the first
     * unplaced one of each class, in call order, is ever tried. */
    struct lc_key *uw = malloc((mu ? mu : 1) * sizeof(*uw));
    if (!uw)
        goto out;
    size_t nuw = 0;
    for (size_t j = 0; j < m; j++) {
        const struct cv_lc_op *o = &ops[lop[j].op];
        if (o->kind == CV_LC_WRITE && !lop[j].required)
            uw[nuw++] = (struct lc_key){lop[j].blind ? 0 : o->value, (int64_t)j, !lop[j].blind, j};
    }
    qsort(uw, nuw, sizeof(*uw), lc_cmp_key);
    int32_t ngroups = 0;
    for (size_t x = 0, r = 0; x < nuw; x++, r++) {
        if (x == 0 || uw[x].client != uw[x - 1].client || uw[x].a != uw[x - 1].a) {
            ngroups++;
            r = 0;
        }
        lop[uw[x].idx].group = ngroups - 1;
        lop[uw[x].idx].rank = (int32_t)r;
    }
    free(uw);
    ranked = calloc(ngroups ? (size_t)ngroups : 1, sizeof(*ranked));
    if (!ranked)
        goto out;
    size_t remaining = mr, sp = 0;
    int32_t cur = ent[0].next;
    while (remaining > 0) {
        if (cur < 0 || !ent[cur].is_call) {
            /* the op of this return entry cannot be placed after this prefix */
            if ((int64_t)sp > best_depth) {
                best_depth = (int64_t)sp;
                best_lin = cur < 0 ? -1 : ent[cur].lin;
                best_state = st;
            }
            if (sp == 0)
                break;
            const struct lc_frame *f = &stack[--sp];
            struct lc_lop *l = &lop[f->lin];
            st = f->prev;
            if (l->ret_e >= 0)
                lc_relink(ent, l->ret_e);
            lc_relink(ent, l->call_e);
            bits[l->bit / 64] &= ~(1ull << (l->bit % 64));
            if (l->required) {
                zob ^= l->zob;
                lc_seg_set(seg, segn, l->bit, l->need);
                remaining++;
            }
            if (l->group >= 0)
                ranked[l->group]--;
            avail += l->bumps;
            cur = ent[l->call_e].next;
            continue;
        }
        int32_t j = ent[cur].lin;
        struct lc_lop *l = &lop[j];
        struct lc_state ns;
        /* only the first unplaced UNKNOWN WRITE of its class */
        if ((l->group >= 0 && l->rank != ranked[l->group]) ||
            !lc_step(&ops[l->op], l->blind, st, &ns)) {
            cur = ent[cur].next;
            continue;
        }
        if (l->required)
            lc_seg_set(seg, segn, l->bit, LC_NONE);
        /* No placement lifts the version above one an unplaced op needs
         * (versions never go back) or leaves too few ops to reach one. */
        if ((prune_required || !l->required) &&
            (ns.version > seg[1] || ns.version + avail - l->bumps < seg[2 * segn + 1])) {
            if (l->required)
                lc_seg_set(seg, segn, l->bit, l->need);
            cur = ent[cur].next;
            continue;
        }
        bits[l->bit / 64] |= 1ull << (l->bit % 64);
        if (l->required)
            zob ^= l->zob;
        uint64_t h =
            zob ^ lc_mix((uint64_t)ns.value ^ lc_mix((uint64_t)ns.version << 1 | ns.blind));
        if (wu) {
            size_t dead = 0, hi = nucas; /* UNKNOWN CASes expecting < ns.version */
            while (dead < hi) {
                size_t mid = dead + (hi - dead) / 2;
                if (ucas[mid] < ns.version)
                    dead = mid + 1;
                else
                    hi = mid;
            }
            memcpy(ukey, bits + wr, wu * sizeof(*ukey));
            for (size_t w = 0; w < dead / 64; w++)
                ukey[w] = ~0ull;
            if (dead % 64)
                ukey[dead / 64] |= (1ull << (dead % 64)) - 1;
            for (size_t w = 0; w < wu; w++)
                h = lc_mix(h ^ ukey[w]) + w;
        }
        h = lc_mix(h);
        int ins = lc_cache_insert(&cache, h, ns, bits, ukey, wr, wu);
        if (ins <= 0) {
            bits[l->bit / 64] &= ~(1ull << (l->bit % 64));
            if (l->required) {
                zob ^= l->zob;
                lc_seg_set(seg, segn, l->bit, l->need);
            }
            if (ins < 0)
                goto out; /* -ENOMEM */
            cur = ent[cur].next;
            continue;
        }
        if (++res->explored > max_states) {
            rc = -E2BIG;
            goto out;
        }
        stack[sp++] = (struct lc_frame){j, st};
        st = ns;
        lc_unlink(ent, l->call_e);
        if (l->ret_e >= 0)
            lc_unlink(ent, l->ret_e);
        remaining -= l->required;
        if (l->group >= 0)
            ranked[l->group]++;
        avail -= l->bumps;
        cur = ent[0].next;
    }
    if (remaining == 0) {
        rc = 1;
        goto out;
    }

    rc = 0;
    if (best_lin < 0)
        for (size_t j = 0; j < m && best_lin < 0; j++)
            if (lop[j].required)
                best_lin = (int64_t)j;
    size_t bi = lop[best_lin].op;
    char d[64], v[24];
    lc_describe(d, sizeof(d), &ops[bi]);
    if (best_state.blind)
        memcpy(v, "unread value", sizeof("unread value"));
    else
        (void)!snprintf(v, sizeof(v), "%lld", (long long)best_state.value);
    res->bad = (int64_t)bi;
    lc_why(res,
           "op %zu (%s, client %d, t %lld..%lld) cannot be linearized; longest valid prefix: "
           "%lld ops, ending in (%s, v%lld)",
           bi, d, (int)ops[bi].client, (long long)ops[bi].call, (long long)ops[bi].ret,
           (long long)best_depth, v, (long long)best_state.version);
out:
    free(lop);
    free(ev);
    free(seen);
    free(ranked);
    free(ukey);
    free(ucas);
    free(ent);
    free(stack);
    free(bits);
    free(seg);
    free(cache.slot);
    free(cache.arena);
    return rc;
}

int cv_lc_check(const struct cv_lc_op *ops, size_t n, int64_t init_value, uint64_t max_states,
                struct cv_lc_result *res)
{
    struct cv_lc_result scratch;
    if (!res)
        res = &scratch;
    res->explored = 0;
    res->bad = -1;
    res->why[0] = '\0';
    if (n == 0)
        return 1;
    if (!ops)
        return -EINVAL;
    if (n > (size_t)INT32_MAX / 4)
        return -E2BIG;
    if (max_states == 0)
        max_states = LC_DEFAULT_MAX_STATES;
    for (size_t i = 0; i < n; i++) {
        const struct cv_lc_op *o = &ops[i];
        if (o->kind > CV_LC_CAS || o->outcome > CV_LC_UNKNOWN)
            return -EINVAL;
        if (o->outcome != CV_LC_UNKNOWN && o->ret < o->call)
            return -EINVAL;
    }
    if (!lc_precheck(ops, n, init_value, res))
        return 0;
    int rc = lc_plain(ops, n, init_value, res);
    if (rc != 1)
        return rc;
    rc = lc_search(ops, n, init_value, max_states, 1, res);
    if (rc == -E2BIG)
        lc_why(res, "search gave up after %llu states", (unsigned long long)res->explored);
    if (rc != 0)
        return rc;
    /* A violation. The search pruned where a required op would lift the
     * version past one another op needs, so it failed at that op rather than
     * where the history really goes wrong: search again without that prune,
     * within a budget, for the explanation. (Any linearization it found
     * would be a valid one, but the prune is sound: it finds none.) */
    struct cv_lc_result again = {0};
    uint64_t budget = res->explored + 100000;
    int rc2 = lc_search(ops, n, init_value, budget < max_states ? budget : max_states, 0, &again);
    res->explored += again.explored;
    if (rc2 == 1)
        return 1;
    if (rc2 == 0) {
        res->bad = again.bad;
        memcpy(res->why, again.why, sizeof(res->why));
    }
    return 0;
}
