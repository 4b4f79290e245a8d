/* l_mat.c: MATLAB level-5 MAT-files as tensors (any numeric variable), and
 * SVHN's cropped digits (X and y of train_32x32.mat) as images and labels. */
#include <stdlib.h>
#include <string.h>
#include "binding.h"
#include "matfile.h"
#include "svhn.h"

/* read_mat(path, name) -> tensor: the numeric variable name of a MAT-file,
 * its dimensions reversed (MATLAB's (h, w, c, n), column-major, is the
 * row-major (n, c, w, h): the same values in the same order) */
static int l_read_mat(lua_State *L) {
  const char *path = luaL_checkstring(L, 1), *name = luaL_checkstring(L, 2);
  MatArray a;
  char err[512];
  if (mat_read(path, name, &a, err, sizeof err)) return luaL_error(L, "read_mat: %s: %s", path, err);
  if (a.ndim > CAPS_MAXDIM) {
    free(a.data);
    return luaL_error(L, "read_mat: %s: variable %s has %d dimensions, at most %d supported", path, name, a.ndim,
                      CAPS_MAXDIM);
  }
  size_t shape[CAPS_MAXDIM];
  for (int i = 0; i < a.ndim; i++) shape[i] = a.dims[a.ndim - 1 - i];
  lt_push_adopted(L, a.data, a.numel, a.ndim, shape);
  return 1;
}

/* read_svhn(path) -> images (n, 3, 32, 32) in [0, 1], labels (n) 0 to 9 */
static int l_read_svhn(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  MatArray x, y;
  char err[512];
  if (mat_read(path, "X", &x, err, sizeof err)) return luaL_error(L, "read_svhn: %s: %s", path, err);
  if (mat_read(path, "y", &y, err, sizeof err)) {
    free(x.data);
    return luaL_error(L, "read_svhn: %s: %s", path, err);
  }
  float *images = NULL, *labels = NULL;
  int rc = 0;
  if (x.ndim != 4) {
    snprintf(err, sizeof err, "X must be (height, width, channels, images), got %d dimensions", x.ndim);
    rc = -1;
  } else if (y.numel != x.dims[3]) {
    snprintf(err, sizeof err, "X holds %zu images and y %zu labels", x.dims[3], y.numel);
    rc = -1;
  } else if (!(images = malloc((x.numel ? x.numel : 1) * sizeof(float))) ||
             !(labels = malloc((y.numel ? y.numel : 1) * sizeof(float)))) {
    snprintf(err, sizeof err, "out of memory for %zu images", y.numel);
    rc = -1;
  } else {
    rc = svhn_images(&x, images, err, sizeof err);
    if (rc == 0) rc = svhn_labels(&y, labels, err, sizeof err);
  }
  free(x.data);
  free(y.data);
  if (rc) {
    free(images);
    free(labels);
    return luaL_error(L, "read_svhn: %s: %s", path, err);
  }
  size_t ishape[4] = {x.dims[3], x.dims[2], x.dims[0], x.dims[1]}, lshape[1] = {y.numel};
  lt_push_adopted(L, images, x.numel, 4, ishape);
  lt_push_adopted(L, labels, y.numel, 1, lshape);
  return 2;
}

static const luaL_Reg mat_funcs[] = {{"read_mat", l_read_mat}, {"read_svhn", l_read_svhn}, {NULL, NULL}};

void lmat_register(lua_State *L) { luaL_setfuncs(L, mat_funcs, 0); }
