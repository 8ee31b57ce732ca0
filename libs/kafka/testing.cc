#include "libs/kafka/testing.h"

#include <cstdlib>

#include "libs/core/ids.h"
#include "rocksdb/iterator.h"

namespace bo::kafka::testing {

std::string Bootstrap() {
  const char* b = std::getenv("KAFKA_BOOTSTRAP");
  return b ? b : "";
}

std::vector<Record> ReadAll(const std::string& topic, size_t expect, std::chrono::seconds limit) {
  auto conf = MakeConf({{"bootstrap.servers", Bootstrap()},
                        {"group.id", "reader-" + NewUuidV7()},
                        {"auto.offset.reset", "earliest"},
                        {"enable.auto.commit", "false"}});
  std::vector<Record> out;
  if (!conf.ok()) return out;
  auto rk = MakeClient(RD_KAFKA_CONSUMER, *conf);
  if (!rk.ok()) return out;
  PartitionList topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk->get(), topics.get());
  auto deadline = std::chrono::steady_clock::now() + limit;
  auto quiet_until = std::chrono::steady_clock::time_point::max();
  while (std::chrono::steady_clock::now() < std::min(deadline, quiet_until)) {
    Message m(rd_kafka_consumer_poll(rk->get(), 200));
    if (!m || m->err) continue;
    out.push_back({std::string(static_cast<const char*>(m->key), m->key_len),
                   std::string(static_cast<const char*>(m->payload), m->len),
                   HeaderValue(m.get(), "ce_id"), HeaderValue(m.get(), "ce_type"), m->partition,
                   MessageHeaders(m.get())});
    if (out.size() >= expect && quiet_until == std::chrono::steady_clock::time_point::max()) {
      quiet_until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    }
  }
  rd_kafka_consumer_close(rk->get());
  return out;
}

bool ProduceIds(const std::string& topic, const std::vector<std::string>& ids) {
  auto conf = MakeConf({{"bootstrap.servers", Bootstrap()}});
  if (!conf.ok()) return false;
  auto producer = MakeClient(RD_KAFKA_PRODUCER, *conf);
  if (!producer.ok()) return false;
  for (size_t i = 0; i < ids.size(); ++i) {
    rd_kafka_headers_t* h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, "ce_id", -1, ids[i].data(), -1);
    std::string key = "k" + std::to_string(i % 11);
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_producev(
                producer->get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(const_cast<char*>("1"), 1),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer->get(), 100);
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(h);
      return false;
    }
  }
  return rd_kafka_flush(producer->get(), 60000) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

RecordHandler PartitionCounter(Database* db) {
  return [db](const ConsumedRecord& r, rocksdb::WriteBatch* batch) -> absl::Status {
    const std::string key = "count/" + std::to_string(r.partition);
    auto v = db->Get(kReadModelFamily, key);
    if (!v.ok()) return v.status();
    int64_t n = v->has_value() ? std::stoll(**v) : 0;
    batch->Put(db->family(kReadModelFamily), key, std::to_string(n + 1));
    return absl::OkStatus();
  };
}

int64_t CountedTotal(Database* db) {
  int64_t total = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db->db()->NewIterator(rocksdb::ReadOptions(), db->family(kReadModelFamily)));
  for (it->Seek("count/"); it->Valid() && it->key().starts_with("count/"); it->Next()) {
    total += std::stoll(it->value().ToString());
  }
  return total;
}

}  // namespace bo::kafka::testing
