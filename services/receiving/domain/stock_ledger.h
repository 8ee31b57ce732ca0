// The stock ledger of one (branch, part): the pure domain of the receiving service.
//
// Every decision that moves a unit of stock is made here, serialised per (branch, part): holds for
// draft invoice lines, issues on finalised invoices, receipts, adjustments, and filling waiting
// back orders oldest first (WORKFLOW.md Part 4, DESIGN.md guarantee 5).
//
// Model: Decide(state, command) -> events, Apply(state, event) -> state. Decide never changes the
// state it is given; Apply is the only way a state changes. Nothing here does I/O, reads a clock
// or throws: time comes in on the commands, errors are absl::Status values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "backorder/v1/common.pb.h"
#include "backorder/v1/events.pb.h"

namespace bo::receiving {

// An event of the ledger's stream: an envelope whose `type`, `branch_id`, payload and, where the
// event has one, `reason` are set by Decide. The wiring adds event_id, aggregate_id,
// aggregate_version, occurred_at, actor, correlation_id and causation_id, except that the
// BackorderRegistered event (see RegisterBackorder) carries the back order's creation time in
// `occurred_at`, which Apply reads as its FIFO key: the wiring must keep it.
using Event = backorder::v1::EventEnvelope;
using Events = std::vector<Event>;

// What freed the stock a BackorderFilled event sets aside (its `source`).
inline constexpr absl::string_view kSourceReceipt = "receipt";
inline constexpr absl::string_view kSourceAdjustment = "adjustment";
inline constexpr absl::string_view kSourceHoldReleased = "hold_released";
inline constexpr absl::string_view kSourceCancellation = "cancellation";
inline constexpr absl::string_view kSourceRegistration = "registration";

// Why a hold was given back (StockHoldReleased `cause`).
inline constexpr absl::string_view kCauseAbandoned = "abandoned";
inline constexpr absl::string_view kCauseChanged = "changed";
inline constexpr absl::string_view kCauseExpired = "expired";

// The largest quantity one command may move; keeps every sum far from int64 overflow.
inline constexpr int64_t kMaxQuantity = 1'000'000'000;

// Stock held for one draft invoice line.
struct Hold {
  int64_t quantity = 0;
  absl::Time expires_at;
};

// A hold is keyed by (invoice_id, invoice line).
using HoldKey = std::pair<std::string, int32_t>;

// A back order's quantities (backorder.v1.BackorderQuantities as plain integers).
struct BackorderQuantities {
  int64_t back_ordered = 0;
  int64_t filled = 0;    // set aside so far, including what was later invoiced
  int64_t invoiced = 0;  // issued to the customer so far
  int64_t cancelled = 0;
  int64_t waiting() const { return back_ordered - filled - cancelled; }
  int64_t ready() const { return filled - invoiced; }
};

// A back order this ledger knows and has not closed: still waiting for stock, or holding filled
// stock not yet invoiced.
struct OpenBackorder {
  backorder::v1::BackorderContext context;
  absl::Time created_at;  // FIFO key, with backorder_id as the tie-break
  BackorderQuantities quantities;
};

// The state of one (branch, part). Conservation (guarantee 5, see CheckInvariants):
//   on_hand == free + held + filled_not_invoiced, none negative,
//   received + adjusted - issued == on_hand.
struct StockLedgerState {
  std::string branch_id;
  std::string part_number;

  int64_t on_hand = 0;
  int64_t free = 0;
  int64_t held = 0;                 // sum of `holds`
  int64_t filled_not_invoiced = 0;  // sum of ready() over `backorders`

  // Lifetime counters.
  int64_t received = 0;
  int64_t adjusted = 0;  // signed sum of adjustments
  int64_t issued = 0;

  std::map<HoldKey, Hold> holds;
  // Open back orders, oldest first: ordered by (created_at, backorder_id).
  std::vector<OpenBackorder> backorders;
  // Back orders that were cancelled or fully invoiced here are not in the state: they would grow
  // it with every back order the (branch, part) ever had, and a state is copied per command. The
  // caller keeps their ids (ClosedBy says which event closed one) and tells Decide through the
  // `closed` flag of the commands about one back order (BackorderOf, MarkClosed).
};

// ---- Commands ----

// Opening stock or a stocktake correction. A write-down may take only free stock.
struct AdjustStock {
  int64_t delta = 0;   // non-zero
  std::string reason;  // required; goes into the envelope's `reason`
};

// Stock received from a supplier on a creditor invoice.
struct ReceiveStock {
  int64_t quantity = 0;
  std::string creditor_invoice_id;  // required
  std::string stock_order_id;       // optional
  backorder::v1::Money unit_cost;   // not negative
  std::string supplier_id;          // whose creditor invoice it is (goes on StockReceived)
};

// Hold free stock for a draft invoice line. Idempotent per (invoice_id, line): the same quantity
// again emits nothing (and leaves expires_at as it was); a different quantity emits
// StockHoldReleased(cause "changed") for the old hold, then StockHeld for the new one, then fills
// waiting back orders from any stock the smaller hold gave back.
struct HoldStock {
  std::string invoice_id;
  int32_t line = 0;  // 1-based
  int64_t quantity = 0;
  absl::Time expires_at;
};

// Give a hold back: the draft was abandoned, or its line changed.
struct ReleaseHold {
  std::string invoice_id;
  int32_t line = 0;
  std::string cause;  // kCauseAbandoned or kCauseChanged
};

// Release every hold with expires_at <= now (cause "expired"), then fill.
struct ExpireHolds {
  absl::Time now;
};

// An invoice was finalised: `quantity` (at most the hold) leaves the branch; any remainder of the
// hold is released (cause "changed": the line now supplies less than it held) and fills.
struct IssueHeld {
  std::string invoice_id;
  int32_t line = 0;
  int64_t quantity = 0;
};

// Reaction to BackorderCreated: queue the back order by creation time (BackorderRegistered) and
// fill it at once from free stock. A back order already known (open or closed) emits nothing.
struct RegisterBackorder {
  backorder::v1::BackorderContext context;  // branch and part must be this ledger's
  int64_t quantity = 0;                     // back-ordered quantity
  absl::Time created_at;                    // when the back order was created
  bool closed = false;                      // it closed here before (see StockLedgerState)
};

// Reaction to BackorderCancelled: its filled, not invoiced stock returns to free stock
// (BackorderReleased) and fills the next waiting back orders. A closed back order emits nothing; an
// unknown one is NOT_FOUND.
struct CancelBackorder {
  std::string backorder_id;
  std::string reason;   // optional; goes into the envelope's `reason`
  bool closed = false;  // it closed here before (see StockLedgerState)
};

// Reaction to BackorderInvoiced: stock filled for the back order leaves the branch on the
// invoicing invoice. At most filled - invoiced.
// A closed back order is FAILED_PRECONDITION.
struct IssueBackorder {
  std::string backorder_id;
  std::string invoice_id;  // the invoice that took the stock
  int32_t line = 0;
  int64_t quantity = 0;
  bool closed = false;  // it closed here before (see StockLedgerState)
};

using Command = std::variant<AdjustStock, ReceiveStock, HoldStock, ReleaseHold, ExpireHolds,
                             IssueHeld, RegisterBackorder, CancelBackorder, IssueBackorder>;

// ---- The model ----

// An empty ledger for one (branch, part).
StockLedgerState NewStockLedger(std::string branch_id, std::string part_number);

// The events `command` causes against `state`, in order (each command's own event first, then
// any BackorderFilled events, oldest back order first). An empty list means nothing changes
// (an idempotent repeat). Errors, with the state untouched: INVALID_ARGUMENT naming the field,
// FAILED_PRECONDITION with the reason, NOT_FOUND for an unknown hold or back order.
absl::StatusOr<Events> Decide(const StockLedgerState& state, const Command& command);

// The state after `event`. Total: an event of another kind than the ledger's is ignored.
StockLedgerState Apply(StockLedgerState state, const Event& event);

// Folds Apply over `events`.
StockLedgerState ApplyAll(StockLedgerState state, const Events& events);

// OK when the state is consistent: conservation (see StockLedgerState), none negative, held and
// filled_not_invoiced equal to their per-line and per-back-order sums, every open back order's
// quantities consistent and for this branch and part, the queue in FIFO order without duplicates.
// Holds after every event, not only between commands. INTERNAL naming the broken rule otherwise.
absl::Status CheckInvariants(const StockLedgerState& state);

// The back order a RegisterBackorder, CancelBackorder or IssueBackorder is about; "" for the
// other commands.
std::string BackorderOf(const Command& command);

// Sets `closed` on a command about one back order (nothing on the others): the caller's record
// says that back order closed here before.
void MarkClosed(Command* command);

// The back order `event` closed (cancelled, or fully invoiced), or "" when it closed none. `after`
// is the state with `event` applied. The caller records the id, in the same commit as the event.
std::string ClosedBy(const StockLedgerState& after, const Event& event);

// A deterministic multi-line rendering of the whole state (tests and diagnostics).
std::string DebugString(const StockLedgerState& state);

}  // namespace bo::receiving
