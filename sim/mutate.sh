#!/usr/bin/env bash
# sim/mutate.sh [BUILD_DIR] [options] — the mutation run: does the main job
# catch bugs that are not among the known bugs?
#
# For each sim/mutations/NN-*.patch (a unified diff against core/src, first
# line: what the bug is) it builds tcpshm-sim-mut<n> in BUILD_DIR (default
# build/fault: a fault build, configured; the patch is applied to a copy of
# core/src by the same machinery as the known bugs), then runs the main
# job's seeds with --faults all, the swarm, and --transport shm --faults all,
# each with --stop, until one reports a violation. Prints one table row per
# mutation: caught (mode, first failing seed, the violation) or missed.
#
# Options: --seeds N (default 400, the main job's), --jobs N (default 2),
# --seed-timeout SEC (CPU seconds per run, default 10), --timeout SEC (wall
# seconds per mode of one mutation, default 120), --only N[,N...] (these
# mutations only). Exit 0 when every mutation was built and run (missed ones
# included: the table is the result), 1 when a build failed, 2 usage.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
bin=build/fault
case "${1:-}" in -*|"") ;; *) bin=$1; shift ;; esac
seeds=400 jobs=2 seed_timeout=10 timeout=120 only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --seed-timeout) seed_timeout=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --only) only=",$2,"; shift 2 ;;
    *) echo "usage: sim/mutate.sh [BUILD_DIR] [--seeds N] [--jobs N] [--seed-timeout S] [--timeout S] [--only N,...]" >&2; exit 2 ;;
  esac
done
[ -d "$bin" ] || { echo "no build directory $bin (ci/build fault first)" >&2; exit 2; }
# a new patch file needs a new configure (the list is globbed at configure time)
cmake "$bin" > /dev/null || exit 1

modes=("--faults all" "--faults swarm" "--transport shm --faults all")
fail=0
printf '| n | mutation | result |\n|---|---|---|\n'
n=0
for p in "$here"/mutations/[0-9]*.patch; do
  n=$((n + 1))
  case "$only" in ""|*",$n,"*) ;; *) continue ;; esac
  name=$(basename "$p" .patch)
  if ! timeout 600 cmake --build "$bin" --target "tcpshm-sim-mut$n" -j "$jobs" > "$bin/mut$n.build.log" 2>&1; then
    printf '| %d | %s | BUILD FAILED (%s) |\n' "$n" "$name" "$bin/mut$n.build.log"
    fail=1
    continue
  fi
  sim="$bin/sim/tcpshm-sim-mut$n"
  result="missed (1-$seeds: all, swarm, shm all)"
  for m in "${modes[@]}"; do
    # shellcheck disable=SC2086 # $m is a list of options
    out=$(timeout "$timeout" "$sim" --seeds "1-$seeds" $m --jobs "$jobs" --stop \
            --seed-timeout "$seed_timeout" 2>&1)
    rc=$?
    line=$(printf '%s\n' "$out" | grep -m1 '^VIOLATION')
    seed=$(printf '%s\n' "$out" | sed -n 's/^seed \([0-9]*\): [A-Z]* *VIOLATION.*/\1/p' | head -1)
    [ -z "$seed" ] && seed=$(printf '%s\n' "$line" | sed -n 's/^VIOLATION (seed \([0-9]*\).*/\1/p')
    if [ -n "$line" ]; then
      what=$(printf '%s\n' "$line" | sed 's/^VIOLATION ([^)]*): //' | cut -c1-110 | tr '|' '/')
      result="caught: \`$m\` seed $seed: $what"
      break
    fi
    if [ $rc -eq 124 ]; then
      result="undecided: \`$m\` stopped by the ${timeout}s bound before seed $seeds"
      break
    fi
  done
  printf '| %d | %s | %s |\n' "$n" "$name" "$result"
done
exit $fail
