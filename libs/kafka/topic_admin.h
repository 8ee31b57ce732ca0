// Creating topics and reading their partition counts.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/kafka/client.h"

namespace bo::kafka {

struct TopicSpec {
  std::string name;
  int partitions = 1;
  int replication_factor = 1;
  // Topic settings, e.g. {"retention.ms", "-1"} to keep events for ever.
  std::map<std::string, std::string> settings;
};

// Creates every topic that does not exist yet; existing ones are left as they are (idempotent).
absl::Status EnsureTopics(const Config& client_config, const std::vector<TopicSpec>& topics,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Number of partitions of `topic` as the cluster reports it; NOT_FOUND if it does not exist.
absl::StatusOr<int32_t> PartitionCount(rd_kafka_t* rk, const std::string& topic,
                                       std::chrono::milliseconds timeout);

using TopicPartition = std::pair<std::string, int32_t>;

// The first offset (`logical` = RD_KAFKA_OFFSET_BEGINNING) or the next offset to be written
// (RD_KAFKA_OFFSET_END) of every partition in `partitions`, asked of their leaders. An error, or a
// partition without an answer within `timeout`, is a non-OK status.
absl::StatusOr<std::map<TopicPartition, int64_t>> Watermarks(
    rd_kafka_t* rk, const std::set<TopicPartition>& partitions, int64_t logical,
    std::chrono::milliseconds timeout);

}  // namespace bo::kafka
