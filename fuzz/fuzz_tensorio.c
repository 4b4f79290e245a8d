/* fuzz_tensorio.c: libFuzzer target for the tensor-file reader: header,
 * entries and data, read from memory through fmemopen. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include "tensorio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  FILE *f = fmemopen((void *)data, size, "rb");
  if (!f) return 0;
  char err[320];
  uint32_t count;
  if (tio_read_header(f, &count, err, sizeof err) == 0) {
    for (uint32_t i = 0; i < count; i++) {
      TioEntry e;
      if (tio_read_entry(f, &e, err, sizeof err)) break;
      /* the reader promised the data fits in what is left of the input */
      if (e.numel > size / sizeof(float)) abort();
      float *buf = malloc((e.numel ? e.numel : 1) * sizeof(float));
      if (!buf) break;
      int rc = tio_read_data(f, &e, buf, err, sizeof err);
      free(buf);
      if (rc) break;
    }
  }
  fclose(f);
  return 0;
}
