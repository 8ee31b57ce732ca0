#include "libs/kafka/topic_admin.h"

#include "absl/strings/str_cat.h"

namespace bo::kafka {

absl::Status EnsureTopics(const Config& client_config, const std::vector<TopicSpec>& topics,
                          std::chrono::milliseconds timeout) {
  auto conf = MakeConf(client_config);
  if (!conf.ok()) return conf.status();
  auto rk = MakeClient(RD_KAFKA_PRODUCER, *conf);
  if (!rk.ok()) return rk.status();

  char err[512];
  std::vector<rd_kafka_NewTopic_t*> new_topics;
  absl::Status status;
  for (const auto& t : topics) {
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replication_factor, err, sizeof err);
    if (nt == nullptr) {
      status = absl::InvalidArgumentError(absl::StrCat("topic ", t.name, ": ", err));
      break;
    }
    for (const auto& [k, v] : t.settings) rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
    new_topics.push_back(nt);
  }
  if (status.ok()) {
    rd_kafka_AdminOptions_t* options =
        rd_kafka_AdminOptions_new(rk->get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(options, static_cast<int>(timeout.count()), err,
                                                sizeof err);
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk->get());
    rd_kafka_CreateTopics(rk->get(), new_topics.data(), new_topics.size(), options, queue);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 5000);
    if (ev == nullptr) {
      status = absl::DeadlineExceededError("create topics: no answer from the cluster");
    } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = FromKafka(rd_kafka_event_error(ev), "create topics");
    } else {
      size_t n = 0;
      const rd_kafka_topic_result_t** results =
          rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
      for (size_t i = 0; i < n && status.ok(); ++i) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
          status =
              FromKafka(e, absl::StrCat("create topic ", rd_kafka_topic_result_name(results[i])));
        }
      }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(queue);
    rd_kafka_AdminOptions_destroy(options);
  }
  for (auto* nt : new_topics) rd_kafka_NewTopic_destroy(nt);
  return status;
}

absl::StatusOr<int32_t> PartitionCount(rd_kafka_t* rk, const std::string& topic,
                                       std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, static_cast<int>(timeout.count()));
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromKafka(err, "metadata of " + topic);
  absl::StatusOr<int32_t> result = absl::NotFoundError("topic " + topic + " does not exist");
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (topic == t.topic && t.err == RD_KAFKA_RESP_ERR_NO_ERROR && t.partition_cnt > 0) {
      result = t.partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(md);
  return result;
}

absl::StatusOr<std::map<TopicPartition, int64_t>> Watermarks(
    rd_kafka_t* rk, const std::set<TopicPartition>& partitions, int64_t logical,
    std::chrono::milliseconds timeout) {
  std::map<TopicPartition, int64_t> out;
  if (partitions.empty()) return out;
  // Not with rd_kafka_query_watermark_offsets: before librdkafka 2.3.0 it ignores its timeout and
  // blocks until the partition's leader answers (librdkafka issue #2588, fixed in 2.3.0), so one
  // broker that is down, or gone for good after its partitions moved, would hang the caller.
  // rd_kafka_offsets_for_times honours its timeout; asked for the logical offsets BEGINNING and
  // END, it returns the watermarks. A partition the call did not get an answer for keeps the
  // negative logical offset it was asked for.
  PartitionList query(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& tp : partitions) {
    rd_kafka_topic_partition_list_add(query.get(), tp.first.c_str(), tp.second)->offset = logical;
  }
  rd_kafka_resp_err_t err =
      rd_kafka_offsets_for_times(rk, query.get(), static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromKafka(err, "watermarks");
  for (int i = 0; i < query->cnt; ++i) {
    const rd_kafka_topic_partition_t& r = query->elems[i];
    if (r.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return FromKafka(r.err, absl::StrCat("watermarks of ", r.topic, "/", r.partition));
    }
    if (r.offset < 0) {
      return absl::UnavailableError(
          absl::StrCat("watermarks of ", r.topic, "/", r.partition, ": no answer in time"));
    }
    out[{r.topic, r.partition}] = r.offset;
  }
  for (const auto& tp : partitions) {
    if (!out.contains(tp)) {
      return absl::InternalError(
          absl::StrCat("watermarks of ", tp.first, "/", tp.second, " missing from the answer"));
    }
  }
  return out;
}

}  // namespace bo::kafka
