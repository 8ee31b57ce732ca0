#include "libs/store/event_store.h"

#include <atomic>
#include <filesystem>
#include <thread>

#include "gtest/gtest.h"
#include "libs/store/store_fixture.h"

namespace bo {
namespace {

class EventStoreTest : public StoreFixture {
 protected:
  static OutboxMessage Msg(const std::string& id) {
    return OutboxMessage{"topic", "key", "value-" + id, {{"ce_id", id}}, id};
  }
};

TEST_F(EventStoreTest, AppendsAndReadsAStreamInOrder) {
  CommitRequest c;
  c.appends.push_back({"agg-1", 0, {"e1", "e2"}});
  ASSERT_TRUE(store_->Commit(c).ok());
  CommitRequest c2;
  c2.appends.push_back({"agg-1", 2, {"e3"}});
  ASSERT_TRUE(store_->Commit(c2).ok());

  EXPECT_EQ(*store_->StreamVersion("agg-1"), 3u);
  EXPECT_EQ(*store_->ReadStream("agg-1"), (std::vector<std::string>{"e1", "e2", "e3"}));
  EXPECT_EQ(*store_->ReadStream("agg-1", 3), (std::vector<std::string>{"e3"}));
  // An aggregate id that is a prefix of another sees only its own events.
  EXPECT_EQ(*store_->StreamVersion("agg-"), 0u);
  EXPECT_TRUE(store_->ReadStream("agg-")->empty());
}

TEST_F(EventStoreTest, WrongExpectedVersionIsAConflictAndWritesNothing) {
  CommitRequest c;
  c.appends.push_back({"agg-1", 0, {"e1"}});
  ASSERT_TRUE(store_->Commit(c).ok());

  CommitRequest stale;
  stale.appends.push_back({"agg-1", 0, {"other"}});
  stale.state.push_back({"agg-1", "state-from-stale"});
  stale.outbox.push_back(Msg("stale"));
  absl::Status s = store_->Commit(stale);
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted) << s;
  EXPECT_NE(s.message().find("agg-1"), std::string::npos);
  EXPECT_EQ(*store_->ReadStream("agg-1"), (std::vector<std::string>{"e1"}));
  EXPECT_FALSE(store_->GetState("agg-1")->has_value());
  EXPECT_EQ(store_->OutboxDepth(), 0u);
  EXPECT_TRUE(store_->ReadOutbox(0, 10)->empty());
}

TEST_F(EventStoreTest, CommitsEventsStateAnswerAndOutboxTogetherDurably) {
  CommitRequest c;
  c.appends.push_back({"agg-1", 0, {"e1"}});
  c.state.push_back({"agg-1", "s1"});
  c.idempotency = IdempotencyRecord{"req-1", "answer-1"};
  c.outbox.push_back(Msg("id-1"));
  ASSERT_TRUE(store_->Commit(c).ok());

  Reopen();  // everything is on disk, not only in memory
  EXPECT_EQ(*store_->ReadStream("agg-1"), (std::vector<std::string>{"e1"}));
  EXPECT_EQ(store_->GetState("agg-1")->value(), "s1");
  EXPECT_EQ(store_->FindAnswer("req-1")->value(), "answer-1");
  auto out = store_->ReadOutbox(0, 10);
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].message.event_id, "id-1");
  EXPECT_EQ((*out)[0].message.value, "value-id-1");
  EXPECT_EQ((*out)[0].message.headers, (Headers{{"ce_id", "id-1"}}));
  EXPECT_EQ(store_->OutboxDepth(), 1u);
}

TEST_F(EventStoreTest, TwoAppendsToOneStreamInOneCommitAreRejected) {
  CommitRequest c;
  c.appends.push_back({"agg-1", 0, {"e1"}});
  c.appends.push_back({"agg-1", 0, {"e2"}});
  EXPECT_EQ(store_->Commit(c).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*store_->StreamVersion("agg-1"), 0u);
}

TEST_F(EventStoreTest, ARepeatedRequestIdChangesNothing) {
  CommitRequest c;
  c.appends.push_back({"agg-1", 0, {"e1"}});
  c.idempotency = IdempotencyRecord{"req-1", "answer-1"};
  ASSERT_TRUE(store_->Commit(c).ok());

  CommitRequest again;
  again.appends.push_back({"agg-2", 0, {"x"}});
  again.idempotency = IdempotencyRecord{"req-1", "answer-2"};
  EXPECT_EQ(store_->Commit(again).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*store_->StreamVersion("agg-2"), 0u);
  EXPECT_EQ(store_->FindAnswer("req-1")->value(), "answer-1");
}

TEST_F(EventStoreTest, OutboxIsReadInOrderAndRemovedEntriesStayRemoved) {
  for (int i = 1; i <= 5; ++i) {
    CommitRequest c;
    c.outbox.push_back(Msg("id-" + std::to_string(i)));
    ASSERT_TRUE(store_->Commit(c).ok());
  }
  auto first = store_->ReadOutbox(0, 2);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].message.event_id, "id-1");
  EXPECT_EQ((*first)[1].message.event_id, "id-2");
  auto rest = store_->ReadOutbox((*first)[1].seq, 10);
  ASSERT_EQ(rest->size(), 3u);
  EXPECT_EQ((*rest)[2].message.event_id, "id-5");

  ASSERT_TRUE(store_->RemoveFromOutbox({(*first)[0].seq, (*first)[1].seq}).ok());
  Reopen();
  auto after = store_->ReadOutbox(0, 10);
  ASSERT_EQ(after->size(), 3u);
  EXPECT_EQ((*after)[0].message.event_id, "id-3");
  EXPECT_EQ(store_->OutboxDepth(), 3u);
}

TEST_F(EventStoreTest, ConcurrentCommandsOnOneAggregateNeverOverwrite) {
  // 8 writers race to extend one stream; each retries on conflict. Every event must land once.
  constexpr int kWriters = 8, kEach = 25;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        for (;;) {
          CommitRequest c;
          c.appends.push_back({"hot",
                               *store_->StreamVersion("hot"),
                               {std::to_string(w) + ":" + std::to_string(i)}});
          c.outbox.push_back(Msg(std::to_string(w) + ":" + std::to_string(i)));
          absl::Status s = store_->Commit(c);
          if (s.ok()) break;
          ASSERT_EQ(s.code(), absl::StatusCode::kAborted) << s;
          ++conflicts;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  auto events = store_->ReadStream("hot");
  ASSERT_EQ(events->size(), static_cast<size_t>(kWriters * kEach));
  std::set<std::string> unique(events->begin(), events->end());
  EXPECT_EQ(unique.size(), events->size());
  // The outbox holds the same events in the same order as the stream.
  auto out = store_->ReadOutbox(0, 1000);
  ASSERT_EQ(out->size(), events->size());
  for (size_t i = 0; i < out->size(); ++i) EXPECT_EQ((*out)[i].message.event_id, (*events)[i]);
}

using DatabaseTest = StoreFixture;

// Index and filter blocks live in the block cache (bounded) rather than beside each SST file
// (growing with the store): after a big flushed family is read, the table readers hold next to
// nothing and the cache holds the blocks.
TEST_F(DatabaseTest, MemoryShowsMemtablesThenIndexAndFilterBlocksInTheCache) {
  rocksdb::WriteBatch batch;
  for (int i = 0; i < 20000; ++i) {
    batch.Put(db_->family(kReadModelFamily), "view/" + std::to_string(1000000 + i),
              std::string(100, 'v'));
  }
  ASSERT_TRUE(db_->Write(&batch, /*sync=*/false).ok());
  EXPECT_GT(db_->Memory().memtables, 2'000'000u);

  ASSERT_TRUE(db_->db()->Flush(rocksdb::FlushOptions(), db_->family(kReadModelFamily)).ok());
  Reopen();
  ASSERT_TRUE(db_->Get(kReadModelFamily, "view/1012345")->has_value());
  const Database::MemoryUse memory = db_->Memory();
  // The index and filter blocks of 20,000 keys are about 36 KiB: held by the table reader (39,852
  // bytes when tried), they would not fit under this.
  EXPECT_LT(memory.table_readers, 16u * 1024);
  EXPECT_GT(memory.block_cache, 32u * 1024);
}

TEST_F(DatabaseTest, WritesCountCommitsThenFlushesThenCompactions) {
  const auto write_views = [&] {
    rocksdb::WriteBatch batch;
    for (int i = 0; i < 20000; ++i) {
      batch.Put(db_->family(kReadModelFamily), "view/" + std::to_string(1000000 + i),
                std::string(100, 'v'));
    }
    ASSERT_TRUE(db_->Write(&batch, /*sync=*/false).ok());
    ASSERT_TRUE(db_->db()->Flush(rocksdb::FlushOptions(), db_->family(kReadModelFamily)).ok());
  };
  const Database::WriteVolume before = db_->Writes();
  write_views();
  const Database::WriteVolume once = db_->Writes();
  EXPECT_GE(once.committed - before.committed, 20000u * 100);
  EXPECT_GT(once.flushed, before.flushed);
  EXPECT_EQ(once.compaction_written, before.compaction_written);

  // The same keys again: two overlapping files, which a compaction reads and rewrites as one.
  write_views();
  ASSERT_TRUE(db_->db()
                  ->CompactRange(rocksdb::CompactRangeOptions(), db_->family(kReadModelFamily),
                                 nullptr, nullptr)
                  .ok());
  const Database::WriteVolume compacted = db_->Writes();
  EXPECT_GT(compacted.compaction_read, once.compaction_read);
  EXPECT_GT(compacted.compaction_written, once.compaction_written);
  // The rewrite keeps one copy of each key: less than it read.
  EXPECT_LT(compacted.compaction_written - once.compaction_written,
            compacted.compaction_read - once.compaction_read);
}

}  // namespace
}  // namespace bo
