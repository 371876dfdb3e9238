/*
 * cv_path — ZooKeeper's path rules (PathUtils.validatePath) on UTF-8 bytes.
 *
 * ZooKeeper checks a path after decoding it to UTF-16: it must start with
 * '/', must not end with '/' (unless it is "/"), must not contain an empty
 * component, "." or ".." as a component, U+0000, U+0001..U+001F,
 * U+007F..U+009F, U+D800..U+F8FF or U+FFF0..U+FFFF. Java turns malformed
 * UTF-8 into U+FFFD and code points above U+FFFF into surrogates, both in the
 * refused ranges, so on bytes: the path must be well-formed UTF-8 (shortest
 * form, no surrogates) with no code point above U+FFFF and none in the
 * ranges above.
 *
 * Contract: pure functions over caller-owned bytes, any thread.
 */
#ifndef CV_PATH_H
#define CV_PATH_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PathUtils.validatePath(path). */
bool cv_path_valid(const char *p, size_t len);

/* The parent of a path that contains a '/' past position 0 or is "/x":
 * *parent_len is the length of the parent ("/" for "/x", 0 for "/"). Returns
 * false when p has no '/' (ZooKeeper's lastIndexOf('/') == -1) or contains a
 * NUL byte (ZooKeeper's validatePathForCreate). */
bool cv_path_parent(const char *p, size_t len, size_t *parent_len);

/* Whether p is one of ZooKeeper's system nodes that may not be deleted
 * ("/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"). */
bool cv_path_is_special(const char *p, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* CV_PATH_H */
