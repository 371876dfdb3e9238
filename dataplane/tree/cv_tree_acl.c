/*
 * cv_tree ACL cache: interned, reference-counted ACL lists (ZooKeeper's
 * ReferenceCountedACLCache). See cv_tree.h.
 *
 * Each list is one allocation: the struct cv_acl array followed by the
 * list's canonical encoding {be32 perms, be32 scheme_len, scheme, be32
 * id_len, id}* (len -1 = null). Equality is byte equality of the encoding;
 * the strings handed out point into it.
 */
#include "cv_tree_int.h"

static uint64_t acl_rehash(const struct cv_tree *t, uint32_t id)
{
    return t->acls[id].hash;
}

static int acl_check_buf(struct cv_jbuf b)
{
    return b.len >= -1 && !(b.len > 0 && b.ptr == NULL);
}

static size_t acl_enc_len(const struct cv_acl *a, int32_t count)
{
    size_t n = 0;
    for (int32_t i = 0; i < count; i++)
        n += 12 + (size_t)(a[i].id.scheme.len > 0 ? a[i].id.scheme.len : 0) +
             (size_t)(a[i].id.id.len > 0 ? a[i].id.id.len : 0);
    return n;
}

static uint8_t *put_buf(uint8_t *p, struct cv_jbuf b)
{
    int32_t l = b.len < 0 ? -1 : b.len;
    cv_jute_wr32(p, (uint32_t)l);
    p += 4;
    if (l > 0) {
        memcpy(p, b.ptr, (size_t)l);
        p += l;
    }
    return p;
}

static void acl_encode(uint8_t *p, const struct cv_acl *a, int32_t count)
{
    for (int32_t i = 0; i < count; i++) {
        cv_jute_wr32(p, (uint32_t)a[i].perms);
        p = put_buf(p + 4, a[i].id.scheme);
        p = put_buf(p, a[i].id.id);
    }
}

static uint64_t acl_hash_blob(const uint8_t *blob, size_t len, int32_t count)
{
    return cv_mix64(cv_crc64(blob, len) ^ ((uint64_t)(uint32_t)count << 32) ^ len);
}

int cv_tree__acl_live(const struct cv_tree *t, uint32_t id)
{
    return id != 0 && id < t->acls_hwm && t->acls[id].refs != 0;
}

void cv_tree__acl_ref(struct cv_tree *t, uint32_t id)
{
    CV_VERIFY(cv_tree__acl_live(t, id));
    CV_VERIFY(t->acls[id].refs != UINT32_MAX);
    t->acls[id].refs++;
}

uint64_t cv_tree__acl_hash(const struct cv_tree *t, uint32_t id)
{
    CV_ASSERT(cv_tree__acl_live(t, id));
    return t->acls[id].hash;
}

static void acl_entry_free(struct cv_tree *t, uint32_t id)
{
    struct cv_acl_ent *e = &t->acls[id];
    cv_tree__free(t, e->items, (size_t)e->count * sizeof(struct cv_acl) + e->blob_len);
    e->items = NULL;
    e->blob = NULL;
}

void cv_tree__acl_unref(struct cv_tree *t, uint32_t id)
{
    CV_VERIFY(cv_tree__acl_live(t, id));
    struct cv_acl_ent *e = &t->acls[id];
    if (--e->refs)
        return;
    cv_tab_remove(t, &t->acl_index, id, e->hash, acl_rehash);
    acl_entry_free(t, id);
    e->next_free = t->acl_free;
    t->acl_free = id;
    t->acl_live--;
}

void cv_tree__acl_free_all(struct cv_tree *t)
{
    for (uint32_t id = 1; id < t->acls_hwm; id++)
        if (t->acls[id].refs)
            free(t->acls[id].items);
    free(t->acls);
    free(t->acl_index.slot);
}

int cv_tree_acl_intern(struct cv_tree *t, const struct cv_acl *acls, int32_t count,
                       uint32_t *id_out)
{
    if (count < 0 || (count > 0 && !acls))
        return -EINVAL;
    for (int32_t i = 0; i < count; i++)
        if (!acl_check_buf(acls[i].id.scheme) || !acl_check_buf(acls[i].id.id))
            return -EINVAL;
    size_t blen = acl_enc_len(acls, count);
    if (blen > UINT32_MAX / 2)
        return -EINVAL;
    size_t isz = (size_t)count * sizeof(struct cv_acl);
    struct cv_acl *items = cv_tree__alloc(t, isz + blen);
    if (!items)
        return -ENOMEM;
    uint8_t *blob = (uint8_t *)items + isz;
    acl_encode(blob, acls, count);
    uint64_t h = acl_hash_blob(blob, blen, count);

    /* Known list? */
    if (t->acl_index.slot) {
        for (uint32_t i = (uint32_t)h & t->acl_index.mask;; i = (i + 1) & t->acl_index.mask) {
            uint32_t id = t->acl_index.slot[i];
            if (!id)
                break;
            const struct cv_acl_ent *e = &t->acls[id];
            if (e->hash == h && e->count == count && e->blob_len == blen &&
                memcmp(e->blob, blob, blen) == 0) {
                cv_tree__free(t, items, isz + blen);
                cv_tree__acl_ref(t, id);
                *id_out = id;
                return 0;
            }
        }
    }

    /* A new entry: make room first, then commit. */
    if (!t->acl_free && t->acls_hwm >= t->acls_cap) {
        uint32_t ncap = t->acls_cap ? t->acls_cap * 2 : 8;
        struct cv_acl_ent *na = ncap > t->acls_cap
                                    ? cv_tree__realloc(t, t->acls, t->acls_cap * sizeof(*na),
                                                       (size_t)ncap * sizeof(*na))
                                    : NULL;
        if (!na) {
            cv_tree__free(t, items, isz + blen);
            return -ENOMEM;
        }
        t->acls = na;
        t->acls_cap = ncap;
    }
    if (cv_tab_reserve(t, &t->acl_index, t->acl_index.count + 1, acl_rehash) != 0) {
        cv_tree__free(t, items, isz + blen);
        return -ENOMEM;
    }
    uint32_t id;
    if (t->acl_free) {
        id = t->acl_free;
        t->acl_free = t->acls[id].next_free;
    } else {
        id = t->acls_hwm++;
    }
    /* Point the items' strings into the blob. */
    const uint8_t *p = blob;
    for (int32_t i = 0; i < count; i++) {
        items[i].perms = acls[i].perms;
        p += 4;
        struct cv_jbuf *bs[2] = {&items[i].id.scheme, &items[i].id.id};
        for (int k = 0; k < 2; k++) {
            int32_t l = (int32_t)cv_jute_rd32(p);
            p += 4;
            bs[k]->len = l;
            bs[k]->ptr = l >= 0 ? p : NULL;
            if (l > 0)
                p += l;
        }
    }
    struct cv_acl_ent *e = &t->acls[id];
    e->hash = h;
    e->refs = 1;
    e->count = count;
    e->blob_len = (uint32_t)blen;
    e->next_free = 0;
    e->items = items;
    e->blob = blob;
    cv_tab_insert(&t->acl_index, id, h);
    t->acl_live++;
    *id_out = id;
    return 0;
}

int cv_tree_acl_release(struct cv_tree *t, uint32_t id)
{
    if (!cv_tree__acl_live(t, id))
        return -EINVAL;
    cv_tree__acl_unref(t, id);
    return 0;
}

int cv_tree_acl_retain(struct cv_tree *t, uint32_t id)
{
    if (!cv_tree__acl_live(t, id) || t->acls[id].refs == UINT32_MAX)
        return -EINVAL;
    t->acls[id].refs++;
    return 0;
}

int cv_tree_acl_get(const struct cv_tree *t, uint32_t id, const struct cv_acl **acls,
                    int32_t *count)
{
    if (!cv_tree__acl_live(t, id))
        return -EINVAL;
    *acls = t->acls[id].items;
    *count = t->acls[id].count;
    return 0;
}

uint32_t cv_tree_acl_refs(const struct cv_tree *t, uint32_t id)
{
    return cv_tree__acl_live(t, id) ? t->acls[id].refs : 0;
}

uint32_t cv_tree_acl_count(const struct cv_tree *t)
{
    return t->acl_live;
}
uint32_t cv_tree_acl_open(const struct cv_tree *t)
{
    return t->acl_open;
}
uint32_t cv_tree_acl_read_only(const struct cv_tree *t)
{
    return t->acl_read;
}
