/* tensorio.h: a file of named float32 tensors (parameter checkpoints).
 * Layout (little-endian): "CAPSTNS1", u32 version, u32 count, then per
 * tensor: u32 name length, name, u32 ndim, u64 dims[ndim], u32 crc32 of the
 * data, float32 data. Nothing in it is ever executed. */
#ifndef CAPSRUN_TENSORIO_H
#define CAPSRUN_TENSORIO_H
#include <stdio.h>
#include <stdint.h>
#include "tensor.h"

#define TENSORIO_VERSION 1
#define TENSORIO_MAX_NAME 256

int tio_write_header(FILE *f, uint32_t count);
int tio_write_tensor(FILE *f, const char *name, const Tensor *t);

typedef struct TioEntry {
  char name[TENSORIO_MAX_NAME + 1];
  int ndim;
  size_t shape[CAPS_MAXDIM];
  size_t numel;
  uint32_t crc;
} TioEntry;

/* Reading checks each size against the bytes left in the file before any
 * allocation. Return 0, or -1 with a message in err. */
int tio_read_header(FILE *f, uint32_t *count, char *err, size_t errlen);
int tio_read_entry(FILE *f, TioEntry *e, char *err, size_t errlen);
int tio_read_data(FILE *f, const TioEntry *e, float *data, char *err, size_t errlen);

#endif
