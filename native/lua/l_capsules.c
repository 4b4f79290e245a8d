/* l_capsules.c: Lua bindings of the capsule kernels (squash, regrouping,
 * lengths, predictions, dynamic routing, masking). */
#include <string.h>
#include <limits.h>
#include <math.h>
#include "binding.h"
#include "kernels.h"

static size_t rows_of(lua_State *L, int arg, Tensor *t, size_t *dim) {
  if (t->ndim < 1 || t->numel == 0) luaL_argerror(L, arg, "non-empty tensor expected");
  *dim = t->shape[t->ndim - 1];
  return t->numel / *dim;
}

/* caps_squash_forward(s (..., D), ws) -> v (..., D), squashing along the last dimension */
static int l_squash_forward(lua_State *L) {
  Tensor *s = lt_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  size_t dim, n = rows_of(L, 1, s, &dim);
  Tensor *v = lws_tensor(L, 2, "output", s->ndim, s->shape);
  caps_squash_forward(n, dim, s->data, v->data);
  return lws_push(L, 2, "output");
}

/* caps_squash_backward(s, grad_v, ws) -> grad_s */
static int l_squash_backward(lua_State *L) {
  Tensor *s = lt_check(L, 1), *gv = lt_check(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  lt_check_shape(L, 2, gv, s->ndim, s->shape);
  size_t dim, n = rows_of(L, 1, s, &dim);
  Tensor *gs = lws_tensor(L, 3, "grad_input", s->ndim, s->shape);
  caps_squash_backward(n, dim, s->data, gv->data, gs->data);
  return lws_push(L, 3, "grad_input");
}

static void regroup_dims(lua_State *L, Tensor *in, size_t D, size_t *T, size_t *HW) {
  lt_check_ndim(L, 1, in, 4);
  if (in->shape[1] % D)
    luaL_argerror(L, 1, lua_pushfstring(L, "channel count divisible by the capsule dimension %d expected, got %d",
                  (int)D, (int)in->shape[1]));
  *T = in->shape[1] / D;
  *HW = in->shape[2] * in->shape[3];
}

/* caps_regroup_forward(maps (B, T*D, H, W), D, ws) -> capsules (B, T*H*W, D) */
static int l_regroup_forward(lua_State *L) {
  Tensor *in = lt_check(L, 1);
  size_t D = lt_check_size(L, 2, 1, 4096), T, HW;
  luaL_checktype(L, 3, LUA_TTABLE);
  regroup_dims(L, in, D, &T, &HW);
  size_t oshape[3] = {in->shape[0], T * HW, D};
  Tensor *out = lws_tensor(L, 3, "output", 3, oshape);
  caps_regroup_forward(in->shape[0], T, D, HW, in->data, out->data);
  return lws_push(L, 3, "output");
}

/* caps_regroup_backward(maps, grad_capsules, D, ws) -> grad_maps */
static int l_regroup_backward(lua_State *L) {
  Tensor *in = lt_check(L, 1), *gout = lt_check(L, 2);
  size_t D = lt_check_size(L, 3, 1, 4096), T, HW;
  luaL_checktype(L, 4, LUA_TTABLE);
  regroup_dims(L, in, D, &T, &HW);
  size_t oshape[3] = {in->shape[0], T * HW, D};
  lt_check_shape(L, 2, gout, 3, oshape);
  Tensor *gin = lws_tensor(L, 4, "grad_input", 4, in->shape);
  caps_regroup_backward(in->shape[0], T, D, HW, gout->data, gin->data);
  return lws_push(L, 4, "grad_input");
}

/* caps_length_forward(v (..., D), ws) -> lengths (...) */
static int l_length_forward(lua_State *L) {
  Tensor *v = lt_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_argcheck(L, v->ndim >= 2, 1, "tensor of capsules (..., D) with at least 2 dimensions expected");
  size_t dim, n = rows_of(L, 1, v, &dim);
  Tensor *len = lws_tensor(L, 2, "output", v->ndim - 1, v->shape);
  caps_length_forward(n, dim, v->data, len->data);
  return lws_push(L, 2, "output");
}

/* caps_length_backward(v, grad_lengths, ws) -> grad_v */
static int l_length_backward(lua_State *L) {
  Tensor *v = lt_check(L, 1), *glen = lt_check(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_argcheck(L, v->ndim >= 2, 1, "tensor of capsules (..., D) expected");
  lt_check_shape(L, 2, glen, v->ndim - 1, v->shape);
  size_t dim, n = rows_of(L, 1, v, &dim);
  Tensor *len = lws_saved(L, 3, "output", "caps_length_backward", v->ndim - 1, v->shape);
  Tensor *gv = lws_tensor(L, 3, "grad_input", v->ndim, v->shape);
  caps_length_backward(n, dim, v->data, len->data, glen->data, gv->data);
  return lws_push(L, 3, "grad_input");
}

static void predict_dims(lua_State *L, RouteDims *d, Tensor *u, Tensor *w, int warg) {
  lt_check_ndim(L, 1, u, 3);
  lt_check_ndim(L, warg, w, 4);
  size_t ushape[3] = {0, w->shape[0], w->shape[3]};
  lt_check_shape(L, 1, u, 3, ushape);
  d->batch = u->shape[0]; d->in_caps = w->shape[0]; d->out_caps = w->shape[1];
  d->out_dim = w->shape[2]; d->in_dim = w->shape[3]; d->iters = 1;
  if (w->shape[1] * w->shape[2] * w->shape[3] > CAPS_PREDICT_MAX_BLOCK)
    luaL_argerror(L, warg, lua_pushfstring(L, "weights with J*D*Din at most %d expected", CAPS_PREDICT_MAX_BLOCK));
}

/* caps_predict_forward(u (B, I, Din), W (I, J, D, Din), ws) -> uhat (B, I, J, D) */
static int l_predict_forward(lua_State *L) {
  Tensor *u = lt_check(L, 1), *w = lt_check(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  RouteDims d;
  predict_dims(L, &d, u, w, 2);
  size_t oshape[4] = {d.batch, d.in_caps, d.out_caps, d.out_dim};
  Tensor *uhat = lws_tensor(L, 3, "output", 4, oshape);
  caps_predict_forward(&d, u->data, w->data, uhat->data);
  return lws_push(L, 3, "output");
}

/* caps_predict_backward(u, W, grad_uhat, grad_W, ws) -> grad_u */
static int l_predict_backward(lua_State *L) {
  Tensor *u = lt_check(L, 1), *w = lt_check(L, 2), *guhat = lt_check(L, 3), *gw = lt_check(L, 4);
  luaL_checktype(L, 5, LUA_TTABLE);
  RouteDims d;
  predict_dims(L, &d, u, w, 2);
  size_t oshape[4] = {d.batch, d.in_caps, d.out_caps, d.out_dim};
  lt_check_shape(L, 3, guhat, 4, oshape);
  lt_check_shape(L, 4, gw, 4, w->shape);
  Tensor *gu = lws_tensor(L, 5, "grad_input", 3, u->shape);
  caps_predict_backward(&d, u->data, w->data, guhat->data, gw->data, gu->data);
  return lws_push(L, 5, "grad_input");
}

static void route_dims(lua_State *L, RouteDims *d, Tensor *uhat, size_t iters) {
  lt_check_ndim(L, 1, uhat, 4);
  d->batch = uhat->shape[0]; d->in_caps = uhat->shape[1]; d->out_caps = uhat->shape[2];
  d->out_dim = uhat->shape[3]; d->in_dim = 0; d->iters = iters;
  if (d->out_caps < 1 || d->out_caps > 64)
    luaL_argerror(L, 1, "between 1 and 64 parent capsules (dimension 3) expected");
  if (d->batch == 0 || d->in_caps == 0 || d->out_dim == 0) luaL_argerror(L, 1, "non-empty predictions expected");
}

/* caps_route_forward(uhat (B, I, J, D), iters, ws) -> v (B, J, D).
 * Saves ws.coupling (B, R, I, J), ws.s and ws.vs (B, R, J, D), ws.iters. */
static int l_route_forward(lua_State *L) {
  Tensor *uhat = lt_check(L, 1);
  size_t iters = lt_check_size(L, 2, 1, 100);
  luaL_checktype(L, 3, LUA_TTABLE);
  RouteDims d;
  route_dims(L, &d, uhat, iters);
  size_t B = d.batch, I = d.in_caps, J = d.out_caps, D = d.out_dim;
  size_t cshape[4] = {B, iters, I, J}, sshape[4] = {B, iters, J, D};
  size_t lshape[3] = {B, I, J}, vshape[3] = {B, J, D};
  Tensor *c = lws_tensor(L, 3, "coupling", 4, cshape);
  Tensor *s = lws_tensor(L, 3, "s", 4, sshape);
  Tensor *vs = lws_tensor(L, 3, "vs", 4, sshape);
  Tensor *logits = lws_tensor(L, 3, "logits", 3, lshape);
  Tensor *v = lws_tensor(L, 3, "output", 3, vshape);
  caps_route_dynamic_forward(&d, uhat->data, v->data, c->data, s->data, vs->data, logits->data);
  lua_pushinteger(L, (lua_Integer)iters);
  lua_setfield(L, 3, "iters");
  return lws_push(L, 3, "output");
}

/* caps_route_backward(uhat, grad_v, ws) -> grad_uhat, through the iterations
 * that the last forward ran */
static int l_route_backward(lua_State *L) {
  Tensor *uhat = lt_check(L, 1), *gv = lt_check(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_getfield(L, 3, "iters");
  lua_Integer iters = lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (iters < 1) return luaL_error(L, "caps_route_backward: no saved routing: call forward first");
  RouteDims d;
  route_dims(L, &d, uhat, (size_t)iters);
  size_t B = d.batch, I = d.in_caps, J = d.out_caps, D = d.out_dim, R = d.iters;
  size_t vshape[3] = {B, J, D}, cshape[4] = {B, R, I, J}, sshape[4] = {B, R, J, D};
  size_t lshape[3] = {B, I, J}, tshape[4] = {B, 2, J, D};
  lt_check_shape(L, 2, gv, 3, vshape);
  Tensor *c = lws_saved(L, 3, "coupling", "caps_route_backward", 4, cshape);
  Tensor *s = lws_saved(L, 3, "s", "caps_route_backward", 4, sshape);
  Tensor *vs = lws_saved(L, 3, "vs", "caps_route_backward", 4, sshape);
  Tensor *glog = lws_tensor(L, 3, "grad_logits", 3, lshape);
  Tensor *gtmp = lws_tensor(L, 3, "grad_tmp", 4, tshape);
  Tensor *guhat = lws_tensor(L, 3, "grad_input", 4, uhat->shape);
  caps_route_dynamic_backward(&d, uhat->data, gv->data, c->data, s->data, vs->data,
                              guhat->data, glog->data, gtmp->data);
  return lws_push(L, 3, "grad_input");
}

static void check_mask_index(lua_State *L, int arg, Tensor *v, Tensor *index) {
  size_t ishape[1] = {v->shape[0]};
  lt_check_shape(L, arg, index, 1, ishape);
  for (size_t b = 0; b < v->shape[0]; b++) {
    float k = index->data[b];
    if (!(k >= 0 && k < (float)v->shape[1]) || k != floorf(k))
      luaL_error(L, "caps_mask: capsule index %f of sample %d is not in [0, %d]", (double)k, (int)b + 1,
                 (int)v->shape[1] - 1);
  }
}

/* caps_mask_forward(v (B, J, D), index (B), ws) -> (B, J*D) with only capsule
 * index[b] kept (0-based) */
static int l_mask_forward(lua_State *L) {
  Tensor *v = lt_check(L, 1), *index = lt_check(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  lt_check_ndim(L, 1, v, 3);
  check_mask_index(L, 2, v, index);
  size_t oshape[2] = {v->shape[0], v->shape[1] * v->shape[2]};
  Tensor *out = lws_tensor(L, 3, "output", 2, oshape);
  caps_mask_forward(v->shape[0], v->shape[1], v->shape[2], v->data, index->data, out->data);
  return lws_push(L, 3, "output");
}

/* caps_mask_backward(v, grad_output (B, J*D), index, ws) -> grad_v */
static int l_mask_backward(lua_State *L) {
  Tensor *v = lt_check(L, 1), *gout = lt_check(L, 2), *index = lt_check(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  lt_check_ndim(L, 1, v, 3);
  size_t oshape[2] = {v->shape[0], v->shape[1] * v->shape[2]};
  lt_check_shape(L, 2, gout, 2, oshape);
  check_mask_index(L, 3, v, index);
  Tensor *gv = lws_tensor(L, 4, "grad_input", 3, v->shape);
  caps_mask_backward(v->shape[0], v->shape[1], v->shape[2], gout->data, index->data, gv->data);
  return lws_push(L, 4, "grad_input");
}

static const luaL_Reg caps_funcs[] = {
  {"caps_squash_forward", l_squash_forward}, {"caps_squash_backward", l_squash_backward},
  {"caps_regroup_forward", l_regroup_forward}, {"caps_regroup_backward", l_regroup_backward},
  {"caps_length_forward", l_length_forward}, {"caps_length_backward", l_length_backward},
  {"caps_predict_forward", l_predict_forward}, {"caps_predict_backward", l_predict_backward},
  {"caps_route_forward", l_route_forward}, {"caps_route_backward", l_route_backward},
  {"caps_mask_forward", l_mask_forward}, {"caps_mask_backward", l_mask_backward},
  {NULL, NULL}};

void lcapsules_register(lua_State *L) { luaL_setfuncs(L, caps_funcs, 0); }
