/* l_image.c: image grids to PNG, PNG files back to tensors (grey or RGB,
 * straight into a data set's tensor), bilinear resizing. */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "binding.h"
#include "png_io.h"
#include "jpeg_io.h"
#include "kernels.h"

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
 * images: (h, w), (n, h, w), (n, 1, h, w) or (rows, cols, h, w) grey; with
 * opts.rgb, (3, h, w), (n, 3, h, w) or (rows, cols, 3, h, w) colour planes,
 * written as an RGB PNG. Values are clamped to [0, 1]. opts: cols, scale
 * (1), spacing (1), background (0.5), rgb (false). */
static int l_write_png_grid(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  Tensor *t = lt_check(L, 2);
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  int rgb = 0;
  if (!lua_isnoneornil(L, 3)) { lua_getfield(L, 3, "rgb"); rgb = lua_toboolean(L, -1); lua_pop(L, 1); }
  size_t ch = rgb ? 3 : 1;
  int lead = t->ndim - 2 - rgb;   /* dimensions before the image */
  if (lead < 0 || lead > 2 || t->numel == 0 || (rgb && t->shape[t->ndim - 3] != 3))
    luaL_argerror(L, 2, rgb ? "non-empty (3, h, w), (n, 3, h, w) or (rows, cols, 3, h, w) tensor expected"
                            : "non-empty (h, w), (n, h, w) or (rows, cols, h, w) tensor expected");
  size_t h = t->shape[t->ndim - 2], w = t->shape[t->ndim - 1], n = t->numel / (h * w * ch);
  size_t cols = lead == 2 && t->shape[1] > 1 ? t->shape[1] : (n <= 16 ? n : (size_t)ceil(sqrt((double)n)));
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
  unsigned char *pix = (unsigned char *)lua_newuserdatauv(L, W * H * ch, 0);
  memset(pix, to_byte(background), W * H * ch);
  for (size_t k = 0; k < n; k++) {
    size_t x0 = spacing + (k % cols) * (tile_w + spacing), y0 = spacing + (k / cols) * (tile_h + spacing);
    const float *img = t->data + k * ch * h * w;
    for (size_t y = 0; y < tile_h; y++)
      for (size_t x = 0; x < tile_w; x++)
        for (size_t c = 0; c < ch; c++)
          pix[((y0 + y) * W + x0 + x) * ch + c] = to_byte(img[c * h * w + (y / scale) * w + x / scale]);
  }
  char err[512];
  if ((rgb ? png_write_rgb : png_write_grey)(path, W, H, pix, err, sizeof err))
    return luaL_error(L, "write_png_grid: %s", err);
  lua_pushinteger(L, (lua_Integer)W);
  lua_pushinteger(L, (lua_Integer)H);
  return 2;
}

#define MAX_PNG_PIXELS ((size_t)1 << 26)   /* 8192 x 8192: checked from the header */

/* interleaved bytes (h, w, c) -> planes (c, h, w) in [0, 1] */
static void bytes_to_planes(size_t c, size_t h, size_t w, const unsigned char *px, float *out) {
  for (size_t k = 0; k < c; k++)
    for (size_t i = 0; i < h * w; i++) out[k * h * w + i] = px[i * c + k] * (1.0f / 255.0f);
}

static int check_channels(lua_State *L, int arg) {
  lua_Integer c = luaL_optinteger(L, arg, 1);
  luaL_argcheck(L, c == 1 || c == 3, arg, "1 (grey) or 3 (RGB) channels expected");
  return (int)c;
}

/* read_png(path [, channels 1|3]) -> (h, w) grey values in [0, 1], or
 * (3, h, w) RGB planes */
static int read_image(lua_State *L, const char *fn) {
  const char *path = luaL_checkstring(L, 1);
  int c = check_channels(L, 2);
  size_t w, h;
  unsigned char *pixels;
  char err[512];
  if (image_read_pixels(path, c, MAX_PNG_PIXELS, &w, &h, &pixels, err, sizeof err))
    return luaL_error(L, "%s: %s", fn, err);
  size_t grey[2] = {h, w}, rgb[3] = {3, h, w};
  Tensor *t = c == 1 ? lt_push_new(L, 2, grey) : lt_push_new(L, 3, rgb);
  bytes_to_planes((size_t)c, h, w, pixels, t->data);
  free(pixels);
  return 1;
}

/* png_info(path) -> width, height, colour (boolean): the header alone */
static int image_info(lua_State *L, const char *fn) {
  const char *path = luaL_checkstring(L, 1);
  size_t w, h;
  int colour;
  char err[512];
  if (image_read_header(path, &w, &h, &colour, err, sizeof err)) return luaL_error(L, "%s: %s", fn, err);
  lua_pushinteger(L, (lua_Integer)w);
  lua_pushinteger(L, (lua_Integer)h);
  lua_pushboolean(L, colour);
  return 3;
}

/* read_png_into(path, images (n, c, H, W), index, resize): the image as
 * images[index] (1-based), c = 1 grey or 3 RGB; another size is resampled
 * bilinearly when resize is true, else an error naming the file */
static int read_image_into(lua_State *L, const char *fn) {
  const char *path = luaL_checkstring(L, 1);
  Tensor *dst = lt_check(L, 2);
  lt_check_ndim(L, 2, dst, 4);
  size_t c = dst->shape[1], H = dst->shape[2], W = dst->shape[3];
  luaL_argcheck(L, c == 1 || c == 3, 2, "images with 1 or 3 channels expected");
  size_t index = lt_check_size(L, 3, 1, (lua_Integer)dst->shape[0]) - 1;
  int resize = lua_toboolean(L, 4);
  size_t w, h;
  unsigned char *pixels;
  char err[512];
  if (image_read_pixels(path, (int)c, MAX_PNG_PIXELS, &w, &h, &pixels, err, sizeof err))
    return luaL_error(L, "%s: %s", fn, err);
  float *slot = dst->data + index * c * H * W;
  if (w == W && h == H) {
    bytes_to_planes(c, h, w, pixels, slot);
    free(pixels);
    return 0;
  }
  if (!resize) {
    free(pixels);
    return luaL_error(L, "%s: %s is %dx%d pixels, the other images %dx%d", fn, path, (int)w, (int)h,
                      (int)W, (int)H);
  }
  float *planes = malloc(c * h * w * sizeof(float));
  if (!planes) { free(pixels); return luaL_error(L, "%s: out of memory", fn); }
  bytes_to_planes(c, h, w, pixels, planes);
  free(pixels);
  resize_bilinear(c, h, w, planes, H, W, slot);
  free(planes);
  return 0;
}

/* each reader under two names: the PNG-era one and the one that says it reads JPEG too */
static int l_read_png(lua_State *L) { return read_image(L, "read_png"); }
static int l_read_image(lua_State *L) { return read_image(L, "read_image"); }
static int l_png_info(lua_State *L) { return image_info(L, "png_info"); }
static int l_image_info(lua_State *L) { return image_info(L, "image_info"); }
static int l_read_png_into(lua_State *L) { return read_image_into(L, "read_png_into"); }
static int l_read_image_into(lua_State *L) { return read_image_into(L, "read_image_into"); }

/* write_jpeg(path, image (h, w) grey or (3, h, w) RGB in [0, 1] [, quality 90]) */
static int l_write_jpeg(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  Tensor *t = lt_check(L, 2);
  int quality = (int)luaL_optinteger(L, 3, 90);
  if (!(t->ndim == 2 || (t->ndim == 3 && (t->shape[0] == 1 || t->shape[0] == 3))) || t->numel == 0)
    return luaL_argerror(L, 2, "a non-empty (h, w) or (3, h, w) image expected");
  luaL_argcheck(L, quality >= 1 && quality <= 100, 3, "a quality in [1, 100] expected");
  size_t c = t->ndim == 3 ? t->shape[0] : 1, h = t->shape[t->ndim - 2], w = t->shape[t->ndim - 1];
  unsigned char *px = malloc(c * h * w);
  if (!px) return luaL_error(L, "write_jpeg: out of memory");
  for (size_t k = 0; k < c; k++)
    for (size_t i = 0; i < h * w; i++) {
      float v = t->data[k * h * w + i];
      px[i * c + k] = (unsigned char)(!(v > 0) ? 0 : v >= 1 ? 255 : (int)(v * 255 + 0.5f));
    }
  char err[512];
  int rc = jpegfile_write(path, w, h, (int)c, px, quality, err, sizeof err);
  free(px);
  if (rc) return luaL_error(L, "write_jpeg: %s", err);
  return 0;
}

/* resize_bilinear(images (..., h, w), height, width) -> (..., height, width) */
static int l_resize_bilinear(lua_State *L) {
  Tensor *src = lt_check(L, 1);
  luaL_argcheck(L, src->ndim >= 2 && src->numel > 0, 1, "non-empty tensor of images (..., h, w) expected");
  size_t oh = lt_check_size(L, 2, 1, MAX_SIDE), ow = lt_check_size(L, 3, 1, MAX_SIDE);
  size_t shape[CAPS_MAXDIM];
  for (int i = 0; i < src->ndim; i++) shape[i] = src->shape[i];
  size_t h = shape[src->ndim - 2], w = shape[src->ndim - 1], planes = src->numel / (h * w);
  shape[src->ndim - 2] = oh;
  shape[src->ndim - 1] = ow;
  Tensor *out = lt_push_new(L, src->ndim, shape);
  resize_bilinear(planes, h, w, src->data, oh, ow, out->data);
  return 1;
}

/* affine_warp(images (n, h, w) or (n, c, h, w), height, width, m (n, 6)) ->
 * (n, 1 or c, height, width): output pixel centre (x', y') reads the input
 * at (m1 x' + m2 y' + m3, m4 x' + m5 y' + m6), bilinearly, zero outside;
 * every channel of an image moves alike */
static int l_affine_warp(lua_State *L) {
  Tensor *src = lt_check(L, 1);
  size_t oh = lt_check_size(L, 2, 1, MAX_SIDE), ow = lt_check_size(L, 3, 1, MAX_SIDE);
  Tensor *m = lt_check(L, 4);
  if (!(src->ndim == 3 || src->ndim == 4) || src->numel == 0)
    luaL_argerror(L, 1, "non-empty images (n, h, w) or (n, channels, h, w) expected");
  size_t n = src->shape[0], c = src->ndim == 4 ? src->shape[1] : 1;
  size_t h = src->shape[src->ndim - 2], w = src->shape[src->ndim - 1];
  size_t mshape[2] = {n, 6}, oshape[4] = {n, c, oh, ow};
  lt_check_shape(L, 4, m, 2, mshape);
  for (size_t i = 0; i < m->numel; i++)
    if (!isfinite(m->data[i])) luaL_argerror(L, 4, "finite transformation values expected");
  Tensor *out = lt_push_new(L, 4, oshape);
  affine_warp(n * c, c, h, w, src->data, oh, ow, m->data, out->data);
  return 1;
}

/* sobel_target(images (n, h, w) or (n, c, h, w) [, out]) -> out (the images' shape):
 * each plane's normalised Sobel edges (kernels.h sobel_target), the official SCAE's
 * reconstruction target for natural images */
static int l_sobel_target(lua_State *L) {
  Tensor *src = lt_check(L, 1);
  if (!(src->ndim == 3 || src->ndim == 4) || src->numel == 0)
    luaL_argerror(L, 1, "non-empty images (n, h, w) or (n, channels, h, w) expected");
  size_t h = src->shape[src->ndim - 2], w = src->shape[src->ndim - 1];
  luaL_argcheck(L, h >= 2 && w >= 2, 1, "images of at least 2x2 pixels expected (reflect padding)");
  for (size_t i = 0; i < src->numel; i++)
    if (!isfinite(src->data[i])) luaL_argerror(L, 1, "finite pixel values expected");
  if (!lua_isnoneornil(L, 2)) luaL_argcheck(L, lt_check(L, 2)->data != src->data, 2, "an output apart from the images expected");
  Tensor *out = lt_push_reuse(L, 2, src->ndim, src->shape);   /* its memory when large enough */
  float *scratch = lua_newuserdatauv(L, h * w * sizeof(float), 0);   /* h * w <= numel: no overflow */
  sobel_target(src->numel / (h * w), h, w, src->data, out->data, scratch);
  lua_pop(L, 1);
  return 1;
}

static const luaL_Reg image_funcs[] = {
  {"affine_warp", l_affine_warp}, {"sobel_target", l_sobel_target},
  {"write_png_grid", l_write_png_grid}, {"read_png", l_read_png}, {"png_info", l_png_info},
  {"read_png_into", l_read_png_into}, {"write_jpeg", l_write_jpeg},
  /* the same readers by what they read: PNG or JPEG, told apart by the first bytes */
  {"read_image", l_read_image}, {"image_info", l_image_info}, {"read_image_into", l_read_image_into}, {"resize_bilinear", l_resize_bilinear}, {NULL, NULL}};

void limage_register(lua_State *L) { luaL_setfuncs(L, image_funcs, 0); }
