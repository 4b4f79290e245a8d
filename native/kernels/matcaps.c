/* matcaps.c: the votes of matrix capsules (Hinton, Sabour & Frosst 2018,
 * section 2): each child's 4x4 pose M times a learned 4x4 transformation W
 * per (patch position or child type, parent type), V = M W. Forward parallel
 * over the batch; the weight gradient parallel over weight blocks, so no
 * two threads write the same sum and the sums run in a fixed order. */
#include "kernels.h"

size_t matcaps_weight_blocks(const EmDims *d) { return d->shared ? d->in_types : em_entries(d); }

/* weight block of patch entry n */
static size_t weight_block(const EmDims *d, size_t n) { return d->shared ? n % d->in_types : n; }

/* v (4x4) = m (4x4) w (4x4) */
static void mat4_mul(const float *m, const float *w, float *v) {
  for (size_t r = 0; r < 4; r++)
    for (size_t c = 0; c < 4; c++)
      v[r * 4 + c] = m[r * 4] * w[c] + m[r * 4 + 1] * w[4 + c] + m[r * 4 + 2] * w[8 + c] +
                     m[r * 4 + 3] * w[12 + c];
}

void matcaps_votes_forward(const EmDims *d, int coord_add, const float *caps, const float *w,
                           float *votes) {
  const size_t P = em_patches(d), N = em_entries(d), J = d->out_types, C = em_children(d);
  const size_t HW = d->in_h * d->in_w;
#pragma omp parallel for schedule(static)
  for (long bl = 0; bl < (long)d->batch; bl++) {
    size_t b = (size_t)bl;
    const float *cb = caps + b * C * MATCAPS_STRIDE;
    for (size_t p = 0; p < P; p++)
      for (size_t n = 0; n < N; n++) {
        size_t c = em_child(d, p, n);
        const float *m = cb + c * MATCAPS_STRIDE;
        const float *wn = w + weight_block(d, n) * J * MATCAPS_POSE;
        float *v = votes + ((b * P + p) * N + n) * J * MATCAPS_POSE;
        for (size_t j = 0; j < J; j++) mat4_mul(m, wn + j * MATCAPS_POSE, v + j * MATCAPS_POSE);
        if (coord_add) {
          size_t pos = c % HW;
          float row = ((float)(pos / d->in_w) + 0.5f) / (float)d->in_h;
          float col = ((float)(pos % d->in_w) + 0.5f) / (float)d->in_w;
          for (size_t j = 0; j < J; j++) { v[j * MATCAPS_POSE + 3] += row; v[j * MATCAPS_POSE + 7] += col; }
        }
      }
  }
}

/* dL/dM = gV W^T, accumulated into each child over the patches it is in */
static void pose_gradients(const EmDims *d, const float *w, const float *gvotes, float *gcaps) {
  const size_t P = em_patches(d), N = em_entries(d), J = d->out_types, C = em_children(d);
#pragma omp parallel for schedule(static)
  for (long bl = 0; bl < (long)d->batch; bl++) {
    size_t b = (size_t)bl;
    float *gb = gcaps + b * C * MATCAPS_STRIDE;
    for (size_t p = 0; p < P; p++)
      for (size_t n = 0; n < N; n++) {
        float *gm = gb + em_child(d, p, n) * MATCAPS_STRIDE;
        const float *wn = w + weight_block(d, n) * J * MATCAPS_POSE;
        const float *gv = gvotes + ((b * P + p) * N + n) * J * MATCAPS_POSE;
        for (size_t j = 0; j < J; j++) {
          const float *wj = wn + j * MATCAPS_POSE, *g = gv + j * MATCAPS_POSE;
          for (size_t r = 0; r < 4; r++)
            for (size_t k = 0; k < 4; k++)
              gm[r * 4 + k] += g[r * 4] * wj[k * 4] + g[r * 4 + 1] * wj[k * 4 + 1] +
                               g[r * 4 + 2] * wj[k * 4 + 2] + g[r * 4 + 3] * wj[k * 4 + 3];
        }
      }
  }
}

/* dL/dW = sum over samples and entries of M^T gV, one weight block per thread */
static void weight_gradients(const EmDims *d, const float *caps, const float *gvotes, float *gw) {
  const size_t P = em_patches(d), N = em_entries(d), J = d->out_types, C = em_children(d);
  const size_t blocks = matcaps_weight_blocks(d);
#pragma omp parallel for schedule(static)
  for (long kl = 0; kl < (long)blocks; kl++) {
    size_t k = (size_t)kl;
    float *gwk = gw + k * J * MATCAPS_POSE;
    for (size_t b = 0; b < d->batch; b++)
      for (size_t p = 0; p < P; p++)
        for (size_t n = 0; n < N; n++) {
          if (weight_block(d, n) != k) continue;
          const float *m = caps + (b * C + em_child(d, p, n)) * MATCAPS_STRIDE;
          const float *gv = gvotes + ((b * P + p) * N + n) * J * MATCAPS_POSE;
          for (size_t j = 0; j < J; j++) {
            const float *g = gv + j * MATCAPS_POSE;
            float *gwj = gwk + j * MATCAPS_POSE;
            for (size_t r = 0; r < 4; r++)
              for (size_t c = 0; c < 4; c++)
                gwj[r * 4 + c] += m[r] * g[c] + m[4 + r] * g[4 + c] + m[8 + r] * g[8 + c] +
                                  m[12 + r] * g[12 + c];
          }
        }
  }
}

void matcaps_votes_backward(const EmDims *d, const float *caps, const float *w,
                            const float *gvotes, float *gw, float *gcaps) {
  pose_gradients(d, w, gvotes, gcaps);
  weight_gradients(d, caps, gvotes, gw);
}

/* pose maps (B, 16T, H, W) and activation maps (B, T, H, W), as convolutions
 * give them, -> capsules (B, T, H, W, 17); pose channel 16t + k is entry k */
void matcaps_pack(size_t B, size_t T, size_t HW, const float *pose, const float *act, float *caps) {
  for (size_t b = 0; b < B; b++)
    for (size_t t = 0; t < T; t++)
      for (size_t q = 0; q < HW; q++) {
        float *c = caps + ((b * T + t) * HW + q) * MATCAPS_STRIDE;
        for (size_t k = 0; k < MATCAPS_POSE; k++) c[k] = pose ? pose[((b * T + t) * MATCAPS_POSE + k) * HW + q] : 0;
        c[MATCAPS_POSE] = act[(b * T + t) * HW + q];
      }
}

/* the reverse of matcaps_pack; pose may be NULL */
void matcaps_unpack(size_t B, size_t T, size_t HW, const float *caps, float *pose, float *act) {
  for (size_t b = 0; b < B; b++)
    for (size_t t = 0; t < T; t++)
      for (size_t q = 0; q < HW; q++) {
        const float *c = caps + ((b * T + t) * HW + q) * MATCAPS_STRIDE;
        if (pose)
          for (size_t k = 0; k < MATCAPS_POSE; k++) pose[((b * T + t) * MATCAPS_POSE + k) * HW + q] = c[k];
        act[(b * T + t) * HW + q] = c[MATCAPS_POSE];
      }
}
