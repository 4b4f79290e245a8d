/* l_nn.c: Lua bindings of the linear layer and the activations. Each function checks its
 * arguments and shapes, finds or makes its buffers in the workspace table
 * that the Lua module owns (so nothing is allocated once shapes settle),
 * then calls the pure kernel. */
#include <string.h>
#include <limits.h>
#include "binding.h"
#include "kernels.h"

static void check_linear(lua_State *L, Tensor *in, Tensor *w, int win) {
  lt_check_ndim(L, 1, in, 2);
  lt_check_ndim(L, win, w, 2);
  size_t ishape[2] = {0, w->shape[1]};
  lt_check_shape(L, 1, in, 2, ishape);
  if (in->shape[0] > (size_t)INT_MAX || w->shape[0] > (size_t)INT_MAX || w->shape[1] > (size_t)INT_MAX)
    luaL_argerror(L, 1, "matrix too large for sgemm");
}

/* linear_forward(input (B, I), weight (O, I), bias (O), ws) -> (B, O) */
static int l_linear_forward(lua_State *L) {
  Tensor *in = lt_check(L, 1), *w = lt_check(L, 2), *b = lt_check(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  check_linear(L, in, w, 2);
  size_t bshape[1] = {w->shape[0]}, oshape[2] = {in->shape[0], w->shape[0]};
  lt_check_shape(L, 3, b, 1, bshape);
  Tensor *out = lws_tensor(L, 4, "output", 2, oshape);
  linear_forward(in->shape[0], w->shape[1], w->shape[0], in->data, w->data, b->data, out->data);
  lws_push(L, 4, "output");
  return 1;
}

/* linear_backward(input, grad_output, weight, grad_weight, grad_bias, ws) -> grad_input */
static int l_linear_backward(lua_State *L) {
  Tensor *in = lt_check(L, 1), *gout = lt_check(L, 2), *w = lt_check(L, 3);
  Tensor *gw = lt_check(L, 4), *gb = lt_check(L, 5);
  luaL_checktype(L, 6, LUA_TTABLE);
  check_linear(L, in, w, 3);
  size_t oshape[2] = {in->shape[0], w->shape[0]}, bshape[1] = {w->shape[0]};
  lt_check_shape(L, 2, gout, 2, oshape);
  lt_check_shape(L, 4, gw, 2, w->shape);
  lt_check_shape(L, 5, gb, 1, bshape);
  Tensor *gin = lws_tensor(L, 6, "grad_input", 2, in->shape);
  linear_backward(in->shape[0], w->shape[1], w->shape[0], in->data, gout->data, w->data,
                  gw->data, gb->data, gin->data);
  lws_push(L, 6, "grad_input");
  return 1;
}

typedef void (*elem_fwd)(size_t, const float *, float *);
typedef void (*elem_bwd)(size_t, const float *, const float *, float *);

static int elementwise_forward(lua_State *L, elem_fwd f) {
  Tensor *in = lt_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  Tensor *out = lws_tensor(L, 2, "output", in->ndim, in->shape);
  f(in->numel, in->data, out->data);
  lws_push(L, 2, "output");
  return 1;
}

/* (output, grad_output, ws) -> grad_input */
static int elementwise_backward(lua_State *L, elem_bwd f) {
  Tensor *out = lt_check(L, 1), *gout = lt_check(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  lt_check_shape(L, 2, gout, out->ndim, out->shape);
  Tensor *gin = lws_tensor(L, 3, "grad_input", out->ndim, out->shape);
  f(out->numel, out->data, gout->data, gin->data);
  lws_push(L, 3, "grad_input");
  return 1;
}

static int l_relu_forward(lua_State *L) { return elementwise_forward(L, relu_forward); }
static int l_relu_backward(lua_State *L) { return elementwise_backward(L, relu_backward); }
static int l_sigmoid_forward(lua_State *L) { return elementwise_forward(L, sigmoid_forward); }
static int l_sigmoid_backward(lua_State *L) { return elementwise_backward(L, sigmoid_backward); }

static const luaL_Reg nn_funcs[] = {
  {"linear_forward", l_linear_forward}, {"linear_backward", l_linear_backward},
  {"relu_forward", l_relu_forward}, {"relu_backward", l_relu_backward},
  {"sigmoid_forward", l_sigmoid_forward}, {"sigmoid_backward", l_sigmoid_backward},
  {NULL, NULL}};

void lnn_register(lua_State *L) { luaL_setfuncs(L, nn_funcs, 0); }
