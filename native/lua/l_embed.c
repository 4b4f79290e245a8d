/* l_embed.c: Lua binding of t-SNE (kernels/tsne.c), for figures of
 * capsule activations. */
#include <math.h>
#include <stdint.h>
#include "binding.h"
#include "kernels.h"

#define TSNE_MAX_POINTS 5000   /* two n x n float32 matrices: 200 MB */

/* an uninitialised, garbage-collected scratch buffer of count elements of size bytes */
static void *scratch(lua_State *L, size_t count, size_t size) {
  if (count > SIZE_MAX / size) luaL_error(L, "tsne: scratch of %zu elements too large", count);
  return lua_newuserdatauv(L, count * size, 0);
}

/* tsne(x (n, d), y (n, m), perplexity, iterations, learning_rate,
 *      exaggeration, exaggeration_iterations) -> kl, unconverged:
 * y, the start (small random values), becomes the embedding in place */
static int l_tsne(lua_State *L) {
  Tensor *x = lt_check(L, 1), *y = lt_check(L, 2);
  lt_check_ndim(L, 1, x, 2);
  lt_check_ndim(L, 2, y, 2);
  size_t n = x->shape[0], d = x->shape[1], m = y->shape[1];
  if (n < 4 || n > TSNE_MAX_POINTS)   /* perplexity >= 1 needs (n - 1) / 3 >= 1 */
    luaL_argerror(L, 1, lua_pushfstring(L, "between 4 and %d points (rows) expected, got %d", TSNE_MAX_POINTS, (int)n));
  if (d < 1) luaL_argerror(L, 1, "points of at least one dimension expected");
  if (y->shape[0] != n || m < 1 || m > 3)
    luaL_argerror(L, 2, lua_pushfstring(L, "a start of shape (%d, 1..3) expected, got (%d, %d)", (int)n,
                                        (int)y->shape[0], (int)m));
  double perplexity = luaL_checknumber(L, 3);
  if (!(perplexity >= 1 && perplexity <= (double)(n - 1) / 3))
    luaL_argerror(L, 3, lua_pushfstring(L, "a perplexity in [1, (points - 1) / 3] = [1, %f] expected, got %f",
                                        (double)(n - 1) / 3, perplexity));
  TsneSettings s;
  s.iterations = lt_check_size(L, 4, 1, 100000);
  s.learning_rate = luaL_checknumber(L, 5);
  s.exaggeration = luaL_checknumber(L, 6);
  s.exaggeration_iterations = lt_check_size(L, 7, 0, 100000);
  if (!(s.learning_rate > 0 && s.learning_rate < 1e6))
    luaL_argerror(L, 5, "a learning rate in (0, 1e6) expected");
  if (!(s.exaggeration >= 1 && s.exaggeration <= 1000))
    luaL_argerror(L, 6, "an exaggeration in [1, 1000] expected");
  for (size_t k = 0; k < n * d; k++)
    if (!isfinite(x->data[k])) luaL_argerror(L, 1, "finite values expected (a NaN or infinity found)");
  float *P = scratch(L, n * n, sizeof(float)), *num = scratch(L, n * n, sizeof(float));
  float *update = scratch(L, n * m, sizeof(float)), *gains = scratch(L, n * m, sizeof(float));
  double *rowsum = scratch(L, n, sizeof(double));
  size_t unconverged = tsne_affinities(x->data, n, d, perplexity, P);
  double kl = tsne_embed(P, n, m, &s, y->data, update, gains, num, rowsum);
  lua_pushnumber(L, kl);
  lua_pushinteger(L, (lua_Integer)unconverged);
  return 2;
}

static const luaL_Reg embed_funcs[] = {
  {"tsne", l_tsne},
  {NULL, NULL}
};

void lembed_register(lua_State *L) {
  luaL_setfuncs(L, embed_funcs, 0);
}
