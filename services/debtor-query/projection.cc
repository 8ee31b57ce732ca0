#include "services/debtor-query/projection.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/backorder_view.h"
#include "services/debtor-query/figures.h"
#include "services/debtor-query/read_model_keys.h"
#include "spdlog/spdlog.h"

namespace bo::debtor_query {
namespace pb = backorder::v1;

std::map<std::string, std::string> IndexEntries(const pb::Backorder& view,
                                                std::string_view backorder_id) {
  std::map<std::string, std::string> entries;
  if (view.context().backorder_id().empty()) return entries;
  const std::string id(backorder_id);
  entries[AgeKey(view.created_at(), id)] = id;
  entries[BranchAgeKey(view.context().branch_id(), view.created_at(), id)] = id;
  entries[StateAgeKey("", view.state(), view.created_at(), id)] = id;
  entries[StateAgeKey(view.context().branch_id(), view.state(), view.created_at(), id)] = id;
  if (IsOpen(view.state())) {
    entries[OpenAgeKey(view.context().branch_id(), view.created_at(), id)] = id;
  }
  if (Ready(view.quantities()) > 0 && view.state() != pb::BACKORDER_STATE_CANCELLED) {
    entries[ReadyKey(view.context(), id)] = id;
  }
  return entries;
}

namespace {

// What a WriteBatch does to one key of one column family, found by replaying the batch: the
// value of its last Put, or nullopt after a Delete. Not touched by the batch: `touched` false.
class LastWriteOf : public rocksdb::WriteBatch::Handler {
 public:
  LastWriteOf(uint32_t family_id, std::string_view key) : family_id_(family_id), key_(key) {}

  rocksdb::Status PutCF(uint32_t family_id, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    if (Mine(family_id, key)) Set(std::string(value.ToStringView()));
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t family_id, const rocksdb::Slice& key) override {
    if (Mine(family_id, key)) Set(std::nullopt);
    return rocksdb::Status::OK();
  }
  rocksdb::Status SingleDeleteCF(uint32_t family_id, const rocksdb::Slice& key) override {
    return DeleteCF(family_id, key);
  }
  rocksdb::Status DeleteRangeCF(uint32_t family_id, const rocksdb::Slice& begin,
                                const rocksdb::Slice& end) override {
    if (family_id == family_id_ && begin.ToStringView() <= key_ && key_ < end.ToStringView()) {
      Set(std::nullopt);
    }
    return rocksdb::Status::OK();
  }
  // Merge is not used on these families; a merge of the key would make its value unknowable
  // here, so it is refused rather than guessed.
  rocksdb::Status MergeCF(uint32_t family_id, const rocksdb::Slice& key,
                          const rocksdb::Slice&) override {
    if (Mine(family_id, key)) return rocksdb::Status::NotSupported("merge in a projection batch");
    return rocksdb::Status::OK();
  }

  bool touched() const { return touched_; }
  const std::optional<std::string>& value() const { return value_; }

 private:
  bool Mine(uint32_t family_id, const rocksdb::Slice& key) const {
    return family_id == family_id_ && key.ToStringView() == key_;
  }
  void Set(std::optional<std::string> value) {
    touched_ = true;
    value_ = std::move(value);
  }

  uint32_t family_id_;
  std::string_view key_;
  bool touched_ = false;
  std::optional<std::string> value_;
};

}  // namespace

absl::StatusOr<std::optional<std::string>> ReadModelProjection::Read(
    std::string_view key, const rocksdb::WriteBatch& batch) {
  // The consumer gives each record its own batch today, so this mostly finds nothing; but
  // figures are read-modify-write, and one lost update would be wrong for ever, so a batch that
  // already holds writes (of this record, or of earlier ones if the consumer ever batches) is
  // read through rather than trusted not to.
  if (batch.Count() > 0) {
    LastWriteOf last(db_->family(kReadModelFamily)->GetID(), key);
    rocksdb::Status s = batch.Iterate(&last);
    if (!s.ok()) return FromRocks(s);
    if (last.touched()) return last.value();
  }
  return db_->Get(kReadModelFamily, key);
}

absl::Status ReadModelProjection::AddToFigures(const FigureChanges& changes,
                                               rocksdb::WriteBatch* batch) {
  rocksdb::ColumnFamilyHandle* cf = db_->family(kReadModelFamily);
  for (const auto& [branch, change] : changes) {
    const std::string key = FiguresKey(branch);
    auto stored = Read(key, *batch);
    if (!stored.ok()) return stored.status();
    BranchFigures figures;
    if (stored->has_value()) {
      auto decoded = DecodeFigures(**stored);
      if (!decoded.ok()) {
        return absl::DataLossError(
            absl::StrCat("read model ", key, ": ", decoded.status().message()));
      }
      figures = *decoded;
    }
    figures += change;
    // A branch whose back orders all moved elsewhere (a context corrected by the creation) has
    // nothing left to count; deleting it keeps the bytes equal to a replay that never saw it.
    if (figures == BranchFigures{}) {
      batch->Delete(cf, key);
    } else {
      batch->Put(cf, key, EncodeFigures(figures));
    }
  }
  return absl::OkStatus();
}

template <typename Change>
absl::Status ReadModelProjection::UpdateView(const std::string& backorder_id,
                                             const pb::EventEnvelope& event,
                                             std::string_view event_id,
                                             std::string_view history_value, Change change,
                                             FigureChanges* figure_changes,
                                             rocksdb::WriteBatch* batch) {
  rocksdb::ColumnFamilyHandle* cf = db_->family(kReadModelFamily);
  const std::string view_key = BackorderKey(backorder_id);
  auto stored = Read(view_key, *batch);
  if (!stored.ok()) return stored.status();
  pb::Backorder view;
  if (stored->has_value() && !view.ParseFromString(**stored)) {
    // Our own bytes: unreadable means a damaged store, which replaying cannot mend. Retrying
    // keeps the consumer where it is, so the damage is seen rather than built upon.
    return absl::DataLossError(absl::StrCat("read model ", view_key, " is unreadable"));
  }
  const pb::Backorder old_view = view;
  const std::map<std::string, std::string> before = IndexEntries(view, backorder_id);
  if (change(&view)) {
    // The figures move by the difference of the two views, so they always equal the sum over
    // the current views whatever order the events came in.
    for (const auto& [branch, difference] : Difference(old_view, view)) {
      (*figure_changes)[branch] += difference;
    }
    const std::map<std::string, std::string> after = IndexEntries(view, backorder_id);
    // Re-keys the indexes: an age key changes when created_at becomes known (a fill seen before
    // the creation), the ready key appears and disappears with the quantities.
    for (const auto& [key, value] : before) {
      if (!after.contains(key)) batch->Delete(cf, key);
    }
    for (const auto& [key, value] : after) {
      auto old = before.find(key);
      if (old == before.end() || old->second != value) batch->Put(cf, key, value);
    }
    batch->Put(cf, view_key, view.SerializeAsString());
  }
  // History keeps every event, including one that changed nothing (a late fill of a cancelled
  // back order): it happened, and the clerk may ask why the figures did not move.
  batch->Put(cf, HistoryKey(backorder_id, event.occurred_at(), event_id), history_value);
  return absl::OkStatus();
}

absl::Status ReadModelProjection::Apply(const kafka::ConsumedRecord& record,
                                        rocksdb::WriteBatch* batch) {
  pb::EventEnvelope event;
  if (!event.ParseFromArray(record.value.data(), static_cast<int>(record.value.size()))) {
    spdlog::warn("{}: skipping undecodable record {}/{}@{}", kReadModelConsumer,
                 std::string(record.topic), record.partition, record.offset);
    return absl::OkStatus();
  }
  // The envelope's id names the event; the record's (ce_id, or topic/partition/offset) stands in
  // for an envelope without one, so such an event still gets its own history entry.
  const std::string event_id = event.event_id().empty() ? record.event_id : event.event_id();
  const std::string_view raw = record.value;
  // Figures sum quantities and subtract times over every back order of a branch; numbers no
  // producer of ours emits would overflow them, so such a record is skipped, loudly.
  if (absl::Status s = CheckEventNumbers(event); !s.ok()) {
    spdlog::warn("{}: skipping {} {} ({}/{}@{}): {}", kReadModelConsumer, event.type(), event_id,
                 std::string(record.topic), record.partition, record.offset,
                 std::string(s.message()));
    return absl::OkStatus();
  }

  switch (event.payload_case()) {
    case pb::EventEnvelope::kBackorderCreated:
    case pb::EventEnvelope::kBackorderFilled:
    case pb::EventEnvelope::kBackorderCancelled:
    case pb::EventEnvelope::kBackorderInvoiced: {
      const std::string id = BackorderIdOf(event);
      if (id.empty()) {
        spdlog::warn("{}: skipping {} {} that names no back order", kReadModelConsumer,
                     event.type(), event_id);
        return absl::OkStatus();
      }
      FigureChanges changes;
      absl::Status s = UpdateView(
          id, event, event_id, raw, [&event](pb::Backorder* v) { return ApplyToView(v, event); },
          &changes, batch);
      if (!s.ok()) return s;
      return AddToFigures(changes, batch);
    }
    case pb::EventEnvelope::kStockOrderPlaced: {
      const auto& placed = event.stock_order_placed();
      FigureChanges changes;
      // One update per back order (the last line that names it), so each covered back order
      // gets one history entry; the branch figures of all of them are summed first and written
      // once per branch.
      std::map<std::string, int32_t> lines;
      for (const auto& line : placed.lines()) {
        for (const auto& covered : line.backorders()) {
          if (covered.backorder_id().empty()) continue;
          lines[covered.backorder_id()] = line.line();
        }
      }
      for (const auto& [id, line] : lines) {
        absl::Status s = UpdateView(
            id, event, event_id, raw,
            // `line` by copy: clang 14 (the fuzz build) cannot capture a structured binding.
            [&, line = line](pb::Backorder* v) {
              return MarkOnOrder(v, placed.stock_order_id(), line, event.occurred_at());
            },
            &changes, batch);
        if (!s.ok()) return s;
      }
      return AddToFigures(changes, batch);
    }
    case pb::EventEnvelope::kLostSaleRecorded: {
      const auto& lost = event.lost_sale_recorded();
      const std::string key = LostSaleKey(lost.branch_id(), event.occurred_at(), event_id);
      // The consumer drops a re-delivered event by its id; the same event reaching the
      // projection again anyway (a replay beyond the seen-id window) finds its own entry and
      // is not counted twice.
      auto stored = Read(key, *batch);
      if (!stored.ok()) return stored.status();
      if (stored->has_value()) return absl::OkStatus();
      batch->Put(db_->family(kReadModelFamily), key, raw);
      FigureChanges changes;
      changes[lost.branch_id()].lost_lines = 1;
      changes[lost.branch_id()].lost_quantity = lost.quantity();
      return AddToFigures(changes, batch);
    }
    default:
      return absl::OkStatus();
  }
}

absl::Status PrepareReadModel(Database* db, bool rebuild) {
  auto layout = db->Get(kReadModelFamily, kLayoutKey);
  if (!layout.ok()) return layout.status();
  if (rebuild) {
    spdlog::warn("{}: --rebuild-read-models: rebuilding the read model from the topics",
                 kReadModelConsumer);
    // The layout goes first, so a stop before the end leaves the next start, asked or not, to
    // do it all again (below, the offsets go before the read model for the same reason).
    rocksdb::WriteBatch forget_layout;
    forget_layout.Delete(db->family(kReadModelFamily), kLayoutKey);
    if (absl::Status s = db->Write(&forget_layout, /*sync=*/true); !s.ok()) return s;
  } else if (layout->has_value() && **layout == kReadModelLayout) {
    return absl::OkStatus();
  } else {
    spdlog::info("{}: read model layout {} found, {} wanted: rebuilding it from the topics",
                 kReadModelConsumer, layout->has_value() ? **layout : std::string("(none)"),
                 kReadModelLayout);
  }
  // Offsets first: if the process stops between the two writes, the layout is still the old
  // one, so the next start does both again; the other order could leave an empty read model
  // with offsets saying everything was applied.
  if (absl::Status s = kafka::ExactlyOnceConsumer::Forget(db, kReadModelConsumer); !s.ok()) {
    return s;
  }
  rocksdb::WriteBatch batch;
  rocksdb::ColumnFamilyHandle* cf = db->family(kReadModelFamily);
  // Every readmodel key is printable ASCII, so [ "", "\xff" ) is all of them.
  batch.DeleteRange(cf, "", "\xff");
  batch.Put(cf, kLayoutKey, kReadModelLayout);
  return db->Write(&batch, /*sync=*/true);
}

kafka::RecordHandler ReadModelProjection::Handler() {
  return [this](const kafka::ConsumedRecord& record, rocksdb::WriteBatch* batch) {
    return Apply(record, batch);
  };
}

}  // namespace bo::debtor_query
