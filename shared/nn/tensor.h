/*  tensor.h: float32 row-major matrices with an explicit shape, and the
 *  matrix products everything numerical is built on (OpenBLAS sgemm). */
#ifndef MAAS_TENSOR_H
#define MAAS_TENSOR_H

#include "export.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  A rows × cols float32 matrix, row-major. A tensor from maas_tensor_new
//  owns its data; a view (maas_tensor_view) borrows it and must not be
//  destroyed. Fields are public: kernels read them in hot loops.
typedef struct {
    float *data;    //  rows * cols floats, row-major
    size_t rows;    //  first dimension (batch)
    size_t cols;    //  second dimension (features)
    bool owned;     //  true: data is ours to free
} maas_tensor_t;

//  Largest rows * cols accepted, so a size product never overflows and a
//  hostile header cannot ask for terabytes: 2^31 floats (8 GiB).
#define MAAS_TENSOR_MAX_ELEMS ((size_t) 1 << 31)

//  New zero-filled rows × cols tensor (64-byte aligned); NULL if the shape
//  is empty or over MAAS_TENSOR_MAX_ELEMS, or memory is short.
MAAS_EXPORT maas_tensor_t *maas_tensor_new (size_t rows, size_t cols);
//  New tensor holding a copy of DATA (rows * cols floats).
MAAS_EXPORT maas_tensor_t *maas_tensor_from (const float *data, size_t rows, size_t cols);
//  Destroy a tensor made by _new/_from; safe on NULL; sets *self_p to NULL.
MAAS_EXPORT void maas_tensor_destroy (maas_tensor_t **self_p);
//  A borrowing view of DATA; the caller keeps ownership of DATA.
MAAS_EXPORT maas_tensor_t maas_tensor_view (float *data, size_t rows, size_t cols);
//  Number of elements, rows * cols.
MAAS_EXPORT size_t maas_tensor_size (const maas_tensor_t *self);
//  Resize to rows × cols, reusing the buffer when it is big enough (keeps
//  hot loops free of page faults). Contents are undefined afterwards.
//  Returns 0, or -1 if out of memory or not owned.
MAAS_EXPORT int maas_tensor_reshape (maas_tensor_t *self, size_t rows, size_t cols);
//  true if every element is finite (no NaN or infinity).
MAAS_EXPORT bool maas_tensor_all_finite (const float *data, size_t count);

//  C = alpha * op(A) op(B) + beta * C, all row-major, through cblas_sgemm.
//  op(X) is X or Xᵀ by TRANS_A / TRANS_B. Shapes are asserted (a bug, not
//  input): op(A) is m×k, op(B) is k×n, C is m×n.
MAAS_EXPORT void maas_gemm (bool trans_a, bool trans_b, float alpha, const maas_tensor_t *a,
                            const maas_tensor_t *b, float beta, maas_tensor_t *c);

//  Set OpenBLAS's thread count for this process (1 for many processes on
//  few cores); 0 leaves the library default.
MAAS_EXPORT void maas_blas_set_threads (int threads);
//  OpenBLAS's thread count for this process.
MAAS_EXPORT int maas_blas_threads (void);

#ifdef __cplusplus
}
#endif

#endif
