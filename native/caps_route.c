/* caps_route.c: prediction vectors u_hat = W u and dynamic routing
 * (Sabour et al. 2017, procedure 1), forward and backward through every
 * iteration. Parallel over the batch: each sample routes independently. */
#include <math.h>
#include <string.h>
#include "kernels.h"

/* u (B, I, Din), w (I, J, D, Din) -> uhat (B, I, J, D) */
void caps_predict_forward(const RouteDims *d, const float *u, const float *w, float *uhat) {
  const size_t I = d->in_caps, JD = d->out_caps * d->out_dim, K = d->in_dim;
#pragma omp parallel for schedule(static)
  for (long bl = 0; bl < (long)d->batch; bl++) {
    size_t b = (size_t)bl;
    for (size_t i = 0; i < I; i++) {
      const float *x = u + (b * I + i) * K, *wi = w + i * JD * K;
      float *y = uhat + (b * I + i) * JD;
      for (size_t jd = 0; jd < JD; jd++) {
        float acc = 0;
        for (size_t k = 0; k < K; k++) acc += wi[jd * K + k] * x[k];
        y[jd] = acc;
      }
    }
  }
}

/* gw (I, J, D, Din) += sum_b guhat x u; gu (B, I, Din) = W^T guhat */
void caps_predict_backward(const RouteDims *d, const float *u, const float *w,
                           const float *guhat, float *gw, float *gu) {
  const size_t I = d->in_caps, JD = d->out_caps * d->out_dim, K = d->in_dim, B = d->batch;
#pragma omp parallel for schedule(static)
  for (long il = 0; il < (long)I; il++) {
    size_t i = (size_t)il;
    float *gwi = gw + i * JD * K;
    for (size_t b = 0; b < B; b++) {
      const float *x = u + (b * I + i) * K, *g = guhat + (b * I + i) * JD;
      for (size_t jd = 0; jd < JD; jd++)
        for (size_t k = 0; k < K; k++) gwi[jd * K + k] += g[jd] * x[k];
    }
    if (gu)
      for (size_t b = 0; b < B; b++) {
        const float *g = guhat + (b * I + i) * JD, *wi = w + i * JD * K;
        float *gx = gu + (b * I + i) * K;
        for (size_t k = 0; k < K; k++) gx[k] = 0;
        for (size_t jd = 0; jd < JD; jd++)
          for (size_t k = 0; k < K; k++) gx[k] += wi[jd * K + k] * g[jd];
      }
  }
}

static float dotf(const float *a, const float *b, size_t n) {
  float acc = 0;
  for (size_t k = 0; k < n; k++) acc += a[k] * b[k];
  return acc;
}

/* softmax over the J parents of each child i: logits (I, J) -> c (I, J) */
static void softmax_parents(size_t I, size_t J, const float *logits, float *c) {
  for (size_t i = 0; i < I; i++) {
    const float *x = logits + i * J;
    float *y = c + i * J, mx = x[0], sum = 0;
    for (size_t j = 1; j < J; j++) if (x[j] > mx) mx = x[j];
    for (size_t j = 0; j < J; j++) { y[j] = expf(x[j] - mx); sum += y[j]; }
    for (size_t j = 0; j < J; j++) y[j] /= sum;
  }
}

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
      float *vr = vs + (b * R + r) * J * D;
      softmax_parents(I, J, lg, cr);
      memset(sr, 0, J * D * sizeof(float));
      for (size_t i = 0; i < I; i++)
        for (size_t j = 0; j < J; j++) {
          const float *uij = u + (i * J + j) * D;
          float cij = cr[i * J + j], *sj = sr + j * D;
          for (size_t k = 0; k < D; k++) sj[k] += cij * uij[k];
        }
      caps_squash_forward(J, D, sr, vr);
      if (r + 1 < R)
        for (size_t i = 0; i < I; i++)
          for (size_t j = 0; j < J; j++) lg[i * J + j] += dotf(u + (i * J + j) * D, vr + j * D, D);
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
            float *guij = gu + (i * J + j) * D;
            for (size_t k = 0; k < D; k++) { gvr[j * D + k] += g * uij[k]; guij[k] += g * vr[j * D + k]; }
          }
      }
      caps_squash_backward(J, D, sr, gvr, gsr);
      for (size_t i = 0; i < I; i++) {
        float gc[64], acc = 0; /* J <= 64 is checked by the binding */
        for (size_t j = 0; j < J; j++) {
          const float *uij = u + (i * J + j) * D;
          float *guij = gu + (i * J + j) * D, cij = cr[i * J + j];
          gc[j] = dotf(gsr + j * D, uij, D);
          for (size_t k = 0; k < D; k++) guij[k] += cij * gsr[j * D + k];
          acc += cij * gc[j];
        }
        for (size_t j = 0; j < J; j++) glog[i * J + j] += cr[i * J + j] * (gc[j] - acc);
      }
    }
  }
}
