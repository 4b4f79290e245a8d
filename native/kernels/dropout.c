/* dropout.c: inverted dropout. Each value is kept with probability 1 - p
 * and scaled by 1 / (1 - p), so evaluation needs no rescaling; the mask
 * (0 or the scale) is kept for backward. One generator, drawn in order, so
 * a seed gives the same masks on any number of threads. */
#include "kernels.h"

void dropout_forward(size_t n, float p, Rng *rng, const float *in, float *out, float *mask) {
  const float scale = 1.0f / (1.0f - p);
  for (size_t i = 0; i < n; i++) mask[i] = rng_uniform(rng) >= (double)p ? scale : 0.0f;
#pragma omp parallel for simd schedule(static) if (n > 100000)
  for (size_t i = 0; i < n; i++) out[i] = in[i] * mask[i];
}

void dropout_backward(size_t n, const float *mask, const float *gout, float *gin) {
#pragma omp parallel for simd schedule(static) if (n > 100000)
  for (size_t i = 0; i < n; i++) gin[i] = gout[i] * mask[i];
}
