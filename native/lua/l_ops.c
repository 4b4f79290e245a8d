/* l_ops.c: elementwise arithmetic, reductions, matmul and row selection. */
#include <math.h>
#include <string.h>
#include <float.h>
#include <limits.h>
#include "binding.h"
#include "tensor_math.h"
#include "matmul.h"

/* a OP b where either side may be a number; tensors must have equal shapes */
static int binary(lua_State *L, int op, const char *name) {
  Tensor *a = lua_isnumber(L, 1) ? NULL : lt_check(L, 1);
  Tensor *b = lua_isnumber(L, 2) ? NULL : lt_check(L, 2);
  if (a && b && !tensor_same_shape(a, b)) {
    char x[128], y[128];
    return luaL_error(L, "%s: shapes %s and %s differ", name,
                      tensor_shape_str(a->shape, a->ndim, x, sizeof x),
                      tensor_shape_str(b->shape, b->ndim, y, sizeof y));
  }
  const Tensor *like = a ? a : b;
  Tensor *r = lt_push_new(L, like->ndim, like->shape);
  float sa = a ? 0.0f : (float)lua_tonumber(L, 1), sb = b ? 0.0f : (float)lua_tonumber(L, 2);
  tm_binary(op, r->numel, a ? a->data : NULL, sa, b ? b->data : NULL, sb, r->data);
  return 1;
}

static int m_add(lua_State *L) { return binary(L, TM_ADD, "add"); }
static int m_sub(lua_State *L) { return binary(L, TM_SUB, "sub"); }
static int m_mul(lua_State *L) { return binary(L, TM_MUL, "mul"); }
static int m_div(lua_State *L) { return binary(L, TM_DIV, "div"); }

static int m_unm(lua_State *L) {
  Tensor *a = lt_check(L, 1);
  Tensor *r = lt_push_new(L, a->ndim, a->shape);
  tm_neg(r->numel, a->data, r->data);
  return 1;
}

/* t:add_(x [, alpha]): t += alpha * x, x a tensor of t's size or a number */
static int m_add_(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  if (lua_isnumber(L, 2)) {
    tm_add_scalar(t->numel, (float)lua_tonumber(L, 2), t->data);
  } else {
    Tensor *x = lt_check(L, 2);
    float alpha = (float)luaL_optnumber(L, 3, 1.0);
    if (x->numel != t->numel) luaL_argerror(L, 2, "tensor with as many elements as self expected");
    tm_axpy(t->numel, alpha, x->data, t->data);
  }
  lua_settop(L, 1);
  return 1;
}

/* t:mul_(x): t *= x, x a number or a tensor of t's size */
/* t:clamp_(lo, hi): every value into [lo, hi], in place (NaN stays NaN) */
static int m_clamp_(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  float lo = (float)luaL_checknumber(L, 2), hi = (float)luaL_checknumber(L, 3);
  luaL_argcheck(L, lo <= hi, 3, "an upper bound not below the lower one expected");
  tm_clamp(t->numel, lo, hi, t->data);
  lua_settop(L, 1);
  return 1;
}

static int m_mul_(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  if (lua_isnumber(L, 2)) {
    tm_scale(t->numel, (float)lua_tonumber(L, 2), t->data);
  } else {
    Tensor *x = lt_check(L, 2);
    if (x->numel != t->numel) luaL_argerror(L, 2, "tensor with as many elements as self expected");
    tm_mul(t->numel, x->data, t->data);
  }
  lua_settop(L, 1);
  return 1;
}

static int m_sum(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  lua_pushnumber(L, tm_sum(t->numel, t->data));
  return 1;
}

static int m_mean(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  luaL_argcheck(L, t->numel > 0, 1, "mean of an empty tensor");
  lua_pushnumber(L, tm_sum(t->numel, t->data) / (double)t->numel);
  return 1;
}

static int extreme(lua_State *L, int want_max) {
  Tensor *t = lt_check(L, 1);
  luaL_argcheck(L, t->numel > 0, 1, "non-empty tensor expected");
  size_t best = tm_extreme(t->numel, t->data, want_max);
  lua_pushnumber(L, t->data[best]);
  lua_pushinteger(L, (lua_Integer)best + 1);
  return 2;
}

static int m_max(lua_State *L) { return extreme(L, 1); }
static int m_min(lua_State *L) { return extreme(L, 0); }

static int m_norm(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  lua_pushnumber(L, sqrt(tm_sumsq(t->numel, t->data)));
  return 1;
}

static int m_dot(lua_State *L) {
  Tensor *a = lt_check(L, 1), *b = lt_check(L, 2);
  if (a->numel != b->numel) luaL_argerror(L, 2, "tensor with as many elements as self expected");
  lua_pushnumber(L, tm_dot(a->numel, a->data, b->data));
  return 1;
}

/* argmax over the last dimension: shape (..., n) -> (...), 0-based indices,
 * which for class scores are the class labels themselves */
static int m_argmax(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  luaL_argcheck(L, t->ndim >= 1 && t->numel > 0, 1, "non-empty tensor expected");
  size_t n = t->shape[t->ndim - 1], rows = t->numel / n;
  size_t shape[CAPS_MAXDIM] = {0};
  int nd = t->ndim - 1;
  for (int i = 0; i < nd; i++) shape[i] = t->shape[i];
  Tensor *r = lt_push_new(L, nd, shape);
  tm_argmax_rows(rows, n, t->data, r->data);
  return 1;
}

static int m_transpose(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  lt_check_ndim(L, 1, t, 2);
  size_t m = t->shape[0], n = t->shape[1], shape[2] = {n, m};
  Tensor *r = lt_push_new(L, 2, shape);
  tm_transpose(m, n, t->data, r->data);
  return 1;
}

/* matmul(a, b): (m, k) x (k, n) -> (m, n), OpenBLAS through matmul.c as every GEMM */
static int t_matmul(lua_State *L) {
  Tensor *a = lt_check(L, 1), *b = lt_check(L, 2);
  lt_check_ndim(L, 1, a, 2);
  lt_check_ndim(L, 2, b, 2);
  if (a->shape[1] != b->shape[0])
    return luaL_error(L, "matmul: inner dimensions differ: (%d, %d) x (%d, %d)", (int)a->shape[0],
                      (int)a->shape[1], (int)b->shape[0], (int)b->shape[1]);
  size_t m = a->shape[0], k = a->shape[1], n = b->shape[1], shape[2] = {m, n};
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX) return luaL_error(L, "matmul: matrix too large");
  Tensor *r = lt_push_new(L, 2, shape);
  if (m && n && k) {
    MatmulOp op = {.M = m, .N = n, .K = k};
    matmul_run(NULL, MATMUL_BLAS, &op, a->data, b->data, r->data);
  } else if (r->numel) {
    memset(r->data, 0, r->numel * sizeof(float));   /* k = 0: an empty sum */
  }
  return 1;
}

/* index_select(src, idx): rows of src (first dimension) at the 0-based indices in idx */
static int t_index_select(lua_State *L) {
  Tensor *src = lt_check(L, 1), *idx = lt_check(L, 2);
  luaL_argcheck(L, src->ndim >= 1, 1, "tensor with at least 1 dimension expected");
  lt_check_ndim(L, 2, idx, 1);
  size_t rows = src->shape[0], row = rows ? src->numel / rows : 0;
  size_t shape[CAPS_MAXDIM];
  memcpy(shape, src->shape, sizeof shape);
  shape[0] = idx->numel;
  for (size_t i = 0; i < idx->numel; i++) {
    float v = idx->data[i];
    if (!(v >= 0 && v < (float)rows) || v != floorf(v))
      return luaL_error(L, "index_select: index %f at position %d is not a row of a tensor with %d rows",
                        (double)v, (int)i + 1, (int)rows);
  }
  Tensor *r = lt_push_reuse(L, 3, src->ndim, shape);
  for (size_t i = 0; i < idx->numel; i++)
    memcpy(r->data + i * row, src->data + (size_t)idx->data[i] * row, row * sizeof(float));
  return 1;
}

/* narrow(src, first, count): copy of rows first..first+count-1 (1-based) */
static int t_narrow(lua_State *L) {
  Tensor *src = lt_check(L, 1);
  luaL_argcheck(L, src->ndim >= 1, 1, "tensor with at least 1 dimension expected");
  size_t first = lt_check_size(L, 2, 1, (lua_Integer)src->shape[0]);
  size_t count = lt_check_size(L, 3, 0, (lua_Integer)(src->shape[0] - first + 1));
  size_t row = src->shape[0] ? src->numel / src->shape[0] : 0, shape[CAPS_MAXDIM];
  memcpy(shape, src->shape, sizeof shape);
  shape[0] = count;
  Tensor *r = lt_push_new(L, src->ndim, shape);
  if (count) memcpy(r->data, src->data + (first - 1) * row, count * row * sizeof(float));
  return 1;
}

/* cat({t1, t2, ...}): rows of the tensors one after the other along the
 * first dimension; the other dimensions must agree */
static int t_cat(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 1);
  luaL_argcheck(L, n >= 1, 1, "non-empty list of tensors expected");
  lua_geti(L, 1, 1);
  Tensor *first = lt_check(L, -1);
  lua_pop(L, 1);
  luaL_argcheck(L, first->ndim >= 1, 1, "tensors with at least 1 dimension expected");
  size_t shape[CAPS_MAXDIM], rows = 0;
  memcpy(shape, first->shape, sizeof shape);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    Tensor *t = (Tensor *)luaL_testudata(L, -1, TENSOR_MT);
    if (!t) return luaL_error(L, "cat: entry %I is not a tensor", i);
    int same = t->ndim == first->ndim;
    for (int d = 1; same && d < t->ndim; d++) same = t->shape[d] == first->shape[d];
    if (!same) {
      char a[128], b[128];
      return luaL_error(L, "cat: entry %I has shape %s, entry 1 %s (all but the first dimension must agree)", i,
                        tensor_shape_str(t->shape, t->ndim, a, sizeof a),
                        tensor_shape_str(first->shape, first->ndim, b, sizeof b));
    }
    rows += t->shape[0];
    lua_pop(L, 1);
  }
  shape[0] = rows;
  Tensor *r = lt_push_new(L, first->ndim, shape);
  size_t pos = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    Tensor *t = lt_check(L, -1);
    if (t->numel) memcpy(r->data + pos, t->data, t->numel * sizeof(float));
    pos += t->numel;
    lua_pop(L, 1);
  }
  return 1;
}

static const luaL_Reg op_methods[] = {
  {"add", m_add}, {"sub", m_sub}, {"mul", m_mul}, {"div", m_div},
  {"add_", m_add_}, {"mul_", m_mul_}, {"sum", m_sum}, {"mean", m_mean},
  {"clamp_", m_clamp_}, {"max", m_max}, {"min", m_min}, {"norm", m_norm}, {"dot", m_dot},
  {"argmax", m_argmax}, {"t", m_transpose}, {"narrow", t_narrow}, {NULL, NULL}};

static const luaL_Reg op_meta[] = {
  {"__add", m_add}, {"__sub", m_sub}, {"__mul", m_mul}, {"__div", m_div},
  {"__unm", m_unm}, {NULL, NULL}};

static const luaL_Reg op_funcs[] = {
  {"matmul", t_matmul}, {"index_select", t_index_select}, {"narrow", t_narrow}, {"cat", t_cat}, {NULL, NULL}};

void lops_register(lua_State *L) {
  luaL_setfuncs(L, op_funcs, 0);
  luaL_getmetatable(L, TENSOR_MT);
  luaL_setfuncs(L, op_meta, 0);
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, op_methods, 0);
  lua_pop(L, 2);
}
