/* bf16.h: float32 <-> bfloat16 (the top 16 bits of a float32), rounding to
 * nearest even; NaN stays NaN. Branch-free so the loops vectorise. */
#ifndef CAPSRUN_BF16_H
#define CAPSRUN_BF16_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t bf16_from_f32(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  uint32_t nan = (u & 0x7fffffffu) > 0x7f800000u;
  return (uint16_t)(nan ? ((u >> 16) | 0x40u) : rounded);
}

static inline float bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* y[i] = bf16(x[i]) for n values */
void bf16_from_f32_array(size_t n, const float *x, uint16_t *y);

#endif
