/* exp_nonpos.h: e^x for x <= 0, the shifted logits of a softmax or a
 * mixture, branch-free so that a loop over contiguous values vectorises
 * (glibc's expf is a call per value). Cephes' expf: n = round(x log2 e),
 * r = x - n ln 2 in two parts (Cody-Waite), a degree-6 polynomial for e^r,
 * 2^n put into the exponent bits; within 1 ulp of expf over [-87, 0]
 * (every 7th float checked). Below -87 it returns e^-87 (about 1.6e-38),
 * not a smaller number or 0; NaN gives NaN. Dynamic routing's softmax
 * (caps_route.c) and the image mixture use it. */
#ifndef CAPSRUN_EXP_NONPOS_H
#define CAPSRUN_EXP_NONPOS_H
#include <stdint.h>
#include <string.h>

static inline float exp_nonpos(float x_in) {
  const float x = x_in >= -87.0f ? x_in : -87.0f;   /* NaN too: n below must be an integer in range */
  float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;   /* n in [-126, 0]: a normal power of two */
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale + (x_in - x_in);   /* a NaN stays NaN (for the loss guards) */
}

#endif
