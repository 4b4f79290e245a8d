/* cpu_features.c: CPUID feature flags, checked against what the OS saves
 * (XGETBV), so that a CPU newer than any model table is still recognised. */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
#include "cpu_features.h"

static unsigned long long xgetbv0(void) {
  unsigned int lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((unsigned long long)hi << 32) | lo;
}

void cpu_features_detect(CpuFeatures *f) {
  memset(f, 0, sizeof *f);
  unsigned int a, b, c, d, max;
  if (!__get_cpuid(0, &max, &b, &c, &d)) return;
  f->amd = (b == 0x68747541u /* "Auth" */ || b == 0x6f677948u /* "Hygo" */);
  __cpuid(1, a, b, c, d);
  int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1;
  if (!osxsave || max < 7) return;
  unsigned long long xcr0 = xgetbv0();
  int os_avx = (xcr0 & 0x6) == 0x6, os_avx512 = (xcr0 & 0xe6) == 0xe6;
  int os_amx = (xcr0 & 0x60000) == 0x60000;
  unsigned int b7, c7, d7, a71 = 0, t;
  __cpuid_count(7, 0, a, b7, c7, d7);
  unsigned int sub_leaves = a;
  if (sub_leaves >= 1) __cpuid_count(7, 1, a71, t, t, t);
  f->avx2_fma = os_avx && fma && ((b7 >> 5) & 1);
  unsigned int need512 = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31); /* F DQ BW VL */
  f->avx512 = os_avx512 && (b7 & need512) == need512;
  f->avx512_bf16 = f->avx512 && ((a71 >> 5) & 1);
  f->amx_bf16 = os_amx && ((d7 >> 22) & 1) && ((d7 >> 24) & 1);
}

void cpu_features_describe(const CpuFeatures *f, char *buf, size_t size) {
  snprintf(buf, size, "%s%s%s",
           f->avx512 ? "AVX-512" : f->avx2_fma ? "AVX2 + FMA" : "no AVX2",
           f->avx512_bf16 ? " + AVX512-BF16" : "", f->amx_bf16 ? " + AMX-BF16" : "");
}

int cpu_features_native_bf16(const CpuFeatures *f) { return f->amx_bf16 || f->avx512_bf16; }

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define MXCSR_FTZ_DAZ 0x8040u   /* flush-to-zero (bit 15), denormals-are-zero (bit 6) */

int cpu_set_flush_denormals(int on) {
  unsigned csr = _mm_getcsr();
  _mm_setcsr(on ? csr | MXCSR_FTZ_DAZ : csr & ~MXCSR_FTZ_DAZ);
  return 1;
}

int cpu_flush_denormals(void) { return (_mm_getcsr() & MXCSR_FTZ_DAZ) == MXCSR_FTZ_DAZ; }
#else
int cpu_set_flush_denormals(int on) { (void)on; return 0; }
int cpu_flush_denormals(void) { return 0; }
#endif
