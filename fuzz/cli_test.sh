#!/usr/bin/env bash
# fuzz/cli_test.sh REPLAY GEN_CORPUS — the command lines of the fuzz programs
# (CTest fuzz_cli): a replay of a missing path exits 2 and says so, so that
# a mistyped corpus path cannot pass as "0 inputs ran"; gen_corpus parses
# its options (--help prints the usage, a bad option exits 2 with "Try
# --help") and never creates a directory named after an option.
set -u
replay=${1:?usage: cli_test.sh REPLAY GEN_CORPUS}
gen=${2:?usage: cli_test.sh REPLAY GEN_CORPUS}
work=$(mktemp -d /tmp/tcpshm-fuzz-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run NAME EXPECTED_CODE CMD...: runs CMD (bounded), its stdout in NAME.out,
# stderr in NAME.err; checks the exit code.
run() {
  local name=$1 want=$2
  shift 2
  timeout 60 "$@" > "$name.out" 2> "$name.err"
  local got=$?
  [ "$got" -eq "$want" ] || fail "$name: '$*' exited $got, expected $want (stderr: $(head -c 300 "$name.err"))"
}
has() { grep -qF -- "$2" "$1" || fail "$1 does not say '$2': $(head -c 300 "$1")"; }

run replay_missing 2 "$replay" "$work/no-such-corpus"
has replay_missing.err "no-such-corpus: No such file or directory"
mkdir empty
run replay_missing_among 2 "$replay" empty "$work/no-such-file"
has replay_missing_among.err "no-such-file"
run replay_none 2 "$replay"
has replay_none.err "Try '$replay --help' for more information."
printf 'x' > one-input
run replay_file 0 "$replay" one-input
has replay_file.out "replay: 1 inputs ran"

run gen_help 0 "$gen" --help
has gen_help.out "usage: $gen OUT_DIR"
run gen_bad_option 2 "$gen" --bogus
has gen_bad_option.err "Try '$gen --help' for more information."
run gen_no_dir 2 "$gen"
has gen_no_dir.err "$gen: OUT_DIR is missing"
for d in --help --bogus -h; do
  [ ! -e "$d" ] || fail "gen_corpus created '$d'"
done
run gen_ok 0 "$gen" out
[ -d out/frame ] || fail "gen_corpus out wrote no out/frame"

if [ "$fails" -ne 0 ]; then
  echo "fuzz_cli: $fails failure(s)"
  exit 1
fi
echo "fuzz_cli: PASS"
