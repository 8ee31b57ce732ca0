#include "tests/perf/raw_limits.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/core/ids.h"
#include "libs/kafka/topic_admin.h"

namespace bo::perf {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A consumer with no group membership of its own: partitions are assigned explicitly.
absl::StatusOr<kafka::Handle> AssigningConsumer(const std::string& bootstrap) {
  auto conf = kafka::MakeConf({{"bootstrap.servers", bootstrap},
                               {"group.id", "perf-raw-" + NewUuidV7()},
                               {"enable.auto.commit", "false"},
                               {"enable.partition.eof", "false"},
                               {"fetch.wait.max.ms", "10"}});
  if (!conf.ok()) return conf.status();
  return kafka::MakeClient(RD_KAFKA_CONSUMER, *conf);
}

// Assigns every partition of `topics` from the beginning; returns the total number of records up
// to the high watermarks as they are now.
absl::StatusOr<int64_t> AssignFromStart(rd_kafka_t* rk, const std::vector<std::string>& topics) {
  kafka::PartitionList list(rd_kafka_topic_partition_list_new(16));
  int64_t total = 0;
  for (const std::string& topic : topics) {
    auto partitions = kafka::PartitionCount(rk, topic, std::chrono::seconds(10));
    if (!partitions.ok()) return partitions.status();
    for (int32_t p = 0; p < *partitions; ++p) {
      int64_t low = 0, high = 0;
      rd_kafka_resp_err_t err;
      // A topic created a moment ago may not have its leaders elected yet.
      for (int attempt = 0;; ++attempt) {
        err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 10000);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR || attempt == 100) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return kafka::FromKafka(err, absl::StrCat("watermarks of ", topic, "/", p));
      }
      total += high - low;
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(rk, list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka::FromKafka(err, "assigning partitions");
  return total;
}

// Produces one record, waiting for room in the local queue when it is full.
absl::Status Produce(rd_kafka_t* rk, const std::string& topic, const KafkaRecord& r) {
  rd_kafka_headers_t* h = rd_kafka_headers_new(r.headers.size());
  for (const auto& [name, value] : r.headers) {
    rd_kafka_header_add(h, name.c_str(), -1, value.data(), static_cast<ssize_t>(value.size()));
  }
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_KEY(const_cast<char*>(r.key.data()), r.key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_headers_destroy(h);
      return kafka::FromKafka(err, "producing to " + topic);
    }
    rd_kafka_poll(rk, 10);
  }
}

}  // namespace

double Percentile(std::vector<double>* samples, double q) {
  if (samples->empty()) return 0;
  std::sort(samples->begin(), samples->end());
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(samples->size())));
  return (*samples)[std::min(samples->size() - 1, rank == 0 ? 0 : rank - 1)];
}

absl::StatusOr<Rate> FsyncRate(const std::string& dir, std::chrono::milliseconds duration) {
  const std::string path = dir + "/fsync-probe";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  char record[256];
  std::memset(record, 'w', sizeof(record));
  Rate rate;
  const auto t0 = Clock::now();
  while (Clock::now() - t0 < duration) {
    if (::write(fd, record, sizeof(record)) != static_cast<ssize_t>(sizeof(record)) ||
        ::fdatasync(fd) != 0) {
      const int e = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat("write+fdatasync ", path, ": ", std::strerror(e)));
    }
    ++rate.count;
  }
  rate.seconds = SecondsSince(t0);
  ::close(fd);
  ::unlink(path.c_str());
  return rate;
}

kafka::Config RelayLikeProducer(const std::string& bootstrap) {
  return {{"bootstrap.servers", bootstrap},
          {"enable.idempotence", "true"},
          {"acks", "all"},
          {"message.timeout.ms", "0"},
          {"linger.ms", "5"},
          {"compression.type", "lz4"}};
}

absl::StatusOr<Consumed> ConsumeAll(const std::string& bootstrap,
                                    const std::vector<std::string>& topics, int64_t max_records) {
  auto rk = AssigningConsumer(bootstrap);
  if (!rk.ok()) return rk.status();
  auto total = AssignFromStart(rk->get(), topics);
  if (!total.ok()) return total.status();
  const int64_t want = max_records > 0 ? std::min(*total, max_records) : *total;
  Consumed out;
  out.records.reserve(static_cast<size_t>(want));
  Clock::time_point first;
  const auto guard = Clock::now() + std::chrono::minutes(30);
  while (static_cast<int64_t>(out.records.size()) < want) {
    if (Clock::now() > guard) return absl::DeadlineExceededError("reading the topics back");
    kafka::Message m(rd_kafka_consumer_poll(rk->get(), 200));
    if (!m || m->err) continue;
    if (out.records.empty()) first = Clock::now();
    KafkaRecord r;
    r.topic = rd_kafka_topic_name(m->rkt);
    r.key.assign(static_cast<const char*>(m->key), m->key_len);
    r.value.assign(static_cast<const char*>(m->payload), m->len);
    r.headers = kafka::MessageHeaders(m.get());
    r.event_id = kafka::HeaderValue(m.get(), "ce_id");
    out.records.push_back(std::move(r));
  }
  out.rate.count = static_cast<int64_t>(out.records.size());
  out.rate.seconds = out.records.empty() ? 0 : SecondsSince(first);
  rd_kafka_consumer_close(rk->get());
  return out;
}

absl::StatusOr<Rate> ProduceAndConsume(const std::string& bootstrap,
                                       const std::vector<KafkaRecord>& records,
                                       const std::map<std::string, std::string>& topic_map) {
  auto consumer = AssigningConsumer(bootstrap);
  if (!consumer.ok()) return consumer.status();
  std::vector<std::string> targets;
  for (const auto& [from, to] : topic_map) targets.push_back(to);
  if (auto assigned = AssignFromStart(consumer->get(), targets); !assigned.ok()) {
    return assigned.status();
  }
  auto conf = kafka::MakeConf(RelayLikeProducer(bootstrap));
  if (!conf.ok()) return conf.status();
  auto producer = kafka::MakeClient(RD_KAFKA_PRODUCER, *conf);
  if (!producer.ok()) return producer.status();

  const int64_t want = static_cast<int64_t>(records.size());
  std::atomic<int64_t> consumed{0};
  std::atomic<bool> give_up{false};
  const auto t0 = Clock::now();
  std::thread reader([&] {
    while (consumed < want && !give_up) {
      kafka::Message m(rd_kafka_consumer_poll(consumer->get(), 100));
      if (m && !m->err) ++consumed;
    }
  });
  absl::Status produced = absl::OkStatus();
  for (const KafkaRecord& r : records) {
    auto to = topic_map.find(r.topic);
    if (to == topic_map.end()) {
      produced = absl::InvalidArgumentError("no target topic for " + r.topic);
      break;
    }
    if (produced = Produce(producer->get(), to->second, r); !produced.ok()) break;
    rd_kafka_poll(producer->get(), 0);
  }
  if (produced.ok() && rd_kafka_flush(producer->get(), 600000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    produced = absl::UnavailableError("flushing the raw producer");
  }
  if (!produced.ok()) give_up = true;
  reader.join();
  Rate rate{consumed.load(), SecondsSince(t0)};
  rd_kafka_consumer_close(consumer->get());
  if (!produced.ok()) return produced;
  return rate;
}

absl::StatusOr<std::vector<double>> ProduceToConsumeLatencies(const std::string& bootstrap,
                                                              const std::string& topic, int count) {
  auto consumer = AssigningConsumer(bootstrap);
  if (!consumer.ok()) return consumer.status();
  if (auto assigned = AssignFromStart(consumer->get(), {topic}); !assigned.ok()) {
    return assigned.status();
  }
  auto conf = kafka::MakeConf(RelayLikeProducer(bootstrap));
  if (!conf.ok()) return conf.status();
  auto producer = kafka::MakeClient(RD_KAFKA_PRODUCER, *conf);
  if (!producer.ok()) return producer.status();

  // The first record also waits for connections and the fetch session; it is not counted.
  std::vector<double> latencies;
  for (int i = -1; i < count; ++i) {
    KafkaRecord r;
    r.key = "k";
    r.value = std::to_string(i);
    const auto t0 = Clock::now();
    if (auto s = Produce(producer->get(), topic, r); !s.ok()) return s;
    const auto guard = t0 + std::chrono::seconds(60);
    for (;;) {
      rd_kafka_poll(producer->get(), 0);
      kafka::Message m(rd_kafka_consumer_poll(consumer->get(), 1));
      if (m && !m->err &&
          std::string_view(static_cast<const char*>(m->payload), m->len) == r.value) {
        break;
      }
      if (Clock::now() > guard) return absl::DeadlineExceededError("a raw record never arrived");
    }
    if (i >= 0) latencies.push_back(SecondsSince(t0) * 1000);
  }
  rd_kafka_flush(producer->get(), 10000);
  rd_kafka_consumer_close(consumer->get());
  return latencies;
}

absl::StatusOr<Rate> EchoRate(std::shared_ptr<grpc::Channel> channel, int clients,
                              std::chrono::milliseconds duration) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  std::atomic<int64_t> calls{0}, failures{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      while (Clock::now() - t0 < duration) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        grpc::health::v1::HealthCheckRequest req;
        grpc::health::v1::HealthCheckResponse resp;
        if (stub->Check(&ctx, req, &resp).ok()) {
          ++calls;
        } else {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failures > 0)
    return absl::UnavailableError(absl::StrCat(failures.load(), " echo calls failed"));
  return Rate{calls.load(), SecondsSince(t0)};
}

absl::StatusOr<double> EchoLatency(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  const auto t0 = Clock::now();
  grpc::Status s = stub->Check(&ctx, req, &resp);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("health check: ", s.error_message()));
  return ms;
}

}  // namespace bo::perf
