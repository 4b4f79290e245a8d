/* plot.c: line charts with axes, ticks, labels and a legend, via cairo. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cairo.h>
#include "plot.h"
#include "atomic_file.h"

#define PI 3.14159265358979323846

static const double COLOURS[PLOT_MAX_SERIES][3] = {
  {0.12, 0.47, 0.71}, {1.0, 0.5, 0.05}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16},
  {0.58, 0.4, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.5, 0.5, 0.5}};

typedef struct Range { double lo, hi; } Range;

static Range data_range(const PlotPanel *p, int use_x) {
  Range r = {INFINITY, -INFINITY};
  for (int s = 0; s < p->nseries; s++)
    for (size_t i = 0; i < p->series[s].n; i++) {
      double v = use_x ? p->series[s].x[i] : p->series[s].y[i];
      if (isfinite(v)) { if (v < r.lo) r.lo = v; if (v > r.hi) r.hi = v; }
    }
  if (!isfinite(r.lo)) { r.lo = 0; r.hi = 1; }
  if (r.hi - r.lo < 1e-12) { r.lo -= 0.5; r.hi += 0.5; }
  double span = r.hi - r.lo;              /* room above the data for the legend */
  if (!use_x) { r.lo -= 0.05 * span; r.hi += 0.12 * span * (p->nseries + 1); }
  if (!use_x && p->clamp_y) {             /* padding never takes an accuracy past 0 or 100% */
    if (r.lo < p->ymin) r.lo = p->ymin;
    if (r.hi > p->ymax) r.hi = p->ymax;
    if (r.hi - r.lo < 1e-12) { r.lo = p->ymin; r.hi = p->ymax; }
  }
  return r;
}

static double nice_step(double span) {
  double raw = span / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double align, double size) {
  cairo_text_extents_t e;
  cairo_set_font_size(cr, size);
  cairo_text_extents(cr, s, &e);
  cairo_move_to(cr, x - align * e.width, y);
  cairo_show_text(cr, s);
}

static void draw_axes(cairo_t *cr, const PlotPanel *p, double x0, double y0, double w, double h,
                      Range xr, Range yr) {
  char buf[32];
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, x0, y0, w, h);
  cairo_stroke(cr);
  double xs = nice_step(xr.hi - xr.lo), ys = nice_step(yr.hi - yr.lo);
  for (double v = ceil(xr.lo / xs) * xs; v <= xr.hi + 1e-9; v += xs) {
    double px = x0 + (v - xr.lo) / (xr.hi - xr.lo) * w;
    cairo_move_to(cr, px, y0 + h); cairo_line_to(cr, px, y0 + h + 4); cairo_stroke(cr);
    snprintf(buf, sizeof buf, "%g", fabs(v) < 1e-12 ? 0.0 : v);
    text_at(cr, px, y0 + h + 16, buf, 0.5, 10);
  }
  for (double v = ceil(yr.lo / ys) * ys; v <= yr.hi + 1e-12; v += ys) {
    double py = y0 + h - (v - yr.lo) / (yr.hi - yr.lo) * h;
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, x0, py); cairo_line_to(cr, x0 + w, py); cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    snprintf(buf, sizeof buf, "%.4g", fabs(v) < 1e-12 ? 0.0 : v);
    text_at(cr, x0 - 6, py + 3, buf, 1.0, 10);
  }
  if (p->title) text_at(cr, x0 + w / 2, y0 - 10, p->title, 0.5, 13);
  if (p->xlabel) text_at(cr, x0 + w / 2, y0 + h + 32, p->xlabel, 0.5, 11);
  if (p->ylabel) {
    cairo_save(cr);
    cairo_translate(cr, x0 - 48, y0 + h / 2);
    cairo_rotate(cr, -PI / 2);
    text_at(cr, 0, 0, p->ylabel, 0.5, 11);
    cairo_restore(cr);
  }
}

/* legend in a white box whose top right corner is (right, y), or whose
   bottom right corner is (right, bottom) when bottom > 0, as wide as its
   longest label */
static void draw_legend(cairo_t *cr, const PlotPanel *p, double right, double y, double bottom) {
  int n = 0;
  double text_w = 70;
  cairo_set_font_size(cr, 10);
  for (int s = 0; s < p->nseries; s++) {
    if (!p->series[s].label) continue;
    cairo_text_extents_t e;
    cairo_text_extents(cr, p->series[s].label, &e);
    if (e.x_advance > text_w) text_w = e.x_advance;
    n++;
  }
  if (!n) return;
  double x = right - (40 + text_w);
  if (bottom > 0) y = bottom - (8 + 16 * n);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_rectangle(cr, x, y, 40 + text_w, 8 + 16 * n);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
  cairo_set_line_width(cr, 1);
  cairo_stroke(cr);
  double ly = y + 16;
  cairo_set_line_width(cr, 2);
  for (int s = 0; s < p->nseries; s++) {
    if (!p->series[s].label) continue;
    cairo_set_source_rgb(cr, COLOURS[s][0], COLOURS[s][1], COLOURS[s][2]);
    cairo_move_to(cr, x + 8, ly - 4); cairo_line_to(cr, x + 26, ly - 4); cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, x + 32, ly, p->series[s].label, 0, 10);
    ly += 16;
  }
}

static void draw_panel(cairo_t *cr, const PlotPanel *p, double x0, double y0, double w, double h) {
  Range xr = data_range(p, 1), yr = data_range(p, 0);
  draw_axes(cr, p, x0, y0, w, h, xr, yr);
  cairo_set_line_width(cr, 2);
  for (int s = 0; s < p->nseries; s++) {
    const PlotSeries *se = &p->series[s];
    cairo_set_source_rgb(cr, COLOURS[s][0], COLOURS[s][1], COLOURS[s][2]);
    int pen_down = 0;   /* a missing value (NaN) breaks the line */
    for (size_t i = 0; i < se->n; i++) {
      if (!isfinite(se->x[i]) || !isfinite(se->y[i])) { pen_down = 0; continue; }
      double px = x0 + (se->x[i] - xr.lo) / (xr.hi - xr.lo) * w;
      double py = y0 + h - (se->y[i] - yr.lo) / (yr.hi - yr.lo) * h;
      if (!pen_down) cairo_move_to(cr, px, py); else cairo_line_to(cr, px, py);
      pen_down = 1;
    }
    cairo_stroke(cr);
    for (size_t i = 0; i < se->n; i++) {   /* markers: epochs are few */
      if (!isfinite(se->x[i]) || !isfinite(se->y[i])) continue;
      double px = x0 + (se->x[i] - xr.lo) / (xr.hi - xr.lo) * w;
      double py = y0 + h - (se->y[i] - yr.lo) / (yr.hi - yr.lo) * h;
      cairo_arc(cr, px, py, 3, 0, 2 * PI);
      cairo_fill(cr);
    }
  }
  /* the legend goes where the padding made room for it: above the data,
     or below it when the axis stops at its limit (an accuracy near 100%) */
  int top_clamped = p->clamp_y && yr.hi >= p->ymax;
  draw_legend(cr, p, x0 + w - 8, y0 + 6, top_clamped ? y0 + h - 6 : 0);
}

static cairo_status_t write_to_file(void *closure, const unsigned char *data, unsigned int length) {
  return fwrite(data, 1, length, (FILE *)closure) == length ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

int plot_write_png(cairo_surface_t *surf, const char *path, char *err, size_t errlen) {
  AtomicFile a;
  int rc = atomic_open(&a, path, err, errlen);
  if (rc == 0) {
    int failed = cairo_surface_write_to_png_stream(surf, write_to_file, a.f) != CAIRO_STATUS_SUCCESS;
    rc = atomic_commit(&a, failed, err, errlen);
  }
  return rc;
}

int plot_panels(const char *path, int width, int height, const PlotPanel *panels, int npanels,
                char *err, size_t errlen) {
  cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t *cr = cairo_create(surf);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  double pw = (double)width / npanels;
  for (int i = 0; i < npanels; i++) draw_panel(cr, &panels[i], i * pw + 70, 36, pw - 95, height - 86);
  cairo_destroy(cr);
  int rc = plot_write_png(surf, path, err, errlen);
  cairo_surface_destroy(surf);
  return rc;
}
