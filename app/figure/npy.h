/* npy.h: NumPy .npy files of float32, so that attention maps and activations
 * can be checked in Python with np.load.
 *
 * Only the plain case is written and read: format version 1.0, dtype '<f4'
 * (little-endian float32), C order, 1 to 4 dimensions.
 */
#ifndef AVZ_NPY_H
#define AVZ_NPY_H

#include <stdint.h>

#include "common.h"

#define NPY_MAX_DIM 4

/* Writes data (shape[0] x ... x shape[ndim-1] floats, C order) to path as a
 * v1.0 .npy file whose preamble (magic, version, length, header dict) is a
 * multiple of 64 bytes. The write is atomic (a temp file beside path, then a
 * rename); a missing folder is AVZ_ERR_INPUT naming it. ndim must be 1..4 and
 * every shape entry >= 0, else AVZ_ERR_INPUT. err may be NULL. */
AvzCode npy_write(const char *path, const float *data, int ndim, const int64_t *shape,
                  char *err);

/* Reads a file written by npy_write. On success *data is a malloc'd array the
 * caller frees (never NULL, even for zero elements), *ndim is 1..4 and
 * shape[0..ndim-1] hold the dimensions. On failure *data is NULL and err names
 * the file and the problem (AVZ_ERR_INPUT for a bad file, AVZ_ERR_INTERNAL
 * when out of memory). */
AvzCode npy_read(const char *path, float **data, int *ndim, int64_t shape[NPY_MAX_DIM],
                 char *err);

#endif
