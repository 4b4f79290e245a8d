/* tensor_math.c: elementwise arithmetic, reductions, argmax and transpose
 * for the tensor methods of the Lua API (tensor_math.h). */
#include "tensor_math.h"

static float apply(int op, float a, float b) {
  switch (op) {
    case TM_ADD: return a + b;
    case TM_SUB: return a - b;
    case TM_MUL: return a * b;
    default: return a / b;
  }
}

void tm_binary(int op, size_t n, const float *a, float sa, const float *b, float sb, float *out) {
  for (size_t i = 0; i < n; i++) out[i] = apply(op, a ? a[i] : sa, b ? b[i] : sb);
}

void tm_neg(size_t n, const float *a, float *out) {
  for (size_t i = 0; i < n; i++) out[i] = -a[i];
}

void tm_add_scalar(size_t n, float v, float *x) {
  for (size_t i = 0; i < n; i++) x[i] += v;
}

void tm_axpy(size_t n, float alpha, const float *y, float *x) {
  for (size_t i = 0; i < n; i++) x[i] += alpha * y[i];
}

void tm_scale(size_t n, float v, float *x) {
  for (size_t i = 0; i < n; i++) x[i] *= v;
}

void tm_mul(size_t n, const float *y, float *x) {
  for (size_t i = 0; i < n; i++) x[i] *= y[i];
}

void tm_clamp(size_t n, float lo, float hi, float *x) {
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    x[i] = v < lo ? lo : v > hi ? hi : v;
  }
}

double tm_sum(size_t n, const float *x) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += x[i];
  return s;
}

double tm_sumsq(size_t n, const float *x) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
  return s;
}

double tm_dot(size_t n, const float *a, const float *b) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

size_t tm_extreme(size_t n, const float *x, int want_max) {
  size_t best = 0;
  for (size_t i = 1; i < n; i++)
    if (want_max ? x[i] > x[best] : x[i] < x[best]) best = i;
  return best;
}

void tm_argmax_rows(size_t rows, size_t n, const float *x, float *out) {
  for (size_t r = 0; r < rows; r++) out[r] = (float)tm_extreme(n, x + r * n, 1);
}

void tm_transpose(size_t m, size_t n, const float *x, float *out) {
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) out[j * m + i] = x[i * n + j];
}
