/* idx.c: IDX reader through zlib (gzread reads plain files unchanged). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <zlib.h>
#include "idx.h"

static int read_exact(gzFile f, void *buf, unsigned n) {
  return gzread(f, buf, n) == (int)n;
}

static int read_header(gzFile f, IdxData *out, char *err, size_t errlen) {
  unsigned char magic[4];
  if (!read_exact(f, magic, 4)) { snprintf(err, errlen, "file too short for an IDX header"); return -1; }
  if (magic[0] || magic[1] || magic[3] < 1) {
    snprintf(err, errlen, "not an IDX file (magic bytes %02x %02x %02x %02x)", magic[0], magic[1], magic[2], magic[3]);
    return -1;
  }
  if (magic[2] != 0x08) {
    snprintf(err, errlen, "IDX element type 0x%02x not supported (only 0x08, unsigned bytes)", magic[2]);
    return -1;
  }
  if (magic[3] > IDX_MAXDIM) {
    snprintf(err, errlen, "IDX file has %d dimensions, at most %d supported", magic[3], IDX_MAXDIM);
    return -1;
  }
  out->ndim = magic[3];
  out->numel = 1;
  for (int i = 0; i < out->ndim; i++) {
    unsigned char b[4];
    if (!read_exact(f, b, 4)) { snprintf(err, errlen, "file ends inside the IDX header"); return -1; }
    size_t dim = ((size_t)b[0] << 24) | ((size_t)b[1] << 16) | ((size_t)b[2] << 8) | b[3];
    if (dim == 0 || dim > IDX_MAX_ITEMS / out->numel) {
      snprintf(err, errlen, "IDX dimension %d has size %zu (must be > 0, with at most %zu items in all)",
               i + 1, dim, IDX_MAX_ITEMS);
      return -1;
    }
    out->shape[i] = dim;
    out->numel *= dim;
  }
  return 0;
}

/* Reads exactly out->numel bytes, growing the buffer as data arrives. */
static int read_body(gzFile f, IdxData *out, char *err, size_t errlen) {
  size_t have = 0, cap = 0;
  unsigned char *buf = NULL;
  while (have < out->numel) {
    if (have == cap) {
      size_t next = cap ? cap * 2 : 1 << 20;
      if (next > out->numel) next = out->numel;
      unsigned char *nb = realloc(buf, next);
      if (!nb) { free(buf); snprintf(err, errlen, "out of memory reading IDX data"); return -1; }
      buf = nb; cap = next;
    }
    size_t want = cap - have;
    if (want > (1u << 30)) want = 1u << 30;
    int got = gzread(f, buf + have, (unsigned)want);
    if (got < 0) { free(buf); snprintf(err, errlen, "corrupt compressed data"); return -1; }
    if (got == 0) break;
    have += (size_t)got;
  }
  if (have < out->numel) {
    free(buf);
    snprintf(err, errlen, "truncated: the header declares %zu items, the file holds %zu", out->numel, have);
    return -1;
  }
  unsigned char extra;
  if (gzread(f, &extra, 1) > 0) {
    free(buf);
    snprintf(err, errlen, "the file holds more data than its header declares (%zu items)", out->numel);
    return -1;
  }
  out->bytes = buf;
  return 0;
}

int idx_read(const char *path, IdxData *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  errno = 0;
  gzFile f = gzopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot open: %s", errno ? strerror(errno) : "out of memory");
    return -1;
  }
  int rc = read_header(f, out, err, errlen);
  if (rc == 0) rc = read_body(f, out, err, errlen);
  gzclose(f);
  return rc;
}
