/*
 * cv_zab — Zab atomic broadcast (see cv_zab.h for the contract).
 *
 * Structure: the proposal history (a ring of entries over a byte ring), the
 * election (ZooKeeper's FastLeaderElection, simplified: rounds, votes ordered
 * by (epoch, zxid, id), a quorum that must agree for finalize_ms), the leader
 * (discovery -> sync -> broadcast, per-peer state) and the follower /
 * observer (discovery -> sync -> broadcast).
 */
#include "cv_zab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- history ------------------------------------------------------------- */

struct ent {
    int64_t zxid;
    uint64_t off; /* absolute offset in the byte ring */
    uint32_t len;
};

struct vote {
    uint8_t leader;
    int64_t epoch;
    int64_t zxid;
};

enum lphase { L_DISCOVER, L_SYNC, L_BROADCAST };
enum fphase { F_DISCOVER, F_SYNC, F_BROADCAST };
enum pstate { P_NONE, P_INFO, P_SYNCING, P_SYNCED };

struct peer {
    uint8_t state; /* enum pstate (leader's view) */
    bool observer;
    int64_t accepted; /* FOLLOWERINFO */
    int64_t acked;    /* cumulative ACK */
    int64_t heard;    /* last message time */
    int64_t ping_sent;
    int64_t ping_round; /* highest sync round this follower echoed */
    /* election */
    bool has_vote;
    struct vote vote;
    int64_t round;
    uint8_t vstate; /* enum cv_peer_state */
};

struct cv_zab {
    struct cv_zab_config cfg;
    struct cv_zab_host h;

    /* persistent */
    int64_t accepted_epoch, current_epoch;

    /* history: entries (first, count) in a ring; their bytes in a byte ring */
    struct ent *ents;
    uint32_t ent_cap, ent_first, ent_n;
    uint8_t *bytes;
    uint64_t byte_cap, byte_head, byte_tail;
    int64_t base;      /* the zxid before the oldest kept entry (committed) */
    int64_t appended;  /* last zxid in the history */
    int64_t logged;    /* durable in the log */
    int64_t to_log;    /* handed to host->append (logged <= to_log <= appended) */
    int64_t committed; /* applied */

    enum cv_zab_role role;
    uint8_t leader;
    int64_t now;
    int64_t phase_start;

    /* election */
    int64_t round;
    struct vote vote;
    int64_t agree_since; /* when the current quorum agreement started, -1 none */
    int64_t next_notify;

    /* leader */
    enum lphase lphase;
    int64_t new_epoch;
    bool stepping_down; /* counter full: commit in-flight, then step down */
    struct peer peers[CV_ZAB_MAX_SERVERS];
    /* syncs waiting for a quorum to confirm this leader is still leading */
    struct syncq {
        uint8_t peer; /* 0: this server's own client */
        int64_t session, cookie, zxid, round;
    } * sq;
    uint32_t sq_cap, sq_head, sq_n;
    int64_t sync_round; /* the newest round pinged */
    bool sync_next;     /* a sync waits for a round not pinged yet */

    /* follower */
    enum fphase fphase;
    bool newleader_pending;
    int64_t newleader_epoch;
    bool acked_newleader;
    int64_t leader_heard;
    int64_t info_sent; /* follower in discovery: last FOLLOWERINFO sent */
    bool detached;     /* lag bound hit: holding proposals without logging them */
    bool resyncing;    /* caught up, RESYNC sent: the log is being synchronised */
    bool resync_acked; /* ... and its NEWLEADER acknowledged */
    uint8_t *snap;
    uint64_t snap_len, snap_got;
    int64_t snap_zxid;
    int64_t *touches;
    uint32_t touch_n;

    struct cv_zab_stats st;
};

static bool is_voter(const struct cv_zab *z, uint8_t id)
{
    return id < CV_ZAB_MAX_SERVERS && (z->cfg.voters >> id & 1);
}
static bool is_member(const struct cv_zab *z, uint8_t id)
{
    return id && id < CV_ZAB_MAX_SERVERS && ((z->cfg.voters | z->cfg.observers) >> id & 1);
}

static bool majority(const struct cv_zab *z, uint64_t set)
{
    int n = __builtin_popcountll(z->cfg.voters), k = __builtin_popcountll(set & z->cfg.voters);
    return 2 * k > n;
}
static bool quorum(const struct cv_zab *z, uint64_t set)
{
    set &= z->cfg.voters;
    return z->cfg.is_quorum ? z->cfg.is_quorum(z->cfg.quorum_ctx, set) : majority(z, set);
}

static const struct ent *ent_at(const struct cv_zab *z, uint32_t i)
{
    return &z->ents[(z->ent_first + i) % z->ent_cap];
}
static const uint8_t *ent_bytes(const struct cv_zab *z, const struct ent *e)
{
    return z->bytes + e->off % z->byte_cap;
}

/* Index of the entry with zxid, or -1. */
static int64_t ent_find(const struct cv_zab *z, int64_t zxid)
{
    uint32_t lo = 0, hi = z->ent_n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ent_at(z, mid)->zxid < zxid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < z->ent_n && ent_at(z, lo)->zxid == zxid ? (int64_t)lo : -1;
}

/* First index whose zxid > zxid. */
static uint32_t ent_after(const struct cv_zab *z, int64_t zxid)
{
    uint32_t lo = 0, hi = z->ent_n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ent_at(z, mid)->zxid <= zxid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void ent_drop_oldest(struct cv_zab *z)
{
    const struct ent *e = ent_at(z, 0);
    z->base = e->zxid;
    z->ent_first = (z->ent_first + 1) % z->ent_cap;
    z->ent_n--;
    z->byte_tail = z->ent_n ? ent_at(z, 0)->off : z->byte_head;
}

/* Add an entry; evicts committed entries to make room. -EBUSY if the room
 * is held by uncommitted ones. */
static int ent_push(struct cv_zab *z, int64_t zxid, const uint8_t *p, size_t len)
{
    if (len == 0 || len > z->byte_cap / 2)
        return -EINVAL;
    for (;;) {
        uint64_t head = z->byte_head, pos = head % z->byte_cap;
        if (pos + len > z->byte_cap)
            head += z->byte_cap - pos; /* skip the ring's end */
        bool fits = head + len - z->byte_tail <= z->byte_cap && z->ent_n < z->ent_cap &&
                    z->ent_n < z->cfg.history;
        if (fits) {
            memcpy(z->bytes + head % z->byte_cap, p, len);
            struct ent *e = &z->ents[(z->ent_first + z->ent_n) % z->ent_cap];
            e->zxid = zxid;
            e->off = head;
            e->len = (uint32_t)len;
            z->ent_n++;
            z->byte_head = head + len;
            if (z->ent_n == 1)
                z->byte_tail = head;
            z->appended = zxid;
            return 0;
        }
        if (!z->ent_n || ent_at(z, 0)->zxid > z->committed)
            return -EBUSY;
        ent_drop_oldest(z);
    }
}

/* Forget entries after zxid (TRUNC, a new leader's history). */
static void ent_truncate(struct cv_zab *z, int64_t zxid)
{
    while (z->ent_n && ent_at(z, z->ent_n - 1)->zxid > zxid)
        z->ent_n--;
    if (z->ent_n) {
        const struct ent *last = ent_at(z, z->ent_n - 1);
        z->byte_head = last->off + last->len;
        z->appended = last->zxid;
    } else {
        z->byte_head = z->byte_tail;
        z->appended = z->base;
    }
    if (z->logged > z->appended)
        z->logged = z->appended;
    if (z->to_log > z->appended)
        z->to_log = z->appended;
}

static void ent_reset(struct cv_zab *z, int64_t base)
{
    z->ent_n = 0;
    z->byte_tail = z->byte_head;
    z->base = z->appended = z->logged = z->to_log = z->committed = base;
}

/* Hand the held proposals up to zxid that the log has not been given yet. */
static void log_through(struct cv_zab *z, int64_t zxid)
{
    for (uint32_t i = ent_after(z, z->to_log); i < z->ent_n; i++) {
        const struct ent *e = ent_at(z, i);
        if (e->zxid > zxid)
            break;
        z->h.append(z->h.ctx, e->zxid, ent_bytes(z, e), e->len);
        z->to_log = e->zxid;
    }
}

/* ---- messages ------------------------------------------------------------ */

static void send(struct cv_zab *z, uint8_t to, uint8_t type, int64_t epoch, int64_t zxid, int64_t a,
                 int64_t b, const uint8_t *payload, uint32_t len)
{
    struct cv_peer_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.from = z->cfg.self;
    m.epoch = epoch;
    m.zxid = zxid;
    m.a = a;
    m.b = b;
    m.payload = len ? payload : NULL;
    m.len = len;
    z->h.send(z->h.ctx, to, &m);
}

static void persist(struct cv_zab *z)
{
    z->h.persist_epochs(z->h.ctx, z->accepted_epoch, z->current_epoch);
}

/* Apply every held proposal up to zxid. */
static void commit_to(struct cv_zab *z, int64_t zxid)
{
    if (zxid > z->appended)
        zxid = z->appended;
    if (zxid <= z->committed)
        return;
    for (uint32_t i = ent_after(z, z->committed); i < z->ent_n; i++) {
        const struct ent *e = ent_at(z, i);
        if (e->zxid > zxid)
            break;
        z->committed = e->zxid;
        z->st.commits++;
        z->h.apply(z->h.ctx, e->zxid, ent_bytes(z, e), e->len);
    }
    if (z->committed < zxid)
        z->committed = zxid; /* nothing held in between (cannot happen: FIFO) */
}

/* ---- roles ----------------------------------------------------------------- */

static void set_role(struct cv_zab *z, enum cv_zab_role r, uint8_t leader)
{
    z->role = r;
    z->leader = leader;
    z->phase_start = z->now;
}

static void notify_all(struct cv_zab *z);

static void go_looking(struct cv_zab *z)
{
    enum cv_zab_role was = z->role;
    if (was == CV_ZAB_LEADING) {
        for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++)
            if (z->peers[p].state != P_NONE) {
                z->peers[p].state = P_NONE;
                z->h.reset_peer(z->h.ctx, p);
            }
    } else if ((was == CV_ZAB_FOLLOWING || was == CV_ZAB_OBSERVING) && z->leader) {
        z->h.reset_peer(z->h.ctx, z->leader);
    }
    free(z->snap);
    z->snap = NULL;
    z->touch_n = 0;
    z->sq_n = 0;
    log_through(z, z->appended); /* a detached follower's held proposals */
    z->detached = z->resyncing = z->resync_acked = false;
    z->stepping_down = false;
    set_role(z, CV_ZAB_LOOKING, 0);
    z->st.elections++;
    z->round++;
    bool observer = !is_voter(z, z->cfg.self);
    z->vote = (struct vote){observer ? 0 : z->cfg.self, z->current_epoch, z->appended};
    for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++)
        z->peers[p].has_vote = false;
    z->agree_since = -1;
    if (was != CV_ZAB_LOOKING)
        z->h.role(z->h.ctx, CV_ZAB_LOOKING, 0, z->current_epoch);
    notify_all(z);
}

/* ---- election ------------------------------------------------------------ */

static bool better(const struct vote *a, const struct vote *b)
{
    if (a->epoch != b->epoch)
        return a->epoch > b->epoch;
    if (a->zxid != b->zxid)
        return a->zxid > b->zxid;
    return a->leader > b->leader;
}
static bool same(const struct vote *a, const struct vote *b)
{
    return a->leader == b->leader && a->epoch == b->epoch && a->zxid == b->zxid;
}

static uint8_t my_state(const struct cv_zab *z)
{
    switch (z->role) {
    case CV_ZAB_FOLLOWING: return CV_PEER_FOLLOWING;
    case CV_ZAB_LEADING: return CV_PEER_LEADING;
    case CV_ZAB_OBSERVING: return CV_PEER_OBSERVING;
    default: return CV_PEER_LOOKING;
    }
}

static void notify(struct cv_zab *z, uint8_t to)
{
    struct cv_peer_msg m;
    memset(&m, 0, sizeof m);
    m.type = CV_PEER_VOTE;
    m.from = z->cfg.self;
    m.state = my_state(z);
    m.round = z->round;
    m.a = z->vote.leader;
    m.b = z->vote.epoch;
    m.zxid = z->vote.zxid;
    m.epoch = z->current_epoch;
    z->h.send(z->h.ctx, to, &m);
}

static void notify_all(struct cv_zab *z)
{
    for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++)
        if (p != z->cfg.self && is_member(z, p))
            notify(z, p);
    z->next_notify = z->now + z->cfg.tick_ms / 2;
}

static void lead(struct cv_zab *z);
static void discover_if_quorum(struct cv_zab *z);
static void follow(struct cv_zab *z, uint8_t leader);

static void decide(struct cv_zab *z, uint8_t leader)
{
    if (leader == z->cfg.self)
        lead(z);
    else
        follow(z, leader);
}

/* Voters whose vote (this round) equals v; the leader-to-be must be among
 * those who agree unless it is this server. */
static uint64_t agreeing(const struct cv_zab *z, const struct vote *v)
{
    uint64_t set = 0;
    if (is_voter(z, z->cfg.self) && same(&z->vote, v))
        set |= 1ull << z->cfg.self;
    for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++)
        if (z->peers[p].has_vote && z->peers[p].round == z->round && is_voter(z, p) &&
            same(&z->peers[p].vote, v))
            set |= 1ull << p;
    return set;
}

/* Servers out of the election (following / leading) that back leader. */
static bool established_leader(const struct cv_zab *z, uint8_t leader)
{
    uint64_t set = 0;
    bool leader_leads = false;
    for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++) {
        const struct peer *q = &z->peers[p];
        if (!q->has_vote || q->vote.leader != leader || q->vstate == CV_PEER_LOOKING)
            continue;
        if (q->vstate == CV_PEER_FOLLOWING || q->vstate == CV_PEER_LEADING)
            set |= 1ull << p;
        if (p == leader && q->vstate == CV_PEER_LEADING)
            leader_leads = true;
    }
    return leader_leads && quorum(z, set);
}

static void on_vote(struct cv_zab *z, const struct cv_peer_msg *m)
{
    uint8_t s = m->from;
    struct vote v = {(uint8_t)m->a, m->b, m->zxid};
    if (z->role != CV_ZAB_LOOKING) {
        if (m->state == CV_PEER_LOOKING)
            notify(z, s);
        return;
    }
    struct peer *q = &z->peers[s];
    bool i_vote = is_voter(z, z->cfg.self);
    if (m->state == CV_PEER_LOOKING) {
        if (!is_voter(z, s) || !i_vote)
            return; /* observers' votes do not count; observers only listen */
        if (m->round > z->round) {
            z->round = m->round;
            for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++)
                if (z->peers[p].vstate == CV_PEER_LOOKING)
                    z->peers[p].has_vote = false;
            struct vote mine = {z->cfg.self, z->current_epoch, z->appended};
            z->vote = better(&v, &mine) ? v : mine;
            z->agree_since = -1;
            notify_all(z);
        } else if (m->round < z->round) {
            notify(z, s);
            return;
        } else if (better(&v, &z->vote)) {
            z->vote = v;
            z->agree_since = -1;
            notify_all(z);
        } else if (v.leader != z->vote.leader || v.epoch != z->vote.epoch ||
                   v.zxid != z->vote.zxid) {
            /* The sender holds a worse vote: tell it ours now rather than
             * at the next round of notifications (tickTime / 2 away), as
             * ZooKeeper's election answers a peer that is behind. */
            notify(z, s);
        }
        q->has_vote = true;
        q->vote = v;
        q->round = m->round;
        q->vstate = m->state;
        if (quorum(z, agreeing(z, &z->vote))) {
            if (z->agree_since < 0)
                z->agree_since = z->now;
        } else {
            z->agree_since = -1;
        }
        return;
    }
    /* The sender is out of the election: it follows or leads someone. */
    q->has_vote = true;
    q->vote = v;
    q->round = m->round;
    q->vstate = m->state;
    if (v.leader && established_leader(z, v.leader) && v.leader != z->cfg.self) {
        z->round = m->round;
        z->vote = v;
        decide(z, v.leader);
    }
}

static void election_tick(struct cv_zab *z)
{
    if (z->agree_since >= 0 && z->now - z->agree_since >= z->cfg.finalize_ms &&
        quorum(z, agreeing(z, &z->vote)) && z->vote.leader) {
        decide(z, z->vote.leader);
        return;
    }
    if (z->now >= z->next_notify)
        notify_all(z);
}

/* ---- leader -------------------------------------------------------------- */

static void lead(struct cv_zab *z)
{
    set_role(z, CV_ZAB_LEADING, z->cfg.self);
    z->lphase = L_DISCOVER;
    z->new_epoch = 0;
    z->stepping_down = false;
    for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++) {
        z->peers[p].state = P_NONE;
        z->peers[p].heard = z->now;
        z->peers[p].ping_round = 0;
    }
    z->sq_n = 0;
    z->sync_round = 0;
    z->sync_next = false;
    /* Tell everyone at once (followers of this leader learn it is leading). */
    notify_all(z);
    discover_if_quorum(z);
}

static uint64_t voters_in(const struct cv_zab *z, uint8_t min_state)
{
    uint64_t set = 0;
    for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++)
        if (z->peers[p].state >= min_state && !z->peers[p].observer && is_voter(z, p))
            set |= 1ull << p;
    return set;
}

static void send_entries_after(struct cv_zab *z, uint8_t to, int64_t after, bool observer)
{
    for (uint32_t i = ent_after(z, after); i < z->ent_n; i++) {
        const struct ent *e = ent_at(z, i);
        if (observer) {
            if (e->zxid > z->committed)
                break;
            send(z, to, CV_PEER_INFORM, 0, e->zxid, 0, 0, ent_bytes(z, e), e->len);
            continue;
        }
        send(z, to, CV_PEER_PROPOSAL, 0, e->zxid, 0, 0, ent_bytes(z, e), e->len);
        if (e->zxid <= z->committed)
            send(z, to, CV_PEER_COMMIT, 0, e->zxid, 0, 0, NULL, 0);
    }
}

struct snapw {
    struct cv_zab *z;
    uint8_t to;
    uint8_t *buf;
    size_t len, cap;
};

static int snap_write(void *w, const void *p, size_t n)
{
    struct snapw *s = w;
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        while (cap < s->len + n)
            cap *= 2;
        uint8_t *b = realloc(s->buf, cap);
        if (!b)
            return -ENOMEM;
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return 0;
}

/* Returns false if the peer could not be synchronised (the pair is reset). */
static bool send_snapshot(struct cv_zab *z, uint8_t to, int64_t *snap_zxid)
{
    struct snapw w = {z, to, NULL, 0, 0};
    if (z->h.snapshot(z->h.ctx, snap_write, &w, snap_zxid) || w.len == 0) {
        free(w.buf);
        return false;
    }
    for (size_t off = 0; off < w.len; off += z->cfg.snap_chunk) {
        size_t n = w.len - off < z->cfg.snap_chunk ? w.len - off : z->cfg.snap_chunk;
        send(z, to, CV_PEER_SNAP, 0, *snap_zxid, (int64_t)off, (int64_t)w.len, w.buf + off,
             (uint32_t)n);
    }
    free(w.buf);
    return true;
}

/* ACKEPOCH received: synchronise the peer, then NEWLEADER. */
static void sync_peer(struct cv_zab *z, uint8_t p, int64_t f_last)
{
    struct peer *q = &z->peers[p];
    int64_t point;
    if (f_last == z->appended || (f_last >= z->base && ent_find(z, f_last) >= 0) ||
        (f_last == z->base && f_last <= z->appended)) {
        send(z, p, CV_PEER_DIFF, 0, f_last, 0, 0, NULL, 0);
        z->st.syncs_diff++;
        point = f_last;
    } else if (f_last >= z->base) {
        /* The follower holds proposals this history lacks: cut it back to
         * the newest zxid both have. */
        uint32_t i = ent_after(z, f_last);
        point = i ? ent_at(z, i - 1)->zxid : z->base;
        if (z->cfg.mutate & CV_ZAB_MUT_SKIP_TRUNC) {
            send(z, p, CV_PEER_DIFF, 0, point, 0, 0, NULL, 0);
            z->st.syncs_diff++;
        } else {
            send(z, p, CV_PEER_TRUNC, 0, point, 0, 0, NULL, 0);
            z->st.syncs_trunc++;
        }
    } else {
        if (!send_snapshot(z, p, &point)) {
            q->state = P_NONE;
            z->h.reset_peer(z->h.ctx, p);
            return;
        }
        z->st.syncs_snap++;
    }
    send_entries_after(z, p, point, q->observer);
    send(z, p, CV_PEER_NEWLEADER, z->new_epoch, z->appended, 0, 0, NULL, 0);
    q->state = P_SYNCING;
    q->acked = 0;
}

static void establish_if_quorum(struct cv_zab *z)
{
    if (z->lphase != L_SYNC || z->logged < z->appended)
        return;
    uint64_t set = voters_in(z, P_SYNCED) | (1ull << z->cfg.self);
    if (!quorum(z, set))
        return;
    z->current_epoch = z->new_epoch;
    persist(z);
    /* The old epochs' proposals this leader holds are committed now;
     * observers (sent committed proposals only) learn them as INFORMs. */
    for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++)
        if (z->peers[p].state >= P_SYNCING && z->peers[p].observer)
            for (uint32_t i = ent_after(z, z->committed); i < z->ent_n; i++) {
                const struct ent *e = ent_at(z, i);
                send(z, p, CV_PEER_INFORM, 0, e->zxid, 0, 0, ent_bytes(z, e), e->len);
            }
    commit_to(z, z->appended);
    z->lphase = L_BROADCAST;
    for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++)
        if (z->peers[p].state == P_SYNCED)
            send(z, p, CV_PEER_UPTODATE, 0, z->committed, 0, 0, NULL, 0);
    z->h.role(z->h.ctx, CV_ZAB_LEADING, z->cfg.self, z->current_epoch);
}

/* Discovery: once a quorum (this leader included) has told its
 * acceptedEpoch, the new epoch is one above the largest. */
static void discover_if_quorum(struct cv_zab *z)
{
    uint64_t set = voters_in(z, P_INFO) | (1ull << z->cfg.self);
    if (!quorum(z, set))
        return;
    int64_t e = z->accepted_epoch;
    for (uint8_t r = 1; r < CV_ZAB_MAX_SERVERS; r++)
        if ((set >> r & 1) && r != z->cfg.self && z->peers[r].accepted > e)
            e = z->peers[r].accepted;
    z->new_epoch = e + 1;
    z->accepted_epoch = z->new_epoch;
    persist(z);
    z->lphase = L_SYNC;
    for (uint8_t r = 1; r < CV_ZAB_MAX_SERVERS; r++)
        if (z->peers[r].state == P_INFO)
            send(z, r, CV_PEER_LEADERINFO, z->new_epoch, z->appended, 0, 0, NULL, 0);
    establish_if_quorum(z); /* this leader alone may be a quorum */
}

static void leader_try_commit(struct cv_zab *z)
{
    if (z->lphase != L_BROADCAST)
        return;
    int64_t before = z->committed, to = before;
    for (uint32_t i = ent_after(z, before); i < z->ent_n; i++) {
        int64_t zx = ent_at(z, i)->zxid;
        uint64_t set = z->logged >= zx ? 1ull << z->cfg.self : 0;
        for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++)
            if (z->peers[p].state == P_SYNCED && !z->peers[p].observer && z->peers[p].acked >= zx)
                set |= 1ull << p;
        if (!quorum(z, set) && !(z->cfg.mutate & CV_ZAB_MUT_COMMIT_EARLY))
            break;
        to = zx;
    }
    if (to != before) {
        /* Observers learn each committed proposal; followers one cumulative
         * COMMIT. */
        for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++) {
            if (z->peers[p].state < P_SYNCING)
                continue;
            if (!z->peers[p].observer) {
                send(z, p, CV_PEER_COMMIT, 0, to, 0, 0, NULL, 0);
                continue;
            }
            for (uint32_t i = ent_after(z, before); i < z->ent_n; i++) {
                const struct ent *e = ent_at(z, i);
                if (e->zxid > to)
                    break;
                send(z, p, CV_PEER_INFORM, 0, e->zxid, 0, 0, ent_bytes(z, e), e->len);
            }
        }
        commit_to(z, to);
    }
    if (z->stepping_down && z->committed == z->appended) {
        z->st.epoch_rolls++;
        go_looking(z);
    }
}

/* Answer the syncs whose round a quorum has echoed: the leader was still
 * leading after they arrived, so every write acknowledged before them is at
 * or below their zxid (a deposed leader never gets here). */
/* Whether a quorum (this leader included) has echoed sync round r. */
static bool round_confirmed(const struct cv_zab *z, int64_t r)
{
    uint64_t set = 1ull << z->cfg.self;
    for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++)
        if (z->peers[p].state == P_SYNCED && !z->peers[p].observer && z->peers[p].ping_round >= r)
            set |= 1ull << p;
    return quorum(z, set);
}

/* A new sync round: one ping to every synced voter, whatever the number of
 * syncs waiting for it (syncs that arrive while a round is in flight wait
 * for the next one). */
static void send_round(struct cv_zab *z)
{
    z->sync_round++;
    z->sync_next = false;
    for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++)
        if (z->peers[p].state == P_SYNCED && !z->peers[p].observer)
            send(z, p, CV_PEER_PING, 0, z->committed, z->sync_round, 0, NULL, 0);
}

/* Answer the syncs whose round a quorum has echoed: the leader was still
 * leading after they arrived, so every write acknowledged before them is at
 * or below their zxid (a deposed leader never gets here). */
static void answer_syncs(struct cv_zab *z)
{
    while (z->sq_n) {
        struct syncq *q = &z->sq[z->sq_head];
        if (q->round > z->sync_round || !round_confirmed(z, q->round))
            break;
        if (q->peer == 0)
            z->h.synced(z->h.ctx, q->session, q->cookie, q->zxid);
        else if (z->peers[q->peer].state == P_SYNCED)
            send(z, q->peer, CV_PEER_SYNCED, 0, q->zxid, q->session, q->cookie, NULL, 0);
        z->sq_head = (z->sq_head + 1) % z->sq_cap;
        z->sq_n--;
    }
    if (z->sync_next && round_confirmed(z, z->sync_round)) {
        send_round(z);
        answer_syncs(z); /* this leader alone may be a quorum */
    }
}

static int leader_sync(struct cv_zab *z, uint8_t peer, int64_t session, int64_t cookie)
{
    if (z->sq_n == z->sq_cap)
        return -EBUSY;
    struct syncq *q = &z->sq[(z->sq_head + z->sq_n++) % z->sq_cap];
    *q = (struct syncq){peer, session, cookie, z->appended, z->sync_round + 1};
    z->sync_next = true;
    answer_syncs(z);
    return 0;
}

static void leader_drop(struct cv_zab *z, uint8_t p)
{
    if (z->peers[p].state == P_NONE)
        return;
    z->peers[p].state = P_NONE;
    z->h.reset_peer(z->h.ctx, p);
}

static void on_leader_msg(struct cv_zab *z, const struct cv_peer_msg *m)
{
    uint8_t p = m->from;
    struct peer *q = &z->peers[p];
    q->heard = z->now;
    switch (m->type) {
    case CV_PEER_FOLLOWERINFO:
        if (m->flags & CV_PEER_F_OBSERVER ? !(z->cfg.observers >> p & 1) : !is_voter(z, p))
            return;
        q->state = P_INFO;
        q->observer = (m->flags & CV_PEER_F_OBSERVER) != 0;
        q->accepted = m->epoch;
        q->acked = 0;
        q->ping_round = 0;
        if (z->lphase == L_DISCOVER)
            discover_if_quorum(z);
        else {
            send(z, p, CV_PEER_LEADERINFO, z->new_epoch, z->appended, 0, 0, NULL, 0);
        }
        return;
    case CV_PEER_ACKEPOCH:
        if (q->state != P_INFO || z->lphase == L_DISCOVER)
            return;
        if (!q->observer && (m->epoch > z->current_epoch ||
                             (m->epoch == z->current_epoch && m->zxid > z->appended))) {
            go_looking(z); /* a follower is ahead of this leader */
            return;
        }
        sync_peer(z, p, m->zxid);
        return;
    case CV_PEER_ACK:
        if (q->state == P_SYNCING && m->zxid == cv_zab_zxid(z->new_epoch, 0)) {
            q->state = P_SYNCED;
            if (z->lphase == L_SYNC)
                establish_if_quorum(z);
            else if (z->lphase == L_BROADCAST)
                send(z, p, CV_PEER_UPTODATE, 0, z->committed, 0, 0, NULL, 0);
            return;
        }
        if (q->state == P_SYNCED && m->zxid > q->acked) {
            q->acked = m->zxid;
            leader_try_commit(z);
        }
        return;
    case CV_PEER_PING:
        if (q->state < P_SYNCING)
            return;
        if (m->a > q->ping_round) {
            q->ping_round = m->a;
            answer_syncs(z);
        }
        for (uint32_t off = 0; off + 8 <= m->len; off += 8) {
            uint64_t v = 0;
            for (int k = 0; k < 8; k++)
                v = v << 8 | m->payload[off + k];
            z->h.touch(z->h.ctx, (int64_t)v);
        }
        return;
    case CV_PEER_REQUEST:
        if (q->state == P_SYNCED && z->lphase == L_BROADCAST)
            z->h.request(z->h.ctx, p, m->a, m->b, m->payload, m->len);
        return;
    case CV_PEER_RESYNC:
        if (q->state == P_SYNCED && !q->observer && z->lphase == L_BROADCAST)
            sync_peer(z, p, m->zxid); /* back to P_SYNCING: not counted until it acks */
        return;
    case CV_PEER_SYNCREQ:
        if (q->state == P_SYNCED && leader_sync(z, p, m->a, m->b))
            send(z, p, CV_PEER_SYNCED, 0, -1, m->a, m->b, NULL, 0); /* refused: retry */
        return;
    default: return;
    }
}

static void leader_tick(struct cv_zab *z)
{
    int64_t limit = (int64_t)z->cfg.sync_limit * z->cfg.tick_ms;
    if (z->lphase != L_BROADCAST) {
        if (z->now - z->phase_start > (int64_t)z->cfg.init_limit * z->cfg.tick_ms)
            go_looking(z);
        return;
    }
    if ((uint32_t)cv_zab_next_zxid(z) >= z->cfg.counter_limit && !z->stepping_down) {
        z->stepping_down = true; /* the epoch is full: commit what is in flight, then elect */
        leader_try_commit(z);
        if (z->role != CV_ZAB_LEADING)
            return;
    }
    uint64_t alive = 1ull << z->cfg.self;
    for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++) {
        struct peer *q = &z->peers[p];
        if (q->state == P_NONE)
            continue;
        if (z->now - q->heard > limit) {
            z->st.peers_dropped++;
            leader_drop(z, p);
            continue;
        }
        if (q->state == P_SYNCED && !q->observer)
            alive |= 1ull << p;
        if (z->now - q->ping_sent >= z->cfg.tick_ms / 2) {
            q->ping_sent = z->now;
            send(z, p, CV_PEER_PING, 0, z->committed, z->sync_round, 0, NULL, 0);
        }
    }
    if (!quorum(z, alive))
        go_looking(z);
}

/* ---- follower / observer ----------------------------------------------------- */

static void send_followerinfo(struct cv_zab *z);

static void follow(struct cv_zab *z, uint8_t leader)
{
    bool observer = !is_voter(z, z->cfg.self);
    set_role(z, observer ? CV_ZAB_OBSERVING : CV_ZAB_FOLLOWING, leader);
    z->fphase = F_DISCOVER;
    z->newleader_pending = false;
    z->acked_newleader = false;
    z->detached = z->resyncing = z->resync_acked = false;
    z->leader_heard = z->now;
    z->touch_n = 0;
    /* A fresh connection: nothing stale from an earlier one arrives. The
     * reset makes the leader-to-be forget this server's vote: repeat it on
     * the new pair, so an election still finishing does not wait for the
     * next round of notifications. */
    z->h.reset_peer(z->h.ctx, leader);
    notify(z, leader);
    send_followerinfo(z);
}

/* FOLLOWERINFO to the leader; repeated while discovery has no answer (the
 * leader-to-be may still be LOOKING when it arrives, and drops it; a
 * ZooKeeper learner likewise retries its connection). The leader handles a
 * repeat as the same request: the channel is FIFO, so a repeat can never
 * overtake this server's ACKEPOCH. */
static void send_followerinfo(struct cv_zab *z)
{
    struct cv_peer_msg m;
    memset(&m, 0, sizeof m);
    m.type = CV_PEER_FOLLOWERINFO;
    m.from = z->cfg.self;
    m.flags = is_voter(z, z->cfg.self) ? 0 : CV_PEER_F_OBSERVER;
    m.epoch = z->accepted_epoch;
    m.zxid = z->appended;
    z->info_sent = z->now;
    z->h.send(z->h.ctx, z->leader, &m);
}

static void follower_ack_newleader(struct cv_zab *z)
{
    if (!z->newleader_pending || z->logged < z->appended || z->snap)
        return;
    z->newleader_pending = false;
    z->current_epoch = z->newleader_epoch;
    persist(z);
    z->acked_newleader = true;
    if (z->resyncing)
        z->resync_acked = true;
    send(z, z->leader, CV_PEER_ACK, 0, cv_zab_zxid(z->newleader_epoch, 0), 0, 0, NULL, 0);
    if (z->role == CV_ZAB_FOLLOWING && z->logged > cv_zab_zxid(z->newleader_epoch, 0))
        send(z, z->leader, CV_PEER_ACK, 0, z->logged, 0, 0, NULL, 0);
}

/* Proposals the log has been given but not made durable yet. */
static uint32_t log_backlog(const struct cv_zab *z)
{
    return ent_after(z, z->to_log) - ent_after(z, z->logged);
}

static void follower_append(struct cv_zab *z, const struct cv_peer_msg *m)
{
    if (m->zxid <= z->appended) {
        /* Already held; a resync sends it again for the log. */
        if (z->resyncing && m->zxid > z->to_log)
            log_through(z, m->zxid);
        return;
    }
    if (ent_push(z, m->zxid, m->payload, m->len)) {
        go_looking(z); /* cannot hold it: resynchronise from scratch */
        return;
    }
    z->st.proposals++;
    if (z->cfg.lag_resync && z->role == CV_ZAB_FOLLOWING && z->fphase == F_BROADCAST &&
        !z->detached && !z->resyncing && log_backlog(z) >= z->cfg.lag_resync) {
        /* S4: the disk is too far behind. Keep applying commits (clients
         * are served), stop feeding the log; resynchronise it later. */
        z->detached = true;
        z->st.lag_detaches++;
    }
    if (z->detached)
        return;
    z->h.append(z->h.ctx, m->zxid, m->payload, m->len);
    z->to_log = m->zxid;
    if ((z->cfg.mutate & CV_ZAB_MUT_ACK_EARLY) && z->acked_newleader && z->role == CV_ZAB_FOLLOWING)
        send(z, z->leader, CV_PEER_ACK, 0, m->zxid, 0, 0, NULL, 0);
}

static void on_follower_msg(struct cv_zab *z, const struct cv_peer_msg *m)
{
    if (m->from != z->leader)
        return;
    z->leader_heard = z->now;
    switch (m->type) {
    case CV_PEER_LEADERINFO:
        if (z->fphase != F_DISCOVER)
            return;
        if (m->epoch < z->accepted_epoch) {
            go_looking(z);
            return;
        }
        if (m->epoch > z->accepted_epoch) {
            z->accepted_epoch = m->epoch;
            persist(z);
        }
        z->fphase = F_SYNC;
        send(z, z->leader, CV_PEER_ACKEPOCH, z->current_epoch, z->appended, 0, 0, NULL, 0);
        return;
    case CV_PEER_DIFF:
        if (z->resyncing)
            z->detached = false; /* what follows is logged as it arrives */
        return;
    case CV_PEER_TRUNC:
        if ((z->fphase != F_SYNC && !z->resyncing) || m->zxid < z->committed) {
            if (m->zxid < z->committed)
                z->st.conflicts++; /* committed history lost: must never happen */
            go_looking(z);
            return;
        }
        z->h.truncate(z->h.ctx, m->zxid);
        ent_truncate(z, m->zxid);
        z->detached = false;
        return;
    case CV_PEER_SNAP:
        if (z->fphase != F_SYNC && !z->resyncing)
            return;
        if (m->a == 0) {
            free(z->snap);
            z->snap = malloc((size_t)m->b ? (size_t)m->b : 1);
            if (!z->snap) {
                go_looking(z);
                return;
            }
            z->snap_len = (uint64_t)m->b;
            z->snap_got = 0;
            z->snap_zxid = m->zxid;
        }
        if (!z->snap || (uint64_t)m->a != z->snap_got || (uint64_t)m->b != z->snap_len) {
            go_looking(z);
            return;
        }
        memcpy(z->snap + z->snap_got, m->payload, m->len);
        z->snap_got += m->len;
        if (z->snap_got == z->snap_len) {
            int rc = z->h.install(z->h.ctx, z->snap, z->snap_len, z->snap_zxid);
            free(z->snap);
            z->snap = NULL;
            if (rc) {
                go_looking(z);
                return;
            }
            ent_reset(z, z->snap_zxid);
            z->detached = false;
        }
        return;
    case CV_PEER_PROPOSAL:
        if (z->role == CV_ZAB_FOLLOWING)
            follower_append(z, m);
        return;
    case CV_PEER_INFORM:
        if (z->role != CV_ZAB_OBSERVING)
            return;
        follower_append(z, m);
        if (z->role == CV_ZAB_OBSERVING && z->fphase == F_BROADCAST)
            commit_to(z, m->zxid);
        return;
    case CV_PEER_COMMIT: commit_to(z, m->zxid); return;
    case CV_PEER_NEWLEADER:
        if (z->fphase != F_SYNC && !z->resyncing)
            return;
        z->newleader_pending = true;
        z->newleader_epoch = m->epoch;
        follower_ack_newleader(z);
        return;
    case CV_PEER_UPTODATE:
        if (z->resyncing && z->resync_acked) {
            commit_to(z, m->zxid); /* the log is synchronised; nothing else changes */
            z->resyncing = z->resync_acked = false;
            z->st.lag_resyncs++;
            return;
        }
        if (!z->acked_newleader || z->fphase == F_BROADCAST)
            return;
        commit_to(z, m->zxid);
        if (z->role == CV_ZAB_OBSERVING)
            commit_to(z, z->appended); /* observers hold committed proposals only */
        z->fphase = F_BROADCAST;
        z->h.role(z->h.ctx, z->role, z->leader, z->current_epoch);
        return;
    case CV_PEER_PING: {
        uint8_t buf[8 * 512];
        uint32_t n = 0;
        for (uint32_t i = 0; i < z->touch_n && n < 512; i++, n++)
            for (int k = 0; k < 8; k++)
                buf[n * 8 + k] = (uint8_t)((uint64_t)z->touches[i] >> (56 - 8 * k));
        if (n < z->touch_n)
            memmove(z->touches, z->touches + n, (z->touch_n - n) * sizeof *z->touches);
        z->touch_n -= n;
        send(z, z->leader, CV_PEER_PING, 0, z->logged, m->a, 0, buf, n * 8);
        return;
    }
    case CV_PEER_SYNCED: z->h.synced(z->h.ctx, m->a, m->b, m->zxid); return;
    default: return;
    }
}

static void follower_tick(struct cv_zab *z)
{
    int64_t limit = z->fphase == F_BROADCAST ? (int64_t)z->cfg.sync_limit * z->cfg.tick_ms
                                             : (int64_t)z->cfg.init_limit * z->cfg.tick_ms;
    if (z->now - z->leader_heard > limit) {
        go_looking(z);
        return;
    }
    if (z->fphase == F_DISCOVER && z->now - z->info_sent >= z->cfg.finalize_ms)
        send_followerinfo(z);
}

/* ---- public ---------------------------------------------------------------- */

void cv_zab_config_init(struct cv_zab_config *cfg, uint8_t self, uint64_t voters,
                        uint64_t observers)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->self = self;
    cfg->voters = voters;
    cfg->observers = observers;
    cfg->tick_ms = 2000;
    cfg->init_limit = 10;
    cfg->sync_limit = 5;
    cfg->finalize_ms = 50;
    cfg->history = 65536;
    cfg->history_bytes = 256u << 20;
    cfg->max_inflight = 16384;
    cfg->counter_limit = 0xfffffff0u;
    cfg->snap_chunk = 65536;
    cfg->max_touches = 4096;
    cfg->lag_resync = 8192;
}

struct cv_zab *cv_zab_new(const struct cv_zab_config *cfg, const struct cv_zab_host *host,
                          const char **why)
{
    const char *w = NULL;
    if (!cfg->self || cfg->self >= CV_ZAB_MAX_SERVERS ||
        !((cfg->voters | cfg->observers) >> cfg->self & 1))
        w = "this server is not in the ensemble";
    else if ((cfg->voters & cfg->observers) || (cfg->voters & 1) || (cfg->observers & 1))
        w = "a server is both voter and observer, or server id 0 is used";
    else if (!cfg->voters)
        w = "no voters";
    else if (cfg->tick_ms <= 0 || cfg->init_limit <= 0 || cfg->sync_limit <= 0)
        w = "tickTime, initLimit and syncLimit must be positive";
    else if (cfg->history < 16 || cfg->history_bytes < 65536 || !cfg->max_inflight ||
             cfg->max_inflight >= cfg->history || !cfg->counter_limit || !cfg->snap_chunk ||
             cfg->snap_chunk > CV_PEER_MAX_PAYLOAD || !cfg->max_touches)
        w = "history, in-flight, counter, chunk or touch limits out of range";
    else if (!host || !host->send || !host->reset_peer || !host->persist_epochs || !host->append ||
             !host->truncate || !host->apply || !host->snapshot || !host->install || !host->role ||
             !host->request || !host->touch || !host->synced)
        w = "a host callback is missing";
    if (w) {
        if (why)
            *why = w;
        return NULL;
    }
    struct cv_zab *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    z->cfg = *cfg;
    z->h = *host;
    z->ent_cap = cfg->history;
    z->byte_cap = cfg->history_bytes;
    z->ents = calloc(z->ent_cap, sizeof *z->ents);
    z->bytes = malloc(z->byte_cap);
    z->touches = calloc(cfg->max_touches, sizeof *z->touches);
    z->sq_cap = cfg->max_inflight;
    z->sq = calloc(z->sq_cap, sizeof *z->sq);
    if (!z->ents || !z->bytes || !z->touches || !z->sq) {
        cv_zab_free(z);
        if (why)
            *why = "out of memory";
        return NULL;
    }
    z->role = CV_ZAB_LOOKING;
    z->agree_since = -1;
    return z;
}

void cv_zab_free(struct cv_zab *z)
{
    if (!z)
        return;
    free(z->ents);
    free(z->bytes);
    free(z->touches);
    free(z->sq);
    free(z->snap);
    free(z);
}

int cv_zab_load_state(struct cv_zab *z, int64_t accepted_epoch, int64_t current_epoch,
                      int64_t applied_zxid)
{
    if (current_epoch > accepted_epoch || applied_zxid < 0)
        return -EINVAL;
    z->accepted_epoch = accepted_epoch;
    z->current_epoch = current_epoch;
    ent_reset(z, applied_zxid);
    return 0;
}

int cv_zab_load_proposal(struct cv_zab *z, int64_t zxid, const uint8_t *txn, size_t len)
{
    if (zxid <= z->appended || !len)
        return -EINVAL;
    if (ent_push(z, zxid, txn, len))
        return -ENOSPC;
    z->logged = z->to_log = zxid;
    return 0;
}

void cv_zab_start(struct cv_zab *z, int64_t now)
{
    z->now = now;
    z->role = CV_ZAB_LOOKING;
    z->st.elections++;
    z->round++;
    bool observer = !is_voter(z, z->cfg.self);
    z->vote = (struct vote){observer ? 0 : z->cfg.self, z->current_epoch, z->appended};
    z->agree_since = -1;
    notify_all(z);
    /* A lone voter is its own quorum. */
    if (!observer && quorum(z, 1ull << z->cfg.self))
        z->agree_since = now;
}

void cv_zab_recv(struct cv_zab *z, int64_t now, const struct cv_peer_msg *m)
{
    z->now = now;
    if (!is_member(z, m->from) || m->from == z->cfg.self)
        return;
    if (m->type == CV_PEER_VOTE) {
        on_vote(z, m);
        return;
    }
    if (z->role == CV_ZAB_LEADING)
        on_leader_msg(z, m);
    else if (z->role == CV_ZAB_FOLLOWING || z->role == CV_ZAB_OBSERVING)
        on_follower_msg(z, m);
}

void cv_zab_peer_reset(struct cv_zab *z, int64_t now, uint8_t peer)
{
    z->now = now;
    if (!is_member(z, peer))
        return;
    z->peers[peer].has_vote = false;
    if (z->role == CV_ZAB_LEADING && z->peers[peer].state != P_NONE)
        z->peers[peer].state = P_NONE;
    else if ((z->role == CV_ZAB_FOLLOWING || z->role == CV_ZAB_OBSERVING) && peer == z->leader)
        go_looking(z);
}

void cv_zab_logged(struct cv_zab *z, int64_t now, int64_t zxid)
{
    z->now = now;
    if (zxid > z->to_log)
        zxid = z->to_log;
    if (zxid <= z->logged)
        return;
    z->logged = zxid;
    if (z->role == CV_ZAB_LEADING) {
        if (z->lphase == L_SYNC)
            establish_if_quorum(z);
        else
            leader_try_commit(z);
    } else if (z->role == CV_ZAB_FOLLOWING || z->role == CV_ZAB_OBSERVING) {
        if (z->detached && !z->resyncing && z->logged == z->to_log && z->fphase == F_BROADCAST) {
            /* The disk caught up with what it was given: ask for the rest. */
            z->resyncing = true;
            z->resync_acked = false;
            send(z, z->leader, CV_PEER_RESYNC, 0, z->logged, 0, 0, NULL, 0);
        }
        if (z->newleader_pending)
            follower_ack_newleader(z);
        else if (z->acked_newleader && z->role == CV_ZAB_FOLLOWING &&
                 !(z->cfg.mutate & CV_ZAB_MUT_ACK_EARLY))
            send(z, z->leader, CV_PEER_ACK, 0, z->logged, 0, 0, NULL, 0);
    }
}

void cv_zab_tick(struct cv_zab *z, int64_t now)
{
    z->now = now;
    switch (z->role) {
    case CV_ZAB_LOOKING: election_tick(z); break;
    case CV_ZAB_LEADING: leader_tick(z); break;
    default: follower_tick(z); break;
    }
}

int64_t cv_zab_next_zxid(const struct cv_zab *z)
{
    int64_t e = cv_zab_epoch_of(z->appended);
    if (e == z->current_epoch)
        return z->appended + 1;
    return cv_zab_zxid(z->current_epoch, 1);
}

int cv_zab_propose(struct cv_zab *z, int64_t now, int64_t zxid, const uint8_t *txn, size_t len)
{
    z->now = now;
    if (z->role != CV_ZAB_LEADING || z->lphase != L_BROADCAST || z->stepping_down)
        return -EAGAIN;
    if (zxid != cv_zab_next_zxid(z) || !len)
        return -EINVAL;
    if ((uint32_t)zxid >= z->cfg.counter_limit) {
        z->stepping_down = true;
        leader_try_commit(z);
        return -ERANGE;
    }
    if (z->ent_n - ent_after(z, z->committed) >= z->cfg.max_inflight)
        return -EBUSY;
    int rc = ent_push(z, zxid, txn, len);
    if (rc)
        return rc == -EINVAL ? -EINVAL : -EBUSY;
    z->st.proposals++;
    z->h.append(z->h.ctx, zxid, txn, len);
    z->to_log = zxid;
    for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++)
        if (z->peers[p].state >= P_SYNCING && !z->peers[p].observer)
            send(z, p, CV_PEER_PROPOSAL, 0, zxid, 0, 0, txn, (uint32_t)len);
    if (z->cfg.mutate & CV_ZAB_MUT_COMMIT_EARLY)
        leader_try_commit(z);
    return 0;
}

int cv_zab_can_propose(const struct cv_zab *z, size_t len)
{
    if (z->role != CV_ZAB_LEADING || z->lphase != L_BROADCAST || z->stepping_down)
        return -EAGAIN;
    if ((uint32_t)cv_zab_next_zxid(z) >= z->cfg.counter_limit)
        return -ERANGE;
    if (!len || len > z->byte_cap / 2)
        return -EINVAL;
    if (z->ent_n - ent_after(z, z->committed) >= z->cfg.max_inflight)
        return -EBUSY;
    /* Room: the uncommitted bytes plus this one fit the ring with slack for
     * a wrap. */
    uint32_t first = ent_after(z, z->committed);
    uint64_t held = first < z->ent_n ? z->byte_head - ent_at(z, first)->off : 0;
    if (held + 2 * len > z->byte_cap || z->ent_n - first + 1 >= z->ent_cap)
        return -EBUSY;
    return 0;
}

int cv_zab_forward(struct cv_zab *z, int64_t session, int64_t cookie, const uint8_t *req,
                   size_t len)
{
    if (!cv_zab_serving(z) || z->role == CV_ZAB_LEADING || len > CV_PEER_MAX_PAYLOAD)
        return -EAGAIN;
    send(z, z->leader, CV_PEER_REQUEST, 0, 0, session, cookie, req, (uint32_t)len);
    return 0;
}

int cv_zab_sync(struct cv_zab *z, int64_t session, int64_t cookie)
{
    if (!cv_zab_serving(z))
        return -EAGAIN;
    if (z->role == CV_ZAB_LEADING)
        return leader_sync(z, 0, session, cookie);
    send(z, z->leader, CV_PEER_SYNCREQ, 0, 0, session, cookie, NULL, 0);
    return 0;
}

void cv_zab_touch(struct cv_zab *z, int64_t session)
{
    if (z->role != CV_ZAB_FOLLOWING && z->role != CV_ZAB_OBSERVING)
        return;
    if (z->touch_n == z->cfg.max_touches)
        return; /* the next ping carries the ones already buffered; this one
                   is heard again with the client's next ping */
    z->touches[z->touch_n++] = session;
}

enum cv_zab_role cv_zab_role(const struct cv_zab *z)
{
    return z->role;
}
uint8_t cv_zab_leader(const struct cv_zab *z)
{
    return z->leader;
}
bool cv_zab_serving(const struct cv_zab *z)
{
    if (z->role == CV_ZAB_LEADING)
        return z->lphase == L_BROADCAST;
    if (z->role == CV_ZAB_FOLLOWING || z->role == CV_ZAB_OBSERVING)
        return z->fphase == F_BROADCAST;
    return false;
}
int64_t cv_zab_accepted_epoch(const struct cv_zab *z)
{
    return z->accepted_epoch;
}
int64_t cv_zab_current_epoch(const struct cv_zab *z)
{
    return z->current_epoch;
}
int64_t cv_zab_last_proposed(const struct cv_zab *z)
{
    return z->appended;
}
int64_t cv_zab_last_logged(const struct cv_zab *z)
{
    return z->logged;
}
int64_t cv_zab_last_committed(const struct cv_zab *z)
{
    return z->committed;
}

void cv_zab_get_stats(const struct cv_zab *z, struct cv_zab_stats *st)
{
    *st = z->st;
    st->followers = st->synced_followers = st->synced_observers = st->pending_syncs = 0;
    if (z->role != CV_ZAB_LEADING)
        return;
    for (uint8_t p = 1; p < CV_ZAB_MAX_SERVERS; p++) {
        const struct peer *q = &z->peers[p];
        if (q->state >= P_SYNCING)
            st->followers++;
        if (q->state == P_SYNCED && !q->observer)
            st->synced_followers++;
        if (q->state == P_SYNCED && q->observer)
            st->synced_observers++;
        if (q->state == P_SYNCING)
            st->pending_syncs++;
    }
}

const char *cv_zab_role_name(enum cv_zab_role r)
{
    switch (r) {
    case CV_ZAB_LOOKING: return "looking";
    case CV_ZAB_FOLLOWING: return "follower";
    case CV_ZAB_LEADING: return "leader";
    case CV_ZAB_OBSERVING: return "observer";
    }
    return "?";
}
