/* main.c: the capsrun host. Runs a script, a -e chunk, or a REPL, with the
 * capsrun library preloaded, in the manner of lua.c: everything runs under
 * lua_pcall with a traceback handler, and Ctrl-C stops a running chunk
 * through a hook instead of killing the process. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <readline/readline.h>
#include <readline/history.h>
#include <lualib.h>
#include "binding.h"
#include "blas_core.h"
#include "blas_select.h"
#include "omp_spin.h"

#define CAPSRUN_VERSION "0.1.0"
#define PROMPT "capsrun> "
#define PROMPT2 "     >> "

static lua_State *running_state = NULL;  /* only for the signal handler */

static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

static void on_sigint(int sig) {
  signal(sig, SIG_DFL);   /* a second Ctrl-C kills */
  lua_sethook(running_state, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

/* capsrun.exit(code, message) raises {exit = code, message = ...}: an
 * orderly stop that unwinds through the host (MPI shut down, Lua closed),
 * printing one line and no traceback */
static int is_exit(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE) return 0;
  int t = lua_getfield(L, idx, "exit");
  lua_pop(L, 1);
  return t == LUA_TNUMBER;
}

static int msghandler(lua_State *L) {
  if (is_exit(L, 1)) return 1;
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  running_state = L;
  signal(SIGINT, on_sigint);
  int status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, SIG_DFL);
  lua_remove(L, base);
  return status;
}

/* prints an error; an exit request prints its message alone. Returns the
 * process exit code it asks for: 0 when status is LUA_OK, else 1 or the
 * code of capsrun.exit */
static int report(lua_State *L, int status) {
  if (status == LUA_OK) return 0;
  int code = 1;
  if (is_exit(L, -1)) {
    lua_getfield(L, -1, "exit");
    code = (int)lua_tointeger(L, -1);
    lua_getfield(L, -2, "message");
    if (lua_isstring(L, -1)) fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_pop(L, 2);
  } else {
    fprintf(stderr, "capsrun: %s\n", lua_tostring(L, -1));
  }
  fflush(stderr);
  lua_pop(L, 1);
  return code;
}

/* the installed Lua library beside the executable (bin/../share/lua/5.4),
 * else the source tree the build came from; pushes the folder */
static const char *lua_dir(lua_State *L) {
  const char *dir = getenv("CAPSRUN_LUA_DIR");
  if (dir && *dir) return lua_pushstring(L, dir);
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    const char *installed = lua_pushfstring(L, "%s/%s", exe, CAPSRUN_LUA_DIR_FROM_BIN);
    const char *probe = lua_pushfstring(L, "%s/capsrun/init.lua", installed);
    int found = access(probe, R_OK) == 0;
    lua_pop(L, 1);
    if (found) return installed;
    lua_pop(L, 1);
  }
  return lua_pushstring(L, CAPSRUN_LUA_DIR);
}

static void setup_paths(lua_State *L) {
  const char *dir = lua_dir(L);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
  lua_setfield(L, -3, "path");
  lua_pop(L, 1);
  lua_remove(L, -2);   /* the folder's string */
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_capsrun_native);
  lua_setfield(L, -2, "capsrun.native");
  lua_pop(L, 2);
}

/* arg table as in lua.c: arg[0] is the script, arg[1..] its arguments */
static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
  lua_createtable(L, argc - script, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int run_script(lua_State *L, char **argv, int argc, int script) {
  const char *fname = strcmp(argv[script], "-") == 0 ? NULL : argv[script];
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = argc - script - 1;
    luaL_checkstack(L, n + 1, "too many arguments to script");
    for (int i = 1; i <= n; i++) lua_pushstring(L, argv[script + i]);
    status = docall(L, n, 0);
  }
  return report(L, status);   /* the exit code */
}

static int run_string(lua_State *L, const char *code) {
  int status = luaL_loadbuffer(L, code, strlen(code), "=(command line)");
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status);   /* the exit code */
}

/* ---- REPL ---- */

static int incomplete(lua_State *L, int status) {
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  if (status == LUA_ERRSYNTAX && len >= 5 && strcmp(msg + len - 5, "<eof>") == 0) {
    lua_pop(L, 1);
    return 1;
  }
  return 0;
}

/* Compiles `return line` first so that expressions print their value, then
 * the line as a statement, reading more lines while the chunk is incomplete. */
static int load_chunk(lua_State *L, char *line) {
  const char *ret = lua_pushfstring(L, "return %s", line);
  int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  lua_remove(L, -2);
  if (status == LUA_OK) { add_history(line); free(line); return status; }
  lua_pop(L, 1);
  lua_pushstring(L, line);
  free(line);
  for (;;) {
    size_t len;
    const char *code = lua_tolstring(L, -1, &len);
    status = luaL_loadbuffer(L, code, len, "=stdin");
    if (!incomplete(L, status)) break;
    char *more = readline(PROMPT2);
    if (!more) break;
    lua_pushfstring(L, "%s\n%s", lua_tostring(L, -1), more);
    lua_remove(L, -2);
    free(more);
  }
  add_history(lua_tostring(L, -2));
  lua_remove(L, -2);
  return status;
}

static void print_results(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0) return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_getglobal(L, "print");
  lua_insert(L, 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK)
    fprintf(stderr, "capsrun: error calling print (%s)\n", lua_tostring(L, -1));
}

static void repl(lua_State *L) {
  printf("capsrun %s (%s): tensors and capsule layers in Lua. `capsrun = require 'capsrun'` is loaded.\n",
         CAPSRUN_VERSION, LUA_RELEASE);
  printf("help() lists the API; help(x) says what x is.\n");
  /* help as a global, for the REPL only: scripts say capsrun.help */
  lua_getglobal(L, "capsrun");
  lua_getfield(L, -1, "help");
  lua_setglobal(L, "help");
  lua_pop(L, 1);
  char *line;
  lua_settop(L, 0);   /* pmain's own arguments must not print as results */
  while ((line = readline(PROMPT)) != NULL) {
    int status = load_chunk(L, line);
    if (status == LUA_OK) status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) print_results(L);
    else report(L, status);   /* the REPL goes on, even after capsrun.exit */
    lua_settop(L, 0);
  }
  printf("\n");
}

static void usage(const char *prog) {
  fprintf(stderr,
    "usage: %s [options] [script [args]]\n"
    "  -e code   run code\n"
    "  -i        enter the REPL after running script or code\n"
    "  -v        show version\n"
    "  -h        show this help\n"
    "  -         run stdin as a script\n"
    "With no script and no -e, capsrun opens a REPL.\n"
    "Environment: CAPSRUN_LUA_DIR (Lua library), CAPSRUN_DATA (datasets).\n", prog);
}

static void print_version(lua_State *L) {
  char blas[256];
  lua_getfield(L, LUA_REGISTRYINDEX, BLAS_ORIGIN_KEY);
  blas_core_describe(lua_tostring(L, -1), blas, sizeof blas);
  lua_pop(L, 1);
  printf("capsrun %s (%s)\n%s\n", CAPSRUN_VERSION, LUA_RELEASE, blas);
}

/* runs everything; pushes the process exit code */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int code = 0;
  luaL_openlibs(L);
  setup_paths(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "capsrun");
  if ((code = report(L, docall(L, 1, 1))) != 0) goto done;
  lua_setglobal(L, "capsrun");
  int script = 0, interactive = 0, ran = 0;
  for (int i = 1; i < argc && !script; i++) {
    if (strcmp(argv[i], "-e") == 0) {
      if (++i >= argc) { usage(argv[0]); code = 1; goto done; }
      create_arg_table(L, argv, argc, 0);
      if ((code = run_string(L, argv[i])) != 0) goto done;
      ran = 1;
    } else if (strcmp(argv[i], "-i") == 0) interactive = 1;
    else if (strcmp(argv[i], "-v") == 0) { print_version(L); ran = 1; }
    else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) { usage(argv[0]); ran = 1; }
    else if (argv[i][0] == '-' && argv[i][1] != 0) { usage(argv[0]); code = 1; goto done; }
    else script = i;
  }
  if (script) {
    create_arg_table(L, argv, argc, script);
    if ((code = run_script(L, argv, argc, script)) != 0) goto done;
  }
  if (interactive || (!script && !ran)) {
    if (!script && !ran) create_arg_table(L, argv, argc, 0);
    if (isatty(STDIN_FILENO) || interactive) repl(L);
    else code = run_script(L, (char *[]){"-"}, 1, 0);
  }
done:
  lua_pushinteger(L, code);
  return 1;
}

int main(int argc, char **argv) {
  char blas_origin[128];
  int restart = omp_spin_setenv();                             /* libgomp's spinning, for the next exec */
  blas_select_core(argv, blas_origin, sizeof blas_origin);   /* may re-execute capsrun */
  if (restart) omp_spin_restart(argv);
  lua_State *L = luaL_newstate();
  if (!L) { fprintf(stderr, "capsrun: cannot create Lua state: not enough memory\n"); return 1; }
  lua_pushstring(L, blas_origin);
  lua_setfield(L, LUA_REGISTRYINDEX, BLAS_ORIGIN_KEY);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int code = status == LUA_OK ? (int)lua_tointeger(L, -1) : report(L, status);
  ldist_shutdown(code != 0);
  lua_close(L);
  return code;
}
