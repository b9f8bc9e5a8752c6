/* The catalogue of every libfiu failure point in the core: one table, printed
 * by tools and kept in sync with the code by tests/test_fault_catalogue.c. */
#ifndef TCPSHM_FAULTS_CATALOGUE_H
#define TCPSHM_FAULTS_CATALOGUE_H

#include <stddef.h>

typedef struct tcpshm_fault_point {
    const char *name;   /* libfiu point name, e.g. "tcpshm/net/send/short" */
    const char *effect; /* what enabling it does */
    const char *where;  /* where in the core it sits */
} tcpshm_fault_point;

extern const tcpshm_fault_point tcpshm_fault_catalogue[];
extern const size_t tcpshm_fault_catalogue_len;

/* The entry of that name, or NULL. */
const tcpshm_fault_point *tcpshm_fault_find(const char *name);

#endif
