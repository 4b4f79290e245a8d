/* blas_core.c: the OpenBLAS core for this CPU. Debian's OpenBLAS 0.3.21
 * picks its core from a table of CPU model numbers and falls back to its
 * generic SSE3 kernels (Prescott) on CPUs newer than the table, about 3.5x
 * slower; the feature flags say which kernels would run. */
#include <stdio.h>
#include <string.h>
#include <cblas.h>
#include "blas_core.h"

/* 2: AVX-512 kernels, 1: AVX2, 0: generic (any core not listed) */
int blas_core_rank(const char *core) {
  static const struct { const char *name; int rank; } cores[] = {
    {"Haswell", 1}, {"Zen", 1}, {"SkylakeX", 2}, {"Cooperlake", 2}, {"SapphireRapids", 2}};
  for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++)
    if (strcmp(core, cores[i].name) == 0) return cores[i].rank;
  return 0;
}

int blas_core_is_modern(const char *core) { return blas_core_rank(core) > 0; }

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
