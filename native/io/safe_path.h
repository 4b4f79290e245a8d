/* safe_path.h: a path from a URL, made safe to open under a root folder.
 * What a web server must refuse before it touches the file system: "..",
 * absolute paths, backslashes, NUL, control characters; and after symlinks
 * are resolved, anything outside the root. */
#ifndef CAPSRUN_SAFE_PATH_H
#define CAPSRUN_SAFE_PATH_H
#include <stddef.h>

enum { SAFE_PATH_OK = 0, SAFE_PATH_REFUSED = -1, SAFE_PATH_MISSING = -2, SAFE_PATH_TOO_LONG = -3 };

/* rel (len bytes, already percent-decoded, one leading '/' allowed): every
 * segment a plain name (no "", ".", ".." segments; no '\\', NUL or control
 * bytes; at most 16 segments, 1024 bytes). SAFE_PATH_OK or SAFE_PATH_REFUSED. */
int safe_path_check(const char *rel, size_t len);

/* root + "/" + rel, with symlinks resolved, into out (outlen bytes), when
 * rel passes safe_path_check and the file exists inside root (root itself
 * resolved too). SAFE_PATH_OK, _REFUSED (also: resolves outside root),
 * _MISSING or _TOO_LONG. */
int safe_path_resolve(const char *root, const char *rel, size_t len, char *out, size_t outlen);

#endif
