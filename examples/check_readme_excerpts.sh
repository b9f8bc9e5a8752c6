#!/usr/bin/env bash
# check_readme_excerpts.sh README.md hello.c — every ```c block of README.md
# that follows a line naming examples/hello.c must be lines of hello.c, in
# the same order (leading and trailing blanks aside; a line "/* ... */"
# marks an elision). At least one such block in each of the sections
# "Using it (TCP)" and "Using it (shared memory)".
set -uo pipefail
readme=${1:?usage: check_readme_excerpts.sh README.md hello.c}
source=${2:?usage: check_readme_excerpts.sh README.md hello.c}
awk -v src="$source" '
  function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
  BEGIN { n = 0; while ((getline line < src) > 0) code[++n] = trim(line) }
  /^## / { section = $0; quoted = 0 }
  in_block && /^```/ { in_block = 0; next }
  in_block {
    want = trim($0)
    if (want == "" || substr(want, 1, 6) == "/* ...") next
    from = pos
    while (pos <= n && code[pos] != want) pos++
    if (pos > n) { printf "README.md line %d (%s) is not a line of hello.c in this order: %s\n", NR, section, want; bad = 1; pos = from }
    else pos++
    next
  }
  /^```c/ && quoted { in_block = 1; pos = 1; blocks[section]++; quoted = 0; next }
  /examples\/hello\.c/ { quoted = 1 }
  END {
    if (!blocks["## Using it (TCP)"]) { print "no excerpt of examples/hello.c in \"## Using it (TCP)\""; bad = 1 }
    if (!blocks["## Using it (shared memory)"]) { print "no excerpt of examples/hello.c in \"## Using it (shared memory)\""; bad = 1 }
    if (!bad) { total = 0; for (s in blocks) total += blocks[s]; printf "ok: %d README excerpt(s) match hello.c\n", total }
    exit bad
  }' "$readme"
