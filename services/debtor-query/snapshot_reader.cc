#include "services/debtor-query/snapshot_reader.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "rocksdb/iterator.h"
#include "services/debtor-query/read_model_keys.h"

namespace bo::debtor_query {

SnapshotReader::SnapshotReader(Database* db) : db_(db), snapshot_(db->db()->GetSnapshot()) {}

SnapshotReader::~SnapshotReader() { db_->db()->ReleaseSnapshot(snapshot_); }

absl::StatusOr<std::optional<std::string>> SnapshotReader::Get(std::string_view family,
                                                               std::string_view key) {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  std::string value;
  rocksdb::Status s =
      db_->db()->Get(options, db_->family(family), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s);
  return value;
}

absl::Status SnapshotReader::Scan(
    std::string_view family, std::string_view prefix, std::string_view start_after,
    const std::function<bool(std::string_view key, std::string_view value)>& visit) {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(options, db_->family(family)));
  const std::string_view start = start_after > prefix ? start_after : prefix;
  for (it->Seek(rocksdb::Slice(start.data(), start.size())); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    const std::string_view key(k.data(), k.size());
    if (!key.starts_with(prefix)) break;
    if (key == start_after) continue;
    const rocksdb::Slice v = it->value();
    if (!visit(key, std::string_view(v.data(), v.size()))) break;
  }
  return FromRocks(it->status());
}

absl::StatusOr<std::optional<backorder::v1::Backorder>> LoadView(SnapshotReader* reader,
                                                                 const std::string& backorder_id) {
  auto bytes = reader->Get(kReadModelFamily, BackorderKey(backorder_id));
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::nullopt;
  backorder::v1::Backorder view;
  if (!view.ParseFromString(**bytes)) {
    return absl::DataLossError(absl::StrCat("read model of ", backorder_id, " is unreadable"));
  }
  return view;
}

absl::StatusOr<std::optional<backorder::v1::Debtor>> LoadDebtor(SnapshotReader* reader,
                                                                const std::string& debtor_id) {
  auto bytes = reader->Get(kStateFamily, DebtorKey(debtor_id));
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::nullopt;
  backorder::v1::Debtor debtor;
  if (!debtor.ParseFromString(**bytes)) {
    return absl::DataLossError(absl::StrCat("debtor ", debtor_id, " is unreadable"));
  }
  return debtor;
}

}  // namespace bo::debtor_query
