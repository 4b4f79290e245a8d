/* l_scae.c: the stacked capsule autoencoder's fused kernels for the tape
 * (capsrun.autograd.template_warp): templates placed on the canvas by their
 * poses, forward and backward in C (template_warp.c). */
#include <string.h>
#include "binding.h"

/* the sizes of templates (T, h, w) and poses (B, T, 6), checked; fn names the caller */
static void check_warp(lua_State *L, const char *fn, Tensor *tm, Tensor *po, size_t *B, size_t *T) {
  if (tm->ndim != 3 || tm->numel == 0)
    luaL_error(L, "%s: templates (T, h, w) expected, got a %d-D tensor", fn, tm->ndim);
  if (po->ndim != 3 || po->shape[1] != tm->shape[0] || po->shape[2] != 6)
    luaL_error(L, "%s: poses (B, %d, 6) expected (one 2x3 affine map per template and example)", fn,
               (int)tm->shape[0]);
  *B = po->shape[0];
  *T = tm->shape[0];
}

/* tape_template_warp(templates (T, h, w), poses (B, T, 6), H, W [, out]) -> (B, T, H, W) */
static int l_template_warp(lua_State *L) {
  Tensor *tm = lt_check(L, 1), *po = lt_check(L, 2);
  size_t B, T;
  check_warp(L, "tape_template_warp", tm, po, &B, &T);
  size_t H = lt_check_size(L, 3, 1, 4096), W = lt_check_size(L, 4, 1, 4096);
  size_t shape[4] = {B, T, H, W};
  Tensor *out = lt_push_reuse(L, 5, 4, shape);
  template_warp_forward(B, T, tm->shape[1], tm->shape[2], tm->data, po->data, H, W, out->data);
  return 1;
}

/* tape_template_warp_backward(templates, poses, gout (B, T, H, W), gtemplates or nil, gposes or nil):
 * the gradients ADDED into gtemplates (templates' shape) and gposes (poses' shape) */
static int l_template_warp_backward(lua_State *L) {
  Tensor *tm = lt_check(L, 1), *po = lt_check(L, 2), *g = lt_check(L, 3);
  size_t B, T;
  check_warp(L, "tape_template_warp_backward", tm, po, &B, &T);
  if (g->ndim != 4 || g->shape[0] != B || g->shape[1] != T)
    return luaL_error(L, "tape_template_warp_backward: gout (%d, %d, H, W) expected", (int)B, (int)T);
  Tensor *gt = lua_isnil(L, 4) ? NULL : lt_check(L, 4), *gp = lua_isnoneornil(L, 5) ? NULL : lt_check(L, 5);
  if (gt && !tensor_same_shape(gt, tm))
    return luaL_error(L, "tape_template_warp_backward: gtemplates of the templates' shape expected");
  if (gp && !tensor_same_shape(gp, po))
    return luaL_error(L, "tape_template_warp_backward: gposes of the poses' shape expected");
  template_warp_backward(B, T, tm->shape[1], tm->shape[2], tm->data, po->data, g->shape[2], g->shape[3], g->data,
                         gt ? gt->data : NULL, gp ? gp->data : NULL);
  return 0;
}

static const luaL_Reg scae_funcs[] = {
  {"tape_template_warp", l_template_warp}, {"tape_template_warp_backward", l_template_warp_backward}, {NULL, NULL}};

void lscae_register(lua_State *L) { luaL_setfuncs(L, scae_funcs, 0); }
