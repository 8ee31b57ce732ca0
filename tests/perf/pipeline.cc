#include "tests/perf/pipeline.h"

#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "libs/kafka/exactly_once_consumer.h"
#include "libs/kafka/outbox_relay.h"
#include "libs/store/database.h"
#include "services/debtor-query/projection.h"

namespace bo::perf {
namespace {

using Clock = std::chrono::steady_clock;

// A fresh Database with debtor-query's read-model layout recorded, as the service prepares it.
absl::StatusOr<std::unique_ptr<Database>> FreshReadModel(const std::string& path) {
  std::filesystem::remove_all(path);
  auto db = Database::Open(path);
  if (!db.ok()) return db.status();
  if (auto s = debtor_query::PrepareReadModel(db->get()); !s.ok()) return s;
  return db;
}

// Waits until `consumer` has applied (or skipped as seen) `expected` records; the time of the
// first applied record is put in `first`. A guard against hanging, not a time limit.
absl::Status WaitApplied(const kafka::ExactlyOnceConsumer& consumer, int64_t expected,
                         Clock::time_point* first) {
  const auto guard = Clock::now() + std::chrono::hours(2);
  bool seen_first = false;
  for (;;) {
    const kafka::ConsumerStats stats = consumer.Stats();
    const int64_t done = static_cast<int64_t>(stats.applied + stats.duplicates);
    if (!seen_first && done > 0) {
      *first = Clock::now();
      seen_first = true;
    }
    if (done >= expected) return absl::OkStatus();
    if (stats.handler_errors > 0) {
      return absl::InternalError(absl::StrCat(stats.handler_errors, " records failed to apply"));
    }
    if (Clock::now() > guard) return absl::DeadlineExceededError("the projection never caught up");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

absl::StatusOr<Rate> PipelineRate(const std::string& bootstrap,
                                  const std::vector<KafkaRecord>& records,
                                  const std::map<std::string, std::string>& topic_map,
                                  const std::string& work_dir) {
  const std::string source_path = work_dir + "/p1-source";
  std::filesystem::remove_all(source_path);
  auto source_db = Database::Open(source_path);
  if (!source_db.ok()) return source_db.status();
  auto store = EventStore::Open(source_db->get());
  if (!store.ok()) return store.status();
  // Committed in chunks as a busy service would have committed them, before the clock starts.
  constexpr size_t kChunk = 500;
  for (size_t i = 0; i < records.size(); i += kChunk) {
    CommitRequest commit;
    for (size_t j = i; j < std::min(records.size(), i + kChunk); ++j) {
      const KafkaRecord& r = records[j];
      auto to = topic_map.find(r.topic);
      if (to == topic_map.end())
        return absl::InvalidArgumentError("no target topic for " + r.topic);
      commit.outbox.push_back({to->second, r.key, r.value, r.headers, r.event_id});
    }
    if (auto s = (*store)->Commit(commit); !s.ok()) return s;
  }

  auto read_db = FreshReadModel(work_dir + "/p1-readmodel");
  if (!read_db.ok()) return read_db.status();
  debtor_query::ReadModelProjection projection(read_db->get());
  std::vector<std::string> topics;
  for (const auto& [from, to] : topic_map) topics.push_back(to);
  const kafka::Config config = {{"bootstrap.servers", bootstrap}};
  kafka::ExactlyOnceConsumer consumer(
      read_db->get(),
      kafka::ConsumerOptions{config, "perf-p1-" + NewUuidV7(), topics, /*instance_id=*/""},
      projection.Handler());
  if (auto s = consumer.Start(); !s.ok()) return s;
  // Joined and idle on the empty topics before the clock starts.
  const auto guard = Clock::now() + std::chrono::minutes(2);
  while (!consumer.CaughtUp()) {
    if (Clock::now() > guard) return absl::DeadlineExceededError("the P1 consumer never joined");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  kafka::OutboxRelay relay(store->get(), kafka::RelayOptions{config});
  const auto t0 = Clock::now();
  relay.Start();
  Clock::time_point first;
  absl::Status done = WaitApplied(consumer, static_cast<int64_t>(records.size()), &first);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  relay.Stop();
  consumer.Stop();
  if (!done.ok()) return done;
  return Rate{static_cast<int64_t>(records.size()), seconds};
}

absl::StatusOr<Rate> ReplayRate(const std::string& bootstrap,
                                const std::vector<std::string>& topics, int64_t expected,
                                const std::string& work_dir) {
  auto read_db = FreshReadModel(work_dir + "/p2-readmodel");
  if (!read_db.ok()) return read_db.status();
  debtor_query::ReadModelProjection projection(read_db->get());
  kafka::ExactlyOnceConsumer consumer(read_db->get(),
                                      kafka::ConsumerOptions{{{"bootstrap.servers", bootstrap}},
                                                             "perf-p2-" + NewUuidV7(),
                                                             topics,
                                                             /*instance_id=*/""},
                                      projection.Handler());
  if (auto s = consumer.Start(); !s.ok()) return s;
  Clock::time_point first;
  absl::Status done = WaitApplied(consumer, expected, &first);
  const auto last = Clock::now();
  consumer.Stop();
  if (!done.ok()) return done;
  return Rate{expected, std::chrono::duration<double>(last - first).count()};
}

}  // namespace bo::perf
