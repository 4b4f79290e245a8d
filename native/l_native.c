/* l_native.c: the "capsrun.native" module: every C function in one table. */
#include "lcaps.h"

int luaopen_capsrun_native(lua_State *L) {
  lua_newtable(L);
  luaopen_capsrun_tensor(L);
  lops_register(L);
  lnn_register(L);
  ldata_register(L);
  return 1;
}
