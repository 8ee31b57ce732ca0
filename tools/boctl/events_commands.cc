// boctl events tail: follow the events of the back-order system straight from Kafka, filtered by
// type, branch or back order, as readable lines, NDJSON (--json) or event ids (-q).
//
// The tail reads without joining any consumer group: it has a fresh random group.id (never
// shared, never committed: enable.auto.commit=false) and assigns every partition of the topics
// itself, so it can never take partitions from, or rebalance, a service's consumer group.
// "From the end" is resolved to concrete offsets before the "Following ..." line is printed, so
// every record produced after that line is shown (the event tail test relies on it).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "libs/core/ids.h"
#include "libs/kafka/client.h"
#include "tools/boctl/commands.h"
#include "tools/boctl/events.h"

namespace bo::boctl {
namespace {

namespace pb = backorder::v1;
using Clock = std::chrono::steady_clock;

// Set by SIGINT/SIGTERM; the poll loop checks it at least every kPollIntervalMs.
volatile std::sig_atomic_t g_stop_signal = 0;
constexpr int kPollIntervalMs = 200;

void OnStopSignal(int signal) {
  g_stop_signal = signal;
  std::signal(signal, SIG_DFL);  // a second Ctrl-C ends boctl even if closing hangs
}

struct TailFlags {
  std::string bootstrap;
  std::vector<std::string> topics, types, branches, backorders;
  bool from_beginning = false;
  int max = 0;
  double idle_exit_seconds = 0;
  CLI::Option* env_file = nullptr;  // the global --env-file, for the stack file
};

std::string OrAll(const std::vector<std::string>& values) {
  return values.empty() ? "-" : absl::StrJoin(values, " ");
}

int DryRun(const Address& broker, const std::vector<std::string>& topics, const TailFlags& f) {
  std::printf(
      "dry run: events tail at %s (from %s)\ntopics: %s\nstart: %s\ntypes: %s\nbranches: %s\n"
      "backorders: %s\n",
      broker.target.c_str(), broker.source.c_str(), absl::StrJoin(topics, " ").c_str(),
      f.from_beginning ? "beginning (replay)" : "end (live)", OrAll(f.types).c_str(),
      OrAll(f.branches).c_str(), OrAll(f.backorders).c_str());
  return kOk;
}

// "error: <doing> at <broker> (from <source>): <why>", and when Kafka did not answer, the hint a
// clerk can act on.
int Fail(const Address& broker, const std::string& doing, const absl::Status& why) {
  std::fprintf(stderr, "error: %s at %s (from %s): %s\n", doing.c_str(), broker.target.c_str(),
               broker.source.c_str(), std::string(why.message()).c_str());
  if (absl::IsUnavailable(why) || absl::IsDeadlineExceeded(why)) {
    std::fprintf(stderr,
                 "hint: is Kafka running there? (tools/run, or --kafka-bootstrap / "
                 "$KAFKA_BOOTSTRAP)\n");
  }
  return kRpcError;
}

// Whether Kafka's complaints are shown: only while following (before that, what failed is
// reported once by Fail, and librdkafka's own retries would only repeat it).
bool g_report_kafka_errors = false;

// Kafka's complaints (a broker going away and coming back), each said once until it changes.
void OnKafkaError(rd_kafka_t*, int err, const char* reason, void*) {
  static std::string last;
  if (!g_report_kafka_errors) return;
  const std::string text = absl::StrCat(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)),
                                        ": ", reason == nullptr ? "" : reason);
  if (text == last) return;
  last = text;
  std::fprintf(stderr, "warning: kafka: %s\n", text.c_str());
}

// Every partition of `topics` from the cluster's metadata, starting at the beginning or at the
// current end (resolved to offsets now).
absl::StatusOr<kafka::PartitionList> Partitions(rd_kafka_t* rk,
                                                const std::vector<std::string>& topics,
                                                bool from_beginning, int timeout_ms) {
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &metadata, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka::FromKafka(err, "no answer");
  kafka::PartitionList list(rd_kafka_topic_partition_list_new(0));
  std::vector<std::string> missing;
  for (const auto& topic : topics) {
    const rd_kafka_metadata_topic_t* found = nullptr;
    for (int i = 0; i < metadata->topic_cnt; ++i) {
      if (topic == metadata->topics[i].topic && metadata->topics[i].err == 0) {
        found = &metadata->topics[i];
      }
    }
    if (found == nullptr || found->partition_cnt == 0) {
      missing.push_back(topic);
      continue;
    }
    for (int p = 0; p < found->partition_cnt; ++p) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), found->partitions[p].id)
          ->offset = from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    }
  }
  rd_kafka_metadata_destroy(metadata);
  if (!missing.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no topic ", absl::StrJoin(missing, ", "),
        " (the event topics are made by bo-admin create-topics; --topic names a topic)"));
  }
  if (!from_beginning) {
    // A timestamp of -1 asks each partition for its end offset, all in one round trip.
    err = rd_kafka_offsets_for_times(rk, list.get(), timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka::FromKafka(err, "reading where the topics end");
    }
    for (int i = 0; i < list->cnt; ++i) {
      if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return kafka::FromKafka(list->elems[i].err,
                                absl::StrCat("reading where ", list->elems[i].topic, " partition ",
                                             list->elems[i].partition, " ends"));
      }
    }
  }
  return list;
}

// Prints one record if it passes the filter; a record that is not an event is reported on stderr
// and skipped.
void Show(const Context& context, const EventFilter& filter, const rd_kafka_message_t* m,
          int* printed) {
  const std::string topic = rd_kafka_topic_name(m->rkt);
  pb::EventEnvelope event;
  if (m->payload == nullptr || m->len == 0 ||
      !event.ParseFromArray(m->payload, static_cast<int>(m->len))) {
    std::fprintf(stderr,
                 "warning: %s partition %d offset %lld: not an event (%zu bytes), skipped\n",
                 topic.c_str(), m->partition, static_cast<long long>(m->offset), m->len);
    return;
  }
  const std::string ce_type = kafka::HeaderValue(m, "ce_type");
  if (!Matches(filter, event, ce_type)) return;
  std::string line;
  if (context.output().json) {
    RecordPosition position{topic, m->partition, m->offset, "", kafka::HeaderValue(m, "ce_id")};
    if (m->key != nullptr) position.key.assign(static_cast<const char*>(m->key), m->key_len);
    line = EventJsonLine(position, event);
  } else if (context.output().quiet) {
    line = event.event_id().empty() ? kafka::HeaderValue(m, "ce_id") : event.event_id();
  } else {
    line = EventLine(topic, event, ce_type);
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);  // a live tail is read as it comes (often through a pipe)
  ++*printed;
}

int Tail(Context& context, const TailFlags& f) {
  const auto stack = ReadStackFile(
      f.env_file != nullptr && f.env_file->count() > 0 ? f.env_file->results().front() : "");
  if (!stack.has_value()) return kUsageError;
  const Address broker = ResolveBootstrap(
      f.bootstrap, [](const char* name) { return std::getenv(name); }, stack->values, stack->path);
  std::vector<std::string> topics;
  for (const auto& word : f.topics) topics.push_back(TopicName(word));
  if (topics.empty()) topics = EventTopicNames();
  if (context.output().dry_run) return DryRun(broker, topics, f);

  EventFilter filter;  // the types are canonical: --type's transform made them so
  filter.types.insert(f.types.begin(), f.types.end());
  filter.branches.insert(f.branches.begin(), f.branches.end());
  filter.backorders.insert(f.backorders.begin(), f.backorders.end());

  auto conf = kafka::MakeConf({{"bootstrap.servers", broker.target},
                               {"group.id", "boctl-events-tail-" + NewUuidV7()},
                               {"client.id", "boctl-events-tail"},
                               {"enable.auto.commit", "false"},
                               {"enable.auto.offset.store", "false"},
                               {"auto.offset.reset", f.from_beginning ? "earliest" : "latest"}});
  if (!conf.ok()) return Fail(broker, "configuring the consumer", conf.status());
  rd_kafka_conf_set_error_cb(*conf, &OnKafkaError);
  rd_kafka_conf_set_log_cb(*conf, nullptr);  // errors come through OnKafkaError, once each
  auto consumer = kafka::MakeClient(RD_KAFKA_CONSUMER, *conf);
  if (!consumer.ok()) return Fail(broker, "starting the consumer", consumer.status());
  rd_kafka_t* rk = consumer->get();
  rd_kafka_poll_set_consumer(rk);

  const int timeout_ms =
      static_cast<int>(std::max(1.0, context.client().settings().timeout_seconds) * 1000);
  auto partitions = Partitions(rk, topics, f.from_beginning, timeout_ms);
  if (!partitions.ok()) {
    return Fail(broker, "reading the topics", partitions.status());
  }
  if (auto err = rd_kafka_assign(rk, partitions->get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Fail(broker, "assigning the partitions", kafka::FromKafka(err, "assign"));
  }

  g_stop_signal = 0;
  g_report_kafka_errors = true;
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  if (!context.output().quiet) {
    std::fprintf(stderr, "Following %s at %s (from %s), %s; Ctrl-C to stop.\n",
                 absl::StrJoin(topics, ", ").c_str(), broker.target.c_str(), broker.source.c_str(),
                 f.from_beginning ? "from the beginning" : "from now on");
  }

  const auto idle_limit = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(f.idle_exit_seconds));
  auto last_arrival = Clock::now();
  int printed = 0;
  while (g_stop_signal == 0 && (f.max == 0 || printed < f.max)) {
    if (f.idle_exit_seconds > 0 && Clock::now() - last_arrival >= idle_limit) break;
    kafka::Message m(rd_kafka_consumer_poll(rk, kPollIntervalMs));
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      OnKafkaError(rk, m->err, rd_kafka_message_errstr(m.get()), nullptr);
      continue;
    }
    last_arrival = Clock::now();
    Show(context, filter, m.get(), &printed);
  }
  rd_kafka_consumer_close(rk);  // no group was joined and nothing is committed: quick
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return kOk;
}

// --type: one of the payloads of EventEnvelope, in any case; made canonical for the filter.
CLI::Validator EventTypeCheck() {
  return CLI::Validator(
      [](std::string& word) -> std::string {
        const auto canonical = CanonicalEventType(word);
        if (canonical.has_value()) {
          word = *canonical;
          return "";
        }
        return absl::StrCat(
            "\"", word, "\" is not an event type; one of: ", absl::StrJoin(EventTypeNames(), " "));
      },
      "");
}

// --max, --idle-exit: a number above 0 (CLI::PositiveNumber's message prints DBL_MAX).
CLI::Validator Positive(const std::string& what) {
  return CLI::Validator(
      [what](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        const bool number = !text.empty() && end != nullptr && *end == '\0';
        return number && value > 0 ? "" : absl::StrCat("\"", text, "\" is not ", what);
      },
      "");
}

void AddTail(CLI::App* app, CLI::App* group, Commands* commands) {
  auto f = std::make_shared<TailFlags>();
  f->env_file = app->get_option_no_throw("--env-file");
  auto* command = commands->Add(
      group, "tail",
      "Follow the events as they happen (or replay them), filtered by type, branch or back order",
      [f](Context& context) { return Tail(context, *f); });
  command
      ->add_option("--kafka-bootstrap", f->bootstrap,
                   "Kafka host:port (else $KAFKA_BOOTSTRAP, the stack file's KAFKA_BOOTSTRAP, "
                   "127.0.0.1:19092)")
      ->type_name("HOST:PORT");
  command
      ->add_option("--topic", f->topics,
                   "only these topics: debtor-query, invoicing, purchasing, receiving, or a full "
                   "topic name (default the four)")
      ->type_name("TOPIC");
  command->add_flag("--from-beginning", f->from_beginning,
                    "replay every event kept, then follow (default: only new events)");
  command->add_option("--type", f->types, "only events of these types, e.g. BackorderFilled")
      ->transform(EventTypeCheck())
      ->type_name("TYPE");
  command->add_option("--branch", f->branches, "only events of these branches")
      ->type_name("BRANCH");
  command
      ->add_option("--backorder", f->backorders,
                   "only events naming these back orders (their own events, the stock orders "
                   "covering them, the invoice and the issue of their stock)")
      ->type_name("ID");
  command->add_option("--max", f->max, "stop after printing this many events")
      ->check(Positive("a number of events above 0"))
      ->type_name("N");
  command
      ->add_option("--idle-exit", f->idle_exit_seconds,
                   "stop once nothing arrived for this many seconds (for scripts)")
      ->check(Positive("a number of seconds above 0"))
      ->type_name("SECONDS");
  command->footer(absl::StrCat(
      "Prints one line per event: time (UTC), topic, type, branch, back order (else aggregate),\n"
      "actor, what happened. --json prints one JSON object per line (topic, partition, offset,\n"
      "key, ce_id, event); -q the event ids. Runs until Ctrl-C, --max or --idle-exit (exit 0).\n"
      "Never joins a consumer group.\n\n",
      command->get_footer()));
}

}  // namespace

void AddEventsCommands(CLI::App* app, Commands* commands) {
  CLI::App* group = Commands::Group(app, "events", "Follow the events of the back-order system");
  AddTail(app, group, commands);
}

}  // namespace bo::boctl
