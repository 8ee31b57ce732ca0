// Stock orders: the pure domain of the purchasing service (WORKFLOW.md Part 3).
//
// A clerk opens a draft stock order to one supplier for one branch, lists the open back orders
// not yet on order ("Get back orders": this supplier only, or the whole branch), ticks some of
// them, adds stock for the shelf and finalises. Ticked back orders of one part share one order
// line with the summed quantity, each staying listed on that line. Finalising puts them on order;
// a back order is never on two stock orders.
//
// Ticking does not reserve a back order: two drafts may tick the same one. The decision is made
// when a draft is finalised, against the back orders as they are then: those another order took
// meanwhile, or that stopped waiting (filled from other stock, cancelled, invoiced), are left off
// and reported, and the rest are placed. The wiring serialises finalising (and everything that
// changes a back-order view) so two finalisations never both take one back order.
//
// Everything here is a function of its arguments: no I/O, no clock (time comes in), no
// exceptions; errors are absl::Status values and a failing call changes nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "backorder/v1/common.pb.h"
#include "backorder/v1/events.pb.h"
#include "backorder/v1/purchasing_service.pb.h"

namespace bo::purchasing {

// The most back orders one AddBackorderLines request may tick.
inline constexpr int kMaxBackordersPerRequest = 1000;
// The longest stock order reference.
inline constexpr size_t kMaxReferenceLength = 200;
// The most one order line may order in total (shelf stock plus back orders), so sums stay far
// from overflow however many requests add to it.
inline constexpr int64_t kMaxLineQuantity = 1'000'000'000;

// ---- Request checks: INVALID_ARGUMENT "field: reason", the field named as its request path ----

absl::Status CheckRequest(const backorder::v1::CreateStockOrderRequest& request);
absl::Status CheckRequest(const backorder::v1::GetStockOrderRequest& request);
// Also checks the status enum and page size; the page token is checked where it is decoded.
absl::Status CheckRequest(const backorder::v1::ListStockOrdersRequest& request);
absl::Status CheckRequest(const backorder::v1::GetBackordersRequest& request);
// backorder_ids: 1 .. kMaxBackordersPerRequest ids, none repeated ("backorder_ids[2]: repeats
// backorder_ids[0] (BO-1)").
absl::Status CheckRequest(const backorder::v1::AddBackorderLinesToOrderRequest& request);
absl::Status CheckRequest(const backorder::v1::AddStockLineRequest& request);
absl::Status CheckRequest(const backorder::v1::FinaliseStockOrderRequest& request);
absl::Status CheckRequest(const backorder::v1::GetPurchasingBackorderRequest& request);

// ---- Stock orders ----

// The longest branch id a stock order can be created for: its orders' ids must stay ids.
inline constexpr size_t kMaxBranchIdLength = 64 - sizeof("SO--000000") + 1;

// "SO-<branch>-<number>", the number zero-padded to six digits (more once past 999999).
std::string StockOrderId(const std::string& branch_id, uint64_t number);

// A new, empty draft.
backorder::v1::StockOrder NewStockOrder(const std::string& stock_order_id,
                                        const backorder::v1::CreateStockOrderRequest& request,
                                        const std::string& created_by, absl::Time now);

// ---- Back orders as purchasing sees them ----

// Whether a back order may be ordered: its creation is known here, something is waiting, it is
// not cancelled or invoiced, and no placed stock order covers it. Exactly these back orders are
// listed by Get back orders (of their branch).
bool Orderable(const backorder::v1::Backorder& view);

// OK if `view` may be ticked onto (or placed with) `order`; otherwise FAILED_PRECONDITION saying
// why, naming the back order: another branch, already on a stock order, cancelled, invoiced,
// nothing waiting, creation not yet known.
absl::Status CheckOrderable(const backorder::v1::Backorder& view,
                            const backorder::v1::StockOrder& order);

// Whether Get back orders on `order` lists `view`: orderable, of the order's branch, not already
// ticked on `order`, and, with `this_supplier_only`, of the order's supplier.
bool ListedFor(const backorder::v1::Backorder& view, const backorder::v1::StockOrder& order,
               bool this_supplier_only);

// The line of `order` that lists back order `backorder_id`, or 0 if none does.
int32_t LineOf(const backorder::v1::StockOrder& order, const std::string& backorder_id);

// ---- Changing a draft ----

// OK for a draft; FAILED_PRECONDITION "stock order X is already placed" otherwise.
absl::Status CheckDraft(const backorder::v1::StockOrder& order);

// Ticks back orders onto a draft, in the order given. Each goes onto the line of its part (a new
// line at the end if the order has none), which grows by the back order's waiting quantity; the
// back order is listed on the line with that quantity. Errors: FAILED_PRECONDITION if the order
// is not a draft, a back order fails CheckOrderable, or is already on this draft (INVALID_ARGUMENT
// if `ticked` repeats one); nothing is ticked then. A back order of another supplier is allowed
// (the clerk chose to see the whole branch).
absl::StatusOr<backorder::v1::StockOrder> AddBackorders(
    backorder::v1::StockOrder order, const std::vector<backorder::v1::Backorder>& ticked);

// Adds `quantity` of `part_number` for the shelf: onto the part's line, or a new line at the end.
// FAILED_PRECONDITION if the order is not a draft or the line would exceed kMaxLineQuantity.
absl::StatusOr<backorder::v1::StockOrder> AddShelfStock(backorder::v1::StockOrder order,
                                                        const std::string& part_number,
                                                        int64_t quantity);

// ---- Finalising ----

// What finalising a draft decides.
struct Placement {
  // The placed order: status PLACED, placed_at, the lines that remain (numbered 1.. in their
  // draft order) and the back orders left off (dropped_backorder_ids).
  backorder::v1::StockOrder order;
  // StockOrderPlaced (type, branch_id and payload set; the wiring stamps the rest).
  backorder::v1::EventEnvelope event;
  // Every back order placed, with its line on the placed order.
  std::vector<std::pair<std::string, int32_t>> on_order;
};

// Finalises `draft` against the back orders as they are now (`views`, by id; one that is missing
// counts as gone). A ticked back order that no longer passes CheckOrderable is left off: its
// quantity comes off its line and a line left with nothing to order is removed. Each back order
// keeps the quantity it was ticked with. If every line goes, the order is still placed, empty:
// finalising always ends the draft, and the clerk sees in dropped_backorder_ids why it is empty.
// Errors (nothing changes): FAILED_PRECONDITION if the order is already placed or has no lines.
absl::StatusOr<Placement> Finalise(const backorder::v1::StockOrder& draft,
                                   const std::map<std::string, backorder::v1::Backorder>& views,
                                   absl::Time now);

// ---- Events of a draft, and the order back from its events ----
// Every change of a stock order is published (StockOrderOpened, StockOrderDrafted,
// StockOrderPlaced), so purchasing can rebuild its orders from its own topic.

// StockOrderOpened for a new draft (type, branch_id and payload; the wiring stamps the rest,
// and its occurred_at and actor must be the order's created_at and created_by).
backorder::v1::EventEnvelope OpenedEvent(const backorder::v1::StockOrder& order);
// StockOrderDrafted: every line of `order` as it now is.
backorder::v1::EventEnvelope DraftedEvent(const backorder::v1::StockOrder& order);

// The stock order a stream of its events (in version order) describes: what the commands stored
// beside them. StockOrderOpened gives the draft, each StockOrderDrafted its lines, and
// StockOrderPlaced the placed order. A stream written before StockOrderOpened existed starts with
// StockOrderPlaced and gives the order without created_at and created_by. DATA_LOSS if an event
// is of another type.
absl::StatusOr<backorder::v1::StockOrder> StockOrderOf(
    const std::vector<backorder::v1::EventEnvelope>& events);

}  // namespace bo::purchasing
