// Test support for AggregateRestorers (own_state_restore.h): what a database would hold after a
// lost disk is restored from the events `original` stored, next to what `original` holds.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"
#include "services/common/own_state_restore.h"

namespace bo::testing {

// Every record of one family, by key.
inline std::map<std::string, std::string> Family(Database* db, std::string_view family) {
  std::map<std::string, std::string> out;
  EXPECT_TRUE(db->Scan(family, "", "", [&](std::string_view k, std::string_view v) {
                  out.emplace(std::string(k), std::string(v));
                  return true;
                }).ok());
  return out;
}

struct FoldedCopy {
  RestoreReport report;
  std::map<std::string, std::string> state, idempotency;
};

// Copies the events family of `original` into a new database in `dir` (removed afterwards),
// folds it with `restorer`, and returns what the state and idempotency families hold then.
inline FoldedCopy FoldEventsIntoEmptyDatabase(Database* original, const std::string& dir,
                                              const AggregateRestorer& restorer) {
  FoldedCopy out;
  std::filesystem::remove_all(dir);
  {
    auto copy = Database::Open(dir);
    EXPECT_TRUE(copy.ok()) << copy.status();
    if (!copy.ok()) return out;
    rocksdb::WriteBatch batch;
    for (const auto& [k, v] : Family(original, kEventsFamily)) {
      batch.Put((*copy)->family(kEventsFamily), k, v);
    }
    EXPECT_TRUE((*copy)->Write(&batch, true).ok());
    auto report = FoldStoredStreams(copy->get(), restorer);
    EXPECT_TRUE(report.ok()) << report.status();
    if (report.ok()) out.report = *report;
    out.state = Family(copy->get(), kStateFamily);
    out.idempotency = Family(copy->get(), kIdempotencyFamily);
  }
  std::filesystem::remove_all(dir);
  return out;
}

}  // namespace bo::testing
