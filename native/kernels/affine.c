/* affine.c: affine resampling of planes. Output pixel (x, y) (its centre at
 * x + 0.5, y + 0.5) takes the input at
 *   (u, v) = (m[0] x' + m[1] y' + m[2], m[3] x' + m[4] y' + m[5])
 * with x' = x + 0.5, y' = y + 0.5, in the input's continuous coordinates
 * (pixel i covers [i, i + 1)), bilinearly, zero outside the input. m is the
 * inverse of the transformation applied to the image, one per image of
 * `channels` planes (all of an image's channels move together). */
#include <math.h>
#include "kernels.h"

static float pixel(const float *src, size_t h, size_t w, long y, long x) {
  return (y >= 0 && x >= 0 && y < (long)h && x < (long)w) ? src[(size_t)y * w + (size_t)x] : 0.0f;
}

void affine_warp(size_t planes, size_t channels, size_t h, size_t w, const float *in, size_t oh, size_t ow,
                 const float *m, float *out) {
#pragma omp parallel for schedule(static) if (planes * oh * ow > 100000)
  for (long pl = 0; pl < (long)planes; pl++) {
    const float *src = in + (size_t)pl * h * w, *t = m + (size_t)pl / channels * 6;
    float *dst = out + (size_t)pl * oh * ow;
    for (size_t y = 0; y < oh; y++)
      for (size_t x = 0; x < ow; x++) {
        double xc = (double)x + 0.5, yc = (double)y + 0.5;
        double u = t[0] * xc + t[1] * yc + t[2] - 0.5, v = t[3] * xc + t[4] * yc + t[5] - 0.5;
        if (!(u > -1 && v > -1 && u < (double)w && v < (double)h)) { dst[y * ow + x] = 0; continue; }
        long x0 = (long)floor(u), y0 = (long)floor(v);
        float fx = (float)(u - (double)x0), fy = (float)(v - (double)y0);
        float top = pixel(src, h, w, y0, x0) * (1 - fx) + pixel(src, h, w, y0, x0 + 1) * fx;
        float bottom = pixel(src, h, w, y0 + 1, x0) * (1 - fx) + pixel(src, h, w, y0 + 1, x0 + 1) * fx;
        dst[y * ow + x] = top * (1 - fy) + bottom * fy;
      }
  }
}
