/* fuzz_norb.c: libFuzzer target for the NORB binary matrix reader (plain
 * and gzip input). The reader takes a path, so each input goes through a
 * file in /dev/shm. Values are read in chunks until the declared count or
 * the first error, then the end of the file is checked. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>
#include "fuzz_file.h"
#include "norb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[FUZZ_PATH_MAX];
  if (fuzz_write_input("norb", data, size, path)) return 0;
  NorbFile nf;
  char err[256];
  if (norb_open(path, &nf, err, sizeof err) == 0) {
    size_t n = 1;
    for (int i = 0; i < nf.ndim; i++) n *= nf.shape[i];
    if (n != nf.numel || nf.ndim < 1 || nf.ndim > NORB_MAXDIM) abort();   /* a header must be self-consistent */
    int32_t chunk[256];
    size_t done = 0;
    int rc = 0;
    while (done < nf.numel && rc == 0) {
      size_t k = nf.numel - done < 256 ? nf.numel - done : 256;
      rc = norb_read(&nf, chunk, k, err, sizeof err);
      if (rc == 0 && !nf.is_int)
        for (size_t i = 0; i < k; i++) if (chunk[i] < 0 || chunk[i] > 255) abort();
      done += k;
    }
    norb_close(&nf, rc == 0, err, sizeof err);
  }
  unlink(path);
  return 0;
}
