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

void image_mixture_forward(size_t B, size_t K, size_t P, const float *mu, const float *logits, const float *y,
                           float sigma, float *logp, float *post, float *prior) {
  const double half_log_2pi = 0.91893853320467274178, log_sigma = log((double)sigma);
  const float half_inv_var = 0.5f / (sigma * sigma);
#pragma omp parallel for schedule(static) if (B * K * P > 100000)
  for (long b = 0; b < (long)B; b++) {
    double total = 0;
    for (size_t p = 0; p < P; p++) {
      const float *a = logits + (size_t)b * K * P + p, *m = mu + (size_t)b * K * P + p;
      float *r = post + (size_t)b * K * P + p, *pi = prior + (size_t)b * K * P + p;
      float yv = y[(size_t)b * P + p], amax = -INFINITY, jmax = -INFINITY;
      for (size_t k = 0; k < K; k++) {
        float d = yv - m[k * P], j = a[k * P] - d * d * half_inv_var;
        if (a[k * P] > amax) amax = a[k * P];   /* not fmaxf: a libm call here */
        if (j > jmax) jmax = j;
      }
      /* float exponentials of values <= 0 (each shifted by its maximum): exact to float, the
       * sums and the log-likelihood in double */
      double za = 0, zj = 0;
      for (size_t k = 0; k < K; k++) {
        float d = yv - m[k * P], ea = expf(a[k * P] - amax), ej = expf(a[k * P] - d * d * half_inv_var - jmax);
        pi[k * P] = ea;
        r[k * P] = ej;
        za += ea;
        zj += ej;
      }
      float iza = (float)(1.0 / za), izj = (float)(1.0 / zj);
      for (size_t k = 0; k < K; k++) { pi[k * P] *= iza; r[k * P] *= izj; }
      total += ((double)jmax + log(zj)) - ((double)amax + log(za)) - half_log_2pi - log_sigma;
    }
    logp[b] = (float)total;
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
