/* l_workspace.c: buffers that a Lua module keeps between calls, in a plain
 * table (its "workspace"), reused when the shape still fits. */
#include "binding.h"

Tensor *lws_tensor(lua_State *L, int ws, const char *name, int ndim, const size_t *shape) {
  lua_getfield(L, ws, name);
  int old = lua_gettop(L);
  if (!lua_isnil(L, old) && !luaL_testudata(L, old, TENSOR_MT))
    luaL_error(L, "workspace field '%s' is not a tensor", name);
  Tensor *t = lt_push_reuse(L, old, ndim, shape);
  lua_setfield(L, ws, name);     /* the table keeps it alive once popped */
  lua_pop(L, 1);
  return t;
}

Tensor *lws_saved(lua_State *L, int ws, const char *name, const char *fn,
                  int ndim, const size_t *shape) {
  lua_getfield(L, ws, name);
  Tensor *t = (Tensor *)luaL_testudata(L, -1, TENSOR_MT);
  lua_pop(L, 1);
  int ok = t && t->ndim == ndim;
  for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
  if (!ok) luaL_error(L, "%s: no saved '%s' matching this input: call forward first", fn, name);
  return t;
}

int lws_push(lua_State *L, int ws, const char *name) {
  lua_getfield(L, ws, name);
  return 1;
}
