// The raw limits every performance figure is divided by (../shared/DESIGN.md section 9): what
// the disk, Kafka, gRPC and RocksDB do on their own, on this machine, in this run, with nothing of
// ours in the way. Each function measures one and returns it; none asserts anything.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "libs/kafka/client.h"
#include "libs/store/event_store.h"

namespace bo::perf {

// One Kafka record as it was read from (or is to be written to) a topic.
struct KafkaRecord {
  std::string topic;
  std::string key;
  std::string value;
  Headers headers;
  std::string event_id;  // the ce_id header
};

// Wall time between two points, and the rate of `count` things in it.
struct Rate {
  int64_t count = 0;
  double seconds = 0;
  double per_second() const { return seconds > 0 ? static_cast<double>(count) / seconds : 0; }
};

// The `q` quantile (0..1) of `samples` by nearest rank; 0 for none. Sorts `samples`.
double Percentile(std::vector<double>* samples, double q);

// Appends of 256 bytes to one file in `dir`, each followed by fdatasync, by one writer, for about
// `duration`: the durable-write rate a single committer could reach without group commit.
absl::StatusOr<Rate> FsyncRate(const std::string& dir, std::chrono::milliseconds duration);

// The producer settings of the outbox relay (libs/kafka/outbox_relay.cc), so raw figures and ours
// pay for the same delivery guarantees.
kafka::Config RelayLikeProducer(const std::string& bootstrap);

// Every record of `topics` from the beginning up to the high watermarks as they are when called,
// by a plain consumer with the partitions assigned (no group). `rate` covers first to last
// record. At most `max_records` (0: no limit) are kept and timed.
struct Consumed {
  std::vector<KafkaRecord> records;
  Rate rate;
};
absl::StatusOr<Consumed> ConsumeAll(const std::string& bootstrap,
                                    const std::vector<std::string>& topics, int64_t max_records);

// Produces `records` (same keys, values and headers) to `topic_map[record.topic]` with the
// relay's producer settings while a plain consumer reads them back; the rate is from the first
// produce to the last record consumed. The target topics must exist and be empty.
absl::StatusOr<Rate> ProduceAndConsume(const std::string& bootstrap,
                                       const std::vector<KafkaRecord>& records,
                                       const std::map<std::string, std::string>& topic_map);

// `count` single records produced one at a time (relay settings) to `topic` (one partition,
// empty), each timed from the produce call until a consumer has it; milliseconds.
absl::StatusOr<std::vector<double>> ProduceToConsumeLatencies(const std::string& bootstrap,
                                                              const std::string& topic, int count);

// gRPC health checks over `channel` from `clients` threads for `duration`: a bare round trip
// through the same gRPC stack and transport (mutual TLS and token, as the commands), with no work
// behind it.
absl::StatusOr<Rate> EchoRate(std::shared_ptr<grpc::Channel> channel, int clients,
                              std::chrono::milliseconds duration);

// One gRPC health check over `channel` from this thread: milliseconds for the round trip. P5 times
// one between its queries, so the transport's share of a query is measured beside it.
absl::StatusOr<double> EchoLatency(const std::shared_ptr<grpc::Channel>& channel);

}  // namespace bo::perf
