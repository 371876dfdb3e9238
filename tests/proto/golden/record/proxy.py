#!/usr/bin/python3
"""Recording TCP proxy for ZooKeeper client<->server traffic (stdlib only).

Usage:
  proxy.py --listen PORT --upstream HOST:PORT --out FILE
           [--pidfile FILE] [--max-seconds N] [--append]

Listens on 127.0.0.1:PORT.  Every accepted client connection is forwarded to
the upstream ZooKeeper server.  Both byte streams are split into ZooKeeper
frames (4-byte big-endian signed length N followed by N bytes) and one line
per complete frame is appended to FILE, in the order the proxy saw the frames
complete, across all connections:

    <conn-id> <dir> <hex>

conn-id  decimal counter per accepted client connection (1, 2, ...)
dir      C = client->server, S = server->client
hex      lowercase hex of the whole frame INCLUDING the 4-byte length prefix

Lines starting with '#' are comments (connection open/close, forced
disconnects, leftover partial frames, non-frame data).

Control:
  SIGUSR1         close every current client connection (and its upstream
                  connection) immediately.  Clients then reconnect through the
                  proxy with their session id and re-send SetWatches/auth.
  SIGTERM/SIGINT  close everything, write a final comment and exit 0.
  --max-seconds   the proxy exits by itself after this many seconds (default
                  300), so it can never be left running.

The pidfile is written once the listening socket is ready.
"""
import argparse
import os
import selectors
import signal
import socket
import sys
import time

MAX_FRAME = 16 * 1024 * 1024  # anything larger is not a ZooKeeper frame
HALF_CLOSE_GRACE = 3.0         # seconds to wait for the other side after EOF


class Side:
    def __init__(self, sock, tag):
        self.sock = sock
        self.tag = tag          # 'C' for the client socket, 'S' for upstream
        self.inbuf = bytearray()  # bytes received from this side, not framed yet
        self.outbuf = bytearray()  # bytes waiting to be written to this side
        self.eof = False        # peer sent EOF
        self.wr_shut = False    # we shut down our write direction
        self.raw = False        # stream stopped looking like frames


class Conn:
    def __init__(self, cid, csock, usock):
        self.cid = cid
        self.c = Side(csock, 'C')
        self.s = Side(usock, 'S')
        self.closed = False
        self.deadline = None

    def other(self, side):
        return self.s if side is self.c else self.c


class Proxy:
    def __init__(self, args):
        self.args = args
        self.sel = selectors.DefaultSelector()
        self.out = open(args.out, 'a', buffering=1)
        self.conns = {}
        self.next_id = 1
        self.kick = False
        self.stop = False
        host, port = args.upstream.rsplit(':', 1)
        self.upstream = (host, int(port))
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(('127.0.0.1', args.listen))
        self.lsock.listen(16)
        self.lsock.setblocking(False)
        self.sel.register(self.lsock, selectors.EVENT_READ, ('listen', None))
        # self-pipe so that signals wake up select() immediately
        self.wr, self.wrw = socket.socketpair()
        self.wr.setblocking(False)
        self.wrw.setblocking(False)
        signal.set_wakeup_fd(self.wrw.fileno(), warn_on_full_buffer=False)
        self.sel.register(self.wr, selectors.EVENT_READ, ('wake', None))
        signal.signal(signal.SIGUSR1, self._on_usr1)
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)

    # -- signal handlers only set flags; work happens in the loop
    def _on_usr1(self, signum, frame):
        self.kick = True

    def _on_term(self, signum, frame):
        self.stop = True

    def comment(self, text):
        self.out.write('# ' + text + '\n')

    def emit(self, conn, side, frame):
        self.out.write('%d %s %s\n' % (conn.cid, side.tag, frame.hex()))

    def frame_side(self, conn, side):
        buf = side.inbuf
        while not side.raw and len(buf) >= 4:
            n = int.from_bytes(buf[:4], 'big', signed=True)
            if n < 0 or n > MAX_FRAME:
                side.raw = True
                self.comment('conn %d %s: non-frame data (length word %d, '
                             'first bytes %s); framing stopped'
                             % (conn.cid, side.tag, n, bytes(buf[:16]).hex()))
                break
            if len(buf) < 4 + n:
                break
            self.emit(conn, side, bytes(buf[:4 + n]))
            del buf[:4 + n]
        if side.raw:
            buf.clear()

    def accept(self):
        try:
            csock, addr = self.lsock.accept()
        except BlockingIOError:
            return
        cid = self.next_id
        self.next_id += 1
        try:
            usock = socket.create_connection(self.upstream, timeout=5)
        except OSError as e:
            self.comment('conn %d: upstream connect failed: %s' % (cid, e))
            csock.close()
            return
        for s in (csock, usock):
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(cid, csock, usock)
        self.conns[cid] = conn
        self.comment('conn %d: open from %s:%d' % (cid, addr[0], addr[1]))
        self.sel.register(csock, selectors.EVENT_READ, ('side', (conn, conn.c)))
        self.sel.register(usock, selectors.EVENT_READ, ('side', (conn, conn.s)))

    def update_interest(self, conn, side):
        if conn.closed:
            return
        ev = 0
        if not side.eof:
            ev |= selectors.EVENT_READ
        if side.outbuf:
            ev |= selectors.EVENT_WRITE
        try:
            key = self.sel.get_key(side.sock)
        except (KeyError, ValueError):
            key = None
        if ev == 0:
            if key is not None:
                self.sel.unregister(side.sock)
        elif key is None:
            self.sel.register(side.sock, ev, ('side', (conn, side)))
        elif key.events != ev:
            self.sel.modify(side.sock, ev, ('side', (conn, side)))

    def close_conn(self, conn, why):
        if conn.closed:
            return
        for side in (conn.c, conn.s):
            if side.inbuf:
                self.comment('conn %d %s: %d trailing bytes (incomplete frame) '
                             'at close: %s' % (conn.cid, side.tag,
                                               len(side.inbuf),
                                               bytes(side.inbuf).hex()))
        conn.closed = True
        for side in (conn.c, conn.s):
            try:
                self.sel.unregister(side.sock)
            except (KeyError, ValueError):
                pass
            try:
                side.sock.close()
            except OSError:
                pass
        self.conns.pop(conn.cid, None)
        self.comment('conn %d: closed (%s)' % (conn.cid, why))

    def maybe_shut(self, conn, side):
        """side has nothing left to write and its peer (other) hit EOF."""
        other = conn.other(side)
        if other.eof and not side.outbuf and not side.wr_shut:
            side.wr_shut = True
            try:
                side.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        if conn.c.eof and conn.s.eof and not conn.c.outbuf and not conn.s.outbuf:
            self.close_conn(conn, 'both sides closed')

    def on_readable(self, conn, side):
        try:
            data = side.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.close_conn(conn, '%s recv error: %s'
                            % ('client' if side.tag == 'C' else 'server', e))
            return
        other = conn.other(side)
        if not data:
            side.eof = True
            self.comment('conn %d: EOF from %s' % (
                conn.cid, 'client' if side.tag == 'C' else 'server'))
            if conn.deadline is None:
                conn.deadline = time.monotonic() + HALF_CLOSE_GRACE
            self.update_interest(conn, side)
            self.maybe_shut(conn, other)
            return
        side.inbuf += data
        self.frame_side(conn, side)
        other.outbuf += data
        self.on_writable(conn, other)

    def on_writable(self, conn, side):
        if conn.closed:
            return
        if side.outbuf:
            try:
                n = side.sock.send(side.outbuf)
                del side.outbuf[:n]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                self.close_conn(conn, 'send error: %s' % e)
                return
        self.update_interest(conn, side)
        self.maybe_shut(conn, side)

    def kick_all(self):
        ids = sorted(self.conns)
        self.comment('SIGUSR1: forcing disconnect of conn(s) %s'
                     % (','.join(map(str, ids)) or 'none'))
        for cid in ids:
            self.close_conn(self.conns[cid], 'forced by SIGUSR1')

    def run(self):
        end = time.monotonic() + self.args.max_seconds
        if self.args.pidfile:
            tmp = self.args.pidfile + '.tmp'
            with open(tmp, 'w') as f:
                f.write('%d\n' % os.getpid())
            os.rename(tmp, self.args.pidfile)
        while not self.stop:
            now = time.monotonic()
            if now >= end:
                self.comment('proxy: --max-seconds reached')
                break
            for ev_key, mask in self.sel.select(timeout=min(0.5, end - now)):
                kind, data = ev_key.data
                if kind == 'listen':
                    self.accept()
                elif kind == 'wake':
                    try:
                        self.wr.recv(4096)
                    except BlockingIOError:
                        pass
                else:
                    conn, side = data
                    if conn.closed:
                        continue
                    if mask & selectors.EVENT_READ:
                        self.on_readable(conn, side)
                    if not conn.closed and mask & selectors.EVENT_WRITE:
                        self.on_writable(conn, side)
            if self.kick:
                self.kick = False
                self.kick_all()
            now = time.monotonic()
            for conn in list(self.conns.values()):
                if conn.deadline is not None and now > conn.deadline:
                    self.close_conn(conn, 'half-close grace expired')
        for cid in sorted(self.conns):
            self.close_conn(self.conns[cid], 'proxy exit')
        self.comment('proxy: exit')
        self.out.close()
        if self.args.pidfile:
            try:
                os.unlink(self.args.pidfile)
            except OSError:
                pass


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--listen', type=int, required=True)
    ap.add_argument('--upstream', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--pidfile')
    ap.add_argument('--max-seconds', type=float, default=300.0)
    args = ap.parse_args()
    Proxy(args).run()


if __name__ == '__main__':
    main()
