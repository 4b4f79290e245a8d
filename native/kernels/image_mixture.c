/* image_mixture.c: SCAE's image likelihood (Kosiorek et al. 2019, eq. 6; the
 * official TemplateBasedImageDecoder's MixtureDistribution): every pixel of
 * an image is a mixture over K components (the transformed templates and the
 * background), component k with mean mu_k(pixel), standard deviation sigma
 * and mixing logit a_k(pixel):
 *   log p(y) = sum_pixels log sum_k softmax_k(a)(pixel) N(y(pixel) | mu_k(pixel), sigma^2)
 * Fused so that the (B, K, P) temporaries of the composed ops are one pass:
 * the forward keeps each pixel's posterior r = softmax_k(a + log N) and
 * prior pi = softmax_k(a) for the backward:
 *   d/d a_k = g (r_k - pi_k),   d/d mu_k = g r_k (y - mu_k) / sigma^2. */
#include <math.h>
#include "kernels.h"
#include "exp_nonpos.h"

#define PIXELS 256   /* pixels at a time: each pass over the components reads contiguous runs */

/* one image's log-likelihood over pixels [p0, p0 + n); its posterior and prior per component */
static double mixture_block(size_t K, size_t P, size_t p0, size_t n, const float *mu, const float *logits,
                            const float *y, float half_inv_var, float *post, float *prior) {
  float amax[PIXELS], jmax[PIXELS], za[PIXELS], zj[PIXELS];
  for (size_t q = 0; q < n; q++) { amax[q] = -INFINITY; jmax[q] = -INFINITY; za[q] = 0; zj[q] = 0; }
  for (size_t k = 0; k < K; k++) {   /* the maxima; the joint logits kept in post */
    const float *a = logits + k * P + p0, *m = mu + k * P + p0;
    float *r = post + k * P + p0;
    for (size_t q = 0; q < n; q++) {
      float d = y[p0 + q] - m[q], j = a[q] - d * d * half_inv_var;
      r[q] = j;
      amax[q] = a[q] > amax[q] ? a[q] : amax[q];
      jmax[q] = j > jmax[q] ? j : jmax[q];
    }
  }
  for (size_t k = 0; k < K; k++) {   /* exponentials of values <= 0, vectorised */
    const float *a = logits + k * P + p0;
    float *r = post + k * P + p0, *pi = prior + k * P + p0;
    for (size_t q = 0; q < n; q++) {
      float ea = exp_nonpos(a[q] - amax[q]), ej = exp_nonpos(r[q] - jmax[q]);
      pi[q] = ea;
      r[q] = ej;
      za[q] += ea;
      zj[q] += ej;
    }
  }
  for (size_t q = 0; q < n; q++) { za[q] = 1.0f / za[q]; zj[q] = 1.0f / zj[q]; }
  for (size_t k = 0; k < K; k++) {
    float *r = post + k * P + p0, *pi = prior + k * P + p0;
    for (size_t q = 0; q < n; q++) { pi[q] *= za[q]; r[q] *= zj[q]; }
  }
  double total = 0;   /* log sum_k e^j - log sum_k e^a, per pixel; za, zj now hold the inverses */
  for (size_t q = 0; q < n; q++) total += ((double)jmax[q] - log(zj[q])) - ((double)amax[q] - log(za[q]));
  return total;
}

void image_mixture_forward(size_t B, size_t K, size_t P, const float *mu, const float *logits, const float *y,
                           float sigma, float *logp, float *post, float *prior) {
  const double half_log_2pi = 0.91893853320467274178, log_sigma = log((double)sigma);
  const float half_inv_var = 0.5f / (sigma * sigma);
#pragma omp parallel for schedule(static) if (B * K * P > 100000)
  for (long b = 0; b < (long)B; b++) {
    size_t off = (size_t)b * K * P;
    double total = 0;
    for (size_t p0 = 0; p0 < P; p0 += PIXELS)
      total += mixture_block(K, P, p0, P - p0 < PIXELS ? P - p0 : PIXELS, mu + off, logits + off,
                             y + (size_t)b * P, half_inv_var, post + off, prior + off);
    logp[b] = (float)(total - (double)P * (half_log_2pi + log_sigma));
  }
}

void image_mixture_backward(size_t B, size_t K, size_t P, const float *mu, const float *y, float sigma,
                            const float *post, const float *prior, const float *glogp, float *gmu, float *glogits) {
  const float inv_var = 1.0f / (sigma * sigma);
#pragma omp parallel for schedule(static) if (B * K * P > 100000)
  for (long b = 0; b < (long)B; b++) {
    float g = glogp[b];
    for (size_t k = 0; k < K; k++)
      for (size_t p = 0; p < P; p++) {
        size_t at = ((size_t)b * K + k) * P + p;
        if (glogits) glogits[at] += g * (post[at] - prior[at]);
        if (gmu) gmu[at] += g * post[at] * (y[(size_t)b * P + p] - mu[at]) * inv_var;
      }
  }
}
