// Process-wide logging on spdlog: one line per message, as text for people or as JSON for log
// collectors, with the correlation id of the request (or event) being handled on this thread.
//
//   bo::log::Configure({.service = "receiving", .format = bo::log::Format::kJson,
//                       .level = spdlog::level::info});
//   {
//     bo::log::ScopedCorrelation scope("c-42");   // e.g. from the request's metadata
//     spdlog::warn("stock {} is short", part);    // carries "correlation_id":"c-42"
//   }
//
// JSON lines look like
//   {"ts":"2026-11-29T10:00:00.123Z","level":"warn","service":"receiving",
//    "correlation_id":"c-42","msg":"stock P-1 is short"}
// Nothing here knows about back orders.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "spdlog/spdlog.h"

namespace bo::log {

enum class Format { kText, kJson };

struct Options {
  std::string service;
  Format format = Format::kText;
  spdlog::level::level_enum level = spdlog::level::info;
};

// Replaces the default logger's format and level (stderr, as before). Safe to call once at start.
void Configure(const Options& options);

// "text" | "json"; anything else is INVALID_ARGUMENT naming the choices.
absl::StatusOr<Format> ParseFormat(std::string_view s);
// "trace" | "debug" | "info" | "warn" | "error" | "critical" | "off".
absl::StatusOr<spdlog::level::level_enum> ParseLevel(std::string_view s);

// The correlation id of what this thread is handling ("" if none).
const std::string& CurrentCorrelation();

// Sets the thread's correlation id for its lifetime, restoring the previous one after.
class ScopedCorrelation {
 public:
  explicit ScopedCorrelation(std::string correlation_id);
  ~ScopedCorrelation();
  ScopedCorrelation(const ScopedCorrelation&) = delete;
  ScopedCorrelation& operator=(const ScopedCorrelation&) = delete;

 private:
  std::string previous_;
};

// The formatted line for one message, as Configure's formatter writes it (for tests).
std::string FormatJsonLine(std::string_view service, std::string_view level,
                           std::string_view correlation_id, std::string_view message,
                           std::string_view timestamp);

}  // namespace bo::log
