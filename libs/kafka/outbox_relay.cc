#include "libs/kafka/outbox_relay.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "libs/kafka/partitioner.h"
#include "libs/kafka/topic_admin.h"
#include "spdlog/spdlog.h"

namespace bo::kafka {
namespace {

constexpr std::chrono::milliseconds kMetadataTimeout{10000};
constexpr std::chrono::milliseconds kTailReadTimeout{15000};

// The ce_id of the last record of every (topic, partition) in `wanted`, "" for an empty one.
absl::StatusOr<std::map<std::pair<std::string, int32_t>, std::string>> LastEventIds(
    const Config& producer_config, const std::set<std::pair<std::string, int32_t>>& wanted) {
  std::map<std::pair<std::string, int32_t>, std::string> last;
  if (wanted.empty()) return last;
  Config cc;
  for (const auto& [k, v] : producer_config) {
    // Reuse connection and security settings, nothing producer-specific.
    if (k == "bootstrap.servers" || k.rfind("security.", 0) == 0 || k.rfind("ssl.", 0) == 0 ||
        k.rfind("sasl.", 0) == 0 || k == "test.mock.num.brokers") {
      cc[k] = v;
    }
  }
  auto consumer = MakeAssignedReader(std::move(cc), "bo-outbox-relay-tail-check");
  if (!consumer.ok()) return consumer.status();
  rd_kafka_t* rk = consumer->get();

  auto lows = Watermarks(rk, wanted, RD_KAFKA_OFFSET_BEGINNING, kMetadataTimeout);
  if (!lows.ok()) return lows.status();
  auto highs = Watermarks(rk, wanted, RD_KAFKA_OFFSET_END, kMetadataTimeout);
  if (!highs.ok()) return highs.status();

  PartitionList assignment(rd_kafka_topic_partition_list_new(static_cast<int>(wanted.size())));
  std::map<std::pair<std::string, int32_t>, int64_t> last_offset;
  for (const auto& tp : wanted) {
    const int64_t low = lows->at(tp), high = highs->at(tp);
    if (high <= low) {
      last[tp] = "";
      continue;
    }
    rd_kafka_topic_partition_list_add(assignment.get(), tp.first.c_str(), tp.second)->offset =
        high - 1;
    last_offset[tp] = high - 1;
  }
  if (!last_offset.empty()) {
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, assignment.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromKafka(err, "assign for tail check");
    auto deadline = std::chrono::steady_clock::now() + kTailReadTimeout;
    while (last.size() < wanted.size() && std::chrono::steady_clock::now() < deadline) {
      Message m(rd_kafka_consumer_poll(rk, 200));
      if (!m || m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      std::pair<std::string, int32_t> tp{rd_kafka_topic_name(m->rkt), m->partition};
      auto it = last_offset.find(tp);
      if (it != last_offset.end() && m->offset == it->second) {
        last[tp] = HeaderValue(m.get(), "ce_id");
      }
    }
    rd_kafka_consumer_close(rk);
    if (last.size() < wanted.size()) {
      return absl::DeadlineExceededError("tail check: could not read the last records in time");
    }
  }
  return last;
}

}  // namespace

OutboxRelay::OutboxRelay(EventStore* store, RelayOptions options)
    : store_(store), options_(std::move(options)) {}

OutboxRelay::~OutboxRelay() { Stop(); }

void OutboxRelay::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void OutboxRelay::Stop(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return;
  stop_ = true;
  thread_.join();
  Disconnect(grace);
}

RelayStats OutboxRelay::Stats() const {
  RelayStats s{published_.load(),
               delivery_failures_.load(),
               resyncs_.load(),
               recovered_.load(),
               handed_over_.load(),
               store_->OutboxDepth(),
               {}};
  std::lock_guard lock(by_topic_mu_);
  s.published_by_topic = published_by_topic_;
  return s;
}

void OutboxRelay::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<OutboxRelay*>(opaque);
  uint64_t seq = reinterpret_cast<uintptr_t>(m->_private);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->delivered_.push_back(seq);
    ++self->published_;
    std::lock_guard lock(self->by_topic_mu_);
    ++self->published_by_topic_[rd_kafka_topic_name(m->rkt)];
  } else {
    // The entry stays in the outbox. Whatever was produced after it to the same partition may or
    // may not have landed, so the relay starts over from what Kafka actually holds.
    ++self->delivery_failures_;
    self->needs_resync_ = true;
    spdlog::warn("outbox relay: delivery of entry {} failed: {}", seq, rd_kafka_err2str(m->err));
  }
}

absl::Status OutboxRelay::Connect() {
  Config settings = {
      {"enable.idempotence", "true"},
      {"acks", "all"},
      // Never give up on a message locally: a gap or a dropped entry is worse than waiting.
      {"message.timeout.ms", "0"},
      {"enable.gapless.guarantee", "true"},
      {"linger.ms", "5"},
      {"compression.type", "lz4"},
  };
  for (const auto& [k, v] : options_.producer_config) settings[k] = v;
  auto conf = MakeConf(settings);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_opaque(*conf, this);
  rd_kafka_conf_set_dr_msg_cb(*conf, &OutboxRelay::OnDelivery);
  auto producer = MakeClient(RD_KAFKA_PRODUCER, *conf);
  if (!producer.ok()) return producer.status();
  producer_ = std::move(*producer);
  return absl::OkStatus();
}

void OutboxRelay::Disconnect(std::chrono::milliseconds grace) {
  if (producer_) {
    rd_kafka_flush(producer_.get(), static_cast<int>(grace.count()));
    rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(producer_.get(), 0);  // collect reports, including purged ones
    producer_.reset();
  }
  (void)store_->RemoveFromOutbox(delivered_);
  delivered_.clear();
  partitions_.clear();
}

absl::StatusOr<int32_t> OutboxRelay::PartitionOf(const OutboxMessage& m) {
  auto it = partitions_.find(m.topic);
  if (it == partitions_.end()) {
    auto count = PartitionCount(producer_.get(), m.topic, kMetadataTimeout);
    if (!count.ok()) return count.status();
    it = partitions_.emplace(m.topic, *count).first;
  }
  return PartitionForKey(m.key, it->second);
}

absl::Status OutboxRelay::Resync() {
  ++resyncs_;
  // Everything pending, grouped by destination partition, in seq order.
  std::vector<std::pair<std::pair<std::string, int32_t>, OutboxEntry>> pending;
  std::set<std::pair<std::string, int32_t>> destinations;
  for (uint64_t after = 0;;) {
    auto batch = store_->ReadOutbox(after, 10000);
    if (!batch.ok()) return batch.status();
    if (batch->empty()) break;
    after = batch->back().seq;
    for (auto& e : *batch) {
      auto p = PartitionOf(e.message);
      if (!p.ok()) return p.status();
      destinations.insert({e.message.topic, *p});
      pending.push_back({{e.message.topic, *p}, std::move(e)});
    }
  }
  auto last = LastEventIds(options_.producer_config, destinations);
  if (!last.ok()) return last.status();

  // For each partition: the pending entries up to and including the one whose id Kafka holds
  // last were published before the crash.
  std::map<std::pair<std::string, int32_t>, uint64_t> published_up_to;
  for (const auto& [tp, e] : pending) {
    const std::string& id = (*last)[tp];
    if (!id.empty() && e.message.event_id == id) published_up_to[tp] = e.seq;
  }
  std::vector<uint64_t> done;
  std::map<std::pair<std::string, int32_t>, std::pair<uint64_t, size_t>> first_and_count;
  for (const auto& [tp, e] : pending) {
    auto it = published_up_to.find(tp);
    if (it != published_up_to.end() && e.seq <= it->second) {
      done.push_back(e.seq);
      auto [fc, fresh] = first_and_count.try_emplace(tp, e.seq, 0);
      ++fc->second.second;
    }
  }
  // Which entries a resync takes as published, per partition: rare, and the first thing to look
  // at if an event is ever missing from Kafka.
  for (const auto& [tp, fc] : first_and_count) {
    spdlog::info("outbox relay: {}/{} ends with entry {}; removing the {} pending entries {}..{}",
                 tp.first, tp.second, published_up_to[tp], fc.second, fc.first,
                 published_up_to[tp]);
  }
  if (!done.empty()) {
    spdlog::info("outbox relay: {} entries were already in Kafka; removing them", done.size());
    recovered_ += done.size();
    absl::Status s = store_->RemoveFromOutbox(done);
    if (!s.ok()) return s;
  }
  cursor_ = 0;
  needs_resync_ = false;
  return absl::OkStatus();
}

absl::Status OutboxRelay::Produce(const OutboxEntry& e) {
  auto partition = PartitionOf(e.message);
  if (!partition.ok()) return partition.status();
  rd_kafka_headers_t* headers = rd_kafka_headers_new(e.message.headers.size());
  for (const auto& [k, v] : e.message.headers) {
    rd_kafka_header_add(headers, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                        static_cast<ssize_t>(v.size()));
  }
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_TOPIC(e.message.topic.c_str()),
        RD_KAFKA_V_PARTITION(*partition),
        RD_KAFKA_V_KEY(const_cast<char*>(e.message.key.data()), e.message.key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(e.message.value.data()), e.message.value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(e.seq))), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {  // headers now owned
      ++handed_over_;
      return absl::OkStatus();
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || stop_) {
      rd_kafka_headers_destroy(headers);
      return FromKafka(err, "produce to " + e.message.topic);
    }
    rd_kafka_poll(producer_.get(), 50);  // queue full: let deliveries drain
  }
}

void OutboxRelay::Run() {
  while (!stop_) {
    absl::Status s;
    // After a failed delivery, settle (flush, then purge) and start over with a fresh producer,
    // so nothing still in flight can be produced a second time by the resync.
    if (needs_resync_ && producer_) Disconnect(std::chrono::milliseconds(10000));
    if (!producer_) s = Connect();
    char errstr[512];
    if (s.ok() && rd_kafka_fatal_error(producer_.get(), errstr, sizeof errstr)) {
      s = absl::InternalError(absl::StrCat("fatal producer error: ", errstr));
    }
    if (s.ok() && needs_resync_) s = Resync();
    if (s.ok()) {
      auto entries = store_->ReadOutbox(cursor_, options_.batch_size);
      if (!entries.ok()) s = entries.status();
      for (size_t i = 0; s.ok() && entries.ok() && i < entries->size() && !needs_resync_; ++i) {
        s = Produce((*entries)[i]);
        if (s.ok()) cursor_ = (*entries)[i].seq;
      }
      rd_kafka_poll(producer_.get(), 0);
      if (s.ok() && !delivered_.empty()) {
        s = store_->RemoveFromOutbox(delivered_);
        delivered_.clear();
      }
      if (s.ok() && entries.ok() && entries->empty()) {
        store_->WaitForOutbox(cursor_, std::chrono::milliseconds(20));
        rd_kafka_poll(producer_.get(), 0);
      }
    }
    if (!s.ok()) {
      spdlog::warn("outbox relay: {}; retrying", s.ToString());
      // Start over with a fresh producer; nothing is removed from the outbox without a
      // successful delivery report, so nothing is lost.
      Disconnect(std::chrono::milliseconds(1000));
      needs_resync_ = true;
      std::this_thread::sleep_for(options_.retry_backoff);
    }
  }
}

}  // namespace bo::kafka
