"""Read-only mode (readonlymode.enabled=true) of an ensemble member that lost
its quorum, as ZooKeeper documents it.

Apache ZooKeeper 3.8 cannot be the oracle here with kazoo: the connection
answer its read-only server sends (16 bytes, no password) is one kazoo
cannot parse, so a kazoo client never reconnects to it (tried while writing
this test). The expectations below are ZooKeeper's documented behaviour
(ReadOnlyZooKeeperServer, ReadOnlyRequestProcessor).

A 3-voter ensemble; two members are killed, so the third has no leader. After
ZooKeeper's delay (max(2 s, tickTime)) it serves clients that allow
read-only mode: reads of the data it had, NotReadOnlyCallError for writes,
`isro` says "ro"; clients that do not allow read-only mode are refused. When
the two come back, the read-only connections are closed and the client
continues read-write on the same member, seeing its data.
"""
import os
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from ensemble import Ensemble  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import NotReadOnlyCallError  # noqa: E402
from kazoo.protocol.states import KazooState  # noqa: E402

import conftest  # noqa: E402


def _until(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if pred():
                return
        except Exception:  # noqa: BLE001 - a member still starting, a client reconnecting
            pass
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def test_member_without_quorum_serves_read_only_clients_then_rejoins():
    conftest._skip_if_no_corvid()
    with Ensemble("corvid", voters=3, tick_ms=200,
                  extra_cfg={"readonlymode.enabled": "true"}) as e:
        last = e.members[-1]
        rw = KazooClient(e.hosts(last), timeout=10.0)
        rw.start(timeout=15)
        rw.create("/ro-data", b"before")
        rw.sync("/")
        rw.stop()
        rw.close()
        # A client that allows read-only mode, connected while there is a
        # quorum: it keeps its session through the read-only period.
        ro = KazooClient(e.hosts(last), timeout=10.0, read_only=True)
        ro.start(timeout=15)
        sid_before = ro.client_id[0]
        for sid in e.members:
            if sid != last:
                e.kill(sid)
        # Read-only mode begins once the member has looked for a leader a while.
        _until(lambda: e.four_letter(last, "isro").strip() == "ro", 30, "isro = ro")
        try:
            _until(lambda: ro.get("/ro-data")[0] == b"before", 30, "a read in read-only mode")
            assert ro.client_id[0] == sid_before
            assert "ro-data" in ro.get_children("/")
            with pytest.raises(NotReadOnlyCallError):
                ro.create("/ro-write", b"x")
            with pytest.raises(NotReadOnlyCallError):
                ro.set("/ro-data", b"x")
            assert "Mode: read-only" in e.four_letter(last, "srvr")

            refused = KazooClient(e.hosts(last), timeout=4.0)
            with pytest.raises(Exception):
                refused.start(timeout=4)  # a client that does not allow read-only mode
            refused.stop()
            refused.close()

            # A new session in read-only mode: local, readOnly, reads only.
            fresh = KazooClient(e.hosts(last), timeout=10.0, read_only=True)
            fresh.start(timeout=15)
            try:
                assert fresh.get("/ro-data")[0] == b"before"
                with pytest.raises(NotReadOnlyCallError):
                    fresh.delete("/ro-data")
            finally:
                fresh.stop()
                fresh.close()

            for sid in e.members:
                if sid != last:
                    e.restart(sid, wait=False)
            e.wait_leader(timeout=60)
            _until(lambda: e.four_letter(last, "isro").strip() == "rw", 60, "isro = rw")

            # The client finds the member read-write again and can write.
            def write_ok():
                ro.set("/ro-data", b"after")
                return True
            _until(write_ok, 60, "a write after the quorum is back")
            ro.sync("/")
            assert ro.get("/ro-data")[0] == b"after"
        finally:
            ro.stop()
            ro.close()
