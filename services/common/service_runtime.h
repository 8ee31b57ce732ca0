// ServiceRuntime: what every back-order service process runs, wired once: its Database and
// EventStore, the outbox relay publishing its own topic, one exactly-once consumer per group of
// topics it reacts to, and the gRPC ServiceHost whose health follows the consumers' catch-up.
// A service's main() builds its handlers and gRPC services and hands them to Run().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/kafka/exactly_once_consumer.h"
#include "libs/kafka/outbox_relay.h"
#include "libs/rpc/service_host.h"
#include "libs/store/event_store.h"

namespace bo {

struct Subscription {
  std::string name;  // consumer (and group) name, e.g. "receiving.stock"
  std::vector<std::string> topics;
  kafka::RecordHandler handler;
};

class ServiceRuntime {
 public:
  // Parses flags/environment (see ParseServiceConfig) and opens the Database. On --help or a
  // bad flag, prints and exits.
  static std::unique_ptr<ServiceRuntime> Open(const std::string& name, int default_port, int argc,
                                              char** argv);

  Database* database() { return db_.get(); }
  EventStore* store() { return store_.get(); }
  const rpc::ServiceConfig& config() const { return config_; }

  // Starts relay, consumers and the gRPC server, then serves until SIGTERM/SIGINT and shuts
  // everything down in reverse order. Returns the process exit code.
  int Run(std::vector<Subscription> subscriptions, std::vector<grpc::Service*> services);

 private:
  rpc::ServiceConfig config_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<EventStore> store_;
};

}  // namespace bo

namespace bo {

// Until a service has its projections, it still reads its topics (so health means "caught up")
// and keeps one figure per event type: how many it has applied. Undecodable records are
// counted as "undecodable" and skipped rather than retried for ever.
kafka::RecordHandler CountEventsByType(Database* db);

}  // namespace bo
