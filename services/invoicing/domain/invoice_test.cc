// The invoicing rules of WORKFLOW.md Parts 2 and 4, on the pure domain (no RocksDB, no Kafka).
#include "services/invoicing/domain/invoice.h"

#include <limits>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace bo::invoicing {
namespace {
namespace pb = backorder::v1;

Invoice Draft() {
  Invoice i;
  i.set_invoice_id("INV-B1-000001");
  i.set_branch_id("B1");
  i.set_debtor_id("D1");
  i.set_kind(pb::INVOICE_KIND_WORKSHOP);
  i.set_status(pb::INVOICE_STATUS_DRAFT);
  return i;
}

PartLineFacts Facts(int64_t ordered, int64_t held, bool uses_backorders) {
  PartLineFacts f;
  f.part_number = "P1";
  f.supplier_id = "SUP-A";
  f.unit_price.set_currency("AUD");
  f.unit_price.set_minor_units(1000);
  f.quantity_ordered = ordered;
  f.quantity_held = held;
  f.debtor_uses_backorders = uses_backorders;
  return f;
}

Backorder Ready(const std::string& id, int64_t back_ordered, int64_t filled) {
  Backorder b;
  auto* c = b.mutable_context();
  c->set_backorder_id(id);
  c->set_debtor_id("D1");
  c->set_branch_id("B1");
  c->set_invoice_id("INV-B1-000000");
  c->set_invoice_line(1);
  c->set_part_number("P1");
  c->mutable_unit_price()->set_currency("AUD");
  c->mutable_unit_price()->set_minor_units(900);
  b.mutable_quantities()->set_back_ordered(back_ordered);
  b.mutable_quantities()->set_filled(filled);
  b.set_state(filled == back_ordered ? pb::BACKORDER_STATE_FILLED
                                     : pb::BACKORDER_STATE_PARTLY_FILLED);
  return b;
}

TEST(AddPartLine, EnoughStockSuppliesEverything) {
  Invoice i = Draft();
  auto offer = AddPartLine(&i, Facts(3, 3, true));
  ASSERT_TRUE(offer.ok());
  EXPECT_FALSE(offer->backorder_offered);
  EXPECT_EQ(i.lines(0).quantity_supplied(), 3);
  EXPECT_EQ(i.lines(0).quantity_back_ordered(), 0);
  EXPECT_EQ(i.total().minor_units(), 3000);
}

TEST(AddPartLine, ShortageOffersABackOrderToADebtorWhoUsesThem) {
  Invoice i = Draft();
  auto offer = AddPartLine(&i, Facts(5, 2, true));
  ASSERT_TRUE(offer.ok());
  EXPECT_TRUE(offer->backorder_offered);
  EXPECT_EQ(offer->shortfall, 3);
  EXPECT_EQ(i.lines(0).quantity_supplied(), 2);
  EXPECT_EQ(i.lines(0).quantity_back_ordered(), 3);
  EXPECT_EQ(i.lines(0).quantity_lost(), 0);
  EXPECT_EQ(i.total().minor_units(), 2000);  // only what is supplied is charged
}

TEST(AddPartLine, ShortageIsALostSaleForADebtorWithoutBackOrders) {
  Invoice i = Draft();
  auto offer = AddPartLine(&i, Facts(5, 2, false));
  ASSERT_TRUE(offer.ok());
  EXPECT_FALSE(offer->backorder_offered);
  EXPECT_EQ(i.lines(0).quantity_back_ordered(), 0);
  EXPECT_EQ(i.lines(0).quantity_lost(), 3);
}

TEST(AdjustPartLine, KeepsWithinTheRulesAndChangesNothingOtherwise) {
  Invoice i = Draft();
  ASSERT_TRUE(AddPartLine(&i, Facts(5, 2, true)).ok());
  const std::string before = i.SerializeAsString();
  EXPECT_EQ(AdjustPartLine(&i, 1, 3, 2, true).code(), absl::StatusCode::kFailedPrecondition)
      << "supplied more than available";
  EXPECT_EQ(AdjustPartLine(&i, 1, 2, 4, true).code(), absl::StatusCode::kFailedPrecondition)
      << "supplied + back order more than ordered";
  EXPECT_EQ(AdjustPartLine(&i, 1, -1, 0, true).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AdjustPartLine(&i, 1, 0, -1, true).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AdjustPartLine(&i, 1, 2, 1, false).code(), absl::StatusCode::kFailedPrecondition)
      << "back order for a debtor without them";
  EXPECT_EQ(AdjustPartLine(&i, 9, 0, 0, true).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(i.SerializeAsString(), before);
  // Supply fewer now and back-order less than the shortfall: the rest is a lost sale.
  ASSERT_TRUE(AdjustPartLine(&i, 1, 1, 2, true).ok());
  EXPECT_EQ(i.lines(0).quantity_supplied(), 1);
  EXPECT_EQ(i.lines(0).quantity_back_ordered(), 2);
  EXPECT_EQ(i.lines(0).quantity_lost(), 2);
  EXPECT_EQ(i.total().minor_units(), 1000);
}

// The validators allow 10^9 units at 10^12 minor units each: more than int64 can hold.
TEST(Amounts, BeyondWhatAnAmountCanHoldAreRefusedAndChangeNothing) {
  constexpr int64_t kUnits = 1'000'000'000, kPrice = 1'000'000'000'000;
  Invoice i = Draft();
  PartLineFacts big = Facts(kUnits, kUnits, true);
  big.unit_price.set_minor_units(kPrice);
  const std::string empty = i.SerializeAsString();
  absl::Status s = AddPartLine(&i, big).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "unit_price: ")) << s;
  EXPECT_EQ(i.SerializeAsString(), empty);

  // Each line fits; their sum does not.
  PartLineFacts half = Facts(9'000'000, 9'000'000, true);
  half.unit_price.set_minor_units(kPrice);  // 9 * 10^18 each
  ASSERT_TRUE(AddPartLine(&i, half).ok());
  EXPECT_EQ(i.total().minor_units(), 9'000'000'000'000'000'000);
  const std::string one_line = i.SerializeAsString();
  s = AddPartLine(&i, half).status();
  EXPECT_EQ(i.SerializeAsString(), one_line);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("total"), std::string_view::npos) << s;
  pb::Money charge;
  charge.set_currency("AUD");
  charge.set_minor_units(kPrice);
  EXPECT_EQ(AddChargeLine(&i, "freight", charge).code(), absl::StatusCode::kOk);
  EXPECT_EQ(i.total().minor_units(), 9'000'000'000'000'000'000 + kPrice);
  charge.set_minor_units(std::numeric_limits<int64_t>::max());
  const std::string two_lines = i.SerializeAsString();
  EXPECT_EQ(AddChargeLine(&i, "freight", charge).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(i.SerializeAsString(), two_lines);
}

TEST(Finalise, ChargesWhatWasSuppliedAndCreatesTheBackOrders) {
  Invoice i = Draft();
  ASSERT_TRUE(AddPartLine(&i, Facts(5, 2, true)).ok());
  PartLineFacts other = Facts(4, 1, true);
  other.part_number = "P2";
  ASSERT_TRUE(AddPartLine(&i, other).ok());
  ASSERT_TRUE(AdjustPartLine(&i, 2, 1, 2, true).ok());  // 1 lost
  pb::Money labour;
  labour.set_currency("AUD");
  labour.set_minor_units(5000);
  ASSERT_TRUE(AddChargeLine(&i, "Labour", labour).ok());

  auto f = Finalise(i, {}, absl::FromUnixSeconds(1000));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->invoice.status(), pb::INVOICE_STATUS_FINALISED);
  ASSERT_EQ(f->invoice_events.size(), 2u);  // InvoiceFinalised, LostSaleRecorded
  const auto& fin = f->invoice_events[0].invoice_finalised();
  EXPECT_EQ(fin.total().minor_units(), 2000 + 1000 + 5000);
  EXPECT_EQ(f->invoice_events[1].lost_sale_recorded().quantity(), 1);
  EXPECT_EQ(f->invoice_events[1].lost_sale_recorded().part_number(), "P2");
  ASSERT_EQ(f->backorder_events.size(), 2u);
  const auto& created = f->backorder_events.at("BO-B1-000001-1").backorder_created();
  EXPECT_EQ(created.quantity(), 3);
  EXPECT_EQ(created.context().debtor_id(), "D1");
  EXPECT_EQ(created.context().invoice_line(), 1);
  EXPECT_EQ(created.context().supplier_id(), "SUP-A");
  EXPECT_EQ(created.context().unit_price().minor_units(), 1000);
  EXPECT_EQ(f->backorder_events.at("BO-B1-000001-2").backorder_created().quantity(), 2);
  EXPECT_EQ(f->invoice.lines(0).created_backorder_id(), "BO-B1-000001-1");

  // Finalising the finalised invoice again is refused.
  EXPECT_EQ(Finalise(f->invoice, {}, absl::FromUnixSeconds(1001)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(BackorderLines, ReadyBackOrdersAreAddedAtTheAgreedPriceAndInvoiced) {
  Invoice i = Draft();
  i.set_invoice_id("INV-B1-000002");
  const Backorder partly = Ready("BO-B1-000000-1", 5, 2);
  ASSERT_TRUE(AddBackorderLine(&i, partly).ok());
  EXPECT_EQ(i.lines(0).quantity_supplied(), 2);  // what is filled so far
  EXPECT_EQ(i.lines(0).unit_price().minor_units(), 900);
  EXPECT_EQ(AddBackorderLine(&i, partly).code(), absl::StatusCode::kFailedPrecondition)
      << "already on this invoice";
  auto f = Finalise(i, {{partly.context().backorder_id(), partly}}, absl::FromUnixSeconds(5));
  ASSERT_TRUE(f.ok()) << f.status();
  const auto& inv = f->backorder_events.at("BO-B1-000000-1").backorder_invoiced();
  EXPECT_EQ(inv.quantity(), 2);
  EXPECT_EQ(inv.quantities().invoiced(), 2);
  EXPECT_EQ(inv.invoicing_invoice_id(), "INV-B1-000002");
}

TEST(BackorderLines, OnlyTheDebtorsReadyBackOrdersAtThisBranch) {
  Invoice i = Draft();
  Backorder other_debtor = Ready("BO-X-1", 2, 2);
  other_debtor.mutable_context()->set_debtor_id("D2");
  EXPECT_EQ(AddBackorderLine(&i, other_debtor).code(), absl::StatusCode::kFailedPrecondition);
  Backorder other_branch = Ready("BO-X-2", 2, 2);
  other_branch.mutable_context()->set_branch_id("B2");
  EXPECT_EQ(AddBackorderLine(&i, other_branch).code(), absl::StatusCode::kFailedPrecondition);
  Backorder waiting = Ready("BO-X-3", 2, 0);
  waiting.set_state(pb::BACKORDER_STATE_OPEN);
  EXPECT_EQ(AddBackorderLine(&i, waiting).code(), absl::StatusCode::kFailedPrecondition);
  Backorder elsewhere = Ready("BO-X-4", 2, 2);
  elsewhere.set_draft_invoice_id("INV-B1-000009");
  EXPECT_EQ(AddBackorderLine(&i, elsewhere).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(i.lines_size(), 0);
}

TEST(Cancel, CancelsEverythingNotInvoicedAndReleasesFilledStock) {
  Backorder b = Ready("BO-1", 5, 3);
  b.mutable_quantities()->set_invoiced(1);
  auto e = Cancel(b, "customer bought elsewhere");
  ASSERT_TRUE(e.ok());
  const auto& c = e->backorder_cancelled();
  EXPECT_EQ(c.quantity_cancelled(), 4);
  EXPECT_EQ(c.filled_released(), 2);
  EXPECT_EQ(c.quantities().filled(), 1);
  EXPECT_EQ(c.quantities().invoiced(), 1);
  EXPECT_EQ(e->reason(), "customer bought elsewhere");

  b.set_draft_invoice_id("INV-B1-000003");
  EXPECT_EQ(Cancel(b, "x").status().code(), absl::StatusCode::kFailedPrecondition);
  b.clear_draft_invoice_id();
  b.set_state(pb::BACKORDER_STATE_INVOICED);
  EXPECT_EQ(Cancel(b, "x").status().code(), absl::StatusCode::kFailedPrecondition);
  b.set_state(pb::BACKORDER_STATE_CANCELLED);
  EXPECT_EQ(Cancel(b, "x").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Abandon, OnlyADraft) {
  Invoice i = Draft();
  auto a = Abandon(i);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->status(), pb::INVOICE_STATUS_ABANDONED);
  EXPECT_FALSE(Abandon(*a).ok());
  EXPECT_FALSE(AddChargeLine(&*a, "x", pb::Money()).ok());
}

}  // namespace
}  // namespace bo::invoicing
