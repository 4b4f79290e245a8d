/* binding.h: what the Lua bindings share. Bindings check every argument, then
 * call a pure kernel; they are the only code that raises Lua errors. */
#ifndef CAPSRUN_BINDING_H
#define CAPSRUN_BINDING_H

#include <lua.h>
#include <lauxlib.h>
#include "tensor.h"
#include "rng.h"
#include "kernels.h"

#define TENSOR_MT "capsrun.Tensor"
#define RNG_MT "capsrun.Generator"
/* registry: who chose the OpenBLAS core (set by the host; absent in lua5.4) */
#define BLAS_ORIGIN_KEY "capsrun.blas_origin"

Tensor *lt_check(lua_State *L, int arg);
Tensor *lt_push_new(lua_State *L, int ndim, const size_t *shape); /* zero-filled */
/* Pushes a tensor that takes over data, a malloc'd buffer of capacity >= the
 * shape's numel floats (NULL or capacity 0 for an empty tensor): a reader's
 * result, handed to Lua without a copy. ndim <= CAPS_MAXDIM (the caller checks). */
Tensor *lt_push_adopted(lua_State *L, float *data, size_t capacity, int ndim, const size_t *shape);
/* Returns a tensor of the given shape for results: the tensor at `arg` when it
 * owns enough memory (its shape is reset, contents kept), else a new zeroed one.
 * The result is pushed on the stack. */
Tensor *lt_push_reuse(lua_State *L, int arg, int ndim, const size_t *shape);
/* Raise "bad argument #arg to 'fn' (tensor of shape (..) expected, got (..))".
 * A 0 in `shape` matches any size. */
void lt_check_shape(lua_State *L, int arg, const Tensor *t, int ndim,
                    const size_t *shape);
void lt_check_ndim(lua_State *L, int arg, const Tensor *t, int ndim);
/* Reads dims given either as integers from `first` on, or as one table. */
int lt_read_shape(lua_State *L, int first, size_t *shape);
size_t lt_check_size(lua_State *L, int arg, lua_Integer lo, lua_Integer hi);
Rng *lrng_check(lua_State *L, int arg);
/* ws[name] (ws a table at stack index ws) as a tensor of this shape, reused
 * when it owns enough memory; not left on the stack */
Tensor *lws_tensor(lua_State *L, int ws, const char *name, int ndim, const size_t *shape);
/* ws[name] as saved by a forward call; raises "<fn>: ... call forward first" */
Tensor *lws_saved(lua_State *L, int ws, const char *name, const char *fn,
                  int ndim, const size_t *shape);

/* the state's precision as the convolution's GEMM settings; fn names the
 * caller in errors */
void lprecision_conv_gemm(lua_State *L, const char *fn, ConvGemm *g);
/* pushes ws[name] (a result kept in the workspace table at ws); returns 1 */
int lws_push(lua_State *L, int ws, const char *name);

int luaopen_capsrun_tensor(lua_State *L);  /* fills the module table at -1 */
void lops_register(lua_State *L);           /* adds ops to module and methods */
void lnn_register(lua_State *L);            /* linear layer, activations */
void lconv_register(lua_State *L);          /* convolution */
void lpool_register(lua_State *L);          /* padding, max pooling, dropout */
void lprecision_register(lua_State *L);     /* set_precision, precision */
void lcapsules_register(lua_State *L);      /* capsule kernels */
void lmatcaps_register(lua_State *L);       /* matrix capsules, EM routing */
void lloss_register(lua_State *L);          /* losses */
void ltape_register(lua_State *L);          /* automatic differentiation's ops */
void lscae_register(lua_State *L);          /* SCAE's fused tape kernels: template warp */
void loptim_register(lua_State *L);         /* Adam */
void ldata_register(lua_State *L);          /* idx, shifts, tensor files */
void lnorb_register(lua_State *L);          /* smallNORB files */
void lmat_register(lua_State *L);           /* MAT-files, SVHN */
void lnet_register(lua_State *L);           /* download, sha256 */
void lhttp_register(lua_State *L);          /* the board's web server, safe paths */
void limage_register(lua_State *L);         /* PNG grids */
void lplot_register(lua_State *L);          /* curves through cairo */
void lembed_register(lua_State *L);         /* t-SNE */
void ldist_register(lua_State *L);          /* MPI, or a world of one */
void ldist_shutdown(int failed);            /* MPI_Finalize, or MPI_Abort on failure */
int luaopen_capsrun_native(lua_State *L);

#endif
