#!/usr/bin/env bash
# The boctl command line without any service: help reads, every command parses its flags into
# the request it would send (--dry-run), usage errors exit 2, an unreachable service exits 1
# quickly with a hint, and addresses come from flag, environment or stack file.
#   tools/boctl/cli_test.sh build/tools/boctl/boctl
set -uo pipefail

BOCTL="$(realpath "${1:?usage: cli_test.sh path/to/boctl}")"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" # no var/stack/stack.env above a fresh temporary directory
unset INVOICING_ADDR PURCHASING_ADDR RECEIVING_ADDR DEBTOR_QUERY_ADDR BO_STACK_ENV BO_ACTOR BO_ROLE
unset BO_CA BO_CERT BO_KEY

# shellcheck source=tools/boctl/test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/test_lib.sh"

# --- help -----------------------------------------------------------------------------------
run 0 --help
for group in debtor part stock receive invoice backorder stock-order; do has "$out" "$group" "boctl --help"; done
has "$out" "Exit codes" "boctl --help"

commands=(
  "debtor create" "debtor update" "debtor get" "debtor list"
  "part upsert" "part get" "part list"
  "stock adjust" "stock get" "receive"
  "invoice create" "invoice get" "invoice list" "invoice add-part" "invoice adjust-line"
  "invoice add-charge" "invoice ready-backorders" "invoice add-backorders" "invoice finalise"
  "invoice abandon"
  "backorder get" "backorder cancel" "backorder list" "backorder history" "backorder ready"
  "stock-order create" "stock-order get" "stock-order list" "stock-order backorders"
  "stock-order tick" "stock-order add-line" "stock-order finalise" "stock-order backorder"
)
for command in "${commands[@]}"; do
  # shellcheck disable=SC2086
  run 0 $command --help
  has "$out" "Usage: boctl $command" "boctl $command --help"
  has "$out" "Global options" "boctl $command --help"
done
for group in debtor part stock invoice backorder stock-order; do
  run 0 "$group" --help
  has "$out" "Subcommands:" "boctl $group --help"
done

# --- every command's flags, as the request it would send -------------------------------------
# dry RPC ARGS... : the dry run names RPC and prints the request; $out keeps it for more checks.
dry() {
  local rpc="$1"
  shift
  run 0 --dry-run "$@"
  has "$out" "dry run: $rpc at " "boctl $*"
}

dry debtor-query.CreateDebtor debtor create --id D-1 --name "Smith Motors" --contact Jo --phone 555 \
  --email jo@x.example --use-backorders yes --request-id req-1
has "$out" '"useBackorders": true' "debtor create"
has "$out" '"requestId": "req-1"' "debtor create"
has "$out" '"contactName": "Jo"' "debtor create"
dry debtor-query.UpdateDebtor debtor update --id D-1 --use-backorders NO
has "$out" '"useBackorders": false' "debtor update"
dry debtor-query.GetDebtor debtor get --id D-1
dry debtor-query.ListDebtors debtor list --page-size 5 --page-token abc
has "$out" '"pageSize": 5' "debtor list"
dry receiving.UpsertPart part upsert --part OIL-1 --description "Oil filter" --supplier SUP-1 --price 12.50
has "$out" '"minorUnits": "1250"' "part upsert"
has "$out" '"currency": "AUD"' "part upsert"
dry receiving.UpsertPart part upsert --part OIL-1 --price "9.95 NZD"
has "$out" '"currency": "NZD"' "part upsert NZD"
dry receiving.UpsertPart part upsert --part OIL-1 --price 9.95 --currency nzd
has "$out" '"currency": "NZD"' "part upsert --currency"
dry receiving.GetPart part get --part OIL-1
dry receiving.ListParts part list
dry receiving.AdjustStock stock adjust --branch B1 --part OIL-1 --delta -3 --reason stocktake
has "$out" '"delta": "-3"' "stock adjust"
dry receiving.GetStock stock get --branch B1 --part OIL-1
dry receiving.ProcessCreditorInvoice receive --branch B1 --creditor-invoice CI-9 --supplier SUP-1 \
  --stock-order SO-B1-000001 --line OIL-1:5:7.00 --line WIPER-7:2
has "$out" '"creditorInvoiceId": "CI-9"' "receive"
has "$out" '"partNumber": "WIPER-7"' "receive"
has "$out" '"minorUnits": "700"' "receive"
dry invoicing.CreateInvoice invoice create --branch B1 --debtor D-1 --kind Workshop --reference "RO 1"
has "$out" '"kind": "INVOICE_KIND_WORKSHOP"' "invoice create"
dry invoicing.GetInvoice invoice get --invoice INV-B1-000001
dry invoicing.ListInvoices invoice list --branch B1 --debtor D-1 --status draft
has "$out" '"status": "INVOICE_STATUS_DRAFT"' "invoice list"
dry invoicing.AddPartLine invoice add-part --invoice INV-B1-000001 --part OIL-1 --qty 5 --price 11
has "$out" '"quantityOrdered": "5"' "invoice add-part"
has "$out" '"minorUnits": "1100"' "invoice add-part"
dry invoicing.AdjustPartLine invoice adjust-line --invoice INV-B1-000001 --line 1 --supplied 2 --backorder 3
has "$out" '"quantityBackOrdered": "3"' "invoice adjust-line"
dry invoicing.AddChargeLine invoice add-charge --invoice INV-B1-000001 --description Labour --amount 85
has "$out" '"minorUnits": "8500"' "invoice add-charge"
dry invoicing.ListReadyBackorders invoice ready-backorders --debtor D-1 --branch B1
dry invoicing.AddBackorderLines invoice add-backorders --invoice INV-B1-000002 --backorder BO-1 --backorder BO-2
has "$out" '"BO-2"' "invoice add-backorders"
dry invoicing.FinaliseInvoice invoice finalise --invoice INV-B1-000001
has "$out" '"requestId"' "invoice finalise"
dry invoicing.AbandonInvoice invoice abandon --invoice INV-B1-000001
dry invoicing.GetBackorder backorder get --id BO-1
dry invoicing.CancelBackorder backorder cancel --id BO-1 --reason "customer went elsewhere"
dry debtor-query.ListBackorders backorder list --branch B1 --debtor D-1 --supplier SUP-1 --part OIL-1 \
  --state on_order --min-age-days 2 --max-age-days 30 --page-size 10
has "$out" '"state": "BACKORDER_STATE_ON_ORDER"' "backorder list"
has "$out" '"minAgeDays": 2' "backorder list"
dry debtor-query.GetBackorderHistory backorder history --id BO-1
dry debtor-query.ListReadyToInvoice backorder ready
dry debtor-query.ListReadyToInvoice backorder ready --branch B1 --debtor D-1
dry purchasing.CreateStockOrder stock-order create --branch B1 --supplier SUP-1 --reference weekly
dry purchasing.GetStockOrder stock-order get --order SO-B1-000001
dry purchasing.ListStockOrders stock-order list --branch B1 --supplier SUP-1 --status placed
has "$out" '"status": "STOCK_ORDER_STATUS_PLACED"' "stock-order list"
dry purchasing.GetBackorders stock-order backorders --order SO-B1-000001 --this-supplier no
has "$out" '"thisSupplierOnly": false' "stock-order backorders"
dry purchasing.GetBackorders stock-order backorders --order SO-B1-000001
has "$out" '"thisSupplierOnly": true' "stock-order backorders default"
dry purchasing.AddBackorderLines stock-order tick --order SO-B1-000001 --backorder BO-1 --backorder BO-2
dry purchasing.AddStockLine stock-order add-line --order SO-B1-000001 --part OIL-1 --qty 4
dry purchasing.FinaliseStockOrder stock-order finalise --order SO-B1-000001
dry purchasing.GetBackorder stock-order backorder --id BO-1
# Global flags before the command work too.
run 0 --dry-run --json invoice get --invoice INV-1
has "$out" "invoicing.GetInvoice" "global flags first"

# --- usage errors exit 2 and print the command's usage ---------------------------------------
run 2
run 2 invoice
has "$err" "Usage: boctl invoice" "boctl invoice"
run 2 invoice create --branch B1 --kind counter
has "$err" "--debtor is required" "missing flag"
has "$err" "Usage: boctl invoice create" "missing flag"
run 2 invoice create --branch B1 --debtor D-1 --kind retail
run 2 part upsert --part OIL-1 --price 12.505
has "$err" "more than two decimals" "bad money"
run 2 part upsert --part OIL-1 --price abc
run 2 receive --branch B1 --creditor-invoice CI --supplier S --line OIL-1
has "$err" "PART:QTY[:COST]" "bad --line"
run 2 invoice add-part --invoice I --part P --qty lots
run 2 debtor update --id D-1 --use-backorders maybe
run 2 backorder list --state WAITING
run 2 invoice get --invoice I --timeout 0
run 2 invoice get --invoice I --currency dollars
run 2 no-such-command
has "$err" '"no-such-command" is not a command of boctl' "unknown command"
run 2 invoice craete
has "$err" '"craete" is not a command of boctl invoice' "mistyped command"
has "$err" "Usage: boctl invoice" "mistyped command"
run 2 invoice get --invoice I --bogus
run 2 --env-file "$WORK/missing.env" invoice get --invoice I
has "$err" "cannot read the stack file" "missing --env-file"

# --- an unreachable service: exit 1, the error and a hint, quickly ---------------------------
start=$(date +%s)
run 1 --timeout 2 invoice get --invoice INV-1 --invoicing-addr 127.0.0.1:1
elapsed=$(($(date +%s) - start))
has "$err" "error: reading invoice INV-1: UNAVAILABLE:" "unreachable"
has "$err" "hint: cannot reach invoicing at 127.0.0.1:1 (from --invoicing-addr): is the stack up? (tools/run)" "unreachable"
[ "$elapsed" -le 5 ] || fail "unreachable service took ${elapsed}s with --timeout 2"
run 1 --timeout 2 debtor update --id D-1 --name X --debtor-query-addr 127.0.0.1:1
has "$err" "error: reading debtor D-1 to update it: UNAVAILABLE" "update reads first"
run 1 --timeout 2 part upsert --part P --price 1 --receiving-addr 127.0.0.1:1
has "$err" "error: reading part P: UNAVAILABLE" "upsert reads first"

# --- TLS files: all three, readable PEM, or a usage error naming what is wrong ----------------
run 2 --ca "$WORK/missing.crt" --cert "$WORK/missing.crt" --key "$WORK/missing.key" invoice get --invoice I
has "$err" "TLS CA certificate: cannot read $WORK/missing.crt" "unreadable --ca"
printf 'not a certificate\n' >"$WORK/junk.pem"
run 2 --ca "$WORK/junk.pem" --cert "$WORK/junk.pem" invoice get --invoice I
has "$err" "TLS CA certificate: no PEM in $WORK/junk.pem" "--ca without PEM"
BO_CA=/etc/ssl/certs/ca-certificates.crt BO_CERT=/etc/ssl/certs/ca-certificates.crt \
  run 2 invoice get --invoice I
has "$err" "TLS private key: not given" "BO_KEY missing"

# --- where addresses come from ----------------------------------------------------------------
run 0 --dry-run stock-order get --order SO-1
has "$out" "at 127.0.0.1:50052 (from default)" "default address"
PURCHASING_ADDR=10.9.9.9:7 run 0 --dry-run stock-order get --order SO-1
has "$out" "at 10.9.9.9:7 (from \$PURCHASING_ADDR)" "environment address"
mkdir -p "$WORK/repo/var/stack" "$WORK/repo/a/b"
printf 'KAFKA_BOOTSTRAP=x\nPURCHASING_ADDR=127.0.0.1:6001\n' >"$WORK/repo/var/stack/stack.env"
(cd "$WORK/repo/a/b" && "$BOCTL" --dry-run stock-order get --order SO-1 >"$WORK/out")
has "$(cat "$WORK/out")" "at 127.0.0.1:6001 (from $WORK/repo/var/stack/stack.env)" "stack file"
printf 'PURCHASING_ADDR=127.0.0.1:6002\n' >"$WORK/other.env"
BO_STACK_ENV="$WORK/other.env" run 0 --dry-run stock-order get --order SO-1
has "$out" "at 127.0.0.1:6002" "BO_STACK_ENV"
PURCHASING_ADDR=10.9.9.9:7 run 0 --dry-run --env-file "$WORK/other.env" stock-order get --order SO-1 \
  --purchasing-addr 127.0.0.1:6003
has "$out" "at 127.0.0.1:6003 (from --purchasing-addr)" "flag wins"

if [ "$failures" -gt 0 ]; then
  echo "cli_test: $failures failure(s)"
  exit 1
fi
echo "cli_test: all passed"
