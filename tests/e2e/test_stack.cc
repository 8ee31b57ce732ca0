#include "tests/e2e/test_stack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "libs/kafka/testing.h"
#include "libs/kafka/topic_admin.h"
#include "services/common/topics.h"
#include "tests/foundation/process.h"

namespace bo::testing {

namespace {

std::string FreshRoot() {
  const std::string root =
      (std::filesystem::temp_directory_path() / ("bo_e2e_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  return root;
}

}  // namespace

TestStack::TestStack(int port_base, std::map<std::string, std::string> env)
    : root_(FreshRoot()),
      pki_(root_ + "/pki"),
      identity_(pki_.Client(kSubject, "group")),
      env_(std::move(env)) {
  const std::pair<const char*, const char*> names[] = {{"invoicing", BO_INVOICING_BIN},
                                                       {"purchasing", BO_PURCHASING_BIN},
                                                       {"receiving", BO_RECEIVING_BIN},
                                                       {"debtor-query", BO_DEBTOR_QUERY_BIN}};
  int port = port_base;
  for (const auto& [name, bin] : names) {
    ServiceProcess s;
    s.name = name;
    s.binary = bin;
    s.addr = "127.0.0.1:" + std::to_string(++port);
    s.data_dir = root_ + "/" + name;
    s.log = root_ + "/" + name + ".log";
    services_[name] = s;
  }
  env_["RECEIVING_ADDR"] = services_["receiving"].addr;
  invoicing_ = backorder::v1::InvoicingService::NewStub(Channel(services_["invoicing"].addr));
  purchasing_ = backorder::v1::PurchasingService::NewStub(Channel(services_["purchasing"].addr));
  receiving_ = backorder::v1::ReceivingService::NewStub(Channel(services_["receiving"].addr));
  debtor_query_ =
      backorder::v1::DebtorQueryService::NewStub(Channel(services_["debtor-query"].addr));
  relay_ = backorder::v1::ReceivingService::NewStub(grpc::CreateChannel(
      services_["receiving"].addr,
      rpc::ClientChannelCredentials(pki_.Client(kSubject, "group", {}, "invoicing"))));
}

std::string TestStack::HttpBase(const std::string& grpc_addr) {
  const size_t colon = grpc_addr.rfind(':');
  return "https://" + grpc_addr.substr(0, colon) + ":" +
         std::to_string(std::stoi(grpc_addr.substr(colon + 1)) + 1000);
}

std::shared_ptr<grpc::Channel> TestStack::Channel(const std::string& addr) const {
  return grpc::CreateChannel(addr, rpc::ClientChannelCredentials(identity_));
}

TestStack::~TestStack() {
  Stop();
  if (std::getenv("BO_E2E_KEEP") == nullptr) std::filesystem::remove_all(root_);
}

void TestStack::Start() {
  const std::string bootstrap = kafka::testing::Bootstrap();
  if (bootstrap.empty()) throw std::runtime_error("KAFKA_BOOTSTRAP is not set (run tools/test)");
  absl::Status topics = kafka::EnsureTopics({{"bootstrap.servers", bootstrap}}, EventTopics());
  if (!topics.ok()) throw std::runtime_error("creating topics: " + topics.ToString());
  for (const auto& [k, v] : env_) ::setenv(k.c_str(), v.c_str(), 1);
  // A process left over on a port (say from a run that was killed) would answer the health
  // checks and every call in place of the service started here.
  for (const auto& [name, s] : services_) {
    if (PortBusy(s.addr)) {
      throw std::runtime_error(name + ": " + s.addr + " is already in use by another process");
    }
  }
  for (auto& [name, s] : services_) Launch(&s);
  for (const auto& [name, s] : services_) WaitServing(s);
}

void TestStack::Launch(ServiceProcess* s) {
  std::vector<std::string> args = {"--grpc-addr=" + s->addr, "--data-dir=" + s->data_dir,
                                   "--kafka-bootstrap=" + kafka::testing::Bootstrap()};
  for (std::string& flag : pki_.ServiceFlags(s->name)) args.push_back(std::move(flag));
  s->pid = Spawn(s->binary, args, s->log);
}

void TestStack::Kill(const std::string& name) {
  ServiceProcess& s = services_.at(name);
  if (s.pid > 0) KillHard(s.pid);
  s.pid = 0;
}

void TestStack::Restart(const std::string& name) {
  Kill(name);
  ServiceProcess& s = services_.at(name);
  Launch(&s);
  WaitServing(s);
}

bool PortBusy(const std::string& addr) {
  const size_t colon = addr.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(addr.substr(colon + 1))));
  if (::inet_pton(AF_INET, addr.substr(0, colon).c_str(), &sa.sin_addr) != 1) return false;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  const bool busy = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return busy;
}

void TestStack::Stop() {
  for (auto& [name, s] : services_) {
    if (s.pid > 0) ::kill(s.pid, SIGTERM);
  }
  for (auto& [name, s] : services_) {
    if (s.pid > 0) WaitExit(s.pid, std::chrono::seconds(30));
    s.pid = 0;
  }
}

void TestStack::WaitServing(const ServiceProcess& s) {
  if (!Serving(s.addr, std::chrono::seconds(120), identity_)) {
    throw std::runtime_error(s.name + " never became SERVING; see " + s.log);
  }
}

bool Serving(const std::string& addr, std::chrono::seconds limit,
             const rpc::ClientIdentity& identity) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(addr, rpc::ClientChannelCredentials(identity)));
  return Eventually(
      [&] {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
        // Let the call drive the connection: a channel that failed to connect once (the service
        // still starting) otherwise fails every call at once while it waits out its reconnect
        // backoff, and its TLS handshake makes progress only on gRPC's 5-second backup poller.
        ctx.set_wait_for_ready(true);
        grpc::health::v1::HealthCheckRequest req;
        grpc::health::v1::HealthCheckResponse resp;
        return stub->Check(&ctx, req, &resp).ok() &&
               resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
      },
      limit);
}

std::unique_ptr<grpc::ClientContext> Call(const std::string& actor) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  ctx->AddMetadata("bo-actor", actor);
  ctx->AddMetadata("bo-role", "clerk");
  return ctx;
}

bool Eventually(const std::function<bool()>& condition, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

}  // namespace bo::testing
