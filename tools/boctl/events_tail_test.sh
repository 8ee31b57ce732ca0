#!/usr/bin/env bash
# `boctl events tail` against the real broker ($KAFKA_BOOTSTRAP), on a fresh topic of its own:
# the helper produces known events (and one record that is not an event), then the tail replays
# them (--from-beginning) with each filter, as lines, NDJSON and ids; follows live (a record
# produced after "Following ..." is shown); and stops cleanly on SIGTERM and SIGINT. Also the
# usage errors, the broker address resolution (--dry-run) and an unreachable broker.
#   tools/boctl/events_tail_test.sh build/tools/boctl/boctl build/tools/boctl/events_tail_test_producer
set -uo pipefail

BOCTL="$(realpath "${1:?usage: events_tail_test.sh path/to/boctl path/to/events_tail_test_producer}")"
PRODUCER="$(realpath "${2:?usage: events_tail_test.sh path/to/boctl path/to/events_tail_test_producer}")"
if [ -z "${KAFKA_BOOTSTRAP:-}" ]; then
  echo "FAIL: KAFKA_BOOTSTRAP must name a running broker"
  exit 1
fi
BROKER="$KAFKA_BOOTSTRAP"
TOPIC="boctl-tail-test-$(date +%s)-$$-$RANDOM"
WORK="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  "$PRODUCER" "$BROKER" "$TOPIC" delete >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK" || exit 1 # no var/stack/stack.env above a fresh temporary directory
unset BO_STACK_ENV

# shellcheck source=tools/boctl/test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/test_lib.sh"
lines() { # lines TEXT EXPECTED WHAT: TEXT has EXPECTED non-empty lines
  local n
  n="$(grep -c . <<<"$1")"
  [ "$n" = "$2" ] || fail "$3: expected $2 lines, got $n: $1"
}

# tail ARGS...: the tail of the test topic, replayed, stopping 3 s after the last record.
tail_all() { run 0 events tail --kafka-bootstrap "$BROKER" --topic "$TOPIC" --from-beginning \
  --idle-exit 3 "$@"; }

# wait_following FILE: until the tail writing its stderr to FILE follows its partitions.
wait_following() {
  for _ in $(seq 150); do
    grep -q "^Following" "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  fail "the tail never said it was following: $(cat "$1")"
  return 1
}

# --- the command line, no broker needed -------------------------------------------------------
run 0 events tail --help
has "$out" "Usage: boctl events tail" "events tail --help"
has "$out" "--from-beginning" "events tail --help"
has "$out" "Global options" "events tail --help"
run 0 --help
has "$out" "events" "boctl --help"
run 2 events tail --type NoSuchEvent
has "$err" '"NoSuchEvent" is not an event type' "--type NoSuchEvent"
has "$err" "BackorderFilled" "--type NoSuchEvent lists the types"
run 2 events tail --type EventEnvelope
run 2 events tail --max 0
run 2 events tail --idle-exit -1
run 2 events

# Where the broker is: flag, environment, stack file, default.
run 0 --dry-run events tail --type backorderfilled --branch NORTH --backorder BO-1 BO-2
has "$out" "dry run: events tail at $BROKER (from \$KAFKA_BOOTSTRAP)" "dry run from the environment"
has "$out" "topics: backorder.debtor-query.v1 backorder.invoicing.v1 backorder.purchasing.v1 backorder.receiving.v1" "dry run topics"
has "$out" "start: end (live)" "dry run start"
has "$out" "types: BackorderFilled" "dry run --type is made canonical"
has "$out" "backorders: BO-1 BO-2" "dry run backorders"
run 0 events tail --dry-run --kafka-bootstrap 10.0.0.1:9092 --topic receiving --from-beginning
has "$out" "at 10.0.0.1:9092 (from --kafka-bootstrap)" "dry run from the flag"
has "$out" "topics: backorder.receiving.v1" "dry run short topic name"
has "$out" "start: beginning" "dry run --from-beginning"
mkdir -p "$WORK/var/stack"
echo "KAFKA_BOOTSTRAP=10.0.0.3:9092" >"$WORK/var/stack/stack.env"
KAFKA_BOOTSTRAP='' run 0 --dry-run events tail
has "$out" "at 10.0.0.3:9092 (from $WORK/var/stack/stack.env)" "dry run from the stack file"
rm -rf "${WORK:?}/var"
KAFKA_BOOTSTRAP='' run 0 --dry-run events tail
has "$out" "at 127.0.0.1:19092 (from default)" "dry run default"

# No broker there: exit 1 within about --timeout, with a hint.
start=$SECONDS
run 1 events tail --kafka-bootstrap 127.0.0.1:1 --timeout 2
has "$err" "error: reading the topics at 127.0.0.1:1 (from --kafka-bootstrap)" "unreachable broker"
has "$err" "hint:" "unreachable broker"
[ $((SECONDS - start)) -le 10 ] || fail "an unreachable broker took $((SECONDS - start)) s"

# A topic that does not exist: exit 1, saying which.
run 1 events tail --kafka-bootstrap "$BROKER" --topic "$TOPIC-missing" --timeout 5
has "$err" "no topic $TOPIC-missing" "missing topic"

# --- the known events, replayed ---------------------------------------------------------------
"$PRODUCER" "$BROKER" "$TOPIC" create || {
  echo "FAIL: cannot create the test topic $TOPIC"
  exit 1
}
"$PRODUCER" "$BROKER" "$TOPIC" known || fail "producing the known events"

tail_all
lines "$out" 5 "every event"
has "$out" "2026-11-29 01:07:12  $TOPIC  BackorderCancelled   NORTH  BO-NORTH-000001-1  clerk:kim@north  Cancelled 2; 0 filled returned to free stock (customer went elsewhere)" "the cancellation's line"
has "$out" "BackorderFilled      NORTH  BO-NORTH-000002-1  clerk:kim@north  Filled 2 from creditor invoice CI-9 (2 of 5 filled, 3 waiting, 0 invoiced)" "the fill's line"
has "$out" "StockOrderPlaced     NORTH  stockorder/SO-NORTH-000001  clerk:kim@north  Put on stock order SO-NORTH-000001 to supplier SUP-1" "the stock order's line"
has "$out" "PartUpdated          -  part/OIL-FILTER-1  clerk:kim@north  Part OIL-FILTER-1 saved" "the part's line"
has "$err" "not an event" "the record that is not an event is reported"
has "$err" "skipped" "the record that is not an event is skipped"

tail_all --type BackorderCancelled
lines "$out" 2 "--type BackorderCancelled"
has "$out" "BO-SOUTH-000001-1" "--type BackorderCancelled"
tail_all --type backordercancelled --branch NORTH
lines "$out" 1 "--type and --branch"
has "$out" "BO-NORTH-000001-1" "--type and --branch"
tail_all --backorder BO-NORTH-000001-1
lines "$out" 2 "--backorder: its event and the stock order covering it"
has "$out" "StockOrderPlaced" "--backorder takes the stock order covering it"
tail_all --branch NORTH --branch SOUTH --type PartUpdated
lines "$out" 0 "group-wide events have no branch"
tail_all --type BackorderCancelled StockOrderPlaced --branch SOUTH NORTH
lines "$out" 3 "several values after one flag"
tail_all --max 2
lines "$out" 2 "--max 2"

tail_all --json
lines "$out" 5 "--json"
jq -e . <<<"$out" >/dev/null || fail "--json lines are not JSON: $out"
types="$(jq -r '.event.type' <<<"$out" | sort | tr '\n' ' ')"
[ "$types" = "BackorderCancelled BackorderCancelled BackorderFilled PartUpdated StockOrderPlaced " ] ||
  fail "--json types: $types"
[ "$(jq -r "select(.topic != \"$TOPIC\" or .ce_id != .event.eventId or (.offset | type) != \"number\")" <<<"$out")" = "" ] ||
  fail "--json: topic, ce_id and offset: $out"
[ "$(jq -r 'select(.event.branchId == "NORTH" and .event.type == "BackorderFilled") | .key' <<<"$out")" = "NORTH" ] ||
  fail "--json key: $out"
[ "$(jq -r 'select(.event.type == "BackorderFilled") | .event.backorderFilled.quantities.backOrdered' <<<"$out")" = "5" ] ||
  fail "--json event body: $out"

tail_all -q --type BackorderCancelled
lines "$out" 2 "-q"
grep -qvE '^[0-9a-f-]{36}$' <<<"$out" && fail "-q prints event ids: $out"

# --- live: a record produced after "Following" is shown, and nothing before it ----------------
"$BOCTL" events tail --kafka-bootstrap "$BROKER" --topic "$TOPIC" --max 1 --idle-exit 60 \
  >"$WORK/live.out" 2>"$WORK/live.err" &
live=$!
pids+=("$live")
if wait_following "$WORK/live.err"; then
  "$PRODUCER" "$BROKER" "$TOPIC" one || fail "producing the live event"
  wait "$live"
  rc=$?
  [ "$rc" = 0 ] || fail "the live tail exited $rc: $(cat "$WORK/live.err")"
  live_out="$(cat "$WORK/live.out")"
  lines "$live_out" 1 "live tail"
  has "$live_out" "StockAdjusted        LIVE  ledger/LIVE/OIL-FILTER-1  clerk:kim@north  Stock of OIL-FILTER-1 adjusted by +3 to 3 on hand (stocktake)" "live tail"
fi

# --- Ctrl-C and SIGTERM end it cleanly (exit 0) ------------------------------------------------
for signal in TERM INT; do
  "$BOCTL" events tail --kafka-bootstrap "$BROKER" --topic "$TOPIC" >"$WORK/sig.out" 2>"$WORK/sig.err" &
  pid=$!
  pids+=("$pid")
  if wait_following "$WORK/sig.err"; then
    kill -s "$signal" "$pid"
    wait "$pid"
    rc=$?
    [ "$rc" = 0 ] || fail "SIG$signal: the tail exited $rc: $(cat "$WORK/sig.err")"
  fi
done

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "events tail: all checks passed"
