"""Start and stop a multi-process ZooKeeper-protocol ensemble for tests and
benchmarks: either corvid (the binary this tree builds) or Apache ZooKeeper
3.8 from Debian's zookeeper package (QuorumPeerMain), every member a separate
process on loopback with its own fresh directory (data dir + myid + zoo.cfg).
The ensemble counterpart of zkserver.py; independent of pytest and kazoo.

    with Ensemble("zookeeper", voters=3) as e:      # or Ensemble("corvid", ...)
        zk = KazooClient(e.all_hosts()); ...
        old = e.leader()
        e.kill(old)                                 # SIGKILL, directory kept
        new = e.wait_leader(timeout=30, exclude=(old,))
        e.restart(old)                              # same directory and zoo.cfg

zoo.cfg (the same keys for both kinds):
    tickTime, initLimit, syncLimit, dataDir (with a myid file), clientPort,
    clientPortAddress=127.0.0.1, maxClientCnxns=0, 4lw.commands.whitelist=*,
    admin.enableServer=false, metricsProvider.httpPort=0 (no /metrics),
    extendedTypesEnabled=true,
    server.N=127.0.0.1:quorumPort:electionPort[:observer];127.0.0.1:clientPort
    ZooKeeper: forceSync=no unless extra_cfg says otherwise (as zkserver.py),
               peerType=observer on observers
    corvid:    corvid.secret (one random key per ensemble, the same on every
               member), corvid.test.peerDropFile=<member dir>/peer-drop
               (partition()/heal() write and remove that file)
               corvid.lcores=(id-1) % CPUs, and corvid.pollSpinUs=0 when
               there are more members than CPUs
    then extra_cfg (every member), then member_cfg[id] (that member only).

Ports: three per member (client, quorum, election), each probed free on
127.0.0.1 for TCP and UDP, from PORT_LO..PORT_HI (rotating, so a port just
released is not reused at once). corvid uses only the quorum port (UDP) for
peer traffic; ZooKeeper uses the quorum and election ports (TCP).

Every wait is bounded: start() waits at most start_timeout for a serving
leader and a mode from every member; stop() sends SIGTERM and SIGKILL after
10 s. Command line: `python3 ensemble.py corvid|zookeeper [voters [observers]]`
starts one, prints its state and stops it (a smoke test).
"""
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import zkserver  # noqa: E402  (classpath, corvid binary, four_letter; not modified)

CORVID_BIN = zkserver.CORVID_BIN
zk_classpath = zkserver.zk_classpath
four_letter = zkserver.four_letter

PORT_LO, PORT_HI = 25000, 25999     # kept clear of conftest (22100-22199),
                                    # differential (23100-23199), perf (24181/2)
MODES = ("leader", "follower", "observer", "standalone")
# What ZooKeeper's AdminServer needs beside zk_classpath() (Jetty 9, Jackson;
# tests/control/admin_golden/README.md): pass as jvm_classpath.
ADMIN_JARS = ["/usr/share/java/%s.jar" % j for j in (
    "jetty9-server", "jetty9-servlet", "jetty9-http", "jetty9-io", "jetty9-util",
    "jetty9-security", "jetty9-util-ajax", "jackson-databind", "jackson-core",
    "jackson-annotations")]


# ---------------------------------------------------------------- ports ----

_port_lock = threading.Lock()
_port_seq = itertools.count((os.getpid() * 7) % (PORT_HI - PORT_LO + 1))


def _port_free(port):
    """Nothing listens on the port and it can be bound for TCP and UDP."""
    if zkserver.port_open(port):
        return False
    for typ in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, typ)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_ports(n, lo=PORT_LO, hi=PORT_HI):
    """n distinct free ports from lo..hi (rotating through the range)."""
    out = []
    span = hi - lo + 1
    with _port_lock:
        for _ in range(span):
            p = lo + next(_port_seq) % span
            if p not in out and _port_free(p):
                out.append(p)
                if len(out) == n:
                    return out
    raise RuntimeError("fewer than %d free ports in %d-%d" % (n, lo, hi))


def parse_srvr(text):
    """srvr reply -> dict of its 'Key: value' lines ({} if not serving)."""
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            out[k.strip()] = v.strip()
    return out


# --------------------------------------------------------------- members ----

class Member(object):
    def __init__(self, sid, observer, client_port, quorum_port, election_port):
        self.id = sid
        self.observer = observer
        self.client_port = client_port
        self.quorum_port = quorum_port
        self.election_port = election_port
        self.dir = None
        self.proc = None
        self.log_path = None
        self.starts = 0
        self.paused = False
        self.killed = False      # stopped on purpose (kill()/stop()), not a crash
        self.log_offset = 0

    @property
    def hosts(self):
        return "127.0.0.1:%d" % self.client_port

    @property
    def data_dir(self):
        return os.path.join(self.dir, "data")

    @property
    def cfg_path(self):
        return os.path.join(self.dir, "zoo.cfg")

    @property
    def drop_file(self):
        return os.path.join(self.dir, "peer-drop")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def server_line(self):
        return "127.0.0.1:%d:%d%s;127.0.0.1:%d" % (
            self.quorum_port, self.election_port, ":observer" if self.observer else "",
            self.client_port)


class Ensemble(object):
    """See the module docstring.

    kind          "corvid" | "zookeeper"
    voters        participants (ids 1..voters)
    observers     observers (ids voters+1..voters+observers)
    tick_ms, init_limit, sync_limit   the zoo.cfg keys
    extra_cfg     dict of zoo.cfg keys for every member (wins over the defaults)
    member_cfg    {id: dict} zoo.cfg keys for one member (wins over extra_cfg)
    start_timeout seconds start()/restart() may take
    jvm_props     {name: value} -> -Dname=value on every ZooKeeper JVM
    jvm_heap      ZooKeeper -Xmx (and -Xms if jvm_fixed_heap)
    jvm_classpath extra classpath entries (jar paths) after ZooKeeper's, e.g.
                  ADMIN_JARS for the AdminServer (then admin.enableServer=true
                  in extra_cfg/member_cfg: ZooKeeper turns zoo.cfg's key into
                  the system property, over the -D...=false below)
    env           extra environment variables for every member process
    secret        corvid.secret (default: 64 random hex digits per ensemble)
    work_dir      where the members' temporary directories go (default $TMPDIR)
    keep          True: stop() leaves the directories (post-mortem)
    corvid_bin    corvid binary (default $CORVID_BIN or build/control/corvid)
    zk_log        ZooKeeper's log level through slf4j-simple ("info", "warn",
                  ...; None: slf4j-nop, no log at all, as zkserver.py)
    """

    def __init__(self, kind, voters=3, observers=0, tick_ms=200, init_limit=10, sync_limit=5,
                 extra_cfg=None, member_cfg=None, start_timeout=60.0, jvm_props=None,
                 jvm_heap="256m", jvm_fixed_heap=False, env=None, secret=None,
                 work_dir=None, keep=False, corvid_bin=None, port_range=(PORT_LO, PORT_HI),
                 zk_log="info", jvm_classpath=()):
        assert kind in ("corvid", "zookeeper"), kind
        assert voters >= 1 and observers >= 0
        self.kind = kind
        self.voters, self.observers = voters, observers
        self.tick_ms, self.init_limit, self.sync_limit = tick_ms, init_limit, sync_limit
        self.extra_cfg = dict(extra_cfg or {})
        self.member_cfg = dict((int(k), dict(v)) for k, v in (member_cfg or {}).items())
        self.start_timeout = start_timeout
        self.jvm_props = dict(jvm_props or {})
        self.jvm_heap, self.jvm_fixed_heap = jvm_heap, jvm_fixed_heap
        self.jvm_classpath = list(jvm_classpath)
        self.env = dict(env or {})
        self.secret = secret or os.urandom(32).hex()
        self.work_dir = work_dir
        self.keep = keep
        self.corvid_bin = corvid_bin or CORVID_BIN
        self.port_range = port_range
        self.zk_log = zk_log if os.path.exists("/usr/share/java/slf4j-simple.jar") else None
        self.base = None
        self._members = {}

    # ------------------------------------------------------------ accessors
    @property
    def members(self):
        """All member ids, voters first."""
        return sorted(self._members)

    @property
    def voter_ids(self):
        return [i for i in self.members if not self._members[i].observer]

    @property
    def observer_ids(self):
        return [i for i in self.members if self._members[i].observer]

    def member(self, sid):
        return self._members[sid]

    def hosts(self, sid):
        return self._members[sid].hosts

    def all_hosts(self, ids=None):
        return ",".join(self._members[i].hosts for i in (ids or self.members))

    def port(self, sid):
        return self._members[sid].client_port

    def alive(self, sid):
        return self._members[sid].alive()

    def pid(self, sid):
        m = self._members[sid]
        return m.proc.pid if m.proc else None

    def four_letter(self, sid, cmd, timeout=2.0):
        return four_letter(self._members[sid].client_port, cmd, timeout=timeout)

    def srvr(self, sid, timeout=1.0):
        """Parsed srvr reply of a member ({} if it does not answer or does
        not serve). Never raises for an unreachable member."""
        m = self._members[sid]
        if not m.alive() or m.paused:
            return {}
        try:
            return parse_srvr(four_letter(m.client_port, "srvr", timeout=timeout))
        except OSError:
            return {}

    def mode(self, sid, timeout=1.0):
        """'leader' | 'follower' | 'observer' | 'standalone', or None (down,
        paused, not serving, no answer)."""
        v = self.srvr(sid, timeout).get("Mode")
        return v if v in MODES else None

    def modes(self):
        return dict((i, self.mode(i)) for i in self.members)

    def leader(self, exclude=()):
        """The id of a member that says it is the leader (or, in a one-member
        ensemble, standalone), else None."""
        for i in self.members:
            if i not in exclude and self.mode(i) in ("leader", "standalone"):
                return i
        return None

    def wait_leader(self, timeout=30.0, exclude=(), interval=0.05):
        """Wait (bounded) until a member not in `exclude` reports Mode:
        leader; return its id. Raises RuntimeError on timeout."""
        deadline = time.time() + timeout
        while True:
            lid = self.leader(exclude)
            if lid is not None:
                return lid
            if time.time() >= deadline:
                raise RuntimeError("%s ensemble: no leader (excluding %s) within %.1fs; modes %s"
                                   % (self.kind, list(exclude), timeout, self.modes()))
            time.sleep(interval)

    def wait_serving(self, ids=None, timeout=30.0, interval=0.05):
        """Wait (bounded) until each member in ids (default: every running,
        not paused member) answers srvr with a mode and one of all members
        is the leader. Returns {id: mode}."""
        deadline = time.time() + timeout
        while True:
            want = ids if ids is not None else [i for i in self.members
                                                if self._members[i].alive()
                                                and not self._members[i].paused]
            for i in want:
                m = self._members[i]
                if not m.alive():
                    raise RuntimeError("%s member %d exited (status %s); log:\n%s"
                                       % (self.kind, i, m.proc.returncode if m.proc else None,
                                          self.log(i)))
            got = dict((i, self.mode(i)) for i in want)
            if len(self._members) > 1 and "standalone" in got.values():
                raise RuntimeError("%s ensemble: member(s) %s serve standalone (no ensemble "
                                   "support?)\n%s" % (self.kind, [i for i in got if got[i] == "standalone"],
                                                      self._logs_tail()))
            if all(got.values()) and (self.leader() is not None):
                return got
            if time.time() >= deadline:
                raise RuntimeError("%s ensemble not serving within %.1fs; modes %s\n%s"
                                   % (self.kind, timeout, got, self._logs_tail()))
            time.sleep(interval)

    def log(self, sid, tail=4000):
        """The end of a member's log (all of it with tail=None)."""
        try:
            with open(self._members[sid].log_path, errors="replace") as f:
                text = f.read()
        except (OSError, TypeError):
            return ""
        return text if tail is None else text[-tail:]

    def log_since_start(self, sid):
        m = self._members[sid]
        try:
            with open(m.log_path, errors="replace") as f:
                f.seek(m.log_offset)
                return f.read()
        except (OSError, TypeError):
            return ""

    def _logs_tail(self, tail=1500):
        return "\n".join("---- member %d (%s) ----\n%s" % (i, self._members[i].dir, self.log(i, tail))
                         for i in self.members)

    # ------------------------------------------------------------ config
    def cfg_text(self, sid):
        m = self._members[sid]
        cfg = {
            "tickTime": self.tick_ms,
            "initLimit": self.init_limit,
            "syncLimit": self.sync_limit,
            "dataDir": m.data_dir,
            "clientPort": m.client_port,
            "clientPortAddress": "127.0.0.1",
            "maxClientCnxns": 0,
            "4lw.commands.whitelist": "*",
            "admin.enableServer": "false",
            "metricsProvider.httpPort": "0",
            "extendedTypesEnabled": "true",
        }
        if self.kind == "zookeeper":
            cfg["forceSync"] = "no"          # as zkserver.py; extra_cfg may say yes
            cfg["reconfigEnabled"] = "false"
            if m.observer:
                cfg["peerType"] = "observer"
        else:
            cfg["corvid.secret"] = self.secret
            cfg["corvid.test.peerDropFile"] = m.drop_file
            # Members share this machine's CPUs: spread their lcores over
            # them, and with more members than CPUs do not spin when idle
            # (a spinning poller starves the others and the kernel workers
            # that complete log writes; docs/replication.md).
            ncpu = os.cpu_count() or 1
            cfg["corvid.lcores"] = (sid - 1) % ncpu
            if len(self.members) > ncpu:
                cfg["corvid.pollSpinUs"] = 0
        for i in self.members:
            cfg["server.%d" % i] = self._members[i].server_line()
        cfg.update(self.extra_cfg)
        cfg.update(self.member_cfg.get(sid, {}))
        return "".join("%s=%s\n" % kv for kv in cfg.items() if kv[1] is not None)

    def _write_cfg(self, sid):
        m = self._members[sid]
        with open(m.cfg_path, "w") as f:
            f.write(self.cfg_text(sid))

    def set_member_cfg(self, sid, keys):
        """Change zoo.cfg keys of one member for its next (re)start."""
        self.member_cfg.setdefault(sid, {}).update(keys)
        if self._members.get(sid) and self._members[sid].dir:
            self._write_cfg(sid)

    # ------------------------------------------------------------ processes
    def _command(self, m):
        if self.kind == "zookeeper":
            jvm = ["java", "-Xmx%s" % self.jvm_heap]
            if self.jvm_fixed_heap:
                jvm.append("-Xms%s" % self.jvm_heap)
            jvm.append("-Dzookeeper.admin.enableServer=false")
            jvm += ["-D%s=%s" % kv for kv in self.jvm_props.items()]
            cp = ":".join([zk_classpath()] + self.jvm_classpath)
            if self.zk_log:
                # slf4j-simple in place of slf4j-nop: INFO lines on stderr (the log)
                cp = cp.replace("/slf4j-nop.jar", "/slf4j-simple.jar")
                jvm += ["-Dorg.slf4j.simpleLogger.defaultLogLevel=%s" % self.zk_log,
                        "-Dorg.slf4j.simpleLogger.showDateTime=true",
                        "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS"]
            return jvm + ["-cp", cp,
                          "org.apache.zookeeper.server.quorum.QuorumPeerMain", m.cfg_path]
        return [self.corvid_bin, "--config", m.cfg_path]

    def _launch(self, m, fresh):
        log = open(m.log_path, "a" if not fresh else "w")
        if not fresh:
            log.write("\n==== ensemble: restart #%d of member %d ====\n" % (m.starts, m.id))
            log.flush()
        m.log_offset = log.tell()
        m.starts += 1
        env = dict(os.environ)
        env.update(self.env)
        try:
            m.proc = subprocess.Popen(self._command(m), stdout=log, stderr=subprocess.STDOUT,
                                      cwd=m.dir, env=env, start_new_session=True)
        finally:
            log.close()
        m.paused = False
        m.killed = False

    def start(self, wait=True):
        """Fresh directories, free ports, launch every member; with wait,
        return once a leader serves and every member answers srvr with a
        mode (else stop everything and raise RuntimeError with the logs).
        Retries once on fresh ports if a member could not bind its port."""
        if self.kind == "corvid" and not os.path.exists(self.corvid_bin):
            raise RuntimeError("corvid binary %s does not exist" % self.corvid_bin)
        for attempt in (1, 2):
            self._setup()
            try:
                for i in self.members:
                    self._launch(self._members[i], fresh=True)
                if wait:
                    self.wait_serving(timeout=self.start_timeout)
                return self
            except BaseException as e:
                in_use = any("in use" in self.log(i, None) for i in self.members)
                logs = self._logs_tail()
                self.stop()
                if attempt == 1 and in_use and isinstance(e, RuntimeError):
                    continue
                if isinstance(e, RuntimeError) and "\n----" not in str(e):
                    raise RuntimeError("%s\n%s" % (e, logs))
                raise

    def _setup(self):
        n = self.voters + self.observers
        ports = free_ports(3 * n, *self.port_range)
        self.base = tempfile.mkdtemp(prefix="cv-ens-%s-" % self.kind, dir=self.work_dir)
        self._members = {}
        for k in range(n):
            sid = k + 1
            m = Member(sid, sid > self.voters, *ports[3 * k:3 * k + 3])
            m.dir = os.path.join(self.base, "m%d" % sid)
            m.log_path = os.path.join(m.dir, "server.log")
            os.makedirs(m.data_dir)
            with open(os.path.join(m.data_dir, "myid"), "w") as f:
                f.write("%d\n" % sid)
            self._members[sid] = m
        for sid in self.members:
            self._write_cfg(sid)

    def restart(self, sid, wait=True, timeout=None):
        """Start a killed (or crashed) member again on its directory and
        zoo.cfg. With wait: until it answers srvr with a mode (bounded)."""
        m = self._members[sid]
        if m.alive():
            raise RuntimeError("member %d is still running (pid %d)" % (sid, m.proc.pid))
        if zkserver.port_open(m.client_port):
            raise RuntimeError("member %d: port %d is already in use" % (sid, m.client_port))
        self._launch(m, fresh=False)
        if wait:
            self.wait_serving(ids=[sid], timeout=timeout or self.start_timeout)
        return self

    def kill(self, sid, sig=signal.SIGKILL):
        """Send sig to the member's process group; for SIGKILL/SIGTERM wait
        (bounded) until it is gone. The directory stays (restart())."""
        m = self._members[sid]
        if not m.alive():
            return
        if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            m.killed = True
        if m.paused and sig not in (signal.SIGKILL, signal.SIGSTOP):
            try:
                os.killpg(m.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        try:
            os.killpg(m.proc.pid, sig)
        except ProcessLookupError:
            pass
        if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            try:
                m.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(m.proc.pid, signal.SIGKILL)
                m.proc.wait(timeout=10)
            m.paused = False

    def pause(self, sid):
        m = self._members[sid]
        if m.alive():
            os.killpg(m.proc.pid, signal.SIGSTOP)
            m.paused = True

    def resume(self, sid):
        m = self._members[sid]
        if m.alive():
            os.killpg(m.proc.pid, signal.SIGCONT)
        m.paused = False

    def stop(self, keep=None):
        """Stop every member (SIGTERM, SIGKILL after 10 s), then remove the
        directories unless keep (argument or attribute)."""
        live = [m for m in self._members.values() if m.alive()]
        for m in live:
            m.killed = True
            for sig in ((signal.SIGCONT,) if m.paused else ()) + (signal.SIGTERM,):
                try:
                    os.killpg(m.proc.pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 10
        for m in live:
            try:
                m.proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(m.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for m in live:
            try:
                m.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            m.paused = False
        keep = self.keep if keep is None else keep
        if self.base:
            if keep:
                print("ensemble: keeping %s" % self.base, file=sys.stderr)
            else:
                shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    # ------------------------------------------------------------ partitions
    def partition(self, groups):
        """corvid only: split the ensemble into groups (iterables of ids)
        that hear only each other; a member in no group is isolated. Takes
        effect as each member notices its peer-drop file."""
        if self.kind != "corvid":
            raise NotImplementedError("partition() needs corvid.test.peerDropFile (corvid only)")
        group_of = {}
        for g in groups:
            for i in g:
                if i not in self._members:
                    raise ValueError("no member %r" % (i,))
                if i in group_of:
                    raise ValueError("member %d in two groups" % i)
                group_of[i] = frozenset(g)
        for i in self.members:
            mine = group_of.get(i, frozenset([i]))
            drop = [j for j in self.members if j not in mine]
            self._write_drop(i, drop)

    def isolate(self, sid):
        """corvid only: cut one member off from all others."""
        self.partition([[i for i in self.members if i != sid]])

    def heal(self):
        """corvid only: undo partition()."""
        if self.kind != "corvid":
            raise NotImplementedError("heal() needs corvid.test.peerDropFile (corvid only)")
        for i in self.members:
            try:
                os.unlink(self._members[i].drop_file)
            except FileNotFoundError:
                pass

    def _write_drop(self, sid, drop):
        path = self._members[sid].drop_file
        if not drop:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            return
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(" ".join(str(j) for j in drop) + "\n")
        os.rename(tmp, path)     # never seen half-written

    # ------------------------------------------------------------ helpers
    def port_tokens(self):
        """{b"<port>": b"<c1>"|b"<q1>"|b"<e1>", ...}: every port of every
        member -> a token naming its member and use (to compare data that
        quotes the ensemble's addresses, e.g. /zookeeper/config, across two
        ensembles on different ports)."""
        out = {}
        for i in self.members:
            m = self._members[i]
            for tag, p in (("c", m.client_port), ("q", m.quorum_port), ("e", m.election_port)):
                out[str(p).encode()] = ("<%s%d>" % (tag, i)).encode()
        return out

    def watch(self):
        """An object with .proc.poll() / .proc.returncode / .log() standing
        for all members: poll() is the exit status of the first member that
        died on its own (not through kill()/stop()), else None."""
        return _Watch(self)

    # ------------------------------------------------------------ context
    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return "Ensemble(%s, %s)" % (self.kind, dict((i, self._members[i].hosts)
                                                      for i in self.members))


class _Watch(object):
    def __init__(self, ens):
        self.ens = ens
        self.proc = self
        self.returncode = None
        self.dead = None

    def poll(self):
        for i in self.ens.members:
            m = self.ens.member(i)
            if m.proc is not None and not m.killed and m.proc.poll() is not None:
                self.returncode, self.dead = m.proc.returncode, i
                return self.returncode
        return None

    def log(self):
        if self.dead is not None:
            return "member %d:\n%s" % (self.dead, self.ens.log(self.dead))
        return self.ens._logs_tail()


def main(argv):
    kind = argv[1] if len(argv) > 1 else "zookeeper"
    voters = int(argv[2]) if len(argv) > 2 else 3
    observers = int(argv[3]) if len(argv) > 3 else 0
    t0 = time.time()
    with Ensemble(kind, voters, observers) as e:
        print("started in %.1fs: %s" % (time.time() - t0, e))
        print("modes:", e.modes(), "leader:", e.leader())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
