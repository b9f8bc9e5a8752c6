#!/usr/bin/env python3
"""check_chrome_trace.py SIM SEEDS ok|violation [SIM OPTIONS...]

Takes the first seed of SEEDS (N or A-B) that passes with messages popped
('ok') or fails ('violation') on SIM (tcpshm-sim or a tcpshm-sim-kb<n>): a
range keeps the test meaningful when the simulator's choices move. Runs it
with --trace-format chrome three ways and checks the result (CTest
sim_trace_chrome*):
  - to a file, and with --trace - to stdout: the same bytes, and stdout holds
    nothing but the JSON (the per-seed line goes to stderr);
  - the trace hash is the one of the run without a trace (the Chrome writer
    only watches);
  - the file is JSON in the Trace Event Format: metadata naming every track,
    balanced B/E spans (life, login attempt, connection), push and pop
    instants with stream, seq and size, flow pairs s -> f with matching ids
    bound to their push and pop, faults, non-decreasing ts;
  - 'ok': exit 0, result ok, no violation; 'violation': exit 1 and the last
    instant is the violation with its text.
Exit status 0 when every check passes."""
import json
import os
import re
import subprocess
import sys
import tempfile

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def run(sim, args):
    p = subprocess.run([sim] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def pick_seed(sim, seeds, expect, extra):
    a, _, b = seeds.partition("-")
    for seed in range(int(a), int(b or a) + 1):
        rc, out, _ = run(sim, ["--seed", str(seed)] + extra)
        m = re.search(r"(\d+) popped", out.decode(errors="replace"))
        if (expect == "violation" and rc == 1) or (expect == "ok" and rc == 0 and m and int(m.group(1)) > 0):
            return str(seed)
    return None


def trace_hash(text):
    m = re.search(r"trace hash ([0-9a-f]{16})", text)
    return m.group(1) if m else None


def check_events(d, expect):
    ev = d.get("traceEvents")
    if not check(isinstance(ev, list) and ev, "traceEvents is a non-empty list"):
        return
    other = d.get("otherData", {})
    check("1 tick = 1 us" in other.get("clock", ""), "otherData says how ticks map to us")
    names = {}  # (pid, tid) -> thread name
    for e in ev:
        if e["ph"] == "M" and e["name"] == "thread_name":
            names[(e["pid"], e["tid"])] = e["args"]["name"]
    node_tracks = [n for (pid, _), n in names.items() if pid >= 2]
    check(node_tracks and all(re.fullmatch(r"\S+( shm)? #\d+", n) for n in node_tracks),
          "incarnation tracks named 'name #owner': %s" % node_tracks[:5])
    stacks, last_ts, spans, pushes, pops = {}, -1.0, 0, {}, {}
    flows_s, flows_f, faults, prev = {}, {}, 0, {}
    for e in ev:
        ph, key = e["ph"], (e.get("pid"), e.get("tid"))
        if ph == "M":
            continue
        check(key in names, "event on a named track: %s" % e)
        check(e["ts"] >= last_ts, "ts never goes back: %s" % e)
        last_ts = e["ts"]
        if ph == "B":
            stacks.setdefault(key, []).append(e["name"])
        elif ph == "E":
            st = stacks.get(key, [])
            if check(st and st[-1] == e["name"], "E closes the innermost B: %s" % e):
                st.pop()
                spans += 1
        elif ph == "i":
            a = e.get("args", {})
            if e["name"] in ("push", "pop"):
                ok = all(isinstance(a.get(k), int) for k in ("stream", "seq", "size"))
                check(ok, "push/pop has stream, seq and size: %s" % e)
                if ok:
                    (pushes if e["name"] == "push" else pops)[a["stream"] << 32 | a["seq"]] = e
            if e.get("cat") == "fault":
                faults += 1
        elif ph in "sf":
            # bound to the instant just before it on its track (same ts)
            p = prev.get(key)
            want = "push" if ph == "s" else "pop"
            ok = p is not None and p["name"] == want and p["ts"] == e["ts"] and \
                p["args"]["stream"] << 32 | p["args"]["seq"] == e["id"]
            check(ok, "flow %s follows its %s on its track: %s" % (ph, want, e))
            (flows_s if ph == "s" else flows_f).setdefault(e["id"], []).append(e)
            check(ph == "s" or e.get("bp") == "e", "flow end binds to the enclosing slice")
        prev[key] = e
    check(all(not st for st in stacks.values()), "every span ends: %s" % {k: v for k, v in stacks.items() if v})
    check(spans >= 3, "spans (life, login attempt, connection): %d" % spans)
    check(any(e["ph"] == "B" and e["name"].startswith("connected to") for e in ev), "a connection span")
    check(pushes and pops, "push and pop instants: %d, %d" % (len(pushes), len(pops)))
    pairs = set(flows_s) & set(flows_f)
    check(pairs, "a flow pair s -> f with the same id")
    # an id (stream, seq) comes again when a rollback retracted a push and
    # the seq is pushed anew: each flow end has a start of its id before it
    check(all(any(s["ts"] <= f["ts"] for s in flows_s[i]) for i in pairs for f in flows_f[i]),
          "every flow goes forward in time")
    check(faults > 0, "fault instants")
    instants = [e for e in ev if e["ph"] == "i"]
    viol = [e for e in instants if e["name"] == "VIOLATION"]
    if expect == "violation":
        check(other.get("result", "").endswith("violation"), "otherData result is a violation")
        check(viol and instants[-1]["name"] == "VIOLATION" and ev[-1]["name"] == "VIOLATION",
              "the violation is the last event")
        check(viol and viol[-1]["args"].get("violation") == other.get("violation") and
              viol[-1]["args"]["violation"], "the violation instant has its text")
    else:
        check(other.get("result") == "ok" and not viol, "result ok, no violation instant")
    return other


def main(argv):
    if len(argv) < 4 or argv[3] not in ("ok", "violation"):
        print(__doc__, file=sys.stderr)
        return 2
    sim, seeds, expect, extra = argv[1], argv[2], argv[3], argv[4:]
    seed = pick_seed(sim, seeds, expect, extra)
    if seed is None:
        print("FAIL: no seed in %s gives '%s' on %s" % (seeds, expect, sim))
        return 1
    rc_want = 0 if expect == "ok" else 1
    base = ["--seed", seed] + extra
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace.json")
        rc, out, err = run(sim, base + ["--trace", path, "--trace-format", "chrome"])
        check(rc == rc_want, "exit status %d with the trace to a file, want %d" % (rc, rc_want))
        h_file = trace_hash(out.decode(errors="replace"))
        with open(path, "rb") as f:
            data = f.read()
    rc, out, err = run(sim, base + ["--trace", "-", "--trace-format", "chrome"])
    check(rc == rc_want, "exit status %d with the trace to stdout, want %d" % (rc, rc_want))
    check(out == data, "--trace - writes the same bytes to stdout as to a file")
    h_stdout = trace_hash(err)
    rc, out, err = run(sim, base)
    h_plain = trace_hash(out.decode(errors="replace"))
    check(h_plain and h_file == h_plain and h_stdout == h_plain,
          "same trace hash with and without the trace: %s %s %s" % (h_plain, h_file, h_stdout))
    try:
        d = json.loads(data)
    except ValueError as e:
        check(False, "the trace parses as JSON: %s" % e)
        d = None
    if d is not None:
        other = check_events(d, expect)
        if other is not None:
            check(other.get("trace_hash") == h_plain, "otherData has the trace hash")
    for f in failures:
        print("FAIL: " + f)
    print("%s seed %s (%s): %s" % (os.path.basename(sim), seed, expect,
                                   "%d checks failed" % len(failures) if failures else "chrome trace ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
