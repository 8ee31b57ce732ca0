#include "services/common/service_runtime.h"

#include <malloc.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "backorder/v1/events.pb.h"
#include "libs/log/log.h"
#include "libs/rpc/rpc_observer.h"
#include "nlohmann/json.hpp"
#include "services/common/topics.h"
#include "spdlog/spdlog.h"

#ifndef BO_VERSION
#define BO_VERSION "dev"
#endif

namespace bo {
namespace {

// Log lines written while an event is handled carry the correlation id of the command that
// caused it, like the lines of that command's RPC.
kafka::RecordHandler WithEventCorrelation(kafka::RecordHandler handler) {
  return
      [handler = std::move(handler)](const kafka::ConsumedRecord& r, rocksdb::WriteBatch* batch) {
        backorder::v1::EventEnvelope envelope;
        std::string correlation;
        if (envelope.ParseFromArray(r.value.data(), static_cast<int>(r.value.size()))) {
          correlation = envelope.correlation_id();
        }
        log::ScopedCorrelation scope(std::move(correlation));
        return handler(r, batch);
      };
}

// Tokens signed with the key in `config.token_key`, naming its issuer and audience.
absl::StatusOr<std::shared_ptr<const Access>> ReadAccess(const rpc::ServiceConfig& config) {
  auto pem = rpc::ReadPem("--token-key", config.token_key);
  if (!pem.ok()) return pem.status();
  AccessOptions options;
  options.tokens.public_key_pem = *std::move(pem);
  options.tokens.issuer = config.token_issuer;
  options.tokens.audience = config.token_audience;
  return Access::WithTokens(std::move(options));
}

}  // namespace

std::unique_ptr<ServiceRuntime> ServiceRuntime::Open(const std::string& name, int default_port,
                                                     int argc, char** argv) {
  rpc::ServiceHost::BlockTerminationSignals();
  // Debian builds Abseil without NDEBUG, so every absl::Mutex lock (gRPC's own) is also recorded
  // in a deadlock-detection graph: 1-2% of the machine's CPU in the perf load
  // (docs/performance.md). Abseil's release builds skip that; so do we.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  auto config = rpc::ParseServiceConfig(name, default_port, argc, argv);
  if (!config.ok()) {
    bool help = config.status().code() == absl::StatusCode::kCancelled;
    std::fprintf(help ? stdout : stderr, "%s\n", std::string(config.status().message()).c_str());
    std::exit(help ? 0 : 2);
  }
  // ParseServiceConfig has checked both against the same lists.
  log::Configure(
      {name, *log::ParseFormat(config->log_format), *log::ParseLevel(config->log_level)});

  auto runtime = std::unique_ptr<ServiceRuntime>(new ServiceRuntime());
  runtime->config_ = *config;
  if (config->insecure) {
    spdlog::warn(
        "*** INSECURE: no bearer tokens are checked; callers name themselves "
        "(--insecure, development only) ***");
    runtime->access_ = Access::Insecure();
  } else {
    auto access = ReadAccess(*config);
    if (!access.ok()) {
      spdlog::critical("cannot check bearer tokens: {}", access.status().ToString());
      std::exit(2);
    }
    runtime->access_ = std::move(*access);
  }
  auto db = Database::Open(config->data_dir);
  if (!db.ok()) {
    spdlog::critical("cannot open {}: {}", config->data_dir, db.status().ToString());
    std::exit(1);
  }
  runtime->db_ = std::move(*db);
  auto store = EventStore::Open(runtime->db_.get());
  if (!store.ok()) {
    spdlog::critical("cannot open the event store: {}", store.status().ToString());
    std::exit(1);
  }
  runtime->store_ = std::move(*store);
  if (config->insecure) {
    runtime->http_ = std::make_unique<http::HttpServer>(config->http_addr);
  } else {
    runtime->http_ = std::make_unique<http::HttpServer>(
        config->http_addr, http::TlsFiles{config->tls.ca, config->tls.cert, config->tls.key});
    runtime->http_->SetGuard([access = runtime->access_](
                                 const http::Request& r) -> std::optional<http::Response> {
      const auto it = r.headers.find("authorization");
      const absl::Status s =
          access->AdmitHttpRead(r.peer, it == r.headers.end() ? "" : it->second, r.Param("branch"));
      if (s.ok()) return std::nullopt;
      return http::Text(absl::IsUnauthenticated(s) ? 401 : 403, std::string(s.message()) + "\n");
    });
  }
  runtime->AddRuntimeMetrics();
  runtime->AddProbes();
  return runtime;
}

ServiceRuntime::~ServiceRuntime() {
  // The HTTP handlers read the consumers and the relay: stop serving them first.
  if (http_) http_->Stop();
}

bool ServiceRuntime::Ready() const {
  std::lock_guard lock(mu_);
  if (relay_ == nullptr) return false;  // not running yet
  for (const auto& c : consumers_) {
    if (!c->CaughtUp()) return false;
  }
  return true;
}

std::string ServiceRuntime::StatusJson() const {
  nlohmann::ordered_json status;
  status["service"] = config_.name;
  status["ready"] = Ready();
  std::lock_guard lock(mu_);
  const kafka::RelayStats relay = relay_ ? relay_->Stats() : kafka::RelayStats{};
  status["outbox_depth"] = store_->OutboxDepth();
  status["published"] = relay.published;
  auto consumers = nlohmann::ordered_json::array();
  for (const auto& c : consumers_) {
    const kafka::ConsumerStats stats = c->Stats();
    nlohmann::ordered_json entry;
    entry["name"] = c->name();
    entry["caught_up"] = c->CaughtUp();
    entry["applied"] = stats.applied;
    auto partitions = nlohmann::ordered_json::array();
    for (const auto& p : stats.partitions) {
      partitions.push_back({{"topic", p.topic},
                            {"partition", p.partition},
                            {"offset", p.next_offset},
                            {"end", p.high_watermark},
                            {"lag", p.high_watermark - p.next_offset}});
    }
    entry["partitions"] = std::move(partitions);
    consumers.push_back(std::move(entry));
  }
  status["consumers"] = std::move(consumers);
  // RocksDB's work still owed after a burst of writes: bytes its compactions must still rewrite
  // (its estimate) and jobs under way. Both 0 once the store has settled.
  // And where its memory is, which is most of a service's resident size.
  // And how much it has written since start: by commits, flushes and compactions.
  const Database::MemoryUse memory = db_->Memory();
  const Database::WriteVolume writes = db_->Writes();
  status["storage"] = {{"pending_compaction_bytes", db_->PendingCompactionBytes()},
                       {"background_jobs", db_->RunningBackgroundJobs()},
                       {"memtable_bytes", memory.memtables},
                       {"table_readers_bytes", memory.table_readers},
                       {"block_cache_bytes", memory.block_cache},
                       {"committed_bytes", writes.committed},
                       {"flushed_bytes", writes.flushed},
                       {"compaction_read_bytes", writes.compaction_read},
                       {"compaction_written_bytes", writes.compaction_written}};
  return status.dump();
}

http::FetchIdentity ServiceRuntime::http_identity() const {
  if (config_.insecure) return {};
  return {config_.tls.ca, config_.tls.cert, config_.tls.key, ""};
}

void ServiceRuntime::AddProbes() {
  // Probes say only "alive" and "caught up": open, as an orchestrator's prober has no token.
  http_->GetOpen("/healthz", [](const http::Request&) { return http::Text(200, "ok\n"); });
  http_->GetOpen("/readyz", [this](const http::Request&) {
    return Ready() ? http::Text(200, "ready\n")
                   : http::Text(503, "not ready: catching up with its topics\n");
  });
  http_->Get("/metrics", [this](const http::Request&) {
    http::Response r = http::Text(200, metrics_.Render());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  });
  http_->Get("/api/v1/status", [this](const http::Request&) {
    http::Response r = http::Json(200, StatusJson());
    r.headers["Cache-Control"] = "no-store";
    return r;
  });
}

void ServiceRuntime::AddRuntimeMetrics() {
  metrics::AddProcessCollector(&metrics_);
  metrics_
      .AddGauge("bo_build_info", "Always 1; the labels say which service and version.",
                {"service", "version"})
      .WithLabels({config_.name, BO_VERSION})
      .Set(1);
  metrics_.AddCollector([this](metrics::Sink& out) {
    out.Gauge("bo_ready", "1 once every consumer has caught up with its topics.", {}, {},
              Ready() ? 1 : 0);
    out.Gauge("bo_outbox_depth", "Events committed and not yet published to Kafka.", {}, {},
              static_cast<double>(store_->OutboxDepth()));
    std::lock_guard lock(mu_);
    const kafka::RelayStats relay = relay_ ? relay_->Stats() : kafka::RelayStats{};
    // Every service publishes to its own topic: show it (at 0) before the first event too.
    std::map<std::string, uint64_t> published = {{OwnTopic(config_.name), 0}};
    for (const auto& [topic, n] : relay.published_by_topic) published[topic] = n;
    for (const auto& [topic, n] : published) {
      out.Counter("bo_events_published_total", "Events delivered to Kafka by the outbox relay.",
                  {"topic"}, {topic}, static_cast<double>(n));
    }
    out.Counter("bo_relay_resyncs_total",
                "Times the outbox relay replaced its producer and re-read Kafka's partition ends.",
                {}, {}, static_cast<double>(relay.resyncs));
    // With a real broker this stays 0 for ever: an idempotent producer leaves no gaps. Anything
    // else means Kafka held a later outbox entry and not an earlier one, which the relay then
    // sent again, late and out of order for its key.
    out.Counter("bo_relay_skipped_by_kafka_total",
                "Outbox entries a resync found missing in Kafka before a later one it found.", {},
                {}, static_cast<double>(relay.skipped_by_kafka));
    std::vector<std::pair<std::string, kafka::ConsumerStats>> stats;
    for (const auto& c : consumers_) stats.emplace_back(c->name(), c->Stats());
    const std::vector<std::string> consumer_topic = {"consumer", "topic"};
    for (const auto& [name, s] : stats) {
      for (const auto& [topic, n] : s.applied_by_topic) {
        out.Counter("bo_events_consumed_total",
                    "Events applied by a consumer (duplicates skipped are not counted).",
                    consumer_topic, {name, topic}, static_cast<double>(n));
      }
    }
    for (const auto& [name, s] : stats) {
      for (const auto& p : s.partitions) {
        out.Gauge("bo_consumer_lag", "Records in a partition the consumer has not applied yet.",
                  {"consumer", "topic", "partition"}, {name, p.topic, std::to_string(p.partition)},
                  static_cast<double>(p.high_watermark - p.next_offset));
      }
    }
    for (const auto& c : consumers_) {
      out.Gauge("bo_consumer_caught_up",
                "1 once the consumer has applied what its partitions held when assigned.",
                {"consumer"}, {c->name()}, c->CaughtUp() ? 1 : 0);
    }
  });
  metrics_.AddCollector([this](metrics::Sink& out) {
    out.Gauge("bo_rocksdb_live_sst_bytes", "Bytes of live SST files, all column families.", {}, {},
              static_cast<double>(db_->SumProperty("rocksdb.live-sst-files-size")));
    const Database::MemoryUse memory = db_->Memory();
    out.Gauge("bo_rocksdb_memtable_bytes", "Bytes in memtables, all column families.", {}, {},
              static_cast<double>(memory.memtables));
    out.Gauge("bo_rocksdb_table_readers_bytes",
              "Bytes the SST table readers hold outside the block cache.", {}, {},
              static_cast<double>(memory.table_readers));
    out.Gauge("bo_rocksdb_block_cache_bytes", "Bytes in the block cache.", {}, {},
              static_cast<double>(memory.block_cache));
    const Database::WriteVolume writes = db_->Writes();
    for (const auto& [by, bytes] :
         {std::pair{"commits", writes.committed}, std::pair{"flushes", writes.flushed},
          std::pair{"compactions", writes.compaction_written}}) {
      out.Counter("bo_rocksdb_written_bytes_total",
                  "Bytes written by commits (uncompressed), by flushes to level 0 and by "
                  "compactions; (flushes + compactions) / commits is the write amplification.",
                  {"by"}, {by}, static_cast<double>(bytes));
    }
    out.Counter("bo_rocksdb_compaction_read_bytes_total", "Bytes compactions read.", {}, {},
                static_cast<double>(writes.compaction_read));
    out.Counter("bo_rocksdb_write_stall_seconds_total",
                "Time RocksDB delayed or stopped writes (too much to compact).", {}, {},
                static_cast<double>(db_->StallMicros()) / 1e6);
    out.Gauge("bo_rocksdb_write_stopped", "1 while RocksDB stops writes.", {}, {},
              db_->WriteStopped() ? 1 : 0);
    out.Gauge("bo_rocksdb_pending_compaction_bytes",
              "Bytes RocksDB estimates its compactions must still rewrite, all column families.",
              {}, {}, static_cast<double>(db_->PendingCompactionBytes()));
  });
}

namespace {

// Gives memory that glibc's malloc holds free back to the system every `period`. A burst of
// allocations on one of gRPC's or RocksDB's threads (a large answer, a compaction) leaves that
// thread's arena big and nearly empty for good otherwise: tests/perf found receiving at 294 MiB
// resident of which malloc had 92 MiB in use, one arena holding 160 MiB with 0.1 MiB used.
class ArenaTrimmer {
 public:
  explicit ArenaTrimmer(std::chrono::seconds period)
      : thread_([this, period] {
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, period, [this] { return stop_; })) ::malloc_trim(0);
        }) {}
  ~ArenaTrimmer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

bool ServiceRuntime::RestoreUntilDone() {
  if (!restorer_ || !config_.restore_own_state) return true;
  const std::string topic = OwnTopic(config_.name);
  const kafka::Config kafka_config = {{"bootstrap.servers", config_.kafka_bootstrap},
                                      {"client.id", "bo-" + config_.name + "-restore"}};
  for (;;) {
    auto report = RestoreOwnState(db_.get(), kafka_config, topic, restorer_, finisher_);
    if (report.ok()) {
      if (report->replayed) {
        spdlog::warn(
            "restored own state from {}: {} records, {} events in {} streams (the data "
            "directory was empty)",
            topic, report->records, report->events, report->streams);
      }
      return true;
    }
    // Serving from an empty directory while the topic holds the service's history would answer
    // wrongly (unknown invoices, stock that is not there): wait for the cluster instead.
    spdlog::error("restoring own state from {}: {}; retrying in 2 s", topic,
                  report.status().ToString());
    sigset_t termination;
    sigemptyset(&termination);
    sigaddset(&termination, SIGTERM);
    sigaddset(&termination, SIGINT);
    const timespec wait = {2, 0};
    if (sigtimedwait(&termination, nullptr, &wait) > 0) return false;
  }
}

bool ServiceRuntime::RebuildReadModelsIfAsked(const std::vector<Subscription>& subscriptions) {
  // None declared: the service has none (receiving, which says so) or keeps them apart and
  // rebuilds them itself (debtor-query).
  if (read_models_.empty()) return true;
  std::vector<std::string> consumers;
  for (const Subscription& sub : subscriptions) consumers.push_back(sub.name);
  auto report = RebuildReadModels(db_.get(), config_.rebuild_read_models, read_models_, consumers,
                                  restorer_, finisher_);
  if (!report.ok()) {
    spdlog::critical("rebuilding the read models: {}", report.status().ToString());
    return false;
  }
  if (report->rebuilt) {
    spdlog::warn(
        "read models forgotten; their own part refolded from {} events in {} streams; the "
        "consumers replay the topics from the beginning for the rest",
        report->events, report->streams);
  }
  return true;
}

int ServiceRuntime::Run(std::vector<Subscription> subscriptions,
                        std::vector<grpc::Service*> services) {
  ArenaTrimmer trimmer(std::chrono::seconds(10));
  // HTTP first: probes and metrics answer while the consumers catch up.
  if (absl::Status s = http_->Start(); !s.ok()) {
    spdlog::critical("{}", s.ToString());
    return 1;
  }
  if (!RestoreUntilDone()) {
    spdlog::info("shutting down before the own state was restored");
    http_->Stop();
    return 0;
  }
  if (!RebuildReadModelsIfAsked(subscriptions)) {
    http_->Stop();
    return 1;
  }
  const kafka::Config kafka_config = {{"bootstrap.servers", config_.kafka_bootstrap},
                                      {"client.id", "bo-" + config_.name}};
  {
    std::lock_guard lock(mu_);
    relay_ = std::make_unique<kafka::OutboxRelay>(store_.get(), kafka::RelayOptions{kafka_config});
    relay_->Start();
    restored_ = true;
    for (auto& sub : subscriptions) {
      // One instance per service here, so the consumer name doubles as its static member id.
      kafka::ConsumerOptions options{kafka_config, sub.name, sub.topics, /*instance_id=*/sub.name};
      consumers_.push_back(std::make_unique<kafka::ExactlyOnceConsumer>(
          db_.get(), options, WithEventCorrelation(std::move(sub.handler))));
      absl::Status s = consumers_.back()->Start();
      if (!s.ok()) {
        spdlog::critical("consumer {}: {}", sub.name, s.ToString());
        return 1;
      }
    }
  }

  rpc::ServiceHost host(config_);
  for (auto* s : services) host.AddService(s);
  host.AddInterceptor(rpc::RpcObserverFactory(&metrics_, "bo-correlation-id"));
  host.SetReadiness([this] { return Ready(); });
  absl::Status s = host.Start();
  if (!s.ok()) {
    spdlog::critical("{}", s.ToString());
    return 1;
  }
  spdlog::info("serving gRPC on port {}, HTTP on port {} (data {}, kafka {})", host.port(),
               http_->port(), config_.data_dir, config_.kafka_bootstrap);
  host.WaitForTermination();
  spdlog::info("shutting down");
  http_->Stop();
  std::lock_guard lock(mu_);
  for (auto& c : consumers_) c->Stop();
  relay_->Stop();
  return 0;
}

}  // namespace bo
