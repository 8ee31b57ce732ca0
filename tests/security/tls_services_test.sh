#!/usr/bin/env bash
# The real services over mutual TLS against the test broker (issue 8): a client holding a
# certificate of the deployment is served (bo-admin health, boctl), a plaintext client and one
# with another CA's certificate are refused, invoicing holds stock in receiving over mutual TLS
# with its own certificate, a service started with neither TLS nor --insecure refuses to start,
# and one started --insecure says so loudly. Ports 2120x (HTTP 2220x).
set -uo pipefail
REPO="$1"
BUILD="$2"
: "${KAFKA_BOOTSTRAP:?KAFKA_BOOTSTRAP must name a running broker}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log; do
    echo "== $f" >&2
    tail -n 20 "$f" >&2
  done
  exit 1
}

"$REPO/deploy/local/pki" "$work/pki" >/dev/null 2>&1 || fail "pki"
"$REPO/deploy/local/pki" "$work/stranger" >/dev/null 2>&1 || fail "pki (stranger)"
pki="$work/pki"
"$BUILD/tools/bo-admin" create-topics --bootstrap "$KAFKA_BOOTSTRAP" >/dev/null || fail "topics"

start() { # start NAME PORT EXTRA-FLAGS...
  local name="$1" port="$2"
  shift 2
  "$BUILD/services/$name/bo-$name" --grpc-addr="127.0.0.1:$port" \
    --http-addr="127.0.0.1:$((port + 1000))" --data-dir="$work/data/$name" \
    --kafka-bootstrap="$KAFKA_BOOTSTRAP" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
}
tls_of() { echo "--tls-ca=$pki/ca.crt" "--tls-cert=$pki/$1.crt" "--tls-key=$pki/$1.key"; }

# shellcheck disable=SC2046
start receiving 21203 $(tls_of receiving)
# shellcheck disable=SC2046
start debtor-query 21204 $(tls_of debtor-query)
# shellcheck disable=SC2046
RECEIVING_ADDR=127.0.0.1:21203 start invoicing 21201 $(tls_of invoicing)

export BO_CA="$pki/ca.crt" BO_CERT="$pki/tests.crt" BO_KEY="$pki/tests.key"
for port in 21201 21203 21204; do
  "$BUILD/tools/bo-admin" health --addr "127.0.0.1:$port" --wait 90 >/dev/null ||
    fail "127.0.0.1:$port is not SERVING to a client with a certificate of the deployment"
done

# Refused: plaintext, and a certificate of another CA (the client trusts ours).
out="$(BO_CA= BO_CERT= BO_KEY= "$BUILD/tools/bo-admin" health --addr 127.0.0.1:21203 --wait 2)" &&
  fail "a plaintext client was served: $out"
grep -q UNREACHABLE <<<"$out" || fail "plaintext client: expected UNREACHABLE, got $out"
out="$(BO_CERT="$work/stranger/tests.crt" BO_KEY="$work/stranger/tests.key" \
  "$BUILD/tools/bo-admin" health --addr 127.0.0.1:21203 --wait 2)" &&
  fail "a client with another CA's certificate was served: $out"

boctl() {
  "$BUILD/tools/boctl/boctl" --invoicing-addr 127.0.0.1:21201 --receiving-addr 127.0.0.1:21203 \
    --debtor-query-addr 127.0.0.1:21204 --timeout 5 "$@"
}
run="t$(date +%s%N)"
boctl -q debtor create --id "D-$run" --name "TLS Motors" >/dev/null || fail "debtor create over TLS"
boctl -q part upsert --part "P-$run" --description "Filter" --supplier S-1 --price 10 >/dev/null ||
  fail "part upsert over TLS"
boctl -q stock adjust --branch TLS --part "P-$run" --delta 5 --reason opening >/dev/null ||
  fail "stock adjust over TLS"
invoice=""
for _ in $(seq 1 60); do # invoicing learns of the debtor from debtor-query's topic
  invoice="$(boctl -q invoice create --branch TLS --debtor "D-$run" --kind counter 2>/dev/null)" && break
  sleep 1
done
[ -n "$invoice" ] || fail "invoice create over TLS"
# AddPartLine holds the stock in receiving: invoicing to receiving over mutual TLS.
boctl -q invoice add-part --invoice "$invoice" --part "P-$run" --qty 2 >/dev/null ||
  fail "add-part (invoicing holding stock in receiving over mutual TLS)"
held="$(boctl --json stock get --branch TLS --part "P-$run" | jq -r '.held')"
[ "$held" = 2 ] || fail "receiving holds $held, expected 2"

out="$(BO_CA= BO_CERT= BO_KEY= "$BUILD/tools/boctl/boctl" --invoicing-addr 127.0.0.1:21201 \
  --timeout 2 invoice get --invoice "$invoice" 2>&1)" &&
  fail "boctl in plaintext was served: $out"
grep -q UNAVAILABLE <<<"$out" || fail "boctl in plaintext: expected UNAVAILABLE, got $out"

# Plaintext only when asked for, and then loudly.
"$BUILD/services/purchasing/bo-purchasing" --grpc-addr=127.0.0.1:21202 \
  --data-dir="$work/data/purchasing" --kafka-bootstrap="$KAFKA_BOOTSTRAP" >"$work/refused.log" 2>&1 &&
  fail "purchasing started with neither TLS nor --insecure"
grep -q -- "--insecure" "$work/refused.log" || fail "purchasing did not say how to start"
start purchasing 21202 --insecure
BO_CA= BO_CERT= BO_KEY= "$BUILD/tools/bo-admin" health --addr 127.0.0.1:21202 --wait 90 >/dev/null ||
  fail "purchasing --insecure is not SERVING in plaintext"
grep -q "INSECURE: plaintext gRPC" "$work/purchasing.log" || fail "purchasing --insecure did not warn"
echo "TLS services: ok"
