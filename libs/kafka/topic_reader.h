// Reading a whole topic once, from the first record of every partition: what a process that lost
// its storage does to get back what it had published.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "libs/kafka/client.h"

namespace bo::kafka {

// One record as ReadTopic hands it over; the views are valid during the call only.
struct TopicRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view key;
  std::string_view value;
};

// Calls `visit` for every record of `topic` from the first offset of each partition up to the
// end each partition had when the read started (records produced meanwhile are not waited for;
// a partition whose end is reached first, its last offsets being no records, is done then).
// Each partition's records come in offset order; partitions interleave. Stops at the first
// non-OK status `visit` returns and returns it.
//
// `client_config` gives the connection settings (bootstrap.servers, security); nothing is
// committed to the cluster. Errors: NOT_FOUND if the topic does not exist; UNAVAILABLE or
// DEADLINE_EXCEEDED if the cluster does not answer, or no record arrives, within `stall_timeout`.
absl::Status ReadTopic(const Config& client_config, const std::string& topic,
                       const std::function<absl::Status(const TopicRecord&)>& visit,
                       std::chrono::milliseconds stall_timeout = std::chrono::seconds(30));

}  // namespace bo::kafka
