"""Deep pipelines of mixed reads and writes with values too large for the
servers' small buffers: every request is answered, in order, without an
error, and nothing stalls.

Pins two corvid bugs found by the control plane's benchmark: reads answered
with SYSTEMERROR when every reply buffer of their size was in flight, and a
stall when the buffers for large requests ran out (held requests kept them
all, and a connection's unread input was never looked at again).
Runs against ZooKeeper too (CV_TARGET=zookeeper).
"""
import struct

import pytest

from conftest import RawZK, time_limit

CONNS = 8
DEPTH = 32
ROUNDS = 6


@pytest.mark.parametrize("size", [3000, 100000])
def test_deep_mixed_pipelines_of_large_values_are_all_answered_in_order(server, base, size):
    value = b"v" * size
    clients = []
    with time_limit(120, "pipelined large values"):
        try:
            for i in range(CONNS):
                c = RawZK(server.port, io_timeout=30.0)
                c.connect(timeout_ms=30000)
                c.create("%s/k%d" % (base, i), value)
                clients.append(c)
            for r in range(ROUNDS):
                sent = []
                for i, c in enumerate(clients):
                    path = RawZK.s("%s/k%d" % (base, i))
                    for k in range(DEPTH):
                        if k % 3 == 0:
                            op, body = RawZK.OP_SETDATA, path + RawZK.buf(value) + struct.pack(">i", -1)
                        else:
                            op, body = RawZK.OP_GETDATA, path + b"\0"
                        xid, payload = c.frame(op, body)
                        c.send_frame(payload)
                        sent.append((c, xid, op))
                for c, xid, op in sent:
                    r_ = RawZK.Reader(c.read_frame())
                    got_xid, _zxid, err = r_.int(), r_.long(), r_.int()
                    assert (got_xid, err) == (xid, 0), (size, op, got_xid, xid, err)
                    if op == RawZK.OP_GETDATA:
                        assert r_.buf() == value
        finally:
            for c in clients:
                c.close_session()
