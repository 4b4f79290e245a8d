/* em_route.c: EM routing between matrix capsules (Hinton, Sabour & Frosst
 * 2018, procedure 1), forward and backward through every iteration (the
 * authors: "We do not use stop gradient"). What the paper leaves open
 * follows Gritzman (2019) and the authors' OpenReview answers (docs/em.md):
 * - a child's assignments R sum to 1 over every parent it votes for, at all
 *   patch positions: parents at different positions compete for it;
 * - the data a parent receives, sum_n R a, is scaled by kappa = P*J / C
 *   (parents over children), so its mean is the children's mean activation
 *   in every layer and lambda and beta mean the same everywhere;
 * - variances get var_eps: a parent with one child has a finite cost;
 * - the E-step works on log probabilities; its softmax over a child's
 *   parents subtracts the maximum.
 * Per sample (parallel over the batch), with p a patch position, n a patch
 * entry (a child), j a parent type and h one of the 16 pose values:
 *   M-step  r = R a;  S = sum_n r;  mu = sum_n r V / S;
 *           var = sum_n r (V - mu)^2 / S + eps;  cost = sum_h (beta_v + log(var)/2) S kappa
 *           x = lambda (beta_a - cost);  activation = sigmoid(x)
 *   E-step  L = log sigmoid(x) - tau [sum_h (V - mu)^2 / (2 var) + sum_h log(2 pi var) / 2]
 *           (tau = e_temp, 1 in the paper; an option for experiments)
 *           R = softmax of L over all (p, n, j) whose child is the same */
#include <math.h>
#include <string.h>
#include "kernels.h"

#define H MATCAPS_POSE
#define STATS_VAR 16
#define STATS_X 32
#define STATS_S 33

static float inverse_temperature(const EmParams *prm, size_t t) {
  return prm->final_lambda * (1.0f - powf(0.95f, (float)(t + 1)));
}

static float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }
static float log_sigmoidf(float x) { return fminf(x, 0.0f) - log1pf(expf(-fabsf(x))); }

size_t em_saved_r_floats(const EmDims *d) { return d->iters * em_patches(d) * em_entries(d) * d->out_types; }
size_t em_saved_stats_floats(const EmDims *d) { return d->iters * em_patches(d) * d->out_types * EM_STATS; }
/* where a sample's betas' gradients (2 J) sit in its scratch: after gR (P N J),
 * gmu and gvar (P J 16 each), gx (P J) and the per-child group (2 C) */
static size_t betas_grad_offset(const EmDims *d) {
  const size_t P = em_patches(d), J = d->out_types;
  return P * em_entries(d) * J + P * J * (2 * H + 1) + 2 * em_children(d);
}

size_t em_scratch_floats(const EmDims *d) { return betas_grad_offset(d) + 2 * d->out_types; }

typedef struct Sample {   /* one sample's votes and children */
  const float *votes, *caps;
} Sample;

static float child_act(const EmDims *d, const Sample *s, size_t p, size_t n) {
  return s->caps[em_child(d, p, n) * MATCAPS_STRIDE + H];
}

/* M-step of iteration t: R (P, N, J) -> stats (P, J, EM_STATS) */
static void m_step(const EmDims *d, const EmParams *prm, size_t t, const Sample *s, const float *R,
                   const float *beta_a, const float *beta_v, float *stats) {
  const size_t P = em_patches(d), N = em_entries(d), J = d->out_types;
  const float kappa = (float)(P * J) / (float)em_children(d), lambda = inverse_temperature(prm, t);
  for (size_t p = 0; p < P; p++) {
    float *st = stats + p * J * EM_STATS;
    for (size_t j = 0; j < J; j++) memset(st + j * EM_STATS, 0, EM_STATS * sizeof(float));
    for (size_t n = 0; n < N; n++) {
      const float a = child_act(d, s, p, n), *v = s->votes + (p * N + n) * J * H;
      for (size_t j = 0; j < J; j++) {
        const float r = R[(p * N + n) * J + j] * a;
        float *mu = st + j * EM_STATS;
        mu[STATS_S] += r;
        for (size_t h = 0; h < H; h++) mu[h] += r * v[j * H + h];
      }
    }
    for (size_t j = 0; j < J; j++) {
      float *mu = st + j * EM_STATS, S = mu[STATS_S];
      float inv = S > 0 ? 1.0f / S : 0.0f;
      for (size_t h = 0; h < H; h++) mu[h] *= inv;
    }
    for (size_t n = 0; n < N; n++) {
      const float a = child_act(d, s, p, n), *v = s->votes + (p * N + n) * J * H;
      for (size_t j = 0; j < J; j++) {
        const float r = R[(p * N + n) * J + j] * a, *mu = st + j * EM_STATS;
        float *var = st + j * EM_STATS + STATS_VAR;
        for (size_t h = 0; h < H; h++) { float e = v[j * H + h] - mu[h]; var[h] += r * e * e; }
      }
    }
    for (size_t j = 0; j < J; j++) {
      float *mu = st + j * EM_STATS, *var = mu + STATS_VAR, S = mu[STATS_S];
      float inv = S > 0 ? 1.0f / S : 0.0f, cost = 0;
      for (size_t h = 0; h < H; h++) {
        var[h] = var[h] * inv + prm->var_eps;
        cost += beta_v[j] + 0.5f * logf(var[h]);
      }
      mu[STATS_X] = lambda * (beta_a[j] - cost * S * kappa);
    }
  }
}

/* L (P, N, J) -> R: softmax over each child's entries; group (2 C) scratch */
static void softmax_by_child(const EmDims *d, float *L, float *group) {
  const size_t P = em_patches(d), N = em_entries(d), J = d->out_types, C = em_children(d);
  float *gmax = group, *gsum = group + C;
  for (size_t c = 0; c < C; c++) { gmax[c] = -INFINITY; gsum[c] = 0; }
  for (size_t p = 0; p < P; p++)
    for (size_t n = 0; n < N; n++) {
      size_t c = em_child(d, p, n);
      for (size_t j = 0; j < J; j++) if (L[(p * N + n) * J + j] > gmax[c]) gmax[c] = L[(p * N + n) * J + j];
    }
  for (size_t p = 0; p < P; p++)
    for (size_t n = 0; n < N; n++) {
      size_t c = em_child(d, p, n);
      float *l = L + (p * N + n) * J;
      for (size_t j = 0; j < J; j++) { l[j] = expf(l[j] - gmax[c]); gsum[c] += l[j]; }
    }
  for (size_t p = 0; p < P; p++)
    for (size_t n = 0; n < N; n++) {
      float inv = 1.0f / gsum[em_child(d, p, n)], *l = L + (p * N + n) * J;
      for (size_t j = 0; j < J; j++) l[j] *= inv;
    }
}

/* E-step after iteration t: stats -> the next assignments R (P, N, J).
 * What depends only on the parent (log activation, log normaliser, 1/var)
 * is computed once per parent, not once per vote. */
static void e_step(const EmDims *d, const EmParams *prm, const Sample *s, const float *stats, float *R,
                   float *group) {
  const size_t P = em_patches(d), N = em_entries(d), J = d->out_types;
  float base[EM_MAX_TYPES], iv[EM_MAX_TYPES * H];
  const float tau = prm->e_temp;
  for (size_t p = 0; p < P; p++) {
    const float *st = stats + p * J * EM_STATS;
    for (size_t j = 0; j < J; j++) {
      const float *var = st + j * EM_STATS + STATS_VAR;
      float l = log_sigmoidf(st[j * EM_STATS + STATS_X]);
      for (size_t h = 0; h < H; h++) {
        l -= tau * 0.5f * logf(6.28318530718f * var[h]);
        iv[j * H + h] = 1.0f / var[h];
      }
      base[j] = l;
    }
    for (size_t n = 0; n < N; n++) {
      const float *v = s->votes + (p * N + n) * J * H;
      for (size_t j = 0; j < J; j++) {
        const float *mu = st + j * EM_STATS, *ivj = iv + j * H, *vj = v + j * H;
        float q = 0;
#pragma omp simd reduction(+ : q)
        for (size_t h = 0; h < H; h++) { float e = vj[h] - mu[h]; q += e * e * ivj[h]; }
        R[(p * N + n) * J + j] = base[j] - tau * 0.5f * q;
      }
    }
  }
  softmax_by_child(d, R, group);
}

/* first assignments: uniform over every parent a child votes for */
static void uniform_assignments(const EmDims *d, float *R, float *count) {
  const size_t P = em_patches(d), N = em_entries(d), J = d->out_types;
  memset(count, 0, em_children(d) * sizeof(float));
  for (size_t p = 0; p < P; p++)
    for (size_t n = 0; n < N; n++) count[em_child(d, p, n)] += (float)J;
  for (size_t p = 0; p < P; p++)
    for (size_t n = 0; n < N; n++)
      for (size_t j = 0; j < J; j++) R[(p * N + n) * J + j] = 1.0f / count[em_child(d, p, n)];
}

void em_route_forward(const EmDims *d, const EmParams *prm, const float *votes, const float *caps,
                      const float *beta_a, const float *beta_v, float *out, float *saved_r,
                      float *stats, float *scratch) {
  const size_t P = em_patches(d), N = em_entries(d), J = d->out_types, T = d->iters;
  const size_t RN = P * N * J, SN = P * J * EM_STATS;
#pragma omp parallel for schedule(static)
  for (long bl = 0; bl < (long)d->batch; bl++) {
    size_t b = (size_t)bl;
    Sample s = {votes + b * RN * H, caps + b * em_children(d) * MATCAPS_STRIDE};
    float *r = saved_r + b * em_saved_r_floats(d), *st = stats + b * em_saved_stats_floats(d);
    float *group = scratch + b * em_scratch_floats(d);
    uniform_assignments(d, r, group);
    for (size_t t = 0; t < T; t++) {
      m_step(d, prm, t, &s, r + t * RN, beta_a, beta_v, st + t * SN);
      if (t + 1 < T) e_step(d, prm, &s, st + t * SN, r + (t + 1) * RN, group);
    }
    const float *last = st + (T - 1) * SN;
    for (size_t j = 0; j < J; j++)
      for (size_t p = 0; p < P; p++) {
        const float *st = last + (p * J + j) * EM_STATS;
        float *o = out + ((b * J + j) * P + p) * MATCAPS_STRIDE;
        memcpy(o, st, H * sizeof(float));
        o[H] = sigmoidf(st[STATS_X]);
      }
  }
}

typedef struct Grads {   /* one sample's gradient slices and scratch */
  float *gvotes, *gcaps, *gR, *gmu, *gvar, *gx, *group, *gbeta;
} Grads;

/* back through the M-step of iteration t: from gmu, gvar (P, J, 16) and gx
 * (P, J) to gvotes, the children's activations, the betas and gR */
static void m_step_backward(const EmDims *d, const EmParams *prm, size_t t, const Sample *s,
                            const float *R, const float *stats, const float *beta_v, Grads *g) {
  const size_t P = em_patches(d), N = em_entries(d), J = d->out_types;
  const float kappa = (float)(P * J) / (float)em_children(d), lambda = inverse_temperature(prm, t);
  /* the betas' gradients sum many terms of both signs: in double */
  double gbeta_a[EM_MAX_TYPES] = {0}, gbeta_v[EM_MAX_TYPES] = {0};
  for (size_t p = 0; p < P; p++) {
    const float *st = stats + p * J * EM_STATS;
    float gS[EM_MAX_TYPES];   /* J <= EM_MAX_TYPES is checked by the binding */
    for (size_t j = 0; j < J; j++) {
      const float *mu = st + j * EM_STATS, *var = mu + STATS_VAR, Sk = mu[STATS_S] * kappa;
      float *gvar = g->gvar + (p * J + j) * H, gcost = -lambda * g->gx[p * J + j], sumlog = 0;
      gbeta_a[j] += (double)lambda * g->gx[p * J + j];
      gbeta_v[j] += (double)gcost * Sk * (double)H;
      for (size_t h = 0; h < H; h++) {
        sumlog += beta_v[j] + 0.5f * logf(var[h]);
        gvar[h] += gcost * Sk * 0.5f / var[h];
      }
      gS[j] = gcost * sumlog * kappa;
    }
    for (size_t n = 0; n < N; n++) {
      size_t c = em_child(d, p, n);
      const float a = s->caps[c * MATCAPS_STRIDE + H], *v = s->votes + (p * N + n) * J * H;
      float *gv = g->gvotes + (p * N + n) * J * H, ga = 0;
      for (size_t j = 0; j < J; j++) {
        const float *mu = st + j * EM_STATS, *var = mu + STATS_VAR, S = mu[STATS_S];
        const float *gmu = g->gmu + (p * J + j) * H, *gvar = g->gvar + (p * J + j) * H;
        const float Rv = R[(p * N + n) * J + j], w = S > 0 ? Rv * a / S : 0.0f;
        float gr = 0;
        for (size_t h = 0; h < H; h++) {
          float e = v[j * H + h] - mu[h];
          gr += gmu[h] * e + gvar[h] * (e * e - (var[h] - prm->var_eps));
          gv[j * H + h] += w * (gmu[h] + 2.0f * gvar[h] * e);
        }
        gr = (S > 0 ? gr / S : 0.0f) + gS[j];
        ga += gr * Rv;
        g->gR[(p * N + n) * J + j] = gr * a;
      }
      g->gcaps[c * MATCAPS_STRIDE + H] += ga;
    }
  }
  for (size_t j = 0; j < J; j++) { g->gbeta[j] += (float)gbeta_a[j]; g->gbeta[J + j] += (float)gbeta_v[j]; }
}

/* back through the E-step after iteration t: R_next = softmax(L), with gR
 * its gradient, to gmu, gvar, gx of iteration t (overwritten) and gvotes */
static void e_step_backward(const EmDims *d, const EmParams *prm, const Sample *s, const float *R_next,
                            const float *stats, Grads *g) {
  const size_t P = em_patches(d), N = em_entries(d), J = d->out_types, C = em_children(d);
  float *gdot = g->group;
  memset(gdot, 0, C * sizeof(float));
  for (size_t e = 0; e < P * N; e++) {
    size_t c = em_child(d, e / N, e % N);
    for (size_t j = 0; j < J; j++) gdot[c] += R_next[e * J + j] * g->gR[e * J + j];
  }
  memset(g->gmu, 0, P * J * H * sizeof(float));
  memset(g->gvar, 0, P * J * H * sizeof(float));
  memset(g->gx, 0, P * J * sizeof(float));
  float dlog[EM_MAX_TYPES], iv[EM_MAX_TYPES * H];
  const float tau = prm->e_temp;
  for (size_t p = 0; p < P; p++) {
    for (size_t j = 0; j < J; j++) {
      const float *mu = stats + (p * J + j) * EM_STATS;
      dlog[j] = 1.0f - sigmoidf(mu[STATS_X]);     /* d log sigmoid(x) / dx */
      for (size_t h = 0; h < H; h++) iv[j * H + h] = 1.0f / mu[STATS_VAR + h];
    }
    for (size_t n = 0; n < N; n++) {
      size_t e = p * N + n, c = em_child(d, p, n);
      const float *v = s->votes + e * J * H;
      float *gv = g->gvotes + e * J * H;
      for (size_t j = 0; j < J; j++) {
        const float *mu = stats + (p * J + j) * EM_STATS, *ivj = iv + j * H, *vj = v + j * H;
        const float gL = R_next[e * J + j] * (g->gR[e * J + j] - gdot[c]);
        float *gmu = g->gmu + (p * J + j) * H, *gvar = g->gvar + (p * J + j) * H, *gvj = gv + j * H;
        g->gx[p * J + j] += gL * dlog[j];
        const float gLt = gL * tau;
#pragma omp simd
        for (size_t h = 0; h < H; h++) {
          float q = (vj[h] - mu[h]) * ivj[h];
          gmu[h] += gLt * q;
          gvar[h] += gLt * 0.5f * (q * q - ivj[h]);
          gvj[h] -= gLt * q;
        }
      }
    }
  }
}

void em_route_backward(const EmDims *d, const EmParams *prm, const float *votes, const float *caps,
                       const float *beta_a, const float *beta_v, const float *gout,
                       const float *saved_r, const float *stats, float *gvotes, float *gcaps,
                       float *gbeta_a, float *gbeta_v, float *scratch) {
  const size_t P = em_patches(d), N = em_entries(d), J = d->out_types, T = d->iters;
  const size_t RN = P * N * J, SN = P * J * EM_STATS, C = em_children(d);
  (void)beta_a;
#pragma omp parallel for schedule(static)
  for (long bl = 0; bl < (long)d->batch; bl++) {
    size_t b = (size_t)bl;
    Sample s = {votes + b * RN * H, caps + b * C * MATCAPS_STRIDE};
    const float *r = saved_r + b * em_saved_r_floats(d), *st = stats + b * em_saved_stats_floats(d);
    float *sc = scratch + b * em_scratch_floats(d);
    Grads g = {gvotes + b * RN * H, gcaps + b * C * MATCAPS_STRIDE, sc, sc + RN, sc + RN + P * J * H,
               sc + RN + 2 * P * J * H, sc + RN + P * J * (2 * H + 1), sc + betas_grad_offset(d)};
    memset(g.gvotes, 0, RN * H * sizeof(float));
    memset(g.gbeta, 0, 2 * J * sizeof(float));
    const float *last = st + (T - 1) * SN;
    for (size_t j = 0; j < J; j++)
      for (size_t p = 0; p < P; p++) {
        const float *go = gout + ((b * J + j) * P + p) * MATCAPS_STRIDE;
        float a = sigmoidf(last[(p * J + j) * EM_STATS + STATS_X]);
        memcpy(g.gmu + (p * J + j) * H, go, H * sizeof(float));
        memset(g.gvar + (p * J + j) * H, 0, H * sizeof(float));
        g.gx[p * J + j] = go[H] * a * (1.0f - a);
      }
    for (size_t t = T; t-- > 0;) {
      m_step_backward(d, prm, t, &s, r + t * RN, st + t * SN, beta_v, &g);
      if (prm->detach) break;
      if (t > 0) e_step_backward(d, prm, &s, r + t * RN, st + (t - 1) * SN, &g);
    }
  }
  /* the betas' gradients summed over the batch in a fixed order */
  for (size_t b = 0; b < d->batch; b++) {
    const float *gb = scratch + b * em_scratch_floats(d) + betas_grad_offset(d);
    for (size_t j = 0; j < J; j++) { gbeta_a[j] += gb[j]; gbeta_v[j] += gb[J + j]; }
  }
}

void em_mean_half_log_var(size_t batch, size_t iters, size_t patches, size_t J, const float *stats, float *out) {
  size_t per_sample = iters * patches * J * EM_STATS;
  for (size_t j = 0; j < J; j++) {
    double sum = 0, weight = 0;
    for (size_t b = 0; b < batch; b++) {
      const float *last = stats + b * per_sample + (iters - 1) * patches * J * EM_STATS;
      for (size_t p = 0; p < patches; p++) {
        const float *st = last + (p * J + j) * EM_STATS;
        double lv = 0, data = st[STATS_S];
        for (size_t h = 0; h < MATCAPS_POSE; h++) lv += 0.5 * log(st[STATS_VAR + h]);
        sum += data * lv / MATCAPS_POSE;
        weight += data;
      }
    }
    out[j] = weight > 0 ? (float)(sum / weight) : 0.0f;
  }
}
