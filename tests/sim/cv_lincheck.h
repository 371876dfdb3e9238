/*
 * cv_lincheck — linearizability checker for ZooKeeper-style register
 * histories, run by the deterministic simulator (tests/sim) after every run.
 *
 * Model: one key = one znode holding an int64 value and ZooKeeper's data
 * version. State (value, version), initially (init_value, 0).
 *   WRITE v     setData(v, -1): value = v, version += 1. OK with a reported
 *               version >= 0: the new version must equal it.
 *   CAS e -> v  setData(v, e): where version == e, value = v, version += 1 and
 *               the outcome must be OK (reported version, if >= 0, must be
 *               e + 1); where version != e, no change and the outcome must be
 *               FAIL (BADVERSION).
 *   READ        returns (value, version). sync != 0: sync + getData,
 *               linearizable. sync == 0: a plain getData, which ZooKeeper
 *               only guarantees to be sequentially consistent per session.
 * Outcomes: OK; FAIL = definitely no effect (BADVERSION for a CAS, which must
 * still be placed where the version differs; a FAIL WRITE or READ is
 * ignored); UNKNOWN = timeout / connection loss: the op may take effect at
 * any time after its call or never (ret is ignored); an UNKNOWN READ is
 * ignored.
 *
 * Real time: op a precedes op b iff a.ret < b.call (equal times overlap).
 *
 * Linearizable part (WRITE, CAS, sync READ): Wing & Gong's depth-first search
 * with Lowe's memoization of (set of linearized ops, state), as Knossos's
 * "wgl" and Porcupine, plus sound reductions for UNKNOWN ops and versions
 * (cv_lincheck.c). Reported versions make the search nearly linear; many
 * UNKNOWN ops writing few distinct values can still make a violating history
 * expensive to refute (-E2BIG): write distinct values where possible.
 *
 * Plain reads (sync == 0, OK) must satisfy, each:
 *   (a) their (value, version) is (init_value, 0), or the value of a WRITE/CAS
 *       (OK or UNKNOWN) called no later than the read returned and able to
 *       produce that version (a reported version equal to it, a CAS's
 *       expect + 1 equal to it, or no reported version);
 *   (b) per client, in call order (ties: array order), their version is >=
 *       the version of every earlier OK read (plain or sync) of that client;
 *   (c) read-your-writes: their version is >= the reported version of every
 *       OK WRITE/CAS of the same client that returned before the read's call.
 * The violation reported is the one of the earliest-called plain read.
 *
 * Contract: pure function over caller-owned memory; no global state, any
 * thread; working memory is allocated per call and freed before returning.
 * Returns 1 when the history is linearizable and every plain read satisfies
 * the rules above, 0 on a violation (res->bad is the index of an op that
 * could not be placed or broke a rule, res->why a one-line explanation),
 * -E2BIG when the search explored more than max_states states (0 = default,
 * 10 million; the verdict is then unknown) or n is absurdly large, -ENOMEM,
 * or -EINVAL for a malformed op (unknown kind or outcome, ret < call for an
 * op that is not UNKNOWN, ops NULL with n > 0). res may be NULL;
 * res->explored is set in every case. The checks run in this order, the
 * first failing one reported: ops impossible on their own (an OK CAS
 * reporting a version other than expect + 1, a read of version 0 with another
 * value than init_value, ...), the plain-read rules, the search.
 */
#ifndef CV_LINCHECK_H
#define CV_LINCHECK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum cv_lc_kind { CV_LC_READ, CV_LC_WRITE, CV_LC_CAS };
enum cv_lc_outcome { CV_LC_OK, CV_LC_FAIL, CV_LC_UNKNOWN };

struct cv_lc_op {
    int64_t call, ret; /* invocation and response times (any monotonic unit); ret ignored when
                          UNKNOWN */
    int32_t client;    /* session / client id: plain reads are checked per client */
    uint8_t kind, outcome;
    uint8_t sync;    /* READ: 1 if linearizable (sync + read), 0 plain */
    int64_t value;   /* WRITE/CAS: value written; READ OK: value read */
    int32_t expect;  /* CAS: expected version */
    int32_t version; /* READ OK: version read; WRITE/CAS OK: new version reported (-1 unknown) */
};

struct cv_lc_result {
    uint64_t explored; /* search states visited (both searches when a violation is explained) */
    int64_t bad;       /* on a violation: index of an op that could not be placed / broke a rule,
                          else -1 */
    char why[160];     /* on a violation: a one-line human explanation */
};

/* 1 linearizable (and every plain read satisfies the session rules), 0 violation (res says which),
 * -E2BIG if the search exceeded max_states (0 = default 10 million), -ENOMEM, -EINVAL. */
int cv_lc_check(const struct cv_lc_op *ops, size_t n, int64_t init_value, uint64_t max_states,
                struct cv_lc_result *res);

#ifdef __cplusplus
}
#endif
#endif /* CV_LINCHECK_H */
