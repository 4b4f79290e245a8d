/* fuzz_http.c: libFuzzer target for the board's request handling: each
 * input is sent as raw bytes (request line, headers, body) to the server of
 * native/io/http_server.c on a loopback socket, whose handler does what the
 * board's does before any Lua: resolve the path under a root with
 * safe_path_resolve (checked: never outside the root) and read the query
 * arguments. The first bytes of an input also go straight to
 * safe_path_check and safe_path_resolve. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "http_server.h"
#include "safe_path.h"

static char root[64], root_real[4096];

static void count_arg(void *cls, const char *key, const char *value) {
  size_t *n = cls;
  *n += strlen(key) + (value ? strlen(value) : 0);
}

static void check_inside(const char *resolved) {
  size_t n = strlen(root_real);
  if (strncmp(resolved, root_real, n) != 0 || resolved[n] != '/') abort();   /* escaped the root */
}

static void handle(void *ud, const HttpRequest *req, HttpResponse *res) {
  (void)ud;
  char out[4096];
  if (safe_path_resolve(root, req->path, strlen(req->path), out, sizeof out) == SAFE_PATH_OK) check_inside(out);
  size_t n = 0;
  http_request_args(req, count_arg, &n);
  res->status = 200;
  res->body = req->body;
  res->len = req->body_len;
}

static HttpServer *server;

static void setup(void) {
  snprintf(root, sizeof root, "/dev/shm/capsrun-fuzz-http-%d", (int)getpid());
  mkdir(root, 0700);
  char p[128];
  snprintf(p, sizeof p, "%s/a", root);
  mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/a/f.png", root);
  FILE *f = fopen(p, "w");
  if (f) { fputs("x", f); fclose(f); }
  snprintf(p, sizeof p, "%s/out", root);
  if (symlink("/etc", p) != 0 && errno != EEXIST) abort();   /* a symlink out: must be refused */
  if (!realpath(root, root_real)) abort();
  char err[256];
  server = http_server_start("127.0.0.1", 0, 4096, handle, NULL, err, sizeof err);
  if (!server) { fprintf(stderr, "fuzz_http: %s\n", err); abort(); }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!server) setup();
  char path[512];
  size_t plen = size < sizeof path - 1 ? size : sizeof path - 1;
  memcpy(path, data, plen);
  path[plen] = 0;
  safe_path_check(path, plen);
  char out[4096];
  if (safe_path_resolve(root, path, strlen(path), out, sizeof out) == SAFE_PATH_OK) check_inside(out);

  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return 0;
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)http_server_port(server));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fcntl(s, F_SETFL, O_NONBLOCK);
  int one = 1;   /* no Nagle here, and ACKs at once: else each exchange waits 40 ms for a delayed ACK */
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  connect(s, (struct sockaddr *)&a, sizeof a);
  size_t sent = 0;
  char buf[8192];
  size_t got = 0;
  int idle = 0;
  /* at most 20 rounds: an incomplete request (a Content-Length beyond the
     body) keeps the server waiting for more, which is its right */
  for (int round = 0; round < 20 && idle < 1; round++) {   /* drive both ends from this thread */
    http_server_poll(server, 0);
    if (sent < size) {
      ssize_t w = send(s, data + sent, size - sent, MSG_NOSIGNAL);
      if (w > 0) sent += (size_t)w;
      if (sent == size) shutdown(s, SHUT_WR);
    }
    setsockopt(s, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    ssize_t r = recv(s, buf, sizeof buf, 0);
    if (r == 0) break;                          /* the server answered and closed */
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;
    if (r > 0) { got += (size_t)r; idle = 0; continue; }
    if (sent == size) idle += got > 0 ? 1 : 0;   /* answered, and nothing more comes: keep-alive */
    struct pollfd p = {s, POLLIN, 0};
    poll(&p, 1, 1);
  }
  close(s);
  http_server_poll(server, 0);
  return 0;
}
