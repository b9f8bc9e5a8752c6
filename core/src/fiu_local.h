/* libfiu's points when FIU_ENABLE is defined (the tcpshm_fi library), nothing
 * at all otherwise (the release library): the same idea as libfiu's own
 * fiu-local.h, kept here so the release build needs no libfiu headers. */
#ifndef TCPSHM_FIU_LOCAL_H
#define TCPSHM_FIU_LOCAL_H

#ifdef FIU_ENABLE
#include <fiu.h>
#else
#define fiu_fail(name) 0
#define fiu_failinfo() NULL
#define fiu_do_on(name, action)
#endif

#endif
