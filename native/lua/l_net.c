/* l_net.c: downloading a file over HTTP(S) with libcurl, and SHA-256 of a
 * file. The download goes to a temporary file beside the target and is
 * renamed into place only when complete. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <curl/curl.h>
#include "binding.h"
#include "sha256.h"
#include "atomic_file.h"

/* sha256_file(path) -> lowercase hex digest */
static int l_sha256_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  FILE *f = fopen(path, "rb");
  if (!f) return luaL_error(L, "sha256_file: cannot open %s: %s", path, strerror(errno));
  Sha256 s;
  sha256_init(&s);
  unsigned char buf[65536], digest[32];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) sha256_update(&s, buf, n);
  int bad = ferror(f);
  fclose(f);
  if (bad) return luaL_error(L, "sha256_file: error reading %s", path);
  sha256_final(&s, digest);
  char hex[65];
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  lua_pushstring(L, hex);
  return 1;
}

typedef struct Sink { FILE *f; size_t written, limit; int over; } Sink;

static size_t sink_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
  Sink *s = userdata;
  size_t n = size * nmemb;
  if (s->written + n > s->limit) { s->over = 1; return 0; }  /* aborts the transfer */
  s->written += n;
  return fwrite(ptr, 1, n, s->f);
}

/* download(url, path [, max_bytes]) -> bytes written; raises on any failure
 * (HTTP status >= 400 included) and leaves no file behind */
static int l_download(lua_State *L) {
  const char *url = luaL_checkstring(L, 1), *path = luaL_checkstring(L, 2);
  lua_Integer limit = luaL_optinteger(L, 3, (lua_Integer)1 << 31);
  luaL_argcheck(L, limit > 0, 3, "positive byte limit expected");
  AtomicFile a;
  char msg[512];
  if (atomic_open(&a, path, msg, sizeof msg)) return luaL_error(L, "download: %s", msg);
  Sink sink = {a.f, 0, (size_t)limit, 0};
  CURL *c = curl_easy_init();
  char err[CURL_ERROR_SIZE] = "";
  CURLcode rc = CURLE_FAILED_INIT;
  long status = 0;
  if (c) {
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
  }
  if (atomic_commit(&a, rc != CURLE_OK, msg, sizeof msg)) {
    if (sink.over) return luaL_error(L, "download: %s is larger than %I bytes", url, limit);
    if (rc != CURLE_OK)
      return luaL_error(L, "download: %s: %s%s (HTTP status %d)", url, curl_easy_strerror(rc),
                        err[0] ? lua_pushfstring(L, ": %s", err) : "", (int)status);
    return luaL_error(L, "download: %s", msg);
  }
  lua_pushinteger(L, (lua_Integer)sink.written);
  return 1;
}

static const luaL_Reg net_funcs[] = {
  {"sha256_file", l_sha256_file}, {"download", l_download}, {NULL, NULL}};

void lnet_register(lua_State *L) { luaL_setfuncs(L, net_funcs, 0); }
