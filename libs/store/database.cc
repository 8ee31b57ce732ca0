#include "libs/store/database.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/statistics.h"
#include "rocksdb/table.h"

namespace bo {

namespace {
// The block cache of a service: data blocks and the index and filter partitions.
constexpr size_t kBlockCacheBytes = 32 << 20;
}  // namespace

absl::Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat("rocksdb: ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsBusy() || s.IsTryAgain()) return absl::UnavailableError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  return absl::InternalError(msg);
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(
    const std::string& path, const std::vector<std::string>& extra_families) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", path, ": ", ec.message()));

  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  // Concurrent synced writes are grouped into one fsync (group commit) by RocksDB's write
  // thread; pipelining lets the memtable insert of one group overlap the WAL write of the next.
  options.enable_pipelined_write = true;
  // Tickers only (no histograms or timers): cheap, and enough to count write stalls.
  options.statistics = rocksdb::CreateDBStatistics();
  options.statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
  // The memtables of all seven families share one budget (the largest is flushed when it is
  // reached) instead of up to two 64 MiB memtables each, RocksDB's default.
  options.db_write_buffer_size = 48 << 20;
  options.write_buffer_size = 16 << 20;
  // Point reads of absent keys (an event id not seen yet, a view not created yet) skip the SST
  // files by their Bloom filters.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Memory that does not grow with the store. Held outside the cache, the index and filter
  // blocks of every SST file grow with it: 15 MiB of invoicing's with 200,000 back orders, so
  // about 75 MiB with 1,000,000 (tests/perf P6). Partitioned into 4 KiB pieces, they share one
  // block cache with the data blocks, at high priority; only each file's small top-level index
  // stays pinned. A read needs one piece per file it looks in, so a small cache holds the hot
  // ones; whole per-file blocks in a cache this size were evicted and read again on every scan
  // (tried once: a ready list went from 50 ms to 1.7 s; docs/performance.md).
  table.block_cache = rocksdb::NewLRUCache(kBlockCacheBytes);
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_top_level_index_and_filter = true;
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  std::vector<std::string> names = {std::string(rocksdb::kDefaultColumnFamilyName),
                                    std::string(kEventsFamily),
                                    std::string(kStateFamily),
                                    std::string(kIdempotencyFamily),
                                    std::string(kOutboxFamily),
                                    std::string(kConsumerFamily),
                                    std::string(kReadModelFamily)};
  for (const auto& f : extra_families) names.push_back(f);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions(options));

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s);

  std::unique_ptr<Database> db(new Database());
  db->path_ = path;
  db->db_.reset(raw);
  db->block_cache_ = table.block_cache;
  db->statistics_ = options.statistics;
  for (size_t i = 0; i < names.size(); ++i) db->families_[names[i]] = handles[i];
  return db;
}

uint64_t Database::SumProperty(const std::string& property) const {
  uint64_t total = 0;
  for (const auto& [name, handle] : families_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(handle, property, &v)) total += v;
  }
  return total;
}

uint64_t Database::StallMicros() const {
  return statistics_ ? statistics_->getTickerCount(rocksdb::STALL_MICROS) : 0;
}

bool Database::WriteStopped() const {
  uint64_t v = 0;
  return db_->GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &v) && v != 0;
}

uint64_t Database::PendingCompactionBytes() const {
  return SumProperty(rocksdb::DB::Properties::kEstimatePendingCompactionBytes);
}

uint64_t Database::RunningBackgroundJobs() const {
  // Both properties are of the whole database, not of one column family.
  uint64_t compactions = 0, flushes = 0;
  db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions, &compactions);
  db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningFlushes, &flushes);
  return compactions + flushes;
}

Database::MemoryUse Database::Memory() const {
  return {.memtables = SumProperty(rocksdb::DB::Properties::kSizeAllMemTables),
          .table_readers = SumProperty(rocksdb::DB::Properties::kEstimateTableReadersMem),
          .block_cache = block_cache_ ? block_cache_->GetUsage() : 0};
}

Database::WriteVolume Database::Writes() const {
  if (!statistics_) return {};
  return {.committed = statistics_->getTickerCount(rocksdb::BYTES_WRITTEN),
          .flushed = statistics_->getTickerCount(rocksdb::FLUSH_WRITE_BYTES),
          .compaction_read = statistics_->getTickerCount(rocksdb::COMPACT_READ_BYTES),
          .compaction_written = statistics_->getTickerCount(rocksdb::COMPACT_WRITE_BYTES)};
}

Database::~Database() {
  if (!db_) return;
  for (auto& [name, handle] : families_) db_->DestroyColumnFamilyHandle(handle);
  db_->Close();
}

rocksdb::ColumnFamilyHandle* Database::family(std::string_view name) const {
  auto it = families_.find(name);
  if (it == families_.end()) {
    std::cerr << "bo::Database: unknown column family " << name << "\n";
    std::abort();
  }
  return it->second;
}

absl::Status Database::Write(rocksdb::WriteBatch* batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return FromRocks(db_->Write(wo, batch));
}

absl::StatusOr<std::optional<std::string>> Database::Get(std::string_view family_name,
                                                         std::string_view key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), family(family_name),
                               rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s);
  return value;
}

absl::Status Database::Scan(
    std::string_view family_name, std::string_view prefix, std::string_view start_after,
    const std::function<bool(std::string_view key, std::string_view value)>& visit) {
  rocksdb::ReadOptions options;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(family_name)));
  // From the prefix when `start_after` sorts before it (an empty one does), else from it.
  const std::string_view start = start_after > prefix ? start_after : prefix;
  for (it->Seek(rocksdb::Slice(start.data(), start.size())); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    std::string_view key(k.data(), k.size());
    if (!key.starts_with(prefix)) break;
    if (key == start_after) continue;
    const rocksdb::Slice v = it->value();
    if (!visit(key, std::string_view(v.data(), v.size()))) break;
  }
  return FromRocks(it->status());
}

}  // namespace bo
