/* tape_batchnorm.c: batch normalisation per channel of (B, C, S) tensors,
 * forward and backward in one pass each, one thread per channel (the
 * composition of tape ops spent its time in serial broadcast reductions). */
#include <math.h>
#include "tape_ops.h"

void tape_batchnorm_forward(size_t B, size_t C, size_t S, int training, float momentum, float eps,
                            const float *x, const float *w, const float *b, float *running_mean,
                            float *running_var, float *stats, float *y) {
  size_t n = B * S;
#pragma omp parallel for schedule(static) if (B * C * S > 32768)
  for (long c = 0; c < (long)C; c++) {
    double mean, var;
    if (training) {
      double sum = 0, sq = 0;
      for (size_t i = 0; i < B; i++) {
        const float *p = x + (i * C + (size_t)c) * S;
        for (size_t s = 0; s < S; s++) sum += p[s];
      }
      mean = sum / (double)n;
      for (size_t i = 0; i < B; i++) {
        const float *p = x + (i * C + (size_t)c) * S;
        for (size_t s = 0; s < S; s++) { double d = p[s] - mean; sq += d * d; }
      }
      var = sq / (double)n;
      running_mean[c] = (float)(momentum * running_mean[c] + (1 - momentum) * mean);
      running_var[c] = (float)(momentum * running_var[c] + (1 - momentum) * var * (double)n / (double)(n > 1 ? n - 1 : 1));
    } else {
      mean = running_mean[c];
      var = running_var[c];
    }
    double invstd = 1.0 / sqrt(var + eps);
    stats[c] = (float)mean;
    stats[C + (size_t)c] = (float)invstd;
    float scale = (float)(invstd * w[c]), shift = (float)(b[c] - mean * invstd * w[c]);
    for (size_t i = 0; i < B; i++) {
      const float *p = x + (i * C + (size_t)c) * S;
      float *q = y + (i * C + (size_t)c) * S;
      for (size_t s = 0; s < S; s++) q[s] = p[s] * scale + shift;
    }
  }
}

/* training: gx = w invstd / n (n g - sum g - xhat sum(g xhat)); evaluation: gx = g w invstd */
void tape_batchnorm_backward(size_t B, size_t C, size_t S, int training, const float *x, const float *w,
                             const float *stats, const float *gy, float *gx, float *gw, float *gb) {
  size_t n = B * S;
#pragma omp parallel for schedule(static) if (B * C * S > 32768)
  for (long c = 0; c < (long)C; c++) {
    double mean = stats[c], invstd = stats[C + (size_t)c], sg = 0, sgx = 0;
    for (size_t i = 0; i < B; i++) {
      const float *p = x + (i * C + (size_t)c) * S, *g = gy + (i * C + (size_t)c) * S;
      for (size_t s = 0; s < S; s++) { sg += g[s]; sgx += g[s] * (p[s] - mean) * invstd; }
    }
    if (gw) gw[c] += (float)sgx;
    if (gb) gb[c] += (float)sg;
    if (!gx) continue;
    double k = w[c] * invstd;
    for (size_t i = 0; i < B; i++) {
      const float *p = x + (i * C + (size_t)c) * S, *g = gy + (i * C + (size_t)c) * S;
      float *q = gx + (i * C + (size_t)c) * S;
      if (training) {
        for (size_t s = 0; s < S; s++) {
          double xhat = (p[s] - mean) * invstd;
          q[s] += (float)(k * (g[s] - sg / (double)n - xhat * sgx / (double)n));
        }
      } else {
        for (size_t s = 0; s < S; s++) q[s] += (float)(k * g[s]);
      }
    }
  }
}
