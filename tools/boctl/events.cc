#include "tools/boctl/events.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/backorder_view.h"
#include "services/common/topics.h"

namespace bo::boctl {
namespace {

namespace pb = backorder::v1;

// The payload set, as its message name ("" if none is, or one this build does not know).
std::string PayloadName(const pb::EventEnvelope& event) {
  if (event.payload_case() == pb::EventEnvelope::PAYLOAD_NOT_SET) return "";
  const auto* field = pb::EventEnvelope::descriptor()->FindFieldByNumber(event.payload_case());
  return field != nullptr && field->message_type() != nullptr ? field->message_type()->name() : "";
}

std::string OrDash(const std::string& text) { return text.empty() ? "-" : text; }

// `text` followed by spaces up to `width` characters (ids and type names are ASCII).
std::string Padded(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string UtcSecond(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

size_t LongestTypeName() {
  size_t longest = 0;
  for (const auto& name : EventTypeNames()) longest = std::max(longest, name.size());
  return longest;
}

}  // namespace

std::vector<std::string> EventTypeNames() {
  std::vector<std::string> names;
  const auto* payload = pb::EventEnvelope::descriptor()->FindOneofByName("payload");
  for (int i = 0; payload != nullptr && i < payload->field_count(); ++i) {
    if (payload->field(i)->message_type() != nullptr) {
      names.push_back(payload->field(i)->message_type()->name());
    }
  }
  return names;
}

std::optional<std::string> CanonicalEventType(std::string_view word) {
  for (const auto& name : EventTypeNames()) {
    if (absl::EqualsIgnoreCase(name, std::string(word))) return name;
  }
  return std::nullopt;
}

std::vector<std::string> EventTopicNames() {
  return {kDebtorQueryTopic, kInvoicingTopic, kPurchasingTopic, kReceivingTopic};
}

std::string TopicName(std::string_view word) {
  for (const auto& topic : EventTopicNames()) {
    if (absl::EqualsIgnoreCase(absl::StrCat("backorder.", std::string(word), ".v1"), topic)) {
      return topic;
    }
  }
  return std::string(word);
}

std::set<std::string> BackordersNamed(const pb::EventEnvelope& event) {
  std::set<std::string> ids;
  if (std::string id = BackorderIdOf(event); !id.empty()) ids.insert(id);
  switch (event.payload_case()) {
    case pb::EventEnvelope::kStockOrderPlaced:
      for (const auto& line : event.stock_order_placed().lines()) {
        for (const auto& covered : line.backorders()) ids.insert(covered.backorder_id());
      }
      break;
    case pb::EventEnvelope::kStockIssued:
      ids.insert(event.stock_issued().backorder_id());
      break;
    case pb::EventEnvelope::kInvoiceFinalised:
      for (const auto& line : event.invoice_finalised().lines()) {
        ids.insert(line.fulfils_backorder_id());
      }
      break;
    default:
      break;
  }
  ids.erase("");
  return ids;
}

std::string EventType(const pb::EventEnvelope& event, std::string_view ce_type) {
  if (!event.type().empty()) return event.type();
  if (!ce_type.empty()) return std::string(ce_type);
  return PayloadName(event);
}

bool Matches(const EventFilter& filter, const pb::EventEnvelope& event, std::string_view ce_type) {
  if (!filter.types.empty() && !filter.types.contains(event.type()) &&
      !filter.types.contains(std::string(ce_type)) && !filter.types.contains(PayloadName(event))) {
    return false;
  }
  if (!filter.branches.empty() && !filter.branches.contains(event.branch_id())) return false;
  if (!filter.backorders.empty()) {
    const auto named = BackordersNamed(event);
    bool any = false;
    for (const auto& id : named) any = any || filter.backorders.contains(id);
    if (!any) return false;
  }
  return true;
}

std::string EventLine(std::string_view topic, const pb::EventEnvelope& event,
                      std::string_view ce_type) {
  static const size_t kTypeWidth = LongestTypeName();
  constexpr size_t kTopicWidth = sizeof(kDebtorQueryTopic) - 1;  // the longest of the four
  std::string id = BackorderIdOf(event);
  if (id.empty()) id = event.aggregate_id();
  return absl::StrCat(UtcSecond(event.occurred_at()), "  ", Padded(std::string(topic), kTopicWidth),
                      "  ", Padded(OrDash(EventType(event, ce_type)), kTypeWidth), "  ",
                      OrDash(event.branch_id()), "  ", OrDash(id), "  ",
                      OrDash(event.actor().subject()), "  ", Describe(event));
}

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string EventJsonLine(const RecordPosition& position, const pb::EventEnvelope& event) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  std::string event_json;
  const auto status = google::protobuf::util::MessageToJsonString(event, &event_json, options);
  if (!status.ok()) {
    event_json = absl::StrCat("{\"error\":", JsonString(std::string(status.message())), "}");
  }
  return absl::StrCat("{\"topic\":", JsonString(position.topic),
                      ",\"partition\":", position.partition, ",\"offset\":", position.offset,
                      ",\"key\":", JsonString(position.key),
                      ",\"ce_id\":", JsonString(position.ce_id), ",\"event\":", event_json, "}");
}

Address ResolveBootstrap(const std::string& flag,
                         const std::function<const char*(const char*)>& getenv,
                         const std::map<std::string, std::string>& stack_file,
                         const std::string& stack_file_path) {
  constexpr char kKey[] = "KAFKA_BOOTSTRAP";
  if (!flag.empty()) return {flag, "--kafka-bootstrap"};
  if (const char* env = getenv(kKey); env != nullptr && *env != '\0') {
    return {env, absl::StrCat("$", kKey)};
  }
  if (auto it = stack_file.find(kKey); it != stack_file.end() && !it->second.empty()) {
    return {it->second, stack_file_path};
  }
  return {"127.0.0.1:19092", "default"};
}

}  // namespace bo::boctl
