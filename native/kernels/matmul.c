/* matmul.c: one GEMM through OpenBLAS or oneDNN (optional at build time:
 * CAPSRUN_DNNL). oneDNN primitives are created per call: its own primitive
 * cache makes a repeated shape cheap (microseconds against milliseconds of
 * arithmetic), and capsrun keeps no cache of its own. */
#include <stdlib.h>
#include <cblas.h>
#include "bf16.h"
#include "matmul.h"
#ifdef CAPSRUN_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

void bf16_from_f32_array(size_t n, const float *x, uint16_t *y) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (size_t i = 0; i < n; i++) y[i] = bf16_from_f32(x[i]);
}

static size_t lda_of(const MatmulOp *op) { return op->lda ? op->lda : op->trans_a ? op->M : op->K; }
static size_t ldb_of(const MatmulOp *op) { return op->ldb ? op->ldb : op->trans_b ? op->K : op->N; }
static size_t ldc_of(const MatmulOp *op) { return op->ldc ? op->ldc : op->N; }

static void matmul_blas(const MatmulOp *op, const float *a, const float *b, float *c) {
  cblas_sgemm(CblasRowMajor, op->trans_a ? CblasTrans : CblasNoTrans,
              op->trans_b ? CblasTrans : CblasNoTrans, (int)op->M, (int)op->N, (int)op->K, 1.0f,
              a, (int)lda_of(op), b, (int)ldb_of(op),
              op->accumulate ? 1.0f : 0.0f, c, (int)ldc_of(op));
}

MatmulPath matmul_f32_path(const MatmulOp *op, int have_ctx) {
  if (!have_ctx) return MATMUL_BLAS;
  if (!op->trans_a && !op->trans_b && op->K >= 4096) return MATMUL_BLAS;
  return MATMUL_DNNL_F32;
}

#ifdef CAPSRUN_DNNL
/* scratch: oneDNN's scratchpad, grown as needed and kept; letting each
 * primitive allocate its own cost 10-15% of a bf16 step in page faults */
struct MatmulCtx { dnnl_engine_t engine; dnnl_stream_t stream; void *scratch; size_t scratch_size; };

int matmul_have_dnnl(void) { return 1; }

MatmulCtx *matmul_ctx_new(const char **err) {
  MatmulCtx *ctx = calloc(1, sizeof *ctx);
  if (!ctx) { *err = "not enough memory"; return NULL; }
  if (dnnl_engine_create(&ctx->engine, dnnl_cpu, 0) != dnnl_success ||
      dnnl_stream_create(&ctx->stream, ctx->engine, dnnl_stream_default_flags) != dnnl_success) {
    *err = "oneDNN could not create a CPU engine";
    matmul_ctx_free(ctx);
    return NULL;
  }
  return ctx;
}

void matmul_ctx_free(MatmulCtx *ctx) {
  if (!ctx) return;
  if (ctx->stream) dnnl_stream_destroy(ctx->stream);
  if (ctx->engine) dnnl_engine_destroy(ctx->engine);
  free(ctx->scratch);
  free(ctx);
}

/* rows x cols, stored transposed or not, ld values apart */
static dnnl_status_t md_2d(dnnl_memory_desc_t *md, size_t rows, size_t cols, int trans, size_t ld,
                           dnnl_data_type_t dt) {
  dnnl_dims_t dims = {(dnnl_dim_t)rows, (dnnl_dim_t)cols};
  dnnl_dims_t strides = {trans ? 1 : (dnnl_dim_t)ld, trans ? (dnnl_dim_t)ld : 1};
  return dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides);
}

/* md: src, weights, dst, scratchpad */
static dnnl_status_t make_primitive(MatmulCtx *ctx, const MatmulOp *op, dnnl_data_type_t dt,
                                    dnnl_memory_desc_t md[4], dnnl_primitive_t *prim) {
  dnnl_matmul_desc_t desc;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t post = NULL;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t s = md_2d(&md[0], op->M, op->K, op->trans_a, lda_of(op), dt);
  if (s == dnnl_success) s = md_2d(&md[1], op->K, op->N, op->trans_b, ldb_of(op), dt);
  if (s == dnnl_success) s = md_2d(&md[2], op->M, op->N, 0, ldc_of(op), dnnl_f32);
  if (s == dnnl_success) s = dnnl_matmul_desc_init(&desc, &md[0], &md[1], NULL, &md[2]);
  if (s == dnnl_success) s = dnnl_primitive_attr_create(&attr);
  if (s == dnnl_success) s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
  if (s == dnnl_success && op->accumulate) {
    s = dnnl_post_ops_create(&post);
    if (s == dnnl_success) s = dnnl_post_ops_append_sum(post, 1.0f);
    if (s == dnnl_success) s = dnnl_primitive_attr_set_post_ops(attr, post);
  }
  if (s == dnnl_success) s = dnnl_primitive_desc_create(&pd, &desc, attr, ctx->engine, NULL);
  if (s == dnnl_success) {
    const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (sp) md[3] = *sp;
    else s = dnnl_memory_desc_init_by_tag(&md[3], 0, NULL, dnnl_u8, dnnl_format_tag_undef);
  }
  if (s == dnnl_success) s = dnnl_primitive_create(prim, pd);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (post) dnnl_post_ops_destroy(post);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return s;
}

static const char *matmul_dnnl(MatmulCtx *ctx, const MatmulOp *op, dnnl_data_type_t dt,
                               const void *a, const void *b, float *c) {
  dnnl_memory_desc_t md[4];
  dnnl_primitive_t prim = NULL;
  dnnl_memory_t mem[4] = {NULL, NULL, NULL, NULL};
  if (make_primitive(ctx, op, dt, md, &prim) != dnnl_success)
    return dt == dnnl_bf16 ? "oneDNN has no bf16 matmul for this CPU (it needs AVX-512)"
                           : "oneDNN could not create an f32 matmul";
  size_t need = dnnl_memory_desc_get_size(&md[3]);
  if (need > ctx->scratch_size) {
    free(ctx->scratch);
    ctx->scratch_size = 0;
    ctx->scratch = aligned_alloc(64, (need + 63) / 64 * 64);
    if (!ctx->scratch) { dnnl_primitive_destroy(prim); return "not enough memory for oneDNN's scratchpad"; }
    ctx->scratch_size = need;
  }
  void *ptr[4] = {(void *)a, (void *)b, c, ctx->scratch};
  dnnl_status_t s = dnnl_success;
  for (int i = 0; i < 4 && s == dnnl_success; i++)
    s = dnnl_memory_create(&mem[i], &md[i], ctx->engine, ptr[i]);
  if (s == dnnl_success) {
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, mem[0]}, {DNNL_ARG_WEIGHTS, mem[1]}, {DNNL_ARG_DST, mem[2]},
                               {DNNL_ARG_SCRATCHPAD, mem[3]}};
    s = dnnl_primitive_execute(prim, ctx->stream, need ? 4 : 3, args);
    if (s == dnnl_success) s = dnnl_stream_wait(ctx->stream);
  }
  for (int i = 0; i < 4; i++)
    if (mem[i]) dnnl_memory_destroy(mem[i]);
  dnnl_primitive_destroy(prim);
  return s == dnnl_success ? NULL : "oneDNN failed to run a matmul (out of memory?)";
}

const char *matmul_run(MatmulCtx *ctx, MatmulPath path, const MatmulOp *op,
                       const void *a, const void *b, float *c) {
  if (path == MATMUL_BLAS) { matmul_blas(op, a, b, c); return NULL; }
  if (!ctx) return "oneDNN path asked for without a oneDNN context";
  return matmul_dnnl(ctx, op, path == MATMUL_DNNL_BF16 ? dnnl_bf16 : dnnl_f32, a, b, c);
}

#else  /* built without oneDNN: OpenBLAS only */

int matmul_have_dnnl(void) { return 0; }

MatmulCtx *matmul_ctx_new(const char **err) {
  *err = "capsrun was built without oneDNN (install libdnnl-dev and rebuild)";
  return NULL;
}

void matmul_ctx_free(MatmulCtx *ctx) { (void)ctx; }

const char *matmul_run(MatmulCtx *ctx, MatmulPath path, const MatmulOp *op,
                       const void *a, const void *b, float *c) {
  (void)ctx;
  if (path != MATMUL_BLAS) return "capsrun was built without oneDNN (install libdnnl-dev and rebuild)";
  matmul_blas(op, a, b, c);
  return NULL;
}
#endif
