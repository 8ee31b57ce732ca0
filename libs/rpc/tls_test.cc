#include "libs/rpc/tls.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "libs/rpc/service_host.h"

namespace bo::rpc {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// Two deployments' worth of certificates, made by the real deploy/local/pki: "ours" and a
// stranger's, whose CA ours does not know.
class MutualTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     ("bo-tls-test-" + std::to_string(::getpid())));
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

  static TlsFiles Files(const std::string& deployment, const std::string& name) {
    const std::filesystem::path d = *dir_ / deployment;
    return {(d / "ca.crt").string(), (d / (name + ".crt")).string(),
            (d / (name + ".key")).string()};
  }
  static TlsMaterial Material(const std::string& deployment, const std::string& name) {
    auto tls = ReadTls(Files(deployment, name));
    EXPECT_TRUE(tls.ok()) << tls.status();
    return tls.value_or(TlsMaterial{});
  }

  void SetUp() override {
    ServiceConfig c;
    c.name = "receiving";
    c.grpc_addr = "127.0.0.1:0";
    c.data_dir = "/tmp/unused";
    c.tls = Files("ours", "receiving");
    host_ = std::make_unique<ServiceHost>(c);
    ASSERT_TRUE(host_->Start().ok());
  }
  void TearDown() override { host_->Shutdown(); }

  // A health check over `credentials` at 127.0.0.1 (no name to resolve: c-ares's resolver leaks
  // a few bytes per lookup, which LeakSanitizer reports), checking the server's certificate for
  // `name` (the address itself when empty).
  grpc::Status Call(std::shared_ptr<grpc::ChannelCredentials> credentials,
                    const std::string& name = "") {
    grpc::ChannelArguments args;
    if (!name.empty()) args.SetSslTargetNameOverride(name);
    auto stub = Health::NewStub(
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(host_->port()), credentials, args));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    HealthCheckResponse resp;
    return stub->Check(&ctx, HealthCheckRequest(), &resp);
  }

  static std::filesystem::path* dir_;
  std::unique_ptr<ServiceHost> host_;
};

std::filesystem::path* MutualTls::dir_ = nullptr;

TEST_F(MutualTls, AClientWithACertificateOfTheDeploymentIsServed) {
  const grpc::Status s = Call(MutualTlsChannelCredentials(Material("ours", "tests")));
  EXPECT_TRUE(s.ok()) << s.error_message();
  // The certificate names the service and localhost as well as the address.
  EXPECT_TRUE(Call(MutualTlsChannelCredentials(Material("ours", "tests")), "localhost").ok());
  EXPECT_TRUE(Call(MutualTlsChannelCredentials(Material("ours", "tests")), "receiving").ok());
  EXPECT_FALSE(Call(MutualTlsChannelCredentials(Material("ours", "tests")), "invoicing").ok())
      << "receiving's certificate does not name invoicing";
  // A peer service's certificate serves as a client certificate too.
  EXPECT_TRUE(Call(MutualTlsChannelCredentials(Material("ours", "invoicing"))).ok());
}

TEST_F(MutualTls, APlaintextClientIsRefused) {
  EXPECT_EQ(Call(grpc::InsecureChannelCredentials()).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MutualTls, AClientWithoutACertificateIsRefused) {
  TlsMaterial anonymous = Material("ours", "tests");
  anonymous.cert_pem.clear();
  anonymous.key_pem.clear();
  EXPECT_EQ(Call(MutualTlsChannelCredentials(anonymous)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MutualTls, AClientCertificateOfAnotherCaIsRefused) {
  TlsMaterial stranger = Material("stranger", "tests");
  stranger.ca_pem = Material("ours", "tests").ca_pem;  // it trusts us; we do not trust it
  EXPECT_EQ(Call(MutualTlsChannelCredentials(stranger)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MutualTls, AClientRefusesAServerItsCaDidNotSign) {
  TlsMaterial wary = Material("ours", "tests");
  wary.ca_pem = Material("stranger", "tests").ca_pem;
  EXPECT_EQ(Call(MutualTlsChannelCredentials(wary)).error_code(), grpc::StatusCode::UNAVAILABLE);
}

// A health service that remembers the authorization metadata of the last call.
class RecordingHealth : public Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext* ctx, const HealthCheckRequest*,
                     HealthCheckResponse* resp) override {
    const auto& metadata = ctx->client_metadata();
    const auto it = metadata.find("authorization");
    const std::lock_guard<std::mutex> lock(mu_);
    authorization_ =
        it == metadata.end() ? "(none)" : std::string(it->second.data(), it->second.size());
    resp->set_status(HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
  std::string authorization() {
    const std::lock_guard<std::mutex> lock(mu_);
    return authorization_;
  }

 private:
  std::mutex mu_;
  std::string authorization_;
};

TEST_F(MutualTls, AClientIdentitySendsItsTokenOnEveryCallOverMutualTls) {
  RecordingHealth health;
  int port = 0;
  grpc::EnableDefaultHealthCheckService(false);  // ours answers Check (ServiceHost turns it on)
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", MutualTlsServerCredentials(Material("ours", "receiving")),
                           &port);
  builder.RegisterService(&health);
  auto server = builder.BuildAndStart();
  grpc::EnableDefaultHealthCheckService(true);
  ASSERT_NE(server, nullptr);
  auto call = [&](const ClientIdentity& identity) {
    auto stub = Health::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                    ClientChannelCredentials(identity)));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    HealthCheckResponse resp;
    return stub->Check(&ctx, HealthCheckRequest(), &resp);
  };
  ClientIdentity identity{Material("ours", "tests"), "a.b.c"};
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(call(identity).ok());
    EXPECT_EQ(health.authorization(), "Bearer a.b.c");
  }
  identity.bearer_token.clear();
  ASSERT_TRUE(call(identity).ok());
  EXPECT_EQ(health.authorization(), "(none)");
  // Without TLS there is no channel to carry a token: the server's handshake refuses it.
  EXPECT_EQ(call(ClientIdentity{std::nullopt, "a.b.c"}).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  server->Shutdown();
}

TEST(ReadClientIdentity, TakesTheTokenOrTheFirstWordOfItsFile) {
  const std::string file =
      std::filesystem::temp_directory_path() / ("bo-token-test-" + std::to_string(::getpid()));
  {
    std::ofstream out(file);
    out << "x.y.z\n";
  }
  auto from_file = ReadClientIdentity({}, "", file);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->bearer_token, "x.y.z");
  EXPECT_FALSE(from_file->tls.has_value());
  auto given = ReadClientIdentity({}, "a.b.c", file);
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->bearer_token, "a.b.c");
  std::filesystem::remove(file);
  auto gone = ReadClientIdentity({}, "", file);
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(gone.status().message()).find(file), std::string::npos);
  auto half_tls = ReadClientIdentity({"/etc/ssl/certs/ca-certificates.crt", "", ""}, "", "");
  EXPECT_EQ(half_tls.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReadTls, NamesWhatIsMissingOrUnreadable) {
  const std::string kSomePem = "/etc/ssl/certs/ca-certificates.crt";
  const absl::StatusOr<TlsMaterial> no_key = ReadTls({kSomePem, kSomePem, ""});
  EXPECT_EQ(no_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(no_key.status().message()).find("TLS private key"), std::string::npos);
  const absl::StatusOr<TlsMaterial> gone = ReadTls({"/nonexistent/ca.crt", "x", "y"});
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(gone.status().message()).find("/nonexistent/ca.crt"), std::string::npos);
  const absl::StatusOr<TlsMaterial> not_pem = ReadTls({"/etc/hostname", "x", "y"});
  EXPECT_EQ(not_pem.status().code(), absl::StatusCode::kNotFound);
}

TEST(ServiceHostTransport, ServesPlaintextOnlyWhenAskedForAndNeverHalfOfEach) {
  ServiceConfig c;
  c.name = "test";
  c.grpc_addr = "127.0.0.1:0";
  c.data_dir = "/tmp/unused";
  EXPECT_EQ(ServiceHost(c).Start().code(), absl::StatusCode::kFailedPrecondition);
  c.tls.ca = "/etc/ssl/certs/ca-certificates.crt";
  EXPECT_EQ(ServiceHost(c).Start().code(), absl::StatusCode::kFailedPrecondition);
  c.insecure = true;
  EXPECT_EQ(ServiceHost(c).Start().code(), absl::StatusCode::kFailedPrecondition);
  c.tls = {};
  ServiceHost plaintext(c);
  EXPECT_TRUE(plaintext.Start().ok());
  plaintext.Shutdown();
}

}  // namespace
}  // namespace bo::rpc
