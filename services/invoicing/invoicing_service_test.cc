// The invoicing service's storage over a real Database and EventStore in a temporary directory.
#include "services/invoicing/invoicing_service.h"

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/core/ids.h"

namespace bo::invoicing {
namespace {
namespace pb = backorder::v1;

class InvoicingStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / ("bo_invoicing_test_" + NewUuidV7())).string();
    db_ = std::move(*Database::Open(dir_));
    store_ = std::move(*EventStore::Open(db_.get()));
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  static Backorder View(const std::string& id, const std::string& debtor, int64_t filled,
                        pb::BackorderState state) {
    Backorder b;
    b.mutable_context()->set_backorder_id(id);
    b.mutable_context()->set_debtor_id(debtor);
    b.mutable_context()->set_branch_id("BR1");
    b.mutable_quantities()->set_back_ordered(2);
    b.mutable_quantities()->set_filled(filled);
    b.set_state(state);
    return b;
  }

  // The entries under `prefix` as "key=value".
  std::vector<std::string> Entries(const std::string& prefix) {
    std::vector<std::string> entries;
    EXPECT_TRUE(db_->Scan(kStateFamily, prefix, "",
                          [&](std::string_view k, std::string_view v) {
                            entries.push_back(std::string(k) + "=" + std::string(v));
                            return true;
                          })
                    .ok());
    return entries;
  }

  std::string dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<EventStore> store_;
};

// A data directory from before the ready index: views plus the old every-back-order index.
TEST_F(InvoicingStorageTest, PrepareReadyIndexIndexesExactlyTheReadyViewsAndDropsTheOldIndex) {
  const std::vector<Backorder> views = {
      View("BO-1", "D1", 2, pb::BACKORDER_STATE_FILLED),         // ready
      View("BO-2", "D1", 0, pb::BACKORDER_STATE_OPEN),           // nothing filled
      View("BO-3", "D2", 1, pb::BACKORDER_STATE_PARTLY_FILLED),  // ready (partly)
      View("BO-4", "D2", 2, pb::BACKORDER_STATE_CANCELLED),      // cancelled
  };
  CommitRequest old;
  for (const Backorder& b : views) {
    old.state.emplace_back("backorder/" + b.context().backorder_id(), b.SerializeAsString());
    old.state.emplace_back(
        "bo_by_debtor/" + b.context().debtor_id() + "/" + b.context().backorder_id(), "");
  }
  Backorder on_draft = View("BO-5", "D1", 2, pb::BACKORDER_STATE_FILLED);
  on_draft.set_draft_invoice_id("INV-BR1-000009");  // being invoiced: not offered again
  old.state.emplace_back("backorder/BO-5", on_draft.SerializeAsString());
  ASSERT_TRUE(store_->Commit(old).ok());

  ASSERT_TRUE(InvoicingService::PrepareReadyIndex(store_.get()).ok());
  // Each entry holds the back order's branch: the prompt counts by branch from the index alone.
  EXPECT_EQ(Entries("ready/"),
            (std::vector<std::string>{"ready/D1/BO-1=BR1", "ready/D2/BO-3=BR1"}));
  EXPECT_TRUE(Entries("bo_by_debtor/").empty());
  EXPECT_EQ(Entries("meta/"), std::vector<std::string>{"meta/ready_index=2"});

  // Once built, it is left alone: a second call changes nothing.
  CommitRequest stray;
  stray.state.emplace_back("ready/D9/BO-9", "");
  ASSERT_TRUE(store_->Commit(stray).ok());
  ASSERT_TRUE(InvoicingService::PrepareReadyIndex(store_.get()).ok());
  EXPECT_EQ(Entries("ready/").size(), 3u);
}

// A data directory with the first layout of the ready index (empty values, marker "1"): the index
// is written again with the branches, and entries whose view is no longer ready go.
TEST_F(InvoicingStorageTest, PrepareReadyIndexRewritesAnIndexWithoutBranches) {
  Backorder ready = View("BO-1", "D1", 2, pb::BACKORDER_STATE_FILLED);
  ready.mutable_context()->set_branch_id("BR2");
  Backorder invoiced = View("BO-2", "D1", 2, pb::BACKORDER_STATE_INVOICED);
  CommitRequest old;
  old.state.emplace_back("backorder/BO-1", ready.SerializeAsString());
  old.state.emplace_back("backorder/BO-2", invoiced.SerializeAsString());
  old.state.emplace_back("ready/D1/BO-1", "");
  old.state.emplace_back("ready/D1/BO-2", "");  // stale: the rebuild follows the views
  old.state.emplace_back("meta/ready_index", "1");
  ASSERT_TRUE(store_->Commit(old).ok());

  ASSERT_TRUE(InvoicingService::PrepareReadyIndex(store_.get()).ok());
  EXPECT_EQ(Entries("ready/"), std::vector<std::string>{"ready/D1/BO-1=BR2"});
  EXPECT_EQ(Entries("meta/"), std::vector<std::string>{"meta/ready_index=2"});
}

// Guarantee 7: an invoice comes back as its last InvoiceSaved said, with the branch counter; a
// back order's own events give its view; and after the fold every draft marks the back orders it
// ticks, which takes them off the ready index.
TEST_F(InvoicingStorageTest, ARestoreGivesBackInvoicesViewsAndTheDraftsTicks) {
  Invoice draft;
  draft.set_invoice_id("INV-BR1-000007");
  draft.set_branch_id("BR1");
  draft.set_debtor_id("D1");
  draft.set_status(pb::INVOICE_STATUS_DRAFT);
  auto saved = [](const Invoice& invoice) {
    pb::EventEnvelope e;
    e.set_type("InvoiceSaved");
    e.mutable_invoice_saved()->set_invoice_id(invoice.invoice_id());
    e.mutable_invoice_saved()->set_invoice(invoice.SerializeAsString());
    return e;
  };
  std::vector<pb::EventEnvelope> invoice_stream = {saved(draft)};
  draft.add_lines()->set_fulfils_backorder_id("BO-1");
  invoice_stream.push_back(saved(draft));

  RestoredWrites writes;
  ASSERT_TRUE(RestoreInvoicingStream("invoice/INV-BR1-000007", invoice_stream, &writes).ok());
  EXPECT_EQ(writes.state, (std::vector<std::pair<std::string, std::string>>{
                              {"invoice/INV-BR1-000007", draft.SerializeAsString()},
                              {"counter/invoice/BR1", "7"}}));

  // BO-1 was created and filled elsewhere (the fill comes from receiving's topic later); here
  // its view as the fill left it, ready, as the replay would have made it.
  Backorder ready = View("BO-1", "D1", 2, pb::BACKORDER_STATE_FILLED);
  CommitRequest before;
  before.state.emplace_back("backorder/BO-1", ready.SerializeAsString());
  before.state.emplace_back("ready/D1/BO-1", "");
  before.state.emplace_back("invoice/INV-BR1-000007", draft.SerializeAsString());
  ASSERT_TRUE(store_->Commit(before).ok());
  ASSERT_TRUE(FinishInvoicingRestore(db_.get()).ok());
  Backorder marked;
  auto bytes = store_->GetState("backorder/BO-1");
  ASSERT_TRUE(bytes.ok() && bytes->has_value());
  ASSERT_TRUE(marked.ParseFromString(**bytes));
  EXPECT_EQ(marked.draft_invoice_id(), "INV-BR1-000007");
  EXPECT_TRUE(Entries("ready/").empty());

  // A back order's own stream gives the own part of its view.
  pb::EventEnvelope created;
  created.set_type("BackorderCreated");
  created.mutable_occurred_at()->set_seconds(100);
  *created.mutable_backorder_created()->mutable_context() = ready.context();
  created.mutable_backorder_created()->set_quantity(2);
  RestoredWrites view_writes;
  ASSERT_TRUE(RestoreInvoicingStream("backorder/BO-1", {created}, &view_writes).ok());
  ASSERT_EQ(view_writes.state.size(), 1u);  // not ready: nothing filled yet
  Backorder view;
  ASSERT_TRUE(view.ParseFromString(view_writes.state[0].second));
  EXPECT_EQ(view.quantities().back_ordered(), 2);
  EXPECT_EQ(view.context().backorder_id(), "BO-1");
}

}  // namespace
}  // namespace bo::invoicing
