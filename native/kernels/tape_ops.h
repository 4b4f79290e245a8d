/* tape_ops.h: the kernels behind capsrun's automatic differentiation
 * (lua/capsrun/autograd.lua records them on a tape). Pure C, plain pointers.
 * Every backward ADDS into the gradients it is given (the tape zeroes a
 * gradient buffer once, when it is first reached), so one tensor used by
 * several ops collects all of their contributions. Shapes are padded on the
 * left with 1s to TAPE_DIMS dimensions by the binding. */
#ifndef CAPSRUN_TAPE_OPS_H
#define CAPSRUN_TAPE_OPS_H
#include <stddef.h>

#define TAPE_DIMS 5

/* a (broadcast) b -> out (shape); astride, bstride: each operand's stride
 * per output dimension in floats, 0 where it is broadcast */
typedef struct TapeBroadcast {
  size_t shape[TAPE_DIMS], astride[TAPE_DIMS], bstride[TAPE_DIMS];
} TapeBroadcast;
enum { TAPE_ADD, TAPE_SUB, TAPE_MUL, TAPE_DIV };
void tape_binary_forward(int op, const TapeBroadcast *s, const float *a, const float *b, float *out);
/* ga (a's shape), gb (b's shape) added to; either may be NULL */
void tape_binary_backward(int op, const TapeBroadcast *s, const float *a, const float *b,
                          const float *gout, float *ga, float *gb);

/* elementwise y = f(x) over n values; p: the exponent (POW) or factor (SCALE) or term (SHIFT) */
enum { TAPE_NEG, TAPE_EXP, TAPE_LOG, TAPE_SQRT, TAPE_POW, TAPE_ABS, TAPE_RELU, TAPE_SIGMOID,
       TAPE_TANH, TAPE_SCALE, TAPE_SHIFT, TAPE_SIN, TAPE_COS, TAPE_SOFTPLUS };
void tape_unary_forward(int op, size_t n, float p, const float *x, float *y);
void tape_unary_backward(int op, size_t n, float p, const float *x, const float *y,
                         const float *gy, float *gx);

/* dst (shape, contiguous) = src read at strides sstride (0: broadcast; a
 * permutation of src's strides: a transpose) */
void tape_gather(const size_t *shape, const size_t *sstride, const float *src, float *dst);
/* the reverse: dst at strides dstride += src (shape, contiguous); bijective
 * says no two elements share a destination (a permutation), which lets it
 * run in parallel */
void tape_scatter_add(const size_t *shape, const size_t *dstride, int bijective, const float *src,
                      float *dst);

/* a tensor seen as (outer, n, inner) around one axis of n */
typedef struct TapeAxis { size_t outer, n, inner; } TapeAxis;
/* y (outer, inner): sum, mean, max (arg: the index of the max, as float),
 * logsumexp, or the Euclidean norm over the axis */
enum { TAPE_SUM, TAPE_MEAN, TAPE_MAX, TAPE_LOGSUMEXP, TAPE_NORM };
void tape_reduce_forward(int op, const TapeAxis *a, const float *x, float *y, float *arg);
void tape_reduce_backward(int op, const TapeAxis *a, const float *x, const float *y,
                          const float *arg, const float *gy, float *gx);
/* softmax (or log-softmax) over the axis: y has x's shape */
void tape_softmax_forward(const TapeAxis *a, int log, const float *x, float *y);
void tape_softmax_backward(const TapeAxis *a, int log, const float *y, const float *gy, float *gx);
/* layer normalisation over the axis: y = (x - mean) / sqrt(var + eps), the
 * biased variance (PyTorch's); rstd (outer, inner) = 1 / sqrt(var + eps),
 * kept with y for backward, which ADDS into gx */
void tape_layer_norm_forward(const TapeAxis *a, double eps, const float *x, float *y, float *rstd);
void tape_layer_norm_backward(const TapeAxis *a, const float *y, const float *rstd, const float *gy, float *gx);
/* squash over the axis, as caps_squash (eps inside the root) */
void tape_squash_forward(const TapeAxis *a, const float *s, float *v);
void tape_squash_backward(const TapeAxis *a, const float *s, const float *gv, float *gs);
/* slices along the axis: part (outer, len, inner) <-> whole (outer, n, inner)
 * from index start; add: add instead of overwrite */
void tape_slice_get(const TapeAxis *a, size_t start, size_t len, int add, const float *whole,
                    float *part);
void tape_slice_put(const TapeAxis *a, size_t start, size_t len, int add, const float *part,
                    float *whole);

/* rows idx[0..m) (0-based, checked by the caller, stored as floats as
 * capsrun's index tensors are) along the axis: y (outer, m, inner) = x[:, idx, :];
 * backward adds each row back where it came from (repeats add up) */
void tape_index_select_forward(const TapeAxis *a, size_t m, const float *idx, const float *x, float *y);
void tape_index_select_backward(const TapeAxis *a, size_t m, const float *idx, const float *gy, float *gx);

/* batched matrix product with broadcasting over up to 3 leading dimensions:
 * a (batch.., M, K) x b (batch.., K, N) -> out (batch.., M, N); astride and
 * bstride: each operand's matrix stride per batch dimension, 0 where it is
 * broadcast */
typedef struct TapeMatmul {
  size_t batch[3], astride[3], bstride[3], M, K, N;
} TapeMatmul;
void tape_matmul_forward(const TapeMatmul *d, const float *a, const float *b, float *out);
/* ga += gout b^T, gb += a^T gout (summed over broadcast batches); either may be NULL */
void tape_matmul_backward(const TapeMatmul *d, const float *a, const float *b, const float *gout,
                          float *ga, float *gb);

/* batch normalisation of x (B, C, S) per channel: training uses the
 * batch's mean and biased variance, saves them in stats (2, C: mean, 1/std)
 * and moves running_mean and running_var (unbiased) by (1 - momentum);
 * evaluation uses the running statistics (stats still filled). y = xhat w + b */
void tape_batchnorm_forward(size_t B, size_t C, size_t S, int training, float momentum, float eps,
                            const float *x, const float *w, const float *b, float *running_mean,
                            float *running_var, float *stats, float *y);
/* gx (may be NULL), gw, gb ADDED to */
void tape_batchnorm_backward(size_t B, size_t C, size_t S, int training, const float *x, const float *w,
                             const float *stats, const float *gy, float *gx, float *gw, float *gb);

#endif
