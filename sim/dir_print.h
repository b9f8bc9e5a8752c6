/* A node's directory on venv as it was, and whether it still is: every
 * name, size and byte under it, for the rules that say a refused start
 * leaves the directory as it was (fault_twin.c, fault_misconfig.c).
 * Defined in dir_print.c. */
#ifndef TCPSHM_SIM_DIR_PRINT_H
#define TCPSHM_SIM_DIR_PRINT_H

#include <stdbool.h>
#include <stdint.h>

#include "sim_state.h"

#define SIM_DIR_PRINT_FILES 128 /* names followed one by one; more: the whole fingerprint */

typedef struct sim_dir_print_entry {
    uint64_t path, stamp, hash; /* hash: of the bytes, once taken (hashed) */
    size_t size;
    bool is_dir, hashed;
} sim_dir_print_entry;

typedef struct sim_dir_print {
    char dir[SIM_PATH_SIZE];
    uint32_t n;
    bool whole;      /* more names than entries: before is the whole fingerprint */
    uint64_t before;
    sim_dir_print_entry e[SIM_DIR_PRINT_FILES];
} sim_dir_print;

/* Notes the names, sizes and venv stamps under dir (the bytes only of
 * files mapped now) and, until sim_dir_print_end, the hash of the bytes of
 * each that changes or leaves its name, as it was (venv's stamp hook): a
 * refused start touches few files, and only those are read. One at a time. */
void sim_dir_print_begin(sim *s, const char *dir, sim_dir_print *p);
void sim_dir_print_end(sim *s, sim_dir_print *p);
/* After end, before anything changes the directory again: whether every
 * name, size and byte under it is as it was at begin. */
bool sim_dir_print_same(sim *s, sim_dir_print *p);

#endif
