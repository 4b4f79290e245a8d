/* captioned_grid.h: grey or colour images in a grid, each with lines of
 * coloured text under it (a label, each model's prediction), optional labels
 * for the rows (left) and columns (top) and a title, drawn with cairo as PNG. */
#ifndef CAPSRUN_CAPTIONED_GRID_H
#define CAPSRUN_CAPTIONED_GRID_H
#include <stddef.h>

#define CAPTION_MAX_LINES 8
#define CAPTION_MAX_SIDE 8000

typedef struct CaptionLine { const char *text; double rgb[3]; } CaptionLine;

typedef struct CaptionedGrid {
  const float *images;        /* n x channels x h x w, 0 .. 1 (clamped) */
  size_t n, h, w;
  size_t channels;            /* 1 (grey; 0 means 1) or 3 (RGB planes) */
  size_t cols, scale;         /* images per row; pixels per image pixel */
  const CaptionLine *lines;   /* n x nlines; a NULL text leaves its line empty */
  size_t nlines;
  const char *title;          /* above the grid, or NULL */
  const char *const *row_labels;   /* one per row of the grid, left of it, or NULL */
  const char *const *col_labels;   /* one per column, above it, or NULL */
} CaptionedGrid;

/* the image's size in pixels for g (0 when over CAPTION_MAX_SIDE a side) */
void captioned_grid_size(const CaptionedGrid *g, size_t *width, size_t *height);
/* draws g and writes it atomically to path: 0, or -1 with a message in err */
int captioned_grid_write(const char *path, const CaptionedGrid *g, char *err, size_t errlen);

#endif
