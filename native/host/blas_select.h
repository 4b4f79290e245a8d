/* blas_select.h: make OpenBLAS run the kernels this CPU can run. */
#ifndef CAPSRUN_BLAS_SELECT_H
#define CAPSRUN_BLAS_SELECT_H
#include <stddef.h>

/* Call first in main. If OpenBLAS chose a generic core on a CPU with AVX2
 * or AVX-512 and the user set no OPENBLAS_CORETYPE, re-executes capsrun once
 * with the matching core (OpenBLAS reads the variable only when it loads).
 * Writes who chose the running core into origin. */
void blas_select_core(char **argv, char *origin, size_t size);

#endif
