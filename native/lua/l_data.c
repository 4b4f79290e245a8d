/* l_data.c: data-facing bindings: IDX files, shift augmentation, and files
 * of named tensors (written atomically: temporary file, fsync, rename). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <errno.h>
#include <unistd.h>
#include "binding.h"
#include <zlib.h>
#include "idx.h"
#include "cifar.h"
#include "tensorio.h"
#include "safetensors.h"
#include "atomic_file.h"

/* read_idx(path [, scale]) -> tensor of the file's shape, values * scale */
static int l_read_idx(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  float scale = (float)luaL_optnumber(L, 2, 1.0);
  IdxData d;
  char err[256];
  if (idx_read(path, &d, err, sizeof err))
    return luaL_error(L, "read_idx: %s: %s", path, err);
  size_t shape[CAPS_MAXDIM];
  for (int i = 0; i < d.ndim; i++) shape[i] = d.shape[i];
  /* built by hand, not with lt_push_new, so that no error can be raised
   * while d.bytes is still ours to free */
  Tensor *t = (Tensor *)lua_newuserdatauv(L, sizeof(Tensor), 1);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, TENSOR_MT);
  t->data = (float *)malloc(d.numel * sizeof(float));
  if (!t->data) { free(d.bytes); return luaL_error(L, "read_idx: %s: out of memory", path); }
  t->capacity = d.numel;
  t->numel = d.numel;
  t->ndim = d.ndim;
  for (int i = 0; i < CAPS_MAXDIM; i++) t->shape[i] = i < d.ndim ? shape[i] : 1;
  for (size_t i = 0; i < d.numel; i++) t->data[i] = (float)d.bytes[i] * scale;
  free(d.bytes);
  return 1;
}

/* random_shift_(images (B, C, H, W), max_shift, gen): shifts each image by
 * its own (dy, dx) in [-max, max], filling with zeros. In place. */
static int l_random_shift(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  lt_check_ndim(L, 1, t, 4);
  size_t max = lt_check_size(L, 2, 0, 64);
  Rng *r = lrng_check(L, 3);
  size_t B = t->shape[0], C = t->shape[1], H = t->shape[2], W = t->shape[3];
  long *shifts = (long *)lua_newuserdatauv(L, (B ? 2 * B : 1) * sizeof(long), 0);
  for (size_t b = 0; b < B; b++) {   /* dy, then dx, per image: the order the generator has always been read in */
    shifts[2 * b] = (long)rng_below(r, 2 * max + 1) - (long)max;
    shifts[2 * b + 1] = (long)rng_below(r, 2 * max + 1) - (long)max;
  }
  shift_images(B, C, H, W, shifts, t->data);
  lua_settop(L, 1);
  return 1;
}

static int cmp_entries(const void *a, const void *b) {
  return strcmp(((const TioEntry *)a)->name, ((const TioEntry *)b)->name);
}

/* save_tensors(path, {name = tensor or string, ...}): written atomically */
static int l_save_tensors(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  size_t n = 0;
  for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING || !(luaL_testudata(L, -1, TENSOR_MT) || lua_type(L, -1) == LUA_TSTRING))
      return luaL_argerror(L, 2, "table of name = tensor (or string) pairs expected");
    if (lua_rawlen(L, -2) > TENSORIO_MAX_NAME) return luaL_argerror(L, 2, "name longer than 256 bytes");
    if (++n > TENSORIO_MAX_ENTRIES) return luaL_argerror(L, 2, "too many entries");
  }
  TioEntry *es = (TioEntry *)lua_newuserdatauv(L, (n ? n : 1) * sizeof(TioEntry), 0);
  size_t k = 0;
  for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {   /* values stay referenced by the table */
    TioEntry *e = &es[k++];
    memset(e, 0, sizeof *e);
    memcpy(e->name, lua_tostring(L, -2), lua_rawlen(L, -2) + 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t len;
      e->data = lua_tolstring(L, -1, &len);
      e->kind = TIO_BYTES; e->ndim = 1; e->shape[0] = e->numel = len;
    } else {
      Tensor *t = (Tensor *)lua_touserdata(L, -1);
      e->data = t->data; e->kind = TIO_FLOAT32; e->ndim = t->ndim; e->numel = t->numel;
      memcpy(e->shape, t->shape, sizeof e->shape);
    }
  }
  qsort(es, n, sizeof *es, cmp_entries);
  AtomicFile a;
  char err[512];
  if (atomic_open(&a, path, err, sizeof err)) return luaL_error(L, "save_tensors: %s", err);
  int failed = tio_write(a.f, es, (uint32_t)n);
  if (atomic_commit(&a, failed, err, sizeof err)) return luaL_error(L, "save_tensors: %s", err);
  return 0;
}

/* save_safetensors(path, {name = tensor, ...} [, {key = "value", ...}]):
 * the tensors (sorted by name) in the safetensors format, written atomically */
static int l_save_safetensors(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  size_t n = 0, nmeta = 0;
  for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING || !luaL_testudata(L, -1, TENSOR_MT))
      return luaL_argerror(L, 2, "table of name = tensor pairs expected");
    if (lua_rawlen(L, -2) > TENSORIO_MAX_NAME) return luaL_argerror(L, 2, "name longer than 256 bytes");
    if (++n > TENSORIO_MAX_ENTRIES) return luaL_argerror(L, 2, "too many entries");
  }
  if (lua_istable(L, 3))
    for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1)) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        return luaL_argerror(L, 3, "table of string = string metadata expected");
      if (++nmeta > 1000) return luaL_argerror(L, 3, "at most 1000 metadata entries expected");
    }
  TioEntry *es = (TioEntry *)lua_newuserdatauv(L, (n ? n : 1) * sizeof(TioEntry), 0);
  const char **meta = (const char **)lua_newuserdatauv(L, (nmeta ? 2 * nmeta : 1) * sizeof(char *), 0);
  size_t k = 0;
  for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {   /* values stay referenced by the table */
    TioEntry *e = &es[k++];
    memset(e, 0, sizeof *e);
    memcpy(e->name, lua_tostring(L, -2), lua_rawlen(L, -2) + 1);
    Tensor *t = (Tensor *)lua_touserdata(L, -1);
    e->data = t->data; e->kind = TIO_FLOAT32; e->ndim = t->ndim; e->numel = t->numel;
    memcpy(e->shape, t->shape, sizeof e->shape);
  }
  qsort(es, n, sizeof *es, cmp_entries);
  k = 0;
  if (lua_istable(L, 3))
    for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1)) { meta[k] = lua_tostring(L, -2); meta[nmeta + k++] = lua_tostring(L, -1); }
  AtomicFile a;
  char err[512];
  if (atomic_open(&a, path, err, sizeof err)) return luaL_error(L, "save_safetensors: %s", err);
  int failed = safetensors_write(a.f, es, n, meta, meta + nmeta, nmeta, err, sizeof err);
  char err2[512];
  if (atomic_commit(&a, failed, err2, sizeof err2))
    return luaL_error(L, "save_safetensors: %s", failed ? err : err2);
  return 0;
}

/* pushes entry e's value read from f; 0, or -1 with a message in err.
 * Allocation failures are reported, not raised, so the caller can close f. */
static int push_entry(lua_State *L, FILE *f, const TioEntry *e, char *err, size_t errlen) {
  if (e->kind == TIO_BYTES) {
    char *buf = (char *)lua_newuserdatauv(L, e->numel ? e->numel : 1, 0);
    if (tio_read_data(f, e, buf, err, errlen)) return -1;
    lua_pushlstring(L, buf, e->numel);
    lua_remove(L, -2);
    return 0;
  }
  Tensor *t = (Tensor *)lua_newuserdatauv(L, sizeof(Tensor), 1);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, TENSOR_MT);
  t->data = (float *)malloc((e->numel ? e->numel : 1) * sizeof(float));
  if (!t->data) { snprintf(err, errlen, "out of memory"); return -1; }
  t->capacity = e->numel ? e->numel : 1;
  t->numel = e->numel;
  t->ndim = e->ndim;
  for (int d = 0; d < CAPS_MAXDIM; d++) t->shape[d] = d < e->ndim ? e->shape[d] : 1;
  return tio_read_data(f, e, t->data, err, errlen);
}

/* load_tensors(path) -> {name = tensor or string, ...} */
/* load_tensor_entry(path, name) -> that one entry (tensor or string), or
 * nil when the file has none: the header is checked, the other entries'
 * data skipped (reading a weights file's config without its weights) */
static int l_load_tensor_entry(lua_State *L) {
  const char *path = luaL_checkstring(L, 1), *name = luaL_checkstring(L, 2);
  FILE *f = fopen(path, "rb");
  if (!f) return luaL_error(L, "load_tensor_entry: cannot open %s: %s", path, strerror(errno));
  char err[400];
  uint32_t count;
  TioEntry *es;
  int rc = tio_read_header(f, &es, &count, err, sizeof err);
  if (rc) { fclose(f); return luaL_error(L, "load_tensor_entry: %s: %s", path, err); }
  int found = 0;
  for (uint32_t i = 0; rc == 0 && i < count && !found; i++) {
    if (strcmp(es[i].name, name) == 0) { rc = push_entry(L, f, &es[i], err, sizeof err); found = 1; break; }
    size_t bytes = es[i].numel * (es[i].kind == TIO_BYTES ? 1 : sizeof(float));   /* sizes checked by the header read */
    if (fseeko(f, (off_t)bytes, SEEK_CUR) != 0) { snprintf(err, sizeof err, "cannot skip entry '%s'", es[i].name); rc = -1; }
  }
  free(es);
  fclose(f);
  if (rc) return luaL_error(L, "load_tensor_entry: %s: %s", path, err);
  if (!found) lua_pushnil(L);
  return 1;
}

static int l_load_tensors(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  FILE *f = fopen(path, "rb");
  if (!f) return luaL_error(L, "load_tensors: cannot open %s: %s", path, strerror(errno));
  char err[400];
  uint32_t count;
  TioEntry *es;
  int rc = tio_read_header(f, &es, &count, err, sizeof err);
  if (rc) { fclose(f); return luaL_error(L, "load_tensors: %s: %s", path, err); }
  lua_newtable(L);
  for (uint32_t i = 0; rc == 0 && i < count; i++) {
    rc = push_entry(L, f, &es[i], err, sizeof err);
    lua_setfield(L, -2, es[i].name);
  }
  free(es);
  fclose(f);
  if (rc) return luaL_error(L, "load_tensors: %s: %s", path, err);
  return 1;
}

/* random_flip_(images (B, C, H, W), gen): mirrors each image left to right
 * with probability 1/2. In place. */
static int l_random_flip(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  lt_check_ndim(L, 1, t, 4);
  Rng *r = lrng_check(L, 2);
  size_t B = t->shape[0], C = t->shape[1], H = t->shape[2], W = t->shape[3];
  unsigned char *flip = (unsigned char *)lua_newuserdatauv(L, B ? B : 1, 0);
  for (size_t b = 0; b < B; b++) flip[b] = rng_below(r, 2) != 0;
  flip_images(B, C, H, W, flip, t->data);
  lua_settop(L, 1);
  return 1;
}

/* read_cifar(path [, classes 10]) -> images (n, 3, 32, 32) in [0, 1], labels (n) */
static int l_read_cifar(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t classes = lua_isnoneornil(L, 2) ? 10 : lt_check_size(L, 2, 1, 256), n;
  char err[512];
  if (cifar_count(path, &n, err, sizeof err)) return luaL_error(L, "read_cifar: %s", err);
  size_t ishape[4] = {n, 3, CIFAR_SIDE, CIFAR_SIDE}, lshape[1] = {n};
  Tensor *images = lt_push_new(L, 4, ishape);   /* bounded by the file's length */
  Tensor *labels = lt_push_new(L, 1, lshape);
  if (cifar_read(path, n, classes, images->data, labels->data, err, sizeof err))
    return luaL_error(L, "read_cifar: %s", err);
  return 2;
}

/* standardize_(images (n, ...)): zero mean, unit variance per image, in place */
static int l_standardize(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  luaL_argcheck(L, t->ndim >= 2 && t->numel > 0, 1, "non-empty images (n, ...) expected");
  standardize_images(t->shape[0], t->numel / t->shape[0], t->data);
  lua_settop(L, 1);
  return 1;
}

/* crop(images (B, C, H, W), size [, gen [, out]]) -> (B, C, size, size):
 * a random window per image with gen, else the centre; out is reused when
 * it owns enough memory */
static int l_crop(lua_State *L) {
  lua_settop(L, 4);   /* scratch pushed below must not take the place of `out` */
  Tensor *t = lt_check(L, 1);
  lt_check_ndim(L, 1, t, 4);
  size_t B = t->shape[0], C = t->shape[1], H = t->shape[2], W = t->shape[3];
  size_t size = lt_check_size(L, 2, 1, (lua_Integer)(H < W ? H : W));
  Rng *r = lua_isnoneornil(L, 3) ? NULL : lrng_check(L, 3);
  size_t *offsets = NULL;
  if (r) {
    offsets = (size_t *)lua_newuserdatauv(L, (B ? 2 * B : 1) * sizeof(size_t), 0);
    for (size_t b = 0; b < B; b++) {
      offsets[2 * b] = (size_t)rng_below(r, H - size + 1);
      offsets[2 * b + 1] = (size_t)rng_below(r, W - size + 1);
    }
  }
  size_t shape[4] = {B, C, size, size};
  Tensor *out = lt_push_reuse(L, lua_isnoneornil(L, 4) ? 0 : 4, 4, shape);
  crop_images(B, C, H, W, t->data, size, offsets, out->data);
  return 1;
}

/* jitter_(images (n, ...), gen, brightness, contrast_lo, contrast_hi): per
 * image, contrast c ~ U(lo, hi) about its mean, then brightness b ~ U(-b, b) */
static int l_jitter(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  Rng *r = lrng_check(L, 2);
  lua_Number bright = luaL_checknumber(L, 3), lo = luaL_checknumber(L, 4), hi = luaL_checknumber(L, 5);
  luaL_argcheck(L, t->ndim >= 2 && t->numel > 0, 1, "non-empty images (n, ...) expected");
  luaL_argcheck(L, bright >= 0, 3, "non-negative brightness range expected");
  luaL_argcheck(L, lo > 0 && hi >= lo, 5, "contrast range 0 < lo <= hi expected");
  size_t n = t->shape[0];
  float *b = (float *)lua_newuserdatauv(L, 2 * n * sizeof(float), 0), *c = b + n;
  for (size_t i = 0; i < n; i++) {
    b[i] = (float)((2 * rng_uniform(r) - 1) * bright);
    c[i] = (float)(lo + rng_uniform(r) * (hi - lo));
  }
  jitter_images(n, t->numel / n, b, c, t->data);
  lua_settop(L, 1);
  return 1;
}

/* crc32(string) -> the zlib CRC-32 of the bytes */
static int l_crc32(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_pushinteger(L, (lua_Integer)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)s, (uInt)len));
  return 1;
}

static const luaL_Reg data_funcs[] = {
  {"crc32", l_crc32},
  {"read_idx", l_read_idx}, {"random_shift_", l_random_shift}, {"random_flip_", l_random_flip},
  {"read_cifar", l_read_cifar}, {"standardize_", l_standardize}, {"crop", l_crop}, {"jitter_", l_jitter},
  {"save_tensors", l_save_tensors}, {"load_tensors", l_load_tensors}, {"save_safetensors", l_save_safetensors},
  {"load_tensor_entry", l_load_tensor_entry},
  {NULL, NULL}};

void ldata_register(lua_State *L) { luaL_setfuncs(L, data_funcs, 0); }
