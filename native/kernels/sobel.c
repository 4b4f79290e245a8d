/* sobel.c: the reconstruction target the official SCAE code offers for
 * natural images (data/preprocess.py normalized_sobel_edges, prep='sobel';
 * the paper's SVHN and CIFAR-10 models reconstruct edges, not pixels):
 * per plane, TensorFlow's sobel_edges (3x3 Sobel, reflect padding) with the
 * vertical and horizontal responses summed, minus the plane's median (so a
 * constant background is black), absolute, then scaled to [0, 1] by the
 * plane's minimum and maximum. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

/* reflect padding without repeating the edge (TensorFlow's REFLECT): -1 -> 1, n -> n - 2 */
static size_t reflect(long i, size_t n) {
  if (i < 0) return (size_t)(-i);
  if ((size_t)i >= n) return 2 * n - 2 - (size_t)i;
  return (size_t)i;
}

static int ascending(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* the sum of the two Sobel responses of one plane (h, w >= 2), as
 * tf.image.sobel_edges's correlation with [[-1,-2,-1],[0,0,0],[1,2,1]] and its transpose */
static void sobel_sum(size_t h, size_t w, const float *in, float *out) {
  static const float ky[3][3] = {{-1, -2, -1}, {0, 0, 0}, {1, 2, 1}};
  for (size_t y = 0; y < h; y++)
    for (size_t x = 0; x < w; x++) {
      float s = 0;
      for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
          float v = in[reflect((long)y + a - 1, h) * w + reflect((long)x + b - 1, w)];
          s += (ky[a][b] + ky[b][a]) * v;   /* dy's weight + dx's (the transpose) */
        }
      out[y * w + x] = s;
    }
}

/* the median as tfp.stats.percentile(50) with its default 'nearest': the sorted value at
 * round((n - 1) / 2), ties to even */
static float plane_median(size_t n, const float *x, float *scratch) {
  memcpy(scratch, x, n * sizeof *scratch);
  qsort(scratch, n, sizeof *scratch, ascending);
  return scratch[(size_t)nearbyint(0.5 * (double)(n - 1))];
}

void sobel_target(size_t planes, size_t h, size_t w, const float *in, float *out, float *scratch) {
  size_t n = h * w;
  for (size_t p = 0; p < planes; p++) {
    float *o = out + p * n;
    sobel_sum(h, w, in + p * n, o);
    float med = plane_median(n, o, scratch), lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
      o[i] = fabsf(o[i] - med);
      lo = fminf(lo, o[i]);
      hi = fmaxf(hi, o[i]);
    }
    for (size_t i = 0; i < n; i++) o[i] = (o[i] - lo) / (hi - lo + 1e-8f);
  }
}
