#!/usr/bin/env bash
# sim/calm_test.sh BIN_DIR — calm windows (sim/calm.c): over seeds 1-12
# --faults all, some seeds have them and some do not, and inside a window
# (from a `calm 1` event to the next `calm 0` or `settle`) no fault is
# taken: no point fires and no scheduler kind acts. A kill there is the
# rollback operator's answer to a detected rollback, not a fault. Exit 0
# only if all of that holds.
set -uo pipefail
bin=${1:?usage: sim/calm_test.sh BIN_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
with=0 without=0 fail=0
for seed in $(seq 1 12); do
  if ! timeout 120 "$bin/tcpshm-sim" --seed "$seed" --faults all --trace "$tmp/t.txt" > "$tmp/out" 2>&1; then
    echo "calm_test: seed $seed failed: $(tail -3 "$tmp/out")"
    fail=1
    continue
  fi
  if ! grep -q ' calm 1 ' "$tmp/t.txt"; then
    without=$((without + 1))
    continue
  fi
  with=$((with + 1))
  bad=$(awk '/ calm 1 /{c=1; next} / calm 0 /{c=0; next} / settle /{c=0}
    c && $2 ~ /^(fault|crash|partition|power-loss|misuse|clock|stall|twin|rollback|misconfig|damage)$/' "$tmp/t.txt")
  if [ -n "$bad" ]; then
    echo "calm_test: seed $seed took faults inside a calm window:"
    head -5 <<< "$bad"
    fail=1
    continue
  fi
  echo "seed $seed: $(grep -c ' calm 1 ' "$tmp/t.txt") calm windows, none with a fault"
done
echo "calm_test: $with seeds with calm windows, $without without"
[ "$with" -gt 0 ] && [ "$without" -gt 0 ] || { echo "calm_test: expected both kinds of seed"; fail=1; }
exit $fail
