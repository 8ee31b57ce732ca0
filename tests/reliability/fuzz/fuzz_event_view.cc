// Fuzz target: one Kafka record value (the whole input) decoded as an EventEnvelope and handled
// the way every consumer of back-order events handles it: described (BackorderIdOf, Describe),
// applied to back-order views (ApplyToView, MarkOnOrder) in each state a real view can be in, and
// the views then judged by the domains that read them (purchasing's Orderable/CheckOrderable,
// invoicing's ReadyToInvoice/AddBackorderLine/Finalise/Cancel).
//
// Checked on every input: no crash or sanitizer report, the stored state is the one the
// quantities give, a re-delivered event changes nothing (guarantee 3 holds per view even where a
// consumer's seen-id record is gone), quantities never go down, a cancelled view stays cancelled
// unless the event itself is a cancellation, and the domains' judgements agree with each other.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "backorder/v1/events.pb.h"
#include "services/common/backorder_view.h"
#include "services/common/command_support.h"
#include "services/invoicing/domain/invoice.h"
#include "services/purchasing/stock_order.h"
#include "tests/reliability/fuzz/fuzz_support.h"

namespace {

namespace pb = ::backorder::v1;
using bo::fuzz::Fail;

constexpr char kBackorderId[] = "BO-NORTH-000001-1";

pb::BackorderContext Context() {
  pb::BackorderContext c;
  c.set_backorder_id(kBackorderId);
  c.set_debtor_id("D-1");
  c.set_branch_id("NORTH");
  c.set_invoice_id("INV-NORTH-000001");
  c.set_invoice_line(1);
  c.set_part_number("HL-3003");
  c.set_supplier_id("SUP-9");
  c.mutable_unit_price()->set_currency("AUD");
  c.mutable_unit_price()->set_minor_units(31000);
  c.set_invoice_kind(pb::INVOICE_KIND_COUNTER);
  return c;
}

google::protobuf::Timestamp At(int64_t seconds) {
  google::protobuf::Timestamp t;
  t.set_seconds(1'800'000'000 + seconds);
  return t;
}

pb::BackorderQuantities Quantities(int64_t back_ordered, int64_t filled, int64_t invoiced,
                                   int64_t cancelled) {
  pb::BackorderQuantities q;
  q.set_back_ordered(back_ordered);
  q.set_filled(filled);
  q.set_invoiced(invoiced);
  q.set_cancelled(cancelled);
  return q;
}

pb::EventEnvelope Created(int64_t quantity) {
  pb::EventEnvelope e;
  e.set_type("BackorderCreated");
  *e.mutable_occurred_at() = At(0);
  *e.mutable_backorder_created()->mutable_context() = Context();
  e.mutable_backorder_created()->set_quantity(quantity);
  return e;
}

pb::EventEnvelope Filled(int64_t quantity, const pb::BackorderQuantities& after) {
  pb::EventEnvelope e;
  e.set_type("BackorderFilled");
  *e.mutable_occurred_at() = At(60);
  pb::BackorderFilled* f = e.mutable_backorder_filled();
  *f->mutable_context() = Context();
  f->set_quantity(quantity);
  *f->mutable_quantities() = after;
  f->set_source("receipt");
  f->set_creditor_invoice_id("CI-77");
  return e;
}

pb::EventEnvelope Invoiced(int64_t quantity, const pb::BackorderQuantities& after) {
  pb::EventEnvelope e;
  e.set_type("BackorderInvoiced");
  *e.mutable_occurred_at() = At(120);
  pb::BackorderInvoiced* i = e.mutable_backorder_invoiced();
  *i->mutable_context() = Context();
  i->set_invoicing_invoice_id("INV-NORTH-000002");
  i->set_invoicing_line(1);
  i->set_quantity(quantity);
  *i->mutable_quantities() = after;
  return e;
}

pb::EventEnvelope Cancelled(const pb::BackorderQuantities& after, int64_t released) {
  pb::EventEnvelope e;
  e.set_type("BackorderCancelled");
  e.set_reason("customer went elsewhere");
  *e.mutable_occurred_at() = At(180);
  pb::BackorderCancelled* c = e.mutable_backorder_cancelled();
  *c->mutable_context() = Context();
  c->set_quantity_cancelled(after.cancelled());
  c->set_filled_released(released);
  *c->mutable_quantities() = after;
  return e;
}

pb::Backorder ViewOf(const std::vector<pb::EventEnvelope>& events, bool on_order = false) {
  pb::Backorder view;
  for (const pb::EventEnvelope& e : events) bo::ApplyToView(&view, e);
  if (on_order) bo::MarkOnOrder(&view, "SO-NORTH-000001", 1, At(30));
  return view;
}

// A view of each kind a consumer may hold when the record arrives, built from real events.
const std::vector<pb::Backorder>& StartingViews() {
  static const std::vector<pb::Backorder> views = {
      pb::Backorder(),  // not seen yet
      ViewOf({Created(5)}),
      ViewOf({Created(5)}, /*on_order=*/true),
      ViewOf({Created(5), Filled(2, Quantities(5, 2, 0, 0))}),
      ViewOf({Filled(2, Quantities(5, 2, 0, 0))}),  // the fill arrived before the creation
      ViewOf({Created(5), Filled(5, Quantities(5, 5, 0, 0))}),
      ViewOf({Created(5), Filled(5, Quantities(5, 5, 0, 0)), Invoiced(3, Quantities(5, 5, 3, 0))}),
      ViewOf({Created(5), Filled(5, Quantities(5, 5, 0, 0)), Invoiced(5, Quantities(5, 5, 5, 0))}),
      ViewOf({Created(5), Filled(2, Quantities(5, 2, 0, 0)), Cancelled(Quantities(5, 0, 0, 5), 2)}),
  };
  return views;
}

std::string Show(const pb::Backorder& view, const pb::EventEnvelope& e) {
  return absl::StrCat("\n  view: ", view.ShortDebugString(), "\n  event: ", e.ShortDebugString());
}

// A view whose quantities a real history could give: what the domains' rules assume.
bool Consistent(const pb::Backorder& v) {
  const pb::BackorderQuantities& q = v.quantities();
  return q.back_ordered() > 0 && q.back_ordered() <= bo::kMaxRequestQuantity && q.filled() >= 0 &&
         q.invoiced() >= 0 && q.invoiced() <= q.filled() && q.filled() <= q.back_ordered() &&
         q.cancelled() == 0 && v.context().unit_price().minor_units() >= 0 &&
         v.context().unit_price().minor_units() <= 1'000'000'000'000;
}

void CheckStateDerived(const pb::Backorder& v, const pb::EventEnvelope& e) {
  if (v.ByteSizeLong() == 0) return;  // no event has touched it: no state yet
  if (v.state() != bo::DeriveState(v.quantities(), !v.stock_order_id().empty())) {
    Fail(absl::StrCat("stored state is not the derived one", Show(v, e)));
  }
}

// Purchasing's two judgements of whether a back order can be ordered must agree.
void CheckPurchasing(const pb::Backorder& v, const pb::EventEnvelope& e) {
  pb::StockOrder order;
  order.set_stock_order_id("SO-X-000001");
  order.set_branch_id(v.context().branch_id());
  order.set_status(pb::STOCK_ORDER_STATUS_DRAFT);
  const bool orderable = bo::purchasing::Orderable(v);
  if (orderable != bo::purchasing::CheckOrderable(v, order).ok()) {
    Fail(absl::StrCat("Orderable and CheckOrderable disagree", Show(v, e)));
  }
  // (A back order waiting for more than one line may order is refused for that alone.)
  if (orderable && bo::Waiting(v.quantities()) <= bo::purchasing::kMaxLineQuantity) {
    auto ticked = bo::purchasing::AddBackorders(order, {v});
    if (!ticked.ok())
      Fail(absl::StrCat("orderable but not tickable: ", ticked.status().ToString()));
    if (bo::purchasing::ListedFor(v, *ticked, false)) Fail("still listed once ticked");
  }
}

// Invoicing: a view ready to invoice can be put on a draft and invoiced, and afterwards is not
// ready any more; a cancellation the domain decides makes the view final.
void CheckInvoicing(const pb::Backorder& v, const pb::EventEnvelope& e) {
  if (!Consistent(v)) return;
  if (bo::invoicing::ReadyToInvoice(v)) {
    pb::Invoice draft;
    draft.set_invoice_id("INV-X-000009");
    draft.set_status(pb::INVOICE_STATUS_DRAFT);
    draft.set_debtor_id(v.context().debtor_id());
    draft.set_branch_id(v.context().branch_id());
    if (absl::Status s = bo::invoicing::AddBackorderLine(&draft, v); !s.ok()) {
      Fail(absl::StrCat("ready but refused on a draft: ", s.ToString(), Show(v, e)));
    }
    auto done = bo::invoicing::Finalise(draft, {{v.context().backorder_id(), v}},
                                        absl::FromUnixSeconds(1'900'000'000));
    if (!done.ok()) Fail(absl::StrCat("ready but not invoiceable: ", done.status().ToString()));
    for (const auto& [id, invoiced] : done->backorder_events) {
      pb::Backorder after = v;
      bo::ApplyToView(&after, invoiced);
      if (bo::invoicing::ReadyToInvoice(after) ||
          after.quantities().invoiced() > after.quantities().filled()) {
        Fail(absl::StrCat("invoiced but still ready", Show(after, invoiced)));
      }
    }
  }
  auto cancel = bo::invoicing::Cancel(v, "fuzz");
  if (cancel.ok()) {
    pb::Backorder after = v;
    bo::ApplyToView(&after, *cancel);
    if (after.state() != pb::BACKORDER_STATE_CANCELLED || bo::Ready(after.quantities()) != 0 ||
        bo::Waiting(after.quantities()) != 0 || bo::purchasing::Orderable(after) ||
        bo::invoicing::ReadyToInvoice(after)) {
      Fail(absl::StrCat("a decided cancellation left the view open", Show(after, *cancel)));
    }
    if (bo::invoicing::Cancel(after, "again").ok()) Fail("cancelled twice");
  }
}

void CheckApplied(const pb::Backorder& before, const pb::Backorder& after,
                  const pb::EventEnvelope& e) {
  CheckStateDerived(after, e);
  const pb::BackorderQuantities& b = before.quantities();
  const pb::BackorderQuantities& a = after.quantities();
  const bool cancellation = e.has_backorder_cancelled();
  if (a.back_ordered() < b.back_ordered() || a.invoiced() < b.invoiced() ||
      (!cancellation && a.filled() < b.filled())) {
    Fail(absl::StrCat("a quantity went down", Show(before, e),
                      "\n  after: ", after.ShortDebugString()));
  }
  if (!cancellation && before.state() == pb::BACKORDER_STATE_CANCELLED &&
      after.state() != pb::BACKORDER_STATE_CANCELLED) {
    Fail(absl::StrCat("a cancelled view was reopened", Show(before, e)));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pb::EventEnvelope e;
  // Consumers skip a record that does not decode; so does this.
  if (!e.ParseFromArray(data, static_cast<int>(size))) return 0;
  const std::string id = bo::BackorderIdOf(e);
  const std::string sentence = bo::Describe(e);
  if (sentence.empty()) Fail("Describe said nothing");

  for (const pb::Backorder& start : StartingViews()) {
    pb::Backorder view = start;
    const bool changed = bo::ApplyToView(&view, e);
    if (!changed && view.SerializeAsString() != start.SerializeAsString()) {
      Fail(absl::StrCat("ApplyToView changed the view but said it did not", Show(start, e)));
    }
    CheckApplied(start, view, e);
    pb::Backorder again = view;
    if (bo::ApplyToView(&again, e) || again.SerializeAsString() != view.SerializeAsString()) {
      Fail(absl::StrCat("the same event applied twice changed the view twice", Show(view, e)));
    }
    if (e.has_stock_order_placed()) {
      const pb::StockOrderPlaced& placed = e.stock_order_placed();
      for (const pb::StockOrderLine& line : placed.lines()) {
        for (const pb::CoveredBackorder& covered : line.backorders()) {
          if (covered.backorder_id() != view.context().backorder_id()) continue;
          bo::MarkOnOrder(&view, placed.stock_order_id(), line.line(), e.occurred_at());
          pb::Backorder marked = view;
          if (bo::MarkOnOrder(&marked, placed.stock_order_id(), line.line(), e.occurred_at())) {
            Fail(absl::StrCat("MarkOnOrder twice changed the view twice", Show(view, e)));
          }
          CheckStateDerived(view, e);
        }
      }
    }
    bo::StateName(view.state());
    CheckPurchasing(view, e);
    CheckInvoicing(view, e);
  }
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  return bo::fuzz::MutateStructured(data, size, max_size, seed, /*framed=*/false,
                                    [](uint8_t) { return std::make_unique<pb::EventEnvelope>(); });
}
