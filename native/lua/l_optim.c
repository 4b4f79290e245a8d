/* l_optim.c: Lua bindings of the optimisers' steps. */
#include <limits.h>
#include "binding.h"
#include "kernels.h"

/* adam_step(param, grad, m, v, lr, beta1, beta2, eps, step) */
static int l_adam_step(lua_State *L) {
  Tensor *p = lt_check(L, 1), *g = lt_check(L, 2), *m = lt_check(L, 3), *v = lt_check(L, 4);
  for (int i = 2; i <= 4; i++) lt_check_shape(L, i, lt_check(L, i), p->ndim, p->shape);
  AdamParams ap = {(float)luaL_checknumber(L, 5), (float)luaL_checknumber(L, 6),
                   (float)luaL_checknumber(L, 7), (float)luaL_checknumber(L, 8),
                   (long)lt_check_size(L, 9, 1, LONG_MAX)};
  luaL_argcheck(L, ap.lr >= 0 && ap.beta1 >= 0 && ap.beta1 < 1 && ap.beta2 >= 0 && ap.beta2 < 1 && ap.eps > 0,
                5, "lr >= 0, betas in [0, 1) and eps > 0 expected");
  adam_update(p->numel, p->data, g->data, m->data, v->data, &ap);
  return 0;
}

/* rmsprop_step(param, grad, ms, mom, lr, rho, momentum, eps) */
static int l_rmsprop_step(lua_State *L) {
  Tensor *p = lt_check(L, 1), *g = lt_check(L, 2), *ms = lt_check(L, 3), *mom = lt_check(L, 4);
  for (int i = 2; i <= 4; i++) lt_check_shape(L, i, lt_check(L, i), p->ndim, p->shape);
  RMSPropParams rp = {(float)luaL_checknumber(L, 5), (float)luaL_checknumber(L, 6), (float)luaL_checknumber(L, 7),
                      (float)luaL_checknumber(L, 8)};
  luaL_argcheck(L, rp.lr >= 0 && rp.rho >= 0 && rp.rho < 1 && rp.momentum >= 0 && rp.momentum < 1 && rp.eps > 0, 5,
                "lr >= 0, rho and momentum in [0, 1) and eps > 0 expected");
  rmsprop_update(p->numel, p->data, g->data, ms->data, mom->data, &rp);
  return 0;
}

static const luaL_Reg optim_funcs[] = {{"adam_step", l_adam_step}, {"rmsprop_step", l_rmsprop_step}, {NULL, NULL}};

void loptim_register(lua_State *L) { luaL_setfuncs(L, optim_funcs, 0); }
