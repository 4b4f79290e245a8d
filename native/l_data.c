/* l_data.c: data-facing bindings: IDX files, shift augmentation, and files
 * of named tensors (written atomically: temporary file, fsync, rename). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <errno.h>
#include <unistd.h>
#include "lcaps.h"
#include "idx.h"
#include "tensorio.h"
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
  float *tmp = (float *)lua_newuserdatauv(L, ((H * W) > 0 ? (H * W) : 1) * sizeof(float), 0);
  for (size_t b = 0; b < B; b++) {
    long dy = (long)rng_below(r, 2 * max + 1) - (long)max;
    long dx = (long)rng_below(r, 2 * max + 1) - (long)max;
    for (size_t c = 0; c < C; c++) {
      float *img = t->data + (b * C + c) * H * W;
      memcpy(tmp, img, H * W * sizeof(float));
      for (long y = 0; y < (long)H; y++)
        for (long x = 0; x < (long)W; x++) {
          long sy = y - dy, sx = x - dx;
          img[y * (long)W + x] = (sy >= 0 && sy < (long)H && sx >= 0 && sx < (long)W) ? tmp[sy * (long)W + sx] : 0.0f;
        }
    }
  }
  lua_settop(L, 1);
  return 1;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* writes sorted names[0..n) from table at index 2 into f; 0 on success */
static int write_all(lua_State *L, FILE *f, const char **names, size_t n) {
  if (tio_write_header(f, (uint32_t)n)) return -1;
  for (size_t i = 0; i < n; i++) {
    lua_getfield(L, 2, names[i]);
    Tensor *t = (Tensor *)lua_touserdata(L, -1);
    lua_pop(L, 1);   /* still referenced by the table */
    if (tio_write_tensor(f, names[i], t)) return -1;
  }
  return 0;
}

/* save_tensors(path, {name = tensor, ...}) */
static int l_save_tensors(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  size_t n = 0;
  for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING || !luaL_testudata(L, -1, TENSOR_MT))
      return luaL_argerror(L, 2, "table of name = tensor pairs expected");
    if (lua_rawlen(L, -2) > TENSORIO_MAX_NAME) return luaL_argerror(L, 2, "tensor name longer than 256 bytes");
    n++;
  }
  const char **names = (const char **)lua_newuserdatauv(L, (n ? n : 1) * sizeof(char *), 0);
  size_t k = 0;
  for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) names[k++] = lua_tostring(L, -2);
  qsort(names, n, sizeof *names, cmp_names);
  AtomicFile a;
  char err[512];
  if (atomic_open(&a, path, err, sizeof err)) return luaL_error(L, "save_tensors: %s", err);
  int failed = write_all(L, a.f, names, n);
  if (atomic_commit(&a, failed, err, sizeof err)) return luaL_error(L, "save_tensors: %s", err);
  return 0;
}

/* load_tensors(path) -> {name = tensor, ...} */
static int l_load_tensors(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  FILE *f = fopen(path, "rb");
  if (!f) return luaL_error(L, "load_tensors: cannot open %s: %s", path, strerror(errno));
  char err[320];
  uint32_t count;
  int rc = tio_read_header(f, &count, err, sizeof err);
  lua_newtable(L);
  for (uint32_t i = 0; rc == 0 && i < count; i++) {
    TioEntry e;
    rc = tio_read_entry(f, &e, err, sizeof err);
    if (rc) break;
    /* sizes are now checked against the file; an allocation failure here
     * would leak the FILE, so allocate without raising */
    Tensor *t = (Tensor *)lua_newuserdatauv(L, sizeof(Tensor), 1);
    memset(t, 0, sizeof *t);
    luaL_setmetatable(L, TENSOR_MT);
    t->data = (float *)malloc((e.numel ? e.numel : 1) * sizeof(float));
    if (!t->data) { snprintf(err, sizeof err, "out of memory"); rc = -1; break; }
    t->capacity = e.numel ? e.numel : 1;
    t->numel = e.numel;
    t->ndim = e.ndim;
    for (int d = 0; d < CAPS_MAXDIM; d++) t->shape[d] = d < e.ndim ? e.shape[d] : 1;
    rc = tio_read_data(f, &e, t->data, err, sizeof err);
    lua_setfield(L, -2, e.name);
  }
  if (rc == 0 && fgetc(f) != EOF) { snprintf(err, sizeof err, "trailing bytes after the last tensor"); rc = -1; }
  fclose(f);
  if (rc) return luaL_error(L, "load_tensors: %s: %s", path, err);
  return 1;
}

static const luaL_Reg data_funcs[] = {
  {"read_idx", l_read_idx}, {"random_shift_", l_random_shift},
  {"save_tensors", l_save_tensors}, {"load_tensors", l_load_tensors}, {NULL, NULL}};

void ldata_register(lua_State *L) { luaL_setfuncs(L, data_funcs, 0); }
