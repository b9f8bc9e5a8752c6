/* The echo programs as child processes of a Criterion test: spawn with the
 * output into a log, read a log, a free loopback port, echo_server started
 * on it (waiting for its "listening" line) and stopped by pid. Used by
 * test_echo_hardening and test_shm_scribble. */
#ifndef TCPSHM_TESTS_ECHO_PROCS_H
#define TCPSHM_TESTS_ECHO_PROCS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

long long now_ms(void);
void msleep(long ms);
/* fork + exec argv with stdout and stderr into log (appended); the child dies with us. */
pid_t spawn(char *const argv[], const char *log);
/* The whole file (at most cap-1 bytes), NUL-terminated; returns its length. */
size_t slurp(const char *path, char *buf, size_t cap);
/* A loopback port free at the moment (the kernel's choice). */
uint16_t free_port(void);
/* Starts the echo_server binary on 127.0.0.1, a free port, as `name` with
 * its state in dir; waits for its "listening" line. */
pid_t start_echo_server(const char *binary, const char *log, const char *name, const char *dir, uint16_t *port);
/* SIGTERM, and it must exit 0. */
void stop_server(pid_t pid);

#endif
