// The purchasing service over a real Database and EventStore in a temporary directory, with the
// reactions fed by hand (ConsumedRecords carrying serialised envelopes): Get back orders, ticking,
// finalising into the outbox, idempotent retries, and bad input changing nothing.
#include "services/purchasing/purchasing_service.h"

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/core/ids.h"
#include "libs/store/store_fixture.h"
#include "services/common/backorder_view.h"
#include "services/common/command_support.h"
#include "services/common/restore_test_support.h"
#include "services/common/topics.h"

namespace bo::purchasing {
namespace {
namespace pb = backorder::v1;

pb::BackorderContext Context(const std::string& id, const std::string& part,
                             const std::string& supplier, const std::string& branch) {
  pb::BackorderContext c;
  c.set_backorder_id(id);
  c.set_debtor_id("D1");
  c.set_branch_id(branch);
  c.set_invoice_id("INV-" + branch + "-000001");
  c.set_invoice_line(1);
  c.set_part_number(part);
  c.set_supplier_id(supplier);
  return c;
}

pb::EventEnvelope Envelope(const std::string& type, int64_t second) {
  pb::EventEnvelope e;
  e.set_event_id(NewUuidV7());
  e.set_type(type);
  e.mutable_occurred_at()->set_seconds(second);
  return e;
}

pb::EventEnvelope Created(const std::string& id, const std::string& part, int64_t quantity,
                          int64_t second, const std::string& supplier = "S1",
                          const std::string& branch = "B1") {
  pb::EventEnvelope e = Envelope("BackorderCreated", second);
  e.set_branch_id(branch);
  *e.mutable_backorder_created()->mutable_context() = Context(id, part, supplier, branch);
  e.mutable_backorder_created()->set_quantity(quantity);
  return e;
}

pb::EventEnvelope Filled(const std::string& id, const std::string& part, int64_t back_ordered,
                         int64_t filled, int64_t second, const std::string& supplier = "S1") {
  pb::EventEnvelope e = Envelope("BackorderFilled", second);
  e.set_branch_id("B1");
  auto* p = e.mutable_backorder_filled();
  *p->mutable_context() = Context(id, part, supplier, "B1");
  p->set_quantity(filled);
  p->mutable_quantities()->set_back_ordered(back_ordered);
  p->mutable_quantities()->set_filled(filled);
  p->set_source("receipt");
  return e;
}

pb::EventEnvelope Cancelled(const std::string& id, const std::string& part, int64_t back_ordered,
                            int64_t second) {
  pb::EventEnvelope e = Envelope("BackorderCancelled", second);
  e.set_branch_id("B1");
  e.set_reason("customer went elsewhere");
  auto* p = e.mutable_backorder_cancelled();
  *p->mutable_context() = Context(id, part, "S1", "B1");
  p->set_quantity_cancelled(back_ordered);
  p->mutable_quantities()->set_back_ordered(back_ordered);
  p->mutable_quantities()->set_cancelled(back_ordered);
  return e;
}

std::vector<std::string> Ids(const pb::GetBackordersResponse& r) {
  std::vector<std::string> ids;
  for (const auto& b : r.backorders()) ids.push_back(b.context().backorder_id());
  return ids;
}

class PurchasingServiceTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    service_ = std::make_unique<PurchasingService>(store_.get(), Access::Insecure(), [this] {
      return absl::FromUnixSeconds(1'700'000'000) + absl::Seconds(++tick_);
    });
  }
  void TearDown() override {
    service_.reset();
    StoreFixture::TearDown();
  }

  // Feeds one event to the reaction as the consumer would.
  absl::Status Feed(const pb::EventEnvelope& e, const std::string& topic = kInvoicingTopic) {
    const std::string value = e.SerializeAsString();
    kafka::ConsumedRecord r;
    r.topic = topic;
    r.partition = 0;
    r.offset = offset_++;
    r.value = value;
    r.event_id = e.event_id();
    r.type = e.type();
    return service_->React(r);
  }

  // A dump of everything a call could change: state, streams, answers and the outbox.
  std::map<std::string, std::string> Dump() {
    std::map<std::string, std::string> out;
    for (std::string_view family :
         {kStateFamily, kEventsFamily, kIdempotencyFamily, kOutboxFamily}) {
      absl::Status s = db_->Scan(family, "", "", [&](std::string_view k, std::string_view v) {
        out[absl::StrCat(std::string(family), "|", std::string(k))] = std::string(v);
        return true;
      });
      EXPECT_TRUE(s.ok()) << s;
    }
    return out;
  }

  grpc::Status Create(const std::string& request_id, pb::StockOrder* out,
                      const std::string& supplier = "S1", const std::string& branch = "B1") {
    pb::CreateStockOrderRequest r;
    r.set_request_id(request_id);
    r.set_branch_id(branch);
    r.set_supplier_id(supplier);
    r.set_reference("weekly order");
    return service_->CreateStockOrder(nullptr, &r, out);
  }
  pb::StockOrder MustCreate(const std::string& request_id, const std::string& supplier = "S1") {
    pb::StockOrder o;
    grpc::Status s = Create(request_id, &o, supplier);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return o;
  }
  pb::GetBackordersResponse Backorders(const std::string& stock_order_id, bool this_supplier_only) {
    pb::GetBackordersRequest r;
    r.set_stock_order_id(stock_order_id);
    r.set_this_supplier_only(this_supplier_only);
    pb::GetBackordersResponse out;
    grpc::Status s = service_->GetBackorders(nullptr, &r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  grpc::Status Tick(const std::string& request_id, const std::string& stock_order_id,
                    const std::vector<std::string>& ids, pb::StockOrder* out) {
    pb::AddBackorderLinesToOrderRequest r;
    r.set_request_id(request_id);
    r.set_stock_order_id(stock_order_id);
    for (const auto& id : ids) r.add_backorder_ids(id);
    return service_->AddBackorderLines(nullptr, &r, out);
  }
  grpc::Status Shelf(const std::string& request_id, const std::string& stock_order_id,
                     const std::string& part, int64_t quantity, pb::StockOrder* out) {
    pb::AddStockLineRequest r;
    r.set_request_id(request_id);
    r.set_stock_order_id(stock_order_id);
    r.set_part_number(part);
    r.set_quantity(quantity);
    return service_->AddStockLine(nullptr, &r, out);
  }
  grpc::Status Finalise(const std::string& request_id, const std::string& stock_order_id,
                        pb::StockOrder* out) {
    pb::FinaliseStockOrderRequest r;
    r.set_request_id(request_id);
    r.set_stock_order_id(stock_order_id);
    return service_->FinaliseStockOrder(nullptr, &r, out);
  }
  pb::Backorder View(const std::string& id) {
    pb::GetPurchasingBackorderRequest r;
    r.set_backorder_id(id);
    pb::Backorder out;
    grpc::Status s = service_->GetBackorder(nullptr, &r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  // The events in the outbox of `type` (every one is checked: topic, key, event id).
  std::vector<pb::EventEnvelope> Outbox(const std::string& type = "StockOrderPlaced") {
    std::vector<pb::EventEnvelope> out;
    auto entries = store_->ReadOutbox(0, 1000);
    EXPECT_TRUE(entries.ok()) << entries.status();
    for (const auto& entry : *entries) {
      EXPECT_EQ(entry.message.topic, kPurchasingTopic);
      pb::EventEnvelope e;
      EXPECT_TRUE(e.ParseFromString(entry.message.value));
      EXPECT_EQ("stockorder/" + entry.message.key, e.aggregate_id());
      EXPECT_EQ(entry.message.event_id, e.event_id());
      if (e.type() == type) out.push_back(e);
    }
    return out;
  }

  // Three back orders at B1 (two of supplier S1, one of S2) and one at B2.
  void FeedBranch() {
    ASSERT_TRUE(Feed(Created("BO-1", "P1", 2, 300)).ok());
    ASSERT_TRUE(Feed(Created("BO-2", "P2", 1, 100, "S2")).ok());
    ASSERT_TRUE(Feed(Created("BO-3", "P1", 3, 200)).ok());
    ASSERT_TRUE(Feed(Created("BO-9", "P1", 5, 50, "S1", "B2")).ok());
  }

  std::unique_ptr<PurchasingService> service_;
  int64_t tick_ = 0;
  int64_t offset_ = 0;
};

TEST_F(PurchasingServiceTest, CreatesNumberedDrafts) {
  pb::StockOrder first = MustCreate("c1");
  EXPECT_EQ(first.stock_order_id(), "SO-B1-000001");
  EXPECT_EQ(first.status(), pb::STOCK_ORDER_STATUS_DRAFT);
  EXPECT_EQ(first.created_by(), "anonymous");
  EXPECT_EQ(first.reference(), "weekly order");
  EXPECT_EQ(MustCreate("c2").stock_order_id(), "SO-B1-000002");
  pb::StockOrder other_branch;
  ASSERT_TRUE(Create("c3", &other_branch, "S1", "B2").ok());
  EXPECT_EQ(other_branch.stock_order_id(), "SO-B2-000001");

  pb::GetStockOrderRequest get;
  get.set_stock_order_id("SO-B1-000001");
  pb::StockOrder got;
  ASSERT_TRUE(service_->GetStockOrder(nullptr, &get, &got).ok());
  EXPECT_EQ(got.SerializeAsString(), first.SerializeAsString());
  get.set_stock_order_id("SO-B1-000009");
  EXPECT_EQ(service_->GetStockOrder(nullptr, &get, &got).error_code(), grpc::NOT_FOUND);
}

TEST_F(PurchasingServiceTest, GetBackordersThisSupplierOnlyOrTheWholeBranchOldestFirst) {
  FeedBranch();
  const pb::StockOrder order = MustCreate("c1");
  EXPECT_EQ(Ids(Backorders(order.stock_order_id(), false)),
            (std::vector<std::string>{"BO-2", "BO-3", "BO-1"}));
  EXPECT_EQ(Ids(Backorders(order.stock_order_id(), true)),
            (std::vector<std::string>{"BO-3", "BO-1"}));

  // Filled and cancelled back orders are no longer open; a partly filled one still is.
  ASSERT_TRUE(Feed(Filled("BO-3", "P1", 3, 3, 400), kReceivingTopic).ok());
  ASSERT_TRUE(Feed(Filled("BO-1", "P1", 2, 1, 400), kReceivingTopic).ok());
  ASSERT_TRUE(Feed(Cancelled("BO-2", "P2", 1, 500)).ok());
  EXPECT_EQ(Ids(Backorders(order.stock_order_id(), false)), (std::vector<std::string>{"BO-1"}));
  EXPECT_EQ(View("BO-1").quantities().filled(), 1);
  EXPECT_EQ(View("BO-1").state(), pb::BACKORDER_STATE_PARTLY_FILLED);
  EXPECT_EQ(View("BO-2").state(), pb::BACKORDER_STATE_CANCELLED);
}

TEST_F(PurchasingServiceTest, GetBackordersPagesOldestFirstAndRefusesAnotherListsToken) {
  FeedBranch();
  const pb::StockOrder order = MustCreate("c1");
  pb::GetBackordersRequest r;
  r.set_stock_order_id(order.stock_order_id());
  r.set_page_size(2);
  std::vector<std::vector<std::string>> pages;
  do {
    pb::GetBackordersResponse page;
    ASSERT_TRUE(service_->GetBackorders(nullptr, &r, &page).ok());
    pages.push_back(Ids(page));
    r.set_page_token(page.next_page_token());
  } while (!r.page_token().empty() && pages.size() < 5);
  EXPECT_EQ(pages, (std::vector<std::vector<std::string>>{{"BO-2", "BO-3"}, {"BO-1"}}));

  // A supplier's page skips the others' back orders and still fills up.
  r.Clear();
  r.set_stock_order_id(order.stock_order_id());
  r.set_this_supplier_only(true);
  r.set_page_size(1);
  pb::GetBackordersResponse page;
  ASSERT_TRUE(service_->GetBackorders(nullptr, &r, &page).ok());
  EXPECT_EQ(Ids(page), (std::vector<std::string>{"BO-3"}));
  r.set_page_token(page.next_page_token());
  page.Clear();
  ASSERT_TRUE(service_->GetBackorders(nullptr, &r, &page).ok());
  EXPECT_EQ(Ids(page), (std::vector<std::string>{"BO-1"}));
  EXPECT_TRUE(page.next_page_token().empty());

  r.set_page_size(1001);
  EXPECT_EQ(service_->GetBackorders(nullptr, &r, &page).error_code(), grpc::INVALID_ARGUMENT);
  r.set_page_size(1);
  r.set_page_token("not a token of this list");
  EXPECT_EQ(service_->GetBackorders(nullptr, &r, &page).error_code(), grpc::INVALID_ARGUMENT);
}

TEST_F(PurchasingServiceTest, AFillBeforeItsCreationIsListedOnceTheCreationArrives) {
  const pb::StockOrder order = MustCreate("c1");
  ASSERT_TRUE(Feed(Filled("BO-1", "P1", 4, 1, 400), kReceivingTopic).ok());
  EXPECT_TRUE(Ids(Backorders(order.stock_order_id(), false)).empty());
  ASSERT_TRUE(Feed(Created("BO-1", "P1", 4, 300)).ok());
  EXPECT_EQ(Ids(Backorders(order.stock_order_id(), false)), (std::vector<std::string>{"BO-1"}));
  EXPECT_EQ(View("BO-1").quantities().filled(), 1);
}

TEST_F(PurchasingServiceTest, ReactionsSkipWhatTheyCannotUseAndRepeatsChangeNothing) {
  kafka::ConsumedRecord garbage;
  garbage.topic = kInvoicingTopic;
  garbage.value = "\xff\xff\xff not a protobuf";
  garbage.event_id = "x";
  EXPECT_TRUE(service_->React(garbage).ok());

  pb::EventEnvelope other = Envelope("StockAdjusted", 10);
  other.mutable_stock_adjusted()->set_branch_id("B1");
  EXPECT_TRUE(Feed(other, kReceivingTopic).ok());
  pb::EventEnvelope no_id = Created("", "P1", 1, 10);
  EXPECT_TRUE(Feed(no_id).ok());
  EXPECT_TRUE(Dump().empty());

  const pb::EventEnvelope created = Created("BO-1", "P1", 2, 300);
  ASSERT_TRUE(Feed(created).ok());
  const auto once = Dump();
  ASSERT_TRUE(Feed(created).ok());
  EXPECT_EQ(Dump(), once);
}

TEST_F(PurchasingServiceTest, TickFinaliseAndTheBackordersAreOnOrder) {
  FeedBranch();
  const pb::StockOrder order = MustCreate("c1");
  const std::string id = order.stock_order_id();

  pb::StockOrder draft;
  ASSERT_TRUE(Tick("t1", id, {"BO-1", "BO-2", "BO-3"}, &draft).ok());  // BO-2: another supplier
  ASSERT_EQ(draft.lines_size(), 2);
  EXPECT_EQ(draft.lines(0).part_number(), "P1");
  EXPECT_EQ(draft.lines(0).quantity(), 5);
  EXPECT_EQ(draft.lines(0).backorders_size(), 2);
  EXPECT_EQ(draft.lines(1).part_number(), "P2");
  // Ticked back orders are not offered again on this draft, but still are on others.
  EXPECT_TRUE(Ids(Backorders(id, false)).empty());
  const pb::StockOrder other = MustCreate("c2");
  EXPECT_EQ(Ids(Backorders(other.stock_order_id(), false)).size(), 3u);

  ASSERT_TRUE(Shelf("s1", id, "P7", 4, &draft).ok());
  // Drafts publish their changes, and place nothing on order.
  EXPECT_TRUE(Outbox().empty());
  EXPECT_EQ(Outbox("StockOrderOpened").size(), 2u);
  EXPECT_EQ(Outbox("StockOrderDrafted").size(), 2u);

  pb::StockOrder placed;
  grpc::Status s = Finalise("f1", id, &placed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(placed.status(), pb::STOCK_ORDER_STATUS_PLACED);
  EXPECT_TRUE(placed.has_placed_at());

  const auto outbox = Outbox();
  ASSERT_EQ(outbox.size(), 1u);
  const pb::EventEnvelope& e = outbox[0];
  EXPECT_EQ(e.type(), "StockOrderPlaced");
  EXPECT_EQ(e.branch_id(), "B1");
  EXPECT_EQ(e.aggregate_id(), "stockorder/" + id);
  EXPECT_EQ(e.aggregate_version(), 4u);  // opened, ticked, shelf stock added, placed
  EXPECT_EQ(e.causation_id(), "f1");
  EXPECT_FALSE(e.event_id().empty());
  const pb::StockOrderPlaced& p = e.stock_order_placed();
  EXPECT_EQ(p.stock_order_id(), id);
  EXPECT_EQ(p.supplier_id(), "S1");
  ASSERT_EQ(p.lines_size(), 3);
  EXPECT_EQ(p.lines(0).part_number(), "P1");
  EXPECT_EQ(p.lines(0).quantity(), 5);
  ASSERT_EQ(p.lines(0).backorders_size(), 2);
  EXPECT_EQ(p.lines(0).backorders(0).backorder_id(), "BO-1");
  EXPECT_EQ(p.lines(0).backorders(0).quantity(), 2);
  EXPECT_EQ(p.lines(0).backorders(1).backorder_id(), "BO-3");
  EXPECT_EQ(p.lines(0).backorders(1).quantity(), 3);
  EXPECT_EQ(p.lines(1).part_number(), "P2");
  EXPECT_EQ(p.lines(1).backorders(0).backorder_id(), "BO-2");
  EXPECT_EQ(p.lines(2).part_number(), "P7");
  EXPECT_EQ(p.lines(2).quantity(), 4);
  EXPECT_TRUE(p.lines(2).backorders().empty());

  // The event is the last of the order's stream, after its opening and two draft changes.
  auto stream = store_->ReadStream("stockorder/" + id);
  ASSERT_TRUE(stream.ok());
  ASSERT_EQ(stream->size(), 4u);
  EXPECT_EQ((*stream)[3], e.SerializeAsString());

  // The back orders are on order with their line, and no order lists them any more.
  EXPECT_EQ(View("BO-3").stock_order_id(), id);
  EXPECT_EQ(View("BO-3").stock_order_line(), 1);
  EXPECT_EQ(View("BO-3").state(), pb::BACKORDER_STATE_ON_ORDER);
  EXPECT_EQ(View("BO-2").stock_order_line(), 2);
  EXPECT_TRUE(Ids(Backorders(other.stock_order_id(), false)).empty());

  // Another order cannot take them.
  pb::StockOrder refused;
  s = Tick("t2", other.stock_order_id(), {"BO-1"}, &refused);
  EXPECT_EQ(s.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "back order BO-1 is already on stock order " + id);

  // A later partial fill keeps it on order and off the list.
  ASSERT_TRUE(Feed(Filled("BO-3", "P1", 3, 1, 900), kReceivingTopic).ok());
  EXPECT_EQ(View("BO-3").stock_order_id(), id);
  EXPECT_EQ(View("BO-3").state(), pb::BACKORDER_STATE_PARTLY_FILLED);
  EXPECT_TRUE(Ids(Backorders(other.stock_order_id(), false)).empty());

  // A placed order takes nothing more.
  EXPECT_EQ(Shelf("s2", id, "P7", 1, &refused).error_code(), grpc::FAILED_PRECONDITION);
}

TEST_F(PurchasingServiceTest, DraftsTickingOneBackorderPlaceItOnce) {
  FeedBranch();
  const std::string first = MustCreate("c1").stock_order_id();
  const std::string second = MustCreate("c2").stock_order_id();
  const std::string third = MustCreate("c3").stock_order_id();
  pb::StockOrder draft;
  ASSERT_TRUE(Tick("t1", first, {"BO-1"}, &draft).ok());
  ASSERT_TRUE(Tick("t2", second, {"BO-1", "BO-3"}, &draft).ok());
  ASSERT_TRUE(Shelf("s2", second, "P1", 1, &draft).ok());
  ASSERT_TRUE(Tick("t3", third, {"BO-1"}, &draft).ok());
  // BO-3 is filled from other stock before the second order is finalised.
  ASSERT_TRUE(Feed(Filled("BO-3", "P1", 3, 3, 400), kReceivingTopic).ok());

  pb::StockOrder placed;
  ASSERT_TRUE(Finalise("f1", first, &placed).ok());
  grpc::Status s = Finalise("f2", second, &placed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(std::vector<std::string>(placed.dropped_backorder_ids().begin(),
                                     placed.dropped_backorder_ids().end()),
            (std::vector<std::string>{"BO-1", "BO-3"}));
  ASSERT_EQ(placed.lines_size(), 1);  // only the shelf stock is left
  EXPECT_EQ(placed.lines(0).quantity(), 1);
  EXPECT_TRUE(placed.lines(0).backorders().empty());

  // Nothing left on the third: placed empty, saying why.
  s = Finalise("f3", third, &placed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(placed.status(), pb::STOCK_ORDER_STATUS_PLACED);
  EXPECT_TRUE(placed.lines().empty());
  ASSERT_EQ(placed.dropped_backorder_ids_size(), 1);
  EXPECT_EQ(placed.dropped_backorder_ids(0), "BO-1");

  EXPECT_EQ(View("BO-1").stock_order_id(), first);
  EXPECT_TRUE(View("BO-3").stock_order_id().empty());
  const auto outbox = Outbox();
  ASSERT_EQ(outbox.size(), 3u);
  EXPECT_EQ(outbox[0].stock_order_placed().lines(0).backorders(0).backorder_id(), "BO-1");
  EXPECT_TRUE(outbox[1].stock_order_placed().lines(0).backorders().empty());
  EXPECT_TRUE(outbox[2].stock_order_placed().lines().empty());
}

// Two clerks finalise drafts that ticked the same back order at the same moment: exactly one
// places it, the other leaves it off.
TEST_F(PurchasingServiceTest, ConcurrentFinalisationsNeverShareABackorder) {
  for (int round = 0; round < 20; ++round) {
    const std::string bo = "BO-" + std::to_string(round);
    ASSERT_TRUE(Feed(Created(bo, "P1", 2, 100 + round)).ok());
    std::string drafts[2];
    for (int d = 0; d < 2; ++d) {
      const std::string tag = std::to_string(round) + "-" + std::to_string(d);
      drafts[d] = MustCreate("c" + tag).stock_order_id();
      pb::StockOrder out;
      ASSERT_TRUE(Tick("t" + tag, drafts[d], {bo}, &out).ok());
      ASSERT_TRUE(Shelf("s" + tag, drafts[d], "P9", 1, &out).ok());
    }
    pb::StockOrder placed[2];
    grpc::Status status[2];
    std::thread other([&] { status[1] = Finalise("f" + drafts[1], drafts[1], &placed[1]); });
    status[0] = Finalise("f" + drafts[0], drafts[0], &placed[0]);
    other.join();
    ASSERT_TRUE(status[0].ok() && status[1].ok());
    int took = 0;
    for (int d = 0; d < 2; ++d) {
      const bool has = placed[d].lines(0).backorders_size() == 1;
      EXPECT_EQ(placed[d].dropped_backorder_ids_size(), has ? 0 : 1);
      if (has) {
        ++took;
        EXPECT_EQ(View(bo).stock_order_id(), drafts[d]);
      }
    }
    EXPECT_EQ(took, 1) << bo;
  }
}

TEST_F(PurchasingServiceTest, RetriesGetTheFirstAnswerAndChangeNothing) {
  FeedBranch();
  pb::StockOrder a, b;
  ASSERT_TRUE(Create("c1", &a).ok());
  ASSERT_TRUE(Create("c1", &b).ok());
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  EXPECT_EQ(MustCreate("c2").stock_order_id(), "SO-B1-000002");  // the retry used no number
  const std::string id = a.stock_order_id();

  ASSERT_TRUE(Shelf("s1", id, "P7", 4, &a).ok());
  ASSERT_TRUE(Shelf("s1", id, "P7", 4, &b).ok());
  EXPECT_EQ(b.lines(0).quantity(), 4);
  ASSERT_TRUE(Tick("t1", id, {"BO-1"}, &a).ok());
  ASSERT_TRUE(Tick("t1", id, {"BO-1"}, &b).ok());  // not "already on this stock order"
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());

  ASSERT_TRUE(Finalise("f1", id, &a).ok());
  const auto after_first = Dump();
  ASSERT_TRUE(Finalise("f1", id, &b).ok());
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  EXPECT_EQ(Dump(), after_first);
  EXPECT_EQ(Outbox().size(), 1u);

  grpc::Status s = Finalise("f2", id, &b);
  EXPECT_EQ(s.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "stock order " + id + " is already placed");
  EXPECT_EQ(Dump(), after_first);
}

TEST_F(PurchasingServiceTest, BadInputChangesNothing) {
  FeedBranch();
  ASSERT_TRUE(Feed(Created("BO-5", "P5", 1, 600, "S1", "B2")).ok());
  const std::string id = MustCreate("c1").stock_order_id();
  pb::StockOrder draft;
  ASSERT_TRUE(Tick("t1", id, {"BO-1"}, &draft).ok());
  const std::string empty = MustCreate("c4").stock_order_id();
  const auto before = Dump();

  pb::StockOrder out;
  auto expect = [&](grpc::Status s, grpc::StatusCode code, const std::string& message) {
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    EXPECT_EQ(s.error_message(), message);
  };
  expect(Create("", &out), grpc::INVALID_ARGUMENT,
         "request_id: required (a client id for retries)");
  grpc::Status bad_supplier = Create("c2", &out, "S 1");
  EXPECT_EQ(bad_supplier.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(bad_supplier.error_message().starts_with("supplier_id: \"S 1\" has a character"))
      << bad_supplier.error_message();
  {
    pb::CreateStockOrderRequest r;
    r.set_request_id("c3");
    r.set_branch_id("B1");
    r.set_supplier_id("S1");
    r.set_reference(std::string(201, 'r'));
    expect(service_->CreateStockOrder(nullptr, &r, &out), grpc::INVALID_ARGUMENT,
           "reference: longer than 200 bytes");
  }
  expect(Tick("t2", id, {"BO-2", "BO-3", "BO-2"}, &out), grpc::INVALID_ARGUMENT,
         "backorder_ids[2]: repeats backorder_ids[0] (BO-2)");
  expect(Tick("t3", id, {"BO-2", "BO-404"}, &out), grpc::NOT_FOUND, "back order BO-404 not found");
  expect(Tick("t4", id, {"BO-2", "BO-5"}, &out), grpc::FAILED_PRECONDITION,
         "back order BO-5 is for branch B2, not this order's branch B1");
  expect(Tick("t5", id, {"BO-3", "BO-1"}, &out), grpc::FAILED_PRECONDITION,
         "back order BO-1 is already on this stock order (line 1)");
  expect(Tick("t6", "SO-B1-000404", {"BO-2"}, &out), grpc::NOT_FOUND,
         "stock order SO-B1-000404 not found");
  expect(Shelf("s1", id, "P7", 0, &out), grpc::INVALID_ARGUMENT,
         "quantity: must be at least 1, got 0");
  expect(Shelf("s2", id, "", 1, &out), grpc::INVALID_ARGUMENT, "part_number: required");
  expect(Finalise("f1", "", &out), grpc::INVALID_ARGUMENT, "stock_order_id: required");
  expect(Finalise("f2", empty, &out), grpc::FAILED_PRECONDITION,
         "stock order " + empty + " has no lines: tick back orders or add stock");

  pb::ListStockOrdersRequest list;
  list.set_page_token("zz");
  pb::ListStockOrdersResponse listed;
  expect(service_->ListStockOrders(nullptr, &list, &listed), grpc::INVALID_ARGUMENT,
         "page_token: not a token this service gave out");
  pb::GetPurchasingBackorderRequest get;
  get.set_backorder_id("BO-404");
  pb::Backorder view;
  expect(service_->GetBackorder(nullptr, &get, &view), grpc::NOT_FOUND,
         "back order BO-404 not found");

  EXPECT_EQ(Dump(), before);
}

TEST_F(PurchasingServiceTest, ListStockOrdersNewestFirstFilteredAndPaged) {
  FeedBranch();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(MustCreate("c" + std::to_string(i), i % 2 == 0 ? "S1" : "S2").stock_order_id());
  }
  pb::StockOrder out;
  ASSERT_TRUE(Tick("t1", ids[2], {"BO-1"}, &out).ok());
  ASSERT_TRUE(Finalise("f1", ids[2], &out).ok());

  auto list = [&](pb::ListStockOrdersRequest r) {
    std::vector<std::string> got;
    for (int pages = 0; pages < 10; ++pages) {
      pb::ListStockOrdersResponse resp;
      grpc::Status s = service_->ListStockOrders(nullptr, &r, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      for (const auto& o : resp.stock_orders()) got.push_back(o.stock_order_id());
      if (resp.next_page_token().empty()) break;
      r.set_page_token(resp.next_page_token());
    }
    return got;
  };
  pb::ListStockOrdersRequest all;
  EXPECT_EQ(list(all), (std::vector<std::string>{ids[4], ids[3], ids[2], ids[1], ids[0]}));
  all.set_page_size(2);
  EXPECT_EQ(list(all), (std::vector<std::string>{ids[4], ids[3], ids[2], ids[1], ids[0]}));
  pb::ListStockOrdersResponse first_page;
  ASSERT_TRUE(service_->ListStockOrders(nullptr, &all, &first_page).ok());
  EXPECT_EQ(first_page.stock_orders_size(), 2);

  pb::ListStockOrdersRequest s1;
  s1.set_supplier_id("S1");
  s1.set_page_size(1);
  EXPECT_EQ(list(s1), (std::vector<std::string>{ids[4], ids[2], ids[0]}));
  pb::ListStockOrdersRequest placed;
  placed.set_status(pb::STOCK_ORDER_STATUS_PLACED);
  EXPECT_EQ(list(placed), (std::vector<std::string>{ids[2]}));
  pb::ListStockOrdersRequest b2;
  b2.set_branch_id("B2");
  EXPECT_TRUE(list(b2).empty());
  // The last page says there is no more.
  pb::ListStockOrdersRequest two;
  two.set_supplier_id("S2");
  two.set_page_size(2);
  pb::ListStockOrdersResponse resp;
  ASSERT_TRUE(service_->ListStockOrders(nullptr, &two, &resp).ok());
  EXPECT_EQ(resp.stock_orders_size(), 2);
  EXPECT_TRUE(resp.next_page_token().empty());
}

// Guarantee 7: what a lost disk gets back from the purchasing topic. The events the commands
// stored, folded by RestoreStockOrderStream into an empty database, give the same stock orders
// (drafts with their lines, placed orders with what was dropped), list index and counter, and
// put the covered back orders on order; the rest of those views comes from the other topics.
TEST_F(PurchasingServiceTest, ItsStoredStreamsFoldBackIntoTheOrdersItWrote) {
  FeedBranch();
  const std::string placed = MustCreate("c1").stock_order_id();
  pb::StockOrder out;
  ASSERT_TRUE(Tick("t1", placed, {"BO-1", "BO-2"}, &out).ok());
  ASSERT_TRUE(Shelf("s1", placed, "P7", 4, &out).ok());
  const std::string draft = MustCreate("c2", "S2").stock_order_id();
  ASSERT_TRUE(Tick("t2", draft, {"BO-3"}, &out).ok());
  ASSERT_TRUE(Shelf("s2", draft, "P1", 2, &out).ok());
  const std::string emptied = MustCreate("c3").stock_order_id();
  ASSERT_TRUE(Tick("t3", emptied, {"BO-1"}, &out).ok());
  ASSERT_TRUE(Finalise("f1", placed, &out).ok());
  ASSERT_TRUE(Finalise("f3", emptied, &out).ok());  // BO-1 is on order by then: dropped
  ASSERT_EQ(out.dropped_backorder_ids_size(), 1);

  const auto restored = testing::FoldEventsIntoEmptyDatabase(db_.get(), dir_.string() + "-restored",
                                                             RestoreStockOrderStream);
  EXPECT_EQ(restored.report.streams, 3u);
  std::map<std::string, std::string> orders, restored_orders;
  for (const auto& [k, v] : testing::Family(db_.get(), kStateFamily)) {
    if (!k.starts_with("backorder/") && !k.starts_with("open/")) orders.emplace(k, v);
  }
  for (const auto& [k, v] : restored.state) {
    if (!k.starts_with("backorder/") && !k.starts_with("open/")) restored_orders.emplace(k, v);
  }
  EXPECT_EQ(restored_orders, orders);
  EXPECT_EQ(orders.size(), 7u);  // 3 orders, 3 index entries, 1 counter
  for (const char* id : {"BO-1", "BO-2"}) {
    ASSERT_TRUE(restored.state.contains(std::string("backorder/") + id)) << id;
    pb::Backorder view;
    ASSERT_TRUE(view.ParseFromString(restored.state.at(std::string("backorder/") + id)));
    EXPECT_EQ(view.stock_order_id(), placed);
    EXPECT_EQ(view.stock_order_line(), View(id).stock_order_line());
  }
  EXPECT_FALSE(restored.state.contains("backorder/BO-3"));  // only ticked on a draft
}

}  // namespace
}  // namespace bo::purchasing
