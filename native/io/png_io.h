/* png_io.h: 8-bit grey PNG files through libpng. */
#ifndef CAPSRUN_PNG_IO_H
#define CAPSRUN_PNG_IO_H
#include <stddef.h>

/* Writes w x h grey pixels to path atomically (temporary file, fsync,
 * rename): a failed write leaves no file. 0, or -1 with a message in err. */
int png_write_grey(const char *path, size_t w, size_t h, const unsigned char *pixels,
                   char *err, size_t errlen);
/* Writes w x h RGB pixels (3 bytes each, interleaved), atomically as above. */
int png_write_rgb(const char *path, size_t w, size_t h, const unsigned char *pixels,
                  char *err, size_t errlen);
/* Reads any PNG (grey, grey+alpha, RGB, RGBA, palette, 1-16 bits) as 8-bit
 * pixels, `channels` (1: grey, colour converted; 3: RGB, grey replicated)
 * interleaved per pixel, alpha dropped; *pixels is malloc'ed. At most
 * max_pixels pixels, checked from the header before anything is allocated.
 * 0, or -1 with a message naming the file in err. */
int png_read_pixels(const char *path, int channels, size_t max_pixels, size_t *w, size_t *h,
                    unsigned char **pixels, char *err, size_t errlen);
/* The header alone: size, and whether the image is in colour. */
int png_read_header(const char *path, size_t *w, size_t *h, int *colour, char *err, size_t errlen);

#endif
