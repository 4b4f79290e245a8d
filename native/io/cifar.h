/* cifar.h: the CIFAR-10 binary format: records of 3,073 bytes, a label byte
 * then a 32x32 image as three planes (R, G, B), row by row. */
#ifndef CAPSRUN_CIFAR_H
#define CAPSRUN_CIFAR_H
#include <stddef.h>

#define CIFAR_RECORD 3073
#define CIFAR_SIDE 32

/* number of records in the file at path, from its length: 0 and *n, or -1
 * with a message in err when it cannot be read or its length is not a
 * multiple of 3,073 bytes */
int cifar_count(const char *path, size_t *n, char *err, size_t errlen);
/* reads n records into images (n, 3, 32, 32) as values in [0, 1] and labels
 * (n); every label must be below `classes`. 0, or -1 with a message. */
int cifar_read(const char *path, size_t n, size_t classes, float *images, float *labels,
               char *err, size_t errlen);

#endif
