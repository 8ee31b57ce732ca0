// ExactlyOnceConsumer: applies Kafka records to a Database with an exactly-once effect
// (guarantee 3), the way Kafka Streams keeps state stores fed by topics.
//
// For each record, one WriteBatch holds the handler's writes, the partition's next offset and
// the record's event id (ce_id header) marked as seen. On every assignment the consumer reads
// its offsets from the Database and starts there; the broker's committed offsets are stored too,
// but only as a hint for dashboards. A record whose event id was already seen is skipped (its
// offset still advances), so replays and re-deliveries change nothing.
//
// Seen ids are kept per partition for `seen_window` offsets behind the newest; older ones are
// pruned in the same batches. A duplicate further back than that would not be recognised: the
// relay never produces one (it checks Kafka after a crash), so the window only has to cover
// re-deliveries and replays of recent records.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/kafka/client.h"
#include "libs/store/database.h"

namespace bo::kafka {

// A record as the handler sees it. Views are valid during the handler call only.
struct ConsumedRecord {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view key;
  std::string_view value;
  std::string event_id;  // ce_id header, or topic/partition/offset when there is none
  std::string type;      // ce_type header
  int64_t timestamp_ms = 0;
};

// Adds the record's effect to `batch` (reads may use the Database directly). A returned error
// is treated as transient: the record is retried after a back-off, and nothing of it is written.
using RecordHandler = std::function<absl::Status(const ConsumedRecord&, rocksdb::WriteBatch*)>;

struct ConsumerOptions {
  // Consumer settings; must give bootstrap.servers. group.id defaults to `name`.
  Config consumer_config;
  // Name of this consumer within the Database: offsets and seen ids are kept under it.
  std::string name;
  std::vector<std::string> topics;
  // Static group membership (group.instance.id). Set it to a name stable across restarts of
  // the same instance: a restarted process then takes its partitions back at once instead of
  // waiting for the group to notice that the killed one is gone (session timeout).
  std::string instance_id;
  int64_t seen_window = 1'000'000;
  std::chrono::milliseconds retry_backoff{200};
};

struct PartitionLag {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;     // next offset this consumer will apply
  int64_t high_watermark = 0;  // end of the partition as last seen
};

struct ConsumerStats {
  uint64_t applied = 0;
  uint64_t duplicates = 0;
  uint64_t handler_errors = 0;
  uint64_t rebalances = 0;
  std::vector<PartitionLag> partitions;
  std::map<std::string, uint64_t> applied_by_topic;  // the `applied` above, per topic
};

class ExactlyOnceConsumer {
 public:
  ExactlyOnceConsumer(Database* db, ConsumerOptions options, RecordHandler handler);
  ~ExactlyOnceConsumer();
  ExactlyOnceConsumer(const ExactlyOnceConsumer&) = delete;
  ExactlyOnceConsumer& operator=(const ExactlyOnceConsumer&) = delete;

  // Creates the Kafka consumer, subscribes and starts the polling thread.
  absl::Status Start();
  // Leaves the group (handing partitions over) and stops.
  void Stop();

  // True once this consumer has partitions assigned (or the group gave it none) and has applied
  // every record that was in them when they were assigned. Health and readiness follow this.
  bool CaughtUp() const;

  ConsumerStats Stats() const;
  const std::string& name() const { return options_.name; }

  // Deletes everything the consumer `name` keeps in `db` (offsets, seen ids), so that the next
  // start replays its topics from the beginning: with the projection's own keys deleted too,
  // this rebuilds a read model from the topics (guarantee 7). Only while that consumer is stopped.
  static absl::Status Forget(Database* db, const std::string& name);

  // The next offset this consumer would apply for a partition, as stored (0 if none).
  static absl::StatusOr<int64_t> StoredOffset(Database* db, const std::string& name,
                                              const std::string& topic, int32_t partition);

 private:
  void Run();
  void OnRebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);
  static void RebalanceTrampoline(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t* partitions, void* opaque);
  // Applies one record with its offset and seen id; false if it must be retried.
  bool Apply(const rd_kafka_message_t* m);

  Database* db_;
  ConsumerOptions options_;
  RecordHandler handler_;
  Handle consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  struct PartitionState {
    int64_t next_offset = 0;
    int64_t high_at_assign = 0;  // records up to here must be applied to be caught up
    int64_t high_watermark = 0;
    int64_t last_prune = 0;
  };
  mutable std::mutex mu_;
  bool assigned_ = false;
  std::map<std::pair<std::string, int32_t>, PartitionState> partitions_;
  std::map<std::string, uint64_t> applied_by_topic_;
  std::atomic<uint64_t> applied_{0}, duplicates_{0}, handler_errors_{0}, rebalances_{0};
};

}  // namespace bo::kafka
