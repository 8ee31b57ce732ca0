#include "services/common/own_state_restore.h"

#include <string_view>

#include "absl/strings/str_cat.h"
#include "libs/kafka/exactly_once_consumer.h"
#include "libs/kafka/topic_reader.h"
#include "libs/store/event_store.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"

namespace bo {
namespace {

namespace pb = backorder::v1;

constexpr std::string_view kDefaultFamily = "default";
constexpr std::string_view kMarkerKey = "own_state";
constexpr std::string_view kRestoring = "restoring";
constexpr std::string_view kRestored = "restored";
constexpr std::string_view kReadModelMarkerKey = "read_models";
constexpr std::string_view kRebuilding = "rebuilding";
// Unsynced batches of this many writes; the marker write at the end is synced.
constexpr size_t kBatchWrites = 2000;

absl::Status SetMarker(Database* db, std::string_view value, std::string_view key = kMarkerKey) {
  rocksdb::WriteBatch batch;
  batch.Put(db->family(kDefaultFamily), key, value);
  return db->Write(&batch, /*sync=*/true);
}

// The first key after every key that starts with `prefix` ("" if there is none).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

bool InRanges(const std::vector<KeyRange>& ranges, std::string_view family, std::string_view key) {
  for (const KeyRange& r : ranges) {
    if (r.family == family && key.substr(0, r.prefix.size()) == r.prefix) return true;
  }
  return false;
}

absl::StatusOr<bool> HasEvents(Database* db) {
  bool any = false;
  absl::Status s = db->Scan(kEventsFamily, "", "", [&](std::string_view, std::string_view) {
    any = true;
    return false;
  });
  if (!s.ok()) return s;
  return any;
}

// Writes `batch` once it is big enough (or `flush`), then starts a new one.
absl::Status MaybeWrite(Database* db, rocksdb::WriteBatch* batch, bool flush) {
  if (batch->Count() == 0 || (!flush && static_cast<size_t>(batch->Count()) < kBatchWrites)) {
    return absl::OkStatus();
  }
  absl::Status s = db->Write(batch, /*sync=*/false);
  batch->Clear();
  return s;
}

}  // namespace

absl::StatusOr<RestoreReport> FoldStoredStreams(Database* db, const AggregateRestorer& restore) {
  RestoreReport report;
  rocksdb::WriteBatch batch;
  std::string stream;
  std::vector<pb::EventEnvelope> events;
  absl::Status failed = absl::OkStatus();
  auto fold = [&]() -> absl::Status {
    if (events.empty()) return absl::OkStatus();
    RestoredWrites writes;
    if (absl::Status s = restore(stream, events, &writes); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("restoring ", stream, ": ", s.message()));
    }
    for (const auto& [k, v] : writes.state) batch.Put(db->family(kStateFamily), k, v);
    for (const auto& [k, v] : writes.idempotency) batch.Put(db->family(kIdempotencyFamily), k, v);
    ++report.streams;
    report.events += events.size();
    events.clear();
    return MaybeWrite(db, &batch, /*flush=*/false);
  };
  absl::Status s =
      db->Scan(kEventsFamily, "", "", [&](std::string_view key, std::string_view value) {
        pb::EventEnvelope e;
        if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          failed = absl::DataLossError(absl::StrCat("undecodable event under ", std::string(key)));
          return false;
        }
        if (e.aggregate_id() != stream) {
          if (failed = fold(); !failed.ok()) return false;
          stream = e.aggregate_id();
        }
        events.push_back(std::move(e));
        return true;
      });
  if (!s.ok()) return s;
  if (!failed.ok()) return failed;
  if (absl::Status last = fold(); !last.ok()) return last;
  if (absl::Status w = MaybeWrite(db, &batch, /*flush=*/true); !w.ok()) return w;
  return report;
}

absl::StatusOr<RestoreReport> RestoreOwnState(Database* db, const kafka::Config& kafka_config,
                                              const std::string& topic,
                                              const AggregateRestorer& restore,
                                              const RestoreFinisher& finish) {
  auto marker = db->Get(kDefaultFamily, kMarkerKey);
  if (!marker.ok()) return marker.status();
  if (*marker == kRestored) return RestoreReport{};
  if (!marker->has_value()) {
    auto has_events = HasEvents(db);
    if (!has_events.ok()) return has_events.status();
    if (*has_events) {  // a directory from before the marker: it lost nothing
      if (absl::Status s = SetMarker(db, kRestored); !s.ok()) return s;
      return RestoreReport{};
    }
    if (absl::Status s = SetMarker(db, kRestoring); !s.ok()) return s;
  }

  RestoreReport report;
  report.replayed = true;
  rocksdb::WriteBatch batch;
  absl::Status read =
      kafka::ReadTopic(kafka_config, topic, [&](const kafka::TopicRecord& r) -> absl::Status {
        ++report.records;
        pb::EventEnvelope e;
        if (!e.ParseFromArray(r.value.data(), static_cast<int>(r.value.size())) ||
            e.aggregate_id().empty() || e.aggregate_version() == 0) {
          // Never written by this service's store, so nothing of its state: leave it.
          spdlog::warn("restore: skipping {}/{}@{}: not an event of a stream", topic, r.partition,
                       r.offset);
          return absl::OkStatus();
        }
        batch.Put(db->family(kEventsFamily), EventKey(e.aggregate_id(), e.aggregate_version()),
                  r.value);
        return MaybeWrite(db, &batch, /*flush=*/false);
      });
  // A topic that does not exist yet holds nothing to restore (a new deployment).
  if (!read.ok() && !absl::IsNotFound(read)) return read;
  if (absl::Status s = MaybeWrite(db, &batch, /*flush=*/true); !s.ok()) return s;

  auto folded = FoldStoredStreams(db, restore);
  if (!folded.ok()) return folded.status();
  report.streams = folded->streams;
  report.events = folded->events;
  if (finish) {
    if (absl::Status s = finish(db); !s.ok()) return s;
  }
  if (absl::Status s = SetMarker(db, kRestored); !s.ok()) return s;
  return report;
}

KeyRange ReactionRecords() { return {std::string(kIdempotencyFamily), ReactionKey("")}; }

absl::StatusOr<ReadModelRebuildReport> RebuildReadModels(Database* db, bool requested,
                                                         const std::vector<KeyRange>& ranges,
                                                         const std::vector<std::string>& consumers,
                                                         const AggregateRestorer& restore,
                                                         const RestoreFinisher& finish) {
  auto marker = db->Get(kDefaultFamily, kReadModelMarkerKey);
  if (!marker.ok()) return marker.status();
  if (!requested && !marker->has_value()) return ReadModelRebuildReport{};
  if (!restore) return absl::FailedPreconditionError("read models declared without a restorer");
  // Marked first: a crash from here on leaves read models that are partly gone, and the next
  // start, asked or not, begins again.
  if (absl::Status s = SetMarker(db, kRebuilding, kReadModelMarkerKey); !s.ok()) return s;
  for (const std::string& consumer : consumers) {
    if (absl::Status s = kafka::ExactlyOnceConsumer::Forget(db, consumer); !s.ok()) return s;
  }
  rocksdb::WriteBatch batch;
  for (const KeyRange& r : ranges) {
    const std::string end = PrefixEnd(r.prefix);
    if (end.empty()) return absl::InvalidArgumentError("a read-model range without a prefix");
    batch.DeleteRange(db->family(r.family), r.prefix, end);
  }
  if (absl::Status s = db->Write(&batch, /*sync=*/true); !s.ok()) return s;

  // The own streams' part: what the restorer gives, kept only inside the read models.
  auto own_part = [&](const std::string& aggregate_id, const std::vector<pb::EventEnvelope>& events,
                      RestoredWrites* out) {
    RestoredWrites all;
    if (absl::Status s = restore(aggregate_id, events, &all); !s.ok()) return s;
    for (auto& w : all.state) {
      if (InRanges(ranges, kStateFamily, w.first)) out->state.push_back(std::move(w));
    }
    for (auto& w : all.idempotency) {
      if (InRanges(ranges, kIdempotencyFamily, w.first)) out->idempotency.push_back(std::move(w));
    }
    return absl::OkStatus();
  };
  auto folded = FoldStoredStreams(db, own_part);
  if (!folded.ok()) return folded.status();
  if (finish) {
    if (absl::Status s = finish(db); !s.ok()) return s;
  }
  rocksdb::WriteBatch done;
  done.Delete(db->family(kDefaultFamily), kReadModelMarkerKey);
  if (absl::Status s = db->Write(&done, /*sync=*/true); !s.ok()) return s;
  return ReadModelRebuildReport{true, folded->streams, folded->events};
}

}  // namespace bo
