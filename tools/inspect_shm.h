/* tcpshm-inspect --shm NAME: one shared-memory queue segment, opened by the
 * core's own tcpshm_shm_queue_open over a read-only env (private mapping),
 * so its checks and its producer recovery run on a copy. Pending messages
 * are walked with the consumer's own front()/pop() on that copy. */
#ifndef TCPSHM_TOOLS_INSPECT_SHM_H
#define TCPSHM_TOOLS_INSPECT_SHM_H

#include <stdbool.h>
#include <stdint.h>

/* Describes the segment through inspect_out. 0 good, 1 corrupt, 3 cannot read. */
int inspect_shm(const char *name, uint32_t max_msg_size, bool hex);

#endif
