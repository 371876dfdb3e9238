"""Shared fixtures for the real-client integration tests.

Target server: CV_TARGET=corvid (default) or CV_TARGET=zookeeper. Both are
started by zkserver.Server on loopback, on a free port in 22100-22199.

Fixtures
  target        "corvid" | "zookeeper"
  server        module-scoped running zkserver.Server (tickTime 200 ms,
                min/max session timeout 400/10000 ms)
  make_server   factory for extra servers with other settings (stopped at
                the end of the test/module that asked for it)
  make_client   factory for started KazooClients with short timeouts; every
                client is stopped and closed at teardown
  zk            one started KazooClient for the test
  base          a fresh, unique persistent path for the test (deleted after)
  raw           the RawZK class (a minimal hand-written ZooKeeper wire client,
                used where kazoo 2.8 has no API: containers, TTL nodes,
                persistent watches, hand-driven sessions)

Every test of test_kazoo_*.py, test_c_client.py and test_zkcli.py also gets a
hard per-test alarm (CV_TEST_TIMEOUT, default 90 s) so nothing can hang the
suite.
"""
import contextlib
import itertools
import os
import shutil
import tempfile
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkserver  # noqa: E402

TARGET = os.environ.get("CV_TARGET", "corvid").strip().lower()
if TARGET not in ("corvid", "zookeeper"):
    raise pytest.UsageError("CV_TARGET must be 'corvid' or 'zookeeper', not %r" % TARGET)

PORT_LO, PORT_HI = 22100, 22199
TICK_MS = 200
MIN_SESSION_MS = 400
MAX_SESSION_MS = 10000
# ZooKeeper runs its container/TTL reaper every znode.container.checkIntervalMs
# (a Java system property, default 60 s, NOT a zoo.cfg key). Servers that need
# a short interval get it as a zoo.cfg key (corvid reads it from zoo.cfg) and,
# for ZooKeeper, as -D through JAVA_TOOL_OPTIONS at start (see make_server).
CONTAINER_CHECK_MS = 500
TEST_TIMEOUT_S = int(os.environ.get("CV_TEST_TIMEOUT", "90"))


# ---------------------------------------------------------------- ports ----

_port_lock = threading.Lock()
_next_port = itertools.count(PORT_LO + (os.getpid() % 50))


def _port_free(port):
    if zkserver.port_open(port):
        return False
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    """A port in 22100-22199 that nothing listens on (rotating, so a port
    just released in TIME_WAIT is not reused at once)."""
    with _port_lock:
        for _ in range(PORT_HI - PORT_LO + 1):
            p = PORT_LO + (next(_next_port) - PORT_LO) % (PORT_HI - PORT_LO + 1)
            if _port_free(p):
                return p
    raise RuntimeError("no free port in %d-%d" % (PORT_LO, PORT_HI))


# -------------------------------------------------------------- servers ----

def _skip_if_no_corvid():
    if TARGET == "corvid" and not os.path.exists(zkserver.CORVID_BIN):
        pytest.skip("CV_TARGET=corvid but %s does not exist (build corvid first, "
                    "or run with CV_TARGET=zookeeper)" % zkserver.CORVID_BIN)


wait_serving = zkserver.wait_serving


def start_server(container_check_ms=None, **kw):
    """Start a target server on a free port in our range; caller stops it."""
    _skip_if_no_corvid()
    kw.setdefault("tick_ms", TICK_MS)
    kw.setdefault("min_session_timeout", MIN_SESSION_MS)
    kw.setdefault("max_session_timeout", MAX_SESSION_MS)
    kw.setdefault("start_timeout", 30.0)
    extra = dict(kw.pop("extra_cfg", None) or {})
    saved_jto = os.environ.get("JAVA_TOOL_OPTIONS")
    if container_check_ms is not None:
        extra["znode.container.checkIntervalMs"] = container_check_ms
        if TARGET == "zookeeper":
            os.environ["JAVA_TOOL_OPTIONS"] = (
                (saved_jto + " " if saved_jto else "")
                + "-Dznode.container.checkIntervalMs=%d" % container_check_ms)
    last_err = None
    try:
        for _attempt in range(3):
            srv = zkserver.Server(TARGET, free_port(), extra_cfg=extra, **kw)
            try:
                srv.start()
                wait_serving(srv)
                return srv
            except RuntimeError as e:   # port raced away, or a slow start
                last_err = e
                srv.stop()
        raise last_err
    finally:
        if container_check_ms is not None and TARGET == "zookeeper":
            if saved_jto is None:
                os.environ.pop("JAVA_TOOL_OPTIONS", None)
            else:
                os.environ["JAVA_TOOL_OPTIONS"] = saved_jto


@pytest.fixture(scope="session")
def target():
    return TARGET


@pytest.fixture(scope="module")
def server():
    srv = start_server()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def container_server():
    """A module server whose container/TTL reaper runs every 500 ms."""
    srv = start_server(container_check_ms=CONTAINER_CHECK_MS)
    try:
        yield srv
    finally:
        srv.stop()


SUPER_PW = "superpw"


@pytest.fixture(scope="module")
def acl_server():
    """A module server with the super digest for super:superpw."""
    from kazoo.security import make_digest_acl_credential
    srv = start_server(super_digest=make_digest_acl_credential("super", SUPER_PW))
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def make_server():
    started = []

    def _make(**kw):
        srv = start_server(**kw)
        started.append(srv)
        return srv
    yield _make
    for srv in started:
        srv.stop()


# -------------------------------------------------------------- clients ----

def new_client(hosts, timeout=4.0, start=True, **kw):
    """A KazooClient with short, bounded retry policies. `timeout` is the
    requested session timeout in seconds."""
    from kazoo.client import KazooClient
    kw.setdefault("connection_retry", dict(max_tries=20, delay=0.05, backoff=1.5,
                                           max_delay=0.5, ignore_expire=False))
    kw.setdefault("command_retry", None)
    c = KazooClient(hosts=hosts, timeout=timeout, **kw)
    if start:
        c.start(timeout=10)
    return c


stop_client = zkserver.stop_client


@pytest.fixture
def make_client(server):
    made = []

    def _make(hosts=None, **kw):
        c = new_client(hosts or server.hosts, **kw)
        made.append(c)
        return c
    yield _make
    for c in reversed(made):
        stop_client(c)


@pytest.fixture
def zk(make_client):
    return make_client()


_base_counter = itertools.count(1)


@pytest.fixture
def base(request, zk):
    """A unique persistent parent node for this test, removed afterwards."""
    name = "".join(ch if ch.isalnum() else "_" for ch in request.node.name)[:60]
    path = "/it_%s_%d" % (name, next(_base_counter))
    zk.create(path)
    yield path
    try:
        if zk.connected:
            zk.delete(path, recursive=True)
    except Exception:
        pass


def wait_until(pred, timeout=5.0, interval=0.05, msg="condition"):
    """Poll pred() until truthy; fail the test after `timeout` seconds."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            pytest.fail("timed out after %.1fs waiting for %s" % (timeout, msg))
        time.sleep(interval)


@pytest.fixture
def wait():
    return wait_until


# ---------------------------------------------------- per-test hard limit ----

class TestTimedOut(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds, what):
    """Raise TestTimedOut in the main thread once `seconds` have passed
    (SIGALRM); elsewhere, no limit (signals reach the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise TestTimedOut("%s exceeded %ds" % (what, seconds))
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def temp_dir(prefix):
    """A fresh temporary directory, removed afterwards."""
    d = tempfile.mkdtemp(prefix=prefix)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


_OWN_MODULES = ("test_kazoo_", "test_c_client", "test_zkcli")


@pytest.fixture(autouse=True)
def _hard_timeout(request):
    """SIGALRM after CV_TEST_TIMEOUT seconds for the tests of the modules
    listed in _OWN_MODULES (other modules in this folder, e.g. the
    differential tests, keep their own limits)."""
    mod = os.path.basename(str(request.node.fspath))
    if not mod.startswith(_OWN_MODULES):
        yield
        return
    with time_limit(TEST_TIMEOUT_S, "test (CV_TEST_TIMEOUT)"):
        yield


# ------------------------------------------------------- helper processes ----

def python_helper(script, *args):
    """Start /usr/bin/python3 running `script` (source text) with stdout piped
    line by line; the caller must .kill() it. Used to hold a session in a
    process we can SIGSTOP / SIGKILL."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=here, PYTHONUNBUFFERED="1")
    return subprocess.Popen(["/usr/bin/python3", "-c", script] + list(map(str, args)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, start_new_session=True)


def read_line_matching(proc, prefix, timeout=10.0):
    """Read lines from proc.stdout until one starts with prefix (bounded)."""
    import select
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.time()))
        if not r:
            break
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith(prefix):
            return line.rstrip("\n")
    pytest.fail("helper did not print %r within %.0fs; output so far:\n%s"
                % (prefix, timeout, "".join(seen)))


def kill_helper(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except Exception:
        pass


@pytest.fixture
def helpers():
    """Spawn helper processes; all are killed at teardown."""
    procs = []

    class H:
        @staticmethod
        def spawn(script, *args):
            p = python_helper(script, *args)
            procs.append(p)
            return p
        read_line = staticmethod(read_line_matching)
        kill = staticmethod(kill_helper)
    yield H
    for p in procs:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)      # in case a test left it stopped
            except ProcessLookupError:
                pass
        kill_helper(p)


# ------------------------------------------------ minimal raw wire client ----

class RawZK:
    """A tiny synchronous ZooKeeper wire-protocol client (jute encoding).

    Everything is bounded by `io_timeout`. Watch events (xid -1) that arrive
    while waiting for a reply are queued in self.events as
    (type, state, path). Use only from one thread.
    """
    # opcodes
    OP_CREATE, OP_DELETE, OP_EXISTS, OP_GETDATA, OP_SETDATA = 1, 2, 3, 4, 5
    OP_GETCHILDREN2, OP_PING, OP_CREATE2, OP_REMOVEWATCHES = 12, 11, 15, 18
    OP_CREATE_CONTAINER, OP_CREATE_TTL, OP_SETWATCHES = 19, 21, 101
    OP_SETWATCHES2, OP_ADDWATCH, OP_CLOSE, OP_AUTH = 105, 106, -11, 100
    # create modes
    PERSISTENT, EPHEMERAL, SEQUENTIAL, EPHEMERAL_SEQUENTIAL = 0, 1, 2, 3
    CONTAINER, PERSISTENT_WITH_TTL, PERSISTENT_SEQUENTIAL_WITH_TTL = 4, 5, 6
    # addWatch modes
    ADDWATCH_PERSISTENT, ADDWATCH_PERSISTENT_RECURSIVE = 0, 1
    # removeWatches / WatcherType
    WT_CHILDREN, WT_DATA, WT_ANY, WT_PERSISTENT, WT_PERSISTENT_RECURSIVE = 1, 2, 3, 4, 5
    # event types
    EV_NONE, EV_CREATED, EV_DELETED, EV_CHANGED, EV_CHILD = -1, 1, 2, 3, 4
    EV_DATA_WATCH_REMOVED, EV_CHILD_WATCH_REMOVED, EV_PERSISTENT_WATCH_REMOVED = 5, 6, 7
    # errors
    OK, NONODE, NODEEXISTS, BADARGUMENTS, SESSIONEXPIRED, UNIMPLEMENTED = 0, -101, -110, -8, -112, -6
    NOWATCHER = -121
    OPEN_ACL_UNSAFE = [(31, "world", "anyone")]

    class Closed(Exception):
        """The server closed the connection."""

    class Error(Exception):
        def __init__(self, code, op):
            Exception.__init__(self, "op %d failed with error %d" % (op, code))
            self.code = code

    def __init__(self, port, host="127.0.0.1", io_timeout=5.0):
        self.addr = (host, port)
        self.io_timeout = io_timeout
        self.sock = None
        self.xid = 0
        self.events = []
        self.session_id = 0
        self.passwd = b"\0" * 16
        self.timeout_ms = 0
        self.last_zxid = 0
        self.last_ping = 0.0

    # ------------------------------------------------------------ encoding
    @staticmethod
    def s(v):
        if v is None:
            return struct.pack(">i", -1)
        b = v.encode() if isinstance(v, str) else v
        return struct.pack(">i", len(b)) + b

    buf = s

    @classmethod
    def acl_vec(cls, acl):
        out = struct.pack(">i", len(acl))
        for perms, scheme, ident in acl:
            out += struct.pack(">i", perms) + cls.s(scheme) + cls.s(ident)
        return out

    @classmethod
    def str_vec(cls, items):
        return struct.pack(">i", len(items)) + b"".join(cls.s(i) for i in items)

    class Reader:
        def __init__(self, data):
            self.d, self.o = data, 0

        def int(self):
            v = struct.unpack_from(">i", self.d, self.o)[0]
            self.o += 4
            return v

        def long(self):
            v = struct.unpack_from(">q", self.d, self.o)[0]
            self.o += 8
            return v

        def bool(self):
            v = self.d[self.o] != 0
            self.o += 1
            return v

        def buf(self):
            n = self.int()
            if n < 0:
                return None
            v = self.d[self.o:self.o + n]
            self.o += n
            return v

        def str(self):
            b = self.buf()
            return None if b is None else b.decode()

        def stat(self):
            keys = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion",
                    "aversion", "ephemeralOwner", "dataLength", "numChildren", "pzxid")
            fmt = ("long", "long", "long", "long", "int", "int", "int", "long",
                   "int", "int", "long")
            return dict((k, getattr(self, f)()) for k, f in zip(keys, fmt))

        def remaining(self):
            return len(self.d) - self.o

    # ------------------------------------------------------------ framing
    def _recv_exact(self, n, deadline):
        chunks = []
        while n:
            left = deadline - time.time()
            if left <= 0:
                raise socket.timeout("raw read timed out")
            self.sock.settimeout(left)
            b = self.sock.recv(n)
            if not b:
                raise RawZK.Closed("connection closed by server")
            chunks.append(b)
            n -= len(b)
        return b"".join(chunks)

    def read_frame(self, timeout=None):
        deadline = time.time() + (self.io_timeout if timeout is None else timeout)
        try:
            n = struct.unpack(">i", self._recv_exact(4, deadline))[0]
            return self._recv_exact(n, deadline)
        except (ConnectionResetError, BrokenPipeError) as e:
            raise RawZK.Closed(str(e))

    def send_frame(self, payload):
        self.sock.settimeout(self.io_timeout)
        try:
            self.sock.sendall(struct.pack(">i", len(payload)) + payload)
        except (ConnectionResetError, BrokenPipeError) as e:
            raise RawZK.Closed(str(e))

    # ------------------------------------------------------------ session
    def connect(self, timeout_ms=4000, session_id=0, passwd=b"\0" * 16,
                last_zxid=None, read_only=False, pipeline=b""):
        """Open a TCP connection and send a ConnectRequest (plus, optionally,
        already-encoded request frames right behind it). Returns the
        ConnectResponse as a dict; raises RawZK.Closed if the server hung up
        without answering."""
        self.drop()
        self.sock = socket.create_connection(self.addr, timeout=self.io_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lz = self.last_zxid if last_zxid is None else last_zxid
        body = (struct.pack(">iqiq", 0, lz, timeout_ms, session_id) + self.s(passwd)
                + (b"\1" if read_only else b"\0"))
        self.sock.settimeout(self.io_timeout)
        self.sock.sendall(struct.pack(">i", len(body)) + body + pipeline)
        r = self.Reader(self.read_frame())
        resp = {"protocolVersion": r.int(), "timeOut": r.int(),
                "sessionId": r.long(), "passwd": r.buf()}
        if r.remaining() >= 1:
            resp["readOnly"] = r.bool()
        if resp["timeOut"] > 0:
            self.session_id, self.passwd = resp["sessionId"], resp["passwd"]
            self.timeout_ms = resp["timeOut"]
        self.last_ping = time.time()
        return resp

    def drop(self):
        """Close the TCP connection WITHOUT closing the session."""
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    close_socket = drop

    def close_session(self):
        try:
            self.call(self.OP_CLOSE, b"")
        finally:
            self.drop()

    # ------------------------------------------------------------ requests
    def frame(self, op, body, xid=None):
        if xid is None:
            self.xid += 1
            xid = self.xid
        return xid, struct.pack(">ii", xid, op) + body

    def _handle_unsolicited(self, r, xid):
        """r is positioned after the reply header."""
        if xid == -1:
            self.events.append((r.int(), r.int(), r.str()))
            return True
        if xid == -2:      # ping reply
            return True
        return False

    def exchange(self, op, body, xid=None, timeout=None):
        """Send one request and wait for its reply, queueing watch events and
        skipping ping replies on the way. Returns (zxid, err, Reader
        positioned at the reply body), whatever err is."""
        xid, payload = self.frame(op, body, xid)
        self.send_frame(payload)
        deadline = time.time() + (self.io_timeout if timeout is None else timeout)
        while True:
            r = self.Reader(self.read_frame(max(0.01, deadline - time.time())))
            rxid = r.int()
            zxid = r.long()
            err = r.int()
            if self._handle_unsolicited(r, rxid):
                continue
            if zxid > 0:
                self.last_zxid = max(self.last_zxid, zxid)
            if rxid != xid:
                raise AssertionError("reply xid %d, expected %d" % (rxid, xid))
            return zxid, err, r

    def call(self, op, body, xid=None, timeout=None):
        """Send one request and wait for its reply. Returns a Reader
        positioned at the reply body; raises RawZK.Error on a non-zero err."""
        _, err, r = self.exchange(op, body, xid, timeout)
        if err != 0:
            raise RawZK.Error(err, op)
        return r

    def ping(self):
        self.send_frame(struct.pack(">ii", -2, self.OP_PING))
        self.last_ping = time.time()

    def wait_events(self, n=1, timeout=5.0, ping=True):
        """Wait (bounded) until at least n events are queued; pings the
        server meanwhile so the session stays alive. Returns the queue
        (not cleared)."""
        deadline = time.time() + timeout
        while len(self.events) < n:
            left = deadline - time.time()
            if left <= 0:
                break
            if ping and self.timeout_ms and time.time() - self.last_ping > self.timeout_ms / 3000.0:
                self.ping()
            try:
                data = self.read_frame(min(left, max(0.05, self.timeout_ms / 3000.0 or 0.2)))
            except socket.timeout:
                continue
            r = self.Reader(data)
            xid = r.int()
            r.long()
            r.int()
            self._handle_unsolicited(r, xid)
        return self.events

    def quiet(self, duration):
        """Keep the session alive for `duration` seconds, collecting events."""
        self.wait_events(n=10 ** 9, timeout=duration)
        return self.events

    def pop_events(self):
        ev, self.events = self.events, []
        return ev

    # ------------------------------------------------------------ ops
    def create(self, path, data=b"", mode=0, acl=None, ttl=None, op=None):
        acl = self.OPEN_ACL_UNSAFE if acl is None else acl
        body = self.s(path) + self.buf(data) + self.acl_vec(acl) + struct.pack(">i", mode)
        if op is None:
            if mode in (self.PERSISTENT_WITH_TTL, self.PERSISTENT_SEQUENTIAL_WITH_TTL):
                op = self.OP_CREATE_TTL
            elif mode == self.CONTAINER:
                op = self.OP_CREATE_CONTAINER
            else:
                op = self.OP_CREATE2
        if op == self.OP_CREATE_TTL:
            body += struct.pack(">q", ttl if ttl is not None else 0)
        r = self.call(op, body)
        path = r.str()
        if op == self.OP_CREATE:
            return path, None
        return path, r.stat()

    def delete(self, path, version=-1):
        self.call(self.OP_DELETE, self.s(path) + struct.pack(">i", version))

    def exists(self, path, watch=False):
        try:
            return self.call(self.OP_EXISTS, self.s(path) + (b"\1" if watch else b"\0")).stat()
        except RawZK.Error as e:
            if e.code == self.NONODE:
                return None
            raise

    def get(self, path, watch=False):
        r = self.call(self.OP_GETDATA, self.s(path) + (b"\1" if watch else b"\0"))
        return r.buf(), r.stat()

    def set(self, path, data, version=-1):
        return self.call(self.OP_SETDATA, self.s(path) + self.buf(data)
                         + struct.pack(">i", version)).stat()

    def children(self, path, watch=False):
        r = self.call(self.OP_GETCHILDREN2, self.s(path) + (b"\1" if watch else b"\0"))
        n = r.int()
        return sorted(r.str() for _ in range(n)), r.stat()

    def add_watch(self, path, mode):
        self.call(self.OP_ADDWATCH, self.s(path) + struct.pack(">i", mode))

    def remove_watches(self, path, wtype):
        self.call(self.OP_REMOVEWATCHES, self.s(path) + struct.pack(">i", wtype))

    def set_watches_body(self, relative_zxid, data=(), exist=(), child=()):
        return (struct.pack(">q", relative_zxid) + self.str_vec(list(data))
                + self.str_vec(list(exist)) + self.str_vec(list(child)))

    def set_watches_frame(self, relative_zxid, data=(), exist=(), child=()):
        """An encoded SetWatches frame (xid -8), for pipelining after connect."""
        payload = (struct.pack(">ii", -8, self.OP_SETWATCHES)
                   + self.set_watches_body(relative_zxid, data, exist, child))
        return struct.pack(">i", len(payload)) + payload

    def set_watches(self, relative_zxid, data=(), exist=(), child=()):
        self.call(self.OP_SETWATCHES, self.set_watches_body(relative_zxid, data, exist, child),
                  xid=-8)

    def add_auth(self, scheme, auth):
        body = struct.pack(">i", 0) + self.s(scheme) + self.buf(auth)
        self.call(self.OP_AUTH, body, xid=-4)

    def wait_closed(self, timeout=5.0):
        """True if the server closes the connection within `timeout` (no
        pings are sent meanwhile)."""
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                try:
                    data = self.read_frame(max(0.01, deadline - time.time()))
                except socket.timeout:
                    return False
                r = self.Reader(data)
                xid = r.int()
                r.long()
                r.int()
                self._handle_unsolicited(r, xid)
        except RawZK.Closed:
            return True
        return False


@pytest.fixture
def raw(server):
    """Factory: raw(port=None) -> connected-not-yet RawZK; closed at teardown."""
    made = []

    def _make(port=None, io_timeout=5.0):
        c = RawZK(port or server.port, io_timeout=io_timeout)
        made.append(c)
        return c
    _make.RawZK = RawZK
    yield _make
    for c in made:
        c.drop()
