#include "libs/kafka/client.h"

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace bo::kafka {

namespace {

// librdkafka's own messages go through the process's logger (same format, same level filter)
// instead of straight to stderr. Syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug.
void LogThroughSpdlog(const rd_kafka_t* rk, int level, const char* facility, const char* buf) {
  const auto spd_level = level <= 3   ? spdlog::level::err
                         : level == 4 ? spdlog::level::warn
                         : level <= 6 ? spdlog::level::info
                                      : spdlog::level::debug;
  spdlog::log(spd_level, "librdkafka {} {}: {}", rd_kafka_name(rk), facility, buf);
}

}  // namespace

absl::StatusOr<rd_kafka_conf_t*> MakeConf(const Config& settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, LogThroughSpdlog);
  char err[512];
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(absl::StrCat("kafka setting ", k, "=", v, ": ", err));
    }
  }
  return conf;
}

absl::StatusOr<Handle> MakeClient(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(absl::StrCat("kafka client: ", err));
  }
  return Handle(rk);
}

absl::Status FromKafka(rd_kafka_resp_err_t err, const std::string& what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  std::string msg = absl::StrCat(what, ": ", rd_kafka_err2str(err));
  switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      return absl::DeadlineExceededError(msg);
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return absl::NotFoundError(msg);
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
      return absl::AlreadyExistsError(msg);
    default:
      return absl::UnavailableError(msg);
  }
}

Headers MessageHeaders(const rd_kafka_message_t* m) {
  Headers out;
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  const char* name;
  const void* value;
  size_t size;
  for (size_t i = 0;
       rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    out.emplace_back(name, value ? std::string(static_cast<const char*>(value), size) : "");
  }
  return out;
}

std::string HeaderValue(const rd_kafka_message_t* m, const char* name) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return "";
  const void* value;
  size_t size;
  if (rd_kafka_header_get_last(hdrs, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return "";
  }
  return std::string(static_cast<const char*>(value), size);
}

Headers CloudEventHeaders(const std::string& id, const std::string& type, const std::string& source,
                          absl::Time time, const std::string& content_type) {
  return {{"ce_specversion", "1.0"},
          {"ce_id", id},
          {"ce_type", type},
          {"ce_source", source},
          {"ce_time", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone())},
          {"content-type", content_type}};
}

absl::StatusOr<Handle> MakeAssignedReader(Config settings, const std::string& group_id) {
  settings["group.id"] = group_id;
  settings["enable.auto.commit"] = "false";
  settings["enable.auto.offset.store"] = "false";
  settings.try_emplace("enable.partition.eof", "false");
  auto conf = MakeConf(settings);
  if (!conf.ok()) return conf.status();
  return MakeClient(RD_KAFKA_CONSUMER, *conf);
}

}  // namespace bo::kafka
