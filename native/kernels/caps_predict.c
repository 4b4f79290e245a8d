/* caps_predict.c: prediction vectors u_hat_j|i = W_ij u_i (Sabour et al. 2017,
 * eq. 2), forward and backward. Parallel over the batch. */
#include <string.h>
#include "kernels.h"

/* W_i (JD, K) -> wt (K, JD): with jd innermost, the loops below are plain
 * AXPYs and dot products over 160 contiguous floats, which vectorise; the
 * transpose costs JD*K per i against B*JD*K multiply-adds. */
static void transpose_block(const float *wi, size_t JD, size_t K, float *wt) {
  for (size_t jd = 0; jd < JD; jd++)
    for (size_t k = 0; k < K; k++) wt[k * JD + jd] = wi[jd * K + k];
}

#define PREDICT_MAX_BLOCK CAPS_PREDICT_MAX_BLOCK

/* u (B, I, Din), w (I, J, D, Din) -> uhat (B, I, J, D) */
void caps_predict_forward(const RouteDims *d, const float *u, const float *w, float *uhat) {
  const size_t I = d->in_caps, JD = d->out_caps * d->out_dim, K = d->in_dim, B = d->batch;
#pragma omp parallel
  {
    float wt[PREDICT_MAX_BLOCK];
#pragma omp for schedule(static)
    for (long il = 0; il < (long)I; il++) {
      size_t i = (size_t)il;
      transpose_block(w + i * JD * K, JD, K, wt);
      for (size_t b = 0; b < B; b++) {
        const float *x = u + (b * I + i) * K;
        float *y = uhat + (b * I + i) * JD;
        for (size_t jd = 0; jd < JD; jd++) y[jd] = 0;
        for (size_t k = 0; k < K; k++) {
          const float xk = x[k], *row = wt + k * JD;
#pragma omp simd
          for (size_t jd = 0; jd < JD; jd++) y[jd] += xk * row[jd];
        }
      }
    }
  }
}

/* gw (I, J, D, Din) += sum_b guhat x u; gu (B, I, Din) = W^T guhat.
 * Parallel over i: each thread owns its W_i block, so no two threads write
 * the same gradient, and the sums run over b in order (deterministic). */
void caps_predict_backward(const RouteDims *d, const float *u, const float *w,
                           const float *guhat, float *gw, float *gu) {
  const size_t I = d->in_caps, JD = d->out_caps * d->out_dim, K = d->in_dim, B = d->batch;
#pragma omp parallel
  {
    float wt[PREDICT_MAX_BLOCK], gwt[PREDICT_MAX_BLOCK];
#pragma omp for schedule(static)
    for (long il = 0; il < (long)I; il++) {
      size_t i = (size_t)il;
      transpose_block(w + i * JD * K, JD, K, wt);
      for (size_t n = 0; n < K * JD; n++) gwt[n] = 0;
      for (size_t b = 0; b < B; b++) {
        const float *x = u + (b * I + i) * K, *g = guhat + (b * I + i) * JD;
        float *gx = gu ? gu + (b * I + i) * K : NULL;
        for (size_t k = 0; k < K; k++) {
          float *grow = gwt + k * JD, acc = 0;
          const float xk = x[k], *row = wt + k * JD;
#pragma omp simd reduction(+ : acc)
          for (size_t jd = 0; jd < JD; jd++) { grow[jd] += xk * g[jd]; acc += row[jd] * g[jd]; }
          if (gx) gx[k] = acc;
        }
      }
      float *gwi = gw + i * JD * K;
      for (size_t jd = 0; jd < JD; jd++)
        for (size_t k = 0; k < K; k++) gwi[jd * K + k] += gwt[k * JD + jd];
    }
  }
}
