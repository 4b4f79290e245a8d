/* blas_core.c: the OpenBLAS core for this CPU. Debian's OpenBLAS 0.3.21
 * picks its core from a table of CPU model numbers and falls back to its
 * generic SSE3 kernels (Prescott) on CPUs newer than the table, about 3.5x
 * slower; the feature flags say which kernels would run. */
#include <stdio.h>
#include <string.h>
#include <cblas.h>
#include "blas_core.h"

int blas_core_is_modern(const char *core) {
  static const char *const modern[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake",
                                       "SapphireRapids", NULL};
  for (int i = 0; modern[i]; i++)
    if (strcmp(core, modern[i]) == 0) return 1;
  return 0;
}

/* 2: AVX-512 kernels, 1: AVX2, 0: generic */
int blas_core_rank(const char *core) {
  static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
  for (int i = 0; avx512[i]; i++)
    if (strcmp(core, avx512[i]) == 0) return 2;
  return blas_core_is_modern(core) ? 1 : 0;
}

const char *blas_core_for(const CpuFeatures *f) {
  if (f->avx512) return "SkylakeX";
  if (f->avx2_fma) return f->amd ? "Zen" : "Haswell";
  return NULL;
}

void blas_core_describe(const char *origin, char *buf, size_t size) {
  CpuFeatures f;
  char isa[96];
  cpu_features_detect(&f);
  cpu_features_describe(&f, isa, sizeof isa);
  const char *config = openblas_get_config();
  const char *version = strstr(config, "OpenBLAS ") == config ? config + 9 : "";
  size_t vlen = strcspn(version, " ");
  snprintf(buf, size, "OpenBLAS %.*s, core %s (%s), %d threads; CPU: %s", (int)vlen, version,
           openblas_get_corename(), origin, openblas_get_num_threads(), isa);
}
