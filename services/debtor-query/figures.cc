#include "services/debtor-query/figures.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/backorder_view.h"

namespace bo::debtor_query {
namespace pb = backorder::v1;

namespace {

// Every figure with its stored name, in the stored order. One table for encoding, decoding and
// the arithmetic, so a figure added to the struct cannot be forgotten by one of them.
constexpr std::array<std::pair<const char*, int64_t BranchFigures::*>, 17> kFields = {{
    {"count_open", &BranchFigures::count_open},
    {"count_on_order", &BranchFigures::count_on_order},
    {"count_partly_filled", &BranchFigures::count_partly_filled},
    {"count_filled", &BranchFigures::count_filled},
    {"count_invoiced", &BranchFigures::count_invoiced},
    {"count_cancelled", &BranchFigures::count_cancelled},
    {"ready_lines", &BranchFigures::ready_lines},
    {"ready_quantity", &BranchFigures::ready_quantity},
    {"quantity_back_ordered", &BranchFigures::quantity_back_ordered},
    {"quantity_filled", &BranchFigures::quantity_filled},
    {"quantity_invoiced", &BranchFigures::quantity_invoiced},
    {"fill_seconds", &BranchFigures::fill_seconds},
    {"fill_count", &BranchFigures::fill_count},
    {"invoice_seconds", &BranchFigures::invoice_seconds},
    {"invoice_count", &BranchFigures::invoice_count},
    {"lost_lines", &BranchFigures::lost_lines},
    {"lost_quantity", &BranchFigures::lost_quantity},
}};

// Seconds from `from` to `to`, never negative: the services' clocks may disagree a little, and
// a fill stamped a moment before its creation took no time, not negative time.
int64_t SecondsBetween(const google::protobuf::Timestamp& from,
                       const google::protobuf::Timestamp& to) {
  return std::max<int64_t>(0, to.seconds() - from.seconds());
}

bool Known(const google::protobuf::Timestamp& t) { return t.seconds() > 0 || t.nanos() > 0; }

}  // namespace

// The table must name every member: a figure missing from it would be neither stored nor summed.
// This catches a member added to the struct and not to the table.
static_assert(sizeof(BranchFigures) == kFields.size() * sizeof(int64_t));

// Modulo 2^64, in unsigned arithmetic so that it is never undefined: an addition and the
// subtraction of the same figures cancel exactly in any order, and the result is the true sum
// whenever that fits in int64. With every event's numbers checked (CheckEventNumbers) a figure
// would need billions of back orders to get there.
BranchFigures& BranchFigures::operator+=(const BranchFigures& other) {
  for (const auto& [name, member] : kFields) {
    this->*member = static_cast<int64_t>(static_cast<uint64_t>(this->*member) +
                                         static_cast<uint64_t>(other.*member));
  }
  return *this;
}

BranchFigures& BranchFigures::operator-=(const BranchFigures& other) {
  for (const auto& [name, member] : kFields) {
    this->*member = static_cast<int64_t>(static_cast<uint64_t>(this->*member) -
                                         static_cast<uint64_t>(other.*member));
  }
  return *this;
}

bool IsOpen(pb::BackorderState state) {
  switch (state) {
    case pb::BACKORDER_STATE_OPEN:
    case pb::BACKORDER_STATE_ON_ORDER:
    case pb::BACKORDER_STATE_PARTLY_FILLED:
    case pb::BACKORDER_STATE_FILLED:
      return true;
    default:
      return false;
  }
}

std::optional<Contribution> ContributionOf(const pb::Backorder& view) {
  // The same test IndexEntries uses: without its context a view is not known to be anything.
  if (view.context().backorder_id().empty()) return std::nullopt;
  Contribution c;
  c.branch_id = view.context().branch_id();
  BranchFigures& f = c.figures;
  switch (view.state()) {
    case pb::BACKORDER_STATE_OPEN:
      f.count_open = 1;
      break;
    case pb::BACKORDER_STATE_ON_ORDER:
      f.count_on_order = 1;
      break;
    case pb::BACKORDER_STATE_PARTLY_FILLED:
      f.count_partly_filled = 1;
      break;
    case pb::BACKORDER_STATE_FILLED:
      f.count_filled = 1;
      break;
    case pb::BACKORDER_STATE_INVOICED:
      f.count_invoiced = 1;
      break;
    case pb::BACKORDER_STATE_CANCELLED:
      f.count_cancelled = 1;
      break;
    default:
      break;
  }
  if (view.state() == pb::BACKORDER_STATE_CANCELLED) return c;

  const pb::BackorderQuantities& q = view.quantities();
  const int64_t ready = Ready(q);
  if (ready > 0) {
    f.ready_lines = 1;
    f.ready_quantity = ready;
  }
  f.quantity_back_ordered = q.back_ordered();
  f.quantity_filled = q.filled();
  f.quantity_invoiced = q.invoiced();
  // Lead times need both ends; a view whose creation has not arrived yet has no start.
  if (Known(view.created_at())) {
    if (q.back_ordered() > 0 && q.filled() >= q.back_ordered() && Known(view.filled_at())) {
      f.fill_seconds = SecondsBetween(view.created_at(), view.filled_at());
      f.fill_count = 1;
    }
    if (view.state() == pb::BACKORDER_STATE_INVOICED && Known(view.invoiced_at())) {
      f.invoice_seconds = SecondsBetween(view.created_at(), view.invoiced_at());
      f.invoice_count = 1;
    }
  }
  return c;
}

std::map<std::string, BranchFigures> Difference(const pb::Backorder& before,
                                                const pb::Backorder& after) {
  std::map<std::string, BranchFigures> change;
  if (auto old = ContributionOf(before)) change[old->branch_id] -= old->figures;
  if (auto now = ContributionOf(after)) change[now->branch_id] += now->figures;
  std::erase_if(change, [](const auto& entry) { return entry.second == BranchFigures{}; });
  return change;
}

std::string EncodeFigures(const BranchFigures& figures) {
  std::string out;
  for (const auto& [name, member] : kFields) {
    absl::StrAppend(&out, name, "=", figures.*member, "\n");
  }
  return out;
}

absl::StatusOr<BranchFigures> DecodeFigures(std::string_view bytes) {
  BranchFigures figures;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(bytes.data(), bytes.size()), '\n', absl::SkipEmpty())) {
    const size_t eq = line.find('=');
    const std::string_view name(line.data(), eq == absl::string_view::npos ? line.size() : eq);
    int64_t value = 0;
    if (eq == absl::string_view::npos || !absl::SimpleAtoi(line.substr(eq + 1), &value)) {
      return absl::DataLossError(absl::StrCat("figures: unreadable line \"", line, "\""));
    }
    auto field = std::find_if(kFields.begin(), kFields.end(),
                              [&](const auto& f) { return name == f.first; });
    if (field == kFields.end()) {
      return absl::DataLossError(
          absl::StrCat("figures: unknown figure \"", std::string(name), "\""));
    }
    figures.*(field->second) = value;
  }
  return figures;
}

std::optional<double> FillRate(const BranchFigures& f) {
  if (f.quantity_back_ordered <= 0) return std::nullopt;
  return static_cast<double>(f.quantity_filled) / static_cast<double>(f.quantity_back_ordered);
}

std::optional<double> AverageDaysToFill(const BranchFigures& f) {
  if (f.fill_count <= 0) return std::nullopt;
  return static_cast<double>(f.fill_seconds) / static_cast<double>(f.fill_count) / 86'400.0;
}

std::optional<double> AverageDaysToInvoice(const BranchFigures& f) {
  if (f.invoice_count <= 0) return std::nullopt;
  return static_cast<double>(f.invoice_seconds) / static_cast<double>(f.invoice_count) / 86'400.0;
}

}  // namespace bo::debtor_query
