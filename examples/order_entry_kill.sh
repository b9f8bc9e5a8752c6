#!/usr/bin/env bash
# order_entry_kill.sh ORDER_ENTRY — runs `order_entry exchange` and
# `order_entry trader`, SIGKILLs one or the other at random moments (KILLS
# times), restarts it with the same arguments, lets the trader finish, and
# checks both journals: the exchange accepted orders 0 .. N-1 once each, in
# order, and the trader counted acks 0 .. N-1 once each. The moments and
# victims come from $TCPSHM_SEED (default 1), printed on failure. Bounded:
# the trader gives up after 90 s; every process is stopped by its pid.
set -uo pipefail
oe=${1:?usage: order_entry_kill.sh ORDER_ENTRY}
seed=${TCPSHM_SEED:-1}
RANDOM=$seed
orders=20000 kills=40   # several seconds of orders at full speed: the kills land while they flow
work=$(mktemp -d)
ex_pid= tr_pid=
cleanup() {
  for p in $ex_pid $tr_pid; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL (seed $seed; rerun with TCPSHM_SEED=$seed): $*"
  echo "--- exchange output (last 15 lines)"; tail -15 "$work/exchange.out"
  echo "--- trader output (last 15 lines)"; tail -15 "$work/trader.out"
  exit 1
}

start_exchange() {   # $1: the port (0 the first time: it picks one)
  "$oe" exchange --port "$1" --dir "$work/exchange" --timeout 150 >> "$work/exchange.out" 2>&1 &
  ex_pid=$!
}
start_trader() {
  "$oe" trader --port "$port" --dir "$work/trader" --orders $orders --timeout 90 \
    >> "$work/trader.out" 2>&1 &
  tr_pid=$!
}
# Fails unless the process is still running (it must only die by our kill).
check_alive() {   # $1 pid, $2 name
  kill -0 "$1" 2>/dev/null && return 0
  wait "$1"
  fail "the $2 exited by itself with status $? before the end"
}

start_exchange 0
port=
for _ in $(seq 100); do   # up to 5 s for the listening line
  port=$(sed -n 's/^exchange: listening on 127.0.0.1 port \([0-9]*\)$/\1/p' "$work/exchange.out" | head -1)
  [ -n "$port" ] && break
  check_alive "$ex_pid" exchange
  sleep 0.05
done
[ -n "$port" ] || fail "the exchange printed no port within 5 s"
start_trader

done_kills=0 trader_kills=0 exchange_kills=0 trader_rc=
for _ in $(seq $kills); do
  sleep "0.$(printf %03d $((RANDOM % 130 + 20)))"
  check_alive "$ex_pid" exchange
  if ! kill -0 "$tr_pid" 2>/dev/null; then   # finished before the kills ran out
    wait "$tr_pid"; trader_rc=$?; tr_pid=
    break
  fi
  if [ $((RANDOM % 2)) = 0 ]; then
    kill -9 "$tr_pid"; wait "$tr_pid" 2>/dev/null
    echo "--- kill -9 trader" >> "$work/trader.out"
    trader_kills=$((trader_kills + 1))
    start_trader
  else
    kill -9 "$ex_pid"; wait "$ex_pid" 2>/dev/null
    echo "--- kill -9 exchange" >> "$work/exchange.out"
    exchange_kills=$((exchange_kills + 1))
    start_exchange "$port"
  fi
  done_kills=$((done_kills + 1))
done

if [ -n "$tr_pid" ]; then   # the trader's own --timeout 90 bounds this wait
  wait "$tr_pid"; trader_rc=$?; tr_pid=
fi
check_alive "$ex_pid" exchange
kill -TERM "$ex_pid"; wait "$ex_pid"; ex_rc=$?; ex_pid=
[ "$trader_rc" = 0 ] || fail "the trader exited with status $trader_rc (want 0)"
[ "$ex_rc" = 0 ] || fail "the exchange exited with status $ex_rc after SIGTERM (want 0)"
grep -qx "trader: done: $orders orders acknowledged" "$work/trader.out" || fail "no 'trader: done' line"

# Record i of each journal must be id i: a gap is a lost order or ack, a
# repeated id one accepted or counted twice.
check_journal() {   # $1 file, $2 word
  awk -v n=$orders -v word="$2" -v f="$1" '
    $1 != word || $2 != NR - 1 { printf "%s record %d is \"%s\", want \"%s %d\"\n", f, NR, $0, word, NR - 1; bad = 1; exit 1 }
    END { if (!bad && NR != n) { printf "%s has %d records, want %d\n", f, NR, n; exit 1 } }' "$1"
}
why=$(check_journal "$work/exchange/orders_trader.log" order) || fail "$why"
why=$(check_journal "$work/trader/acks.log" ack) || fail "$why"
echo "ok (seed $seed): $orders orders accepted once and acknowledged once across $done_kills kills" \
     "($trader_kills of the trader, $exchange_kills of the exchange)"
