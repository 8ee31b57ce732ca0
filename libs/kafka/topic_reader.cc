#include "libs/kafka/topic_reader.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "libs/kafka/topic_admin.h"

namespace bo::kafka {

absl::Status ReadTopic(const Config& client_config, const std::string& topic,
                       const std::function<absl::Status(const TopicRecord&)>& visit,
                       std::chrono::milliseconds stall_timeout) {
  Config settings = client_config;
  // The end of a partition is where its last record was when the read started, or where the
  // partition's end was reached, whichever comes first: offsets need not be dense up to the
  // high watermark (a transaction's commit marker takes an offset and is never delivered).
  settings["enable.partition.eof"] = "true";
  auto consumer = MakeAssignedReader(std::move(settings), "bo-topic-reader");
  if (!consumer.ok()) return consumer.status();
  rd_kafka_t* rk = consumer->get();

  auto partitions = PartitionCount(rk, topic, stall_timeout);
  if (!partitions.ok()) return partitions.status();
  std::set<TopicPartition> all;
  for (int32_t p = 0; p < *partitions; ++p) all.insert({topic, p});
  auto lows = Watermarks(rk, all, RD_KAFKA_OFFSET_BEGINNING, stall_timeout);
  if (!lows.ok()) return lows.status();
  auto highs = Watermarks(rk, all, RD_KAFKA_OFFSET_END, stall_timeout);
  if (!highs.ok()) return highs.status();

  std::map<int32_t, int64_t> end;  // partitions still to read, and where they end
  PartitionList assignment(rd_kafka_topic_partition_list_new(*partitions));
  for (const auto& tp : all) {
    const int64_t low = lows->at(tp), high = highs->at(tp);
    if (high <= low) continue;
    end[tp.second] = high;
    rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), tp.second)->offset = low;
  }
  if (end.empty()) return absl::OkStatus();
  if (rd_kafka_resp_err_t err = rd_kafka_assign(rk, assignment.get());
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return FromKafka(err, "assign " + topic);
  }
  absl::Status result = absl::OkStatus();
  auto last_progress = std::chrono::steady_clock::now();
  while (!end.empty() && result.ok()) {
    Message m(rd_kafka_consumer_poll(rk, 200));
    if (!m) {
      if (std::chrono::steady_clock::now() - last_progress > stall_timeout) {
        result = absl::DeadlineExceededError(
            absl::StrCat("reading ", topic, ": nothing arrived for ", stall_timeout.count(),
                         " ms with ", end.size(), " partitions unfinished"));
      }
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      end.erase(m->partition);
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Transient errors (a broker reconnecting) are retried by librdkafka; a fatal one is not.
      if (rd_kafka_fatal_error(rk, nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        result = FromKafka(m->err, "reading " + topic);
      }
      continue;
    }
    auto it = end.find(m->partition);
    if (it == end.end() || m->offset >= it->second) continue;  // produced after the start
    last_progress = std::chrono::steady_clock::now();
    result = visit({m->partition, m->offset,
                    std::string_view(static_cast<const char*>(m->key), m->key_len),
                    std::string_view(static_cast<const char*>(m->payload), m->len)});
    if (m->offset + 1 >= it->second) end.erase(it);
  }
  rd_kafka_consumer_close(rk);
  return result;
}

}  // namespace bo::kafka
