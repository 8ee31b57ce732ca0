#include "services/receiving/domain/stock_ledger.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace bo::receiving {
namespace {

namespace pb = ::backorder::v1;

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);  // rounds toward the infinite past
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return ts;
}

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

pb::BackorderQuantities ToProto(const BackorderQuantities& q) {
  pb::BackorderQuantities out;
  out.set_back_ordered(q.back_ordered);
  out.set_filled(q.filled);
  out.set_invoiced(q.invoiced);
  out.set_cancelled(q.cancelled);
  return out;
}

bool FifoBefore(const OpenBackorder& a, const OpenBackorder& b) {
  return std::tie(a.created_at, a.context.backorder_id()) <
         std::tie(b.created_at, b.context.backorder_id());
}

// Fully invoiced (nothing waiting, nothing ready): the back order leaves the queue.
bool Done(const BackorderQuantities& q) { return q.waiting() == 0 && q.ready() == 0; }

std::vector<OpenBackorder>::iterator FindOpen(StockLedgerState& s, absl::string_view id) {
  return std::find_if(s.backorders.begin(), s.backorders.end(),
                      [&](const OpenBackorder& b) { return b.context.backorder_id() == id; });
}

const OpenBackorder* FindOpen(const StockLedgerState& s, absl::string_view id) {
  for (const OpenBackorder& b : s.backorders) {
    if (b.context.backorder_id() == id) return &b;
  }
  return nullptr;
}

std::string HoldName(const std::string& invoice_id, int32_t line) {
  return absl::StrCat("invoice ", invoice_id, " line ", line);
}

std::string FormatUtc(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

// The caller records the id (ClosedBy); the state forgets the back order.
void Close(StockLedgerState& s, std::vector<OpenBackorder>::iterator it) { s.backorders.erase(it); }

// A back order starts waiting for stock, in creation-time order (occurred_at of `e`).
void Register(StockLedgerState& s, const pb::BackorderContext& context, int64_t quantity,
              const Event& e) {
  if (FindOpen(s, context.backorder_id()) != s.backorders.end()) return;
  OpenBackorder b;
  b.context = context;
  b.created_at = FromProto(e.occurred_at());
  b.quantities.back_ordered = quantity;
  s.backorders.insert(std::upper_bound(s.backorders.begin(), s.backorders.end(), b, FifoBefore),
                      std::move(b));
}

// A cancelled back order stops waiting; what was filled for it returns to free stock.
void Release(StockLedgerState& s, const pb::BackorderContext& context, int64_t filled_released) {
  auto it = FindOpen(s, context.backorder_id());
  if (it != s.backorders.end()) Close(s, it);
  s.free += filled_released;
  s.filled_not_invoiced -= filled_released;
}

void ApplyInPlace(StockLedgerState& s, const Event& e) {
  switch (e.payload_case()) {
    case Event::kStockAdjusted: {
      const int64_t d = e.stock_adjusted().delta();
      s.on_hand += d;
      s.free += d;
      s.adjusted += d;
      break;
    }
    case Event::kStockReceived: {
      const int64_t q = e.stock_received().quantity();
      s.on_hand += q;
      s.free += q;
      s.received += q;
      break;
    }
    case Event::kStockHeld: {
      const pb::StockHeld& h = e.stock_held();
      Hold& hold = s.holds[{h.invoice_id(), h.invoice_line()}];
      hold.quantity += h.quantity();
      hold.expires_at = FromProto(h.expires_at());
      s.free -= h.quantity();
      s.held += h.quantity();
      break;
    }
    case Event::kStockHoldReleased: {
      const pb::StockHoldReleased& r = e.stock_hold_released();
      auto it = s.holds.find({r.invoice_id(), r.invoice_line()});
      if (it != s.holds.end()) {
        it->second.quantity -= r.quantity();
        if (it->second.quantity <= 0) s.holds.erase(it);
      }
      s.free += r.quantity();
      s.held -= r.quantity();
      break;
    }
    case Event::kStockIssued: {
      const pb::StockIssued& i = e.stock_issued();
      if (!i.backorder_id().empty()) {
        auto it = FindOpen(s, i.backorder_id());
        if (it != s.backorders.end()) {
          it->quantities.invoiced += i.quantity();
          if (Done(it->quantities)) Close(s, it);
        }
        s.filled_not_invoiced -= i.quantity();
      } else {
        auto it = s.holds.find({i.invoice_id(), i.invoice_line()});
        if (it != s.holds.end()) {
          it->second.quantity -= i.quantity();
          if (it->second.quantity <= 0) s.holds.erase(it);
        }
        s.held -= i.quantity();
      }
      s.on_hand -= i.quantity();
      s.issued += i.quantity();
      break;
    }
    case Event::kBackorderFilled: {
      const pb::BackorderFilled& f = e.backorder_filled();
      auto it = FindOpen(s, f.context().backorder_id());
      if (it != s.backorders.end()) it->quantities.filled += f.quantity();
      s.free -= f.quantity();
      s.filled_not_invoiced += f.quantity();
      break;
    }
    // Streams written before BackorderRegistered/Released existed hold the same records under
    // invoicing's types (unpublished then).
    case Event::kBackorderRegistered:
      Register(s, e.backorder_registered().context(), e.backorder_registered().quantity(), e);
      break;
    case Event::kBackorderCreated:
      Register(s, e.backorder_created().context(), e.backorder_created().quantity(), e);
      break;
    case Event::kBackorderReleased:
      Release(s, e.backorder_released().context(), e.backorder_released().filled_released());
      break;
    case Event::kBackorderCancelled:
      Release(s, e.backorder_cancelled().context(), e.backorder_cancelled().filled_released());
      break;
    default:
      break;
  }
}

// Builds the events of one decision on a private copy of the state, applying each as it is
// emitted, so later events (fills) see the effect of earlier ones.
class Decision {
 public:
  explicit Decision(const StockLedgerState& state) : state_(state) {}

  const StockLedgerState& state() const { return state_; }

  Event NewEvent() const {
    Event e;
    e.set_branch_id(state_.branch_id);
    return e;
  }

  void Emit(Event e) {
    ApplyInPlace(state_, e);
    events_.push_back(std::move(e));
  }

  void StockHeld(const HoldKey& key, int64_t quantity, absl::Time expires_at) {
    Event e = NewEvent();
    e.set_type("StockHeld");
    pb::StockHeld* p = e.mutable_stock_held();
    p->set_branch_id(state_.branch_id);
    p->set_part_number(state_.part_number);
    p->set_invoice_id(key.first);
    p->set_invoice_line(key.second);
    p->set_quantity(quantity);
    *p->mutable_expires_at() = ToProto(expires_at);
    Emit(std::move(e));
  }

  void HoldReleased(const HoldKey& key, int64_t quantity, absl::string_view cause) {
    Event e = NewEvent();
    e.set_type("StockHoldReleased");
    pb::StockHoldReleased* p = e.mutable_stock_hold_released();
    p->set_branch_id(state_.branch_id);
    p->set_part_number(state_.part_number);
    p->set_invoice_id(key.first);
    p->set_invoice_line(key.second);
    p->set_quantity(quantity);
    p->set_cause(std::string(cause));
    Emit(std::move(e));
  }

  void StockIssued(const std::string& invoice_id, int32_t line, int64_t quantity,
                   const std::string& backorder_id) {
    Event e = NewEvent();
    e.set_type("StockIssued");
    pb::StockIssued* p = e.mutable_stock_issued();
    p->set_branch_id(state_.branch_id);
    p->set_part_number(state_.part_number);
    p->set_invoice_id(invoice_id);
    p->set_invoice_line(line);
    p->set_quantity(quantity);
    p->set_backorder_id(backorder_id);
    p->set_on_hand(state_.on_hand - quantity);
    Emit(std::move(e));
  }

  // The filling rule: while stock is free and a back order waits, fill the oldest waiting one.
  void FillWaiting(absl::string_view source, absl::string_view creditor_invoice_id = {}) {
    while (state_.free > 0) {
      auto it = std::find_if(state_.backorders.begin(), state_.backorders.end(),
                             [](const OpenBackorder& b) { return b.quantities.waiting() > 0; });
      if (it == state_.backorders.end()) return;
      const int64_t quantity = std::min(state_.free, it->quantities.waiting());
      BackorderQuantities after = it->quantities;
      after.filled += quantity;

      Event e = NewEvent();
      e.set_type("BackorderFilled");
      pb::BackorderFilled* p = e.mutable_backorder_filled();
      *p->mutable_context() = it->context;
      p->set_quantity(quantity);
      *p->mutable_quantities() = ToProto(after);
      p->set_source(std::string(source));
      if (source == kSourceReceipt) p->set_creditor_invoice_id(std::string(creditor_invoice_id));
      Emit(std::move(e));
    }
  }

  Events Take() && { return std::move(events_); }

 private:
  StockLedgerState state_;
  Events events_;
};

absl::Status CheckQuantity(absl::string_view field, int64_t quantity) {
  if (quantity <= 0 || quantity > kMaxQuantity) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be between 1 and ", kMaxQuantity, ", got ", quantity));
  }
  return absl::OkStatus();
}

absl::Status CheckInvoiceLine(absl::string_view invoice_field, const std::string& invoice_id,
                              int32_t line) {
  if (invoice_id.empty())
    return absl::InvalidArgumentError(absl::StrCat(invoice_field, ": required"));
  if (line < 1) {
    return absl::InvalidArgumentError(absl::StrCat("line: must be 1 or more, got ", line));
  }
  return absl::OkStatus();
}

class Decider {
 public:
  explicit Decider(const StockLedgerState& state) : state_(state) {}

  absl::StatusOr<Events> operator()(const AdjustStock& c) const {
    if (c.delta == 0) return absl::InvalidArgumentError("delta: must not be 0");
    if (c.delta < -kMaxQuantity || c.delta > kMaxQuantity) {
      return absl::InvalidArgumentError(
          absl::StrCat("delta: must be within +-", kMaxQuantity, ", got ", c.delta));
    }
    if (c.reason.empty()) {
      return absl::InvalidArgumentError("reason: required for a stock adjustment");
    }
    if (c.delta < 0 && -c.delta > state_.free) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot adjust stock by ", c.delta, " (", c.reason, "): only ", state_.free, " free; ",
          state_.held, " held for draft invoices and ", state_.filled_not_invoiced,
          " filled for back orders cannot be written down"));
    }
    Decision d(state_);
    Event e = d.NewEvent();
    e.set_type("StockAdjusted");
    e.set_reason(c.reason);
    pb::StockAdjusted* p = e.mutable_stock_adjusted();
    p->set_branch_id(state_.branch_id);
    p->set_part_number(state_.part_number);
    p->set_delta(c.delta);
    p->set_on_hand(state_.on_hand + c.delta);
    d.Emit(std::move(e));
    if (c.delta > 0) d.FillWaiting(kSourceAdjustment);
    return std::move(d).Take();
  }

  absl::StatusOr<Events> operator()(const ReceiveStock& c) const {
    if (absl::Status s = CheckQuantity("quantity", c.quantity); !s.ok()) return s;
    if (c.creditor_invoice_id.empty()) {
      return absl::InvalidArgumentError("creditor_invoice_id: required");
    }
    if (c.unit_cost.minor_units() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unit_cost: must not be negative, got ", c.unit_cost.minor_units()));
    }
    Decision d(state_);
    Event e = d.NewEvent();
    e.set_type("StockReceived");
    pb::StockReceived* p = e.mutable_stock_received();
    p->set_branch_id(state_.branch_id);
    p->set_part_number(state_.part_number);
    p->set_creditor_invoice_id(c.creditor_invoice_id);
    p->set_stock_order_id(c.stock_order_id);
    p->set_supplier_id(c.supplier_id);
    p->set_quantity(c.quantity);
    *p->mutable_unit_cost() = c.unit_cost;
    p->set_on_hand(state_.on_hand + c.quantity);
    d.Emit(std::move(e));
    d.FillWaiting(kSourceReceipt, c.creditor_invoice_id);
    return std::move(d).Take();
  }

  absl::StatusOr<Events> operator()(const HoldStock& c) const {
    if (absl::Status s = CheckInvoiceLine("invoice_id", c.invoice_id, c.line); !s.ok()) return s;
    if (absl::Status s = CheckQuantity("quantity", c.quantity); !s.ok()) return s;
    if (c.expires_at == absl::InfiniteFuture() || c.expires_at == absl::InfinitePast()) {
      return absl::InvalidArgumentError("expires_at: must be a finite time");
    }
    const HoldKey key{c.invoice_id, c.line};
    const auto it = state_.holds.find(key);
    const int64_t old = it == state_.holds.end() ? 0 : it->second.quantity;
    if (old == c.quantity) return Events{};  // idempotent repeat
    if (c.quantity > state_.free + old) {
      std::string message = absl::StrCat("not enough free stock: ", state_.free, " free");
      if (old > 0) absl::StrAppend(&message, " and ", old, " already held for this line");
      absl::StrAppend(&message, "; ", c.quantity, " asked for ", HoldName(c.invoice_id, c.line));
      return absl::FailedPreconditionError(message);
    }
    Decision d(state_);
    if (old > 0) d.HoldReleased(key, old, kCauseChanged);
    d.StockHeld(key, c.quantity, c.expires_at);
    d.FillWaiting(kSourceHoldReleased);  // only when the new hold is smaller than the old one
    return std::move(d).Take();
  }

  absl::StatusOr<Events> operator()(const ReleaseHold& c) const {
    if (absl::Status s = CheckInvoiceLine("invoice_id", c.invoice_id, c.line); !s.ok()) return s;
    if (c.cause != kCauseAbandoned && c.cause != kCauseChanged) {
      return absl::InvalidArgumentError(
          absl::StrCat("cause: must be \"abandoned\" or \"changed\", got \"", c.cause, "\""));
    }
    const HoldKey key{c.invoice_id, c.line};
    const auto it = state_.holds.find(key);
    if (it == state_.holds.end()) {
      return absl::NotFoundError(absl::StrCat("no hold for ", HoldName(c.invoice_id, c.line)));
    }
    Decision d(state_);
    d.HoldReleased(key, it->second.quantity, c.cause);
    d.FillWaiting(kSourceHoldReleased);
    return std::move(d).Take();
  }

  absl::StatusOr<Events> operator()(const ExpireHolds& c) const {
    Decision d(state_);
    for (const auto& [key, hold] : state_.holds) {
      if (hold.expires_at <= c.now) d.HoldReleased(key, hold.quantity, kCauseExpired);
    }
    d.FillWaiting(kSourceHoldReleased);
    return std::move(d).Take();
  }

  absl::StatusOr<Events> operator()(const IssueHeld& c) const {
    if (absl::Status s = CheckInvoiceLine("invoice_id", c.invoice_id, c.line); !s.ok()) return s;
    if (absl::Status s = CheckQuantity("quantity", c.quantity); !s.ok()) return s;
    const HoldKey key{c.invoice_id, c.line};
    const auto it = state_.holds.find(key);
    if (it == state_.holds.end()) {
      return absl::NotFoundError(absl::StrCat("no hold for ", HoldName(c.invoice_id, c.line)));
    }
    const int64_t held = it->second.quantity;
    if (c.quantity > held) {
      return absl::FailedPreconditionError(absl::StrCat("cannot issue ", c.quantity, ": only ",
                                                        held, " held for ",
                                                        HoldName(c.invoice_id, c.line)));
    }
    Decision d(state_);
    d.StockIssued(c.invoice_id, c.line, c.quantity, /*backorder_id=*/"");
    if (held > c.quantity) {
      d.HoldReleased(key, held - c.quantity, kCauseChanged);
      d.FillWaiting(kSourceHoldReleased);
    }
    return std::move(d).Take();
  }

  absl::StatusOr<Events> operator()(const RegisterBackorder& c) const {
    const pb::BackorderContext& ctx = c.context;
    if (ctx.backorder_id().empty()) {
      return absl::InvalidArgumentError("context.backorder_id: required");
    }
    if (ctx.branch_id() != state_.branch_id) {
      return absl::InvalidArgumentError(absl::StrCat("context.branch_id: \"", ctx.branch_id(),
                                                     "\" is not this ledger's branch \"",
                                                     state_.branch_id, "\""));
    }
    if (ctx.part_number() != state_.part_number) {
      return absl::InvalidArgumentError(absl::StrCat("context.part_number: \"", ctx.part_number(),
                                                     "\" is not this ledger's part \"",
                                                     state_.part_number, "\""));
    }
    if (absl::Status s = CheckQuantity("quantity", c.quantity); !s.ok()) return s;
    if (c.created_at == absl::InfiniteFuture() || c.created_at == absl::InfinitePast()) {
      return absl::InvalidArgumentError("created_at: must be a finite time");
    }
    if (c.closed || FindOpen(state_, ctx.backorder_id()) != nullptr) {
      return Events{};  // already registered
    }
    Decision d(state_);
    Event e = d.NewEvent();
    e.set_type("BackorderRegistered");
    *e.mutable_occurred_at() = ToProto(c.created_at);  // the FIFO key; see Event
    pb::BackorderRegistered* p = e.mutable_backorder_registered();
    *p->mutable_context() = ctx;
    p->set_quantity(c.quantity);
    d.Emit(std::move(e));
    d.FillWaiting(kSourceRegistration);
    return std::move(d).Take();
  }

  absl::StatusOr<Events> operator()(const CancelBackorder& c) const {
    if (c.backorder_id.empty()) return absl::InvalidArgumentError("backorder_id: required");
    if (c.closed) return Events{};  // already closed
    const OpenBackorder* b = FindOpen(state_, c.backorder_id);
    if (b == nullptr) {
      return absl::NotFoundError(absl::StrCat("back order ", c.backorder_id, " is not known at ",
                                              state_.branch_id, " for ", state_.part_number));
    }
    BackorderQuantities after = b->quantities;
    const int64_t released = after.ready();
    after.cancelled = after.back_ordered - after.invoiced;
    after.filled = after.invoiced;  // the filled stock not invoiced goes back: waiting stays 0

    Decision d(state_);
    Event e = d.NewEvent();
    e.set_type("BackorderReleased");
    e.set_reason(c.reason);
    pb::BackorderReleased* p = e.mutable_backorder_released();
    *p->mutable_context() = b->context;
    p->set_quantity_cancelled(after.cancelled);
    p->set_filled_released(released);
    *p->mutable_quantities() = ToProto(after);
    d.Emit(std::move(e));
    d.FillWaiting(kSourceCancellation);
    return std::move(d).Take();
  }

  absl::StatusOr<Events> operator()(const IssueBackorder& c) const {
    if (c.backorder_id.empty()) return absl::InvalidArgumentError("backorder_id: required");
    if (absl::Status s = CheckInvoiceLine("invoice_id", c.invoice_id, c.line); !s.ok()) return s;
    if (absl::Status s = CheckQuantity("quantity", c.quantity); !s.ok()) return s;
    if (c.closed) {
      return absl::FailedPreconditionError(
          absl::StrCat("back order ", c.backorder_id, " is closed (cancelled or fully invoiced)"));
    }
    const OpenBackorder* b = FindOpen(state_, c.backorder_id);
    if (b == nullptr) {
      return absl::NotFoundError(absl::StrCat("back order ", c.backorder_id, " is not known at ",
                                              state_.branch_id, " for ", state_.part_number));
    }
    if (c.quantity > b->quantities.ready()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot issue ", c.quantity, " for back order ", c.backorder_id, ": only ",
                       b->quantities.ready(), " filled and not invoiced"));
    }
    Decision d(state_);
    d.StockIssued(c.invoice_id, c.line, c.quantity, c.backorder_id);
    return std::move(d).Take();
  }

 private:
  const StockLedgerState& state_;
};

}  // namespace

StockLedgerState NewStockLedger(std::string branch_id, std::string part_number) {
  StockLedgerState s;
  s.branch_id = std::move(branch_id);
  s.part_number = std::move(part_number);
  return s;
}

absl::StatusOr<Events> Decide(const StockLedgerState& state, const Command& command) {
  return std::visit(Decider(state), command);
}

StockLedgerState Apply(StockLedgerState state, const Event& event) {
  ApplyInPlace(state, event);
  return state;
}

StockLedgerState ApplyAll(StockLedgerState state, const Events& events) {
  for (const Event& e : events) ApplyInPlace(state, e);
  return state;
}

absl::Status CheckInvariants(const StockLedgerState& s) {
  const std::string where = absl::StrCat("stock ledger ", s.branch_id, "/", s.part_number, ": ");
  auto broken = [&](auto&&... parts) { return absl::InternalError(absl::StrCat(where, parts...)); };
  if (s.on_hand < 0 || s.free < 0 || s.held < 0 || s.filled_not_invoiced < 0) {
    return broken("negative stock: on_hand ", s.on_hand, ", free ", s.free, ", held ", s.held,
                  ", filled_not_invoiced ", s.filled_not_invoiced);
  }
  if (s.on_hand != s.free + s.held + s.filled_not_invoiced) {
    return broken("on_hand ", s.on_hand, " != free ", s.free, " + held ", s.held,
                  " + filled_not_invoiced ", s.filled_not_invoiced);
  }
  if (s.received < 0 || s.issued < 0) {
    return broken("negative counter: received ", s.received, ", issued ", s.issued);
  }
  if (s.received + s.adjusted - s.issued != s.on_hand) {
    return broken("received ", s.received, " + adjusted ", s.adjusted, " - issued ", s.issued,
                  " != on_hand ", s.on_hand);
  }
  int64_t held = 0;
  for (const auto& [key, hold] : s.holds) {
    if (hold.quantity <= 0) {
      return broken("hold for ", HoldName(key.first, key.second), " is ", hold.quantity);
    }
    held += hold.quantity;
  }
  if (held != s.held) return broken("held ", s.held, " != sum of holds ", held);

  int64_t ready = 0;
  for (size_t i = 0; i < s.backorders.size(); ++i) {
    const OpenBackorder& b = s.backorders[i];
    const BackorderQuantities& q = b.quantities;
    const std::string& id = b.context.backorder_id();
    if (id.empty()) return broken("open back order without an id");
    if (b.context.branch_id() != s.branch_id || b.context.part_number() != s.part_number) {
      return broken("back order ", id, " is for ", b.context.branch_id(), "/",
                    b.context.part_number());
    }
    if (q.back_ordered <= 0 || q.filled < 0 || q.invoiced < 0 || q.cancelled != 0 ||
        q.invoiced > q.filled || q.filled > q.back_ordered || Done(q)) {
      return broken("back order ", id, " has inconsistent quantities: back_ordered ",
                    q.back_ordered, ", filled ", q.filled, ", invoiced ", q.invoiced,
                    ", cancelled ", q.cancelled);
    }
    if (i > 0 && !FifoBefore(s.backorders[i - 1], b)) {
      return broken("back order ", id, " is out of FIFO order or duplicated");
    }
    ready += q.ready();
  }
  if (ready != s.filled_not_invoiced) {
    return broken("filled_not_invoiced ", s.filled_not_invoiced, " != sum over open back orders ",
                  ready);
  }
  return absl::OkStatus();
}

std::string BackorderOf(const Command& command) {
  if (const auto* c = std::get_if<RegisterBackorder>(&command)) return c->context.backorder_id();
  if (const auto* c = std::get_if<CancelBackorder>(&command)) return c->backorder_id;
  if (const auto* c = std::get_if<IssueBackorder>(&command)) return c->backorder_id;
  return "";
}

void MarkClosed(Command* command) {
  std::visit(
      [](auto& c) {
        if constexpr (requires { c.closed; }) c.closed = true;
      },
      *command);
}

std::string ClosedBy(const StockLedgerState& after, const Event& event) {
  if (event.payload_case() == Event::kBackorderReleased) {
    return event.backorder_released().context().backorder_id();
  }
  if (event.payload_case() == Event::kBackorderCancelled) {
    return event.backorder_cancelled().context().backorder_id();
  }
  if (event.payload_case() == Event::kStockIssued) {
    const std::string& id = event.stock_issued().backorder_id();
    if (!id.empty() && FindOpen(after, id) == nullptr) return id;
  }
  return "";
}

std::string DebugString(const StockLedgerState& s) {
  std::string out = absl::StrCat(
      "ledger ", s.branch_id, "/", s.part_number, " on_hand=", s.on_hand, " free=", s.free,
      " held=", s.held, " filled_not_invoiced=", s.filled_not_invoiced, " received=", s.received,
      " adjusted=", s.adjusted, " issued=", s.issued, "\n");
  for (const auto& [key, hold] : s.holds) {
    absl::StrAppend(&out, "  hold ", HoldName(key.first, key.second), " quantity=", hold.quantity,
                    " expires_at=", FormatUtc(hold.expires_at), "\n");
  }
  for (const OpenBackorder& b : s.backorders) {
    const BackorderQuantities& q = b.quantities;
    const pb::BackorderContext& c = b.context;
    absl::StrAppend(&out, "  backorder ", c.backorder_id(), " created_at=", FormatUtc(b.created_at),
                    " back_ordered=", q.back_ordered, " filled=", q.filled,
                    " invoiced=", q.invoiced, " cancelled=", q.cancelled);
    absl::StrAppend(&out, " debtor=", c.debtor_id(), " at=", c.branch_id(), "/", c.part_number(),
                    " invoice=", c.invoice_id(), "/", c.invoice_line(),
                    " kind=", pb::InvoiceKind_Name(c.invoice_kind()), " supplier=", c.supplier_id(),
                    " price=", c.unit_price().minor_units(), " ", c.unit_price().currency(), "\n");
  }
  return out;
}

}  // namespace bo::receiving
