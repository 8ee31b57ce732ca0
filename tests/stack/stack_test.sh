#!/usr/bin/env bash
# deploy/local/stack against the test broker (KAFKA_BOOTSTRAP): `up` starts every service with
# mutual TLS and tokens and waits until each is SERVING, writes stack.env with the addresses and
# the client's certificate and token; plaintext and calls without a token are refused; a service
# killed with SIGKILL is started again by the next `up`; `down` stops every process it started;
# STACK_INSECURE=1 starts a plaintext stack, and `up` will not mix the two. Ports 2115x.
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
pki="$STACK_DIR/pki"
for line in "BO_CA=$pki/ca.crt" "BO_CERT=$pki/boctl.crt" "BO_KEY=$pki/boctl.key" \
  "BO_TOKEN_FILE=$STACK_DIR/tokens/group.jwt" "BO_TOKEN_SIGNING_KEY=$pki/jwt.key"; do
  grep -qx "$line" "$env_file" || fail "stack.env lacks $line"
done
tls=(--ca "$pki/ca.crt" --cert "$pki/boctl.crt" --key "$pki/boctl.key")
for port in 21151 21152 21153 21154; do
  "$ADMIN" health --addr "127.0.0.1:$port" "${tls[@]}" | grep -q SERVING ||
    fail "127.0.0.1:$port not SERVING over mutual TLS"
  if "$ADMIN" health --addr "127.0.0.1:$port" >/dev/null 2>&1; then
    fail "127.0.0.1:$port answers plaintext"
  fi
done
grep -l "INSECURE" "$STACK_DIR"/log/*.log && fail "a service of the default stack runs --insecure"
"$STACK" status || fail "status after up"

# boctl finds the stack's certificate and token in stack.env; without a token it is refused.
boctl() { "$BUILD/tools/boctl/boctl" --env-file "$env_file" "$@"; }
boctl -q debtor create --id "D-stack-$$" --name "Stack test" >/dev/null ||
  fail "boctl with the stack's token was refused"
out="$(boctl --token-file /dev/null debtor get --id "D-stack-$$" 2>&1)" &&
  fail "boctl with an empty token file was served: $out"
out="$(BO_TOKEN=x.y.z boctl debtor get --id "D-stack-$$" 2>&1)" &&
  fail "boctl with a made-up token was served: $out"
grep -q UNAUTHENTICATED <<<"$out" || fail "a made-up token: expected UNAUTHENTICATED, got $out"
boctl --token-file "$STACK_DIR/tokens/viewer.jwt" debtor get --id "D-stack-$$" >/dev/null ||
  fail "the viewer token cannot read"
out="$(boctl --token-file "$STACK_DIR/tokens/viewer.jwt" debtor update --id "D-stack-$$" \
  --name "Viewer was here" 2>&1)" && fail "the viewer token could write: $out"
grep -q PERMISSION_DENIED <<<"$out" || fail "viewer writing: expected PERMISSION_DENIED, got $out"

# A crashed service is started again by the next `up`, and catches up (SERVING).
pid=$(cat "$STACK_DIR/run/receiving.pid")
kill -9 "$pid"
sleep 1
if "$STACK" status >/dev/null; then fail "status says healthy with receiving killed"; fi
"$STACK" up || fail "stack up after a kill"
[ "$(cat "$STACK_DIR/run/receiving.pid")" != "$pid" ] || fail "receiving was not restarted"
"$ADMIN" health --addr 127.0.0.1:21153 "${tls[@]}" | grep -q SERVING ||
  fail "restarted receiving not SERVING"

pids=$(cat "$STACK_DIR"/run/*.pid)
"$STACK" down || fail "stack down"
for p in $pids; do
  if alive "$p"; then fail "process $p still running after down"; fi
done
if "$ADMIN" health --addr 127.0.0.1:21151 "${tls[@]}" >/dev/null 2>&1; then
  fail "invoicing still answers"
fi
# The broker was not ours (KAFKA_BOOTSTRAP was set): it must still be up.
kcat -b "$KAFKA_BOOTSTRAP" -L -m 5 >/dev/null 2>&1 || fail "down stopped a broker it did not start"
# Plaintext only when asked for, announced by every service; and never half of each.
STACK_INSECURE=1 "$STACK" up >/dev/null || fail "STACK_INSECURE=1 stack up"
"$ADMIN" health --addr 127.0.0.1:21152 | grep -q SERVING || fail "the insecure stack is not plaintext"
grep -q "INSECURE" "$STACK_DIR/log/purchasing.log" || fail "purchasing --insecure did not warn"
grep -q "^BO_TOKEN_FILE=" "$env_file" && fail "the insecure stack's stack.env names a token"
out="$("$STACK" up 2>&1)" && fail "up with TLS over a running insecure stack: $out"
grep -q "stop it first" <<<"$out" || fail "up did not say why it refused: $out"
"$STACK" down >/dev/null || fail "stack down (insecure)"
echo "stack test: up with mutual TLS and tokens, restart after SIGKILL, down, insecure: ok"
