// ServiceRuntime: what every back-order service process runs, wired once: its Database and
// EventStore, the outbox relay publishing its own topic, one exactly-once consumer per group of
// topics it reacts to, the gRPC ServiceHost whose health follows the consumers' catch-up, and
// the HTTP side for operations:
//
//   /metrics        Prometheus text: RPCs, events published and consumed, outbox depth, consumer
//                   lag per partition, RocksDB size and stalls, process figures, and whatever the
//                   service adds to metrics()
//   /healthz        200 while the process serves
//   /readyz         200 once every consumer has caught up with its topics, else 503 (the gRPC
//                   health status says the same)
//   /api/v1/status  the same facts as JSON (StatusJson), for the ops dashboard
//
// A service's main() builds its handlers and gRPC services, may add HTTP routes and metrics,
// gives its AggregateRestorer (own_state_restore.h), and hands them to Run().
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/http/http_server.h"
#include "libs/kafka/exactly_once_consumer.h"
#include "libs/kafka/outbox_relay.h"
#include "libs/metrics/registry.h"
#include "libs/rpc/service_host.h"
#include "libs/store/event_store.h"
#include "services/common/access.h"
#include "services/common/own_state_restore.h"

namespace bo {

struct Subscription {
  std::string name;  // consumer (and group) name, e.g. "receiving.stock"
  std::vector<std::string> topics;
  kafka::RecordHandler handler;
};

class ServiceRuntime {
 public:
  // Parses flags/environment (see ParseServiceConfig), sets up logging and opens the Database.
  // On --help or a bad flag, prints and exits.
  static std::unique_ptr<ServiceRuntime> Open(const std::string& name, int default_port, int argc,
                                              char** argv);
  ~ServiceRuntime();

  Database* database() { return db_.get(); }
  EventStore* store() { return store_.get(); }
  const rpc::ServiceConfig& config() const { return config_; }
  // Who may call what (access.h): bearer tokens, or nothing checked with --insecure.
  std::shared_ptr<const Access> access() const { return access_; }
  // The figures on /metrics; add the service's own before Run().
  metrics::Registry* metrics() { return &metrics_; }
  // The HTTP server of /metrics and the probes; add routes before Run(). With TLS it serves
  // HTTPS with the service's certificate, and every route added with Get() is guarded by
  // Access::AdmitHttpRead (GetOpen: only what holds no data).
  http::HttpServer* http() { return http_.get(); }
  // How this service fetches from its peers' HTTP side: its own certificate over HTTPS, or
  // nothing for plain HTTP (--insecure).
  http::FetchIdentity http_identity() const;

  // How this service's streams fold back into its state records; Run() uses it to restore an
  // empty data directory from the service's own topic before anything else starts (unless
  // config().restore_own_state is false).
  void SetOwnStateRestorer(AggregateRestorer restorer, RestoreFinisher finisher = nullptr) {
    restorer_ = std::move(restorer);
    finisher_ = std::move(finisher);
  }

  // Where this service keeps its read models (own_state_restore.h, KeyRange): with
  // --rebuild-read-models, Run() forgets them and what the consumers applied, folds the own
  // streams again for their part (through the restorer above), and lets the consumers replay.
  // Declaring them says that every consumer of the service writes nothing outside them. A
  // service that declares none has nothing to rebuild (receiving: every reaction changes its
  // own ledgers); debtor-query keeps its read models apart and rebuilds them itself
  // (projection.h, PrepareReadModel).
  void SetReadModels(std::vector<KeyRange> ranges) { read_models_ = std::move(ranges); }

  // Starts the HTTP server, relay, consumers and the gRPC server, then serves until
  // SIGTERM/SIGINT and shuts everything down in reverse order. Returns the exit code.
  int Run(std::vector<Subscription> subscriptions, std::vector<grpc::Service*> services);

  // True once every consumer has caught up with the topics it reads.
  bool Ready() const;
  // True once the own state is restored (or needed nothing) and the relay runs: from then on
  // the service's own background work (say, expiring holds) may write.
  bool Restored() const { return restored_; }
  // {"service":..,"ready":..,"outbox_depth":..,"published":..,
  //  "consumers":[{"name":..,"caught_up":..,"applied":..,
  //                "partitions":[{"topic":..,"partition":..,"offset":..,"end":..,"lag":..}]}]}
  std::string StatusJson() const;

 private:
  ServiceRuntime() = default;
  void AddRuntimeMetrics();
  void AddProbes();
  // RestoreOwnState, retried until it succeeds; false if a termination signal came first.
  bool RestoreUntilDone();
  // RebuildReadModels (asked for, or left half done by a crash); false if it failed.
  bool RebuildReadModelsIfAsked(const std::vector<Subscription>& subscriptions);

  rpc::ServiceConfig config_;
  std::shared_ptr<const Access> access_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<EventStore> store_;
  metrics::Registry metrics_;
  std::unique_ptr<http::HttpServer> http_;
  AggregateRestorer restorer_;
  RestoreFinisher finisher_;
  std::vector<KeyRange> read_models_;
  std::atomic<bool> restored_ = false;

  mutable std::mutex mu_;  // guards the two below, which Run() fills while HTTP already serves
  std::unique_ptr<kafka::OutboxRelay> relay_;
  std::vector<std::unique_ptr<kafka::ExactlyOnceConsumer>> consumers_;
};

}  // namespace bo
