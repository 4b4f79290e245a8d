/* caps.c: squash, regrouping conv maps into capsules, capsule lengths. */
#include <math.h>
#include <string.h>
#include "kernels.h"

/* eps sits inside the root: at s = 0 the plain s/|s| is 0/0 with an infinite
 * gradient; with the eps both value and gradient are finite. */
void caps_squash_forward(size_t n, size_t dim, const float *s, float *v) {
#pragma omp parallel for schedule(static) if (n > 4096)
  for (long r = 0; r < (long)n; r++) {
    const float *x = s + (size_t)r * dim;
    float *y = v + (size_t)r * dim;
    double q = 0;
    for (size_t k = 0; k < dim; k++) q += (double)x[k] * x[k];
    double f = q / ((1.0 + q) * sqrt(q + CAPS_SQUASH_EPS));
    for (size_t k = 0; k < dim; k++) y[k] = (float)(f * x[k]);
  }
}

/* v = f(q) s with q = |s|^2, f(q) = q / ((1+q) sqrt(q+eps)):
 * gs = f gv + 2 f'(q) (s . gv) s */
void caps_squash_backward(size_t n, size_t dim, const float *s, const float *gv, float *gs) {
#pragma omp parallel for schedule(static) if (n > 4096)
  for (long r = 0; r < (long)n; r++) {
    const float *x = s + (size_t)r * dim, *g = gv + (size_t)r * dim;
    float *out = gs + (size_t)r * dim;
    double q = 0, sg = 0;
    for (size_t k = 0; k < dim; k++) { q += (double)x[k] * x[k]; sg += (double)x[k] * g[k]; }
    double root = sqrt(q + CAPS_SQUASH_EPS), den = (1.0 + q) * root;
    double f = q / den;
    double dden = root + (1.0 + q) / (2.0 * root);
    double fprime = (den - q * dden) / (den * den);
    for (size_t k = 0; k < dim; k++) out[k] = (float)(f * g[k] + 2.0 * fprime * sg * x[k]);
  }
}

/* in (B, T*D, HW): channel t*D + k of pixel p -> capsule t*HW + p, dimension k */
void caps_regroup_forward(size_t B, size_t T, size_t D, size_t HW, const float *in, float *out) {
  for (size_t b = 0; b < B; b++)
    for (size_t t = 0; t < T; t++)
      for (size_t k = 0; k < D; k++) {
        const float *src = in + ((b * T + t) * D + k) * HW;
        float *dst = out + (b * T + t) * HW * D + k;
        for (size_t p = 0; p < HW; p++) dst[p * D] = src[p];
      }
}

void caps_regroup_backward(size_t B, size_t T, size_t D, size_t HW, const float *gout, float *gin) {
  for (size_t b = 0; b < B; b++)
    for (size_t t = 0; t < T; t++)
      for (size_t k = 0; k < D; k++) {
        float *dst = gin + ((b * T + t) * D + k) * HW;
        const float *src = gout + (b * T + t) * HW * D + k;
        for (size_t p = 0; p < HW; p++) dst[p] = src[p * D];
      }
}

void caps_length_forward(size_t n, size_t dim, const float *v, float *len) {
  for (size_t r = 0; r < n; r++) {
    double q = 0;
    for (size_t k = 0; k < dim; k++) q += (double)v[r * dim + k] * v[r * dim + k];
    len[r] = (float)sqrt(q + CAPS_SQUASH_EPS);
  }
}

void caps_length_backward(size_t n, size_t dim, const float *v, const float *len,
                          const float *glen, float *gv) {
  for (size_t r = 0; r < n; r++) {
    float scale = glen[r] / len[r];
    for (size_t k = 0; k < dim; k++) gv[r * dim + k] = scale * v[r * dim + k];
  }
}

/* v (B, J, D) -> out (B, J*D): every capsule zeroed but capsule index[b] */
void caps_mask_forward(size_t B, size_t J, size_t D, const float *v, const float *index, float *out) {
  memset(out, 0, B * J * D * sizeof(float));
  for (size_t b = 0; b < B; b++) {
    size_t k = (size_t)index[b];
    memcpy(out + (b * J + k) * D, v + (b * J + k) * D, D * sizeof(float));
  }
}

void caps_mask_backward(size_t B, size_t J, size_t D, const float *gout, const float *index, float *gv) {
  memset(gv, 0, B * J * D * sizeof(float));
  for (size_t b = 0; b < B; b++) {
    size_t k = (size_t)index[b];
    memcpy(gv + (b * J + k) * D, gout + (b * J + k) * D, D * sizeof(float));
  }
}
