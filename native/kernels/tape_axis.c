/* tape_axis.c: ops along one axis of a tensor seen as (outer, n, inner):
 * reductions, softmax, squash, layer norm, slices. Accumulation in double. */
#include <math.h>
#include <string.h>
#include "tape_ops.h"

#define PAR_MIN 32768
#define AT(a, o, k, i) (((o) * (a)->n + (k)) * (a)->inner + (i))
#define SQUASH_EPS 1e-8   /* as CAPS_SQUASH_EPS: the Lua routing matches the C kernel */

/* one line along the axis: (o, i) for l = o * inner + i */
#define LINES(a) ((a)->outer * (a)->inner)
#define PAR(a) ((a)->outer * (a)->n * (a)->inner > PAR_MIN)

#define RUN_MAX 1024   /* sums over an axis with inner runs up to this long go run by run */

/* sum, mean or norm with inner > 1: whole contiguous runs of inner values at
 * a time (the strided walk along the axis misses the cache) */
static void reduce_runs(int op, const TapeAxis *a, const float *x, float *y) {
#pragma omp parallel for schedule(static) if (PAR(a))
  for (long o = 0; o < (long)a->outer; o++) {
    double acc[RUN_MAX] = {0};
    for (size_t k = 0; k < a->n; k++) {
      const float *row = x + AT(a, (size_t)o, k, 0);
      if (op == TAPE_NORM) for (size_t i = 0; i < a->inner; i++) acc[i] += (double)row[i] * row[i];
      else for (size_t i = 0; i < a->inner; i++) acc[i] += row[i];
    }
    float *out = y + (size_t)o * a->inner;
    for (size_t i = 0; i < a->inner; i++)
      out[i] = (float)(op == TAPE_SUM ? acc[i] : op == TAPE_MEAN ? acc[i] / (double)a->n : sqrt(acc[i]));
  }
}

void tape_reduce_forward(int op, const TapeAxis *a, const float *x, float *y, float *arg) {
  if (a->inner > 1 && a->inner <= RUN_MAX && (op == TAPE_SUM || op == TAPE_MEAN || op == TAPE_NORM)) {
    reduce_runs(op, a, x, y);
    return;
  }
#pragma omp parallel for schedule(static) if (PAR(a))
  for (long l = 0; l < (long)LINES(a); l++) {
    size_t o = (size_t)l / a->inner, i = (size_t)l % a->inner;
    double acc = 0, best = -INFINITY;
    size_t where = 0;
    for (size_t k = 0; k < a->n; k++) {
      double v = x[AT(a, o, k, i)];
      if (v > best || k == 0) { best = v; where = k; }
      acc += op == TAPE_NORM ? v * v : v;
    }
    if (op == TAPE_LOGSUMEXP) {
      acc = 0;
      for (size_t k = 0; k < a->n; k++) acc += expf(x[AT(a, o, k, i)] - (float)best);   /* <= 0: float suffices */
    }
    switch (op) {
      case TAPE_SUM: y[l] = (float)acc; break;
      case TAPE_MEAN: y[l] = (float)(acc / (double)a->n); break;
      case TAPE_MAX: y[l] = (float)best; if (arg) arg[l] = (float)where; break;
      case TAPE_LOGSUMEXP: y[l] = (float)(best + log(acc)); break;
      default: y[l] = (float)sqrt(acc);
    }
  }
}

void tape_reduce_backward(int op, const TapeAxis *a, const float *x, const float *y,
                          const float *arg, const float *gy, float *gx) {
  if (a->inner > 1 && (op == TAPE_SUM || op == TAPE_MEAN)) {   /* run by run, as forward */
    double scale = op == TAPE_MEAN ? 1.0 / (double)a->n : 1.0;
#pragma omp parallel for schedule(static) if (PAR(a))
    for (long o = 0; o < (long)a->outer; o++) {
      const float *g = gy + (size_t)o * a->inner;
      for (size_t k = 0; k < a->n; k++) {
        float *row = gx + AT(a, (size_t)o, k, 0);
        for (size_t i = 0; i < a->inner; i++) row[i] += (float)(g[i] * scale);
      }
    }
    return;
  }
#pragma omp parallel for schedule(static) if (PAR(a))
  for (long l = 0; l < (long)LINES(a); l++) {
    size_t o = (size_t)l / a->inner, i = (size_t)l % a->inner;
    double g = gy[l];
    if (op == TAPE_MAX) { gx[AT(a, o, (size_t)arg[l], i)] += (float)g; continue; }
    for (size_t k = 0; k < a->n; k++) {
      size_t at = AT(a, o, k, i);
      double d;
      switch (op) {
        case TAPE_SUM: d = g; break;
        case TAPE_MEAN: d = g / (double)a->n; break;
        case TAPE_LOGSUMEXP: d = g * expf(x[at] - y[l]); break;
        default: d = y[l] > 0 ? g * x[at] / y[l] : 0;   /* the norm's subgradient 0 at 0 */
      }
      gx[at] += (float)d;
    }
  }
}

void tape_softmax_forward(const TapeAxis *a, int log_out, const float *x, float *y) {
#pragma omp parallel for schedule(static) if (PAR(a))
  for (long l = 0; l < (long)LINES(a); l++) {
    size_t o = (size_t)l / a->inner, i = (size_t)l % a->inner;
    double best = x[AT(a, o, 0, i)], sum = 0;
    for (size_t k = 1; k < a->n; k++) if (x[AT(a, o, k, i)] > best) best = x[AT(a, o, k, i)];   /* fmax: a libm call */
    for (size_t k = 0; k < a->n; k++) sum += expf(x[AT(a, o, k, i)] - (float)best);   /* <= 0: float suffices */
    double lse = best + log(sum);
    for (size_t k = 0; k < a->n; k++) {
      double z = x[AT(a, o, k, i)] - lse;
      y[AT(a, o, k, i)] = log_out ? (float)z : expf((float)z);
    }
  }
}

/* softmax: gx = y (g - sum_k g y); log-softmax: gx = g - exp(y) sum_k g */
void tape_softmax_backward(const TapeAxis *a, int log_out, const float *y, const float *gy, float *gx) {
#pragma omp parallel for schedule(static) if (PAR(a))
  for (long l = 0; l < (long)LINES(a); l++) {
    size_t o = (size_t)l / a->inner, i = (size_t)l % a->inner;
    double dot = 0;
    for (size_t k = 0; k < a->n; k++) {
      size_t at = AT(a, o, k, i);
      dot += log_out ? gy[at] : (double)gy[at] * y[at];
    }
    for (size_t k = 0; k < a->n; k++) {
      size_t at = AT(a, o, k, i);
      gx[at] += (float)(log_out ? gy[at] - expf(y[at]) * dot : y[at] * (gy[at] - dot));
    }
  }
}

void tape_layer_norm_forward(const TapeAxis *a, double eps, const float *x, float *y, float *rstd) {
#pragma omp parallel for schedule(static) if (PAR(a))
  for (long l = 0; l < (long)LINES(a); l++) {
    size_t o = (size_t)l / a->inner, i = (size_t)l % a->inner;
    double mean = 0, var = 0;
    for (size_t k = 0; k < a->n; k++) mean += x[AT(a, o, k, i)];
    mean /= (double)a->n;
    for (size_t k = 0; k < a->n; k++) {
      double c = x[AT(a, o, k, i)] - mean;
      var += c * c;
    }
    double r = 1.0 / sqrt(var / (double)a->n + eps);
    rstd[l] = (float)r;
    for (size_t k = 0; k < a->n; k++) y[AT(a, o, k, i)] = (float)((x[AT(a, o, k, i)] - mean) * r);
  }
}

/* y is the normalised x: gx = rstd (gy - mean(gy) - y mean(gy y)) */
void tape_layer_norm_backward(const TapeAxis *a, const float *y, const float *rstd, const float *gy, float *gx) {
#pragma omp parallel for schedule(static) if (PAR(a))
  for (long l = 0; l < (long)LINES(a); l++) {
    size_t o = (size_t)l / a->inner, i = (size_t)l % a->inner;
    double mg = 0, mgy = 0;
    for (size_t k = 0; k < a->n; k++) {
      size_t at = AT(a, o, k, i);
      mg += gy[at];
      mgy += (double)gy[at] * y[at];
    }
    mg /= (double)a->n;
    mgy /= (double)a->n;
    for (size_t k = 0; k < a->n; k++) {
      size_t at = AT(a, o, k, i);
      gx[at] += (float)(rstd[l] * (gy[at] - mg - y[at] * mgy));
    }
  }
}

void tape_squash_forward(const TapeAxis *a, const float *s, float *v) {
#pragma omp parallel for schedule(static) if (PAR(a))
  for (long l = 0; l < (long)LINES(a); l++) {
    size_t o = (size_t)l / a->inner, i = (size_t)l % a->inner;
    double q = 0;
    for (size_t k = 0; k < a->n; k++) q += (double)s[AT(a, o, k, i)] * s[AT(a, o, k, i)];
    double f = q / ((1.0 + q) * sqrt(q + SQUASH_EPS));
    for (size_t k = 0; k < a->n; k++) v[AT(a, o, k, i)] = (float)(f * s[AT(a, o, k, i)]);
  }
}

/* v = f(q) s, q = |s|^2: gs += f gv + 2 f'(q) (s . gv) s */
void tape_squash_backward(const TapeAxis *a, const float *s, const float *gv, float *gs) {
#pragma omp parallel for schedule(static) if (PAR(a))
  for (long l = 0; l < (long)LINES(a); l++) {
    size_t o = (size_t)l / a->inner, i = (size_t)l % a->inner;
    double q = 0, sg = 0;
    for (size_t k = 0; k < a->n; k++) {
      size_t at = AT(a, o, k, i);
      q += (double)s[at] * s[at];
      sg += (double)s[at] * gv[at];
    }
    double root = sqrt(q + SQUASH_EPS), den = (1.0 + q) * root, f = q / den;
    double fprime = (den - q * (root + (1.0 + q) / (2.0 * root))) / (den * den);
    for (size_t k = 0; k < a->n; k++) {
      size_t at = AT(a, o, k, i);
      gs[at] += (float)(f * gv[at] + 2.0 * fprime * sg * s[at]);
    }
  }
}

void tape_slice_get(const TapeAxis *a, size_t start, size_t len, int add, const float *whole,
                    float *part) {
  size_t run = len * a->inner;   /* the slice is one run of floats per outer index */
  for (size_t o = 0; o < a->outer; o++) {
    const float *src = whole + AT(a, o, start, 0);
    float *dst = part + o * run;
    if (add) for (size_t j = 0; j < run; j++) dst[j] += src[j];
    else memcpy(dst, src, run * sizeof *dst);
  }
}

void tape_slice_put(const TapeAxis *a, size_t start, size_t len, int add, const float *part,
                    float *whole) {
  size_t run = len * a->inner;
  for (size_t o = 0; o < a->outer; o++) {
    const float *src = part + o * run;
    float *dst = whole + AT(a, o, start, 0);
    if (add) for (size_t j = 0; j < run; j++) dst[j] += src[j];
    else memcpy(dst, src, run * sizeof *dst);
  }
}

void tape_index_select_forward(const TapeAxis *a, size_t m, const float *idx, const float *x, float *y) {
#pragma omp parallel for schedule(static) if (a->outer * m * a->inner > PAR_MIN)
  for (long o = 0; o < (long)a->outer; o++)
    for (size_t k = 0; k < m; k++)
      memcpy(y + ((size_t)o * m + k) * a->inner, x + AT(a, (size_t)o, (size_t)idx[k], 0), a->inner * sizeof *y);
}

/* parallel over the outer index only: repeated indices add into one row, in turn */
void tape_index_select_backward(const TapeAxis *a, size_t m, const float *idx, const float *gy, float *gx) {
#pragma omp parallel for schedule(static) if (a->outer * m * a->inner > PAR_MIN)
  for (long o = 0; o < (long)a->outer; o++)
    for (size_t k = 0; k < m; k++) {
      const float *src = gy + ((size_t)o * m + k) * a->inner;
      float *dst = gx + AT(a, (size_t)o, (size_t)idx[k], 0);
      for (size_t i = 0; i < a->inner; i++) dst[i] += src[i];
    }
}
