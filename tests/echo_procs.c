/* The echo programs as child processes of a Criterion test (echo_procs.h). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "echo_procs.h"

long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* fork + exec argv with stdout and stderr into log; the child dies with us. */
pid_t spawn(char *const argv[], const char *log)
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* The whole file (at most cap-1 bytes), NUL-terminated; returns its length. */
size_t slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return n;
}

/* A loopback port free at the moment (the kernel's choice). */
uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Starts echo_server on a free port and waits for its "listening" line
 * (another port if that one was taken meanwhile). */
pid_t start_echo_server(const char *binary, const char *log, const char *name, const char *dir, uint16_t *port)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        char port_s[16];
        *port = free_port();
        snprintf(port_s, sizeof port_s, "%u", *port);
        char *argv[] = {(char *)binary, "--listen", "127.0.0.1", "--port", port_s, "--name", (char *)name,
                        "--dir", (char *)dir, NULL};
        pid_t pid = spawn(argv, log);
        static char buf[1 << 16];
        for (long long end = now_ms() + 10000; now_ms() < end; msleep(5)) {
            slurp(log, buf, sizeof buf);
            if (strstr(buf, "listening on"))
                return pid;
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid)
                break; /* the port was taken: try another */
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    cr_assert_fail("echo_server did not start listening (log: %s)", log);
    return 0;
}

void stop_server(pid_t pid)
{
    int st;
    cr_assert_eq(kill(pid, SIGTERM), 0);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "echo_server ended with wait status 0x%x on SIGTERM", st);
}

