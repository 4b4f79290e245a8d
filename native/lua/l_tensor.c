/* l_tensor.c: the Tensor and Generator userdata: creation, shape, views,
 * element access, printing. */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <math.h>
#include "binding.h"

#define MAX_ELEMENTS ((size_t)1 << 34) /* 64 GiB of floats: refuse beyond */

Tensor *lt_check(lua_State *L, int arg) {
  return (Tensor *)luaL_checkudata(L, arg, TENSOR_MT);
}

static Tensor *lt_push_empty(lua_State *L) {
  Tensor *t = (Tensor *)lua_newuserdatauv(L, sizeof(Tensor), 1);
  memset(t, 0, sizeof *t);            /* safe for __gc before data exists */
  luaL_setmetatable(L, TENSOR_MT);
  return t;
}

static void lt_set_shape(lua_State *L, Tensor *t, int ndim, const size_t *shape) {
  int overflow;
  size_t n = tensor_shape_numel(shape, ndim, &overflow);
  if (ndim < 0 || ndim > CAPS_MAXDIM)
    luaL_error(L, "tensor: %d dimensions given, at most %d supported", ndim, CAPS_MAXDIM);
  if (overflow || n > MAX_ELEMENTS) {
    char buf[128];
    luaL_error(L, "tensor: shape %s is too large", tensor_shape_str(shape, ndim, buf, sizeof buf));
  }
  t->ndim = ndim;
  for (int i = 0; i < CAPS_MAXDIM; i++) t->shape[i] = i < ndim ? shape[i] : 1;
  t->numel = n;
}

Tensor *lt_push_adopted(lua_State *L, float *data, size_t capacity, int ndim, const size_t *shape) {
  Tensor *t = lt_push_empty(L);
  int overflow;
  t->numel = tensor_shape_numel(shape, ndim, &overflow);   /* the caller's shape fits its buffer */
  t->ndim = ndim;
  for (int i = 0; i < CAPS_MAXDIM; i++) t->shape[i] = i < ndim ? shape[i] : 1;
  if (!data || capacity == 0) {   /* an empty tensor still owns one float, as lt_push_new's */
    free(data);
    data = malloc(sizeof(float));
    capacity = 1;
    if (!data) luaL_error(L, "tensor: out of memory");
  }
  t->data = data;
  t->capacity = capacity;
  return t;
}

Tensor *lt_push_new(lua_State *L, int ndim, const size_t *shape) {
  Tensor *t = lt_push_empty(L);
  lt_set_shape(L, t, ndim, shape);
  size_t n = t->numel ? t->numel : 1;
  t->data = (float *)calloc(n, sizeof(float));
  if (!t->data) luaL_error(L, "tensor: out of memory allocating %zu floats", n);
  t->capacity = n;
  return t;
}

Tensor *lt_push_reuse(lua_State *L, int arg, int ndim, const size_t *shape) {
  if (arg > 0 && !lua_isnoneornil(L, arg)) {
    Tensor *t = lt_check(L, arg);
    int overflow;
    size_t n = tensor_shape_numel(shape, ndim, &overflow);
    if (!overflow && t->capacity >= n && t->capacity > 0) {
      lt_set_shape(L, t, ndim, shape);
      lua_pushvalue(L, arg);
      return t;
    }
  }
  return lt_push_new(L, ndim, shape);
}

void lt_check_shape(lua_State *L, int arg, const Tensor *t, int ndim, const size_t *shape) {
  int ok = t->ndim == ndim;
  for (int i = 0; ok && i < ndim; i++)
    if (shape[i] != 0 && shape[i] != t->shape[i]) ok = 0;
  if (!ok) {
    char want[160], got[160];
    size_t pos = 0;
    pos += (size_t)snprintf(want, sizeof want, "(");
    for (int i = 0; i < ndim; i++) {
      if (shape[i]) pos += (size_t)snprintf(want + pos, sizeof want - pos, i ? ", %zu" : "%zu", shape[i]);
      else pos += (size_t)snprintf(want + pos, sizeof want - pos, i ? ", *" : "*");
    }
    snprintf(want + pos, sizeof want - pos, ")");
    luaL_argerror(L, arg, lua_pushfstring(L, "tensor of shape %s expected, got %s", want,
                  tensor_shape_str(t->shape, t->ndim, got, sizeof got)));
  }
}

void lt_check_ndim(lua_State *L, int arg, const Tensor *t, int ndim) {
  if (t->ndim != ndim)
    luaL_argerror(L, arg, lua_pushfstring(L, "%d-D tensor expected, got %d-D", ndim, t->ndim));
}

size_t lt_check_size(lua_State *L, int arg, lua_Integer lo, lua_Integer hi) {
  lua_Integer v = luaL_checkinteger(L, arg);
  if (v < lo || v > hi)
    luaL_argerror(L, arg, lua_pushfstring(L, "integer in [%I, %I] expected, got %I", lo, hi, v));
  return (size_t)v;
}

int lt_read_shape(lua_State *L, int first, size_t *shape) {
  int ndim = 0;
  if (lua_istable(L, first)) {
    lua_Integer n = luaL_len(L, first);
    if (n > CAPS_MAXDIM) luaL_argerror(L, first, "at most 5 dimensions expected");
    for (lua_Integer i = 1; i <= n; i++) {
      lua_geti(L, first, i);
      int isnum;
      lua_Integer v = lua_tointegerx(L, -1, &isnum);
      if (!isnum || v < 0 || v > (lua_Integer)MAX_ELEMENTS)
        luaL_argerror(L, first, lua_pushfstring(L, "dimension %I must be a non-negative integer", i));
      shape[ndim++] = (size_t)v;
      lua_pop(L, 1);
    }
    return ndim;
  }
  int top = lua_gettop(L);
  if (top - first + 1 > CAPS_MAXDIM) luaL_argerror(L, first + CAPS_MAXDIM, "at most 5 dimensions expected");
  for (int i = first; i <= top; i++)
    shape[ndim++] = lt_check_size(L, i, 0, (lua_Integer)MAX_ELEMENTS);
  return ndim;
}

/* ---- creation ---- */

static int t_zeros(lua_State *L) {
  size_t shape[CAPS_MAXDIM];
  int nd = lt_read_shape(L, 1, shape);
  lt_push_new(L, nd, shape);
  return 1;
}

static int t_ones(lua_State *L) {
  size_t shape[CAPS_MAXDIM];
  int nd = lt_read_shape(L, 1, shape);
  Tensor *t = lt_push_new(L, nd, shape);
  for (size_t i = 0; i < t->numel; i++) t->data[i] = 1.0f;
  return 1;
}

/* Walks a nested table to find its shape (first elements) */
static int table_shape(lua_State *L, int idx, size_t *shape) {
  int nd = 0;
  lua_pushvalue(L, idx);
  while (lua_istable(L, -1)) {
    if (nd == CAPS_MAXDIM) luaL_error(L, "tensor.new: table nested deeper than 5 levels");
    shape[nd++] = (size_t)luaL_len(L, -1);
    lua_geti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
  return nd;
}

static void table_fill(lua_State *L, int idx, const size_t *shape, int nd, int d,
                       float *out, size_t *pos) {
  if (!lua_istable(L, idx) || (size_t)luaL_len(L, idx) != shape[d])
    luaL_error(L, "tensor.new: ragged table (level %d should hold %d entries)", d + 1, (int)shape[d]);
  for (size_t i = 1; i <= shape[d]; i++) {
    lua_geti(L, idx, (lua_Integer)i);
    if (d + 1 < nd) {
      table_fill(L, lua_gettop(L), shape, nd, d + 1, out, pos);
    } else {
      int isnum;
      lua_Number v = lua_tonumberx(L, -1, &isnum);
      if (!isnum) luaL_error(L, "tensor.new: entry %d at level %d is a %s, number expected",
                             (int)i, d + 1, luaL_typename(L, -1));
      out[(*pos)++] = (float)v;
    }
    lua_pop(L, 1);
  }
}

static int t_new(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t shape[CAPS_MAXDIM];
  int nd = table_shape(L, 1, shape);
  Tensor *t = lt_push_new(L, nd, shape);
  size_t pos = 0;
  if (t->numel) table_fill(L, 1, shape, nd, 0, t->data, &pos);
  return 1;
}

/* ---- shape and views ---- */

static int m_dim(lua_State *L) { lua_pushinteger(L, lt_check(L, 1)->ndim); return 1; }
static int m_numel(lua_State *L) { lua_pushinteger(L, (lua_Integer)lt_check(L, 1)->numel); return 1; }

static int m_size(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  if (lua_isnoneornil(L, 2)) {
    lua_createtable(L, t->ndim, 0);
    for (int i = 0; i < t->ndim; i++) {
      lua_pushinteger(L, (lua_Integer)t->shape[i]);
      lua_rawseti(L, -2, i + 1);
    }
    return 1;
  }
  lua_Integer d = luaL_checkinteger(L, 2);
  if (d < 0) d += t->ndim + 1;
  luaL_argcheck(L, d >= 1 && d <= t->ndim, 2, "dimension out of range");
  lua_pushinteger(L, (lua_Integer)t->shape[d - 1]);
  return 1;
}

static int m_len(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  lua_pushinteger(L, t->ndim ? (lua_Integer)t->shape[0] : 0);
  return 1;
}

static int m_reshape(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  size_t shape[CAPS_MAXDIM];
  int nd = 0, infer = -1;
  int n = lua_istable(L, 2) ? (int)luaL_len(L, 2) : lua_gettop(L) - 1;
  luaL_argcheck(L, n >= 0 && n <= CAPS_MAXDIM, 2, "at most 5 dimensions expected");
  size_t known = 1;
  for (int i = 0; i < n; i++) {
    lua_Integer v;
    if (lua_istable(L, 2)) { lua_geti(L, 2, i + 1); v = luaL_checkinteger(L, -1); lua_pop(L, 1); }
    else v = luaL_checkinteger(L, i + 2);
    if (v == -1 && infer < 0) { infer = i; shape[nd++] = 1; continue; }
    luaL_argcheck(L, v >= 0, i + 2, "dimensions must be non-negative (one may be -1)");
    shape[nd++] = (size_t)v;
    if (v && known > SIZE_MAX / (size_t)v) luaL_argerror(L, i + 2, "shape too large");
    known *= (size_t)v;
  }
  if (infer >= 0) {
    if (known == 0 || t->numel % known)
      luaL_error(L, "reshape: cannot infer -1 for %d elements", (int)t->numel);
    shape[infer] = t->numel / known;
    known = t->numel;
  }
  if (known != t->numel) {
    char a[128], b[128];
    luaL_error(L, "reshape: shape %s holds %d elements, the tensor %s holds %d",
               tensor_shape_str(shape, nd, a, sizeof a), (int)known,
               tensor_shape_str(t->shape, t->ndim, b, sizeof b), (int)t->numel);
  }
  Tensor *v = lt_push_empty(L);
  lt_set_shape(L, v, nd, shape);
  v->data = t->data;
  v->capacity = 0;                 /* a view: the base owns the memory */
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);     /* keeps the base alive */
  return 1;
}

static int m_clone(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  Tensor *c = lt_push_new(L, t->ndim, t->shape);
  if (t->numel) memcpy(c->data, t->data, t->numel * sizeof(float));
  return 1;
}

static int m_copy(lua_State *L) {
  Tensor *t = lt_check(L, 1), *s = lt_check(L, 2);
  if (t->numel != s->numel) {
    char a[128], b[128];
    luaL_error(L, "copy_: source %s has %d elements, destination %s has %d",
               tensor_shape_str(s->shape, s->ndim, a, sizeof a), (int)s->numel,
               tensor_shape_str(t->shape, t->ndim, b, sizeof b), (int)t->numel);
  }
  if (t->numel) memmove(t->data, s->data, t->numel * sizeof(float));
  lua_settop(L, 1);
  return 1;
}

static int m_fill(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  float v = (float)luaL_checknumber(L, 2);
  for (size_t i = 0; i < t->numel; i++) t->data[i] = v;
  lua_settop(L, 1);
  return 1;
}

/* 1-based indices at args first..first+ndim-1 into a flat offset */
static size_t element_offset(lua_State *L, Tensor *t, int first) {
  size_t off = 0;
  for (int d = 0; d < t->ndim; d++) {
    lua_Integer i = luaL_checkinteger(L, first + d);
    if (i < 1 || (size_t)i > t->shape[d])
      luaL_argerror(L, first + d, lua_pushfstring(L, "index %I out of range [1, %I] for dimension %d",
                    i, (lua_Integer)t->shape[d], d + 1));
    off = off * t->shape[d] + (size_t)(i - 1);
  }
  return off;
}

static int m_get(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  if (lua_gettop(L) - 1 != t->ndim)
    luaL_error(L, "get: %d indices expected for a %d-D tensor, got %d", t->ndim, t->ndim, lua_gettop(L) - 1);
  lua_pushnumber(L, t->data[element_offset(L, t, 2)]);
  return 1;
}

static int m_set(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  if (lua_gettop(L) - 2 != t->ndim)
    luaL_error(L, "set: %d indices and a value expected for a %d-D tensor", t->ndim, t->ndim);
  float v = (float)luaL_checknumber(L, t->ndim + 2);
  t->data[element_offset(L, t, 2)] = v;
  lua_settop(L, 1);
  return 1;
}

static void push_table_rec(lua_State *L, const Tensor *t, int d, size_t *pos) {
  if (d >= CAPS_MAXDIM) return;
  lua_createtable(L, (int)t->shape[d], 0);
  for (size_t i = 0; i < t->shape[d]; i++) {
    if (d + 1 < t->ndim) push_table_rec(L, t, d + 1, pos);
    else lua_pushnumber(L, t->data[(*pos)++]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

static int m_totable(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  size_t pos = 0;
  if (t->ndim == 0) { lua_pushnumber(L, t->data[0]); return 1; }
  push_table_rec(L, t, 0, &pos);
  return 1;
}

static int m_tostring(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  char shp[128];
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  size_t last = t->ndim ? t->shape[t->ndim - 1] : 1;
  size_t show = t->numel <= 64 ? t->numel : 48;
  for (size_t i = 0; i < show; i++) {
    char num[32];
    snprintf(num, sizeof num, "%10.4g", (double)t->data[i]);
    luaL_addstring(&b, num);
    luaL_addchar(&b, (last && (i + 1) % last == 0) ? '\n' : ' ');
  }
  if (show < t->numel) luaL_addstring(&b, " ...\n");
  lua_pushfstring(L, "[capsrun.Tensor float32 of shape %s]",
                  tensor_shape_str(t->shape, t->ndim, shp, sizeof shp));
  luaL_addvalue(&b);
  luaL_pushresult(&b);
  return 1;
}

static int m_gc(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  if (t->capacity) free(t->data);
  t->data = NULL;
  t->capacity = 0;
  return 0;
}

/* ---- Generator ---- */

Rng *lrng_check(lua_State *L, int arg) { return (Rng *)luaL_checkudata(L, arg, RNG_MT); }

static int g_new(lua_State *L) {
  lua_Integer seed = luaL_optinteger(L, 1, 0);
  Rng *r = (Rng *)lua_newuserdatauv(L, sizeof(Rng), 0);
  rng_seed(r, (uint64_t)seed);
  luaL_setmetatable(L, RNG_MT);
  return 1;
}

static int g_seed(lua_State *L) {
  rng_seed(lrng_check(L, 1), (uint64_t)luaL_checkinteger(L, 2));
  lua_settop(L, 1);
  return 1;
}

static int g_state(lua_State *L) {
  Rng *r = lrng_check(L, 1);
  lua_pushlstring(L, (const char *)r->s, sizeof r->s);
  return 1;
}

static int g_set_state(lua_State *L) {
  Rng *r = lrng_check(L, 1);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  luaL_argcheck(L, len == sizeof r->s, 2, "state string of 32 bytes (from state()) expected");
  memcpy(r->s, s, sizeof r->s);
  lua_settop(L, 1);
  return 1;
}

static int g_uniform(lua_State *L) { lua_pushnumber(L, rng_uniform(lrng_check(L, 1))); return 1; }
static int g_normal(lua_State *L) { lua_pushnumber(L, rng_normal(lrng_check(L, 1))); return 1; }

static int g_random(lua_State *L) {
  Rng *r = lrng_check(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 1, 2, "positive upper bound expected");
  lua_pushinteger(L, (lua_Integer)rng_below(r, (uint64_t)n) + 1);
  return 1;
}

/* permutation(n): a 1-D tensor holding 0..n-1 in a random order (Fisher-Yates) */
static int g_permutation(lua_State *L) {
  Rng *r = lrng_check(L, 1);
  size_t n = lt_check_size(L, 2, 1, (lua_Integer)1 << 24); /* exact in float32 */
  Tensor *t = lt_push_new(L, 1, &n);
  for (size_t i = 0; i < n; i++) t->data[i] = (float)i;
  for (size_t i = n - 1; i > 0; i--) {
    size_t j = (size_t)rng_below(r, i + 1);
    float tmp = t->data[i]; t->data[i] = t->data[j]; t->data[j] = tmp;
  }
  return 1;
}

static int m_uniform(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  Rng *r = lrng_check(L, 2);
  double lo = luaL_optnumber(L, 3, 0.0), hi = luaL_optnumber(L, 4, 1.0);
  for (size_t i = 0; i < t->numel; i++) t->data[i] = (float)(lo + (hi - lo) * rng_uniform(r));
  lua_settop(L, 1);
  return 1;
}

static int m_normal(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  Rng *r = lrng_check(L, 2);
  double mean = luaL_optnumber(L, 3, 0.0), sd = luaL_optnumber(L, 4, 1.0);
  for (size_t i = 0; i < t->numel; i++) t->data[i] = (float)(mean + sd * rng_normal(r));
  lua_settop(L, 1);
  return 1;
}

static const luaL_Reg tensor_methods[] = {
  {"dim", m_dim}, {"numel", m_numel}, {"size", m_size}, {"reshape", m_reshape},
  {"view", m_reshape}, {"clone", m_clone}, {"copy_", m_copy}, {"fill_", m_fill},
  {"get", m_get}, {"set", m_set}, {"totable", m_totable},
  {"uniform_", m_uniform}, {"normal_", m_normal}, {NULL, NULL}};

static const luaL_Reg tensor_meta[] = {
  {"__gc", m_gc}, {"__tostring", m_tostring}, {"__len", m_len}, {NULL, NULL}};

static const luaL_Reg gen_methods[] = {
  {"seed", g_seed}, {"state", g_state}, {"set_state", g_set_state}, {"uniform", g_uniform},
  {"normal", g_normal}, {"random", g_random}, {"permutation", g_permutation}, {NULL, NULL}};

static const luaL_Reg module_funcs[] = {
  {"zeros", t_zeros}, {"ones", t_ones}, {"new", t_new}, {"generator", g_new}, {NULL, NULL}};

int luaopen_capsrun_tensor(lua_State *L) {
  int mod = lua_gettop(L);
  luaL_newmetatable(L, TENSOR_MT);
  luaL_setfuncs(L, tensor_meta, 0);
  luaL_newlib(L, tensor_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newmetatable(L, RNG_MT);
  luaL_newlib(L, gen_methods);
  lua_setfield(L, -2, "__index");
  lua_pushstring(L, "capsrun.Generator");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lua_pushvalue(L, mod);
  luaL_setfuncs(L, module_funcs, 0);
  lua_pop(L, 1);
  return 0;
}
