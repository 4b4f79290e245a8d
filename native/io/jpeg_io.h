/* jpeg_io.h: JPEG files through libjpeg(-turbo), and the readers that pick
 * PNG or JPEG by a file's first bytes. */
#ifndef CAPSRUN_JPEG_IO_H
#define CAPSRUN_JPEG_IO_H
#include <stddef.h>

/* As png_read_pixels and png_read_header (png_io.h), for baseline and
 * progressive JPEGs in grey, RGB or YCbCr (CMYK is refused). */
int jpegfile_read_pixels(const char *path, int channels, size_t max_pixels, size_t *w, size_t *h,
                     unsigned char **pixels, char *err, size_t errlen);
int jpegfile_read_header(const char *path, size_t *w, size_t *h, int *colour, char *err, size_t errlen);
/* w x h pixels of `channels` (1 or 3) interleaved bytes, quality 1..100, written atomically */
int jpegfile_write(const char *path, size_t w, size_t h, int channels, const unsigned char *pixels, int quality,
               char *err, size_t errlen);

/* what a file holds, from its first bytes */
typedef enum { IMAGE_UNKNOWN, IMAGE_PNG, IMAGE_JPEG } ImageKind;
ImageKind image_kind(const char *path);
/* png_read_pixels or jpegfile_read_pixels by the file's content; another content is an error naming it */
int image_read_pixels(const char *path, int channels, size_t max_pixels, size_t *w, size_t *h,
                      unsigned char **pixels, char *err, size_t errlen);
int image_read_header(const char *path, size_t *w, size_t *h, int *colour, char *err, size_t errlen);

#endif
