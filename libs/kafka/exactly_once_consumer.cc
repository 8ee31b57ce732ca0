#include "libs/kafka/exactly_once_consumer.h"

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "spdlog/spdlog.h"

namespace bo::kafka {
namespace {

constexpr int kWatermarkTimeoutMs = 5000;
constexpr int64_t kPruneEvery = 4096;

std::string Join(std::initializer_list<std::string_view> parts) {
  std::string k;
  for (auto p : parts) {
    k.append(p);
    k.push_back('\0');
  }
  k.pop_back();
  return k;
}
std::string OffsetKey(std::string_view name, std::string_view topic, int32_t partition) {
  return Join({"off", name, topic, std::to_string(partition)});
}
std::string SeenKey(std::string_view name, std::string_view event_id) {
  return Join({"seen", name, event_id});
}
std::string SeenLogPrefix(std::string_view name, std::string_view topic, int32_t partition) {
  return Join({"slog", name, topic, std::to_string(partition), ""});
}

}  // namespace

ExactlyOnceConsumer::ExactlyOnceConsumer(Database* db, ConsumerOptions options,
                                         RecordHandler handler)
    : db_(db), options_(std::move(options)), handler_(std::move(handler)) {}

ExactlyOnceConsumer::~ExactlyOnceConsumer() { Stop(); }

absl::StatusOr<int64_t> ExactlyOnceConsumer::StoredOffset(Database* db, const std::string& name,
                                                          const std::string& topic,
                                                          int32_t partition) {
  auto v = db->Get(kConsumerFamily, OffsetKey(name, topic, partition));
  if (!v.ok()) return v.status();
  if (!v->has_value()) return 0;
  int64_t offset = 0;
  if (!absl::SimpleAtoi(**v, &offset)) {
    return absl::DataLossError(absl::StrCat("stored offset of ", name, " is not a number"));
  }
  return offset;
}

absl::Status ExactlyOnceConsumer::Forget(Database* db, const std::string& name) {
  rocksdb::WriteBatch batch;
  rocksdb::ColumnFamilyHandle* cf = db->family(kConsumerFamily);
  for (const char* kind : {"off", "seen", "slog"}) {
    // Every key of this consumer starts with kind NUL name NUL; NUL+1 bounds the range.
    std::string begin = Join({kind, name, ""});
    std::string end = begin;
    end.back() = '\x01';
    batch.DeleteRange(cf, begin, end);
  }
  return db->Write(&batch, /*sync=*/true);
}

absl::Status ExactlyOnceConsumer::Start() {
  Config settings = {
      {"group.id", options_.name},
      {"enable.auto.offset.store", "false"},
      // The broker's committed offsets are a hint for dashboards; ours live in the Database.
      {"enable.auto.commit", "true"},
      {"auto.offset.reset", "earliest"},
      {"isolation.level", "read_committed"},
      {"enable.partition.eof", "false"},
      // librdkafka prefetches while the application is busy: with its default (64 MiB, not an
      // exact bound across partitions: librdkafka #4137) a consumer that lags, like invoicing's on
      // 18 partitions under load, held 211 MiB resident (kcat, same library, stalled reader, on the
      // full perf form's topics); 16 MiB held 80 MiB and still read 370,000 records/s (the
      // default 505,000), 13x what debtor-query's projection applies. Less costs throughput
      // steeply: 8 MiB read 93,000/s, 4 MiB 39,000/s.
      {"queued.max.messages.kbytes", "16384"},
  };
  if (!options_.instance_id.empty()) settings["group.instance.id"] = options_.instance_id;
  for (const auto& [k, v] : options_.consumer_config) settings[k] = v;
  auto conf = MakeConf(settings);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_opaque(*conf, this);
  rd_kafka_conf_set_rebalance_cb(*conf, &ExactlyOnceConsumer::RebalanceTrampoline);
  auto consumer = MakeClient(RD_KAFKA_CONSUMER, *conf);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);
  rd_kafka_poll_set_consumer(consumer_.get());

  PartitionList topics(rd_kafka_topic_partition_list_new(static_cast<int>(options_.topics.size())));
  for (const auto& t : options_.topics) {
    rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  absl::Status s = FromKafka(rd_kafka_subscribe(consumer_.get(), topics.get()), "subscribe");
  if (!s.ok()) {
    consumer_.reset();
    return s;
  }
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void ExactlyOnceConsumer::Stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  thread_.join();
  rd_kafka_consumer_close(consumer_.get());
  consumer_.reset();
}

void ExactlyOnceConsumer::RebalanceTrampoline(rd_kafka_t*, rd_kafka_resp_err_t err,
                                              rd_kafka_topic_partition_list_t* partitions,
                                              void* opaque) {
  static_cast<ExactlyOnceConsumer*>(opaque)->OnRebalance(err, partitions);
}

void ExactlyOnceConsumer::OnRebalance(rd_kafka_resp_err_t err,
                                      rd_kafka_topic_partition_list_t* partitions) {
  ++rebalances_;
  rd_kafka_t* rk = consumer_.get();
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    std::map<std::pair<std::string, int32_t>, PartitionState> assigned;
    for (int i = 0; i < partitions->cnt; ++i) {
      auto& tp = partitions->elems[i];
      int64_t low = 0, high = 0;
      rd_kafka_resp_err_t werr = rd_kafka_query_watermark_offsets(rk, tp.topic, tp.partition, &low,
                                                                  &high, kWatermarkTimeoutMs);
      if (werr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        spdlog::warn("consumer {}: watermarks of {}/{}: {}", options_.name, tp.topic, tp.partition,
                     rd_kafka_err2str(werr));
      }
      auto stored = StoredOffset(db_, options_.name, tp.topic, tp.partition);
      PartitionState st;
      if (stored.ok() && *stored > 0) {
        tp.offset = *stored;  // resume exactly after the last applied record
        st.next_offset = *stored;
      } else {
        tp.offset = RD_KAFKA_OFFSET_BEGINNING;
        st.next_offset = low;
      }
      st.high_at_assign = high;
      st.high_watermark = high;
      st.last_prune = st.next_offset;
      assigned[{tp.topic, tp.partition}] = st;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [k, v] : assigned) partitions_[k] = v;
      assigned_ = true;
    }
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, partitions);
      if (e) {
        spdlog::error("consumer {}: incremental assign: {}", options_.name,
                      rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk, partitions);
    }
    spdlog::info("consumer {}: assigned {} partitions", options_.name, partitions->cnt);
  } else {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int i = 0; i < partitions->cnt; ++i) {
        partitions_.erase({partitions->elems[i].topic, partitions->elems[i].partition});
      }
      if (!cooperative) partitions_.clear();
      assigned_ = false;
    }
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, partitions);
      if (e) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }
}

bool ExactlyOnceConsumer::Apply(const rd_kafka_message_t* m) {
  ConsumedRecord r;
  r.topic = rd_kafka_topic_name(m->rkt);
  r.partition = m->partition;
  r.offset = m->offset;
  r.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
  r.value = std::string_view(static_cast<const char*>(m->payload), m->len);
  r.event_id = HeaderValue(m, "ce_id");
  if (r.event_id.empty())
    r.event_id = absl::StrCat(std::string(r.topic), "/", r.partition, "/", r.offset);
  r.type = HeaderValue(m, "ce_type");
  rd_kafka_timestamp_type_t tstype;
  r.timestamp_ms = rd_kafka_message_timestamp(m, &tstype);

  const std::string seen_key = SeenKey(options_.name, r.event_id);
  auto seen = db_->Get(kConsumerFamily, seen_key);
  if (!seen.ok()) {
    spdlog::warn("consumer {}: {}", options_.name, seen.status().ToString());
    return false;
  }
  rocksdb::WriteBatch batch;
  rocksdb::ColumnFamilyHandle* cf = db_->family(kConsumerFamily);
  const std::string slog_prefix = SeenLogPrefix(options_.name, r.topic, r.partition);
  if (seen->has_value()) {
    ++duplicates_;
  } else {
    absl::Status s = handler_(r, &batch);
    if (!s.ok()) {
      ++handler_errors_;
      spdlog::warn("consumer {}: record {}/{}@{} ({}): {}; will retry", options_.name, r.topic,
                   r.partition, r.offset, r.event_id, s.ToString());
      return false;
    }
    batch.Put(cf, seen_key, absl::StrCat(std::string(r.topic), "/", r.partition, "/", r.offset));
    batch.Put(cf, slog_prefix + SortableNumber(static_cast<uint64_t>(r.offset)), r.event_id);
  }
  batch.Put(cf, OffsetKey(options_.name, r.topic, r.partition), std::to_string(r.offset + 1));

  // Forget seen ids that fell out of the window, in the same batch.
  int64_t prune_below = r.offset - options_.seen_window;
  int64_t last_prune = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_prune = partitions_[{std::string(r.topic), r.partition}].last_prune;
  }
  if (prune_below > last_prune + kPruneEvery) {
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(rocksdb::ReadOptions(), cf));
    const std::string end = slog_prefix + SortableNumber(static_cast<uint64_t>(prune_below));
    for (it->Seek(slog_prefix); it->Valid() && it->key().compare(end) < 0; it->Next()) {
      batch.Delete(cf, it->key());
      batch.Delete(cf, SeenKey(options_.name, it->value().ToStringView()));
    }
  } else {
    prune_below = -1;
  }

  absl::Status s = db_->Write(&batch, /*sync=*/false);
  if (!s.ok()) {
    spdlog::warn("consumer {}: write: {}", options_.name, s.ToString());
    return false;
  }
  rd_kafka_offset_store(m->rkt, m->partition, m->offset);  // hint for dashboards only
  applied_++;
  std::lock_guard<std::mutex> lock(mu_);
  auto& st = partitions_[{std::string(r.topic), r.partition}];
  st.next_offset = r.offset + 1;
  ++applied_by_topic_[std::string(r.topic)];
  if (prune_below >= 0) st.last_prune = prune_below;
  return true;
}

void ExactlyOnceConsumer::Run() {
  auto next_watermarks = std::chrono::steady_clock::now();
  while (!stop_) {
    Message m(rd_kafka_consumer_poll(consumer_.get(), 100));
    if (m) {
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (!Apply(m.get())) {
          // Nothing of the record was written: go back to it and try again after a pause.
          rd_kafka_seek(m->rkt, m->partition, m->offset, 1000);
          std::this_thread::sleep_for(options_.retry_backoff);
        }
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        spdlog::warn("consumer {}: {}", options_.name, rd_kafka_message_errstr(m.get()));
      }
    }
    if (std::chrono::steady_clock::now() >= next_watermarks) {
      next_watermarks = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [tp, st] : partitions_) {
        int64_t low = 0, high = 0;
        if (rd_kafka_get_watermark_offsets(consumer_.get(), tp.first.c_str(), tp.second, &low,
                                           &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            high >= 0) {
          st.high_watermark = std::max(st.high_watermark, high);
        }
      }
    }
  }
}

bool ExactlyOnceConsumer::CaughtUp() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!assigned_) return false;
  for (const auto& [tp, st] : partitions_) {
    if (st.next_offset < st.high_at_assign) return false;
  }
  return true;
}

ConsumerStats ExactlyOnceConsumer::Stats() const {
  ConsumerStats s;
  s.applied = applied_;
  s.duplicates = duplicates_;
  s.handler_errors = handler_errors_;
  s.rebalances = rebalances_;
  std::lock_guard<std::mutex> lock(mu_);
  s.applied_by_topic = applied_by_topic_;
  for (const auto& [tp, st] : partitions_) {
    s.partitions.push_back(
        {tp.first, tp.second, st.next_offset, std::max(st.high_watermark, st.next_offset)});
  }
  return s;
}

}  // namespace bo::kafka
