/* l_plot.c: plot_curves(path, {width, height, panels = {{title, xlabel,
 * ylabel, ylimits = {lo, hi}, series = {{label, x = {...}, y = {...}}, ...}}, ...}}), and
 * write_png_captioned(path, images, captions [, opts]) */
#include <math.h>
#include <string.h>
#include "binding.h"
#include "plot.h"
#include "captioned_grid.h"

static const char *opt_string(lua_State *L, int t, const char *name) {
  lua_getfield(L, t, name);
  const char *s = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
  lua_pop(L, 1);   /* the string stays alive: the spec table holds it */
  return s;
}

/* numbers of t[name] into a userdata array kept in the registry-free
 * "anchor" table at index anchor */
static const double *read_numbers(lua_State *L, int t, const char *name, size_t *n, int anchor) {
  lua_getfield(L, t, name);
  if (!lua_istable(L, -1)) luaL_error(L, "plot_curves: series field '%s' must be a list of numbers", name);
  *n = (size_t)luaL_len(L, -1);
  if (*n > 1000000) luaL_error(L, "plot_curves: too many points");
  double *v = (double *)lua_newuserdatauv(L, (*n ? *n : 1) * sizeof(double), 0);
  for (size_t i = 0; i < *n; i++) {
    lua_geti(L, -2, (lua_Integer)i + 1);
    int ok;
    v[i] = lua_tonumberx(L, -1, &ok);
    if (!ok) luaL_error(L, "plot_curves: %s[%d] is not a number", name, (int)i + 1);
    lua_pop(L, 1);
  }
  lua_rawseti(L, anchor, (lua_Integer)luaL_len(L, anchor) + 1);
  lua_pop(L, 1);
  return v;
}

static void read_panel(lua_State *L, int pt, PlotPanel *p, int anchor) {
  memset(p, 0, sizeof *p);
  p->title = opt_string(L, pt, "title");
  p->xlabel = opt_string(L, pt, "xlabel");
  p->ylabel = opt_string(L, pt, "ylabel");
  lua_getfield(L, pt, "ylimits");   /* {lo, hi}: the axis never goes past them */
  if (!lua_isnil(L, -1)) {
    int ok1 = 0, ok2 = 0;
    if (lua_istable(L, -1)) {
      lua_geti(L, -1, 1); p->ymin = lua_tonumberx(L, -1, &ok1); lua_pop(L, 1);
      lua_geti(L, -1, 2); p->ymax = lua_tonumberx(L, -1, &ok2); lua_pop(L, 1);
    }
    if (!ok1 || !ok2 || !(p->ymin < p->ymax) || !isfinite(p->ymin) || !isfinite(p->ymax))
      luaL_error(L, "plot_curves: a panel's ylimits must be {lo, hi} with finite numbers lo < hi");
    p->clamp_y = 1;
  }
  lua_pop(L, 1);
  lua_getfield(L, pt, "series");
  if (!lua_istable(L, -1)) luaL_error(L, "plot_curves: each panel needs a 'series' list");
  int st = lua_gettop(L);
  p->nseries = (int)luaL_len(L, st);
  if (p->nseries < 1 || p->nseries > PLOT_MAX_SERIES)
    luaL_error(L, "plot_curves: between 1 and %d series per panel expected", PLOT_MAX_SERIES);
  for (int s = 0; s < p->nseries; s++) {
    lua_geti(L, st, s + 1);
    int se = lua_gettop(L);
    luaL_checktype(L, se, LUA_TTABLE);
    size_t nx, ny;
    p->series[s].label = opt_string(L, se, "label");
    p->series[s].x = read_numbers(L, se, "x", &nx, anchor);
    p->series[s].y = read_numbers(L, se, "y", &ny, anchor);
    if (nx != ny) luaL_error(L, "plot_curves: series %d has %d x and %d y values", s + 1, (int)nx, (int)ny);
    p->series[s].n = nx;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

static int l_plot_curves(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_newtable(L);
  int anchor = lua_gettop(L);
  lua_getfield(L, 2, "width");
  lua_getfield(L, 2, "height");
  lua_Integer w = luaL_optinteger(L, -2, 900), h = luaL_optinteger(L, -1, 360);
  lua_pop(L, 2);
  if (w < 100 || w > 8000 || h < 100 || h > 8000) luaL_error(L, "plot_curves: width and height must be in [100, 8000]");
  lua_getfield(L, 2, "panels");
  int pt = lua_gettop(L);
  if (!lua_istable(L, pt)) luaL_error(L, "plot_curves: a 'panels' list expected");
  int n = (int)luaL_len(L, pt);
  if (n < 1 || n > PLOT_MAX_PANELS) luaL_error(L, "plot_curves: between 1 and %d panels expected", PLOT_MAX_PANELS);
  PlotPanel panels[PLOT_MAX_PANELS];
  for (int i = 0; i < n; i++) {
    lua_geti(L, pt, i + 1);
    luaL_checktype(L, -1, LUA_TTABLE);
    read_panel(L, lua_gettop(L), &panels[i], anchor);
    lua_pop(L, 1);
  }
  char err[512];
  if (plot_panels(path, (int)w, (int)h, panels, n, err, sizeof err)) return luaL_error(L, "plot_curves: %s", err);
  return 0;
}

static const struct { const char *name; double rgb[3]; } NAMED_COLOURS[] = {
  {"black", {0, 0, 0}}, {"grey", {0.45, 0.45, 0.45}}, {"red", {0.84, 0.1, 0.1}},
  {"green", {0.1, 0.55, 0.1}}, {"blue", {0.12, 0.3, 0.8}}, {"orange", {0.9, 0.45, 0.0}}};

/* the caption line at the top of the stack: "text" or {text, color = name or {r, g, b}} */
static void read_caption_line(lua_State *L, size_t k, size_t l, CaptionLine *line) {
  int t = lua_gettop(L);
  line->rgb[0] = line->rgb[1] = line->rgb[2] = 0;
  if (lua_type(L, t) == LUA_TSTRING) { line->text = lua_tostring(L, t); return; }
  if (!lua_istable(L, t))
    luaL_error(L, "write_png_captioned: captions[%d][%d] must be a string or {text, color = ...}", (int)k + 1, (int)l + 1);
  lua_geti(L, t, 1);
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_error(L, "write_png_captioned: captions[%d][%d][1] must be the text (a string)", (int)k + 1, (int)l + 1);
  line->text = lua_tostring(L, -1);   /* stays alive: the captions table holds it */
  lua_pop(L, 1);
  lua_getfield(L, t, "color");
  if (lua_type(L, -1) == LUA_TSTRING) {
    const char *name = lua_tostring(L, -1);
    size_t i, nc = sizeof NAMED_COLOURS / sizeof NAMED_COLOURS[0];
    for (i = 0; i < nc && strcmp(name, NAMED_COLOURS[i].name) != 0; i++) {}
    if (i == nc)
      luaL_error(L, "write_png_captioned: captions[%d][%d]: unknown color '%s' (black, grey, red, green, blue, "
                 "orange, or {r, g, b})", (int)k + 1, (int)l + 1, name);
    memcpy(line->rgb, NAMED_COLOURS[i].rgb, sizeof line->rgb);
  } else if (lua_istable(L, -1)) {
    for (int c = 0; c < 3; c++) {
      lua_geti(L, -1, c + 1);
      int ok;
      double v = lua_tonumberx(L, -1, &ok);
      if (!ok || !(v >= 0 && v <= 1))
        luaL_error(L, "write_png_captioned: captions[%d][%d]: color {r, g, b} with numbers in [0, 1] expected",
                   (int)k + 1, (int)l + 1);
      line->rgb[c] = v;
      lua_pop(L, 1);
    }
  } else if (!lua_isnil(L, -1)) {
    luaL_error(L, "write_png_captioned: captions[%d][%d]: color must be a name or {r, g, b}", (int)k + 1, (int)l + 1);
  }
  lua_pop(L, 1);
}

/* opts[name] (opts at index 4): nil, or a list of exactly `count` strings,
 * whose pointers stay valid while opts lives; the array is a userdata left
 * on the stack */
static const char *const *label_list(lua_State *L, const char *name, size_t count) {
  int type = lua_getfield(L, 4, name);
  if (type == LUA_TNIL) { lua_pop(L, 1); return NULL; }
  if (type != LUA_TTABLE || (size_t)luaL_len(L, -1) != count)
    luaL_error(L, "write_png_captioned: option '%s' must list %d strings (one per %s)", name, (int)count,
               name[0] == 'r' ? "row" : "column");
  const char **list = (const char **)lua_newuserdatauv(L, count * sizeof *list, 0);
  for (size_t i = 0; i < count; i++) {
    lua_geti(L, -2, (lua_Integer)i + 1);
    if (!lua_isstring(L, -1))
      luaL_error(L, "write_png_captioned: option '%s'[%d] must be a string", name, (int)i + 1);
    list[i] = lua_tostring(L, -1);   /* the string lives in opts */
    lua_pop(L, 1);
  }
  lua_remove(L, -2);   /* the list table; the userdata stays */
  return list;
}

/* write_png_captioned(path, images (n, h, w), (n, 1, h, w) or (n, 3, h, w), captions
 * [, {cols, scale, title, row_labels, col_labels}]) -> width, height. captions[i] lists
 * image i's lines (at most 8); row_labels: one string per row of the grid, col_labels one per column. */
static int l_write_png_captioned(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  Tensor *t = lt_check(L, 2);
  if (!((t->ndim == 3 || (t->ndim == 4 && (t->shape[1] == 1 || t->shape[1] == 3))) && t->numel > 0))
    luaL_argerror(L, 2, "non-empty (n, h, w), (n, 1, h, w) or (n, 3, h, w) tensor of images expected");
  luaL_checktype(L, 3, LUA_TTABLE);
  if (!lua_isnoneornil(L, 4)) luaL_checktype(L, 4, LUA_TTABLE);
  lua_settop(L, 4);   /* opts at 4 (nil when absent), whatever is pushed later */
  CaptionedGrid g = {.images = t->data, .n = t->shape[0], .h = t->shape[t->ndim - 2], .w = t->shape[t->ndim - 1],
                     .channels = t->ndim == 4 ? t->shape[1] : 1};
  if ((size_t)luaL_len(L, 3) != g.n)
    return luaL_error(L, "write_png_captioned: %d captions for %d images", (int)luaL_len(L, 3), (int)g.n);
  for (size_t k = 0; k < g.n; k++) {
    if (lua_geti(L, 3, (lua_Integer)k + 1) != LUA_TTABLE)
      return luaL_error(L, "write_png_captioned: captions[%d] must be a list of lines", (int)k + 1);
    size_t n = (size_t)luaL_len(L, -1);
    if (n > CAPTION_MAX_LINES)
      return luaL_error(L, "write_png_captioned: captions[%d] has %d lines, at most %d", (int)k + 1, (int)n, CAPTION_MAX_LINES);
    if (n > g.nlines) g.nlines = n;
    lua_pop(L, 1);
  }
  CaptionLine *lines = (CaptionLine *)lua_newuserdatauv(L, (g.nlines > 0 ? g.n * g.nlines : 1) * sizeof *lines, 0);
  for (size_t k = 0; k < g.n; k++) {
    lua_geti(L, 3, (lua_Integer)k + 1);
    size_t n = (size_t)luaL_len(L, -1);
    for (size_t l = 0; l < g.nlines; l++) {
      lines[k * g.nlines + l].text = NULL;
      if (l >= n) continue;
      lua_geti(L, -1, (lua_Integer)l + 1);
      read_caption_line(L, k, l, &lines[k * g.nlines + l]);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  g.lines = lines;
  g.cols = g.n < 10 ? g.n : 10;
  g.scale = 2;
  if (!lua_isnil(L, 4)) {
    lua_getfield(L, 4, "cols");
    lua_getfield(L, 4, "scale");
    lua_getfield(L, 4, "title");
    lua_Integer cols = luaL_optinteger(L, -3, (lua_Integer)g.cols), scale = luaL_optinteger(L, -2, 2);
    if (cols < 1 || cols > CAPTION_MAX_SIDE) luaL_error(L, "write_png_captioned: option 'cols' must be in [1, %d]", CAPTION_MAX_SIDE);
    if (scale < 1 || scale > 64) luaL_error(L, "write_png_captioned: option 'scale' must be in [1, 64]");
    g.cols = (size_t)cols;
    g.scale = (size_t)scale;
    g.title = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);   /* held by opts */
    lua_pop(L, 3);
    size_t shown = g.cols < g.n ? g.cols : g.n;
    g.row_labels = label_list(L, "row_labels", (g.n + shown - 1) / shown);
    g.col_labels = label_list(L, "col_labels", shown);
  }
  size_t W, H;
  captioned_grid_size(&g, &W, &H);
  if (W == 0) return luaL_error(L, "write_png_captioned: image larger than %d pixels on a side", CAPTION_MAX_SIDE);
  char err[512];
  if (captioned_grid_write(path, &g, err, sizeof err)) return luaL_error(L, "write_png_captioned: %s", err);
  lua_pushinteger(L, (lua_Integer)W);
  lua_pushinteger(L, (lua_Integer)H);
  return 2;
}

static const luaL_Reg plot_funcs[] = {{"plot_curves", l_plot_curves}, {"write_png_captioned", l_write_png_captioned},
                                      {NULL, NULL}};

void lplot_register(lua_State *L) { luaL_setfuncs(L, plot_funcs, 0); }
