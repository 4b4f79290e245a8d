/* jpeg_io.c: libjpeg reading and writing, errors through setjmp (libjpeg's
 * default handler would exit the process). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include "jpeg_io.h"
#include "png_io.h"
#include "atomic_file.h"

typedef struct QuietError {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
} QuietError;

static void quiet_exit(j_common_ptr cinfo) {
  QuietError *e = (QuietError *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, e->message);
  longjmp(e->jump, 1);
}
/* a warning (corrupt or truncated data, which libjpeg would fill with grey) is kept, and made an error below */
static void quiet_output(j_common_ptr cinfo) {
  QuietError *e = (QuietError *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, e->message);
}

/* opens path and reads its header into d; 0, or -1 with a message (d destroyed) */
static int open_jpeg(const char *path, struct jpeg_decompress_struct *d, QuietError *e, FILE **f, char *err,
                     size_t errlen) {
  *f = fopen(path, "rb");
  if (!*f) { snprintf(err, errlen, "cannot open %s", path); return -1; }
  d->err = jpeg_std_error(&e->mgr);
  e->mgr.error_exit = quiet_exit;
  e->mgr.output_message = quiet_output;
  e->message[0] = 0;
  jpeg_create_decompress(d);
  jpeg_stdio_src(d, *f);
  return 0;
}

int jpegfile_read_header(const char *path, size_t *w, size_t *h, int *colour, char *err, size_t errlen) {
  struct jpeg_decompress_struct d;
  QuietError e;
  FILE *f;
  if (open_jpeg(path, &d, &e, &f, err, errlen)) return -1;
  if (setjmp(e.jump)) {
    snprintf(err, errlen, "%s is not a readable JPEG (%s)", path, e.message);
    jpeg_destroy_decompress(&d);
    fclose(f);
    return -1;
  }
  jpeg_read_header(&d, TRUE);
  *w = d.image_width;
  *h = d.image_height;
  *colour = d.num_components >= 3;
  int cmyk = d.jpeg_color_space == JCS_CMYK || d.jpeg_color_space == JCS_YCCK;
  jpeg_destroy_decompress(&d);
  fclose(f);
  if (cmyk) { snprintf(err, errlen, "%s is a CMYK JPEG (convert it to RGB)", path); return -1; }
  if (*w == 0 || *h == 0) { snprintf(err, errlen, "%s is a JPEG of 0 pixels", path); return -1; }
  return 0;
}

int jpegfile_read_pixels(const char *path, int channels, size_t max_pixels, size_t *w, size_t *h,
                     unsigned char **pixels, char *err, size_t errlen) {
  struct jpeg_decompress_struct d;
  QuietError e;
  FILE *f;
  *pixels = NULL;
  unsigned char *volatile out = NULL;   /* volatile: survives the longjmp */
  if (open_jpeg(path, &d, &e, &f, err, errlen)) return -1;
  if (setjmp(e.jump)) {
    snprintf(err, errlen, "%s is not a readable JPEG (%s)", path, e.message);
    free(out);
    jpeg_destroy_decompress(&d);
    fclose(f);
    return -1;
  }
  jpeg_read_header(&d, TRUE);
  if (d.jpeg_color_space == JCS_CMYK || d.jpeg_color_space == JCS_YCCK) {
    snprintf(e.message, sizeof e.message, "CMYK, not supported");
    longjmp(e.jump, 1);
  }
  d.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&d);
  size_t W = d.output_width, H = d.output_height;
  if (W == 0 || H == 0 || W > max_pixels / H || (size_t)d.output_components != (size_t)channels) {
    snprintf(e.message, sizeof e.message, "%zux%zu pixels, at most %zu allowed", W, H, max_pixels);
    longjmp(e.jump, 1);
  }
  out = malloc(W * H * (size_t)channels);
  if (!out) { snprintf(e.message, sizeof e.message, "out of memory"); longjmp(e.jump, 1); }
  while (d.output_scanline < H) {
    JSAMPROW row = out + (size_t)d.output_scanline * W * (size_t)channels;
    if (jpeg_read_scanlines(&d, &row, 1) != 1) { snprintf(e.message, sizeof e.message, "truncated"); longjmp(e.jump, 1); }
  }
  jpeg_finish_decompress(&d);
  if (d.err->num_warnings > 0) longjmp(e.jump, 1);   /* corrupt data: an error naming the file, never grey pixels */
  jpeg_destroy_decompress(&d);
  fclose(f);
  *w = W;
  *h = H;
  *pixels = out;
  return 0;
}

static int write_jpeg(FILE *f, size_t w, size_t h, int channels, const unsigned char *pixels, int quality) {
  struct jpeg_compress_struct c;
  QuietError e;
  c.err = jpeg_std_error(&e.mgr);
  e.mgr.error_exit = quiet_exit;
  jpeg_create_compress(&c);
  if (setjmp(e.jump)) { jpeg_destroy_compress(&c); return -1; }
  jpeg_stdio_dest(&c, f);
  c.image_width = (JDIMENSION)w;
  c.image_height = (JDIMENSION)h;
  c.input_components = channels;
  c.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = (JSAMPROW)(pixels + (size_t)c.next_scanline * w * (size_t)channels);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  return 0;
}

int jpegfile_write(const char *path, size_t w, size_t h, int channels, const unsigned char *pixels, int quality,
               char *err, size_t errlen) {
  if (w == 0 || h == 0 || w > 65500 || h > 65500 || (channels != 1 && channels != 3) || quality < 1 || quality > 100) {
    snprintf(err, errlen, "a JPEG of %zux%zu pixels, %d channels and quality %d cannot be written", w, h, channels,
             quality);
    return -1;
  }
  AtomicFile a;
  if (atomic_open(&a, path, err, errlen)) return -1;
  int failed = write_jpeg(a.f, w, h, channels, pixels, quality) != 0;
  return atomic_commit(&a, failed, err, errlen);
}

ImageKind image_kind(const char *path) {
  unsigned char b[8] = {0};
  FILE *f = fopen(path, "rb");
  if (!f) return IMAGE_UNKNOWN;
  size_t n = fread(b, 1, sizeof b, f);
  fclose(f);
  static const unsigned char png[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (n == 8 && memcmp(b, png, 8) == 0) return IMAGE_PNG;
  if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return IMAGE_JPEG;
  return IMAGE_UNKNOWN;
}

int image_read_pixels(const char *path, int channels, size_t max_pixels, size_t *w, size_t *h,
                      unsigned char **pixels, char *err, size_t errlen) {
  if (image_kind(path) == IMAGE_JPEG) return jpegfile_read_pixels(path, channels, max_pixels, w, h, pixels, err, errlen);
  return png_read_pixels(path, channels, max_pixels, w, h, pixels, err, errlen);   /* PNG, or its error */
}

int image_read_header(const char *path, size_t *w, size_t *h, int *colour, char *err, size_t errlen) {
  if (image_kind(path) == IMAGE_JPEG) return jpegfile_read_header(path, w, h, colour, err, errlen);
  return png_read_header(path, w, h, colour, err, errlen);
}
