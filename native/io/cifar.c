/* cifar.c: CIFAR-10 binary batches, read in records, checked as they come. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "cifar.h"

int cifar_count(const char *path, size_t *n, char *err, size_t errlen) {
  struct stat st;
  if (stat(path, &st) != 0) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  if (!S_ISREG(st.st_mode)) { snprintf(err, errlen, "%s is not a regular file", path); return -1; }
  size_t bytes = (size_t)st.st_size;
  if (bytes == 0 || bytes % CIFAR_RECORD != 0) {
    snprintf(err, errlen, "%s: %zu bytes is not a whole number of 3,073-byte CIFAR-10 records "
             "(a label byte and 32x32x3 pixels each)", path, bytes);
    return -1;
  }
  *n = bytes / CIFAR_RECORD;
  return 0;
}

int cifar_read(const char *path, size_t n, size_t classes, float *images, float *labels,
               char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) { snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno)); return -1; }
  unsigned char rec[CIFAR_RECORD];
  const size_t pixels = CIFAR_RECORD - 1;
  for (size_t i = 0; i < n; i++) {
    if (fread(rec, 1, CIFAR_RECORD, f) != CIFAR_RECORD) {
      snprintf(err, errlen, "%s: record %zu is cut short (the file changed while it was read?)", path, i + 1);
      fclose(f);
      return -1;
    }
    if (rec[0] >= classes) {
      snprintf(err, errlen, "%s: record %zu has label %d, not a class in [0, %zu]", path, i + 1,
               rec[0], classes - 1);
      fclose(f);
      return -1;
    }
    labels[i] = rec[0];
    for (size_t p = 0; p < pixels; p++) images[i * pixels + p] = rec[1 + p] * (1.0f / 255.0f);   /* as IDX: bytes x (1/255) */
  }
  fclose(f);
  return 0;
}
