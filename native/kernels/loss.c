/* loss.c: margin loss (Sabour et al. eq. 4), summed squared error, and softmax
 * cross-entropy. */
#include <math.h>
#include "kernels.h"

static int present(size_t K, const float *labels, size_t j) {
  for (size_t k = 0; k < K; k++)
    if ((size_t)labels[k] == j) return 1;
  return 0;
}

double margin_loss(size_t B, size_t J, size_t K, const float *len, const float *labels,
                   const MarginParams *p, float *glen) {
  double total = 0;
  for (size_t b = 0; b < B; b++) {
    for (size_t j = 0; j < J; j++) {
      float l = len[b * J + j], g;
      if (present(K, labels + b * K, j)) {
        float e = p->m_plus - l;
        if (e <= 0) e = 0;            /* written so that a NaN length stays NaN */
        total += (double)e * e;
        g = -2.0f * e;
      } else {
        float e = l - p->m_minus;
        if (e <= 0) e = 0;
        total += (double)p->lambda * e * e;
        g = 2.0f * p->lambda * e;
      }
      if (glen) glen[b * J + j] = g / (float)B;
    }
  }
  return total / (double)B;
}

double sse_loss(size_t B, size_t P, const float *pred, const float *target, float *gpred) {
  double total = 0;
  for (size_t i = 0; i < B * P; i++) {
    float e = pred[i] - target[i];
    total += (double)e * e;
    if (gpred) gpred[i] = 2.0f * e / (float)B;
  }
  return total / (double)B;
}

double cross_entropy_loss(size_t B, size_t C, const float *logits, const float *labels,
                          float *glogits) {
  double total = 0;
  for (size_t b = 0; b < B; b++) {
    const float *x = logits + b * C;
    size_t label = (size_t)labels[b];
    float m = x[0];
    for (size_t c = 1; c < C; c++) m = x[c] > m ? x[c] : m;
    double z = 0;
    for (size_t c = 0; c < C; c++) z += exp((double)(x[c] - m));
    total += log(z) - (double)(x[label] - m);       /* -log softmax(x)[label] */
    if (glogits)
      for (size_t c = 0; c < C; c++)
        glogits[b * C + c] = (float)((exp((double)(x[c] - m)) / z - (c == label)) / (double)B);
  }
  return total / (double)B;
}

double sigmoid_bce_loss(size_t B, size_t C, size_t K, const float *logits, const float *labels,
                        float *glogits) {
  double total = 0;
  for (size_t b = 0; b < B; b++)
    for (size_t c = 0; c < C; c++) {
      double x = logits[b * C + c], y = present(K, labels + b * K, c);
      /* -[y log s(x) + (1-y) log(1 - s(x))] = max(x, 0) - x y + log(1 + e^-|x|), stable */
      total += (x > 0 ? x : 0) - x * y + log1p(exp(-fabs(x)));
      if (glogits) glogits[b * C + c] = (float)((1 / (1 + exp(-x)) - y) / (double)B);
    }
  return total / (double)B;
}

/* spread loss (Hinton et al. 2018, eq. 3): the target's activation must
 * exceed every other class's by the margin */
double spread_loss(size_t B, size_t J, const float *act, const float *labels, float margin,
                   float *gact) {
  double total = 0;
  for (size_t b = 0; b < B; b++) {
    const float *a = act + b * J;
    size_t t = (size_t)labels[b];
    float gt = 0;
    for (size_t j = 0; j < J; j++) {
      if (j == t) continue;
      float e = margin - (a[t] - a[j]);
      if (e <= 0) e = 0;
      total += (double)e * e;
      if (gact) { gact[b * J + j] = 2.0f * e / (float)B; gt -= 2.0f * e / (float)B; }
    }
    if (gact) gact[b * J + t] = gt;
  }
  return total / (double)B;
}
