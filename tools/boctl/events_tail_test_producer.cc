// Test helper for events_tail_test.sh: makes a fresh topic, produces events whose lines the test
// knows (as the services publish them: a serialised EventEnvelope with CloudEvents headers) and
// deletes the topic again. Not installed; only the test runs it.
//   events_tail_test_producer BOOTSTRAP TOPIC create   the topic, 3 partitions
//   events_tail_test_producer BOOTSTRAP TOPIC known    the known events, and one record that is
//                                                      not an event
//   events_tail_test_producer BOOTSTRAP TOPIC one      one StockAdjusted at branch LIVE
//   events_tail_test_producer BOOTSTRAP TOPIC delete   the topic
#include <cstdio>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "backorder/v1/events.pb.h"
#include "libs/core/ids.h"
#include "libs/kafka/client.h"
#include "libs/kafka/topic_admin.h"

namespace {

namespace pb = backorder::v1;

int g_failed_deliveries = 0;

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  ++g_failed_deliveries;
  std::fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
}

constexpr int64_t kOccurredAt = 1795914432;  // 2026-11-29 01:07:12 UTC

pb::EventEnvelope Envelope(const std::string& type, const std::string& aggregate,
                           const std::string& branch) {
  pb::EventEnvelope e;
  e.set_event_id(bo::NewUuidV7());
  e.set_type(type);
  e.set_aggregate_id(aggregate);
  e.set_aggregate_version(1);
  e.set_branch_id(branch);
  e.mutable_occurred_at()->set_seconds(kOccurredAt);
  e.mutable_actor()->set_subject("clerk:kim@north");
  e.mutable_actor()->set_role("clerk");
  return e;
}

pb::BackorderContext Context(const std::string& id, const std::string& branch) {
  pb::BackorderContext c;
  c.set_backorder_id(id);
  c.set_debtor_id("D-1001");
  c.set_branch_id(branch);
  c.set_invoice_id("INV-" + branch + "-000001");
  c.set_invoice_line(1);
  c.set_part_number("OIL-FILTER-1");
  c.set_supplier_id("SUP-1");
  return c;
}

pb::EventEnvelope Cancelled(const std::string& id, const std::string& branch) {
  pb::EventEnvelope e = Envelope("BackorderCancelled", "backorder/" + id, branch);
  e.set_reason("customer went elsewhere");
  auto* p = e.mutable_backorder_cancelled();
  *p->mutable_context() = Context(id, branch);
  p->set_quantity_cancelled(2);
  p->mutable_quantities()->set_back_ordered(2);
  p->mutable_quantities()->set_cancelled(2);
  return e;
}

// The known events (events_tail_test.sh checks their lines).
std::vector<pb::EventEnvelope> KnownEvents() {
  std::vector<pb::EventEnvelope> events;
  events.push_back(Cancelled("BO-NORTH-000001-1", "NORTH"));

  pb::EventEnvelope filled = Envelope("BackorderFilled", "ledger/NORTH/OIL-FILTER-1", "NORTH");
  auto* f = filled.mutable_backorder_filled();
  *f->mutable_context() = Context("BO-NORTH-000002-1", "NORTH");
  f->set_quantity(2);
  f->mutable_quantities()->set_back_ordered(5);
  f->mutable_quantities()->set_filled(2);
  f->set_source("receipt");
  f->set_creditor_invoice_id("CI-9");
  events.push_back(filled);

  pb::EventEnvelope placed = Envelope("StockOrderPlaced", "stockorder/SO-NORTH-000001", "NORTH");
  auto* s = placed.mutable_stock_order_placed();
  s->set_stock_order_id("SO-NORTH-000001");
  s->set_branch_id("NORTH");
  s->set_supplier_id("SUP-1");
  auto* line = s->add_lines();
  line->set_line(1);
  line->set_part_number("OIL-FILTER-1");
  line->set_quantity(2);
  line->add_backorders()->set_backorder_id("BO-NORTH-000001-1");
  events.push_back(placed);

  pb::EventEnvelope part = Envelope("PartUpdated", "part/OIL-FILTER-1", "");
  part.mutable_part_updated()->set_part_number("OIL-FILTER-1");
  part.mutable_part_updated()->set_supplier_id("SUP-1");
  events.push_back(part);

  events.push_back(Cancelled("BO-SOUTH-000001-1", "SOUTH"));
  return events;
}

pb::EventEnvelope LiveEvent() {
  pb::EventEnvelope e = Envelope("StockAdjusted", "ledger/LIVE/OIL-FILTER-1", "LIVE");
  e.set_reason("stocktake");
  e.mutable_stock_adjusted()->set_branch_id("LIVE");
  e.mutable_stock_adjusted()->set_part_number("OIL-FILTER-1");
  e.mutable_stock_adjusted()->set_delta(3);
  e.mutable_stock_adjusted()->set_on_hand(3);
  return e;
}

bool Produce(rd_kafka_t* rk, const std::string& topic, const std::string& key,
             const std::string& value, const bo::Headers& headers) {
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
  for (const auto& [name, v] : headers) {
    rd_kafka_header_add(hdrs, name.c_str(), -1, v.data(), static_cast<ssize_t>(v.size()));
  }
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(hdrs);  // only a successful produce takes them
    std::fprintf(stderr, "produce: %s\n", rd_kafka_err2str(err));
    return false;
  }
  return true;
}

bool ProduceEvent(rd_kafka_t* rk, const std::string& topic, const pb::EventEnvelope& e) {
  const std::string key = e.branch_id().empty() ? e.aggregate_id() : e.branch_id();
  return Produce(rk, topic, key, e.SerializeAsString(),
                 bo::kafka::CloudEventHeaders(e.event_id(), e.type(), "/backorders/test",
                                              absl::FromUnixSeconds(e.occurred_at().seconds())));
}

int DeleteTopic(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_DeleteTopic_t* del = rd_kafka_DeleteTopic_new(topic.c_str());
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_DeleteTopics(rk, &del, 1, nullptr, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 30000);
  int rc = 1;
  if (ev != nullptr) {
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    rc = rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR && n == 1 &&
                 rd_kafka_topic_result_error(results[0]) == RD_KAFKA_RESP_ERR_NO_ERROR
             ? 0
             : 1;
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_DeleteTopic_destroy(del);
  if (rc != 0) std::fprintf(stderr, "delete topic %s failed\n", topic.c_str());
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s BOOTSTRAP TOPIC create|known|one|delete\n", argv[0]);
    return 2;
  }
  const std::string bootstrap = argv[1], topic = argv[2], what = argv[3];
  if (what == "create") {
    const absl::Status s =
        bo::kafka::EnsureTopics({{"bootstrap.servers", bootstrap}}, {{topic, 3, 1, {}}});
    if (!s.ok()) std::fprintf(stderr, "create topic %s: %s\n", topic.c_str(), s.ToString().c_str());
    return s.ok() ? 0 : 1;
  }
  auto conf =
      bo::kafka::MakeConf({{"bootstrap.servers", bootstrap}, {"enable.idempotence", "true"}});
  if (!conf.ok()) return 1;
  rd_kafka_conf_set_dr_msg_cb(*conf, &OnDelivery);
  auto producer = bo::kafka::MakeClient(RD_KAFKA_PRODUCER, *conf);
  if (!producer.ok()) return 1;
  rd_kafka_t* rk = producer->get();
  if (what == "delete") return DeleteTopic(rk, topic);

  bool ok = true;
  if (what == "known") {
    for (const auto& e : KnownEvents()) ok = ProduceEvent(rk, topic, e) && ok;
    ok = Produce(rk, topic, "garbage", "\xff\xff not an event", {}) && ok;
  } else if (what == "one") {
    ok = ProduceEvent(rk, topic, LiveEvent());
  } else {
    std::fprintf(stderr, "unknown action %s\n", what.c_str());
    return 2;
  }
  const rd_kafka_resp_err_t err = rd_kafka_flush(rk, 30000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR || rd_kafka_outq_len(rk) > 0 || g_failed_deliveries > 0) {
    std::fprintf(stderr, "flush: %s\n", rd_kafka_err2str(err));
    ok = false;
  }
  return ok ? 0 : 1;
}
