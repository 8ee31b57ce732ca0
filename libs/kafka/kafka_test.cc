// Relay and consumer against the real broker named by KAFKA_BOOTSTRAP (tools/test starts one).
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "libs/core/ids.h"
#include "libs/kafka/client.h"
#include "libs/kafka/exactly_once_consumer.h"
#include "libs/kafka/outbox_relay.h"
#include "libs/kafka/partitioner.h"
#include "libs/kafka/testing.h"
#include "libs/kafka/topic_admin.h"
#include "libs/kafka/topic_reader.h"

namespace bo::kafka {
namespace {

using testing::Bootstrap;
using testing::CountedTotal;
using testing::PartitionCounter;
using testing::ProduceIds;
using testing::ReadAll;

class KafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Bootstrap().empty()) << "KAFKA_BOOTSTRAP must name a running broker";
    topic_ = "bo-test-" + NewUuidV7();
    ASSERT_TRUE(EnsureTopics({{"bootstrap.servers", Bootstrap()}},
                             {{topic_, 3, 1, {{"retention.ms", "-1"}}}})
                    .ok());
    dir_ = std::filesystem::temp_directory_path() / ("bo_kafka_test_" + NewUuidV7());
    db_ = std::move(*Database::Open(dir_.string()));
    store_ = std::move(*EventStore::Open(db_.get()));
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  void CommitEvent(const std::string& id, const std::string& key) {
    CommitRequest c;
    c.outbox.push_back({topic_, key, "payload-" + id,
                        CloudEventHeaders(id, "TestEvent", "/test", absl::Now()), id});
    ASSERT_TRUE(store_->Commit(c).ok());
  }
  // Runs a relay on the store until its outbox is empty; its figures then.
  RelayStats RelayUntilTheOutboxIsEmpty() {
    OutboxRelay relay(store_.get(), {{{"bootstrap.servers", Bootstrap()}}});
    relay.Start();
    WaitForEmptyOutbox();
    relay.Stop();
    return relay.Stats();
  }
  void WaitForEmptyOutbox() {
    for (int i = 0; i < 600 && store_->OutboxDepth() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(store_->OutboxDepth(), 0u);
  }

  // Puts `entries` in Kafka as the relay's producer would have, without removing them from the
  // outbox: the state a crash between delivery and removal leaves.
  void ProduceAsTheRelayWould(const std::vector<OutboxEntry>& entries) {
    auto conf = MakeConf({{"bootstrap.servers", Bootstrap()}, {"enable.idempotence", "true"}});
    auto producer = MakeClient(RD_KAFKA_PRODUCER, *conf);
    for (const auto& e : entries) {
      rd_kafka_headers_t* h = rd_kafka_headers_new(1);
      rd_kafka_header_add(h, "ce_id", -1, e.message.event_id.data(), -1);
      ASSERT_EQ(
          rd_kafka_producev(
              producer->get(), RD_KAFKA_V_TOPIC(topic_.c_str()),
              RD_KAFKA_V_PARTITION(PartitionForKey(e.message.key, 3)),
              RD_KAFKA_V_KEY(e.message.key.data(), e.message.key.size()),
              RD_KAFKA_V_VALUE(const_cast<char*>(e.message.value.data()), e.message.value.size()),
              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END),
          RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    ASSERT_EQ(rd_kafka_flush(producer->get(), 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  std::string topic_;
  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<EventStore> store_;
};

// What a service that lost its disk reads back: every record of every partition, each
// partition in offset order, up to the end the topic had when the read started.
TEST_F(KafkaTest, ReadTopicReadsEveryRecordOnceInOffsetOrderUpToTheStartsEnd) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3000; ++i) ids.push_back(absl::StrFormat("id-%05d", i));
  ASSERT_TRUE(ProduceIds(topic_, ids));
  std::set<std::pair<int32_t, int64_t>> seen;
  std::map<int32_t, int64_t> last_offset;
  size_t visits = 0;
  bool in_order = true;
  absl::Status s =
      ReadTopic({{"bootstrap.servers", Bootstrap()}}, topic_, [&](const TopicRecord& r) {
        auto [it, first] = last_offset.try_emplace(r.partition, r.offset);
        if (!first) {
          in_order = in_order && r.offset > it->second;
          it->second = r.offset;
        }
        seen.insert({r.partition, r.offset});
        ++visits;
        return absl::OkStatus();
      });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(in_order);
  EXPECT_EQ(visits, ids.size());
  EXPECT_EQ(seen.size(), ids.size());
  EXPECT_EQ(last_offset.size(), 3u);

  // A topic that does not exist is NOT_FOUND; a visitor's error stops the read and comes back.
  EXPECT_TRUE(absl::IsNotFound(ReadTopic({{"bootstrap.servers", Bootstrap()}}, topic_ + "-missing",
                                         [](const TopicRecord&) { return absl::OkStatus(); })));
  int visited = 0;
  s = ReadTopic({{"bootstrap.servers", Bootstrap()}}, topic_, [&](const TopicRecord&) {
    return ++visited == 10 ? absl::CancelledError("enough") : absl::OkStatus();
  });
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_EQ(visited, 10);
}

TEST_F(KafkaTest, EnsureTopicsIsIdempotent) {
  EXPECT_TRUE(EnsureTopics({{"bootstrap.servers", Bootstrap()}}, {{topic_, 3, 1, {}}}).ok());
}

TEST_F(KafkaTest, RelayPublishesEveryEntryOnceInOrderWithCloudEventHeadersThenRemovesIt) {
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) {
    ids.push_back(NewUuidV7());
    CommitEvent(ids.back(), "key-" + std::to_string(i % 7));
  }
  const RelayStats stats = RelayUntilTheOutboxIsEmpty();
  EXPECT_EQ(stats.published, 300u);

  auto records = ReadAll(topic_, 300);
  ASSERT_EQ(records.size(), 300u);
  std::map<std::string, std::vector<std::string>> by_key;
  for (const auto& r : records) {
    by_key[r.key].push_back(r.ce_id);
    EXPECT_EQ(r.value, "payload-" + r.ce_id);
    EXPECT_EQ(r.ce_type, "TestEvent");
    EXPECT_EQ(r.partition, PartitionForKey(r.key, 3)) << "Java-compatible partitioning";
    std::set<std::string> names;
    for (const auto& h : r.headers) names.insert(h.first);
    for (const char* h :
         {"ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "content-type"}) {
      EXPECT_TRUE(names.count(h)) << h;
    }
  }
  // Per key, the order in Kafka is the commit order (UUIDv7 ids increase with commit order).
  for (const auto& [key, seq] : by_key) {
    EXPECT_TRUE(std::is_sorted(seq.begin(), seq.end())) << key;
  }
  std::set<std::string> unique;
  for (const auto& r : records) unique.insert(r.ce_id);
  EXPECT_EQ(unique, std::set<std::string>(ids.begin(), ids.end()));
}

TEST_F(KafkaTest, RelayRecognisesEntriesPublishedBeforeACrashAndDoesNotSendThemAgain) {
  // The state a crash leaves: entries 1..40 reached Kafka (for whichever partition they went
  // to) but are still in the outbox because their removal never happened.
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    ids.push_back(NewUuidV7());
    CommitEvent(ids.back(), "key-" + std::to_string(i % 5));
  }
  auto first = store_->ReadOutbox(0, 40);
  ASSERT_EQ(first->size(), 40u);
  ProduceAsTheRelayWould(*first);
  ASSERT_EQ(store_->OutboxDepth(), 100u);

  const RelayStats stats = RelayUntilTheOutboxIsEmpty();
  EXPECT_EQ(stats.recovered, 40u);
  EXPECT_EQ(stats.published, 60u);

  auto records = ReadAll(topic_, 100);
  std::map<std::string, int> count;
  for (const auto& r : records) ++count[r.ce_id];
  ASSERT_EQ(count.size(), 100u);
  for (const auto& [id, n] : count) EXPECT_EQ(n, 1) << id;
}

// A partition holding a pending entry but not an earlier one: a gap an idempotent producer never
// leaves, but one that would cost events if the relay took everything up to Kafka's last record
// as published. The relay must send the missing ones again (late, but not lost) and nothing twice.
TEST_F(KafkaTest, RelaySendsAgainEntriesKafkaSkippedInsteadOfTakingThemAsPublished) {
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(NewUuidV7());
    CommitEvent(ids.back(), "one-key");
  }
  auto entries = store_->ReadOutbox(0, 10);
  ASSERT_EQ(entries->size(), 10u);
  // Kafka holds entries 0, 1, 2 and 4; 3 never arrived. (Entry 4 sits at offset 3: the first
  // record that can hold one of the five entries up to it would be at offset -1.)
  ProduceAsTheRelayWould({(*entries)[0], (*entries)[1], (*entries)[2], (*entries)[4]});

  const RelayStats stats = RelayUntilTheOutboxIsEmpty();
  EXPECT_EQ(stats.recovered, 4u);
  EXPECT_EQ(stats.skipped_by_kafka, 1u);
  EXPECT_EQ(stats.published, 6u);

  std::vector<std::string> in_kafka;
  for (const auto& r : ReadAll(topic_, 10)) in_kafka.push_back(r.ce_id);
  EXPECT_EQ(in_kafka, (std::vector<std::string>{ids[0], ids[1], ids[2], ids[4], ids[3], ids[5],
                                                ids[6], ids[7], ids[8], ids[9]}));
}

void WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 600 && !done(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

TEST_F(KafkaTest, ConsumerAppliesEachEventIdOnceAndResumesFromItsOwnOffsets) {
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(NewUuidV7());
  std::vector<std::string> with_duplicates = ids;
  for (int i = 0; i < 200; i += 4) with_duplicates.push_back(ids[i]);  // 50 re-deliveries
  ASSERT_TRUE(ProduceIds(topic_, with_duplicates));

  ConsumerOptions options{
      {{"bootstrap.servers", Bootstrap()}}, "counter-" + NewUuidV7(), {topic_}, ""};
  {
    ExactlyOnceConsumer consumer(db_.get(), options, PartitionCounter(db_.get()));
    ASSERT_TRUE(consumer.Start().ok());
    WaitFor([&] { return consumer.CaughtUp(); });
    ASSERT_TRUE(consumer.CaughtUp());
    EXPECT_EQ(consumer.Stats().applied, 250u);
    EXPECT_EQ(consumer.Stats().duplicates, 50u);
    consumer.Stop();
  }
  EXPECT_EQ(CountedTotal(db_.get()), 200);
  int64_t stored = 0;
  for (int p = 0; p < 3; ++p)
    stored += *ExactlyOnceConsumer::StoredOffset(db_.get(), options.name, topic_, p);
  EXPECT_EQ(stored, 250);

  // A restart (a new group member with the same name and database) applies nothing again,
  // even though the broker's committed offsets are only a hint.
  {
    ExactlyOnceConsumer again(db_.get(), options, PartitionCounter(db_.get()));
    ASSERT_TRUE(again.Start().ok());
    WaitFor([&] { return again.CaughtUp(); });
    ASSERT_TRUE(again.CaughtUp());
    EXPECT_EQ(again.Stats().applied, 0u);
    again.Stop();
  }
  EXPECT_EQ(CountedTotal(db_.get()), 200);
}

// Everything in one column family, in key order, as one string: a byte-for-byte dump.
std::string Dump(Database* db, std::string_view family) {
  std::string out;
  std::unique_ptr<rocksdb::Iterator> it(
      db->db()->NewIterator(rocksdb::ReadOptions(), db->family(family)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out += it->key().ToString() + "=" + it->value().ToString() + "\n";
  }
  return out;
}

TEST_F(KafkaTest, ForgettingAConsumerRebuildsItsReadModelFromTheTopicByteForByte) {
  std::vector<std::string> ids;
  for (int i = 0; i < 500; ++i) ids.push_back(NewUuidV7());
  ASSERT_TRUE(ProduceIds(topic_, ids));
  ConsumerOptions options{
      {{"bootstrap.servers", Bootstrap()}}, "counter-" + NewUuidV7(), {topic_}, ""};
  auto run_to_end = [&] {
    ExactlyOnceConsumer consumer(db_.get(), options, PartitionCounter(db_.get()));
    ASSERT_TRUE(consumer.Start().ok());
    WaitFor([&] { return consumer.CaughtUp(); });
    ASSERT_TRUE(consumer.CaughtUp());
    consumer.Stop();
  };
  run_to_end();
  const std::string before = Dump(db_.get(), kReadModelFamily);
  ASSERT_NE(before.find("count/"), std::string::npos);

  // Lose the read model and the consumer's bookkeeping, then replay.
  rocksdb::WriteBatch wipe;
  wipe.DeleteRange(db_->family(kReadModelFamily), "", "\xff");
  ASSERT_TRUE(db_->Write(&wipe, true).ok());
  ASSERT_TRUE(ExactlyOnceConsumer::Forget(db_.get(), options.name).ok());
  EXPECT_EQ(*ExactlyOnceConsumer::StoredOffset(db_.get(), options.name, topic_, 0), 0);
  EXPECT_EQ(Dump(db_.get(), kReadModelFamily), "");

  run_to_end();
  EXPECT_EQ(Dump(db_.get(), kReadModelFamily), before);
  EXPECT_EQ(CountedTotal(db_.get()), 500);
}

TEST_F(KafkaTest, ConsumerStaysExactlyOnceWhenPartitionsMoveBetweenMembers) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3000; ++i) ids.push_back(NewUuidV7());
  ConsumerOptions options{
      {{"bootstrap.servers", Bootstrap()}}, "counter-" + NewUuidV7(), {topic_}, ""};
  ExactlyOnceConsumer a(db_.get(), options, PartitionCounter(db_.get()));
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(ProduceIds(topic_, std::vector<std::string>(ids.begin(), ids.begin() + 1500)));
  // A second member joins mid-stream: partitions are revoked and reassigned while records
  // keep arriving; each member must resume at the offsets stored in the database.
  ExactlyOnceConsumer b(db_.get(), options, PartitionCounter(db_.get()));
  ASSERT_TRUE(b.Start().ok());
  ASSERT_TRUE(ProduceIds(topic_, std::vector<std::string>(ids.begin() + 1500, ids.end())));
  WaitFor([&] { return CountedTotal(db_.get()) >= 3000 && a.CaughtUp() && b.CaughtUp(); });
  a.Stop();  // and one leaves again
  WaitFor([&] { return b.CaughtUp(); });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  b.Stop();
  EXPECT_GE(a.Stats().rebalances + b.Stats().rebalances, 3u);
  EXPECT_EQ(CountedTotal(db_.get()), 3000);
}

}  // namespace
}  // namespace bo::kafka
