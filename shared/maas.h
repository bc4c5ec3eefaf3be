/*  maas.h: libmaas, the library behind every maas program. Include this one
 *  header; it pulls in each module's header, grouped by purpose. */
#ifndef MAAS_H
#define MAAS_H

#define MAAS_VERSION_MAJOR 0
#define MAAS_VERSION_MINOR 1
#define MAAS_VERSION_PATCH 0

//  Core: logging, clocks.
#include "log.h"
#include "clock.h"
#include "err.h"
#include "redis_url.h"
#include "redis.h"
#include "options.h"

//  Numerics: tensors, random numbers, multilayer perceptrons, inference,
//  numeric CSV files, losses, optimizers, training, the synthetic problem.
#include "tensor.h"
#include "rng.h"
#include "mlp.h"
#include "forward.h"
#include "csv.h"
#include "loss.h"
#include "optim.h"
#include "train.h"
#include "synth.h"

//  Model format and msgpack codec.
#include "codec.h"
#include "model.h"
#include "signature.h"

//  Models from other tools (Keras, ONNX) and to ONNX.
#include "import.h"
#include "export_onnx.h"

//  Data sets: in memory and stored in Redis.
#include "dataset.h"
#include "dataset_store.h"
#include "training.h"

//  Model registry in Redis; a process's counters there.
#include "registry.h"
#include "stats.h"

//  Wire protocol, client API, worker API.
#include "protocol.h"
#include "client.h"
#include "worker.h"
#include "curve.h"
#include "apikey.h"

//  What each job kind carries and answers.
#include "infer.h"
#include "explain.h"

#endif
