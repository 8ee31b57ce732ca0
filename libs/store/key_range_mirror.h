// KeyRangeMirror: an in-memory copy of the keys and values under one prefix of the state family,
// kept in step with every EventStore commit, for a range that is read from its start while its
// keys come and go: a queue, oldest first, whose entries are deleted as they are served.
//
// Why not read RocksDB: an iterator steps over every deleted key that no compaction has dropped
// yet, and the memtable keeps each one until it is flushed. A scan for the first 25 live keys of
// a queue that has seen 100,000 deletions walks the deletions, not the answer (purchasing's open
// index spent 22% of the service's CPU there, docs/performance.md). The copy holds only what is
// live, so a scan costs what it returns.
//
// RocksDB stays the truth. The first Scan loads the range from the database; from then on every
// written commit is applied (EventStore::AddCommitObserver), in the committing thread before
// Commit returns. Writes that bypass EventStore::Commit (a start-up restore or rebuild) must all
// happen before the first Scan. Memory: the live keys and values of the range.
//
// Example:
//   KeyRangeMirror open(store, "open/");
//   open.Scan(kStateFamily, "open/branch-1/", "", [](std::string_view key, std::string_view) {
//     ...; return true;
//   });
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "libs/store/event_store.h"

namespace bo {

class KeyRangeMirror {
 public:
  // Mirrors the keys of the state family that start with `prefix` (not empty). `store` must
  // outlive the mirror.
  KeyRangeMirror(EventStore* store, std::string prefix);
  ~KeyRangeMirror();
  KeyRangeMirror(const KeyRangeMirror&) = delete;
  KeyRangeMirror& operator=(const KeyRangeMirror&) = delete;

  // As Database::Scan, from the copy: `family` must be the state family and `prefix` must start
  // with the mirrored prefix (INVALID_ARGUMENT otherwise). `visit` is called without the copy's
  // lock held, so it may read the database; a commit made meanwhile may or may not be seen, as
  // with a RocksDB iterator without a snapshot.
  absl::Status Scan(std::string_view family, std::string_view prefix, std::string_view start_after,
                    const std::function<bool(std::string_view key, std::string_view value)>& visit);

 private:
  void Apply(const CommitRequest& commit);
  absl::Status LoadLocked();

  EventStore* store_;
  const std::string prefix_;
  uint64_t observer_ = 0;
  std::mutex mu_;
  bool loaded_ = false;  // until the first Scan, commits change nothing here
  std::map<std::string, std::string, std::less<>> entries_;
};

}  // namespace bo
