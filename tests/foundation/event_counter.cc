// A counter projection fed by an ExactlyOnceConsumer: +1 per applied event, one counter per
// partition. Killed and restarted, it must neither miss nor double-count an event.
// With --until-caught-up it exits once caught up and prints "COUNT <n>". With --max-rate N it
// applies at most about N events a second, so that a kill lands while it is applying however fast
// the machine is.
#include <chrono>
#include <cstdio>
#include <thread>

#include "CLI/CLI.hpp"
#include "libs/kafka/testing.h"

int main(int argc, char** argv) {
  std::string data_dir, bootstrap, topic, name;
  bool until_caught_up = false;
  int64_t max_rate = 0;
  CLI::App app{"event counter for crash tests"};
  app.add_option("--data-dir", data_dir)->required();
  app.add_option("--bootstrap", bootstrap)->required();
  app.add_option("--topic", topic)->required();
  app.add_option("--name", name)->required();
  app.add_flag("--until-caught-up", until_caught_up);
  app.add_option("--max-rate", max_rate, "events a second at most (0: as fast as it can)");
  CLI11_PARSE(app, argc, argv);

  auto opened = bo::Database::Open(data_dir);
  if (!opened.ok()) return 2;
  bo::Database* db = opened->get();
  bo::kafka::RecordHandler count = bo::kafka::testing::PartitionCounter(db);
  if (max_rate > 0) {
    // A pause after every 100th event: 100 events per 100/max_rate seconds.
    count = [count, pause = std::chrono::microseconds(100'000'000 / max_rate), n = int64_t{0}](
                const bo::kafka::ConsumedRecord& r, rocksdb::WriteBatch* batch) mutable {
      if (++n % 100 == 0) std::this_thread::sleep_for(pause);
      return count(r, batch);
    };
  }
  bo::kafka::ExactlyOnceConsumer consumer(
      db, {{{"bootstrap.servers", bootstrap}}, name, {topic}, /*instance_id=*/name},
      std::move(count));
  if (!consumer.Start().ok()) return 2;
  // Progress lines let the crash test kill this process while it is applying events.
  while (!until_caught_up || !consumer.CaughtUp()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::printf("PROGRESS %lu\n", static_cast<unsigned long>(consumer.Stats().applied));
    std::fflush(stdout);
  }
  consumer.Stop();
  int64_t total = bo::kafka::testing::CountedTotal(db);
  std::printf("COUNT %ld\n", static_cast<long>(total));
  return 0;
}
