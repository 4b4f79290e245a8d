/* resize.c: bilinear resampling of planes, with pixel centres at +0.5 (as
 * PyTorch's interpolate with align_corners=False, without antialiasing):
 * output pixel (y, x) samples the input at ((y + 0.5) * H / OH - 0.5, ...),
 * clamped to the image. */
#include "kernels.h"

/* source coordinate of output index i: lower index, upper index, weight of the upper */
static void sample_at(size_t i, size_t in, size_t out, size_t *lo, size_t *hi, float *frac) {
  double s = ((double)i + 0.5) * (double)in / (double)out - 0.5;
  if (s < 0) s = 0;
  size_t l = (size_t)s;
  if (l > in - 1) l = in - 1;
  *lo = l;
  *hi = l + 1 < in ? l + 1 : in - 1;
  *frac = (float)(s - (double)l);
}

void resize_bilinear(size_t planes, size_t H, size_t W, const float *in, size_t OH, size_t OW,
                     float *out) {
#pragma omp parallel for schedule(static) if (planes * OH * OW > 100000)
  for (long pl = 0; pl < (long)planes; pl++) {
    const float *src = in + (size_t)pl * H * W;
    float *dst = out + (size_t)pl * OH * OW;
    for (size_t y = 0; y < OH; y++) {
      size_t y0, y1, x0, x1;
      float fy, fx;
      sample_at(y, H, OH, &y0, &y1, &fy);
      for (size_t x = 0; x < OW; x++) {
        sample_at(x, W, OW, &x0, &x1, &fx);
        float top = src[y0 * W + x0] * (1 - fx) + src[y0 * W + x1] * fx;
        float bottom = src[y1 * W + x0] * (1 - fx) + src[y1 * W + x1] * fx;
        dst[y * OW + x] = top * (1 - fy) + bottom * fy;
      }
    }
  }
}
