#!/usr/bin/env bash
# examples/sim/world_test.sh BROKEN CORRECT [SEEDS [FAULTS [EXPECT]]] — CTests
# sim_world_echo, sim_world_order ...: the broken variant of a world (e.g. the
# naive echo: pop, then push; or a correct one on a known-bug core) must fail
# within SEEDS seeds (default 400; its faults FAULTS, default swarm) with a
# replay command that reproduces the violation (the same trace hash), whose
# text contains EXPECT if given; and the correct one must pass the same
# seeds, swarm and --faults all, deterministically (CORRECT "-": another
# test does that).
set -uo pipefail
usage="usage: world_test.sh BROKEN CORRECT [SEEDS [FAULTS [EXPECT]]]"
broken=${1:?$usage}
correct=${2:?$usage}
seeds=${3:-400}
broken_faults=${4:-swarm}
expect=${5:-}
fail() { echo "world_test: $*" >&2; exit 1; }

out=$(timeout 600 "$broken" --seeds "1-$seeds" --faults "$broken_faults" --stop --jobs 2 2>&1)
rc=$?
[ "$rc" -eq 1 ] || fail "the broken variant exited $rc over seeds 1-$seeds, expected 1 (a violation): $(tail -5 <<< "$out")"
violation=$(grep -m1 '^VIOLATION (seed' <<< "$out") || fail "no violation report: $(tail -5 <<< "$out")"
# the replay command and the summary line of that violation's seed: with
# --jobs 2 each job reports its own first violation, and the two jobs'
# stdout and stderr lines need not come in the same order
seed=$(sed -n 's/^VIOLATION (seed \([0-9]*\),.*/\1/p' <<< "$violation")
replay=$(grep -m1 -- "^  replay: .* --seed $seed " <<< "$out" | sed 's/^  replay: //; s/ --trace trace\.txt$//')
[ -n "$replay" ] || fail "the violation of seed $seed has no replay command"
line=$(grep -m1 "^seed $seed: .*VIOLATION, trace hash" <<< "$out")
hash=$(sed -n 's/.*trace hash \([0-9a-f]*\),.*/\1/p' <<< "$line")
[ -n "$hash" ] || fail "no trace hash in '$line'"
echo "broken variant: $violation"
[ -z "$expect" ] || grep -qF -- "$expect" <<< "$violation" || fail "the violation does not say '$expect'"
echo "  replay: $replay (trace hash $hash)"
# shellcheck disable=SC2086 # the replay command is words
again=$(timeout 120 $replay 2>&1)
rc=$?
[ "$rc" -eq 1 ] || fail "the replay exited $rc, expected 1"
grep -q "VIOLATION, trace hash $hash," <<< "$again" || fail "the replay did not give trace hash $hash: $(tail -2 <<< "$again")"
grep -qF "${violation#VIOLATION (seed * t=*): }" <<< "$again" || fail "the replay reports another violation"
echo "  replayed: the same violation and trace hash"
if [ "$correct" = - ]; then
  echo "world_test: ok"
  exit 0
fi

for faults in swarm all; do
  out=$(timeout 600 "$correct" --seeds "1-$seeds" --faults "$faults" --jobs 2 --quiet 2>&1)
  rc=$?
  [ "$rc" -eq 0 ] || fail "the correct variant failed with --faults $faults: $(grep -m3 -A3 'VIOLATION' <<< "$out")"
  echo "correct variant, --faults $faults: $(grep -E 'violations|sweep hash' <<< "$out" | tr -s ' ' | tr '\n' ' ')"
done
out=$(timeout 300 "$correct" --seeds 1-20 --check-determinism --quiet 2>&1) || fail "--check-determinism: $(tail -3 <<< "$out")"
echo "world_test: ok"
