// Test helpers for debtor-query: a Database in a temporary directory, back-order events built the
// way the owning services publish them, and feeding them to the projection as Kafka would
// (a ConsumedRecord and a WriteBatch), without Kafka.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backorder/v1/common.pb.h"
#include "backorder/v1/events.pb.h"
#include "gtest/gtest.h"
#include "libs/store/database.h"
#include "libs/store/event_store.h"
#include "services/debtor-query/projection.h"

namespace bo::debtor_query::fixtures {

namespace pb = backorder::v1;

// A Database (and EventStore) in a fresh temporary directory, removed afterwards.
class TempDatabase {
 public:
  explicit TempDatabase(const std::string& tag) {
    dir_ = std::filesystem::temp_directory_path() /
           ("bo_debtor_query_test_" + std::to_string(::getpid()) + "_" + tag + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto db = Database::Open(dir_.string());
    EXPECT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto store = EventStore::Open(db_.get());
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  ~TempDatabase() {
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  Database* db() { return db_.get(); }
  EventStore* store() { return store_.get(); }

  // Every key and value of one column family, in key order.
  std::map<std::string, std::string> Dump(std::string_view family) {
    std::map<std::string, std::string> out;
    EXPECT_TRUE(db_->Scan(family, "", "",
                          [&](std::string_view k, std::string_view v) {
                            out.emplace(k, v);
                            return true;
                          })
                    .ok());
    return out;
  }
  // The keys of the readmodel family starting with `prefix`.
  std::vector<std::string> Keys(std::string_view prefix) {
    std::vector<std::string> out;
    EXPECT_TRUE(db_->Scan(kReadModelFamily, prefix, "",
                          [&](std::string_view k, std::string_view) {
                            out.emplace_back(k);
                            return true;
                          })
                    .ok());
    return out;
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<EventStore> store_;
};

inline google::protobuf::Timestamp Day(int day, int second = 0) {
  google::protobuf::Timestamp t;
  t.set_seconds(1'750'000'000 + int64_t{day} * 86'400 + second);
  return t;
}

inline pb::BackorderContext Context(const std::string& id, const std::string& branch = "B1",
                                    const std::string& debtor = "D-1",
                                    const std::string& invoice = "INV-B1-000001", int line = 1,
                                    const std::string& part = "P-100",
                                    const std::string& supplier = "S-1") {
  pb::BackorderContext c;
  c.set_backorder_id(id);
  c.set_branch_id(branch);
  c.set_debtor_id(debtor);
  c.set_invoice_id(invoice);
  c.set_invoice_line(line);
  c.set_part_number(part);
  c.set_supplier_id(supplier);
  c.mutable_unit_price()->set_currency("AUD");
  c.mutable_unit_price()->set_minor_units(1250);
  c.set_invoice_kind(pb::INVOICE_KIND_WORKSHOP);
  return c;
}

inline pb::BackorderQuantities Quantities(int64_t back_ordered, int64_t filled,
                                          int64_t invoiced = 0, int64_t cancelled = 0) {
  pb::BackorderQuantities q;
  q.set_back_ordered(back_ordered);
  q.set_filled(filled);
  q.set_invoiced(invoiced);
  q.set_cancelled(cancelled);
  return q;
}

// An envelope with the fields the stamping service would set.
inline pb::EventEnvelope Envelope(const std::string& event_id, const std::string& type,
                                  const google::protobuf::Timestamp& at,
                                  const std::string& branch = "B1") {
  pb::EventEnvelope e;
  e.set_event_id(event_id);
  e.set_type(type);
  e.set_branch_id(branch);
  *e.mutable_occurred_at() = at;
  e.mutable_actor()->set_subject("clerk:anna@" + branch);
  e.mutable_actor()->set_role("clerk");
  return e;
}

inline pb::EventEnvelope Created(const std::string& event_id, const pb::BackorderContext& c,
                                 int64_t quantity, const google::protobuf::Timestamp& at) {
  pb::EventEnvelope e = Envelope(event_id, "BackorderCreated", at, c.branch_id());
  e.set_aggregate_id(c.backorder_id());
  *e.mutable_backorder_created()->mutable_context() = c;
  e.mutable_backorder_created()->set_quantity(quantity);
  return e;
}

inline pb::EventEnvelope Filled(const std::string& event_id, const pb::BackorderContext& c,
                                int64_t quantity, const pb::BackorderQuantities& after,
                                const google::protobuf::Timestamp& at) {
  pb::EventEnvelope e = Envelope(event_id, "BackorderFilled", at, c.branch_id());
  e.mutable_actor()->set_subject("svc:receiving");
  auto* p = e.mutable_backorder_filled();
  *p->mutable_context() = c;
  p->set_quantity(quantity);
  *p->mutable_quantities() = after;
  p->set_source("receipt");
  p->set_creditor_invoice_id("CI-9");
  return e;
}

inline pb::EventEnvelope Cancelled(const std::string& event_id, const pb::BackorderContext& c,
                                   const pb::BackorderQuantities& after, const std::string& reason,
                                   const google::protobuf::Timestamp& at) {
  pb::EventEnvelope e = Envelope(event_id, "BackorderCancelled", at, c.branch_id());
  e.set_reason(reason);
  auto* p = e.mutable_backorder_cancelled();
  *p->mutable_context() = c;
  p->set_quantity_cancelled(after.cancelled());
  *p->mutable_quantities() = after;
  return e;
}

inline pb::EventEnvelope Invoiced(const std::string& event_id, const pb::BackorderContext& c,
                                  int64_t quantity, const pb::BackorderQuantities& after,
                                  const google::protobuf::Timestamp& at) {
  pb::EventEnvelope e = Envelope(event_id, "BackorderInvoiced", at, c.branch_id());
  auto* p = e.mutable_backorder_invoiced();
  *p->mutable_context() = c;
  p->set_invoicing_invoice_id("INV-B1-000009");
  p->set_invoicing_line(1);
  p->set_quantity(quantity);
  *p->mutable_quantities() = after;
  return e;
}

// A stock order whose line `line` (1, 2, ...) covers the back orders `lines[line-1]`.
inline pb::EventEnvelope Placed(const std::string& event_id, const std::string& stock_order_id,
                                const std::vector<std::vector<std::string>>& lines,
                                const google::protobuf::Timestamp& at) {
  pb::EventEnvelope e = Envelope(event_id, "StockOrderPlaced", at);
  auto* p = e.mutable_stock_order_placed();
  p->set_stock_order_id(stock_order_id);
  p->set_branch_id("B1");
  p->set_supplier_id("S-1");
  for (size_t i = 0; i < lines.size(); ++i) {
    auto* line = p->add_lines();
    line->set_line(static_cast<int32_t>(i + 1));
    line->set_part_number("P-100");
    for (const auto& id : lines[i]) {
      auto* covered = line->add_backorders();
      covered->set_backorder_id(id);
      covered->set_quantity(1);
      line->set_quantity(line->quantity() + 1);
    }
  }
  return e;
}

inline pb::EventEnvelope LostSale(const std::string& event_id, const std::string& branch,
                                  int64_t quantity, const google::protobuf::Timestamp& at) {
  pb::EventEnvelope e = Envelope(event_id, "LostSaleRecorded", at, branch);
  auto* p = e.mutable_lost_sale_recorded();
  p->set_invoice_id("INV-" + branch + "-000002");
  p->set_invoice_line(2);
  p->set_debtor_id("D-2");
  p->set_branch_id(branch);
  p->set_part_number("P-200");
  p->set_quantity(quantity);
  return e;
}

// Applies raw record bytes through the projection and writes the batch, as the consumer does.
inline absl::Status FeedBytes(ReadModelProjection* projection, Database* db,
                              const std::string& bytes, const std::string& topic,
                              const std::string& record_event_id = "") {
  kafka::ConsumedRecord record;
  record.topic = topic;
  record.value = bytes;
  record.event_id = record_event_id;
  rocksdb::WriteBatch batch;
  absl::Status s = projection->Apply(record, &batch);
  if (!s.ok()) return s;
  return db->Write(&batch, /*sync=*/false);
}

inline absl::Status Feed(ReadModelProjection* projection, Database* db,
                         const pb::EventEnvelope& event) {
  const std::string topic = event.has_stock_order_placed() ? "backorder.purchasing.v1"
                            : event.has_backorder_filled() ? "backorder.receiving.v1"
                                                           : "backorder.invoicing.v1";
  return FeedBytes(projection, db, event.SerializeAsString(), topic, event.event_id());
}

}  // namespace bo::debtor_query::fixtures
