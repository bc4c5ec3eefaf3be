/*  export.h: MAAS_EXPORT marks a function of the public API (a prototype
 *  in an installed <maas/...> header). libmaas is built with
 *  -fvisibility=hidden, so only these are in the shared library's dynamic
 *  symbol table; every other function stays internal (docs/structure.md). */
#ifndef MAAS_EXPORT_H
#define MAAS_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define MAAS_EXPORT __attribute__ ((visibility ("default")))
#else
#define MAAS_EXPORT
#endif

#endif
