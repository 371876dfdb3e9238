#!/usr/bin/python3
"""Parse golden .frames files and report ZooKeeper protocol coverage.

Usage:
  coverage.py [--check] [--readme README.md] [FILE.frames ...]

Without FILE arguments all *.frames files next to this script's parent
directory (tests/proto/golden/) are read.

  --check          exit 1 if any frame line is malformed (length prefix must
                   equal len(hex)/2 - 4, conn-id decimal, dir C or S) or if a
                   reply cannot be matched to a request.
  --readme FILE    replace the text between the markers
                   <!-- coverage:begin --> and <!-- coverage:end --> in FILE
                   with the generated tables.

Decoding rules (per connection): the first C frame is a ConnectRequest
(int protocolVersion, long lastZxidSeen, int timeOut, long sessionId,
buffer passwd, optional bool readOnly), the first S frame a ConnectResponse
(int protocolVersion, int timeOut, long sessionId, buffer passwd, optional
bool readOnly).  Every later C frame starts with RequestHeader (int xid,
int type); every later S frame with ReplyHeader (int xid, long zxid, int err).
Reply xid -1 is a watch notification (WatcherEvent: int type, int state,
string path); xid -2 answers a ping, -4 an auth packet, -8 SetWatches(2).
Other replies are matched to the request with the same xid on the same
connection.
"""
import glob
import os
import struct
import sys
from collections import Counter, OrderedDict, defaultdict

OPS = OrderedDict([
    (0, 'notification'), (1, 'create'), (2, 'delete'), (3, 'exists'),
    (4, 'getData'), (5, 'setData'), (6, 'getACL'), (7, 'setACL'),
    (8, 'getChildren'), (9, 'sync'), (11, 'ping'), (12, 'getChildren2'),
    (13, 'check'), (14, 'multi'), (15, 'create2'), (16, 'reconfig'),
    (17, 'checkWatches'), (18, 'removeWatches'), (19, 'createContainer'),
    (20, 'deleteContainer'), (21, 'createTTL'), (22, 'multiRead'),
    (100, 'auth'), (101, 'setWatches'), (102, 'sasl'),
    (103, 'getEphemerals'), (104, 'getAllChildrenNumber'),
    (105, 'setWatches2'), (106, 'addWatch'), (107, 'whoAmI'),
    (-10, 'createSession'), (-11, 'closeSession'), (-1, 'error'),
])
# opcodes a client can put in a RequestHeader (0 notification, -10
# createSession, -1 error are server-internal / multi-result markers)
CLIENT_OPS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19,
              20, 21, 22, 100, 101, 102, 103, 104, 105, 106, 107, -11]
ERRS = {
    0: 'OK', -1: 'SYSTEMERROR', -2: 'RUNTIMEINCONSISTENCY',
    -3: 'DATAINCONSISTENCY', -4: 'CONNECTIONLOSS', -5: 'MARSHALLINGERROR',
    -6: 'UNIMPLEMENTED', -7: 'OPERATIONTIMEOUT', -8: 'BADARGUMENTS',
    -12: 'UNKNOWNSESSION', -13: 'NEWCONFIGNOQUORUM', -14: 'RECONFIGINPROGRESS',
    -100: 'APIERROR', -101: 'NONODE', -102: 'NOAUTH', -103: 'BADVERSION',
    -108: 'NOCHILDRENFOREPHEMERALS', -110: 'NODEEXISTS', -111: 'NOTEMPTY',
    -112: 'SESSIONEXPIRED', -113: 'INVALIDCALLBACK', -114: 'INVALIDACL',
    -115: 'AUTHFAILED', -118: 'SESSIONMOVED', -119: 'NOTREADONLY',
    -120: 'EPHEMERALONLOCALSESSION', -121: 'NOWATCHER', -122: 'REQUESTTIMEOUT',
    -123: 'RECONFIGDISABLED', -124: 'SESSIONCLOSEDREQUIRESASLAUTH',
    -125: 'QUOTAEXCEEDED', -127: 'THROTTLEDOP',
}
EVENTS = {-1: 'None', 1: 'NodeCreated', 2: 'NodeDeleted', 3: 'NodeDataChanged',
          4: 'NodeChildrenChanged', 5: 'DataWatchRemoved',
          6: 'ChildWatchRemoved', 7: 'PersistentWatchRemoved'}
STATES = {-1: 'Unknown', 0: 'Disconnected', 1: 'NoSyncConnected',
          3: 'SyncConnected', 4: 'AuthFailed', 5: 'ConnectedReadOnly',
          6: 'SaslAuthenticated', -112: 'Expired', 7: 'Closed'}
STAT_LEN = 8 * 3 + 8 + 4 * 3 + 8 + 4 * 2 + 8   # 68 bytes


def opname(op):
    return OPS.get(op, 'op%d' % op)


def errname(e):
    return ERRS.get(e, 'err%d' % e)


class R:
    """Tiny big-endian jute reader."""

    def __init__(self, b, off=0):
        self.b, self.o = b, off

    def left(self):
        return len(self.b) - self.o

    def i32(self):
        v = struct.unpack_from('>i', self.b, self.o)[0]
        self.o += 4
        return v

    def i64(self):
        v = struct.unpack_from('>q', self.b, self.o)[0]
        self.o += 8
        return v

    def boolean(self):
        v = self.b[self.o]
        self.o += 1
        return v

    def buf(self):
        n = self.i32()
        if n < 0:
            return None
        if n > self.left():
            raise ValueError('buffer overrun')
        v = self.b[self.o:self.o + n]
        self.o += n
        return v

    def string(self):
        v = self.buf()
        return None if v is None else v.decode('utf-8', 'replace')

    def acl_vec(self):
        n = self.i32()
        for _ in range(max(n, 0)):
            self.i32()
            self.string()
            self.string()

    def str_vec(self):
        n = self.i32()
        return [self.string() for _ in range(max(n, 0))]

    def stat(self):
        if self.left() < STAT_LEN:
            raise ValueError('short stat')
        self.o += STAT_LEN


def skip_multi_req_op(r, t):
    if t in (1, 15, 19):
        r.string(); r.buf(); r.acl_vec(); r.i32()
    elif t == 21:
        r.string(); r.buf(); r.acl_vec(); r.i32(); r.i64()
    elif t in (2, 13):
        r.string(); r.i32()
    elif t == 5:
        r.string(); r.buf(); r.i32()
    elif t in (4, 8):
        r.string(); r.boolean()
    else:
        raise ValueError('unknown multi op %d' % t)


def skip_multi_resp_op(r, t, err):
    if t == -1:
        return r.i32()            # ErrorResult
    if t == 1:
        r.string()
    elif t in (15, 19, 21):
        r.string(); r.stat()
    elif t in (2, 13):
        pass
    elif t == 5:
        r.stat()
    elif t == 4:
        r.buf(); r.stat()
    elif t == 8:
        r.str_vec()
    else:
        raise ValueError('unknown multi result type %d' % t)
    return None


def parse_multi(body, is_req):
    """Return list of (type, err) of the sub-ops; raises on malformed data."""
    r = R(body)
    out = []
    while True:
        t, done, err = r.i32(), r.boolean(), r.i32()
        if done:
            break
        if is_req:
            skip_multi_req_op(r, t)
            out.append((t, None))
        else:
            e = skip_multi_resp_op(r, t, err)
            out.append((t, e if t == -1 else err))
    if r.left():
        raise ValueError('%d trailing bytes after multi' % r.left())
    return out


class FileReport:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.frames = 0
        self.conns = set()
        self.bad_lines = []
        self.req = Counter()               # opcode -> count
        self.req_xids = Counter()          # special xid -> count
        self.replies = Counter()           # (opcode, err) -> count
        self.notif = Counter()             # (event type, state) -> count
        self.multi_sub_req = Counter()     # (outer op, sub op)
        self.multi_sub_resp = Counter()    # (outer op, sub type, err)
        self.connect_req = Counter()       # (length, readOnly, sessionId!=0)
        self.connect_resp = Counter()      # (length, readOnly, timeOut==0)
        self.unmatched = []
        self.comments = []

    def load(self):
        state = defaultdict(lambda: {'c0': False, 's0': False, 'xids': {},
                                     'special': {}})
        with open(self.path) as f:
            for ln, line in enumerate(f, 1):
                line = line.rstrip('\n')
                if not line.strip():
                    continue
                if line.startswith('#'):
                    self.comments.append(line)
                    continue
                parts = line.split(' ')
                if (len(parts) != 3 or not parts[0].isdigit()
                        or parts[1] not in ('C', 'S')):
                    self.bad_lines.append((ln, 'bad line syntax'))
                    continue
                cid, d, hx = int(parts[0]), parts[1], parts[2]
                try:
                    fr = bytes.fromhex(hx)
                except ValueError:
                    self.bad_lines.append((ln, 'bad hex'))
                    continue
                if hx != hx.lower() or len(fr) < 4 or \
                        struct.unpack_from('>i', fr)[0] != len(fr) - 4:
                    self.bad_lines.append((ln, 'length prefix mismatch'))
                    continue
                self.frames += 1
                self.conns.add(cid)
                try:
                    self.decode(state[cid], cid, d, fr[4:], ln)
                except (ValueError, struct.error, IndexError) as e:
                    self.bad_lines.append((ln, 'decode error: %s' % e))

    def decode(self, st, cid, d, b, ln):
        r = R(b)
        if d == 'C':
            if not st['c0']:
                st['c0'] = True
                r.i32(); r.i64(); r.i32(); sid = r.i64(); r.buf()
                ro = r.boolean() if r.left() else None
                self.connect_req[(len(b) + 4, ro, sid != 0)] += 1
                return
            xid, op = r.i32(), r.i32()
            self.req[op] += 1
            if xid < 0:
                self.req_xids[(xid, op)] += 1
                st['special'][xid] = op
            else:
                st['xids'][xid] = op
                if op in (101, 102, 105):
                    self.req_xids[('normal', op)] += 1
            if op in (14, 22):
                for t, _ in parse_multi(b[8:], True):
                    self.multi_sub_req[(op, t)] += 1
            return
        if not st['s0']:
            st['s0'] = True
            r.i32(); to = r.i32(); r.i64(); r.buf()
            ro = r.boolean() if r.left() else None
            self.connect_resp[(len(b) + 4, ro, to == 0)] += 1
            return
        xid, zxid, err = r.i32(), r.i64(), r.i32()
        if xid == -1:
            et, ks, path = r.i32(), r.i32(), r.string()
            self.notif[(et, ks)] += 1
            self.replies[(0, err)] += 1
            return
        if xid in st['special']:
            op = st['special'][xid]
        elif xid in st['xids']:
            op = st['xids'].pop(xid)
        else:
            self.unmatched.append((ln, xid, err))
            return
        self.replies[(op, err)] += 1
        if op in (14, 22) and r.left():
            for t, e in parse_multi(b[16:], False):
                self.multi_sub_resp[(op, t, e)] += 1


def md_table(reports):
    names = [r.name for r in reports]
    lines = ['| opcode | name | ' + ' | '.join(names) + ' |',
             '|---:|---|' + '---:|' * len(names)]
    for op in CLIENT_OPS:
        cells = [str(r.req.get(op, 0)) if r.req.get(op) else '-' for r in reports]
        lines.append('| %d | %s | %s |' % (op, opname(op), ' | '.join(cells)))
    cells = [str(sum(n for (et, _), n in r.notif.items())) or '-' for r in reports]
    lines.append('| xid -1 | watch notification (S) | %s |' % ' | '.join(
        c if c != '0' else '-' for c in cells))
    return '\n'.join(lines)


def report_text(reports):
    out = []
    out.append('### Requests sent (count of C frames per opcode)\n')
    out.append(md_table(reports))
    missing = [op for op in CLIENT_OPS if not any(r.req.get(op) for r in reports)]
    out.append('\nOpcodes produced by no client: ' +
               (', '.join('%d %s' % (op, opname(op)) for op in missing) or 'none'))
    names = [r.name for r in reports]
    out.append('\n### Reply errors (ReplyHeader.err, count of S frames; '
               'multi sub-results not included)\n')
    out.append('| err | name | ' + ' | '.join(names) + ' |')
    out.append('|---:|---|' + '---:|' * len(names))
    errs = sorted({e for r in reports for (_, e) in r.replies}, reverse=True)
    for e in errs:
        cells = []
        for r in reports:
            n = sum(c for (_, e2), c in r.replies.items() if e2 == e)
            cells.append(str(n) if n else '-')
        out.append('| %d | %s | %s |' % (e, errname(e), ' | '.join(cells)))
    out.append('\n### Watch notifications (xid -1; WatcherEvent type)\n')
    out.append('| type | name | ' + ' | '.join(names) + ' |')
    out.append('|---:|---|' + '---:|' * len(names))
    for t in sorted({t for r in reports for (t, _) in r.notif}):
        cells = []
        for r in reports:
            n = sum(c for (t2, _), c in r.notif.items() if t2 == t)
            cells.append(str(n) if n else '-')
        out.append('| %d | %s | %s |' % (t, EVENTS.get(t, '?'), ' | '.join(cells)))
    for r in reports:
        out.append('\n### %s\n' % r.name)
        out.append('- frames: %d, connections: %d' % (r.frames, len(r.conns)))
        out.append('- ConnectRequest: ' + ', '.join(
            '%d-byte frame, readOnly=%s, %s x%d' % (
                k[0], 'absent' if k[1] is None else k[1],
                'sessionId!=0 (re-attach)' if k[2] else 'sessionId=0 (new)', n)
            for k, n in sorted(r.connect_req.items(), key=str)))
        out.append('- ConnectResponse: ' + ', '.join(
            '%d-byte frame, readOnly=%s, %s x%d' % (
                k[0], 'absent' if k[1] is None else k[1],
                'timeOut=0 (session invalid/expired)' if k[2] else 'timeOut>0', n)
            for k, n in sorted(r.connect_resp.items(), key=str)))
        sp = ', '.join('xid %s: %s x%d' % (x, opname(op), n)
                       for (x, op), n in sorted(r.req_xids.items(), key=str))
        out.append('- request xids of special requests: ' + (sp or 'none'))
        errs = defaultdict(Counter)
        for (op, err), n in r.replies.items():
            errs[err][op if isinstance(op, str) else opname(op)] += n
        out.append('- reply errors (err: answered opcode x count):')
        for err in sorted(errs, reverse=True):
            out.append('  - %d %s: %s' % (err, errname(err), ', '.join(
                '%s x%d' % (o, n) for o, n in sorted(errs[err].items()))))
        if r.notif:
            out.append('- watch notifications (type/state): ' + ', '.join(
                '%s/%s x%d' % (EVENTS.get(t, t), STATES.get(s, s), n)
                for (t, s), n in sorted(r.notif.items())))
        if r.multi_sub_req:
            out.append('- multi/multiRead sub-ops in requests: ' + ', '.join(
                '%s>%s x%d' % (opname(o), opname(t), n)
                for (o, t), n in sorted(r.multi_sub_req.items())))
        if r.multi_sub_resp:
            out.append('- multi/multiRead sub-results in replies (type err): ' +
                       ', '.join('%s>%s %s x%d' % (opname(o), opname(t),
                                                   errname(e), n)
                                 for (o, t, e), n in
                                 sorted(r.multi_sub_resp.items())))
        if r.unmatched:
            out.append('- UNMATCHED replies (line, xid, err): %s' % r.unmatched[:10])
        if r.bad_lines:
            out.append('- BAD LINES: %s' % r.bad_lines[:10])
    return '\n'.join(out) + '\n'


def main(argv):
    check = '--check' in argv
    argv = [a for a in argv if a != '--check']
    readme = None
    if '--readme' in argv:
        i = argv.index('--readme')
        readme = argv[i + 1]
        del argv[i:i + 2]
    files = argv or sorted(glob.glob(os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '*.frames')))
    reports = []
    for p in files:
        rep = FileReport(p)
        rep.load()
        reports.append(rep)
    text = report_text(reports)
    print(text)
    if readme:
        with open(readme) as f:
            doc = f.read()
        b, e = '<!-- coverage:begin -->', '<!-- coverage:end -->'
        i, j = doc.find(b), doc.find(e)
        if i < 0 or j < i:
            print('markers not found in %s' % readme, file=sys.stderr)
            return 1
        doc = doc[:i + len(b)] + '\n' + text + doc[j:]
        with open(readme, 'w') as f:
            f.write(doc)
    bad = sum(len(r.bad_lines) + len(r.unmatched) for r in reports)
    total = sum(r.frames for r in reports)
    print('integrity: %d frames checked, %d problems' % (total, bad),
          file=sys.stderr)
    return 1 if (check and bad) else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
