/* l_plot.c: plot_curves(path, {width, height, panels = {{title, xlabel,
 * ylabel, series = {{label, x = {...}, y = {...}}, ...}}, ...}}) */
#include <string.h>
#include "binding.h"
#include "plot.h"

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

static const luaL_Reg plot_funcs[] = {{"plot_curves", l_plot_curves}, {NULL, NULL}};

void lplot_register(lua_State *L) { luaL_setfuncs(L, plot_funcs, 0); }
