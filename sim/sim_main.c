/* tcpshm-sim: the command line on the built-in echo / one-way workload. */
#include "sim.h"

int main(int argc, char **argv) { return sim_cli_main(argc, argv, NULL); }
