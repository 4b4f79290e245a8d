/* atomic_file.h: write a file so that readers see the old one or the whole
 * new one, never a part: temporary file in the same folder, fsync, rename.
 * A failed or abandoned write leaves no file behind. */
#ifndef CAPSRUN_ATOMIC_FILE_H
#define CAPSRUN_ATOMIC_FILE_H
#include <stdio.h>

typedef struct AtomicFile { FILE *f; char *tmp; const char *path; } AtomicFile;

/* 0 and a.f open for writing, or -1 with a message in err */
int atomic_open(AtomicFile *a, const char *path, char *err, size_t errlen);
/* flushes, syncs and renames into place; `failed` non-zero (an earlier write
 * error) abandons instead. 0, or -1 with a message in err. */
int atomic_commit(AtomicFile *a, int failed, char *err, size_t errlen);

#endif
