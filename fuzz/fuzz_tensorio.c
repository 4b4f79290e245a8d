/* fuzz_tensorio.c: libFuzzer target for the tensor-file reader (header,
 * then every entry's data), reading from memory through fmemopen. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include "tensorio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  FILE *f = fmemopen((void *)data, size, "rb");
  if (!f) return 0;
  char err[400];
  uint32_t count;
  TioEntry *es;
  if (tio_read_header(f, &es, &count, err, sizeof err) == 0) {
    for (uint32_t i = 0; i < count; i++) {
      size_t n = tio_data_bytes(&es[i]);
      if (n > size) abort();   /* the reader promised the data fits the input */
      void *buf = malloc(n ? n : 1);
      if (!buf) break;
      int rc = tio_read_data(f, &es[i], buf, err, sizeof err);
      free(buf);
      if (rc) break;
    }
    free(es);
  }
  fclose(f);
  return 0;
}
