/* l_loss.c: Lua bindings of the losses (margin, summed squared error). */
#include <math.h>
#include "binding.h"
#include "kernels.h"

/* margin_loss(lengths (B, J), labels (B), m_plus, m_minus, lambda, ws) -> loss, grad */
static int l_margin_loss(lua_State *L) {
  Tensor *len = lt_check(L, 1), *labels = lt_check(L, 2);
  MarginParams p = {(float)luaL_checknumber(L, 3), (float)luaL_checknumber(L, 4),
                    (float)luaL_checknumber(L, 5)};
  luaL_checktype(L, 6, LUA_TTABLE);
  lt_check_ndim(L, 1, len, 2);
  size_t B = len->shape[0], J = len->shape[1], lshape[1] = {B};
  lt_check_shape(L, 2, labels, 1, lshape);
  for (size_t b = 0; b < B; b++) {
    float y = labels->data[b];
    if (!(y >= 0 && y < (float)J) || y != floorf(y))
      return luaL_error(L, "margin_loss: label %f of sample %d is not a class in [0, %d]",
                        (double)y, (int)b + 1, (int)J - 1);
  }
  Tensor *g = lws_tensor(L, 6, "grad_input", 2, len->shape);
  lua_pushnumber(L, margin_loss(B, J, len->data, labels->data, &p, g->data));
  lws_push(L, 6, "grad_input");
  return 2;
}

/* sse_loss(pred (B, ...), target (B, ...), ws) -> loss, grad: per-sample sum of
 * squared errors, mean over the batch */
static int l_sse_loss(lua_State *L) {
  Tensor *pred = lt_check(L, 1), *target = lt_check(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_argcheck(L, pred->ndim >= 1 && pred->numel > 0, 1, "non-empty tensor expected");
  lt_check_shape(L, 2, target, pred->ndim, pred->shape);
  Tensor *g = lws_tensor(L, 3, "grad_input", pred->ndim, pred->shape);
  size_t B = pred->shape[0];
  lua_pushnumber(L, sse_loss(B, pred->numel / B, pred->data, target->data, g->data));
  lws_push(L, 3, "grad_input");
  return 2;
}

static const luaL_Reg loss_funcs[] = {
  {"margin_loss", l_margin_loss}, {"sse_loss", l_sse_loss}, {NULL, NULL}};

void lloss_register(lua_State *L) { luaL_setfuncs(L, loss_funcs, 0); }
