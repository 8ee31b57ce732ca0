// The stock-order rules, without storage: request checks, Get back orders' filter, ticking
// (back orders of one part share a line), shelf stock, and finalising with drops.
#include "services/purchasing/stock_order.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/common/backorder_view.h"

namespace bo::purchasing {
namespace {
namespace pb = backorder::v1;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

pb::Backorder View(const std::string& id, const std::string& part, int64_t back_ordered,
                   int64_t filled = 0, const std::string& supplier = "S1",
                   const std::string& branch = "B1") {
  pb::Backorder v;
  pb::BackorderContext* c = v.mutable_context();
  c->set_backorder_id(id);
  c->set_debtor_id("D-" + id);
  c->set_branch_id(branch);
  c->set_invoice_id("INV-" + id);
  c->set_invoice_line(1);
  c->set_part_number(part);
  c->set_supplier_id(supplier);
  v.mutable_quantities()->set_back_ordered(back_ordered);
  v.mutable_quantities()->set_filled(filled);
  v.mutable_created_at()->set_seconds(1'600'000'000);
  v.set_state(DeriveState(v.quantities(), false));
  return v;
}

pb::StockOrder Draft(const std::string& id = "SO-B1-000001") {
  pb::CreateStockOrderRequest r;
  r.set_branch_id("B1");
  r.set_supplier_id("S1");
  return NewStockOrder(id, r, "clerk:anna", kNow);
}

std::map<std::string, pb::Backorder> ById(const std::vector<pb::Backorder>& views) {
  std::map<std::string, pb::Backorder> out;
  for (const auto& v : views) out[v.context().backorder_id()] = v;
  return out;
}

// ---- Request checks ----

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(CheckRequest, NamesTheFieldAsItsRequestPath) {
  pb::AddBackorderLinesToOrderRequest add;
  add.set_request_id("r1");
  add.set_stock_order_id("SO-B1-000001");
  add.add_backorder_ids("BO-1");
  add.add_backorder_ids("BO-2");
  add.add_backorder_ids("BO-1");
  EXPECT_EQ(CheckRequest(add).message(), "backorder_ids[2]: repeats backorder_ids[0] (BO-1)");
  add.set_backorder_ids(2, "BO 3");
  EXPECT_EQ(CheckRequest(add).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Message(CheckRequest(add)).starts_with("backorder_ids[2]: "));
  add.set_backorder_ids(2, "BO-3");
  EXPECT_TRUE(CheckRequest(add).ok());
  add.clear_backorder_ids();
  EXPECT_TRUE(Message(CheckRequest(add)).starts_with("backorder_ids: "));
  for (int i = 0; i <= kMaxBackordersPerRequest; ++i)
    add.add_backorder_ids("BO-" + std::to_string(i));
  EXPECT_TRUE(Message(CheckRequest(add)).starts_with("backorder_ids: at most"));

  pb::AddStockLineRequest line;
  line.set_request_id("r1");
  line.set_stock_order_id("SO-B1-000001");
  line.set_part_number("P1");
  EXPECT_TRUE(Message(CheckRequest(line)).starts_with("quantity: "));
  line.set_quantity(-1);
  EXPECT_TRUE(Message(CheckRequest(line)).starts_with("quantity: "));
  line.set_quantity(2);
  EXPECT_TRUE(CheckRequest(line).ok());
  line.clear_request_id();
  EXPECT_TRUE(Message(CheckRequest(line)).starts_with("request_id: "));

  pb::CreateStockOrderRequest create;
  create.set_request_id("r1");
  create.set_branch_id("B1");
  create.set_supplier_id("S1");
  create.set_reference(std::string(200, 'x'));
  EXPECT_TRUE(CheckRequest(create).ok());
  create.set_reference(std::string(201, 'x'));
  EXPECT_TRUE(Message(CheckRequest(create)).starts_with("reference: "));
  create.clear_reference();
  create.set_branch_id(std::string(kMaxBranchIdLength + 1, 'B'));
  EXPECT_TRUE(Message(CheckRequest(create)).starts_with("branch_id: "));
  create.set_branch_id(std::string(kMaxBranchIdLength, 'B'));
  EXPECT_TRUE(CheckRequest(create).ok());
  EXPECT_EQ(StockOrderId(create.branch_id(), 999999).size(), 64u);
  create.clear_supplier_id();
  EXPECT_TRUE(Message(CheckRequest(create)).starts_with("supplier_id: "));

  pb::ListStockOrdersRequest list;
  EXPECT_TRUE(CheckRequest(list).ok());
  list.set_status(static_cast<pb::StockOrderStatus>(7));
  EXPECT_TRUE(Message(CheckRequest(list)).starts_with("status: "));
  list.set_status(pb::STOCK_ORDER_STATUS_PLACED);
  list.set_page_size(1001);
  EXPECT_TRUE(Message(CheckRequest(list)).starts_with("page_size: "));
}

TEST(StockOrderId, IsTheBranchAndASixDigitCounter) {
  EXPECT_EQ(StockOrderId("B1", 1), "SO-B1-000001");
  EXPECT_EQ(StockOrderId("NORTH", 123456), "SO-NORTH-123456");
  EXPECT_EQ(StockOrderId("B1", 1234567), "SO-B1-1234567");
}

TEST(NewStockOrder, IsAnEmptyDraft) {
  pb::StockOrder o = Draft();
  EXPECT_EQ(o.status(), pb::STOCK_ORDER_STATUS_DRAFT);
  EXPECT_EQ(o.created_by(), "clerk:anna");
  EXPECT_EQ(o.created_at().seconds(), 1'700'000'000);
  EXPECT_TRUE(o.lines().empty());
}

// ---- Which back orders may be ordered ----

TEST(Orderable, OnlyWaitingBackordersNotOnOrder) {
  EXPECT_TRUE(Orderable(View("BO-1", "P1", 5)));
  EXPECT_TRUE(Orderable(View("BO-1", "P1", 5, 2)));   // partly filled: 3 still waiting
  EXPECT_FALSE(Orderable(View("BO-1", "P1", 5, 5)));  // filled

  pb::Backorder on_order = View("BO-1", "P1", 5);
  MarkOnOrder(&on_order, "SO-B1-000009", 1, {});
  EXPECT_FALSE(Orderable(on_order));

  pb::Backorder cancelled = View("BO-1", "P1", 5);
  cancelled.mutable_quantities()->set_cancelled(5);
  EXPECT_FALSE(Orderable(cancelled));

  pb::Backorder not_created = View("BO-1", "P1", 5);
  not_created.clear_created_at();  // only a fill has arrived so far
  EXPECT_FALSE(Orderable(not_created));
}

TEST(CheckOrderable, SaysWhyNot) {
  const pb::StockOrder order = Draft();
  EXPECT_TRUE(CheckOrderable(View("BO-1", "P1", 5), order).ok());

  pb::Backorder on_order = View("BO-1", "P1", 5);
  MarkOnOrder(&on_order, "SO-B1-000009", 1, {});
  absl::Status s = CheckOrderable(on_order, order);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "back order BO-1 is already on stock order SO-B1-000009");

  s = CheckOrderable(View("BO-2", "P1", 5, 0, "S1", "B2"), order);
  EXPECT_EQ(s.message(), "back order BO-2 is for branch B2, not this order's branch B1");

  pb::Backorder cancelled = View("BO-3", "P1", 5);
  cancelled.mutable_quantities()->set_cancelled(5);
  EXPECT_EQ(CheckOrderable(cancelled, order).message(), "back order BO-3 is cancelled");

  EXPECT_EQ(CheckOrderable(View("BO-4", "P1", 5, 5), order).message(),
            "back order BO-4 is not waiting for stock (FILLED: 5 of 5 filled)");
}

TEST(ListedFor, ThisSupplierOnlyOrTheWholeBranch) {
  pb::StockOrder order = Draft();
  const pb::Backorder mine = View("BO-1", "P1", 5, 0, "S1");
  const pb::Backorder other_supplier = View("BO-2", "P2", 5, 0, "S2");
  const pb::Backorder other_branch = View("BO-3", "P1", 5, 0, "S1", "B2");
  EXPECT_TRUE(ListedFor(mine, order, true));
  EXPECT_TRUE(ListedFor(mine, order, false));
  EXPECT_FALSE(ListedFor(other_supplier, order, true));
  EXPECT_TRUE(ListedFor(other_supplier, order, false));
  EXPECT_FALSE(ListedFor(other_branch, order, false));

  // Once ticked onto this draft it is not offered again.
  order = *AddBackorders(order, {mine});
  EXPECT_FALSE(ListedFor(mine, order, false));
}

// ---- Ticking ----

TEST(AddBackorders, BackordersOfOnePartShareALineAndStayTraceable) {
  auto order = AddBackorders(
      Draft(), {View("BO-1", "P1", 2), View("BO-2", "P2", 4), View("BO-3", "P1", 5, 2)});
  ASSERT_TRUE(order.ok()) << order.status();
  ASSERT_EQ(order->lines_size(), 2);
  const auto& p1 = order->lines(0);
  EXPECT_EQ(p1.line(), 1);
  EXPECT_EQ(p1.part_number(), "P1");
  EXPECT_EQ(p1.quantity(), 2 + 3);  // BO-3 has 3 waiting
  EXPECT_EQ(p1.shelf_quantity(), 0);
  ASSERT_EQ(p1.backorders_size(), 2);
  EXPECT_EQ(p1.backorders(0).backorder_id(), "BO-1");
  EXPECT_EQ(p1.backorders(0).quantity(), 2);
  EXPECT_EQ(p1.backorders(1).backorder_id(), "BO-3");
  EXPECT_EQ(p1.backorders(1).quantity(), 3);
  EXPECT_EQ(p1.backorders(1).debtor_id(), "D-BO-3");
  EXPECT_EQ(p1.backorders(1).invoice_id(), "INV-BO-3");
  EXPECT_EQ(p1.backorders(1).invoice_line(), 1);
  EXPECT_EQ(order->lines(1).line(), 2);
  EXPECT_EQ(order->lines(1).part_number(), "P2");
  EXPECT_EQ(order->lines(1).quantity(), 4);

  // A later tick of P1 joins line 1.
  order = AddBackorders(*order, {View("BO-4", "P1", 1)});
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->lines_size(), 2);
  EXPECT_EQ(order->lines(0).quantity(), 6);
  EXPECT_EQ(order->lines(0).backorders_size(), 3);
  EXPECT_EQ(LineOf(*order, "BO-4"), 1);
  EXPECT_EQ(LineOf(*order, "BO-2"), 2);
  EXPECT_EQ(LineOf(*order, "BO-9"), 0);
}

TEST(AddBackorders, ABackorderOfAnotherSupplierIsAllowed) {
  auto order = AddBackorders(Draft(), {View("BO-1", "P1", 2, 0, "S2")});
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->lines(0).quantity(), 2);
}

TEST(AddBackorders, RefusesAllOrNothing) {
  const pb::StockOrder draft = *AddBackorders(Draft(), {View("BO-1", "P1", 2)});

  // Already on this draft.
  auto again = AddBackorders(draft, {View("BO-2", "P1", 1), View("BO-1", "P1", 2)});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.status().message(), "back order BO-1 is already on this stock order (line 1)");

  // On another order.
  pb::Backorder taken = View("BO-2", "P1", 2);
  MarkOnOrder(&taken, "SO-B1-000007", 3, {});
  auto refused = AddBackorders(draft, {View("BO-3", "P2", 1), taken});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(), "back order BO-2 is already on stock order SO-B1-000007");

  // Twice in one call.
  EXPECT_EQ(AddBackorders(draft, {View("BO-5", "P1", 1), View("BO-5", "P1", 1)}).status().code(),
            absl::StatusCode::kInvalidArgument);

  // A placed order takes nothing more.
  pb::StockOrder placed = draft;
  placed.set_status(pb::STOCK_ORDER_STATUS_PLACED);
  EXPECT_EQ(AddBackorders(placed, {View("BO-6", "P1", 1)}).status().message(),
            "stock order SO-B1-000001 is already placed");
}

// ---- Shelf stock ----

TEST(AddShelfStock, JoinsThePartsLineOrAddsOne) {
  pb::StockOrder order = *AddBackorders(Draft(), {View("BO-1", "P1", 2)});
  order = *AddShelfStock(order, "P1", 10);
  order = *AddShelfStock(order, "P7", 3);
  order = *AddShelfStock(order, "P7", 1);
  ASSERT_EQ(order.lines_size(), 2);
  EXPECT_EQ(order.lines(0).quantity(), 12);
  EXPECT_EQ(order.lines(0).shelf_quantity(), 10);
  EXPECT_EQ(order.lines(0).backorders_size(), 1);
  EXPECT_EQ(order.lines(1).line(), 2);
  EXPECT_EQ(order.lines(1).part_number(), "P7");
  EXPECT_EQ(order.lines(1).quantity(), 4);
  EXPECT_EQ(order.lines(1).shelf_quantity(), 4);

  EXPECT_EQ(AddShelfStock(order, "P7", kMaxLineQuantity).status().code(),
            absl::StatusCode::kFailedPrecondition);
  order.set_status(pb::STOCK_ORDER_STATUS_PLACED);
  EXPECT_EQ(AddShelfStock(order, "P7", 1).status().code(), absl::StatusCode::kFailedPrecondition);
}

// ---- Finalising ----

TEST(Finalise, PlacesEveryLineWithItsBackorders) {
  const std::vector<pb::Backorder> views = {View("BO-1", "P1", 2), View("BO-2", "P1", 3),
                                            View("BO-3", "P2", 1)};
  pb::StockOrder draft = *AddBackorders(Draft(), views);
  draft = *AddShelfStock(draft, "P2", 5);
  auto placed = Finalise(draft, ById(views), kNow + absl::Minutes(5));
  ASSERT_TRUE(placed.ok()) << placed.status();

  EXPECT_EQ(placed->order.status(), pb::STOCK_ORDER_STATUS_PLACED);
  EXPECT_EQ(placed->order.placed_at().seconds(), 1'700'000'300);
  EXPECT_TRUE(placed->order.dropped_backorder_ids().empty());
  EXPECT_EQ(placed->order.lines_size(), 2);

  const pb::EventEnvelope& e = placed->event;
  EXPECT_EQ(e.type(), "StockOrderPlaced");
  EXPECT_EQ(e.branch_id(), "B1");
  const pb::StockOrderPlaced& p = e.stock_order_placed();
  EXPECT_EQ(p.stock_order_id(), "SO-B1-000001");
  EXPECT_EQ(p.branch_id(), "B1");
  EXPECT_EQ(p.supplier_id(), "S1");
  ASSERT_EQ(p.lines_size(), 2);
  EXPECT_EQ(p.lines(0).line(), 1);
  EXPECT_EQ(p.lines(0).part_number(), "P1");
  EXPECT_EQ(p.lines(0).quantity(), 5);
  ASSERT_EQ(p.lines(0).backorders_size(), 2);
  EXPECT_EQ(p.lines(0).backorders(0).backorder_id(), "BO-1");
  EXPECT_EQ(p.lines(0).backorders(0).quantity(), 2);
  EXPECT_EQ(p.lines(0).backorders(1).backorder_id(), "BO-2");
  EXPECT_EQ(p.lines(0).backorders(1).quantity(), 3);
  EXPECT_EQ(p.lines(1).part_number(), "P2");
  EXPECT_EQ(p.lines(1).quantity(), 6);  // 1 for BO-3, 5 for the shelf
  ASSERT_EQ(p.lines(1).backorders_size(), 1);

  const std::vector<std::pair<std::string, int32_t>> on_order = {
      {"BO-1", 1}, {"BO-2", 1}, {"BO-3", 2}};
  EXPECT_EQ(placed->on_order, on_order);
}

TEST(Finalise, LeavesOffBackordersThatWentElsewhereOrStoppedWaiting) {
  std::vector<pb::Backorder> ticked = {View("BO-1", "P1", 2), View("BO-2", "P2", 3),
                                       View("BO-3", "P3", 1), View("BO-4", "P3", 4),
                                       View("BO-5", "P4", 1)};
  pb::StockOrder draft = *AddBackorders(Draft(), ticked);
  draft = *AddShelfStock(draft, "P2", 2);

  auto now = ById(ticked);
  MarkOnOrder(&now["BO-1"], "SO-B1-000002", 1, {});    // another order took it
  now["BO-3"].mutable_quantities()->set_filled(1);     // filled from other stock
  now["BO-4"].mutable_quantities()->set_filled(1);     // partly filled: still placed, as ticked
  now["BO-5"].mutable_quantities()->set_cancelled(1);  // cancelled
  now.erase("BO-2");                                   // unknown (counts as gone)

  auto placed = Finalise(draft, now, kNow);
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ(std::vector<std::string>(placed->order.dropped_backorder_ids().begin(),
                                     placed->order.dropped_backorder_ids().end()),
            (std::vector<std::string>{"BO-1", "BO-2", "BO-3", "BO-5"}));
  // P1 and P4 had nothing else and are gone; P2 keeps its shelf stock; P3 keeps BO-4. The lines
  // are numbered again from 1.
  const auto& lines = placed->order.lines();
  ASSERT_EQ(lines.size(), 2);
  EXPECT_EQ(lines[0].line(), 1);
  EXPECT_EQ(lines[0].part_number(), "P2");
  EXPECT_EQ(lines[0].quantity(), 2);
  EXPECT_TRUE(lines[0].backorders().empty());
  EXPECT_EQ(lines[1].line(), 2);
  EXPECT_EQ(lines[1].part_number(), "P3");
  EXPECT_EQ(lines[1].quantity(), 4);
  ASSERT_EQ(lines[1].backorders_size(), 1);
  EXPECT_EQ(lines[1].backorders(0).backorder_id(), "BO-4");

  const auto& p = placed->event.stock_order_placed();
  ASSERT_EQ(p.lines_size(), 2);
  EXPECT_EQ(p.lines(1).backorders(0).backorder_id(), "BO-4");
  const std::vector<std::pair<std::string, int32_t>> on_order = {{"BO-4", 2}};
  EXPECT_EQ(placed->on_order, on_order);
}

TEST(Finalise, RefusesWhatCannotBePlaced) {
  EXPECT_EQ(Finalise(Draft(), {}, kNow).status().code(), absl::StatusCode::kFailedPrecondition);

  const pb::Backorder bo = View("BO-1", "P1", 2);
  const pb::StockOrder draft = *AddBackorders(Draft(), {bo});
  auto placed = Finalise(draft, ById({bo}), kNow);
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(Finalise(placed->order, ById({bo}), kNow).status().message(),
            "stock order SO-B1-000001 is already placed");

  // Everything on it went elsewhere: placed empty, saying why.
  pb::Backorder filled = bo;
  filled.mutable_quantities()->set_filled(2);
  auto empty = Finalise(draft, ById({filled}), kNow);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->order.status(), pb::STOCK_ORDER_STATUS_PLACED);
  EXPECT_TRUE(empty->order.lines().empty());
  EXPECT_EQ(empty->order.dropped_backorder_ids_size(), 1);
  EXPECT_TRUE(empty->event.stock_order_placed().lines().empty());
  EXPECT_TRUE(empty->on_order.empty());
}

// Two drafts tick the same back order; whichever is finalised first takes it, the other drops it,
// and nothing can tick it afterwards.
TEST(Finalise, NeverPutsABackorderOnTwoOrders) {
  std::map<std::string, pb::Backorder> views = ById({View("BO-1", "P1", 2), View("BO-2", "P2", 1)});
  const pb::StockOrder first = *AddBackorders(Draft("SO-B1-000001"), {views["BO-1"]});
  const pb::StockOrder second =
      *AddBackorders(Draft("SO-B1-000002"), {views["BO-1"], views["BO-2"]});

  auto placed = Finalise(first, views, kNow);
  ASSERT_TRUE(placed.ok());
  for (const auto& [id, line] : placed->on_order) {
    MarkOnOrder(&views[id], placed->order.stock_order_id(), line, {});
  }

  auto other = Finalise(second, views, kNow);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->order.dropped_backorder_ids_size(), 1);
  EXPECT_EQ(other->order.dropped_backorder_ids(0), "BO-1");
  const std::vector<std::pair<std::string, int32_t>> on_order = {{"BO-2", 1}};
  EXPECT_EQ(other->on_order, on_order);

  EXPECT_EQ(AddBackorders(Draft("SO-B1-000003"), {views["BO-1"]}).status().message(),
            "back order BO-1 is already on stock order SO-B1-000001");
}

}  // namespace
}  // namespace bo::purchasing
