/* augment.c: data augmentation. The smallNORB preprocessing of Hinton et
 * al. (2018): per-image standardisation, 32x32 crops (random in training,
 * central at test), random brightness and contrast; the shifts of MNIST
 * training (Sabour et al. 2017: up to 2 pixels) and CIFAR's mirror flips.
 * The bindings draw the random numbers; these only move pixels. */
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

/* one plane moved by (dy, dx) in place: rows are written in the order that
 * never overwrites a row still to be read, each with memmove */
static void shift_plane(size_t H, size_t W, long dy, long dx, float *p) {
  long h = (long)H, w = (long)W;
  if (dy >= h || -dy >= h || dx >= w || -dx >= w) { memset(p, 0, H * W * sizeof(float)); return; }
  size_t keep = (size_t)(w - (dx < 0 ? -dx : dx)), to = dx > 0 ? (size_t)dx : 0, from = dx < 0 ? (size_t)-dx : 0;
  for (long k = 0; k < h; k++) {
    long y = dy > 0 ? h - 1 - k : k, sy = y - dy;
    float *row = p + (size_t)y * W;
    if (sy < 0 || sy >= h) { memset(row, 0, W * sizeof(float)); continue; }
    memmove(row + to, p + (size_t)sy * W + from, keep * sizeof(float));
    memset(row + (dx > 0 ? 0 : keep), 0, (W - keep) * sizeof(float));
  }
}

void shift_images(size_t B, size_t C, size_t H, size_t W, const long *shifts, float *x) {
  for (size_t b = 0; b < B; b++)
    for (size_t c = 0; c < C; c++) shift_plane(H, W, shifts[2 * b], shifts[2 * b + 1], x + (b * C + c) * H * W);
}

void flip_images(size_t B, size_t C, size_t H, size_t W, const unsigned char *flip, float *x) {
  for (size_t b = 0; b < B; b++) {
    if (!flip[b]) continue;
    for (size_t row = 0; row < C * H; row++) {
      float *line = x + (b * C * H + row) * W;
      for (size_t i = 0; i < W / 2; i++) {
        float v = line[i];
        line[i] = line[W - 1 - i];
        line[W - 1 - i] = v;
      }
    }
  }
}
