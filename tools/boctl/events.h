// The pure part of `boctl events tail`: which event types exist, which events pass the filters,
// how one event reads (a line for people, an NDJSON object for programs) and where the broker
// is. No Kafka here, so the unit tests feed EventEnvelopes built in code.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "backorder/v1/events.pb.h"
#include "tools/boctl/client.h"

namespace bo::boctl {

// The event types: the payload messages of EventEnvelope's oneof, in field order
// ("DebtorUpdated", "InvoiceFinalised", ...). Read from the descriptor, so a payload added to the
// catalogue is known without touching this code.
std::vector<std::string> EventTypeNames();

// The event type `word` names, in any case ("backorderfilled" -> "BackorderFilled"); nullopt if
// it is not one of EventTypeNames().
std::optional<std::string> CanonicalEventType(std::string_view word);

// The four event topics, in the order the services are listed in docs/services.md.
std::vector<std::string> EventTopicNames();

// The topic `word` names: a short name ("receiving", "debtor-query") is one of the four; anything
// else is taken as a full topic name (a test topic, a future version).
std::string TopicName(std::string_view word);

// What to show. Within one kind any value matches (--type A --type B: A or B); kinds combine
// (--type A --branch B: type A at branch B). An empty kind lets everything through.
struct EventFilter {
  std::set<std::string> types;       // EventTypeNames()
  std::set<std::string> branches;    // the envelope's branch_id
  std::set<std::string> backorders;  // BackordersNamed
};

// Every back order an event names: the back order of a back-order event (bo::BackorderIdOf),
// those a StockOrderPlaced line covers, the one a StockIssued was filled for, and those an
// InvoiceFinalised line fulfils.
std::set<std::string> BackordersNamed(const backorder::v1::EventEnvelope& event);

// The event's type: the envelope's `type`, else the record's ce_type header, else the name of
// the payload set; "" if none says.
std::string EventType(const backorder::v1::EventEnvelope& event, std::string_view ce_type);

// Whether `event` (with its record's ce_type header) passes `filter`. A type matches if the
// envelope's type, the ce_type header or the payload set is one of the types asked for.
bool Matches(const EventFilter& filter, const backorder::v1::EventEnvelope& event,
             std::string_view ce_type);

// One line a clerk reads (no newline), columns two spaces apart, topic and type padded so that
// a stream of them lines up:
//   2026-11-29 01:07:12  backorder.receiving.v1     BackorderFilled     NORTH  BO-NORTH-000001-1
//   clerk:kim@north  Filled 2 from creditor invoice CI-9 (...)
// (one line). The time is when it happened, UTC to the second; the id is the back order's, else
// the aggregate's; "-" stands for an empty field; the summary is bo::Describe.
std::string EventLine(std::string_view topic, const backorder::v1::EventEnvelope& event,
                      std::string_view ce_type);

// Where a record was in Kafka, for --json.
struct RecordPosition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;    // "" when the record has none
  std::string ce_id;  // the ce_id header, "" when missing
};

// One JSON object on one line (no newline), for NDJSON:
//   {"topic":...,"partition":0,"offset":12,"key":...,"ce_id":...,"event":{<proto3 JSON>}}
// The event is printed as boctl --json prints answers: lowerCamelCase names, every field, 64-bit
// numbers as strings.
std::string EventJsonLine(const RecordPosition& position,
                          const backorder::v1::EventEnvelope& event);

// `text` as a JSON string, quotes included.
std::string JsonString(std::string_view text);

// Where the Kafka broker is: the flag --kafka-bootstrap, else $KAFKA_BOOTSTRAP, else the
// KAFKA_BOOTSTRAP line of the stack file, else 127.0.0.1:19092 (deploy/local's broker).
Address ResolveBootstrap(const std::string& flag,
                         const std::function<const char*(const char*)>& getenv,
                         const std::map<std::string, std::string>& stack_file,
                         const std::string& stack_file_path);

}  // namespace bo::boctl
