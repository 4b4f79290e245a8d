/* l_native.c: the "capsrun.native" module: every C function in one table,
 * plus the few system services scripts need (clock, terminal, threads). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <omp.h>
#include <cblas.h>
#include "binding.h"
#include "blas_core.h"
#include "cpu_features.h"

/* wallclock() -> seconds from a monotonic clock (os.clock is CPU time) */
static int l_wallclock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + ts.tv_nsec * 1e-9);
  return 1;
}

/* isatty(fd) -> boolean */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* the denormal mode of every OpenMP thread (OpenBLAS and oneDNN run on the
 * same pool) and of this one; returns 0 where the CPU has no such mode */
static int apply_flush_denormals(int on) {
  int ok = cpu_set_flush_denormals(on);
#pragma omp parallel
  cpu_set_flush_denormals(on);
  return ok;
}

/* set_threads(n): OpenMP and OpenBLAS threads; threads of a larger pool
 * start with this thread's denormal mode */
static int l_set_threads(lua_State *L) {
  int n = (int)lt_check_size(L, 1, 1, 1024);
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
  apply_flush_denormals(cpu_flush_denormals());
  return 0;
}

/* set_flush_denormals(on) -> supported: denormal floats read and computed
 * as zero (on, the default from start) or kept (IEEE gradual underflow) */
static int l_set_flush_denormals(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  lua_pushboolean(L, apply_flush_denormals(lua_toboolean(L, 1)));
  return 1;
}

/* flush_denormals() -> whether this thread flushes denormals to zero */
static int l_flush_denormals(lua_State *L) {
  lua_pushboolean(L, cpu_flush_denormals());
  return 1;
}

static int l_get_threads(lua_State *L) {
  lua_pushinteger(L, omp_get_max_threads());
  return 1;
}

/* mkdir(path): creates one folder; true if it exists afterwards */
static int l_mkdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  if (mkdir(path, 0777) == 0 || errno == EEXIST) { lua_pushboolean(L, 1); return 1; }
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", path, strerror(errno));
  return 2;
}

/* remove_stale_temps(path) -> count: deletes the "<path>.tmp.XXXXXX" files
 * that a write killed midway (SIGKILL, power loss) left beside path */
static int l_remove_stale_temps(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  const char *dir = slash ? lua_pushlstring(L, path, (size_t)(slash - path + (slash == path))) : ".";
  const char *prefix = lua_pushfstring(L, "%s.tmp.", base);
  size_t plen = strlen(prefix);
  DIR *d = opendir(dir);
  lua_Integer removed = 0;
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strncmp(e->d_name, prefix, plen) == 0 && strlen(e->d_name) == plen + 6) {
        const char *full = lua_pushfstring(L, "%s/%s", dir, e->d_name);
        if (unlink(full) == 0) removed++;
        lua_pop(L, 1);
      }
    }
    closedir(d);
  }
  lua_pushinteger(L, removed);
  return 1;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* listdir(path) -> sorted list of {name = ..., dir = boolean} (no "." or
 * "..", nor hidden entries), or nil and the operating system's reason */
static int l_listdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  DIR *d = opendir(path);
  if (!d) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(errno));
    return 2;
  }
  luaL_Buffer names;   /* NUL-separated, then sorted through an index */
  luaL_buffinit(L, &names);
  size_t count = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    luaL_addstring(&names, e->d_name);
    luaL_addchar(&names, 0);
    count++;
  }
  closedir(d);
  luaL_pushresult(&names);
  size_t len;
  const char *all = lua_tolstring(L, -1, &len);
  const char **list = (const char **)lua_newuserdatauv(L, (count ? count : 1) * sizeof(char *), 0);
  for (size_t i = 0, at = 0; i < count; i++, at += strlen(all + at) + 1) list[i] = all + at;
  qsort(list, count, sizeof *list, by_name);
  lua_createtable(L, (int)count, 0);
  for (size_t i = 0; i < count; i++) {
    lua_createtable(L, 0, 2);
    lua_pushstring(L, list[i]);
    lua_setfield(L, -2, "name");
    const char *full = lua_pushfstring(L, "%s/%s", path, list[i]);
    struct stat st;
    lua_pushboolean(L, stat(full, &st) == 0 && S_ISDIR(st.st_mode));
    lua_setfield(L, -3, "dir");
    lua_pop(L, 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* peak_rss() -> peak resident memory in bytes */
static int l_peak_rss(lua_State *L) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  lua_pushinteger(L, (lua_Integer)ru.ru_maxrss * 1024);
  return 1;
}

/* blas_info() -> {core, origin, threads, isa, native_bf16, description} */
static int l_blas_info(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, BLAS_ORIGIN_KEY);
  const char *origin = lua_tostring(L, -1);
  if (!origin) origin = getenv("OPENBLAS_CORETYPE") ? "set by OPENBLAS_CORETYPE" : "chosen by OpenBLAS";
  CpuFeatures f;
  char isa[96], text[256];
  cpu_features_detect(&f);
  cpu_features_describe(&f, isa, sizeof isa);
  blas_core_describe(origin, text, sizeof text);
  lua_createtable(L, 0, 6);
  lua_pushstring(L, openblas_get_corename()); lua_setfield(L, -2, "core");
  lua_pushstring(L, origin); lua_setfield(L, -2, "origin");
  lua_pushinteger(L, openblas_get_num_threads()); lua_setfield(L, -2, "threads");
  lua_pushstring(L, isa); lua_setfield(L, -2, "isa");
  lua_pushboolean(L, cpu_features_native_bf16(&f)); lua_setfield(L, -2, "native_bf16");
  lua_pushboolean(L, blas_core_is_modern(openblas_get_corename())); lua_setfield(L, -2, "modern");
  lua_pushstring(L, text); lua_setfield(L, -2, "description");
  return 1;
}

static const luaL_Reg sys_funcs[] = {
  {"blas_info", l_blas_info},
  {"wallclock", l_wallclock}, {"isatty", l_isatty}, {"set_threads", l_set_threads},
  {"set_flush_denormals", l_set_flush_denormals}, {"flush_denormals", l_flush_denormals},
  {"get_threads", l_get_threads}, {"mkdir", l_mkdir}, {"peak_rss", l_peak_rss},
  {"remove_stale_temps", l_remove_stale_temps}, {"listdir", l_listdir}, {NULL, NULL}};

int luaopen_capsrun_native(lua_State *L) {
  lua_newtable(L);
  luaopen_capsrun_tensor(L);
  lops_register(L);
  lnn_register(L);
  lconv_register(L);
  lpool_register(L);
  lprecision_register(L);
  lcapsules_register(L);
  lmatcaps_register(L);
  lloss_register(L);
  ltape_register(L);
  lscae_register(L);
  loptim_register(L);
  ldata_register(L);
  lnorb_register(L);
  lmat_register(L);
  lnet_register(L);
  lhttp_register(L);
  limage_register(L);
  lplot_register(L);
  lembed_register(L);
  ldist_register(L);
  luaL_setfuncs(L, sys_funcs, 0);
  apply_flush_denormals(1);   /* see cpu_features.h: the default, before any training */
  return 1;
}
