/* l_loss.c: Lua bindings of the losses (margin, summed squared error,
 * softmax cross-entropy). */
#include <math.h>
#include "binding.h"
#include "kernels.h"

/* every label an integer class in [0, classes); B counts all the labels */
static void check_labels(lua_State *L, const char *fn, const Tensor *labels, size_t B, size_t classes) {
  for (size_t b = 0; b < B; b++) {
    float y = labels->data[b];
    if (!(y >= 0 && y < (float)classes) || y != floorf(y))
      luaL_error(L, "%s: label %f of sample %d is not a class in [0, %d]", fn, (double)y, (int)b + 1,
                 (int)classes - 1);
  }
}

/* labels (B) or (B, K) at arg 2: K classes present in each sample, every one
 * in [0, classes); returns K */
static size_t check_label_sets(lua_State *L, const char *fn, const Tensor *labels, size_t B, size_t classes) {
  if (labels->ndim != 1 && labels->ndim != 2) luaL_argerror(L, 2, "labels (B) or (B, K) expected");
  size_t K = labels->ndim == 2 ? labels->shape[1] : 1, lshape[2] = {B, K};
  lt_check_shape(L, 2, labels, labels->ndim, lshape);
  luaL_argcheck(L, K >= 1, 2, "at least one label per sample expected");
  check_labels(L, fn, labels, B * K, classes);
  return K;
}

/* margin_loss(lengths (B, J), labels (B) or (B, K), m_plus, m_minus, lambda, ws)
 * -> loss, grad; (B, K) labels: K classes present in each sample (MultiMNIST) */
static int l_margin_loss(lua_State *L) {
  Tensor *len = lt_check(L, 1), *labels = lt_check(L, 2);
  MarginParams p = {(float)luaL_checknumber(L, 3), (float)luaL_checknumber(L, 4),
                    (float)luaL_checknumber(L, 5)};
  luaL_checktype(L, 6, LUA_TTABLE);
  lt_check_ndim(L, 1, len, 2);
  size_t B = len->shape[0], J = len->shape[1];
  size_t K = check_label_sets(L, "margin_loss", labels, B, J);
  Tensor *g = lws_tensor(L, 6, "grad_input", 2, len->shape);
  lua_pushnumber(L, margin_loss(B, J, K, len->data, labels->data, &p, g->data));
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

/* cross_entropy_loss(logits (B, C), labels (B), ws) -> loss, grad: softmax
 * cross-entropy, mean over the batch */
static int l_cross_entropy_loss(lua_State *L) {
  Tensor *x = lt_check(L, 1), *labels = lt_check(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  lt_check_ndim(L, 1, x, 2);
  size_t B = x->shape[0], C = x->shape[1], lshape[1] = {B};
  luaL_argcheck(L, B > 0 && C > 0, 1, "non-empty (batch, classes) logits expected");
  lt_check_shape(L, 2, labels, 1, lshape);
  check_labels(L, "cross_entropy_loss", labels, B, C);
  Tensor *g = lws_tensor(L, 3, "grad_input", 2, x->shape);
  lua_pushnumber(L, cross_entropy_loss(B, C, x->data, labels->data, g->data));
  lws_push(L, 3, "grad_input");
  return 2;
}

/* sigmoid_bce_loss(logits (B, C), labels (B) or (B, K), ws) -> loss, grad: each
 * class a yes/no question (present among the sample's labels or not) */
static int l_sigmoid_bce_loss(lua_State *L) {
  Tensor *x = lt_check(L, 1), *labels = lt_check(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  lt_check_ndim(L, 1, x, 2);
  size_t B = x->shape[0], C = x->shape[1];
  luaL_argcheck(L, B > 0 && C > 0, 1, "non-empty (batch, classes) logits expected");
  size_t K = check_label_sets(L, "sigmoid_bce_loss", labels, B, C);
  Tensor *g = lws_tensor(L, 3, "grad_input", 2, x->shape);
  lua_pushnumber(L, sigmoid_bce_loss(B, C, K, x->data, labels->data, g->data));
  lws_push(L, 3, "grad_input");
  return 2;
}

/* spread_loss(activations (B, J), labels (B), margin, ws) -> loss, grad */
static int l_spread_loss(lua_State *L) {
  Tensor *a = lt_check(L, 1), *labels = lt_check(L, 2);
  lua_Number margin = luaL_checknumber(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  lt_check_ndim(L, 1, a, 2);
  size_t B = a->shape[0], J = a->shape[1], lshape[1] = {B};
  luaL_argcheck(L, B > 0 && J > 1, 1, "non-empty (batch, classes) activations with 2 or more classes expected");
  luaL_argcheck(L, margin >= 0 && margin <= 1, 3, "margin in [0, 1] expected");
  lt_check_shape(L, 2, labels, 1, lshape);
  check_labels(L, "spread_loss", labels, B, J);
  Tensor *g = lws_tensor(L, 4, "grad_input", 2, a->shape);
  lua_pushnumber(L, spread_loss(B, J, a->data, labels->data, (float)margin, g->data));
  lws_push(L, 4, "grad_input");
  return 2;
}

static const luaL_Reg loss_funcs[] = {
  {"spread_loss", l_spread_loss},
  {"sigmoid_bce_loss", l_sigmoid_bce_loss},
  {"margin_loss", l_margin_loss}, {"sse_loss", l_sse_loss},
  {"cross_entropy_loss", l_cross_entropy_loss}, {NULL, NULL}};

void lloss_register(lua_State *L) { luaL_setfuncs(L, loss_funcs, 0); }
