/* fuzz_file.h: the readers take a path, so a fuzz target writes each input
 * to a file of its own process in /dev/shm (memory, not the disk), reads it
 * back through the reader, then unlinks it. */
#ifndef CAPSRUN_FUZZ_FILE_H
#define CAPSRUN_FUZZ_FILE_H
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#define FUZZ_PATH_MAX 64

/* writes data to /dev/shm/capsrun-fuzz-<tag>-<pid>, its name into path; 0, or -1 when it cannot */
static inline int fuzz_write_input(const char *tag, const uint8_t *data, size_t size, char path[FUZZ_PATH_MAX]) {
  snprintf(path, FUZZ_PATH_MAX, "/dev/shm/capsrun-fuzz-%s-%d", tag, (int)getpid());
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t wrote = fwrite(data, 1, size, f);
  if (fclose(f) == 0 && wrote == size) return 0;
  unlink(path);
  return -1;
}

#endif
