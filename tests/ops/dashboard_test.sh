#!/usr/bin/env bash
# Ops.Dashboard: the ops dashboard page (debtor-query's HTTP port) in Debian's chromium driven by
# playwright-core, on a local stack that ran the walkthrough against the test broker: its tiles
# and ready-to-invoice rows equal the debtor-query API's, for all branches and after choosing one
# of this run's branches in the filter (tests/ops/dashboard/dashboard.test.mjs). Full-page
# screenshots go to <build>/dashboard/. gRPC ports 2119x, HTTP 2219x.
set -euo pipefail
REPO="$1"
BUILD="$2"
: "${KAFKA_BOOTSTRAP:?KAFKA_BOOTSTRAP must name a running broker}"
export BUILD_DIR="$BUILD" STACK_DIR="$BUILD/ops-dashboard-test"
export INVOICING_PORT=21191 PURCHASING_PORT=21192 RECEIVING_PORT=21193 DEBTOR_QUERY_PORT=21194
export INVOICING_HTTP_PORT=22191 PURCHASING_HTTP_PORT=22192 RECEIVING_HTTP_PORT=22193 DEBTOR_QUERY_HTTP_PORT=22194
export BO_WALKTHROUGH_RUN="d$(date +%s)" # fresh branches and debtors on a reused broker
export BO_STACK_ENV="$STACK_DIR/stack.env"
STACK="$REPO/deploy/local/stack"
OUT="$BUILD/ops-dashboard-test.out"

fail() { echo "FAIL: $*"; exit 1; }
trap '"$STACK" down >/dev/null 2>&1 || true' EXIT # also on failure

"$REPO/tests/ops/setup.sh" node || fail "tests/ops/setup.sh node"

rm -rf "$STACK_DIR" "$OUT"
mkdir -p "$OUT"
"$STACK" up >"$OUT/stack-up.out" 2>&1 || { cat "$OUT/stack-up.out"; fail "stack up"; }
"$REPO/tools/walkthrough" >"$OUT/walkthrough.out" 2>&1 || { cat "$OUT/walkthrough.out"; fail "the walkthrough failed"; }

url="$(sed -n 's/^DEBTOR_QUERY_HTTP=//p' "$BO_STACK_ENV")"
[ -n "$url" ] || fail "no DEBTOR_QUERY_HTTP in $BO_STACK_ENV"
token_file="$(sed -n 's/^BO_VIEWER_TOKEN_FILE=//p' "$BO_STACK_ENV")"
[ -s "$token_file" ] || fail "no viewer token (BO_VIEWER_TOKEN_FILE) in $BO_STACK_ENV"
DASHBOARD_TOKEN="$(cat "$token_file")" NODE_EXTRA_CA_CERTS="$(sed -n 's/^BO_CA=//p' "$BO_STACK_ENV")" \
  DASHBOARD_URL="$url" BOCTL="$BUILD/tools/boctl/boctl" BRANCH="NORTH-$BO_WALKTHROUGH_RUN" \
  SCREENSHOTS="$BUILD/dashboard" CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" \
  node "$REPO/tests/ops/dashboard/dashboard.test.mjs" || fail "see the problems above"

"$STACK" down >/dev/null || fail "stack down"
trap - EXIT
echo "dashboard test: ok (run $BO_WALKTHROUGH_RUN)"
