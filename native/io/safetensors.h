/* safetensors.h: writing Hugging Face's safetensors format, so that capsrun
 * weights load in Python (safetensors, or json + numpy) and open in Netron.
 * Layout: u64 little-endian header size N; N bytes of JSON (padded with
 * spaces to a multiple of 8): {"__metadata__": {k: v, ...}, name: {"dtype":
 * "F32", "shape": [...], "data_offsets": [begin, end]}, ...}; then the
 * tensors' bytes, little-endian float32, in the order of their offsets. */
#ifndef CAPSRUN_SAFETENSORS_H
#define CAPSRUN_SAFETENSORS_H
#include <stdio.h>
#include "tensorio.h"

/* writes the float32 entries (TIO_FLOAT32 only; in the order given) and the
 * string metadata pairs to f. 0, or -1 with a message in err. */
int safetensors_write(FILE *f, const TioEntry *entries, size_t count, const char *const *meta_keys,
                      const char *const *meta_values, size_t nmeta, char *err, size_t errlen);

#endif
