/* atomic_file.c: temporary file, fsync, rename. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "atomic_file.h"

int atomic_open(AtomicFile *a, const char *path, char *err, size_t errlen) {
  size_t len = strlen(path);
  a->f = NULL;
  a->path = path;
  a->tmp = malloc(len + 12);
  if (!a->tmp) { snprintf(err, errlen, "out of memory"); return -1; }
  memcpy(a->tmp, path, len);
  memcpy(a->tmp + len, ".tmp.XXXXXX", 12);
  int fd = mkstemp(a->tmp);
  if (fd < 0) {
    snprintf(err, errlen, "cannot create a file beside %s: %s", path, strerror(errno));
    free(a->tmp);
    return -1;
  }
  mode_t mask = umask(0);   /* mkstemp makes 0600; give the usual 0666 & ~umask */
  umask(mask);
  if (fchmod(fd, 0666 & ~mask) != 0 || !(a->f = fdopen(fd, "wb"))) {
    snprintf(err, errlen, "cannot write beside %s: %s", path, strerror(errno));
    close(fd);
    unlink(a->tmp);
    free(a->tmp);
    return -1;
  }
  return 0;
}

int atomic_commit(AtomicFile *a, int failed, char *err, size_t errlen) {
  int saved = failed ? errno : 0;   /* the failed write's reason, when the caller kept it */
  int bad = failed;
  errno = 0;
  if (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0) { bad = 1; if (!saved) saved = errno; }
  if (fclose(a->f) != 0) { bad = 1; if (!saved) saved = errno; }
  if (!bad && rename(a->tmp, a->path) != 0) { bad = 1; saved = errno; }
  if (bad) {
    unlink(a->tmp);
    snprintf(err, errlen, "writing %s failed: %s", a->path,
             saved ? strerror(saved) : "write error (is the disk full?)");
  }
  free(a->tmp);
  a->tmp = NULL;
  return bad ? -1 : 0;
}
