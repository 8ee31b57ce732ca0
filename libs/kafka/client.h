// Small RAII and configuration helpers around librdkafka's C API, shared by the relay, the
// consumer and the topic admin. The C API is used because it exposes everything needed
// (headers, purge, fatal errors, admin) in one place.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "librdkafka/rdkafka.h"
#include "libs/store/event_store.h"

namespace bo::kafka {

using Config = std::map<std::string, std::string>;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

// Builds a configuration from `settings`; an unknown or invalid setting is INVALID_ARGUMENT.
// On success the caller owns the result (it is consumed by rd_kafka_new).
absl::StatusOr<rd_kafka_conf_t*> MakeConf(const Config& settings);

// Creates a client of `type` from `conf` (taking ownership of it in every case).
absl::StatusOr<Handle> MakeClient(rd_kafka_type_t type, rd_kafka_conf_t* conf);

// A consumer for reading partitions it assigns itself (rd_kafka_assign) from `settings` (the
// connection settings): `group_id` is required by librdkafka but never joined or committed to,
// and no partition-EOF events are delivered unless `settings` asks for them.
absl::StatusOr<Handle> MakeAssignedReader(Config settings, const std::string& group_id);

// A Kafka error as an absl::Status, `what` saying what was being done.
absl::Status FromKafka(rd_kafka_resp_err_t err, const std::string& what);

// All headers of a message, in order.
Headers MessageHeaders(const rd_kafka_message_t* m);
// The value of the last header named `name`, or "" if there is none.
std::string HeaderValue(const rd_kafka_message_t* m, const char* name);

// CloudEvents Kafka binding (binary mode) headers for an event: ce_specversion, ce_id,
// ce_type, ce_source, ce_time (RFC 3339) and content-type.
Headers CloudEventHeaders(const std::string& id, const std::string& type, const std::string& source,
                          absl::Time time,
                          const std::string& content_type = "application/protobuf");

}  // namespace bo::kafka
