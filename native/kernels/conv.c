/* conv.c: 2-D convolution, im2col + one sgemm over the whole batch.
 * One GEMM per batch (not per image) matters for the primary capsules, whose
 * 6x6 output would otherwise give GEMMs only 36 columns wide. */
#include <string.h>
#include <cblas.h>
#include "kernels.h"

/* in (B, C, H, W) -> cols (C*k*k, B*OH*OW) */
static void im2col(const ConvDims *d, const float *in, float *cols) {
  const size_t k = d->kernel, P = d->out_h * d->out_w, BP = d->batch * P;
  const long rows = (long)(d->in_ch * k * k);
#pragma omp parallel for schedule(static)
  for (long row = 0; row < rows; row++) {
    size_t c = (size_t)row / (k * k), ki = ((size_t)row / k) % k, kj = (size_t)row % k;
    float *dst = cols + (size_t)row * BP;
    for (size_t n = 0; n < d->batch; n++) {
      const float *src = in + ((n * d->in_ch + c) * d->in_h + ki) * d->in_w + kj;
      for (size_t oy = 0; oy < d->out_h; oy++) {
        const float *line = src + oy * d->stride * d->in_w;
        if (d->stride == 1) memcpy(dst, line, d->out_w * sizeof(float));
        else for (size_t ox = 0; ox < d->out_w; ox++) dst[ox] = line[ox * d->stride];
        dst += d->out_w;
      }
    }
  }
}

/* gcols (C*k*k, B*OH*OW) -> gin (B, C, H, W), overwriting gin.
 * Parallel over channels so no two threads touch the same input pixel. */
static void col2im(const ConvDims *d, const float *gcols, float *gin) {
  const size_t k = d->kernel, P = d->out_h * d->out_w, BP = d->batch * P;
  const size_t HW = d->in_h * d->in_w;
#pragma omp parallel for schedule(static)
  for (long cl = 0; cl < (long)d->in_ch; cl++) {
    size_t c = (size_t)cl;
    for (size_t n = 0; n < d->batch; n++) memset(gin + (n * d->in_ch + c) * HW, 0, HW * sizeof(float));
    for (size_t ki = 0; ki < k; ki++)
      for (size_t kj = 0; kj < k; kj++) {
        const float *src = gcols + ((c * k + ki) * k + kj) * BP;
        for (size_t n = 0; n < d->batch; n++) {
          float *dst = gin + (n * d->in_ch + c) * HW + ki * d->in_w + kj;
          for (size_t oy = 0; oy < d->out_h; oy++) {
            float *line = dst + oy * d->stride * d->in_w;
            for (size_t ox = 0; ox < d->out_w; ox++) line[ox * d->stride] += src[ox];
            src += d->out_w;
          }
        }
      }
  }
}

void conv2d_forward(const ConvDims *d, const float *in, const float *weight,
                    const float *bias, float *out, float *cols, float *ytmp) {
  const size_t K = d->in_ch * d->kernel * d->kernel, P = d->out_h * d->out_w;
  const size_t BP = d->batch * P, O = d->out_ch;
  im2col(d, in, cols);
  /* ytmp (O, B*P) = weight (O, K) x cols (K, B*P) */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)O, (int)BP, (int)K, 1.0f,
              weight, (int)K, cols, (int)BP, 0.0f, ytmp, (int)BP);
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
}

void conv2d_backward(const ConvDims *d, const float *cols, const float *gout,
                     const float *weight, float *gweight, float *gbias,
                     float *gin, float *ytmp, float *gcols) {
  const size_t K = d->in_ch * d->kernel * d->kernel, P = d->out_h * d->out_w;
  const size_t BP = d->batch * P, O = d->out_ch;
  /* gout (B, O, P) -> ytmp (O, B*P); bias gradient on the way */
#pragma omp parallel for schedule(static)
  for (long ol = 0; ol < (long)O; ol++) {
    size_t o = (size_t)ol;
    double gb = 0;
    for (size_t n = 0; n < d->batch; n++) {
      const float *src = gout + (n * O + o) * P;
      float *dst = ytmp + o * BP + n * P;
      for (size_t p = 0; p < P; p++) { dst[p] = src[p]; gb += src[p]; }
    }
    gbias[o] += (float)gb;
  }
  /* gweight (O, K) += ytmp (O, BP) x cols^T (BP, K) */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)O, (int)K, (int)BP, 1.0f,
              ytmp, (int)BP, cols, (int)BP, 1.0f, gweight, (int)K);
  if (!gin) return;
  /* gcols (K, BP) = weight^T (K, O) x ytmp (O, BP) */
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)BP, (int)O, 1.0f,
              weight, (int)K, ytmp, (int)BP, 0.0f, gcols, (int)BP);
  col2im(d, gcols, gin);
}
