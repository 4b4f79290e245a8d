/* matfile.c: MATLAB level-5 MAT-file reader (matfile.h). Elements stream
 * from the file, through zlib for miCOMPRESSED ones, so a variable that is
 * not wanted is skipped after its name and nothing is allocated from a
 * size the file has not backed with bytes (a deflate stream expands at
 * most 1032 times). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "matfile.h"

enum { MI_INT8 = 1, MI_UINT8 = 2, MI_INT16 = 3, MI_UINT16 = 4, MI_INT32 = 5, MI_UINT32 = 6, MI_SINGLE = 7,
       MI_DOUBLE = 9, MI_INT64 = 12, MI_UINT64 = 13, MI_MATRIX = 14, MI_COMPRESSED = 15 };
#define MAX_DEFLATE_RATIO 1032u
#define NAME_CAP 64

static uint32_t le32(const unsigned char *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* bytes of one value of a numeric storage type, 0 for any other type */
static size_t type_size(uint32_t t) {
  switch (t) {
  case MI_INT8: case MI_UINT8: return 1;
  case MI_INT16: case MI_UINT16: return 2;
  case MI_INT32: case MI_UINT32: case MI_SINGLE: return 4;
  case MI_DOUBLE: case MI_INT64: case MI_UINT64: return 8;
  default: return 0;
  }
}

static float value_at(uint32_t t, const unsigned char *b) {
  uint64_t u = 0;
  for (size_t k = type_size(t); k-- > 0;) u = u << 8 | b[k];
  switch (t) {
  case MI_INT8: return (float)(int8_t)u;
  case MI_UINT8: return (float)u;
  case MI_INT16: return (float)(int16_t)u;
  case MI_UINT16: return (float)u;
  case MI_INT32: return (float)(int32_t)u;
  case MI_UINT32: return (float)u;
  case MI_INT64: return (float)(int64_t)u;
  case MI_UINT64: return (float)u;
  case MI_SINGLE: { uint32_t w = (uint32_t)u; float f; memcpy(&f, &w, 4); return f; }
  default: { double d; memcpy(&d, &u, 8); return (float)d; }
  }
}

/* the bytes of one top-level element: read as they are, or inflated */
typedef struct Source {
  FILE *f;
  size_t left;            /* bytes of the element still in the file */
  size_t declared;        /* bytes its matrix claims (inflated, for a compressed one) */
  int compressed;
  z_stream z;
  unsigned char in[1 << 15];
} Source;

/* n bytes into dst (NULL: skipped); 0, or -1 when the element ends first or its data is corrupt */
static int src_read(Source *s, unsigned char *dst, size_t n) {
  unsigned char scratch[4096];
  while (n > 0) {
    size_t want = dst ? n : (n < sizeof scratch ? n : sizeof scratch);
    unsigned char *to = dst ? dst : scratch;
    size_t got = 0;
    if (!s->compressed) {
      if (want > s->left) return -1;
      got = fread(to, 1, want, s->f);
      s->left -= got;
      if (got != want) return -1;
    } else {
      if (want > UINT32_MAX) want = UINT32_MAX;
      s->z.next_out = to;
      s->z.avail_out = (uInt)want;
      while (s->z.avail_out > 0) {
        if (s->z.avail_in == 0) {
          size_t k = s->left < sizeof s->in ? s->left : sizeof s->in;
          if (k == 0 || fread(s->in, 1, k, s->f) != k) return -1;
          s->left -= k;
          s->z.next_in = s->in;
          s->z.avail_in = (uInt)k;
        }
        int rc = inflate(&s->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END && s->z.avail_out > 0) return -1;
        if (rc != Z_OK && rc != Z_STREAM_END) return -1;
      }
      got = want;
    }
    if (dst) dst += got;
    n -= got;
  }
  return 0;
}

/* a sub-element's tag: type and byte count, and whether it is a small element (data in the tag's second word) */
static int src_tag(Source *s, uint32_t *type, size_t *len, unsigned char small[4]) {
  unsigned char b[8];
  if (src_read(s, b, 8)) return -1;
  uint32_t w = le32(b);
  if (w >> 16) {
    *type = w & 0xFFFFu;
    *len = w >> 16;
    memcpy(small, b + 4, 4);
    return *len <= 4 ? 1 : -1;
  }
  *type = w;
  *len = le32(b + 4);
  return 0;
}

static size_t padded(size_t n) { return (n + 7) & ~(size_t)7; }

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

/* the array flags, dimensions and name of a miMATRIX; 0 or -1 */
static int read_header(Source *s, MatArray *a, char name[NAME_CAP], int *complex, char *err, size_t errlen) {
  uint32_t type;
  size_t len;
  unsigned char small[4], b[8];
  if (src_tag(s, &type, &len, small) != 0 || type != MI_UINT32 || len != 8 || src_read(s, b, 8))
    FAIL("a matrix without its array flags (a uint32 pair)");
  a->mx_class = (int)(le32(b) & 0xFFu);
  *complex = (le32(b) & 0x800u) != 0;
  if (src_tag(s, &type, &len, small) != 0 || type != MI_INT32 || len % 4 || len < 8 || len > 4 * MAT_MAXDIM)
    FAIL("a matrix without its dimensions (2 to %d int32 values)", MAT_MAXDIM);
  a->ndim = (int)(len / 4);
  unsigned char dims[8 * MAT_MAXDIM];
  if (src_read(s, dims, padded(len))) FAIL("the file ends inside a matrix's dimensions");
  a->numel = 1;
  for (int i = 0; i < a->ndim; i++) {
    int32_t d = (int32_t)le32(dims + 4 * i);
    if (d < 0) FAIL("dimension %d is negative (%d)", i + 1, (int)d);
    if (d > 0 && a->numel > MAT_MAX_VALUES / (size_t)d) FAIL("a matrix of more than %zu values", MAT_MAX_VALUES);
    a->dims[i] = (size_t)d;
    a->numel *= (size_t)d;
  }
  int kind = src_tag(s, &type, &len, small);
  if (kind < 0 || type != MI_INT8 || len >= NAME_CAP) FAIL("a matrix without a name of 1 to %d characters", NAME_CAP - 1);
  if (kind == 1) memcpy(name, small, len);
  else if (src_read(s, (unsigned char *)name, len) || src_read(s, NULL, padded(len) - len))
    FAIL("the file ends inside a matrix's name");
  name[len] = '\0';
  return 0;
}

/* the real part of the wanted matrix into a->data */
static int read_values(Source *s, MatArray *a, const char *name, char *err, size_t errlen) {
  uint32_t type;
  size_t len;
  unsigned char small[4];
  int kind = src_tag(s, &type, &len, small);
  size_t width = type_size(type);
  if (kind < 0 || width == 0) FAIL("variable %s: its values are not of a numeric type (type %u)", name, (unsigned)type);
  if (len != a->numel * width)
    FAIL("variable %s: %zu bytes of values for %zu values of %zu bytes", name, len, a->numel, width);
  if (len > s->declared) FAIL("variable %s: %zu bytes of values in a matrix of %zu bytes", name, len, s->declared);
  a->data = malloc((a->numel ? a->numel : 1) * sizeof(float));
  if (!a->data) FAIL("out of memory for %zu values", a->numel);
  if (kind == 1) {
    for (size_t i = 0; i < a->numel; i++) a->data[i] = value_at(type, small + i * width);
    return 0;
  }
  unsigned char chunk[1 << 15];
  for (size_t done = 0; done < a->numel;) {
    size_t n = a->numel - done;
    if (n > sizeof chunk / width) n = sizeof chunk / width;
    if (src_read(s, chunk, n * width)) {
      free(a->data);
      a->data = NULL;
      FAIL("variable %s: the file ends, or its compressed data is corrupt, at value %zu of %zu", name, done + 1,
           a->numel);
    }
    if (type == MI_UINT8)   /* images: the common case, without the per-value switch */
      for (size_t i = 0; i < n; i++) a->data[done + i] = (float)chunk[i];
    else
      for (size_t i = 0; i < n; i++) a->data[done + i] = value_at(type, chunk + i * width);
    done += n;
  }
  return 0;
}

/* one top-level element of len bytes in the file: 1 when it held the wanted variable (read), 0 when not, -1 */
static int read_element(Source *s, uint32_t type, size_t len, const char *name, MatArray *out, char *err,
                        size_t errlen) {
  s->left = s->declared = len;
  s->compressed = type == MI_COMPRESSED;
  if (s->compressed) {
    size_t inner;
    uint32_t inner_type;
    unsigned char small[4];
    if (src_tag(s, &inner_type, &inner, small) != 0) FAIL("a compressed element that does not inflate to one element");
    if (inner_type != MI_MATRIX) return 0;
    if (inner / MAX_DEFLATE_RATIO > len) FAIL("a compressed element of %zu bytes claims %zu bytes", len, inner);
    s->declared = inner;
  }
  MatArray a;
  memset(&a, 0, sizeof a);
  char found[NAME_CAP];
  int complex;
  if (read_header(s, &a, found, &complex, err, errlen)) return -1;
  if (strcmp(found, name) != 0) return 0;
  if (a.mx_class < 6 || a.mx_class > 15)
    FAIL("variable %s is not a numeric array (MATLAB class %d: cell, struct, char or sparse)", name, a.mx_class);
  if (complex) FAIL("variable %s is complex; a real array expected", name);
  if (read_values(s, &a, name, err, errlen)) return -1;
  *out = a;
  return 1;
}

/* the 128-byte header: 0, or -1 naming what the file is instead */
static int check_header(FILE *f, char *err, size_t errlen) {
  unsigned char h[128];
  if (fread(h, 1, sizeof h, f) != sizeof h) FAIL("too short for a MAT-file header (128 bytes)");
  if (memcmp(h, "MATLAB 7.3", 10) == 0) FAIL("a MATLAB v7.3 file (HDF5); save it with -v7, or use an HDF5 reader");
  if (h[126] == 'M' && h[127] == 'I') FAIL("a big-endian MAT-file; only little-endian files are read");
  if (h[126] != 'I' || h[127] != 'M' || (h[124] | h[125] << 8) != 0x0100)
    FAIL("not a MATLAB level-5 MAT-file (no version 0x0100 and endian indicator IM at bytes 124-127)");
  return 0;
}

static int read_file(FILE *f, size_t size, const char *name, MatArray *out, char *err, size_t errlen) {
  if (check_header(f, err, errlen)) return -1;
  Source *s = calloc(1, sizeof *s);
  if (!s) FAIL("out of memory");
  s->f = f;
  int rc = 0;
  for (size_t at = 128; rc == 0; ) {
    unsigned char tag[8];
    size_t got = fread(tag, 1, 8, f);
    if (got == 0) { snprintf(err, errlen, "no variable named %s", name); rc = -1; break; }
    if (got != 8) { snprintf(err, errlen, "the file ends inside an element's tag at byte %zu", at); rc = -1; break; }
    uint32_t type = le32(tag);
    size_t len = type >> 16 ? 4 : le32(tag + 4), span = type >> 16 ? 0 : (type == MI_COMPRESSED ? len : padded(len));
    if (len > size - at - 8) {
      snprintf(err, errlen, "an element of %zu bytes at byte %zu runs past the end of the file", len, at);
      rc = -1;
      break;
    }
    if (span > size - at - 8) span = size - at - 8;   /* the last element may go unpadded */
    if (type == MI_MATRIX || type == MI_COMPRESSED) {
      if (type == MI_COMPRESSED && inflateInit(&s->z) != Z_OK) { snprintf(err, errlen, "out of memory"); rc = -1; break; }
      rc = read_element(s, type, len, name, out, err, errlen);
      if (type == MI_COMPRESSED) inflateEnd(&s->z);
      memset(&s->z, 0, sizeof s->z);
      if (rc != 0) break;
    }
    at += 8 + span;
    if (fseek(f, (long)at, SEEK_SET)) { snprintf(err, errlen, "cannot seek to byte %zu", at); rc = -1; }
  }
  free(s);
  return rc == 1 ? 0 : -1;
}

int mat_read(const char *path, const char *name, MatArray *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  errno = 0;
  FILE *f = fopen(path, "rb");
  if (!f) FAIL("cannot open: %s", errno ? strerror(errno) : "unknown error");
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    FAIL("cannot find the file's size");
  }
  int rc = read_file(f, (size_t)size, name, out, err, errlen);
  fclose(f);
  return rc;
}
