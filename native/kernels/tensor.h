/* tensor.h: the float32 tensor that every kernel works on.
 * Contiguous, row-major, up to CAPS_MAXDIM dimensions. Pure C: no Lua here. */
#ifndef CAPSRUN_TENSOR_H
#define CAPSRUN_TENSOR_H

#include <stddef.h>

#define CAPS_MAXDIM 5

typedef struct Tensor {
  float *data;               /* NULL while half-built */
  size_t shape[CAPS_MAXDIM];
  size_t numel;
  size_t capacity;           /* floats allocated; 0 for a view of another tensor */
  int ndim;
} Tensor;

/* numel of a shape; returns 0 and sets *overflow on size_t overflow */
size_t tensor_shape_numel(const size_t *shape, int ndim, int *overflow);
int tensor_same_shape(const Tensor *a, const Tensor *b);
/* "(2, 3, 4)" into buf */
const char *tensor_shape_str(const size_t *shape, int ndim, char *buf, size_t len);

#endif
