/* cv_path — contract in cv_path.h. */
#include "cv_path.h"

#include <stdint.h>
#include <string.h>

/* Decode one UTF-8 code point strictly; returns its length or 0 if malformed. */
static size_t utf8_next(const unsigned char *s, size_t left, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    uint32_t v, min;
    if ((c & 0xe0) == 0xc0) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

static bool bad_code_point(uint32_t c)
{
    return c == 0 || (c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) ||
           (c >= 0xfff0); /* >= U+10000 become surrogates in Java */
}

bool cv_path_valid(const char *path, size_t len)
{
    const unsigned char *p = (const unsigned char *)path;
    if (len == 0 || p[0] != '/')
        return false;
    if (len == 1)
        return true;
    if (p[len - 1] == '/')
        return false;
    for (size_t i = 1; i < len;) {
        uint32_t c;
        size_t n = utf8_next(p + i, len - i, &c);
        if (n == 0 || bad_code_point(c))
            return false;
        if (c == '/' && p[i - 1] == '/')
            return false; /* empty component */
        if (c == '.' && p[i - 1] == '/') {
            /* "." or ".." as a whole component */
            size_t end = i + 1;
            if (end < len && p[end] == '.')
                end++;
            if (end == len || p[end] == '/')
                return false;
        }
        i += n;
    }
    return true;
}

bool cv_path_parent(const char *p, size_t len, size_t *parent_len)
{
    if (memchr(p, 0, len))
        return false;
    const char *slash = NULL;
    for (size_t i = len; i-- > 0;) {
        if (p[i] == '/') {
            slash = p + i;
            break;
        }
    }
    if (!slash)
        return false;
    size_t pl = (size_t)(slash - p);
    *parent_len = pl == 0 && len > 1 ? 1 : pl; /* "/x" -> "/" */
    return true;
}

bool cv_path_is_special(const char *p, size_t len)
{
    static const char *const special[] = {"/", "/zookeeper", "/zookeeper/quota",
                                          "/zookeeper/config"};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        if (strlen(special[i]) == len && memcmp(special[i], p, len) == 0)
            return true;
    return false;
}
