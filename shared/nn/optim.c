/*  optim.c: the update rules, one tight loop each over a slot's floats. */
#include "optim.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct _maas_optim_t {
    maas_optim_config_t config;    //  rule and hyper-parameters
    size_t n_slots;                //  parameter tensors
    size_t *sizes;                 //  n_slots float counts, owned
    size_t *offsets;               //  n_slots offsets into the state, owned
    size_t total;                  //  sum of sizes
    float *first;                  //  total floats: velocity / squares / m, owned
    float *second;                 //  total floats: Adam's v, owned (or NULL)
    long steps;                    //  maas_optim_begin calls so far
    float step_size;               //  Adam: lr / (1 - beta1^t) for this step
    float inv_sqrt_bc2;            //  Adam: 1 / sqrt (1 - beta2^t)
};

static const char *s_names[MAAS_OPTIM_COUNT] = {"sgd",     "momentum", "nesterov",
                                                "adagrad", "rmsprop",  "adam"};

const char *
maas_optim_name (maas_optim_kind_t kind)
{
    return kind < MAAS_OPTIM_COUNT ? s_names[kind] : "?";
}

int
maas_optim_parse (const char *name)
{
    for (int i = 0; name && i < MAAS_OPTIM_COUNT; i++)
        if (strcmp (name, s_names[i]) == 0)
            return i;
    return -1;
}

maas_optim_config_t
maas_optim_defaults (maas_optim_kind_t kind)
{
    bool slow = kind == MAAS_OPTIM_RMSPROP || kind == MAAS_OPTIM_ADAM;
    return (maas_optim_config_t){.kind = kind,
                                 .lr = slow ? 1e-3f : 1e-2f,
                                 .momentum = 0.9f,
                                 .beta1 = 0.9f,
                                 .beta2 = 0.999f,
                                 .rho = 0.9f,
                                 .eps = kind == MAAS_OPTIM_ADAGRAD ? 1e-10f : 1e-8f,
                                 .weight_decay = 0};
}

int
maas_optim_check (const maas_optim_config_t *c, maas_err_t *err)
{
    const char *field = NULL;
    float value = 0;
#define S_RANGE(name, ok)                                                                          \
    if (!field && !(ok)) {                                                                         \
        field = #name;                                                                             \
        value = c->name;                                                                           \
    }
    S_RANGE (lr, c->lr > 0 && isfinite (c->lr));
    S_RANGE (momentum, c->momentum >= 0 && c->momentum < 1);
    S_RANGE (beta1, c->beta1 >= 0 && c->beta1 < 1);
    S_RANGE (beta2, c->beta2 >= 0 && c->beta2 < 1);
    S_RANGE (rho, c->rho >= 0 && c->rho < 1);
    S_RANGE (eps, c->eps > 0 && isfinite (c->eps));
    S_RANGE (weight_decay, c->weight_decay >= 0 && isfinite (c->weight_decay));
#undef S_RANGE
    if (c->kind >= MAAS_OPTIM_COUNT)
        return maas_err_set (err, MAAS_ERR_INPUT, "optimizer: unknown kind %d", (int) c->kind);
    if (field)
        return maas_err_set (err, MAAS_ERR_INPUT, "optimizer %s: %s out of range, got %g",
                             s_names[c->kind], field, value);
    return 0;
}

maas_optim_t *
maas_optim_new (const maas_optim_config_t *config, const size_t *sizes, size_t n_slots)
{
    assert (config && maas_optim_check (config, NULL) == 0);
    maas_optim_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->n_slots = n_slots;
    self->sizes = malloc ((n_slots + 1) * sizeof *self->sizes);
    self->offsets = malloc ((n_slots + 1) * sizeof *self->offsets);
    if (!self->sizes || !self->offsets)
        goto fail;
    for (size_t i = 0; i < n_slots; i++) {
        self->sizes[i] = sizes[i];
        self->offsets[i] = self->total;
        self->total += sizes[i];
    }
    self->first = calloc (self->total + 1, sizeof (float));
    if (config->kind == MAAS_OPTIM_ADAM)
        self->second = calloc (self->total + 1, sizeof (float));
    if (!self->first || (config->kind == MAAS_OPTIM_ADAM && !self->second))
        goto fail;
    return self;
fail:
    maas_optim_destroy (&self);
    return NULL;
}

void
maas_optim_destroy (maas_optim_t **self_p)
{
    assert (self_p);
    maas_optim_t *self = *self_p;
    if (!self)
        return;
    free (self->sizes);
    free (self->offsets);
    free (self->first);
    free (self->second);
    free (self);
    *self_p = NULL;
}

void
maas_optim_begin (maas_optim_t *self)
{
    self->steps++;
    if (self->config.kind == MAAS_OPTIM_ADAM) {
        double t = (double) self->steps;
        self->step_size = (float) (self->config.lr / (1 - pow (self->config.beta1, t)));
        self->inv_sqrt_bc2 = (float) (1 / sqrt (1 - pow (self->config.beta2, t)));
    }
}

void
maas_optim_reset (maas_optim_t *self)
{
    memset (self->first, 0, self->total * sizeof (float));
    if (self->second)
        memset (self->second, 0, self->total * sizeof (float));
    self->steps = 0;
}

static void
s_adam (const maas_optim_t *self, float *restrict p, const float *restrict g, float *restrict m,
        float *restrict v, size_t n, float decay)
{
    float b1 = self->config.beta1, b2 = self->config.beta2, eps = self->config.eps;
    float step = self->step_size, scale = self->inv_sqrt_bc2;
    for (size_t k = 0; k < n; k++) {
        float gk = g[k] + decay * p[k];
        m[k] = b1 * m[k] + (1 - b1) * gk;
        v[k] = b2 * v[k] + (1 - b2) * gk * gk;
        p[k] -= step * m[k] / (sqrtf (v[k]) * scale + eps);
    }
}

//  Adagrad and RMSprop: scaled by a running mean (or sum) of squares.
static void
s_squares (const maas_optim_t *self, float *restrict p, const float *restrict g, float *restrict s,
           size_t n, float decay)
{
    bool sum = self->config.kind == MAAS_OPTIM_ADAGRAD;
    float rho = sum ? 1 : self->config.rho, mix = sum ? 1 : 1 - self->config.rho;
    float lr = self->config.lr, eps = self->config.eps;
    for (size_t k = 0; k < n; k++) {
        float gk = g[k] + decay * p[k];
        s[k] = rho * s[k] + mix * gk * gk;
        p[k] -= lr * gk / (sqrtf (s[k]) + eps);
    }
}

//  SGD, momentum and Nesterov momentum (PyTorch's formulation).
static void
s_momentum (const maas_optim_t *self, float *restrict p, const float *restrict g,
            float *restrict vel, size_t n, float decay)
{
    maas_optim_kind_t kind = self->config.kind;
    float lr = self->config.lr, mu = self->config.momentum;
    for (size_t k = 0; k < n; k++) {
        float gk = g[k] + decay * p[k];
        if (kind == MAAS_OPTIM_SGD) {
            p[k] -= lr * gk;
            continue;
        }
        vel[k] = mu * vel[k] + gk;
        p[k] -= lr * (kind == MAAS_OPTIM_NESTEROV ? gk + mu * vel[k] : vel[k]);
    }
}

void
maas_optim_update (maas_optim_t *self, size_t slot, float *param, const float *grad, bool decay)
{
    assert (self && slot < self->n_slots && self->steps > 0);
    size_t n = self->sizes[slot], at = self->offsets[slot];
    float wd = decay ? self->config.weight_decay : 0;
    switch (self->config.kind) {
        case MAAS_OPTIM_ADAM:
            s_adam (self, param, grad, self->first + at, self->second + at, n, wd);
            break;
        case MAAS_OPTIM_ADAGRAD:
        case MAAS_OPTIM_RMSPROP: s_squares (self, param, grad, self->first + at, n, wd); break;
        default: s_momentum (self, param, grad, self->first + at, n, wd); break;
    }
}
