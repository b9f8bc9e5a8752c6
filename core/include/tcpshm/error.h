/* Error codes and the error record every fallible call can fill. */
#ifndef TCPSHM_ERROR_H
#define TCPSHM_ERROR_H

#include "tcpshm/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Calls return 0 on success or one of these (negative) codes. */
enum tcpshm_code {
    TCPSHM_OK = 0,
    TCPSHM_E_CONFIG = -1,      /* a configuration value is out of range */
    TCPSHM_E_SYSTEM = -2,      /* an env (OS) call failed; sys_errno says why */
    TCPSHM_E_NAME = -3,        /* a peer name is empty, too long or unsafe in a path */
    TCPSHM_E_CORRUPT = -4,     /* a persisted file is truncated, foreign or inconsistent */
    TCPSHM_E_FULL = -5,        /* the queue has no room now */
    TCPSHM_E_BAD_ACK = -6,     /* the peer acknowledged a message never sent */
    TCPSHM_E_FRAME_SMALL = -7, /* a header's size is below the header size */
    TCPSHM_E_FRAME_LARGE = -8, /* a message is larger than the receive maximum */
    TCPSHM_E_TRUNCATED = -9,   /* the stream ended inside a message */
    TCPSHM_E_ARG = -10,        /* a call argument is invalid (caller bug) */
    TCPSHM_E_IN_USE = -11      /* another process holds this name's state directory */
};

/* Filled by a failing call when the caller passes one; text is always
 * NUL-terminated and says what was wrong in words a user can act on. */
typedef struct tcpshm_error {
    int code;      /* one of enum tcpshm_code */
    int sys_errno; /* errno of the failed OS call, 0 if none */
    char text[256];
} tcpshm_error;

/* A short fixed name for a code ("corrupt file", "bad ack", ...). */
TCPSHM_API const char *tcpshm_code_name(int code);

#ifdef __cplusplus
}
#endif
#endif
