/* plot.h: line charts drawn with cairo, written as PNG. */
#ifndef CAPSRUN_PLOT_H
#define CAPSRUN_PLOT_H
#include <stddef.h>
#include <cairo.h>

#define PLOT_MAX_SERIES 8
#define PLOT_MAX_PANELS 4

typedef struct PlotSeries { const char *label; const double *x, *y; size_t n; } PlotSeries;
typedef struct PlotPanel {
  const char *title, *xlabel, *ylabel;
  PlotSeries series[PLOT_MAX_SERIES];
  int nseries;
  int clamp_y;          /* nonzero: the y axis stays within [ymin, ymax] (accuracies: [0, 100]) */
  double ymin, ymax;
} PlotPanel;

/* Panels side by side in a width x height image, written atomically to
 * path. 0, or -1 with a message in err. */
int plot_panels(const char *path, int width, int height, const PlotPanel *panels, int npanels,
                char *err, size_t errlen);

/* surf as PNG, written atomically to path: 0, or -1 with a message in err */
int plot_write_png(cairo_surface_t *surf, const char *path, char *err, size_t errlen);

#endif
