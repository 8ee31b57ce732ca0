#include "libs/log/log.h"

#include <chrono>
#include <ctime>
#include <memory>

#include "nlohmann/json.hpp"
#include "spdlog/formatter.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace bo::log {
namespace {

thread_local std::string current_correlation;

// UTC, millisecond precision: "2026-11-29T10:00:00.123Z".
std::string Timestamp(spdlog::log_clock::time_point tp) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

class LineFormatter : public spdlog::formatter {
 public:
  LineFormatter(std::string service, Format format)
      : service_(std::move(service)), format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string_view level_name(level.data(), level.size());
    std::string line;
    if (format_ == Format::kJson) {
      line = FormatJsonLine(service_, level_name, current_correlation, text, Timestamp(msg.time));
    } else {
      line = Timestamp(msg.time) + " " + std::string(level_name) + " " + service_ + ": " +
             std::string(text);
      if (!current_correlation.empty()) line += " [correlation " + current_correlation + "]";
    }
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(service_, format_);
  }

 private:
  std::string service_;
  Format format_;
};

}  // namespace

void Configure(const Options& options) {
  auto logger = spdlog::default_logger();
  logger->set_formatter(std::make_unique<LineFormatter>(options.service, options.format));
  logger->set_level(options.level);
  // Warnings and errors reach the log at once; a crash right after must not lose them.
  logger->flush_on(spdlog::level::warn);
}

absl::StatusOr<Format> ParseFormat(std::string_view s) {
  if (s == "text") return Format::kText;
  if (s == "json") return Format::kJson;
  return absl::InvalidArgumentError("log format must be text or json, got '" + std::string(s) +
                                    "'");
}

absl::StatusOr<spdlog::level::level_enum> ParseLevel(std::string_view s) {
  if (s == "warn") return spdlog::level::warn;  // spdlog's own name is "warning"
  for (int l = spdlog::level::trace; l <= spdlog::level::off; ++l) {
    const auto name = spdlog::level::to_string_view(static_cast<spdlog::level::level_enum>(l));
    if (s == std::string_view(name.data(), name.size())) {
      return static_cast<spdlog::level::level_enum>(l);
    }
  }
  return absl::InvalidArgumentError(
      "log level must be trace, debug, info, warn, error, critical or off, got '" + std::string(s) +
      "'");
}

const std::string& CurrentCorrelation() { return current_correlation; }

ScopedCorrelation::ScopedCorrelation(std::string correlation_id)
    : previous_(std::exchange(current_correlation, std::move(correlation_id))) {}

ScopedCorrelation::~ScopedCorrelation() { current_correlation = std::move(previous_); }

std::string FormatJsonLine(std::string_view service, std::string_view level,
                           std::string_view correlation_id, std::string_view message,
                           std::string_view timestamp) {
  nlohmann::ordered_json line;
  line["ts"] = timestamp;
  line["level"] = level;
  line["service"] = service;
  if (!correlation_id.empty()) line["correlation_id"] = correlation_id;
  line["msg"] = message;
  // Replace invalid UTF-8 rather than throw: a log line must never take the process down.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace bo::log
