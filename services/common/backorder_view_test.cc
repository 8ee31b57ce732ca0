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

TEST(Describe, SaysWhatHappenedInWords) {
  auto e = Filled(2, Q(5, 2, 0, 0), 1);
  e.mutable_backorder_filled()->set_source("receipt");
  e.mutable_backorder_filled()->set_creditor_invoice_id("CI-9");
  EXPECT_EQ(Describe(e),
            "Filled 2 from creditor invoice CI-9 (2 of 5 filled, 3 waiting, 0 invoiced)");
}

}  // namespace
}  // namespace bo
