#include "libs/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
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

// Certificates of two deployments, made by the real deploy/local/pki: "ours" and a stranger's.
class Https : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     ("bo-https-test-" + std::to_string(::getpid())));
    for (const char* who : {"ours", "stranger"}) {
      const std::string cmd =
          std::string(BO_PKI) + " " + (*dir_ / who).string() + " >/dev/null 2>&1";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static std::string File(const std::string& deployment, const std::string& name) {
    return (*dir_ / deployment / name).string();
  }
  static FetchIdentity Client(const std::string& deployment, const std::string& name,
                              const std::string& token = "") {
    return {File("ours", "ca.crt"), File(deployment, name + ".crt"),
            File(deployment, name + ".key"), token};
  }

  void SetUp() override {
    server_ = std::make_unique<HttpServer>(
        "127.0.0.1:0", TlsFiles{File("ours", "ca.crt"), File("ours", "debtor-query.crt"),
                                File("ours", "debtor-query.key")});
    // Who may read: a peer holding the prometheus certificate, or a request with the token.
    server_->SetGuard([](const Request& r) -> std::optional<Response> {
      if (r.peer == "prometheus") return std::nullopt;
      auto it = r.headers.find("authorization");
      if (it != r.headers.end() && it->second == "Bearer good") return std::nullopt;
      return Text(401, "who are you?\n");
    });
    server_->Get("/secret", [](const Request& r) { return Text(200, "peer=" + r.peer); });
    server_->GetOpen("/healthz", [](const Request&) { return Text(200, "ok"); });
    ASSERT_TRUE(server_->Start().ok());
    base_ = "https://127.0.0.1:" + std::to_string(server_->port());
  }

  static std::filesystem::path* dir_;
  std::unique_ptr<HttpServer> server_;
  std::string base_;
};

std::filesystem::path* Https::dir_ = nullptr;

TEST_F(Https, TheGuardDecidesEveryGetRouteButNotTheOpenOnes) {
  auto by_cert = Fetch(base_, "/secret", milliseconds(5000), Client("ours", "prometheus"));
  ASSERT_TRUE(by_cert.ok()) << by_cert.status();
  EXPECT_EQ(*by_cert, "peer=prometheus");
  auto by_token =
      Fetch(base_, "/secret", milliseconds(5000), {File("ours", "ca.crt"), "", "", "good"});
  ASSERT_TRUE(by_token.ok()) << by_token.status();
  EXPECT_EQ(*by_token, "peer=");  // no client certificate: a browser
  auto neither = Fetch(base_, "/secret", milliseconds(5000), Client("ours", "boctl", "bad"));
  EXPECT_NE(neither.status().message().find("HTTP 401"), std::string::npos) << neither.status();
  EXPECT_TRUE(
      Fetch(base_, "/healthz", milliseconds(5000), {File("ours", "ca.crt"), "", "", ""}).ok());
}

TEST_F(Https, PlaintextAStrangersCertificateAndAnUnknownServerAreRefused) {
  EXPECT_FALSE(
      Fetch("http://127.0.0.1:" + std::to_string(server_->port()), "/healthz", milliseconds(5000))
          .ok());
  // A client certificate of another CA fails the handshake, token or not.
  auto stranger =
      Fetch(base_, "/healthz", milliseconds(5000), Client("stranger", "prometheus", "good"));
  EXPECT_EQ(stranger.status().code(), absl::StatusCode::kUnavailable) << stranger.status();
  // A client that trusts only the stranger's CA does not talk to our server.
  FetchIdentity wary{File("stranger", "ca.crt"), "", "", "good"};
  EXPECT_EQ(Fetch(base_, "/healthz", milliseconds(5000), wary).status().code(),
            absl::StatusCode::kUnavailable);
}

// One GET /healthz over a raw OpenSSL connection offering `session` (may be null); the answer's
// first line, whether the session was resumed, and the session to offer next time.
struct RawGet {
  std::string status_line;
  bool resumed = false;
  SSL_SESSION* session = nullptr;
};
RawGet GetOverOpenSsl(int port, SSL_CTX* ctx, SSL_SESSION* session) {
  RawGet out;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  SSL* ssl = SSL_new(ctx);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 && SSL_set_fd(ssl, fd) == 1 &&
      (session == nullptr || SSL_set_session(ssl, session) == 1) && SSL_connect(ssl) == 1) {
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    SSL_write(ssl, request.data(), static_cast<int>(request.size()));
    std::string answer;
    char buf[512];
    for (int n; (n = SSL_read(ssl, buf, sizeof buf)) > 0;)
      answer.append(buf, static_cast<size_t>(n));
    out.status_line = answer.substr(0, answer.find("\r\n"));
    out.resumed = SSL_session_reused(ssl) == 1;
    out.session = SSL_get1_session(ssl);  // TLS 1.3: the ticket came with the answer
    SSL_shutdown(ssl);                    // a session ended without it is not resumable
  }
  SSL_free(ssl);
  ::close(fd);
  return out;
}

TEST_F(Https, ASecondConnectionResumesItsSession) {
  // Browsers and node resume sessions; with client certificates verified this needs a session
  // id context, or OpenSSL answers the resumption with an internal_error alert.
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx, File("ours", "ca.crt").c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  RawGet first = GetOverOpenSsl(server_->port(), ctx, nullptr);
  ASSERT_EQ(first.status_line, "HTTP/1.1 200 OK");
  ASSERT_NE(first.session, nullptr);
  RawGet second = GetOverOpenSsl(server_->port(), ctx, first.session);
  EXPECT_EQ(second.status_line, "HTTP/1.1 200 OK");
  EXPECT_TRUE(second.resumed);
  SSL_SESSION_free(first.session);
  if (second.session != nullptr) SSL_SESSION_free(second.session);
  SSL_CTX_free(ctx);
}

TEST(HttpServer, UnusableTlsFilesAreRefusedAtStart) {
  HttpServer server("127.0.0.1:0", TlsFiles{"/nonexistent/ca.crt", "/nonexistent/c.crt", "/x"});
  EXPECT_EQ(server.Start().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace bo::http
