#include "tcpshm/version.h"

const char *tcpshm_version(void) { return TCPSHM_VERSION_STRING; }
