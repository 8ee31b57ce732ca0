// Reads of one query at one moment. The projection keeps writing while a query reads an index
// and then the records it names; reading both through one RocksDB snapshot means a query never
// sees an index entry whose record has already moved on (or the reverse).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backorder/v1/common.pb.h"
#include "backorder/v1/debtor_query_service.pb.h"
#include "libs/store/database.h"

namespace bo::debtor_query {

class SnapshotReader {
 public:
  // `db` must outlive the reader.
  explicit SnapshotReader(Database* db);
  ~SnapshotReader();
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;

  // As Database::Get and Database::Scan, at the moment the reader was made. Scan starts at the
  // first key after `start_after` that has `prefix`, wherever `start_after` lies.
  absl::StatusOr<std::optional<std::string>> Get(std::string_view family, std::string_view key);
  absl::Status Scan(std::string_view family, std::string_view prefix, std::string_view start_after,
                    const std::function<bool(std::string_view key, std::string_view value)>& visit);

 private:
  Database* db_;
  const rocksdb::Snapshot* snapshot_;
};

// A back-order view from the read model, or nullopt if it is not there.
absl::StatusOr<std::optional<backorder::v1::Backorder>> LoadView(SnapshotReader* reader,
                                                                 const std::string& backorder_id);

// The debtor record, or nullopt if there is no such debtor.
absl::StatusOr<std::optional<backorder::v1::Debtor>> LoadDebtor(SnapshotReader* reader,
                                                                const std::string& debtor_id);

}  // namespace bo::debtor_query
