/* blas_core.h: which OpenBLAS core runs, and which one should. */
#ifndef CAPSRUN_BLAS_CORE_H
#define CAPSRUN_BLAS_CORE_H
#include <stddef.h>
#include "cpu_features.h"

/* OpenBLAS cores: 1 when `core` (openblas_get_corename) is one whose kernels
 * use AVX2 or better; the rest are generic fallbacks on a modern CPU */
int blas_core_is_modern(const char *core);
/* how wide a core's kernels are: 2 for AVX-512, 1 for AVX2, 0 for generic */
int blas_core_rank(const char *core);
/* the OpenBLAS core to ask for on this CPU (SkylakeX, Haswell, Zen), or NULL
 * when the CPU has neither AVX-512 nor AVX2 + FMA */
const char *blas_core_for(const CpuFeatures *f);

/* "OpenBLAS 0.3.21, core SkylakeX (<origin>), 2 threads; CPU: AVX-512 + AMX-BF16"
 * into buf; origin says who chose the core */
void blas_core_describe(const char *origin, char *buf, size_t size);

#endif
