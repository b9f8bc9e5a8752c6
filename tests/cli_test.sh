#!/usr/bin/env bash
# tests/cli_test.sh VERSION PROGRAM... (CTest test_cli; ci/install-check runs
# it on the installed tools): every program answers
#   --version         exit 0, stdout exactly "PROG (tcpshm) VERSION"
#   -h and --help     exit 0, the usage on stdout (naming --version), nothing on stderr
#   a bad option      exit 2, nothing on stdout, stderr exactly two lines:
#                     "PROG: <what is wrong>" and
#                     "Try 'PROG --help' for more information."
# (the shared helper is tools/cli.c).
set -u
version=${1:?usage: cli_test.sh VERSION PROGRAM...}
shift
[ $# -gt 0 ] || { echo "cli_test: no program given"; exit 1; }
work=$(mktemp -d /tmp/tcpshm-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run CMD...: bounded, stdout in out, stderr in err, exit status in $rc
run() {
  timeout 20 "$@" > out 2> err < /dev/null
  rc=$?
}

for p in "$@"; do
  run "$p" --version
  [ $rc -eq 0 ] || fail "$p --version exited $rc"
  [ "$(cat out)" = "$p (tcpshm) $version" ] || fail "$p --version printed '$(head -c 200 out)', expected '$p (tcpshm) $version'"
  [ ! -s err ] || fail "$p --version wrote to stderr: $(head -c 200 err)"

  for h in -h --help; do
    run "$p" $h
    [ $rc -eq 0 ] || fail "$p $h exited $rc"
    grep -q '^usage: ' out || fail "$p $h: no 'usage: ' line on stdout"
    grep -q -- '--version' out || fail "$p $h: the usage does not name --version"
    [ ! -s err ] || fail "$p $h wrote to stderr: $(head -c 200 err)"
  done

  for bad in --no-such-option -Z; do
    run "$p" $bad
    [ $rc -eq 2 ] || fail "$p $bad exited $rc, expected 2"
    [ ! -s out ] || fail "$p $bad wrote to stdout: $(head -c 200 out)"
    [ "$(wc -l < err)" -eq 2 ] || fail "$p $bad: stderr has $(wc -l < err) lines, expected 2: $(head -c 300 err)"
    first=$(sed -n 1p err)
    [[ "$first" == "$p: "?* ]] || fail "$p $bad: first line '$first' does not start with '$p: '"
    [ "$(sed -n 2p err)" = "Try '$p --help' for more information." ] ||
      fail "$p $bad: second line '$(sed -n 2p err)'"
  done
done

if [ $fails -ne 0 ]; then
  echo "cli_test: $fails failure(s) over $# programs"
  exit 1
fi
echo "cli_test: $# programs answer --version, -h, --help and a bad option alike"
