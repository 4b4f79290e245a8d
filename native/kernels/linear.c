/* linear.c: fully connected layer y = x W^T + b. */
#include <cblas.h>
#include "kernels.h"

void linear_forward(size_t B, size_t n_in, size_t n_out, const float *in,
                    const float *weight, const float *bias, float *out) {
  for (size_t b = 0; b < B; b++)
    for (size_t o = 0; o < n_out; o++) out[b * n_out + o] = bias[o];
  /* out (B, n_out) += in (B, I) x weight^T (n_in, n_out) */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)n_out, (int)n_in, 1.0f,
              in, (int)n_in, weight, (int)n_in, 1.0f, out, (int)n_out);
}

void linear_backward(size_t B, size_t n_in, size_t n_out, const float *in,
                     const float *gout, const float *weight, float *gweight,
                     float *gbias, float *gin) {
  /* gweight (n_out, n_in) += gout^T (n_out, B) x in (B, I) */
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n_out, (int)n_in, (int)B, 1.0f,
              gout, (int)n_out, in, (int)n_in, 1.0f, gweight, (int)n_in);
  for (size_t b = 0; b < B; b++)
    for (size_t o = 0; o < n_out; o++) gbias[o] += gout[b * n_out + o];
  /* gin (B, I) = gout (B, n_out) x weight (n_out, n_in) */
  if (gin)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)n_in, (int)n_out, 1.0f,
                gout, (int)n_out, weight, (int)n_in, 0.0f, gin, (int)n_in);
}
