/* cv_jute — descriptor-driven jute record codec. Contract in cv_jute.h. */
#include "cv_jute.h"

uint32_t cv_jute_min_wire(const struct cv_jrec_desc *d)
{
    if (d == NULL)
        return 4; /* ustring: its length */
    uint32_t n = 0;
    for (uint16_t i = 0; i < d->nfields; i++) {
        switch (d->fields[i].kind) {
        case CV_JK_LONG: n += 8; break;
        case CV_JK_BOOL: n += 1; break;
        case CV_JK_REC: n += cv_jute_min_wire(d->fields[i].sub); break;
        default: /* int, buffer/ustring length, vector count */ n += 4;
        }
    }
    return n;
}

/* Validate (rec == NULL) or decode one record. */
static void decode_fields(const struct cv_jrec_desc *d, struct cv_jute_in *in, uint8_t *rec);

static void get_vec(struct cv_jute_in *in, const struct cv_jrec_desc *elem, struct cv_jvec *v)
{
    int32_t count = cv_jute_get_int(in);
    const uint8_t *start = in->pos;
    if (in->err)
        return;
    if (count < -1) {
        in->err = -EBADMSG;
        return;
    }
    /* A count larger than the bytes left could hold is rejected before any
     * element is looked at: a 2^31 count costs nothing. */
    uint32_t min = cv_jute_min_wire(elem);
    if (count > 0 && (uint64_t)count * (min ? min : 1) > cv_jute_in_left(in)) {
        in->err = -EBADMSG;
        return;
    }
    for (int32_t i = 0; i < count && in->err == 0; i++) {
        if (elem)
            decode_fields(elem, in, NULL);
        else
            (void)cv_jute_get_buf(in);
    }
    if (in->err)
        return;
    if (v) {
        v->count = count;
        v->raw = count >= 0 ? start : NULL;
        v->raw_len = (uint32_t)(in->pos - start);
        v->items = NULL;
    }
}

static void decode_fields(const struct cv_jrec_desc *d, struct cv_jute_in *in, uint8_t *rec)
{
    for (uint16_t i = 0; i < d->nfields && in->err == 0; i++) {
        const struct cv_jfield *f = &d->fields[i];
        uint8_t *p = rec ? rec + f->off : NULL;
        switch (f->kind) {
        case CV_JK_INT: {
            int32_t v = cv_jute_get_int(in);
            if (p)
                memcpy(p, &v, sizeof v);
            break;
        }
        case CV_JK_LONG: {
            int64_t v = cv_jute_get_long(in);
            if (p)
                memcpy(p, &v, sizeof v);
            break;
        }
        case CV_JK_BOOL: {
            uint8_t v = cv_jute_get_bool(in);
            if (p)
                *p = v;
            break;
        }
        case CV_JK_BUF: {
            struct cv_jbuf v = cv_jute_get_buf(in);
            if (p)
                memcpy(p, &v, sizeof v);
            break;
        }
        case CV_JK_REC: decode_fields(f->sub, in, p); break;
        case CV_JK_VEC: get_vec(in, f->sub, (struct cv_jvec *)(void *)p); break;
        default: in->err = -EINVAL;
        }
    }
}

int cv_jute_decode(const struct cv_jrec_desc *d, struct cv_jute_in *in, void *rec)
{
    if (in->err)
        return in->err;
    memset(rec, 0, d->size);
    decode_fields(d, in, (uint8_t *)rec);
    return in->err;
}

int cv_jute_get_vec(struct cv_jute_in *in, const struct cv_jrec_desc *elem_desc, struct cv_jvec *v)
{
    struct cv_jvec tmp;
    get_vec(in, elem_desc, &tmp);
    if (in->err == 0)
        *v = tmp;
    return in->err;
}

int cv_jvec_next(struct cv_jvec_iter *it, void *elem)
{
    if (it->left <= 0 || it->in.err)
        return 0;
    if (it->items) {
        size_t stride = it->elem ? it->elem->size : sizeof(struct cv_jbuf);
        memcpy(elem, it->items, stride);
        it->items += stride;
    } else if (it->elem) {
        if (cv_jute_decode(it->elem, &it->in, elem) != 0)
            return 0;
    } else {
        struct cv_jbuf b = cv_jute_get_buf(&it->in);
        if (it->in.err)
            return 0;
        memcpy(elem, &b, sizeof b);
    }
    it->left--;
    return 1;
}

static void encode_fields(const struct cv_jrec_desc *d, struct cv_jute_out *out,
                          const uint8_t *rec);

void cv_jute_put_vec(struct cv_jute_out *out, const struct cv_jrec_desc *elem,
                     const struct cv_jvec *v)
{
    if (v->count < 0) {
        cv_jute_put_int(out, -1);
        return;
    }
    cv_jute_put_int(out, v->count);
    if (v->items) {
        size_t stride = elem ? elem->size : sizeof(struct cv_jbuf);
        const uint8_t *item = (const uint8_t *)v->items;
        for (int32_t i = 0; i < v->count && out->err == 0; i++, item += stride) {
            if (elem) {
                encode_fields(elem, out, item);
            } else {
                struct cv_jbuf b;
                memcpy(&b, item, sizeof b);
                cv_jute_put_buf(out, b);
            }
        }
    } else if (v->raw) {
        cv_jute_put_bytes(out, v->raw, v->raw_len);
    } else if (v->count > 0 && out->err == 0) {
        out->err = -EINVAL;
    }
}

static void encode_fields(const struct cv_jrec_desc *d, struct cv_jute_out *out, const uint8_t *rec)
{
    for (uint16_t i = 0; i < d->nfields && out->err == 0; i++) {
        const struct cv_jfield *f = &d->fields[i];
        const uint8_t *p = rec + f->off;
        switch (f->kind) {
        case CV_JK_INT: {
            int32_t v;
            memcpy(&v, p, sizeof v);
            cv_jute_put_int(out, v);
            break;
        }
        case CV_JK_LONG: {
            int64_t v;
            memcpy(&v, p, sizeof v);
            cv_jute_put_long(out, v);
            break;
        }
        case CV_JK_BOOL: cv_jute_put_bool(out, *p); break;
        case CV_JK_BUF: {
            struct cv_jbuf v;
            memcpy(&v, p, sizeof v);
            cv_jute_put_buf(out, v);
            break;
        }
        case CV_JK_REC: encode_fields(f->sub, out, p); break;
        case CV_JK_VEC:
            cv_jute_put_vec(out, f->sub, (const struct cv_jvec *)(const void *)p);
            break;
        default: out->err = -EINVAL;
        }
    }
}

int cv_jute_encode(const struct cv_jrec_desc *d, struct cv_jute_out *out, const void *rec)
{
    if (out->err == 0)
        encode_fields(d, out, (const uint8_t *)rec);
    return out->err;
}

size_t cv_jute_encoded_size(const struct cv_jrec_desc *d, const void *rec)
{
    /* Mirrors encode_fields; tests/proto check the two agree on every record. */
    size_t total = 0;
    const uint8_t *r = (const uint8_t *)rec;
    for (uint16_t i = 0; i < d->nfields; i++) {
        const struct cv_jfield *f = &d->fields[i];
        const uint8_t *p = r + f->off;
        switch (f->kind) {
        case CV_JK_INT: total += 4; break;
        case CV_JK_LONG: total += 8; break;
        case CV_JK_BOOL: total += 1; break;
        case CV_JK_BUF: {
            struct cv_jbuf v;
            memcpy(&v, p, sizeof v);
            total += 4 + (v.len > 0 ? (size_t)v.len : 0);
            break;
        }
        case CV_JK_REC: total += cv_jute_encoded_size(f->sub, p); break;
        case CV_JK_VEC: {
            const struct cv_jvec *v = (const struct cv_jvec *)(const void *)p;
            total += 4;
            if (v->count > 0 && v->items) {
                size_t stride = f->sub ? f->sub->size : sizeof(struct cv_jbuf);
                const uint8_t *item = (const uint8_t *)v->items;
                for (int32_t k = 0; k < v->count; k++, item += stride) {
                    if (f->sub) {
                        total += cv_jute_encoded_size(f->sub, item);
                    } else {
                        struct cv_jbuf b;
                        memcpy(&b, item, sizeof b);
                        total += 4 + (b.len > 0 ? (size_t)b.len : 0);
                    }
                }
            } else if (v->count > 0 && v->raw) {
                total += v->raw_len;
            }
            break;
        }
        }
    }
    return total;
}
