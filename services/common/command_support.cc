#include "services/common/command_support.h"

#include <algorithm>
#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "libs/core/ids.h"
#include "libs/kafka/client.h"

namespace bo {
namespace {

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == ':';
}

bool ValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    if (n == 1 && ((c < 0x20 && c != '\t') || c == 0x7f)) return false;  // no control characters
    i += n;
  }
  return true;
}

}  // namespace

std::string AnswerKey(std::string_view method, const std::string& request_id) {
  return absl::StrCat(std::string(method), ":", request_id);
}

std::string ReactionKey(const std::string& event_id) { return AnswerKey("event", event_id); }

bool Caller::MaySee(std::string_view branch) const {
  return all_branches || std::find(branches.begin(), branches.end(), branch) != branches.end();
}

std::string Caller::ListBranch(const std::string& requested) const {
  if (!requested.empty() || all_branches || branches.size() != 1) return requested;
  return branches.front();
}

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message(status.message());
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  const size_t colon = message.find(": ");
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    google::rpc::BadRequest bad;
    auto* v = bad.add_field_violations();
    if (colon != std::string::npos && colon > 0 && message.find(' ') >= colon) {
      v->set_field(message.substr(0, colon));
      v->set_description(message.substr(colon + 2));
    } else {
      v->set_description(message);
    }
    details.add_details()->PackFrom(bad);
  } else if (status.code() == absl::StatusCode::kFailedPrecondition) {
    google::rpc::PreconditionFailure failure;
    auto* v = failure.add_violations();
    v->set_type("STATE");
    v->set_description(message);
    details.add_details()->PackFrom(failure);
  } else if (status.code() == absl::StatusCode::kNotFound ||
             status.code() == absl::StatusCode::kAlreadyExists) {
    google::rpc::ResourceInfo info;
    info.set_description(message);
    details.add_details()->PackFrom(info);
  }
  return grpc::Status(code, message, details.SerializeAsString());
}

absl::Status Invalid(std::string_view field, std::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": ", std::string(reason)));
}

absl::Status FirstError(std::initializer_list<absl::Status> statuses) {
  for (const auto& s : statuses) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CheckRequestId(const std::string& request_id) {
  if (request_id.empty()) return Invalid("request_id", "required (a client id for retries)");
  if (request_id.size() > 128) return Invalid("request_id", "longer than 128 characters");
  for (char c : request_id) {
    if (c <= 0x20 || c >= 0x7f) return Invalid("request_id", "only printable ASCII, no spaces");
  }
  return absl::OkStatus();
}

absl::Status CheckId(std::string_view field, const std::string& value, bool required) {
  if (value.empty()) return required ? Invalid(field, "required") : absl::OkStatus();
  if (value.size() > 64) return Invalid(field, "longer than 64 characters");
  for (char c : value) {
    if (!IsIdChar(c)) {
      return Invalid(field, absl::StrCat("\"", value,
                                         "\" has a character other than letters, digits and "
                                         "- _ . :"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckQuantity(std::string_view field, int64_t value, bool allow_zero) {
  if (value < 0) return Invalid(field, absl::StrCat("must not be negative, got ", value));
  if (value == 0 && !allow_zero) return Invalid(field, "must be at least 1, got 0");
  if (value > kMaxRequestQuantity) {
    return Invalid(field, absl::StrCat("must be at most ", kMaxRequestQuantity, ", got ", value));
  }
  return absl::OkStatus();
}

absl::Status CheckText(std::string_view field, const std::string& value, size_t max_length,
                       bool required) {
  bool blank = true;
  for (char c : value) {
    if (c != ' ' && c != '\t') blank = false;
  }
  if (required && blank) return Invalid(field, "required");
  if (value.size() > max_length) {
    return Invalid(field, absl::StrCat("longer than ", max_length, " bytes"));
  }
  if (!ValidUtf8(value)) return Invalid(field, "not valid UTF-8 text");
  return absl::OkStatus();
}

std::optional<uint64_t> DocumentNumber(std::string_view id) {
  const size_t dash = id.rfind('-');
  uint64_t number = 0;
  if (dash == std::string_view::npos ||
      !absl::SimpleAtoi(std::string(id.substr(dash + 1)), &number)) {
    return std::nullopt;
  }
  return number;
}

absl::Status CheckDocumentOfBranch(std::string_view field, std::string_view id,
                                   std::string_view prefix, std::string_view branch_id) {
  if (!id.starts_with(prefix)) return absl::OkStatus();
  const std::string_view rest = id.substr(prefix.size());
  const size_t dash = rest.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == rest.size()) {
    return absl::OkStatus();
  }
  const std::string_view number = rest.substr(dash + 1);
  if (!std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return absl::OkStatus();
  }
  const std::string_view of = rest.substr(0, dash);
  if (of == branch_id) return absl::OkStatus();
  return Invalid(field, absl::StrCat(std::string(id), " is of branch ", std::string(of), ", not ",
                                     std::string(branch_id)));
}

absl::Status CheckMoney(std::string_view field, const backorder::v1::Money& money, bool required) {
  if (money.currency().empty() && money.minor_units() == 0) {
    return required ? Invalid(field, "required") : absl::OkStatus();
  }
  const std::string& cur = money.currency();
  if (cur.size() != 3 ||
      !std::all_of(cur.begin(), cur.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    // Echoed only when short: an error message travels in a header, which has a size limit.
    const std::string shown =
        cur.size() <= 16 ? absl::StrCat("\"", cur, "\"") : absl::StrCat(cur.size(), " bytes");
    return Invalid(absl::StrCat(std::string(field), ".currency"),
                   absl::StrCat(shown, " is not an ISO 4217 code like \"AUD\""));
  }
  if (money.minor_units() < 0 || money.minor_units() > 1'000'000'000'000) {
    return Invalid(absl::StrCat(std::string(field), ".minor_units"),
                   absl::StrCat("must be 0 .. 10^12, got ", money.minor_units()));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PageSize(int32_t requested) {
  if (requested < 0) return Invalid("page_size", "must not be negative");
  if (requested > 1000) return Invalid("page_size", "must be at most 1000");
  return requested == 0 ? 100 : requested;
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  int64_t seconds = nanos / 1'000'000'000;
  int64_t rest = nanos % 1'000'000'000;
  if (rest < 0) {
    rest += 1'000'000'000;
    --seconds;
  }
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(rest));
  return ts;
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void Stamp(backorder::v1::EventEnvelope* event, const std::string& aggregate_id, uint64_t version,
           absl::Time now, const Caller& caller, const std::string& causation_id) {
  event->set_event_id(NewUuidV7());
  event->set_aggregate_id(aggregate_id);
  event->set_aggregate_version(version);
  if (!event->has_occurred_at()) *event->mutable_occurred_at() = ToProto(now);
  event->mutable_actor()->set_subject(caller.subject);
  event->mutable_actor()->set_role(caller.role);
  event->set_correlation_id(caller.correlation_id);
  event->set_causation_id(causation_id);
}

OutboxMessage ToOutbox(const std::string& topic, const std::string& key,
                       const backorder::v1::EventEnvelope& event, const std::string& source) {
  OutboxMessage m;
  m.topic = topic;
  m.key = key;
  m.value = event.SerializeAsString();
  m.event_id = event.event_id();
  m.headers = kafka::CloudEventHeaders(event.event_id(), event.type(), "/backorders/" + source,
                                       FromProto(event.occurred_at()));
  return m;
}

std::string StockKey(const std::string& branch_id, const std::string& part_number) {
  return absl::StrCat(branch_id, "/", part_number);
}

absl::StatusOr<bool> PreviousAnswer(EventStore* store, std::string_view method,
                                    const std::string& request_id,
                                    google::protobuf::Message* response) {
  auto answer = store->FindAnswer(AnswerKey(method, request_id));
  if (!answer.ok()) return answer.status();
  if (!answer->has_value()) return false;
  if (!response->ParseFromString(**answer)) {
    return absl::InternalError(absl::StrCat("stored answer to ", request_id, " is unreadable"));
  }
  return true;
}

absl::Status CommitWithAnswer(EventStore* store, CommitRequest* commit, std::string_view method,
                              const std::string& request_id, google::protobuf::Message* response) {
  commit->idempotency =
      IdempotencyRecord{AnswerKey(method, request_id), response->SerializeAsString()};
  absl::Status s = store->Commit(*commit);
  if (s.code() == absl::StatusCode::kAlreadyExists) {
    auto previous = PreviousAnswer(store, method, request_id, response);
    if (!previous.ok()) return previous.status();
    return absl::OkStatus();
  }
  return s;
}

absl::Status CommitReaction(EventStore* store, CommitRequest* commit, const std::string& event_id) {
  commit->idempotency = IdempotencyRecord{ReactionKey(event_id), ""};
  absl::Status s = store->Commit(*commit);
  if (s.code() == absl::StatusCode::kAlreadyExists) return absl::OkStatus();
  return s;
}

absl::StatusOr<bool> ReactionDone(EventStore* store, const std::string& event_id) {
  auto answer = store->FindAnswer(ReactionKey(event_id));
  if (!answer.ok()) return answer.status();
  return answer->has_value();
}

std::mutex& KeyedLocks::For(std::string_view key) {
  return stripes_[std::hash<std::string_view>{}(key) % stripes_.size()];
}

std::vector<std::unique_lock<std::mutex>> KeyedLocks::LockAll(
    const std::vector<std::string>& keys) {
  std::vector<size_t> stripes;
  for (const auto& k : keys) stripes.push_back(std::hash<std::string_view>{}(k) % stripes_.size());
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  for (size_t i : stripes) locks.emplace_back(stripes_[i]);
  return locks;
}

std::string EncodePageToken(std::string_view last_key) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : last_key) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

absl::StatusOr<std::string> DecodePageToken(const std::string& token) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (token.size() % 2 != 0 || token.size() > 512) {
    return Invalid("page_token", "not a token this service gave out");
  }
  std::string out;
  for (size_t i = 0; i < token.size(); i += 2) {
    int hi = nibble(token[i]), lo = nibble(token[i + 1]);
    if (hi < 0 || lo < 0) return Invalid("page_token", "not a token this service gave out");
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

absl::StatusOr<std::string> PageStart(const std::string& token, std::string_view prefix) {
  if (token.empty()) return std::string();
  auto key = DecodePageToken(token);
  if (!key.ok()) return key.status();
  if (!key->starts_with(prefix)) {
    return Invalid("page_token", "not a token of this list (were the filters changed?)");
  }
  return key;
}

}  // namespace bo
