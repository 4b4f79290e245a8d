/* idx.h: reader for IDX files (the MNIST format), plain or gzip. */
#ifndef CAPSRUN_IDX_H
#define CAPSRUN_IDX_H
#include <stddef.h>

#define IDX_MAXDIM 4
#define IDX_MAX_ITEMS ((size_t)1 << 32)

typedef struct IdxData {
  unsigned char *bytes;       /* numel unsigned bytes, malloc'ed; NULL on error */
  size_t shape[IDX_MAXDIM];
  size_t numel;
  int ndim;
} IdxData;

/* Reads an unsigned-byte IDX file. Memory grows only with the bytes actually
 * present, so a header that lies about its sizes cannot force a huge
 * allocation. Returns 0, or -1 with a message in err. */
int idx_read(const char *path, IdxData *out, char *err, size_t errlen);

#endif
