/* svhn.h: the Street View House Numbers' cropped digits (Netzer et al.
 * 2011; train_32x32.mat, test_32x32.mat, extra_32x32.mat): MAT-files with
 * X, uint8 (32, 32, 3, n) in MATLAB's column-major order, and y, (n, 1)
 * labels 1 to 10, where 10 is the digit 0. */
#ifndef CAPSRUN_SVHN_H
#define CAPSRUN_SVHN_H
#include <stddef.h>
#include "matfile.h"

/* X (h, w, c, n) -> dst (n, c, h, w) in [0, 1]; 0, or -1 with a message
 * when X is not (h, w, 1 or 3, n) of values in [0, 255] */
int svhn_images(const MatArray *x, float *dst, char *err, size_t errlen);

/* y (n, 1) or (1, n) -> dst (n) of classes 0 to 9 (10 -> 0); 0, or -1
 * with a message naming the first label that is not 1 to 10 */
int svhn_labels(const MatArray *y, float *dst, char *err, size_t errlen);

#endif
