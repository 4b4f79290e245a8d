/* http_server.h: a small HTTP server over libmicrohttpd, run from the
 * caller's thread. http_server_poll waits for network activity and calls
 * the handler, on that same thread, once per complete request (body read,
 * within max_body), so the handler may be an interpreter that is not
 * thread-safe (capsrun's Lua state: native/lua/l_http.c). */
#ifndef CAPSRUN_HTTP_SERVER_H
#define CAPSRUN_HTTP_SERVER_H
#include <stddef.h>

typedef struct HttpServer HttpServer;

typedef struct HttpRequest {
  const char *method, *path;     /* path: percent-decoded by libmicrohttpd, without the query */
  const char *body;              /* body_len bytes (not NUL-terminated); "" when none */
  size_t body_len;
  void *connection;              /* for http_request_args */
} HttpRequest;

typedef struct HttpResponse {
  int status;
  const char *content_type;      /* NULL: text/plain */
  const char *body;              /* len bytes, copied once the handler returns */
  size_t len;
} HttpResponse;

typedef void (*HttpHandler)(void *ud, const HttpRequest *req, HttpResponse *res);

/* listens on host (an IPv4 address) and port (0: any free one); NULL with
 * the reason in err when it cannot */
HttpServer *http_server_start(const char *host, unsigned port, size_t max_body, HttpHandler handler, void *ud,
                              char *err, size_t errlen);
unsigned http_server_port(const HttpServer *s);
/* waits up to timeout_ms (0: only what is ready) and serves what came; 0 or -1 */
int http_server_poll(HttpServer *s, int timeout_ms);
void http_server_stop(HttpServer *s);
/* fn(cls, key, value) for each query argument (value may be NULL) */
void http_request_args(const HttpRequest *req, void (*fn)(void *cls, const char *key, const char *value), void *cls);

#endif
