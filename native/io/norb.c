/* norb.c: NORB binary matrix reader through zlib (gzread reads plain files
 * unchanged). Values stream into the caller's buffer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "norb.h"

static int read_exact(gzFile f, void *buf, unsigned n) { return gzread(f, buf, n) == (int)n; }

static uint32_t le32(const unsigned char *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int read_header(NorbFile *nf, char *err, size_t errlen) {
  unsigned char b[8];
  if (!read_exact(nf->f, b, 8)) { snprintf(err, errlen, "file too short for a NORB header"); return -1; }
  uint32_t magic = le32(b), ndim = le32(b + 4);
  if (magic != NORB_MAGIC_BYTE && magic != NORB_MAGIC_INT) {
    snprintf(err, errlen, "not a NORB byte or int32 matrix (magic 0x%08x; expected 0x%08x or 0x%08x)",
             (unsigned)magic, NORB_MAGIC_BYTE, NORB_MAGIC_INT);
    return -1;
  }
  if (ndim < 1 || ndim > NORB_MAXDIM) {
    snprintf(err, errlen, "NORB matrix with %u dimensions, 1 to %d supported", (unsigned)ndim, NORB_MAXDIM);
    return -1;
  }
  nf->is_int = magic == NORB_MAGIC_INT;
  nf->ndim = (int)ndim;
  nf->numel = 1;
  unsigned stored = ndim < 3 ? 3 : ndim;   /* the format stores at least three */
  for (unsigned i = 0; i < stored; i++) {
    if (!read_exact(nf->f, b, 4)) { snprintf(err, errlen, "file ends inside the NORB header"); return -1; }
    size_t dim = le32(b);
    if (i >= ndim) continue;
    if (dim == 0 || dim > NORB_MAX_ITEMS / nf->numel) {
      snprintf(err, errlen, "NORB dimension %u has size %zu (must be > 0, with at most %zu values in all)",
               i + 1, dim, NORB_MAX_ITEMS);
      return -1;
    }
    nf->shape[i] = dim;
    nf->numel *= dim;
  }
  return 0;
}

int norb_open(const char *path, NorbFile *nf, char *err, size_t errlen) {
  memset(nf, 0, sizeof *nf);
  errno = 0;
  nf->f = gzopen(path, "rb");
  if (!nf->f) {
    snprintf(err, errlen, "cannot open: %s", errno ? strerror(errno) : "out of memory");
    return -1;
  }
  if (read_header(nf, err, errlen)) { gzclose(nf->f); nf->f = NULL; return -1; }
  return 0;
}

int norb_read(NorbFile *nf, int32_t *dst, size_t count, char *err, size_t errlen) {
  unsigned char buf[1 << 14];
  const size_t width = nf->is_int ? 4 : 1;
  size_t done = 0;
  while (done < count) {
    size_t n = count - done;
    if (n > sizeof buf / width) n = sizeof buf / width;
    int got = gzread(nf->f, buf, (unsigned)(n * width));
    if (got < 0) { snprintf(err, errlen, "corrupt compressed data"); return -1; }
    if ((size_t)got != n * width) {
      snprintf(err, errlen, "truncated: the header declares %zu values, the file ends before value %zu",
               nf->numel, done + (size_t)got / width + 1);
      return -1;
    }
    for (size_t i = 0; i < n; i++) dst[done + i] = nf->is_int ? (int32_t)le32(buf + 4 * i) : buf[i];
    done += n;
  }
  return 0;
}

int norb_close(NorbFile *nf, int check_end, char *err, size_t errlen) {
  int rc = 0;
  unsigned char extra;
  if (check_end && gzread(nf->f, &extra, 1) > 0) {
    snprintf(err, errlen, "the file holds more data than its header declares (%zu values)", nf->numel);
    rc = -1;
  }
  gzclose(nf->f);
  nf->f = NULL;
  return rc;
}
