#!/usr/bin/env bash
# deploy/local/stack against the test broker (KAFKA_BOOTSTRAP): `up` starts every service and
# waits until each is SERVING, writes stack.env; a service killed with SIGKILL is started again by
# the next `up`; `down` stops every process it started. Ports 5115x so a dev stack can stay up.
set -euo pipefail
REPO="$1"
BUILD="$2"
: "${KAFKA_BOOTSTRAP:?KAFKA_BOOTSTRAP must name a running broker}"
export BUILD_DIR="$BUILD" STACK_DIR="$BUILD/stack-test"
export INVOICING_PORT=21151 PURCHASING_PORT=21152 RECEIVING_PORT=21153 DEBTOR_QUERY_PORT=21154
STACK="$REPO/deploy/local/stack"
ADMIN="$BUILD/tools/bo-admin"
fail() { echo "FAIL: $*"; "$STACK" down >/dev/null 2>&1 || true; exit 1; }
# Running and not a zombie (an exited service may wait a moment for init to reap it).
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

rm -rf "$STACK_DIR"
"$STACK" up || fail "stack up"

env_file="$STACK_DIR/stack.env"
for line in "KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP" INVOICING_ADDR=127.0.0.1:21151 \
  PURCHASING_ADDR=127.0.0.1:21152 RECEIVING_ADDR=127.0.0.1:21153 DEBTOR_QUERY_ADDR=127.0.0.1:21154; do
  grep -qx "$line" "$env_file" || fail "stack.env lacks $line"
done
for port in 21151 21152 21153 21154; do
  "$ADMIN" health --addr "127.0.0.1:$port" | grep -q SERVING || fail "127.0.0.1:$port not SERVING"
done
"$STACK" status || fail "status after up"

# A crashed service is started again by the next `up`, and catches up (SERVING).
pid=$(cat "$STACK_DIR/run/receiving.pid")
kill -9 "$pid"
sleep 1
if "$STACK" status >/dev/null; then fail "status says healthy with receiving killed"; fi
"$STACK" up || fail "stack up after a kill"
[ "$(cat "$STACK_DIR/run/receiving.pid")" != "$pid" ] || fail "receiving was not restarted"
"$ADMIN" health --addr 127.0.0.1:21153 | grep -q SERVING || fail "restarted receiving not SERVING"

pids=$(cat "$STACK_DIR"/run/*.pid)
"$STACK" down || fail "stack down"
for p in $pids; do
  if alive "$p"; then fail "process $p still running after down"; fi
done
if "$ADMIN" health --addr 127.0.0.1:21151 >/dev/null 2>&1; then fail "invoicing still answers"; fi
# The broker was not ours (KAFKA_BOOTSTRAP was set): it must still be up.
kcat -b "$KAFKA_BOOTSTRAP" -L -m 5 >/dev/null 2>&1 || fail "down stopped a broker it did not start"
echo "stack test: up, restart after SIGKILL, down: ok"
