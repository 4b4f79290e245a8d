/* fuzz_matfile.c: libFuzzer target for the MAT-file reader (plain and
 * zlib-compressed elements). The reader takes a path, so each input goes
 * through a file in /dev/shm. Both of SVHN's variables are looked up; an
 * array read must be self-consistent. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>
#include "fuzz_file.h"
#include "matfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[FUZZ_PATH_MAX];
  if (fuzz_write_input("mat", data, size, path)) return 0;
  const char *names[2] = {"X", "y"};
  for (int k = 0; k < 2; k++) {
    MatArray a;
    char err[256];
    if (mat_read(path, names[k], &a, err, sizeof err) == 0) {
      size_t n = 1;
      for (int i = 0; i < a.ndim; i++) n *= a.dims[i];
      if (n != a.numel || a.ndim < 2 || a.ndim > MAT_MAXDIM || !a.data) abort();
      volatile float sum = 0;
      for (size_t i = 0; i < a.numel; i++) sum += a.data[i];   /* every value was written */
      free(a.data);
    }
  }
  unlink(path);
  return 0;
}
