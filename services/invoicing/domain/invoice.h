// The pure domain of the invoicing service: customer invoices/ROs and the decisions to create,
// invoice and cancel back orders (WORKFLOW.md Parts 2 and 4).
//
// A draft invoice is a backorder.v1.Invoice snapshot; every function here takes the state and
// the command's facts (what receiving could hold, whether the debtor uses back orders, the
// current time) and either changes the draft or decides the events to publish. Nothing here does
// I/O or reads a clock. Errors are INVALID_ARGUMENT naming the field or FAILED_PRECONDITION with
// the reason, and leave the state untouched.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "backorder/v1/common.pb.h"
#include "backorder/v1/events.pb.h"
#include "backorder/v1/invoicing_service.pb.h"

namespace bo::invoicing {

using Invoice = backorder::v1::Invoice;
using Line = backorder::v1::InvoiceLineView;
using Backorder = backorder::v1::Backorder;
using Event = backorder::v1::EventEnvelope;

// What AddPartLine needs to know about the part and the stock.
struct PartLineFacts {
  std::string part_number;
  std::string description;
  std::string supplier_id;
  backorder::v1::Money unit_price;  // the part's price, or the clerk's override
  int64_t quantity_ordered = 0;
  int64_t quantity_held = 0;  // what receiving holds for the line: can be supplied now
  bool debtor_uses_backorders = false;
};

// What the clerk is told after adding a part line.
struct LineOffer {
  bool backorder_offered = false;
  int64_t shortfall = 0;
  std::string message;
};

// The number of the next line on the invoice.
int32_t NextLineNumber(const Invoice& invoice);

// Adds a part line: supplied = what is held (at most ordered); on a shortage the rest is
// offered as a back order when the debtor uses back orders, otherwise it is a lost sale.
absl::StatusOr<LineOffer> AddPartLine(Invoice* invoice, const PartLineFacts& facts);

// Sets a part line's supplied and back-order figures: 0 <= supplied <= available,
// back order >= 0, supplied + back order <= ordered, no back order for a debtor without them.
absl::Status AdjustPartLine(Invoice* invoice, int32_t line, int64_t supplied, int64_t back_ordered,
                            bool debtor_uses_backorders);

// Adds another charge (quantity 1 at `amount`).
absl::Status AddChargeLine(Invoice* invoice, const std::string& description,
                           const backorder::v1::Money& amount);

// Whether a back order can be invoiced now: filled and not invoiced, not cancelled, not on a
// draft invoice.
bool ReadyToInvoice(const Backorder& backorder);

// Adds a ready back order as a line at its agreed price with the ready quantity supplied.
// The back order must be the invoice's debtor's, at the invoice's branch, and ready.
absl::Status AddBackorderLine(Invoice* invoice, const Backorder& backorder);

// The id of the back order created from `line` of `invoice_id`: "INV-B1-000001" line 2 gives
// "BO-B1-000001-2".
std::string BackorderIdFor(const std::string& invoice_id, int32_t line);

// The outcome of finalising: the finalised invoice, its own events (InvoiceFinalised, then
// LostSaleRecorded per short line) and each back order's new event (BackorderCreated or
// BackorderInvoiced), keyed by back order id. Envelopes carry type, branch and payload; the
// wiring stamps ids, versions, actor and time.
struct Finalised {
  Invoice invoice;
  std::vector<Event> invoice_events;
  std::map<std::string, Event> backorder_events;
};

// Finalises a draft. `backorders` holds the current view of every back order the invoice's
// back-order lines invoice (each must still be ready for the line's quantity).
absl::StatusOr<Finalised> Finalise(const Invoice& invoice,
                                   const std::map<std::string, Backorder>& backorders,
                                   absl::Time now);

// Abandons a draft (its holds are given back by the wiring).
absl::StatusOr<Invoice> Abandon(const Invoice& invoice);

// Decides the cancellation of a back order for everything not invoiced.
absl::StatusOr<Event> Cancel(const Backorder& backorder, const std::string& reason);

// Sets every line's amount (quantity supplied x unit price) and the invoice total (their sum).
// INVALID_ARGUMENT on `field`, with the invoice half-priced, when an amount or the total is beyond
// int64 (the validators allow 10^9 units at 10^12 minor units each); every change above prices a
// copy and keeps the invoice as it was when this refuses.
absl::Status Reprice(Invoice* invoice, std::string_view field);

}  // namespace bo::invoicing
