#include "services/common/backorder_view.h"

#include <algorithm>
#include <vector>

#include "gtest/gtest.h"

namespace bo {
namespace {
namespace pb = backorder::v1;

pb::BackorderContext Context() {
  pb::BackorderContext c;
  c.set_backorder_id("bo-1");
  c.set_debtor_id("D1");
  c.set_branch_id("B1");
  c.set_invoice_id("inv-1");
  c.set_invoice_line(1);
  c.set_part_number("P1");
  return c;
}

pb::BackorderQuantities Q(int64_t bo, int64_t filled, int64_t invoiced, int64_t cancelled) {
  pb::BackorderQuantities q;
  q.set_back_ordered(bo);
  q.set_filled(filled);
  q.set_invoiced(invoiced);
  q.set_cancelled(cancelled);
  return q;
}

pb::EventEnvelope At(pb::EventEnvelope e, int64_t second) {
  e.mutable_occurred_at()->set_seconds(second);
  return e;
}

pb::EventEnvelope Created(int64_t quantity, int64_t t) {
  pb::EventEnvelope e;
  e.set_type("BackorderCreated");
  *e.mutable_backorder_created()->mutable_context() = Context();
  e.mutable_backorder_created()->set_quantity(quantity);
  return At(e, t);
}

pb::EventEnvelope Filled(int64_t now, pb::BackorderQuantities after, int64_t t) {
  pb::EventEnvelope e;
  e.set_type("BackorderFilled");
  *e.mutable_backorder_filled()->mutable_context() = Context();
  e.mutable_backorder_filled()->set_quantity(now);
  *e.mutable_backorder_filled()->mutable_quantities() = after;
  return At(e, t);
}

pb::EventEnvelope Cancelled(pb::BackorderQuantities after, int64_t t) {
  pb::EventEnvelope e;
  e.set_type("BackorderCancelled");
  e.set_reason("customer went elsewhere");
  *e.mutable_backorder_cancelled()->mutable_context() = Context();
  *e.mutable_backorder_cancelled()->mutable_quantities() = after;
  return At(e, t);
}

pb::EventEnvelope Invoiced(int64_t now, pb::BackorderQuantities after, int64_t t) {
  pb::EventEnvelope e;
  e.set_type("BackorderInvoiced");
  *e.mutable_backorder_invoiced()->mutable_context() = Context();
  e.mutable_backorder_invoiced()->set_quantity(now);
  *e.mutable_backorder_invoiced()->mutable_quantities() = after;
  return At(e, t);
}

TEST(DeriveState, FollowsTheQuantities) {
  EXPECT_EQ(DeriveState(Q(5, 0, 0, 0), false), pb::BACKORDER_STATE_OPEN);
  EXPECT_EQ(DeriveState(Q(5, 0, 0, 0), true), pb::BACKORDER_STATE_ON_ORDER);
  EXPECT_EQ(DeriveState(Q(5, 2, 0, 0), true), pb::BACKORDER_STATE_PARTLY_FILLED);
  EXPECT_EQ(DeriveState(Q(5, 5, 0, 0), false), pb::BACKORDER_STATE_FILLED);
  EXPECT_EQ(DeriveState(Q(5, 5, 3, 0), false), pb::BACKORDER_STATE_FILLED);
  EXPECT_EQ(DeriveState(Q(5, 5, 5, 0), false), pb::BACKORDER_STATE_INVOICED);
  EXPECT_EQ(DeriveState(Q(5, 2, 2, 3), false), pb::BACKORDER_STATE_CANCELLED);
}

TEST(ApplyToView, PartlyThenFullyFilledThenInvoiced) {
  pb::Backorder v;
  EXPECT_TRUE(ApplyToView(&v, Created(5, 10)));
  EXPECT_EQ(v.state(), pb::BACKORDER_STATE_OPEN);
  EXPECT_TRUE(ApplyToView(&v, Filled(2, Q(5, 2, 0, 0), 11)));
  EXPECT_EQ(v.state(), pb::BACKORDER_STATE_PARTLY_FILLED);
  EXPECT_TRUE(ApplyToView(&v, Filled(3, Q(5, 5, 0, 0), 12)));
  EXPECT_EQ(v.state(), pb::BACKORDER_STATE_FILLED);
  EXPECT_TRUE(ApplyToView(&v, Invoiced(5, Q(5, 5, 5, 0), 13)));
  EXPECT_EQ(v.state(), pb::BACKORDER_STATE_INVOICED);
  EXPECT_EQ(v.created_at().seconds(), 10);
  EXPECT_EQ(v.filled_at().seconds(), 12);
  // A duplicate changes nothing.
  EXPECT_FALSE(ApplyToView(&v, Filled(3, Q(5, 5, 0, 0), 12)));
}

TEST(ApplyToView, OnOrderThenFilled) {
  pb::Backorder v;
  ApplyToView(&v, Created(4, 1));
  google::protobuf::Timestamp t;
  t.set_seconds(2);
  EXPECT_TRUE(MarkOnOrder(&v, "so-1", 1, t));
  EXPECT_EQ(v.state(), pb::BACKORDER_STATE_ON_ORDER);
  ApplyToView(&v, Filled(4, Q(4, 4, 0, 0), 3));
  EXPECT_EQ(v.state(), pb::BACKORDER_STATE_FILLED);
}

TEST(ApplyToView, CancellationReleasesFilledStockAndIgnoresLateFills) {
  pb::Backorder v;
  ApplyToView(&v, Created(5, 1));
  ApplyToView(&v, Filled(2, Q(5, 2, 0, 0), 2));
  ApplyToView(&v, Cancelled(Q(5, 0, 0, 5), 3));
  EXPECT_EQ(v.state(), pb::BACKORDER_STATE_CANCELLED);
  EXPECT_EQ(v.quantities().filled(), 0);
  EXPECT_EQ(v.cancel_reason(), "customer went elsewhere");
  // Receiving filled 3 more before it learnt of the cancellation: the cancellation released it.
  ApplyToView(&v, Filled(3, Q(5, 5, 0, 0), 4));
  EXPECT_EQ(v.quantities().filled(), 0);
  EXPECT_EQ(v.state(), pb::BACKORDER_STATE_CANCELLED);
}

// Every order of the same events gives the same view (events of different topics arrive in any
// order).
TEST(ApplyToView, AnyOrderConverges) {
  std::vector<pb::EventEnvelope> events = {
      Created(5, 1), Filled(2, Q(5, 2, 0, 0), 2), Invoiced(2, Q(5, 2, 2, 0), 3),
      Filled(3, Q(5, 5, 2, 0), 4), Cancelled(Q(5, 2, 2, 3), 5)};
  std::vector<int> order = {0, 1, 2, 3, 4};
  std::string first;
  int permutations = 0;
  do {
    pb::Backorder v;
    for (int i : order) ApplyToView(&v, events[i]);
    v.clear_updated_at();
    if (first.empty()) {
      first = v.SerializeAsString();
      EXPECT_EQ(v.state(), pb::BACKORDER_STATE_CANCELLED);
      EXPECT_EQ(v.quantities().invoiced(), 2);
      EXPECT_EQ(v.quantities().filled(), 2);
    }
    EXPECT_EQ(v.SerializeAsString(), first) << "order differs at permutation " << permutations;
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(permutations, 120);
}

TEST(CheckEventNumbers, NamesTheFieldBeyondWhatAProducerEmits) {
  EXPECT_TRUE(CheckEventNumbers(Created(1'000'000'000, 1)).ok());
  EXPECT_TRUE(CheckEventNumbers(Filled(2, Q(5, 2, 0, 0), 1)).ok());

  const absl::Status big = CheckEventNumbers(Created(1'000'000'001, 1));
  EXPECT_EQ(big.code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(big.message().find("backorder_created.quantity"), std::string_view::npos) << big;

  const absl::Status negative = CheckEventNumbers(Filled(-1, Q(5, 2, 0, 0), 1));
  EXPECT_NE(negative.message().find("backorder_filled.quantity"), std::string_view::npos);

  const absl::Status after = CheckEventNumbers(Invoiced(1, Q(5, 5, INT64_MAX, 0), 1));
  EXPECT_NE(after.message().find("backorder_invoiced.quantities.invoiced"), std::string_view::npos)
      << after;

  const absl::Status cancelled = CheckEventNumbers(Cancelled(Q(5, 0, 0, -5), 1));
  EXPECT_NE(cancelled.message().find("backorder_cancelled.quantities.cancelled"),
            std::string_view::npos)
      << cancelled;

  const absl::Status time = CheckEventNumbers(Created(1, INT64_MAX));
  EXPECT_NE(time.message().find("occurred_at"), std::string_view::npos) << time;

  pb::EventEnvelope other;  // not a back-order event: nothing to check
  other.mutable_stock_adjusted()->set_delta(INT64_MIN);
  EXPECT_TRUE(CheckEventNumbers(other).ok());
}

TEST(Describe, SaysWhatHappenedInWords) {
  auto e = Filled(2, Q(5, 2, 0, 0), 1);
  e.mutable_backorder_filled()->set_source("receipt");
  e.mutable_backorder_filled()->set_creditor_invoice_id("CI-9");
  EXPECT_EQ(Describe(e),
            "Filled 2 from creditor invoice CI-9 (2 of 5 filled, 3 waiting, 0 invoiced)");
}

pb::Money Aud(int64_t minor_units) {
  pb::Money m;
  m.set_currency("AUD");
  m.set_minor_units(minor_units);
  return m;
}

// Every payload of the catalogue gets its own sentence, never just the type name.
TEST(Describe, EveryEventTypeReads) {
  pb::EventEnvelope debtor;
  auto* d = debtor.mutable_debtor_updated();
  d->set_debtor_id("D-1001");
  d->set_name("Smith Motors");
  d->set_contact_name("Jo Smith");
  d->set_phone("03 9555 0101");
  d->set_use_backorders(true);
  EXPECT_EQ(Describe(debtor),
            "Debtor D-1001 (Smith Motors) saved: contact Jo Smith, phone 03 9555 0101, e-mail -; "
            "uses back orders");

  pb::EventEnvelope invoice;
  auto* f = invoice.mutable_invoice_finalised();
  f->set_invoice_id("INV-B1-000001");
  f->set_kind(pb::INVOICE_KIND_WORKSHOP);
  f->set_debtor_id("D-1001");
  auto* line = f->add_lines();
  line->set_quantity_supplied(3);
  line->set_quantity_back_ordered(2);
  f->add_lines()->set_quantity_supplied(1);
  *f->mutable_total() = Aud(23050);
  EXPECT_EQ(Describe(invoice),
            "Invoice INV-B1-000001 (workshop) finalised for D-1001: 2 lines, 4 supplied, "
            "2 back-ordered, total 230.50 AUD");

  pb::EventEnvelope lost;
  auto* l = lost.mutable_lost_sale_recorded();
  l->set_invoice_id("INV-B1-000002");
  l->set_invoice_line(3);
  l->set_debtor_id("D-9");
  l->set_part_number("P1");
  l->set_quantity(2);
  EXPECT_EQ(Describe(lost),
            "Lost sale: 2 x P1 on invoice INV-B1-000002 line 3 for D-9 could not be supplied and "
            "was not back-ordered");

  pb::EventEnvelope part;
  auto* p = part.mutable_part_updated();
  p->set_part_number("OIL-FILTER-1");
  p->set_description("Oil filter");
  p->set_supplier_id("SUP-1");
  *p->mutable_unit_price() = Aud(1205);
  EXPECT_EQ(Describe(part), "Part OIL-FILTER-1 saved: Oil filter, supplier SUP-1, price 12.05 AUD");

  pb::EventEnvelope adjusted;
  adjusted.set_reason("opening stock");
  adjusted.mutable_stock_adjusted()->set_part_number("P1");
  adjusted.mutable_stock_adjusted()->set_delta(3);
  adjusted.mutable_stock_adjusted()->set_on_hand(3);
  EXPECT_EQ(Describe(adjusted), "Stock of P1 adjusted by +3 to 3 on hand (opening stock)");
  adjusted.clear_reason();
  adjusted.mutable_stock_adjusted()->set_delta(-2);
  adjusted.mutable_stock_adjusted()->set_on_hand(1);
  EXPECT_EQ(Describe(adjusted), "Stock of P1 adjusted by -2 to 1 on hand");

  pb::EventEnvelope received;
  auto* r = received.mutable_stock_received();
  r->set_part_number("P1");
  r->set_creditor_invoice_id("CI-9");
  r->set_stock_order_id("SO-B1-000001");
  r->set_quantity(4);
  *r->mutable_unit_cost() = Aud(700);
  r->set_on_hand(4);
  EXPECT_EQ(Describe(received),
            "Received 4 x P1 on creditor invoice CI-9 (stock order SO-B1-000001) at 7.00 AUD each; "
            "4 on hand");
  r->clear_unit_cost();
  r->clear_stock_order_id();
  EXPECT_EQ(Describe(received), "Received 4 x P1 on creditor invoice CI-9; 4 on hand");

  pb::EventEnvelope held;
  auto* h = held.mutable_stock_held();
  h->set_part_number("P1");
  h->set_invoice_id("INV-B1-000003");
  h->set_invoice_line(1);
  h->set_quantity(2);
  h->mutable_expires_at()->set_seconds(1795913700);  // 2026-11-29 00:55:00 UTC
  EXPECT_EQ(Describe(held),
            "Held 2 x P1 for draft invoice INV-B1-000003 line 1 until 2026-11-29 00:55 UTC");

  pb::EventEnvelope released;
  auto* x = released.mutable_stock_hold_released();
  x->set_part_number("P1");
  x->set_invoice_id("INV-B1-000003");
  x->set_invoice_line(1);
  x->set_quantity(2);
  x->set_cause("abandoned");
  EXPECT_EQ(Describe(released),
            "Released the hold of 2 x P1 for invoice INV-B1-000003 line 1 to free stock (the draft "
            "was abandoned)");

  pb::EventEnvelope issued;
  auto* i = issued.mutable_stock_issued();
  i->set_part_number("P1");
  i->set_invoice_id("INV-B1-000004");
  i->set_invoice_line(2);
  i->set_quantity(2);
  i->set_backorder_id("BO-B1-000001-1");
  i->set_on_hand(0);
  EXPECT_EQ(Describe(issued),
            "Issued 2 x P1 on invoice INV-B1-000004 line 2 for back order BO-B1-000001-1; "
            "0 on hand");

  pb::EventEnvelope future;
  future.set_type("BackorderTeleported");
  EXPECT_EQ(Describe(future), "BackorderTeleported (a payload this build does not know)");
}

TEST(Describe, NegativeAmountsKeepTheirSign) {
  pb::EventEnvelope part;
  part.mutable_part_updated()->set_part_number("P1");
  *part.mutable_part_updated()->mutable_unit_price() = Aud(-5);
  EXPECT_EQ(Describe(part), "Part P1 saved: no description, supplier -, price -0.05 AUD");
}

}  // namespace
}  // namespace bo
