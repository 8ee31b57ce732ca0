#include "services/debtor-query/read_model_keys.h"

#include <cstdint>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/ids.h"

namespace bo::debtor_query {

std::string EscapeKeyPart(std::string_view id) {
  std::string out;
  out.reserve(id.size());
  for (char c : id) {
    if (c == '%') {
      out += "%25";
    } else if (c == '/') {
      out += "%2F";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string UnescapeKeyPart(std::string_view part) {
  std::string out;
  out.reserve(part.size());
  for (size_t i = 0; i < part.size(); ++i) {
    if (part.substr(i, 3) == "%25") {
      out.push_back('%');
      i += 2;
    } else if (part.substr(i, 3) == "%2F") {
      out.push_back('/');
      i += 2;
    } else {
      out.push_back(part[i]);
    }
  }
  return out;
}

std::string SortableTime(const google::protobuf::Timestamp& t) {
  constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
  if (t.seconds() < 0) return SortableNumber(0);
  const int64_t seconds = t.seconds() > kMaxSeconds ? kMaxSeconds : t.seconds();
  const int64_t nanos = t.nanos() < 0 || t.nanos() > 999'999'999 ? 0 : t.nanos();
  return SortableNumber(static_cast<uint64_t>(seconds * 1'000'000'000 + nanos));
}

namespace {
// The keys of every time-ordered list: <prefix><sortable time>/<escaped id>.
std::string TimedKey(std::string_view prefix, const google::protobuf::Timestamp& at,
                     std::string_view id) {
  return absl::StrCat(std::string(prefix), SortableTime(at), "/", EscapeKeyPart(id));
}
}  // namespace

std::string BackorderKey(std::string_view backorder_id) {
  return absl::StrCat("bo/", std::string(backorder_id));
}

std::string AgeKey(const google::protobuf::Timestamp& created_at, std::string_view backorder_id) {
  return TimedKey(kAgePrefix, created_at, backorder_id);
}

std::string BranchAgePrefix(std::string_view branch_id) {
  return absl::StrCat("branch-age/", EscapeKeyPart(branch_id), "/");
}

std::string BranchAgeKey(std::string_view branch_id, const google::protobuf::Timestamp& created_at,
                         std::string_view backorder_id) {
  return TimedKey(BranchAgePrefix(branch_id), created_at, backorder_id);
}

std::string ReadyPrefix(std::string_view branch_id, std::string_view debtor_id) {
  if (branch_id.empty()) return "ready/";
  if (debtor_id.empty()) return absl::StrCat("ready/", EscapeKeyPart(branch_id), "/");
  return absl::StrCat("ready/", EscapeKeyPart(branch_id), "/", EscapeKeyPart(debtor_id), "/");
}

std::string ReadyKey(const backorder::v1::BackorderContext& context,
                     std::string_view backorder_id) {
  return absl::StrCat("ready/", EscapeKeyPart(context.branch_id()), "/",
                      EscapeKeyPart(context.debtor_id()), "/", EscapeKeyPart(context.invoice_id()),
                      "/", EscapeKeyPart(backorder_id));
}

std::string HistoryPrefix(std::string_view backorder_id) {
  return absl::StrCat("hist/", EscapeKeyPart(backorder_id), "/");
}

std::string HistoryKey(std::string_view backorder_id,
                       const google::protobuf::Timestamp& occurred_at, std::string_view event_id) {
  return TimedKey(HistoryPrefix(backorder_id), occurred_at, event_id);
}

std::string LostSalePrefix(std::string_view branch_id) {
  return absl::StrCat("lost/", EscapeKeyPart(branch_id), "/");
}

std::string LostSaleKey(std::string_view branch_id, const google::protobuf::Timestamp& occurred_at,
                        std::string_view event_id) {
  return TimedKey(LostSalePrefix(branch_id), occurred_at, event_id);
}

std::string StateAgePrefix(std::string_view branch_id, backorder::v1::BackorderState state) {
  const std::string number = absl::StrFormat("%02d", static_cast<int>(state));
  if (branch_id.empty()) return absl::StrCat("state-age/", number, "/");
  return absl::StrCat("branch-state-age/", EscapeKeyPart(branch_id), "/", number, "/");
}

std::string StateAgeKey(std::string_view branch_id, backorder::v1::BackorderState state,
                        const google::protobuf::Timestamp& created_at,
                        std::string_view backorder_id) {
  return TimedKey(StateAgePrefix(branch_id, state), created_at, backorder_id);
}

std::string OpenAgePrefix(std::string_view branch_id) {
  return absl::StrCat("open-age/", EscapeKeyPart(branch_id), "/");
}

std::string OpenAgeKey(std::string_view branch_id, const google::protobuf::Timestamp& created_at,
                       std::string_view backorder_id) {
  return TimedKey(OpenAgePrefix(branch_id), created_at, backorder_id);
}

int64_t CreatedNanosOfOpenAgeKey(std::string_view prefix, std::string_view key) {
  constexpr size_t kDigits = 20;  // SortableTime
  if (!key.starts_with(prefix) || key.size() < prefix.size() + kDigits + 1) return -1;
  const std::string_view digits = key.substr(prefix.size(), kDigits);
  if (key[prefix.size() + kDigits] != '/') return -1;
  uint64_t nanos = 0;
  if (!absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()), &nanos) ||
      nanos > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return -1;
  }
  return static_cast<int64_t>(nanos);
}

std::string FiguresKey(std::string_view branch_id) {
  return absl::StrCat(std::string(kFiguresPrefix), EscapeKeyPart(branch_id));
}

std::string BranchOfFiguresKey(std::string_view key) {
  if (!key.starts_with(kFiguresPrefix)) return "";
  return UnescapeKeyPart(key.substr(kFiguresPrefix.size()));
}

std::string DebtorKey(std::string_view debtor_id) {
  return absl::StrCat(std::string(kDebtorPrefix), std::string(debtor_id));
}

std::string DebtorStream(std::string_view debtor_id) { return DebtorKey(debtor_id); }

}  // namespace bo::debtor_query
