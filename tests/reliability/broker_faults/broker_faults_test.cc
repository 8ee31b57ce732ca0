// Broker faults (issue 4, item 4): the outbox relay publishing a real on-disk EventStore's outbox
// into librdkafka's mock cluster while produce requests fail (NOT_LEADER_FOR_PARTITION,
// REQUEST_TIMED_OUT), brokers go down and come back, partition leaders move, and the relay itself
// is restarted while acknowledgements are in flight. Events are committed concurrently the whole
// time. Afterwards every partition is read back from the mock cluster and checked against what was
// committed: every event exactly once, per key in commit order, outbox empty (guarantee 2 of
// DESIGN.md section 4). See README.md.
//
// The mock cluster is used only because a real broker cannot easily be made to fail on command;
// it keeps everything in memory, so each test gets a fresh one.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "librdkafka/rdkafka.h"
#include "librdkafka/rdkafka_mock.h"
#include "libs/core/ids.h"
#include "libs/kafka/client.h"
#include "libs/kafka/outbox_relay.h"
#include "libs/kafka/partitioner.h"
#include "libs/store/database.h"
#include "libs/store/event_store.h"
#include "spdlog/spdlog.h"

namespace bo::kafka {
namespace {

using std::chrono::milliseconds;

constexpr int16_t kProduceApiKey = 0;  // ProduceRequest in the Kafka protocol
constexpr int kBrokers = 3;
constexpr int32_t kPartitions = 4;
// Two topics, as a service's outbox holds entries for several.
const std::vector<std::string> kTopics = {"bo.faults.orders.v1", "bo.faults.stock.v1"};
constexpr int kCommitters = 3;
constexpr int kKeysPerCommitter = 6;

// A seed from BO_BROKER_FAULTS_SEED (to repeat a run) or a fresh one; always printed.
uint64_t TestSeed() {
  if (const char* s = std::getenv("BO_BROKER_FAULTS_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 10);
  }
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

// A mock cluster of its own. It lives in a client handle that does nothing else, so the relay's
// producers and the readers can come and go (be purged, destroyed, restarted) while the cluster
// and its partitions stay.
class MockCluster {
 public:
  explicit MockCluster(int brokers) {
    Config settings = {{"log_level", "3"}};
    // The mock brokers' own trace ("mock" in BO_BROKER_FAULTS_DEBUG), to diagnose a failure.
    if (const char* debug = std::getenv("BO_BROKER_FAULTS_DEBUG");
        debug != nullptr && std::string(debug).find("mock") != std::string::npos) {
      settings = {{"log_level", "7"}, {"debug", "mock"}};
    }
    auto conf = MakeConf(settings);
    if (conf.ok()) {
      auto host = MakeClient(RD_KAFKA_PRODUCER, *conf);
      if (host.ok()) host_ = std::move(*host);
    }
    if (host_) mc_ = rd_kafka_mock_cluster_new(host_.get(), brokers);
  }
  ~MockCluster() {
    if (mc_ != nullptr) rd_kafka_mock_cluster_destroy(mc_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  rd_kafka_mock_cluster_t* get() const { return mc_; }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(mc_); }

 private:
  Handle host_;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
};

// What the committers committed: per (topic, key) the event ids in commit order.
struct Committed {
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> order;
  uint64_t commits = 0;
  uint64_t events = 0;
};

// One committer: commands on its own keys (so its commit order is each key's commit order), each
// appending 1-3 events to the key's stream and putting them in the outbox, in one synced commit,
// as a service's command handler does.
void CommitUntilStopped(EventStore* store, int committer, uint64_t seed,
                        const std::atomic<bool>* stop, Committed* out) {
  std::mt19937_64 rng(seed * 1000003 + committer);
  std::vector<uint64_t> version(kKeysPerCommitter, 0);
  while (!stop->load()) {
    const int k = static_cast<int>(rng() % kKeysPerCommitter);
    const std::string key = absl::StrCat("committer-", committer, "/key-", k);
    const int n = 1 + static_cast<int>(rng() % 3);
    CommitRequest c;
    c.appends.push_back({key, version[k], {}});
    std::vector<std::pair<std::string, std::string>> sent;  // (topic, event id)
    for (int i = 0; i < n; ++i) {
      const std::string id = NewUuidV7();
      const std::string& topic = kTopics[rng() % kTopics.size()];
      c.appends.back().events.push_back("event-" + id);
      c.outbox.push_back({topic, key, "payload-" + id,
                          CloudEventHeaders(id, "FaultTestEvent", "/broker-faults", absl::Now()),
                          id});
      sent.push_back({topic, id});
    }
    absl::Status s = store->Commit(c);
    if (!s.ok()) {
      ADD_FAILURE() << "commit failed: " << s;
      return;
    }
    version[k] += n;
    for (const auto& [topic, id] : sent) out->order[{topic, key}].push_back(id);
    ++out->commits;
    out->events += n;
    // Paced like busy clerks rather than as fast as the disk allows, so the volume stays in
    // proportion to how long the faults last and well inside the mock's per-partition limits.
    std::this_thread::sleep_for(milliseconds(2 + rng() % 9));
  }
}

// The relay as a service runs it, plus restarts: a restart stops it with little grace for
// in-flight deliveries (as a redeploy or a crash-restart does) and starts a fresh one on the same
// store. Figures are summed over every relay instance.
class RelayHost {
 public:
  RelayHost(EventStore* store, RelayOptions options) : store_(store), options_(options) {}
  ~RelayHost() { Stop(); }

  void Start() {
    std::lock_guard lock(mu_);
    relay_ = NewRelay();
    relay_->Start();
  }
  void Restart(milliseconds grace) {
    std::lock_guard lock(mu_);
    StopLocked(grace);
    relay_ = NewRelay();
    relay_->Start();
    ++restarts_;
  }
  void Stop() {
    std::lock_guard lock(mu_);
    StopLocked(std::chrono::seconds(5));
  }
  RelayStats Totals() {
    std::lock_guard lock(mu_);
    RelayStats t = finished_;
    if (relay_) Add(relay_->Stats(), &t);
    return t;
  }
  int restarts() {
    std::lock_guard lock(mu_);
    return restarts_;
  }
  // The event ids handed to librdkafka more than once (over every relay instance).
  std::set<std::string> ResentIds() {
    std::lock_guard lock(handed_over_mu_);
    std::set<std::string> resent;
    for (const auto& [id, times] : handed_over_) {
      if (times > 1) resent.insert(id);
    }
    return resent;
  }

 private:
  static void Add(const RelayStats& s, RelayStats* t) {
    t->published += s.published;
    t->delivery_failures += s.delivery_failures;
    t->resyncs += s.resyncs;
    t->recovered += s.recovered;
    t->skipped_by_kafka += s.skipped_by_kafka;
    t->handed_over += s.handed_over;
  }
  std::unique_ptr<OutboxRelay> NewRelay() {
    auto relay = std::make_unique<OutboxRelay>(store_, options_);
    // Its own mutex: the relay thread calls this while Stop holds mu_ and joins it.
    relay->ObserveHandOvers([this](const OutboxEntry& e) {
      std::lock_guard lock(handed_over_mu_);
      ++handed_over_[e.message.event_id];
    });
    return relay;
  }
  void StopLocked(milliseconds grace) {
    if (!relay_) return;
    relay_->Stop(grace);
    Add(relay_->Stats(), &finished_);
    relay_.reset();
  }

  EventStore* store_;
  RelayOptions options_;
  std::mutex mu_;
  std::unique_ptr<OutboxRelay> relay_;
  RelayStats finished_;
  int restarts_ = 0;
  std::mutex handed_over_mu_;
  std::map<std::string, int> handed_over_;
};

// The fault injector's tools. Each fault is applied and then undone before the next one starts,
// so that no two faults overlap in a way the mock handles differently from a real broker (see
// SlowAcksThenRelayRestart).
class Faults {
 public:
  Faults(rd_kafka_mock_cluster_t* mc, uint64_t seed, RelayHost* relay)
      : mc_(mc), rng_(seed), relay_(relay) {
    for (const auto& topic : kTopics) {
      for (int32_t p = 0; p < kPartitions; ++p) leader_[{topic, p}] = InitialLeader(p);
    }
  }

  // Who leads partition p at the start (SetUp) and after Heal.
  static int InitialLeader(int32_t p) { return 1 + (p % kBrokers); }

  int Between(int lo, int hi) { return lo + static_cast<int>(rng_() % (hi - lo + 1)); }
  void Pause(int lo_ms, int hi_ms) {
    std::this_thread::sleep_for(milliseconds(Between(lo_ms, hi_ms)));
  }

  // The next `n` produce requests a broker that leads some partition receives fail with `err`,
  // each answered after `rtt_ms` (a real REQUEST_TIMED_OUT comes only after the broker waited).
  // librdkafka retries them itself; the mock appends nothing for a failed request.
  //
  // Like every fault, it has run its course before the next one starts: the errors have been hit
  // and their delayed answers are back. Otherwise an error still pending at a broker can meet a
  // later leader move: a request for partition P waits at the old leader for its delayed error
  // while librdkafka sends P's next batch to the new leader, where the mock appends it (it does
  // not check a plain idempotent producer's sequence numbers; a real broker answers
  // OUT_OF_ORDER_SEQUENCE_NUMBER), and the failed batch is then reported delivered "implicitly
  // acked by subsequent batch success" though it is not in Kafka. That lost event is the mock's,
  // not the relay's (RandomMix lost one event, twice in about 20 runs, before this wait:
  // README.md).
  void FailProduceRequests(rd_kafka_resp_err_t err, int n, int rtt_ms) {
    std::vector<int> leading;
    for (const auto& [tp, broker] : leader_) {
      if (broker > 0 && std::find(leading.begin(), leading.end(), broker) == leading.end()) {
        leading.push_back(broker);
      }
    }
    const int broker = leading[rng_() % leading.size()];
    for (int i = 0; i < n; ++i) {
      rd_kafka_mock_broker_push_request_error_rtts(mc_, broker, kProduceApiKey, 1, err, rtt_ms);
    }
    pushed_errors_ += n;
    ++count_[rd_kafka_err2name(err)];
    // Committers produce to every partition all the time, so the errors are hit within moments;
    // the guard only keeps a stuck relay from hanging the test (the check on ErrorsHit and the
    // drain then tell what went wrong).
    const auto guard = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    for (size_t left = 1; left > 0 && std::chrono::steady_clock::now() < guard;) {
      if (rd_kafka_mock_broker_error_stack_cnt(mc_, broker, kProduceApiKey, &left) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        break;
      }
      if (left > 0) std::this_thread::sleep_for(milliseconds(10));
    }
    std::this_thread::sleep_for(milliseconds(rtt_ms + 200));  // the last answer is back
  }

  // A broker (sometimes every broker) stops accepting connections and drops the open ones, then
  // comes back. Leadership does not move, so produce requests for its partitions wait.
  void BrokerDownThenUp() {
    const int broker = Between(0, 4) == 0 ? -1 : Between(1, kBrokers);
    rd_kafka_mock_broker_set_down(mc_, broker);
    Pause(200, 2500);
    rd_kafka_mock_broker_set_up(mc_, broker);
    ++count_[broker == -1 ? "all_brokers_down" : "broker_down"];
  }

  // A partition's leader moves to another broker; now and then it is leaderless for a while first.
  void MoveLeader() {
    const std::string& topic = kTopics[rng_() % kTopics.size()];
    const int32_t partition = Between(0, kPartitions - 1);
    if (Between(0, 3) == 0) {
      rd_kafka_mock_partition_set_leader(mc_, topic.c_str(), partition, -1);
      leader_[{topic, partition}] = -1;
      Pause(100, 1000);
      ++count_["leaderless"];
    }
    const int broker = Between(1, kBrokers);
    rd_kafka_mock_partition_set_leader(mc_, topic.c_str(), partition, broker);
    leader_[{topic, partition}] = broker;
    ++count_["leader_change"];
  }

  // A broker answers slowly, and while answers are outstanding the relay is restarted (stopped
  // with 100 ms of grace): the requests were appended by the broker, but the old producer never
  // learns it (its entries get _PURGE_INFLIGHT reports and stay in the outbox). The new relay's
  // resync must find them in Kafka and not send them again. The broker is made fast again and the
  // delayed answers flushed before the next fault: a delayed answer lost to a later broker-down
  // would make the original producer retry, and the mock, unlike a real broker, does not
  // de-duplicate a plain idempotent producer's retries (it checks sequence numbers only for
  // transactional ones), so that duplicate would be the mock's, not the relay's.
  void SlowAcksThenRelayRestart() {
    const int broker = Between(1, kBrokers);
    const int rtt = Between(800, 2500);
    rd_kafka_mock_broker_set_rtt(mc_, broker, rtt);
    Pause(300, rtt);
    relay_->Restart(milliseconds(100));
    rd_kafka_mock_broker_set_rtt(mc_, broker, 0);
    ++count_["relay_restart_with_acks_in_flight"];
  }

  // The relay is restarted while a broker is down, as when a service is redeployed during a
  // broker outage: everything queued for that broker is purged, and the new relay's resync cannot
  // read that broker's partitions until it is back, so it fails and retries until then.
  void BrokerDownThenRelayRestart() {
    const int broker = Between(1, kBrokers);
    rd_kafka_mock_broker_set_down(mc_, broker);
    Pause(200, 1000);
    relay_->Restart(milliseconds(100));
    Pause(200, 1500);
    rd_kafka_mock_broker_set_up(mc_, broker);
    ++count_["relay_restart_with_broker_down"];
  }

  // A broker stays down across two relay restarts: the first makes the new relay resync while
  // that broker's partitions cannot be read, the second stops the relay in the middle of it.
  // Stop() must return while the broker is still down, or a service could not shut down during
  // an outage; the guard only keeps such a hang from blocking the whole suite.
  void BrokerDownThroughRelayRestarts() {
    const int broker = Between(1, kBrokers);
    rd_kafka_mock_broker_set_down(mc_, broker);
    bool stopped = GuardedRestart();
    if (stopped) {
      Pause(500, 2000);
      stopped = GuardedRestart();
    }
    if (!stopped) ADD_FAILURE() << "the relay did not stop while broker " << broker << " was down";
    rd_kafka_mock_broker_set_up(mc_, broker);
    if (restart_.valid()) restart_.wait();  // a hung stop ends once the broker is back
    ++count_["relay_stopped_with_broker_down"];
  }

  // Undoes whatever may still be in effect, so the outbox can drain.
  void Heal() {
    rd_kafka_mock_broker_set_up(mc_, -1);
    rd_kafka_mock_broker_set_rtt(mc_, -1, 0);
    for (const auto& topic : kTopics) {
      for (int32_t p = 0; p < kPartitions; ++p) {
        rd_kafka_mock_partition_set_leader(mc_, topic.c_str(), p, InitialLeader(p));
        leader_[{topic, p}] = InitialLeader(p);
      }
    }
  }

  // Injected produce errors the brokers actually answered with (the rest are still stacked,
  // because no request reached that broker afterwards).
  uint64_t ErrorsHit() const {
    uint64_t left = 0;
    for (int b = 1; b <= kBrokers; ++b) {
      size_t n = 0;
      if (rd_kafka_mock_broker_error_stack_cnt(mc_, b, kProduceApiKey, &n) ==
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        left += n;
      }
    }
    return pushed_errors_ - left;
  }
  uint64_t ErrorsPushed() const { return pushed_errors_; }
  const std::map<std::string, int>& counts() const { return count_; }

 private:
  // Restarts the relay on another thread and waits for it with a generous guard; false if it did
  // not finish (it is then still running in restart_).
  bool GuardedRestart() {
    restart_ = std::async(std::launch::async, [this] { relay_->Restart(milliseconds(100)); });
    return restart_.wait_for(std::chrono::minutes(2)) == std::future_status::ready;
  }

  rd_kafka_mock_cluster_t* mc_;
  std::future<void> restart_;
  std::mt19937_64 rng_;
  RelayHost* relay_;
  uint64_t pushed_errors_ = 0;
  std::map<std::string, int> count_;
  std::map<std::pair<std::string, int32_t>, int> leader_;  // as set by this class; -1: none
};

struct Record {
  std::string topic, key, value, ce_id;
  int32_t partition = 0;
  int64_t offset = 0;
};

// librdkafka retries a produce request whose answer was lost with its connection (a broker going
// down after appending a batch and before answering). A real broker recognises the retry by the
// idempotent producer's sequence numbers and appends nothing; librdkafka's mock cluster checks them
// only for transactional producers (rd_kafka_mock_validate_records), so it appends the batch
// again. Such a copy is the mock's, not the relay's, and has one shape: a run of records that
// repeats, in order, the run just before it in the same partition. This returns `records` without
// the copies of that shape and counts them in `copies`; any other repeat stays and counts as
// duplicated. A run holding an id the relay handed to librdkafka more than once (`resent`) stays
// too, since it may be the relay's own resend.
std::vector<Record> WithoutMockRetryCopies(const std::vector<Record>& records,
                                           const std::set<std::string>& resent, uint64_t* copies) {
  std::map<std::pair<std::string, int32_t>, std::vector<const Record*>> by_partition;
  for (const auto& r : records) by_partition[{r.topic, r.partition}].push_back(&r);
  std::vector<Record> kept;
  for (const auto& [tp, log] : by_partition) {
    std::set<std::string> seen;
    for (size_t i = 0; i < log.size();) {
      size_t end = i;
      while (end < log.size() && seen.count(log[end]->ce_id)) ++end;
      const size_t n = end - i;
      bool retry_copy = n > 0 && i >= n;
      for (size_t k = 0; retry_copy && k < n; ++k) {
        retry_copy = log[i - n + k]->ce_id == log[i + k]->ce_id && !resent.count(log[i + k]->ce_id);
      }
      if (retry_copy) {
        *copies += n;
        i = end;
        continue;
      }
      seen.insert(log[i]->ce_id);
      kept.push_back(*log[i]);
      ++i;
    }
  }
  return kept;
}

// Every record of every partition, in offset order per partition, read with a plain consumer
// (assign from the beginning up to the high watermark): independent of the relay.
std::vector<Record> ReadBack(const std::string& bootstraps) {
  std::vector<Record> out;
  auto conf = MakeConf({{"bootstrap.servers", bootstraps},
                        {"group.id", "bo-broker-faults-reader"},
                        {"enable.auto.commit", "false"},
                        {"log_level", "3"}});
  if (!conf.ok()) {
    ADD_FAILURE() << conf.status();
    return out;
  }
  auto rk = MakeClient(RD_KAFKA_CONSUMER, *conf);
  if (!rk.ok()) {
    ADD_FAILURE() << rk.status();
    return out;
  }
  PartitionList assignment(rd_kafka_topic_partition_list_new(kTopics.size() * kPartitions));
  std::map<std::pair<std::string, int32_t>, int64_t> end;  // next offset still to read up to
  for (const auto& topic : kTopics) {
    for (int32_t p = 0; p < kPartitions; ++p) {
      // Every broker is up again here, so this librdkafka call cannot block on a dead leader
      // (the way the relay's tail check once did).
      int64_t low = 0, high = 0;
      rd_kafka_resp_err_t err =
          rd_kafka_query_watermark_offsets(rk->get(), topic.c_str(), p, &low, &high, 30000);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ADD_FAILURE() << "watermarks of " << topic << "/" << p << ": " << rd_kafka_err2str(err);
        continue;
      }
      // The mock drops the oldest batches beyond its per-partition limits; none may be gone.
      EXPECT_EQ(low, 0) << topic << "/" << p;
      if (high > low) {
        rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), p)->offset = low;
        end[{topic, p}] = high;
      }
    }
  }
  rd_kafka_assign(rk->get(), assignment.get());
  size_t done = 0;
  // A guard against a hang only; a partition not read to its end shows up as lost events.
  const auto guard = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (done < end.size() && std::chrono::steady_clock::now() < guard) {
    Message m(rd_kafka_consumer_poll(rk->get(), 200));
    if (!m || m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    std::pair<std::string, int32_t> tp{rd_kafka_topic_name(m->rkt), m->partition};
    out.push_back({tp.first, std::string(static_cast<const char*>(m->key), m->key_len),
                   std::string(static_cast<const char*>(m->payload), m->len),
                   HeaderValue(m.get(), "ce_id"), m->partition, m->offset});
    if (m->offset + 1 == end[tp]) ++done;
  }
  EXPECT_EQ(done, end.size()) << "not every partition could be read to its end";
  rd_kafka_consumer_close(rk->get());
  return out;
}

class BrokerFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = TestSeed();
    std::printf("[ seed     ] %llu (BO_BROKER_FAULTS_SEED=%llu repeats this run)\n",
                static_cast<unsigned long long>(seed_), static_cast<unsigned long long>(seed_));
    std::fflush(stdout);
    mock_ = std::make_unique<MockCluster>(kBrokers);
    ASSERT_NE(mock_->get(), nullptr) << "could not create the mock cluster";
    for (const auto& topic : kTopics) {
      ASSERT_EQ(rd_kafka_mock_topic_create(mock_->get(), topic.c_str(), kPartitions, kBrokers),
                RD_KAFKA_RESP_ERR_NO_ERROR);
      // Every broker leads some partitions, so every broker's faults reach the relay.
      for (int32_t p = 0; p < kPartitions; ++p) {
        rd_kafka_mock_partition_set_leader(mock_->get(), topic.c_str(), p,
                                           Faults::InitialLeader(p));
      }
    }
    dir_ = std::filesystem::temp_directory_path() / ("bo_broker_faults_" + NewUuidV7());
    auto db = Database::Open(dir_.string());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto store = EventStore::Open(db_.get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void TearDown() override {
    store_.reset();
    db_.reset();
    mock_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Runs the committers and the relay while `inject` applies faults; when it returns, commits
  // stop, the faults are undone, the outbox drains, and every partition is checked.
  void Run(const std::string& scenario, const std::function<void(Faults&)>& inject) {
    RelayOptions options;
    options.producer_config = {
        {"bootstrap.servers", mock_->bootstraps()},
        {"log_level", "4"},
        // One produce request in flight per broker connection. The mock checks idempotent
        // sequence numbers only for transactional producers, so with several requests in flight
        // it appends a later batch after failing an earlier one (a real broker answers
        // OUT_OF_ORDER_SEQUENCE_NUMBER), and librdkafka then reports the failed batch delivered
        // ("implicitly acked by subsequent batch success"): events lost by the mock, not by the
        // relay. With one request in flight nothing can overtake a failed batch, so what the
        // relay sees is what a real broker would give it. See README.md.
        {"max.in.flight.requests.per.connection", "1"}};
    // librdkafka's own trace of the relay's producer (e.g. "eos,msg,protocol"), to diagnose a
    // failure.
    if (const char* debug = std::getenv("BO_BROKER_FAULTS_DEBUG"); debug != nullptr && *debug) {
      options.producer_config["debug"] = debug;
      options.producer_config["log_level"] = "7";
      spdlog::set_level(spdlog::level::debug);  // librdkafka logs through spdlog
    }
    // Retry quickly after an error so a short test sees several rounds of resync.
    options.retry_backoff = milliseconds(100);
    RelayHost relay(store_.get(), options);
    Faults faults(mock_->get(), seed_, &relay);

    relay.Start();
    std::atomic<bool> stop{false};
    std::vector<Committed> committed(kCommitters);
    std::vector<std::thread> committers;
    for (int c = 0; c < kCommitters; ++c) {
      committers.emplace_back(CommitUntilStopped, store_.get(), c, seed_, &stop, &committed[c]);
    }
    inject(faults);
    stop = true;
    for (auto& t : committers) t.join();
    faults.Heal();

    // Waiting for the drain is bounded only to avoid hanging forever; how long it takes is not
    // what is tested.
    const auto guard = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    while (store_->OutboxDepth() > 0 && std::chrono::steady_clock::now() < guard) {
      std::this_thread::sleep_for(milliseconds(100));
    }
    relay.Stop();
    auto left = store_->ReadOutbox(0, 10);
    ASSERT_TRUE(left.ok()) << left.status();
    const RelayStats stats = relay.Totals();

    Committed all;
    for (const auto& c : committed) {
      all.commits += c.commits;
      all.events += c.events;
      for (const auto& [tk, ids] : c.order) all.order[tk] = ids;
    }
    std::set<std::string> committed_ids;
    for (const auto& [tk, ids] : all.order) committed_ids.insert(ids.begin(), ids.end());

    const std::vector<Record> read_back = ReadBack(mock_->bootstraps());
    uint64_t mock_retry_copies = 0;
    const std::vector<Record> records =
        WithoutMockRetryCopies(read_back, relay.ResentIds(), &mock_retry_copies);
    std::map<std::string, int> seen;
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> in_kafka;
    uint64_t malformed = 0, unknown = 0;
    for (const auto& r : records) {
      ++seen[r.ce_id];
      in_kafka[{r.topic, r.key}].push_back(r.ce_id);
      if (r.ce_id.empty() || r.value != "payload-" + r.ce_id ||
          r.partition != PartitionForKey(r.key, kPartitions)) {
        ++malformed;
      }
      if (!committed_ids.count(r.ce_id)) ++unknown;
    }
    uint64_t lost = 0, duplicated = 0, out_of_order = 0;
    std::set<std::string> duplicated_ids;
    for (const auto& id : committed_ids) {
      auto it = seen.find(id);
      if (it == seen.end()) {
        ++lost;
      } else if (it->second > 1) {
        duplicated += it->second - 1;
        duplicated_ids.insert(id);
      }
    }
    // Where each lost event should have been: its key, partition, and the offsets of the events
    // committed just before and after it on the same key, to match with the relay's and
    // librdkafka's logs.
    std::map<std::string, int64_t> offset_of;
    for (const auto& r : records) offset_of[r.ce_id] = r.offset;
    for (const auto& [tk, ids] : all.order) {
      for (size_t i = 0; i < ids.size(); ++i) {
        if (seen.count(ids[i])) continue;
        auto neighbour = [&](size_t j) -> std::string {
          if (j >= ids.size()) return "none";
          auto it = offset_of.find(ids[j]);
          return it == offset_of.end() ? "lost" : absl::StrCat(it->second);
        };
        std::printf(
            "lost %s: %s/%d key %s, event %zu of %zu on the key; previous at offset %s, "
            "next at offset %s\n",
            ids[i].c_str(), tk.first.c_str(), PartitionForKey(tk.second, kPartitions),
            tk.second.c_str(), i + 1, ids.size(), i == 0 ? "none" : neighbour(i - 1).c_str(),
            neighbour(i + 1).c_str());
      }
    }
    // Where the duplicates sit, per partition (first and last offset of each copy run), so a
    // failure can be matched with the relay's and librdkafka's logs.
    std::map<std::pair<std::string, int32_t>, std::vector<int64_t>> duplicate_offsets;
    for (const auto& r : records) {
      if (duplicated_ids.count(r.ce_id))
        duplicate_offsets[{r.topic, r.partition}].push_back(r.offset);
    }
    for (const auto& [tp, offsets] : duplicate_offsets) {
      std::string runs;
      for (size_t i = 0; i < offsets.size(); ++i) {
        if (i == 0 || offsets[i] != offsets[i - 1] + 1) absl::StrAppend(&runs, " ", offsets[i]);
        if (i + 1 == offsets.size() || offsets[i + 1] != offsets[i] + 1) {
          absl::StrAppend(&runs, "..", offsets[i]);
        }
      }
      std::printf("duplicates in %s/%d at offsets%s\n", tp.first.c_str(), tp.second, runs.c_str());
    }
    std::string first_order_problem;
    for (const auto& [tk, ids] : all.order) {
      if (in_kafka[tk] != ids) {
        ++out_of_order;
        if (first_order_problem.empty()) {
          first_order_problem = absl::StrCat(tk.first, "/", tk.second, ": committed ", ids.size(),
                                             " events, Kafka holds ", in_kafka[tk].size());
        }
      }
    }

    std::string fault_counts;
    for (const auto& [name, n] : faults.counts()) absl::StrAppend(&fault_counts, " ", name, "=", n);
    std::printf(
        "BROKER_FAULTS scenario=%s seed=%llu commits=%llu events_committed=%llu "
        "records_in_kafka=%zu lost=%llu duplicated=%llu keys_out_of_order=%llu malformed=%llu "
        "outbox_left=%zu mock_retry_copies=%llu | relay: published=%llu handed_over=%llu "
        "delivery_failures=%llu resyncs=%llu "
        "recovered=%llu skipped_by_kafka=%llu restarts=%d | faults:%s produce_errors_pushed=%llu "
        "produce_errors_hit=%llu\n",
        scenario.c_str(), static_cast<unsigned long long>(seed_),
        static_cast<unsigned long long>(all.commits), static_cast<unsigned long long>(all.events),
        read_back.size(), static_cast<unsigned long long>(lost),
        static_cast<unsigned long long>(duplicated), static_cast<unsigned long long>(out_of_order),
        static_cast<unsigned long long>(malformed), left->size(),
        static_cast<unsigned long long>(mock_retry_copies),
        static_cast<unsigned long long>(stats.published),
        static_cast<unsigned long long>(stats.handed_over),
        static_cast<unsigned long long>(stats.delivery_failures),
        static_cast<unsigned long long>(stats.resyncs),
        static_cast<unsigned long long>(stats.recovered),
        static_cast<unsigned long long>(stats.skipped_by_kafka), relay.restarts(),
        fault_counts.c_str(), static_cast<unsigned long long>(faults.ErrorsPushed()),
        static_cast<unsigned long long>(faults.ErrorsHit()));
    std::fflush(stdout);

    EXPECT_GT(all.events, 0u);
    EXPECT_TRUE(left->empty()) << "the outbox did not drain: " << left->size() << "+ entries left";
    EXPECT_EQ(lost, 0u) << "committed events missing from Kafka";
    EXPECT_EQ(duplicated + unknown, 0u) << "events in Kafka more than once (or never committed)";
    // The mock appends a later batch of a partition after an earlier one failed (it checks no
    // sequence numbers, see WithoutMockRetryCopies); a real broker refuses it. The relay's resync
    // then finds the earlier entries missing before a later one and sends them again, late:
    // `skipped_by_kafka`. Each such entry can put one key out of order, and only that is let
    // through; the events themselves must all be there (`lost` above).
    const uint64_t out_of_order_by_mock_gaps = std::min(out_of_order, stats.skipped_by_kafka);
    EXPECT_EQ(out_of_order - out_of_order_by_mock_gaps, 0u)
        << "per-key order differs from commit order, first: " << first_order_problem;
    EXPECT_EQ(malformed, 0u) << "records with a wrong payload, id or partition";
    // Every event reached Kafka through exactly one successful delivery report or one resync.
    EXPECT_EQ(stats.published + stats.recovered, all.events);
    EXPECT_GE(stats.handed_over, all.events);
    // The faults must have reached the relay's produce requests, or the scenario tested nothing.
    if (faults.ErrorsPushed() > 0) {
      EXPECT_GT(faults.ErrorsHit(), 0u);
    }
  }

  uint64_t seed_ = 0;
  std::unique_ptr<MockCluster> mock_;
  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<EventStore> store_;
};

// The check above sets aside only the mock's own retry copies: a run repeating the run just before
// it. Any other repeat is a duplicate the relay must answer for.
TEST(BrokerFaultsCheck, SetsAsideOnlyARunThatRepeatsTheRunJustBeforeIt) {
  auto log = [](std::vector<std::pair<int32_t, std::string>> ids) {
    std::vector<Record> out;
    int64_t offset = 0;
    for (auto& [partition, id] : ids) {
      out.push_back({"t", "k", "payload-" + id, id, partition, offset++});
    }
    return out;
  };
  auto ids = [](const std::vector<Record>& records) {
    std::string s;
    for (const auto& r : records) s += r.ce_id;
    return s;
  };
  uint64_t copies = 0;
  // a b c, then the batch "b c" appended again: set aside.
  const std::set<std::string> none;
  EXPECT_EQ(ids(WithoutMockRetryCopies(
                log({{0, "a"}, {0, "b"}, {0, "c"}, {0, "b"}, {0, "c"}, {0, "d"}}), none, &copies)),
            "abcd");
  EXPECT_EQ(copies, 2u);
  // The same shape, but the relay handed "c" over twice: it may be the relay's resend, so it stays.
  copies = 0;
  EXPECT_EQ(ids(WithoutMockRetryCopies(
                log({{0, "a"}, {0, "b"}, {0, "c"}, {0, "b"}, {0, "c"}, {0, "d"}}), {"c"}, &copies)),
            "abcbcd");
  EXPECT_EQ(copies, 0u);
  // "a" again after "c": not the run just before it, so it stays (a relay resend).
  copies = 0;
  EXPECT_EQ(ids(WithoutMockRetryCopies(log({{0, "a"}, {0, "b"}, {0, "c"}, {0, "a"}, {0, "d"}}),
                                       none, &copies)),
            "abcad");
  EXPECT_EQ(copies, 0u);
  // The same id in another partition is not a retry copy either.
  EXPECT_EQ(ids(WithoutMockRetryCopies(log({{0, "a"}, {1, "a"}}), none, &copies)), "aa");
  EXPECT_EQ(copies, 0u);
}

TEST_F(BrokerFaultsTest, NotLeaderForPartition) {
  Run("not_leader", [](Faults& f) {
    for (int round = 0; round < 40; ++round) {
      f.FailProduceRequests(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, f.Between(1, 5), 0);
      f.Pause(50, 300);
    }
  });
}

TEST_F(BrokerFaultsTest, RequestTimedOut) {
  Run("request_timed_out", [](Faults& f) {
    for (int round = 0; round < 30; ++round) {
      f.FailProduceRequests(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, f.Between(1, 4),
                            f.Between(0, 800));
      f.Pause(50, 400);
    }
  });
}

TEST_F(BrokerFaultsTest, BrokerDownThenUp) {
  Run("broker_down", [](Faults& f) {
    for (int round = 0; round < 6; ++round) {
      f.BrokerDownThenUp();
      f.Pause(200, 1000);
    }
  });
}

TEST_F(BrokerFaultsTest, LeaderChange) {
  Run("leader_change", [](Faults& f) {
    for (int round = 0; round < 30; ++round) {
      f.MoveLeader();
      f.Pause(50, 400);
    }
  });
}

TEST_F(BrokerFaultsTest, RelayRestartsWhileAcksAreInFlight) {
  Run("relay_restart", [](Faults& f) {
    for (int round = 0; round < 8; ++round) {
      if (round % 2 == 0) {
        f.SlowAcksThenRelayRestart();
      } else {
        f.BrokerDownThenRelayRestart();
      }
      f.Pause(200, 600);
    }
  });
}

TEST_F(BrokerFaultsTest, RelayStopsWhileALeaderIsDown) {
  Run("stop_with_leader_down", [](Faults& f) {
    for (int round = 0; round < 2; ++round) {
      f.BrokerDownThroughRelayRestarts();
      f.Pause(200, 600);
    }
  });
}

TEST_F(BrokerFaultsTest, RandomMix) {
  Run("random_mix", [](Faults& f) {
    for (int round = 0; round < 25; ++round) {
      switch (f.Between(0, 5)) {
        case 0:
          f.FailProduceRequests(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, f.Between(1, 5), 0);
          break;
        case 1:
          f.FailProduceRequests(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, f.Between(1, 4),
                                f.Between(0, 800));
          break;
        case 2:
          f.BrokerDownThenUp();
          break;
        case 3:
          f.MoveLeader();
          break;
        case 4:
          f.SlowAcksThenRelayRestart();
          break;
        default:
          f.BrokerDownThenRelayRestart();
          break;
      }
      f.Pause(50, 500);
    }
  });
}

}  // namespace
}  // namespace bo::kafka
