/* tcpshm-sim: the command line on the simulator's own application, the
 * echo / one-way workload (echo_app.c), a world of tcpshm/sim.h as a
 * user's is. */
#include "echo_app.h"

int main(int argc, char **argv) { return tcpshm_sim_main(argc, argv, echo_app_world()); }
