#!/usr/bin/env bash
# sim/hangtest.sh BIN_DIR — proves that a hang ends a run (CTest sim_hang).
# BIN_DIR/tcpshm-sim-hangtest is the simulator with sim/hang_inject.c:
# TCPSHM_SIM_INJECT_HANG=env:S makes a step of seed S call the env forever
# (the env-call budget must stop it), cpu:S makes it loop without calls (the
# CPU alarm of --seed-timeout must stop it). Each case must end with exit
# status 1, a hang violation, the replay command and the sweep's report.
set -uo pipefail
bin=${1:?usage: sim/hangtest.sh BIN_DIR}/tcpshm-sim-hangtest
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check NAME WANT_RC GOT_RC FILE PATTERN...
  local name=$1 want=$2 got=$3 file=$4
  shift 4
  if [ "$got" != "$want" ]; then
    echo "FAIL $name: exit status $got, want $want"; fail=1; return
  fi
  for pat in "$@"; do
    if ! grep -qE -- "$pat" "$file"; then
      echo "FAIL $name: no line matching '$pat' in:"; sed 's/^/    /' "$file"; fail=1; return
    fi
  done
  echo "ok   $name"
}
run() { # run ENV_VALUE ARGS... : stdout and stderr into $tmp/out, $tmp/err
  TCPSHM_SIM_INJECT_HANG=$1 timeout 60 "$bin" "${@:2}" > "$tmp/out" 2> "$tmp/err"
}

run off --seeds 1-4
check "no injection: seeds 1-4 pass" 0 $? "$tmp/out" "violations +0"

# the env-call budget: deterministic, replays with the same trace hash
run env:3 --seed 3
check "env hang: one seed" 1 $? "$tmp/err" \
  "^VIOLATION \(seed 3, t=[0-9]+\): hang: node c1g0 made more than [0-9]+ env calls in one step \(at recv\)" \
  "^  replay: .*tcpshm-sim-hangtest --seed 3 --steps 3000 --faults swarm --trace trace.txt" "^    t=[0-9]+ hang 1 "
h1=$(sed -n 's/.*trace hash \([0-9a-f]*\).*/\1/p' "$tmp/out")
cp "$tmp/out" "$tmp/out1"
check "env hang: the seed line" 1 1 "$tmp/out1" "^seed 3: HANG VIOLATION, trace hash [0-9a-f]+"
run env:3 --seed 3
h2=$(sed -n 's/.*trace hash \([0-9a-f]*\).*/\1/p' "$tmp/out")
if [ -n "$h1" ] && [ "$h1" = "$h2" ]; then echo "ok   env hang: replays with the same trace hash $h1"
else echo "FAIL env hang: trace hash '$h1' then '$h2'"; fail=1; fi
run env:3 --seeds 1-6 --stop
check "env hang: --stop ends the sweep at it" 1 $? "$tmp/out" "^seed 3: HANG VIOLATION" "run +3 \(1-6\)" \
  "violations +1" "first failing seed +3"
run env:3 --seeds 1-6 --json --jobs 2
check "env hang: --json --jobs 2 counts it" 1 $? "$tmp/out" '"seeds": 6, .*"violations": 1, "first_violation": 3,'

# the CPU alarm: the process ends at the hang, with its report
start=$SECONDS
run cpu:3 --seeds 1-6 --seed-timeout 1
rc=$?
cp "$tmp/err" "$tmp/err1"
check "cpu hang: the report" "1" $rc "$tmp/err1" \
  "^VIOLATION \(seed 3, t=[0-9]+\): hang: the run used more than 1 s of CPU time" "^  last events:" \
  "^  replay: .*tcpshm-sim-hangtest --seed 3 --steps 3000 --faults swarm --trace trace.txt" \
  "stopped after the hang of seed 3 \(seeds 4-6 not run\)"
check "cpu hang: the seed line and the summary so far (stdout to a file)" 1 $rc "$tmp/out" \
  "^seed 3: HANG VIOLATION" "run +3 \(1-6\)" "violations +1"
run cpu:3 --seeds 1-6 --seed-timeout 1 --jobs 2 --json
check "cpu hang: --jobs 2, the parent reports the child's hang" 1 $? "$tmp/out" \
  '"seeds": 5, .*"violations": 1, "first_violation": 3,'
check "cpu hang: --jobs 2, stderr" 1 1 "$tmp/err" "^VIOLATION \(seed 3, t=[0-9]+\): hang: the run used more than" \
  "job 0 stopped after the hang of seed 3 \(its later seeds not run\)" "^  replay: .* --seed 3 "
if [ $((SECONDS - start)) -gt 30 ]; then echo "FAIL cpu hang: took $((SECONDS - start)) s"; fail=1; fi
exit $fail
