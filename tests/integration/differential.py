#!/usr/bin/python3
"""Differential test: run the same seeded random operation sequence against two
ZooKeeper-protocol servers (Apache ZooKeeper 3.8 and corvid, or any two of
them) through kazoo, and compare every result, error code, Stat field, reply
header zxid and watch event after normalising what legitimately differs
between two servers (zxid values, times, session ids).

    /usr/bin/python3 tests/integration/differential.py --seeds 1,2,3 --ops 2000 \
        --a zookeeper --b corvid

Exit status 0: no difference. 1: a divergence (printed with the op history
leading to it). 2: a harness / start-up error. See DIFFERENTIAL.md.

Library use:  run_seed(seed, ops, "zookeeper", "corvid") -> Outcome
              run_targets(seed, ops, Target(..., endpoints=[...]), Target(...))
              (running servers or ensembles; test_differential_ensemble.py)
"""
import argparse
import bisect
import os
import random
import struct
import sys
import threading
import time
import traceback
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import zkserver  # noqa: E402  (the shared fixture; never modified here)

from kazoo.client import KazooClient  # noqa: E402
from kazoo import exceptions as kexc  # noqa: E402
from kazoo.protocol import connection as kconn  # noqa: E402
from kazoo.protocol import serialization as kser  # noqa: E402
from kazoo.protocol.states import ZnodeStat, KazooState  # noqa: E402
from kazoo.security import ACL, Id, make_digest_acl_credential  # noqa: E402

PORT_LO, PORT_HI = 23100, 23199
OP_TIMEOUT = 5.0           # seconds any single request may take
SETTLE = 0.2               # seconds to wait for event counts to converge
TIME_SLACK_MS = 5000       # ctime/mtime must lie within the run's wall window +- this
# The ZooKeeper ContainerManager (containers and TTL nodes) runs every 60 s by
# default; its deletions would land at different ops on the two servers. Push
# it out of the run. (Passed through the environment: the fixture builds the
# java command line itself.)
ZK_JAVA_TOOL_OPTIONS = "-Dznode.container.checkIntervalMs=86400000"


# ---------------------------------------------------------------- kazoo glue

class _ErrorCodes(dict):
    """kazoo's code -> exception map, total: kazoo 2.8 raises RuntimeError in
    its connection thread for a code it does not know (and then drops the
    connection), which would turn one odd reply into a cascade."""

    def __missing__(self, code):
        cls = type("UnknownCode%d" % code, (kexc.ZookeeperError,), {"code": code})
        self[code] = cls
        return cls


_EXTRA_CODES = {-12: "UnknownSessionError", -120: "EphemeralOnLocalSessionError",
                -121: "NoWatcherError", -122: "RequestTimeoutError",
                -123: "ReconfigDisabledError", -124: "SessionClosedRequireSaslError",
                -125: "QuotaExceededError", -127: "ThrottledOpError"}


def _install_error_codes():
    if isinstance(kconn.EXCEPTIONS, _ErrorCodes):
        return
    codes = _ErrorCodes(kexc.EXCEPTIONS)
    for code, name in _EXTRA_CODES.items():
        if code not in codes:
            codes[code] = type(name, (kexc.ZookeeperError,), {"code": code})
    kconn.EXCEPTIONS = codes
    kser.EXCEPTIONS = codes


_install_error_codes()

# jute encoding (kazoo's write_string turns "" into null; we need both)
_int = struct.Struct("!i")
_long = struct.Struct("!q")
_stat = struct.Struct("!qqqqiiiqiiq")


def j_str(s):
    if s is None:
        return _int.pack(-1)
    b = s.encode("utf-8")
    return _int.pack(len(b)) + b


def j_buf(b):
    if b is None:
        return _int.pack(-1)
    return _int.pack(len(b)) + b


def j_acls(acls):
    out = _int.pack(len(acls))
    for a in acls:
        out += _int.pack(a.perms) + j_str(a.id.scheme) + j_str(a.id.id)
    return out


def r_int(b, o):
    return _int.unpack_from(b, o)[0], o + 4


def r_str(b, o):
    n, o = r_int(b, o)
    if n < 0:
        return None, o
    return bytes(b[o:o + n]).decode("utf-8", "replace"), o + n


def r_buf(b, o):
    n, o = r_int(b, o)
    if n < 0:
        return None, o
    return bytes(b[o:o + n]), o + n


def r_stat(b, o):
    return ZnodeStat._make(_stat.unpack_from(b, o)), o + _stat.size


def r_strs(b, o):
    n, o = r_int(b, o)
    out = []
    for _ in range(max(n, 0)):
        s, o = r_str(b, o)
        out.append(s)
    return out, o


class Raw(object):
    """A request kazoo can queue (client._call) for an opcode its API lacks."""
    watcher = None

    def __init__(self, type, body, parse=None, name=""):
        self.type, self.body, self.parse, self.name = type, bytes(body), parse, name

    def serialize(self):
        return self.body

    def deserialize(self, buf, off):
        return self.parse(buf, off) if self.parse else True

    def __repr__(self):
        return "Raw(%s/%d)" % (self.name, self.type)


def _p_create2(b, o):
    path, o = r_str(b, o)
    st, o = r_stat(b, o)
    return (path, st)


def _m_create2(b, o):
    path, o = r_str(b, o)
    st, o = r_stat(b, o)
    return (path, st), o


def _m_getdata(b, o):
    data, o = r_buf(b, o)
    st, o = r_stat(b, o)
    return (data, st), o


MULTI_BODY = {
    1: r_str,
    15: _m_create2,
    2: lambda b, o: (True, o),
    5: r_stat,
    13: lambda b, o: (True, o),
    4: _m_getdata,
    8: r_strs,
}
MULTI_BODY[19] = MULTI_BODY[15]
MULTI_BODY[21] = MULTI_BODY[15]


def _p_multi(b, o):
    results = []
    while True:
        typ = _int.unpack_from(b, o)[0]
        done = b[o + 4]
        # (the header err field is -1 for every entry in ZooKeeper replies)
        o += 9
        if done:
            return results
        if typ == -1:
            code, o = r_int(b, o)
            results.append(("err", code))
        else:
            val, o = MULTI_BODY[typ](b, o)
            results.append((typ, val))


def req_create(path, data, acls, flags, opcode, ttl=None):
    body = j_str(path) + j_buf(data) + j_acls(acls) + _int.pack(flags)
    if opcode == 21:
        body += _long.pack(ttl)
    parse = (lambda b, o: r_str(b, o)[0]) if opcode == 1 else _p_create2
    return Raw(opcode, body, parse, "create")


def multi_op_body(op):
    kind = op[0]
    if kind == "create":
        _, opcode, path, data, acls, flags, ttl = op
        body = j_str(path) + j_buf(data) + j_acls(acls) + _int.pack(flags)
        if opcode == 21:
            body += _long.pack(ttl)
        return opcode, body
    if kind == "delete":
        return 2, j_str(op[1]) + _int.pack(op[2])
    if kind == "set":
        return 5, j_str(op[1]) + j_buf(op[2]) + _int.pack(op[3])
    if kind == "check":
        return 13, j_str(op[1]) + _int.pack(op[2])
    if kind == "getdata":
        return 4, j_str(op[1]) + b"\0"
    if kind == "getchildren":
        return 8, j_str(op[1]) + b"\0"
    raise ValueError(kind)


def req_multi(ops, opcode=14):
    body = b""
    for op in ops:
        t, b = multi_op_body(op)
        body += _int.pack(t) + b"\0" + _int.pack(-1) + b
    body += _int.pack(-1) + b"\1" + _int.pack(-1)
    return Raw(opcode, body, _p_multi, "multi" if opcode == 14 else "multiRead")


def req_add_watch(path, mode):
    return Raw(106, j_str(path) + _int.pack(mode), None, "addWatch")


def req_remove_watches(path, wtype, opcode=18):
    return Raw(opcode, j_str(path) + _int.pack(wtype), None,
               "removeWatches" if opcode == 18 else "checkWatches")


def req_get_ephemerals(prefix):
    return Raw(103, j_str(prefix), lambda b, o: r_strs(b, o)[0], "getEphemerals")


def req_all_children_number(path):
    return Raw(104, j_str(path), lambda b, o: r_int(b, o)[0], "getAllChildrenNumber")


def _p_whoami(b, o):
    n, o = r_int(b, o)
    out = []
    for _ in range(max(n, 0)):
        s, o = r_str(b, o)
        u, o = r_str(b, o)
        out.append((s, u))
    return out


def req_whoami():
    return Raw(107, b"", _p_whoami, "whoAmI")


def req_set_watches2(rel_zxid, data, exist, child, persistent, recursive):
    body = _long.pack(rel_zxid)
    for lst in (data, exist, child, persistent, recursive):
        body += _int.pack(len(lst)) + b"".join(j_str(p) for p in lst)
    return Raw(105, body, None, "setWatches2")


# ---------------------------------------------------------------- one target

class Session(object):
    """One KazooClient with wire-level recording of watch events, connection
    states and reply headers."""

    def __init__(self, target, role, incarnation, timeout=10.0):
        self.target, self.role, self.inc = target, role, incarnation
        self.label = "%s.%d" % (role, incarnation)
        self.events = []          # (type, state, path, header zxid)
        self.states = []
        self.replies = []         # (opcode, zxid, err) while recording
        self.recording = False
        self.session_id = None
        self.connects = []        # (negotiated timeout ms, read_only, passwd length)
        self.zk = KazooClient(hosts=target.hosts_for(role), timeout=timeout,
                              connection_retry={"max_tries": -1, "delay": 0.05,
                                                "max_delay": 0.5})
        conn = self.zk._connection
        orig_header, orig_event, orig_resp = (conn._read_header, conn._read_watch_event,
                                              conn._read_response)
        orig_invoke = conn._invoke

        def invoke(timeout, request, xid=None):
            r = orig_invoke(timeout, request, xid)
            if isinstance(request, kser.Connect) and isinstance(r, tuple):
                c = r[0]
                self.connects.append((c.time_out, c.read_only, len(c.passwd or b"")))
            return r
        conn._invoke = invoke
        last = {}

        def read_header(timeout):
            r = orig_header(timeout)
            last["h"] = r[0]
            return r

        def read_watch_event(buf, off):
            try:
                w, _ = kser.Watch.deserialize(buf, off)
                h = last.get("h")
                self.events.append((w.type, w.state, w.path, h.zxid if h else None))
            except Exception as e:  # record, never break kazoo's thread
                self.events.append(("undecodable", repr(e)))
            return orig_event(buf, off)

        def read_response(header, buf, off):
            if self.recording:
                try:
                    req = self.zk._pending[0][0]
                    t = req.type
                except Exception:
                    t = None
                self.replies.append((t, header.zxid, header.err))
            return orig_resp(header, buf, off)

        conn._read_header = read_header
        conn._read_watch_event = read_watch_event
        conn._read_response = read_response
        self.zk.add_listener(lambda st: self.states.append(str(st)))

    def start(self):
        self.zk.start(timeout=OP_TIMEOUT)
        self.session_id = self.zk.client_id[0]

    def stop(self):
        try:
            self.zk.stop()
        finally:
            self.zk.close()

    def call(self, req):
        ar = self.zk.handler.async_result()
        self.zk._call(req, ar)
        return ar.get(timeout=OP_TIMEOUT)


_ENV_LOCK = threading.Lock()   # both servers start in parallel


class Target(object):
    """One side of the comparison. Either a server this harness starts
    (kind + port, as always) or already-running endpoints (`endpoints`: a
    list of "host:port" member addresses, or one comma-separated string;
    nothing is started or stopped here). With several endpoints the sessions
    are spread over them round-robin in ROLES order (s0 -> the first, s1 ->
    the second, ...), every session on one member only, and the target is an
    ensemble (see Run: sync barriers, epoch-aware zxid gaps, /zookeeper/config
    with ports). `watch`: an optional object with .proc (poll(), returncode)
    and .log() standing for the endpoints' processes, so a member dying is
    reported like a server dying."""

    def __init__(self, name, kind, port, endpoints=None, watch=None, port_tokens=None):
        self.name, self.kind, self.port = name, kind, port
        self.server = None
        self.sessions = {}
        if endpoints is None:
            self.endpoints = None
            self.hosts = "127.0.0.1:%d" % port
        else:
            if isinstance(endpoints, str):
                endpoints = [h.strip() for h in endpoints.split(",") if h.strip()]
            self.endpoints = list(endpoints)
            self.hosts = ",".join(self.endpoints)
            self.server = watch          # never stopped here (close() checks)
        self.ensemble = bool(self.endpoints) and len(self.endpoints) > 1
        self.close_problems = []     # endpoints targets: sessions whose close hung
        # {b"25017": b"<c1>", ...}: ports in /zookeeper/config data -> member tokens
        self.port_tokens = dict(port_tokens or {})

    @staticmethod
    def _stop_quietly(s):
        try:
            s.stop()
        except Exception:
            pass

    def hosts_for(self, role):
        if not self.endpoints:
            return self.hosts
        return self.endpoints[ROLES.index(role) % len(self.endpoints)]

    def start_server(self):
        if self.endpoints is not None:
            return                       # already running
        # corvid reads the reaper interval from zoo.cfg; for ZooKeeper the key
        # is harmless there and the real switch is the -D below
        self.server = zkserver.Server(self.kind, self.port, extra_cfg={
            "znode.container.checkIntervalMs": 86400000})
        with _ENV_LOCK:
            saved = os.environ.get("JAVA_TOOL_OPTIONS")
            if self.kind == "zookeeper":
                os.environ["JAVA_TOOL_OPTIONS"] = ZK_JAVA_TOOL_OPTIONS
            try:
                self.server.start()
            finally:
                if saved is None:
                    os.environ.pop("JAVA_TOOL_OPTIONS", None)
                else:
                    os.environ["JAVA_TOOL_OPTIONS"] = saved

    def open(self, role, inc, timeout=10.0):
        s = Session(self, role, inc, timeout)
        s.start()
        self.sessions[role] = s
        return s

    def close(self):
        for s in list(self.sessions.values()):
            if self.endpoints is not None:
                # servers not ours: never wait unbounded for a closeSession
                # reply (kazoo's stop() would); record a session that hung
                th = threading.Thread(target=self._stop_quietly, args=(s,), daemon=True)
                th.start()
                th.join(2 * OP_TIMEOUT)
                if th.is_alive():
                    self.close_problems.append("%s: closing session %s (0x%x) did not finish "
                                               "within %.0fs" % (self.name, s.label,
                                                                 s.session_id or 0, 2 * OP_TIMEOUT))
                continue
            try:
                s.stop()
            except Exception:
                pass
        self.sessions.clear()
        if self.server and self.endpoints is None:
            self.server.stop()
            self.server = None


# ---------------------------------------------------------------- normaliser

class Normaliser(object):
    """Maps one target's raw values onto names that compare across servers.

    zxids: labelled z1, z2, ... in first-seen order (0 stays z0, -1 stays -1);
    each new label also records how many earlier-seen zxids are smaller (its
    order) and, when it is the largest so far, its distance to the previous
    largest (how many transactions the server committed in between).
    times: ctime must be a function of czxid and mtime of mzxid (one txn,
    one time), non-decreasing in zxid order, inside the run's wall window;
    violations are reported, values are replaced by the zxid label.
    session ids: replaced by the role label of the session that owns them."""

    def __init__(self, t0_ms, ensemble=False, port_tokens=None):
        # ensemble=True (endpoints of an ensemble): a zxid opening a new epoch
        # (high 32 bits) records its counter in that epoch, not the raw
        # distance (epoch numbers are the servers' own business); the one
        # node with a time on zxid 0 (ZooKeeper's /zookeeper/config in an
        # ensemble) is recorded as such, without the raw time; ports in
        # /zookeeper/config data are replaced by member tokens.
        self.ensemble = ensemble
        self.port_tokens = port_tokens or {}
        self.labels = {0: "z0"}
        self.sorted = [0]
        self.n = 0
        self.times = {0: 0}
        self.owners = {0: "none"}
        self.unknown_owners = 0
        self.t0_ms = t0_ms
        self.new = []          # per op: new zxid facts
        self.violations = []   # per op: invariant violations

    def zxid(self, z):
        if z is None or z < 0:
            return z
        lab = self.labels.get(z)
        if lab is None:
            self.n += 1
            lab = self.labels[z] = "z%d" % self.n
            pos = bisect.bisect_left(self.sorted, z)
            gap = (z - self.sorted[-1]) if pos == len(self.sorted) else None
            if self.ensemble and gap is not None and (z >> 32) != (self.sorted[-1] >> 32):
                gap = "new-epoch+%d" % (z & 0xffffffff)
            self.sorted.insert(pos, z)
            self.new.append((lab, pos, gap))
        return lab

    def time(self, z, t, now_ms):
        if z <= 0:
            if t != 0 and z == 0 and self.ensemble:
                return "t(z0)=wall"
            if t != 0 and z == 0:
                self.violations.append("time %d on zxid 0" % t)
            return "t(%s)" % self.zxid(z)
        prev = self.times.get(z)
        if prev is None:
            self.times[z] = t
            i = bisect.bisect_left(self.sorted, z)
            lo = max((self.times.get(self.sorted[j]) for j in range(i - 1, -1, -1)
                      if self.sorted[j] in self.times), default=None)
            if lo is not None and t < lo:
                self.violations.append("time %d of %s earlier than an older txn's %d"
                                       % (t, self.zxid(z), lo))
            if not (self.t0_ms - TIME_SLACK_MS <= t <= now_ms + TIME_SLACK_MS):
                self.violations.append("time %d of %s outside the run's wall window"
                                       % (t, self.zxid(z)))
        elif prev != t:
            self.violations.append("%s has two times: %d and %d" % (self.zxid(z), prev, t))
        return "t(%s)" % self.zxid(z)

    def owner(self, sid):
        o = self.owners.get(sid)
        if o is None:
            self.unknown_owners += 1
            o = self.owners[sid] = "unknown%d" % self.unknown_owners
        return o

    def stat(self, st):
        now = int(time.time() * 1000)
        return {
            "czxid": self.zxid(st.czxid), "mzxid": self.zxid(st.mzxid),
            "pzxid": self.zxid(st.pzxid),
            "ctime": self.time(st.czxid, st.ctime, now),
            "mtime": self.time(st.mzxid, st.mtime, now),
            "version": st.version, "cversion": st.cversion, "aversion": st.aversion,
            "ephemeralOwner": self.owner(st.ephemeralOwner),
            "dataLength": st.dataLength, "numChildren": st.numChildren,
        }

    def value(self, v):
        """Normalise any result value."""
        if isinstance(v, ZnodeStat):
            return {"stat": self.stat(v)}
        if isinstance(v, BaseException):
            return exc_repr(v)
        if isinstance(v, ACL):
            return "%s:%s:%d" % (v.id.scheme, v.id.id, v.perms)
        if isinstance(v, (list, tuple)):
            return [self.value(x) for x in v]
        if isinstance(v, bytes) and self.port_tokens and b"server." in v:
            for port, tok in self.port_tokens.items():
                v = v.replace(port, tok)
        if isinstance(v, bytes):
            return "b:" + v.hex() if len(v) <= 64 else "b[%d]:crc%08x" % (len(v), zlib.crc32(v))
        return v


def exc_repr(e):
    code = getattr(e, "code", None)
    if isinstance(e, kexc.KazooException) or code is not None:
        return {"exc": type(e).__name__, "code": code}
    return {"exc": type(e).__name__}


# ---------------------------------------------------------------- workload

DIGEST_USERS = {"alice": "pw-a", "bob": "pw-b"}
ALL = 31


def digest_id(user, pw=None):
    return make_digest_acl_credential(user, pw if pw is not None else DIGEST_USERS[user])


WORLD_ALL = ACL(ALL, Id("world", "anyone"))
ACLS = {
    "open": [WORLD_ALL],
    "read": [ACL(1, Id("world", "anyone"))],
    "create_read": [ACL(1 | 4, Id("world", "anyone"))],
    "nodelete": [ACL(ALL & ~8, Id("world", "anyone"))],
    "alice": [ACL(ALL, Id("digest", digest_id("alice"))), ACL(1, Id("world", "anyone"))],
    "bob_rw": [ACL(1 | 2 | 16, Id("digest", digest_id("bob")))],
    "auth": [ACL(ALL, Id("auth", ""))],
    "ip": [ACL(ALL, Id("ip", "127.0.0.1"))],
    "ip_net": [ACL(1, Id("ip", "10.0.0.0/8")), ACL(4 | 8, Id("world", "anyone"))],
    "zero": [ACL(0, Id("world", "anyone"))],
    "dup": [WORLD_ALL, WORLD_ALL],
    "bad_scheme": [ACL(ALL, Id("foo", "bar"))],
    "bad_digest": [ACL(ALL, Id("digest", "alice"))],
    "bad_ip": [ACL(ALL, Id("ip", "300.1.1.1"))],
    "empty": [],
}
ACL_W = [("open", 30), ("read", 4), ("create_read", 3), ("nodelete", 3), ("alice", 4),
         ("bob_rw", 2), ("auth", 3), ("ip", 2), ("ip_net", 1), ("zero", 1), ("dup", 1),
         ("bad_scheme", 1), ("bad_digest", 1), ("bad_ip", 1), ("empty", 1)]

PATHS = ["/a", "/a/b", "/a/b/c", "/a/c", "/b", "/b/d", "/c", "/c/e", "/c/e/f", "/q",
         "/q/x", "/x/y"]
READ_ONLY_PATHS = ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config", "/nope"]
BAD_PATHS = ["/a/", "//a", "/a//b", "/a/./b", "/a/../b", "/.", "/..", "a", "",
             "/a\x01", "/a\x7f", "/a\u0085", "/a\ue000", "/a\ufff5", "/a\x00b", "/"]
SEQ_PREFIXES = ["/q/s-", "/q/", "/a/s-", "/c/e/n-", "/b/d/"]
DATA = [b"", b"x", b"hello", None, bytes(range(256)), b"\0" * 10, b"y" * 1000]
ROLES = ["s0", "s1", "s2"]
ROLE_AUTH = {"s0": [], "s1": [("digest", "alice:pw-a")], "s2": []}
AUTH_CREDS = ["alice:pw-a", "bob:pw-b", "alice:wrong", "carol:pw-c"]

OP_WEIGHTS = [
    ("create", 18), ("create_raw", 5), ("delete", 10), ("set", 10), ("get", 8),
    ("exists", 7), ("children", 7), ("get_acls", 2), ("set_acls", 3), ("sync", 1),
    ("txn", 5), ("multi", 3), ("multi_read", 2), ("ensure_path", 1), ("add_auth", 1),
    ("reopen", 0.6), ("add_watch", 2), ("remove_watches", 2), ("check_watches", 1.5),
    ("get_ephemerals", 1), ("all_children", 1), ("whoami", 0.7), ("set_watches", 1),
    ("bad_path", 3), ("delete_container", 0.3), ("set_watches_v1", 0.5), ("unknown_op", 0.2),
    ("reconfig", 0.1), ("oversize", 0.1),
]
READ_OPS = {"get", "exists", "children", "get_acls", "sync", "multi_read", "check_watches",
            "get_ephemerals", "all_children", "whoami", "add_watch", "remove_watches"}


def _wchoice(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for k, w in pairs:
        x -= w
        if x < 0:
            return k
    return pairs[-1][0]


class Model(object):
    """What the generator knows, learnt from target A's results only (so both
    targets get the same op). Used to aim versions and to steer clear of the
    documented ZooKeeper 3.8 / corvid differences (docs/core.md)."""

    def __init__(self):
        self.versions = {}       # path -> (version, cversion, aversion)
        self.seq_paths = []      # created sequential nodes (newest last)
        self.watch = {}          # (role, path) -> {"d","c","p"}  p in (None, 0, 1)
        self.exists = {"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"}

    def w(self, role, path):
        # d / c: one-shot data / child watch held; p: persistent mode or None;
        # u: a one-shot watch may have been used up without an event (a
        # session close deleted ephemerals the model does not track, and
        # ZooKeeper drops events the watcher may not READ).
        return self.watch.setdefault((role, path), {"d": False, "c": False, "p": None,
                                                    "u": False})

    def consumed(self, path, kinds):
        """A write fired the one-shot watches of `kinds` on `path` for every
        session, delivered or not (ZooKeeper filters delivery by READ ACL)."""
        for (r, p), w in self.watch.items():
            if p == path:
                for k in kinds:
                    w[k] = False

    def held(self, w):
        return w["d"] or w["c"] or w["u"]

    def clear_role(self, role):
        for k in [k for k in self.watch if k[0] == role]:
            del self.watch[k]

    def anyone_watches(self, path):
        if any(v["p"] == 1 for v in self.watch.values()):
            return True
        return any(k[1] == path and (v["d"] or v["c"] or v["u"] or v["p"] is not None)
                   for k, v in self.watch.items())


class Generator(object):
    def __init__(self, seed, model):
        self.rng = random.Random(seed)
        self.m = model

    def create_path(self):
        """Mostly a path whose parent exists (as far as A told us) and
        which does not exist yet, so that creates mostly succeed."""
        if self.rng.random() < 0.7:
            cands = [p for p in PATHS if p not in self.m.exists
                     and (p.rsplit("/", 1)[0] or "/") in self.m.exists]
            if cands:
                return self.rng.choice(cands)
        return self.path()

    def path(self, allow_seq=True, allow_ro=True):
        r = self.rng.random()
        if allow_seq and self.m.seq_paths and r < 0.15:
            return self.rng.choice(self.m.seq_paths[-8:])
        if allow_ro and r < 0.2:
            return self.rng.choice(READ_ONLY_PATHS)
        return self.rng.choice(PATHS)

    def version(self, path, idx=0):
        r = self.rng.random()
        if r < 0.35:
            return -1
        known = self.m.versions.get(path)
        if known and r < 0.85:
            return known[idx]
        return self.rng.choice([0, 1, 2, 5, -2])

    def data(self):
        return self.rng.choice(DATA)

    def acl(self):
        return _wchoice(self.rng, ACL_W)

    def watch_ok(self, role, path, kind):
        w = self.m.w(role, path)
        return w["p"] is None

    def next(self):
        rng = self.rng
        role = rng.choice(ROLES)
        kind = _wchoice(rng, OP_WEIGHTS)
        op = {"op": kind, "role": role}
        if kind == "create":
            seq = rng.random() < 0.25
            op.update(path=rng.choice(SEQ_PREFIXES) if seq and rng.random() < 0.7
                      else self.create_path(),
                      data=self.data(), acl=self.acl() if rng.random() < 0.3 else "open",
                      ephemeral=rng.random() < 0.3, sequence=seq,
                      include_data=rng.random() < 0.5, makepath=rng.random() < 0.05)
        elif kind == "create_raw":
            opcode, flags = rng.choice([(19, 4), (19, 4), (21, 5), (21, 6), (21, 0),
                                        (1, 4), (15, 5), (15, 3), (1, 7), (15, -1),
                                        (19, 0), (21, 1), (19, 2)])
            op.update(opcode=opcode, flags=flags,
                      path=rng.choice(SEQ_PREFIXES) if flags in (6, 2, 3)
                      else self.create_path(),
                      data=self.data(), acl=self.acl() if rng.random() < 0.2 else "open",
                      ttl=rng.choice([86400000, 3600000, 0, 1 << 41, 10 ** 9]
                                     + ([-5] if flags in (5, 6) else [])))
            # createTTL with a non-TTL mode and a negative ttl makes ZooKeeper
            # 3.8.0 exit (PrepRequestProcessor dies): never generated.
        elif kind == "delete":
            p = self.path()
            op.update(path=p, version=self.version(p))
        elif kind == "set":
            p = self.path()
            op.update(path=p, data=self.data(), version=self.version(p))
        elif kind in ("get", "exists", "children"):
            p = self.path()
            op.update(path=p, watch=rng.random() < 0.5 and self.watch_ok(role, p, kind))
            if kind == "children":
                op["include_data"] = rng.random() < 0.5
        elif kind == "get_acls":
            op.update(path=self.path())
        elif kind == "set_acls":
            p = self.path()
            if p == "/":
                p = "/a"      # a closed root would starve the rest of the run
            op.update(path=p, acl=self.acl(), version=self.version(p, 2))
        elif kind == "sync":
            op.update(path=self.path(allow_seq=False) if rng.random() < 0.8
                      else rng.choice(BAD_PATHS))
        elif kind in ("txn", "multi"):
            n = rng.choice([0, 1, 2, 2, 3, 4]) if kind == "multi" else rng.choice([1, 2, 3, 4])
            ops = []
            for _ in range(n):
                t = rng.choice(["create", "create", "delete", "set", "check"])
                p = self.create_path() if t == "create" else self.path(allow_ro=False)
                if t == "create":
                    if kind == "multi":
                        opcode, flags = rng.choice([(1, 0), (15, 0), (15, 2), (15, 1),
                                                    (19, 4), (21, 5), (1, 3)])
                    else:
                        opcode, flags = 1, rng.choice([0, 0, 1, 2, 3])
                    if flags & 2:
                        p = rng.choice(SEQ_PREFIXES)
                    data = self.data()
                    if kind == "txn" and data is None:
                        data = b"t"   # kazoo's transaction refuses None client-side
                    ops.append(("create", opcode, p, data,
                                "open" if rng.random() < 0.8 else self.acl(), flags,
                                rng.choice([86400000, 0])))
                elif t == "delete":
                    ops.append(("delete", p, self.version(p)))
                elif t == "set":
                    data = self.data()
                    if kind == "txn" and data is None:
                        data = b"t"
                    ops.append(("set", p, data, self.version(p)))
                else:
                    ops.append(("check", p, self.version(p)))
            op.update(ops=ops)
        elif kind == "multi_read":
            op.update(ops=[(rng.choice(["getdata", "getchildren"]), self.path())
                           for _ in range(rng.choice([0, 1, 2, 3]))])
        elif kind == "ensure_path":
            op.update(path=rng.choice(PATHS + ["/x/y/z", "/c/e/f/g"]))
        elif kind == "add_auth":
            op.update(cred=rng.choice(AUTH_CREDS))
        elif kind == "reopen":
            # requested session timeout (s); the fixture's tickTime 500 ms
            # clamps to [1 s, 10 s]
            op.update(timeout=rng.choice([10.0, 4.0, 60.0]))
        elif kind == "add_watch":
            p = self.path()
            mode = rng.choice([0, 1])
            w = self.m.w(role, p)
            # ZOOKEEPER-4466 (docs/core.md): never two watch kinds on one path
            # for one session.
            if self.m.held(w) or (w["p"] is not None and w["p"] != mode):
                op = {"op": "exists", "role": role, "path": p, "watch": False}
            else:
                op.update(path=p, mode=mode)
        elif kind in ("remove_watches", "check_watches"):
            p = self.path()
            wtype = rng.choice([1, 2, 3])
            if kind == "remove_watches" and self.m.w(role, p)["p"] is not None:
                # ZOOKEEPER-4471/4472 (docs/core.md): leave persistent ones alone
                op = {"op": "exists", "role": role, "path": p, "watch": False}
            else:
                op.update(path=p, wtype=wtype)
        elif kind == "get_ephemerals":
            op.update(prefix=rng.choice(["/", "/a", "/q/", "/c/e", "/nope", ""]))
        elif kind == "all_children":
            op.update(path=self.path())
        elif kind == "whoami":
            pass
        elif kind == "set_watches":
            lists = []
            for k in range(5):
                ps = []
                for _ in range(rng.choice([0, 0, 1, 2])):
                    p = self.path(allow_ro=False)
                    w = self.m.w(role, p)
                    if k < 3 and w["p"] is None:
                        ps.append(p)
                    elif k >= 3 and not self.m.held(w) and w["p"] in (None, k - 3) \
                            and p not in sum(lists, []):   # ZOOKEEPER-4466
                        ps.append(p)
                lists.append(sorted(set(ps)))
            rel = rng.choice(["zero", "last", "old"])
            op.update(lists=lists, rel=rel, rel_pick=rng.random())
        elif kind == "delete_container":
            op.update(path=self.path())
        elif kind == "set_watches_v1":
            lists = []
            for k in range(3):
                lists.append(sorted(set(p for p in (self.path(allow_ro=False) for _ in
                                                    range(rng.choice([0, 1, 2])))
                                        if self.m.w(role, p)["p"] is None)))
            op.update(lists=lists, rel=rng.choice(["zero", "last", "old"]), rel_pick=rng.random())
        elif kind == "unknown_op":
            op.update(opcode=rng.choice([999, 10, 23, -3]))
        elif kind == "reconfig":
            pass
        elif kind == "oversize":
            # a packet over jute.maxbuffer: the server drops the connection,
            # kazoo reconnects to the same session (without re-registering
            # watches: kazoo 2.8 sends no SetWatches)
            op.update(path=self.path(allow_ro=False), size=1024 * 1024 + 64)
        elif kind == "bad_path":
            sub = rng.choice(["create", "delete", "set", "get", "exists", "children",
                              "set_acls", "get_acls", "add_watch", "create_seq"])
            p = rng.choice(BAD_PATHS)
            w = self.m.w(role, p)
            if sub == "add_watch" and (self.m.held(w) or w["p"] not in (None, 0)):
                sub = "exists"   # ZOOKEEPER-4466, as for add_watch above
            op.update(sub=sub, path=p)
        return op


def _short(v):
    if isinstance(v, bytes) and len(v) > 16:
        return "<%d bytes %s..>" % (len(v), v[:6].hex())
    if isinstance(v, (list, tuple)):
        return type(v)(_short(x) for x in v)
    return v


def describe(op):
    return " ".join("%s=%r" % (k, _short(v)) for k, v in op.items())


# ---------------------------------------------------------------- executing

def execute(sess, op, model, target_norm_zxids):
    """Run one op on one target's session; return raw result (value or
    exception)."""
    zk = sess.zk
    kind = op["op"]
    nop = lambda *a: None  # noqa: E731
    t = OP_TIMEOUT
    if kind == "create":
        return zk.create_async(op["path"], op["data"], acl=ACLS[op["acl"]],
                               ephemeral=op["ephemeral"], sequence=op["sequence"],
                               makepath=op["makepath"],
                               include_data=op["include_data"]).get(timeout=t)
    if kind == "create_raw":
        return sess.call(req_create(op["path"], op["data"], ACLS[op["acl"]], op["flags"],
                                    op["opcode"], op["ttl"]))
    if kind == "delete":
        return zk.delete_async(op["path"], version=op["version"]).get(timeout=t)
    if kind == "set":
        return zk.set_async(op["path"], op["data"], version=op["version"]).get(timeout=t)
    if kind == "get":
        return zk.get_async(op["path"], watch=nop if op["watch"] else None).get(timeout=t)
    if kind == "exists":
        return zk.exists_async(op["path"], watch=nop if op["watch"] else None).get(timeout=t)
    if kind == "children":
        return zk.get_children_async(op["path"], watch=nop if op["watch"] else None,
                                     include_data=op["include_data"]).get(timeout=t)
    if kind == "get_acls":
        return zk.get_acls_async(op["path"]).get(timeout=t)
    if kind == "set_acls":
        return zk.set_acls_async(op["path"], ACLS[op["acl"]], op["version"]).get(timeout=t)
    if kind == "sync":
        return zk.sync_async(op["path"]).get(timeout=t)
    if kind == "txn":
        tx = zk.transaction()
        for o in op["ops"]:
            if o[0] == "create":
                tx.create(o[2], o[3], acl=ACLS[o[4]], ephemeral=bool(o[5] & 1),
                          sequence=bool(o[5] & 2))
            elif o[0] == "delete":
                tx.delete(o[1], o[2])
            elif o[0] == "set":
                tx.set_data(o[1], o[2], o[3])
            else:
                tx.check(o[1], o[2])
        return tx.commit_async().get(timeout=t)
    if kind == "multi":
        ops = [(o[0], o[1], o[2], o[3], ACLS[o[4]], o[5], o[6]) if o[0] == "create" else o
               for o in op["ops"]]
        return sess.call(req_multi(ops))
    if kind == "multi_read":
        return sess.call(req_multi(op["ops"], opcode=22))
    if kind == "ensure_path":
        return zk.ensure_path_async(op["path"]).get(timeout=t)
    if kind == "add_auth":
        return zk.add_auth_async("digest", op["cred"]).get(timeout=t)
    if kind == "add_watch":
        return sess.call(req_add_watch(op["path"], op["mode"]))
    if kind == "remove_watches":
        return sess.call(req_remove_watches(op["path"], op["wtype"], 18))
    if kind == "check_watches":
        return sess.call(req_remove_watches(op["path"], op["wtype"], 17))
    if kind == "get_ephemerals":
        return sorted(sess.call(req_get_ephemerals(op["prefix"])))
    if kind == "all_children":
        return sess.call(req_all_children_number(op["path"]))
    if kind == "whoami":
        return sorted(sess.call(req_whoami()))
    if kind == "set_watches":
        rel = target_norm_zxids(op)
        return sess.call(req_set_watches2(rel, *op["lists"]))
    if kind == "delete_container":
        return sess.call(Raw(20, j_str(op["path"]), None, "deleteContainer"))
    if kind == "set_watches_v1":
        rel = target_norm_zxids(op)
        body = _long.pack(rel)
        for lst in op["lists"]:
            body += _int.pack(len(lst)) + b"".join(j_str(p) for p in lst)
        return sess.call(Raw(101, body, None, "setWatches"))
    if kind == "unknown_op":
        return sess.call(Raw(op["opcode"], b"", None, "unknown"))
    if kind == "reconfig":
        return zk.reconfig_async("", "", "server.1=127.0.0.1:23198:23199", -1).get(timeout=t)
    if kind == "oversize":
        return zk.set_async(op["path"], b"o" * op["size"]).get(timeout=t)
    if kind == "bad_path":
        p, sub = op["path"], op["sub"]
        if sub == "create":
            return zk.create_async(p, b"v").get(timeout=t)
        if sub == "create_seq":
            return zk.create_async(p, b"v", sequence=True).get(timeout=t)
        if sub == "delete":
            return zk.delete_async(p).get(timeout=t)
        if sub == "set":
            return zk.set_async(p, b"v").get(timeout=t)
        if sub == "get":
            return zk.get_async(p).get(timeout=t)
        if sub == "exists":
            return zk.exists_async(p).get(timeout=t)
        if sub == "children":
            return zk.get_children_async(p).get(timeout=t)
        if sub == "set_acls":
            return zk.set_acls_async(p, ACLS["open"]).get(timeout=t)
        if sub == "get_acls":
            return zk.get_acls_async(p).get(timeout=t)
        if sub == "add_watch":
            return sess.call(req_add_watch(p, 0))
    raise ValueError("unknown op %r" % kind)


def normalise_result(norm, op, res):
    kind = op["op"]
    if isinstance(res, BaseException):
        return exc_repr(res)
    if kind == "bad_path":
        kind = op["sub"]
        op = dict(op, include_data=False)
    if kind == "get":
        data, st = res
        return [norm.value(data), norm.value(st)]
    if kind == "children":
        if op["include_data"]:
            ch, st = res
            return [sorted(ch), norm.value(st)]
        return sorted(res)
    if kind == "get_acls":
        acls, st = res
        return [sorted(norm.value(a) for a in acls), norm.value(st)]
    if kind in ("multi", "multi_read"):
        out = []
        for typ, val in res:
            if typ == "err":
                out.append({"err": val})
            elif typ in (15, 19, 21):
                out.append([typ, val[0], norm.value(val[1])])
            elif typ == 4:
                out.append([typ, norm.value(val[0]), norm.value(val[1])])
            elif typ == 8:
                out.append([typ, sorted(val)])
            else:
                out.append([typ, norm.value(val)])
        return out
    return norm.value(res)


# ---------------------------------------------------------------- the run

class Divergence(Exception):
    pass


class Outcome(object):
    def __init__(self, seed, ops_done, divergence=None, seconds=0.0, relaxed=0, report=""):
        self.seed, self.ops_done, self.divergence = seed, ops_done, divergence
        self.seconds, self.relaxed, self.report = seconds, relaxed, report

    @property
    def ok(self):
        return self.divergence is None


def _diff_keys(a, b):
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def _fmt(v, indent="      "):
    import json
    s = json.dumps(v, sort_keys=True, default=repr)
    if len(s) > 2000:
        s = s[:2000] + "...(%d chars)" % len(s)
    return indent + s


class Run(object):
    def __init__(self, seed, n_ops, kind_a, kind_b, port_a, port_b, log=None,
                 zxid_gaps=True, history=10, target_a=None, target_b=None):
        """target_a / target_b: a ready Target (endpoints of running servers)
        in place of kind + port."""
        self.seed, self.n_ops = seed, n_ops
        self.A = target_a or Target("A:" + kind_a, kind_a, port_a)
        self.B = target_b or Target("B:" + kind_b, kind_b, port_b)
        self.targets = (self.A, self.B)
        self.model = Model()
        self.gen = Generator(seed, self.model)
        self.incarnation = {r: 0 for r in ROLES}
        self.history = []
        self.keep = history
        self.zxid_gaps = zxid_gaps
        self.log = log or (lambda s: None)
        self.relaxed = 0

    # -- setup
    def start(self):
        errs = []

        def st(t):
            try:
                t.start_server()
            except Exception as e:
                errs.append("%s: %s" % (t.name, e))
        ths = [threading.Thread(target=st, args=(t,)) for t in self.targets]
        [th.start() for th in ths]
        [th.join() for th in ths]
        if errs:
            raise RuntimeError("; ".join(errs))
        now = int(time.time() * 1000)
        for t in self.targets:
            t.norm = Normaliser(now, t.ensemble, t.port_tokens) if t.ensemble else Normaliser(now)
        for r in ROLES:
            self._open(r)
        ca, cb = ([t.sessions[r].connects for r in ROLES] for t in self.targets)
        if ca != cb:
            self._diverge(-1, {"op": "open sessions"},
                          ["  ConnectResponse (timeout, readOnly, passwd length):",
                           "    %s: %s" % (self.A.name, ca), "    %s: %s" % (self.B.name, cb)])

    def _open(self, role, timeout=10.0):
        self.incarnation[role] += 1
        for t in self.targets:
            s = t.open(role, self.incarnation[role], timeout)
            t.norm.owners[s.session_id] = s.label
            for scheme, cred in ROLE_AUTH[role]:
                s.zk.add_auth_async(scheme, cred).get(timeout=OP_TIMEOUT)

    def close(self):
        for t in self.targets:
            t.close()

    # -- per op
    def _rel_zxid(self, target):
        def pick(op):
            if op["rel"] == "zero" or not target.norm.sorted[1:]:
                return 0
            sess = target.sessions[op["role"]]
            if op["rel"] == "last":
                return sess.zk.last_zxid or 0
            # an older zxid, chosen by label so both targets mean the same txn
            n = target.norm.n
            k = 1 + int(op["rel_pick"] * n)
            lab = "z%d" % min(k, n)
            for z, l in target.norm.labels.items():
                if l == lab:
                    return z
            return 0
        return pick

    def _barrier(self, t):
        if t.server and t.server.proc.poll() is not None:
            return
        for s in t.sessions.values():
            try:
                if t.ensemble:
                    # the session's member may not have applied another
                    # member's commit yet: sync makes it catch up first
                    # (and queue the events) before the exists reply
                    s.zk.sync_async("/").get(timeout=OP_TIMEOUT)
                s.zk.exists_async("/").get(timeout=OP_TIMEOUT)
            except Exception:
                pass

    def _run_on(self, t, op):
        sess = t.sessions[op["role"]]
        marks = {r: (len(s.events), len(s.states)) for r, s in t.sessions.items()}
        sess.replies = []
        sess.recording = True
        try:
            if op["op"] == "reopen":
                old = sess
                try:
                    old.stop()
                    res = True
                except Exception as e:
                    res = e
                old.recording = False
                replies = list(old.replies)
                return res, replies, marks, old
            try:
                res = execute(sess, op, self.model, self._rel_zxid(t))
            except Exception as e:
                res = e
        finally:
            sess.recording = False
        return res, list(sess.replies), marks, None

    def step(self, i, op):
        self.cur = i
        raws = []
        for t in self.targets:
            raws.append(self._run_on(t, op))
        if op["op"] == "reopen":
            self._open(op["role"], op["timeout"])
        for t in self.targets:
            # a dropped connection: let kazoo reconnect (same session) first,
            # so SUSPENDED and CONNECTED land in the same op's record
            deadline = time.time() + 2 * OP_TIMEOUT
            for s in t.sessions.values():
                while s.zk.state != KazooState.CONNECTED and time.time() < deadline \
                        and not (t.server and t.server.proc.poll() is not None):
                    time.sleep(0.01)
        if op["op"] not in READ_OPS:
            for t in self.targets:
                self._barrier(t)
        # settle: wait (bounded) until both targets show the same event counts
        deadline = time.time() + SETTLE

        def counts(t, marks, old):
            c = {}
            for r, s in t.sessions.items():
                src = old if (old is not None and r == op["role"]) else s
                m = marks.get(r, (0, 0))
                c[r] = (len(src.events) - m[0], len(src.states) - m[1])
            return c
        while time.time() < deadline:
            ca = counts(self.A, raws[0][2], raws[0][3])
            cb = counts(self.B, raws[1][2], raws[1][3])
            if ca == cb:
                break
            time.sleep(0.005)
        for t in self.targets:
            if t.server and t.server.proc.poll() is not None:
                self._diverge(i, op, ["  %s: the server process exited with status %s "
                                      "during this op; its log ends:" % (t.name, t.server.proc.returncode),
                                      t.server.log()[-2000:]])
        recs = []
        for t, (res, replies, marks, old) in zip(self.targets, raws):
            recs.append(self._record(t, op, res, replies, marks, old))
        self._learn(op, raws[0][0], recs[0])
        self._compare(i, op, recs[0], recs[1])
        self.history.append((i, op, recs[0]))
        if len(self.history) > self.keep:
            self.history.pop(0)

    def _record(self, t, op, res, replies, marks, old):
        n = t.norm
        n.new, n.violations = [], []
        rec = {}
        rec["replies"] = [(typ, n.zxid(z), err) for typ, z, err in replies]
        rec["result"] = normalise_result(n, op, res)
        ev = {}
        st = {}
        for r in ROLES:
            s = t.sessions.get(r)
            m = marks.get(r, (0, 0))
            src = old if (old is not None and r == op["role"]) else s
            if src is None:
                continue
            e = [tuple(x[:3]) + (n.zxid(x[3]) if len(x) > 3 and isinstance(x[3], int)
                                 else None,) if len(x) == 4 else x for x in src.events[m[0]:]]
            if e and op["op"] == "reopen":
                # closeSession deletes the session's ephemerals in one txn, in
                # an order ZooKeeper leaves unspecified (Java HashSet order of
                # the paths): compare that op's events as a multiset.
                e = sorted(e, key=repr)
            if e:
                ev[r] = e
            ss = [x for x in src.states[m[1]:]]
            if ss:
                st[r] = ss
        if old is not None:
            new = t.sessions[op["role"]]
            st[op["role"] + "+new"] = list(new.states)
            rec["connect"] = list(new.connects)
        rec["events"] = ev
        rec["states"] = st
        rec["new_zxids"] = [(lab, pos, gap if self.zxid_gaps else None)
                            for lab, pos, gap in n.new]
        rec["violations"] = list(n.violations)
        rec["_raw_events"] = {r: list(v) for r, v in ev.items()}
        return rec

    def _learn_fired(self, op, res):
        """Which one-shot watches a successful write used up, for everyone."""
        m = self.model
        kind = op["op"]

        def parent(p):
            return p.rsplit("/", 1)[0] or "/"

        def wrote(sub, path):
            if not isinstance(path, str):
                return
            if sub == "set":
                m.consumed(path, "d")
            elif sub == "create":
                m.consumed(path, "d")
                m.consumed(parent(path), "c")
            elif sub == "delete":
                m.consumed(path, "dc")
                m.consumed(parent(path), "c")

        if kind in ("set", "delete"):
            wrote(kind, op["path"])
        elif kind in ("create", "create_raw"):
            wrote("create", res[0] if isinstance(res, tuple) else res)
        elif kind == "bad_path" and op["sub"] in ("set", "delete"):
            wrote(op["sub"], op["path"])
        elif kind == "bad_path" and op["sub"] in ("create", "create_seq"):
            wrote("create", res)
        elif kind == "ensure_path":
            # creates only the missing nodes, which the model may not know
            p = op["path"]
            while p and p != "/":
                for (r, q), w in m.watch.items():
                    if q in (p, parent(p)) and (w["d"] or w["c"]):
                        w["u"] = True
                p = parent(p)
        elif kind in ("txn", "multi") and isinstance(res, list):
            if any(isinstance(r, BaseException) or (isinstance(r, tuple) and r[0] == "err")
                   for r in res):
                return
            for o, r in zip(op["ops"], res):
                if o[0] == "create":
                    if isinstance(r, tuple):
                        r = r[1][0] if isinstance(r[1], tuple) else r[1]
                    wrote("create", r)
                elif o[0] in ("delete", "set"):
                    wrote(o[0], o[1])

    def _learn(self, op, res, rec):
        """Update the generator's model from target A."""
        m = self.model
        role = op["role"]
        kind = op["op"]

        def see(path, st):
            if isinstance(st, ZnodeStat) and isinstance(path, str):
                m.versions[path] = (st.version, st.cversion, st.aversion)

        ok = not isinstance(res, BaseException)
        code = getattr(res, "code", None)
        if ok:
            self._learn_fired(op, res)
        if "path" in op and isinstance(op["path"], str) and kind != "bad_path":
            if code == -101 and kind in ("get", "set", "delete", "children", "get_acls",
                                         "set_acls"):
                m.exists.discard(op["path"])
            elif code == -110:
                m.exists.add(op["path"])
            elif kind == "exists" and ok:
                (m.exists.add if res is not None else m.exists.discard)(op["path"])
            elif kind == "delete" and ok:
                m.exists.discard(op["path"])
            elif kind == "ensure_path" and ok:
                p = op["path"]
                while p and p != "/":
                    m.exists.add(p)
                    p = p.rsplit("/", 1)[0]
        if kind in ("create", "create_raw") and ok:
            m.exists.add(res[0] if isinstance(res, tuple) else res)
        if kind in ("txn", "multi") and ok and isinstance(res, list):
            for o, r in zip(op["ops"], res):
                if o[0] == "create" and isinstance(r, tuple) and isinstance(r[1], tuple):
                    m.exists.add(r[1][0])          # raw multi: (15, (path, stat))
                elif o[0] == "create" and isinstance(r, tuple) and isinstance(r[1], str):
                    m.exists.add(r[1])             # raw multi: (1, path)
                elif o[0] == "create" and isinstance(r, str):
                    m.exists.add(r)                # kazoo txn
                elif o[0] == "delete" and (r is True or (isinstance(r, tuple) and r[1] is True)):
                    m.exists.discard(o[1])
        if kind in ("create", "create_raw") and ok:
            path = res[0] if isinstance(res, tuple) else res
            if isinstance(res, tuple):
                see(res[0], res[1])
            if op.get("sequence") or op.get("flags") in (2, 3, 6):
                m.seq_paths.append(path)
                m.seq_paths = m.seq_paths[-16:]
        elif kind in ("set", "set_acls") and ok:
            see(op["path"], res)
        elif kind in ("get", "exists", "children") and ok:
            st = res[1] if kind == "get" else (res if kind == "exists" else
                                               (res[1] if op.get("include_data") else None))
            see(op["path"], st)
            if op.get("watch"):
                m.w(role, op["path"])["c" if kind == "children" else "d"] = True
        elif kind == "get_acls" and ok:
            see(op["path"], res[1])
        elif kind == "add_watch" and ok:
            m.w(role, op["path"])["p"] = op["mode"]
        elif kind == "bad_path" and op["sub"] == "add_watch" and ok:
            m.w(role, op["path"])["p"] = 0       # reads take any path
        elif kind == "remove_watches" and ok:
            w = m.w(role, op["path"])
            if op["wtype"] in (1, 3):
                w["c"] = False
            if op["wtype"] in (2, 3):
                w["d"] = False
        elif kind in ("set_watches", "set_watches_v1") and ok:
            for k, lst in enumerate(op["lists"]):
                for p in lst:
                    w = m.w(role, p)
                    if k < 2:
                        w["d"] = True
                    elif k == 2:
                        w["c"] = True
                    else:
                        w["p"] = k - 3
        elif kind == "reopen":
            for (r, p), w in m.watch.items():
                if r != role and (w["d"] or w["c"]):
                    w["u"] = True
            m.clear_role(role)
        for r, evs in rec["_raw_events"].items():
            for e in evs:
                if len(e) < 3 or not isinstance(e[0], int):
                    continue
                if e[0] == 1:
                    m.exists.add(e[2])
                elif e[0] == 2:
                    m.exists.discard(e[2])
                w = m.watch.get((r, e[2]))
                if w:
                    if e[0] in (1, 2, 3):
                        w["d"] = False
                    if e[0] in (2, 4):
                        w["c"] = False
        for r, sts in rec["states"].items():
            if r in ROLES and any(s != "CONNECTED" for s in sts):
                m.clear_role(r)   # a lost connection loses its server-side watches

    def _compare(self, i, op, ra, rb):
        a = {k: v for k, v in ra.items() if not k.startswith("_")}
        b = {k: v for k, v in rb.items() if not k.startswith("_")}
        if op["op"] == "check_watches" and a["result"] != b["result"] and self._cw_relaxed(op, a, b):
            self.relaxed += 1
            doc = "(documented checkWatches difference)"
            a = dict(a, result=doc, replies=[(x[0], x[1], doc) for x in a["replies"]])
            b = dict(b, result=doc, replies=[(x[0], x[1], doc) for x in b["replies"]])
        keys = _diff_keys(a, b)
        if not keys:
            return
        lines = ["  differing: %s" % ", ".join(keys)]
        for k in keys:
            lines.append("  %s:" % k)
            lines.append("    %s:" % self.A.name)
            lines.append(_fmt(a.get(k)))
            lines.append("    %s:" % self.B.name)
            lines.append(_fmt(b.get(k)))
        lines.append("  full record %s:" % self.A.name)
        lines.append(_fmt(a))
        lines.append("  full record %s:" % self.B.name)
        lines.append(_fmt(b))
        self._diverge(i, op, lines)

    def _diverge(self, i, op, body):
        lines = ["DIVERGENCE seed=%d op#%d (%s vs %s)" % (self.seed, i, self.A.name, self.B.name),
                 "  op: %s" % describe(op)] + body
        lines.append("  last %d ops before it (as %s saw them):" % (len(self.history), self.A.name))
        for j, o, r in self.history:
            lines.append("   #%d %s" % (j, describe(o)))
            lines.append(_fmt({k: v for k, v in r.items()
                               if not k.startswith("_") and v not in ([], {}, None)},
                              indent="        -> "))
        raise Divergence("\n".join(lines))

    def _cw_relaxed(self, op, a, b):
        """docs/core.md: ZooKeeper 3.8's checkWatches answers 'true' when any
        session watches the path (and for odd recursive cases); corvid answers
        for the calling session and the given type. Accept an OK-vs-NoWatcher
        split unless the answer is the same under both rules."""
        def okish(r):
            return r is True or (isinstance(r, dict) and r.get("code") == -121)
        if not (okish(a["result"]) and okish(b["result"])):
            return False
        w = self.model.w(op["role"], op["path"])
        mine = {1: w["c"], 2: w["d"], 3: w["c"] or w["d"]}[op["wtype"]]
        if mine and w["p"] is None and not w["u"]:
            return False          # the caller holds exactly that: both must say yes
        if not self.model.anyone_watches(op["path"]):
            return False          # nobody watches anything there: both must say no
        return True

    def run(self):
        t0 = time.time()
        done = 0
        try:
            self.start()
            for i in range(self.n_ops):
                op = self.gen.next()
                self.step(i, op)
                done = i + 1
            return Outcome(self.seed, done, None, time.time() - t0, self.relaxed)
        except Divergence as d:
            return Outcome(self.seed, done, str(d), time.time() - t0, self.relaxed)
        finally:
            self.close()


def run_seed(seed, n_ops, kind_a="zookeeper", kind_b="corvid", port_a=None, port_b=None,
             zxid_gaps=True, log=None):
    base = PORT_LO + 2 * (seed % 50)
    port_a = port_a or base
    port_b = port_b or base + 1
    assert PORT_LO <= port_a <= PORT_HI and PORT_LO <= port_b <= PORT_HI
    return Run(seed, n_ops, kind_a, kind_b, port_a, port_b, log=log,
               zxid_gaps=zxid_gaps).run()


def run_targets(seed, n_ops, target_a, target_b, zxid_gaps=True, log=None):
    """run_seed for already-running endpoints: target_a / target_b are
    Target(name, kind, None, endpoints=[...], watch=..., port_tokens=...)
    (test_differential_ensemble.py). The targets' servers are not stopped."""
    return Run(seed, n_ops, target_a.kind, target_b.kind, None, None, log=log,
               zxid_gaps=zxid_gaps, target_a=target_a, target_b=target_b).run()


def target_available(kind):
    if kind == "corvid":
        return os.access(zkserver.CORVID_BIN, os.X_OK), "corvid binary %s" % zkserver.CORVID_BIN
    cp = zkserver.zk_classpath()
    ok = "/usr/share/java/zookeeper.jar" in cp and any(
        os.access(os.path.join(d, "java"), os.X_OK)
        for d in os.environ.get("PATH", "").split(os.pathsep))
    return ok, "java + /usr/share/java/zookeeper.jar"


def main(argv=None):
    import logging
    import signal
    # the fixture starts servers in their own sessions: make SIGTERM unwind
    # through Run.run()'s finally so they are stopped
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="1,2,3", help="comma list; ranges like 1-40 allowed")
    ap.add_argument("--ops", type=int, default=2000)
    ap.add_argument("--a", default="zookeeper", choices=["zookeeper", "corvid"])
    ap.add_argument("--b", default="corvid", choices=["zookeeper", "corvid"])
    ap.add_argument("--no-zxid-gaps", action="store_true",
                    help="compare zxids by identity and order only, not by how many "
                         "transactions lie between them")
    args = ap.parse_args(argv)
    seeds = []
    for part in (p.strip() for p in args.seeds.split(",")):
        if "-" in part[1:]:
            lo, hi = part.split("-", 1)
            seeds.extend(range(int(lo), int(hi) + 1))
        elif part:
            seeds.append(int(part))
    for k in (args.a, args.b):
        ok, what = target_available(k)
        if not ok:
            print("cannot run %s: missing %s" % (k, what))
            return 2
    bad = 0
    for seed in seeds:
        try:
            out = run_seed(seed, args.ops, args.a, args.b, zxid_gaps=not args.no_zxid_gaps)
        except Exception:
            print("seed %d: harness error\n%s" % (seed, traceback.format_exc()))
            return 2
        if out.ok:
            print("seed %d: %d ops, 0 differences (%d documented checkWatches splits) in %.1fs"
                  % (seed, out.ops_done, out.relaxed, out.seconds))
        else:
            bad += 1
            print("seed %d: DIVERGED after %d ops in %.1fs" % (seed, out.ops_done, out.seconds))
            print(out.divergence)
        sys.stdout.flush()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
