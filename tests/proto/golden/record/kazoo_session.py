#!/usr/bin/python3
"""kazoo client session used to record golden ZooKeeper frames.

Usage: /usr/bin/python3 kazoo_session.py HOST:PORT
Env:   PROXY_PID  pid of record/proxy.py (SIGUSR1 forces a reconnect)

Everything lives under /kz.  Every wait is bounded.
"""
import os
import signal
import sys
import threading
import time

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import (BadVersionError, KazooException, NoAuthError,
                              NodeExistsError, NoNodeError, NotEmptyError,
                              NoChildrenForEphemeralsError, InvalidACLError)
from kazoo.security import (ACL, Id, Permissions, OPEN_ACL_UNSAFE, make_acl,
                            make_digest_acl, READ_ACL_UNSAFE)
import kazoo

HP = sys.argv[1]
PROXY_PID = int(os.environ.get('PROXY_PID', '0'))
T0 = time.monotonic()


def log(*a):
    print('[kazoo %5.1fs]' % (time.monotonic() - T0), *a, flush=True)


def expect_err(what, fn, *a, **kw):
    try:
        r = fn(*a, **kw)
        log(what, '-> unexpectedly OK', r)
    except KazooException as e:
        log(what, '->', type(e).__name__)
    except Exception as e:  # noqa
        log(what, '-> other error', type(e).__name__, e)


events = []
ev_lock = threading.Lock()
ev_cond = threading.Condition(ev_lock)


def watcher(ev):
    with ev_cond:
        events.append(ev)
        ev_cond.notify_all()
    log('watch event', ev)


def wait_events(n, timeout=5.0, expect_timeout=False):
    end = time.monotonic() + timeout
    with ev_cond:
        while len(events) < n:
            left = end - time.monotonic()
            if left <= 0:
                if expect_timeout:
                    log('as expected, no further watch event (have %d)'
                        % len(events))
                else:
                    log('WARNING: timed out waiting for %d events (have %d)'
                        % (n, len(events)))
                return
            ev_cond.wait(left)


states = []
reconnected = threading.Event()


def state_listener(state):
    states.append(state)
    if state == KazooState.CONNECTED and KazooState.SUSPENDED in states:
        reconnected.set()


def main():
    log('kazoo', kazoo.__version__ if hasattr(kazoo, '__version__') else '?')
    zk = KazooClient(hosts=HP, timeout=4.0, read_only=True)
    zk.add_listener(state_listener)
    zk.start(timeout=10)
    log('connected, session 0x%x' % zk.client_id[0])

    # ---- create variants
    zk.create('/kz', b'root')                                   # create (1)
    zk.create('/kz/eph', b'ephemeral', ephemeral=True)
    log('seq', zk.create('/kz/seq-', b'seq', sequence=True))
    log('eseq', zk.create('/kz/eseq-', b'eseq', ephemeral=True, sequence=True))
    log('create2', zk.create('/kz/c2', b'with-stat', include_data=True))  # (15)
    log('create2 eph',
        zk.create('/kz/c2e', b'', ephemeral=True, sequence=True, include_data=True))
    zk.create('/kz/deep/a/b', b'leaf', makepath=True)          # exists+create chain
    zk.ensure_path('/kz/ensured')
    zk.create('/kz/acl', b'acl-node', acl=[make_acl('world', 'anyone', all=True)])
    zk.create('/kz/ro', b'read-only-acl', acl=READ_ACL_UNSAFE)
    zk.create('/kz/empty', b'')
    # create errors
    expect_err('create existing', zk.create, '/kz/c2', b'')       # NODEEXISTS
    expect_err('create no parent', zk.create, '/kz/missing/x', b'')  # NONODE
    expect_err('create under ephemeral', zk.create, '/kz/eph/child', b'')
    expect_err('create auth acl without auth', zk.create, '/kz/badacl', b'',
               acl=[make_acl('auth', '', all=True)])             # INVALIDACL
    expect_err('create in read-only-acl parent', zk.create, '/kz/ro/x', b'')  # NOAUTH

    # ---- exists / get / set
    log('exists present', zk.exists('/kz/c2', watch=watcher))
    log('exists absent', zk.exists('/kz/later', watch=watcher))
    log('get', zk.get('/kz/c2', watch=watcher))
    log('get empty', zk.get('/kz/empty'))
    expect_err('get absent', zk.get, '/kz/nope')
    n = len(events)
    log('set v0', zk.set('/kz/c2', b'v2', version=0))          # fires exists+get watch
    wait_events(n + 1)
    expect_err('set bad version', zk.set, '/kz/c2', b'v3', version=99)
    expect_err('set absent', zk.set, '/kz/nope', b'x')
    log('set any version', zk.set('/kz/c2', b'v3'))
    n = len(events)
    zk.create('/kz/later', b'now')                              # NodeCreated
    wait_events(n + 1)

    # ---- children
    log('children', zk.get_children('/kz', watch=watcher))
    log('children2', zk.get_children('/kz/deep', include_data=True))
    log('children2 w', zk.get_children('/kz/deep/a', watch=watcher, include_data=True))
    expect_err('children absent', zk.get_children, '/kz/nope')
    n = len(events)
    zk.create('/kz/newchild', b'')                              # NodeChildrenChanged /kz
    zk.create('/kz/deep/a/c', b'')                              # NodeChildrenChanged /kz/deep/a
    wait_events(n + 2)

    # ---- delete
    log('get eph w', zk.get('/kz/eph', watch=watcher))
    n = len(events)
    zk.delete('/kz/eph')                                        # NodeDeleted
    wait_events(n + 1)
    expect_err('delete bad version', zk.delete, '/kz/empty', version=5)
    zk.delete('/kz/empty', version=0)
    expect_err('delete not empty', zk.delete, '/kz/deep')       # NOTEMPTY
    expect_err('delete absent', zk.delete, '/kz/none')          # NONODE
    zk.delete('/kz/deep', recursive=True)                       # children+deletes

    # ---- ACLs
    log('get_acls', zk.get_acls('/kz/acl'))
    log('set_acls', zk.set_acls('/kz/acl', [make_acl('world', 'anyone', read=True,
                                                      write=True)], version=0))
    expect_err('set_acls bad version', zk.set_acls, '/kz/acl', OPEN_ACL_UNSAFE,
               version=7)
    expect_err('set_acls absent', zk.set_acls, '/kz/nope', OPEN_ACL_UNSAFE)
    expect_err('get_acls absent', zk.get_acls, '/kz/nope')
    expect_err('set_acls invalid', zk.set_acls, '/kz/acl',
               [make_acl('digest', 'no-colon-here', all=True)])  # INVALIDACL

    # ---- auth (digest) and NOAUTH from another session
    zk.add_auth('digest', 'kzuser:kzpass')                       # auth (100), xid -4
    zk.create('/kz/secret', b'secret-data',
              acl=[make_digest_acl('kzuser', 'kzpass', all=True)])
    zk.create('/kz/mine', b'creator-only', acl=[make_acl('auth', '', all=True)])
    log('get secret (authed)', zk.get('/kz/secret'))
    other = KazooClient(hosts=HP, timeout=4.0)
    other.start(timeout=10)
    expect_err('other: get secret', other.get, '/kz/secret')       # NOAUTH
    expect_err('other: set mine', other.set, '/kz/mine', b'x')     # NOAUTH
    expect_err('other: bad auth scheme', other.add_auth, 'nosuchscheme', 'x')
    try:
        other.stop()
    except Exception as e:  # noqa
        log('other stop', type(e).__name__)
    other.close()

    # ---- sync
    log('sync', zk.sync('/kz'))

    # ---- transactions (multi)
    t = zk.transaction()
    t.create('/kz/tx', b'tx-data')
    t.check('/kz/acl', 0)
    t.set_data('/kz/later', b'tx-set', version=0)
    t.create('/kz/txe', b'', ephemeral=True)
    t.delete('/kz/newchild')
    log('multi ok', t.commit())
    t = zk.transaction()
    t.create('/kz/tx2', b'never')
    t.check('/kz/acl', 99)                                      # BADVERSION
    t.set_data('/kz/tx', b'never')
    log('multi fail', t.commit())

    # ---- reconfig (standalone: error expected) and /zookeeper/config
    expect_err('reconfig', zk.reconfig,
               joining='server.9=127.0.0.1:28889:38889:participant;127.0.0.1:21819',
               leaving=None, new_members=None)
    log('config', zk.get('/zookeeper/config'))

    # ---- async variants
    log('async get', zk.get_async('/kz/acl').get(timeout=5))
    log('async exists', zk.exists_async('/kz/nothing').get(timeout=5))
    log('async children', zk.get_children_async('/kz').get(timeout=5))

    # ---- pings: idle for > 2 ping intervals (session 4s -> ping every ~1.3s)
    zk.get('/kz/later', watch=watcher)
    zk.exists('/kz/gone-soon', watch=watcher)
    zk.get_children('/kz', watch=watcher)
    log('idling for pings')
    time.sleep(4.0)

    # ---- forced reconnect with watches set (kazoo 2.8 has no SetWatches)
    if PROXY_PID:
        log('SIGUSR1 -> proxy', PROXY_PID)
        os.kill(PROXY_PID, signal.SIGUSR1)
        if not reconnected.wait(15):
            log('WARNING: no reconnect seen')
        log('states', states)
        log('after reconnect get', zk.get('/kz/later'))
        n = len(events)
        zk.set('/kz/later', b'after-reconnect')  # server lost the watch: no event
        zk.create('/kz/gone-soon', b'')
        wait_events(n + 1, timeout=1.5, expect_timeout=True)

    # ---- SASL DIGEST-MD5 session (op 102)
    try:
        sz = KazooClient(hosts=HP, timeout=4.0,
                         sasl_options={'mechanism': 'DIGEST-MD5',
                                       'username': 'bob',
                                       'password': 'bobsecret'})
        sz.start(timeout=10)
        sz.create('/kz/sasl', b'sasl-only', acl=[make_acl('sasl', 'bob', all=True)])
        log('sasl get', sz.get('/kz/sasl'))
        sz.stop()
        sz.close()
        expect_err('non-sasl get sasl node', zk.get, '/kz/sasl')   # NOAUTH
    except Exception as e:  # noqa
        log('SASL session failed:', type(e).__name__, e)

    # ---- reattach with a wrong session password: server answers timeOut=0
    try:
        sid = zk.client_id[0]
        bad = KazooClient(hosts=HP, timeout=4.0,
                          client_id=(sid, b'\x00' * 16),
                          connection_retry={'max_tries': 0})
        try:
            bad.start(timeout=3)
            log('bad-password reattach: state', bad.state,
                'session 0x%x' % bad.client_id[0])
        except Exception as e:  # noqa
            log('bad-password reattach ->', type(e).__name__)
        try:
            bad.stop()
        except Exception:  # noqa
            pass
        bad.close()
    except Exception as e:  # noqa
        log('bad reattach failed:', type(e).__name__, e)

    # ---- close session
    zk.stop()                                                  # closeSession (-11)
    zk.close()
    log('done; events seen:', len(events))


if __name__ == '__main__':
    main()
