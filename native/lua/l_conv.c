/* l_conv.c: Lua bindings of the convolution. The GEMM operands live in the
 * module's workspace: float32 as (rows, cols) tensors, bf16 as float tensors
 * of half as many values under "<name>_bf16" (the precision is the state's,
 * l_precision.c). */
#include <limits.h>
#include <string.h>
#include "binding.h"
#include "kernels.h"

/* ws[name] as a (rows, cols) float32 buffer, or ws[name.."_bf16"] holding
 * rows*cols bf16 values */
static Tensor *gemm_buffer(lua_State *L, int ws, const char *name, int bf16, size_t rows, size_t cols) {
  if (!bf16) {
    size_t shape[2] = {rows, cols};
    return lws_tensor(L, ws, name, 2, shape);
  }
  size_t half[1] = {(rows * cols + 1) / 2};
  return lws_tensor(L, ws, lua_pushfstring(L, "%s_bf16", name), 1, half);
}

/* the same buffer as saved by forward; "call forward first" when missing,
 * also when the precision changed since forward */
static Tensor *saved_gemm_buffer(lua_State *L, int ws, const char *name, int bf16, size_t rows,
                                 size_t cols) {
  if (!bf16) {
    size_t shape[2] = {rows, cols};
    return lws_saved(L, ws, name, "conv2d_backward", 2, shape);
  }
  size_t half[1] = {(rows * cols + 1) / 2};
  return lws_saved(L, ws, lua_pushfstring(L, "%s_bf16", name), "conv2d_backward", 1, half);
}

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
  ConvGemm g;
  lprecision_conv_gemm(L, "conv2d_forward", &g);
  size_t K = d.in_ch * d.kernel * d.kernel, BP = d.batch * d.out_h * d.out_w;
  size_t oshape[4] = {d.batch, d.out_ch, d.out_h, d.out_w}, yshape[2] = {d.out_ch, BP};
  Tensor *cols = gemm_buffer(L, 5, "cols", g.bf16, K, BP);
  Tensor *wbf = g.bf16 ? gemm_buffer(L, 5, "weight", 1, d.out_ch, K) : NULL;
  Tensor *ytmp = lws_tensor(L, 5, "ytmp", 2, yshape);
  Tensor *out = lws_tensor(L, 5, "output", 4, oshape);
  const char *err = conv2d_forward(&d, &g, in->data, w->data, bias->data, out->data, cols->data,
                                   ytmp->data, wbf ? (uint16_t *)wbf->data : NULL);
  if (err) return luaL_error(L, "conv2d_forward: %s", err);
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
  ConvGemm g;
  lprecision_conv_gemm(L, "conv2d_backward", &g);
  size_t K = d.in_ch * d.kernel * d.kernel, BP = d.batch * d.out_h * d.out_w;
  size_t oshape[4] = {d.batch, d.out_ch, d.out_h, d.out_w}, cshape[2] = {BP, conv_col2im_channels(&d) * d.kernel * d.kernel};
  lt_check_shape(L, 2, gout, 4, oshape);
  lt_check_shape(L, 4, gw, 4, w->shape);
  Tensor *cols = saved_gemm_buffer(L, 7, "cols", g.bf16, K, BP);
  Tensor *wbf = g.bf16 ? saved_gemm_buffer(L, 7, "weight", 1, d.out_ch, K) : NULL;
  Tensor *ytmp = gemm_buffer(L, 7, "ytmp", g.bf16, d.out_ch, BP);
  Tensor *ytmp_t = NULL, *gcols = NULL, *gin = NULL;
  if (need_gin) {
    ytmp_t = gemm_buffer(L, 7, "ytmp_t", g.bf16, BP, d.out_ch);
    gcols = lws_tensor(L, 7, "gcols_t", 2, cshape);
    gin = lws_tensor(L, 7, "grad_input", 4, in->shape);
  }
  const char *err = conv2d_backward(&d, &g, cols->data, gout->data, w->data,
                                    wbf ? (uint16_t *)wbf->data : NULL, gw->data, gb->data,
                                    gin ? gin->data : NULL, ytmp->data, ytmp_t ? ytmp_t->data : NULL,
                                    gcols ? gcols->data : NULL);
  if (err) return luaL_error(L, "conv2d_backward: %s", err);
  if (need_gin) lws_push(L, 7, "grad_input"); else lua_pushnil(L);
  return 1;
}

static const luaL_Reg conv_funcs[] = {
  {"conv2d_forward", l_conv2d_forward}, {"conv2d_backward", l_conv2d_backward}, {NULL, NULL}};

void lconv_register(lua_State *L) { luaL_setfuncs(L, conv_funcs, 0); }
