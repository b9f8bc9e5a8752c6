#!/usr/bin/env bash
# tests/check_labels.sh BUILD_DIR (CTest test_labels): every CTest entry of
# BUILD_DIR carries at least one of the labels unit, slow, stress, sim, fuzz
# (tests/README.md), so `ctest -L unit` and the other groups cover them all.
set -euo pipefail
build=${1:?usage: check_labels.sh BUILD_DIR}
ctest --test-dir "$build" --show-only=json-v1 | python3 -c '
import json, sys
known = {"unit", "slow", "stress", "sim", "fuzz"}
tests = json.load(sys.stdin)["tests"]
bad = []
for t in tests:
    labels = set()
    for p in t.get("properties", []):
        if p["name"] == "LABELS":
            labels = set(p["value"])
    if not labels & known:
        bad.append(t["name"])
if len(tests) < 10:
    sys.exit("test_labels: only %d tests listed: is this the build directory?" % len(tests))
if bad:
    sys.exit("test_labels: no unit/slow/stress/sim/fuzz label: " + " ".join(bad))
print("test_labels: all %d tests labelled" % len(tests))
'
