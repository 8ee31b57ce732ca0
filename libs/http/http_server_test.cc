#include "libs/http/http_server.h"

#include <stdexcept>

#include "gtest/gtest.h"

namespace bo::http {
namespace {

using std::chrono::milliseconds;

TEST(HttpServer, ServesRegisteredPathsOnAFreePort) {
  HttpServer server("127.0.0.1:0");
  server.Get("/hello", [](const Request& r) { return Text(200, "hi " + r.Param("name")); });
  server.Get("/data.json", [](const Request&) { return Json(200, "{\"a\":1}"); });
  ASSERT_TRUE(server.Start().ok());
  ASSERT_GT(server.port(), 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  auto hello = Fetch(base, "/hello?name=N%20Z", milliseconds(2000));
  ASSERT_TRUE(hello.ok()) << hello.status();
  EXPECT_EQ(*hello, "hi N Z");
  auto data = Fetch(base, "/data.json", milliseconds(2000));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(*data, "{\"a\":1}");
}

TEST(HttpServer, PathsMatchExactlyNotAsPatterns) {
  HttpServer server("127.0.0.1:0");
  server.Get("/a.b", [](const Request&) { return Text(200, "dot"); });
  ASSERT_TRUE(server.Start().ok());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  EXPECT_TRUE(Fetch(base, "/a.b", milliseconds(2000)).ok());
  auto other = Fetch(base, "/axb", milliseconds(2000));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kUnknown) << other.status();
  EXPECT_NE(other.status().message().find("404"), std::string::npos);
}

TEST(HttpServer, AThrowingHandlerAnswers500AndTheServerGoesOn) {
  HttpServer server("127.0.0.1:0");
  server.Get("/boom", [](const Request&) -> Response { throw std::runtime_error("x"); });
  server.Get("/ok", [](const Request&) { return Text(200, "ok"); });
  ASSERT_TRUE(server.Start().ok());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  auto boom = Fetch(base, "/boom", milliseconds(2000));
  EXPECT_NE(boom.status().message().find("500"), std::string::npos) << boom.status();
  EXPECT_TRUE(Fetch(base, "/ok", milliseconds(2000)).ok());
}

TEST(HttpServer, BadOrBusyAddressesAreRefused) {
  EXPECT_EQ(HttpServer("nonsense").Start().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpServer("127.0.0.1:x").Start().code(), absl::StatusCode::kInvalidArgument);
  HttpServer first("127.0.0.1:0");
  ASSERT_TRUE(first.Start().ok());
  HttpServer second("127.0.0.1:" + std::to_string(first.port()));
  EXPECT_EQ(second.Start().code(), absl::StatusCode::kUnavailable);
}

TEST(HttpServer, StopsRightAfterStarting) {
  for (int i = 0; i < 20; ++i) {
    HttpServer server("127.0.0.1:0");
    ASSERT_TRUE(server.Start().ok());
    server.Stop();
  }
}

TEST(Fetch, AnUnreachableServerIsUnavailable) {
  HttpServer server("127.0.0.1:0");
  ASSERT_TRUE(server.Start().ok());
  const int port = server.port();
  server.Stop();
  auto r = Fetch("http://127.0.0.1:" + std::to_string(port), "/", milliseconds(500));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

}  // namespace
}  // namespace bo::http
