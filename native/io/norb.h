/* norb.h: reader for the NORB datasets' binary matrix files (smallNORB's
 * *-dat.mat, *-cat.mat, *-info.mat), plain or gzip: a little-endian int32
 * magic (0x1E3D4C55 bytes, 0x1E3D4C54 int32), an int32 dimension count, at
 * least three int32 dimensions (unused ones 1), then the values. */
#ifndef CAPSRUN_NORB_H
#define CAPSRUN_NORB_H
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#define NORB_MAGIC_BYTE 0x1E3D4C55u
#define NORB_MAGIC_INT 0x1E3D4C54u
#define NORB_MAXDIM 4
#define NORB_MAX_ITEMS ((size_t)1 << 32)

typedef struct NorbFile {
  gzFile f;
  int is_int;                 /* int32 values, else unsigned bytes */
  int ndim;
  size_t shape[NORB_MAXDIM];
  size_t numel;
} NorbFile;

/* Opens path and reads its header. 0, or -1 with a message in err. */
int norb_open(const char *path, NorbFile *nf, char *err, size_t errlen);
/* Reads the next count values as int32 (bytes widened). A file that ends
 * early is an error; nothing is allocated, so a header that lies about
 * its sizes costs nothing. 0, or -1 with a message. */
int norb_read(NorbFile *nf, int32_t *dst, size_t count, char *err, size_t errlen);
/* After the last value: -1 with a message when the file holds more data
 * than its header declares. Closes the file in every case. */
int norb_close(NorbFile *nf, int check_end, char *err, size_t errlen);

#endif
