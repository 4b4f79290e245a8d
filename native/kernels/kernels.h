/* kernels.h: the pure math of every layer, forward and backward.
 * Plain pointers and sizes, no Lua; shapes in the comments. Backward
 * functions ADD into parameter gradients (zeroing is the caller's step) and
 * overwrite input gradients. */
#ifndef CAPSRUN_KERNELS_H
#define CAPSRUN_KERNELS_H
#include <stddef.h>
#include <stdint.h>
#include "matmul.h"
#include "rng.h"

typedef struct ConvDims {
  size_t batch, in_ch, in_h, in_w, out_ch, kernel, stride, out_h, out_w;
} ConvDims;

/* conv.c: valid (unpadded) 2-D convolution as im2col + one GEMM per batch.
 * How the GEMMs run: ctx NULL means OpenBLAS in float32 only; with a oneDNN
 * context, float32 products take the faster library (matmul_f32_path), and
 * bf16 runs every product in bf16 with float32 accumulation. */
typedef struct ConvGemm { MatmulCtx *ctx; int bf16; } ConvGemm;
/* in (B, C, H, W), weight (O, C, k, k), bias (O), out (B, O, OH, OW).
 * cols (C*k*k, B*OH*OW), float32 or bf16, is kept for backward; ytmp
 * (O, B*OH*OW) float32 scratch; wbf (O*C*k*k) bf16 copy of the weight, kept
 * for backward (unused in float32). Returns NULL or an error message. */
const char *conv2d_forward(const ConvDims *d, const ConvGemm *g, const float *in,
                           const float *weight, const float *bias, float *out, void *cols,
                           float *ytmp, uint16_t *wbf);
/* ytmp (O, B*OH*OW) and ytmp_t (B*OH*OW, O; only when gin is set) scratch in
 * the GEMM's type; gin may be NULL (first layer); gcols_t (B*OH*OW, per*k*k) float32 scratch
 * when gin is set, per = conv_col2im_channels(d) */
#define CONV_COL2IM_BLOCK_BYTES (2u << 20)
size_t conv_col2im_channels(const ConvDims *d);
const char *conv2d_backward(const ConvDims *d, const ConvGemm *g, const void *cols,
                            const float *gout, const float *weight, const uint16_t *wbf,
                            float *gweight, float *gbias, float *gin, void *ytmp, void *ytmp_t,
                            float *gcols_t);

/* linear.c: in (B, I), weight (O, I), bias (O), out (B, O) */
void linear_forward(size_t B, size_t n_in, size_t n_out, const float *in,
                    const float *weight, const float *bias, float *out);
void linear_backward(size_t B, size_t n_in, size_t n_out, const float *in,
                     const float *gout, const float *weight, float *gweight,
                     float *gbias, float *gin);

/* activation.c: elementwise activations over n values */
void relu_forward(size_t n, const float *in, float *out);
void relu_backward(size_t n, const float *out, const float *gout, float *gin);
void sigmoid_forward(size_t n, const float *in, float *out);
void sigmoid_backward(size_t n, const float *out, const float *gout, float *gin);

/* caps.c: capsule primitives */
#define CAPS_SQUASH_EPS 1e-8f
/* squash each of n rows of length dim: v = |s|^2/(1+|s|^2) s/sqrt(|s|^2+eps) */
void caps_squash_forward(size_t n, size_t dim, const float *s, float *v);
void caps_squash_backward(size_t n, size_t dim, const float *s, const float *gv, float *gs);
/* (B, T*D, H, W) conv maps -> (B, T*H*W, D) capsules; capsule i = (t*H + y)*W + x */
void caps_regroup_forward(size_t B, size_t T, size_t D, size_t HW, const float *in, float *out);
void caps_regroup_backward(size_t B, size_t T, size_t D, size_t HW, const float *gout, float *gin);
/* |v| over rows: v (n, dim) -> len (n) */
void caps_length_forward(size_t n, size_t dim, const float *v, float *len);
void caps_length_backward(size_t n, size_t dim, const float *v, const float *len,
                          const float *glen, float *gv);

/* keep only capsule index[b] (0-based, checked by the caller) of each sample:
 * v (B, J, D) -> out (B, J*D); backward gives gv (B, J, D) */
void caps_mask_forward(size_t B, size_t J, size_t D, const float *v, const float *index, float *out);
void caps_mask_backward(size_t B, size_t J, size_t D, const float *gout, const float *index, float *gv);

typedef struct RouteDims { size_t batch, in_caps, out_caps, in_dim, out_dim, iters; } RouteDims;
/* caps_predict.c: u (B, I, Din), W (I, J, D, Din) -> uhat (B, I, J, D);
 * J*D*Din must not exceed CAPS_PREDICT_MAX_BLOCK (per-thread stack blocks) */
#define CAPS_PREDICT_MAX_BLOCK 16384
void caps_predict_forward(const RouteDims *d, const float *u, const float *w, float *uhat);
void caps_predict_backward(const RouteDims *d, const float *u, const float *w,
                           const float *guhat, float *gw, float *gu);
/* caps_route.c: dynamic routing. uhat (B, I, J, D) -> v (B, J, D). Saved for backward:
 * c (B, R, I, J), s (B, R, J, D), vs (B, R, J, D); logits (B, I, J) scratch */
void caps_route_dynamic_forward(const RouteDims *d, const float *uhat, float *v,
                                float *c, float *s, float *vs, float *logits);
/* back through every iteration; guhat (B, I, J, D) overwritten;
 * scratch: glogits (B, I, J), gtmp (B, 2, J, D) */
void caps_route_dynamic_backward(const RouteDims *d, const float *uhat, const float *gv,
                                 const float *c, const float *s, const float *vs,
                                 float *guhat, float *glogits, float *gtmp);

/* pool.c: zero padding of planes (H, W) -> (H+2p, W+2p), and back */
void pad2d_forward(size_t planes, size_t H, size_t W, size_t pad, const float *in, float *out);
void pad2d_backward(size_t planes, size_t H, size_t W, size_t pad, const float *gout, float *gin);
/* pool.c: max pooling of planes (in_h, in_w) -> (out_h, out_w), windows
 * kernel x kernel, stride apart; argmax (planes, out_h*out_w) holds each
 * window's winner as a flat index into its plane, kept for backward */
typedef struct PoolDims { size_t planes, in_h, in_w, kernel, stride, out_h, out_w; } PoolDims;
void maxpool2d_forward(const PoolDims *d, const float *in, float *out, float *argmax);
void maxpool2d_backward(const PoolDims *d, const float *gout, const float *argmax, float *gin);

/* resize.c: bilinear resampling of planes (H, W) -> (OH, OW), pixel
 * centres at +0.5 (PyTorch's align_corners=False), H, W, OH, OW > 0 */
void resize_bilinear(size_t planes, size_t H, size_t W, const float *in, size_t OH, size_t OW,
                     float *out);

/* affine.c: planes (h, w) -> (oh, ow); output pixel centre (x', y') reads
 * the input at (m0 x' + m1 y' + m2, m3 x' + m4 y' + m5), bilinear, zero
 * outside; m holds 6 values per plane (the inverse transformation) */
void affine_warp(size_t planes, size_t h, size_t w, const float *in, size_t oh, size_t ow,
                 const float *m, float *out);

/* dropout.c: inverted dropout of n values with drop probability p in [0, 1);
 * mask (n) keeps 0 or 1/(1-p) for backward */
void dropout_forward(size_t n, float p, Rng *rng, const float *in, float *out, float *mask);
void dropout_backward(size_t n, const float *mask, const float *gout, float *gin);

/* loss.c: margin loss. len (B, J), labels (B, K): K 0-based classes present
 * in each sample (K = 1 for classification, 2 for MultiMNIST), already
 * checked to be in range; returns the batch mean; glen (B, J) may be NULL. */
typedef struct MarginParams { float m_plus, m_minus, lambda; } MarginParams;
double margin_loss(size_t B, size_t J, size_t K, const float *len, const float *labels,
                   const MarginParams *p, float *glen);
/* sum over pixels of squared error, mean over the batch: pred, target (B, P) */
double sse_loss(size_t B, size_t P, const float *pred, const float *target, float *gpred);

/* loss.c: softmax cross-entropy, mean over the batch: logits (B, C), labels
 * (B) 0-based and checked; glogits (B, C) may be NULL */
double cross_entropy_loss(size_t B, size_t C, const float *logits, const float *labels,
                          float *glogits);

/* loss.c: sigmoid cross-entropy of every logit against "class present":
 * logits (B, C), labels (B, K) 0-based, checked; summed over classes, mean
 * over the batch; glogits (B, C) may be NULL */
double sigmoid_bce_loss(size_t B, size_t C, size_t K, const float *logits, const float *labels,
                        float *glogits);

/* adam.c: one Adam step over n parameters; step counts from 1 */
typedef struct AdamParams { float lr, beta1, beta2, eps; long step; } AdamParams;
void adam_update(size_t n, float *param, const float *grad, float *m, float *v,
                 const AdamParams *p);

#endif
