// RebuildReadModels against a real on-disk Database: what it forgets, what it folds back from the
// own streams, and what it leaves alone. (RestoreOwnState is tested per service with its
// restorer, and end to end by the crash campaign.)
#include "services/common/own_state_restore.h"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/core/ids.h"
#include "libs/kafka/exactly_once_consumer.h"
#include "libs/store/event_store.h"
#include "rocksdb/write_batch.h"
#include "services/common/restore_test_support.h"

namespace bo {
namespace {

namespace pb = backorder::v1;
using testing::Family;

// A toy service: stream "order/<n>" has one event per version. Its own record is "order/<n>" (the
// last version), and each stream also gives the own part of a view, "view/<n>" = "own<version>".
// Its consumers write the rest of the views ("+other") and views of their own ("view/x").
absl::Status RestoreToyStream(const std::string& aggregate_id,
                              const std::vector<pb::EventEnvelope>& events, RestoredWrites* out) {
  const std::string n = aggregate_id.substr(std::string("order/").size());
  const std::string version = std::to_string(events.back().aggregate_version());
  out->state.emplace_back(aggregate_id, "folded" + version);
  out->state.emplace_back("view/" + n, "own" + version);
  out->idempotency.emplace_back("Place:" + n, "folded answer");
  return absl::OkStatus();
}

class RebuildReadModelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / ("bo_rebuild_test_" + NewUuidV7())).string();
    db_ = std::move(*Database::Open(dir_));
    rocksdb::WriteBatch batch;
    auto put = [&](std::string_view family, const std::string& k, const std::string& v) {
      batch.Put(db_->family(family), k, v);
    };
    for (const auto& [stream, versions] :
         std::map<std::string, int>{{"order/1", 2}, {"order/2", 1}}) {
      for (int v = 1; v <= versions; ++v) {
        pb::EventEnvelope e;
        e.set_aggregate_id(stream);
        e.set_aggregate_version(v);
        put(kEventsFamily, EventKey(stream, v), e.SerializeAsString());
      }
    }
    // What the commands and the consumers wrote.
    put(kStateFamily, "order/1", "as the command wrote it");
    put(kStateFamily, "order/2", "as the command wrote it");
    put(kStateFamily, "view/1", "own2+other");
    put(kStateFamily, "view/2", "own1+other");
    put(kStateFamily, "view/x", "other only");
    put(kIdempotencyFamily, "Place:1", "the first answer");
    put(kIdempotencyFamily, "event:e1", "");
    const std::string nul(1, '\0');
    put(kConsumerFamily, "off" + nul + "svc.reactions" + nul + "t" + nul + "0", "7");
    put(kConsumerFamily, "off" + nul + "other.consumer" + nul + "t" + nul + "0", "9");
    ASSERT_TRUE(db_->Write(&batch, true).ok());
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  absl::StatusOr<ReadModelRebuildReport> Rebuild(bool requested) {
    return RebuildReadModels(db_.get(), requested,
                             {{std::string(kStateFamily), "view/"}, ReactionRecords()},
                             {"svc.reactions"}, RestoreToyStream);
  }
  int64_t Offset(const std::string& consumer) {
    return *kafka::ExactlyOnceConsumer::StoredOffset(db_.get(), consumer, "t", 0);
  }

  std::string dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(RebuildReadModelsTest, ForgetsTheReadModelsAndFoldsBackOnlyTheOwnStreamsPartOfThem) {
  auto report = Rebuild(/*requested=*/true);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->rebuilt);
  EXPECT_EQ(report->streams, 2u);
  EXPECT_EQ(report->events, 3u);
  // The views hold their own part again, the consumers' part waits for the replay, and a view
  // only the consumers wrote is gone; the own records are as the commands wrote them.
  EXPECT_EQ(Family(db_.get(), kStateFamily),
            (std::map<std::string, std::string>{{"order/1", "as the command wrote it"},
                                                {"order/2", "as the command wrote it"},
                                                {"view/1", "own2"},
                                                {"view/2", "own1"}}));
  // The reactions' records go, the commands' answers stay as they were.
  EXPECT_EQ(Family(db_.get(), kIdempotencyFamily),
            (std::map<std::string, std::string>{{"Place:1", "the first answer"}}));
  // Its consumer replays from the beginning; another's offsets are not its business.
  EXPECT_EQ(Offset("svc.reactions"), 0);
  EXPECT_EQ(Offset("other.consumer"), 9);
  EXPECT_EQ(Family(db_.get(), kEventsFamily).size(), 3u);
  // Done: the next start, not asked, changes nothing.
  auto again = Rebuild(/*requested=*/false);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->rebuilt);
}

TEST_F(RebuildReadModelsTest, NotAskedItChangesNothing) {
  const auto state = Family(db_.get(), kStateFamily);
  auto report = Rebuild(/*requested=*/false);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->rebuilt);
  EXPECT_EQ(Family(db_.get(), kStateFamily), state);
  EXPECT_EQ(Offset("svc.reactions"), 7);
}

TEST_F(RebuildReadModelsTest, ARebuildCutShortIsFinishedAtTheNextStartEvenIfNotAskedAgain) {
  // A stop after the marker was set and before the end (here: before anything else happened).
  rocksdb::WriteBatch batch;
  batch.Put(db_->family("default"), "read_models", "rebuilding");
  ASSERT_TRUE(db_->Write(&batch, true).ok());
  auto report = Rebuild(/*requested=*/false);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->rebuilt);
  EXPECT_EQ(Family(db_.get(), kStateFamily).count("view/x"), 0u);
  EXPECT_EQ(Offset("svc.reactions"), 0);
  EXPECT_TRUE(Family(db_.get(), "default").empty());
}

}  // namespace
}  // namespace bo
