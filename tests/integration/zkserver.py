"""Start and stop a ZooKeeper-protocol server for integration tests: either
corvid (the binary this tree builds) or Apache ZooKeeper 3.8 from Debian's
zookeeper package, each on loopback with a fresh data directory.

Use with /usr/bin/python3 (Debian's kazoo is installed for it).

    with Server("corvid", port=22181) as s:   # or Server("zookeeper", ...)
        zk = KazooClient(s.hosts); ...

Both servers get the same zoo.cfg keys. Everything is bounded: start waits at
most `start_timeout` seconds for the port, stop kills after 10 s.

Crash tests keep the data directory across restarts:

    s = Server("corvid", port, extra_cfg={"forceSync": "yes"}, data_log_dir=True)
    s.start()          # fresh temporary directory (dataDir, and dataLogDir)
    s.kill()           # SIGKILL the process group; the directory stays
    s.restart()        # start again on the same directory and config
    s.stop()           # SIGTERM (SIGKILL after 10 s), then remove the directory
"""
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORVID_BIN = os.environ.get("CORVID_BIN", os.path.join(ROOT, "build", "control", "corvid"))

# Debian's zookeeper jar lacks classpath entries; these are the ones it needs.
ZK_JARS = ["zookeeper", "zookeeper-jute", "slf4j-api", "slf4j-nop", "netty-buffer",
           "netty-codec", "netty-common", "netty-handler", "netty-resolver",
           "netty-transport", "netty-transport-native-epoll",
           "netty-transport-native-unix-common", "metrics-core", "commons-cli",
           "servlet-api"]


def zk_classpath():
    return ":".join("/usr/share/java/%s.jar" % j for j in ZK_JARS
                    if os.path.exists("/usr/share/java/%s.jar" % j))


def stop_client(c):
    """Stop and close a KazooClient, ignoring whatever state it is in."""
    try:
        c.stop()
    except Exception:
        pass
    try:
        c.close()
    except Exception:
        pass


def wait_serving(srv, timeout=20.0, interval=0.05, error=RuntimeError):
    """Server.start returns once `ruok` answers imok, but ZooKeeper answers
    imok before it serves requests ('srvr' then says 'This ZooKeeper instance
    is not currently serving requests'). Wait for 'Mode:' in srvr; raise
    `error` if the process exits or the time runs out."""
    deadline = time.time() + timeout
    last = ""
    while time.time() < deadline:
        if srv.proc.poll() is not None:
            raise error("%s exited (status %s) during start-up; log:\n%s"
                        % (srv.kind, srv.proc.returncode, srv.log()))
        try:
            last = four_letter(srv.port, "srvr", timeout=1.0)
            if "Mode:" in last:
                return
        except OSError as e:
            last = repr(e)
        time.sleep(interval)
    raise error("server on port %d not serving after %.0fs: %r\nlog:\n%s"
                % (srv.port, timeout, last, srv.log()))


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def four_letter(port, cmd, host="127.0.0.1", timeout=5.0):
    """Send a four-letter word and return the whole reply as text."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(cmd.encode())
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks).decode(errors="replace")


class Server:
    def __init__(self, kind, port, tick_ms=500, min_session_timeout=None,
                 max_session_timeout=None, extra_cfg=None, start_timeout=30.0,
                 super_digest=None, data_log_dir=False, poll_interval=0.1):
        assert kind in ("corvid", "zookeeper"), kind
        self.kind, self.port, self.tick_ms = kind, port, tick_ms
        self.extra_cfg = dict(extra_cfg or {})
        self.min_to, self.max_to = min_session_timeout, max_session_timeout
        self.start_timeout = start_timeout
        self.super_digest = super_digest
        # data_log_dir=True: a separate dataLogDir (<dir>/datalog) for the log
        self.want_data_log_dir = data_log_dir
        # how often start()/restart() poll for ruok (crash loops want it short)
        self.poll_interval = poll_interval
        self.dir = None
        self.proc = None
        self.log_path = None
        self.starts = 0          # how many times the process was started
        self.keep_dir = False    # True: stop() leaves the directory (post-mortem)

    @property
    def data_dir(self):
        return os.path.join(self.dir, "data") if self.dir else None

    @property
    def data_log_dir(self):
        if not self.dir:
            return None
        return os.path.join(self.dir, "datalog") if self.want_data_log_dir else self.data_dir

    @property
    def hosts(self):
        return "127.0.0.1:%d" % self.port

    def cfg_text(self):
        cfg = {
            "tickTime": self.tick_ms,
            "dataDir": os.path.join(self.dir, "data"),
            "clientPort": self.port,
            "clientPortAddress": "127.0.0.1",
            "maxClientCnxns": 0,
            "4lw.commands.whitelist": "*",
            "admin.enableServer": "false",
            "metricsProvider.httpPort": "0",
            "extendedTypesEnabled": "true",
        }
        if self.want_data_log_dir:
            cfg["dataLogDir"] = self.data_log_dir
        if self.min_to:
            cfg["minSessionTimeout"] = self.min_to
        if self.max_to:
            cfg["maxSessionTimeout"] = self.max_to
        if self.kind == "zookeeper":
            cfg["forceSync"] = "no"
        cfg.update(self.extra_cfg)
        return "".join("%s=%s\n" % kv for kv in cfg.items())

    def start(self):
        """Start on a fresh temporary directory."""
        if port_open(self.port):
            raise RuntimeError("port %d is already in use" % self.port)
        self.dir = tempfile.mkdtemp(prefix="cv-%s-" % self.kind)
        os.makedirs(os.path.join(self.dir, "data"))
        if self.want_data_log_dir:
            os.makedirs(self.data_log_dir)
        self._write_cfg()
        self.log_path = os.path.join(self.dir, "server.log")
        return self._launch(open(self.log_path, "w"), fresh=True)

    def _write_cfg(self):
        with open(os.path.join(self.dir, "zoo.cfg"), "w") as f:
            f.write(self.cfg_text())
            if self.kind == "corvid" and self.super_digest:
                f.write("corvid.superDigest=%s\n" % self.super_digest)

    def restart(self, wait=True, extra_cfg=None):
        """Start the process again on the same directory and zoo.cfg (after
        kill() or a crash). The log file is appended to, after a marker line;
        log() and log_since_start() read it. wait=False returns as soon as the
        process is spawned (to kill it again in the middle of its recovery).
        extra_cfg: keys to change in zoo.cfg for this and later starts."""
        if not self.dir:
            raise RuntimeError("restart() needs a server that was started and not stopped")
        if self.proc and self.proc.poll() is None:
            raise RuntimeError("%s is still running (pid %d)" % (self.kind, self.proc.pid))
        if port_open(self.port):
            raise RuntimeError("port %d is already in use" % self.port)
        if extra_cfg:
            self.extra_cfg.update(extra_cfg)
            self._write_cfg()
        log = open(self.log_path, "a")
        log.write("\n==== zkserver: restart #%d ====\n" % self.starts)
        log.flush()
        return self._launch(log, fresh=False, wait=wait)

    def _launch(self, log, fresh, wait=True):
        cfg_path = os.path.join(self.dir, "zoo.cfg")
        self._log_offset = log.tell()
        self.starts += 1
        if self.kind == "zookeeper":
            jvm = ["java", "-Xmx512m", "-Dzookeeper.admin.enableServer=false"]
            if self.super_digest:
                jvm.append("-Dzookeeper.DigestAuthenticationProvider.superDigest=%s"
                           % self.super_digest)
            cmd = jvm + ["-cp", zk_classpath(),
                         "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg_path]
        else:
            cmd = [CORVID_BIN, "--config", cfg_path]
        try:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        finally:
            log.close()      # the child has its own descriptor
        if not wait:
            return self
        deadline = time.time() + self.start_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s; log:\n%s"
                                   % (self.kind, self.proc.returncode, self.log()))
            if port_open(self.port):
                try:
                    if four_letter(self.port, "ruok", timeout=1.0).startswith("imok"):
                        return self
                except OSError:
                    pass
            time.sleep(self.poll_interval)
        if fresh:
            self.stop()
        else:
            self.kill()      # keep the directory: the caller decides
        raise RuntimeError("%s did not answer ruok on port %d within %.0fs"
                           % (self.kind, self.port, self.start_timeout))

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def log_since_start(self):
        """Everything the current (latest) process has written so far."""
        try:
            with open(self.log_path) as f:
                f.seek(self._log_offset)
                return f.read()
        except (OSError, AttributeError):
            return ""

    def in_memory(self):
        """True if the running corvid said at start-up that it keeps nothing
        on disk (the build before the storage work). Call after start()."""
        return self.kind == "corvid" and "IN-MEMORY ONLY" in self.log_since_start()

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except Exception:
                self.kill()
        if self.dir:
            if self.keep_dir:
                print("zkserver: keeping %s (keep_dir)" % self.dir)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
