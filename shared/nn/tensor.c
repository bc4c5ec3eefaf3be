/*  tensor.c: owned float32 matrices and the sgemm wrapper. */
#include "tensor.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_ALIGN 64    //  cache line; AVX-512 loads

maas_tensor_t *
maas_tensor_new (size_t rows, size_t cols)
{
    if (rows == 0 || cols == 0 || rows > MAAS_TENSOR_MAX_ELEMS / cols)
        return NULL;
    maas_tensor_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    size_t bytes = rows * cols * sizeof (float);
    size_t padded = (bytes + S_ALIGN - 1) / S_ALIGN * S_ALIGN;
    self->data = aligned_alloc (S_ALIGN, padded);
    if (!self->data) {
        free (self);
        return NULL;
    }
    memset (self->data, 0, padded);
    self->rows = rows;
    self->cols = cols;
    self->owned = true;
    return self;
}

maas_tensor_t *
maas_tensor_from (const float *data, size_t rows, size_t cols)
{
    maas_tensor_t *self = maas_tensor_new (rows, cols);
    if (self)
        memcpy (self->data, data, rows * cols * sizeof (float));
    return self;
}

void
maas_tensor_destroy (maas_tensor_t **self_p)
{
    assert (self_p);
    maas_tensor_t *self = *self_p;
    if (!self)
        return;
    if (self->owned)
        free (self->data);
    free (self);
    *self_p = NULL;
}

maas_tensor_t
maas_tensor_view (float *data, size_t rows, size_t cols)
{
    return (maas_tensor_t){.data = data, .rows = rows, .cols = cols, .owned = false};
}

size_t
maas_tensor_size (const maas_tensor_t *self)
{
    return self->rows * self->cols;
}

int
maas_tensor_reshape (maas_tensor_t *self, size_t rows, size_t cols)
{
    assert (self);
    if (rows == 0 || cols == 0 || rows > MAAS_TENSOR_MAX_ELEMS / cols || !self->owned)
        return -1;
    size_t capacity = self->rows * self->cols;
    if (rows * cols > capacity) {
        size_t padded = (rows * cols * sizeof (float) + S_ALIGN - 1) / S_ALIGN * S_ALIGN;
        float *bigger = aligned_alloc (S_ALIGN, padded);
        if (!bigger)
            return -1;
        free (self->data);
        self->data = bigger;
    }
    self->rows = rows;
    self->cols = cols;
    return 0;
}

bool
maas_tensor_all_finite (const float *data, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!isfinite (data[i]))
            return false;
    return true;
}

void
maas_gemm (bool trans_a, bool trans_b, float alpha, const maas_tensor_t *a, const maas_tensor_t *b,
           float beta, maas_tensor_t *c)
{
    size_t m = trans_a ? a->cols : a->rows;
    size_t k = trans_a ? a->rows : a->cols;
    size_t n = trans_b ? b->rows : b->cols;
    assert ((trans_b ? b->cols : b->rows) == k);
    assert (c->rows == m && c->cols == n);
    cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                 trans_b ? CblasTrans : CblasNoTrans, (int) m, (int) n, (int) k, alpha, a->data,
                 (int) a->cols, b->data, (int) b->cols, beta, c->data, (int) c->cols);
}

void
maas_blas_set_threads (int threads)
{
    if (threads > 0)
        openblas_set_num_threads (threads);
}

int
maas_blas_threads (void)
{
    return openblas_get_num_threads ();
}
