/* omp_spin.c: libgomp's threads spin in a barrier up to 300,000 times
 * before they sleep, and OpenBLAS's own thread pool spins beside them on
 * the same cores. In a step of many small ops that alternate between the
 * two (the stacked capsule autoencoder: hundreds of tape ops between
 * GEMMs), each pool's spinning takes the core that the other's work needs:
 * its step ran slower at 2 threads than at 1 (750 against 686 ms); with
 * GOMP_SPINCOUNT=1000, 536 ms, CapsNet's step unchanged
 * (docs/performance.md). libgomp reads its environment when it is loaded,
 * before main, hence the restart, done once (the restarted process finds
 * the variable set) and together with blas_select's when both apply. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "omp_spin.h"

int omp_spin_setenv(void) {
  if (getenv("GOMP_SPINCOUNT") || getenv("OMP_WAIT_POLICY")) return 0;
  return setenv("GOMP_SPINCOUNT", "1000", 1) == 0;
}

void omp_spin_restart(char **argv) {
  execv("/proc/self/exe", argv);
  fprintf(stderr, "capsrun: warning: restarting with GOMP_SPINCOUNT=1000 failed (%s); running with "
          "libgomp's default spinning (set GOMP_SPINCOUNT yourself to skip the restart)\n", strerror(errno));
  unsetenv("GOMP_SPINCOUNT");
}
