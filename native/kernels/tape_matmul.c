/* tape_matmul.c: batched matrix products with broadcasting over the
 * leading dimensions, forward and backward. Small matrices (the routing's
 * 1 x I x D agreements) run as plain loops, one thread per batch of
 * matrices; large ones go to OpenBLAS one batch at a time. */
#include <string.h>
#include <cblas.h>
#include "tape_ops.h"

#define SMALL_MATMUL (1u << 16)   /* M*K*N below which a loop beats a BLAS call */

static size_t batches(const TapeMatmul *d) { return d->batch[0] * d->batch[1] * d->batch[2]; }
static size_t offset(const TapeMatmul *d, const size_t *st, size_t t) {
  size_t i2 = t % d->batch[2], i1 = (t / d->batch[2]) % d->batch[1], i0 = t / (d->batch[2] * d->batch[1]);
  return i0 * st[0] + i1 * st[1] + i2 * st[2];
}
static int broadcast(const TapeMatmul *d, const size_t *st, size_t per) {
  size_t want = per;
  for (int k = 2; k >= 0; k--) {
    if (d->batch[k] > 1 && st[k] != want) return 1;
    want *= d->batch[k];
  }
  return 0;
}

/* dot product of n floats in 8 independent partial sums (a vectorisable
 * reduction without reassociation flags) */
static float dot(size_t n, const float *x, const float *y) {
  float part[8] = {0};
  size_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; j++) part[j] += x[k + j] * y[k + j];
  float s = 0;
  for (; k < n; k++) s += x[k] * y[k];
  for (int j = 0; j < 8; j++) s += part[j];
  return s;
}

#define ROW_MAX 256   /* output rows up to this width are summed in a local buffer */

/* c (M, N) = a (M, K) b (K, N) */
static void mm_nn(size_t M, size_t K, size_t N, const float *a, const float *b, float *c) {
  if (M * K * N >= SMALL_MATMUL) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f, a, (int)K, b,
                (int)N, 0.0f, c, (int)N);
    return;
  }
  if (N == 1) {   /* matrix times vector: one dot product per row */
    for (size_t m = 0; m < M; m++) c[m] = dot(K, a + m * K, b);
    return;
  }
  float local[ROW_MAX];   /* a row summed where the compiler knows nothing aliases it */
  for (size_t m = 0; m < M; m++) {
    float *row = N <= ROW_MAX ? local : c + m * N;
    memset(row, 0, N * sizeof *row);
    for (size_t k = 0; k < K; k++) {
      float v = a[m * K + k];
      const float *bk = b + k * N;
      for (size_t n = 0; n < N; n++) row[n] += v * bk[n];
    }
    if (row == local) memcpy(c + m * N, local, N * sizeof *local);
  }
}

/* ga (M, K) += g (M, N) b^T */
static void mm_nt(size_t M, size_t K, size_t N, const float *g, const float *b, float *ga) {
  if (M * K * N >= SMALL_MATMUL) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)K, (int)N, 1.0f, g, (int)N, b,
                (int)N, 1.0f, ga, (int)K);
    return;
  }
  if (N == 1) {   /* an outer product: ga[m, :] += g[m] b */
    for (size_t m = 0; m < M; m++) {
      float gm = g[m];
      float *row = ga + m * K;
      for (size_t k = 0; k < K; k++) row[k] += gm * b[k];
    }
    return;
  }
  for (size_t m = 0; m < M; m++)
    for (size_t k = 0; k < K; k++) ga[m * K + k] += dot(N, g + m * N, b + k * N);
}

/* gb (K, N) += a^T (K, M) g (M, N) */
static void mm_tn(size_t M, size_t K, size_t N, const float *a, const float *g, float *gb) {
  if (M * K * N >= SMALL_MATMUL) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)N, (int)M, 1.0f, a, (int)K, g,
                (int)N, 1.0f, gb, (int)N);
    return;
  }
  if (N == 1) {   /* gb += a^T g: rows of a scaled and summed */
    for (size_t m = 0; m < M; m++) {
      float gm = g[m];
      const float *row = a + m * K;
      for (size_t k = 0; k < K; k++) gb[k] += row[k] * gm;
    }
    return;
  }
  for (size_t m = 0; m < M; m++)
    for (size_t k = 0; k < K; k++) {
      float v = a[m * K + k];
      float *out = gb + k * N;
      const float *gm = g + m * N;
      for (size_t n = 0; n < N; n++) out[n] += v * gm[n];
    }
}

void tape_matmul_forward(const TapeMatmul *d, const float *a, const float *b, float *out) {
  size_t nb = batches(d), mn = d->M * d->N;
  int small = d->M * d->K * d->N < SMALL_MATMUL;
#pragma omp parallel for schedule(static) if (small && nb > 1)
  for (long t = 0; t < (long)nb; t++)
    mm_nn(d->M, d->K, d->N, a + offset(d, d->astride, (size_t)t), b + offset(d, d->bstride, (size_t)t),
          out + (size_t)t * mn);
}

void tape_matmul_backward(const TapeMatmul *d, const float *a, const float *b, const float *gout,
                          float *ga, float *gb) {
  size_t nb = batches(d), mn = d->M * d->N;
  int small = d->M * d->K * d->N < SMALL_MATMUL;
  if (ga) {
    /* batches that share an operand (broadcast) add into one block: in turn */
    int par = small && nb > 1 && !broadcast(d, d->astride, d->M * d->K);
#pragma omp parallel for schedule(static) if (par)
    for (long t = 0; t < (long)nb; t++)
      mm_nt(d->M, d->K, d->N, gout + (size_t)t * mn, b + offset(d, d->bstride, (size_t)t),
            ga + offset(d, d->astride, (size_t)t));
  }
  if (gb) {
    int par = small && nb > 1 && !broadcast(d, d->bstride, d->K * d->N);
#pragma omp parallel for schedule(static) if (par)
    for (long t = 0; t < (long)nb; t++)
      mm_tn(d->M, d->K, d->N, a + offset(d, d->astride, (size_t)t), gout + (size_t)t * mn,
            gb + offset(d, d->bstride, (size_t)t));
  }
}
