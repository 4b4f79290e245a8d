/* png_io.c: libpng reading and writing, errors through setjmp. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <png.h>
#include "png_io.h"
#include "atomic_file.h"

/* libpng's default handlers print to stderr; the caller reports instead */
static void quiet_error(png_structp png, png_const_charp msg) { (void)msg; png_longjmp(png, 1); }
static void quiet_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static int write_png(FILE *f, size_t w, size_t h, int colour, const unsigned char *pixels) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, quiet_error, quiet_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) { png_destroy_write_struct(&png, NULL); return -1; }
  if (setjmp(png_jmpbuf(png))) { png_destroy_write_struct(&png, &info); return -1; }
  png_init_io(png, f);
  int channels = colour == PNG_COLOR_TYPE_RGB ? 3 : 1;
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, colour, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (size_t y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(pixels + y * w * channels));
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  return 0;
}

static int write_atomic(const char *path, size_t w, size_t h, int colour,
                        const unsigned char *pixels, char *err, size_t errlen) {
  if (w == 0 || h == 0 || w > 0x7fffffff || h > 0x7fffffff) {
    snprintf(err, errlen, "image of %zux%zu pixels cannot be written", w, h);
    return -1;
  }
  AtomicFile a;
  if (atomic_open(&a, path, err, errlen)) return -1;
  int failed = write_png(a.f, w, h, colour, pixels) != 0;
  return atomic_commit(&a, failed, err, errlen);
}

int png_write_grey(const char *path, size_t w, size_t h, const unsigned char *pixels,
                   char *err, size_t errlen) {
  return write_atomic(path, w, h, PNG_COLOR_TYPE_GRAY, pixels, err, errlen);
}

int png_write_rgb(const char *path, size_t w, size_t h, const unsigned char *pixels,
                  char *err, size_t errlen) {
  return write_atomic(path, w, h, PNG_COLOR_TYPE_RGB, pixels, err, errlen);
}

/* What a longjmp must not lose lives in heap memory, not in locals that
 * change after setjmp (their values would be indeterminate). */
typedef struct ReadState { png_structp png; png_infop info; unsigned char *pixels; png_bytep *rows; } ReadState;

static void read_cleanup(ReadState *s, FILE *f) {
  png_destroy_read_struct(&s->png, s->info ? &s->info : NULL, NULL);
  free(s->rows);
  free(s);
  if (f) fclose(f);
}

/* opens path and checks the signature; sets up s for reading, or -1 */
static int read_open(ReadState *s, FILE **f, const char *path, char *err, size_t errlen) {
  *f = fopen(path, "rb");
  if (!*f) { snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno)); return -1; }
  unsigned char sig[8];
  if (fread(sig, 1, 8, *f) != 8 || png_sig_cmp(sig, 0, 8)) {
    fclose(*f);
    snprintf(err, errlen, "%s is not a PNG file", path);
    return -1;
  }
  s->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, quiet_error, quiet_warning);
  s->info = s->png ? png_create_info_struct(s->png) : NULL;
  if (!s->info) { read_cleanup(s, *f); snprintf(err, errlen, "out of memory"); return -1; }
  return 0;
}

int png_read_header(const char *path, size_t *w, size_t *h, int *colour, char *err, size_t errlen) {
  ReadState *const s = calloc(1, sizeof *s);
  FILE *f = NULL;
  if (!s) { snprintf(err, errlen, "out of memory"); return -1; }
  if (read_open(s, &f, path, err, errlen)) { free(s); return -1; }
  if (setjmp(png_jmpbuf(s->png))) {
    read_cleanup(s, f);
    snprintf(err, errlen, "%s: corrupt PNG header", path);
    return -1;
  }
  png_init_io(s->png, f);
  png_set_sig_bytes(s->png, 8);
  png_read_info(s->png, s->info);
  *w = png_get_image_width(s->png, s->info);
  *h = png_get_image_height(s->png, s->info);
  *colour = (png_get_color_type(s->png, s->info) & PNG_COLOR_MASK_COLOR) != 0;
  read_cleanup(s, f);
  return 0;
}

int png_read_pixels(const char *path, int channels, size_t max_pixels, size_t *w, size_t *h,
                    unsigned char **pixels, char *err, size_t errlen) {
  *pixels = NULL;
  ReadState *const s = calloc(1, sizeof *s);
  FILE *f = NULL;
  if (!s) { snprintf(err, errlen, "out of memory"); return -1; }
  if (read_open(s, &f, path, err, errlen)) { free(s); return -1; }
  if (setjmp(png_jmpbuf(s->png))) {
    free(s->pixels);
    read_cleanup(s, f);
    snprintf(err, errlen, "%s: corrupt PNG data", path);
    return -1;
  }
  png_init_io(s->png, f);
  png_set_sig_bytes(s->png, 8);
  png_set_user_limits(s->png, 1 << 16, 1 << 16);
  png_read_info(s->png, s->info);
  size_t width = png_get_image_width(s->png, s->info), height = png_get_image_height(s->png, s->info);
  if (width * height > max_pixels) {
    read_cleanup(s, f);
    snprintf(err, errlen, "%s: %zux%zu pixels is more than the %zu allowed", path, width, height, max_pixels);
    return -1;
  }
  png_set_expand(s->png);                 /* palette and low bit depths to 8 bits */
  png_set_strip_16(s->png);
  png_set_strip_alpha(s->png);
  int ct = png_get_color_type(s->png, s->info);
  if (channels == 1 && (ct & PNG_COLOR_MASK_COLOR)) png_set_rgb_to_gray_fixed(s->png, 1, -1, -1);
  if (channels == 3 && !(ct & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(s->png);
  png_read_update_info(s->png, s->info);
  if (png_get_rowbytes(s->png, s->info) != width * (size_t)channels) png_error(s->png, "unexpected row size");
  s->pixels = malloc(width * height * (size_t)channels);
  s->rows = malloc(height * sizeof(png_bytep));
  if (!s->pixels || !s->rows) {
    free(s->pixels);
    read_cleanup(s, f);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (size_t y = 0; y < height; y++) s->rows[y] = s->pixels + y * width * (size_t)channels;
  png_read_image(s->png, s->rows);
  png_read_end(s->png, NULL);
  *pixels = s->pixels;
  *w = width;
  *h = height;
  read_cleanup(s, f);   /* frees s, not the pixels */
  return 0;
}
