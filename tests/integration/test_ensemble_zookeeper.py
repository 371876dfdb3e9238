"""Self-test of ensemble.py against Apache ZooKeeper 3.8 (Debian's package):
a 3-voter + 1-observer ensemble, a write through one member read through
the others (after sync), kill -9 of the leader, a new leader, a write through
a survivor, restart of the old leader. About 10 s. Plus the partition()
bookkeeping (corvid's peer-drop files), which needs no process.

    /usr/bin/python3 -m pytest -q tests/integration/test_ensemble_zookeeper.py
"""
import os
import time

import pytest

import ensemble
import zkserver


def _need_zookeeper():
    if not os.path.exists("/usr/share/java/zookeeper.jar"):
        pytest.skip("Apache ZooKeeper (Debian's zookeeper package) is not installed")


def _client(hosts):
    from kazoo.client import KazooClient
    c = KazooClient(hosts=hosts, timeout=4.0,
                    connection_retry=dict(max_tries=40, delay=0.05, backoff=1.5, max_delay=0.5),
                    command_retry=dict(max_tries=40, delay=0.05, backoff=1.5, max_delay=0.5))
    c.start(timeout=15)
    return c


def test_zookeeper_ensemble_write_read_failover():
    _need_zookeeper()
    t0 = time.time()
    clients = []
    with ensemble.Ensemble("zookeeper", voters=3, observers=1, start_timeout=40) as e:
        try:
            assert e.members == [1, 2, 3, 4]
            modes = e.modes()
            assert sorted(modes.values()) == ["follower", "follower", "leader", "observer"], modes
            assert modes[4] == "observer"
            old = e.leader()
            assert old in (1, 2, 3)
            assert e.all_hosts().count(",") == 3

            # write through one member, read through every other one (sync first)
            w = _client(e.hosts(1))
            clients.append(w)
            w.create("/ens", b"v1")
            for i in (2, 3, 4):
                r = _client(e.hosts(i))
                clients.append(r)
                r.sync("/ens")
                assert r.get("/ens")[0] == b"v1", "member %d" % i

            # kill -9 the leader: a new leader among the other voters
            e.kill(old)
            assert not e.alive(old)
            assert e.mode(old) is None
            new = e.wait_leader(timeout=30, exclude=(old,))
            assert new != old and new in (1, 2, 3)
            survivor = [i for i in (1, 2, 3) if i not in (old, new)][0]
            s = _client(e.hosts(survivor))
            clients.append(s)
            s.set("/ens", b"v2")
            n = _client(e.hosts(new))
            clients.append(n)
            n.sync("/ens")
            assert n.get("/ens")[0] == b"v2"

            # the old leader comes back as a follower with the new value
            e.restart(old, timeout=30)
            assert e.mode(old) == "follower"
            o = _client(e.hosts(old))
            clients.append(o)
            o.sync("/ens")
            assert o.get("/ens")[0] == b"v2"

            # pause/resume keep the process; a paused member has no mode
            e.pause(4)
            assert e.mode(4) is None and e.alive(4)
            e.resume(4)
            e.wait_serving(ids=[4], timeout=15)

            with pytest.raises(NotImplementedError):
                e.partition([[1, 2], [3]])
            with pytest.raises(NotImplementedError):
                e.heal()
            assert e.log(new)
        finally:
            for c in clients:
                zkserver.stop_client(c)
        base = e.base
    assert e.base is None and not os.path.exists(base)
    assert time.time() - t0 < 40


def test_partition_files_corvid():
    """partition()/heal() write the per-member drop lists (no process)."""
    e = ensemble.Ensemble("corvid", voters=3, observers=1)
    e._setup()
    try:
        assert "corvid.test.peerDropFile=%s" % e.member(1).drop_file in e.cfg_text(1)
        assert "server.4=127.0.0.1:%d:%d:observer;127.0.0.1:%d" % (
            e.member(4).quorum_port, e.member(4).election_port, e.port(4)) in e.cfg_text(2)
        assert "corvid.secret=%s" % e.secret in e.cfg_text(3) and len(e.secret) == 64

        def drops(i):
            try:
                with open(e.member(i).drop_file) as f:
                    return sorted(int(x) for x in f.read().split())
            except FileNotFoundError:
                return []
        e.partition([[1, 2], [3]])
        assert [drops(i) for i in e.members] == [[3, 4], [3, 4], [1, 2, 4], [1, 2, 3]]
        e.isolate(2)
        assert [drops(i) for i in e.members] == [[2], [1, 3, 4], [2], [2]]
        e.heal()
        assert [drops(i) for i in e.members] == [[], [], [], []]
        with pytest.raises(ValueError):
            e.partition([[1, 2], [2, 3]])
    finally:
        e.stop()
    assert e.base is None


def test_kill_with_signal_and_stop_are_bounded():
    """stop() copes with a paused member (SIGCONT before SIGTERM)."""
    _need_zookeeper()
    e = ensemble.Ensemble("zookeeper", voters=1, start_timeout=30)
    e.start()
    try:
        assert e.mode(1) == "standalone"
        e.pause(1)
        t = time.time()
    finally:
        e.stop()
    assert time.time() - t < 12
    assert not e.alive(1)
