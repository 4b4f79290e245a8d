/* png_io.h: 8-bit grey PNG files through libpng. */
#ifndef CAPSRUN_PNG_IO_H
#define CAPSRUN_PNG_IO_H
#include <stddef.h>

/* Writes w x h grey pixels to path atomically (temporary file, fsync,
 * rename): a failed write leaves no file. 0, or -1 with a message in err. */
int png_write_grey(const char *path, size_t w, size_t h, const unsigned char *pixels,
                   char *err, size_t errlen);
/* Reads any PNG as 8-bit grey (colour converted, alpha dropped); *pixels is
 * malloc'ed. At most max_pixels pixels. 0, or -1 with a message in err. */
int png_read_grey(const char *path, size_t max_pixels, size_t *w, size_t *h,
                  unsigned char **pixels, char *err, size_t errlen);

#endif
