// PurchasingService: the gRPC face of the purchasing service (proto/backorder/v1/
// purchasing_service.proto) and its back-order views, kept from invoicing's and receiving's
// events.
//
// Every rule is in the pure domain (stock_order.h); this class validates requests, serialises,
// loads, and commits the decision with its answer, events and outbox entries in one
// EventStore::Commit.
//
// Locks (KeyedLocks) keep each read-decide-commit whole: a command on a stock order holds that
// order's lock; finalising also holds the locks of every back order on the draft, taken before
// their views are read, and a reaction holds its back order's lock. So two finalisations can never
// both see the same back order orderable (one back order on two stock orders), and a reaction
// never changes a view between a finalisation's read and its commit. New stock order numbers are
// locked per branch. Queries take no lock: each view and order is read whole, and Get back orders
// checks every view it lists. (It was one mutex over everything until the performance figures
// showed purchasing slowest of the four: docs/performance.md.)
//
// What it keeps in the state family:
//   backorder/<id>                       backorder.v1.Backorder, the view
//   open/<branch>/<created_at>/<id>      "" while the back order is Orderable (Get back orders)
//   stockorder/<id>                      backorder.v1.StockOrder, drafts and placed orders
//   stockorders/<newest first>/<id>      "" for each stock order (ListStockOrders)
//   counter/stockorder/<branch>          the branch's last stock order number
// and one event stream per stock order, "stockorder/<id>": StockOrderOpened, a StockOrderDrafted
// per change of its lines, then StockOrderPlaced (orders opened before StockOrderOpened existed
// have only the last).
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "backorder/v1/purchasing_service.grpc.pb.h"
#include "libs/kafka/exactly_once_consumer.h"
#include "libs/store/event_store.h"
#include "libs/store/key_range_mirror.h"
#include "services/common/access.h"
#include "services/common/command_support.h"
#include "services/common/own_state_restore.h"

namespace bo::purchasing {

// purchasing's AggregateRestorer (services/common/own_state_restore.h): a stock order stream gives
// back the order (StockOrderOf), its list-index entry, the branch's counter (streams fold in key
// order, so the last written is the highest number: true while numbers have six digits), and
// for a placed order the on-order part of the views of the back orders it covers (the consumer's
// replay of the other topics adds the rest). The answers are not restored: a retry after a lost
// disk gets the current state's answer.
absl::Status RestoreStockOrderStream(const std::string& aggregate_id,
                                     const std::vector<backorder::v1::EventEnvelope>& events,
                                     RestoredWrites* out);
// Its read models (ServiceRuntime::SetReadModels): the back-order views, in which its own
// on-order facts and invoicing's and receiving's meet, the open index, and the reactions'
// records.
std::vector<KeyRange> PurchasingReadModels();

class PurchasingService final : public backorder::v1::PurchasingService::Service {
 public:
  using Clock = std::function<absl::Time()>;
  // `access` admits every call (services/common/access.h).
  PurchasingService(EventStore* store, std::shared_ptr<const Access> access,
                    Clock clock = absl::Now);

  grpc::Status CreateStockOrder(grpc::ServerContext* ctx,
                                const backorder::v1::CreateStockOrderRequest* req,
                                backorder::v1::StockOrder* resp) override;
  grpc::Status GetStockOrder(grpc::ServerContext* ctx,
                             const backorder::v1::GetStockOrderRequest* req,
                             backorder::v1::StockOrder* resp) override;
  // Newest first (the order they were created in, reversed).
  grpc::Status ListStockOrders(grpc::ServerContext* ctx,
                               const backorder::v1::ListStockOrdersRequest* req,
                               backorder::v1::ListStockOrdersResponse* resp) override;
  // Oldest first; back orders already ticked on this order are not listed again.
  grpc::Status GetBackorders(grpc::ServerContext* ctx,
                             const backorder::v1::GetBackordersRequest* req,
                             backorder::v1::GetBackordersResponse* resp) override;
  grpc::Status AddBackorderLines(grpc::ServerContext* ctx,
                                 const backorder::v1::AddBackorderLinesToOrderRequest* req,
                                 backorder::v1::StockOrder* resp) override;
  grpc::Status AddStockLine(grpc::ServerContext* ctx, const backorder::v1::AddStockLineRequest* req,
                            backorder::v1::StockOrder* resp) override;
  grpc::Status FinaliseStockOrder(grpc::ServerContext* ctx,
                                  const backorder::v1::FinaliseStockOrderRequest* req,
                                  backorder::v1::StockOrder* resp) override;
  grpc::Status GetBackorder(grpc::ServerContext* ctx,
                            const backorder::v1::GetPurchasingBackorderRequest* req,
                            backorder::v1::Backorder* resp) override;

  // The reaction to one record of the invoicing or receiving topic: BackorderCreated, -Filled,
  // -Cancelled and -Invoiced update the back order's view and the open index, committed on their
  // own (not in the consumer's batch, since commands change the same keys) and recorded under the
  // event id. Other records are skipped, undecodable ones with a warning. Only storage errors are
  // returned (and retried by the consumer).
  absl::Status React(const kafka::ConsumedRecord& record);

  // React as a consumer handler.
  kafka::RecordHandler Handler();

 private:
  absl::StatusOr<std::optional<backorder::v1::StockOrder>> LoadOrder(const std::string& id);
  absl::StatusOr<std::optional<backorder::v1::Backorder>> LoadView(const std::string& id);
  // The order, or NOT_FOUND.
  absl::StatusOr<backorder::v1::StockOrder> FindOrder(const std::string& id);
  // Commits a changed draft with the answer to (method, request_id).
  // Publishes it as StockOrderDrafted.
  absl::Status SaveDraft(const backorder::v1::StockOrder& order, const Caller& caller,
                         const std::string& method, const std::string& request_id,
                         backorder::v1::StockOrder* resp);

  EventStore* store_;
  std::shared_ptr<const Access> access_;
  Clock clock_;
  KeyedLocks order_locks_;      // by stock order id
  KeyedLocks backorder_locks_;  // by back order id: its view and open-index entry
  KeyedLocks counter_locks_;    // by branch: its stock order number counter
  // The open index, scanned from its start for every page of Get back orders while most of its
  // keys come and go: read from memory, not from RocksDB (key_range_mirror.h says why).
  KeyRangeMirror open_index_;
};

}  // namespace bo::purchasing
