#!/usr/bin/env bash
# Ops.Metrics: a local stack that ran the walkthrough, against the test broker; every service's
# /healthz, /readyz, /api/v1/status and /metrics (parsed by prometheus_client and promtool, every
# family of deploy/prometheus/metric-families.txt with its type and labels), debtor-query's
# business figures against its gRPC API and Kafka, and a real Prometheus with the rules of
# deploy/prometheus scraping the stack and answering every query of the Grafana dashboard
# (tests/ops/metrics_check.py says what exactly). gRPC ports 2118x, HTTP 2218x, Prometheus 22189.
set -euo pipefail
REPO="$1"
BUILD="$2"
: "${KAFKA_BOOTSTRAP:?KAFKA_BOOTSTRAP must name a running broker}"
export BUILD_DIR="$BUILD" STACK_DIR="$BUILD/ops-metrics-test"
export INVOICING_PORT=21181 PURCHASING_PORT=21182 RECEIVING_PORT=21183 DEBTOR_QUERY_PORT=21184
export INVOICING_HTTP_PORT=22181 PURCHASING_HTTP_PORT=22182 RECEIVING_HTTP_PORT=22183 DEBTOR_QUERY_HTTP_PORT=22184
export BO_WALKTHROUGH_RUN="m$(date +%s)" # fresh branches and debtors on a reused broker
export BO_STACK_ENV="$STACK_DIR/stack.env"
STACK="$REPO/deploy/local/stack"
OUT="$BUILD/ops-metrics-test.out"
VENV="${BO_OPS_VENV:-$REPO/var/ops-venv}"

fail() { echo "FAIL: $*"; exit 1; }
trap '"$STACK" down >/dev/null 2>&1 || true' EXIT # also on failure

"$REPO/tests/ops/setup.sh" python || fail "tests/ops/setup.sh python"
command -v prometheus >/dev/null || fail "no prometheus (Debian: apt-get install prometheus; tools/setup installs it)"

rm -rf "$STACK_DIR" "$OUT"
mkdir -p "$OUT"
"$STACK" up >"$OUT/stack-up.out" 2>&1 || { cat "$OUT/stack-up.out"; fail "stack up"; }
"$REPO/tools/walkthrough" >"$OUT/walkthrough.out" 2>&1 || { cat "$OUT/walkthrough.out"; fail "the walkthrough failed"; }

"$VENV/bin/python" "$REPO/tests/ops/metrics_check.py" --env "$BO_STACK_ENV" --deploy "$REPO/deploy" \
  --boctl "$BUILD/tools/boctl/boctl" --out "$OUT" || fail "see the problems above (scraped texts in $OUT)"

"$STACK" down >/dev/null || fail "stack down"
trap - EXIT
echo "metrics test: ok (run $BO_WALKTHROUGH_RUN)"
