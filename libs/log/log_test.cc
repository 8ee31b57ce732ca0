#include "libs/log/log.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/ostream_sink.h"

namespace bo::log {
namespace {

TEST(Log, JsonLineCarriesServiceLevelCorrelationAndEscapedMessage) {
  const std::string line =
      FormatJsonLine("receiving", "warn", "c-42", "part \"P-1\"\nshort", "2026-11-29T10:00:00Z");
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["service"], "receiving");
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["correlation_id"], "c-42");
  EXPECT_EQ(j["msg"], "part \"P-1\"\nshort");
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line per message";
}

TEST(Log, JsonLineWithoutCorrelationLeavesItOut) {
  auto j = nlohmann::json::parse(FormatJsonLine("s", "info", "", "m", "t"));
  EXPECT_FALSE(j.contains("correlation_id"));
}

TEST(Log, InvalidUtf8DoesNotThrow) {
  EXPECT_NO_THROW(FormatJsonLine("s", "info", "", std::string("bad \xff byte"), "t"));
}

TEST(Log, ConfiguredLoggerWritesJsonWithTheThreadsCorrelation) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  Configure({"invoicing", Format::kJson, spdlog::level::info});
  spdlog::debug("hidden at info");
  {
    ScopedCorrelation scope("corr-1");
    spdlog::info("inside {}", 1);
  }
  spdlog::info("outside");
  spdlog::set_default_logger(previous);

  std::istringstream lines(out.str());
  std::string first, second, third;
  ASSERT_TRUE(std::getline(lines, first));
  ASSERT_TRUE(std::getline(lines, second));
  EXPECT_FALSE(std::getline(lines, third)) << out.str();
  auto a = nlohmann::json::parse(first);
  EXPECT_EQ(a["msg"], "inside 1");
  EXPECT_EQ(a["correlation_id"], "corr-1");
  EXPECT_EQ(a["service"], "invoicing");
  auto b = nlohmann::json::parse(second);
  EXPECT_FALSE(b.contains("correlation_id"));
}

TEST(Log, ParsesFormatsAndLevels) {
  EXPECT_EQ(*ParseFormat("json"), Format::kJson);
  EXPECT_EQ(*ParseFormat("text"), Format::kText);
  EXPECT_EQ(ParseFormat("xml").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseLevel("debug"), spdlog::level::debug);
  EXPECT_EQ(*ParseLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(ParseLevel("loud").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Log, ScopesNestAndRestore) {
  EXPECT_EQ(CurrentCorrelation(), "");
  {
    ScopedCorrelation a("a");
    {
      ScopedCorrelation b("b");
      EXPECT_EQ(CurrentCorrelation(), "b");
    }
    EXPECT_EQ(CurrentCorrelation(), "a");
  }
  EXPECT_EQ(CurrentCorrelation(), "");
}

}  // namespace
}  // namespace bo::log
