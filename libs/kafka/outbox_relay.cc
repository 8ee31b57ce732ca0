#include "libs/kafka/outbox_relay.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/kafka/partitioner.h"
#include "libs/kafka/topic_admin.h"
#include "spdlog/spdlog.h"

namespace bo::kafka {
namespace {

constexpr std::chrono::milliseconds kMetadataTimeout{10000};
constexpr std::chrono::milliseconds kTailReadTimeout{15000};

// Where a tail check starts reading a partition.
constexpr int64_t kLastRecord = -1;

// The ce_ids of a partition's records from `first_offset` to its end, in offset order.
struct Tail {
  int64_t first_offset = 0;
  std::vector<std::string> ids;
};

// Reads every partition in `from` from the offset given (kLastRecord: its last record) to its
// end. A partition with no records at or after that offset has no ids.
absl::StatusOr<std::map<TopicPartition, Tail>> ReadTails(
    const Config& producer_config, const std::map<TopicPartition, int64_t>& from) {
  std::map<TopicPartition, Tail> tails;
  if (from.empty()) return tails;
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

  std::set<TopicPartition> partitions;
  for (const auto& [tp, offset] : from) partitions.insert(tp);
  auto lows = Watermarks(rk, partitions, RD_KAFKA_OFFSET_BEGINNING, kMetadataTimeout);
  if (!lows.ok()) return lows.status();
  auto highs = Watermarks(rk, partitions, RD_KAFKA_OFFSET_END, kMetadataTimeout);
  if (!highs.ok()) return highs.status();

  PartitionList assignment(rd_kafka_topic_partition_list_new(static_cast<int>(from.size())));
  std::map<TopicPartition, int64_t> last_offset;  // of the partitions still being read
  for (const auto& [tp, offset] : from) {
    const int64_t low = lows->at(tp), high = highs->at(tp);
    const int64_t first = std::max(low, offset == kLastRecord ? high - 1 : offset);
    tails[tp].first_offset = first;
    if (first >= high) continue;
    rd_kafka_topic_partition_list_add(assignment.get(), tp.first.c_str(), tp.second)->offset =
        first;
    last_offset[tp] = high - 1;
  }
  if (last_offset.empty()) return tails;
  rd_kafka_resp_err_t err = rd_kafka_assign(rk, assignment.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromKafka(err, "assign for tail check");
  // The timeout is for a partition that stops answering, not for a long tail: it restarts with
  // every record read.
  auto deadline = std::chrono::steady_clock::now() + kTailReadTimeout;
  while (!last_offset.empty() && std::chrono::steady_clock::now() < deadline) {
    Message m(rd_kafka_consumer_poll(rk, 200));
    if (!m || m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    deadline = std::chrono::steady_clock::now() + kTailReadTimeout;
    TopicPartition tp{rd_kafka_topic_name(m->rkt), m->partition};
    auto it = last_offset.find(tp);
    if (it == last_offset.end()) continue;
    tails[tp].ids.push_back(HeaderValue(m.get(), "ce_id"));
    if (m->offset >= it->second) last_offset.erase(it);
  }
  rd_kafka_consumer_close(rk);
  if (!last_offset.empty()) {
    return absl::DeadlineExceededError("tail check: could not read the last records in time");
  }
  return tails;
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
  RelayStats s{
      published_.load(),        delivery_failures_.load(), resyncs_.load(),       recovered_.load(),
      skipped_by_kafka_.load(), handed_over_.load(),       store_->OutboxDepth(), {}};
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
  // Everything pending, grouped by destination partition, each group in seq order.
  std::map<TopicPartition, std::vector<OutboxEntry>> pending;
  for (uint64_t after = 0;;) {
    auto batch = store_->ReadOutbox(after, 10000);
    if (!batch.ok()) return batch.status();
    if (batch->empty()) break;
    after = batch->back().seq;
    for (auto& e : *batch) {
      auto p = PartitionOf(e.message);
      if (!p.ok()) return p.status();
      pending[{e.message.topic, *p}].push_back(std::move(e));
    }
  }
  // First the last record of each partition. If it is not a pending entry, none of that
  // partition's pending entries reached Kafka (the relay is its only writer and produces in seq
  // order). If it is the k-th, entries 0..k were handed to Kafka, and they can only be among the
  // k+1 records ending there.
  std::map<TopicPartition, int64_t> last_records;
  for (const auto& [tp, entries] : pending) last_records[tp] = kLastRecord;
  auto last = ReadTails(options_.producer_config, last_records);
  if (!last.ok()) return last.status();
  std::map<TopicPartition, int64_t> windows;  // partition -> offset of its pending entry 0
  for (const auto& [tp, entries] : pending) {
    const Tail& tail = (*last)[tp];
    if (tail.ids.empty()) continue;
    for (size_t k = 0; k < entries.size(); ++k) {
      if (entries[k].message.event_id == tail.ids.back()) {
        // Not below 0, which also keeps it from reading as kLastRecord.
        windows[tp] = std::max<int64_t>(0, tail.first_offset - static_cast<int64_t>(k));
      }
    }
  }
  // Then those windows (to the partition's end, which a batch the old producer still had on the
  // wire may have moved), removing exactly the entries found there. Taking every entry up to the
  // last one as published would lose any that Kafka does not hold: an idempotent producer never
  // leaves such a gap, but a gap costs events, so the relay looks instead of assuming.
  auto windowed = ReadTails(options_.producer_config, windows);
  if (!windowed.ok()) return windowed.status();
  std::vector<uint64_t> done;
  for (const auto& [tp, tail] : *windowed) {
    const std::vector<OutboxEntry>& entries = pending[tp];
    const std::set<std::string> in_kafka(tail.ids.begin(), tail.ids.end());
    size_t found_up_to = 0;  // one past the last entry found
    for (size_t k = 0; k < entries.size(); ++k) {
      if (in_kafka.count(entries[k].message.event_id)) found_up_to = k + 1;
    }
    if (found_up_to == 0) continue;
    std::vector<uint64_t> missing;
    for (size_t k = 0; k < found_up_to; ++k) {
      if (in_kafka.count(entries[k].message.event_id)) {
        done.push_back(entries[k].seq);
      } else {
        missing.push_back(entries[k].seq);
      }
    }
    // Which entries a resync takes as published: rare, and the first thing to look at if an
    // event is ever missing from Kafka.
    spdlog::info("outbox relay: {}/{}: {} of the pending entries {}..{} are in Kafka", tp.first,
                 tp.second, found_up_to - missing.size(), entries[0].seq,
                 entries[found_up_to - 1].seq);
    if (!missing.empty()) {
      // Sent again after the later ones: out of order for their keys, but not lost.
      skipped_by_kafka_ += missing.size();
      spdlog::error(
          "outbox relay: {}/{} holds entry {} but not the {} earlier entries {}; sending them "
          "again",
          tp.first, tp.second, entries[found_up_to - 1].seq, missing.size(),
          absl::StrJoin(missing, ","));
    }
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
      if (hand_over_observer_) hand_over_observer_(e);
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
