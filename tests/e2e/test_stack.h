// TestStack: the four real service binaries as processes, on real gRPC ports, each with its own
// RocksDB in a temporary directory, against the real broker at KAFKA_BOOTSTRAP, with mutual TLS
// and bearer tokens as on the local stack (a TestPki of its own). End-to-end suites drive it over
// gRPC exactly as boctl would, as one caller with a group token (kSubject).
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
#include "libs/rpc/tls.h"
#include "tests/e2e/test_pki.h"

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
  // Who the stubs call as: the actor of every event they cause.
  static constexpr char kSubject[] = "tests@e2e";

  // `port_base`+1..+4 are the gRPC ports; `env` is added to the services' environment.
  TestStack(int port_base, std::map<std::string, std::string> env);
  ~TestStack();

  // Creates the topics, starts every service and waits until each reports SERVING.
  void Start();
  // SIGTERM and wait.
  void Stop();
  // SIGKILL service `name` ("receiving", ...).
  void Kill(const std::string& name);
  // Start service `name` again on its data and port (SIGKILL first if it runs) and wait until it
  // reports SERVING.
  void Restart(const std::string& name);

  backorder::v1::InvoicingService::Stub& invoicing() { return *invoicing_; }
  backorder::v1::PurchasingService::Stub& purchasing() { return *purchasing_; }
  backorder::v1::ReceivingService::Stub& receiving() { return *receiving_; }
  backorder::v1::DebtorQueryService::Stub& debtor_query() { return *debtor_query_; }
  // Receiving as invoicing calls it, presenting invoicing's certificate: HoldStock and
  // ReleaseHold are taken only from there (services/common/access.h).
  backorder::v1::ReceivingService::Stub& receiving_from_invoicing() { return *relay_; }
  const std::map<std::string, ServiceProcess>& services() const { return services_; }
  // The certificates, and the stubs' identity (the tests certificate, a group token of kSubject).
  const TestPki& pki() const { return pki_; }
  const rpc::ClientIdentity& identity() const { return identity_; }
  // A channel of its own to `addr` as the stubs' identity.
  std::shared_ptr<grpc::Channel> Channel(const std::string& addr) const;
  // The HTTPS side of the service at gRPC address `grpc_addr` (its port + 1000), and who to fetch
  // from it as (the stubs' certificate and token).
  static std::string HttpBase(const std::string& grpc_addr);
  http::FetchIdentity http_identity() const { return pki_.HttpClient(identity_); }

 private:
  void Launch(ServiceProcess* s);
  void WaitServing(const ServiceProcess& s);

  std::string root_;
  TestPki pki_;
  rpc::ClientIdentity identity_;
  std::map<std::string, std::string> env_;
  std::map<std::string, ServiceProcess> services_;
  std::unique_ptr<backorder::v1::InvoicingService::Stub> invoicing_;
  std::unique_ptr<backorder::v1::PurchasingService::Stub> purchasing_;
  std::unique_ptr<backorder::v1::ReceivingService::Stub> receiving_;
  std::unique_ptr<backorder::v1::DebtorQueryService::Stub> debtor_query_;
  std::unique_ptr<backorder::v1::ReceivingService::Stub> relay_;
};

// Whether something accepts TCP connections at `addr` (host:port, IPv4).
bool PortBusy(const std::string& addr);

// Polls the gRPC health service at `addr` until it says SERVING; false after `limit`. Over
// mutual TLS when `identity` has TLS.
bool Serving(const std::string& addr, std::chrono::seconds limit,
             const rpc::ClientIdentity& identity = {});

// A client context with a deadline and, for services started --insecure, the caller's metadata
// (a service checking tokens takes the caller from the token instead).
std::unique_ptr<grpc::ClientContext> Call(const std::string& actor = "clerk:e2e");

// Polls `condition` until it holds; false after `limit` (a guard against hanging, not a timing
// assertion: events normally flow in well under a second).
bool Eventually(const std::function<bool()>& condition,
                std::chrono::seconds limit = std::chrono::seconds(60));

}  // namespace bo::testing
