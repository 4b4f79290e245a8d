/* cpu_features.h: what the CPU can run, read from CPUID and XGETBV (feature
 * flags, never model numbers), so that a CPU newer than a library's model
 * table is still recognised. */
#ifndef CAPSRUN_CPU_FEATURES_H
#define CAPSRUN_CPU_FEATURES_H
#include <stddef.h>

typedef struct CpuFeatures {
  int amd;          /* AuthenticAMD or HygonGenuine */
  int avx2_fma;     /* AVX2 and FMA3, with the OS saving YMM state */
  int avx512;       /* AVX-512 F, BW, DQ and VL, with the OS saving ZMM state */
  int avx512_bf16;  /* AVX512_BF16 dot products */
  int amx_bf16;     /* AMX tiles with BF16 (the OS must still grant the tile state) */
} CpuFeatures;

void cpu_features_detect(CpuFeatures *f);
/* "AVX-512 + AVX512-BF16 + AMX-BF16", "AVX2 + FMA", "SSE only", ... into buf */
void cpu_features_describe(const CpuFeatures *f, char *buf, size_t size);
/* 1 when bf16 GEMMs run natively (AMX-BF16 or AVX512-BF16) */
int cpu_features_native_bf16(const CpuFeatures *f);

/* The calling thread's handling of denormal floats (x86: MXCSR's FTZ and
 * DAZ bits, per thread; threads created later inherit their creator's).
 * Flushing matters for speed: late in training Adam's second moments of
 * near-zero gradients fall into the denormal range, where each operation
 * costs about a hundred cycles, and a step became 1.8x slower. Returns 1
 * where the CPU has such a mode, 0 elsewhere (nothing changes). */
int cpu_set_flush_denormals(int on);
int cpu_flush_denormals(void);   /* 1 when the calling thread flushes */

#endif
