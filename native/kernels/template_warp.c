/* template_warp.c: SCAE's part decoder places each learned template on the
 * canvas by its part's affine pose (Kosiorek et al. 2019; the official code
 * warps with an affine grid and a bilinear resampler). For output pixel
 * (i, j) of an H x W canvas, in normalised coordinates x = (2j + 1)/W - 1,
 * y = (2i + 1)/H - 1, the pose A (2 x 3, row-major) gives the template point
 *   (sx, sy) = (A0 x + A1 y + A2, A3 x + A4 y + A5)
 * read at pixel coordinates u = ((sx + 1) w - 1)/2, v = ((sy + 1) h - 1)/2,
 * bilinearly, zero outside the template: PyTorch's affine_grid + grid_sample
 * with align_corners=False and zero padding, so a reference is one line.
 * The backward gives both gradients: the template's (summed over the batch)
 * and the pose's (through u and v). */
#include <math.h>
#include <string.h>
#include "kernels.h"

typedef struct Sample { long x0, y0; float fx, fy, u, v; int any; } Sample;

/* where output pixel (i, j) reads the template, for pose a */
static Sample locate(const float *a, size_t H, size_t W, size_t h, size_t w, size_t i, size_t j) {
  Sample s;
  float x = (2.0f * (float)j + 1.0f) / (float)W - 1.0f, y = (2.0f * (float)i + 1.0f) / (float)H - 1.0f;
  float sx = a[0] * x + a[1] * y + a[2], sy = a[3] * x + a[4] * y + a[5];
  s.u = ((sx + 1.0f) * (float)w - 1.0f) * 0.5f;
  s.v = ((sy + 1.0f) * (float)h - 1.0f) * 0.5f;
  s.any = s.u > -1.0f && s.v > -1.0f && s.u < (float)w && s.v < (float)h;
  s.x0 = s.any ? (long)floorf(s.u) : 0;
  s.y0 = s.any ? (long)floorf(s.v) : 0;
  s.fx = s.u - (float)s.x0;
  s.fy = s.v - (float)s.y0;
  return s;
}

/* rows [i0, i1) and columns [j0, j1) of the canvas: every pixel that can read the template
 * (the footprint's corners mapped back through the pose, two pixels of margin against
 * rounding); the whole canvas when the pose is (nearly) singular. Pixels outside read zero. */
typedef struct Box { size_t i0, i1, j0, j1; } Box;

static size_t clamp_index(double v, size_t n) { return v <= 0 ? 0 : v >= (double)n ? n : (size_t)v; }

static Box footprint(const float *a, size_t H, size_t W, size_t h, size_t w) {
  Box all = {0, H, 0, W};
  double det = (double)a[0] * a[4] - (double)a[1] * a[3];
  if (!(fabs(det) > 1e-12)) return all;
  /* locate's test u in (-1, w), v in (-1, h) is sx in (-ex, ex), sy in (-ey, ey) */
  double ex = 1.0 + 1.0 / (double)w, ey = 1.0 + 1.0 / (double)h;
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (int c = 0; c < 4; c++) {
    double sx = (c & 1 ? ex : -ex) - a[2], sy = (c & 2 ? ey : -ey) - a[5];
    double x = (a[4] * sx - a[1] * sy) / det, y = (a[0] * sy - a[3] * sx) / det;
    xlo = fmin(xlo, x); xhi = fmax(xhi, x); ylo = fmin(ylo, y); yhi = fmax(yhi, y);
  }
  /* x = (2j + 1) / W - 1, so j = ((x + 1) W - 1) / 2 */
  double j0 = floor(((xlo + 1) * (double)W - 1) / 2) - 2, j1 = ceil(((xhi + 1) * (double)W - 1) / 2) + 3;
  double i0 = floor(((ylo + 1) * (double)H - 1) / 2) - 2, i1 = ceil(((yhi + 1) * (double)H - 1) / 2) + 3;
  if (!(isfinite(j0) && isfinite(j1) && isfinite(i0) && isfinite(i1))) return all;
  Box b = {clamp_index(i0, H), clamp_index(i1, H), clamp_index(j0, W), clamp_index(j1, W)};
  if (b.i1 < b.i0) b.i1 = b.i0;
  if (b.j1 < b.j0) b.j1 = b.j0;
  return b;
}

static float at(const float *t, size_t h, size_t w, long y, long x) {
  return (y >= 0 && x >= 0 && y < (long)h && x < (long)w) ? t[(size_t)y * w + (size_t)x] : 0.0f;
}

void template_warp_forward(size_t B, size_t T, size_t h, size_t w, const float *templates, const float *poses,
                           size_t H, size_t W, float *out) {
#pragma omp parallel for schedule(static) if (B * T * H * W > 100000)
  for (long bt = 0; bt < (long)(B * T); bt++) {
    const float *tmpl = templates + ((size_t)bt % T) * h * w, *a = poses + (size_t)bt * 6;
    float *dst = out + (size_t)bt * H * W;
    Box box = footprint(a, H, W, h, w);
    memset(dst, 0, H * W * sizeof *dst);
    for (size_t i = box.i0; i < box.i1; i++)
      for (size_t j = box.j0; j < box.j1; j++) {
        Sample s = locate(a, H, W, h, w, i, j);
        if (!s.any) { dst[i * W + j] = 0; continue; }
        float top = at(tmpl, h, w, s.y0, s.x0) * (1 - s.fx) + at(tmpl, h, w, s.y0, s.x0 + 1) * s.fx;
        float bottom = at(tmpl, h, w, s.y0 + 1, s.x0) * (1 - s.fx) + at(tmpl, h, w, s.y0 + 1, s.x0 + 1) * s.fx;
        dst[i * W + j] = top * (1 - s.fy) + bottom * s.fy;
      }
  }
}

static void add_at(float *t, size_t h, size_t w, long y, long x, float g) {
  if (y >= 0 && x >= 0 && y < (long)h && x < (long)w) t[(size_t)y * w + (size_t)x] += g;
}

void template_warp_backward(size_t B, size_t T, size_t h, size_t w, const float *templates, const float *poses,
                            size_t H, size_t W, const float *gout, float *gtemplates, float *gposes) {
  /* template gradients: one template is read by every example, so the batch
     is walked in order per template (parallel over templates, no races) */
#pragma omp parallel for schedule(static) if (B * T * H * W > 100000)
  for (long t = 0; t < (long)T; t++) {
    const float *tmpl = templates + (size_t)t * h * w;
    float *gt = gtemplates ? gtemplates + (size_t)t * h * w : NULL;
    for (size_t b = 0; b < B; b++) {
      const float *a = poses + (b * T + (size_t)t) * 6, *g = gout + (b * T + (size_t)t) * H * W;
      float *ga = gposes ? gposes + (b * T + (size_t)t) * 6 : NULL;
      double acc[6] = {0, 0, 0, 0, 0, 0};
      Box box = footprint(a, H, W, h, w);
      for (size_t i = box.i0; i < box.i1; i++)
        for (size_t j = box.j0; j < box.j1; j++) {
          float go = g[i * W + j];
          if (go == 0) continue;
          Sample s = locate(a, H, W, h, w, i, j);
          if (!s.any) continue;
          float p00 = at(tmpl, h, w, s.y0, s.x0), p01 = at(tmpl, h, w, s.y0, s.x0 + 1);
          float p10 = at(tmpl, h, w, s.y0 + 1, s.x0), p11 = at(tmpl, h, w, s.y0 + 1, s.x0 + 1);
          if (gt) {
            add_at(gt, h, w, s.y0, s.x0, go * (1 - s.fx) * (1 - s.fy));
            add_at(gt, h, w, s.y0, s.x0 + 1, go * s.fx * (1 - s.fy));
            add_at(gt, h, w, s.y0 + 1, s.x0, go * (1 - s.fx) * s.fy);
            add_at(gt, h, w, s.y0 + 1, s.x0 + 1, go * s.fx * s.fy);
          }
          if (ga) {
            /* d out / d u and d v, then u = ((sx + 1) w - 1)/2: d u / d sx = w/2 */
            float du = ((p01 - p00) * (1 - s.fy) + (p11 - p10) * s.fy) * 0.5f * (float)w;
            float dv = ((p10 - p00) * (1 - s.fx) + (p11 - p01) * s.fx) * 0.5f * (float)h;
            float x = (2.0f * (float)j + 1.0f) / (float)W - 1.0f, y = (2.0f * (float)i + 1.0f) / (float)H - 1.0f;
            acc[0] += go * du * x; acc[1] += go * du * y; acc[2] += go * du;
            acc[3] += go * dv * x; acc[4] += go * dv * y; acc[5] += go * dv;
          }
        }
      if (ga) for (int k = 0; k < 6; k++) ga[k] += (float)acc[k];
    }
  }
}
