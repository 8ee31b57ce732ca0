#include "libs/rpc/service_host.h"

#include <atomic>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "libs/rpc/rpc_observer.h"

namespace bo::rpc {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

HealthCheckResponse::ServingStatus Check(int port) {
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  auto stub = Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckRequest req;
  HealthCheckResponse resp;
  grpc::Status s = stub->Check(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.status();
}

ServiceConfig TestConfig(const std::string& name, const std::string& addr) {
  ServiceConfig c;
  c.name = name;
  c.grpc_addr = addr;
  c.data_dir = "/tmp/unused";
  c.insecure = true;  // TLS: tls_test.cc
  return c;
}

void WaitForStatus(int port, HealthCheckResponse::ServingStatus want) {
  for (int i = 0; i < 50 && Check(port) != want; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

TEST(ServiceHost, HealthFollowsReadiness) {
  std::atomic<bool> ready{false};
  ServiceHost host(TestConfig("test", "127.0.0.1:0"));
  host.SetReadiness([&] { return ready.load(); });
  ASSERT_TRUE(host.Start().ok());
  ASSERT_GT(host.port(), 0);
  EXPECT_EQ(Check(host.port()), HealthCheckResponse::NOT_SERVING);
  ready = true;
  WaitForStatus(host.port(), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(host.port()), HealthCheckResponse::SERVING);
  ready = false;
  WaitForStatus(host.port(), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check(host.port()), HealthCheckResponse::NOT_SERVING);
  host.Shutdown();
}

TEST(ServiceHost, ServesReflection) {
  ServiceHost host(TestConfig("test", "127.0.0.1:0"));
  ASSERT_TRUE(host.Start().ok());
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(host.port()),
                                     grpc::InsecureChannelCredentials());
  // ServerReflectionRequest{list_services: "*"} encoded by hand (field 7, string), since
  // Debian's gRPC ships no reflection .proto.
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::CompletionQueue cq;
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  const char request[] = {0x3a, 0x01, '*'};
  grpc::Slice slice(request, sizeof request);
  grpc::ByteBuffer out(&slice, 1);
  call->Write(out, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer in;
  call->Read(&in, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(in.Dump(&slices).ok());
  std::string response;
  for (auto& s : slices) response.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_NE(response.find("grpc.health.v1.Health"), std::string::npos);
  ctx.TryCancel();
  call->Finish(nullptr, reinterpret_cast<void*>(4));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  host.Shutdown();
}

TEST(ServiceHost, ReportsAnAddressItCannotBind) {
  ServiceHost first(TestConfig("a", "127.0.0.1:0"));
  ASSERT_TRUE(first.Start().ok());
  ServiceHost second(TestConfig("b", "127.0.0.1:" + std::to_string(first.port())));
  EXPECT_EQ(second.Start().code(), absl::StatusCode::kUnavailable);
  first.Shutdown();
}

TEST(ParseServiceConfig, FlagsOverrideEnvironmentOverrideDefaults) {
  ::setenv("BO_DATA_DIR", "/env/dir", 1);
  ::setenv("BO_INSECURE", "1", 1);
  const char* argv[] = {"bo-test", "--grpc-addr", "127.0.0.1:6000"};
  auto c = ParseServiceConfig("test", 5000, 3, const_cast<char**>(argv));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->grpc_addr, "127.0.0.1:6000");
  EXPECT_EQ(c->data_dir, "/env/dir");
  ::unsetenv("BO_DATA_DIR");
  EXPECT_EQ(c->http_addr, "127.0.0.1:7000") << "HTTP defaults to the gRPC port + 1000";
  EXPECT_EQ(c->log_format, "text");
  const char* http[] = {"bo-test", "--http-addr", "0.0.0.0:9100", "--log-format", "json"};
  auto h = ParseServiceConfig("test", 5000, 5, const_cast<char**>(http));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->http_addr, "0.0.0.0:9100");
  EXPECT_EQ(h->log_format, "json");
  const char* xml[] = {"bo-test", "--log-format", "xml"};
  EXPECT_EQ(ParseServiceConfig("test", 5000, 3, const_cast<char**>(xml)).status().code(),
            absl::StatusCode::kInvalidArgument);
  const char* bad[] = {"bo-test", "--grpc-addr", "nocolon"};
  EXPECT_EQ(ParseServiceConfig("test", 5000, 3, const_cast<char**>(bad)).status().code(),
            absl::StatusCode::kInvalidArgument);
  const char* unknown[] = {"bo-test", "--bogus"};
  EXPECT_EQ(ParseServiceConfig("test", 5000, 2, const_cast<char**>(unknown)).status().code(),
            absl::StatusCode::kInvalidArgument);
  ::unsetenv("BO_INSECURE");
}

TEST(ParseServiceConfig, WantsTlsFilesAndATokenKeyOrAnExplicitInsecure) {
  const char* none[] = {"bo-test"};
  const auto plain = ParseServiceConfig("test", 5000, 1, const_cast<char**>(none));
  EXPECT_EQ(plain.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(plain.status().message()).find("--insecure"), std::string::npos);
  const char* insecure[] = {"bo-test", "--insecure"};
  const auto i = ParseServiceConfig("test", 5000, 2, const_cast<char**>(insecure));
  ASSERT_TRUE(i.ok()) << i.status();
  EXPECT_TRUE(i->insecure);
  const char* tls[] = {"bo-test", "--tls-ca",         "a",           "--tls-cert",
                       "b",       "--tls-key",        "c",           "--token-key",
                       "jwt.pub", "--token-audience", "dealer-group"};
  const auto t = ParseServiceConfig("test", 5000, 11, const_cast<char**>(tls));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->tls.cert, "b");
  EXPECT_EQ(t->token_key, "jwt.pub");
  EXPECT_EQ(t->token_issuer, "backorders-dev");
  EXPECT_EQ(t->token_audience, "dealer-group");
  // TLS without tokens would let any holder of a certificate act as anyone.
  const auto no_tokens = ParseServiceConfig("test", 5000, 7, const_cast<char**>(tls));
  EXPECT_EQ(no_tokens.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(no_tokens.status().message()).find("--token-key"), std::string::npos);
  const char* half[] = {"bo-test", "--tls-ca", "a", "--tls-cert", "b"};
  EXPECT_EQ(ParseServiceConfig("test", 5000, 5, const_cast<char**>(half)).status().code(),
            absl::StatusCode::kInvalidArgument);
  const char* both[] = {"bo-test",    "--insecure", "--tls-ca",  "a",
                        "--tls-cert", "b",          "--tls-key", "c"};
  EXPECT_EQ(ParseServiceConfig("test", 5000, 8, const_cast<char**>(both)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RpcObserver, CountsAndTimesEveryCallByMethodAndCode) {
  metrics::Registry registry;
  ServiceHost host(TestConfig("test", "127.0.0.1:0"));
  host.AddInterceptor(RpcObserverFactory(&registry, "bo-correlation-id"));
  ASSERT_TRUE(host.Start().ok());
  Check(host.port());
  Check(host.port());
  const std::string text = registry.Render();
  EXPECT_NE(text.find("grpc_server_handled_total{grpc_service=\"grpc.health.v1.Health\","
                      "grpc_method=\"Check\",grpc_code=\"OK\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("grpc_server_handling_seconds_count{grpc_service=\"grpc.health.v1.Health\","
                      "grpc_method=\"Check\"} 2\n"),
            std::string::npos)
      << text;
  host.Shutdown();
}

TEST(RpcObserver, NamesEveryStatusCode) {
  EXPECT_EQ(CodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(CodeName(grpc::StatusCode::FAILED_PRECONDITION), "FAILED_PRECONDITION");
  EXPECT_EQ(CodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
}

}  // namespace
}  // namespace bo::rpc
