/* tensor.c: shape helpers shared by the kernels and the bindings. */
#include <stdio.h>
#include <stdint.h>
#include "tensor.h"

size_t tensor_shape_numel(const size_t *shape, int ndim, int *overflow) {
  size_t n = 1;
  *overflow = 0;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] != 0 && n > SIZE_MAX / shape[i]) { *overflow = 1; return 0; }
    n *= shape[i];
  }
  return n;
}

int tensor_same_shape(const Tensor *a, const Tensor *b) {
  if (a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i]) return 0;
  return 1;
}

const char *tensor_shape_str(const size_t *shape, int ndim, char *buf, size_t len) {
  size_t pos = 0;
  pos += (size_t)snprintf(buf + pos, len - pos, "(");
  for (int i = 0; i < ndim && pos < len; i++)
    pos += (size_t)snprintf(buf + pos, len - pos, i ? ", %zu" : "%zu", shape[i]);
  if (pos < len) snprintf(buf + pos, len - pos, ")");
  return buf;
}
