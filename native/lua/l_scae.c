/* l_scae.c: the stacked capsule autoencoder's fused kernels for the tape
 * (capsrun.autograd.template_warp, image_mixture): templates placed on the
 * canvas by their poses (template_warp.c) and the images' per-pixel mixture
 * likelihood (image_mixture.c), forward and backward in C. */
#include <math.h>
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

/* the shapes of an image mixture: mu and logits (B, K, P), y (B, P) */
static void check_mixture(lua_State *L, const char *fn, Tensor *mu, Tensor *lg, Tensor *y) {
  if (mu->ndim != 3 || mu->numel == 0 || !tensor_same_shape(mu, lg))
    luaL_error(L, "%s: means and mixing logits of one shape (B, K, P) expected", fn);
  if (y->ndim != 2 || y->shape[0] != mu->shape[0] || y->shape[1] != mu->shape[2])
    luaL_error(L, "%s: images (%d, %d) expected (batch, pixels)", fn, (int)mu->shape[0], (int)mu->shape[2]);
}

/* tape_image_mixture(mu (B, K, P), logits (B, K, P), y (B, P), sigma [, logp, post, prior])
 * -> logp (B), post, prior (B, K, P): each image's log-likelihood under per-pixel mixtures */
static int l_image_mixture(lua_State *L) {
  Tensor *mu = lt_check(L, 1), *lg = lt_check(L, 2), *y = lt_check(L, 3);
  check_mixture(L, "tape_image_mixture", mu, lg, y);
  double sigma = luaL_checknumber(L, 4);
  luaL_argcheck(L, sigma > 0 && isfinite(sigma), 4, "a positive standard deviation expected");
  size_t B = mu->shape[0], K = mu->shape[1], P = mu->shape[2], one[1] = {B};
  lua_settop(L, 7);
  Tensor *logp = lt_push_reuse(L, 5, 1, one);
  Tensor *post = lt_push_reuse(L, 6, 3, mu->shape);
  Tensor *prior = lt_push_reuse(L, 7, 3, mu->shape);
  image_mixture_forward(B, K, P, mu->data, lg->data, y->data, (float)sigma, logp->data, post->data, prior->data);
  return 3;
}

/* tape_image_mixture_backward(mu, y, sigma, post, prior, glogp (B), gmu or nil, glogits or nil) */
static int l_image_mixture_backward(lua_State *L) {
  Tensor *mu = lt_check(L, 1), *y = lt_check(L, 2);
  double sigma = luaL_checknumber(L, 3);
  Tensor *post = lt_check(L, 4), *prior = lt_check(L, 5), *g = lt_check(L, 6);
  check_mixture(L, "tape_image_mixture_backward", mu, post, y);
  if (!tensor_same_shape(mu, prior) || g->numel != mu->shape[0])
    return luaL_error(L, "tape_image_mixture_backward: prior (B, K, P) and glogp (B) expected");
  luaL_argcheck(L, sigma > 0, 3, "a positive standard deviation expected");
  Tensor *gmu = lua_isnoneornil(L, 7) ? NULL : lt_check(L, 7), *gl = lua_isnoneornil(L, 8) ? NULL : lt_check(L, 8);
  if ((gmu && !tensor_same_shape(gmu, mu)) || (gl && !tensor_same_shape(gl, mu)))
    return luaL_error(L, "tape_image_mixture_backward: gradients of the means' shape expected");
  image_mixture_backward(mu->shape[0], mu->shape[1], mu->shape[2], mu->data, y->data, (float)sigma, post->data,
                         prior->data, g->data, gmu ? gmu->data : NULL, gl ? gl->data : NULL);
  return 0;
}

static const luaL_Reg scae_funcs[] = {
  {"tape_template_warp", l_template_warp}, {"tape_template_warp_backward", l_template_warp_backward},
  {"tape_image_mixture", l_image_mixture}, {"tape_image_mixture_backward", l_image_mixture_backward}, {NULL, NULL}};

void lscae_register(lua_State *L) { luaL_setfuncs(L, scae_funcs, 0); }
