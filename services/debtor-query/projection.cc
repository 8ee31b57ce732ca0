#include "services/debtor-query/projection.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "services/common/backorder_view.h"
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
  if (Ready(view.quantities()) > 0 && view.state() != pb::BACKORDER_STATE_CANCELLED) {
    entries[ReadyKey(view.context(), id)] = id;
  }
  return entries;
}

template <typename Change>
absl::Status ReadModelProjection::UpdateView(const std::string& backorder_id,
                                             const pb::EventEnvelope& event,
                                             std::string_view event_id,
                                             std::string_view history_value, Change change,
                                             rocksdb::WriteBatch* batch) {
  rocksdb::ColumnFamilyHandle* cf = db_->family(kReadModelFamily);
  const std::string view_key = BackorderKey(backorder_id);
  auto stored = db_->Get(kReadModelFamily, view_key);
  if (!stored.ok()) return stored.status();
  pb::Backorder view;
  if (stored->has_value() && !view.ParseFromString(**stored)) {
    // Our own bytes: unreadable means a damaged store, which replaying cannot mend. Retrying
    // keeps the consumer where it is, so the damage is seen rather than built upon.
    return absl::DataLossError(absl::StrCat("read model ", view_key, " is unreadable"));
  }
  const std::map<std::string, std::string> before = IndexEntries(view, backorder_id);
  if (change(&view)) {
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
      return UpdateView(
          id, event, event_id, raw, [&event](pb::Backorder* v) { return ApplyToView(v, event); },
          batch);
    }
    case pb::EventEnvelope::kStockOrderPlaced: {
      const auto& placed = event.stock_order_placed();
      // One update per back order (the last line that names it), because reads see the
      // Database, not this batch: a second update of the same view would start from the old one.
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
            [&](pb::Backorder* v) {
              return MarkOnOrder(v, placed.stock_order_id(), line, event.occurred_at());
            },
            batch);
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    }
    case pb::EventEnvelope::kLostSaleRecorded:
      batch->Put(db_->family(kReadModelFamily),
                 LostSaleKey(event.lost_sale_recorded().branch_id(), event.occurred_at(), event_id),
                 raw);
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

kafka::RecordHandler ReadModelProjection::Handler() {
  return [this](const kafka::ConsumedRecord& record, rocksdb::WriteBatch* batch) {
    return Apply(record, batch);
  };
}

}  // namespace bo::debtor_query
