/* pool.c: zero padding and max pooling of (B, C, H, W) maps, forward and
 * backward. Parallel over the B*C planes. */
#include <string.h>
#include "kernels.h"

void pad2d_forward(size_t planes, size_t H, size_t W, size_t pad, const float *in, float *out) {
  const size_t OH = H + 2 * pad, OW = W + 2 * pad;
#pragma omp parallel for schedule(static)
  for (long pl = 0; pl < (long)planes; pl++) {
    const float *src = in + (size_t)pl * H * W;
    float *dst = out + (size_t)pl * OH * OW;
    memset(dst, 0, OH * OW * sizeof(float));
    for (size_t y = 0; y < H; y++) memcpy(dst + (y + pad) * OW + pad, src + y * W, W * sizeof(float));
  }
}

void pad2d_backward(size_t planes, size_t H, size_t W, size_t pad, const float *gout, float *gin) {
  const size_t OH = H + 2 * pad, OW = W + 2 * pad;
#pragma omp parallel for schedule(static)
  for (long pl = 0; pl < (long)planes; pl++) {
    const float *src = gout + (size_t)pl * OH * OW;
    float *dst = gin + (size_t)pl * H * W;
    for (size_t y = 0; y < H; y++) memcpy(dst + y * W, src + (y + pad) * OW + pad, W * sizeof(float));
  }
}

void maxpool2d_forward(const PoolDims *d, const float *in, float *out, float *argmax) {
  const size_t HW = d->in_h * d->in_w, P = d->out_h * d->out_w;
#pragma omp parallel for schedule(static)
  for (long pl = 0; pl < (long)d->planes; pl++) {
    const float *src = in + (size_t)pl * HW;
    for (size_t oy = 0; oy < d->out_h; oy++)
      for (size_t ox = 0; ox < d->out_w; ox++) {
        size_t best = oy * d->stride * d->in_w + ox * d->stride;
        for (size_t ky = 0; ky < d->kernel; ky++)
          for (size_t kx = 0; kx < d->kernel; kx++) {
            size_t at = (oy * d->stride + ky) * d->in_w + ox * d->stride + kx;
            if (src[at] > src[best] || src[at] != src[at]) best = at;   /* NaN wins, and stays */
          }
        size_t o = (size_t)pl * P + oy * d->out_w + ox;
        out[o] = src[best];
        argmax[o] = (float)best;
      }
  }
}

void maxpool2d_backward(const PoolDims *d, const float *gout, const float *argmax, float *gin) {
  const size_t HW = d->in_h * d->in_w, P = d->out_h * d->out_w;
#pragma omp parallel for schedule(static)
  for (long pl = 0; pl < (long)d->planes; pl++) {
    float *dst = gin + (size_t)pl * HW;
    memset(dst, 0, HW * sizeof(float));
    for (size_t p = 0; p < P; p++) dst[(size_t)argmax[(size_t)pl * P + p]] += gout[(size_t)pl * P + p];
  }
}
