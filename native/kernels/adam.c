/* adam.c: Adam (Kingma & Ba) with bias correction, one flat loop. */
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
