#!/usr/bin/env bash
# sim/json_test.sh BIN_DIR — tcpshm-sim --json is one JSON document on stdout
# (text on stderr): a passing sweep has "first_violation": null and no
# failures; a known-bug build (tcpshm-sim-kb1) lists each failing seed with
# its violation, trace hash and replay command, and each replay command
# gives that trace hash again. Exit 0 only if all of that holds.
set -uo pipefail
bin=${1:?usage: sim/json_test.sh BIN_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

"$bin/tcpshm-sim" --seeds 1-20 --json > "$tmp/ok.json" 2> "$tmp/ok.err"
rc=$?
python3 -c 'import json,sys
d = json.load(sys.stdin)
assert d["seeds"] == 20 and d["first_seed"] == 1 and d["last_seed"] == 20, d
assert d["violations"] == 0 and d["first_violation"] is None and d["failures"] == [], d
assert d["shard"] is None and d["options"]["time"] is None and d["options"]["faults"] == "swarm", d
assert len(d["hash"]) == 16 and int(d["hash"], 16) >= 0 and d["popped"] > 0, d
assert all(isinstance(v, int) for v in d["faults"].values()) and "kill" in d["faults"], d
' < "$tmp/ok.json" && [ "$rc" -eq 0 ] || { echo "FAIL passing sweep: exit $rc or bad JSON"; cat "$tmp/ok.json"; fail=1; }

# One seed: its per-seed line goes to stderr, stdout stays one document.
"$bin/tcpshm-sim" --seed 7 --json > "$tmp/one.json" 2> "$tmp/one.err"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["seeds"] == 1 and d["first_seed"] == 7, d' \
  < "$tmp/one.json" && grep -q '^seed 7: ok, trace hash' "$tmp/one.err" ||
  { echo "FAIL --seed 7 --json: stdout is not one document or the seed line is not on stderr"; fail=1; }

kb="$bin/tcpshm-sim-kb1"
"$kb" --seeds 1-30 --json > "$tmp/kb.json" 2> "$tmp/kb.err"
rc=$?
python3 -c 'import json,sys
d = json.load(sys.stdin)
f = d["failures"]
assert d["violations"] > 0 and len(f) == d["violations"], d
assert d["first_violation"] == min(x["seed"] for x in f), d
for x in f:
    assert set(x) >= {"seed", "violation", "trace_hash", "replay", "kind"}, x
    assert x["kind"] in ("safety", "liveness") and x["violation"] and len(x["trace_hash"]) == 16, x
    assert x["replay"].split()[1:3] == ["--seed", str(x["seed"])], x
for x in f[:3]:
    print(x["trace_hash"], x["replay"])
' < "$tmp/kb.json" > "$tmp/replays" && [ "$rc" -eq 1 ] ||
  { echo "FAIL known bug 1: exit $rc (want 1) or bad JSON"; head -c 2000 "$tmp/kb.json"; fail=1; }
grep -q '^VIOLATION' "$tmp/kb.err" || { echo "FAIL known bug 1: no violation report on stderr"; fail=1; }
while read -r want replay; do
  # shellcheck disable=SC2086 # the replay is a command line
  got=$($replay --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["failures"][0]["trace_hash"])')
  if [ "$got" != "$want" ]; then
    echo "FAIL replay '$replay' gave trace hash '$got', the sweep had $want"
    fail=1
  else
    echo "ok   replay '$replay': trace hash $got"
  fi
done < "$tmp/replays"
[ -s "$tmp/replays" ] || { echo "FAIL no replay commands"; fail=1; }
[ $fail -eq 0 ] && echo "ok   --json: one document on stdout, null first_violation, failures with replays"
exit $fail
