#!/usr/bin/env python3
"""Per-file line and branch coverage of core/src from a gcovr JSON report,
and the check of the untaken branches against ci/coverage-untaken.md.

  coverage_report.py table JSON [--exclude FILE]...      per-file table, totals
  coverage_report.py check JSON LIST [--main-floor PCT]   untaken branches vs LIST
  coverage_report.py rows JSON LIST                        LIST's table for this run

A branch is named by what survives edits elsewhere in the file: its file, its
function, the text of its source line (whitespace collapsed; "#2" when the
same text occurs again in that function) and its index among the line's gcov
branches. Line numbers are never compared, so code moving does not break the
check; changing the line itself or its function's name does, on purpose.

check fails when a branch is untaken and its row is missing from LIST (or the
row does not list that index), and when a row has no reason. A row whose
branches are now taken is reported as stale (remove it) but does not fail:
some branches over real sockets are taken only under some timings, and such
rows say so in their reason.
"""
import json
import re
import sys
from collections import defaultdict

PIPE = re.compile(r"(?<!\\)\|")


def load(path):
    with open(path) as f:
        return json.load(f)["files"]


def counts(fileinfo):
    lines = [l for l in fileinfo["lines"] if not l.get("gcovr/noncode") and not l.get("gcovr/excluded")]
    lt = sum(1 for l in lines if l["count"] > 0)
    br = [b for l in lines for b in l["branches"]]
    bt = sum(1 for b in br if b["count"] > 0)
    return len(lines), lt, len(br), bt


def pct(a, n):
    return 100.0 * a / n if n else 100.0


def table(files, exclude, title):
    print(f"{title}")
    print(f"  {'file':<24}{'lines':>7}{'taken':>7}{'%':>7}{'branches':>10}{'taken':>7}{'%':>7}")
    tot = [0, 0, 0, 0]
    for f in sorted(files, key=lambda f: f["file"]):
        name = f["file"].split("/")[-1]
        if name in exclude:
            continue
        c = counts(f)
        tot = [a + b for a, b in zip(tot, c)]
        print(f"  {name:<24}{c[0]:>7}{c[1]:>7}{pct(c[1], c[0]):>7.1f}{c[2]:>10}{c[3]:>7}{pct(c[3], c[2]):>7.1f}")
    print(f"  {'TOTAL':<24}{tot[0]:>7}{tot[1]:>7}{pct(tot[1], tot[0]):>7.1f}"
          f"{tot[2]:>10}{tot[3]:>7}{pct(tot[3], tot[2]):>7.1f}")
    if exclude:
        print(f"  (without {', '.join(sorted(exclude))})")
    return pct(tot[1], tot[0]), pct(tot[3], tot[2])


def untaken(files, root="."):
    """{(file, function, code): (set of untaken indices, branch count, line number)}"""
    out = {}
    for f in files:
        name = f["file"].split("/")[-1]
        with open(f"{root}/{f['file']}") as src:
            text = src.read().split("\n")
        funcs = sorted((fn["lineno"], fn["name"]) for fn in f.get("functions", []))
        seen = defaultdict(int)
        for l in sorted(f["lines"], key=lambda l: l["line_number"]):
            n = l["line_number"]
            func = "-"
            for start, fname in funcs:
                if start <= n:
                    func = fname
            code = " ".join(text[n - 1].split())
            seen[(func, code)] += 1
            if seen[(func, code)] > 1:
                code = f"{code} #{seen[(func, code)]}"
            idx = {i for i, b in enumerate(l["branches"]) if b["count"] == 0}
            if idx and not l.get("gcovr/excluded"):
                out[(name, func, code)] = (idx, len(l["branches"]), n)
    return out


def esc(s):
    return s.replace("|", "\\|")


def unesc(s):
    return s.replace("\\|", "|")


def read_list(path):
    """{(file, function, code): (set of indices, reason)} from LIST's table rows."""
    rows = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("| ") or line.startswith("| file ") or line.startswith("|---"):
                continue
            cells = [unesc(c.strip()) for c in PIPE.split(line.strip())[1:-1]]
            if len(cells) != 5:
                sys.exit(f"coverage: bad row in {path}: {line.strip()}")
            fname, func, code, which, reason = cells
            code = code.strip("`")
            idx = {int(x) for x in which.split(" of ")[0].split(",")}
            rows[(fname, func, code)] = (idx, reason)
    return rows


def fmt_row(key, idx, nbr, reason):
    which = ",".join(str(i) for i in sorted(idx)) + f" of {nbr}"
    return f"| {key[0]} | {key[1]} | `{esc(key[2])}` | {which} | {esc(reason)} |"


def check(files, listpath):
    now = untaken(files)
    rows = read_list(listpath)
    bad = 0
    for key, (idx, nbr, n) in sorted(now.items()):
        row = rows.get(key)
        if row is None or not idx <= row[0]:
            bad += 1
            print(f"coverage: untaken, not in {listpath}: {key[0]}:{n} {key[1]}: {key[2]} "
                  f"(branches {sorted(idx)} of {nbr})")
    for key, (idx, reason) in sorted(rows.items()):
        if not reason or reason.upper().startswith("TODO"):
            bad += 1
            print(f"coverage: row without a reason: {key}")
        if key not in now:
            print(f"coverage: stale row (taken now or code changed; remove it): {key[0]} {key[1]}: {key[2]}")
        elif not now[key][0] >= idx:
            print(f"coverage: row lists taken branches {sorted(idx - now[key][0])}: {key[0]} {key[1]}: {key[2]}")
    n_untaken = sum(len(v[0]) for v in now.values())
    print(f"coverage: {n_untaken} untaken branches on {len(now)} lines; {bad} problems with {listpath}")
    return bad == 0


def rows_cmd(files, listpath):
    """The table for this run, reasons kept from LIST where the key matches."""
    old = read_list(listpath)
    for key, (idx, nbr, n) in sorted(untaken(files).items(), key=lambda kv: (kv[0][0], kv[1][2])):
        print(fmt_row(key, idx, nbr, old.get(key, (None, "TODO"))[1]))


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    cmd, files = argv[1], load(argv[2])
    if cmd == "table":
        exclude = {argv[i + 1] for i in range(3, len(argv) - 1) if argv[i] == "--exclude"}
        title = next((argv[i + 1] for i in range(3, len(argv) - 1) if argv[i] == "--title"), "coverage")
        _, br = table(files, exclude, title)
        floor = next((float(argv[i + 1]) for i in range(3, len(argv) - 1) if argv[i] == "--floor"), None)
        if floor is not None and br < floor:
            print(f"coverage: branch coverage {br:.1f}% is under the floor {floor}%")
            return 1
        return 0
    if cmd == "check":
        return 0 if check(files, argv[3]) else 1
    if cmd == "rows":
        rows_cmd(files, argv[3])
        return 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
