/* captioned_grid.c: a grid of grey images with coloured captions, via cairo.
 * Each image becomes a small cairo surface painted scaled up with the
 * nearest filter, so pixels stay sharp squares. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cairo.h>
#include "captioned_grid.h"
#include "plot.h"

enum { PAD = 6, LINE_H = 14, TITLE_H = 24, TITLE_LINE_H = 17, TITLE_MAX_LINES = 6, TITLE_MAX_BYTES = 1024, MIN_CELL_W = 76, MIN_LABEL_W = 44, ROW_LABEL_W = 64, COL_LABEL_H = 16 };
static const double FONT_SIZE = 11;

/* wide enough for a caption line under the image, or for a column label */
static size_t cell_width(const CaptionedGrid *g) {
  size_t w = g->w * g->scale, least = g->nlines > 0 ? MIN_CELL_W : MIN_LABEL_W;
  return w < least ? least : w;
}

static size_t cell_height(const CaptionedGrid *g) { return g->h * g->scale + g->nlines * LINE_H + 4; }
static size_t left_of(const CaptionedGrid *g) { return PAD + (g->row_labels ? ROW_LABEL_W : 0); }

/* the title word-wrapped to max_w pixels at its font size (set on cr):
   each line's first byte and length; returns the number of lines. A word
   wider than the line gets a line of its own. */
static size_t wrap_title(cairo_t *cr, const char *title, double max_w, size_t start[], size_t len[]) {
  char buf[TITLE_MAX_BYTES + 1];
  size_t n = 0, total = strlen(title), at = 0;
  if (total > TITLE_MAX_BYTES) total = TITLE_MAX_BYTES;
  while (at < total && n < TITLE_MAX_LINES) {
    size_t end = at, fit = 0;   /* fit: the longest prefix that fits, ending at a word */
    while (end < total) {
      size_t next = end;
      while (next < total && title[next] == ' ') next++;
      while (next < total && title[next] != ' ') next++;
      memcpy(buf, title + at, next - at);
      buf[next - at] = 0;
      cairo_text_extents_t e;
      cairo_text_extents(cr, buf, &e);
      if (e.x_advance > max_w && fit > 0) break;
      fit = next - at;
      end = next;
    }
    start[n] = at;
    len[n++] = fit;
    at += fit;
    while (at < total && title[at] == ' ') at++;
  }
  return n;
}

/* lines of the title on a grid W pixels wide (0 without a title) */
static size_t title_lines(const CaptionedGrid *g, size_t W) {
  if (!g->title) return 0;
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
  cairo_t *cr = cairo_create(s);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 13);
  size_t start[TITLE_MAX_LINES], len[TITLE_MAX_LINES];
  size_t n = wrap_title(cr, g->title, (double)W - 2 * PAD, start, len);
  cairo_destroy(cr);
  cairo_surface_destroy(s);
  return n ? n : 1;
}

static size_t top_of(const CaptionedGrid *g, size_t W) {
  size_t lines = title_lines(g, W);
  return PAD + (lines ? TITLE_H + (lines - 1) * TITLE_LINE_H : 0) + (g->col_labels ? COL_LABEL_H : 0);
}

void captioned_grid_size(const CaptionedGrid *g, size_t *width, size_t *height) {
  *width = *height = 0;
  if (g->cols == 0 || g->n == 0 || g->scale == 0 || g->h > CAPTION_MAX_SIDE || g->w > CAPTION_MAX_SIDE ||
      g->scale > CAPTION_MAX_SIDE || g->nlines > CAPTION_MAX_LINES || g->cols > CAPTION_MAX_SIDE)
    return;
  size_t cols = g->cols < g->n ? g->cols : g->n, rows = (g->n + cols - 1) / cols;
  if (g->h * g->scale > CAPTION_MAX_SIDE || g->w * g->scale > CAPTION_MAX_SIDE) return;
  size_t W = left_of(g) + cols * (cell_width(g) + PAD);
  if (W > CAPTION_MAX_SIDE) return;
  size_t H = top_of(g, W) + rows * (cell_height(g) + PAD);
  if (W > CAPTION_MAX_SIDE || H > CAPTION_MAX_SIDE || rows > CAPTION_MAX_SIDE) return;
  *width = W;
  *height = H;
}

static uint8_t grey_byte(float v) {
  if (!(v > 0)) return 0;   /* NaN too */
  if (v >= 1) return 255;
  return (uint8_t)(v * 255 + 0.5f);
}

/* one image as an RGB24 surface of its own size */
static cairo_surface_t *image_surface(const CaptionedGrid *g, size_t k) {
  size_t ch = g->channels == 3 ? 3 : 1, plane = g->h * g->w;
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)g->w, (int)g->h);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) return s;
  cairo_surface_flush(s);
  unsigned char *data = cairo_image_surface_get_data(s);
  int stride = cairo_image_surface_get_stride(s);
  const float *img = g->images + k * ch * plane;
  for (size_t y = 0; y < g->h; y++) {
    uint32_t *row = (uint32_t *)(data + y * (size_t)stride);
    for (size_t x = 0; x < g->w; x++) {
      size_t at = y * g->w + x;
      uint32_t r = grey_byte(img[at]);
      uint32_t gr = ch == 3 ? grey_byte(img[plane + at]) : r, b = ch == 3 ? grey_byte(img[2 * plane + at]) : r;
      row[x] = (r << 16) | (gr << 8) | b;
    }
  }
  cairo_surface_mark_dirty(s);
  return s;
}

static void centred_text(cairo_t *cr, double cx, double y, const char *s) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s, &e);
  cairo_move_to(cr, cx - (e.width / 2 + e.x_bearing), y);
  cairo_show_text(cr, s);
}

static int draw_cell(cairo_t *cr, const CaptionedGrid *g, size_t k, double x0, double y0) {
  cairo_surface_t *img = image_surface(g, k);
  if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) { cairo_surface_destroy(img); return -1; }
  double iw = (double)(g->w * g->scale), cw = (double)cell_width(g);
  double ix = x0 + (cw - iw) / 2;
  cairo_save(cr);
  cairo_translate(cr, ix, y0);
  cairo_scale(cr, (double)g->scale, (double)g->scale);
  cairo_set_source_surface(cr, img, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_surface_destroy(img);
  for (size_t l = 0; l < g->nlines; l++) {
    const CaptionLine *line = &g->lines[k * g->nlines + l];
    if (!line->text) continue;
    cairo_set_source_rgb(cr, line->rgb[0], line->rgb[1], line->rgb[2]);
    centred_text(cr, x0 + cw / 2, y0 + (double)(g->h * g->scale) + (double)((l + 1) * LINE_H), line->text);
  }
  return 0;
}

int captioned_grid_write(const char *path, const CaptionedGrid *g, char *err, size_t errlen) {
  size_t W, H;
  captioned_grid_size(g, &W, &H);
  if (W == 0) { snprintf(err, errlen, "grid larger than %d pixels on a side", CAPTION_MAX_SIDE); return -1; }
  cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)W, (int)H);
  if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
    snprintf(err, errlen, "cairo: %s", cairo_status_to_string(cairo_surface_status(surf)));
    cairo_surface_destroy(surf);
    return -1;
  }
  cairo_t *cr = cairo_create(surf);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  size_t cols = g->cols < g->n ? g->cols : g->n;
  double top = PAD;
  if (g->title) {
    cairo_set_font_size(cr, 13);
    cairo_set_source_rgb(cr, 0, 0, 0);
    char line[TITLE_MAX_BYTES + 1];
    size_t start[TITLE_MAX_LINES], len[TITLE_MAX_LINES];
    size_t n = wrap_title(cr, g->title, (double)W - 2 * PAD, start, len);
    for (size_t l = 0; l < n; l++) {
      memcpy(line, g->title + start[l], len[l]);
      line[len[l]] = 0;
      centred_text(cr, (double)W / 2, top + 14 + (double)(l * TITLE_LINE_H), line);
    }
    top += TITLE_H + (double)((n ? n - 1 : 0) * TITLE_LINE_H);
  }
  cairo_set_font_size(cr, FONT_SIZE);
  cairo_set_source_rgb(cr, 0, 0, 0);
  double left = (double)left_of(g), cw = (double)cell_width(g), chh = (double)cell_height(g);
  if (g->col_labels) {
    for (size_t c = 0; c < cols; c++)
      if (g->col_labels[c]) centred_text(cr, left + (double)c * (cw + PAD) + cw / 2, top + 11, g->col_labels[c]);
    top += COL_LABEL_H;
  }
  size_t rows = (g->n + cols - 1) / cols;
  if (g->row_labels) {
    for (size_t r = 0; r < rows; r++) {
      if (!g->row_labels[r]) continue;
      cairo_move_to(cr, PAD, top + (double)r * (chh + PAD) + (double)(g->h * g->scale) / 2 + 4);
      cairo_show_text(cr, g->row_labels[r]);
    }
  }
  int rc = 0;
  for (size_t k = 0; k < g->n && rc == 0; k++)
    rc = draw_cell(cr, g, k, left + (double)((k % cols) * (cell_width(g) + PAD)),
                   top + (double)((k / cols) * (cell_height(g) + PAD)));
  cairo_destroy(cr);
  if (rc) snprintf(err, errlen, "cairo could not make an image surface");
  else rc = plot_write_png(surf, path, err, errlen);
  cairo_surface_destroy(surf);
  return rc;
}
