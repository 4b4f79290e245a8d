/* conv.c: 2-D convolution, im2col + one GEMM over the whole batch.
 * One GEMM per batch (not per image) matters for the primary capsules, whose
 * 6x6 output would otherwise give GEMMs only 36 columns wide. In bf16 the
 * im2col matrix is written as bf16 directly, so the largest buffer is never
 * stored twice; the products accumulate in float32 (matmul.h). */
#include <string.h>
#include "bf16.h"
#include "kernels.h"

/* out_w values of the input line at src, stride apart, into dst */
static void gather_line(const ConvDims *d, const float *src, float *dst) {
  if (d->stride == 1) memcpy(dst, src, d->out_w * sizeof(float));
  else for (size_t ox = 0; ox < d->out_w; ox++) dst[ox] = src[ox * d->stride];
}

/* start of row (c, ki, kj)'s input window in image n */
static const float *window(const ConvDims *d, const float *in, size_t row, size_t n) {
  const size_t k = d->kernel, c = row / (k * k), ki = (row / k) % k, kj = row % k;
  return in + ((n * d->in_ch + c) * d->in_h + ki) * d->in_w + kj;
}

/* row's OH*OW values of image n into dst, float32 */
static void im2col_image(const ConvDims *d, const float *in, size_t row, size_t n, float *dst) {
  const float *src = window(d, in, row, n);
  for (size_t oy = 0; oy < d->out_h; oy++, dst += d->out_w)
    gather_line(d, src + oy * d->stride * d->in_w, dst);
}

#define IM2COL_CHUNK 4096   /* floats of stack per thread in the bf16 path */

static void to_bf16(size_t n, const float *x, uint16_t *y) {
#pragma omp simd
  for (size_t i = 0; i < n; i++) y[i] = bf16_from_f32(x[i]);
}

/* row of the im2col matrix in bf16: gathered in float32 a chunk at a time,
 * then converted in one vectorised pass (converting inside the gather was
 * several times slower than the gather itself) */
static void im2col_row_bf16(const ConvDims *d, const float *in, size_t row, uint16_t *dst) {
  float buf[IM2COL_CHUNK];
  const size_t P = d->out_h * d->out_w;
  if (P <= IM2COL_CHUNK) {
    const size_t per = IM2COL_CHUNK / P;
    for (size_t n = 0; n < d->batch; n += per) {
      size_t m = d->batch - n < per ? d->batch - n : per;
      for (size_t j = 0; j < m; j++) im2col_image(d, in, row, n + j, buf + j * P);
      to_bf16(m * P, buf, dst);
      dst += m * P;
    }
    return;
  }
  for (size_t n = 0; n < d->batch; n++) {   /* large images: a line at a time */
    const float *src = window(d, in, row, n);
    for (size_t oy = 0; oy < d->out_h; oy++, dst += d->out_w) {
      const float *line = src + oy * d->stride * d->in_w;
      for (size_t x0 = 0; x0 < d->out_w; x0 += IM2COL_CHUNK) {
        size_t m = d->out_w - x0 < IM2COL_CHUNK ? d->out_w - x0 : IM2COL_CHUNK;
        for (size_t i = 0; i < m; i++) buf[i] = line[(x0 + i) * d->stride];
        to_bf16(m, buf, dst + x0);
      }
    }
  }
}

/* in (B, C, H, W) -> cols (C*k*k, B*OH*OW), float32 or bf16 */
static void im2col(const ConvDims *d, const float *in, void *cols, int bf16) {
  const size_t P = d->out_h * d->out_w, BP = d->batch * P;
  const long rows = (long)(d->in_ch * d->kernel * d->kernel);
#pragma omp parallel for schedule(static)
  for (long row = 0; row < rows; row++) {
    if (bf16) { im2col_row_bf16(d, in, (size_t)row, (uint16_t *)cols + (size_t)row * BP); continue; }
    float *dst = (float *)cols + (size_t)row * BP;
    for (size_t n = 0; n < d->batch; n++, dst += P) im2col_image(d, in, (size_t)row, n, dst);
  }
}

/* gblock (B*OH*OW, (c1-c0)*k*k): row (n, oy, ox) holds the gradient of the
 * window at (oy, ox) of image n for channels c0..c1-1 -> those channels of
 * gin (B, C, H, W), overwritten. Parallel over images, so no two threads
 * touch the same input pixel. */
static void col2im_block(const ConvDims *d, const float *gblock, size_t c0, size_t c1, float *gin) {
  const size_t k = d->kernel, width = (c1 - c0) * k * k, HW = d->in_h * d->in_w;
#pragma omp parallel for schedule(static)
  for (long nl = 0; nl < (long)d->batch; nl++) {
    size_t n = (size_t)nl;
    float *img = gin + (n * d->in_ch + c0) * HW;
    memset(img, 0, (c1 - c0) * HW * sizeof(float));
    for (size_t oy = 0; oy < d->out_h; oy++)
      for (size_t ox = 0; ox < d->out_w; ox++) {
        const float *src = gblock + ((n * d->out_h + oy) * d->out_w + ox) * width;
        float *corner = img + oy * d->stride * d->in_w + ox * d->stride;
        for (size_t c = 0; c < c1 - c0; c++)
          for (size_t ki = 0; ki < k; ki++) {
            float *line = corner + c * HW + ki * d->in_w;
            const float *g = src + (c * k + ki) * k;
#pragma omp simd
            for (size_t kj = 0; kj < k; kj++) line[kj] += g[kj];
          }
      }
  }
}

size_t conv_col2im_channels(const ConvDims *d) {
  size_t per_channel = d->batch * d->out_h * d->out_w * d->kernel * d->kernel * sizeof(float);
  size_t per = CONV_COL2IM_BLOCK_BYTES / (per_channel ? per_channel : 1);
  return per < 1 ? 1 : per > d->in_ch ? d->in_ch : per;
}

static MatmulPath path_for(const ConvGemm *g, const MatmulOp *op) {
  return g->bf16 ? MATMUL_DNNL_BF16 : matmul_f32_path(op, g->ctx != NULL);
}

const char *conv2d_forward(const ConvDims *d, const ConvGemm *g, const float *in,
                           const float *weight, const float *bias, float *out, void *cols,
                           float *ytmp, uint16_t *wbf) {
  const size_t K = d->in_ch * d->kernel * d->kernel, P = d->out_h * d->out_w;
  const size_t BP = d->batch * P, O = d->out_ch;
  im2col(d, in, cols, g->bf16);
  if (g->bf16) bf16_from_f32_array(O * K, weight, wbf);
  /* ytmp (O, B*P) = weight (O, K) x cols (K, B*P) */
  MatmulOp op = {0, 0, O, BP, K, 0, 0, 0, 0};
  const char *err = matmul_run(g->ctx, path_for(g, &op), &op, g->bf16 ? (const void *)wbf : weight,
                               cols, ytmp);
  if (err) return err;
  /* (O, B, P) -> (B, O, P) plus bias */
#pragma omp parallel for schedule(static)
  for (long nl = 0; nl < (long)d->batch; nl++) {
    size_t n = (size_t)nl;
    for (size_t o = 0; o < O; o++) {
      const float *src = ytmp + o * BP + n * P;
      float *dst = out + (n * O + o) * P, b = bias[o];
      for (size_t p = 0; p < P; p++) dst[p] = src[p] + b;
    }
  }
  return NULL;
}

/* gout (B, O, P) -> gy (O, B*P) and, unless gy_t is NULL (no input
 * gradient wanted), gy_t (B*P, O), float32 or bf16; adds the bias gradient */
static void regroup_grad_output(const ConvDims *d, const float *gout, void *gy, void *gy_t,
                                int bf16, float *gbias) {
  const size_t P = d->out_h * d->out_w, BP = d->batch * P, O = d->out_ch;
#pragma omp parallel for schedule(static) if (gy_t)
  for (long nl = 0; nl < (long)(gy_t ? d->batch : 0); nl++) {
    size_t n = (size_t)nl;
    for (size_t p = 0; p < P; p++)
      for (size_t o = 0; o < O; o++) {
        float v = gout[(n * O + o) * P + p];
        if (bf16) ((uint16_t *)gy_t)[(n * P + p) * O + o] = bf16_from_f32(v);
        else ((float *)gy_t)[(n * P + p) * O + o] = v;
      }
  }
#pragma omp parallel for schedule(static)
  for (long ol = 0; ol < (long)O; ol++) {
    size_t o = (size_t)ol;
    double gb = 0;
    for (size_t n = 0; n < d->batch; n++) {
      const float *src = gout + (n * O + o) * P;
      size_t at = o * BP + n * P;
      for (size_t p = 0; p < P; p++) gb += src[p];
      if (bf16)
        to_bf16(P, src, (uint16_t *)gy + at);
      else
        memcpy((float *)gy + at, src, P * sizeof(float));
    }
    gbias[o] += (float)gb;
  }
}

const char *conv2d_backward(const ConvDims *d, const ConvGemm *g, const void *cols,
                            const float *gout, const float *weight, const uint16_t *wbf,
                            float *gweight, float *gbias, float *gin, void *ytmp, void *ytmp_t,
                            float *gcols_t) {
  const size_t K = d->in_ch * d->kernel * d->kernel, BP = d->batch * d->out_h * d->out_w;
  const size_t O = d->out_ch;
  regroup_grad_output(d, gout, ytmp, gin ? ytmp_t : NULL, g->bf16, gbias);
  /* gweight (O, K) += ytmp (O, BP) x cols^T (BP, K) */
  MatmulOp wop = {0, 1, O, K, BP, 1, 0, 0, 0};
  const char *err = matmul_run(g->ctx, path_for(g, &wop), &wop, ytmp, cols, gweight);
  if (err || !gin) return err;
  /* per block of input channels: gblock (BP, kk) = ytmp_t (BP, O) x the
   * block's columns of weight (O, kk), then back to gin while gblock is in
   * cache: the whole (BP, K) matrix would go out to memory and back */
  const size_t kk = d->kernel * d->kernel, per = conv_col2im_channels(d);
  for (size_t c0 = 0; c0 < d->in_ch && !err; c0 += per) {
    size_t c1 = c0 + per < d->in_ch ? c0 + per : d->in_ch;
    MatmulOp iop = {0, 0, BP, (c1 - c0) * kk, O, 0, 0, K, 0};
    const void *wblock = g->bf16 ? (const void *)(wbf + c0 * kk) : (const void *)(weight + c0 * kk);
    err = matmul_run(g->ctx, path_for(g, &iop), &iop, ytmp_t, wblock, gcols_t);
    if (!err) col2im_block(d, gcols_t, c0, c1, gin);
  }
  return err;
}
