/* l_matcaps.c: Lua bindings of matrix capsules: votes and EM routing.
 * Capsule grids are (B, T, H, W, 17) tensors: a 4x4 pose and an activation. */
#include <string.h>
#include "binding.h"
#include "kernels.h"

/* geometry from the children at `arg` and a kernel kh x kw, stride s */
static void em_geometry(lua_State *L, const char *fn, int arg, const Tensor *caps, size_t kh, size_t kw,
                        size_t stride, EmDims *d) {
  if (caps->ndim != 5 || caps->shape[4] != MATCAPS_STRIDE || caps->numel == 0)
    luaL_argerror(L, arg, lua_pushfstring(L, "non-empty capsule grid (B, T, H, W, %d) expected",
                                          MATCAPS_STRIDE));
  memset(d, 0, sizeof *d);
  d->batch = caps->shape[0]; d->in_types = caps->shape[1];
  d->in_h = caps->shape[2]; d->in_w = caps->shape[3];
  if (kh > d->in_h || kw > d->in_w)
    luaL_error(L, "%s: a %dx%d kernel does not fit a %dx%d capsule grid", fn, (int)kh, (int)kw,
               (int)d->in_h, (int)d->in_w);
  d->kh = kh; d->kw = kw; d->stride = stride;
  d->out_h = (d->in_h - kh) / stride + 1; d->out_w = (d->in_w - kw) / stride + 1;
}

static void read_kernel(lua_State *L, int first, size_t *kh, size_t *kw, size_t *stride) {
  *kh = lt_check_size(L, first, 1, 1024);
  *kw = lt_check_size(L, first + 1, 1, 1024);
  *stride = lt_check_size(L, first + 2, 1, 1024);
}

/* the weight (blocks, J, 4, 4) at warg for this geometry; sets out_types */
static void check_weight(lua_State *L, int warg, const Tensor *w, EmDims *d) {
  lt_check_ndim(L, warg, w, 4);
  size_t shape[4] = {matcaps_weight_blocks(d), 0, 4, 4};
  lt_check_shape(L, warg, w, 4, shape);
  if (w->shape[1] < 1 || w->shape[1] > EM_MAX_TYPES)
    luaL_argerror(L, warg, lua_pushfstring(L, "between 1 and %d parent types expected", EM_MAX_TYPES));
  d->out_types = w->shape[1];
}

/* matcaps_votes_forward(caps, w, kernel_h, kernel_w, stride, shared, coord_add, ws)
 * -> votes (B, OH*OW, kh*kw*T, J, 16) */
static int l_votes_forward(lua_State *L) {
  Tensor *caps = lt_check(L, 1), *w = lt_check(L, 2);
  size_t kh, kw, stride;
  read_kernel(L, 3, &kh, &kw, &stride);
  int shared = lua_toboolean(L, 6), coord_add = lua_toboolean(L, 7);
  luaL_checktype(L, 8, LUA_TTABLE);
  EmDims d;
  em_geometry(L, "matcaps_votes_forward", 1, caps, kh, kw, stride, &d);
  d.shared = shared;
  check_weight(L, 2, w, &d);
  size_t vshape[5] = {d.batch, em_patches(&d), em_entries(&d), d.out_types, MATCAPS_POSE};
  Tensor *votes = lws_tensor(L, 8, "output", 5, vshape);
  matcaps_votes_forward(&d, coord_add, caps->data, w->data, votes->data);
  return lws_push(L, 8, "output");
}

/* matcaps_votes_backward(caps, w, grad_votes, grad_w, kernel_h, kernel_w, stride,
 * shared, grad_caps): adds to grad_w and to grad_caps' poses; returns grad_caps */
static int l_votes_backward(lua_State *L) {
  Tensor *caps = lt_check(L, 1), *w = lt_check(L, 2), *gv = lt_check(L, 3), *gw = lt_check(L, 4);
  size_t kh, kw, stride;
  read_kernel(L, 5, &kh, &kw, &stride);
  int shared = lua_toboolean(L, 8);
  Tensor *gcaps = lt_check(L, 9);
  EmDims d;
  em_geometry(L, "matcaps_votes_backward", 1, caps, kh, kw, stride, &d);
  d.shared = shared;
  check_weight(L, 2, w, &d);
  size_t vshape[5] = {d.batch, em_patches(&d), em_entries(&d), d.out_types, MATCAPS_POSE};
  lt_check_shape(L, 3, gv, 5, vshape);
  lt_check_shape(L, 4, gw, 4, w->shape);
  lt_check_shape(L, 9, gcaps, 5, caps->shape);
  matcaps_votes_backward(&d, caps->data, w->data, gv->data, gw->data, gcaps->data);
  lua_pushvalue(L, 9);
  return 1;
}

/* geometry of routing: children at 2, votes at 1 (B, P, N, J, 16) */
static void route_geometry(lua_State *L, const char *fn, Tensor *votes, Tensor *caps, size_t kh,
                           size_t kw, size_t stride, size_t iters, EmDims *d) {
  em_geometry(L, fn, 2, caps, kh, kw, stride, d);
  lt_check_ndim(L, 1, votes, 5);
  size_t vshape[5] = {d->batch, em_patches(d), em_entries(d), 0, MATCAPS_POSE};
  lt_check_shape(L, 1, votes, 5, vshape);
  if (votes->shape[3] < 1 || votes->shape[3] > EM_MAX_TYPES)
    luaL_argerror(L, 1, lua_pushfstring(L, "between 1 and %d parent types expected", EM_MAX_TYPES));
  d->out_types = votes->shape[3];
  d->iters = iters;
}

static void check_betas(lua_State *L, int first, const EmDims *d) {
  size_t bshape[1] = {d->out_types};
  for (int k = 0; k < 2; k++) lt_check_shape(L, first + k, lt_check(L, first + k), 1, bshape);
}

/* em_route_forward(votes, caps, beta_a, beta_v, kernel_h, kernel_w, stride, iters,
 * final_lambda, var_eps, ws [, detach [, e_temp]]) -> parents (B, J, OH, OW, 17);
 * with detach, backward treats the last assignments as constants; e_temp in
 * (0, 1] scales the E-step's Gaussian log-likelihood (1: the paper). Saves what
 * backward needs in ws (assignments ws.assignments, per iteration). */
static int l_route_forward(lua_State *L) {
  Tensor *votes = lt_check(L, 1), *caps = lt_check(L, 2);
  size_t kh, kw, stride;
  read_kernel(L, 5, &kh, &kw, &stride);
  size_t iters = lt_check_size(L, 8, 1, 100);
  EmParams prm = {(float)luaL_checknumber(L, 9), (float)luaL_checknumber(L, 10), lua_toboolean(L, 12),
                  (float)luaL_optnumber(L, 13, 1.0)};
  luaL_argcheck(L, prm.e_temp > 0 && prm.e_temp <= 1, 13, "E-step temperature in (0, 1] expected");
  luaL_argcheck(L, prm.final_lambda > 0, 9, "positive final inverse temperature expected");
  luaL_argcheck(L, prm.var_eps > 0, 10, "positive variance epsilon expected");
  luaL_checktype(L, 11, LUA_TTABLE);
  EmDims d;
  route_geometry(L, "em_route_forward", votes, caps, kh, kw, stride, iters, &d);
  check_betas(L, 3, &d);
  Tensor *ba = lt_check(L, 3), *bv = lt_check(L, 4);
  size_t B = d.batch, P = em_patches(&d), N = em_entries(&d), J = d.out_types;
  size_t oshape[5] = {B, J, d.out_h, d.out_w, MATCAPS_STRIDE}, rshape[5] = {B, iters, P, N, J};
  size_t sshape[2] = {B, em_saved_stats_floats(&d)}, scshape[2] = {B, em_scratch_floats(&d)};
  Tensor *r = lws_tensor(L, 11, "assignments", 5, rshape);
  Tensor *st = lws_tensor(L, 11, "stats", 2, sshape);
  Tensor *sc = lws_tensor(L, 11, "scratch", 2, scshape);
  Tensor *out = lws_tensor(L, 11, "output", 5, oshape);
  em_route_forward(&d, &prm, votes->data, caps->data, ba->data, bv->data, out->data, r->data, st->data,
                   sc->data);
  lua_pushinteger(L, (lua_Integer)iters); lua_setfield(L, 11, "iters");
  lua_pushnumber(L, prm.final_lambda); lua_setfield(L, 11, "final_lambda");
  lua_pushnumber(L, prm.var_eps); lua_setfield(L, 11, "var_eps");
  lua_pushboolean(L, prm.detach); lua_setfield(L, 11, "detach");
  lua_pushnumber(L, prm.e_temp); lua_setfield(L, 11, "e_temp");
  return lws_push(L, 11, "output");
}

static lua_Number saved_number(lua_State *L, int ws, const char *name) {
  lua_getfield(L, ws, name);
  int ok;
  lua_Number v = lua_tonumberx(L, -1, &ok);
  lua_pop(L, 1);
  if (!ok) luaL_error(L, "em_route_backward: no saved routing: call forward first");
  return v;
}

/* em_route_backward(votes, caps, beta_a, beta_v, grad_out, grad_beta_a, grad_beta_v,
 * kernel_h, kernel_w, stride, ws) -> grad_votes, grad_caps (activation
 * gradients, poses 0); adds to the betas' gradients */
static int l_route_backward(lua_State *L) {
  Tensor *votes = lt_check(L, 1), *caps = lt_check(L, 2), *gout = lt_check(L, 5);
  size_t kh, kw, stride;
  read_kernel(L, 8, &kh, &kw, &stride);
  luaL_checktype(L, 11, LUA_TTABLE);
  lua_getfield(L, 11, "detach");
  int detach = lua_toboolean(L, -1);
  lua_pop(L, 1);
  EmParams prm = {(float)saved_number(L, 11, "final_lambda"), (float)saved_number(L, 11, "var_eps"), detach,
                  (float)saved_number(L, 11, "e_temp")};
  size_t iters = (size_t)saved_number(L, 11, "iters");
  EmDims d;
  route_geometry(L, "em_route_backward", votes, caps, kh, kw, stride, iters, &d);
  check_betas(L, 3, &d);
  check_betas(L, 6, &d);
  size_t B = d.batch, P = em_patches(&d), N = em_entries(&d), J = d.out_types;
  size_t oshape[5] = {B, J, d.out_h, d.out_w, MATCAPS_STRIDE}, rshape[5] = {B, iters, P, N, J};
  size_t sshape[2] = {B, em_saved_stats_floats(&d)}, scshape[2] = {B, em_scratch_floats(&d)};
  lt_check_shape(L, 5, gout, 5, oshape);
  Tensor *r = lws_saved(L, 11, "assignments", "em_route_backward", 5, rshape);
  Tensor *st = lws_saved(L, 11, "stats", "em_route_backward", 2, sshape);
  Tensor *sc = lws_tensor(L, 11, "scratch", 2, scshape);
  Tensor *gv = lws_tensor(L, 11, "grad_votes", 5, votes->shape);
  Tensor *gc = lws_tensor(L, 11, "grad_caps", 5, caps->shape);
  memset(gc->data, 0, gc->numel * sizeof(float));
  em_route_backward(&d, &prm, votes->data, caps->data, lt_check(L, 3)->data, lt_check(L, 4)->data,
                    gout->data, r->data, st->data, gv->data, gc->data, lt_check(L, 6)->data,
                    lt_check(L, 7)->data, sc->data);
  lws_push(L, 11, "grad_votes");
  lws_push(L, 11, "grad_caps");
  return 2;
}

/* em_mean_half_log_var(stats (B, per sample), iters, J) -> (J): see kernels.h */
static int l_mean_half_log_var(lua_State *L) {
  Tensor *st = lt_check(L, 1);
  lt_check_ndim(L, 1, st, 2);
  size_t iters = lt_check_size(L, 2, 1, 1 << 20), J = lt_check_size(L, 3, 1, EM_MAX_TYPES);
  size_t unit = iters * J * EM_STATS;
  if (st->shape[1] == 0 || st->shape[1] % unit)
    return luaL_argerror(L, 1, "statistics saved by em_route_forward for these iterations and types expected");
  size_t shape[1] = {J};
  Tensor *out = lt_push_new(L, 1, shape);
  em_mean_half_log_var(st->shape[0], iters, st->shape[1] / unit, J, st->data, out->data);
  return 1;
}

/* matcaps_pack(pose_maps (B, 16T, H, W) or nil, act_maps (B, T, H, W), ws)
 * -> capsules (B, T, H, W, 17); nil poses are zeros */
static int l_pack(lua_State *L) {
  Tensor *pose = lua_isnil(L, 1) ? NULL : lt_check(L, 1), *act = lt_check(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  lt_check_ndim(L, 2, act, 4);
  luaL_argcheck(L, act->numel > 0, 2, "non-empty activation maps expected");
  size_t B = act->shape[0], T = act->shape[1], Hh = act->shape[2], W = act->shape[3];
  if (pose) {
    size_t pshape[4] = {B, T * MATCAPS_POSE, Hh, W};
    lt_check_shape(L, 1, pose, 4, pshape);
  }
  size_t cshape[5] = {B, T, Hh, W, MATCAPS_STRIDE};
  Tensor *caps = lws_tensor(L, 3, "output", 5, cshape);
  matcaps_pack(B, T, Hh * W, pose ? pose->data : NULL, act->data, caps->data);
  return lws_push(L, 3, "output");
}

/* matcaps_unpack(caps (B, T, H, W, 17), ws) -> pose_maps (B, 16T, H, W), act_maps (B, T, H, W) */
static int l_unpack(lua_State *L) {
  Tensor *caps = lt_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  if (caps->ndim != 5 || caps->shape[4] != MATCAPS_STRIDE || caps->numel == 0)
    luaL_argerror(L, 1, "non-empty capsule grid (B, T, H, W, 17) expected");
  size_t B = caps->shape[0], T = caps->shape[1], Hh = caps->shape[2], W = caps->shape[3];
  size_t pshape[4] = {B, T * MATCAPS_POSE, Hh, W}, ashape[4] = {B, T, Hh, W};
  Tensor *pose = lws_tensor(L, 2, "pose", 4, pshape), *act = lws_tensor(L, 2, "activation", 4, ashape);
  matcaps_unpack(B, T, Hh * W, caps->data, pose->data, act->data);
  lws_push(L, 2, "pose");
  lws_push(L, 2, "activation");
  return 2;
}

static const luaL_Reg matcaps_funcs[] = {
  {"matcaps_pack", l_pack}, {"matcaps_unpack", l_unpack},
  {"matcaps_votes_forward", l_votes_forward}, {"matcaps_votes_backward", l_votes_backward},
  {"em_route_forward", l_route_forward}, {"em_route_backward", l_route_backward},
  {"em_mean_half_log_var", l_mean_half_log_var},
  {NULL, NULL}};

void lmatcaps_register(lua_State *L) { luaL_setfuncs(L, matcaps_funcs, 0); }
