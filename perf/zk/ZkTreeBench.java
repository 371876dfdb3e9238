/*
 * ZkTreeBench — the Apache ZooKeeper side of perf/bench_core: the same N
 * znodes, paths, data and three phases, run against ZooKeeper 3.8's own
 * in-memory tree (org.apache.zookeeper.server.DataTree) in this JVM, with no
 * network, no disk and no request-processor threads.
 *
 *   java -Xms4g -Xmx4g -cp <zookeeper jars>:. ZkTreeBench [--nodes N] [--data BYTES]
 *        [--seed S] [--json] [--histo]
 *
 * Per operation (timed with System.nanoTime around it, as bench_core does):
 *   create / setData ("write path"): decode the client's request frame with
 *     jute (RequestHeader + CreateRequest / SetDataRequest, as ZooKeeperServer
 *     and PrepRequestProcessor do), build the TxnHeader + CreateTxn /
 *     SetDataTxn (setData reads the node's version with getNode, as prep's
 *     checkAndIncVersion needs), serialize it as the transaction log does
 *     (Util.marshallTxnEntry), DataTree.processTxn, then encode the reply
 *     (ReplyHeader + CreateResponse / SetDataResponse, length-prefixed, as
 *     ServerCnxn does). PrepRequestProcessor's checks (path validation,
 *     parent lookup, ACL check, outstanding-change records) are NOT run: this
 *     is a lower bound on ZooKeeper's write path.
 *   getData: decode the request, then FinalRequestProcessor's steps:
 *     getNode, getACL(node) + the world:anyone READ check, DataTree.getData,
 *     GetDataResponse, reply encoding.
 *   apply only: the create / setData transactions of the run, as serialized
 *     above, deserialized (SerializeUtils.deserializeTxn) and processTxn'd into
 *     a fresh DataTree, as a follower or log replay does.
 * Throughput: operations / sum of per-operation times (bench_core's
 * definition); the loop's wall-clock rate is reported too.
 * Memory: heap used (MemoryMXBean, after System.gc() several times) before and
 * after the create phase, / N. Every benchmark buffer is allocated before the
 * baseline. --histo prints the top of the class histogram (the same as
 * jcmd <pid> GC.class_histogram) to stderr after the create phase.
 * A warm-up run on a separate, smaller tree (JIT) precedes the measured one.
 */
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.apache.jute.BinaryInputArchive;
import org.apache.jute.BinaryOutputArchive;
import org.apache.jute.Record;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.proto.CreateRequest;
import org.apache.zookeeper.proto.CreateResponse;
import org.apache.zookeeper.proto.GetDataRequest;
import org.apache.zookeeper.proto.GetDataResponse;
import org.apache.zookeeper.proto.ReplyHeader;
import org.apache.zookeeper.proto.RequestHeader;
import org.apache.zookeeper.proto.SetDataRequest;
import org.apache.zookeeper.proto.SetDataResponse;
import org.apache.zookeeper.server.ByteBufferInputStream;
import org.apache.zookeeper.server.DataNode;
import org.apache.zookeeper.server.DataTree;
import org.apache.zookeeper.server.TxnLogEntry;
import org.apache.zookeeper.server.persistence.Util;
import org.apache.zookeeper.server.util.SerializeUtils;
import org.apache.zookeeper.txn.CreateTxn;
import org.apache.zookeeper.txn.SetDataTxn;
import org.apache.zookeeper.txn.TxnHeader;

public class ZkTreeBench {
    static final long SESSION = 0x0100000000000001L;
    static final long START_MS = 1700000000000L;

    static final class Result {
        long ops;
        double busyS, wallS;
        long p50, p99, p999, max, gcMs;

        String json() {
            return String.format("{\"ops_s\":%.0f,\"wall_ops_s\":%.0f,\"p50\":%d,\"p99\":%d,"
                                     + "\"p999\":%d,\"max\":%d,\"gc_ms\":%d}",
                ops / busyS, ops / wallS, p50, p99, p999, max, gcMs);
        }
    }

    static Result summarize(long[] lat, int n, long wallNs, long gcMs0) {
        Result r = new Result();
        long sum = 0;
        for (int i = 0; i < n; i++)
            sum += lat[i];
        Arrays.sort(lat, 0, n);
        r.ops = n;
        r.busyS = sum / 1e9;
        r.wallS = wallNs / 1e9;
        r.p50 = lat[n / 2];
        r.p99 = lat[(int) ((long) n * 99 / 100)];
        r.p999 = lat[(int) ((long) n * 999 / 1000)];
        r.max = lat[n - 1];
        r.gcMs = gcMs() - gcMs0;
        return r;
    }

    static long gcMs() {
        long t = 0;
        for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans())
            t += Math.max(0, b.getCollectionTime());
        return t;
    }

    static long heapUsed() throws InterruptedException {
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(50);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /* "/bench/d%03d/n%06d" (String.format is too slow for 3M paths). */
    static String nodePath(long i) {
        StringBuilder sb = new StringBuilder(24).append("/bench/d");
        pad(sb, i / 1000, 3).append("/n");
        return pad(sb, i, 6).toString();
    }

    static StringBuilder pad(StringBuilder sb, long v, int width) {
        String s = Long.toString(v);
        for (int k = s.length(); k < width; k++)
            sb.append('0');
        return sb.append(s);
    }

    static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    /* The same stride permutation as bench_core / bench_tree. */
    static long strideFor(long n, long seed) {
        long s = (n / 2 + 7919 + seed * 104729) % n;
        if (s == 0)
            s = 1;
        while (gcd(s, n) != 1)
            s++;
        return s;
    }

    /* A growable byte log with offsets, in one array allocated up front. */
    static final class Frames {
        final byte[] buf;
        final int[] off;
        int len, count;

        Frames(long bytes, int max) {
            if (bytes > Integer.MAX_VALUE - 16)
                throw new IllegalArgumentException("too many nodes for one frame buffer");
            buf = new byte[(int) bytes]; // zeroed (touched) now, before the heap baseline
            off = new int[max + 1];
        }

        void reset() {
            len = 0;
            count = 0;
        }

        void add(byte[] b) {
            System.arraycopy(b, 0, buf, len, b.length);
            len += b.length;
            off[++count] = len;
        }

        ByteBuffer slice(int i) {
            return ByteBuffer.wrap(buf, off[i], off[i + 1] - off[i]);
        }

        byte[] copy(int i) {
            return Arrays.copyOfRange(buf, off[i], off[i + 1]);
        }
    }

    /* A client request frame without the length prefix (the server strips it). */
    static byte[] request(int xid, int type, Record body) throws IOException {
        ByteArrayOutputStream baos = new ByteArrayOutputStream(64);
        BinaryOutputArchive oa = BinaryOutputArchive.getArchive(baos);
        new RequestHeader(xid, type).serialize(oa, "header");
        body.serialize(oa, "request");
        return baos.toByteArray();
    }

    /* As ServerCnxn serializes a reply: length, ReplyHeader, body. */
    static byte[] reply(ReplyHeader h, Record r) throws IOException {
        ByteArrayOutputStream baos = new ByteArrayOutputStream(160);
        BinaryOutputArchive oa = BinaryOutputArchive.getArchive(baos);
        oa.writeInt(-1, "len");
        h.serialize(oa, "header");
        if (r != null)
            r.serialize(oa, "response");
        byte[] b = baos.toByteArray();
        ByteBuffer.wrap(b).putInt(b.length - 4);
        return b;
    }

    static final List<ACL> OPEN = ZooDefs.Ids.OPEN_ACL_UNSAFE;

    static final class Run {
        final int n;
        final int dlen;
        final long seed;
        Result[] res = new Result[5];
        double heapPerZnode;
        long heapBefore, heapAfter;
        int ndirs;
        long replyBytes;

        Run(int n, int dlen, long seed) {
            this.n = n;
            this.dlen = dlen;
            this.seed = seed;
        }
    }

    static void run(Run R, boolean histo) throws Exception {
        final int n = R.n, dlen = R.dlen;
        final int ndirs = (n + 999) / 1000;
        R.ndirs = ndirs;
        byte[] data = new byte[dlen], data2 = new byte[dlen];
        for (int i = 0; i < dlen; i++) {
            data[i] = (byte) ('a' + (i * 7 + R.seed) % 26);
            data2[i] = (byte) ('A' + (i * 11 + R.seed) % 26);
        }
        // Buffers first (they are in the heap baseline).
        long[] lat = new long[n];
        Frames req = new Frames((long) n * (dlen + 160), n);
        Frames log = new Frames((long) (2L * n + ndirs + 8) * (dlen + 200), 2 * n + ndirs + 8);
        int xid = 0;
        long zxid = 0x100000000L;

        DataTree dt = new DataTree();
        R.heapBefore = heapUsed();

        // createSession is not a DataTree transaction (SessionTracker); the
        // directories are created through processTxn, not timed.
        for (int d = 0; d <= ndirs; d++) {
            String p = d == 0 ? "/bench" : pad(new StringBuilder("/bench/d"), d - 1, 3).toString();
            TxnHeader h = new TxnHeader(SESSION, ++xid, ++zxid, START_MS, ZooDefs.OpCode.create);
            CreateTxn t = new CreateTxn(p, new byte[0], OPEN, false, -1);
            if (dt.processTxn(h, t).err != 0)
                throw new IllegalStateException("create " + p);
            log.add(Util.marshallTxnEntry(h, t));
        }
        int firstCreate = log.count;
        long replyBytes = 0;

        // (a) create: client request frames first (not timed)
        req.reset();
        for (int i = 0; i < n; i++)
            req.add(request(++xid, ZooDefs.OpCode.create,
                new CreateRequest(nodePath(i), data, OPEN, 0)));
        long gc0 = gcMs();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            long a = System.nanoTime();
            BinaryInputArchive ia =
                BinaryInputArchive.getArchive(new ByteBufferInputStream(req.slice(i)));
            RequestHeader rh = new RequestHeader();
            rh.deserialize(ia, "header");
            CreateRequest cr = new CreateRequest();
            cr.deserialize(ia, "request");
            TxnHeader h = new TxnHeader(SESSION, rh.getXid(), ++zxid, START_MS + i, rh.getType());
            CreateTxn t = new CreateTxn(cr.getPath(), cr.getData(), cr.getAcl(), false, -1);
            byte[] logged = Util.marshallTxnEntry(h, t);
            DataTree.ProcessTxnResult rc = dt.processTxn(h, t);
            byte[] out = reply(new ReplyHeader(rh.getXid(), rc.zxid, rc.err),
                rc.err == 0 ? new CreateResponse(rc.path) : null);
            long b = System.nanoTime();
            if (rc.err != 0)
                throw new IllegalStateException("create " + cr.getPath() + ": " + rc.err);
            lat[i] = b - a;
            replyBytes += out.length;
            log.add(logged);
        }
        R.res[0] = summarize(lat, n, System.nanoTime() - t0, gc0);
        int firstSet = log.count;
        R.heapAfter = heapUsed();
        R.heapPerZnode = (double) (R.heapAfter - R.heapBefore) / n;
        if (histo)
            histogram(25);

        // (b) setData, the same pseudo-random order as bench_core
        long stride = strideFor(n, R.seed), idx = 0;
        req.reset();
        for (int i = 0; i < n; i++) {
            idx = (idx + stride) % n;
            req.add(request(++xid, ZooDefs.OpCode.setData,
                new SetDataRequest(nodePath(idx), (i & 1) != 0 ? data : data2, -1)));
        }
        gc0 = gcMs();
        t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            long a = System.nanoTime();
            BinaryInputArchive ia =
                BinaryInputArchive.getArchive(new ByteBufferInputStream(req.slice(i)));
            RequestHeader rh = new RequestHeader();
            rh.deserialize(ia, "header");
            SetDataRequest sr = new SetDataRequest();
            sr.deserialize(ia, "request");
            // PrepRequestProcessor turns version -1 into the node's next version.
            DataNode node = dt.getNode(sr.getPath());
            int version = node.stat.getVersion() + 1;
            TxnHeader h =
                new TxnHeader(SESSION, rh.getXid(), ++zxid, START_MS + n + i, rh.getType());
            SetDataTxn t = new SetDataTxn(sr.getPath(), sr.getData(), version);
            byte[] logged = Util.marshallTxnEntry(h, t);
            DataTree.ProcessTxnResult rc = dt.processTxn(h, t);
            byte[] out = reply(new ReplyHeader(rh.getXid(), rc.zxid, rc.err),
                rc.err == 0 ? new SetDataResponse(rc.stat) : null);
            long b = System.nanoTime();
            if (rc.err != 0)
                throw new IllegalStateException("setData " + sr.getPath() + ": " + rc.err);
            lat[i] = b - a;
            replyBytes += out.length;
            log.add(logged);
        }
        R.res[1] = summarize(lat, n, System.nanoTime() - t0, gc0);
        int lastSet = log.count;

        // (c) getData, the same second pseudo-random order as bench_core
        stride = strideFor(n, R.seed + 1);
        req.reset();
        for (int i = 0; i < n; i++) {
            idx = (idx + stride) % n;
            req.add(request(++xid, ZooDefs.OpCode.getData,
                new GetDataRequest(nodePath(idx), false)));
        }
        long check = 0;
        gc0 = gcMs();
        t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            long a = System.nanoTime();
            BinaryInputArchive ia =
                BinaryInputArchive.getArchive(new ByteBufferInputStream(req.slice(i)));
            RequestHeader rh = new RequestHeader();
            rh.deserialize(ia, "header");
            GetDataRequest gr = new GetDataRequest();
            gr.deserialize(ia, "request");
            String path = gr.getPath();
            DataNode node = dt.getNode(path);
            if (node == null)
                throw new IllegalStateException("getData " + path);
            checkRead(dt.getACL(node));
            Stat stat = new Stat();
            byte[] b0 = dt.getData(path, stat, null);
            byte[] out =
                reply(new ReplyHeader(rh.getXid(), zxid, 0), new GetDataResponse(b0, stat));
            long b = System.nanoTime();
            lat[i] = b - a;
            check += out[out.length - 1] + b0.length;
        }
        R.res[2] = summarize(lat, n, System.nanoTime() - t0, gc0);
        if (check == 0)
            throw new IllegalStateException("getData returned nothing");
        long digest = dt.getTreeDigest();
        int nodes = dt.getNodeCount();
        dt = null;
        heapUsed();

        // apply only: the log, deserialized and processTxn'd into a fresh tree
        DataTree d2 = new DataTree();
        for (int k = 0; k < firstCreate; k++) {
            TxnLogEntry e = SerializeUtils.deserializeTxn(log.copy(k));
            d2.processTxn(e.getHeader(), e.getTxn());
        }
        for (int phase = 0; phase < 2; phase++) {
            int from = phase == 0 ? firstCreate : firstSet, to = phase == 0 ? firstSet : lastSet;
            gc0 = gcMs();
            t0 = System.nanoTime();
            for (int k = from; k < to; k++) {
                byte[] bytes = log.copy(k); // the log reader's buffer (not timed)
                long a = System.nanoTime();
                TxnLogEntry e = SerializeUtils.deserializeTxn(bytes);
                DataTree.ProcessTxnResult rc = d2.processTxn(e.getHeader(), e.getTxn());
                long b = System.nanoTime();
                if (rc.err != 0)
                    throw new IllegalStateException("replay " + k + ": " + rc.err);
                lat[k - from] = b - a;
            }
            R.res[3 + phase] = summarize(lat, to - from, System.nanoTime() - t0, gc0);
        }
        if (d2.getNodeCount() != nodes || d2.getTreeDigest() != digest)
            throw new IllegalStateException("replayed tree differs: " + d2.getNodeCount() + " vs "
                + nodes + " nodes");
        R.replyBytes = replyBytes;
    }

    /* ZooKeeperServer.checkACL's path for a world:anyone ACL and no super user. */
    static void checkRead(List<ACL> acl) {
        if (acl == null || acl.isEmpty())
            return;
        for (ACL a : acl) {
            Id id = a.getId();
            if ((a.getPerms() & ZooDefs.Perms.READ) != 0 && id.getScheme().equals("world")
                && id.getId().equals("anyone"))
                return;
        }
        throw new IllegalStateException("NOAUTH");
    }

    static void histogram(int lines) {
        try {
            MBeanServer s = ManagementFactory.getPlatformMBeanServer();
            Object o = s.invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"),
                "gcClassHistogram", new Object[] {new String[0]},
                new String[] {String[].class.getName()});
            String[] l = o.toString().split("\n");
            System.err.println("ZooKeeper heap after create (GC.class_histogram, top " + lines + "):");
            for (int i = 0; i < Math.min(lines + 2, l.length); i++)
                System.err.println(l[i]);
            if (l.length > 0)
                System.err.println(l[l.length - 1]);
        } catch (Exception e) {
            System.err.println("class histogram unavailable: " + e);
        }
    }

    public static void main(String[] args) throws Exception {
        int n = 1000000, dlen = 100;
        long seed = 1;
        boolean json = false, histo = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--nodes") && i + 1 < args.length)
                n = Integer.parseInt(args[++i]);
            else if (args[i].equals("--data") && i + 1 < args.length)
                dlen = Integer.parseInt(args[++i]);
            else if (args[i].equals("--seed") && i + 1 < args.length)
                seed = Long.parseLong(args[++i]);
            else if (args[i].equals("--json"))
                json = true;
            else if (args[i].equals("--histo"))
                histo = true;
            else {
                System.err.println(
                    "usage: ZkTreeBench [--nodes N] [--data BYTES] [--seed S] [--json] [--histo]");
                System.exit(2);
            }
        }
        if (n < 2 || n > 5000000 || dlen < 0 || dlen > 65536) {
            System.err.println("ZkTreeBench: --nodes must be 2..5000000 and --data 0..65536");
            System.exit(2);
        }
        // warm-up: a separate, smaller tree through every phase (JIT)
        Run w = new Run(Math.min(n, 100000), dlen, seed);
        run(w, false);
        w = null;
        Run R = new Run(n, dlen, seed);
        run(R, histo);

        String[] keys = {"create", "set", "get", "apply_create", "apply_set"};
        String[] names = {"create (decode+txn+log encode+processTxn+reply)",
            "setData (decode+txn+log encode+processTxn+reply)", "getData (decode+read+reply)",
            "create apply only (deserializeTxn+processTxn)",
            "setData apply only (deserializeTxn+processTxn)"};
        String jvm = String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments());
        if (json) {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format("{\"impl\":\"zookeeper\",\"version\":\"%s\",\"nodes\":%d,"
                    + "\"data\":%d,\"java\":\"%s\",\"jvm_flags\":\"%s\"",
                org.apache.zookeeper.Version.getFullVersion().split(" ")[0], n, dlen,
                System.getProperty("java.vm.version"), jvm.replace("\"", "'")));
            for (int i = 0; i < 5; i++)
                sb.append(",\"").append(keys[i]).append("\":").append(R.res[i].json());
            sb.append(String.format(",\"bytes_per_znode\":%.1f,\"heap_before_mb\":%.1f,"
                    + "\"heap_after_mb\":%.1f}",
                R.heapPerZnode, R.heapBefore / 1048576.0, R.heapAfter / 1048576.0));
            System.out.println(sb);
            return;
        }
        System.out.printf("ZooKeeper %s DataTree benchmark: %d znodes, %d-byte data, JVM %s [%s]%n",
            org.apache.zookeeper.Version.getFullVersion(), n, dlen,
            System.getProperty("java.vm.version"), jvm);
        System.out.printf("%nheap after create: %.1f MiB -> %.1f MiB, %.1f B/znode%n%n",
            R.heapBefore / 1048576.0, R.heapAfter / 1048576.0, R.heapPerZnode);
        System.out.printf("%-50s %9s %11s %11s %8s %8s %8s %10s %6s%n", "op", "ops", "ops/s",
            "wall ops/s", "p50 ns", "p99 ns", "p999 ns", "max ns", "gc ms");
        for (int i = 0; i < 5; i++) {
            Result r = R.res[i];
            System.out.printf("%-50s %9d %11.0f %11.0f %8d %8d %8d %10d %6d%n", names[i], r.ops,
                r.ops / r.busyS, r.ops / r.wallS, r.p50, r.p99, r.p999, r.max, r.gcMs);
        }
    }
}
