/* l_http.c: the board's web server for Lua (http_listen -> a server whose
 * serve(timeout_ms, handler) calls the Lua handler once per request, on
 * this thread), safe paths under a root (safe_path), file facts
 * (file_info), and a small client (http_fetch, libcurl) for specs. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include "binding.h"
#include "http_server.h"
#include "safe_path.h"

#define SERVER_MT "capsrun.HttpServer"

typedef struct LuaServer {
  HttpServer *server;
  lua_State *L;      /* the state of the serve() call in progress */
  int self;          /* its stack index of the server userdata */
  int served;
} LuaServer;

static LuaServer *check_server(lua_State *L, const char *fn) {
  LuaServer *s = luaL_checkudata(L, 1, SERVER_MT);
  if (!s->server) luaL_error(L, "%s: the server is closed, not listening", fn);
  return s;
}

static void add_arg(void *cls, const char *key, const char *value) {
  lua_State *L = cls;
  lua_pushstring(L, value ? value : "");
  lua_setfield(L, -2, key);
}

/* in a pcall: handler(req) -> status, body [, content_type] */
static int call_handler(lua_State *L) {
  const HttpRequest *req = lua_touserdata(L, 1);
  lua_settop(L, 2);                  /* 2: the handler */
  lua_pushvalue(L, 2);
  lua_createtable(L, 0, 4);
  lua_pushstring(L, req->method); lua_setfield(L, -2, "method");
  lua_pushstring(L, req->path); lua_setfield(L, -2, "path");
  lua_pushlstring(L, req->body, req->body_len); lua_setfield(L, -2, "body");
  lua_newtable(L);
  http_request_args(req, add_arg, L);
  lua_setfield(L, -2, "args");
  lua_call(L, 1, 3);
  if (!lua_isinteger(L, -3) || lua_tointeger(L, -3) < 100 || lua_tointeger(L, -3) > 599)
    return luaL_error(L, "the handler must return a status in [100, 599], a body and a content type");
  if (lua_type(L, -2) != LUA_TSTRING)
    return luaL_error(L, "the handler returned a %s as the body, a string expected", luaL_typename(L, -2));
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
    return luaL_error(L, "the handler's content type must be a string");
  return 3;
}

static void handle(void *ud, const HttpRequest *req, HttpResponse *res) {
  LuaServer *s = ud;
  lua_State *L = s->L;
  int top = lua_gettop(L);
  lua_pushcfunction(L, call_handler);
  lua_pushlightuserdata(L, (void *)req);
  lua_pushvalue(L, 3);                  /* serve's handler argument */
  s->served++;
  if (lua_pcall(L, 2, 3, 0) != LUA_OK) {
    /* a broken handler answers 500 with its message; the server goes on */
    const char *msg = lua_tostring(L, -1);
    lua_pushfstring(L, "internal error: %s\n", msg ? msg : "(no message)");
    lua_setiuservalue(L, s->self, 1);   /* keeps the body alive until the server copied it */
    lua_getiuservalue(L, s->self, 1);
    res->status = 500;
    res->content_type = NULL;
    res->body = lua_tolstring(L, -1, &res->len);
    lua_settop(L, top);
    return;
  }
  res->status = (int)lua_tointeger(L, -3);
  lua_pushvalue(L, -2);
  lua_setiuservalue(L, s->self, 1);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, s->self, 2);
  lua_getiuservalue(L, s->self, 1);
  res->body = lua_tolstring(L, -1, &res->len);
  lua_getiuservalue(L, s->self, 2);
  res->content_type = lua_isnil(L, -1) ? NULL : lua_tostring(L, -1);
  lua_settop(L, top);
}

/* http_listen(host, port [, max_body = 1 MiB]) -> server */
static int l_http_listen(lua_State *L) {
  const char *host = luaL_checkstring(L, 1);
  lua_Integer port = luaL_checkinteger(L, 2);
  luaL_argcheck(L, port >= 0 && port <= 65535, 2, "a port in [0, 65535] expected (0: any free one)");
  lua_Integer max_body = luaL_optinteger(L, 3, 1 << 20);
  luaL_argcheck(L, max_body >= 0 && max_body <= (1 << 30), 3, "a body limit in [0, 1 GiB] expected");
  LuaServer *s = lua_newuserdatauv(L, sizeof *s, 2);
  memset(s, 0, sizeof *s);
  luaL_setmetatable(L, SERVER_MT);
  char err[256];
  s->server = http_server_start(host, (unsigned)port, (size_t)max_body, handle, s, err, sizeof err);
  if (!s->server) return luaL_error(L, "http_listen: %s", err);
  return 1;
}

static int m_port(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)http_server_port(check_server(L, "port")->server));
  return 1;
}

/* server:serve(timeout_ms, handler) -> requests answered */
static int m_serve(lua_State *L) {
  LuaServer *s = check_server(L, "serve");
  lua_Integer ms = luaL_checkinteger(L, 2);
  luaL_argcheck(L, ms >= 0 && ms <= 60000, 2, "a timeout in [0, 60000] ms expected");
  luaL_checktype(L, 3, LUA_TFUNCTION);
  lua_settop(L, 3);
  s->L = L;
  s->self = 1;
  s->served = 0;
  int rc = http_server_poll(s->server, (int)ms);
  s->L = NULL;
  if (rc) return luaL_error(L, "serve: the server could not wait for requests");
  lua_pushinteger(L, s->served);
  return 1;
}

static int m_close(lua_State *L) {
  LuaServer *s = luaL_checkudata(L, 1, SERVER_MT);
  if (s->L) return luaL_error(L, "close: cannot close the server from inside its own handler");
  http_server_stop(s->server);
  s->server = NULL;
  return 0;
}

/* safe_path(root, rel) -> the resolved path, or nil and "refused" / "missing" */
static int l_safe_path(lua_State *L) {
  const char *root = luaL_checkstring(L, 1);
  size_t len;
  const char *rel = luaL_checklstring(L, 2, &len);
  char out[4096];
  int rc = safe_path_resolve(root, rel, len, out, sizeof out);
  if (rc == SAFE_PATH_OK) { lua_pushstring(L, out); return 1; }
  lua_pushnil(L);
  lua_pushstring(L, rc == SAFE_PATH_MISSING ? "missing" : "refused");
  return 2;
}

/* file_info(path) -> {size, mtime (seconds, fractional), dir} or nil and the reason */
static int l_file_info(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (stat(path, &st) != 0) { lua_pushnil(L); lua_pushfstring(L, "%s: no such file", path); return 2; }
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)st.st_size); lua_setfield(L, -2, "size");
  lua_pushnumber(L, (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec * 1e-9); lua_setfield(L, -2, "mtime");
  lua_pushboolean(L, S_ISDIR(st.st_mode)); lua_setfield(L, -2, "dir");
  return 1;
}

static size_t gather(char *ptr, size_t size, size_t n, void *ud) {
  luaL_addlstring((luaL_Buffer *)ud, ptr, size * n);
  return size * n;
}

/* http_fetch(url [, method = "GET" [, body]]) -> status, body, content type:
 * a client for the board's specs (any status is returned, not raised) */
static int l_http_fetch(lua_State *L) {
  const char *url = luaL_checkstring(L, 1), *method = luaL_optstring(L, 2, "GET");
  size_t blen = 0;
  const char *body = luaL_optlstring(L, 3, NULL, &blen);
  lua_settop(L, 3);
  if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
    return luaL_error(L, "http_fetch: an http:// or https:// URL expected, got '%s'", url);
  CURL *c = curl_easy_init();
  if (!c) return luaL_error(L, "http_fetch: libcurl could not start");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  char err[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (body) { curl_easy_setopt(c, CURLOPT_POSTFIELDS, body); curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen); }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gather);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);   /* "/../x" as written: the server must refuse it itself */
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  char *type = NULL, ctype[256] = "";
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
  if (type) snprintf(ctype, sizeof ctype, "%s", type);   /* copied before cleanup frees it */
  curl_easy_cleanup(c);
  luaL_pushresult(&b);   /* the buffer owns the stack top until here */
  if (rc != CURLE_OK) return luaL_error(L, "http_fetch: cannot fetch %s: %s", url, err[0] ? err : curl_easy_strerror(rc));
  lua_pushinteger(L, status);
  lua_insert(L, -2);
  lua_pushstring(L, ctype);
  return 3;
}

static const luaL_Reg server_methods[] = {
  {"port", m_port}, {"serve", m_serve}, {"close", m_close}, {NULL, NULL}};

static int m_gc(lua_State *L) {
  LuaServer *s = luaL_checkudata(L, 1, SERVER_MT);
  http_server_stop(s->server);
  s->server = NULL;
  return 0;
}

static const luaL_Reg http_funcs[] = {
  {"http_listen", l_http_listen}, {"safe_path", l_safe_path}, {"file_info", l_file_info},
  {"http_fetch", l_http_fetch}, {NULL, NULL}};

void lhttp_register(lua_State *L) {
  if (luaL_newmetatable(L, SERVER_MT)) {
    luaL_newlib(L, server_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, m_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, http_funcs, 0);
}
