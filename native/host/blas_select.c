/* blas_select.c: never run on OpenBLAS's generic kernels silently. The
 * re-executed process learns through CAPSRUN_BLAS_FALLBACK what OpenBLAS had
 * picked, then clears both variables so that processes it starts decide
 * for themselves. CAPSRUN_BLAS_SIMULATE_FALLBACK=1 treats a set
 * OPENBLAS_CORETYPE as OpenBLAS's own choice: the specs use it to walk this
 * path on CPUs that OpenBLAS recognises. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cblas.h>
#include "blas_core.h"
#include "blas_select.h"

static void after_reexec(const char *picked, char *origin, size_t size) {
  const char *core = openblas_get_corename();
  snprintf(origin, size, "chosen by capsrun: OpenBLAS picked %s", picked);
  if (!blas_core_is_modern(core))
    fprintf(stderr, "capsrun: warning: OPENBLAS_CORETYPE=%s did not take, OpenBLAS still runs its "
            "generic %s kernels (about 3.5x slower)\n", getenv("OPENBLAS_CORETYPE"), core);
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv("CAPSRUN_BLAS_FALLBACK");
}

void blas_select_core(char **argv, char *origin, size_t size) {
  const char *picked = getenv("CAPSRUN_BLAS_FALLBACK");
  if (picked) { after_reexec(picked, origin, size); return; }
  const char *simulate = getenv("CAPSRUN_BLAS_SIMULATE_FALLBACK");
  int simulated = simulate && strcmp(simulate, "1") == 0;
  unsetenv("CAPSRUN_BLAS_SIMULATE_FALLBACK");
  const char *core = openblas_get_corename();
  CpuFeatures f;
  cpu_features_detect(&f);
  const char *want = blas_core_for(&f);
  if (getenv("OPENBLAS_CORETYPE") && !simulated) {
    /* the user's choice wins, but a narrower core than the CPU runs is named:
     * on an AVX-512 CPU, Haswell's kernels ran sgemm 1.7x slower (docs/performance.md) */
    if (want && blas_core_rank(core) < blas_core_rank(want))
      snprintf(origin, size, "set by OPENBLAS_CORETYPE; this CPU could run %s", want);
    else
      snprintf(origin, size, "set by OPENBLAS_CORETYPE");
    return;
  }
  if (blas_core_is_modern(core) || !want) {
    snprintf(origin, size, "chosen by OpenBLAS");
    return;
  }
  char picked_copy[64];
  snprintf(picked_copy, sizeof picked_copy, "%s", core);
  if (setenv("OPENBLAS_CORETYPE", want, 1) == 0 &&
      setenv("CAPSRUN_BLAS_FALLBACK", picked_copy, 1) == 0)
    execv("/proc/self/exe", argv);
  fprintf(stderr, "capsrun: warning: OpenBLAS runs its generic %s kernels on this CPU (about 3.5x "
          "slower); restarting with OPENBLAS_CORETYPE=%s failed (%s): set it yourself\n",
          picked_copy, want, strerror(errno));
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv("CAPSRUN_BLAS_FALLBACK");
  snprintf(origin, size, "chosen by OpenBLAS, generic");
}
