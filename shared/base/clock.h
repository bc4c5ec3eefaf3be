/*  clock.h: the two clocks maas uses. Monotonic for timeouts and durations,
 *  wall-clock milliseconds for what is stored (job timestamps, ids). */
#ifndef MAAS_CLOCK_H
#define MAAS_CLOCK_H

#include "export.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Monotonic time in microseconds: for intervals, never stored.
MAAS_EXPORT int64_t maas_clock_mono_us (void);
//  Monotonic time in milliseconds.
MAAS_EXPORT int64_t maas_clock_mono_ms (void);
//  Wall-clock milliseconds since the Unix epoch: for stored timestamps.
MAAS_EXPORT int64_t maas_clock_wall_ms (void);

#ifdef __cplusplus
}
#endif

#endif
