/* l_precision.c: the precision of the convolution GEMMs, a setting of the
 * Lua state (registry), and the oneDNN context that runs them, created on
 * first use and freed with the state.
 *   f32       float32; oneDNN or OpenBLAS per product where the CPU has
 *             AVX-512 and capsrun has oneDNN (matmul_f32_path), else OpenBLAS
 *   f32-blas  float32, OpenBLAS only (the first round's path)
 *   bf16      bf16 operands, float32 accumulation, through oneDNN: native on
 *             AMX-BF16 or AVX512-BF16, emulated on plain AVX-512
 *   auto      bf16 where the CPU runs it natively, else f32 */
#include <string.h>
#include "binding.h"
#include "cpu_features.h"
#include "kernels.h"
#include "bf16.h"

#define PRECISION_KEY "capsrun.precision"
#define CTX_KEY "capsrun.matmul_ctx"
#define CTX_MT "capsrun.MatmulCtx"

static int ctx_gc(lua_State *L) {
  MatmulCtx **box = (MatmulCtx **)luaL_checkudata(L, 1, CTX_MT);
  matmul_ctx_free(*box);
  *box = NULL;
  return 0;
}

/* the state's oneDNN context, made on first use; raises when there is none */
static MatmulCtx *matmul_ctx(lua_State *L, const char *fn) {
  lua_getfield(L, LUA_REGISTRYINDEX, CTX_KEY);
  MatmulCtx **box = (MatmulCtx **)luaL_testudata(L, -1, CTX_MT);
  lua_pop(L, 1);
  if (box && *box) return *box;
  const char *err = NULL;
  MatmulCtx *ctx = matmul_ctx_new(&err);
  if (!ctx) luaL_error(L, "%s: %s", fn, err);
  box = (MatmulCtx **)lua_newuserdatauv(L, sizeof *box, 0);
  *box = ctx;
  if (luaL_newmetatable(L, CTX_MT)) {
    lua_pushcfunction(L, ctx_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, CTX_KEY);
  return ctx;
}

static const char *current(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, PRECISION_KEY);
  const char *p = lua_tostring(L, -1);
  lua_pop(L, 1);   /* the registry keeps the (interned) string alive */
  return p ? p : "f32";
}

void lprecision_conv_gemm(lua_State *L, const char *fn, ConvGemm *g) {
  const char *p = current(L);
  CpuFeatures f;
  g->bf16 = strcmp(p, "bf16") == 0;
  g->ctx = NULL;
  if (g->bf16) { g->ctx = matmul_ctx(L, fn); return; }
  if (strcmp(p, "f32") != 0 || !matmul_have_dnnl()) return;
  cpu_features_detect(&f);
  if (f.avx512) g->ctx = matmul_ctx(L, fn);
}

/* set_precision("f32" | "f32-blas" | "bf16" | "auto") -> the precision now in use */
static int l_set_precision(lua_State *L) {
  static const char *const names[] = {"f32", "f32-blas", "bf16", "auto", NULL};
  int which = luaL_checkoption(L, 1, NULL, names);
  CpuFeatures f;
  cpu_features_detect(&f);
  const char *p = names[which];
  if (which == 3) p = matmul_have_dnnl() && cpu_features_native_bf16(&f) ? "bf16" : "f32";
  if (strcmp(p, "bf16") == 0) {
    if (!matmul_have_dnnl())
      return luaL_error(L, "set_precision: bf16 needs oneDNN, and capsrun was built without it "
                        "(install libdnnl-dev and rebuild)");
    if (!f.avx512)
      return luaL_error(L, "set_precision: bf16 needs a CPU with AVX-512 (natively with AMX-BF16 "
                        "or AVX512-BF16); this one has none");
    matmul_ctx(L, "set_precision");
  }
  lua_pushstring(L, p);
  lua_setfield(L, LUA_REGISTRYINDEX, PRECISION_KEY);
  lua_pushstring(L, p);
  return 1;
}

/* precision() -> name, how ("native", "emulated" or nil for f32), oneDNN built in */
static int l_precision(lua_State *L) {
  const char *p = current(L);
  CpuFeatures f;
  cpu_features_detect(&f);
  lua_pushstring(L, p);
  if (strcmp(p, "bf16") == 0) lua_pushstring(L, cpu_features_native_bf16(&f) ? "native" : "emulated");
  else lua_pushnil(L);
  lua_pushboolean(L, matmul_have_dnnl());
  return 3;
}

/* bf16_round(t) -> a new tensor: every value of t rounded to bfloat16 (to
 * nearest, ties to even) and back, as the bf16 GEMMs see their operands */
static int l_bf16_round(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  Tensor *r = lt_push_new(L, t->ndim, t->shape);
  for (size_t i = 0; i < t->numel; i++) r->data[i] = bf16_to_f32(bf16_from_f32(t->data[i]));
  return 1;
}

static const luaL_Reg precision_funcs[] = {
  {"set_precision", l_set_precision}, {"precision", l_precision}, {"bf16_round", l_bf16_round}, {NULL, NULL}};

void lprecision_register(lua_State *L) { luaL_setfuncs(L, precision_funcs, 0); }
