// ServiceHost: the gRPC server every service runs in, and its configuration.
//
//   int main(int argc, char** argv) {
//     bo::rpc::ServiceHost::BlockTerminationSignals();   // before any thread starts
//     auto config = bo::rpc::ParseServiceConfig("receiving", 50053, argc, argv);
//     ...open the database, start consumers...
//     bo::rpc::ServiceHost host(*config);
//     host.AddService(&my_service);
//     host.SetReadiness([&] { return consumer.CaughtUp(); });
//     host.Start();
//     host.WaitForTermination();   // returns after SIGTERM/SIGINT and a graceful shutdown
//   }
//
// The host serves the standard health service (grpc.health.v1.Health), SERVING only while the
// readiness function says the service has caught up with the topics it reads, and server
// reflection, so grpcurl and load balancers work without the .proto files.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_interceptor.h"
#include "libs/rpc/tls.h"

namespace bo::rpc {

struct ServiceConfig {
  std::string name;                 // service name, for logs and health
  std::string grpc_addr;            // host:port to listen on (port 0 picks a free one)
  std::string data_dir;             // this service's own RocksDB and files
  std::string kafka_bootstrap;      // Kafka bootstrap servers
  std::string http_addr;            // host:port of metrics, probes (and pages); port 0 = any free
  std::string log_format = "text";  // text | json
  std::string log_level = "info";   // trace | debug | info | warn | error | critical | off
  // Mutual TLS on the gRPC port (libs/rpc/tls.h): all three files, or `insecure`.
  TlsFiles tls;
  // Plaintext gRPC, for local development only; announced loudly at start. Never with `tls`.
  bool insecure = false;
  // Bearer tokens, required on every call with TLS: the public key (PEM file) they are signed
  // with, and the issuer and audience they must name. What a token allows is the service's
  // policy; this lib only carries the settings.
  std::string token_key;
  std::string token_issuer = "backorders-dev";
  std::string token_audience = "backorders";
  // On an empty data directory, rebuild the service's own state from its own topic before
  // serving (what a service that lost its disk must do). Off only where independent test
  // deployments share one broker and its topics.
  bool restore_own_state = true;
  // Once, at this start: forget the service's read models (what its consumers built from other
  // services' topics) and rebuild them from the topics, keeping its own records. A flag only, so
  // that it does not stay set in an environment.
  bool rebuild_read_models = false;
};

// Reads the configuration from flags, falling back to the environment, then defaults:
//   --grpc-addr        BO_GRPC_ADDR        127.0.0.1:<default_port>
//   --data-dir         BO_DATA_DIR         var/data/<name>
//   --kafka-bootstrap  KAFKA_BOOTSTRAP     127.0.0.1:19092
//   --http-addr        BO_HTTP_ADDR        the gRPC host, port = gRPC port + 1000 (0 if that is 0)
//   --log-format       BO_LOG_FORMAT       text (or json)
//   --log-level        BO_LOG_LEVEL        info
//   --tls-ca           BO_TLS_CA           (none) the deployment's CA certificate, PEM
//   --tls-cert         BO_TLS_CERT         (none) this service's certificate, PEM
//   --tls-key          BO_TLS_KEY          (none) its private key, PEM
//   --insecure         BO_INSECURE=1       plaintext instead; one of the two is required
//   --token-key        BO_TOKEN_KEY        (none) bearer tokens' public key, PEM; required with TLS
//   --token-issuer     BO_TOKEN_ISSUER     backorders-dev
//   --token-audience   BO_TOKEN_AUDIENCE   backorders
//   --restore-own-state BO_RESTORE_OWN_STATE 1 (0: an empty data directory starts empty)
//   --rebuild-read-models (flag only)     off
// A bad flag is INVALID_ARGUMENT with the usage text; --help is CANCELLED with the usage text
// (print it and exit 0).
absl::StatusOr<ServiceConfig> ParseServiceConfig(const std::string& name, int default_port,
                                                 int argc, char** argv);

// A channel for calling the peer service at `target`: mutual TLS presenting this service's own
// certificate (its certificate is for client use too), or plaintext with `config.insecure`.
// FAILED_PRECONDITION as ServiceHost::Start for a configuration that is neither.
// It tries to reconnect at least every second while the peer is down (gRPC's default backoff
// grows to two minutes, and every call fails at once until the next attempt, long after the
// peer is back). Calls on it should set wait_for_ready within their deadline, so that a call
// made while it reconnects waits for the connection and drives its TLS handshake.
absl::StatusOr<std::shared_ptr<grpc::Channel>> PeerChannel(const ServiceConfig& config,
                                                           const std::string& target);

class ServiceHost {
 public:
  // Blocks SIGTERM and SIGINT in the calling thread and every thread it starts later, so that
  // WaitForTermination() can receive them synchronously. Call first thing in main().
  static void BlockTerminationSignals();

  explicit ServiceHost(ServiceConfig config);
  ~ServiceHost();

  // Services to serve; they must outlive the host. Call before Start().
  void AddService(grpc::Service* service);
  // Health is SERVING only while `ready` returns true (checked every 100 ms). Default: ready.
  void SetReadiness(std::function<bool()> ready);
  // Interceptors every call passes through, in order. Call before Start().
  void AddInterceptor(std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> f);

  // Binds and starts serving: mutual TLS with `config.tls`, or plaintext with `config.insecure`
  // (logged as a warning); FAILED_PRECONDITION with neither or both, or files that cannot be
  // read. UNAVAILABLE if the address cannot be bound.
  absl::Status Start();
  // The port actually bound (useful with port 0).
  int port() const { return port_; }

  // Waits for SIGTERM or SIGINT, then shuts down gracefully (NOT_SERVING first, in-flight calls
  // get up to `grace` to finish).
  void WaitForTermination(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // Shuts down now (same steps), from any thread.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(10));

 private:
  void WatchReadiness();

  ServiceConfig config_;
  std::vector<grpc::Service*> services_;
  std::function<bool()> ready_ = [] { return true; };
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::thread watcher_;
  std::atomic<bool> stopping_{false};
};

}  // namespace bo::rpc
