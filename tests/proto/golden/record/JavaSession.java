/*
 * Java client (org.apache.zookeeper 3.8) session used to record golden
 * ZooKeeper frames.  Covers what the Java API offers beyond kazoo and the C
 * client: containers, TTL nodes, getAllChildrenNumber, getEphemerals,
 * addWatch (persistent / persistent recursive), removeWatches /
 * removeAllWatches, whoAmI, multiRead, SASL, SetWatches and SetWatches2.
 *
 * Build: javac -cp /usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar JavaSession.java
 * Run:   java -Djava.security.auth.login.config=client_jaas.conf \
 *             -cp <zookeeper jars>:. JavaSession HOST:PORT [PROXY_PID]
 * Everything lives under /j.  Every wait is bounded.
 */
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.admin.ZooKeeperAdmin;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;

public class JavaSession {
    static final long T0 = System.nanoTime();
    static final Object LOCK = new Object();
    static int nodeEvents = 0;

    static void log(String fmt, Object... args) {
        System.out.printf("[java %5.1fs] %s%n", (System.nanoTime() - T0) / 1e9,
                String.format(fmt, args));
        System.out.flush();
    }

    interface Step {
        Object run() throws Exception;
    }

    /** Run one API call, log its result or the KeeperException code. */
    static Object step(String what, Step s) {
        try {
            Object r = s.run();
            log("%-40s -> %s", what, r instanceof byte[]
                    ? "data(" + new String((byte[]) r, StandardCharsets.UTF_8) + ")" : r);
            return r;
        } catch (KeeperException e) {
            log("%-40s -> %s", what, e.code());
            if (e.getResults() != null) {
                for (OpResult r : e.getResults()) {
                    log("    result %s", describe(r));
                }
            }
        } catch (Exception e) {
            log("%-40s -> %s: %s", what, e.getClass().getSimpleName(), e.getMessage());
        }
        return null;
    }

    static String describe(OpResult r) {
        if (r instanceof OpResult.ErrorResult) {
            return "ErrorResult(" + KeeperException.Code.get(((OpResult.ErrorResult) r).getErr()) + ")";
        }
        if (r instanceof OpResult.GetDataResult) {
            return "GetDataResult(" + new String(((OpResult.GetDataResult) r).getData(),
                    StandardCharsets.UTF_8) + ")";
        }
        if (r instanceof OpResult.GetChildrenResult) {
            return "GetChildrenResult(" + ((OpResult.GetChildrenResult) r).getChildren() + ")";
        }
        if (r instanceof OpResult.CreateResult) {
            return "CreateResult(" + ((OpResult.CreateResult) r).getPath() + ")";
        }
        return r.getClass().getSimpleName();
    }

    static String results(List<OpResult> rs) {
        List<String> out = new ArrayList<>();
        for (OpResult r : rs) {
            out.add(describe(r));
        }
        return out.toString();
    }

    /** Counts SyncConnected session events, logs and counts node events. */
    static class CountingWatcher implements Watcher {
        final String name;
        final AtomicInteger connected = new AtomicInteger();
        volatile boolean expired = false;

        CountingWatcher(String name) {
            this.name = name;
        }

        @Override
        public void process(WatchedEvent ev) {
            log("watcher[%s]: %s %s %s", name, ev.getType(), ev.getState(), ev.getPath());
            synchronized (LOCK) {
                if (ev.getType() == Event.EventType.None) {
                    if (ev.getState() == Event.KeeperState.SyncConnected
                            || ev.getState() == Event.KeeperState.ConnectedReadOnly) {
                        connected.incrementAndGet();
                    } else if (ev.getState() == Event.KeeperState.Expired) {
                        expired = true;
                    }
                } else {
                    nodeEvents++;
                }
                LOCK.notifyAll();
            }
        }
    }

    static int nodeEvents() {
        synchronized (LOCK) {
            return nodeEvents;
        }
    }

    static boolean waitEvents(int target, long ms) throws InterruptedException {
        long end = System.currentTimeMillis() + ms;
        synchronized (LOCK) {
            while (nodeEvents < target) {
                long left = end - System.currentTimeMillis();
                if (left <= 0) {
                    log("WARNING: timed out waiting for events (%d < %d)", nodeEvents, target);
                    return false;
                }
                LOCK.wait(left);
            }
        }
        return true;
    }

    static boolean waitConnected(CountingWatcher w, int target, long ms) throws InterruptedException {
        long end = System.currentTimeMillis() + ms;
        synchronized (LOCK) {
            while (w.connected.get() < target && !w.expired) {
                long left = end - System.currentTimeMillis();
                if (left <= 0) {
                    log("WARNING: timed out waiting for connection [%s]", w.name);
                    return false;
                }
                LOCK.wait(left);
            }
        }
        return w.connected.get() >= target;
    }

    static void forceReconnect(String proxyPid, ZooKeeper zk, CountingWatcher w) throws Exception {
        if (proxyPid == null) {
            return;
        }
        int c = w.connected.get();
        log("SIGUSR1 -> proxy %s", proxyPid);
        Process p = new ProcessBuilder("kill", "-USR1", proxyPid).inheritIO().start();
        p.waitFor(5, TimeUnit.SECONDS);
        waitConnected(w, c + 1, 15000);
        log("reconnected, session 0x%x", zk.getSessionId());
    }

    static ZKClientConfig noSasl() {
        ZKClientConfig conf = new ZKClientConfig();
        conf.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
        return conf;
    }

    static final List<ACL> OPEN = ZooDefs.Ids.OPEN_ACL_UNSAFE;
    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    public static void main(String[] args) throws Exception {
        final String hp = args[0];
        final String proxyPid = args.length > 1 ? args[1] : null;
        // SASL only where explicitly enabled through a ZKClientConfig (the JVM
        // has a JAAS "Client" section for the SASL session).
        System.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
        log("ZooKeeper client %s", org.apache.zookeeper.Version.getFullVersion());

        CountingWatcher w = new CountingWatcher("main");
        // ZooKeeperAdmin extends ZooKeeper and adds reconfigure().
        // canBeReadOnly=false: ConnectRequest readOnly byte = 0.
        final ZooKeeperAdmin zk = new ZooKeeperAdmin(hp, 4000, w, false, noSasl());
        if (!waitConnected(w, 1, 10000)) {
            System.exit(1);
        }
        log("connected, session 0x%x timeout %d", zk.getSessionId(), zk.getSessionTimeout());
        final Stat st = new Stat();
        final Watcher specific = ev -> {
            log("specific watcher: %s %s %s", ev.getType(), ev.getState(), ev.getPath());
            synchronized (LOCK) {
                if (ev.getType() != Watcher.Event.EventType.None) {
                    nodeEvents++;
                }
                LOCK.notifyAll();
            }
        };

        // ---------------- create variants
        step("create persistent", () -> zk.create("/j", b("root"), OPEN, CreateMode.PERSISTENT));
        step("create2 (with Stat)", () -> zk.create("/j/c2", b("c2"), OPEN, CreateMode.PERSISTENT, st));
        step("create ephemeral", () -> zk.create("/j/e", b("e"), OPEN, CreateMode.EPHEMERAL));
        step("create ephemeral_sequential", () -> zk.create("/j/es-", b(""), OPEN, CreateMode.EPHEMERAL_SEQUENTIAL));
        step("create persistent_sequential", () -> zk.create("/j/ps-", b(""), OPEN, CreateMode.PERSISTENT_SEQUENTIAL));
        step("create container (no Stat)", () -> zk.create("/j/cont", b(""), OPEN, CreateMode.CONTAINER));
        step("create container (with Stat)", () -> zk.create("/j/cont2", b(""), OPEN, CreateMode.CONTAINER, st));
        step("create persistent_with_ttl", () -> zk.create("/j/ttl", b("ttl"), OPEN,
                CreateMode.PERSISTENT_WITH_TTL, st, 60000));
        step("create persistent_sequential_with_ttl", () -> zk.create("/j/ttls-", b("ttls"), OPEN,
                CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, st, 60000));
        step("create null data", () -> zk.create("/j/null", null, OPEN, CreateMode.PERSISTENT));
        step("create2 existing", () -> zk.create("/j/c2", b(""), OPEN, CreateMode.PERSISTENT, st));
        step("create ttl existing", () -> zk.create("/j/ttl", b(""), OPEN, CreateMode.PERSISTENT_WITH_TTL, st, 1000));
        step("create container existing", () -> zk.create("/j/cont", b(""), OPEN, CreateMode.CONTAINER));
        step("create no parent", () -> zk.create("/j/none/x", b(""), OPEN, CreateMode.PERSISTENT));
        step("create under ephemeral", () -> zk.create("/j/e/x", b(""), OPEN, CreateMode.PERSISTENT));
        {
            CountDownLatch l = new CountDownLatch(2);
            zk.create("/j/async2", b("a"), OPEN, CreateMode.PERSISTENT,
                    (rc, path, ctx, name, stat) -> {
                        log("async create2 cb rc=%d name=%s", rc, name);
                        l.countDown();
                    }, null);
            zk.create("/j/asyncttl", b("a"), OPEN, CreateMode.PERSISTENT_WITH_TTL,
                    (rc, path, ctx, name, stat) -> {
                        log("async createTTL cb rc=%d name=%s", rc, name);
                        l.countDown();
                    }, null, 30000);
            l.await(5, TimeUnit.SECONDS);
        }

        // ---------------- exists / getData / setData / getChildren (+ watches)
        step("exists present watch", () -> zk.exists("/j/c2", true));
        step("exists absent watch", () -> zk.exists("/j/later", true));
        step("getData watch", () -> zk.getData("/j/c2", true, st));
        step("getData null data", () -> zk.getData("/j/null", false, st));
        step("getData absent", () -> zk.getData("/j/absent", false, st));
        step("getChildren watch", () -> zk.getChildren("/j", true));
        step("getChildren2 (with Stat) watch", () -> zk.getChildren("/j/cont", true, st));
        step("getChildren absent", () -> zk.getChildren("/j/absent", false));
        int n = nodeEvents();
        step("setData version 0", () -> zk.setData("/j/c2", b("c2-v1"), 0));
        step("create /j/later", () -> zk.create("/j/later", b("later"), OPEN, CreateMode.PERSISTENT));
        step("create /j/cont/child", () -> zk.create("/j/cont/child", b(""), OPEN, CreateMode.PERSISTENT));
        waitEvents(n + 4, 5000); // DataChanged c2, Created later, ChildrenChanged /j, /j/cont
        step("setData bad version", () -> zk.setData("/j/c2", b("x"), 17));
        step("setData absent", () -> zk.setData("/j/absent", b("x"), -1));

        // ---------------- getAllChildrenNumber / getEphemerals
        step("getAllChildrenNumber /j", () -> zk.getAllChildrenNumber("/j"));
        step("getAllChildrenNumber /", () -> zk.getAllChildrenNumber("/"));
        step("getAllChildrenNumber absent", () -> zk.getAllChildrenNumber("/j/absent"));
        step("getEphemerals()", () -> zk.getEphemerals());
        step("getEphemerals(/j/e)", () -> zk.getEphemerals("/j/e"));
        step("getEphemerals(/nomatch)", () -> zk.getEphemerals("/nomatch"));

        // ---------------- ACL
        step("getACL", () -> zk.getACL("/j/c2", st));
        step("setACL version 0", () -> zk.setACL("/j/c2", Arrays.asList(
                new ACL(ZooDefs.Perms.ALL, new Id("world", "anyone")),
                new ACL(ZooDefs.Perms.READ, new Id("ip", "127.0.0.0/8"))), 0));
        step("setACL bad version", () -> zk.setACL("/j/c2", OPEN, 0));
        step("setACL absent", () -> zk.setACL("/j/absent", OPEN, -1));
        step("getACL absent", () -> zk.getACL("/j/absent", st));

        // ---------------- sync
        {
            CountDownLatch l = new CountDownLatch(1);
            zk.sync("/j", (rc, path, ctx) -> {
                log("sync cb rc=%d path=%s", rc, path);
                l.countDown();
            }, null);
            l.await(5, TimeUnit.SECONDS);
        }

        // ---------------- whoAmI (before auth)
        step("whoAmI", () -> zk.whoAmI().toString());

        // ---------------- multi (transaction) and multiRead
        step("multi ok", () -> results(zk.multi(Arrays.asList(
                Op.create("/j/m1", b("m1"), OPEN, CreateMode.PERSISTENT),
                Op.create("/j/m2", b("m2"), OPEN, CreateMode.PERSISTENT_WITH_TTL, 60000),
                Op.create("/j/m3", b(""), OPEN, CreateMode.CONTAINER),
                Op.create("/j/m4-", b(""), OPEN, CreateMode.EPHEMERAL_SEQUENTIAL),
                Op.setData("/j/m1", b("m1b"), 0),
                Op.check("/j/c2", 1),
                Op.delete("/j/null", 0)))));
        step("multi fail (check)", () -> results(zk.multi(Arrays.asList(
                Op.create("/j/m5", b(""), OPEN, CreateMode.PERSISTENT),
                Op.check("/j/c2", 99),
                Op.setData("/j/m1", b("never"), -1)))));
        step("multiRead", () -> results(zk.multi(Arrays.asList(
                Op.getData("/j/c2"),
                Op.getChildren("/j/cont"),
                Op.getData("/j/absent"),
                Op.getChildren("/j/absent")))));

        // ---------------- config / reconfig
        step("getConfig", () -> zk.getConfig(true, st));
        step("reconfigure incremental", () -> zk.reconfigure(
                "server.9=127.0.0.1:28889:38889:participant;127.0.0.1:21819", null, null, -1, st));
        step("reconfigure leaving", () -> zk.reconfigure(null, "3", null, -1, st));

        // ---------------- auth + NOAUTH from another session
        zk.addAuthInfo("digest", b("juser:jpass"));
        step("create CREATOR_ALL_ACL", () -> zk.create("/j/mine", b("mine"),
                ZooDefs.Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT));
        step("whoAmI (after digest auth)", () -> zk.whoAmI().toString());
        {
            CountingWatcher w2 = new CountingWatcher("other");
            // canBeReadOnly=true: ConnectRequest readOnly byte = 1
            ZooKeeper other = new ZooKeeper(hp, 4000, w2, true, noSasl());
            if (waitConnected(w2, 1, 10000)) {
                step("other: getData creator-only", () -> other.getData("/j/mine", false, null));
                step("other: setData creator-only", () -> other.setData("/j/mine", b("x"), -1));
                step("other: delete child of creator-only", () -> {
                    other.delete("/j/mine/x", -1);
                    return "ok";
                });
                other.addAuthInfo("nosuchscheme", b("x"));
                Thread.sleep(500);
                log("other: state after bad auth scheme: %s", other.getState());
            }
            other.close(2000);
        }

        // ---------------- removeWatches (checkWatches 17) / removeAllWatches (18)
        step("create /j/rw", () -> zk.create("/j/rw", b(""), OPEN, CreateMode.PERSISTENT));
        step("getData /j/rw specific watcher", () -> zk.getData("/j/rw", specific, st));
        step("getChildren /j/rw specific watcher", () -> zk.getChildren("/j/rw", specific));
        step("exists /j/rw default watcher", () -> zk.exists("/j/rw", true));
        step("removeWatches Data specific", () -> {
            zk.removeWatches("/j/rw", specific, Watcher.WatcherType.Data, false);
            return "ok";
        });
        step("removeWatches Data specific again", () -> {
            zk.removeWatches("/j/rw", specific, Watcher.WatcherType.Data, false);
            return "ok";
        });
        step("removeAllWatches Any", () -> {
            zk.removeAllWatches("/j/rw", Watcher.WatcherType.Any, false);
            return "ok";
        });
        step("removeAllWatches Any again", () -> {
            zk.removeAllWatches("/j/rw", Watcher.WatcherType.Any, false);
            return "ok";
        });
        step("getData /j/rw watch", () -> zk.getData("/j/rw", true, st));
        step("removeWatches local", () -> {
            zk.removeAllWatches("/j/rw", Watcher.WatcherType.Data, true);
            return "ok";
        });

        // ---------------- pings
        log("idling for pings");
        Thread.sleep(3500);

        // ---------------- reconnect #1: only standard watches -> SetWatches (101)
        step("getData /j/c2 watch", () -> zk.getData("/j/c2", true, st));
        step("exists /j/appear watch", () -> zk.exists("/j/appear", true));
        step("getChildren /j/later watch", () -> zk.getChildren("/j/later", true));
        forceReconnect(proxyPid, zk, w);
        n = nodeEvents();
        step("setData /j/c2", () -> zk.setData("/j/c2", b("after-reconnect"), -1));
        step("create /j/appear", () -> zk.create("/j/appear", b(""), OPEN, CreateMode.EPHEMERAL));
        step("create /j/later/kid", () -> zk.create("/j/later/kid", b(""), OPEN, CreateMode.PERSISTENT));
        waitEvents(n + 3, 5000);

        // ---------------- persistent watches (addWatch 106)
        step("create /j/pw", () -> zk.create("/j/pw", b(""), OPEN, CreateMode.PERSISTENT));
        step("create /j/prw", () -> zk.create("/j/prw", b(""), OPEN, CreateMode.PERSISTENT));
        step("addWatch PERSISTENT /j/pw", () -> {
            zk.addWatch("/j/pw", AddWatchMode.PERSISTENT);
            return "ok";
        });
        step("addWatch PERSISTENT_RECURSIVE /j/prw", () -> {
            zk.addWatch("/j/prw", specific, AddWatchMode.PERSISTENT_RECURSIVE);
            return "ok";
        });
        step("addWatch PERSISTENT absent path", () -> {
            zk.addWatch("/j/pw-absent", AddWatchMode.PERSISTENT);
            return "ok";
        });
        n = nodeEvents();
        step("setData /j/pw", () -> zk.setData("/j/pw", b("1"), -1));
        step("setData /j/pw again", () -> zk.setData("/j/pw", b("2"), -1));
        step("create /j/pw/kid", () -> zk.create("/j/pw/kid", b(""), OPEN, CreateMode.PERSISTENT));
        step("create /j/prw/a", () -> zk.create("/j/prw/a", b(""), OPEN, CreateMode.PERSISTENT));
        step("create /j/prw/a/b", () -> zk.create("/j/prw/a/b", b(""), OPEN, CreateMode.PERSISTENT));
        step("setData /j/prw/a", () -> zk.setData("/j/prw/a", b("x"), -1));
        step("delete /j/prw/a/b", () -> {
            zk.delete("/j/prw/a/b", -1);
            return "ok";
        });
        step("create /j/pw-absent", () -> zk.create("/j/pw-absent", b(""), OPEN, CreateMode.PERSISTENT));
        waitEvents(n + 8, 5000);

        // ---------------- reconnect #2: persistent watches -> SetWatches2 (105)
        step("getData /j/c2 watch", () -> zk.getData("/j/c2", true, st));
        forceReconnect(proxyPid, zk, w);
        n = nodeEvents();
        step("setData /j/pw after reconnect", () -> zk.setData("/j/pw", b("3"), -1));
        step("create /j/prw/z after reconnect", () -> zk.create("/j/prw/z", b(""), OPEN, CreateMode.PERSISTENT));
        waitEvents(n + 2, 5000);
        step("removeAllWatches Any on persistent /j/pw", () -> {
            zk.removeAllWatches("/j/pw", Watcher.WatcherType.Any, false);
            return "ok";
        });
        step("removeWatches Data specific on recursive /j/prw", () -> {
            zk.removeWatches("/j/prw", specific, Watcher.WatcherType.Data, false);
            return "ok";
        });
        step("removeAllWatches Children on /j/prw", () -> {
            zk.removeAllWatches("/j/prw", Watcher.WatcherType.Children, false);
            return "ok";
        });

        // ---------------- ephemeral deleted by another session's close -> NodeDeleted
        {
            CountingWatcher w3 = new CountingWatcher("ephemeral-owner");
            ZooKeeper owner = new ZooKeeper(hp, 4000, w3, noSasl());
            if (waitConnected(w3, 1, 10000)) {
                step("owner: create ephemeral", () -> owner.create("/j/owned", b(""), OPEN, CreateMode.EPHEMERAL));
                step("exists /j/owned watch", () -> zk.exists("/j/owned", true));
                n = nodeEvents();
                owner.close(2000);
                waitEvents(n + 1, 5000);
            } else {
                owner.close(2000);
            }
        }

        // ---------------- SASL (DIGEST-MD5) session: op 102
        {
            ZKClientConfig sconf = new ZKClientConfig();
            sconf.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "true");
            CountingWatcher ws = new CountingWatcher("sasl");
            ZooKeeper sz = new ZooKeeper(hp, 4000, ws, sconf);
            if (waitConnected(ws, 1, 10000)) {
                Thread.sleep(500);
                step("sasl: whoAmI", () -> sz.whoAmI().toString());
                step("sasl: create sasl-ACL node", () -> sz.create("/j/sasl", b("s"),
                        Collections.singletonList(new ACL(ZooDefs.Perms.ALL, new Id("sasl", "bob"))),
                        CreateMode.PERSISTENT));
                step("sasl: getData", () -> sz.getData("/j/sasl", false, null));
            }
            sz.close(2000);
            step("non-sasl getData sasl node", () -> zk.getData("/j/sasl", false, null));
        }

        // ---------------- re-attach to the session with a wrong password
        {
            CountingWatcher wb = new CountingWatcher("bad-password");
            ZooKeeper bad = new ZooKeeper(hp, 4000, wb, zk.getSessionId(), new byte[16], false);
            waitConnected(wb, 1, 4000);
            log("bad-password: expired=%s state=%s", wb.expired, bad.getState());
            bad.close(1000);
        }

        // ---------------- async getData / exists, then close
        {
            CountDownLatch l = new CountDownLatch(2);
            zk.getData("/j/c2", false, (rc, path, ctx, data, stat) -> {
                log("async getData rc=%d", rc);
                l.countDown();
            }, null);
            zk.exists("/j/absent", false, (rc, path, ctx, stat) -> {
                log("async exists rc=%d", rc);
                l.countDown();
            }, null);
            l.await(5, TimeUnit.SECONDS);
        }
        zk.close(3000);
        log("done; node events seen: %d", nodeEvents());
        System.exit(0);
    }
}
