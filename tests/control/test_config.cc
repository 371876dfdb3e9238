// cv_config: zoo.cfg as ZooKeeper 3.8 reads it, corvid's keys, validation
// messages, the whitelist and the `conf` word.
#include <gtest/gtest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cv_config.h"

namespace
{

struct Parsed {
    int rc;
    std::string err;
    std::vector<std::string> warnings;
};

void collect(void *ctx, const char *msg)
{
    static_cast<std::vector<std::string> *>(ctx)->push_back(msg);
}

Parsed parse(struct cv_config *c, const std::string &text)
{
    Parsed p;
    char err[1024];
    p.rc = cv_config_parse_string(c, text.data(), text.size(), "zoo.cfg", err, sizeof err, collect,
                                  &p.warnings);
    p.err = err;
    return p;
}

const char *kBase = "tickTime=2000\ndataDir=/var/lib/corvid\nclientPort=2181\n";

std::string help_text()
{
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cv_config_help(f);
    fclose(f);
    std::string s(buf, len);
    free(buf);
    return s;
}

} // namespace

TEST(Config, EmbeddedDefaultsAreZooKeepersWithLoopbackAndSrvrOnly)
{
    struct cv_config c;
    ASSERT_EQ(0, cv_config_defaults(&c));
    EXPECT_EQ(2000, c.tick_ms);
    EXPECT_EQ(2181, c.client_port);
    EXPECT_STREQ("127.0.0.1", c.client_addr);
    EXPECT_STREQ("./data", c.data_dir);
    EXPECT_STREQ("./data", c.data_log_dir);
    EXPECT_EQ(60, c.max_client_cnxns);
    EXPECT_EQ(4000, c.min_session_timeout);
    EXPECT_EQ(40000, c.max_session_timeout);
    EXPECT_EQ(-1, c.client_backlog);
    EXPECT_EQ(1u << CV_4LW_SRVR, c.fourlw_allowed);
    EXPECT_STREQ("", c.fourlw_whitelist);
    EXPECT_EQ(0xfffff, c.jute_maxbuffer);
    EXPECT_EQ(1000, c.global_outstanding_limit);
    EXPECT_FALSE(c.extended_types);
    EXPECT_FALSE(c.reconfig_enabled);
    EXPECT_TRUE(c.standalone_enabled);
    EXPECT_FALSE(c.skip_acl);
    EXPECT_FALSE(c.read_only_enabled);
    EXPECT_TRUE(c.force_sync);
    EXPECT_TRUE(c.sync_enabled);
    EXPECT_EQ(100000, c.snap_count);
    EXPECT_EQ(65536, c.pre_alloc_kb);
    EXPECT_EQ(1000, c.fsync_warning_ms);
    EXPECT_EQ(3, c.snap_retain_count);
    EXPECT_EQ(0, c.purge_interval_h);
    EXPECT_TRUE(c.admin_enabled);
    EXPECT_EQ(8080, c.admin_port);
    EXPECT_EQ(-1, c.secure_client_port);
    EXPECT_EQ(-1, c.observer_master_port);
    EXPECT_STREQ("org.apache.zookeeper.metrics.impl.DefaultMetricsProvider", c.metrics_provider);
    EXPECT_EQ(0u, c.nservers);
    EXPECT_EQ(-1, c.my_id);
    EXPECT_EQ(0u, c.secret_len);
    EXPECT_STREQ("", c.super_digest);
    ASSERT_EQ(1u, c.nlcores);
    EXPECT_EQ(0, c.lcores[0]);
    ASSERT_EQ(1u, c.nio_lcores);
    EXPECT_EQ(0, c.io_lcores[0]);
    EXPECT_EQ(0, c.sequencer_lcore);
    EXPECT_EQ(CV_POLL_ADAPTIVE, c.poll_mode);
    EXPECT_EQ(200, c.poll_spin_us);
    EXPECT_EQ(CV_TRANSPORT_SOCKET, c.transport);
    EXPECT_EQ(65536u, c.max_sessions);
    EXPECT_FALSE(cv_config_distributed(&c));
}

TEST(Config, FileDefaultsListenOnAllAddressesAndDeriveTimeouts)
{
    struct cv_config c;
    Parsed p = parse(&c, "tickTime=500\ndataDir=/d\nclientPort=2181\n");
    ASSERT_EQ(0, p.rc) << p.err;
    EXPECT_STREQ("0.0.0.0", c.client_addr);
    EXPECT_STREQ("/d", c.data_log_dir);
    EXPECT_EQ(1000, c.min_session_timeout);
    EXPECT_EQ(10000, c.max_session_timeout);
    EXPECT_TRUE(p.warnings.empty());
}

TEST(Config, EveryKeyIsParsed)
{
    const std::string text = "tickTime=1000\n"
                             "initLimit=10\n"
                             "syncLimit=5\n"
                             "connectToLearnerMasterLimit=7\n"
                             "dataDir=/data/zk\n"
                             "dataLogDir=/log/zk\n"
                             "clientPort=12181\n"
                             "clientPortAddress=10.0.0.1\n"
                             "clientPortListenBacklog=128\n"
                             "maxClientCnxns=0\n"
                             "minSessionTimeout=3000\n"
                             "maxSessionTimeout=90000\n"
                             "4lw.commands.whitelist=ruok,mntr\n"
                             "jute.maxbuffer=4194304\n"
                             "globalOutstandingLimit=5000\n"
                             "server.1=10.0.0.1:2888:3888\n"
                             "server.2=10.0.0.2:2888:3888:participant;2181\n"
                             "server.3=[fe80::1]:2888:3888:observer;10.0.0.3:2182\n"
                             "peerType=observer\n"
                             "electionAlg=3\n"
                             "extendedTypesEnabled=true\n"
                             "reconfigEnabled=TRUE\n"
                             "standaloneEnabled=false\n"
                             "skipACL=yes\n"
                             "readonlymode.enabled=true\n"
                             "forceSync=no\n"
                             "syncEnabled=false\n"
                             "quorumListenOnAllIPs=true\n"
                             "localSessionsEnabled=true\n"
                             "localSessionsUpgradingEnabled=true\n"
                             "snapCount=5000\n"
                             "preAllocSize=1024\n"
                             "fsync.warningthresholdms=250\n"
                             "autopurge.snapRetainCount=5\n"
                             "autopurge.purgeInterval=24\n"
                             "admin.enableServer=false\n"
                             "admin.serverPort=9090\n"
                             "admin.serverAddress=127.0.0.1\n"
                             "admin.commandURL=/cmds\n"
                             "metricsProvider.className=org.example.Prom\n"
                             "metricsProvider.httpPort=7000\n"
                             "secureClientPortAddress=10.0.0.1\n"
                             "observerMasterPort=2191\n"
                             "multiAddress.enabled=false\n"
                             "multiAddress.reachabilityCheckTimeoutMs=1000\n"
                             "jvm.pause.info-threshold.ms=1000\n"
                             "ssl.keyStore.location=/k\n"
                             "quorum.cnxn.threads.size=20\n"
                             "corvid.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n"
                             "corvid.secret=00112233445566778899aabbccddeeff00112233445566778899"
                             "AABBCCDDEEFF\n"
                             "corvid.maxSessions=1000\n"
                             "corvid.lcores=0,2-4\n"
                             "corvid.ioLcores=2 3\n"
                             "corvid.sequencerLcore=4\n"
                             "corvid.pollMode=busy\n"
                             "corvid.pollSpinUs=50\n"
                             "corvid.transport=dpdk\n"
                             "corvid.eal=--vdev=net_tap0 -m 512\n";
    struct cv_config c;
    Parsed p = parse(&c, text);
    ASSERT_EQ(0, p.rc) << p.err;
    EXPECT_TRUE(p.warnings.empty()) << p.warnings[0];
    EXPECT_EQ(1000, c.tick_ms);
    EXPECT_EQ(10, c.init_limit);
    EXPECT_EQ(5, c.sync_limit);
    EXPECT_EQ(7, c.connect_to_learner_master_limit);
    EXPECT_STREQ("/data/zk", c.data_dir);
    EXPECT_STREQ("/log/zk", c.data_log_dir);
    EXPECT_EQ(12181, c.client_port);
    EXPECT_STREQ("10.0.0.1", c.client_addr);
    EXPECT_EQ(128, c.client_backlog);
    EXPECT_EQ(0, c.max_client_cnxns);
    EXPECT_EQ(3000, c.min_session_timeout);
    EXPECT_EQ(90000, c.max_session_timeout);
    EXPECT_STREQ("ruok,mntr", c.fourlw_whitelist);
    EXPECT_EQ(4194304, c.jute_maxbuffer);
    EXPECT_EQ(5000, c.global_outstanding_limit);
    ASSERT_EQ(3u, c.nservers);
    EXPECT_EQ(CV_ROLE_OBSERVER, c.peer_type);
    EXPECT_TRUE(c.extended_types);
    EXPECT_TRUE(c.reconfig_enabled);
    EXPECT_FALSE(c.standalone_enabled);
    EXPECT_TRUE(c.skip_acl);
    EXPECT_TRUE(c.read_only_enabled);
    EXPECT_FALSE(c.force_sync);
    EXPECT_FALSE(c.sync_enabled);
    EXPECT_TRUE(c.quorum_listen_all_ips);
    EXPECT_TRUE(c.local_sessions_enabled);
    EXPECT_TRUE(c.local_sessions_upgrading_enabled);
    EXPECT_EQ(5000, c.snap_count);
    EXPECT_EQ(1024, c.pre_alloc_kb);
    EXPECT_EQ(250, c.fsync_warning_ms);
    EXPECT_EQ(5, c.snap_retain_count);
    EXPECT_EQ(24, c.purge_interval_h);
    EXPECT_FALSE(c.admin_enabled);
    EXPECT_EQ(9090, c.admin_port);
    EXPECT_STREQ("127.0.0.1", c.admin_addr);
    EXPECT_STREQ("/cmds", cv_config_extra(&c, "admin.commandURL"));
    EXPECT_STREQ("org.example.Prom", c.metrics_provider);
    EXPECT_EQ(7000, c.metrics_port);
    EXPECT_STREQ("10.0.0.1", c.secure_client_addr);
    EXPECT_EQ(2191, c.observer_master_port);
    EXPECT_FALSE(c.multi_address);
    EXPECT_STREQ("1000", cv_config_extra(&c, "multiAddress.reachabilityCheckTimeoutMs"));
    EXPECT_STREQ("1000", cv_config_extra(&c, "jvm.pause.info-threshold.ms"));
    EXPECT_STREQ("/k", cv_config_extra(&c, "ssl.keyStore.location"));
    EXPECT_STREQ("20", cv_config_extra(&c, "quorum.cnxn.threads.size"));
    EXPECT_EQ(nullptr, cv_config_extra(&c, "nope"));
    EXPECT_STREQ("super:D/InIHSb7yEEbrWz8b9l71RjZJU=", c.super_digest);
    ASSERT_EQ(32u, c.secret_len);
    EXPECT_EQ(0x00, c.secret[0]);
    EXPECT_EQ(0x11, c.secret[1]);
    EXPECT_EQ(0xff, c.secret[31]);
    EXPECT_EQ(1000u, c.max_sessions);
    ASSERT_EQ(4u, c.nlcores);
    EXPECT_EQ(0, c.lcores[0]);
    EXPECT_EQ(2, c.lcores[1]);
    EXPECT_EQ(4, c.lcores[3]);
    ASSERT_EQ(2u, c.nio_lcores);
    EXPECT_EQ(2, c.io_lcores[0]);
    EXPECT_EQ(3, c.io_lcores[1]);
    EXPECT_EQ(4, c.sequencer_lcore);
    EXPECT_EQ(CV_POLL_BUSY, c.poll_mode);
    EXPECT_EQ(50, c.poll_spin_us);
    EXPECT_EQ(CV_TRANSPORT_DPDK, c.transport);
    EXPECT_STREQ("--vdev=net_tap0 -m 512", c.eal_args);
    EXPECT_TRUE(cv_config_distributed(&c));
}

TEST(Config, ServerLinesIncludingObserversIpv6AndClientParts)
{
    struct cv_config c;
    Parsed p = parse(&c, std::string("tickTime=2000\ndataDir=/d\ninitLimit=5\nsyncLimit=2\n"
                                     "corvid.secret=") +
                             std::string(32, 'a') +
                             "\n"
                             "server.3=[::1]:2890:3890:observer;[::1]:2183\n"
                             "server.1=zk1.example.com:2888:3888\n"
                             "server.2 = 127.0.0.2:2889:3889:PARTICIPANT;2182\n");
    ASSERT_EQ(0, p.rc) << p.err;
    ASSERT_EQ(3u, c.nservers);
    EXPECT_EQ(0, c.client_port); // client ports come from the server lines
    const struct cv_config_server *s = c.servers;
    EXPECT_EQ(1u, s[0].id);
    EXPECT_STREQ("zk1.example.com", s[0].host);
    EXPECT_EQ(2888, s[0].quorum_port);
    EXPECT_EQ(3888, s[0].election_port);
    EXPECT_EQ(CV_ROLE_PARTICIPANT, s[0].role);
    EXPECT_STREQ("", s[0].client_host);
    EXPECT_EQ(0, s[0].client_port);
    EXPECT_EQ(2u, s[1].id);
    EXPECT_STREQ("127.0.0.2", s[1].host);
    EXPECT_STREQ("0.0.0.0", s[1].client_host);
    EXPECT_EQ(2182, s[1].client_port);
    EXPECT_EQ(3u, s[2].id);
    EXPECT_STREQ("::1", s[2].host);
    EXPECT_EQ(CV_ROLE_OBSERVER, s[2].role);
    EXPECT_STREQ("::1", s[2].client_host);
    EXPECT_EQ(2183, s[2].client_port);
    EXPECT_TRUE(cv_config_distributed(&c));
}

TEST(Config, OneServerLineRunsStandaloneUnlessStandaloneDisabled)
{
    struct cv_config c;
    ASSERT_EQ(0, parse(&c, std::string(kBase) + "server.1=127.0.0.1:2888:3888\n").rc);
    EXPECT_FALSE(cv_config_distributed(&c));
    char err[256];
    ASSERT_EQ(0, cv_config_load_myid(&c, err, sizeof err));
    EXPECT_EQ(1, c.my_id);
    Parsed p =
        parse(&c, std::string(kBase) + "server.1=127.0.0.1:2888:3888\nstandaloneEnabled=false\n");
    EXPECT_EQ(-EINVAL, p.rc);
    EXPECT_EQ("zoo.cfg: initLimit is not set (required with more than one server)", p.err);
}

struct BadCase {
    const char *line; // appended to kBase (or replacing it when it starts with '@')
    const char *err;
};

TEST(Config, EveryValidationErrorNamesKeyValueAndLimit)
{
    const std::string secret = "corvid.secret=" + std::string(32, '0') + "\n";
    const BadCase cases[] = {
        {"clientPort=abc", "zoo.cfg:4: clientPort: 'abc' is not a port number (1..65535)"},
        {"clientPort=0", "zoo.cfg:4: clientPort: '0' is not a port number (1..65535)"},
        {"clientPort=65536", "zoo.cfg:4: clientPort: '65536' is not a port number (1..65535)"},
        {"clientPort= 21 81", "zoo.cfg:4: clientPort: '21 81' is not a port number (1..65535)"},
        {"tickTime=0", "zoo.cfg:4: tickTime: '0' is not an integer in 1..2147483647"},
        {"tickTime=0x10", "zoo.cfg:4: tickTime: '0x10' is not an integer in 1..2147483647"},
        {"tickTime=2147483648",
         "zoo.cfg:4: tickTime: '2147483648' is not an integer in 1..2147483647"},
        {"initLimit=-1", "zoo.cfg:4: initLimit: '-1' is not an integer in 1..2147483647"},
        {"maxClientCnxns=-5", "zoo.cfg:4: maxClientCnxns: '-5' is not an integer in 0..2147483647"},
        {"minSessionTimeout=0", "zoo.cfg:4: minSessionTimeout: '0' is not a timeout in ms "
                                "(1..2147483647, or -1 for the default)"},
        {"maxSessionTimeout=x", "zoo.cfg:4: maxSessionTimeout: 'x' is not a timeout in ms "
                                "(1..2147483647, or -1 for the default)"},
        {"minSessionTimeout=50000",
         "zoo.cfg: minSessionTimeout (50000) must not be larger than maxSessionTimeout (40000)"},
        {"jute.maxbuffer=0",
         "zoo.cfg:4: jute.maxbuffer: '0' is not an integer in 1024..2147483647"},
        {"globalOutstandingLimit=0",
         "zoo.cfg:4: globalOutstandingLimit: '0' is not an integer in 1..2147483647"},
        {"clientPortAddress=300.1.1.1",
         "zoo.cfg:4: clientPortAddress: '300.1.1.1' is not an IP address or host name"},
        {"clientPortAddress=bad host",
         "zoo.cfg:4: clientPortAddress: 'bad host' is not an IP address or host name"},
        {"clientPortAddress=-a.b", "zoo.cfg:4: clientPortAddress: '-a.b' is not an IP address or "
                                   "host name"},
        {"4lw.commands.whitelist=ruok,nope",
         "zoo.cfg:4: 4lw.commands.whitelist: 'nope' is not a four-letter word (one of conf cons "
         "crst dirs dump envi gtmk ruok stmk srst srvr stat wchc wchp wchs mntr isro hash, or *)"},
        {"extendedTypesEnabled=yes",
         "zoo.cfg:4: extendedTypesEnabled: 'yes' is not a boolean (true or false)"},
        {"skipACL=maybe", "zoo.cfg:4: skipACL: 'maybe' is not yes or no"},
        {"peerType=witness",
         "zoo.cfg:4: peerType: 'witness' is not a peer type (participant or observer)"},
        {"electionAlg=1",
         "zoo.cfg:4: electionAlg: '1' is not a supported election algorithm (only 3)"},
        {"dynamicConfigFile=/x.dyn", "zoo.cfg:4: dynamicConfigFile: not supported by corvid: put "
                                     "the server.N lines in this file"},
        {"server.x=h:1:2", "zoo.cfg:4: server.x: 'x' is not a server id (0..254)"},
        {"server.255=h:1:2", "zoo.cfg:4: server.255: '255' is not a server id (0..254)"},
        {"server.1=h:2888", "zoo.cfg:4: server.1: 'h:2888' is not "
                            "host:quorumPort:electionPort[:participant|:observer]"
                            "[;[clientHost:]clientPort]"},
        {"server.1=h:2888:2888",
         "zoo.cfg:4: server.1: 'h:2888:2888': the quorum and election ports must be different"},
        {"server.1=h:2888:0", "zoo.cfg:4: server.1: '0' is not a port number (1..65535)"},
        {"server.1=h:1:2:voter",
         "zoo.cfg:4: server.1: 'h:1:2:voter': 'voter' is not a role (participant or observer)"},
        {"server.1=h:1:2|g:1:2",
         "zoo.cfg:4: server.1: 'h:1:2|g:1:2': several addresses per server ('|') are not "
         "supported"},
        {"server.1=h:1:2;x:y:3", "zoo.cfg:4: server.1: 'h:1:2;x:y:3' is not "
                                 "host:quorumPort:electionPort[:participant|:observer]"
                                 "[;[clientHost:]clientPort]"},
        {"server.1=h_:1:2\nserver.01=h:3:4",
         "zoo.cfg:5: server.01: server 1 is already defined by another server.N key"},
        {"corvid.secret=abc", "zoo.cfg:4: corvid.secret: the value is not 32..128 hex digits (an "
                              "even count: 16..64 bytes)"},
        {"corvid.secret=zz0000000000000000000000000000000",
         "zoo.cfg:4: corvid.secret: the value is not 32..128 hex digits (an even count: 16..64 "
         "bytes)"},
        {"corvid.superDigest=super:secret",
         "zoo.cfg:4: corvid.superDigest: 'super:secret' is not user:base64(sha1(user:password)) "
         "(28 base64 characters after the ':')"},
        {"corvid.lcores=0,a", "zoo.cfg:4: corvid.lcores: '0,a' is not a list of lcore ids (e.g. "
                              "0,2-5; ids 0..1023)"},
        {"corvid.lcores=3-1", "zoo.cfg:4: corvid.lcores: '3-1' is not a list of lcore ids (e.g. "
                              "0,2-5; ids 0..1023)"},
        {"corvid.lcores=1024", "zoo.cfg:4: corvid.lcores: '1024' is not a list of lcore ids "
                               "(e.g. 0,2-5; ids 0..1023)"},
        {"corvid.lcores=0-200", "zoo.cfg:4: corvid.lcores: '0-200' names more than 128 lcores"},
        {"corvid.ioLcores=1", "zoo.cfg: corvid.ioLcores: lcore 1 is not in corvid.lcores"},
        {"corvid.sequencerLcore=1",
         "zoo.cfg: corvid.sequencerLcore: lcore 1 is not in corvid.lcores"},
        {"corvid.sequencerLcore=x", "zoo.cfg:4: corvid.sequencerLcore: 'x' is not an lcore id "
                                    "(0..1023)"},
        {"corvid.pollMode=spin",
         "zoo.cfg:4: corvid.pollMode: 'spin' is not a poll mode (busy or adaptive)"},
        {"corvid.pollSpinUs=-1",
         "zoo.cfg:4: corvid.pollSpinUs: '-1' is not an integer in 0..1000000"},
        {"corvid.transport=rdma",
         "zoo.cfg:4: corvid.transport: 'rdma' is not a transport (socket or dpdk)"},
        {"corvid.maxSessions=0",
         "zoo.cfg:4: corvid.maxSessions: '0' is not an integer in 1..268435456"},
        {"dataDir=", "zoo.cfg:4: dataDir: '' is not a path (1..1023 bytes)"},
        {"admin.serverPort=http", "zoo.cfg:4: admin.serverPort: 'http' is not a port number "
                                  "(1..65535)"},
        {"secureClientPort=70000", "zoo.cfg:4: secureClientPort: '70000' is not a port number "
                                   "(1..65535, or 0 for none)"},
        {"bad=\\u12", "zoo.cfg:4: malformed \\uXXXX escape"},
        {"@dataDir=/d\nclientPort=1", "zoo.cfg: tickTime is not set (required: milliseconds per "
                                      "tick, e.g. 2000)"},
        {"@tickTime=1\nclientPort=1", "zoo.cfg: dataDir is not set (required: the snapshot "
                                      "directory)"},
        {"@tickTime=1\ndataDir=/d", "zoo.cfg: clientPort is not set (and no server.N line gives "
                                    "a client port)"},
        {"@tickTime=1\ndataDir=/d\nclientPortAddress=::1",
         "zoo.cfg: clientPortAddress is set but clientPort is not set"},
        {"@tickTime=1\ndataDir=/d\nclientPort=1\nserver.1=a:1:2\nserver.2=b:1:2\ninitLimit=1",
         "zoo.cfg: syncLimit is not set (required with more than one server)"},
        {"@tickTime=1\ndataDir=/d\nclientPort=1\nserver.1=a:1:2\nserver.2=b:1:2\ninitLimit=1\n"
         "syncLimit=1",
         "zoo.cfg: corvid.secret is not set (required with more than one server: every server "
         "must verify every session's password)"},
        {"@tickTime=1\ndataDir=/d\nclientPort=1\nserver.1=a:1:2:observer\n"
         "server.2=b:1:2:observer\ninitLimit=1\nsyncLimit=1\ncorvid.secret="
         "0000000000000000000000000000000000",
         "zoo.cfg: no server.N line is a participant (observers cannot form a quorum)"},
        {"@tickTime=1073741824\ndataDir=/d\nclientPort=1",
         "zoo.cfg: tickTime 1073741824 is too large for the default session timeouts (2x and "
         "20x)"},
    };
    for (const BadCase &bc : cases) {
        std::string text = bc.line[0] == '@' ? std::string(bc.line + 1) + "\n"
                                             : std::string(kBase) + bc.line + "\n";
        struct cv_config c;
        memset(&c, 0x5a, sizeof c);
        struct cv_config before = c;
        Parsed p = parse(&c, text);
        EXPECT_EQ(-EINVAL, p.rc) << bc.line;
        EXPECT_EQ(bc.err, p.err) << bc.line;
        EXPECT_EQ(0, memcmp(&before, &c, sizeof c)) << "a failed parse changed cfg: " << bc.line;
    }
    (void)secret;
}

TEST(Config, SecretIsNeverEchoedInErrors)
{
    struct cv_config c;
    Parsed p = parse(&c, std::string(kBase) + "corvid.secret=topsecretvalue\n");
    EXPECT_EQ(-EINVAL, p.rc);
    EXPECT_EQ(std::string::npos, p.err.find("topsecret"));
}

TEST(Config, UnknownKeyWarnsWithFileAndLineAndStillParses)
{
    struct cv_config c;
    Parsed p = parse(&c, std::string(kBase) + "fooBar=1\n\nsnapCount=10\nzookeeper.x=2\n");
    ASSERT_EQ(0, p.rc) << p.err;
    ASSERT_EQ(2u, p.warnings.size());
    EXPECT_EQ("zoo.cfg:4: unknown key 'fooBar' (ignored)", p.warnings[0]);
    EXPECT_EQ("zoo.cfg:7: unknown key 'zookeeper.x' (ignored)", p.warnings[1]);
    EXPECT_EQ(10, c.snap_count);
}

TEST(Config, TlsAndSaslSettingsWarnBecauseCorvidHasNone)
{
    struct cv_config c;
    Parsed p =
        parse(&c, std::string(kBase) + "secureClientPort=2281\nsslQuorum=true\n"
                                       "quorum.auth.enableSasl=true\nportUnification=false\n");
    ASSERT_EQ(0, p.rc) << p.err;
    ASSERT_EQ(3u, p.warnings.size());
    EXPECT_EQ("zoo.cfg:4: secureClientPort: corvid has no TLS; this port is not opened",
              p.warnings[0]);
    EXPECT_EQ("zoo.cfg:5: sslQuorum: corvid has no TLS or SASL; ignored", p.warnings[1]);
    EXPECT_EQ(2281, c.secure_client_port);
    EXPECT_TRUE(c.ssl_quorum);
    EXPECT_TRUE(c.quorum_sasl);
}

TEST(Config, SnapRetainCountBelowThreeBecomesThreeWithAWarning)
{
    struct cv_config c;
    Parsed p = parse(&c, std::string(kBase) + "autopurge.snapRetainCount=1\n");
    ASSERT_EQ(0, p.rc);
    ASSERT_EQ(1u, p.warnings.size());
    EXPECT_EQ("zoo.cfg: autopurge.snapRetainCount 1 is below 3: using 3", p.warnings[0]);
    EXPECT_EQ(3, c.snap_retain_count);
}

TEST(Config, CommentsWhitespaceSeparatorsContinuationsAndEscapes)
{
    const std::string text = "# a comment\r\n"
                             "   ! another comment \\\n"
                             "tickTime = 1500   \r\n"
                             "\t dataDir\t/var/lib/zk dir  \n"
                             "clientPort:2181\n"
                             "\n"
                             "   \n"
                             "clientPortAddress=127.0.\\\n"
                             "      0.1\n"
                             "corvid.eal=a\\tb\\u00e9\\=\\:\\\\\n"
                             "corvid\\.pollMode=busy\n"
                             "maxClientCnxns=";
    struct cv_config c;
    Parsed p = parse(&c, text);
    ASSERT_EQ(-EINVAL, p.rc); // maxClientCnxns with an empty value
    EXPECT_EQ("zoo.cfg:12: maxClientCnxns: '' is not an integer in 0..2147483647", p.err);
    p = parse(&c, text + "7");
    ASSERT_EQ(0, p.rc) << p.err;
    EXPECT_TRUE(p.warnings.empty());
    EXPECT_EQ(1500, c.tick_ms);
    EXPECT_STREQ("/var/lib/zk dir", c.data_dir);
    EXPECT_EQ(2181, c.client_port);
    EXPECT_STREQ("127.0.0.1", c.client_addr);
    EXPECT_STREQ("a\tb\xc3\xa9=:\\", c.eal_args);
    EXPECT_EQ(CV_POLL_BUSY, c.poll_mode);
    EXPECT_EQ(7, c.max_client_cnxns);
}

TEST(Config, LaterDuplicatesWinAndEarlierOnesAreNeverValidated)
{
    // java.util.Properties keeps the last value only, so ZooKeeper never sees
    // the first one: a bad value overwritten later is not an error.
    struct cv_config c;
    Parsed p = parse(&c, "clientPort=abc\ntickTime=1000\ndataDir=/a\ntickTime=3000\n"
                         "clientPort=2182\ndataDir=/b\nfoo=1\nfoo=2\n");
    ASSERT_EQ(0, p.rc) << p.err;
    EXPECT_EQ(3000, c.tick_ms);
    EXPECT_EQ(2182, c.client_port);
    EXPECT_STREQ("/b", c.data_dir);
    ASSERT_EQ(1u, p.warnings.size()); // once per key, at its last line
    EXPECT_EQ("zoo.cfg:8: unknown key 'foo' (ignored)", p.warnings[0]);
}

TEST(Config, KeysAreCaseSensitiveAsInZooKeeper)
{
    struct cv_config c;
    Parsed p = parse(&c, std::string(kBase) + "ticktime=5\n");
    ASSERT_EQ(0, p.rc);
    ASSERT_EQ(1u, p.warnings.size());
    EXPECT_EQ(2000, c.tick_ms);
}

TEST(Config, WhitelistSemantics)
{
    struct cv_config c;
    // ZooKeeper's default (key absent): srvr only.
    ASSERT_EQ(0, parse(&c, kBase).rc);
    for (int w = 0; w < CV_4LW_COUNT; w++)
        EXPECT_EQ(w == CV_4LW_SRVR,
                  cv_config_4lw_allowed(&c, cv_config_4lw_name((enum cv_fourlw_word)w)));
    // "*": every word.
    ASSERT_EQ(0, parse(&c, std::string(kBase) + "4lw.commands.whitelist=*\n").rc);
    for (int w = 0; w < CV_4LW_COUNT; w++)
        EXPECT_TRUE(cv_config_4lw_allowed(&c, cv_config_4lw_name((enum cv_fourlw_word)w)));
    EXPECT_FALSE(cv_config_4lw_allowed(&c, "abcd"));
    // Comma list with blanks and empty items (recorded: "ruok, conf ,,"), plus srvr.
    ASSERT_EQ(0, parse(&c, std::string(kBase) + "4lw.commands.whitelist=ruok, conf ,,\n").rc);
    EXPECT_TRUE(cv_config_4lw_allowed(&c, "ruok"));
    EXPECT_TRUE(cv_config_4lw_allowed(&c, "conf"));
    EXPECT_TRUE(cv_config_4lw_allowed(&c, "srvr"));
    EXPECT_FALSE(cv_config_4lw_allowed(&c, "stat"));
    // Blank-separated (corvid; ZooKeeper would enable neither).
    ASSERT_EQ(0, parse(&c, std::string(kBase) + "4lw.commands.whitelist=stat mntr\n").rc);
    EXPECT_TRUE(cv_config_4lw_allowed(&c, "stat"));
    EXPECT_TRUE(cv_config_4lw_allowed(&c, "mntr"));
    EXPECT_FALSE(cv_config_4lw_allowed(&c, "ruok"));
    // Empty list: srvr still answers.
    ASSERT_EQ(0, parse(&c, std::string(kBase) + "4lw.commands.whitelist=\n").rc);
    EXPECT_EQ(1u << CV_4LW_SRVR, c.fourlw_allowed);
    // Read-only mode adds isro (FourLetterCommands.isEnabled).
    ASSERT_EQ(0, parse(&c, std::string(kBase) + "readonlymode.enabled=true\n").rc);
    EXPECT_TRUE(cv_config_4lw_allowed(&c, "isro"));
    EXPECT_FALSE(cv_config_4lw_allowed(&c, "ruok"));
    // Words are 4 bytes; case matters.
    EXPECT_FALSE(cv_config_4lw_allowed(&c, "SRVR"));
}

TEST(Config, FourLetterWordNames)
{
    for (int w = 0; w < CV_4LW_COUNT; w++) {
        const char *n = cv_config_4lw_name((enum cv_fourlw_word)w);
        ASSERT_NE(nullptr, n);
        EXPECT_EQ(4u, strlen(n));
        EXPECT_EQ(w, cv_config_4lw_word(n));
    }
    EXPECT_EQ(nullptr, cv_config_4lw_name(CV_4LW_COUNT));
    EXPECT_EQ(-1, cv_config_4lw_word("zzzz"));
}

TEST(Config, HelpListsEveryKeyOfTheTableAndEveryKeyParses)
{
    std::string help = help_text();
    size_t n = 0;
    for (const char *k; (k = cv_config_key_name(n)); n++) {
        std::string name = k;
        if (name == "server.")
            name = "server.N";
        else if (name.back() == '.')
            name += "*";
        EXPECT_NE(std::string::npos, help.find("  " + name + " ")) << name;
        // Every key of the table is known to the parser (no "unknown key").
        if (std::string(k).back() != '.' && std::string(k) != "dynamicConfigFile") {
            struct cv_config c;
            Parsed p = parse(&c, std::string(kBase) + k + "=@\n");
            for (const std::string &w : p.warnings)
                EXPECT_EQ(std::string::npos, w.find("unknown key")) << w;
        }
    }
    EXPECT_GT(n, 50u);
    EXPECT_NE(std::string::npos, help.find("clientPortAddress=127.0.0.1"));
    EXPECT_NE(std::string::npos, help.find("default 60 "));
}

TEST(Config, ConfRendersZooKeepersDumpConfFormat)
{
    // Recorded from ZooKeeper 3.8 (fourlw_golden/conf.txt), with that server's
    // dataDir and sizes.
    std::ifstream f(CV_FOURLW_GOLDEN_DIR "/conf.txt");
    std::stringstream ss;
    ss << f.rdbuf();
    std::string golden = ss.str();
    size_t a = golden.find("dataDir=") + 8;
    std::string dir = golden.substr(a, golden.find("/version-2") - a);
    struct cv_config c;
    Parsed p = parse(&c, "tickTime=2000\ndataDir=" + dir +
                             "/\nclientPort=25150\nclientPortAddress=127.0.0.1\n"
                             "maxClientCnxns=60\n");
    ASSERT_EQ(0, p.rc) << p.err;
    char buf[4096];
    int n = cv_config_render(&c, 67109337, 67109337, buf, sizeof buf);
    ASSERT_GT(n, 0);
    EXPECT_EQ(golden, std::string(buf, (size_t)n));
    EXPECT_EQ(-ENOBUFS, cv_config_render(&c, 67109337, 67109337, buf, (size_t)n));
    // Relative paths are joined to the working directory, as File does.
    ASSERT_EQ(0, cv_config_defaults(&c));
    n = cv_config_render(&c, 0, 0, buf, sizeof buf);
    char cwd[4096];
    ASSERT_NE(nullptr, getcwd(cwd, sizeof cwd));
    EXPECT_NE(std::string::npos,
              std::string(buf).find("dataDir=" + std::string(cwd) + "/./data/version-2\n"));
}

TEST(Config, ParseFileReportsPathAndLine)
{
    char dir[] = "/tmp/cv-config-XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(dir));
    std::string path = std::string(dir) + "/zoo.cfg";
    {
        std::ofstream o(path);
        o << "tickTime=2000\ndataDir=" << dir << "\nclientPort=nope\n";
    }
    struct cv_config c;
    char err[512];
    EXPECT_EQ(-EINVAL, cv_config_parse_file(&c, path.c_str(), err, sizeof err, nullptr, nullptr));
    EXPECT_EQ(path + ":3: clientPort: 'nope' is not a port number (1..65535)", err);
    {
        std::ofstream o(path);
        o << "tickTime=2000\ndataDir=" << dir << "\nclientPort=2181\n";
    }
    ASSERT_EQ(0, cv_config_parse_file(&c, path.c_str(), err, sizeof err, nullptr, nullptr));
    EXPECT_EQ(2181, c.client_port);
    EXPECT_EQ(-ENOENT,
              cv_config_parse_file(&c, "/nonexistent/zoo.cfg", err, sizeof err, nullptr, nullptr));
    EXPECT_EQ(std::string("/nonexistent/zoo.cfg: cannot open: No such file or directory"), err);
    unlink(path.c_str());
    rmdir(dir);
}

TEST(Config, MyidIsReadForAnEnsembleAndMustNameAServer)
{
    char dir[] = "/tmp/cv-myid-XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(dir));
    std::string text = std::string("tickTime=2000\ninitLimit=5\nsyncLimit=2\ndataDir=") + dir +
                       "\nclientPort=2181\ncorvid.secret=" + std::string(32, 'f') +
                       "\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\n";
    struct cv_config c;
    ASSERT_EQ(0, parse(&c, text).rc);
    char err[512];
    EXPECT_EQ(-ENOENT, cv_config_load_myid(&c, err, sizeof err));
    std::string myid = std::string(dir) + "/myid";
    {
        std::ofstream o(myid);
        o << " 2 \n";
    }
    ASSERT_EQ(0, cv_config_load_myid(&c, err, sizeof err)) << err;
    EXPECT_EQ(2, c.my_id);
    {
        std::ofstream o(myid);
        o << "7\n";
    }
    EXPECT_EQ(-EINVAL, cv_config_load_myid(&c, err, sizeof err));
    EXPECT_EQ(myid + ": id 7 has no server.7 line", err);
    {
        std::ofstream o(myid);
        o << "two\n";
    }
    EXPECT_EQ(-EINVAL, cv_config_load_myid(&c, err, sizeof err));
    EXPECT_EQ(myid + ": 'two' is not a server id (0..254)", err);
    unlink(myid.c_str());
    rmdir(dir);
    // Standalone: serverId 0, nothing read.
    ASSERT_EQ(0, cv_config_defaults(&c));
    ASSERT_EQ(0, cv_config_load_myid(&c, err, sizeof err));
    EXPECT_EQ(0, c.my_id);
}
