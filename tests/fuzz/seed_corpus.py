#!/usr/bin/env python3
"""Seed the fuzz_proto_decode corpus from the golden recordings.

Every recorded frame becomes one input in the target's format,
[mode][op][payload]: ConnectRequest/ConnectResponse for a connection's first
frame each way, then requests, and replies tagged with the opcode of the
request that had the same xid (as a client decodes them). A few framing and
transaction seeds are added by hand. Usage: seed_corpus.py GOLDEN_DIR OUT_DIR
"""
import hashlib
import os
import struct
import sys

M_CONNECT_REQ, M_CONNECT_RESP, M_REQUEST, M_RESPONSE, M_TXN, M_FRAME = range(6)


def write(out, data):
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def seed(golden, out):
    os.makedirs(out, exist_ok=True)
    count = 0
    for fn in sorted(os.listdir(golden)):
        if not fn.endswith(".frames"):
            continue
        seen_c, seen_s, ops = set(), set(), {}
        for line in open(os.path.join(golden, fn)):
            if line.startswith("#") or not line.strip():
                continue
            conn, d, hx = line.split()[:3]
            frame = bytes.fromhex(hx)
            payload = frame[4:]
            if d == "C" and conn not in seen_c:
                seen_c.add(conn)
                write(out, bytes([M_CONNECT_REQ, 0]) + payload)
            elif d == "S" and conn not in seen_s:
                seen_s.add(conn)
                write(out, bytes([M_CONNECT_RESP, 0]) + payload)
            elif d == "C":
                xid, op = struct.unpack(">ii", payload[:8])
                ops[(conn, xid)] = op
                write(out, bytes([M_REQUEST, 0]) + payload)
            else:
                xid = struct.unpack(">i", payload[:4])[0]
                op = ops.get((conn, xid), 0)
                write(out, bytes([M_RESPONSE, op & 0xFF]) + payload)
            write(out, bytes([M_FRAME, 0]) + frame[:8])
            count += 1
    # Transactions: a createSession and a closeSession (header only).
    hdr = struct.pack(">qiqqi", 0x1000000A, 1, 0x100000001, 1700000000000, -10)
    write(out, bytes([M_TXN, 0]) + hdr + struct.pack(">i", 30000))
    write(out, bytes([M_TXN, 0]) + hdr[:-4] + struct.pack(">i", -11))
    return count


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print("seeded %d frames" % seed(sys.argv[1], sys.argv[2]))
