// The receiving service's handlers and reactions over a real RocksDB (no Kafka, no network):
// the wiring of the pure ledger into commits, answers and the outbox.
#include "services/receiving/receiving_service.h"

#include <unistd.h>

#include <filesystem>
#include <map>

#include "gtest/gtest.h"
#include "services/common/restore_test_support.h"
#include "services/common/topics.h"

namespace bo::receiving {
namespace {
namespace pb = backorder::v1;

class ReceivingServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bo_receiving_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    db_ = std::move(*Database::Open(dir_.string()));
    store_ = std::move(*EventStore::Open(db_.get()));
    service_ =
        std::make_unique<ReceivingService>(store_.get(), ReceivingOptions{}, Access::Insecure());
    Part("P1", "SUP-A");
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Part(const std::string& part, const std::string& supplier) {
    pb::UpsertPartRequest req;
    req.set_request_id("part-" + part);
    req.mutable_part()->set_part_number(part);
    req.mutable_part()->set_supplier_id(supplier);
    req.mutable_part()->mutable_unit_price()->set_currency("AUD");
    req.mutable_part()->mutable_unit_price()->set_minor_units(1250);
    pb::Part resp;
    ASSERT_TRUE(service_->UpsertPart(nullptr, &req, &resp).ok());
  }

  grpc::Status Adjust(const std::string& request_id, int64_t delta) {
    pb::AdjustStockRequest req;
    req.set_request_id(request_id);
    req.set_branch_id("B1");
    req.set_part_number("P1");
    req.set_delta(delta);
    req.set_reason("opening stock");
    pb::AdjustStockResponse resp;
    return service_->AdjustStock(nullptr, &req, &resp);
  }

  pb::HoldStockResponse Hold(const std::string& invoice, int64_t quantity) {
    pb::HoldStockRequest req;
    req.set_request_id("hold-" + invoice + "-" + std::to_string(quantity));
    req.set_branch_id("B1");
    req.set_part_number("P1");
    req.set_invoice_id(invoice);
    req.set_invoice_line(1);
    req.set_quantity(quantity);
    pb::HoldStockResponse resp;
    EXPECT_TRUE(service_->HoldStock(nullptr, &req, &resp).ok());
    return resp;
  }

  pb::StockPosition Position() {
    pb::GetStockRequest req;
    req.set_branch_id("B1");
    req.set_part_number("P1");
    pb::StockPosition p;
    EXPECT_TRUE(service_->GetStock(nullptr, &req, &p).ok());
    return p;
  }

  // Feeds a BackorderCreated as the invoicing topic would deliver it.
  void BackorderCreated(const std::string& id, int64_t quantity, int64_t created_second,
                        const std::string& event_id = "") {
    pb::EventEnvelope e;
    e.set_event_id(event_id.empty() ? "evt-" + id : event_id);
    e.set_type("BackorderCreated");
    e.mutable_occurred_at()->set_seconds(created_second);
    auto* c = e.mutable_backorder_created()->mutable_context();
    c->set_backorder_id(id);
    c->set_debtor_id("D-" + id);
    c->set_branch_id("B1");
    c->set_part_number("P1");
    c->set_invoice_id("INV-" + id);
    c->set_invoice_line(1);
    e.mutable_backorder_created()->set_quantity(quantity);
    Deliver(e);
  }

  // Feeds a BackorderInvoiced (B1/P1) as the invoicing topic would deliver it.
  void BackorderInvoiced(const std::string& id, int64_t quantity, const std::string& event_id) {
    pb::EventEnvelope e;
    e.set_event_id(event_id);
    e.set_type("BackorderInvoiced");
    auto* p = e.mutable_backorder_invoiced();
    p->mutable_context()->set_backorder_id(id);
    p->mutable_context()->set_branch_id("B1");
    p->mutable_context()->set_part_number("P1");
    p->set_invoicing_invoice_id("INV-TAKE-" + id);
    p->set_invoicing_line(1);
    p->set_quantity(quantity);
    Deliver(e);
  }

  void Deliver(const pb::EventEnvelope& e) {
    const std::string bytes = e.SerializeAsString();
    kafka::ConsumedRecord r;
    r.topic = kInvoicingTopic;
    r.value = bytes;
    r.event_id = e.event_id();
    ASSERT_TRUE(service_->React(r).ok());
  }

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<ReceivingService> service_;
};

TEST_F(ReceivingServiceTest, HoldTakesWhatIsFreeAndTwoClerksNeverGetTheSameUnits) {
  ASSERT_TRUE(Adjust("adj-1", 3).ok());
  EXPECT_EQ(Hold("INV-1", 2).held(), 2);
  // The second clerk asks for 2 and gets the last 1.
  auto second = Hold("INV-2", 2);
  EXPECT_EQ(second.held(), 1);
  EXPECT_EQ(second.free(), 0);
  EXPECT_EQ(second.part().supplier_id(), "SUP-A");
  auto p = Position();
  EXPECT_EQ(p.on_hand(), 3);
  EXPECT_EQ(p.held(), 3);
  EXPECT_EQ(p.free(), 0);
}

TEST_F(ReceivingServiceTest, CreditorInvoiceFillsWaitingBackOrdersOldestFirstAndSaysWhich) {
  BackorderCreated("BO-2", 2, 200);  // newer
  BackorderCreated("BO-1", 3, 100);  // older, arrives later
  pb::ProcessCreditorInvoiceRequest req;
  req.set_request_id("ci-1");
  req.set_branch_id("B1");
  req.set_creditor_invoice_id("CI-9");
  req.set_supplier_id("SUP-A");
  auto* line = req.add_lines();
  line->set_part_number("P1");
  line->set_quantity(4);
  pb::ProcessCreditorInvoiceResponse resp;
  ASSERT_TRUE(service_->ProcessCreditorInvoice(nullptr, &req, &resp).ok());
  ASSERT_EQ(resp.filled_size(), 2);
  EXPECT_EQ(resp.filled(0).context().backorder_id(), "BO-1");
  EXPECT_EQ(resp.filled(0).quantity(), 3);
  EXPECT_EQ(resp.filled(1).context().backorder_id(), "BO-2");
  EXPECT_EQ(resp.filled(1).quantity(), 1);  // partly filled
  EXPECT_EQ(resp.positions(0).filled_not_invoiced(), 4);
  EXPECT_EQ(resp.positions(0).free(), 0);

  // The same request again: the first answer, nothing received twice.
  pb::ProcessCreditorInvoiceResponse again;
  ASSERT_TRUE(service_->ProcessCreditorInvoice(nullptr, &req, &again).ok());
  EXPECT_EQ(again.SerializeAsString(), resp.SerializeAsString());
  // The same creditor invoice under a new request id is refused.
  req.set_request_id("ci-2");
  EXPECT_EQ(service_->ProcessCreditorInvoice(nullptr, &req, &again).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Position().on_hand(), 4);
  EXPECT_EQ(Position().received(), 4);
}

TEST_F(ReceivingServiceTest, BadInputGetsTheFieldAndChangesNothing) {
  ASSERT_TRUE(Adjust("adj-1", 3).ok());
  const auto before = Position().SerializeAsString();
  auto version = store_->StreamVersion(LedgerId("B1", "P1"));
  EXPECT_EQ(Adjust("adj-2", 0).error_message(), "delta: must not be 0");
  EXPECT_EQ(Adjust("", 1).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Adjust("adj-3", -5).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  pb::ProcessCreditorInvoiceRequest req;
  req.set_request_id("ci-bad");
  req.set_branch_id("B1");
  req.set_creditor_invoice_id("CI-1");
  req.set_supplier_id("SUP-A");
  req.add_lines()->set_part_number("P1");
  pb::ProcessCreditorInvoiceResponse resp;
  auto s = service_->ProcessCreditorInvoice(nullptr, &req, &resp);
  EXPECT_EQ(s.error_message(), "lines[0].quantity: must be at least 1, got 0");
  req.mutable_lines(0)->set_quantity(1);
  req.mutable_lines(0)->set_part_number("NOPE");
  EXPECT_EQ(service_->ProcessCreditorInvoice(nullptr, &req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Position().SerializeAsString(), before);
  EXPECT_EQ(*store_->StreamVersion(LedgerId("B1", "P1")), *version);
}

TEST_F(ReceivingServiceTest, ReleasedHoldFillsAWaitingBackOrder) {
  ASSERT_TRUE(Adjust("adj-1", 2).ok());
  EXPECT_EQ(Hold("INV-1", 2).held(), 2);
  BackorderCreated("BO-1", 2, 100);  // nothing free: waits
  EXPECT_EQ(Position().backorders(0).quantities().filled(), 0);
  ASSERT_TRUE(service_->ExpireHolds(absl::Now() + absl::Hours(1)).ok());
  auto p = Position();
  EXPECT_EQ(p.held(), 0);
  EXPECT_EQ(p.backorders(0).quantities().filled(), 2);
  EXPECT_EQ(p.backorders(0).state(), pb::BACKORDER_STATE_FILLED);
}

TEST_F(ReceivingServiceTest, AReplayedReactionChangesNothing) {
  ASSERT_TRUE(Adjust("adj-1", 1).ok());
  BackorderCreated("BO-1", 2, 100);
  const auto once = Position().SerializeAsString();
  BackorderCreated("BO-1", 2, 100);
  EXPECT_EQ(Position().SerializeAsString(), once);
  EXPECT_EQ(Position().backorders(0).quantities().filled(), 1);
}

// Closed back orders are not in the ledger's state but recorded beside it: after a restart
// (nothing cached) a copy of the events that slipped past the consumer's dedupe (new event ids)
// neither registers the back order again nor issues its stock twice.
TEST_F(ReceivingServiceTest, AClosedBackOrderStaysClosedAfterARestart) {
  ASSERT_TRUE(Adjust("adj-1", 3).ok());
  BackorderCreated("BO-1", 2, 100);
  BackorderInvoiced("BO-1", 2, "evt-invoiced-1");
  ASSERT_EQ(Position().backorders_size(), 0);
  ASSERT_EQ(Position().issued(), 2);
  auto version = store_->StreamVersion(LedgerId("B1", "P1"));
  ASSERT_TRUE(version.ok());
  const std::string closed = Position().SerializeAsString();

  service_ =
      std::make_unique<ReceivingService>(store_.get(), ReceivingOptions{}, Access::Insecure());
  BackorderCreated("BO-1", 2, 100, "evt-created-again");
  BackorderInvoiced("BO-1", 2, "evt-invoiced-again");

  EXPECT_EQ(Position().SerializeAsString(), closed);
  EXPECT_EQ(Position().free(), 1);  // not filled into a second BO-1
  EXPECT_EQ(*store_->StreamVersion(LedgerId("B1", "P1")), *version);
}

// Guarantee 7: what a lost disk gets back from the receiving topic. Every event the commands and
// reactions stored, folded by RestoreReceivingStream into an empty database, gives the same
// state records, and the restored answers and reaction records are the original ones.
TEST_F(ReceivingServiceTest, ItsStoredStreamsFoldBackIntoTheStateItWrote) {
  ASSERT_TRUE(Adjust("adj-1", 1).ok());
  BackorderCreated("BO-1", 3, 100);  // fills 1 from free stock
  BackorderCreated("BO-2", 2, 200);
  pb::ProcessCreditorInvoiceRequest ci;
  ci.set_request_id("ci-1");
  ci.set_branch_id("B1");
  ci.set_creditor_invoice_id("CI-9");
  ci.set_supplier_id("SUP-A");
  ci.add_lines()->set_part_number("P1");
  ci.mutable_lines(0)->set_quantity(6);
  pb::ProcessCreditorInvoiceResponse ci_resp;
  ASSERT_TRUE(service_->ProcessCreditorInvoice(nullptr, &ci, &ci_resp).ok());
  BackorderInvoiced("BO-1", 3, "evt-invoiced-BO-1");  // BO-1 closes
  pb::EventEnvelope cancelled;
  cancelled.set_event_id("evt-cancelled-BO-2");
  cancelled.set_type("BackorderCancelled");
  auto* c = cancelled.mutable_backorder_cancelled()->mutable_context();
  c->set_backorder_id("BO-2");
  c->set_branch_id("B1");
  c->set_part_number("P1");
  Deliver(cancelled);  // BO-2 closes, its 2 go back to free stock
  Hold("INV-5", 2);
  pb::EventEnvelope finalised;
  finalised.set_event_id("evt-finalised-INV-5");
  finalised.set_type("InvoiceFinalised");
  auto* inv = finalised.mutable_invoice_finalised();
  inv->set_invoice_id("INV-5");
  inv->set_branch_id("B1");
  auto* line = inv->add_lines();
  line->set_line(1);
  line->set_part_number("P1");
  line->set_quantity_ordered(2);
  line->set_quantity_supplied(2);
  Deliver(finalised);

  const auto restored = testing::FoldEventsIntoEmptyDatabase(db_.get(), dir_.string() + "-restored",
                                                             RestoreReceivingStream);
  EXPECT_EQ(restored.report.streams, 2u);  // part/P1 and ledger/B1/P1
  EXPECT_EQ(restored.state, testing::Family(db_.get(), kStateFamily));
  const auto answers = testing::Family(db_.get(), kIdempotencyFamily);
  for (const auto& [k, v] : restored.idempotency) {
    EXPECT_TRUE(answers.contains(k) && answers.at(k) == v) << k;
  }
  for (const char* key :
       {"UpsertPart:part-P1", "event:evt-BO-1", "event:evt-BO-2", "event:evt-invoiced-BO-1",
        "event:evt-cancelled-BO-2", "event:evt-finalised-INV-5/1"}) {
    EXPECT_TRUE(restored.idempotency.contains(key)) << key;
  }
}

}  // namespace
}  // namespace bo::receiving
