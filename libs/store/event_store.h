// EventStore: aggregate event streams, aggregate state, idempotency records and the outbox, all
// in one Database, committed together.
//
// A command handler reads the aggregate's state and version, decides the new events, then calls
// Commit() with everything the command changes. Commit writes it all in one WriteBatch with the
// WAL synced, so either the whole command is durable or none of it is (guarantee 1), and only
// then returns, so the caller may acknowledge. A concurrent command on the same aggregate that
// read the same version loses with ABORTED (optimistic concurrency), never overwrites.
//
// Example:
//   CommitRequest c;
//   c.appends.push_back({"bo-1", /*expected_version=*/2, {envelope_bytes}});
//   c.state.push_back({"bo-1", new_state_bytes});
//   c.idempotency = IdempotencyRecord{request_id, response_bytes};
//   c.outbox.push_back({"backorder.invoicing.v1", "bo-1", envelope_bytes, headers});
//   absl::Status s = store.Commit(c);
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/store/database.h"

namespace bo {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A message waiting in the outbox to be published to Kafka.
struct OutboxMessage {
  std::string topic;
  std::string key;
  std::string value;
  Headers headers;
  // The event id (also the ce_id header); the relay uses it to find, after a crash, which
  // entries already reached Kafka.
  std::string event_id;
};

// New events for one aggregate stream. The stream must be at `expected_version` (0 for a new
// stream); the events become versions expected_version+1, +2, ...
struct StreamAppend {
  std::string aggregate_id;
  uint64_t expected_version = 0;
  std::vector<std::string> events;
};

// The answer given to a command, kept under its client request id so a retry gets the same
// answer and changes nothing (guarantee 4).
struct IdempotencyRecord {
  std::string request_id;
  std::string response;
};

struct CommitRequest {
  std::vector<StreamAppend> appends;
  // Key/value pairs written to the state family (aggregate snapshots, indexes).
  std::vector<std::pair<std::string, std::string>> state;
  std::vector<std::string> state_deletes;
  std::optional<IdempotencyRecord> idempotency;
  std::vector<OutboxMessage> outbox;
};

// One outbox entry with its position.
struct OutboxEntry {
  uint64_t seq = 0;
  OutboxMessage message;
};

// The events-family key of version `version` (1-based) of a stream: the aggregate id, NUL, the
// version as 20 digits, so a stream's events are contiguous and in order.
std::string EventKey(const std::string& aggregate_id, uint64_t version);

class EventStore {
 public:
  // `db` must outlive the store. Reads the outbox's last sequence number.
  static absl::StatusOr<std::unique_ptr<EventStore>> Open(Database* db);

  // Commits everything in `request` in one synced WriteBatch.
  // Errors: ABORTED if a stream is not at its expected version (nothing is written);
  // ALREADY_EXISTS if the request id was already committed (nothing is written; read the first
  // answer with FindAnswer); INVALID_ARGUMENT for an empty aggregate id.
  absl::Status Commit(const CommitRequest& request);

  // Events of a stream from `from_version` (1-based) on, in order.
  absl::StatusOr<std::vector<std::string>> ReadStream(const std::string& aggregate_id,
                                                      uint64_t from_version = 1);
  // Current version of a stream (0 if it has no events).
  absl::StatusOr<uint64_t> StreamVersion(const std::string& aggregate_id);
  // A value from the state family.
  absl::StatusOr<std::optional<std::string>> GetState(const std::string& key);
  // The answer recorded for a request id, if that request was committed.
  absl::StatusOr<std::optional<std::string>> FindAnswer(const std::string& request_id);

  // ---- The outbox, as the relay sees it ----

  // Up to `max` entries with seq > `after`, in seq order, stopping before any entry whose
  // commit is still in flight, so a reader never skips an entry that is about to appear.
  absl::StatusOr<std::vector<OutboxEntry>> ReadOutbox(uint64_t after, size_t max);
  // Removes delivered entries. Not synced: after a crash an entry may come back, and the relay
  // recognises it as already published.
  absl::Status RemoveFromOutbox(const std::vector<uint64_t>& seqs);
  // Number of entries waiting (approximate, cheap).
  uint64_t OutboxDepth() const;
  // Blocks until an entry with seq > `after` is readable or `timeout` passes.
  void WaitForOutbox(uint64_t after, std::chrono::milliseconds timeout);

  Database* database() { return db_; }

  // ---- Observing commits ----

  // `observer` is called after each commit that was written (not one that failed or found its
  // request id taken), in the committing thread, before Commit returns: a caller's own locks
  // still hold, so observers see the commits of one key in the order they were made. For
  // in-memory copies kept in step with the state family (key_range_mirror.h). An observer must
  // be quick and must not commit. Returns an id for RemoveCommitObserver.
  uint64_t AddCommitObserver(std::function<void(const CommitRequest&)> observer);
  void RemoveCommitObserver(uint64_t id);

 private:
  explicit EventStore(Database* db) : db_(db) {}

  // Aggregate ids are serialised by lock stripes so the version check and the write are one step.
  static constexpr size_t kStripes = 64;
  std::mutex& StripeFor(const std::string& key);

  Database* db_;
  std::mutex stripes_[kStripes];

  // Outbox sequence numbers: assigned at commit, readable once every smaller one is written.
  mutable std::mutex outbox_mu_;
  std::condition_variable outbox_cv_;
  uint64_t next_seq_ = 1;
  std::set<uint64_t> in_flight_;
  uint64_t readable_up_to_ = 0;  // every seq <= this is committed (or failed)
  uint64_t depth_ = 0;

  // Read-locked by every commit, write-locked only to add or remove an observer.
  std::shared_mutex observers_mu_;
  uint64_t next_observer_ = 1;
  std::vector<std::pair<uint64_t, std::function<void(const CommitRequest&)>>> observers_;
};

}  // namespace bo
