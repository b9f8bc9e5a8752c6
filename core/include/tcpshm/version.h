/* The library's version. This header is the one place the number is written:
 * the top-level CMakeLists.txt reads it for project(VERSION), so the SONAME,
 * tcpshmConfigVersion.cmake, the .pc files and every program's --version
 * follow it. */
#ifndef TCPSHM_VERSION_H
#define TCPSHM_VERSION_H

#include "tcpshm/export.h"

#define TCPSHM_VERSION_MAJOR 0
#define TCPSHM_VERSION_MINOR 1
#define TCPSHM_VERSION_PATCH 0

#define TCPSHM_VERSION_STR_(x) #x
#define TCPSHM_VERSION_STR(x) TCPSHM_VERSION_STR_(x)
/* "0.1.0" */
#define TCPSHM_VERSION_STRING                                                                     \
    TCPSHM_VERSION_STR(TCPSHM_VERSION_MAJOR)                                                      \
    "." TCPSHM_VERSION_STR(TCPSHM_VERSION_MINOR) "." TCPSHM_VERSION_STR(TCPSHM_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library the program runs with (TCPSHM_VERSION_STRING
 * is the one it was compiled against). */
TCPSHM_API const char *tcpshm_version(void);

#ifdef __cplusplus
}
#endif
#endif
