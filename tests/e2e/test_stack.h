// TestStack: the four real service binaries as processes, on real gRPC ports, each with its own
// RocksDB in a temporary directory, against the real broker at KAFKA_BOOTSTRAP. End-to-end
// suites drive it over gRPC exactly as boctl would.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "backorder/v1/debtor_query_service.grpc.pb.h"
#include "backorder/v1/invoicing_service.grpc.pb.h"
#include "backorder/v1/purchasing_service.grpc.pb.h"
#include "backorder/v1/receiving_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace bo::testing {

struct ServiceProcess {
  std::string name;
  std::string binary;
  std::string addr;
  std::string data_dir;
  std::string log;
  pid_t pid = 0;
};

class TestStack {
 public:
  // `port_base`+1..+4 are the gRPC ports; `env` is added to the services' environment.
  TestStack(int port_base, std::map<std::string, std::string> env);
  ~TestStack();

  // Creates the topics, starts every service and waits until each reports SERVING.
  void Start();
  // SIGTERM and wait.
  void Stop();

  backorder::v1::InvoicingService::Stub& invoicing() { return *invoicing_; }
  backorder::v1::PurchasingService::Stub& purchasing() { return *purchasing_; }
  backorder::v1::ReceivingService::Stub& receiving() { return *receiving_; }
  backorder::v1::DebtorQueryService::Stub& debtor_query() { return *debtor_query_; }
  const std::map<std::string, ServiceProcess>& services() const { return services_; }

 private:
  void WaitServing(const ServiceProcess& s);

  std::string root_;
  std::map<std::string, std::string> env_;
  std::map<std::string, ServiceProcess> services_;
  std::unique_ptr<backorder::v1::InvoicingService::Stub> invoicing_;
  std::unique_ptr<backorder::v1::PurchasingService::Stub> purchasing_;
  std::unique_ptr<backorder::v1::ReceivingService::Stub> receiving_;
  std::unique_ptr<backorder::v1::DebtorQueryService::Stub> debtor_query_;
};

// Whether something accepts TCP connections at `addr` (host:port, IPv4).
bool PortBusy(const std::string& addr);

// Polls the gRPC health service at `addr` until it says SERVING; false after `limit`.
bool Serving(const std::string& addr, std::chrono::seconds limit);

// A client context with a deadline and the caller's metadata.
std::unique_ptr<grpc::ClientContext> Call(const std::string& actor = "clerk:e2e");

// Polls `condition` until it holds; false after `limit` (a guard against hanging, not a timing
// assertion: events normally flow in well under a second).
bool Eventually(const std::function<bool()>& condition,
                std::chrono::seconds limit = std::chrono::seconds(60));

}  // namespace bo::testing
