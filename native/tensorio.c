/* tensorio.c: writing and validating files of named tensors. */
#include <string.h>
#include <zlib.h>
#include "tensorio.h"

static const char MAGIC[8] = {'C', 'A', 'P', 'S', 'T', 'N', 'S', '1'};

static int put_u32(FILE *f, uint32_t v) {
  unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
  return fwrite(b, 1, 4, f) == 4 ? 0 : -1;
}

static int put_u64(FILE *f, uint64_t v) {
  return put_u32(f, (uint32_t)v) || put_u32(f, (uint32_t)(v >> 32)) ? -1 : 0;
}

static int get_u32(FILE *f, uint32_t *v) {
  unsigned char b[4];
  if (fread(b, 1, 4, f) != 4) return -1;
  *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
  return 0;
}

static int get_u64(FILE *f, uint64_t *v) {
  uint32_t lo, hi;
  if (get_u32(f, &lo) || get_u32(f, &hi)) return -1;
  *v = (uint64_t)hi << 32 | lo;
  return 0;
}

static uint32_t data_crc(const float *data, size_t numel) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const unsigned char *p = (const unsigned char *)data;
  size_t left = numel * sizeof(float);
  while (left) {
    uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
    crc = crc32(crc, p, chunk);
    p += chunk; left -= chunk;
  }
  return (uint32_t)crc;
}

int tio_write_header(FILE *f, uint32_t count) {
  if (fwrite(MAGIC, 1, 8, f) != 8) return -1;
  return put_u32(f, TENSORIO_VERSION) || put_u32(f, count) ? -1 : 0;
}

int tio_write_tensor(FILE *f, const char *name, const Tensor *t) {
  size_t len = strlen(name);
  if (len > TENSORIO_MAX_NAME) return -1;
  if (put_u32(f, (uint32_t)len) || fwrite(name, 1, len, f) != len || put_u32(f, (uint32_t)t->ndim)) return -1;
  for (int i = 0; i < t->ndim; i++) if (put_u64(f, t->shape[i])) return -1;
  if (put_u32(f, data_crc(t->data, t->numel))) return -1;
  return fwrite(t->data, sizeof(float), t->numel, f) == t->numel ? 0 : -1;
}

static long bytes_left(FILE *f) {
  long here = ftell(f);
  if (here < 0 || fseek(f, 0, SEEK_END)) return -1;
  long end = ftell(f);
  if (end < 0 || fseek(f, here, SEEK_SET)) return -1;
  return end - here;
}

int tio_read_header(FILE *f, uint32_t *count, char *err, size_t errlen) {
  char magic[8];
  uint32_t version;
  if (fread(magic, 1, 8, f) != 8 || memcmp(magic, MAGIC, 8)) {
    snprintf(err, errlen, "not a capsrun tensor file (bad magic)");
    return -1;
  }
  if (get_u32(f, &version) || get_u32(f, count)) { snprintf(err, errlen, "truncated header"); return -1; }
  if (version != TENSORIO_VERSION) {
    snprintf(err, errlen, "file version %u, this capsrun reads version %d", version, TENSORIO_VERSION);
    return -1;
  }
  if (*count > 100000) { snprintf(err, errlen, "implausible tensor count %u", *count); return -1; }
  return 0;
}

int tio_read_entry(FILE *f, TioEntry *e, char *err, size_t errlen) {
  uint32_t len, nd;
  if (get_u32(f, &len) || len > TENSORIO_MAX_NAME || fread(e->name, 1, len, f) != len) {
    snprintf(err, errlen, "truncated or invalid tensor name");
    return -1;
  }
  e->name[len] = 0;
  if (get_u32(f, &nd) || nd > CAPS_MAXDIM) {
    snprintf(err, errlen, "tensor '%s': invalid dimension count", e->name);
    return -1;
  }
  e->ndim = (int)nd;
  e->numel = 1;
  long left = bytes_left(f);
  for (uint32_t i = 0; i < nd; i++) {
    uint64_t d;
    if (get_u64(f, &d)) { snprintf(err, errlen, "tensor '%s': truncated shape", e->name); return -1; }
    if (d && e->numel > (uint64_t)(left < 0 ? 0 : left) / sizeof(float) / d) {
      snprintf(err, errlen, "tensor '%s': shape larger than the file", e->name);
      return -1;
    }
    e->shape[i] = (size_t)d;
    e->numel *= (size_t)d;
  }
  if (get_u32(f, &e->crc)) { snprintf(err, errlen, "tensor '%s': truncated", e->name); return -1; }
  left = bytes_left(f);
  if (left < 0 || (uint64_t)left < e->numel * sizeof(float)) {
    snprintf(err, errlen, "tensor '%s': truncated data (%zu floats declared)", e->name, e->numel);
    return -1;
  }
  return 0;
}

int tio_read_data(FILE *f, const TioEntry *e, float *data, char *err, size_t errlen) {
  if (fread(data, sizeof(float), e->numel, f) != e->numel) {
    snprintf(err, errlen, "tensor '%s': truncated data", e->name);
    return -1;
  }
  if (data_crc(data, e->numel) != e->crc) {
    snprintf(err, errlen, "tensor '%s': checksum mismatch (file corrupt)", e->name);
    return -1;
  }
  return 0;
}
