/*
 * cv_jute — ZooKeeper's jute binary encoding: primitives and a descriptor-driven
 * record codec.
 *
 * Contract
 * - Decoding is zero-copy: a decoded buffer, string or vector points into the
 *   input bytes, which the caller keeps alive and unchanged while the record is
 *   used. Nothing here allocates, locks, or makes a system call; any lcore may
 *   call it on its own buffers.
 * - Decoding never reads outside [pos, end). Every length is checked against
 *   the bytes that remain before it is trusted; a vector's count is checked
 *   against the smallest encoding of its element. The first failure is sticky
 *   (cv_jute_in.err), so a caller may decode several fields and check once.
 * - Encoding never writes outside [pos, end); running out of room sets
 *   cv_jute_out.err = -ENOBUFS and the caller must discard the output.
 * - Wire format (big-endian): int = 4 bytes, long = 8, boolean = 1 byte
 *   (decoded as != 0, encoded as 0/1), buffer and ustring = int length + bytes
 *   with length -1 meaning null, vector = int count (-1 null) + elements,
 *   record = its fields in order.
 */
#ifndef CV_JUTE_H
#define CV_JUTE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A jute buffer or ustring. len < 0 means null (encoded as -1). Strings are
 * not NUL-terminated. */
struct cv_jbuf {
    const uint8_t *ptr;
    int32_t len;
};

struct cv_jrec_desc;

/*
 * A jute vector. After decode: count (or -1 for null) and raw/raw_len, the
 * encoded elements as they lie in the input, validated; read them with
 * cv_jvec_iter. For encode, set either items (an array of count elements of
 * the element's record type, or of struct cv_jbuf for vector<ustring>) or,
 * to pass an already-encoded vector through unchanged, raw/raw_len.
 */
struct cv_jvec {
    int32_t count;
    uint32_t raw_len;
    const uint8_t *raw;
    const void *items;
};

struct cv_jute_in {
    const uint8_t *pos;
    const uint8_t *end;
    int err; /* 0, or -EBADMSG once anything failed */
};

struct cv_jute_out {
    uint8_t *pos;
    uint8_t *end;
    int err; /* 0, or -ENOBUFS once anything did not fit */
};

static inline void cv_jute_in_init(struct cv_jute_in *in, const void *buf, size_t len)
{
    in->pos = (const uint8_t *)buf;
    in->end = buf ? in->pos + len : in->pos; /* NULL + 0 is undefined in C */
    in->err = 0;
}

static inline void cv_jute_out_init(struct cv_jute_out *out, void *buf, size_t len)
{
    out->pos = (uint8_t *)buf;
    out->end = buf ? out->pos + len : out->pos;
    out->err = 0;
}

static inline size_t cv_jute_in_left(const struct cv_jute_in *in)
{
    return (size_t)(in->end - in->pos);
}

static inline uint32_t cv_jute_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void cv_jute_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline int cv_jute_need(struct cv_jute_in *in, size_t n)
{
    if (in->err == 0 && cv_jute_in_left(in) >= n)
        return 1;
    in->err = -EBADMSG;
    return 0;
}

static inline int32_t cv_jute_get_int(struct cv_jute_in *in)
{
    if (!cv_jute_need(in, 4))
        return 0;
    uint32_t v = cv_jute_rd32(in->pos);
    in->pos += 4;
    return (int32_t)v;
}

static inline int64_t cv_jute_get_long(struct cv_jute_in *in)
{
    if (!cv_jute_need(in, 8))
        return 0;
    uint64_t v = (uint64_t)cv_jute_rd32(in->pos) << 32 | cv_jute_rd32(in->pos + 4);
    in->pos += 8;
    return (int64_t)v;
}

static inline uint8_t cv_jute_get_bool(struct cv_jute_in *in)
{
    if (!cv_jute_need(in, 1))
        return 0;
    return *in->pos++ != 0;
}

/* buffer or ustring: length -1 is null; any other negative length, or one
 * past the end of the input, is malformed. */
static inline struct cv_jbuf cv_jute_get_buf(struct cv_jute_in *in)
{
    struct cv_jbuf b = {NULL, -1};
    int32_t len = cv_jute_get_int(in);
    if (in->err || len == -1)
        return b;
    if (len < 0) {
        in->err = -EBADMSG;
        return b;
    }
    if (!cv_jute_need(in, (size_t)len))
        return b;
    b.ptr = in->pos;
    b.len = len;
    in->pos += len;
    return b;
}

static inline int cv_jute_room(struct cv_jute_out *out, size_t n)
{
    if (out->err == 0 && (size_t)(out->end - out->pos) >= n)
        return 1;
    out->err = -ENOBUFS;
    return 0;
}

static inline void cv_jute_put_int(struct cv_jute_out *out, int32_t v)
{
    if (!cv_jute_room(out, 4))
        return;
    cv_jute_wr32(out->pos, (uint32_t)v);
    out->pos += 4;
}

static inline void cv_jute_put_long(struct cv_jute_out *out, int64_t v)
{
    if (!cv_jute_room(out, 8))
        return;
    cv_jute_wr32(out->pos, (uint32_t)((uint64_t)v >> 32));
    cv_jute_wr32(out->pos + 4, (uint32_t)v);
    out->pos += 8;
}

static inline void cv_jute_put_bool(struct cv_jute_out *out, int v)
{
    if (!cv_jute_room(out, 1))
        return;
    *out->pos++ = v ? 1 : 0;
}

static inline void cv_jute_put_bytes(struct cv_jute_out *out, const void *p, size_t n)
{
    if (!cv_jute_room(out, n))
        return;
    if (n)
        memcpy(out->pos, p, n);
    out->pos += n;
}

static inline void cv_jute_put_buf(struct cv_jute_out *out, struct cv_jbuf b)
{
    if (b.len < 0 || (b.ptr == NULL && b.len > 0)) {
        cv_jute_put_int(out, -1);
        return;
    }
    cv_jute_put_int(out, b.len);
    cv_jute_put_bytes(out, b.ptr, (size_t)b.len);
}

/* A C string as a ustring (NULL is null). */
static inline struct cv_jbuf cv_jstr(const char *s)
{
    struct cv_jbuf b = {(const uint8_t *)s, s ? (int32_t)strlen(s) : -1};
    return b;
}

/* ---- descriptor-driven records ------------------------------------------ */

enum cv_jkind {
    CV_JK_INT = 1, /* int32_t */
    CV_JK_LONG,    /* int64_t */
    CV_JK_BOOL,    /* uint8_t */
    CV_JK_BUF,     /* struct cv_jbuf (buffer or ustring) */
    CV_JK_REC,     /* an embedded record, described by .sub */
    CV_JK_VEC,     /* struct cv_jvec of .sub records, or of ustring when .sub is NULL */
};

struct cv_jfield {
    uint8_t kind;
    uint16_t off;                   /* offsetof the field in the C struct */
    const struct cv_jrec_desc *sub; /* CV_JK_REC / CV_JK_VEC element */
};

struct cv_jrec_desc {
    const char *name; /* jute class name, for diagnostics */
    uint16_t size;    /* sizeof the C struct */
    uint16_t nfields;
    const struct cv_jfield *fields;
};

/* Decode one record into rec (a struct of d's type). Returns 0 or -EBADMSG;
 * in->err is set too. After a failure rec holds no pointer outside the input
 * but is otherwise unspecified. */
int cv_jute_decode(const struct cv_jrec_desc *d, struct cv_jute_in *in, void *rec);

/* Encode one record. Returns 0 or -ENOBUFS / -EINVAL (a vector with neither
 * items nor raw but a positive count); out->err is set too. */
int cv_jute_encode(const struct cv_jrec_desc *d, struct cv_jute_out *out, const void *rec);

/* Bytes cv_jute_encode would write for rec. */
size_t cv_jute_encoded_size(const struct cv_jrec_desc *d, const void *rec);

/* Smallest encoding of a record (null strings, empty vectors); NULL is a
 * ustring (4). Used to bound vector counts before walking them. */
uint32_t cv_jute_min_wire(const struct cv_jrec_desc *d);

/* Iterate a vector: a decoded one (raw bytes, validated at decode) or one
 * built for encoding (items). elem_desc NULL means vector<ustring> and elem
 * is a struct cv_jbuf. */
struct cv_jvec_iter {
    struct cv_jute_in in;
    const struct cv_jrec_desc *elem;
    const uint8_t *items; /* items array, or NULL to decode raw bytes */
    int32_t left;
};

static inline void cv_jvec_iter_init(struct cv_jvec_iter *it, const struct cv_jvec *v,
                                     const struct cv_jrec_desc *elem_desc)
{
    it->items = (const uint8_t *)v->items;
    cv_jute_in_init(&it->in, v->raw, !it->items && v->raw ? v->raw_len : 0);
    it->elem = elem_desc;
    it->left = v->count > 0 && (v->raw || v->items) ? v->count : 0;
}

/* 1 and *elem filled, or 0 at the end (or if the bytes are not a valid
 * vector: only possible for vectors that were never decoded). */
int cv_jvec_next(struct cv_jvec_iter *it, void *elem);

/* Decode an encoded vector from the input: used by callers that parse a
 * vector outside a descriptor. */
int cv_jute_get_vec(struct cv_jute_in *in, const struct cv_jrec_desc *elem_desc, struct cv_jvec *v);
void cv_jute_put_vec(struct cv_jute_out *out, const struct cv_jrec_desc *elem_desc,
                     const struct cv_jvec *v);

#ifdef __cplusplus
}
#endif
#endif /* CV_JUTE_H */
