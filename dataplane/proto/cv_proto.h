/*
 * cv_proto — ZooKeeper 3.8 client protocol and transaction records.
 *
 * Contract
 * - Byte-exact with Apache ZooKeeper's jute encoding (zookeeper.jute plus the
 *   readOnly byte the clients append to ConnectRequest/ConnectResponse and the
 *   MultiHeader-delimited multi records). Golden vectors recorded from real
 *   clients and a real server pin it (tests/proto/golden).
 * - Zero-copy, allocation-free, lock-free, syscall-free: decoded strings,
 *   buffers and vectors point into the frame, which the caller keeps alive.
 *   Safe on any lcore for buffers that lcore owns.
 * - Framing: a frame is a 4-byte big-endian length followed by that many
 *   bytes. cv_proto_frame tells "need more bytes" (0) from "complete" (> 0)
 *   from "malformed" (< 0). Nothing reads outside the bytes it is given.
 * - Decode functions return 0, -EBADMSG (malformed: a length or count that
 *   does not fit, a truncated field), or CV_PROTO_EUNKNOWN_OP for a request
 *   whose opcode this codec does not know (the header is still decoded so the
 *   server can answer with ZooKeeper's UNIMPLEMENTED error). The record is
 *   only valid after 0.
 * - Encode functions return the number of bytes written (> 0) or -ENOBUFS
 *   (the output did not fit; discard it) / -EINVAL (nothing to encode for
 *   that opcode, or a vector with neither items nor raw bytes).
 */
#ifndef CV_PROTO_H
#define CV_PROTO_H

#include "cv_jute.h"

#ifdef __cplusplus
extern "C" {
#endif

/* jute.maxbuffer's default, as ZooKeeper's server uses it for a frame. */
#define CV_PROTO_DEFAULT_MAX_FRAME 0xfffff

/* Returned by cv_proto_decode_request for an opcode that is not known. */
#define CV_PROTO_EUNKNOWN_OP (-EPROTONOSUPPORT)

/* ZooDefs.OpCode */
enum cv_op {
    CV_OP_NOTIFICATION = 0,
    CV_OP_CREATE = 1,
    CV_OP_DELETE = 2,
    CV_OP_EXISTS = 3,
    CV_OP_GET_DATA = 4,
    CV_OP_SET_DATA = 5,
    CV_OP_GET_ACL = 6,
    CV_OP_SET_ACL = 7,
    CV_OP_GET_CHILDREN = 8,
    CV_OP_SYNC = 9,
    CV_OP_PING = 11,
    CV_OP_GET_CHILDREN2 = 12,
    CV_OP_CHECK = 13,
    CV_OP_MULTI = 14,
    CV_OP_CREATE2 = 15,
    CV_OP_RECONFIG = 16,
    CV_OP_CHECK_WATCHES = 17,
    CV_OP_REMOVE_WATCHES = 18,
    CV_OP_CREATE_CONTAINER = 19,
    CV_OP_DELETE_CONTAINER = 20,
    CV_OP_CREATE_TTL = 21,
    CV_OP_MULTI_READ = 22,
    CV_OP_AUTH = 100,
    CV_OP_SET_WATCHES = 101,
    CV_OP_SASL = 102,
    CV_OP_GET_EPHEMERALS = 103,
    CV_OP_GET_ALL_CHILDREN_NUMBER = 104,
    CV_OP_SET_WATCHES2 = 105,
    CV_OP_ADD_WATCH = 106,
    CV_OP_WHO_AM_I = 107,
    CV_OP_CREATE_SESSION = -10,
    CV_OP_CLOSE_SESSION = -11,
    CV_OP_ERROR = -1,
};

/* Reserved xids (ClientCnxn). */
enum cv_xid {
    CV_XID_NOTIFICATION = -1,
    CV_XID_PING = -2,
    CV_XID_AUTH = -4,
    CV_XID_SET_WATCHES = -8,
};

/* KeeperException.Code, as sent to clients. */
enum cv_zerr {
    CV_ZOK = 0,
    CV_ZSYSTEMERROR = -1,
    CV_ZRUNTIMEINCONSISTENCY = -2,
    CV_ZDATAINCONSISTENCY = -3,
    CV_ZCONNECTIONLOSS = -4,
    CV_ZMARSHALLINGERROR = -5,
    CV_ZUNIMPLEMENTED = -6,
    CV_ZOPERATIONTIMEOUT = -7,
    CV_ZBADARGUMENTS = -8,
    CV_ZUNKNOWNSESSION = -12,
    CV_ZNEWCONFIGNOQUORUM = -13,
    CV_ZRECONFIGINPROGRESS = -14,
    CV_ZAPIERROR = -100,
    CV_ZNONODE = -101,
    CV_ZNOAUTH = -102,
    CV_ZBADVERSION = -103,
    CV_ZNOCHILDRENFOREPHEMERALS = -108,
    CV_ZNODEEXISTS = -110,
    CV_ZNOTEMPTY = -111,
    CV_ZSESSIONEXPIRED = -112,
    CV_ZINVALIDCALLBACK = -113,
    CV_ZINVALIDACL = -114,
    CV_ZAUTHFAILED = -115,
    CV_ZSESSIONMOVED = -118,
    CV_ZNOTREADONLY = -119,
    CV_ZEPHEMERALONLOCALSESSION = -120,
    CV_ZNOWATCHER = -121,
    CV_ZREQUESTTIMEOUT = -122,
    CV_ZRECONFIGDISABLED = -123,
    CV_ZSESSIONCLOSEDREQUIRESASLAUTH = -124,
    CV_ZQUOTAEXCEEDED = -125,
    CV_ZTHROTTLEDOP = -127,
};

/* Name of an opcode or error ("create", "NONODE"), or NULL if unknown. */
const char *cv_proto_op_name(int32_t op);
const char *cv_proto_err_name(int32_t err);

/* ---- records (org.apache.zookeeper.data / .proto / .txn) ----------------- */

struct cv_id {
    struct cv_jbuf scheme;
    struct cv_jbuf id;
};

struct cv_acl {
    int32_t perms;
    struct cv_id id;
};

struct cv_stat {
    int64_t czxid;
    int64_t mzxid;
    int64_t ctime;
    int64_t mtime;
    int32_t version;
    int32_t cversion;
    int32_t aversion;
    int64_t ephemeral_owner;
    int32_t data_length;
    int32_t num_children;
    int64_t pzxid;
};

/* StatPersisted: Stat without dataLength and numChildren. */
struct cv_stat_persisted {
    int64_t czxid;
    int64_t mzxid;
    int64_t ctime;
    int64_t mtime;
    int32_t version;
    int32_t cversion;
    int32_t aversion;
    int64_t ephemeral_owner;
    int64_t pzxid;
};

struct cv_client_info {
    struct cv_jbuf auth_scheme;
    struct cv_jbuf user;
};

/* ConnectRequest / ConnectResponse. has_read_only: the trailing readOnly byte
 * was present (3.4+ clients send it; old clients do not, and must then not
 * get it back). */
struct cv_connect_request {
    int32_t protocol_version;
    int64_t last_zxid_seen;
    int32_t timeout;
    int64_t session_id;
    struct cv_jbuf passwd;
    uint8_t read_only;
    uint8_t has_read_only;
};

struct cv_connect_response {
    int32_t protocol_version;
    int32_t timeout;
    int64_t session_id;
    struct cv_jbuf passwd;
    uint8_t read_only;
    uint8_t has_read_only;
};

struct cv_request_header {
    int32_t xid;
    int32_t type;
};

struct cv_reply_header {
    int32_t xid;
    int64_t zxid;
    int32_t err;
};

struct cv_multi_header {
    int32_t type;
    uint8_t done;
    int32_t err;
};

/* AuthPacket; also GetSASLRequest / SetSASLResponse use .auth alone. */
struct cv_auth_packet {
    int32_t type;
    struct cv_jbuf scheme;
    struct cv_jbuf auth;
};

struct cv_sasl {
    struct cv_jbuf token;
};

/* SetWatches (first four) and SetWatches2 (all six). vector<ustring>. */
struct cv_set_watches {
    int64_t relative_zxid;
    struct cv_jvec data;
    struct cv_jvec exist;
    struct cv_jvec child;
    struct cv_jvec persistent;
    struct cv_jvec persistent_recursive;
};

/* GetDataRequest, ExistsRequest, GetChildrenRequest, GetChildren2Request. */
struct cv_path_watch {
    struct cv_jbuf path;
    uint8_t watch;
};

/* SyncRequest/Response, GetACLRequest, GetAllChildrenNumberRequest,
 * GetEphemeralsRequest (prefixPath), CreateResponse, DeleteTxn. */
struct cv_path {
    struct cv_jbuf path;
};

/* DeleteRequest, CheckVersionRequest, CheckVersionTxn. */
struct cv_path_version {
    struct cv_jbuf path;
    int32_t version;
};

/* SetDataRequest, SetDataTxn. */
struct cv_set_data {
    struct cv_jbuf path;
    struct cv_jbuf data;
    int32_t version;
};

/* CreateRequest (no ttl), CreateTTLRequest (with ttl). vector<ACL>. */
struct cv_create_request {
    struct cv_jbuf path;
    struct cv_jbuf data;
    struct cv_jvec acl;
    int32_t flags;
    int64_t ttl;
};

/* SetACLRequest, SetACLTxn. */
struct cv_set_acl {
    struct cv_jbuf path;
    struct cv_jvec acl;
    int32_t version;
};

struct cv_reconfig_request {
    struct cv_jbuf joining_servers;
    struct cv_jbuf leaving_servers;
    struct cv_jbuf new_members;
    int64_t cur_config_id;
};

/* AddWatchRequest (type = mode), CheckWatchesRequest, RemoveWatchesRequest. */
struct cv_path_type {
    struct cv_jbuf path;
    int32_t type;
};

/* ExistsResponse, SetDataResponse, SetACLResponse. */
struct cv_stat_response {
    struct cv_stat stat;
};

/* CreateResponse (path only) and Create2Response (path + stat). */
struct cv_create_response {
    struct cv_jbuf path;
    struct cv_stat stat;
};

/* GetDataResponse; also the reconfig response. */
struct cv_get_data_response {
    struct cv_jbuf data;
    struct cv_stat stat;
};

/* GetChildrenResponse (children), GetChildren2Response (children + stat),
 * GetEphemeralsResponse (children = ephemerals), CloseSessionTxn
 * (children = paths2Delete). vector<ustring>. */
struct cv_children_response {
    struct cv_jvec children;
    struct cv_stat stat;
};

struct cv_get_acl_response {
    struct cv_jvec acl;
    struct cv_stat stat;
};

/* ErrorResponse, GetAllChildrenNumberResponse, ErrorTxn, CreateSessionTxn
 * (timeOut), GetMaxChildrenResponse. */
struct cv_int_record {
    int32_t value;
};

struct cv_who_am_i_response {
    struct cv_jvec client_info; /* vector<ClientInfo> */
};

struct cv_watcher_event {
    int32_t type;
    int32_t state;
    struct cv_jbuf path;
};

struct cv_txn_header {
    int64_t client_id;
    int32_t cxid;
    int64_t zxid;
    int64_t time;
    int32_t type;
};

/* CreateTxn (ephemeral + parentCVersion), CreateContainerTxn (parentCVersion),
 * CreateTTLTxn (parentCVersion + ttl). */
struct cv_create_txn {
    struct cv_jbuf path;
    struct cv_jbuf data;
    struct cv_jvec acl;
    uint8_t ephemeral;
    int32_t parent_cversion;
    int64_t ttl;
};

/* Txn: one entry of a MultiTxn; data is the encoded sub-transaction. */
struct cv_txn_entry {
    int32_t type;
    struct cv_jbuf data;
};

struct cv_multi_txn {
    struct cv_jvec txns; /* vector<Txn> */
};

struct cv_txn_digest {
    int32_t version;
    int64_t tree_digest;
};

/* FileHeader of ZooKeeper's log and snapshot files. */
struct cv_file_header {
    int32_t magic;
    int32_t version;
    int64_t dbid;
};

/* Descriptors: pass to cv_jute_decode / cv_jute_encode / cv_jvec_iter. */
extern const struct cv_jrec_desc cv_rec_id, cv_rec_acl, cv_rec_stat, cv_rec_stat_persisted,
    cv_rec_client_info, cv_rec_request_header, cv_rec_reply_header, cv_rec_multi_header,
    cv_rec_auth_packet, cv_rec_sasl, cv_rec_set_watches, cv_rec_set_watches2, cv_rec_path_watch,
    cv_rec_path, cv_rec_path_version, cv_rec_set_data, cv_rec_create_request,
    cv_rec_create_ttl_request, cv_rec_set_acl, cv_rec_reconfig_request, cv_rec_path_type,
    cv_rec_stat_response, cv_rec_create_response, cv_rec_create2_response, cv_rec_get_data_response,
    cv_rec_get_children_response, cv_rec_get_children2_response, cv_rec_get_acl_response,
    cv_rec_int, cv_rec_who_am_i_response, cv_rec_watcher_event, cv_rec_txn_header,
    cv_rec_create_txn, cv_rec_create_container_txn, cv_rec_create_ttl_txn, cv_rec_txn_entry,
    cv_rec_multi_txn, cv_rec_txn_digest, cv_rec_file_header, cv_rec_connect_request_v0,
    cv_rec_connect_response_v0;

/* ---- multi --------------------------------------------------------------- */

/* One operation of a multi / multiRead request (MultiHeader + body). */
struct cv_multi_op {
    struct cv_multi_header hdr; /* hdr.type is the op's opcode */
    union {
        struct cv_create_request create;     /* create, create2, createContainer, createTTL */
        struct cv_path_version path_version; /* delete, check */
        struct cv_set_data set_data;
        struct cv_path_watch path_watch; /* getData, getChildren (multiRead) */
    } u;
};

/* One result of a multi / multiRead response (MultiHeader + body). */
struct cv_multi_result {
    struct cv_multi_header hdr; /* hdr.type: the op's opcode, or -1 with hdr.err */
    union {
        struct cv_create_response create; /* create (path), create2 (path + stat) */
        struct cv_stat_response set_data;
        struct cv_children_response get_children;
        struct cv_get_data_response get_data;
        struct cv_int_record error;
    } u;
};

/*
 * A multi request's ops or a multi response's results. After decode: count,
 * raw/raw_len (the entries before the terminating header) and end (the
 * terminator as sent). Iterate with cv_multi_iter. To encode, set count and
 * items (an array of struct cv_multi_op or struct cv_multi_result), or
 * raw/raw_len to pass encoded entries through; end is written as given, so a
 * new record should set it to {-1, 1, -1} (cv_multi_end()).
 */
struct cv_multi {
    int32_t count;
    uint32_t raw_len;
    const uint8_t *raw;
    const void *items;
    struct cv_multi_header end;
};

static inline struct cv_multi_header cv_multi_end(void)
{
    struct cv_multi_header h = {-1, 1, -1};
    return h;
}

struct cv_multi_iter {
    struct cv_jute_in in;
    const void *items; /* a built record's items array, or NULL for raw bytes */
    int32_t next;
    int32_t left;
};

/* Body descriptor of a multi op / result by its header type (NULL with
 * *known = 1: no body, as delete and check). *known = 0: not allowed in a
 * multi. */
const struct cv_jrec_desc *cv_proto_multi_op_desc(int32_t type, int *known);
const struct cv_jrec_desc *cv_proto_multi_result_desc(int32_t type, int *known);

void cv_multi_iter_init(struct cv_multi_iter *it, const struct cv_multi *m);
/* 1 with *op filled, or 0 at the end. */
int cv_multi_next_op(struct cv_multi_iter *it, struct cv_multi_op *op);
int cv_multi_next_result(struct cv_multi_iter *it, struct cv_multi_result *res);

/* ---- framing ------------------------------------------------------------- */

/*
 * Look at the start of a receive buffer. Returns the whole frame's size
 * (4 + payload length) when a complete frame is there, 0 when more bytes are
 * needed, -EMSGSIZE when the announced length exceeds max_frame (ZooKeeper's
 * jute.maxbuffer), -EBADMSG when it is negative. *payload_len is set whenever
 * the length prefix is available.
 */
int64_t cv_proto_frame(const uint8_t *buf, size_t len, uint32_t max_frame, uint32_t *payload_len);

/* ---- connect ------------------------------------------------------------- */

/* Decode a ConnectRequest / ConnectResponse payload (the frame's bytes after
 * its length prefix). The readOnly byte is optional; anything after it is
 * malformed. */
int cv_proto_decode_connect_request(const uint8_t *p, size_t len, struct cv_connect_request *r);
int cv_proto_decode_connect_response(const uint8_t *p, size_t len, struct cv_connect_response *r);
/* Encode as a whole frame (length prefix included). */
int cv_proto_encode_connect_request(uint8_t *out, size_t cap, const struct cv_connect_request *r);
int cv_proto_encode_connect_response(uint8_t *out, size_t cap, const struct cv_connect_response *r);

/* ---- requests ------------------------------------------------------------ */

struct cv_request {
    struct cv_request_header hdr;
    union {
        struct cv_create_request create;     /* create, create2, createContainer, createTTL */
        struct cv_path_version path_version; /* delete, check */
        struct cv_path_watch path_watch;     /* exists, getData, getChildren, getChildren2 */
        struct cv_set_data set_data;
        struct cv_path path; /* getACL, sync, getAllChildrenNumber, getEphemerals */
        struct cv_set_acl set_acl;
        struct cv_multi multi; /* multi, multiRead */
        struct cv_reconfig_request reconfig;
        struct cv_path_type path_type; /* checkWatches, removeWatches, addWatch */
        struct cv_auth_packet auth;
        struct cv_set_watches set_watches; /* setWatches, setWatches2 */
        struct cv_sasl sasl;
    } u;
};

/* Body descriptor for a request opcode; *known is set to 0 for an opcode
 * clients may not send. NULL with *known = 1: the request has no body
 * (ping, closeSession, whoAmI). Multi ops are not described here. */
const struct cv_jrec_desc *cv_proto_request_desc(int32_t op, int *known);

/* Decode a request payload (after the length prefix): RequestHeader, then the
 * body its type names. Trailing bytes after the body are malformed. */
int cv_proto_decode_request(const uint8_t *p, size_t len, struct cv_request *r);
/* Encode a whole request frame. */
int cv_proto_encode_request(uint8_t *out, size_t cap, const struct cv_request *r);

/* ---- responses ----------------------------------------------------------- */

/*
 * A reply: ReplyHeader and, when has_body, the body for the request's opcode
 * `op` (the client knows it from the xid; notifications carry xid -1 and a
 * WatcherEvent). ZooKeeper sends no body with an error code, except for
 * multi, whose failures travel as results with err 0 in the header.
 */
struct cv_response {
    struct cv_reply_header hdr;
    int32_t op; /* the request's opcode; CV_OP_NOTIFICATION for xid -1 */
    uint8_t has_body;
    union {
        struct cv_create_response create;     /* create, create2, createContainer, createTTL */
        struct cv_stat_response stat;         /* exists, setData, setACL */
        struct cv_get_data_response get_data; /* getData, reconfig */
        struct cv_children_response children; /* getChildren(2), getEphemerals */
        struct cv_get_acl_response get_acl;
        struct cv_path path;         /* sync */
        struct cv_int_record number; /* getAllChildrenNumber; addWatch (ErrorResponse 0) */
        struct cv_multi multi;
        struct cv_who_am_i_response who_am_i;
        struct cv_watcher_event event;
        struct cv_sasl sasl;
    } u;
};

/* Body descriptor for the response to `op`; NULL if it has none (or is multi). */
const struct cv_jrec_desc *cv_proto_response_desc(int32_t op);

int cv_proto_decode_response(const uint8_t *p, size_t len, int32_t op, struct cv_response *r);
int cv_proto_encode_response(uint8_t *out, size_t cap, const struct cv_response *r);

/* ---- transactions -------------------------------------------------------- */

struct cv_txn {
    struct cv_txn_header hdr;
    union {
        struct cv_create_txn create; /* create, create2, createContainer, createTTL */
        struct cv_path path;         /* delete, deleteContainer */
        struct cv_set_data set_data; /* setData, reconfig */
        struct cv_set_acl set_acl;
        struct cv_path_version check;
        struct cv_int_record number;               /* createSession (timeOut), error (err) */
        struct cv_children_response close_session; /* children = paths2Delete */
        struct cv_multi_txn multi;
    } u;
    uint8_t has_body; /* closeSession may be logged without paths2Delete */
};

/* Body descriptor for a transaction type, or NULL for an unknown type. */
const struct cv_jrec_desc *cv_proto_txn_desc(int32_t type);

/* A TxnHeader followed by its body (no length prefix: the log frames it). */
int cv_proto_decode_txn(const uint8_t *p, size_t len, struct cv_txn *t);
int cv_proto_encode_txn(uint8_t *out, size_t cap, const struct cv_txn *t);
/* A MultiTxn's sub-transaction body: type and data from a struct cv_txn_entry.
 * t->hdr is left zero except hdr.type. */
int cv_proto_decode_sub_txn(const struct cv_txn_entry *e, struct cv_txn *t);

#ifdef __cplusplus
}
#endif
#endif /* CV_PROTO_H */
