// corvid: drives a fresh standalone ZooKeeper 3.8 so that its transaction log
// holds every transaction type (see README.md). Our own code; run by
// record_txnlog.sh.
//
// Usage: java TxnLogSession HOST:PORT          the main session
//        java TxnLogSession HOST:PORT expire   create ephemerals, then halt the
//                                              JVM without closing the session
//                                              (the server expires it)
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.admin.ZooKeeperAdmin;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;

public class TxnLogSession {
    static final long T0 = System.nanoTime();
    static final List<ACL> OPEN = ZooDefs.Ids.OPEN_ACL_UNSAFE;

    static void log(String fmt, Object... args) {
        System.out.printf("[txnlog %5.1fs] %s%n", (System.nanoTime() - T0) / 1e9,
                String.format(fmt, args));
        System.out.flush();
    }

    interface Step {
        Object run() throws Exception;
    }

    static Object step(String what, Step s) {
        try {
            Object r = s.run();
            log("%-44s -> %s", what, r);
            return r;
        } catch (KeeperException e) {
            log("%-44s -> %s", what, e.code());
            if (e.getResults() != null) {
                for (OpResult r : e.getResults()) {
                    log("    result %s", describe(r));
                }
            }
        } catch (Exception e) {
            log("%-44s -> %s: %s", what, e.getClass().getSimpleName(), e.getMessage());
        }
        return null;
    }

    static String describe(OpResult r) {
        if (r instanceof OpResult.ErrorResult) {
            return "ErrorResult(" + KeeperException.Code.get(((OpResult.ErrorResult) r).getErr()) + ")";
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

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static ZKClientConfig noSasl() {
        ZKClientConfig conf = new ZKClientConfig();
        conf.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
        return conf;
    }

    static ZooKeeperAdmin connect(String hp, int timeoutMs, String name) throws Exception {
        final CountDownLatch up = new CountDownLatch(1);
        Watcher w = ev -> {
            if (ev.getType() == Watcher.Event.EventType.None
                    && ev.getState() == Watcher.Event.KeeperState.SyncConnected) {
                up.countDown();
            }
        };
        ZooKeeperAdmin zk = new ZooKeeperAdmin(hp, timeoutMs, w, false, noSasl());
        if (!up.await(10, TimeUnit.SECONDS)) {
            log("%s: could not connect", name);
            System.exit(1);
        }
        log("%s: connected, session 0x%x timeout %d", name, zk.getSessionId(), zk.getSessionTimeout());
        return zk;
    }

    public static void main(String[] args) throws Exception {
        final String hp = args[0];
        System.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
        log("ZooKeeper client %s", org.apache.zookeeper.Version.getFullVersion());

        if (args.length > 1 && args[1].equals("expire")) {
            // A session that owns ephemerals and is never closed: the server
            // logs closeSession for it when it expires.
            ZooKeeper ex = connect(hp, 2000, "expiring");
            step("expiring: create /e1 EPHEMERAL", () -> ex.create("/e1", b("e1"), OPEN, CreateMode.EPHEMERAL));
            step("expiring: create /es- EPHEMERAL_SEQUENTIAL",
                    () -> ex.create("/es-", null, OPEN, CreateMode.EPHEMERAL_SEQUENTIAL));
            log("expiring: halting without closeSession");
            Runtime.getRuntime().halt(0);
        }

        final ZooKeeperAdmin zk = connect(hp, 4000, "main");
        final Stat st = new Stat();

        // ---------------- creates (CreateTxn, type 1 / 15 / 19 / 21)
        step("create /t PERSISTENT", () -> zk.create("/t", b("top"), OPEN, CreateMode.PERSISTENT));
        step("create /x PERSISTENT", () -> zk.create("/x", b(""), OPEN, CreateMode.PERSISTENT));
        step("create /t/null (null data)", () -> zk.create("/t/null", null, OPEN, CreateMode.PERSISTENT));
        step("create /t/seq- PERSISTENT_SEQUENTIAL",
                () -> zk.create("/t/seq-", b("s"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL));
        step("create /t/eph EPHEMERAL", () -> zk.create("/t/eph", b("e"), OPEN, CreateMode.EPHEMERAL));
        step("create /t/ephseq- EPHEMERAL_SEQUENTIAL",
                () -> zk.create("/t/ephseq-", b("es"), OPEN, CreateMode.EPHEMERAL_SEQUENTIAL));
        step("create2 /t/c2 PERSISTENT (with Stat)",
                () -> zk.create("/t/c2", b("c2"), OPEN, CreateMode.PERSISTENT, st));
        step("create2 /t/c2seq- EPHEMERAL_SEQUENTIAL (with Stat)",
                () -> zk.create("/t/c2seq-", b("c2s"), OPEN, CreateMode.EPHEMERAL_SEQUENTIAL, st));
        step("createContainer /t/cont", () -> zk.create("/t/cont", b("box"), OPEN, CreateMode.CONTAINER));
        step("create /t/cont/child", () -> zk.create("/t/cont/child", b(""), OPEN, CreateMode.PERSISTENT));
        step("createTTL /t/ttl PERSISTENT_WITH_TTL 600000",
                () -> zk.create("/t/ttl", b("ttl"), OPEN, CreateMode.PERSISTENT_WITH_TTL, st, 600000));
        step("createTTL /t/ttlseq- PERSISTENT_SEQUENTIAL_WITH_TTL 1",
                () -> zk.create("/t/ttlseq-", b("ttls"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, st, 1));
        List<ACL> two = new ArrayList<>(OPEN);
        two.add(new ACL(ZooDefs.Perms.READ, new Id("ip", "127.0.0.1")));
        step("create /t/acl2 (two ACL entries)", () -> zk.create("/t/acl2", b("a"), two, CreateMode.PERSISTENT));

        // ---------------- failed writes (ErrorTxn, type -1)
        step("create /t NODEEXISTS", () -> zk.create("/t", b(""), OPEN, CreateMode.PERSISTENT));
        step("create /nope/x NONODE", () -> zk.create("/nope/x", b(""), OPEN, CreateMode.PERSISTENT));
        step("create /t/eph/x NOCHILDRENFOREPHEMERALS",
                () -> zk.create("/t/eph/x", b(""), OPEN, CreateMode.PERSISTENT));
        step("setData /t bad version BADVERSION", () -> zk.setData("/t", b("v"), 42));
        step("setData /nope NONODE", () -> zk.setData("/nope", b("v"), -1));
        step("delete /t NOTEMPTY", () -> { zk.delete("/t", -1); return "ok"; });
        step("delete /nope NONODE", () -> { zk.delete("/nope", -1); return "ok"; });
        step("setACL /t bad version BADVERSION", () -> zk.setACL("/t", OPEN, 7));

        // ---------------- setData / setACL / delete (types 5, 7, 2)
        step("setData /t", () -> zk.setData("/t", b("top2"), -1));
        step("setData /t/null null data", () -> zk.setData("/t/null", null, 0));
        step("setACL /t/acl2", () -> zk.setACL("/t/acl2", ZooDefs.Ids.READ_ACL_UNSAFE, -1));
        zk.addAuthInfo("digest", b("tuser:tpass"));
        step("create /t/mine CREATOR_ALL_ACL (digest)",
                () -> zk.create("/t/mine", b("m"), ZooDefs.Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT));
        step("setACL /t/mine two entries", () -> {
            List<ACL> a = new ArrayList<>(ZooDefs.Ids.CREATOR_ALL_ACL);
            a.add(new ACL(ZooDefs.Perms.READ, ZooDefs.Ids.ANYONE_ID_UNSAFE));
            return zk.setACL("/t/mine", a, 0);
        });
        step("delete /t/null", () -> { zk.delete("/t/null", -1); return "ok"; });

        // ---------------- multi (MultiTxn, type 14)
        step("multi ok (create, createTTL, createContainer, setData, check, delete)",
                () -> results(zk.multi(Arrays.asList(
                        Op.create("/t/m1", b("m1"), OPEN, CreateMode.PERSISTENT),
                        Op.create("/t/m1/s-", b("s"), OPEN, CreateMode.EPHEMERAL_SEQUENTIAL),
                        Op.create("/t/mttl", b("mt"), OPEN, CreateMode.PERSISTENT_WITH_TTL, 600000),
                        Op.create("/t/mcont", b("mc"), OPEN, CreateMode.CONTAINER),
                        Op.setData("/t/m1", b("m1b"), 0),
                        Op.check("/t/m1", 1),
                        Op.delete("/t/c2", -1)))));
        step("multi fail (create ok, check BADVERSION, setData)",
                () -> results(zk.multi(Arrays.asList(
                        Op.create("/t/m2", b(""), OPEN, CreateMode.PERSISTENT),
                        Op.check("/t/m1", 99),
                        Op.setData("/t/m1", b("never"), -1)))));
        step("multi fail (delete NONODE first)",
                () -> results(zk.multi(Arrays.asList(
                        Op.delete("/nope", -1),
                        Op.create("/t/m3", b(""), OPEN, CreateMode.PERSISTENT)))));

        // ---------------- reconfig (standalone: answered with an error)
        step("reconfigure", () -> zk.reconfigure(
                "server.9=127.0.0.1:28889:38889:participant;127.0.0.1:21819", null, null, -1, st));

        // ---------------- a container that becomes empty: the server's
        // ContainerManager deletes it (deleteContainer, type 20)
        step("delete /t/cont/child", () -> { zk.delete("/t/cont/child", -1); return "ok"; });

        // ---------------- a second session with ephemerals, closed
        ZooKeeper other = connect(hp, 4000, "other");
        step("other: create /x/o1 EPHEMERAL", () -> other.create("/x/o1", b("o"), OPEN, CreateMode.EPHEMERAL));
        step("other: create /x/o2- EPHEMERAL_SEQUENTIAL",
                () -> other.create("/x/o2-", b("o"), OPEN, CreateMode.EPHEMERAL_SEQUENTIAL));
        step("other: close", () -> { other.close(); return "ok"; });

        // ---------------- a session without ephemerals, closed
        ZooKeeper empty = connect(hp, 4000, "empty");
        step("empty: close", () -> { empty.close(); return "ok"; });

        // wait for the container / TTL sweeps (znode.container.checkIntervalMs)
        // and for the expiring session started by the script
        Thread.sleep(Long.parseLong(System.getProperty("txnlog.waitMs", "6000")));
        step("exists /t/cont (swept?)", () -> zk.exists("/t/cont", false));
        step("exists /t/ttlseq-... (swept?)", () -> zk.getChildren("/t", false));
        step("getChildren /x", () -> zk.getChildren("/x", false));
        step("getChildren / (expired ephemerals gone?)", () -> zk.getChildren("/", false));

        step("main: close", () -> { zk.close(); return "ok"; });
        log("done");
    }
}
