/* augment.c: the smallNORB preprocessing of Hinton et al. (2018): per-image
 * standardisation, 32x32 crops (random in training, central at test), and
 * random brightness and contrast. */
#include <math.h>
#include <string.h>
#include "kernels.h"

void standardize_images(size_t n, size_t size, float *x) {
  for (size_t i = 0; i < n; i++) {
    float *img = x + i * size;
    double sum = 0, sq = 0;
    for (size_t k = 0; k < size; k++) sum += img[k];
    const double mean = sum / (double)size;
    for (size_t k = 0; k < size; k++) sq += (img[k] - mean) * (img[k] - mean);
    /* as TensorFlow's per_image_standardization: a flat image is not blown up */
    double sd = sqrt(sq / (double)size), floor_sd = 1.0 / sqrt((double)size);
    const float inv = (float)(1.0 / (sd > floor_sd ? sd : floor_sd));
    for (size_t k = 0; k < size; k++) img[k] = (float)(img[k] - mean) * inv;
  }
}

void crop_images(size_t B, size_t C, size_t H, size_t W, const float *in, size_t size,
                 const size_t *offsets, float *out) {
  for (size_t b = 0; b < B; b++) {
    size_t y0 = offsets ? offsets[2 * b] : (H - size) / 2, x0 = offsets ? offsets[2 * b + 1] : (W - size) / 2;
    for (size_t c = 0; c < C; c++)
      for (size_t y = 0; y < size; y++)
        memcpy(out + ((b * C + c) * size + y) * size, in + ((b * C + c) * H + y0 + y) * W + x0,
               size * sizeof(float));
  }
}

void jitter_images(size_t n, size_t size, const float *brightness, const float *contrast, float *x) {
  for (size_t i = 0; i < n; i++) {
    float *img = x + i * size;
    double sum = 0;
    for (size_t k = 0; k < size; k++) sum += img[k];
    const float mean = (float)(sum / (double)size);
    for (size_t k = 0; k < size; k++) img[k] = (img[k] - mean) * contrast[i] + mean + brightness[i];
  }
}
