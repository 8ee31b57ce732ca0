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

  std::vector<std::string> Keys(const std::string& prefix) {
    std::vector<std::string> keys;
    EXPECT_TRUE(db_->Scan(kStateFamily, prefix, "",
                          [&](std::string_view k, std::string_view) {
                            keys.emplace_back(k);
                            return true;
                          })
                    .ok());
    return keys;
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
  EXPECT_EQ(Keys("ready/"), (std::vector<std::string>{"ready/D1/BO-1", "ready/D2/BO-3"}));
  EXPECT_TRUE(Keys("bo_by_debtor/").empty());
  EXPECT_EQ(Keys("meta/"), std::vector<std::string>{"meta/ready_index"});

  // Once built, it is left alone: a second call changes nothing.
  CommitRequest stray;
  stray.state.emplace_back("ready/D9/BO-9", "");
  ASSERT_TRUE(store_->Commit(stray).ok());
  ASSERT_TRUE(InvoicingService::PrepareReadyIndex(store_.get()).ok());
  EXPECT_EQ(Keys("ready/").size(), 3u);
}

}  // namespace
}  // namespace bo::invoicing
