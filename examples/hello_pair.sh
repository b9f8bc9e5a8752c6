#!/usr/bin/env bash
# hello_pair.sh HELLO tcp|shm — runs `hello server` (port 0: it picks a free
# port and prints it) and `hello client` against it on 127.0.0.1, stops the
# server by its pid, and checks both exit codes and the verified count.
set -uo pipefail
hello=${1:?usage: hello_pair.sh HELLO tcp|shm}
mode=${2:?usage: hello_pair.sh HELLO tcp|shm}
count=2000
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL ($mode): $*"
  echo "--- server output"; cat "$work/server.out"
  echo "--- client output"; cat "$work/client.out" 2>/dev/null
  exit 1
}

"$hello" server --port 0 --dir "$work/server" --timeout 60 > "$work/server.out" 2>&1 &
server_pid=$!
port=
for _ in $(seq 100); do   # up to 5 s for the listening line
  port=$(sed -n 's/^hello server: listening on 127.0.0.1 port \([0-9]*\),.*/\1/p' "$work/server.out")
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited before listening"
  sleep 0.05
done
[ -n "$port" ] || fail "the server printed no port within 5 s"

shm_opt=
[ "$mode" = shm ] && shm_opt=--shm
timeout 60 "$hello" client --port "$port" --dir "$work/client" $shm_opt --count "$count" --timeout 30 \
  > "$work/client.out" 2>&1
client_rc=$?
[ "$client_rc" = 0 ] || fail "client exit status $client_rc (want 0)"
grep -qx "hello client: verified $count echoes" "$work/client.out" ||
  fail "the client did not print 'hello client: verified $count echoes'"

kill -TERM "$server_pid"
wait "$server_pid"
server_rc=$?
server_pid=
[ "$server_rc" = 0 ] || fail "server exit status $server_rc after SIGTERM (want 0)"
grep -q "^hello server: stopping (signal), $count messages" "$work/server.out" ||
  fail "the server did not report $count messages handled"
echo "ok ($mode): $count greetings echoed and verified on port $port"
