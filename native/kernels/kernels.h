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
 * outside; m holds 6 values per image of `channels` consecutive planes
 * (the inverse transformation) */
void affine_warp(size_t planes, size_t channels, size_t h, size_t w, const float *in, size_t oh, size_t ow,
                 const float *m, float *out);

/* sobel.c: the official SCAE's edge target (normalized_sobel_edges): per plane
 * of h x w (both >= 2), the summed Sobel responses (reflect padding), minus the
 * plane's median, absolute, scaled to [0, 1]; in != out; scratch of h * w */
void sobel_target(size_t planes, size_t h, size_t w, const float *in, float *out, float *scratch);

/* augment.c: n images of `size` values each: zero mean and unit variance
 * per image (the deviation floored at 1/sqrt(size)); crops of size x size
 * from (B, C, H, W) at offsets (B, 2: y, x), or the centre when offsets is
 * NULL; (x - mean) * contrast[i] + mean + brightness[i] per image */
void standardize_images(size_t n, size_t size, float *x);
void crop_images(size_t B, size_t C, size_t H, size_t W, const float *in, size_t size,
                 const size_t *offsets, float *out);
void jitter_images(size_t n, size_t size, const float *brightness, const float *contrast, float *x);
/* augment.c, in place on (B, C, H, W): image b moved by shifts[2b] rows and
 * shifts[2b + 1] columns (either sign), zeros where nothing moved in; image
 * b mirrored left to right where flip[b] is nonzero */
void shift_images(size_t B, size_t C, size_t H, size_t W, const long *shifts, float *x);
void flip_images(size_t B, size_t C, size_t H, size_t W, const unsigned char *flip, float *x);

/* template_warp.c: templates (T, h, w) placed on (B, T, H, W) canvases by
 * poses (B, T, 6): row-major 2 x 3 affine maps from the canvas's normalised
 * coordinates to the template's (PyTorch's affine_grid + grid_sample,
 * align_corners=False, zero padding). The backward ADDS into gtemplates
 * (summed over the batch) and gposes; either may be NULL. */
void template_warp_forward(size_t B, size_t T, size_t h, size_t w, const float *templates, const float *poses,
                           size_t H, size_t W, float *out);
void template_warp_backward(size_t B, size_t T, size_t h, size_t w, const float *templates, const float *poses,
                            size_t H, size_t W, const float *gout, float *gtemplates, float *gposes);

/* image_mixture.c: log p of images y (B, P) under per-pixel mixtures of K
 * Gaussians: means mu (B, K, P), one sigma, mixing logits (B, K, P);
 * logp (B); post and prior (B, K, P) are kept for the backward, which ADDS
 * into gmu and glogits (either may be NULL) given glogp (B). */
void image_mixture_forward(size_t B, size_t K, size_t P, const float *mu, const float *logits, const float *y,
                           float sigma, float *logp, float *post, float *prior);
void image_mixture_backward(size_t B, size_t K, size_t P, const float *mu, const float *y, float sigma,
                            const float *post, const float *prior, const float *glogp, float *gmu, float *glogits);

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
/* adam.c: one RMSProp step (TensorFlow 1's, with momentum) over n parameters */
typedef struct RMSPropParams { float lr, rho, momentum, eps; } RMSPropParams;
void rmsprop_update(size_t n, float *param, const float *grad, float *ms, float *mom, const RMSPropParams *p);

/* Matrix capsules with EM routing (Hinton, Sabour & Frosst 2018).
 * A capsule grid is (B, T, H, W, 17): T types on an H x W grid, each a 4x4
 * pose (row-major) followed by its activation. A layer maps children
 * (B, T, H, W, 17) to parents (B, J, OH, OW, 17); parent position p = (oy, ox)
 * sees the kh x kw patch of child positions (oy*stride + ky, ox*stride + kx),
 * and entry n = (ky*kw + kx)*T + t of the patch is one child capsule. A
 * class layer is the patch that covers the whole grid (kh = H, kw = W,
 * out 1x1) with one matrix per child type shared across positions. */
#define MATCAPS_POSE 16
#define MATCAPS_STRIDE 17
#define EM_MAX_TYPES 256   /* parent types of one layer */
typedef struct EmDims {
  size_t batch, in_types, in_h, in_w, kh, kw, stride, out_h, out_w, out_types, iters;
  int shared;   /* one transformation matrix per child type, for every position */
} EmDims;
static inline size_t em_patches(const EmDims *d) { return d->out_h * d->out_w; }
static inline size_t em_entries(const EmDims *d) { return d->kh * d->kw * d->in_types; }
static inline size_t em_children(const EmDims *d) { return d->in_types * d->in_h * d->in_w; }
/* the child capsule (index into the T x H x W grid) of entry n of patch p */
static inline size_t em_child(const EmDims *d, size_t p, size_t n) {
  size_t t = n % d->in_types, k = n / d->in_types;
  size_t y = (p / d->out_w) * d->stride + k / d->kw, x = (p % d->out_w) * d->stride + k % d->kw;
  return (t * d->in_h + y) * d->in_w + x;
}
/* matcaps.c: votes V = M W, one 4x4 product per patch entry and parent type.
 * caps (B, T, H, W, 17), w (kh*kw*T, J, 4, 4), or (T, J, 4, 4) when shared
 * -> votes (B, P, N, J, 16). coord_add: add the child's scaled position
 * ((y + 0.5) / H, (x + 0.5) / W) to the first two entries of the vote's
 * right-hand column (the paper's coordinate addition). */
size_t matcaps_weight_blocks(const EmDims *d);   /* first dimension of w */
void matcaps_votes_forward(const EmDims *d, int coord_add, const float *caps, const float *w,
                           float *votes);
/* gw += dL/dw; gcaps (B, T, H, W, 17): pose gradients ADDED to */
void matcaps_votes_backward(const EmDims *d, const float *caps, const float *w,
                            const float *gvotes, float *gw, float *gcaps);
/* pose maps (B, 16T, H, W) + activation maps (B, T, H, W) <-> capsules
 * (B, T, H, W, 17); pose NULL: zeros (pack) or not wanted (unpack) */
void matcaps_pack(size_t B, size_t T, size_t HW, const float *pose, const float *act, float *caps);
void matcaps_unpack(size_t B, size_t T, size_t HW, const float *caps, float *pose, float *act);
/* em_route.c: EM routing in log space with gradients through every
 * iteration. Inverse temperature of iteration t = 1..iters:
 * final_lambda * (1 - 0.95^t); variances get var_eps. */
/* detach: treat the last iteration's assignments as constants in backward
 * (gradients through the last M-step only); e_temp scales the Gaussian
 * log-likelihood in the E-step (1: the paper). Both options for experiments. */
typedef struct EmParams { float final_lambda, var_eps; int detach; float e_temp; } EmParams;
#define EM_STATS 34   /* saved per parent and iteration: mean 16, variance 16, logit, data */
/* floats per sample: saved assignments, saved statistics, backward scratch */
size_t em_saved_r_floats(const EmDims *d);
size_t em_saved_stats_floats(const EmDims *d);
size_t em_scratch_floats(const EmDims *d);
/* votes (B, P, N, J, 16), caps (children, for their activations), beta_a,
 * beta_v (J) -> out (B, J, OH, OW, 17); saved_r (B, em_saved_r_floats),
 * stats (B, em_saved_stats_floats), scratch (B, em_scratch_floats) */
void em_route_forward(const EmDims *d, const EmParams *prm, const float *votes, const float *caps,
                      const float *beta_a, const float *beta_v, float *out, float *saved_r,
                      float *stats, float *scratch);
/* gvotes overwritten; gcaps[..., 16] ADDED to (the children's activations);
 * gbeta_a, gbeta_v (J) added to */
void em_route_backward(const EmDims *d, const EmParams *prm, const float *votes, const float *caps,
                       const float *beta_a, const float *beta_v, const float *gout,
                       const float *saved_r, const float *stats, float *gvotes, float *gcaps,
                       float *gbeta_a, float *gbeta_v, float *scratch);
/* em_route.c: from the statistics em_route_forward saved (B, em_saved_stats_floats),
 * the data-weighted mean over samples and patches of sum_h log(var_h) / 2 / 16
 * of each parent type in the last iteration: out (J). MatrixCapsNet's
 * calibration reads it, so that no Lua knows the layout of the statistics. */
void em_mean_half_log_var(size_t batch, size_t iters, size_t patches, size_t J, const float *stats, float *out);
/* loss.c: spread loss, mean over the batch of sum over i != target of
 * max(0, margin - (a_t - a_i))^2; act (B, J), labels (B) 0-based, checked */
double spread_loss(size_t B, size_t J, const float *act, const float *labels, float margin,
                   float *gact);

/* tsne.c: exact t-SNE for figures (O(n^2) time and memory).
 * tsne_affinities: x (n, d) -> P (n, n), the symmetric joint affinities whose
 * per-point Gaussians have the given perplexity; returns how many points'
 * bandwidth search did not converge. */
size_t tsne_affinities(const float *x, size_t n, size_t d, double perplexity, float *P);
typedef struct TsneSettings {
  size_t iterations, exaggeration_iterations;   /* 1000 and 250 in the paper's code */
  double exaggeration, learning_rate;          /* 12 and 200 */
} TsneSettings;
/* tsne_embed: Y (n, m <= 8) from the caller's start to the embedding; update,
 * gains (n, m), num (n, n) and rowsum (n) scratch; returns the final
 * KL(P || Q) */
double tsne_embed(const float *P, size_t n, size_t m, const TsneSettings *s, float *Y, float *update,
                  float *gains, float *num, double *rowsum);

#endif
