/* l_pool.c: Lua bindings of padding, max pooling and dropout. */
#include <math.h>
#include "binding.h"
#include "kernels.h"

/* pad2d_forward(input (B, C, H, W), pad, ws) -> (B, C, H+2p, W+2p) */
static int l_pad2d_forward(lua_State *L) {
  Tensor *in = lt_check(L, 1);
  size_t pad = lt_check_size(L, 2, 0, 4096);
  luaL_checktype(L, 3, LUA_TTABLE);
  lt_check_ndim(L, 1, in, 4);
  size_t oshape[4] = {in->shape[0], in->shape[1], in->shape[2] + 2 * pad, in->shape[3] + 2 * pad};
  Tensor *out = lws_tensor(L, 3, "output", 4, oshape);
  pad2d_forward(in->shape[0] * in->shape[1], in->shape[2], in->shape[3], pad, in->data, out->data);
  return lws_push(L, 3, "output");
}

/* pad2d_backward(input, grad_output, pad, ws) -> grad_input */
static int l_pad2d_backward(lua_State *L) {
  Tensor *in = lt_check(L, 1), *gout = lt_check(L, 2);
  size_t pad = lt_check_size(L, 3, 0, 4096);
  luaL_checktype(L, 4, LUA_TTABLE);
  lt_check_ndim(L, 1, in, 4);
  size_t oshape[4] = {in->shape[0], in->shape[1], in->shape[2] + 2 * pad, in->shape[3] + 2 * pad};
  lt_check_shape(L, 2, gout, 4, oshape);
  Tensor *gin = lws_tensor(L, 4, "grad_input", 4, in->shape);
  pad2d_backward(in->shape[0] * in->shape[1], in->shape[2], in->shape[3], pad, gout->data, gin->data);
  return lws_push(L, 4, "grad_input");
}

/* the pooling of input at arg 1 with kernel and stride at k, k+1 */
static PoolDims pool_dims(lua_State *L, Tensor *in, int k) {
  PoolDims d;
  lt_check_ndim(L, 1, in, 4);
  d.kernel = lt_check_size(L, k, 1, 4096);
  d.stride = lt_check_size(L, k + 1, 1, 4096);
  d.planes = in->shape[0] * in->shape[1];
  d.in_h = in->shape[2];
  d.in_w = in->shape[3];
  if (d.in_h < d.kernel || d.in_w < d.kernel)
    luaL_argerror(L, 1, lua_pushfstring(L, "input of at least %dx%d pixels expected for a %dx%d pooling window, got %dx%d",
                  (int)d.kernel, (int)d.kernel, (int)d.kernel, (int)d.kernel, (int)d.in_h, (int)d.in_w));
  if (d.in_h * d.in_w > (1u << 24))
    luaL_argerror(L, 1, "planes of at most 2^24 pixels expected (winners are kept as float32 indices)");
  d.out_h = (d.in_h - d.kernel) / d.stride + 1;
  d.out_w = (d.in_w - d.kernel) / d.stride + 1;
  return d;
}

/* maxpool2d_forward(input (B, C, H, W), kernel, stride, ws) -> (B, C, OH, OW) */
static int l_maxpool2d_forward(lua_State *L) {
  Tensor *in = lt_check(L, 1);
  PoolDims d = pool_dims(L, in, 2);
  luaL_checktype(L, 4, LUA_TTABLE);
  size_t oshape[4] = {in->shape[0], in->shape[1], d.out_h, d.out_w};
  Tensor *out = lws_tensor(L, 4, "output", 4, oshape);
  Tensor *arg = lws_tensor(L, 4, "argmax", 4, oshape);
  maxpool2d_forward(&d, in->data, out->data, arg->data);
  return lws_push(L, 4, "output");
}

/* maxpool2d_backward(input, grad_output, kernel, stride, ws) -> grad_input */
static int l_maxpool2d_backward(lua_State *L) {
  Tensor *in = lt_check(L, 1), *gout = lt_check(L, 2);
  PoolDims d = pool_dims(L, in, 3);
  luaL_checktype(L, 5, LUA_TTABLE);
  size_t oshape[4] = {in->shape[0], in->shape[1], d.out_h, d.out_w};
  lt_check_shape(L, 2, gout, 4, oshape);
  Tensor *arg = lws_saved(L, 5, "argmax", "maxpool2d_backward", 4, oshape);
  Tensor *gin = lws_tensor(L, 5, "grad_input", 4, in->shape);
  maxpool2d_backward(&d, gout->data, arg->data, gin->data);
  return lws_push(L, 5, "grad_input");
}

/* dropout_forward(input, p, generator, ws) -> output (mask kept in ws) */
static int l_dropout_forward(lua_State *L) {
  Tensor *in = lt_check(L, 1);
  double p = luaL_checknumber(L, 2);
  luaL_argcheck(L, p >= 0 && p < 1, 2, "drop probability in [0, 1) expected");
  Rng *rng = lrng_check(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  Tensor *out = lws_tensor(L, 4, "output", in->ndim, in->shape);
  Tensor *mask = lws_tensor(L, 4, "mask", in->ndim, in->shape);
  dropout_forward(in->numel, (float)p, rng, in->data, out->data, mask->data);
  return lws_push(L, 4, "output");
}

/* dropout_backward(grad_output, ws) -> grad_input */
static int l_dropout_backward(lua_State *L) {
  Tensor *gout = lt_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  Tensor *mask = lws_saved(L, 2, "mask", "dropout_backward", gout->ndim, gout->shape);
  Tensor *gin = lws_tensor(L, 2, "grad_input", gout->ndim, gout->shape);
  dropout_backward(gout->numel, mask->data, gout->data, gin->data);
  return lws_push(L, 2, "grad_input");
}

static const luaL_Reg pool_funcs[] = {
  {"pad2d_forward", l_pad2d_forward}, {"pad2d_backward", l_pad2d_backward},
  {"maxpool2d_forward", l_maxpool2d_forward}, {"maxpool2d_backward", l_maxpool2d_backward},
  {"dropout_forward", l_dropout_forward}, {"dropout_backward", l_dropout_backward},
  {NULL, NULL}};

void lpool_register(lua_State *L) { luaL_setfuncs(L, pool_funcs, 0); }
