#!/usr/bin/env bash
# The example subscribers (tools/subscribers/{python,java}) against a stack that ran the
# walkthrough: each replays the four topics from the beginning, and the final state and
# quantities it derives for every back order of this run must equal what the debtor-query API
# reports. Ports 5117x.
set -euo pipefail
REPO="$1"
BUILD="$2"
: "${KAFKA_BOOTSTRAP:?KAFKA_BOOTSTRAP must name a running broker}"
export BUILD_DIR="$BUILD" STACK_DIR="$BUILD/subscribers-test"
export INVOICING_PORT=21171 PURCHASING_PORT=21172 RECEIVING_PORT=21173 DEBTOR_QUERY_PORT=21174
export BO_WALKTHROUGH_RUN="s$(date +%s)" # fresh branches and debtors on a reused broker
export BO_STACK_ENV="$STACK_DIR/stack.env"
STACK="$REPO/deploy/local/stack"
BOCTL="$BUILD/tools/boctl/boctl"
OUT="$BUILD/subscribers-test.out"
r="$BO_WALKTHROUGH_RUN"
mkdir -p "$OUT"

fail() { echo "FAIL: $*"; exit 1; }
trap '"$STACK" down >/dev/null 2>&1 || true' EXIT # also on failure

# Build both first: a broken subscriber fails before any stack is started.
"$REPO/tools/subscribers/python/setup.sh" || fail "python subscriber setup"
"$REPO/tools/subscribers/java/setup.sh" || fail "java subscriber setup"

rm -rf "$STACK_DIR"
"$STACK" up >/dev/null || fail "stack up"
"$REPO/tools/walkthrough" >"$OUT/walkthrough.out" 2>&1 || { cat "$OUT/walkthrough.out"; fail "the walkthrough failed"; }

# At-least-once delivery, made real: publish this run's cancellation once more (same ce_id, same
# key and partition, a new offset), as a producer retry would. The subscribers must count it as
# a duplicate and show it once; the services' consumers skip it the same way.
PYTHONUNBUFFERED=1 "$REPO/var/subscribers/python-venv/bin/python" - "$KAFKA_BOOTSTRAP" "NORTH-$r/OF-1001" <<'PY' ||
import sys
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
bootstrap, key, topic = sys.argv[1], sys.argv[2].encode(), "backorder.invoicing.v1"
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "subscribers-test", "enable.auto.commit": False})
parts = c.list_topics(topic, timeout=10).topics[topic].partitions
ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts if ends[p] > 0])
left, found = {p for p in parts if ends[p] > 0}, None
while left and not found:
    m = c.poll(10)
    if m is None or m.error():
        sys.exit(f"reading {topic}: {m.error() if m else 'timed out'}")
    if m.offset() + 1 >= ends[m.partition()]:
        left.discard(m.partition())
    if m.key() == key and (b"BackorderCancelled" in [v for k, v in m.headers() or [] if k == "ce_type"]):
        found = m
c.close()
if not found:
    sys.exit(f"no BackorderCancelled keyed {key.decode()} on {topic}")
p = Producer({"bootstrap.servers": bootstrap})
p.produce(topic, found.value(), found.key(), partition=found.partition(), headers=found.headers())
if p.flush(10):
    sys.exit("the duplicate was not delivered")
print("re-published", dict(found.headers())["ce_id"].decode(), "to", topic, "partition", found.partition())
PY
  fail "could not re-publish an event"

# This run's back orders as the debtor-query API reports them, in the subscribers' --json shape.
api() {
  local branch
  for branch in "NORTH-$r" "SOUTH-$r"; do
    "$BOCTL" --json backorder list --branch "$branch" --page-size 1000
  done | jq -S -s '[.[].backorders[] | {key: .context.backorderId, value: {
      state, back_ordered: (.quantities.backOrdered // "0" | tonumber),
      filled: (.quantities.filled // "0" | tonumber), invoiced: (.quantities.invoiced // "0" | tonumber),
      cancelled: (.quantities.cancelled // "0" | tonumber)}}] | from_entries'
}
# Events may still be flowing into the read model: wait until two reads a second apart agree.
api >"$OUT/api.json"
for _ in $(seq 1 30); do
  sleep 1
  api >"$OUT/api.next.json"
  cmp -s "$OUT/api.json" "$OUT/api.next.json" && break
  mv "$OUT/api.next.json" "$OUT/api.json"
done
n=$(jq length "$OUT/api.json")
[ "$n" -ge 4 ] || fail "the API lists only $n back orders for run $r"
jq -e '[.[].state] | index("BACKORDER_STATE_INVOICED") and index("BACKORDER_STATE_CANCELLED") and index("BACKORDER_STATE_FILLED")' \
  "$OUT/api.json" >/dev/null || fail "the run has no invoiced, cancelled and filled back order to compare"

# Runs a subscriber ($1 = name, then its command) and compares this run's back orders.
check() {
  local name="$1"
  shift
  "$@" --bootstrap "$KAFKA_BOOTSTRAP" --json --timeout 300 >"$OUT/$name.all.json" 2>"$OUT/$name.err" ||
    { cat "$OUT/$name.err"; fail "the $name subscriber failed"; }
  jq -S --arg n "NORTH-$r" --arg s "SOUTH-$r" 'with_entries(select(.value.branch_id == $n or .value.branch_id == $s)
      | .value |= {state, back_ordered, filled, invoiced, cancelled})' "$OUT/$name.all.json" >"$OUT/$name.json"
  if ! cmp -s "$OUT/api.json" "$OUT/$name.json"; then
    diff -u --label debtor-query-api "$OUT/api.json" --label "$name" "$OUT/$name.json" || true
    fail "the $name subscriber disagrees with the debtor-query API"
  fi
  grep -Eq 'subscriber: [0-9]+ records, [1-9][0-9]* duplicates' "$OUT/$name.err" ||
    fail "the $name subscriber saw no duplicate (re-published above): $(tail -n1 "$OUT/$name.err")"
  # The human timeline too: every back order of the run is there and ends with the API's state.
  "$@" --bootstrap "$KAFKA_BOOTSTRAP" --timeout 300 >"$OUT/$name.timeline" 2>/dev/null ||
    fail "the $name subscriber failed printing timelines"
  local id state
  while read -r id state; do
    awk -v id="$id" '$1 == id { f = 1 } f && /^  => / { print; exit }' "$OUT/$name.timeline" |
      grep -q "^  => ${state#BACKORDER_STATE_}:" ||
      fail "the $name timeline of $id does not end in $state"
  done < <(jq -r 'to_entries[] | "\(.key) \(.value.state)"' "$OUT/api.json")
  [ "$(awk -v id="BO-NORTH-$r-000002-1" '$1 == id { f = 1 } f && /^  => / { exit } f' "$OUT/$name.timeline" |
    grep -c ' BackorderCancelled ')" = 1 ] || fail "the $name timeline shows the re-published cancellation twice"
  echo "$name subscriber: $n back orders agree with the debtor-query API ($(tail -n1 "$OUT/$name.err"))"
}

check python "$REPO/var/subscribers/python-venv/bin/python" "$REPO/tools/subscribers/python/subscriber.py"
check java java -jar "$REPO/tools/subscribers/java/target/backorders-subscriber.jar"

# Same events, same rules: the two timelines of this run are the same, line for line.
run_blocks() { awk -v n="branch NORTH-$r," -v s="branch SOUTH-$r," '/^[^ ]/ { f = index($0, n) || index($0, s) } f' "$1"; }
diff -u <(run_blocks "$OUT/python.timeline") <(run_blocks "$OUT/java.timeline") ||
  fail "the python and java timelines differ"

"$STACK" down >/dev/null || fail "stack down"
trap - EXIT
echo "--- one timeline (python):"
grep -A8 "^BO-NORTH-$r-000002-1 " "$OUT/python.timeline" | sed '/^$/q'
echo "subscribers test: ok (run $r, $n back orders)"
