#!/usr/bin/env bash
# The real services over mutual TLS with bearer tokens against the test broker (issue 8): a client
# holding a certificate of the deployment and a token is served (bo-admin health, boctl), a
# plaintext client and one with another CA's certificate are refused, bo-deny-paths checks who
# every RPC refuses (no, expired, forged, altered or wrong-audience token; a viewer writing;
# another branch; a hold not relayed by invoicing), invoicing holds stock in receiving over mutual
# TLS with its own certificate and the clerk's token, a service started with neither TLS nor
# --insecure refuses to start, and one started --insecure says so loudly; the HTTP side is HTTPS
# behind the same tokens (or a service's or Prometheus' certificate). Ports 2120x (HTTP 2220x).
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
tls_of() {
  echo "--tls-ca=$pki/ca.crt" "--tls-cert=$pki/$1.crt" "--tls-key=$pki/$1.key" \
    "--token-key=$pki/jwt.pub"
}
token() { # token ROLE BRANCHES
  "$BUILD/tools/bo-admin" mint-token --key "$pki/jwt.key" --sub "$1@tls-test" --role "$1" \
    --branches "$2" --ttl 3600
}

# shellcheck disable=SC2046
start receiving 21203 $(tls_of receiving)
# debtor-query shows its peers' status on the dashboard, read from their HTTPS side.
# shellcheck disable=SC2046
INVOICING_HTTP=https://127.0.0.1:22201 PURCHASING_HTTP=https://127.0.0.1:22202 \
  RECEIVING_HTTP=https://127.0.0.1:22203 start debtor-query 21204 $(tls_of debtor-query)
# shellcheck disable=SC2046
RECEIVING_ADDR=127.0.0.1:21203 start invoicing 21201 $(tls_of invoicing)
# shellcheck disable=SC2046
start purchasing 21202 $(tls_of purchasing)

export BO_CA="$pki/ca.crt" BO_CERT="$pki/tests.crt" BO_KEY="$pki/tests.key"
for port in 21201 21202 21203 21204; do
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

"$BUILD/tests/security/bo-deny-paths" --pki "$pki" --stranger "$work/stranger" \
  --invoicing 127.0.0.1:21201 --purchasing 127.0.0.1:21202 --receiving 127.0.0.1:21203 \
  --debtor-query 127.0.0.1:21204 --branch TLS >"$work/deny-paths.log" 2>&1 ||
  fail "bo-deny-paths: $(cat "$work/deny-paths.log")"
cat "$work/deny-paths.log"

clerk="$(token clerk TLS)" && manager="$(token manager TLS)" || fail "mint-token"
boctl() {
  "$BUILD/tools/boctl/boctl" --invoicing-addr 127.0.0.1:21201 --receiving-addr 127.0.0.1:21203 \
    --debtor-query-addr 127.0.0.1:21204 --purchasing-addr 127.0.0.1:21202 --timeout 5 \
    --token "$clerk" "$@"
}
run="t$(date +%s%N)"
out="$(boctl --token "" debtor create --id "D-$run" --name "TLS Motors" 2>&1)" &&
  fail "boctl without a token was served: $out"
grep -q UNAUTHENTICATED <<<"$out" || fail "boctl without a token: expected UNAUTHENTICATED, got $out"
boctl -q debtor create --id "D-$run" --name "TLS Motors" >/dev/null || fail "debtor create over TLS"
out="$(boctl part upsert --part "P-$run" --description "Filter" --supplier S-1 --price 10 2>&1)" &&
  fail "a clerk changed the part master: $out"
grep -q PERMISSION_DENIED <<<"$out" || fail "part upsert by a clerk: expected PERMISSION_DENIED, got $out"
boctl -q --token "$manager" part upsert --part "P-$run" --description "Filter" --supplier S-1 \
  --price 10 >/dev/null || fail "part upsert over TLS by a manager"
# What a client says of itself (--as, --role: metadata) is ignored; the token names the actor.
boctl -q --token "$manager" --as impostor --role group stock adjust --branch TLS \
  --part "P-$run" --delta 5 --reason opening >/dev/null || fail "stock adjust over TLS by a manager"
actor="$(boctl --json events tail --from-beginning --idle-exit 3 --type StockAdjusted |
  jq -r --arg p "P-$run" 'select(.event.stockAdjusted.partNumber == $p) |
    "\(.event.actor.subject) \(.event.actor.role)"')"
[ "$actor" = "manager@tls-test manager" ] ||
  fail "StockAdjusted's actor is '$actor', not the token's 'manager@tls-test manager'"
invoice=""
for _ in $(seq 1 60); do # invoicing learns of the debtor from debtor-query's topic
  invoice="$(boctl -q invoice create --branch TLS --debtor "D-$run" --kind counter 2>/dev/null)" && break
  sleep 1
done
[ -n "$invoice" ] || fail "invoice create over TLS"
# AddPartLine holds the stock in receiving: invoicing relays the clerk's token to receiving over
# mutual TLS with its own certificate.
boctl -q invoice add-part --invoice "$invoice" --part "P-$run" --qty 2 >/dev/null ||
  fail "add-part (invoicing holding stock in receiving over mutual TLS)"
held="$(boctl --token "$(token viewer TLS)" --json stock get --branch TLS --part "P-$run" |
  jq -r '.held')"
[ "$held" = 2 ] || fail "receiving holds $held, expected 2"

out="$(BO_CA= BO_CERT= BO_KEY= "$BUILD/tools/boctl/boctl" --invoicing-addr 127.0.0.1:21201 \
  --timeout 2 invoice get --invoice "$invoice" 2>&1)" &&
  fail "boctl in plaintext was served: $out"
grep -q UNAVAILABLE <<<"$out" || fail "boctl in plaintext: expected UNAVAILABLE, got $out"

# The HTTP side is HTTPS with the same certificates: probes and the dashboard page are open, every
# other route needs a token (a branch's for a branch-limited one) or a service's or Prometheus'
# certificate; plaintext is refused.
https() { # https PATH CURL-ARGS... -> the status code
  local path="$1"
  shift
  curl -s -o /dev/null -w '%{http_code}' --cacert "$pki/ca.crt" "$@" "https://127.0.0.1:22204$path"
}
expect_http() { # expect_http CODE WHAT PATH CURL-ARGS...
  local want="$1" what="$2" got
  shift 2
  got="$(https "$@")"
  [ "$got" = "$want" ] || fail "HTTPS $what: expected $want, got $got"
}
expect_http 200 "/healthz without a token" /healthz
expect_http 200 "the dashboard page without a token" /
expect_http 401 "/metrics without a token" /metrics
expect_http 401 "/api/v1/dashboard with a forged token" /api/v1/dashboard -H "Authorization: Bearer x.y.z"
expect_http 401 "/metrics with boctl's certificate alone" /metrics \
  --cert "$pki/boctl.crt" --key "$pki/boctl.key"
expect_http 200 "/metrics with Prometheus' certificate" /metrics \
  --cert "$pki/prometheus.crt" --key "$pki/prometheus.key"
expect_http 200 "/api/v1/status with a viewer token" /api/v1/status \
  -H "Authorization: Bearer $(token viewer '*')"
expect_http 403 "another branch's dashboard" "/api/v1/dashboard?branch=ELSEWHERE" \
  -H "Authorization: Bearer $(token viewer TLS)"
expect_http 200 "its own branch's dashboard" "/api/v1/dashboard?branch=TLS" \
  -H "Authorization: Bearer $(token viewer TLS)"
expect_http 000 "a client certificate of another CA" /healthz \
  --cert "$work/stranger/prometheus.crt" --key "$work/stranger/prometheus.key"
curl -s -o /dev/null "http://127.0.0.1:22204/healthz" && fail "plain HTTP was served on the HTTPS port"
# debtor-query reads its peers' status over HTTPS with its own certificate.
services="$(curl -s --cacert "$pki/ca.crt" -H "Authorization: Bearer $(token viewer '*')" \
  https://127.0.0.1:22204/api/v1/dashboard | jq -r '[.services[] | select(.state != "unreachable")] | length')"
[ "$services" = 4 ] || fail "the dashboard reaches $services of 4 services over HTTPS"

# Plaintext only when asked for, and then loudly.
"$BUILD/services/purchasing/bo-purchasing" --grpc-addr=127.0.0.1:21205 \
  --data-dir="$work/data/purchasing-2" --kafka-bootstrap="$KAFKA_BOOTSTRAP" >"$work/refused.log" 2>&1 &&
  fail "purchasing started with neither TLS nor --insecure"
grep -q -- "--insecure" "$work/refused.log" || fail "purchasing did not say how to start"
# shellcheck disable=SC2046
"$BUILD/services/purchasing/bo-purchasing" --grpc-addr=127.0.0.1:21205 \
  --data-dir="$work/data/purchasing-2" --kafka-bootstrap="$KAFKA_BOOTSTRAP" \
  $(tls_of purchasing | tr ' ' '\n' | grep -v token-key) >"$work/refused-2.log" 2>&1 &&
  fail "purchasing started with TLS but no token key"
grep -q -- "--token-key" "$work/refused-2.log" || fail "purchasing did not ask for --token-key"
"$BUILD/services/purchasing/bo-purchasing" --grpc-addr=127.0.0.1:21205 \
  --http-addr=127.0.0.1:22205 --data-dir="$work/data/purchasing-2" \
  --kafka-bootstrap="$KAFKA_BOOTSTRAP" --insecure >"$work/purchasing-insecure.log" 2>&1 &
pids+=($!)
BO_CA= BO_CERT= BO_KEY= "$BUILD/tools/bo-admin" health --addr 127.0.0.1:21205 --wait 90 >/dev/null ||
  fail "purchasing --insecure is not SERVING in plaintext"
grep -q "INSECURE: plaintext gRPC" "$work/purchasing-insecure.log" ||
  fail "purchasing --insecure did not warn"
grep -q "INSECURE: no bearer tokens" "$work/purchasing-insecure.log" ||
  fail "purchasing --insecure did not warn that tokens are not checked"
echo "TLS services: ok"
