// Database: one RocksDB instance per service process, opened with the column families the
// shared libraries use. Everything a service writes for one command or one consumed event goes
// into one WriteBatch across these families, which RocksDB applies atomically.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace bo {

// Column families, by name.
inline constexpr std::string_view kEventsFamily = "events";            // stream/<agg>/<ver>
inline constexpr std::string_view kStateFamily = "state";              // aggregate state, versions
inline constexpr std::string_view kIdempotencyFamily = "idempotency";  // request id -> answer
inline constexpr std::string_view kOutboxFamily = "outbox";            // seq -> message to publish
inline constexpr std::string_view kConsumerFamily = "consumer";        // offsets, seen event ids
inline constexpr std::string_view kReadModelFamily = "readmodel";      // projections

// Converts a RocksDB status to an absl::Status with the same meaning.
absl::Status FromRocks(const rocksdb::Status& s);

class Database {
 public:
  // Opens (creating if needed) the database at `path` with the standard column families plus
  // `extra_families`.
  static absl::StatusOr<std::unique_ptr<Database>> Open(
      const std::string& path, const std::vector<std::string>& extra_families = {});

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  rocksdb::DB* db() { return db_.get(); }
  // The handle of a column family opened with this database; aborts on an unknown name, which
  // is a programming error, not an input error.
  rocksdb::ColumnFamilyHandle* family(std::string_view name) const;

  // Applies `batch` atomically. With `sync`, returns only after the WAL is on disk (fsync):
  // what commands need before they are acknowledged. Without it the write survives a process
  // crash (it is in the OS page cache) but not a power cut; after a power cut RocksDB recovers a
  // consistent prefix, which is enough for consumers that store their offsets in the same batch.
  absl::Status Write(rocksdb::WriteBatch* batch, bool sync);

  // Point read; NotFound is returned as std::nullopt.
  absl::StatusOr<std::optional<std::string>> Get(std::string_view family, std::string_view key);

  // Visits, in key order, the keys of `family` that start with `prefix` and sort after
  // `start_after` (all of them when it is empty), until `visit` returns false.
  absl::Status Scan(std::string_view family, std::string_view prefix, std::string_view start_after,
                    const std::function<bool(std::string_view key, std::string_view value)>& visit);

  const std::string& path() const { return path_; }

  // ---- Figures for dashboards ----
  // An integer property (e.g. "rocksdb.live-sst-files-size") summed over all column families.
  uint64_t SumProperty(const std::string& property) const;
  // Microseconds writes have been delayed or stopped by RocksDB since the database was opened.
  uint64_t StallMicros() const;
  // True while RocksDB stops writes (too many memtables or level-0 files).
  bool WriteStopped() const;
  // Bytes RocksDB estimates its compactions must still rewrite, all column families (0 when
  // settled).
  uint64_t PendingCompactionBytes() const;
  // Compaction and flush jobs running now (background work under way; 0 when settled).
  uint64_t RunningBackgroundJobs() const;
  // Where RocksDB's memory is, in bytes: the memtables (active, immutable and being flushed),
  // what the SST table readers hold outside the block cache (index and filter blocks, were they
  // not cached), and the block cache.
  struct MemoryUse {
    uint64_t memtables = 0;
    uint64_t table_readers = 0;
    uint64_t block_cache = 0;
  };
  MemoryUse Memory() const;
  // Bytes written since the database was opened: what commits handed RocksDB (uncompressed),
  // what flushes wrote to level 0, and what compactions read and rewrote. Flushed plus
  // compaction-written over committed is the LSM's write amplification: the disk and CPU each
  // committed byte costs later, which grows with the levels a store has.
  struct WriteVolume {
    uint64_t committed = 0;
    uint64_t flushed = 0;
    uint64_t compaction_read = 0;
    uint64_t compaction_written = 0;
  };
  WriteVolume Writes() const;

 private:
  Database() = default;
  std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
  std::shared_ptr<rocksdb::Cache> block_cache_;
  // Its tickers, kept from Open: DB::GetOptions() would copy every option per read.
  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> families_;
};

}  // namespace bo
