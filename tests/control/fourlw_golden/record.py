#!/usr/bin/python3
"""Record every four-letter word's reply from a real Apache ZooKeeper 3.8
(Debian's zookeeper package) into this directory. See README.md.

    /usr/bin/python3 tests/control/fourlw_golden/record.py [PORT]

Starts a standalone server on 127.0.0.1:PORT (default 25150) with
4lw.commands.whitelist=*, builds a known state with kazoo (sessions,
ephemerals, data / child / exists watches), saves <word>.txt for each word,
then restarts it with no whitelist (ZooKeeper's default) and saves what a
word outside the whitelist gets. The JVM is always stopped before exit.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from kazoo.client import KazooClient

HERE = os.path.dirname(os.path.abspath(__file__))
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 25150
JARS = ["zookeeper", "zookeeper-jute", "slf4j-api", "slf4j-nop", "netty-buffer", "netty-codec",
        "netty-common", "netty-handler", "netty-resolver", "netty-transport",
        "netty-transport-native-epoll", "netty-transport-native-unix-common", "metrics-core",
        "commons-cli"]
WORDS = ["ruok", "srvr", "stat", "mntr", "cons", "conf", "envi", "wchs", "wchc", "wchp", "dump",
         "isro", "dirs", "gtmk", "crst", "srst"]


def word(cmd, timeout=5.0):
    with socket.create_connection(("127.0.0.1", PORT), timeout=timeout) as s:
        s.sendall(cmd.encode())
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b


def start(cfg_lines, d):
    os.makedirs(os.path.join(d, "data"), exist_ok=True)
    cfg = os.path.join(d, "zoo.cfg")
    with open(cfg, "w") as f:
        f.write("".join(l + "\n" for l in cfg_lines))
    cp = ":".join("/usr/share/java/%s.jar" % j for j in JARS)
    log = open(os.path.join(d, "server.log"), "w")
    p = subprocess.Popen(["java", "-Xmx256m", "-cp", cp,
                          "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg],
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if p.poll() is not None:
            raise RuntimeError("zookeeper exited: " + open(os.path.join(d, "server.log")).read())
        try:
            if word("srvr", 1.0).startswith(b"Zookeeper version"):
                return p
        except OSError:
            pass
        time.sleep(0.2)
    stop(p)
    raise RuntimeError("zookeeper did not start")


def stop(p):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def save(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def main():
    d = tempfile.mkdtemp(prefix="cv-4lw-")
    base = ["tickTime=2000", "dataDir=%s" % os.path.join(d, "data"), "clientPort=%d" % PORT,
            "clientPortAddress=127.0.0.1", "maxClientCnxns=60", "admin.enableServer=false"]
    p = start(base + ["4lw.commands.whitelist=*"], d)
    clients = []
    try:
        a = KazooClient(hosts="127.0.0.1:%d" % PORT, timeout=10)
        b = KazooClient(hosts="127.0.0.1:%d" % PORT, timeout=30)
        for c in (a, b):
            c.start(timeout=15)
            clients.append(c)
        a.create("/app", b"config-data")
        a.create("/app/eph-a1", b"x", ephemeral=True)
        a.create("/app/eph-a2", b"y", ephemeral=True)
        b.create("/app/eph-b1", b"", ephemeral=True)
        b.create("/app/seq-", b"s", sequence=True)
        a.create("/other", b"")
        # watches: a data watch + a child watch by a, an exists watch on a
        # missing node by b, and a data watch on /app by b
        a.get("/app", watch=lambda e: None)
        a.get_children("/app", watch=lambda e: None)
        b.exists("/missing", watch=lambda e: None)
        b.get("/app", watch=lambda e: None)
        b.get("/other", watch=lambda e: None)
        for c in clients:
            c.sync("/")
        time.sleep(0.5)
        sessions = {"a": "0x%x" % a.client_id[0], "b": "0x%x" % b.client_id[0]}
        for w in WORDS:
            save(w + ".txt", word(w))
        # after crst / srst: what the counters look like
        save("srvr_after_srst.txt", word("srvr"))
        save("cons_after_crst.txt", word("cons"))
        save("unknown_word.txt", word("abcd"))
        with open(os.path.join(HERE, "sessions.txt"), "w") as f:
            f.write("".join("%s %s\n" % kv for kv in sorted(sessions.items())))
    finally:
        for c in clients:
            c.stop()
            c.close()
        stop(p)
    # ZooKeeper's default whitelist (the key absent): only srvr answers.
    p = start(base, d)
    try:
        for w in ["ruok", "stat", "mntr", "isro"]:
            save("nowhitelist_%s.txt" % w, word(w))
    finally:
        stop(p)
    # A whitelist with spaces and an empty item: "ruok, conf ,,".
    p = start(base + ["4lw.commands.whitelist=ruok, conf ,,"], d)
    try:
        for w in ["ruok", "conf", "srvr", "stat"]:
            save("list_%s.txt" % w, word(w))
    finally:
        stop(p)
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
