/*
 * cv_config — zoo.cfg: ZooKeeper's own configuration file, read the way
 * ZooKeeper 3.8 reads it (QuorumPeerConfig over java.util.Properties), plus
 * corvid's own keys under "corvid.".
 *
 * Contract
 * - One key table (cv_config.c) drives the parser, the defaults and the
 *   --help text (cv_config_help), so they cannot drift apart.
 * - No global state; the parse functions touch only the struct they are
 *   given. cv_config_parse_file and cv_config_load_myid read files;
 *   cv_config_render may call getcwd() for a relative dataDir; nothing else
 *   does I/O. Nothing allocates beyond a scratch copy freed before return.
 * - A failed parse leaves *cfg untouched and writes one line to err naming
 *   the key (and file:line), the value and what is allowed, e.g.
 *   "zoo.cfg:3: clientPort: 'abc' is not a port number (1..65535)". The
 *   caller prints it and exits with status 2.
 * - Unknown keys do not fail: warn(ctx, "zoo.cfg:7: unknown key 'foo' (ignored)")
 *   is called once per such line and parsing continues. warn may be NULL.
 *
 * Syntax (java.util.Properties, as ZooKeeper uses it)
 * - Lines whose first non-blank character is '#' or '!' are comments; blank
 *   lines are skipped; a line ending in an odd number of '\' continues on the
 *   next line (whose leading blanks are dropped).
 * - The key ends at the first unescaped '=', ':' or blank; blanks around the
 *   separator are skipped ("clientPort = 2181", "clientPort 2181" and
 *   "clientPort:2181" are one and the same). ZooKeeper then trims both key
 *   and value (String.trim: every byte <= 0x20 at either end).
 * - Escapes \t \n \r \f \uXXXX and \<any> -> <any>, as Properties does.
 * - A key given twice: the last one wins (Properties is a hash table); no
 *   warning, as in ZooKeeper.
 * - Numbers are Java int decimal (Integer.parseInt: optional sign, digits,
 *   no blanks, no hex); booleans are true/false in any case.
 *
 * Where corvid differs from ZooKeeper 3.8, on purpose
 * - Unknown keys warn (ZooKeeper silently turns them into "zookeeper.<key>"
 *   Java system properties).
 * - jute.maxbuffer and readonlymode.enabled are honoured from the file
 *   (ZooKeeper reads them only as Java system properties, so in zoo.cfg they
 *   do nothing); corvid.superDigest replaces the Java system property
 *   zookeeper.DigestAuthenticationProvider.superDigest.
 * - 4lw.commands.whitelist may also separate words with blanks (ZooKeeper
 *   splits on ',' only, so "ruok stat" silently enables neither) and an
 *   unknown word is an error.
 * - Bytes are taken as they are (UTF-8); Properties reads ISO-8859-1.
 * - dynamicConfigFile is refused (put server.N lines in zoo.cfg); server ids
 *   are 0..254 (session ids carry the id in one byte, and ZooKeeper's
 *   EphemeralType refuses 255 as well).
 * - secureClientPort, sslQuorum, portUnification and quorum SASL are parsed
 *   and stored but corvid has no TLS or SASL: enabling one warns.
 */
#ifndef CV_CONFIG_H
#define CV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CV_CONFIG_PATH_MAX    1024
#define CV_CONFIG_HOST_MAX    256
#define CV_CONFIG_MAX_SERVERS 255 /* server ids 0..254 */
#define CV_CONFIG_MAX_LCORES  128
#define CV_CONFIG_LCORE_MAX   1023 /* largest lcore id (DPDK's RTE_MAX_LCORE - 1 on Debian) */
#define CV_CONFIG_MAX_EXTRA   64   /* stored keys corvid gives no meaning to */
#define CV_CONFIG_SECRET_MAX  64
#define CV_CONFIG_STR_MAX     512

/* The four-letter words ZooKeeper 3.8 knows (FourLetterCommands), as bits of
 * cv_config.fourlw_allowed. */
enum cv_fourlw_word {
    CV_4LW_CONF,
    CV_4LW_CONS,
    CV_4LW_CRST,
    CV_4LW_DIRS,
    CV_4LW_DUMP,
    CV_4LW_ENVI,
    CV_4LW_GTMK,
    CV_4LW_RUOK,
    CV_4LW_STMK,
    CV_4LW_SRST,
    CV_4LW_SRVR,
    CV_4LW_STAT,
    CV_4LW_WCHC,
    CV_4LW_WCHP,
    CV_4LW_WCHS,
    CV_4LW_MNTR,
    CV_4LW_ISRO,
    CV_4LW_HASH,
    CV_4LW_COUNT
};
/* "conf", ... for a word; NULL out of range. */
const char *cv_config_4lw_name(enum cv_fourlw_word w);
/* The word for 4 bytes (not NUL-terminated), or -1 if none. */
int cv_config_4lw_word(const char cmd[4]);

enum cv_config_role { CV_ROLE_PARTICIPANT = 0, CV_ROLE_OBSERVER = 1 };
enum cv_config_poll { CV_POLL_ADAPTIVE = 0, CV_POLL_BUSY = 1 };
enum cv_config_transport { CV_TRANSPORT_SOCKET = 0, CV_TRANSPORT_DPDK = 1 };
enum cv_config_wal_io { CV_WALIO_URING = 0, CV_WALIO_PWRITE = 1 };

/* server.N=host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort] */
struct cv_config_server {
    uint32_t id;
    char host[CV_CONFIG_HOST_MAX]; /* IPv6 without its brackets */
    uint16_t quorum_port;          /* followers connect to the leader here */
    uint16_t election_port;
    enum cv_config_role role;
    char client_host[CV_CONFIG_HOST_MAX]; /* "" if no client part; "0.0.0.0" for ";port" */
    uint16_t client_port;                 /* 0 if no client part */
};

/* A key corvid accepts and keeps but gives no meaning to (metricsProvider.*,
 * admin.commandURL, ...). */
struct cv_config_extra {
    char key[128];
    char value[CV_CONFIG_STR_MAX];
};

struct cv_config {
    /* ---- ZooKeeper keys corvid acts on ---- */
    int32_t tick_ms;    /* tickTime */
    int32_t init_limit; /* initLimit (ticks); 0 = unset (required with >1 server) */
    int32_t sync_limit; /* syncLimit (ticks); 0 = unset (required with >1 server) */
    int32_t connect_to_learner_master_limit; /* 0 = initLimit, as ZooKeeper */
    char data_dir[CV_CONFIG_PATH_MAX];
    char data_log_dir[CV_CONFIG_PATH_MAX];    /* = data_dir when not given */
    uint16_t client_port;                     /* 0: none (only with server.N client parts) */
    char client_addr[CV_CONFIG_HOST_MAX];     /* clientPortAddress; "0.0.0.0" = all */
    int32_t client_backlog;                   /* clientPortListenBacklog; -1 = OS default */
    int32_t max_client_cnxns;                 /* per client IP; 0 = unlimited */
    int32_t min_session_timeout;              /* ms; resolved (2 * tick if not given) */
    int32_t max_session_timeout;              /* ms; resolved (20 * tick if not given) */
    char fourlw_whitelist[CV_CONFIG_STR_MAX]; /* as written ("" = key absent) */
    uint32_t fourlw_allowed;                  /* bit (1 << enum cv_fourlw_word) */
    int32_t jute_maxbuffer;                   /* largest frame, bytes */
    int32_t global_outstanding_limit;
    bool extended_types;   /* extendedTypesEnabled: TTL nodes */
    bool reconfig_enabled; /* reconfigEnabled */
    bool standalone_enabled;
    bool skip_acl;          /* skipACL=yes */
    bool read_only_enabled; /* readonlymode.enabled */
    bool force_sync;        /* forceSync (yes) */
    bool sync_enabled;      /* syncEnabled: observers log to disk */
    bool quorum_listen_all_ips;
    bool local_sessions_enabled;
    bool local_sessions_upgrading_enabled;
    enum cv_config_role peer_type; /* peerType */
    int64_t snap_count;            /* snapCount: transactions between snapshots */
    int64_t pre_alloc_kb;          /* preAllocSize, KB */
    int64_t fsync_warning_ms;      /* fsync.warningthresholdms */
    int32_t snap_retain_count;     /* autopurge.snapRetainCount (>= 3) */
    int32_t purge_interval_h;      /* autopurge.purgeInterval, hours; 0 = off */
    bool admin_enabled;            /* admin.enableServer */
    uint16_t admin_port;           /* admin.serverPort */
    char admin_addr[CV_CONFIG_HOST_MAX];
    int64_t admin_idle_timeout_ms;            /* admin.idleTimeout */
    char metrics_provider[CV_CONFIG_STR_MAX]; /* metricsProvider.className */
    int32_t metrics_port;                     /* metricsProvider.httpPort; -1: off */
    char metrics_addr[CV_CONFIG_HOST_MAX];    /* metricsProvider.httpHost */
    /* ---- stored, not acted on (no TLS / SASL / multi-address in corvid) ---- */
    int32_t secure_client_port; /* -1 = unset (ZooKeeper's conf prints -1) */
    char secure_client_addr[CV_CONFIG_HOST_MAX];
    int32_t observer_master_port; /* -1 = unset */
    bool ssl_quorum, port_unification, quorum_sasl, multi_address;
    struct cv_config_extra extra[CV_CONFIG_MAX_EXTRA];
    uint32_t nextra;
    /* ---- ensemble ---- */
    struct cv_config_server servers[CV_CONFIG_MAX_SERVERS]; /* ascending id */
    uint32_t nservers;
    int32_t my_id; /* dataDir/myid (cv_config_load_myid); -1 = not read; 0 standalone */
    /* ---- corvid ---- */
    char super_digest[CV_CONFIG_STR_MAX];  /* corvid.superDigest "user:base64sha1"; "" none */
    uint8_t secret[CV_CONFIG_SECRET_MAX];  /* corvid.secret (hex in the file) */
    uint32_t secret_len;                   /* 0 = none given */
    uint16_t lcores[CV_CONFIG_MAX_LCORES]; /* corvid.lcores, ascending, distinct */
    uint32_t nlcores;
    uint16_t io_lcores[CV_CONFIG_MAX_LCORES]; /* corvid.ioLcores (subset of lcores) */
    uint32_t nio_lcores;
    uint16_t sequencer_lcore; /* corvid.sequencerLcore (one of lcores) */
    enum cv_config_poll poll_mode;
    int32_t poll_spin_us; /* corvid.pollSpinUs: adaptive mode's spin before sleeping */
    bool telemetry;       /* corvid.telemetry: DPDK's telemetry socket */
    enum cv_config_transport transport;
    char eal_args[CV_CONFIG_STR_MAX];            /* corvid.eal: extra DPDK EAL arguments */
    uint32_t max_sessions;                       /* corvid.maxSessions: same on every server */
    enum cv_config_wal_io wal_io;                /* corvid.walBackend */
    char test_wal_stall_file[CV_CONFIG_STR_MAX]; /* corvid.test.walStallFile ("" off) */
    char test_peer_drop_file[CV_CONFIG_STR_MAX]; /* corvid.test.peerDropFile ("" off) */
};

/* corvid's embedded configuration, used when no --config is given: a zoo.cfg
 * text, parsed by the same parser. */
extern const char cv_config_embedded[];

/* Fill cfg with the embedded configuration (tickTime=2000, clientPort=2181,
 * clientPortAddress=127.0.0.1, dataDir=./data, maxClientCnxns=60, session
 * timeouts 4000..40000, 4lw whitelist ZooKeeper's default: srvr only).
 * Returns 0. */
int cv_config_defaults(struct cv_config *cfg);

typedef void (*cv_config_warn_fn)(void *ctx, const char *msg);

/*
 * Parse a zoo.cfg. Starts from ZooKeeper's defaults for a file (tickTime
 * and dataDir required, clientPortAddress all addresses), not from the
 * embedded configuration. 0, or -EINVAL (bad value, missing key, failed
 * cross-check; err says which), -ENOENT / -EIO / -EFBIG (cannot read the
 * file), with *cfg unchanged on error.
 */
int cv_config_parse_file(struct cv_config *cfg, const char *path, char *err, size_t errlen,
                         cv_config_warn_fn warn, void *ctx);
/* The same from text in memory; name is used in messages (e.g. "zoo.cfg"). */
int cv_config_parse_string(struct cv_config *cfg, const char *text, size_t len, const char *name,
                           char *err, size_t errlen, cv_config_warn_fn warn, void *ctx);

/*
 * With server.N lines (an ensemble), read dataDir/myid as ZooKeeper does
 * (a decimal id, blanks trimmed) into cfg->my_id and check it names one of
 * the servers. Standalone: my_id = 0 and no file is read. 0, -ENOENT,
 * -EINVAL (err says why).
 */
int cv_config_load_myid(struct cv_config *cfg, char *err, size_t errlen);

/* True when the ensemble has more than one server, or one with
 * standaloneEnabled=false (ZooKeeper's isDistributed). */
bool cv_config_distributed(const struct cv_config *cfg);

/* One line per key: name, default, meaning; then the embedded config. */
void cv_config_help(FILE *f);

/* Whether four-letter word cmd (4 bytes, need not be NUL-terminated) may
 * run: in the whitelist ("*" = every word), or srvr (always: zkServer.sh
 * needs it), or isro when readonlymode.enabled. False for unknown words. */
bool cv_config_4lw_allowed(const struct cv_config *cfg, const char *cmd);

/*
 * The `conf` four-letter word, exactly as ZooKeeper's dumpConf prints it:
 * clientPort, secureClientPort, dataDir (absolute, + "/version-2"),
 * dataDirSize, dataLogDir, dataLogSize, tickTime, maxClientCnxns,
 * minSessionTimeout, maxSessionTimeout, clientPortListenBacklog, serverId.
 * The sizes are the bytes in the snapshot / log directories (the caller
 * measures them). Returns the length written (NUL-terminated), or -ENOBUFS.
 */
int cv_config_render(const struct cv_config *cfg, int64_t data_dir_size, int64_t log_dir_size,
                     char *buf, size_t cap);

/* The i-th key of the table ("server." and other prefixes end in '.'), NULL
 * past the end: for tests and tools that must cover every key. */
const char *cv_config_key_name(size_t i);

/* A stored key without meaning for corvid: its value, or NULL. */
const char *cv_config_extra(const struct cv_config *cfg, const char *key);

#ifdef __cplusplus
}
#endif
#endif /* CV_CONFIG_H */
