/* omp_spin.h: libgomp's spinning set before libgomp reads it (omp_spin.c). */
#ifndef CAPSRUN_OMP_SPIN_H
#define CAPSRUN_OMP_SPIN_H

/* Sets GOMP_SPINCOUNT=1000 unless the user set it or OMP_WAIT_POLICY;
 * 1 when it did, so that this process, whose libgomp has already read its
 * environment, must restart to get it (omp_spin_restart). */
int omp_spin_setenv(void);

/* Executes capsrun again with the environment set above; returns only if
 * that fails, having taken the variable out again. */
void omp_spin_restart(char **argv);

#endif
