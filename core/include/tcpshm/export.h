/* TCPSHM_API marks the functions of the public API: the only symbols the
 * shared library exports (the core is compiled with -fvisibility=hidden;
 * tests/check_exports.sh compares the export table with the headers). */
#ifndef TCPSHM_EXPORT_H
#define TCPSHM_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define TCPSHM_API __attribute__((visibility("default")))
#else
#define TCPSHM_API
#endif

#endif
