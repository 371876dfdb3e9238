/* cv_proto — ZooKeeper 3.8 records, framing, requests, responses, txns.
 * Contract in cv_proto.h. */
#include "cv_proto.h"

/* clang-format off */
#define NFIELDS(a)  ((uint16_t)(sizeof(a) / sizeof((a)[0])))
#define FI(T, m)    {CV_JK_INT, offsetof(T, m), NULL}
#define FL(T, m)    {CV_JK_LONG, offsetof(T, m), NULL}
#define FZ(T, m)    {CV_JK_BOOL, offsetof(T, m), NULL}
#define FB(T, m)    {CV_JK_BUF, offsetof(T, m), NULL}
#define FR(T, m, d) {CV_JK_REC, offsetof(T, m), &(d)}
#define FV(T, m, d) {CV_JK_VEC, offsetof(T, m), d}
#define DESC(var, jname, T, ...)                                                 \
    static const struct cv_jfield var##_fields[] = {__VA_ARGS__};               \
    const struct cv_jrec_desc var = {jname, sizeof(T), NFIELDS(var##_fields), var##_fields}
/* clang-format on */

/* org.apache.zookeeper.data */
DESC(cv_rec_id, "Id", struct cv_id, FB(struct cv_id, scheme), FB(struct cv_id, id));
DESC(cv_rec_acl, "ACL", struct cv_acl, FI(struct cv_acl, perms), FR(struct cv_acl, id, cv_rec_id));
DESC(cv_rec_stat, "Stat", struct cv_stat, FL(struct cv_stat, czxid), FL(struct cv_stat, mzxid),
     FL(struct cv_stat, ctime), FL(struct cv_stat, mtime), FI(struct cv_stat, version),
     FI(struct cv_stat, cversion), FI(struct cv_stat, aversion),
     FL(struct cv_stat, ephemeral_owner), FI(struct cv_stat, data_length),
     FI(struct cv_stat, num_children), FL(struct cv_stat, pzxid));
DESC(cv_rec_stat_persisted, "StatPersisted", struct cv_stat_persisted,
     FL(struct cv_stat_persisted, czxid), FL(struct cv_stat_persisted, mzxid),
     FL(struct cv_stat_persisted, ctime), FL(struct cv_stat_persisted, mtime),
     FI(struct cv_stat_persisted, version), FI(struct cv_stat_persisted, cversion),
     FI(struct cv_stat_persisted, aversion), FL(struct cv_stat_persisted, ephemeral_owner),
     FL(struct cv_stat_persisted, pzxid));
DESC(cv_rec_client_info, "ClientInfo", struct cv_client_info,
     FB(struct cv_client_info, auth_scheme), FB(struct cv_client_info, user));

/* org.apache.zookeeper.proto */
DESC(cv_rec_connect_request_v0, "ConnectRequest", struct cv_connect_request,
     FI(struct cv_connect_request, protocol_version), FL(struct cv_connect_request, last_zxid_seen),
     FI(struct cv_connect_request, timeout), FL(struct cv_connect_request, session_id),
     FB(struct cv_connect_request, passwd));
DESC(cv_rec_connect_response_v0, "ConnectResponse", struct cv_connect_response,
     FI(struct cv_connect_response, protocol_version), FI(struct cv_connect_response, timeout),
     FL(struct cv_connect_response, session_id), FB(struct cv_connect_response, passwd));
DESC(cv_rec_request_header, "RequestHeader", struct cv_request_header,
     FI(struct cv_request_header, xid), FI(struct cv_request_header, type));
DESC(cv_rec_reply_header, "ReplyHeader", struct cv_reply_header, FI(struct cv_reply_header, xid),
     FL(struct cv_reply_header, zxid), FI(struct cv_reply_header, err));
DESC(cv_rec_multi_header, "MultiHeader", struct cv_multi_header, FI(struct cv_multi_header, type),
     FZ(struct cv_multi_header, done), FI(struct cv_multi_header, err));
DESC(cv_rec_auth_packet, "AuthPacket", struct cv_auth_packet, FI(struct cv_auth_packet, type),
     FB(struct cv_auth_packet, scheme), FB(struct cv_auth_packet, auth));
DESC(cv_rec_sasl, "GetSASLRequest", struct cv_sasl, FB(struct cv_sasl, token));
DESC(cv_rec_set_watches, "SetWatches", struct cv_set_watches,
     FL(struct cv_set_watches, relative_zxid), FV(struct cv_set_watches, data, NULL),
     FV(struct cv_set_watches, exist, NULL), FV(struct cv_set_watches, child, NULL));
DESC(cv_rec_set_watches2, "SetWatches2", struct cv_set_watches,
     FL(struct cv_set_watches, relative_zxid), FV(struct cv_set_watches, data, NULL),
     FV(struct cv_set_watches, exist, NULL), FV(struct cv_set_watches, child, NULL),
     FV(struct cv_set_watches, persistent, NULL),
     FV(struct cv_set_watches, persistent_recursive, NULL));
DESC(cv_rec_path_watch, "GetDataRequest", struct cv_path_watch, FB(struct cv_path_watch, path),
     FZ(struct cv_path_watch, watch));
DESC(cv_rec_path, "SyncRequest", struct cv_path, FB(struct cv_path, path));
DESC(cv_rec_path_version, "DeleteRequest", struct cv_path_version, FB(struct cv_path_version, path),
     FI(struct cv_path_version, version));
DESC(cv_rec_set_data, "SetDataRequest", struct cv_set_data, FB(struct cv_set_data, path),
     FB(struct cv_set_data, data), FI(struct cv_set_data, version));
DESC(cv_rec_create_request, "CreateRequest", struct cv_create_request,
     FB(struct cv_create_request, path), FB(struct cv_create_request, data),
     FV(struct cv_create_request, acl, &cv_rec_acl), FI(struct cv_create_request, flags));
DESC(cv_rec_create_ttl_request, "CreateTTLRequest", struct cv_create_request,
     FB(struct cv_create_request, path), FB(struct cv_create_request, data),
     FV(struct cv_create_request, acl, &cv_rec_acl), FI(struct cv_create_request, flags),
     FL(struct cv_create_request, ttl));
DESC(cv_rec_set_acl, "SetACLRequest", struct cv_set_acl, FB(struct cv_set_acl, path),
     FV(struct cv_set_acl, acl, &cv_rec_acl), FI(struct cv_set_acl, version));
DESC(cv_rec_reconfig_request, "ReconfigRequest", struct cv_reconfig_request,
     FB(struct cv_reconfig_request, joining_servers),
     FB(struct cv_reconfig_request, leaving_servers), FB(struct cv_reconfig_request, new_members),
     FL(struct cv_reconfig_request, cur_config_id));
DESC(cv_rec_path_type, "CheckWatchesRequest", struct cv_path_type, FB(struct cv_path_type, path),
     FI(struct cv_path_type, type));
DESC(cv_rec_stat_response, "ExistsResponse", struct cv_stat_response,
     FR(struct cv_stat_response, stat, cv_rec_stat));
DESC(cv_rec_create_response, "CreateResponse", struct cv_create_response,
     FB(struct cv_create_response, path));
DESC(cv_rec_create2_response, "Create2Response", struct cv_create_response,
     FB(struct cv_create_response, path), FR(struct cv_create_response, stat, cv_rec_stat));
DESC(cv_rec_get_data_response, "GetDataResponse", struct cv_get_data_response,
     FB(struct cv_get_data_response, data), FR(struct cv_get_data_response, stat, cv_rec_stat));
DESC(cv_rec_get_children_response, "GetChildrenResponse", struct cv_children_response,
     FV(struct cv_children_response, children, NULL));
DESC(cv_rec_get_children2_response, "GetChildren2Response", struct cv_children_response,
     FV(struct cv_children_response, children, NULL),
     FR(struct cv_children_response, stat, cv_rec_stat));
DESC(cv_rec_get_acl_response, "GetACLResponse", struct cv_get_acl_response,
     FV(struct cv_get_acl_response, acl, &cv_rec_acl),
     FR(struct cv_get_acl_response, stat, cv_rec_stat));
DESC(cv_rec_int, "ErrorResponse", struct cv_int_record, FI(struct cv_int_record, value));
DESC(cv_rec_who_am_i_response, "WhoAmIResponse", struct cv_who_am_i_response,
     FV(struct cv_who_am_i_response, client_info, &cv_rec_client_info));
DESC(cv_rec_watcher_event, "WatcherEvent", struct cv_watcher_event,
     FI(struct cv_watcher_event, type), FI(struct cv_watcher_event, state),
     FB(struct cv_watcher_event, path));

/* org.apache.zookeeper.txn and .server.persistence */
DESC(cv_rec_txn_header, "TxnHeader", struct cv_txn_header, FL(struct cv_txn_header, client_id),
     FI(struct cv_txn_header, cxid), FL(struct cv_txn_header, zxid), FL(struct cv_txn_header, time),
     FI(struct cv_txn_header, type));
DESC(cv_rec_create_txn, "CreateTxn", struct cv_create_txn, FB(struct cv_create_txn, path),
     FB(struct cv_create_txn, data), FV(struct cv_create_txn, acl, &cv_rec_acl),
     FZ(struct cv_create_txn, ephemeral), FI(struct cv_create_txn, parent_cversion));
DESC(cv_rec_create_container_txn, "CreateContainerTxn", struct cv_create_txn,
     FB(struct cv_create_txn, path), FB(struct cv_create_txn, data),
     FV(struct cv_create_txn, acl, &cv_rec_acl), FI(struct cv_create_txn, parent_cversion));
DESC(cv_rec_create_ttl_txn, "CreateTTLTxn", struct cv_create_txn, FB(struct cv_create_txn, path),
     FB(struct cv_create_txn, data), FV(struct cv_create_txn, acl, &cv_rec_acl),
     FI(struct cv_create_txn, parent_cversion), FL(struct cv_create_txn, ttl));
DESC(cv_rec_txn_entry, "Txn", struct cv_txn_entry, FI(struct cv_txn_entry, type),
     FB(struct cv_txn_entry, data));
DESC(cv_rec_multi_txn, "MultiTxn", struct cv_multi_txn,
     FV(struct cv_multi_txn, txns, &cv_rec_txn_entry));
DESC(cv_rec_txn_digest, "TxnDigest", struct cv_txn_digest, FI(struct cv_txn_digest, version),
     FL(struct cv_txn_digest, tree_digest));
DESC(cv_rec_file_header, "FileHeader", struct cv_file_header, FI(struct cv_file_header, magic),
     FI(struct cv_file_header, version), FL(struct cv_file_header, dbid));

/* ---- names --------------------------------------------------------------- */

const char *cv_proto_op_name(int32_t op)
{
    switch (op) {
    case CV_OP_NOTIFICATION: return "notification";
    case CV_OP_CREATE: return "create";
    case CV_OP_DELETE: return "delete";
    case CV_OP_EXISTS: return "exists";
    case CV_OP_GET_DATA: return "getData";
    case CV_OP_SET_DATA: return "setData";
    case CV_OP_GET_ACL: return "getACL";
    case CV_OP_SET_ACL: return "setACL";
    case CV_OP_GET_CHILDREN: return "getChildren";
    case CV_OP_SYNC: return "sync";
    case CV_OP_PING: return "ping";
    case CV_OP_GET_CHILDREN2: return "getChildren2";
    case CV_OP_CHECK: return "check";
    case CV_OP_MULTI: return "multi";
    case CV_OP_CREATE2: return "create2";
    case CV_OP_RECONFIG: return "reconfig";
    case CV_OP_CHECK_WATCHES: return "checkWatches";
    case CV_OP_REMOVE_WATCHES: return "removeWatches";
    case CV_OP_CREATE_CONTAINER: return "createContainer";
    case CV_OP_DELETE_CONTAINER: return "deleteContainer";
    case CV_OP_CREATE_TTL: return "createTTL";
    case CV_OP_MULTI_READ: return "multiRead";
    case CV_OP_AUTH: return "auth";
    case CV_OP_SET_WATCHES: return "setWatches";
    case CV_OP_SASL: return "sasl";
    case CV_OP_GET_EPHEMERALS: return "getEphemerals";
    case CV_OP_GET_ALL_CHILDREN_NUMBER: return "getAllChildrenNumber";
    case CV_OP_SET_WATCHES2: return "setWatches2";
    case CV_OP_ADD_WATCH: return "addWatch";
    case CV_OP_WHO_AM_I: return "whoAmI";
    case CV_OP_CREATE_SESSION: return "createSession";
    case CV_OP_CLOSE_SESSION: return "closeSession";
    case CV_OP_ERROR: return "error";
    }
    return NULL;
}

const char *cv_proto_err_name(int32_t err)
{
    switch (err) {
    case CV_ZOK: return "OK";
    case CV_ZSYSTEMERROR: return "SYSTEMERROR";
    case CV_ZRUNTIMEINCONSISTENCY: return "RUNTIMEINCONSISTENCY";
    case CV_ZDATAINCONSISTENCY: return "DATAINCONSISTENCY";
    case CV_ZCONNECTIONLOSS: return "CONNECTIONLOSS";
    case CV_ZMARSHALLINGERROR: return "MARSHALLINGERROR";
    case CV_ZUNIMPLEMENTED: return "UNIMPLEMENTED";
    case CV_ZOPERATIONTIMEOUT: return "OPERATIONTIMEOUT";
    case CV_ZBADARGUMENTS: return "BADARGUMENTS";
    case CV_ZUNKNOWNSESSION: return "UNKNOWNSESSION";
    case CV_ZNEWCONFIGNOQUORUM: return "NEWCONFIGNOQUORUM";
    case CV_ZRECONFIGINPROGRESS: return "RECONFIGINPROGRESS";
    case CV_ZAPIERROR: return "APIERROR";
    case CV_ZNONODE: return "NONODE";
    case CV_ZNOAUTH: return "NOAUTH";
    case CV_ZBADVERSION: return "BADVERSION";
    case CV_ZNOCHILDRENFOREPHEMERALS: return "NOCHILDRENFOREPHEMERALS";
    case CV_ZNODEEXISTS: return "NODEEXISTS";
    case CV_ZNOTEMPTY: return "NOTEMPTY";
    case CV_ZSESSIONEXPIRED: return "SESSIONEXPIRED";
    case CV_ZINVALIDCALLBACK: return "INVALIDCALLBACK";
    case CV_ZINVALIDACL: return "INVALIDACL";
    case CV_ZAUTHFAILED: return "AUTHFAILED";
    case CV_ZSESSIONMOVED: return "SESSIONMOVED";
    case CV_ZNOTREADONLY: return "NOTREADONLY";
    case CV_ZEPHEMERALONLOCALSESSION: return "EPHEMERALONLOCALSESSION";
    case CV_ZNOWATCHER: return "NOWATCHER";
    case CV_ZREQUESTTIMEOUT: return "REQUESTTIMEOUT";
    case CV_ZRECONFIGDISABLED: return "RECONFIGDISABLED";
    case CV_ZSESSIONCLOSEDREQUIRESASLAUTH: return "SESSIONCLOSEDREQUIRESASLAUTH";
    case CV_ZQUOTAEXCEEDED: return "QUOTAEXCEEDED";
    case CV_ZTHROTTLEDOP: return "THROTTLEDOP";
    }
    return NULL;
}

/* ---- framing ------------------------------------------------------------- */

int64_t cv_proto_frame(const uint8_t *buf, size_t len, uint32_t max_frame, uint32_t *payload_len)
{
    if (len < 4)
        return 0;
    int32_t n = (int32_t)cv_jute_rd32(buf);
    if (n < 0)
        return -EBADMSG;
    *payload_len = (uint32_t)n;
    if ((uint32_t)n > max_frame)
        return -EMSGSIZE;
    if (len - 4 < (uint32_t)n)
        return 0;
    return 4 + (int64_t)n;
}

/* Frame helpers: reserve the length prefix, encode, then fill it in. */
static int frame_begin(struct cv_jute_out *o, uint8_t *out, size_t cap)
{
    cv_jute_out_init(o, out, cap);
    cv_jute_put_int(o, 0);
    return o->err;
}

static int frame_end(struct cv_jute_out *o, uint8_t *out)
{
    if (o->err)
        return o->err;
    size_t n = (size_t)(o->pos - out);
    cv_jute_wr32(out, (uint32_t)(n - 4));
    return (int)n;
}

/* The whole payload must be consumed: trailing bytes are malformed. */
static int finish(struct cv_jute_in *in)
{
    if (in->err)
        return in->err;
    return cv_jute_in_left(in) ? -EBADMSG : 0;
}

/* ---- connect ------------------------------------------------------------- */

int cv_proto_decode_connect_request(const uint8_t *p, size_t len, struct cv_connect_request *r)
{
    struct cv_jute_in in;
    cv_jute_in_init(&in, p, len);
    if (cv_jute_decode(&cv_rec_connect_request_v0, &in, r))
        return in.err;
    if (cv_jute_in_left(&in)) {
        r->read_only = cv_jute_get_bool(&in);
        r->has_read_only = 1;
    }
    return finish(&in);
}

int cv_proto_decode_connect_response(const uint8_t *p, size_t len, struct cv_connect_response *r)
{
    struct cv_jute_in in;
    cv_jute_in_init(&in, p, len);
    if (cv_jute_decode(&cv_rec_connect_response_v0, &in, r))
        return in.err;
    if (cv_jute_in_left(&in)) {
        r->read_only = cv_jute_get_bool(&in);
        r->has_read_only = 1;
    }
    return finish(&in);
}

int cv_proto_encode_connect_request(uint8_t *out, size_t cap, const struct cv_connect_request *r)
{
    struct cv_jute_out o;
    frame_begin(&o, out, cap);
    cv_jute_encode(&cv_rec_connect_request_v0, &o, r);
    if (r->has_read_only)
        cv_jute_put_bool(&o, r->read_only);
    return frame_end(&o, out);
}

int cv_proto_encode_connect_response(uint8_t *out, size_t cap, const struct cv_connect_response *r)
{
    struct cv_jute_out o;
    frame_begin(&o, out, cap);
    cv_jute_encode(&cv_rec_connect_response_v0, &o, r);
    if (r->has_read_only)
        cv_jute_put_bool(&o, r->read_only);
    return frame_end(&o, out);
}

/* ---- multi --------------------------------------------------------------- */

const struct cv_jrec_desc *cv_proto_multi_op_desc(int32_t type, int *ok)
{
    *ok = 1;
    switch (type) {
    case CV_OP_CREATE:
    case CV_OP_CREATE2:
    case CV_OP_CREATE_CONTAINER: return &cv_rec_create_request;
    case CV_OP_CREATE_TTL: return &cv_rec_create_ttl_request;
    case CV_OP_DELETE:
    case CV_OP_CHECK: return &cv_rec_path_version;
    case CV_OP_SET_DATA: return &cv_rec_set_data;
    case CV_OP_GET_DATA:
    case CV_OP_GET_CHILDREN: return &cv_rec_path_watch;
    }
    *ok = 0;
    return NULL;
}

const struct cv_jrec_desc *cv_proto_multi_result_desc(int32_t type, int *ok)
{
    *ok = 1;
    switch (type) {
    case CV_OP_CREATE: return &cv_rec_create_response;
    case CV_OP_CREATE2:
    case CV_OP_CREATE_CONTAINER:
    case CV_OP_CREATE_TTL: return &cv_rec_create2_response;
    case CV_OP_DELETE:
    case CV_OP_CHECK: return NULL;
    case CV_OP_SET_DATA: return &cv_rec_stat_response;
    case CV_OP_GET_CHILDREN: return &cv_rec_get_children_response;
    case CV_OP_GET_DATA: return &cv_rec_get_data_response;
    case CV_OP_ERROR: return &cv_rec_int;
    }
    *ok = 0;
    return NULL;
}

/* One entry: MultiHeader, then (unless it is the terminator) the body the
 * header's type names. Returns 1 for an entry, 0 for the terminator, -1 on
 * malformed input. */
static int multi_entry(struct cv_jute_in *in, int results, struct cv_multi_header *h, void *body)
{
    if (cv_jute_decode(&cv_rec_multi_header, in, h))
        return -1;
    if (h->done)
        return 0;
    int ok;
    const struct cv_jrec_desc *d =
        results ? cv_proto_multi_result_desc(h->type, &ok) : cv_proto_multi_op_desc(h->type, &ok);
    if (!ok) {
        in->err = -EBADMSG;
        return -1;
    }
    if (d && cv_jute_decode(d, in, body))
        return -1;
    return 1;
}

/* A multi never has more entries than this (ZooKeeper has no limit but the
 * frame; this only bounds the walk of a hostile frame, which the frame size
 * bounds already: every entry takes at least 9 bytes). */
static int get_multi(struct cv_jute_in *in, int results, struct cv_multi *m)
{
    union {
        struct cv_multi_op op;
        struct cv_multi_result res;
    } scratch;
    const uint8_t *start = in->pos;
    int32_t count = 0;
    for (;;) {
        const uint8_t *entry = in->pos;
        struct cv_multi_header h;
        int rc =
            multi_entry(in, results, &h, results ? (void *)&scratch.res.u : (void *)&scratch.op.u);
        if (rc < 0)
            return in->err ? in->err : -EBADMSG;
        if (rc == 0) {
            m->count = count;
            m->raw = start;
            m->raw_len = (uint32_t)(entry - start);
            m->items = NULL;
            m->end = h;
            return 0;
        }
        count++;
    }
}

void cv_multi_iter_init(struct cv_multi_iter *it, const struct cv_multi *m)
{
    it->items = m->items;
    cv_jute_in_init(&it->in, m->raw, !m->items && m->raw ? m->raw_len : 0);
    it->next = 0;
    it->left = m->raw || m->items ? m->count : 0;
}

int cv_multi_next_op(struct cv_multi_iter *it, struct cv_multi_op *op)
{
    if (it->left <= 0)
        return 0;
    if (it->items) {
        *op = ((const struct cv_multi_op *)it->items)[it->next++];
        it->left--;
        return 1;
    }
    memset(op, 0, sizeof *op);
    if (multi_entry(&it->in, 0, &op->hdr, &op->u) != 1)
        return 0;
    it->left--;
    return 1;
}

int cv_multi_next_result(struct cv_multi_iter *it, struct cv_multi_result *res)
{
    if (it->left <= 0)
        return 0;
    if (it->items) {
        *res = ((const struct cv_multi_result *)it->items)[it->next++];
        it->left--;
        return 1;
    }
    memset(res, 0, sizeof *res);
    if (multi_entry(&it->in, 1, &res->hdr, &res->u) != 1)
        return 0;
    it->left--;
    return 1;
}

static void put_multi(struct cv_jute_out *o, int results, const struct cv_multi *m)
{
    if (m->items) {
        for (int32_t i = 0; i < m->count && o->err == 0; i++) {
            const struct cv_multi_header *h;
            const void *body;
            int ok;
            const struct cv_jrec_desc *d;
            if (results) {
                const struct cv_multi_result *r = (const struct cv_multi_result *)m->items + i;
                h = &r->hdr;
                body = &r->u;
                d = cv_proto_multi_result_desc(h->type, &ok);
            } else {
                const struct cv_multi_op *op = (const struct cv_multi_op *)m->items + i;
                h = &op->hdr;
                body = &op->u;
                d = cv_proto_multi_op_desc(h->type, &ok);
            }
            if (!ok || h->done) {
                o->err = -EINVAL;
                return;
            }
            cv_jute_encode(&cv_rec_multi_header, o, h);
            if (d)
                cv_jute_encode(d, o, body);
        }
    } else if (m->raw) {
        cv_jute_put_bytes(o, m->raw, m->raw_len);
    } else if (m->count > 0) {
        o->err = -EINVAL;
        return;
    }
    cv_jute_encode(&cv_rec_multi_header, o, &m->end);
}

/* ---- requests ------------------------------------------------------------ */

const struct cv_jrec_desc *cv_proto_request_desc(int32_t op, int *known)
{
    *known = 1;
    switch (op) {
    case CV_OP_CREATE:
    case CV_OP_CREATE2:
    case CV_OP_CREATE_CONTAINER: return &cv_rec_create_request;
    case CV_OP_CREATE_TTL: return &cv_rec_create_ttl_request;
    case CV_OP_DELETE:
    case CV_OP_CHECK: return &cv_rec_path_version;
    case CV_OP_EXISTS:
    case CV_OP_GET_DATA:
    case CV_OP_GET_CHILDREN:
    case CV_OP_GET_CHILDREN2: return &cv_rec_path_watch;
    case CV_OP_SET_DATA: return &cv_rec_set_data;
    case CV_OP_GET_ACL:
    case CV_OP_SYNC:
    case CV_OP_GET_ALL_CHILDREN_NUMBER:
    case CV_OP_GET_EPHEMERALS: return &cv_rec_path;
    case CV_OP_SET_ACL: return &cv_rec_set_acl;
    case CV_OP_RECONFIG: return &cv_rec_reconfig_request;
    case CV_OP_CHECK_WATCHES:
    case CV_OP_REMOVE_WATCHES:
    case CV_OP_ADD_WATCH: return &cv_rec_path_type;
    case CV_OP_AUTH: return &cv_rec_auth_packet;
    case CV_OP_SET_WATCHES: return &cv_rec_set_watches;
    case CV_OP_SET_WATCHES2: return &cv_rec_set_watches2;
    case CV_OP_SASL: return &cv_rec_sasl;
    case CV_OP_PING:
    case CV_OP_CLOSE_SESSION:
    case CV_OP_WHO_AM_I:
    case CV_OP_MULTI:
    case CV_OP_MULTI_READ: return NULL;
    }
    *known = 0;
    return NULL;
}

int cv_proto_decode_request(const uint8_t *p, size_t len, struct cv_request *r)
{
    struct cv_jute_in in;
    cv_jute_in_init(&in, p, len);
    memset(r, 0, sizeof *r);
    if (cv_jute_decode(&cv_rec_request_header, &in, &r->hdr))
        return in.err;
    int known;
    const struct cv_jrec_desc *d = cv_proto_request_desc(r->hdr.type, &known);
    if (!known)
        return CV_PROTO_EUNKNOWN_OP;
    if (r->hdr.type == CV_OP_MULTI || r->hdr.type == CV_OP_MULTI_READ) {
        if (get_multi(&in, 0, &r->u.multi))
            return -EBADMSG;
    } else if (d && cv_jute_decode(d, &in, &r->u)) {
        return in.err;
    }
    return finish(&in);
}

int cv_proto_encode_request(uint8_t *out, size_t cap, const struct cv_request *r)
{
    struct cv_jute_out o;
    int known;
    const struct cv_jrec_desc *d = cv_proto_request_desc(r->hdr.type, &known);
    if (!known)
        return -EINVAL;
    frame_begin(&o, out, cap);
    cv_jute_encode(&cv_rec_request_header, &o, &r->hdr);
    if (r->hdr.type == CV_OP_MULTI || r->hdr.type == CV_OP_MULTI_READ)
        put_multi(&o, 0, &r->u.multi);
    else if (d)
        cv_jute_encode(d, &o, &r->u);
    return frame_end(&o, out);
}

/* ---- responses ----------------------------------------------------------- */

const struct cv_jrec_desc *cv_proto_response_desc(int32_t op)
{
    switch (op) {
    case CV_OP_NOTIFICATION: return &cv_rec_watcher_event;
    case CV_OP_CREATE: return &cv_rec_create_response;
    case CV_OP_CREATE2:
    case CV_OP_CREATE_CONTAINER:
    case CV_OP_CREATE_TTL: return &cv_rec_create2_response;
    case CV_OP_EXISTS:
    case CV_OP_SET_DATA:
    case CV_OP_SET_ACL: return &cv_rec_stat_response;
    case CV_OP_GET_DATA:
    case CV_OP_RECONFIG: return &cv_rec_get_data_response;
    case CV_OP_GET_CHILDREN:
    case CV_OP_GET_EPHEMERALS: return &cv_rec_get_children_response;
    case CV_OP_GET_CHILDREN2: return &cv_rec_get_children2_response;
    case CV_OP_GET_ACL: return &cv_rec_get_acl_response;
    case CV_OP_SYNC: return &cv_rec_path;
    case CV_OP_GET_ALL_CHILDREN_NUMBER:
    case CV_OP_ADD_WATCH: return &cv_rec_int; /* addWatch: ZooKeeper sends ErrorResponse(0) */
    case CV_OP_WHO_AM_I: return &cv_rec_who_am_i_response;
    case CV_OP_SASL: return &cv_rec_sasl;
    }
    return NULL;
}

static int is_multi(int32_t op)
{
    return op == CV_OP_MULTI || op == CV_OP_MULTI_READ;
}

int cv_proto_decode_response(const uint8_t *p, size_t len, int32_t op, struct cv_response *r)
{
    struct cv_jute_in in;
    cv_jute_in_init(&in, p, len);
    memset(r, 0, sizeof *r);
    if (cv_jute_decode(&cv_rec_reply_header, &in, &r->hdr))
        return in.err;
    r->op = r->hdr.xid == CV_XID_NOTIFICATION ? CV_OP_NOTIFICATION : op;
    const struct cv_jrec_desc *d = cv_proto_response_desc(r->op);
    /* A body follows when there are bytes left; a successful reply to an op
     * with a body must carry it. */
    if (cv_jute_in_left(&in) == 0) {
        if (r->hdr.err == CV_ZOK && (d || is_multi(r->op)))
            return -EBADMSG;
        return 0;
    }
    r->has_body = 1;
    if (is_multi(r->op)) {
        if (get_multi(&in, 1, &r->u.multi))
            return -EBADMSG;
    } else if (!d) {
        return -EBADMSG;
    } else if (cv_jute_decode(d, &in, &r->u)) {
        return in.err;
    }
    return finish(&in);
}

int cv_proto_encode_response(uint8_t *out, size_t cap, const struct cv_response *r)
{
    struct cv_jute_out o;
    frame_begin(&o, out, cap);
    cv_jute_encode(&cv_rec_reply_header, &o, &r->hdr);
    if (r->has_body) {
        int32_t op = r->hdr.xid == CV_XID_NOTIFICATION ? CV_OP_NOTIFICATION : r->op;
        const struct cv_jrec_desc *d = cv_proto_response_desc(op);
        if (is_multi(op))
            put_multi(&o, 1, &r->u.multi);
        else if (d)
            cv_jute_encode(d, &o, &r->u);
        else
            return -EINVAL;
    }
    return frame_end(&o, out);
}

/* ---- transactions -------------------------------------------------------- */

const struct cv_jrec_desc *cv_proto_txn_desc(int32_t type)
{
    switch (type) {
    case CV_OP_CREATE:
    case CV_OP_CREATE2: return &cv_rec_create_txn;
    case CV_OP_CREATE_CONTAINER: return &cv_rec_create_container_txn;
    case CV_OP_CREATE_TTL: return &cv_rec_create_ttl_txn;
    case CV_OP_DELETE:
    case CV_OP_DELETE_CONTAINER: return &cv_rec_path;
    case CV_OP_SET_DATA:
    case CV_OP_RECONFIG: return &cv_rec_set_data;
    case CV_OP_SET_ACL: return &cv_rec_set_acl;
    case CV_OP_CHECK: return &cv_rec_path_version;
    case CV_OP_CREATE_SESSION:
    case CV_OP_ERROR: return &cv_rec_int;
    case CV_OP_CLOSE_SESSION: return &cv_rec_get_children_response;
    case CV_OP_MULTI: return &cv_rec_multi_txn;
    }
    return NULL;
}

static int decode_txn_body(struct cv_jute_in *in, struct cv_txn *t)
{
    const struct cv_jrec_desc *d = cv_proto_txn_desc(t->hdr.type);
    if (!d)
        return -EBADMSG;
    /* closeSession is logged with or without paths2Delete. */
    if (t->hdr.type == CV_OP_CLOSE_SESSION && cv_jute_in_left(in) == 0)
        return 0;
    t->has_body = 1;
    if (cv_jute_decode(d, in, &t->u))
        return in->err;
    if (t->hdr.type == CV_OP_MULTI) {
        /* Every sub-transaction must decode too: a log record is applied
         * whole or not at all. */
        struct cv_jvec_iter it;
        struct cv_txn_entry e;
        struct cv_txn sub;
        cv_jvec_iter_init(&it, &t->u.multi.txns, &cv_rec_txn_entry);
        while (cv_jvec_next(&it, &e)) {
            if (e.type == CV_OP_MULTI || cv_proto_decode_sub_txn(&e, &sub))
                return -EBADMSG;
        }
    }
    return finish(in);
}

int cv_proto_decode_txn(const uint8_t *p, size_t len, struct cv_txn *t)
{
    struct cv_jute_in in;
    cv_jute_in_init(&in, p, len);
    memset(t, 0, sizeof *t);
    if (cv_jute_decode(&cv_rec_txn_header, &in, &t->hdr))
        return in.err;
    return decode_txn_body(&in, t);
}

int cv_proto_decode_sub_txn(const struct cv_txn_entry *e, struct cv_txn *t)
{
    struct cv_jute_in in;
    cv_jute_in_init(&in, e->data.ptr, e->data.len > 0 ? (size_t)e->data.len : 0);
    memset(t, 0, sizeof *t);
    t->hdr.type = e->type;
    return decode_txn_body(&in, t);
}

int cv_proto_encode_txn(uint8_t *out, size_t cap, const struct cv_txn *t)
{
    struct cv_jute_out o;
    const struct cv_jrec_desc *d = cv_proto_txn_desc(t->hdr.type);
    if (!d)
        return -EINVAL;
    cv_jute_out_init(&o, out, cap);
    cv_jute_encode(&cv_rec_txn_header, &o, &t->hdr);
    if (t->has_body || t->hdr.type != CV_OP_CLOSE_SESSION)
        cv_jute_encode(d, &o, &t->u);
    return o.err ? o.err : (int)(o.pos - out);
}
