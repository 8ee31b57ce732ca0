// OutboxRelay: publishes an EventStore's outbox to Kafka, in order, without losing or
// duplicating an entry across crashes (guarantee 2).
//
// How:
//  * An idempotent producer (enable.idempotence, acks=all, gapless guarantee, no local message
//    timeout) so librdkafka retries and never reorders or leaves gaps within a partition.
//  * The relay computes each entry's partition itself (Kafka's murmur2), so it knows where each
//    entry goes before producing it.
//  * An entry is removed from the outbox only after its delivery report says it is in Kafka.
//  * On (re)start, and after any failed delivery, the relay "resyncs": for every partition that
//    pending entries go to, it reads the last record in Kafka. If that record's ce_id is the k-th
//    pending entry of the partition, entries 0..k were handed to Kafka before the crash but not
//    removed; the relay reads the last k+1 records and removes the entries it finds there. The
//    rest is published again. Result: every event reaches Kafka exactly once, in commit order
//    per key. Should Kafka ever hold an entry but not an earlier one (an idempotent producer
//    never leaves that gap), the earlier one is sent again, out of order rather than lost, and
//    counted in `skipped_by_kafka`.
//  The one assumption: the relay is the only writer of its topics' partitions.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "libs/kafka/client.h"
#include "libs/store/event_store.h"

namespace bo::kafka {

struct RelayOptions {
  // Extra or overriding producer settings; must at least give bootstrap.servers.
  Config producer_config;
  // Entries read from the outbox per round.
  size_t batch_size = 1000;
  // How long to wait before retrying after an error.
  std::chrono::milliseconds retry_backoff{500};
};

struct RelayStats {
  uint64_t published = 0;          // delivery reports that succeeded
  uint64_t delivery_failures = 0;  // delivery reports that failed (entry kept, resent)
  uint64_t resyncs = 0;            // times the relay re-checked Kafka against its outbox
  uint64_t recovered = 0;          // entries found already in Kafka during a resync
  uint64_t skipped_by_kafka = 0;   // entries a resync found missing before a later one it found
  // Entries handed to the producer, resends after a resync included. Above published+recovered
  // only by what is in flight or was sent again: a figure to tell the relay's own resends from
  // the producer's internal retries, which it never sees.
  uint64_t handed_over = 0;
  uint64_t outbox_depth = 0;
  std::map<std::string, uint64_t> published_by_topic;  // the `published` above, per topic
};

class OutboxRelay {
 public:
  OutboxRelay(EventStore* store, RelayOptions options);
  ~OutboxRelay();
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  // Before Start: `observer` is called on the relay thread for every entry handed to the
  // producer, resends after a resync included. Lets a test tell the relay's own resends from
  // copies a broker made.
  void ObserveHandOvers(std::function<void(const OutboxEntry&)> observer) {
    hand_over_observer_ = std::move(observer);
  }
  // Starts the relay thread.
  void Start();
  // Stops it, waiting up to `grace` for in-flight deliveries so their entries get removed.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  RelayStats Stats() const;

 private:
  void Run();
  absl::Status Connect();
  absl::Status Resync();
  absl::StatusOr<int32_t> PartitionOf(const OutboxMessage& m);
  absl::Status Produce(const OutboxEntry& e);
  void Disconnect(std::chrono::milliseconds grace);
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);

  EventStore* store_;
  RelayOptions options_;
  std::function<void(const OutboxEntry&)> hand_over_observer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  // Used only by the relay thread.
  Handle producer_;
  std::map<std::string, int32_t> partitions_;  // topic -> partition count
  uint64_t cursor_ = 0;                        // highest seq handed to the producer
  bool needs_resync_ = true;
  std::vector<uint64_t> delivered_;  // seqs to remove from the outbox

  std::atomic<uint64_t> published_{0}, delivery_failures_{0}, resyncs_{0}, recovered_{0},
      skipped_by_kafka_{0}, handed_over_{0};
  mutable std::mutex by_topic_mu_;
  std::map<std::string, uint64_t> published_by_topic_;
};

}  // namespace bo::kafka
