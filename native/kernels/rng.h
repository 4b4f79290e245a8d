/* rng.h: a small seeded generator (xoshiro256**), whose whole state is four
 * 64-bit words, so that it can be saved with a checkpoint and restored. */
#ifndef CAPSRUN_RNG_H
#define CAPSRUN_RNG_H
#include <stdint.h>

typedef struct Rng { uint64_t s[4]; } Rng;

void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_next(Rng *r);
double rng_uniform(Rng *r);          /* [0, 1) */
double rng_normal(Rng *r);           /* N(0, 1), Box-Muller */
uint64_t rng_below(Rng *r, uint64_t n); /* uniform in [0, n), n > 0 */

#endif
