/* fuzz_idx.c: libFuzzer target for the IDX reader (plain and gzip input).
 * The reader takes a path, so each input goes through a file in /dev/shm. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>
#include "fuzz_file.h"
#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[FUZZ_PATH_MAX];
  if (fuzz_write_input("idx", data, size, path)) return 0;
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
