// Restoring a service whose data directory was lost from its own topic (DESIGN.md guarantee 7).
//
// Every event a service stores is published to its own topic, and a record's value is the stored
// envelope byte for byte. So a service starting on an empty directory first reads its own topic
// to the end and
//   1. puts every event back into the events family under (aggregate_id, aggregate_version);
//      duplicates on the topic land on the same key, and the order across partitions does not
//      matter;
//   2. folds each stream, in version order, through the service's AggregateRestorer, which gives
//      back the state and idempotency records its commands wrote beside those events.
// Only then do the relay, the consumers and gRPC start. The consumers' offsets are gone as well,
// so they replay the other services' topics from the beginning and rebuild the read models.
//
// What no event carries cannot come back: a service declares it a cache (for example the
// answers of commands whose answer holds other services' figures); docs/own-state-rebuild.md
// lists what each service restores and what it does not.
//
// A marker in the default column family says how far this went: absent on a new directory,
// "restoring" while the replay runs (a crash in the middle replays again: every write is a put
// of the same bytes), "restored" after. A directory that already holds events but no marker
// (written by a build before this existed) is marked restored without a replay.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backorder/v1/events.pb.h"
#include "libs/kafka/client.h"
#include "libs/store/database.h"
#include "services/common/command_support.h"

namespace bo {

// The records a restored stream gives back, besides its events.
struct RestoredWrites {
  std::vector<std::pair<std::string, std::string>> state;        // state family
  std::vector<std::pair<std::string, std::string>> idempotency;  // answers, reaction records
};

// Folds one stream's events (in version order, at least one) into `out`. Pure: the same events
// give the same writes.
using AggregateRestorer = std::function<absl::Status(
    const std::string& aggregate_id, const std::vector<backorder::v1::EventEnvelope>& events,
    RestoredWrites* out)>;

// Runs once after the fold, for what crosses streams (say, a draft's mark on the records of the
// back orders it ticks). Writes with `db` directly.
using RestoreFinisher = std::function<absl::Status(Database* db)>;

struct RestoreReport {
  bool replayed = false;  // false: the directory needed nothing
  uint64_t records = 0;   // records read from the topic
  uint64_t streams = 0;   // streams folded
  uint64_t events = 0;    // events in them
};

// The restorer of a stream whose every event carries a whole record (DebtorUpdated, PartUpdated):
// `record_of` fills the record from an event's payload (false: not this stream's payload); the
// command stamped it with updated_at = occurred_at and updated_by = the actor. Each event's record
// is the answer to the command that wrote it (`method_of` names it; the request id is the
// event's causation_id), and the last one is the state, under the stream's id.
template <typename Record>
absl::Status RestoreRecordStream(
    const std::string& aggregate_id, const std::vector<backorder::v1::EventEnvelope>& events,
    const std::function<bool(const backorder::v1::EventEnvelope&, Record*)>& record_of,
    const std::function<std::string(const backorder::v1::EventEnvelope&)>& method_of,
    RestoredWrites* out) {
  Record record;
  for (const backorder::v1::EventEnvelope& e : events) {
    record.Clear();
    if (!record_of(e, &record)) {
      return absl::DataLossError("a " + e.type() + " event in stream " + aggregate_id);
    }
    *record.mutable_updated_at() = e.occurred_at();
    record.set_updated_by(e.actor().subject());
    out->idempotency.emplace_back(AnswerKey(method_of(e), e.causation_id()),
                                  record.SerializeAsString());
  }
  out->state.emplace_back(aggregate_id, record.SerializeAsString());
  return absl::OkStatus();
}

// Restores `db` from `topic` if it needs it (see above). Returns what it did; a non-OK status
// (the cluster not answering, a storage error) leaves the marker at "restoring" for the next try.
absl::StatusOr<RestoreReport> RestoreOwnState(Database* db, const kafka::Config& kafka_config,
                                              const std::string& topic,
                                              const AggregateRestorer& restore,
                                              const RestoreFinisher& finish = nullptr);

// The same, for a service that keeps nothing but its events and what a restorer derives from
// them: the fold alone, over what the events family already holds (tests of restorers).
absl::StatusOr<RestoreReport> FoldStoredStreams(Database* db, const AggregateRestorer& restore);

// ---- Rebuilding the read models alone ----
//
// A service's read models are what its consumers write from other services' topics. In
// invoicing and purchasing they share the state family with the records of the service's own
// commands, and one back-order view holds facts of both kinds, so they are named by key ranges.
// Declaring them says that every consumer of the service writes nothing outside them.
struct KeyRange {
  std::string family;  // a column family of libs/store/database.h
  std::string prefix;  // every key starting with it (not empty)
};

// The records of the reactions a service applied (`event:<id>`, CommitReaction): part of its
// read models wherever its reactions write nothing but read models.
KeyRange ReactionRecords();

struct ReadModelRebuildReport {
  bool rebuilt = false;  // false: neither asked for nor left half done
  uint64_t streams = 0;  // own streams folded again for their part of the read models
  uint64_t events = 0;
};

// Forgets the read models in `ranges` and what the `consumers` applied (offsets and seen ids),
// then folds the own streams again through `restore`, keeping only its writes inside `ranges`
// (an own stream's part of a view: created, invoiced, on order...), and runs `finish`. The
// consumers, started after, replay the other topics from the beginning and add the rest.
// Runs when `requested` (a one-shot start flag), and again at the next start if a crash left
// it half done (a marker in the default family says so). The records of the service's own
// commands, its events and its outbox are not touched. `restore` must be set.
absl::StatusOr<ReadModelRebuildReport> RebuildReadModels(Database* db, bool requested,
                                                         const std::vector<KeyRange>& ranges,
                                                         const std::vector<std::string>& consumers,
                                                         const AggregateRestorer& restore,
                                                         const RestoreFinisher& finish = nullptr);

}  // namespace bo
