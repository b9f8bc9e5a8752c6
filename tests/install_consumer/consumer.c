/* Uses the installed library: creates a queue in DIR, pushes one message,
 * reopens it and checks the message is there. */
#include <stdio.h>
#include <string.h>
#include <tcpshm/ptcp_queue.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: consumer DIR\n");
        return 2;
    }
    tcpshm_ptcp_queue_config cfg = {.capacity = 4096, .max_msg_size = 256, .little_endian = true};
    tcpshm_ptcp_queue q;
    tcpshm_error err;
    if (tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), argv[1], "a", "b", &cfg, &err) != 0) {
        fprintf(stderr, "open: %s\n", err.text);
        return 1;
    }
    tcpshm_msg_header *h = tcpshm_ptcp_queue_alloc(&q, 5);
    h->msg_type = 9;
    memcpy(h + 1, "hello", 5);
    if (tcpshm_ptcp_queue_push(&q, &err) != 0) {
        fprintf(stderr, "push: %s\n", err.text);
        return 1;
    }
    tcpshm_ptcp_queue_close(&q);
    if (tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), argv[1], "a", "b", &cfg, &err) != 0) {
        fprintf(stderr, "reopen: %s\n", err.text);
        return 1;
    }
    const uint8_t *m = tcpshm_ptcp_queue_next(&q, NULL);
    int ok = tcpshm_ptcp_queue_seq_end(&q) >= 1 && m && memcmp(m + 8, "hello", 5) == 0;
    tcpshm_ptcp_queue_close(&q);
    printf("consumer: %s\n", ok ? "ok" : "queue content wrong");
    return ok ? 0 : 1;
}
