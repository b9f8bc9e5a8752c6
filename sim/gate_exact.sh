#!/usr/bin/env bash
# sim/gate_exact.sh SIM — the fault gate (tcpshm/fault_gate.h, sim/plan.c)
# lets the core skip libfiu evaluations the plan has seen will not fire; it
# must not change a single decision. Runs the same sweeps with the gate and
# with TCPSHM_SIM_NO_GATE=1 (every evaluation asks libfiu) and asserts equal
# sweep hashes (CTest sim_gate_exact). A fault path that changes
# plan.active or block_io without fp_set_active/fp_set_block_io, or draws
# from a gated kind's stream behind the gate's back, breaks it.
set -uo pipefail
sim=${1:?usage: sim/gate_exact.sh SIM}
fail=0
for args in "--seeds 1-150 --faults all" "--seeds 1-150" "--seeds 1-100 --transport shm --faults all"; do
  # shellcheck disable=SC2086
  a=$(timeout 300 "$sim" $args --jobs 2 --quiet 2>&1 | awk '/sweep hash/ {print $3}')
  # shellcheck disable=SC2086
  b=$(TCPSHM_SIM_NO_GATE=1 timeout 300 "$sim" $args --jobs 2 --quiet 2>&1 | awk '/sweep hash/ {print $3}')
  if [ -z "$a" ] || [ "$a" != "$b" ]; then
    echo "FAIL $args: sweep hash '${a:-none}' with the gate, '${b:-none}' without"; fail=1
  else
    echo "ok   $args: $a both ways"
  fi
done
exit $fail
