/* tensorio.c: writing and validating capsrun tensor files. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "tensorio.h"

static const char MAGIC[8] = {'C', 'A', 'P', 'S', 'T', 'N', 'S', '1'};

/* ---- little-endian buffer helpers ---- */

typedef struct Buf { unsigned char *p; size_t len, cap; int oom; } Buf;

static void put(Buf *b, const void *src, size_t n) {
  if (b->oom) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + n) cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) { b->oom = 1; return; }
    b->p = p; b->cap = cap;
  }
  memcpy(b->p + b->len, src, n);
  b->len += n;
}

static void put_u32(Buf *b, uint32_t v) {
  unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
  put(b, x, 4);
}

static void put_u64(Buf *b, uint64_t v) { put_u32(b, (uint32_t)v); put_u32(b, (uint32_t)(v >> 32)); }

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p) { return (uint64_t)get_u32(p + 4) << 32 | get_u32(p); }

static uint32_t crc_of(uint32_t crc, const void *data, size_t n) {
  const unsigned char *p = data;
  while (n) {
    uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
    crc = (uint32_t)crc32(crc, p, chunk);
    p += chunk; n -= chunk;
  }
  return crc;
}

size_t tio_data_bytes(const TioEntry *e) { return e->kind == TIO_FLOAT32 ? e->numel * sizeof(float) : e->numel; }

int tio_write(FILE *f, TioEntry *entries, uint32_t count) {
  Buf h = {0};
  for (uint32_t i = 0; i < count; i++) {
    TioEntry *e = &entries[i];
    size_t nlen = strlen(e->name);
    if (nlen > TENSORIO_MAX_NAME) { free(h.p); return -1; }
    e->crc = crc_of((uint32_t)crc32(0L, Z_NULL, 0), e->data, tio_data_bytes(e));
    unsigned char kind = (unsigned char)e->kind;
    put(&h, &kind, 1);
    put_u32(&h, (uint32_t)nlen);
    put(&h, e->name, nlen);
    put_u32(&h, (uint32_t)e->ndim);
    for (int d = 0; d < e->ndim; d++) put_u64(&h, e->shape[d]);
    put_u32(&h, e->crc);
  }
  Buf top = {0};
  put_u32(&top, count);
  put_u32(&top, (uint32_t)h.len);
  int bad = h.oom || top.oom;
  uint32_t crc = bad ? 0 : crc_of(crc_of((uint32_t)crc32(0L, Z_NULL, 0), top.p, top.len), h.p, h.len);
  unsigned char v[4] = {TENSORIO_VERSION, 0, 0, 0}, c[4] = {(unsigned char)crc, (unsigned char)(crc >> 8),
                                                           (unsigned char)(crc >> 16), (unsigned char)(crc >> 24)};
  bad = bad || fwrite(MAGIC, 1, 8, f) != 8 || fwrite(v, 1, 4, f) != 4 || fwrite(top.p, 1, top.len, f) != top.len ||
        (h.len && fwrite(h.p, 1, h.len, f) != h.len) || fwrite(c, 1, 4, f) != 4;
  free(h.p);
  free(top.p);
  for (uint32_t i = 0; !bad && i < count; i++) {
    size_t n = tio_data_bytes(&entries[i]);
    bad = n && fwrite(entries[i].data, 1, n, f) != n;
  }
  return bad ? -1 : 0;
}

static long bytes_left(FILE *f) {
  long here = ftell(f);
  if (here < 0 || fseek(f, 0, SEEK_END)) return -1;
  long end = ftell(f);
  if (end < 0 || fseek(f, here, SEEK_SET)) return -1;
  return end - here;
}

/* parses the checked header blob into entries; total data bytes in *total */
static int parse_entries(const unsigned char *p, size_t len, TioEntry *es, uint32_t count,
                         uint64_t limit, uint64_t *total, char *err, size_t errlen) {
  size_t pos = 0;
  *total = 0;
  for (uint32_t i = 0; i < count; i++) {
    TioEntry *e = &es[i];
    if (pos + 5 > len) goto short_header;
    e->kind = p[pos];
    uint32_t nlen = get_u32(p + pos + 1);
    pos += 5;
    if (e->kind != TIO_FLOAT32 && e->kind != TIO_BYTES) { snprintf(err, errlen, "entry %u: unknown kind %d", i + 1, e->kind); return -1; }
    if (nlen > TENSORIO_MAX_NAME || pos + nlen + 4 > len) goto short_header;
    memcpy(e->name, p + pos, nlen);
    e->name[nlen] = 0;
    pos += nlen;
    uint32_t nd = get_u32(p + pos);
    pos += 4;
    if (nd > CAPS_MAXDIM || (e->kind == TIO_BYTES && nd != 1)) {
      snprintf(err, errlen, "entry '%s': invalid dimension count %u", e->name, nd);
      return -1;
    }
    if (pos + 8 * (size_t)nd + 4 > len) goto short_header;
    e->ndim = (int)nd;
    e->numel = 1;
    for (uint32_t d = 0; d < nd; d++, pos += 8) {
      uint64_t dim = get_u64(p + pos);
      if (dim && e->numel > limit / dim) {
        snprintf(err, errlen, "entry '%s': shape larger than the file", e->name);
        return -1;
      }
      e->shape[d] = (size_t)dim;
      e->numel *= (size_t)dim;
    }
    e->crc = get_u32(p + pos);
    pos += 4;
    *total += tio_data_bytes(e);
    if (*total > limit) { snprintf(err, errlen, "entry '%s': data larger than the file", e->name); return -1; }
  }
  if (pos != len) { snprintf(err, errlen, "header holds %zu bytes more than its entries", len - pos); return -1; }
  return 0;
short_header:
  snprintf(err, errlen, "header too short for its entries");
  return -1;
}

int tio_read_header(FILE *f, TioEntry **entries, uint32_t *count, char *err, size_t errlen) {
  unsigned char top[20];
  *entries = NULL;
  if (fread(top, 1, 20, f) != 20 || memcmp(top, MAGIC, 8)) {
    snprintf(err, errlen, "not a capsrun tensor file (bad magic or too short)");
    return -1;
  }
  uint32_t version = get_u32(top + 8), hbytes = get_u32(top + 16);
  *count = get_u32(top + 12);
  if (version != TENSORIO_VERSION) {
    snprintf(err, errlen, "file version %u, this capsrun reads version %d", version, TENSORIO_VERSION);
    return -1;
  }
  long left = bytes_left(f);
  if (*count > TENSORIO_MAX_ENTRIES || hbytes > TENSORIO_MAX_HEADER || left < 0 || (uint64_t)hbytes + 4 > (uint64_t)left) {
    snprintf(err, errlen, "header of %u entries in %u bytes does not fit the file", *count, hbytes);
    return -1;
  }
  unsigned char *h = malloc(hbytes + 4u);
  TioEntry *es = calloc(*count ? *count : 1, sizeof *es);
  int rc = -1;
  if (!h || !es) { snprintf(err, errlen, "out of memory"); goto done; }
  if (fread(h, 1, hbytes + 4u, f) != hbytes + 4u) { snprintf(err, errlen, "truncated header"); goto done; }
  uint32_t crc = crc_of(crc_of((uint32_t)crc32(0L, Z_NULL, 0), top + 12, 8), h, hbytes);
  if (crc != get_u32(h + hbytes)) { snprintf(err, errlen, "header checksum mismatch (file corrupt)"); goto done; }
  uint64_t total, limit = (uint64_t)left - hbytes - 4;
  if (parse_entries(h, hbytes, es, *count, limit, &total, err, errlen)) goto done;
  if (total != limit) {
    snprintf(err, errlen, "entries declare %llu data bytes, the file holds %llu", (unsigned long long)total,
             (unsigned long long)limit);
    goto done;
  }
  rc = 0;
done:
  free(h);
  if (rc) free(es); else *entries = es;
  return rc;
}

int tio_read_data(FILE *f, const TioEntry *e, void *buf, char *err, size_t errlen) {
  size_t n = tio_data_bytes(e);
  if (n && fread(buf, 1, n, f) != n) {
    snprintf(err, errlen, "entry '%s': truncated data", e->name);
    return -1;
  }
  if (crc_of((uint32_t)crc32(0L, Z_NULL, 0), buf, n) != e->crc) {
    snprintf(err, errlen, "entry '%s': checksum mismatch (file corrupt)", e->name);
    return -1;
  }
  return 0;
}
