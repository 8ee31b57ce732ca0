// The business figures of one branch (open back orders by state, ready to invoice, quantities,
// lead times, lost sales), kept by the projection in fig/<branch> and read by the dashboard and
// the /metrics collector.
//
// Every figure except the lost sales is a sum over the branch's back-order views of what each
// view contributes (Contribution). The projection keeps the sum up to date by difference: when a
// view changes it subtracts the old view's contribution and adds the new one's. The stored sum
// is therefore a function of the final views alone and, like the views, independent of the order
// the topics deliver in (guarantee 7). Lost sales are a plain count of LostSaleRecorded events,
// which is just as order-independent.
//
// Pure: no I/O, no clock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "backorder/v1/common.pb.h"

namespace bo::debtor_query {

struct BranchFigures {
  // Back orders by state. OPEN .. FILLED are the open ones (not final); INVOICED and CANCELLED
  // are kept too, so the closed ones can be shown beside them.
  int64_t count_open = 0;
  int64_t count_on_order = 0;
  int64_t count_partly_filled = 0;
  int64_t count_filled = 0;
  int64_t count_invoiced = 0;
  int64_t count_cancelled = 0;
  // Back orders with something ready to invoice (filled - invoiced > 0, not cancelled): the
  // lines of "ready to invoice", and their quantity ready.
  int64_t ready_lines = 0;
  int64_t ready_quantity = 0;
  // Quantities of the back orders that are not cancelled (a cancelled one was not wanted any
  // more: counting its back-ordered quantity would lower the fill rate for stock nobody needed).
  int64_t quantity_back_ordered = 0;
  int64_t quantity_filled = 0;
  int64_t quantity_invoiced = 0;
  // Whole seconds from created_at to filled_at, over the back orders filled completely (and not
  // cancelled), and how many those are.
  int64_t fill_seconds = 0;
  int64_t fill_count = 0;
  // Whole seconds from created_at to invoiced_at, over the back orders invoiced completely.
  int64_t invoice_seconds = 0;
  int64_t invoice_count = 0;
  // LostSaleRecorded events of the branch, and their quantity.
  int64_t lost_lines = 0;
  int64_t lost_quantity = 0;

  int64_t open_total() const {
    return count_open + count_on_order + count_partly_filled + count_filled;
  }
  bool operator==(const BranchFigures&) const = default;
  BranchFigures& operator+=(const BranchFigures& other);
  BranchFigures& operator-=(const BranchFigures& other);
};

// Whether a back order in `state` is still open (not INVOICED, not CANCELLED, not unknown).
bool IsOpen(backorder::v1::BackorderState state);

// What one view adds to the figures of its branch, with that branch; nullopt for a view that
// does not know its branch yet (known only from a stock order), which adds nothing anywhere.
struct Contribution {
  std::string branch_id;
  BranchFigures figures;
};
std::optional<Contribution> ContributionOf(const backorder::v1::Backorder& view);

// The per-branch change between two versions of one view: new minus old, by branch (two
// branches if the context changed, which the creation may do for a view first seen in a fill).
// Branches whose figures do not change are left out.
std::map<std::string, BranchFigures> Difference(const backorder::v1::Backorder& before,
                                                const backorder::v1::Backorder& after);

// The stored form: one "name=value" line per figure, in a fixed order, integers only, so equal
// figures are equal bytes and the value stays readable with ldb.
std::string EncodeFigures(const BranchFigures& figures);
// DATA_LOSS for anything EncodeFigures would not write; a name it does not write is an error too
// (the layout version in projection.h is bumped, and the read models rebuilt, when names change).
absl::StatusOr<BranchFigures> DecodeFigures(std::string_view bytes);

// Derived figures; nullopt where there is nothing to divide by.
// filled / back-ordered quantity (0..1), over back orders not cancelled.
std::optional<double> FillRate(const BranchFigures& f);
// Average days from creation to complete fill / to complete invoicing.
std::optional<double> AverageDaysToFill(const BranchFigures& f);
std::optional<double> AverageDaysToInvoice(const BranchFigures& f);

}  // namespace bo::debtor_query
