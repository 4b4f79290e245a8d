/* tensor_math.h: the plain arithmetic behind the tensor methods of the Lua
 * API (t + u, t:add_(u, a), t:sum(), t:argmax(), ...). Pure C over n
 * contiguous floats; the bindings (native/lua/l_ops.c) check shapes. Sums
 * accumulate in double, so a mean of a million values is exact to float
 * precision. */
#ifndef CAPSRUN_TENSOR_MATH_H
#define CAPSRUN_TENSOR_MATH_H
#include <stddef.h>

enum { TM_ADD, TM_SUB, TM_MUL, TM_DIV };

/* out = a OP b; a NULL operand is the scalar sa (or sb) instead */
void tm_binary(int op, size_t n, const float *a, float sa, const float *b, float sb, float *out);
void tm_neg(size_t n, const float *a, float *out);
void tm_add_scalar(size_t n, float v, float *x);                 /* x += v */
void tm_axpy(size_t n, float alpha, const float *y, float *x);   /* x += alpha y */
void tm_scale(size_t n, float v, float *x);                      /* x *= v */
void tm_mul(size_t n, const float *y, float *x);                 /* x *= y */
void tm_clamp(size_t n, float lo, float hi, float *x);           /* NaN stays NaN */
double tm_sum(size_t n, const float *x);
double tm_sumsq(size_t n, const float *x);
double tm_dot(size_t n, const float *a, const float *b);
/* index of the largest (want_max) or smallest value, the first of equals; n > 0 */
size_t tm_extreme(size_t n, const float *x, int want_max);
/* out[r] = the index of the largest of row r of x (rows, n), as a float */
void tm_argmax_rows(size_t rows, size_t n, const float *x, float *out);
/* out (n, m) = the transpose of x (m, n) */
void tm_transpose(size_t m, size_t n, const float *x, float *out);

#endif
