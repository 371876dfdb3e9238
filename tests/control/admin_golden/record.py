#!/usr/bin/python3
"""Record Apache ZooKeeper 3.8's AdminServer responses (Debian's zookeeper
package) into this directory. See README.md.

    timeout 600 /usr/bin/python3 tests/control/admin_golden/record.py

Ports used: 28000-28999 only. Every JVM started is stopped before exit.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from kazoo.client import KazooClient

HERE = os.path.dirname(os.path.abspath(__file__))
JARS = ["zookeeper", "zookeeper-jute", "slf4j-api", "slf4j-nop", "netty-buffer", "netty-codec",
        "netty-common", "netty-handler", "netty-resolver", "netty-transport",
        "netty-transport-native-epoll", "netty-transport-native-unix-common", "metrics-core",
        "commons-cli", "servlet-api",
        # the AdminServer (Jetty + Jackson)
        "jetty9-server", "jetty9-servlet", "jetty9-http", "jetty9-io", "jetty9-util",
        "jetty9-security", "jetty9-util-ajax", "jackson-databind", "jackson-core",
        "jackson-annotations"]
CP = ":".join("/usr/share/java/%s.jar" % j for j in JARS)

# Every command ZooKeeper 3.8.0 registers (Commands.registerCommand), by
# primary name; the mutating ones last so the others see the state first.
COMMANDS = ["configuration", "connections", "dirs", "dump", "environment", "get_trace_mask",
            "hash", "initial_configuration", "is_read_only", "last_snapshot", "leader",
            "monitor", "observers", "ruok", "server_stats", "stats", "system_properties",
            "voting_view", "watch_summary", "watches", "watches_by_path", "zabstate",
            "connection_stat_reset", "observer_connection_stat_reset", "stat_reset",
            "set_trace_mask"]


def curl(url, out_prefix, method=None, ext="json"):
    args = ["timeout", "10", "curl", "-s", "-i", "--max-time", "8"]
    if method:
        args += ["-X", method]
    raw = subprocess.run(args + [url], stdout=subprocess.PIPE, check=False).stdout
    head, _, body = raw.partition(b"\r\n\r\n")
    # Date changes every run; keep the rest of the header block as sent.
    head = b"\r\n".join(l for l in head.split(b"\r\n") if not l.startswith(b"Date:"))
    with open(out_prefix + ".headers", "wb") as f:
        f.write(head + b"\r\n")
    with open(out_prefix + "." + ext, "wb") as f:
        f.write(body)
    return body


def word(port, cmd, timeout=2.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(cmd.encode())
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b


def start(d, lines):
    os.makedirs(os.path.join(d, "data"), exist_ok=True)
    cfg = os.path.join(d, "zoo.cfg")
    with open(cfg, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    log = open(os.path.join(d, "server.log"), "w")
    return subprocess.Popen(["java", "-Xmx256m", "-cp", CP,
                             "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_mode(p, port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if p.poll() is not None:
            raise RuntimeError("zookeeper exited")
        try:
            m = re.search(rb"Mode: (\w+)", word(port, "srvr", 1.0))
            if m:
                return m.group(1).decode()
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("zookeeper on %d did not start serving" % port)


def stop(p):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def record_all(admin, setup, extra_errors=False):
    out = os.path.join(HERE, setup)
    os.makedirs(out, exist_ok=True)
    base = "http://127.0.0.1:%d" % admin
    curl(base + "/commands", os.path.join(out, "commands"), ext="html")
    for c in COMMANDS:
        curl(base + "/commands/" + c, os.path.join(out, c))
    if extra_errors:
        curl(base + "/commands/set_trace_mask?traceMask=306",
             os.path.join(out, "set_trace_mask_306"))
        curl(base + "/commands/mntr", os.path.join(out, "alias_mntr"))
        curl(base + "/commands/nosuch", os.path.join(out, "unknown_nosuch"))
        curl(base + "/foo", os.path.join(out, "path_foo"), ext="html")
        curl(base + "/", os.path.join(out, "path_root"), ext="html")
        curl(base + "/commands/monitor", os.path.join(out, "post_monitor"), method="POST",
             ext="html")
        curl(base + "/commands/connections", os.path.join(out, "connections_after_crst"))
        curl(base + "/commands/server_stats", os.path.join(out, "server_stats_after_srst"))


def client(port, name):
    c = KazooClient(hosts="127.0.0.1:%d" % port, timeout=10)
    c.start(timeout=15)
    c.ensure_path("/app")
    c.create("/app/eph-" + name, b"x", ephemeral=True)
    c.get("/app", watch=lambda e: None)           # data watch
    c.get_children("/app", watch=lambda e: None)  # child watch
    c.sync("/")
    return c


def standalone(tmp):
    d = os.path.join(tmp, "standalone")
    lines = ["tickTime=2000", "dataDir=%s" % os.path.join(d, "data"), "clientPort=28181",
             "clientPortAddress=127.0.0.1", "maxClientCnxns=60", "4lw.commands.whitelist=*",
             "admin.enableServer=true", "admin.serverAddress=127.0.0.1",
             "admin.serverPort=28080"]
    p = start(d, lines)
    c = None
    try:
        wait_mode(p, 28181)
        c = client(28181, "a")
        time.sleep(0.5)
        record_all(28080, "standalone", extra_errors=True)
    finally:
        if c:
            c.stop()
            c.close()
        stop(p)


def ensemble(tmp):
    ids = [1, 2, 3, 4]
    servers = ["server.%d=127.0.0.1:%d:%d%s;127.0.0.1:%d" %
               (i, 28290 + i, 28390 + i, ":observer" if i == 4 else "", 28190 + i) for i in ids]
    procs, clients = {}, []
    try:
        for i in ids:
            d = os.path.join(tmp, "s%d" % i)
            os.makedirs(os.path.join(d, "data"), exist_ok=True)
            with open(os.path.join(d, "data", "myid"), "w") as f:
                f.write("%d\n" % i)
            lines = ["tickTime=2000", "initLimit=10", "syncLimit=5",
                     "dataDir=%s" % os.path.join(d, "data"), "4lw.commands.whitelist=*",
                     "admin.enableServer=true", "admin.serverAddress=127.0.0.1",
                     "admin.serverPort=%d" % (28090 + i)] + servers
            if i == 4:
                lines.append("peerType=observer")
            procs[i] = start(d, lines)
            if i == 1:
                # one voter alone cannot serve: what a non-serving server answers
                time.sleep(4)
                record_all(28091, "notserving")
        modes = {i: wait_mode(procs[i], 28190 + i) for i in ids}
        leader = [i for i in ids if modes[i] == "leader"][0]
        follower = [i for i in ids if modes[i] == "follower"][0]
        clients.append(client(28190 + leader, "l"))
        clients.append(client(28190 + follower, "f"))
        clients.append(client(28194, "o"))
        time.sleep(0.5)
        record_all(28090 + leader, "leader")
        record_all(28090 + follower, "follower")
        record_all(28094, "observer")
        with open(os.path.join(HERE, "ensemble_roles.txt"), "w") as f:
            f.write("leader server.%d\nfollower server.%d\nobserver server.4\n" %
                    (leader, follower))
    finally:
        for c in clients:
            c.stop()
            c.close()
        for p in procs.values():
            stop(p)


def main():
    tmp = tempfile.mkdtemp(prefix="cv-admin-")
    try:
        what = sys.argv[1:] or ["standalone", "ensemble"]
        if "standalone" in what:
            standalone(tmp)
        if "ensemble" in what:
            ensemble(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
