/* l_nn.c: Lua bindings of the layer kernels. Each function checks its
 * arguments and shapes, finds or makes its buffers in the workspace table
 * that the Lua module owns (so nothing is allocated once shapes settle),
 * then calls the pure kernel. */
#include <string.h>
#include <limits.h>
#include "binding.h"
#include "kernels.h"

#define DIM_MAX ((lua_Integer)INT_MAX)


/* argument positions: input 1, weight warg, bias barg */
static void check_conv(lua_State *L, ConvDims *d, Tensor *in, Tensor *w, Tensor *bias,
                       size_t stride, int warg, int barg) {
  lt_check_ndim(L, 1, in, 4);
  lt_check_ndim(L, warg, w, 4);
  if (w->shape[2] != w->shape[3] || w->shape[2] == 0)
    luaL_argerror(L, warg, "weight of shape (out, in, k, k) with k > 0 expected");
  size_t wshape[4] = {0, w->shape[1], 0, 0}, bshape[1] = {w->shape[0]};
  lt_check_shape(L, 1, in, 4, wshape);
  lt_check_shape(L, barg, bias, 1, bshape);
  d->batch = in->shape[0]; d->in_ch = in->shape[1]; d->in_h = in->shape[2]; d->in_w = in->shape[3];
  d->out_ch = w->shape[0]; d->kernel = w->shape[2]; d->stride = stride;
  if (d->in_h < d->kernel || d->in_w < d->kernel)
    luaL_argerror(L, 1, lua_pushfstring(L, "input of at least %dx%d pixels expected for a %dx%d kernel, got %dx%d",
                  (int)d->kernel, (int)d->kernel, (int)d->kernel, (int)d->kernel, (int)d->in_h, (int)d->in_w));
  d->out_h = (d->in_h - d->kernel) / stride + 1;
  d->out_w = (d->in_w - d->kernel) / stride + 1;
  size_t K = d->in_ch * d->kernel * d->kernel, BP = d->batch * d->out_h * d->out_w;
  if (K > (size_t)INT_MAX || BP > (size_t)INT_MAX / 2 || d->out_ch > (size_t)INT_MAX || d->batch == 0)
    luaL_argerror(L, 1, "non-empty input small enough for one sgemm expected");
}

/* conv2d_forward(input, weight, bias, stride, ws) -> output */
static int l_conv2d_forward(lua_State *L) {
  Tensor *in = lt_check(L, 1), *w = lt_check(L, 2), *bias = lt_check(L, 3);
  size_t stride = lt_check_size(L, 4, 1, 64);
  luaL_checktype(L, 5, LUA_TTABLE);
  ConvDims d;
  check_conv(L, &d, in, w, bias, stride, 2, 3);
  size_t K = d.in_ch * d.kernel * d.kernel, BP = d.batch * d.out_h * d.out_w;
  size_t oshape[4] = {d.batch, d.out_ch, d.out_h, d.out_w}, cshape[2] = {K, BP}, yshape[2] = {d.out_ch, BP};
  Tensor *cols = lws_tensor(L, 5, "cols", 2, cshape);
  Tensor *ytmp = lws_tensor(L, 5, "ytmp", 2, yshape);
  Tensor *out = lws_tensor(L, 5, "output", 4, oshape);
  conv2d_forward(&d, in->data, w->data, bias->data, out->data, cols->data, ytmp->data);
  lws_push(L, 5, "output");
  return 1;
}

/* conv2d_backward(input, grad_output, weight, grad_weight, grad_bias, stride, ws,
 *                 need_grad_input) -> grad_input or nil */
static int l_conv2d_backward(lua_State *L) {
  Tensor *in = lt_check(L, 1), *gout = lt_check(L, 2), *w = lt_check(L, 3);
  Tensor *gw = lt_check(L, 4), *gb = lt_check(L, 5);
  size_t stride = lt_check_size(L, 6, 1, 64);
  luaL_checktype(L, 7, LUA_TTABLE);
  int need_gin = lua_toboolean(L, 8);
  ConvDims d;
  check_conv(L, &d, in, w, gb, stride, 3, 5);
  size_t K = d.in_ch * d.kernel * d.kernel, BP = d.batch * d.out_h * d.out_w;
  size_t oshape[4] = {d.batch, d.out_ch, d.out_h, d.out_w}, cshape[2] = {K, BP}, yshape[2] = {d.out_ch, BP};
  lt_check_shape(L, 2, gout, 4, oshape);
  lt_check_shape(L, 4, gw, 4, w->shape);
  Tensor *cols = lws_saved(L, 7, "cols", "conv2d_backward", 2, cshape);
  Tensor *ytmp = lws_tensor(L, 7, "ytmp", 2, yshape);
  Tensor *gcols = NULL, *gin = NULL;
  if (need_gin) {
    gcols = lws_tensor(L, 7, "gcols", 2, cshape);
    gin = lws_tensor(L, 7, "grad_input", 4, in->shape);
  }
  conv2d_backward(&d, cols->data, gout->data, w->data, gw->data, gb->data,
                  gin ? gin->data : NULL, ytmp->data, gcols ? gcols->data : NULL);
  if (need_gin) lws_push(L, 7, "grad_input"); else lua_pushnil(L);
  return 1;
}

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
  {"conv2d_forward", l_conv2d_forward}, {"conv2d_backward", l_conv2d_backward},
  {"linear_forward", l_linear_forward}, {"linear_backward", l_linear_backward},
  {"relu_forward", l_relu_forward}, {"relu_backward", l_relu_backward},
  {"sigmoid_forward", l_sigmoid_forward}, {"sigmoid_backward", l_sigmoid_backward},
  {NULL, NULL}};

void lnn_register(lua_State *L) { luaL_setfuncs(L, nn_funcs, 0); }
