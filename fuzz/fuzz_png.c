/* fuzz_png.c: libFuzzer target for the image readers, PNG and JPEG (header
 * and pixels, grey and RGB, through the dispatch on the first bytes and each
 * reader directly) and the CIFAR-10 record reader. Both take a path, so each input
 * goes through a file in /dev/shm. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>
#include "fuzz_file.h"
#include "cifar.h"
#include "png_io.h"
#include "jpeg_io.h"

typedef int (*ReadPixels)(const char *, int, size_t, size_t *, size_t *, unsigned char **, char *, size_t);

static void check_image(ReadPixels read, const char *path, int channels) {
  size_t w, h;
  unsigned char *px;
  char err[512];
  if (read(path, channels, (size_t)1 << 22, &w, &h, &px, err, sizeof err) == 0) {
    if (w == 0 || h == 0) abort();
    volatile unsigned char sink = px[w * h * (size_t)channels - 1];   /* the whole buffer is there */
    (void)sink;
    free(px);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[FUZZ_PATH_MAX];
  if (fuzz_write_input("png", data, size, path)) return 0;
  size_t w, h, n;
  int colour;
  char err[512];
  (void)png_read_header(path, &w, &h, &colour, err, sizeof err);
  (void)jpegfile_read_header(path, &w, &h, &colour, err, sizeof err);
  (void)image_read_header(path, &w, &h, &colour, err, sizeof err);
  for (int c = 1; c <= 3; c += 2) {
    check_image(png_read_pixels, path, c);
    check_image(jpegfile_read_pixels, path, c);
    check_image(image_read_pixels, path, c);
  }
  if (cifar_count(path, &n, err, sizeof err) == 0 && n <= 4) {
    float *images = malloc(n * 3072 * sizeof(float)), *labels = malloc(n * sizeof(float));
    if (images && labels) (void)cifar_read(path, n, 10, images, labels, err, sizeof err);
    free(images);
    free(labels);
  }
  unlink(path);
  return 0;
}
