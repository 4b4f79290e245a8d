/* tensorio.h: capsrun's file of named tensors and byte strings, used for
 * checkpoints (docs/checkpoint-format.md). Nothing in it is ever executed.
 * Layout, little-endian:
 *   "CAPSTNS1"  u32 version (2)  u32 count  u32 header_bytes
 *   header (header_bytes): per entry  u8 kind (0 float32, 1 bytes)
 *       u32 name length, name, u32 ndim, u64 dims[ndim], u32 crc32 of the data
 *   u32 crc32 of (count, header_bytes, header)
 *   data of each entry in order (float32 values or raw bytes)
 * The reader checks the header CRC, every size against the file size and
 * every data CRC, before trusting anything. */
#ifndef CAPSRUN_TENSORIO_H
#define CAPSRUN_TENSORIO_H
#include <stdio.h>
#include <stdint.h>
#include "tensor.h"

#define TENSORIO_VERSION 2
#define TENSORIO_MAX_NAME 256
#define TENSORIO_MAX_ENTRIES 100000
#define TENSORIO_MAX_HEADER (16u << 20)

enum { TIO_FLOAT32 = 0, TIO_BYTES = 1 };

typedef struct TioEntry {
  char name[TENSORIO_MAX_NAME + 1];
  int kind, ndim;
  size_t shape[CAPS_MAXDIM];
  size_t numel;          /* floats, or bytes */
  uint32_t crc;
  const void *data;      /* for writing */
} TioEntry;

/* Writes the entries (with data) to f. 0, or -1 on a write error. */
int tio_write(FILE *f, TioEntry *entries, uint32_t count);

/* Reads and checks the header: *entries is malloc'ed (count of them), with
 * the data sizes checked to add up to the rest of the file exactly.
 * 0, or -1 with a message in err. */
int tio_read_header(FILE *f, TioEntry **entries, uint32_t *count, char *err, size_t errlen);
/* Reads the next entry's data into buf (numel floats or bytes), checking its CRC. */
int tio_read_data(FILE *f, const TioEntry *e, void *buf, char *err, size_t errlen);
size_t tio_data_bytes(const TioEntry *e);

#endif
