// bo-admin: small operator commands used by deploy/local/stack and the tests.
//   bo-admin create-topics [--bootstrap HOST:PORT] [--partitions N]
//   bo-admin health --addr HOST:PORT [--service NAME] [--wait SECONDS]
#include <chrono>
#include <cstdio>
#include <thread>

#include "CLI/CLI.hpp"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "services/common/topics.h"

namespace {

using grpc::health::v1::HealthCheckResponse;

int CreateTopics(const std::string& bootstrap, int partitions) {
  auto topics = bo::EventTopics(partitions);
  absl::Status s = bo::kafka::EnsureTopics({{"bootstrap.servers", bootstrap}}, topics);
  if (!s.ok()) {
    std::fprintf(stderr, "create-topics: %s\n", s.ToString().c_str());
    return 1;
  }
  for (const auto& t : topics)
    std::printf("topic %s (%d partitions)\n", t.name.c_str(), t.partitions);
  return 0;
}

// Prints SERVING / NOT_SERVING / UNREACHABLE; exit 0 only when SERVING (within --wait).
int Health(const std::string& addr, const std::string& service, int wait_seconds) {
  auto channel = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
  std::string last;
  for (;;) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    HealthCheckResponse resp;
    grpc::Status s = stub->Check(&ctx, req, &resp);
    last = s.ok() ? HealthCheckResponse::ServingStatus_Name(resp.status())
                  : "UNREACHABLE (" + s.error_message() + ")";
    if (s.ok() && resp.status() == HealthCheckResponse::SERVING) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      std::printf("%s %s\n", addr.c_str(), last.c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  std::printf("%s %s\n", addr.c_str(), last.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bo-admin: operator commands for the back-order system"};
  app.require_subcommand(1);
  const char* env_bootstrap = std::getenv("KAFKA_BOOTSTRAP");
  std::string bootstrap = env_bootstrap ? env_bootstrap : "127.0.0.1:19092";
  int partitions = 6;
  auto* create = app.add_subcommand("create-topics", "create the event topics (idempotent)");
  create->add_option("--bootstrap", bootstrap, "Kafka bootstrap servers (env KAFKA_BOOTSTRAP)");
  create->add_option("--partitions", partitions, "partitions per topic")
      ->check(CLI::Range(1, 1000));

  std::string addr, service;
  int wait_seconds = 0;
  auto* health = app.add_subcommand("health", "check a service's gRPC health");
  health->add_option("--addr", addr, "gRPC address host:port")->required();
  health->add_option("--service", service, "service name ('' = the whole server)");
  health->add_option("--wait", wait_seconds, "keep trying this many seconds");

  CLI11_PARSE(app, argc, argv);
  if (*create) return CreateTopics(bootstrap, partitions);
  return Health(addr, service, wait_seconds);
}
