#!/usr/bin/env bash
# sim/shard_test.sh BIN_DIR — sharding and merging: three shards of seeds
# 1-60 (--shard K/3, and the same shards from Slurm's and Kubernetes'
# variables with --shards 3) merge into the summary of one run (the same
# sweep hash, counts and faults fired); a known-bug build's shards merge
# into its failures; --merge refuses overlapping, missing and foreign
# shards, and bad shard arguments are usage errors. Exit 0 only if all hold.
set -uo pipefail
bin=${1:?usage: sim/shard_test.sh BIN_DIR}
sim="$bin/tcpshm-sim"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL $*"; fail=1; }
same_summary() { # A.json B.json: equal but for cpu_seconds, program and shard
  python3 -c 'import json,sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    for k in ("cpu_seconds", "program", "shard"):
        d.pop(k)
    for f in d["failures"]:
        f.pop("replay")
assert a == b, (a, b)' "$1" "$2"
}

"$sim" --seeds 1-60 --faults all --json > "$tmp/whole.json" 2>/dev/null
for k in 0 1 2; do
  "$sim" --seeds 1-60 --faults all --shard "$k/3" --json > "$tmp/s$k.json" 2>/dev/null
done
python3 -c 'import json,sys
seen = []
for k in range(3):
    d = json.load(open(sys.argv[1] + "/s%d.json" % k))
    assert d["shard"] == {"index": k, "count": 3} and d["seeds"] == 20, d
' "$tmp" || bad "--shard K/3: not 20 seeds each with the shard recorded"
"$sim" --merge "$tmp/s2.json" "$tmp/s0.json" "$tmp/s1.json" --json > "$tmp/merged.json" ||
  bad "--merge of three shards exited $?"
same_summary "$tmp/whole.json" "$tmp/merged.json" && echo "ok   3 shards merged = one run over 1-60" ||
  bad "the merged summary differs from the single run's"
# (the table into a variable first: `| grep -q` under pipefail can kill the writer)
table=$("$sim" --merge "$tmp/s0.json" "$tmp/s1.json" "$tmp/s2.json")
grep -q "sweep hash *$(python3 -c \
  'import json,sys; print(json.load(open(sys.argv[1]))["hash"])' "$tmp/whole.json")" <<< "$table" ||
  bad "--merge without --json: the table lacks the sweep hash"

# The same shards from the environment.
for k in 0 1 2; do
  SLURM_ARRAY_TASK_ID=$((k + 1)) SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=3 \
    "$sim" --seeds 1-60 --faults all --shards 3 --json > "$tmp/slurm$k.json" 2>/dev/null
  JOB_COMPLETION_INDEX=$k "$sim" --seeds 1-60 --faults all --shards 3 --json > "$tmp/k8s$k.json" 2>/dev/null
  JOB_COMPLETION_INDEX=$(((k + 1) % 3)) "$sim" --seeds 1-60 --faults all --shard "$k/3" --shards 3 --json \
    > "$tmp/explicit$k.json" 2>/dev/null
  for v in slurm k8s explicit; do
    same_summary "$tmp/s$k.json" "$tmp/$v$k.json" && cmp -s <(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["shard"])' "$tmp/s$k.json") \
      <(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["shard"])' "$tmp/$v$k.json") ||
      bad "shard $k from $v differs from --shard $k/3"
  done
done
echo "ok   --shards 3 with SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX = --shard K/3; --shard wins"
"$sim" --seeds 1-60 --faults all --shard 1/3 --jobs 2 --json > "$tmp/jobs.json" 2>/dev/null
same_summary "$tmp/s1.json" "$tmp/jobs.json" && echo "ok   --shard 1/3 --jobs 2 = --shard 1/3" ||
  bad "--jobs 2 inside a shard changes its summary"

# A failing build: the shards' failures merge, sorted by seed.
kb="$bin/tcpshm-sim-kb1"
"$kb" --seeds 1-30 --json > "$tmp/kb.json" 2>/dev/null
"$kb" --seeds 1-30 --shard 0/2 --json > "$tmp/kb0.json" 2>/dev/null
"$kb" --seeds 1-30 --shard 1/2 --json > "$tmp/kb1.json" 2>/dev/null
"$sim" --merge "$tmp/kb1.json" "$tmp/kb0.json" --json > "$tmp/kbm.json"
rc=$?
[ $rc -eq 1 ] && same_summary "$tmp/kb.json" "$tmp/kbm.json" && echo "ok   known bug 1: 2 shards merged = one run (exit 1)" ||
  bad "known bug 1: the merge (exit $rc) differs from one run"

# Refusals: exit 2 with a reason.
refuse() { # WHAT PATTERN ARGS...: --merge ARGS must exit 2 and say PATTERN
  local what=$1 pat=$2
  shift 2
  out=$("$sim" --merge "$@" 2>&1 >/dev/null)
  rc=$?
  if [ $rc -eq 2 ] && grep -q "$pat" <<< "$out"; then echo "ok   refuses $what: $out"; else bad "$what: exit $rc, '$out'"; fi
}
"$sim" --seeds 1-61 --faults all --shard 2/3 --json > "$tmp/range.json" 2>/dev/null
"$sim" --seeds 1-60 --faults all --steps 2000 --shard 2/3 --json > "$tmp/steps.json" 2>/dev/null
"$sim" --seeds 1-60 --faults all --shard 1/2 --json > "$tmp/count.json" 2>/dev/null
"$kb" --seeds 1-60 --faults all --shard 2/3 --json > "$tmp/build.json" 2>/dev/null
echo '{"seeds": 3' > "$tmp/broken.json"
refuse "overlapping shards" "again (shards overlap)" "$tmp/s0.json" "$tmp/s1.json" "$tmp/s1.json" "$tmp/s2.json"
refuse "a missing shard" "1 of 3 shards missing (1)" "$tmp/s0.json" "$tmp/s2.json"
refuse "another range" "another seed range" "$tmp/s0.json" "$tmp/s1.json" "$tmp/range.json"
refuse "other options" "other options" "$tmp/s0.json" "$tmp/s1.json" "$tmp/steps.json"
refuse "another shard count" "another shard count" "$tmp/s0.json" "$tmp/count.json"
refuse "another build" "another build" "$tmp/s0.json" "$tmp/s1.json" "$tmp/build.json"
refuse "a single run twice" "again" "$tmp/whole.json" "$tmp/whole.json"
refuse "broken JSON" "is not JSON" "$tmp/s0.json" "$tmp/broken.json"
refuse "a missing file" "cannot read" "$tmp/s0.json" "$tmp/none.json"

usage() { # ARGS...: a usage error (exit 2)
  out=$(env "$@" 2>&1 >/dev/null)
  rc=$?
  if [ $rc -eq 2 ]; then echo "ok   usage error: $out" | head -1; else bad "exit $rc for: $*"; fi
}
usage "$sim" --seeds 1-10 --shard 3/3
usage "$sim" --seeds 1-10 --shard 1/0
usage "$sim" --seeds 1-10 --shard 1
usage "$sim" --seeds 1-10 --shard 1/3 --shards 4
usage "$sim" --seed 5 --shard 0/2
usage "$sim" --seeds 1-10 --shards 3
usage SLURM_ARRAY_TASK_ID=3 "$sim" --seeds 1-10 --shards 3
usage SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=4 "$sim" --seeds 1-10 --shards 3
usage JOB_COMPLETION_INDEX=x "$sim" --seeds 1-10 --shards 3
exit $fail
