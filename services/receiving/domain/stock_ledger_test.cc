#include "services/receiving/domain/stock_ledger.h"

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#ifdef BO_HAVE_RAPIDCHECK
#include <rapidcheck/gtest.h>
#endif

namespace bo::receiving {
namespace {

namespace pb = ::backorder::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kBranch[] = "br-01";
constexpr char kPart[] = "P-100";

absl::Time T(int64_t ms) { return absl::FromUnixMillis(1'700'000'000'000 + ms); }

pb::BackorderContext Ctx(const std::string& id, const std::string& debtor,
                         const std::string& part = kPart) {
  pb::BackorderContext c;
  c.set_backorder_id(id);
  c.set_debtor_id(debtor);
  c.set_branch_id(kBranch);
  c.set_invoice_id("inv-of-" + id);
  c.set_invoice_line(1);
  c.set_part_number(part);
  c.set_supplier_id("sup-1");
  c.mutable_unit_price()->set_currency("AUD");
  c.mutable_unit_price()->set_minor_units(4250);
  c.set_invoice_kind(pb::INVOICE_KIND_WORKSHOP);
  return c;
}

RegisterBackorder Reg(const std::string& id, const std::string& debtor, int64_t quantity,
                      int64_t created_ms) {
  return RegisterBackorder{Ctx(id, debtor), quantity, T(created_ms)};
}

ReceiveStock Receive(int64_t quantity, const std::string& creditor_invoice = "ci-1") {
  ReceiveStock r{quantity, creditor_invoice, "so-1", {}, "sup-1"};
  r.unit_cost.set_currency("AUD");
  r.unit_cost.set_minor_units(3100);
  return r;
}

HoldStock Hold1(const std::string& invoice, int32_t line, int64_t quantity,
                absl::Time expires_at = T(60'000)) {
  return HoldStock{invoice, line, quantity, expires_at};
}

// A BackorderFilled event, reduced to what the tests compare.
struct Fill {
  std::string backorder_id;
  int64_t quantity;
  std::string source;
  bool operator==(const Fill&) const = default;
  friend std::ostream& operator<<(std::ostream& os, const Fill& f) {
    return os << f.backorder_id << " x" << f.quantity << " (" << f.source << ")";
  }
};

std::vector<Fill> Fills(const Events& events) {
  std::vector<Fill> out;
  for (const Event& e : events) {
    if (e.has_backorder_filled()) {
      const pb::BackorderFilled& f = e.backorder_filled();
      out.push_back({f.context().backorder_id(), f.quantity(), f.source()});
    }
  }
  return out;
}

std::vector<std::string> Types(const Events& events) {
  std::vector<std::string> out;
  for (const Event& e : events) out.push_back(e.type());
  return out;
}

// The name of the payload message an envelope carries ("" when none).
std::string PayloadName(const Event& e) {
  const auto* oneof = Event::descriptor()->FindOneofByName("payload");
  const auto* field = e.GetReflection()->GetOneofFieldDescriptor(e, oneof);
  return field == nullptr ? "" : field->message_type()->name();
}

class StockLedgerTest : public ::testing::Test {
 protected:
  // Decides and applies `command`, which must succeed; checks that Decide left the state alone
  // and that the invariants hold after every event.
  Events Run(const Command& command) {
    const std::string before = DebugString(state_);
    absl::StatusOr<Events> events = Decide(state_, AsTheWiringWould(command));
    EXPECT_EQ(DebugString(state_), before) << "Decide changed the state";
    EXPECT_TRUE(events.ok()) << events.status();
    if (!events.ok()) return {};
    for (const Event& e : *events) {
      EXPECT_EQ(e.type(), PayloadName(e));
      EXPECT_EQ(e.branch_id(), kBranch);
      state_ = Apply(std::move(state_), e);
      if (std::string id = ClosedBy(state_, e); !id.empty()) closed_.insert(id);
      EXPECT_TRUE(CheckInvariants(state_).ok()) << CheckInvariants(state_) << "\n"
                                                << DebugString(state_);
    }
    return *events;
  }

  // Decides `command`, which must fail; checks that the state is unchanged.
  absl::Status Fail(const Command& command) {
    const std::string before = DebugString(state_);
    absl::StatusOr<Events> events = Decide(state_, AsTheWiringWould(command));
    EXPECT_FALSE(events.ok()) << "unexpectedly decided " << events->size() << " events";
    EXPECT_EQ(DebugString(state_), before);
    EXPECT_TRUE(CheckInvariants(state_).ok());
    return events.status();
  }

  const OpenBackorder* Open(const std::string& id) const {
    for (const OpenBackorder& b : state_.backorders) {
      if (b.context.backorder_id() == id) return &b;
    }
    return nullptr;
  }

  // `command` with `closed` set from the ids ClosedBy reported, as the service's repository does.
  Command AsTheWiringWould(Command command) const {
    if (closed_.contains(BackorderOf(command))) MarkClosed(&command);
    return command;
  }

  StockLedgerState state_ = NewStockLedger(kBranch, kPart);
  std::set<std::string> closed_;  // the back orders closed here, which the state does not keep
};

TEST_F(StockLedgerTest, FillsOldestBackorderFirstAcrossDebtors) {
  // Registered out of creation order: the queue follows creation time, not arrival.
  // Ids sort against creation order, so only the creation time can put them in order.
  Run(Reg("bo-b", "debtor-B", 3, 200));
  Run(Reg("bo-a", "debtor-C", 4, 300));
  Run(Reg("bo-c", "debtor-A", 2, 100));

  const Events events = Run(Receive(4, "ci-7"));

  EXPECT_THAT(Fills(events), ElementsAre(Fill{"bo-c", 2, "receipt"}, Fill{"bo-b", 2, "receipt"}));
  EXPECT_EQ(events[1].backorder_filled().context().debtor_id(), "debtor-A");
  EXPECT_EQ(events[2].backorder_filled().context().debtor_id(), "debtor-B");
  EXPECT_EQ(events[1].backorder_filled().creditor_invoice_id(), "ci-7");
  EXPECT_EQ(Open("bo-a")->quantities.filled, 0);
  EXPECT_EQ(state_.free, 0);
}

TEST_F(StockLedgerTest, FillsPartlyThenInFull) {
  Run(Reg("bo-1", "debtor-A", 5, 1));

  Events first = Run(Receive(2));
  ASSERT_THAT(Fills(first), ElementsAre(Fill{"bo-1", 2, "receipt"}));
  const pb::BackorderQuantities& partly = first[1].backorder_filled().quantities();
  EXPECT_EQ(partly.back_ordered(), 5);
  EXPECT_EQ(partly.filled(), 2);

  Events second = Run(Receive(4));
  ASSERT_THAT(Fills(second), ElementsAre(Fill{"bo-1", 3, "receipt"}));
  EXPECT_EQ(second[1].backorder_filled().quantities().filled(), 5);
  EXPECT_EQ(Open("bo-1")->quantities.waiting(), 0);
  EXPECT_EQ(state_.free, 1);
  EXPECT_EQ(state_.filled_not_invoiced, 5);
}

TEST_F(StockLedgerTest, PartlyFilledOlderBackorderIsFilledFirstNextTime) {
  Run(Reg("bo-1", "debtor-A", 5, 1));
  Run(Reg("bo-2", "debtor-B", 3, 2));
  Run(Receive(2));

  EXPECT_THAT(Fills(Run(Receive(4))),
              ElementsAre(Fill{"bo-1", 3, "receipt"}, Fill{"bo-2", 1, "receipt"}));
}

TEST_F(StockLedgerTest, ReceiptLargerThanAllWaitingLeavesRestFree) {
  Run(Reg("bo-1", "debtor-A", 2, 1));
  Run(Reg("bo-2", "debtor-B", 3, 2));

  EXPECT_THAT(Fills(Run(Receive(10))),
              ElementsAre(Fill{"bo-1", 2, "receipt"}, Fill{"bo-2", 3, "receipt"}));
  EXPECT_EQ(state_.on_hand, 10);
  EXPECT_EQ(state_.free, 5);
  EXPECT_EQ(state_.filled_not_invoiced, 5);
  EXPECT_EQ(state_.received, 10);
}

TEST_F(StockLedgerTest, CancellationPassesFilledStockToNextBackorder) {
  Run(Reg("bo-1", "debtor-A", 3, 1));
  Run(Reg("bo-2", "debtor-B", 2, 2));
  Run(Receive(3));  // all to bo-1

  const Events events = Run(CancelBackorder{"bo-1", "customer bought elsewhere"});

  ASSERT_THAT(Types(events), ElementsAre("BackorderReleased", "BackorderFilled"));
  const pb::BackorderReleased& cancelled = events[0].backorder_released();
  EXPECT_EQ(cancelled.filled_released(), 3);
  EXPECT_EQ(cancelled.quantity_cancelled(), 3);
  EXPECT_EQ(cancelled.quantities().cancelled(), 3);
  EXPECT_EQ(cancelled.quantities().filled(), 0);
  EXPECT_EQ(events[0].reason(), "customer bought elsewhere");
  EXPECT_THAT(Fills(events), ElementsAre(Fill{"bo-2", 2, "cancellation"}));
  EXPECT_EQ(Open("bo-1"), nullptr);
  EXPECT_TRUE(closed_.contains("bo-1"));
  EXPECT_EQ(state_.free, 1);
}

TEST_F(StockLedgerTest, CancellingPartlyInvoicedBackorderKeepsInvoicedAndReleasesTheRest) {
  Run(Reg("bo-1", "debtor-A", 5, 1));
  Run(Receive(3));
  Run(IssueBackorder{"bo-1", "inv-9", 1, 1});

  const Events events = Run(CancelBackorder{"bo-1", ""});

  const pb::BackorderReleased& cancelled = events.at(0).backorder_released();
  EXPECT_EQ(cancelled.quantity_cancelled(), 4);
  EXPECT_EQ(cancelled.filled_released(), 2);
  EXPECT_EQ(cancelled.quantities().invoiced(), 1);
  EXPECT_EQ(cancelled.quantities().filled(), 1);
  EXPECT_EQ(state_.free, 2);
  EXPECT_EQ(state_.on_hand, 2);
  EXPECT_EQ(state_.issued, 1);
}

TEST_F(StockLedgerTest, ExpiredHoldReturnsAndFillsWaitingBackorder) {
  Run(AdjustStock{3, "opening stock"});
  Run(Hold1("inv-1", 1, 3, T(10'000)));
  EXPECT_THAT(Fills(Run(Reg("bo-1", "debtor-A", 2, 1))), IsEmpty());  // nothing free

  EXPECT_THAT(Run(ExpireHolds{T(9'999)}), IsEmpty());
  const Events events = Run(ExpireHolds{T(10'000)});

  ASSERT_THAT(Types(events), ElementsAre("StockHoldReleased", "BackorderFilled"));
  EXPECT_EQ(events[0].stock_hold_released().cause(), "expired");
  EXPECT_EQ(events[0].stock_hold_released().quantity(), 3);
  EXPECT_THAT(Fills(events), ElementsAre(Fill{"bo-1", 2, "hold_released"}));
  EXPECT_THAT(state_.holds, IsEmpty());
  EXPECT_EQ(state_.free, 1);
}

TEST_F(StockLedgerTest, HoldIsIdempotentPerLine) {
  Run(AdjustStock{5, "opening stock"});

  EXPECT_THAT(Types(Run(Hold1("inv-1", 1, 2))), ElementsAre("StockHeld"));
  EXPECT_THAT(Run(Hold1("inv-1", 1, 2, T(99'000))), IsEmpty());  // a retry holds nothing more
  EXPECT_EQ(state_.held, 2);
  EXPECT_EQ(state_.holds.at({"inv-1", 1}).expires_at, T(60'000));

  EXPECT_THAT(Types(Run(Hold1("inv-1", 2, 2))), ElementsAre("StockHeld"));  // another line
  const Events changed = Run(Hold1("inv-1", 1, 3));
  ASSERT_THAT(Types(changed), ElementsAre("StockHoldReleased", "StockHeld"));
  EXPECT_EQ(changed[0].stock_hold_released().cause(), "changed");
  EXPECT_EQ(changed[0].stock_hold_released().quantity(), 2);
  EXPECT_EQ(changed[1].stock_held().quantity(), 3);
  EXPECT_EQ(state_.held, 5);
  EXPECT_EQ(state_.free, 0);

  // A smaller hold gives stock back, which fills a waiting back order.
  Run(Reg("bo-1", "debtor-A", 1, 1));
  const Events smaller = Run(Hold1("inv-1", 1, 1));
  EXPECT_THAT(Types(smaller), ElementsAre("StockHoldReleased", "StockHeld", "BackorderFilled"));
  EXPECT_THAT(Fills(smaller), ElementsAre(Fill{"bo-1", 1, "hold_released"}));
  EXPECT_EQ(state_.holds.at({"inv-1", 1}).quantity, 1);
}

TEST_F(StockLedgerTest, HoldingMoreThanFreeFailsAndChangesNothing) {
  Run(AdjustStock{3, "opening stock"});

  absl::Status status = Fail(Hold1("inv-1", 1, 4));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("not enough free stock: 3 free"));

  Run(Hold1("inv-2", 1, 2));
  status = Fail(Hold1("inv-2", 1, 4));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("not enough free stock: 1 free and 2 already held"));
  EXPECT_EQ(state_.holds.at({"inv-2", 1}).quantity, 2);
}

TEST_F(StockLedgerTest, IssueHeldIssuesAndReturnsRemainderToWaitingBackorder) {
  Run(AdjustStock{5, "opening stock"});
  Run(Hold1("inv-1", 1, 4));
  EXPECT_THAT(Fills(Run(Reg("bo-1", "debtor-A", 2, 1))),
              ElementsAre(Fill{"bo-1", 1, "registration"}));

  const Events events = Run(IssueHeld{"inv-1", 1, 1});

  ASSERT_THAT(Types(events), ElementsAre("StockIssued", "StockHoldReleased", "BackorderFilled"));
  EXPECT_EQ(events[0].stock_issued().on_hand(), 4);
  EXPECT_EQ(events[0].stock_issued().backorder_id(), "");
  EXPECT_EQ(events[1].stock_hold_released().quantity(), 3);
  EXPECT_THAT(Fills(events), ElementsAre(Fill{"bo-1", 1, "hold_released"}));
  EXPECT_THAT(state_.holds, IsEmpty());
  EXPECT_EQ(state_.on_hand, 4);
  EXPECT_EQ(state_.free, 2);
  EXPECT_EQ(state_.issued, 1);
}

TEST_F(StockLedgerTest, IssuingMoreThanHeldFails) {
  Run(AdjustStock{5, "opening stock"});
  Run(Hold1("inv-1", 1, 2));

  const absl::Status status = Fail(IssueHeld{"inv-1", 1, 3});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("only 2 held"));
}

TEST_F(StockLedgerTest, IssuingMoreThanFilledFails) {
  Run(Reg("bo-1", "debtor-A", 4, 1));
  Run(Receive(2));

  const absl::Status status = Fail(IssueBackorder{"bo-1", "inv-9", 1, 3});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("only 2 filled and not invoiced"));

  const Events events = Run(IssueBackorder{"bo-1", "inv-9", 1, 2});
  ASSERT_THAT(Types(events), ElementsAre("StockIssued"));
  EXPECT_EQ(events[0].stock_issued().backorder_id(), "bo-1");
  EXPECT_EQ(events[0].stock_issued().on_hand(), 0);
  EXPECT_EQ(Open("bo-1")->quantities.invoiced, 2);  // 2 still waiting: stays open
}

TEST_F(StockLedgerTest, FullyInvoicedBackorderClosesAndIgnoresRepeats) {
  Run(Reg("bo-1", "debtor-A", 3, 1));
  Run(Receive(3));
  Run(IssueBackorder{"bo-1", "inv-9", 1, 3});

  EXPECT_EQ(Open("bo-1"), nullptr);
  EXPECT_TRUE(closed_.contains("bo-1"));
  EXPECT_THAT(Run(Reg("bo-1", "debtor-A", 3, 1)), IsEmpty());
  EXPECT_THAT(Run(CancelBackorder{"bo-1", ""}), IsEmpty());
  EXPECT_EQ(Fail(IssueBackorder{"bo-1", "inv-9", 2, 1}).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(StockLedgerTest, AdjustDownBelowFreeFails) {
  Run(AdjustStock{5, "opening stock"});
  Run(Hold1("inv-1", 1, 2));
  Run(Reg("bo-1", "debtor-A", 1, 1));  // filled at once: free 2

  const absl::Status status = Fail(AdjustStock{-3, "stocktake"});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("only 2 free"));

  const Events events = Run(AdjustStock{-2, "stocktake"});
  EXPECT_EQ(events.at(0).stock_adjusted().on_hand(), 3);
  EXPECT_EQ(state_.free, 0);
  EXPECT_EQ(state_.adjusted, 3);
}

TEST_F(StockLedgerTest, AdjustUpFillsWaitingBackorders) {
  Run(Reg("bo-1", "debtor-A", 2, 1));

  const Events events = Run(AdjustStock{3, "stocktake found 3"});

  ASSERT_THAT(Types(events), ElementsAre("StockAdjusted", "BackorderFilled"));
  EXPECT_EQ(events[0].reason(), "stocktake found 3");
  EXPECT_EQ(events[0].stock_adjusted().delta(), 3);
  EXPECT_EQ(events[0].stock_adjusted().on_hand(), 3);
  EXPECT_THAT(Fills(events), ElementsAre(Fill{"bo-1", 2, "adjustment"}));
}

TEST_F(StockLedgerTest, ReleasedHoldFillsWaitingBackorder) {
  Run(AdjustStock{2, "opening stock"});
  Run(Hold1("inv-1", 1, 2));
  Run(Reg("bo-1", "debtor-A", 2, 1));

  const Events events = Run(ReleaseHold{"inv-1", 1, "abandoned"});

  ASSERT_THAT(Types(events), ElementsAre("StockHoldReleased", "BackorderFilled"));
  EXPECT_EQ(events[0].stock_hold_released().cause(), "abandoned");
  EXPECT_THAT(Fills(events), ElementsAre(Fill{"bo-1", 2, "hold_released"}));
  EXPECT_EQ(Fail(ReleaseHold{"inv-1", 1, "abandoned"}).code(), absl::StatusCode::kNotFound);
}

TEST_F(StockLedgerTest, RegisteringFillsFromFreeStockAndIsIdempotent) {
  Run(Receive(5));

  const Events events = Run(Reg("bo-1", "debtor-A", 3, 1));
  ASSERT_THAT(Types(events), ElementsAre("BackorderRegistered", "BackorderFilled"));
  EXPECT_THAT(Fills(events), ElementsAre(Fill{"bo-1", 3, "registration"}));
  EXPECT_EQ(events[1].backorder_filled().creditor_invoice_id(), "");

  EXPECT_THAT(Run(Reg("bo-1", "debtor-A", 3, 1)), IsEmpty());
  EXPECT_EQ(state_.backorders.size(), 1u);
  EXPECT_EQ(state_.free, 2);
}

TEST_F(StockLedgerTest, EventsCarryTheContextASubscriberNeeds) {
  Run(Reg("bo-1", "debtor-A", 2, 1));
  const Events events = Run(Receive(3, "ci-42"));

  const pb::StockReceived& received = events.at(0).stock_received();
  EXPECT_EQ(received.branch_id(), kBranch);
  EXPECT_EQ(received.part_number(), kPart);
  EXPECT_EQ(received.creditor_invoice_id(), "ci-42");
  EXPECT_EQ(received.stock_order_id(), "so-1");
  EXPECT_EQ(received.unit_cost().minor_units(), 3100);
  EXPECT_EQ(received.on_hand(), 3);

  const pb::BackorderFilled& filled = events.at(1).backorder_filled();
  EXPECT_EQ(filled.context().debtor_id(), "debtor-A");
  EXPECT_EQ(filled.context().invoice_id(), "inv-of-bo-1");
  EXPECT_EQ(filled.context().branch_id(), kBranch);
  EXPECT_EQ(filled.context().part_number(), kPart);
  EXPECT_EQ(filled.context().unit_price().minor_units(), 4250);
  EXPECT_EQ(filled.quantities().back_ordered(), 2);
  EXPECT_EQ(filled.quantities().filled(), 2);

  const Events held = Run(Hold1("inv-5", 3, 1, T(5'000)));
  const pb::StockHeld& hold = held.at(0).stock_held();
  EXPECT_EQ(hold.branch_id(), kBranch);
  EXPECT_EQ(hold.part_number(), kPart);
  EXPECT_EQ(hold.invoice_id(), "inv-5");
  EXPECT_EQ(hold.invoice_line(), 3);
  EXPECT_EQ(absl::FromUnixSeconds(hold.expires_at().seconds()) +
                absl::Nanoseconds(hold.expires_at().nanos()),
            T(5'000));
}

TEST_F(StockLedgerTest, ReplayingTheEventsRebuildsTheSameState) {
  Events all;
  for (const Command& c : std::vector<Command>{
           Reg("bo-2", "debtor-B", 3, 20), Receive(2), Reg("bo-1", "debtor-A", 2, 10), Receive(4),
           Hold1("inv-1", 1, 1), CancelBackorder{"bo-2", ""}, IssueBackorder{"bo-1", "inv-2", 1, 2},
           ExpireHolds{T(70'000)}}) {
    for (Event& e : Run(c)) all.push_back(std::move(e));
  }
  EXPECT_EQ(DebugString(ApplyAll(NewStockLedger(kBranch, kPart), all)), DebugString(state_));
}

// Streams written before BackorderRegistered/Released existed hold the same records under
// invoicing's BackorderCreated/BackorderCancelled types; they must fold to the same state.
TEST_F(StockLedgerTest, StreamsWithTheOlderRecordTypesFoldToTheSameState) {
  Events all;
  for (const Command& c : std::vector<Command>{
           Reg("bo-2", "debtor-B", 3, 20), Receive(2), Reg("bo-1", "debtor-A", 2, 10), Receive(4),
           CancelBackorder{"bo-2", ""}, IssueBackorder{"bo-1", "inv-2", 1, 2}}) {
    for (Event& e : Run(c)) all.push_back(std::move(e));
  }
  int rewritten = 0;
  for (Event& e : all) {
    if (e.has_backorder_registered()) {
      pb::BackorderCreated created;
      *created.mutable_context() = e.backorder_registered().context();
      created.set_quantity(e.backorder_registered().quantity());
      e.set_type("BackorderCreated");
      *e.mutable_backorder_created() = std::move(created);
      ++rewritten;
    } else if (e.has_backorder_released()) {
      const pb::BackorderReleased r = e.backorder_released();
      pb::BackorderCancelled* c = e.mutable_backorder_cancelled();
      *c->mutable_context() = r.context();
      c->set_quantity_cancelled(r.quantity_cancelled());
      c->set_filled_released(r.filled_released());
      *c->mutable_quantities() = r.quantities();
      e.set_type("BackorderCancelled");
      ++rewritten;
    }
  }
  ASSERT_EQ(rewritten, 3);
  const StockLedgerState old_stream = ApplyAll(NewStockLedger(kBranch, kPart), all);
  EXPECT_EQ(DebugString(old_stream), DebugString(state_));
  for (const Event& e : all) {
    if (e.has_backorder_cancelled()) {
      EXPECT_EQ(ClosedBy(old_stream, e), "bo-2");
    }
  }
}

TEST_F(StockLedgerTest, BadInputGetsTheRightStatusAndChangesNothing) {
  Run(AdjustStock{5, "opening stock"});
  Run(Hold1("inv-1", 1, 2));
  Run(Reg("bo-1", "debtor-A", 4, 1));  // 3 filled, 1 waiting

  RegisterBackorder no_id = Reg("", "debtor-A", 1, 1);
  RegisterBackorder other_branch = Reg("bo-9", "debtor-A", 1, 1);
  other_branch.context.set_branch_id("br-02");
  RegisterBackorder other_part = Reg("bo-9", "debtor-A", 1, 1);
  other_part.context.set_part_number("P-200");
  ReceiveStock negative_cost = Receive(1);
  negative_cost.unit_cost.set_minor_units(-1);

  using absl::StatusCode;
  struct Case {
    Command command;
    StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {AdjustStock{0, "stocktake"}, StatusCode::kInvalidArgument, "delta"},
      {AdjustStock{kMaxQuantity + 1, "x"}, StatusCode::kInvalidArgument, "delta"},
      {AdjustStock{2, ""}, StatusCode::kInvalidArgument, "reason"},
      {AdjustStock{-1, "stocktake"}, StatusCode::kFailedPrecondition, "only 0 free"},
      {Receive(0), StatusCode::kInvalidArgument, "quantity"},
      {Receive(-4), StatusCode::kInvalidArgument, "quantity"},
      {Receive(2, ""), StatusCode::kInvalidArgument, "creditor_invoice_id"},
      {negative_cost, StatusCode::kInvalidArgument, "unit_cost"},
      {Hold1("", 1, 1), StatusCode::kInvalidArgument, "invoice_id"},
      {Hold1("inv-2", 0, 1), StatusCode::kInvalidArgument, "line"},
      {Hold1("inv-2", 1, 0), StatusCode::kInvalidArgument, "quantity"},
      {Hold1("inv-2", 1, -3), StatusCode::kInvalidArgument, "quantity"},
      {Hold1("inv-2", 1, 1, absl::InfiniteFuture()), StatusCode::kInvalidArgument, "expires_at"},
      {Hold1("inv-2", 1, 1), StatusCode::kFailedPrecondition, "not enough free stock: 0 free"},
      {ReleaseHold{"inv-2", 1, "abandoned"}, StatusCode::kNotFound, "no hold"},
      {ReleaseHold{"inv-1", 1, "expired"}, StatusCode::kInvalidArgument, "cause"},
      {ReleaseHold{"", 1, "abandoned"}, StatusCode::kInvalidArgument, "invoice_id"},
      {IssueHeld{"inv-2", 1, 1}, StatusCode::kNotFound, "no hold"},
      {IssueHeld{"inv-1", -1, 1}, StatusCode::kInvalidArgument, "line"},
      {IssueHeld{"inv-1", 1, 0}, StatusCode::kInvalidArgument, "quantity"},
      {IssueHeld{"inv-1", 1, 3}, StatusCode::kFailedPrecondition, "only 2 held"},
      {no_id, StatusCode::kInvalidArgument, "context.backorder_id"},
      {other_branch, StatusCode::kInvalidArgument, "context.branch_id"},
      {other_part, StatusCode::kInvalidArgument, "context.part_number"},
      {Reg("bo-9", "debtor-A", 0, 1), StatusCode::kInvalidArgument, "quantity"},
      {CancelBackorder{"", ""}, StatusCode::kInvalidArgument, "backorder_id"},
      {CancelBackorder{"bo-9", ""}, StatusCode::kNotFound, "bo-9"},
      {IssueBackorder{"", "inv-3", 1, 1}, StatusCode::kInvalidArgument, "backorder_id"},
      {IssueBackorder{"bo-1", "", 1, 1}, StatusCode::kInvalidArgument, "invoice_id"},
      {IssueBackorder{"bo-1", "inv-3", 1, 0}, StatusCode::kInvalidArgument, "quantity"},
      {IssueBackorder{"bo-9", "inv-3", 1, 1}, StatusCode::kNotFound, "bo-9"},
      {IssueBackorder{"bo-1", "inv-3", 1, 4}, StatusCode::kFailedPrecondition, "only 3 filled"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("case ", i));
    const absl::Status status = Fail(cases[i].command);
    EXPECT_EQ(status.code(), cases[i].code) << status;
    EXPECT_THAT(status.message(), HasSubstr(cases[i].message));
  }
}

// ---- Property: conservation and the filling rule under any command sequence ----

// A command in a few small integers, so random generators (and RapidCheck's shrinking) work on
// plain data. Values are chosen to hit the same holds and back orders often, and to include bad
// input now and then.
struct Op {
  int kind;  // 0..8, the Command alternative
  int a;     // 0..9, quantity-like
  int b;     // 0..5, which invoice / back order
  int c;     // 0..11, line, debtor, timing, and the odd bad value
  friend std::ostream& operator<<(std::ostream& os, const Op& op) {
    return os << "Op{" << op.kind << "," << op.a << "," << op.b << "," << op.c << "}";
  }
};

Command ToCommand(const Op& op, absl::Time now) {
  const std::string invoice = absl::StrCat("inv-", op.b % 3);
  const int32_t line = op.c % 2 + 1;
  const std::string backorder = absl::StrCat("bo-", op.b);
  switch (op.kind) {
    case 0:
      return AdjustStock{op.a - 3, op.c == 0 ? "" : "stocktake"};
    case 1:
      return Receive(op.a, absl::StrCat("ci-", op.b));
    case 2:
      return HoldStock{invoice, line, op.a, now + absl::Milliseconds(10 * (op.c % 4))};
    case 3:
      return ReleaseHold{invoice, line,
                         op.c % 5 == 0 ? "expired" : (op.c % 2 ? "abandoned" : "changed")};
    case 4:
      return ExpireHolds{now};
    case 5:
      return IssueHeld{invoice, line, op.a};
    case 6: {
      RegisterBackorder r{
          Ctx(backorder, absl::StrCat("debtor-", op.c % 3), op.c == 11 ? "P-OTHER" : kPart), op.a,
          T(op.c * 7 % 5)};  // creation times collide and interleave
      return r;
    }
    case 7:
      return CancelBackorder{backorder, "customer"};
    default:
      return IssueBackorder{backorder, "inv-bo", 1, op.a % 4};
  }
}

// Runs `ops` from an empty ledger and checks, after every event: the invariants, that the event
// names its payload, reports on hand and back-order quantities as they now are, and fills the
// oldest waiting back order with all it can; after every command: that Decide left the state alone
// and is deterministic, that no stock stays free while a back order waits, that on hand moved by
// what the command said, and that errors are the expected kinds. At the end, replaying every event
// rebuilds the same state. Returns the first broken rule, or "".
std::string CheckSequence(const std::vector<Op>& ops, std::map<std::string, int>* seen = nullptr) {
  StockLedgerState s = NewStockLedger(kBranch, kPart);
  std::set<std::string> closed;  // what the service's repository records (ClosedBy)
  Events all;
  int64_t expected_on_hand = 0;
  for (size_t step = 0; step < ops.size(); ++step) {
    const absl::Time now = T(static_cast<int64_t>(step) * 10);
    Command command = ToCommand(ops[step], now);
    if (closed.contains(BackorderOf(command))) MarkClosed(&command);
    auto broken = [&](auto&&... parts) {
      const Op& op = ops[step];
      return absl::StrCat("step ", step, " Op{", op.kind, ",", op.a, ",", op.b, ",", op.c,
                          "}: ", parts..., "\n", DebugString(s));
    };

    const std::string before = DebugString(s);
    const absl::StatusOr<Events> decided = Decide(s, command);
    if (DebugString(s) != before) return broken("Decide changed the state");
    if (!decided.ok()) {
      const absl::StatusCode code = decided.status().code();
      if (code != absl::StatusCode::kInvalidArgument &&
          code != absl::StatusCode::kFailedPrecondition && code != absl::StatusCode::kNotFound) {
        return broken("unexpected status ", decided.status().ToString());
      }
      if (seen != nullptr) ++(*seen)[absl::StatusCodeToString(code)];
      continue;
    }
    const absl::StatusOr<Events> again = Decide(s, command);
    if (!again.ok() || again->size() != decided->size()) return broken("Decide not deterministic");
    for (size_t i = 0; i < decided->size(); ++i) {
      if ((*again)[i].SerializeAsString() != (*decided)[i].SerializeAsString()) {
        return broken("Decide not deterministic at event ", i);
      }
    }

    if (seen != nullptr && decided->empty()) ++(*seen)["no events"];
    for (const Event& e : *decided) {
      if (seen != nullptr) {
        ++(*seen)[e.has_backorder_filled() ? "BackorderFilled/" + e.backorder_filled().source()
                                           : e.type()];
      }
      if (e.type() != PayloadName(e)) return broken("type ", e.type(), " != ", PayloadName(e));
      if (e.has_backorder_filled()) {
        const pb::BackorderFilled& f = e.backorder_filled();
        const OpenBackorder* oldest = nullptr;
        for (const OpenBackorder& b : s.backorders) {
          if (b.quantities.waiting() > 0) {
            oldest = &b;
            break;
          }
        }
        if (oldest == nullptr || oldest->context.backorder_id() != f.context().backorder_id()) {
          return broken("filled ", f.context().backorder_id(), " but not the oldest waiting");
        }
        if (f.quantity() != std::min(s.free, oldest->quantities.waiting())) {
          return broken("filled ", f.quantity(), " not as much as it could");
        }
      }
      if (e.has_backorder_released()) {
        const pb::BackorderReleased& c = e.backorder_released();
        const pb::BackorderQuantities& q = c.quantities();
        const OpenBackorder* b = nullptr;
        for (const OpenBackorder& o : s.backorders) {
          if (o.context.backorder_id() == c.context().backorder_id()) b = &o;
        }
        if (b == nullptr || c.filled_released() != b->quantities.ready() ||
            q.invoiced() != b->quantities.invoiced || q.filled() != q.invoiced() ||
            q.cancelled() != q.back_ordered() - q.invoiced() ||
            c.quantity_cancelled() != q.cancelled()) {
          return broken("BackorderReleased quantities inconsistent: ", c.ShortDebugString());
        }
      }
      if (e.has_backorder_registered() &&
          closed.contains(e.backorder_registered().context().backorder_id())) {
        return broken("registered ", e.backorder_registered().context().backorder_id(),
                      " again after it closed");
      }
      s = Apply(std::move(s), e);
      if (std::string id = ClosedBy(s, e); !id.empty()) {
        for (const OpenBackorder& b : s.backorders) {
          if (b.context.backorder_id() == id) return broken("closed ", id, " is still open");
        }
        closed.insert(id);
      }
      if (absl::Status status = CheckInvariants(s); !status.ok()) {
        return broken(status.ToString(), " after ", e.ShortDebugString());
      }
      int64_t reported_on_hand = s.on_hand;
      if (e.has_stock_adjusted()) {
        reported_on_hand = e.stock_adjusted().on_hand();
      } else if (e.has_stock_received()) {
        reported_on_hand = e.stock_received().on_hand();
      } else if (e.has_stock_issued()) {
        reported_on_hand = e.stock_issued().on_hand();
      } else if (e.has_backorder_filled()) {
        const pb::BackorderQuantities& q = e.backorder_filled().quantities();
        const OpenBackorder* b = nullptr;
        for (const OpenBackorder& o : s.backorders) {
          if (o.context.backorder_id() == e.backorder_filled().context().backorder_id()) b = &o;
        }
        if (b == nullptr || b->quantities.filled != q.filled() ||
            b->quantities.back_ordered != q.back_ordered() ||
            b->quantities.invoiced != q.invoiced()) {
          return broken("BackorderFilled quantities differ from the state");
        }
      }
      if (reported_on_hand != s.on_hand) return broken("event reports on hand ", reported_on_hand);
    }

    // What the command itself said about on hand, independent of the events' own figures.
    if (!decided->empty()) {
      if (const auto* c = std::get_if<AdjustStock>(&command)) expected_on_hand += c->delta;
      if (const auto* c = std::get_if<ReceiveStock>(&command)) expected_on_hand += c->quantity;
      if (const auto* c = std::get_if<IssueHeld>(&command)) expected_on_hand -= c->quantity;
      if (const auto* c = std::get_if<IssueBackorder>(&command)) expected_on_hand -= c->quantity;
    }
    if (s.on_hand != expected_on_hand) return broken("on hand drifted from ", expected_on_hand);
    for (size_t i = 1; i < s.backorders.size(); ++i) {
      const OpenBackorder& a = s.backorders[i - 1];
      const OpenBackorder& b = s.backorders[i];
      if (a.created_at > b.created_at ||
          (a.created_at == b.created_at && a.context.backorder_id() >= b.context.backorder_id())) {
        return broken("queue not in creation order at ", b.context.backorder_id());
      }
    }
    if (s.free > 0) {
      for (const OpenBackorder& b : s.backorders) {
        if (b.quantities.waiting() > 0) {
          return broken("back order ", b.context.backorder_id(), " waits while stock is free");
        }
      }
    }
    if (std::holds_alternative<ExpireHolds>(command)) {
      for (const auto& [key, hold] : s.holds) {
        if (hold.expires_at <= now) return broken("hold for ", key.first, " outlived expiry");
      }
    }
    for (const Event& e : *decided) all.push_back(e);
  }
  const StockLedgerState rebuilt = ApplyAll(NewStockLedger(kBranch, kPart), all);
  if (DebugString(rebuilt) != DebugString(s)) {
    return absl::StrCat("replay differs:\n", DebugString(rebuilt), "vs\n", DebugString(s));
  }
  return "";
}

TEST(StockLedgerPropertyTest, ConservationHoldsAfterRandomCommandSequences) {
  constexpr int kSequences = 2000;
  int commands = 0;
  std::map<std::string, int> seen;
  for (int seed = 1; seed <= kSequences; ++seed) {
    std::mt19937 rng(seed);
    std::vector<Op> ops(std::uniform_int_distribution<int>(1, 60)(rng));
    for (Op& op : ops) {
      op = Op{std::uniform_int_distribution<int>(0, 8)(rng),
              std::uniform_int_distribution<int>(0, 9)(rng),
              std::uniform_int_distribution<int>(0, 5)(rng),
              std::uniform_int_distribution<int>(0, 11)(rng)};
    }
    commands += static_cast<int>(ops.size());
    const std::string failure = CheckSequence(ops, &seen);
    ASSERT_EQ(failure, "") << "seed " << seed;
  }
  // The generator must keep reaching every path, or the property proves little.
  std::string summary = absl::StrCat(commands, " commands:");
  for (const auto& [what, count] : seen) absl::StrAppend(&summary, " ", what, "=", count);
  std::cout << summary << "\n";
  for (const char* what :
       {"StockAdjusted", "StockReceived", "StockHeld", "StockHoldReleased", "StockIssued",
        "BackorderRegistered", "BackorderReleased", "BackorderFilled/receipt",
        "BackorderFilled/adjustment", "BackorderFilled/hold_released",
        "BackorderFilled/cancellation", "BackorderFilled/registration", "INVALID_ARGUMENT",
        "FAILED_PRECONDITION", "NOT_FOUND", "no events"}) {
    EXPECT_GT(seen[what], 0) << what << " never happened; " << summary;
  }
}

#ifdef BO_HAVE_RAPIDCHECK
RC_GTEST_PROP(StockLedgerPropertyTest, ConservationHoldsForAnyCommandSequence, ()) {
  const std::vector<Op> ops = *rc::gen::container<std::vector<Op>>(
      rc::gen::construct<Op>(rc::gen::inRange(0, 9), rc::gen::inRange(0, 10),
                             rc::gen::inRange(0, 6), rc::gen::inRange(0, 12)));
  const std::string failure = CheckSequence(ops);
  if (!failure.empty()) RC_FAIL(failure);
}
#endif

}  // namespace
}  // namespace bo::receiving
