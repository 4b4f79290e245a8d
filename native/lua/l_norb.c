/* l_norb.c: smallNORB's binary matrix files as tensors: the images of one
 * camera (or both) brought to side x side, and the category labels. The
 * tensors grow with the data actually read, so a header that lies about
 * its sizes cannot force a huge allocation. */
#include <stdlib.h>
#include <string.h>
#include "binding.h"
#include "norb.h"

#define NORB_MAX_SIDE 4096

typedef struct Grown { float *data; size_t n, cap; } Grown;

static int grow(Grown *g, size_t more) {
  if (g->n + more <= g->cap) return 0;
  size_t cap = g->cap ? g->cap : 1 << 16;
  while (cap < g->n + more) cap *= 2;
  float *d = realloc(g->data, cap * sizeof(float));
  if (!d) return -1;
  g->data = d; g->cap = cap;
  return 0;
}

/* reads every image: camera 1 or 2 (0: both as channels), resized; 0 or -1 */
static int read_images(NorbFile *nf, size_t camera, size_t side, Grown *out, char *err, size_t errlen) {
  const size_t n = nf->shape[0], cams = nf->shape[1], h = nf->shape[2], w = nf->shape[3];
  const size_t ch = camera ? 1 : cams, plane = h * w;
  int32_t *raw = malloc(cams * plane * sizeof(int32_t));
  float *img = malloc(cams * plane * sizeof(float));
  int rc = raw && img ? 0 : -1;
  if (rc) snprintf(err, errlen, "out of memory");
  for (size_t i = 0; i < n && rc == 0; i++) {
    if ((rc = norb_read(nf, raw, cams * plane, err, errlen))) break;
    if ((rc = grow(out, ch * side * side))) { snprintf(err, errlen, "out of memory"); break; }
    const int32_t *src = raw + (camera ? (camera - 1) * plane : 0);
    for (size_t k = 0; k < ch * plane; k++) img[k] = (float)src[k] / 255.0f;
    resize_bilinear(ch, h, w, img, side, side, out->data + out->n);
    out->n += ch * side * side;
  }
  free(raw);
  free(img);
  return rc;
}

/* read_norb_images(path [, side 48 [, camera 1]]) -> (n, 1 or 2, side, side)
 * in [0, 1]: a smallNORB *-dat.mat file (n, cameras, h, w) of bytes, each
 * image resized bilinearly; camera 0 keeps both as channels */
static int l_read_norb_images(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t side = lua_isnoneornil(L, 2) ? 48 : lt_check_size(L, 2, 1, NORB_MAX_SIDE);
  size_t camera = lua_isnoneornil(L, 3) ? 1 : lt_check_size(L, 3, 0, 2);
  NorbFile nf;
  char err[512];
  if (norb_open(path, &nf, err, sizeof err)) return luaL_error(L, "read_norb_images: %s: %s", path, err);
  const char *bad = NULL;
  if (nf.is_int || nf.ndim != 4) bad = "a 4-D byte matrix (n, cameras, h, w) expected (a *-dat.mat file)";
  else if (nf.shape[2] > NORB_MAX_SIDE || nf.shape[3] > NORB_MAX_SIDE) bad = "images larger than 4096 pixels a side";
  else if (camera > nf.shape[1]) bad = "no such camera in this file";
  if (bad) {
    norb_close(&nf, 0, err, sizeof err);
    return luaL_error(L, "read_norb_images: %s: %s", path, bad);
  }
  Grown g = {0};
  int rc = read_images(&nf, camera, side, &g, err, sizeof err);
  if (norb_close(&nf, rc == 0, err, sizeof err)) rc = -1;   /* checks the end only after a clean read */
  if (rc) { free(g.data); return luaL_error(L, "read_norb_images: %s: %s", path, err); }
  size_t shape[4] = {nf.shape[0], camera ? 1 : nf.shape[1], side, side};
  lt_push_adopted(L, g.data, g.cap, 4, shape);
  return 1;
}

/* read_norb_labels(path [, classes 5]) -> (n): a *-cat.mat file, int32
 * categories, each checked to be in [0, classes) */
static int l_read_norb_labels(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t classes = lua_isnoneornil(L, 2) ? 5 : lt_check_size(L, 2, 1, 1 << 20);
  NorbFile nf;
  char err[512];
  if (norb_open(path, &nf, err, sizeof err)) return luaL_error(L, "read_norb_labels: %s: %s", path, err);
  if (!nf.is_int || nf.ndim != 1) {
    norb_close(&nf, 0, err, sizeof err);
    return luaL_error(L, "read_norb_labels: %s: a 1-D int32 matrix (n) expected (a *-cat.mat file)", path);
  }
  Grown g = {0};
  int rc = 0;
  int32_t v;
  for (size_t i = 0; i < nf.shape[0] && rc == 0; i++) {
    if ((rc = norb_read(&nf, &v, 1, err, sizeof err))) break;
    if (v < 0 || (size_t)v >= classes) {
      snprintf(err, sizeof err, "label %d of item %zu is not a class in [0, %zu]", (int)v, i + 1, classes - 1);
      rc = -1;
    } else if ((rc = grow(&g, 1))) snprintf(err, sizeof err, "out of memory");
    else g.data[g.n++] = (float)v;
  }
  if (norb_close(&nf, rc == 0, err, sizeof err)) rc = -1;
  if (rc) { free(g.data); return luaL_error(L, "read_norb_labels: %s: %s", path, err); }
  size_t shape[1] = {nf.shape[0]};
  lt_push_adopted(L, g.data, g.cap, 1, shape);
  return 1;
}

static const luaL_Reg norb_funcs[] = {
  {"read_norb_images", l_read_norb_images}, {"read_norb_labels", l_read_norb_labels}, {NULL, NULL}};

void lnorb_register(lua_State *L) { luaL_setfuncs(L, norb_funcs, 0); }
