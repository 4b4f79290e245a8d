/* http_server.c: libmicrohttpd in external-polling mode (no threads of its
 * own); a request's body is gathered in a buffer bounded by max_body (413
 * beyond it) before the handler sees the request. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http_server.h"

struct HttpServer {
  struct MHD_Daemon *daemon;
  size_t max_body;
  HttpHandler handler;
  void *ud;
};

typedef struct Upload { char *data; size_t len, cap; int too_large, failed; } Upload;

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *type, const char *body, size_t len) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", type ? type : "text/plain; charset=utf-8");
  MHD_add_response_header(r, "Cache-Control", "no-store");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
  MHD_destroy_response(r);
  return ok;
}

static int append(Upload *u, const char *data, size_t n, size_t max) {
  if (u->too_large || u->failed) return 0;
  if (n > max || u->len > max - n) { u->too_large = 1; return 0; }
  if (u->len + n > u->cap) {
    size_t cap = u->cap ? u->cap : 4096;
    while (cap < u->len + n) cap *= 2;
    if (cap > max) cap = max;
    char *p = realloc(u->data, cap);
    if (!p) { u->failed = 1; return 0; }
    u->data = p;
    u->cap = cap;
  }
  memcpy(u->data + u->len, data, n);
  u->len += n;
  return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
  (void)version;
  HttpServer *s = cls;
  Upload *u = *con_cls;
  if (!u) {   /* the first call: headers only */
    u = calloc(1, sizeof *u);
    if (!u) return MHD_NO;
    *con_cls = u;
    return MHD_YES;
  }
  if (*upload_size) {
    append(u, upload, *upload_size, s->max_body);
    *upload_size = 0;
    return MHD_YES;
  }
  if (u->too_large) {
    char msg[96];
    int n = snprintf(msg, sizeof msg, "request body larger than %zu bytes\n", s->max_body);
    return reply(c, 413, NULL, msg, (size_t)n);
  }
  if (u->failed) return reply(c, 500, NULL, "out of memory\n", 14);
  HttpRequest req = {method, url, u->data ? u->data : "", u->len, c};
  HttpResponse res = {500, NULL, "no response\n", 12};
  s->handler(s->ud, &req, &res);
  return reply(c, res.status, res.content_type, res.body, res.len);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t) {
  (void)cls; (void)c; (void)t;
  Upload *u = *con_cls;
  if (u) { free(u->data); free(u); }
  *con_cls = NULL;
}

HttpServer *http_server_start(const char *host, unsigned port, size_t max_body, HttpHandler handler, void *ud,
                              char *err, size_t errlen) {
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (port > 65535 || inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    snprintf(err, errlen, "'%s' port %u is not an IPv4 address and port", host, port);
    return NULL;
  }
  HttpServer *s = calloc(1, sizeof *s);
  if (!s) { snprintf(err, errlen, "out of memory"); return NULL; }
  s->max_body = max_body;
  s->handler = handler;
  s->ud = ud;
  s->daemon = MHD_start_daemon(MHD_USE_AUTO, (uint16_t)port, NULL, NULL, on_request, s,
                               MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                               MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)15,
                               MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                               MHD_OPTION_END);
  if (!s->daemon) {
    snprintf(err, errlen, "cannot listen on %s port %u (in use, or not an address of this machine)", host, port);
    free(s);
    return NULL;
  }
  return s;
}

unsigned http_server_port(const HttpServer *s) {
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  return info ? info->port : 0;
}

int http_server_poll(HttpServer *s, int timeout_ms) {
  return MHD_run_wait(s->daemon, timeout_ms) == MHD_YES ? 0 : -1;
}

void http_server_stop(HttpServer *s) {
  if (!s) return;
  MHD_stop_daemon(s->daemon);
  free(s);
}

typedef struct ArgsVisit { void (*fn)(void *, const char *, const char *); void *cls; } ArgsVisit;

static enum MHD_Result visit_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  (void)kind;
  ArgsVisit *v = cls;
  v->fn(v->cls, key, value);
  return MHD_YES;
}

void http_request_args(const HttpRequest *req, void (*fn)(void *cls, const char *key, const char *value), void *cls) {
  ArgsVisit v = {fn, cls};
  MHD_get_connection_values((struct MHD_Connection *)req->connection, MHD_GET_ARGUMENT_KIND, visit_arg, &v);
}
