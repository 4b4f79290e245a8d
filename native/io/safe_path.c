/* safe_path.c: URL paths checked segment by segment, then resolved with
 * realpath() and compared with the resolved root, so that neither "..",
 * its encodings (the server decodes before we see the path) nor a symlink
 * inside the root leads out of it. */
#define _DEFAULT_SOURCE   /* realpath */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "safe_path.h"

enum { MAX_REL = 1024, MAX_SEGMENTS = 16 };

int safe_path_check(const char *rel, size_t len) {
  if (len > 0 && rel[0] == '/') { rel++; len--; }
  if (len == 0 || len > MAX_REL) return SAFE_PATH_REFUSED;
  size_t start = 0, segments = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len) {
      unsigned char c = (unsigned char)rel[i];
      if (c < 0x20 || c == 0x7f || c == '\\') return SAFE_PATH_REFUSED;
      if (c != '/') continue;
    }
    size_t n = i - start;   /* one segment: rel[start, i) */
    if (n == 0 || (n == 1 && rel[start] == '.') || (n == 2 && rel[start] == '.' && rel[start + 1] == '.'))
      return SAFE_PATH_REFUSED;
    if (++segments > MAX_SEGMENTS) return SAFE_PATH_REFUSED;
    start = i + 1;
  }
  return SAFE_PATH_OK;
}

int safe_path_resolve(const char *root, const char *rel, size_t len, char *out, size_t outlen) {
  if (safe_path_check(rel, len) != SAFE_PATH_OK) return SAFE_PATH_REFUSED;
  if (rel[0] == '/') { rel++; len--; }
  char root_real[PATH_MAX], joined[PATH_MAX], real[PATH_MAX];
  if (!realpath(root, root_real)) return SAFE_PATH_MISSING;
  size_t rn = strlen(root_real);
  if (rn + 1 + len + 1 > sizeof joined) return SAFE_PATH_TOO_LONG;
  memcpy(joined, root_real, rn);
  joined[rn] = '/';
  memcpy(joined + rn + 1, rel, len);
  joined[rn + 1 + len] = 0;
  if (!realpath(joined, real)) return SAFE_PATH_MISSING;
  size_t n = strlen(real);
  /* inside: the root itself's children, "/root/..." (not "/rootother") */
  int inside = n > rn && strncmp(real, root_real, rn) == 0 && (real[rn] == '/' || (rn == 1 && root_real[0] == '/'));
  if (!inside) return SAFE_PATH_REFUSED;
  if (n + 1 > outlen) return SAFE_PATH_TOO_LONG;
  memcpy(out, real, n + 1);
  return SAFE_PATH_OK;
}
