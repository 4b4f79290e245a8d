/* matmul.h: the GEMMs of the convolutions, through OpenBLAS or oneDNN.
 * Row-major and dense (unless a leading dimension says otherwise): A is (M, K), or (K, M) when trans_a; B is (K, N), or
 * (N, K) when trans_b; C is (M, N). bf16 operands are uint16 bit patterns
 * (bf16.h); C is float32 either way, accumulated in float32. */
#ifndef CAPSRUN_MATMUL_H
#define CAPSRUN_MATMUL_H
#include <stddef.h>

typedef enum { MATMUL_BLAS, MATMUL_DNNL_F32, MATMUL_DNNL_BF16 } MatmulPath;

typedef struct MatmulOp {
  int trans_a, trans_b;
  size_t M, N, K;
  int accumulate;   /* C += op(A) op(B) instead of C = op(A) op(B) */
  size_t lda, ldb, ldc;   /* row strides, for blocks of wider matrices; 0: dense */
} MatmulOp;

/* oneDNN's engine and stream; opaque, owned by the caller */
typedef struct MatmulCtx MatmulCtx;

int matmul_have_dnnl(void);                 /* 1 when built with oneDNN */
/* NULL on failure, with the reason in *err */
MatmulCtx *matmul_ctx_new(const char **err);
void matmul_ctx_free(MatmulCtx *ctx);

/* The f32 path for one product: oneDNN's brgemm kernels beat OpenBLAS 0.3.21
 * on AVX-512 on every conv product but the large no-transpose forward one
 * (docs/performance.md has the measurements). */
MatmulPath matmul_f32_path(const MatmulOp *op, int have_ctx);

/* Runs the product; returns NULL or an error message (oneDNN could not
 * create or run the primitive, e.g. bf16 on a CPU without AVX-512). */
const char *matmul_run(MatmulCtx *ctx, MatmulPath path, const MatmulOp *op,
                       const void *a, const void *b, float *c);

#endif
