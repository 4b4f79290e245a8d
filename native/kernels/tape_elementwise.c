/* tape_elementwise.c: broadcasting binary ops, unary ops, strided gathers
 * and scatters (permute, expand and their gradients). */
#include <math.h>
#include "tape_ops.h"

#define PAR_MIN 32768   /* below this many values a thread team costs more than it saves */

/* rows: all but the last dimension, flattened; row r's offset at strides st */
static size_t rows_of(const size_t *shape) { return shape[0] * shape[1] * shape[2] * shape[3]; }
static size_t row_offset(const size_t *shape, const size_t *st, size_t r) {
  size_t off = 0;
  for (int k = TAPE_DIMS - 2; k >= 0; k--) { off += (r % shape[k]) * st[k]; r /= shape[k]; }
  return off;
}

/* one row of out = a op b; the common strides (1 or 0: a broadcast value)
 * get their own loops so that the compiler vectorises them */
#define ROW_LOOP(EXPR)                                                     \
  do {                                                                     \
    if (as == 1 && bs == 1) {                                              \
      for (size_t i = 0; i < n; i++) { float x = pa[i], y = pb[i]; po[i] = (EXPR); } \
    } else if (as == 1 && bs == 0) {                                       \
      const float y = pb[0];                                               \
      for (size_t i = 0; i < n; i++) { float x = pa[i]; po[i] = (EXPR); }  \
    } else {                                                               \
      for (size_t i = 0; i < n; i++) {                                     \
        float x = pa[i * as], y = pb[i * bs];                              \
        po[i] = (EXPR);                                                    \
      }                                                                    \
    }                                                                      \
  } while (0)

static void binary_row(int op, size_t n, const float *pa, size_t as, const float *pb, size_t bs, float *po) {
  switch (op) {
    case TAPE_ADD: ROW_LOOP(x + y); break;
    case TAPE_SUB: ROW_LOOP(x - y); break;
    case TAPE_MUL: ROW_LOOP(x * y); break;
    default: ROW_LOOP(x / y); break;
  }
}

void tape_binary_forward(int op, const TapeBroadcast *s, const float *a, const float *b, float *out) {
  size_t rows = rows_of(s->shape), n = s->shape[TAPE_DIMS - 1];
  size_t as = s->astride[TAPE_DIMS - 1], bs = s->bstride[TAPE_DIMS - 1];
#pragma omp parallel for schedule(static) if (rows * n > PAR_MIN)
  for (long r = 0; r < (long)rows; r++)
    binary_row(op, n, a + row_offset(s->shape, s->astride, (size_t)r), as,
               b + row_offset(s->shape, s->bstride, (size_t)r), bs, out + (size_t)r * n);
}

/* one row's gradient, EXPR in x (a), y (b) and gg (the output's gradient), added at
 * dst[i * gs]. An operand broadcast along the row (gs = 0: a bias, a scalar) sums
 * into 8 lanes, which the compiler vectorises, instead of a chain through memory;
 * contiguous rows get their own loop for the same reason */
#define GRAD_ROW(EXPR)                                                                \
  do {                                                                                \
    if (gs == 0) {                                                                    \
      float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                      \
      size_t i = 0;                                                                   \
      for (; i + 8 <= n; i += 8)                                                      \
        for (size_t l = 0; l < 8; l++) {                                              \
          float x = pa[(i + l) * as], y = pb[(i + l) * bs], gg = pg[i + l];            \
          lane[l] += (EXPR);                                                          \
        }                                                                             \
      for (; i < n; i++) { float x = pa[i * as], y = pb[i * bs], gg = pg[i]; lane[0] += (EXPR); } \
      dst[0] += ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7])); \
    } else if (as == 1 && bs == 1 && gs == 1) {                                       \
      for (size_t i = 0; i < n; i++) { float x = pa[i], y = pb[i], gg = pg[i]; dst[i] += (EXPR); } \
    } else {                                                                          \
      for (size_t i = 0; i < n; i++) {                                                \
        float x = pa[i * as], y = pb[i * bs], gg = pg[i];                             \
        dst[i * gs] += (EXPR);                                                        \
      }                                                                               \
    }                                                                                 \
  } while (0)

/* d(a op b)/da (which = 0) or /db (which = 1) times the output's gradient, one row */
static void grad_row(int op, int which, size_t n, const float *pa, size_t as, const float *pb, size_t bs,
                     const float *pg, float *dst, size_t gs) {
  (void)pa; (void)pb;
  switch (op) {
    case TAPE_ADD: GRAD_ROW(((void)x, (void)y, gg)); break;
    case TAPE_SUB: if (which) GRAD_ROW(((void)x, (void)y, -gg)); else GRAD_ROW(((void)x, (void)y, gg)); break;
    case TAPE_MUL: if (which) GRAD_ROW(((void)y, gg * x)); else GRAD_ROW(((void)x, gg * y)); break;
    default: if (which) GRAD_ROW(-gg * x / (y * y)); else GRAD_ROW(((void)x, gg / y)); break;
  }
}

/* an operand broadcast along no row dimension (only, perhaps, along the
 * last) gets each row's gradient in places no other row touches: its rows
 * can be written in parallel, each summed in the order one thread would */
static int rows_apart(const size_t *shape, const size_t *st) {
  for (int k = 0; k < TAPE_DIMS - 1; k++)
    if (shape[k] > 1 && st[k] == 0) return 0;
  return 1;
}

static void binary_grad(int op, int which, const TapeBroadcast *s, const float *a, const float *b,
                        const float *gout, float *g) {
  const size_t *gst = which ? s->bstride : s->astride;
  size_t rows = rows_of(s->shape), n = s->shape[TAPE_DIMS - 1];
  size_t as = s->astride[TAPE_DIMS - 1], bs = s->bstride[TAPE_DIMS - 1], gs = which ? bs : as;
  int par = rows_apart(s->shape, gst) && rows * n > PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
  for (long r = 0; r < (long)rows; r++) {
    const float *pa = a + row_offset(s->shape, s->astride, (size_t)r);
    const float *pb = b + row_offset(s->shape, s->bstride, (size_t)r);
    grad_row(op, which, n, pa, as, pb, bs, gout + (size_t)r * n, g + row_offset(s->shape, gst, (size_t)r), gs);
  }
}

void tape_binary_backward(int op, const TapeBroadcast *s, const float *a, const float *b,
                          const float *gout, float *ga, float *gb) {
  if (ga) binary_grad(op, 0, s, a, b, gout, ga);
  if (gb) binary_grad(op, 1, s, a, b, gout, gb);
}

static float unary(int op, float p, float x) {
  switch (op) {
    case TAPE_NEG: return -x;
    case TAPE_EXP: return expf(x);
    case TAPE_LOG: return logf(x);
    case TAPE_SQRT: return sqrtf(x);
    case TAPE_POW: return powf(x, p);
    case TAPE_ABS: return fabsf(x);
    case TAPE_RELU: return x > 0 ? x : 0;
    case TAPE_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case TAPE_TANH: return tanhf(x);
    case TAPE_SCALE: return p * x;
    case TAPE_SIN: return sinf(x);
    case TAPE_COS: return cosf(x);
    case TAPE_SOFTPLUS: return x > 20 ? x : log1pf(expf(x));   /* log(1 + e^x), exact to float beyond 20 */
    default: return x + p;
  }
}

void tape_unary_forward(int op, size_t n, float p, const float *x, float *y) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (long i = 0; i < (long)n; i++) y[i] = unary(op, p, x[i]);
}

/* dy/dx times g, from x or from y = f(x), whichever is cheaper */
static float unary_grad(int op, float p, float x, float y, float g) {
  switch (op) {
    case TAPE_NEG: return -g;
    case TAPE_EXP: return g * y;
    case TAPE_LOG: return g / x;
    case TAPE_SQRT: return y > 0 ? g * 0.5f / y : 0;
    case TAPE_POW: return g * p * powf(x, p - 1);
    case TAPE_ABS: return x > 0 ? g : (x < 0 ? -g : 0);
    case TAPE_RELU: return x > 0 ? g : 0;
    case TAPE_SIGMOID: return g * y * (1 - y);
    case TAPE_TANH: return g * (1 - y * y);
    case TAPE_SCALE: return g * p;
    case TAPE_SIN: return g * cosf(x);
    case TAPE_COS: return -g * sinf(x);
    case TAPE_SOFTPLUS: return g / (1.0f + expf(-x));
    default: return g;
  }
}

void tape_unary_backward(int op, size_t n, float p, const float *x, const float *y,
                         const float *gy, float *gx) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (long i = 0; i < (long)n; i++) gx[i] += unary_grad(op, p, x[i], y[i], gy[i]);
}

void tape_gather(const size_t *shape, const size_t *sstride, const float *src, float *dst) {
  size_t rows = rows_of(shape), n = shape[TAPE_DIMS - 1], st = sstride[TAPE_DIMS - 1];
#pragma omp parallel for schedule(static) if (rows * n > PAR_MIN)
  for (long r = 0; r < (long)rows; r++) {
    const float *ps = src + row_offset(shape, sstride, (size_t)r);
    float *pd = dst + (size_t)r * n;
    for (size_t i = 0; i < n; i++) pd[i] = ps[i * st];
  }
}

void tape_scatter_add(const size_t *shape, const size_t *dstride, int bijective, const float *src,
                      float *dst) {
  size_t rows = rows_of(shape), n = shape[TAPE_DIMS - 1], st = dstride[TAPE_DIMS - 1];
#pragma omp parallel for schedule(static) if (bijective && rows * n > PAR_MIN)
  for (long r = 0; r < (long)rows; r++) {
    const float *ps = src + (size_t)r * n;
    float *pd = dst + row_offset(shape, dstride, (size_t)r);
    for (size_t i = 0; i < n; i++) pd[i * st] += ps[i];
  }
}
