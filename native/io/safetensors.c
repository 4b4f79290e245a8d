/* safetensors.c: the safetensors writer (safetensors.h). The JSON header
 * is built in one growing buffer; names and metadata are escaped. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "safetensors.h"

typedef struct Buf { char *p; size_t len, cap; int failed; } Buf;

static void put(Buf *b, const char *s, size_t n) {
  if (b->failed) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) { b->failed = 1; return; }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void puts_(Buf *b, const char *s) { put(b, s, strlen(s)); }

static void put_u64(Buf *b, uint64_t v) {
  char tmp[24];
  int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
  put(b, tmp, (size_t)n);
}

static void put_string(Buf *b, const char *s) {
  put(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') { char e[2] = {'\\', (char)c}; put(b, e, 2); }
    else if (c < 0x20) { char e[8]; snprintf(e, sizeof e, "\\u%04x", c); put(b, e, 6); }
    else put(b, (const char *)&c, 1);
  }
  put(b, "\"", 1);
}

static int write_u64le(FILE *f, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
  return fwrite(b, 1, 8, f) == 8 ? 0 : -1;
}

int safetensors_write(FILE *f, const TioEntry *es, size_t count, const char *const *keys, const char *const *values,
                      size_t nmeta, char *err, size_t errlen) {
  Buf b = {0};
  puts_(&b, "{");
  if (nmeta) {
    puts_(&b, "\"__metadata__\":{");
    for (size_t i = 0; i < nmeta; i++) {
      if (i) puts_(&b, ",");
      put_string(&b, keys[i]);
      puts_(&b, ":");
      put_string(&b, values[i]);
    }
    puts_(&b, "}");
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < count; i++) {
    const TioEntry *e = &es[i];
    if (e->kind != TIO_FLOAT32) { snprintf(err, errlen, "entry '%s' is not a float32 tensor", e->name); free(b.p); return -1; }
    if (i || nmeta) puts_(&b, ",");
    put_string(&b, e->name);
    puts_(&b, ":{\"dtype\":\"F32\",\"shape\":[");
    for (int d = 0; d < e->ndim; d++) {
      if (d) puts_(&b, ",");
      put_u64(&b, e->shape[d]);
    }
    puts_(&b, "],\"data_offsets\":[");
    put_u64(&b, offset);
    puts_(&b, ",");
    offset += (uint64_t)e->numel * 4;
    put_u64(&b, offset);
    puts_(&b, "]}");
  }
  puts_(&b, "}");
  while (!b.failed && b.len % 8) puts_(&b, " ");   /* the data starts 8-byte aligned */
  if (b.failed) { snprintf(err, errlen, "out of memory"); free(b.p); return -1; }
  int bad = write_u64le(f, b.len) || fwrite(b.p, 1, b.len, f) != b.len;
  free(b.p);
  for (size_t i = 0; i < count && !bad; i++)
    bad = fwrite(es[i].data, sizeof(float), es[i].numel, f) != es[i].numel;   /* x86-64 and ARM: little-endian */
  if (bad) { snprintf(err, errlen, "write error"); return -1; }
  return 0;
}
