// The read-model projection of debtor-query: one consumer ("debtor-query.readmodel") reads the
// four topics and this class turns each record into writes to the readmodel family (keys in
// read_model_keys.h), added to the consumer's WriteBatch so the record's effect, its offset and
// its seen id are committed together.
//
// Deterministic by construction (guarantee 7): everything written comes from the records
// themselves (no clock, no generated ids), and the back-order views are built by ApplyToView /
// MarkOnOrder, whose result does not depend on the order the topics deliver in. Deleting the
// readmodel family and replaying the topics therefore gives the same bytes.
//
// What each event does:
//   BackorderCreated/Filled/Cancelled/Invoiced -> ApplyToView on bo/<id>, indexes, one history
//       entry, the branch figures moved by the difference of the view (figures.h)
//   StockOrderPlaced -> MarkOnOrder on every covered back order, indexes, a history entry each,
//       the figures moved likewise
//   LostSaleRecorded -> lost/<branch>/<occurred_at>/<event_id>, and the branch's lost-sale
//       figures (once per event id)
//   anything else (debtors, invoices, stock movements, parts) -> nothing
//
// Reads go through the batch being built (Read): figures are read-modify-write, and a second
// change to the same key in one batch must start from the first, not from the Database.
// A record that cannot be decoded, or a back-order event that names no back order, is logged and
// skipped (returning an error would retry it for ever); only I/O errors are returned.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backorder/v1/common.pb.h"
#include "backorder/v1/events.pb.h"
#include "libs/kafka/exactly_once_consumer.h"
#include "libs/store/database.h"
#include "rocksdb/write_batch.h"
#include "services/debtor-query/figures.h"

namespace bo::debtor_query {

// The consumer (and group) name of the projection.
inline constexpr char kReadModelConsumer[] = "debtor-query.readmodel";

// The layout of the readmodel family this build writes, kept under kLayoutKey. Bump it whenever
// a change derives new keys from events already consumed (2: the figures and open-age index):
// a read model of another layout is then rebuilt from the topics at start (PrepareReadModel).
// 3: the state indexes (state-age/, branch-state-age/).
inline constexpr char kReadModelLayout[] = "3";

// Run before the projection's consumer starts. If the stored layout is not kReadModelLayout,
// deletes the readmodel family and the consumer's offsets and seen ids, so the consumer replays
// its topics from the beginning (guarantee 7 makes that give the read model a fresh build would
// have), and records the layout. Otherwise changes nothing, unless `rebuild` (the service's
// --rebuild-read-models) asks for the same regardless of the layout.
absl::Status PrepareReadModel(Database* db, bool rebuild = false);

// The index entries (readmodel key -> value) a back-order view should have: the age indexes
// and its current state's indexes once the view knows what it is for (its context), the open-age
// index while it is open, and the ready index while something is ready to invoice and it is not
// cancelled. A view known only from a stock order (its creation and fills not seen yet) has none.
std::map<std::string, std::string> IndexEntries(const backorder::v1::Backorder& view,
                                                std::string_view backorder_id);

class ReadModelProjection {
 public:
  // `db` must outlive the projection; it is read for the current views, never written.
  explicit ReadModelProjection(Database* db) : db_(db) {}

  // Adds the effect of one record to `batch`.
  absl::Status Apply(const kafka::ConsumedRecord& record, rocksdb::WriteBatch* batch);

  // Apply as a RecordHandler for the runtime's subscription; the projection must outlive it.
  kafka::RecordHandler Handler();

 private:
  // Figure changes by branch, summed over the views one record touches.
  using FigureChanges = std::map<std::string, BranchFigures>;

  // Loads the view of `backorder_id` (an empty one if it is not known yet), lets `change` alter
  // it, writes the view, its index changes and the history entry `history_value` under the
  // event's time and id, and adds the view's figure difference to `figure_changes`.
  template <typename Change>
  absl::Status UpdateView(const std::string& backorder_id,
                          const backorder::v1::EventEnvelope& event, std::string_view event_id,
                          std::string_view history_value, Change change,
                          FigureChanges* figure_changes, rocksdb::WriteBatch* batch);

  // Adds `changes` to the stored figures of each branch (one write per branch).
  absl::Status AddToFigures(const FigureChanges& changes, rocksdb::WriteBatch* batch);

  // A readmodel key as it will be once `batch` is written: the batch's own last write of it if
  // it has one, else the Database's value.
  absl::StatusOr<std::optional<std::string>> Read(std::string_view key,
                                                  const rocksdb::WriteBatch& batch);

  Database* db_;
};

}  // namespace bo::debtor_query
