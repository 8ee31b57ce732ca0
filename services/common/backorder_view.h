// The view of a back order that invoicing, purchasing and debtor-query each keep from the
// events (backorder.v1.Backorder), and the rules that make those views agree (guarantee 6).
//
// Back-order events reach a service on several topics (BackorderCreated/Cancelled/Invoiced from
// invoicing, BackorderFilled from receiving, StockOrderPlaced from purchasing), and Kafka orders
// records only within a partition, so a view may see a fill before the creation, or a fill that
// receiving made just before it learnt of a cancellation. ApplyToView is written so that the
// result does not depend on the order: quantities only grow (each event carries the quantities
// after it, and the view keeps the largest), a cancellation is final and later fills are
// ignored, and the state is derived from the quantities, never stored as a transition.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "backorder/v1/common.pb.h"
#include "backorder/v1/events.pb.h"

namespace bo {

// The state that follows from a back order's quantities (WORKFLOW.md, "Life of a back order"):
// CANCELLED if anything was cancelled; INVOICED if everything was invoiced; FILLED if nothing is
// waiting; PARTLY_FILLED if some was filled; ON_ORDER if on a placed stock order; else OPEN.
backorder::v1::BackorderState DeriveState(const backorder::v1::BackorderQuantities& q,
                                          bool on_order);

// Waiting = back_ordered - filled - cancelled; ready to invoice = filled - invoiced.
int64_t Waiting(const backorder::v1::BackorderQuantities& q);
int64_t Ready(const backorder::v1::BackorderQuantities& q);

// Applies one event to the view of back order `view->context().backorder_id()` (or, for a view
// still empty, the back order the event names). Handles BackorderCreated, BackorderFilled,
// BackorderCancelled, BackorderInvoiced; other events leave the view as it is. Returns whether
// the view changed.
bool ApplyToView(backorder::v1::Backorder* view, const backorder::v1::EventEnvelope& event);

// Whether a back-order or lost-sale event carries numbers our producers can emit: every quantity
// within 0 .. 10^9 (a command moves at most kMaxRequestQuantity units, command_support.h) and
// its time within protobuf's Timestamp range (0001-01-01 .. 9999-12-31). Consumers that sum
// quantities or subtract times (debtor-query's figures) skip an event that is not: it can only
// be a malformed or hostile record, and its numbers could overflow their sums. OUT_OF_RANGE
// naming the field; OK for every other kind of event.
absl::Status CheckEventNumbers(const backorder::v1::EventEnvelope& event);

// Records that the back order is on `stock_order_id` line `line` (from StockOrderPlaced).
bool MarkOnOrder(backorder::v1::Backorder* view, const std::string& stock_order_id, int32_t line,
                 const google::protobuf::Timestamp& when);

// The back order an event concerns ("" if none): the context's id for the back-order events.
std::string BackorderIdOf(const backorder::v1::EventEnvelope& event);

// A sentence a parts clerk understands, for example "Filled 2 from creditor invoice CI-9
// (3 of 5 filled, 2 waiting)".
std::string Describe(const backorder::v1::EventEnvelope& event);

// "OPEN", "ON_ORDER", ... (the enum name without its prefix).
std::string StateName(backorder::v1::BackorderState state);

}  // namespace bo
