/* activation.c: elementwise activations (ReLU, sigmoid), forward and backward. */
#include <math.h>
#include "kernels.h"

void relu_forward(size_t n, const float *in, float *out) {
#pragma omp parallel for schedule(static) if (n > 100000)
  for (long i = 0; i < (long)n; i++) out[i] = in[i] > 0 ? in[i] : 0.0f;
}

void relu_backward(size_t n, const float *out, const float *gout, float *gin) {
#pragma omp parallel for schedule(static) if (n > 100000)
  for (long i = 0; i < (long)n; i++) gin[i] = out[i] > 0 ? gout[i] : 0.0f;
}

void sigmoid_forward(size_t n, const float *in, float *out) {
  for (size_t i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-in[i]));
}

void sigmoid_backward(size_t n, const float *out, const float *gout, float *gin) {
  for (size_t i = 0; i < n; i++) gin[i] = gout[i] * out[i] * (1.0f - out[i]);
}
