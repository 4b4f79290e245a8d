/* fuzz_idx.c: libFuzzer target for the IDX reader (plain and gzip input).
 * The reader takes a path, so each input goes through a file in /dev/shm. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>
#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/dev/shm/capsrun-fuzz-idx-%d", (int)getpid());
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  IdxData d;
  char err[256];
  if (idx_read(path, &d, err, sizeof err) == 0) {
    /* a success must be self-consistent */
    size_t n = 1;
    for (int i = 0; i < d.ndim; i++) n *= d.shape[i];
    if (n != d.numel) abort();
    volatile unsigned char sink = d.numel ? d.bytes[d.numel - 1] : 0;
    (void)sink;
    free(d.bytes);
  }
  unlink(path);
  return 0;
}
