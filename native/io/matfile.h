/* matfile.h: reader for MATLAB level-5 MAT-files (the format of SVHN's
 * train_32x32.mat and test_32x32.mat): a 128-byte header (text, subsystem
 * offset, version 0x0100, endian indicator "IM"), then data elements, each
 * an 8-byte tag (type, byte count) and its data padded to 8 bytes, or a
 * small element (count and type in one word, up to 4 bytes of data).
 * miCOMPRESSED elements (type 15) hold one zlib-compressed element. Reads
 * one named variable: a real, full, numeric array (miMATRIX of class
 * double, single or an integer class), stored in any numeric type, as
 * floats in MATLAB's order (column-major: the first dimension varies
 * fastest). Little-endian files only (MATLAB writes the machine's order). */
#ifndef CAPSRUN_MATFILE_H
#define CAPSRUN_MATFILE_H
#include <stddef.h>

#define MAT_MAXDIM 8
#define MAT_MAX_VALUES ((size_t)1 << 32)

typedef struct MatArray {
  int ndim;
  size_t dims[MAT_MAXDIM];
  size_t numel;
  int mx_class;   /* MATLAB's class: 6 double, 7 single, 8 int8, 9 uint8, ..., 15 uint64 */
  float *data;    /* numel values, column-major; the caller frees */
} MatArray;

/* Reads the variable called name from the MAT-file at path into out.
 * 0, or -1 with a message in err (nothing left allocated). Sizes declared
 * by the file are checked against the bytes it holds before anything of
 * that size is allocated. */
int mat_read(const char *path, const char *name, MatArray *out, char *err, size_t errlen);

#endif
