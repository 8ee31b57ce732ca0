#include "services/common/service_runtime.h"

#include <cstdio>
#include <cstdlib>

#include "services/common/topics.h"
#include "spdlog/spdlog.h"

namespace bo {

std::unique_ptr<ServiceRuntime> ServiceRuntime::Open(const std::string& name, int default_port,
                                                     int argc, char** argv) {
  rpc::ServiceHost::BlockTerminationSignals();
  auto config = rpc::ParseServiceConfig(name, default_port, argc, argv);
  if (!config.ok()) {
    bool help = config.status().code() == absl::StatusCode::kCancelled;
    std::fprintf(help ? stdout : stderr, "%s\n", std::string(config.status().message()).c_str());
    std::exit(help ? 0 : 2);
  }
  auto runtime = std::unique_ptr<ServiceRuntime>(new ServiceRuntime());
  runtime->config_ = *config;
  auto db = Database::Open(config->data_dir);
  if (!db.ok()) {
    spdlog::critical("{}: cannot open {}: {}", name, config->data_dir, db.status().ToString());
    std::exit(1);
  }
  runtime->db_ = std::move(*db);
  auto store = EventStore::Open(runtime->db_.get());
  if (!store.ok()) {
    spdlog::critical("{}: cannot open the event store: {}", name, store.status().ToString());
    std::exit(1);
  }
  runtime->store_ = std::move(*store);
  return runtime;
}

int ServiceRuntime::Run(std::vector<Subscription> subscriptions,
                        std::vector<grpc::Service*> services) {
  const kafka::Config kafka_config = {{"bootstrap.servers", config_.kafka_bootstrap},
                                      {"client.id", "bo-" + config_.name}};
  kafka::OutboxRelay relay(store_.get(), {kafka_config});
  relay.Start();

  std::vector<std::unique_ptr<kafka::ExactlyOnceConsumer>> consumers;
  for (auto& sub : subscriptions) {
    // One instance per service here, so the consumer name doubles as its static member id.
    kafka::ConsumerOptions options{kafka_config, sub.name, sub.topics, /*instance_id=*/sub.name};
    consumers.push_back(
        std::make_unique<kafka::ExactlyOnceConsumer>(db_.get(), options, std::move(sub.handler)));
    absl::Status s = consumers.back()->Start();
    if (!s.ok()) {
      spdlog::critical("{}: consumer {}: {}", config_.name, sub.name, s.ToString());
      return 1;
    }
  }

  rpc::ServiceHost host(config_);
  for (auto* s : services) host.AddService(s);
  host.SetReadiness([&consumers] {
    for (const auto& c : consumers) {
      if (!c->CaughtUp()) return false;
    }
    return true;
  });
  absl::Status s = host.Start();
  if (!s.ok()) {
    spdlog::critical("{}: {}", config_.name, s.ToString());
    return 1;
  }
  spdlog::info("{}: serving gRPC on port {} (data {}, kafka {})", config_.name, host.port(),
               config_.data_dir, config_.kafka_bootstrap);
  host.WaitForTermination();
  spdlog::info("{}: shutting down", config_.name);
  for (auto& c : consumers) c->Stop();
  relay.Stop();
  return 0;
}

}  // namespace bo

#include "backorder/v1/events.pb.h"

namespace bo {

kafka::RecordHandler CountEventsByType(Database* db) {
  return [db](const kafka::ConsumedRecord& r, rocksdb::WriteBatch* batch) -> absl::Status {
    backorder::v1::EventEnvelope envelope;
    std::string type = "undecodable";
    if (envelope.ParseFromArray(r.value.data(), static_cast<int>(r.value.size())) &&
        !envelope.type().empty()) {
      type = envelope.type();
    } else {
      spdlog::warn("skipping undecodable record {}/{}@{}", std::string(r.topic), r.partition,
                   r.offset);
    }
    const std::string key = "events_applied/" + type;
    auto current = db->Get(kReadModelFamily, key);
    if (!current.ok()) return current.status();
    int64_t n = current->has_value() ? std::stoll(**current) : 0;
    batch->Put(db->family(kReadModelFamily), key, std::to_string(n + 1));
    return absl::OkStatus();
  };
}

}  // namespace bo
