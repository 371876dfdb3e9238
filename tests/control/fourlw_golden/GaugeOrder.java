// Prints the iteration order of ZooKeeper 3.8.0's mntr gauges (a ConcurrentHashMap
// in DefaultMetricsProvider) for each server kind: the gauge names each registers
// (ZooKeeperServer, QuorumZooKeeperServer, Leader/FollowerZooKeeperServer.registerMetrics)
// put into the same map. The standalone order equals the recorded mntr.txt. A
// follower registers synced_observers only as an observer master
// (observerMasterPort); the follower recorded in ../admin_golden has none.
//   javac -d /tmp GaugeOrder.java && java -cp /tmp GaugeOrder > gauge_order.txt
import java.util.concurrent.ConcurrentHashMap;
public class GaugeOrder {
    static final String[] BASE = {"avg_latency","max_latency","min_latency","packets_received","packets_sent",
        "num_alive_connections","outstanding_requests","uptime","znode_count","watch_count","ephemerals_count",
        "approximate_data_size","global_sessions","local_sessions","open_file_descriptor_count",
        "max_file_descriptor_count","connection_drop_probability","last_client_response_size",
        "max_client_response_size","min_client_response_size","outstanding_tls_handshake","auth_failed_count",
        "non_mtls_remote_conn_count","non_mtls_local_conn_count"};
    public static void main(String[] a) {
        String[][] extra = {{}, {"quorum_size","learners","synced_followers","synced_non_voting_followers",
            "synced_observers","pending_syncs","leader_uptime","last_proposal_size","max_proposal_size",
            "min_proposal_size"}, {"quorum_size"}, {"quorum_size"}};
        String[] names = {"standalone","leader","follower","observer"};
        for (int m = 0; m < 4; m++) {
            ConcurrentHashMap<String,Integer> g = new ConcurrentHashMap<>();
            for (String s : BASE) g.put(s, 0);
            for (String s : extra[m]) g.put(s, 0);
            StringBuilder sb = new StringBuilder(names[m] + ":");
            for (String k : g.keySet()) sb.append(" ").append(k);
            System.out.println(sb);
        }
    }
}
