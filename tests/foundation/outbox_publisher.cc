// Commits `count` events to an EventStore's outbox (one command each, with its progress in the
// same commit) while an OutboxRelay publishes them; exits 0 once everything is in Kafka.
// Killed and restarted, it carries on where its durable progress says. Event ids are
// "<run-id>-<n>" so the test knows exactly which events must be in Kafka.
#include <cstdio>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "libs/kafka/outbox_relay.h"

int main(int argc, char** argv) {
  std::string data_dir, bootstrap, topic, run_id;
  int count = 1000, keys = 10;
  CLI::App app{"outbox publisher for crash tests"};
  app.add_option("--data-dir", data_dir)->required();
  app.add_option("--bootstrap", bootstrap)->required();
  app.add_option("--topic", topic)->required();
  app.add_option("--run-id", run_id)->required();
  app.add_option("--count", count);
  app.add_option("--keys", keys);
  CLI11_PARSE(app, argc, argv);

  auto db = bo::Database::Open(data_dir);
  if (!db.ok()) return 2;
  auto store = bo::EventStore::Open(db->get());
  if (!store.ok()) return 2;
  bo::kafka::OutboxRelay relay(store->get(), {{{"bootstrap.servers", bootstrap}}});
  relay.Start();

  auto next = (*store)->GetState("next");
  int n = (next.ok() && next->has_value()) ? std::stoi(**next) : 0;
  std::printf("starting at %d\n", n);
  std::fflush(stdout);
  for (; n < count; ++n) {
    std::string id = absl::StrFormat("%s-%06d", run_id, n);
    bo::CommitRequest c;
    c.state.push_back({"next", std::to_string(n + 1)});
    c.outbox.push_back({topic, "key-" + std::to_string(n % keys), std::to_string(n),
                        bo::kafka::CloudEventHeaders(id, "TestEvent", "/crash-test", absl::Now()),
                        id});
    if (n % 50 == 0) {  // progress lines let the crash test kill us mid-stream
      std::printf("PROGRESS %lu\n", static_cast<unsigned long>(relay.Stats().published));
      std::fflush(stdout);
    }
    absl::Status s = (*store)->Commit(c);
    if (!s.ok()) {
      std::fprintf(stderr, "commit %d: %s\n", n, s.ToString().c_str());
      return 1;
    }
  }
  while ((*store)->OutboxDepth() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  relay.Stop();
  auto stats = relay.Stats();
  std::printf("DONE published=%lu recovered=%lu\n", static_cast<unsigned long>(stats.published),
              static_cast<unsigned long>(stats.recovered));
  return 0;
}
