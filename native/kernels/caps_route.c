/* caps_route.c: dynamic routing (Sabour et al. 2017, procedure 1), forward
 * and backward through every iteration. Parallel over the batch: each sample
 * routes independently. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "kernels.h"
#include "exp_nonpos.h"   /* the softmax's inputs are <= 0 once the max is taken out */

static float dotf(const float *a, const float *b, size_t n) {
  float acc = 0;
#pragma omp simd reduction(+ : acc)
  for (size_t k = 0; k < n; k++) acc += a[k] * b[k];
  return acc;
}

/* softmax over the J parents of one child: logits (J) -> c (J) */
static void softmax_row(size_t J, const float *x, float *y) {
  float mx = x[0], sum = 0;
  for (size_t j = 1; j < J; j++) mx = x[j] > mx ? x[j] : mx;
#pragma omp simd reduction(+ : sum)
  for (size_t j = 0; j < J; j++) { y[j] = exp_nonpos(x[j] - mx); sum += y[j]; }
  const float inv = 1.0f / sum;
  for (size_t j = 0; j < J; j++) y[j] *= inv;
}

/* s (J, D) += c_ij u_ij for one child i */
static void accumulate_child(size_t J, size_t D, const float *c, const float *u, float *s) {
  for (size_t j = 0; j < J; j++) {
    const float cij = c[j], *uij = u + j * D;
    float *sj = s + j * D;
#pragma omp simd
    for (size_t k = 0; k < D; k++) sj[k] += cij * uij[k];
  }
}

/* One pass over the predictions per iteration: for each child, the
 * agreement with the previous iteration's outputs, the softmax over parents
 * and the weighted sum, fused so that u_hat is read once. */
void caps_route_dynamic_forward(const RouteDims *d, const float *uhat, float *v,
                                float *c, float *s, float *vs, float *logits) {
  const size_t I = d->in_caps, J = d->out_caps, D = d->out_dim, R = d->iters;
#pragma omp parallel for schedule(static)
  for (long bl = 0; bl < (long)d->batch; bl++) {
    size_t b = (size_t)bl;
    const float *u = uhat + b * I * J * D;   /* (I, J, D) */
    float *lg = logits + b * I * J;          /* (I, J) */
    memset(lg, 0, I * J * sizeof(float));
    for (size_t r = 0; r < R; r++) {
      float *cr = c + (b * R + r) * I * J, *sr = s + (b * R + r) * J * D;
      const float *vprev = r ? vs + (b * R + r - 1) * J * D : NULL;
      memset(sr, 0, J * D * sizeof(float));
      for (size_t i = 0; i < I; i++) {
        const float *ui = u + i * J * D;
        float *li = lg + i * J;
        if (vprev)
          for (size_t j = 0; j < J; j++) li[j] += dotf(ui + j * D, vprev + j * D, D);
        softmax_row(J, li, cr + i * J);
        accumulate_child(J, D, cr + i * J, ui, sr);
      }
      caps_squash_forward(J, D, sr, vs + (b * R + r) * J * D);
    }
    memcpy(v + b * J * D, vs + (b * R + R - 1) * J * D, J * D * sizeof(float));
  }
}

/* Reverse of the forward loop. glog holds dL/dlogits of iteration r+1, which
 * is also dL/dlogits of iteration r through the residual b^{r+1} = b^r + u.v */
void caps_route_dynamic_backward(const RouteDims *d, const float *uhat, const float *gv,
                                 const float *c, const float *s, const float *vs,
                                 float *guhat, float *glogits, float *gtmp) {
  const size_t I = d->in_caps, J = d->out_caps, D = d->out_dim, R = d->iters;
#pragma omp parallel for schedule(static)
  for (long bl = 0; bl < (long)d->batch; bl++) {
    size_t b = (size_t)bl;
    const float *u = uhat + b * I * J * D;
    float *gu = guhat + b * I * J * D, *glog = glogits + b * I * J;
    float *gvr = gtmp + b * 2 * J * D, *gsr = gvr + J * D;
    memset(gu, 0, I * J * D * sizeof(float));
    memset(glog, 0, I * J * sizeof(float));
    for (size_t rr = R; rr-- > 0;) {
      const float *cr = c + (b * R + rr) * I * J, *sr = s + (b * R + rr) * J * D;
      const float *vr = vs + (b * R + rr) * J * D;
      if (rr + 1 == R) memcpy(gvr, gv + b * J * D, J * D * sizeof(float));
      else {
        memset(gvr, 0, J * D * sizeof(float));
        for (size_t i = 0; i < I; i++)
          for (size_t j = 0; j < J; j++) {
            float g = glog[i * J + j];
            const float *uij = u + (i * J + j) * D;
            float *guij = gu + (i * J + j) * D, *gvj = gvr + j * D;
            const float *vj = vr + j * D;
#pragma omp simd
            for (size_t k = 0; k < D; k++) { gvj[k] += g * uij[k]; guij[k] += g * vj[k]; }
          }
      }
      caps_squash_backward(J, D, sr, gvr, gsr);
      for (size_t i = 0; i < I; i++) {
        float gc[64], acc = 0; /* J <= 64 is checked by the binding */
        for (size_t j = 0; j < J; j++) {
          const float *uij = u + (i * J + j) * D;
          float *guij = gu + (i * J + j) * D, cij = cr[i * J + j];
          const float *gsj = gsr + j * D;
          gc[j] = dotf(gsj, uij, D);
#pragma omp simd
          for (size_t k = 0; k < D; k++) guij[k] += cij * gsj[k];
          acc += cij * gc[j];
        }
        for (size_t j = 0; j < J; j++) glog[i * J + j] += cr[i * J + j] * (gc[j] - acc);
      }
    }
  }
}
