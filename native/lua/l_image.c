/* l_image.c: image grids to PNG and PNG files back to tensors. */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "binding.h"
#include "png_io.h"

#define MAX_SIDE 32768

static lua_Integer opt_int_field(lua_State *L, int t, const char *name, lua_Integer def,
                                 lua_Integer lo, lua_Integer hi) {
  if (lua_isnoneornil(L, t)) return def;
  lua_getfield(L, t, name);
  lua_Integer v = def;
  if (!lua_isnil(L, -1)) {
    int ok;
    v = lua_tointegerx(L, -1, &ok);
    if (!ok || v < lo || v > hi)
      luaL_error(L, "write_png_grid: option '%s' must be an integer in [%I, %I]", name, lo, hi);
  }
  lua_pop(L, 1);
  return v;
}

static unsigned char to_byte(float v) {
  if (!(v > 0)) return 0;          /* NaN too */
  if (v >= 1) return 255;
  return (unsigned char)lrintf(v * 255.0f);
}

/* write_png_grid(path, images [, opts]) -> width, height
 * images: (h, w), (n, h, w), (n, 1, h, w) or (rows, cols, h, w); values are
 * clamped to [0, 1]. opts: cols, scale (1), spacing (1), background (0.5). */
static int l_write_png_grid(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  Tensor *t = lt_check(L, 2);
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  if (t->ndim < 2 || t->ndim > 4 || t->numel == 0)
    luaL_argerror(L, 2, "non-empty (h, w), (n, h, w) or (rows, cols, h, w) tensor expected");
  size_t h = t->shape[t->ndim - 2], w = t->shape[t->ndim - 1], n = t->numel / (h * w);
  size_t cols = t->ndim == 4 && t->shape[1] > 1 ? t->shape[1] : (n <= 16 ? n : (size_t)ceil(sqrt((double)n)));
  cols = (size_t)opt_int_field(L, 3, "cols", (lua_Integer)cols, 1, MAX_SIDE);
  size_t scale = (size_t)opt_int_field(L, 3, "scale", 1, 1, 64);
  size_t spacing = (size_t)opt_int_field(L, 3, "spacing", 1, 0, 256);
  float background = 0.5f;
  if (!lua_isnoneornil(L, 3)) {
    lua_getfield(L, 3, "background");
    if (!lua_isnil(L, -1)) background = (float)luaL_checknumber(L, -1);
    lua_pop(L, 1);
  }
  size_t rows = (n + cols - 1) / cols;
  size_t tile_w = w * scale, tile_h = h * scale;
  if (tile_w > MAX_SIDE || tile_h > MAX_SIDE || cols * (tile_w + spacing) > MAX_SIDE ||
      rows * (tile_h + spacing) > MAX_SIDE)
    return luaL_error(L, "write_png_grid: image larger than %d pixels on a side", MAX_SIDE);
  size_t W = cols * tile_w + (cols + 1) * spacing, H = rows * tile_h + (rows + 1) * spacing;
  unsigned char *pix = (unsigned char *)lua_newuserdatauv(L, W * H, 0);
  memset(pix, to_byte(background), W * H);
  for (size_t k = 0; k < n; k++) {
    size_t x0 = spacing + (k % cols) * (tile_w + spacing), y0 = spacing + (k / cols) * (tile_h + spacing);
    const float *img = t->data + k * h * w;
    for (size_t y = 0; y < tile_h; y++)
      for (size_t x = 0; x < tile_w; x++)
        pix[(y0 + y) * W + x0 + x] = to_byte(img[(y / scale) * w + x / scale]);
  }
  char err[512];
  if (png_write_grey(path, W, H, pix, err, sizeof err)) return luaL_error(L, "write_png_grid: %s", err);
  lua_pushinteger(L, (lua_Integer)W);
  lua_pushinteger(L, (lua_Integer)H);
  return 2;
}

/* read_png(path) -> (h, w) tensor of grey values in [0, 1] */
static int l_read_png(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t w, h;
  unsigned char *pixels;
  char err[512];
  if (png_read_grey(path, (size_t)1 << 26, &w, &h, &pixels, err, sizeof err))
    return luaL_error(L, "read_png: %s", err);
  Tensor *t = (Tensor *)lua_newuserdatauv(L, sizeof(Tensor), 1);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, TENSOR_MT);
  t->data = (float *)malloc(w * h * sizeof(float));
  if (!t->data) { free(pixels); return luaL_error(L, "read_png: out of memory"); }
  t->capacity = t->numel = w * h;
  t->ndim = 2;
  t->shape[0] = h; t->shape[1] = w;
  for (int i = 2; i < CAPS_MAXDIM; i++) t->shape[i] = 1;
  for (size_t i = 0; i < w * h; i++) t->data[i] = pixels[i] / 255.0f;
  free(pixels);
  return 1;
}

static const luaL_Reg image_funcs[] = {
  {"write_png_grid", l_write_png_grid}, {"read_png", l_read_png}, {NULL, NULL}};

void limage_register(lua_State *L) { luaL_setfuncs(L, image_funcs, 0); }
