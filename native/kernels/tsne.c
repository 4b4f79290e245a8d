/* tsne.c: exact t-SNE (van der Maaten & Hinton 2008), as the reference
 * implementation's exact mode runs it: Gaussian affinities whose bandwidth
 * per point matches a perplexity, symmetrised; Student-t similarities in the
 * embedding; gradient descent with momentum, per-coordinate gains and early
 * exaggeration. O(n^2) time and memory: meant for the few thousand points
 * of a figure. Sums run in double, row by row, then over rows in order, so
 * the result does not depend on the number of threads. */
#include <math.h>
#include <string.h>
#include "kernels.h"

#define TSNE_TOL 1e-5
#define TSNE_SEARCH_STEPS 100

/* row (n) holds the squared distances of point i (row[i] unused) on entry and
 * p_j|i on return, with the bandwidth found by bisection so that the entropy
 * is log(perplexity). Returns 1 when the search converged. */
static int tsne_row(float *row, size_t n, size_t i, double perplexity) {
  double dmin = INFINITY;
  for (size_t j = 0; j < n; j++)
    if (j != i && row[j] < dmin) dmin = row[j];
  double target = log(perplexity), beta = 1.0, lo = -INFINITY, hi = INFINITY;
  int converged = 0;
  for (int step = 0; step < TSNE_SEARCH_STEPS; step++) {
    double sum = 0.0, dsum = 0.0;
    for (size_t j = 0; j < n; j++) {
      if (j == i) continue;
      double d = row[j] - dmin, p = exp(-d * beta);   /* shifted: the closest point has p = 1 */
      sum += p;
      dsum += d * p;
    }
    double h = log(sum) + beta * dsum / sum, diff = h - target;
    if (fabs(diff) < TSNE_TOL) { converged = 1; break; }
    if (diff > 0) {            /* too flat: narrow the Gaussian */
      lo = beta;
      beta = isinf(hi) ? beta * 2 : (beta + hi) / 2;
    } else {
      hi = beta;
      beta = isinf(lo) ? beta / 2 : (beta + lo) / 2;
    }
  }
  double sum = 0.0;
  for (size_t j = 0; j < n; j++) {
    double p = j == i ? 0.0 : exp(-(row[j] - dmin) * beta);
    row[j] = (float)p;
    sum += p;
  }
  for (size_t j = 0; j < n; j++) row[j] = (float)(row[j] / sum);
  return converged;
}

size_t tsne_affinities(const float *x, size_t n, size_t d, double perplexity, float *P) {
  size_t failed = 0;
  #pragma omp parallel for schedule(static) reduction(+:failed)
  for (size_t i = 0; i < n; i++) {
    float *row = P + i * n;
    for (size_t j = 0; j < n; j++) {
      double s = 0.0;
      for (size_t k = 0; k < d; k++) {
        double diff = (double)x[i * d + k] - x[j * d + k];
        s += diff * diff;
      }
      row[j] = (float)s;
    }
    failed += !tsne_row(row, n, i, perplexity);
  }
  /* p_ij = (p_j|i + p_i|j) / 2n, floored so that the KL divergence stays finite */
  for (size_t i = 0; i < n; i++)
    for (size_t j = i; j < n; j++) {
      float v = i == j ? 0.0f : (P[i * n + j] + P[j * n + i]) / (float)(2 * n);
      if (i != j && v < 1e-12f) v = 1e-12f;
      P[i * n + j] = P[j * n + i] = v;
    }
  return failed;
}

/* num (n, n) = 1 / (1 + |y_i - y_j|^2) with a zero diagonal; returns their sum */
static double tsne_similarities(const float *Y, size_t n, size_t m, float *num, double *rowsum) {
  #pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) {
    double s = 0.0;
    for (size_t j = 0; j < n; j++) {
      double d2 = 0.0;
      for (size_t k = 0; k < m; k++) {
        double diff = (double)Y[i * m + k] - Y[j * m + k];
        d2 += diff * diff;
      }
      double q = i == j ? 0.0 : 1.0 / (1.0 + d2);
      num[i * n + j] = (float)q;
      s += q;
    }
    rowsum[i] = s;
  }
  double z = 0.0;
  for (size_t i = 0; i < n; i++) z += rowsum[i];
  return z;
}

/* KL(P || Q) with Q = num / z */
static double tsne_kl(const float *P, const float *num, size_t n, double z, double *rowsum) {
  #pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) {
    double s = 0.0;
    for (size_t j = 0; j < n; j++) {
      if (i == j) continue;
      double p = P[i * n + j], q = num[i * n + j] / z;
      if (q < 1e-300) q = 1e-300;
      s += p * log(p / q);
    }
    rowsum[i] = s;
  }
  double kl = 0.0;
  for (size_t i = 0; i < n; i++) kl += rowsum[i];
  return kl;
}

double tsne_embed(const float *P, size_t n, size_t m, const TsneSettings *s, float *Y, float *update,
                  float *gains, float *num, double *rowsum) {
  for (size_t k = 0; k < n * m; k++) { update[k] = 0.0f; gains[k] = 1.0f; }
  for (size_t it = 0; it < s->iterations; it++) {
    int early = it < s->exaggeration_iterations;
    double exag = early ? s->exaggeration : 1.0, momentum = early ? 0.5 : 0.8;
    double z = tsne_similarities(Y, n, m, num, rowsum);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
      double g[8] = {0};   /* m <= 8, checked by the caller */
      for (size_t j = 0; j < n; j++) {
        double q = num[i * n + j], f = (exag * P[i * n + j] - q / z) * q;
        for (size_t k = 0; k < m; k++) g[k] += f * ((double)Y[i * m + k] - Y[j * m + k]);
      }
      for (size_t k = 0; k < m; k++) {
        float grad = (float)(4.0 * g[k]), *u = update + i * m + k, *gain = gains + i * m + k;
        /* delta-bar-delta: grow the step where the gradient keeps its direction */
        *gain = (grad > 0) != (*u > 0) ? *gain + 0.2f : *gain * 0.8f;
        if (*gain < 0.01f) *gain = 0.01f;
        *u = (float)(momentum * *u - s->learning_rate * *gain * grad);
      }
    }
    for (size_t k = 0; k < n * m; k++) Y[k] += update[k];
    for (size_t k = 0; k < m; k++) {   /* keep the embedding centred */
      double mean = 0.0;
      for (size_t i = 0; i < n; i++) mean += Y[i * m + k];
      mean /= (double)n;
      for (size_t i = 0; i < n; i++) Y[i * m + k] -= (float)mean;
    }
  }
  double z = tsne_similarities(Y, n, m, num, rowsum);
  return tsne_kl(P, num, n, z, rowsum);
}
