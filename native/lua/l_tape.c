/* l_tape.c: bindings of the automatic-differentiation kernels (tape_ops.h).
 * Each forward takes an optional output tensor to reuse (the tape's buffer
 * pool) and returns the result; each backward ADDS into the gradients it is
 * given. Shapes are checked here, so errors name the op and the shapes. */
#include <stdio.h>
#include <string.h>
#include "binding.h"
#include "tape_ops.h"

static const char *const BINARY[] = {"add", "sub", "mul", "div", NULL};
static const char *const UNARY[] = {"neg", "exp", "log", "sqrt", "pow", "abs", "relu", "sigmoid",
                                    "tanh", "scale", "shift", "sin", "cos", "softplus", NULL};
static const char *const REDUCE[] = {"sum", "mean", "max", "logsumexp", "norm", NULL};
static const char *const REDUCE_NAME[] = {"tape_reduce sum", "tape_reduce mean", "tape_reduce max",
                                          "tape_reduce logsumexp", "tape_reduce norm"};

static const char *shape_str(const Tensor *t, char *buf, size_t len) {
  return tensor_shape_str(t->shape, t->ndim, buf, len);
}

/* shape padded on the left with 1s to TAPE_DIMS */
static void pad(const size_t *shape, int ndim, size_t *out) {
  for (int i = 0; i < TAPE_DIMS; i++) out[i] = i < TAPE_DIMS - ndim ? 1 : shape[i - (TAPE_DIMS - ndim)];
}

/* contiguous strides of a padded shape */
static void strides(const size_t *p, size_t *st) {
  size_t s = 1;
  for (int i = TAPE_DIMS - 1; i >= 0; i--) { st[i] = s; s *= p[i]; }
}

/* the broadcast of a and b (numpy's rule), or a Lua error naming op and shapes */
static int broadcast(lua_State *L, const char *fn, const char *op, const Tensor *a, const Tensor *b, TapeBroadcast *s) {
  size_t pa[TAPE_DIMS], pb[TAPE_DIMS], sa[TAPE_DIMS], sb[TAPE_DIMS];
  pad(a->shape, a->ndim, pa); pad(b->shape, b->ndim, pb); strides(pa, sa); strides(pb, sb);
  for (int i = 0; i < TAPE_DIMS; i++) {
    if (pa[i] != pb[i] && pa[i] != 1 && pb[i] != 1) {
      char x[128], y[128];
      return luaL_error(L, "%s %s: shapes %s and %s do not broadcast (dimension %d: %d against %d)", fn, op,
                        shape_str(a, x, sizeof x), shape_str(b, y, sizeof y),
                        i - (TAPE_DIMS - (a->ndim > b->ndim ? a->ndim : b->ndim)) + 1, (int)pa[i], (int)pb[i]);
    }
    s->shape[i] = pa[i] > pb[i] ? pa[i] : pb[i];
    s->astride[i] = pa[i] == 1 && s->shape[i] > 1 ? 0 : sa[i];
    s->bstride[i] = pb[i] == 1 && s->shape[i] > 1 ? 0 : sb[i];
  }
  return a->ndim > b->ndim ? a->ndim : b->ndim;
}

/* the same loops over fewer, longer rows: a dimension folds into the one on
 * its right wherever both operands (and the output) are contiguous across
 * the pair or both broadcast in it; (B, J, I, 1) + (B, J, I, 1) becomes one
 * row instead of B*J*I rows of one value */
static void fold(TapeBroadcast *s) {
  TapeBroadcast f;
  int n = 0;   /* dimensions kept so far, left to right */
  for (int i = 0; i < TAPE_DIMS; i++) {
    if (s->shape[i] == 1) continue;   /* a size-1 dimension moves nothing */
    if (n > 0 && f.astride[n - 1] == s->astride[i] * s->shape[i] && f.bstride[n - 1] == s->bstride[i] * s->shape[i]) {
      f.shape[n - 1] *= s->shape[i];   /* one longer dimension with the inner strides */
      f.astride[n - 1] = s->astride[i]; f.bstride[n - 1] = s->bstride[i];
      continue;
    }
    f.shape[n] = s->shape[i]; f.astride[n] = s->astride[i]; f.bstride[n] = s->bstride[i];
    n++;
  }
  for (int i = TAPE_DIMS - 1; i >= 0; i--) {   /* right-aligned, 1s in front */
    int k = i - (TAPE_DIMS - n);
    s->shape[i] = k >= 0 ? f.shape[k] : 1;
    s->astride[i] = k >= 0 ? f.astride[k] : 0;
    s->bstride[i] = k >= 0 ? f.bstride[k] : 0;
  }
}

/* a gradient argument: nil, or a tensor holding as many values as `like` */
static Tensor *grad_arg(lua_State *L, int arg, const Tensor *like, const char *op) {
  if (lua_isnoneornil(L, arg)) return NULL;
  Tensor *g = lt_check(L, arg);
  if (g->numel != like->numel) {
    char x[128], y[128];
    luaL_error(L, "%s backward: a gradient of shape %s for a value of shape %s is not valid", op, shape_str(g, x, sizeof x),
               shape_str(like, y, sizeof y));
  }
  return g;
}

/* tape_binary(op, a, b [, out]) -> a op b, broadcast */
static int l_binary(lua_State *L) {
  int op = luaL_checkoption(L, 1, NULL, BINARY);
  Tensor *a = lt_check(L, 2), *b = lt_check(L, 3);
  TapeBroadcast s;
  int nd = broadcast(L, "tape_binary", BINARY[op], a, b, &s);
  Tensor *out = lt_push_reuse(L, 4, nd, s.shape + (TAPE_DIMS - nd));
  fold(&s);
  tape_binary_forward(op, &s, a->data, b->data, out->data);
  return 1;
}

/* tape_binary_backward(op, a, b, gout, ga or nil, gb or nil) */
static int l_binary_backward(lua_State *L) {
  int op = luaL_checkoption(L, 1, NULL, BINARY);
  Tensor *a = lt_check(L, 2), *b = lt_check(L, 3), *g = lt_check(L, 4);
  TapeBroadcast s;
  int nd = broadcast(L, "tape_binary_backward", BINARY[op], a, b, &s);
  size_t n = 1;
  for (int i = TAPE_DIMS - nd; i < TAPE_DIMS; i++) n *= s.shape[i];
  if (g->numel != n) luaL_error(L, "tape_binary_backward %s: output gradient of %d values, not %d", BINARY[op],
                                (int)g->numel, (int)n);
  Tensor *ga = grad_arg(L, 5, a, "tape_binary_backward"), *gb = grad_arg(L, 6, b, "tape_binary_backward");
  fold(&s);
  tape_binary_backward(op, &s, a->data, b->data, g->data, ga ? ga->data : NULL, gb ? gb->data : NULL);
  return 0;
}

/* tape_unary(op, x, p [, out]) -> f(x) */
static int l_unary(lua_State *L) {
  int op = luaL_checkoption(L, 1, NULL, UNARY);
  Tensor *x = lt_check(L, 2);
  float p = (float)luaL_optnumber(L, 3, 0);
  Tensor *y = lt_push_reuse(L, 4, x->ndim, x->shape);
  tape_unary_forward(op, x->numel, p, x->data, y->data);
  return 1;
}

/* tape_unary_backward(op, x, y, gy, gx, p) */
static int l_unary_backward(lua_State *L) {
  int op = luaL_checkoption(L, 1, NULL, UNARY);
  Tensor *x = lt_check(L, 2), *y = grad_arg(L, 3, x, "tape_unary_backward");
  Tensor *gy = grad_arg(L, 4, x, "tape_unary_backward"), *gx = grad_arg(L, 5, x, "tape_unary_backward");
  if (!y || !gy || !gx) return luaL_error(L, "tape_unary_backward %s: value, output gradient and gradient expected", UNARY[op]);
  tape_unary_backward(op, x->numel, (float)luaL_optnumber(L, 6, 0), x->data, y->data, gy->data, gx->data);
  return 0;
}

/* a 1-based axis (negative: from the end) of t as (outer, n, inner) */
static TapeAxis check_axis(lua_State *L, int arg, const Tensor *t, const char *op, int *axis0) {
  lua_Integer ax = luaL_checkinteger(L, arg);
  if (ax < 0) ax += t->ndim + 1;
  if (ax < 1 || ax > t->ndim) {
    char x[128];
    luaL_error(L, "%s: axis %d out of range for a tensor of shape %s (1..%d, or -1..-%d)", op,
               (int)luaL_checkinteger(L, arg), shape_str(t, x, sizeof x), t->ndim, t->ndim);
  }
  TapeAxis a = {1, t->shape[ax - 1], 1};
  for (int i = 0; i < ax - 1; i++) a.outer *= t->shape[i];
  for (int i = (int)ax; i < t->ndim; i++) a.inner *= t->shape[i];
  if (axis0) *axis0 = (int)ax - 1;
  return a;
}

/* tape_reduce(op, x, axis [, out, arg]) -> y with the axis kept at size 1, arg (max only) */
static int l_reduce(lua_State *L) {
  int op = luaL_checkoption(L, 1, NULL, REDUCE), ax;
  Tensor *x = lt_check(L, 2);
  TapeAxis a = check_axis(L, 3, x, REDUCE_NAME[op], &ax);
  if (a.n == 0) return luaL_error(L, "%s: a non-empty axis expected", REDUCE_NAME[op]);
  size_t shape[CAPS_MAXDIM];
  memcpy(shape, x->shape, sizeof shape);
  shape[ax] = 1;
  Tensor *y = lt_push_reuse(L, 4, x->ndim, shape);
  Tensor *arg = op == TAPE_MAX ? lt_push_reuse(L, 5, x->ndim, shape) : NULL;
  tape_reduce_forward(op, &a, x->data, y->data, arg ? arg->data : NULL);
  return arg ? 2 : 1;
}

/* tape_reduce_backward(op, x, y, arg or nil, gy, axis, gx) */
static int l_reduce_backward(lua_State *L) {
  int op = luaL_checkoption(L, 1, NULL, REDUCE);
  Tensor *x = lt_check(L, 2), *y = lt_check(L, 3);
  TapeAxis a = check_axis(L, 6, x, "tape_reduce_backward", NULL);
  Tensor *arg = op == TAPE_MAX ? lt_check(L, 4) : NULL, *gy = lt_check(L, 5);
  Tensor *gx = grad_arg(L, 7, x, "tape_reduce_backward");
  if (y->numel != a.outer * a.inner || gy->numel != y->numel || (arg && arg->numel != y->numel) || !gx)
    return luaL_error(L, "tape_reduce_backward %s: tensors of the forward's shapes expected", REDUCE[op]);
  tape_reduce_backward(op, &a, x->data, y->data, arg ? arg->data : NULL, gy->data, gx->data);
  return 0;
}

/* tape_softmax(x, axis, log [, out]) */
static int l_softmax(lua_State *L) {
  Tensor *x = lt_check(L, 1);
  int log_out = lua_toboolean(L, 3);
  TapeAxis a = check_axis(L, 2, x, log_out ? "tape_softmax (log)" : "tape_softmax", NULL);
  Tensor *y = lt_push_reuse(L, 4, x->ndim, x->shape);
  if (a.n) tape_softmax_forward(&a, log_out, x->data, y->data);
  return 1;
}

/* tape_softmax_backward(y, gy, axis, log, gx) */
static int l_softmax_backward(lua_State *L) {
  Tensor *y = lt_check(L, 1);
  int log_out = lua_toboolean(L, 4);
  const char *op = log_out ? "tape_softmax_backward (log)" : "tape_softmax_backward";
  TapeAxis a = check_axis(L, 3, y, op, NULL);
  Tensor *gy = grad_arg(L, 2, y, op), *gx = grad_arg(L, 5, y, op);
  if (!gy || !gx) return luaL_error(L, "%s backward: gradients expected", op);
  if (a.n) tape_softmax_backward(&a, log_out, y->data, gy->data, gx->data);
  return 0;
}

/* tape_squash(x, axis [, out]) */
static int l_squash(lua_State *L) {
  Tensor *x = lt_check(L, 1);
  TapeAxis a = check_axis(L, 2, x, "tape_squash", NULL);
  Tensor *y = lt_push_reuse(L, 3, x->ndim, x->shape);
  tape_squash_forward(&a, x->data, y->data);
  return 1;
}

/* tape_squash_backward(x, gy, axis, gx) */
static int l_squash_backward(lua_State *L) {
  Tensor *x = lt_check(L, 1);
  TapeAxis a = check_axis(L, 3, x, "tape_squash_backward", NULL);
  Tensor *gy = grad_arg(L, 2, x, "tape_squash_backward"), *gx = grad_arg(L, 4, x, "tape_squash_backward");
  if (!gy || !gx) return luaL_error(L, "tape_squash_backward: gradients expected");
  tape_squash_backward(&a, x->data, gy->data, gx->data);
  return 0;
}

/* tape_layer_norm(x, axis, eps [, out, rstd]) -> y, rstd (the axis kept at size 1) */
static int l_layer_norm(lua_State *L) {
  Tensor *x = lt_check(L, 1);
  int ax;
  TapeAxis a = check_axis(L, 2, x, "tape_layer_norm", &ax);
  double eps = luaL_checknumber(L, 3);
  if (a.n == 0) return luaL_error(L, "tape_layer_norm: a non-empty axis expected");
  if (!(eps > 0 && eps < 1)) return luaL_argerror(L, 3, "an epsilon in (0, 1) expected");
  size_t shape[CAPS_MAXDIM];
  memcpy(shape, x->shape, sizeof shape);
  shape[ax] = 1;
  Tensor *y = lt_push_reuse(L, 4, x->ndim, x->shape);
  Tensor *rstd = lt_push_reuse(L, 5, x->ndim, shape);
  tape_layer_norm_forward(&a, eps, x->data, y->data, rstd->data);
  return 2;
}

/* tape_layer_norm_backward(y, rstd, gy, axis, gx) */
static int l_layer_norm_backward(lua_State *L) {
  Tensor *y = lt_check(L, 1), *rstd = lt_check(L, 2);
  TapeAxis a = check_axis(L, 4, y, "tape_layer_norm_backward", NULL);
  Tensor *gy = grad_arg(L, 3, y, "tape_layer_norm_backward"), *gx = grad_arg(L, 5, y, "tape_layer_norm_backward");
  if (!gy || !gx || rstd->numel != a.outer * a.inner)
    return luaL_error(L, "tape_layer_norm_backward: tensors of the forward's shapes expected");
  tape_layer_norm_backward(&a, y->data, rstd->data, gy->data, gx->data);
  return 0;
}

/* tape_matmul(a, b [, out]): a (..., M, K) x b (..., K, N), leading dimensions broadcast */
static int matmul_dims(lua_State *L, const char *fn, const Tensor *a, const Tensor *b, TapeMatmul *d, size_t *oshape) {
  char x[128], y[128];
  if (a->ndim < 2 || b->ndim < 2 || a->shape[a->ndim - 1] != b->shape[b->ndim - 2])
    return luaL_error(L, "%s: shapes %s and %s do not multiply (..., M, K) x (..., K, N)", fn,
                      shape_str(a, x, sizeof x), shape_str(b, y, sizeof y));
  int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
  size_t pa[TAPE_DIMS], pb[TAPE_DIMS];   /* batch dimensions padded to 3 in the first slots */
  pad(a->shape, a->ndim, pa); pad(b->shape, b->ndim, pb);
  d->M = a->shape[a->ndim - 2]; d->K = a->shape[a->ndim - 1]; d->N = b->shape[b->ndim - 1];
  size_t sa = d->M * d->K, sb = d->K * d->N;
  for (int i = 2; i >= 0; i--) {
    if (pa[i] != pb[i] && pa[i] != 1 && pb[i] != 1)
      return luaL_error(L, "%s: batch dimensions of %s and %s do not broadcast", fn, shape_str(a, x, sizeof x),
                        shape_str(b, y, sizeof y));
    d->batch[i] = pa[i] > pb[i] ? pa[i] : pb[i];
    d->astride[i] = pa[i] == 1 ? 0 : sa;
    d->bstride[i] = pb[i] == 1 ? 0 : sb;
    sa *= pa[i]; sb *= pb[i];
  }
  for (int i = 0; i < nd - 2; i++) oshape[i] = d->batch[3 - (nd - 2) + i];
  oshape[nd - 2] = d->M; oshape[nd - 1] = d->N;
  return nd;
}

static int l_matmul(lua_State *L) {
  Tensor *a = lt_check(L, 1), *b = lt_check(L, 2);
  TapeMatmul d;
  size_t shape[CAPS_MAXDIM];
  int nd = matmul_dims(L, "tape_matmul", a, b, &d, shape);
  Tensor *out = lt_push_reuse(L, 3, nd, shape);
  tape_matmul_forward(&d, a->data, b->data, out->data);
  return 1;
}

/* tape_matmul_backward(a, b, gout, ga or nil, gb or nil) */
static int l_matmul_backward(lua_State *L) {
  Tensor *a = lt_check(L, 1), *b = lt_check(L, 2), *g = lt_check(L, 3);
  TapeMatmul d;
  size_t shape[CAPS_MAXDIM];
  int nd = matmul_dims(L, "tape_matmul_backward", a, b, &d, shape), ok;
  if (tensor_shape_numel(shape, nd, &ok) != g->numel) return luaL_error(L, "tape_matmul_backward: output gradient "
                                                                        "of %d values is not valid", (int)g->numel);
  Tensor *ga = grad_arg(L, 4, a, "tape_matmul_backward"), *gb = grad_arg(L, 5, b, "tape_matmul_backward");
  tape_matmul_backward(&d, a->data, b->data, g->data, ga ? ga->data : NULL, gb ? gb->data : NULL);
  return 0;
}

/* a permutation of 1..ndim (a table) as 0-based source dimensions */
static void check_perm(lua_State *L, const char *fn, int arg, const Tensor *t, int *perm) {
  luaL_checktype(L, arg, LUA_TTABLE);
  int seen[CAPS_MAXDIM] = {0};
  if ((int)luaL_len(L, arg) != t->ndim)
    luaL_error(L, "%s: %d dimensions listed for a tensor of %d, not valid", fn, (int)luaL_len(L, arg), t->ndim);
  for (int i = 0; i < t->ndim; i++) {
    lua_geti(L, arg, i + 1);
    lua_Integer v = lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (v < 1 || v > t->ndim || seen[v - 1]++)
      luaL_error(L, "%s: a permutation of 1..%d expected, entry %d is %d", fn, t->ndim, i + 1, (int)v);
    perm[i] = (int)v - 1;
  }
}

/* the permuted shape, and the source strides of each output dimension, padded */
static void permuted(const Tensor *t, const int *perm, size_t *oshape, size_t *pshape, size_t *pstride) {
  size_t st[CAPS_MAXDIM], s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) { st[i] = s; s *= t->shape[i]; }
  int off = TAPE_DIMS - t->ndim;
  for (int i = 0; i < TAPE_DIMS; i++) { pshape[i] = 1; pstride[i] = 0; }
  for (int i = 0; i < t->ndim; i++) {
    oshape[i] = t->shape[perm[i]];
    pshape[off + i] = oshape[i];
    pstride[off + i] = st[perm[i]];
  }
}

/* tape_permute(x, perm [, out]); tape_permute_backward(gy, perm, gx): gx (x's shape) += gy permuted back */
static int l_permute(lua_State *L) {
  Tensor *x = lt_check(L, 1);
  int perm[CAPS_MAXDIM];
  check_perm(L, "tape_permute", 2, x, perm);
  size_t oshape[CAPS_MAXDIM], ps[TAPE_DIMS], st[TAPE_DIMS];
  permuted(x, perm, oshape, ps, st);
  Tensor *y = lt_push_reuse(L, 3, x->ndim, oshape);
  tape_gather(ps, st, x->data, y->data);
  return 1;
}

static int l_permute_backward(lua_State *L) {
  Tensor *gy = lt_check(L, 1), *gx = lt_check(L, 3);
  int perm[CAPS_MAXDIM];
  check_perm(L, "tape_permute_backward", 2, gx, perm);
  size_t oshape[CAPS_MAXDIM], ps[TAPE_DIMS], st[TAPE_DIMS];
  permuted(gx, perm, oshape, ps, st);
  if (gy->numel != gx->numel) return luaL_error(L, "tape_permute_backward: gradients of %d and %d values are not valid",
                                                (int)gy->numel, (int)gx->numel);
  tape_scatter_add(ps, st, 1, gy->data, gx->data);
  return 0;
}

/* x broadcast to shape: sizes equal, or 1 in x (numpy's rule, x padded on the left) */
static int expand_dims(lua_State *L, const char *fn, const Tensor *x, const Tensor *y, size_t *ps, size_t *st) {
  size_t px[TAPE_DIMS], sx[TAPE_DIMS];
  pad(x->shape, x->ndim, px); strides(px, sx); pad(y->shape, y->ndim, ps);
  for (int i = 0; i < TAPE_DIMS; i++) {
    if (px[i] != ps[i] && px[i] != 1) {
      char a[128], b[128];
      return luaL_error(L, "%s: a tensor of shape %s cannot expand to %s", fn, shape_str(x, a, sizeof a),
                        shape_str(y, b, sizeof b));
    }
    st[i] = px[i] == 1 && ps[i] > 1 ? 0 : sx[i];
  }
  return 0;
}

/* tape_expand(x, like [, out]): x broadcast to like's shape */
static int l_expand(lua_State *L) {
  Tensor *x = lt_check(L, 1), *like = lt_check(L, 2);
  if (x->ndim > like->ndim) return luaL_error(L, "tape_expand: a tensor of %d dimensions cannot expand to %d", x->ndim, like->ndim);
  Tensor *y = lt_push_reuse(L, 3, like->ndim, like->shape);
  size_t ps[TAPE_DIMS], st[TAPE_DIMS];
  expand_dims(L, "tape_expand", x, y, ps, st);
  tape_gather(ps, st, x->data, y->data);
  return 1;
}

/* tape_expand_backward(gy, gx): gx += gy summed over the broadcast dimensions */
static int l_expand_backward(lua_State *L) {
  Tensor *gy = lt_check(L, 1), *gx = lt_check(L, 2);
  if (gx->ndim > gy->ndim) return luaL_error(L, "tape_expand_backward: a gradient of %d dimensions cannot reduce to %d", gy->ndim, gx->ndim);
  size_t ps[TAPE_DIMS], st[TAPE_DIMS];
  expand_dims(L, "tape_expand_backward", gx, gy, ps, st);
  tape_scatter_add(ps, st, gx->numel == gy->numel, gy->data, gx->data);
  return 0;
}

/* tape_slice(whole, axis, start, len [, out]) -> part; 1-based start */
static int l_slice(lua_State *L) {
  Tensor *x = lt_check(L, 1);
  int ax;
  TapeAxis a = check_axis(L, 2, x, "tape_slice", &ax);
  lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
  if (start < 1 || len < 0 || (size_t)(start - 1) > a.n || (size_t)len > a.n - (size_t)(start - 1))
    return luaL_error(L, "tape_slice: elements %d..%d of an axis of %d are out of range", (int)start, (int)(start + len - 1), (int)a.n);
  size_t shape[CAPS_MAXDIM];
  memcpy(shape, x->shape, sizeof shape);
  shape[ax] = (size_t)len;
  Tensor *y = lt_push_reuse(L, 5, x->ndim, shape);
  tape_slice_get(&a, (size_t)start - 1, (size_t)len, 0, x->data, y->data);
  return 1;
}

/* tape_slice_into(part, whole, axis, start, add): whole[.., start.., ..] = (or +=) part;
 * tape_slice_from(whole, part, axis, start, add): part = (or +=) the slice of whole */
static int slice_move(lua_State *L, int into) {
  Tensor *src = lt_check(L, 1), *dst = lt_check(L, 2);
  Tensor *whole = into ? dst : src, *part = into ? src : dst;
  int ax;
  TapeAxis a = check_axis(L, 3, whole, into ? "tape_slice_into" : "tape_slice_from", &ax);
  lua_Integer start = luaL_checkinteger(L, 4);
  int ok = part->ndim == whole->ndim && start >= 1 && (size_t)(start - 1) + part->shape[ax] <= a.n;
  for (int i = 0; ok && i < whole->ndim; i++) ok = i == ax || part->shape[i] == whole->shape[i];
  if (!ok) {
    char x[128], y[128];
    return luaL_error(L, "%s: a part of shape %s does not fit %s at %d along axis %d", into ? "tape_slice_into" :
                      "tape_slice_from", shape_str(part, x, sizeof x),
                      shape_str(whole, y, sizeof y), (int)start, ax + 1);
  }
  if (into) tape_slice_put(&a, (size_t)start - 1, part->shape[ax], lua_toboolean(L, 5), part->data, whole->data);
  else tape_slice_get(&a, (size_t)start - 1, part->shape[ax], lua_toboolean(L, 5), whole->data, part->data);
  return 0;
}
static int l_slice_into(lua_State *L) { return slice_move(L, 1); }
static int l_slice_from(lua_State *L) { return slice_move(L, 0); }

/* (B, C, S) view of x for batch norm, w, b, running statistics of C values */
static void bn_dims(lua_State *L, const char *fn, const Tensor *x, size_t *B, size_t *C, size_t *S) {
  if (x->ndim < 2) luaL_error(L, "%s: an input (batch, channels, ...) expected, got %d dimensions", fn, x->ndim);
  *B = x->shape[0]; *C = x->shape[1];
  size_t bc = *B * *C;
  *S = bc > 0 ? x->numel / bc : 0;
}
static Tensor *channel_arg(lua_State *L, int arg, size_t C, const char *fn) {
  Tensor *t = lt_check(L, arg);
  if (t->numel != C) luaL_error(L, "%s: argument #%d: %d values (one per channel) expected, got %d", fn, arg, (int)C,
                                (int)t->numel);
  return t;
}

/* tape_batchnorm(x, w, b, running_mean, running_var, training, momentum, eps [, out, stats]) -> y, stats (2, C) */
static int l_batchnorm(lua_State *L) {
  Tensor *x = lt_check(L, 1);
  size_t B, C, S;
  bn_dims(L, "tape_batchnorm", x, &B, &C, &S);
  Tensor *w = channel_arg(L, 2, C, "tape_batchnorm"), *b = channel_arg(L, 3, C, "tape_batchnorm");
  Tensor *rm = channel_arg(L, 4, C, "tape_batchnorm"), *rv = channel_arg(L, 5, C, "tape_batchnorm");
  int training = lua_toboolean(L, 6);
  float momentum = (float)luaL_checknumber(L, 7), eps = (float)luaL_checknumber(L, 8);
  if (!(eps > 0)) return luaL_error(L, "tape_batchnorm: a positive eps expected");
  Tensor *y = lt_push_reuse(L, 9, x->ndim, x->shape);
  size_t sshape[2] = {2, C};
  Tensor *stats = lt_push_reuse(L, 10, 2, sshape);
  tape_batchnorm_forward(B, C, S, training, momentum, eps, x->data, w->data, b->data, rm->data, rv->data,
                         stats->data, y->data);
  return 2;
}

/* tape_batchnorm_backward(x, w, stats, gy, training, gx or nil, gw or nil, gb or nil) */
static int l_batchnorm_backward(lua_State *L) {
  Tensor *x = lt_check(L, 1);
  size_t B, C, S;
  bn_dims(L, "tape_batchnorm_backward", x, &B, &C, &S);
  Tensor *w = channel_arg(L, 2, C, "tape_batchnorm_backward"), *stats = lt_check(L, 3);
  if (stats->numel != 2 * C) return luaL_error(L, "tape_batchnorm_backward: statistics of the forward expected");
  Tensor *gy = grad_arg(L, 4, x, "tape_batchnorm_backward"), *gx = grad_arg(L, 6, x, "tape_batchnorm_backward");
  if (!gy) return luaL_error(L, "tape_batchnorm_backward: an output gradient expected");
  Tensor *gw = lua_isnoneornil(L, 7) ? NULL : channel_arg(L, 7, C, "tape_batchnorm_backward");
  Tensor *gb = lua_isnoneornil(L, 8) ? NULL : channel_arg(L, 8, C, "tape_batchnorm_backward");
  tape_batchnorm_backward(B, C, S, lua_toboolean(L, 5), x->data, w->data, stats->data, gy->data,
                          gx ? gx->data : NULL, gw ? gw->data : NULL, gb ? gb->data : NULL);
  return 0;
}

/* the index tensor at arg: whole numbers in [0, n), or an error naming fn */
static Tensor *check_index(lua_State *L, int arg, size_t n, const char *fn) {
  Tensor *idx = lt_check(L, arg);
  for (size_t k = 0; k < idx->numel; k++) {
    float v = idx->data[k];
    if (!(v >= 0 && v < (float)n && v == (float)(size_t)v)) {
      char num[32];
      snprintf(num, sizeof num, "%g", (double)v);
      luaL_error(L, "%s: index %d is %s, not a whole number in [0, %d]", fn, (int)k + 1, num, (int)n - 1);
    }
  }
  return idx;
}

/* tape_index_select(x, axis, index (0-based) [, out]) -> the rows of index along axis */
static int l_index_select(lua_State *L) {
  Tensor *x = lt_check(L, 1);
  int ax;
  TapeAxis a = check_axis(L, 2, x, "tape_index_select", &ax);
  Tensor *idx = check_index(L, 3, a.n, "tape_index_select");
  size_t shape[CAPS_MAXDIM];
  memcpy(shape, x->shape, sizeof shape);
  shape[ax] = idx->numel;
  Tensor *y = lt_push_reuse(L, 4, x->ndim, shape);
  tape_index_select_forward(&a, idx->numel, idx->data, x->data, y->data);
  return 1;
}

/* tape_index_select_backward(gy, axis, index, gx): gx (x's shape) += gy's rows where they came from */
static int l_index_select_backward(lua_State *L) {
  Tensor *gy = lt_check(L, 1), *gx = lt_check(L, 4);
  int ax;
  TapeAxis a = check_axis(L, 2, gx, "tape_index_select_backward", &ax);
  Tensor *idx = check_index(L, 3, a.n, "tape_index_select_backward");
  if (gy->numel != a.outer * idx->numel * a.inner)
    return luaL_error(L, "tape_index_select_backward: an output gradient of %d values expected, got %d",
                      (int)(a.outer * idx->numel * a.inner), (int)gy->numel);
  tape_index_select_backward(&a, idx->numel, idx->data, gy->data, gx->data);
  return 0;
}

static const luaL_Reg tape_funcs[] = {
  {"tape_binary", l_binary}, {"tape_binary_backward", l_binary_backward},
  {"tape_unary", l_unary}, {"tape_unary_backward", l_unary_backward},
  {"tape_reduce", l_reduce}, {"tape_reduce_backward", l_reduce_backward},
  {"tape_softmax", l_softmax}, {"tape_softmax_backward", l_softmax_backward},
  {"tape_squash", l_squash}, {"tape_squash_backward", l_squash_backward},
  {"tape_layer_norm", l_layer_norm}, {"tape_layer_norm_backward", l_layer_norm_backward},
  {"tape_matmul", l_matmul}, {"tape_matmul_backward", l_matmul_backward},
  {"tape_permute", l_permute}, {"tape_permute_backward", l_permute_backward},
  {"tape_expand", l_expand}, {"tape_expand_backward", l_expand_backward},
  {"tape_index_select", l_index_select}, {"tape_index_select_backward", l_index_select_backward},
  {"tape_batchnorm", l_batchnorm}, {"tape_batchnorm_backward", l_batchnorm_backward},
  {"tape_slice", l_slice}, {"tape_slice_into", l_slice_into}, {"tape_slice_from", l_slice_from}, {NULL, NULL}};

void ltape_register(lua_State *L) { luaL_setfuncs(L, tape_funcs, 0); }
