/* svhn.c: SVHN's MAT-file variables as capsrun's images and labels (svhn.h). */
#include <stdio.h>
#include "svhn.h"

int svhn_images(const MatArray *x, float *dst, char *err, size_t errlen) {
  if (x->ndim != 4 || (x->dims[2] != 1 && x->dims[2] != 3)) {
    snprintf(err, errlen, "X must be (height, width, 1 or 3 channels, images), got %d dimensions%s", x->ndim,
             x->ndim == 4 ? " with neither 1 nor 3 channels" : "");
    return -1;
  }
  const size_t h = x->dims[0], w = x->dims[1], c = x->dims[2], n = x->dims[3];
  for (size_t i = 0; i < n; i++)
    for (size_t ch = 0; ch < c; ch++)
      for (size_t col = 0; col < w; col++)
        for (size_t row = 0; row < h; row++) {
          float v = x->data[row + h * (col + w * (ch + c * i))];
          if (!(v >= 0 && v <= 255)) {
            snprintf(err, errlen, "X holds %g at image %zu, outside the bytes 0 to 255", (double)v, i + 1);
            return -1;
          }
          dst[((i * c + ch) * h + row) * w + col] = v / 255.0f;
        }
  return 0;
}

int svhn_labels(const MatArray *y, float *dst, char *err, size_t errlen) {
  if (y->ndim != 2 || (y->dims[0] != 1 && y->dims[1] != 1)) {
    snprintf(err, errlen, "y must be a vector (n, 1) of labels, got %d dimensions", y->ndim);
    return -1;
  }
  for (size_t i = 0; i < y->numel; i++) {
    float v = y->data[i];
    if (!(v >= 1 && v <= 10) || v != (float)(int)v) {
      snprintf(err, errlen, "label %g of image %zu is not a class 1 to 10 (10 is the digit 0)", (double)v, i + 1);
      return -1;
    }
    dst[i] = v == 10 ? 0 : v;
  }
  return 0;
}
