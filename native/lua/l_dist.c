/* l_dist.c: data-parallel primitives over MPI (OpenMPI from Debian), or a
 * world of one process when capsrun is built without MPI or not started by
 * mpirun. MPI starts lazily on the first dist call, only when the launcher's
 * environment says there are ranks to talk to. Errors come back as Lua
 * errors (MPI_ERRORS_RETURN), never as an abort inside a kernel. */
#include <stdlib.h>
#include <string.h>
#include "binding.h"
#ifdef CAPSRUN_MPI
#include <mpi.h>
#endif

#ifdef CAPSRUN_MPI
static int launched_by_mpirun(void) {
  return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

/* 1 when MPI is up (starting it on first use), 0 for a world of one */
static int dist_active(lua_State *L) {
  int inited = 0;
  MPI_Initialized(&inited);
  if (inited) return 1;
  if (!launched_by_mpirun()) return 0;
  int provided;
  if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    luaL_error(L, "dist: MPI_Init failed");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  return 1;
}

static void check(lua_State *L, int rc, const char *what) {
  if (rc != MPI_SUCCESS) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    luaL_error(L, "dist.%s: MPI error: %s", what, msg);
  }
}
#endif

static int l_rank(lua_State *L) {
  int r = 0;
#ifdef CAPSRUN_MPI
  if (dist_active(L)) MPI_Comm_rank(MPI_COMM_WORLD, &r);
#endif
  lua_pushinteger(L, r);
  return 1;
}

static int l_size(lua_State *L) {
  int n = 1;
#ifdef CAPSRUN_MPI
  if (dist_active(L)) MPI_Comm_size(MPI_COMM_WORLD, &n);
#endif
  lua_pushinteger(L, n);
  return 1;
}

static int l_available(lua_State *L) {
#ifdef CAPSRUN_MPI
  lua_pushboolean(L, 1);
#else
  lua_pushboolean(L, 0);
#endif
  return 1;
}

/* allreduce_(t, "sum" | "mean"): in place over all ranks */
static int l_allreduce(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  static const char *const ops[] = {"sum", "mean", NULL};
  int op = luaL_checkoption(L, 2, "sum", ops);
  if (t->numel > (size_t)0x7fffffff) luaL_argerror(L, 1, "tensor too large for one allreduce");
#ifdef CAPSRUN_MPI
  if (dist_active(L)) {
    int n;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    check(L, MPI_Allreduce(MPI_IN_PLACE, t->data, (int)t->numel, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "allreduce_");
    if (op == 1) for (size_t i = 0; i < t->numel; i++) t->data[i] /= (float)n;
  }
#else
  (void)op;
#endif
  lua_settop(L, 1);
  return 1;
}

/* broadcast_(t, root): root's values into every rank's t */
static int l_broadcast(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  lua_Integer root = luaL_optinteger(L, 2, 0);
  if (t->numel > (size_t)0x7fffffff) luaL_argerror(L, 1, "tensor too large for one broadcast");
#ifdef CAPSRUN_MPI
  int n = 1;
  if (dist_active(L)) MPI_Comm_size(MPI_COMM_WORLD, &n);
  luaL_argcheck(L, root >= 0 && root < n, 2, "root rank out of range");
  if (n > 1) check(L, MPI_Bcast(t->data, (int)t->numel, MPI_FLOAT, (int)root, MPI_COMM_WORLD), "broadcast_");
#else
  luaL_argcheck(L, root == 0, 2, "root rank out of range");
#endif
  lua_settop(L, 1);
  return 1;
}

static int l_barrier(lua_State *L) {
#ifdef CAPSRUN_MPI
  if (dist_active(L)) check(L, MPI_Barrier(MPI_COMM_WORLD), "barrier");
#else
  (void)L;
#endif
  return 0;
}

void ldist_shutdown(int failed) {
#ifdef CAPSRUN_MPI
  int inited = 0, done = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&done);
  if (inited && !done) {
    if (failed) MPI_Abort(MPI_COMM_WORLD, 1);   /* the other ranks stop instead of waiting */
    else MPI_Finalize();
  }
#else
  (void)failed;
#endif
}

/* pack(list of tensors, flat) -> flat holding them end to end (reused when
 * big enough); unpack(flat, list) copies back: one allreduce for all grads */
static int l_pack(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t total = 0, n = (size_t)luaL_len(L, 1);
  for (size_t i = 1; i <= n; i++) {
    lua_geti(L, 1, (lua_Integer)i);
    total += lt_check(L, -1)->numel;
    lua_pop(L, 1);
  }
  Tensor *flat = lt_push_reuse(L, 2, 1, &total);
  size_t pos = 0;
  for (size_t i = 1; i <= n; i++) {
    lua_geti(L, 1, (lua_Integer)i);
    Tensor *t = lt_check(L, -1);
    memcpy(flat->data + pos, t->data, t->numel * sizeof(float));
    pos += t->numel;
    lua_pop(L, 1);
  }
  return 1;
}

static int l_unpack(lua_State *L) {
  Tensor *flat = lt_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  size_t pos = 0, n = (size_t)luaL_len(L, 2);
  for (size_t i = 1; i <= n; i++) {
    lua_geti(L, 2, (lua_Integer)i);
    Tensor *t = lt_check(L, -1);
    if (pos + t->numel > flat->numel)
      luaL_error(L, "dist_unpack: a flat buffer as large as the tensors expected, got %d values for more",
                 (int)flat->numel);
    memcpy(t->data, flat->data + pos, t->numel * sizeof(float));
    pos += t->numel;
    lua_pop(L, 1);
  }
  if (pos != flat->numel)
    luaL_error(L, "dist_unpack: a flat buffer of %d values (the tensors' total) expected, got %d",
               (int)pos, (int)flat->numel);
  return 0;
}

static const luaL_Reg dist_funcs[] = {
  {"dist_rank", l_rank}, {"dist_size", l_size}, {"dist_available", l_available},
  {"dist_allreduce_", l_allreduce}, {"dist_broadcast_", l_broadcast}, {"dist_barrier", l_barrier},
{"dist_pack", l_pack}, {"dist_unpack", l_unpack}, {NULL, NULL}};

void ldist_register(lua_State *L) { luaL_setfuncs(L, dist_funcs, 0); }
