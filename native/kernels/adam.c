/* adam.c: the optimisers' updates, one flat loop each: Adam (Kingma & Ba) with bias
 * correction, and RMSProp with momentum. */
#include <math.h>
#include "kernels.h"

void adam_update(size_t n, float *param, const float *grad, float *m, float *v,
                 const AdamParams *p) {
  const double c1 = 1.0 - pow(p->beta1, (double)p->step);
  const double c2 = 1.0 - pow(p->beta2, (double)p->step);
  const float step = (float)(p->lr * sqrt(c2) / c1);
  const float epsh = (float)(p->eps * sqrt(c2)); /* eps on the bias-corrected v */
  const float b1 = p->beta1, b2 = p->beta2;
  /* elementwise, so threads change nothing in the result */
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (long i = 0; i < (long)n; i++) {
    m[i] = b1 * m[i] + (1.0f - b1) * grad[i];
    v[i] = b2 * v[i] + (1.0f - b2) * grad[i] * grad[i];
    param[i] -= step * m[i] / (sqrtf(v[i]) + epsh);
  }
}

/* RMSProp with momentum as TensorFlow 1's RMSPropOptimizer (the stacked
 * capsule autoencoders' optimiser): ms = rho ms + (1 - rho) g^2,
 * mom = momentum mom + lr g / sqrt(ms + eps), param -= mom */
void rmsprop_update(size_t n, float *param, const float *grad, float *ms, float *mom, const RMSPropParams *p) {
  const float rho = p->rho, momentum = p->momentum, lr = p->lr, eps = p->eps;
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (long i = 0; i < (long)n; i++) {
    ms[i] = rho * ms[i] + (1.0f - rho) * grad[i] * grad[i];
    mom[i] = momentum * mom[i] + lr * grad[i] / sqrtf(ms[i] + eps);
    param[i] -= mom[i];
  }
}
