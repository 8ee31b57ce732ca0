#!/usr/bin/env bash
# The README's walkthrough (tools/walkthrough) on a local stack against the test broker: every
# step succeeds, and it ends with the right "Backorders ready to invoice – ALL DEBTORS": Smith
# Motors' second back order (filled from the stock Jones Fleet's cancellation released), and not
# the first one (invoiced) nor Jones Fleet's (cancelled). Ports 5116x.
set -euo pipefail
REPO="$1"
BUILD="$2"
: "${KAFKA_BOOTSTRAP:?KAFKA_BOOTSTRAP must name a running broker}"
export BUILD_DIR="$BUILD" STACK_DIR="$BUILD/walkthrough-test"
export INVOICING_PORT=21161 PURCHASING_PORT=21162 RECEIVING_PORT=21163 DEBTOR_QUERY_PORT=21164
export BO_WALKTHROUGH_RUN="t$(date +%s)" # fresh branches and debtors on a reused broker
STACK="$REPO/deploy/local/stack"
out="$BUILD/walkthrough-test.out"
fail() { echo "FAIL: $*"; "$STACK" down >/dev/null 2>&1 || true; exit 1; }

rm -rf "$STACK_DIR"
"$STACK" up >/dev/null || fail "stack up"
"$REPO/tools/walkthrough" >"$out" 2>&1 || { cat "$out"; fail "the walkthrough failed"; }
"$STACK" down >/dev/null || fail "stack down"

r="$BO_WALKTHROUGH_RUN"
final=$(sed -n '/==== Backorders ready to invoice – ALL DEBTORS ====/,$p' "$out")
echo "$final"
[ -n "$final" ] || fail "no final ALL DEBTORS list"
grep -q "BO-NORTH-$r-000004-1" <<<"$final" || fail "Smith Motors' filled back order is not listed"
grep -q "Phone: 03 9555 0101" <<<"$final" || fail "no contact details for Smith Motors"
if grep -q "BO-NORTH-$r-000001-1" <<<"$final"; then fail "the invoiced back order is still listed"; fi
if grep -q "BO-NORTH-$r-000002-1" <<<"$final"; then fail "the cancelled back order is listed"; fi
grep -q "Back orders filled:" "$out" || fail "processing the creditor invoice did not say what it filled"
grep -q "lost sale" "$out" || fail "Cash Sales' shortfall was not reported as a lost sale"
echo "walkthrough test: ok ($(grep -c '^.\[1m *[0-9]*\. ' "$out") steps)"
