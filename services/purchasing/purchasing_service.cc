#include "services/purchasing/purchasing_service.h"

#include <cstdint>
#include <limits>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "services/common/backorder_view.h"
#include "services/common/command_support.h"
#include "services/common/topics.h"
#include "services/purchasing/stock_order.h"
#include "spdlog/spdlog.h"

namespace bo::purchasing {
namespace pb = backorder::v1;

namespace {

constexpr char kOpenPrefix[] = "open/";
constexpr char kOrderIndexPrefix[] = "stockorders/";

std::string ViewKey(const std::string& backorder_id) { return "backorder/" + backorder_id; }
std::string OrderKey(const std::string& stock_order_id) { return "stockorder/" + stock_order_id; }
// The stream of a stock order's events; also the aggregate id in their envelopes.
std::string OrderStream(const std::string& stock_order_id) {
  return "stockorder/" + stock_order_id;
}
std::string CounterKey(const std::string& branch_id) { return "counter/stockorder/" + branch_id; }

uint64_t UnixNanos(const google::protobuf::Timestamp& t) {
  const int64_t nanos = absl::ToUnixNanos(FromProto(t));
  return nanos < 0 ? 0 : static_cast<uint64_t>(nanos);
}

std::string OpenPrefix(const std::string& branch_id) {
  return absl::StrCat(kOpenPrefix, branch_id, "/");
}

// The view's key in the open index, oldest first within a branch; none unless it is Orderable.
std::optional<std::string> OpenKey(const pb::Backorder& view) {
  if (!Orderable(view)) return std::nullopt;
  return absl::StrCat(OpenPrefix(view.context().branch_id()),
                      SortableNumber(UnixNanos(view.created_at())), "/",
                      view.context().backorder_id());
}

// Newest first: the creation time counted down from the largest number.
std::string OrderIndexKey(const pb::StockOrder& order) {
  return absl::StrCat(
      kOrderIndexPrefix,
      SortableNumber(std::numeric_limits<uint64_t>::max() - UnixNanos(order.created_at())), "/",
      order.stock_order_id());
}

// Adds the index change that follows a view's change from `before` to `after`.
void StageOpenIndex(const pb::Backorder& before, const pb::Backorder& after,
                    CommitRequest* commit) {
  const std::optional<std::string> old_key = OpenKey(before), new_key = OpenKey(after);
  if (old_key == new_key) return;
  if (old_key) commit->state_deletes.push_back(*old_key);
  if (new_key) commit->state.emplace_back(*new_key, "");
}

template <typename Message>
absl::StatusOr<std::optional<Message>> Load(EventStore* store, const std::string& key) {
  auto bytes = store->GetState(key);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<Message>();
  Message m;
  if (!m.ParseFromString(**bytes)) {
    return absl::DataLossError(absl::StrCat("stored ", key, " is unreadable"));
  }
  return std::optional<Message>(std::move(m));
}

}  // namespace

absl::Status RestoreStockOrderStream(const std::string& aggregate_id,
                                     const std::vector<pb::EventEnvelope>& events,
                                     RestoredWrites* out) {
  auto order = StockOrderOf(events);
  if (!order.ok()) return order.status();
  const std::string& id = order->stock_order_id();
  if (OrderStream(id) != aggregate_id) {
    return absl::DataLossError(absl::StrCat("stock order ", id, " in stream ", aggregate_id));
  }
  out->state.emplace_back(OrderKey(id), order->SerializeAsString());
  out->state.emplace_back(OrderIndexKey(*order), "");
  if (auto number = DocumentNumber(id)) {
    out->state.emplace_back(CounterKey(order->branch_id()), std::to_string(*number));
  }
  for (const pb::EventEnvelope& e : events) {
    if (!e.has_stock_order_placed()) continue;
    for (const auto& line : e.stock_order_placed().lines()) {
      for (const auto& covered : line.backorders()) {
        pb::Backorder view;
        MarkOnOrder(&view, id, line.line(), e.occurred_at());
        out->state.emplace_back(ViewKey(covered.backorder_id()), view.SerializeAsString());
        if (auto key = OpenKey(view)) out->state.emplace_back(*key, "");
      }
    }
  }
  return absl::OkStatus();
}

std::vector<KeyRange> PurchasingReadModels() {
  const std::string state(kStateFamily);
  return {{state, ViewKey("")}, {state, kOpenPrefix}, ReactionRecords()};
}

PurchasingService::PurchasingService(EventStore* store, std::shared_ptr<const Access> access,
                                     Clock clock)
    : store_(store),
      access_(std::move(access)),
      clock_(std::move(clock)),
      open_index_(store, kOpenPrefix) {}

absl::StatusOr<std::optional<pb::StockOrder>> PurchasingService::LoadOrder(const std::string& id) {
  return Load<pb::StockOrder>(store_, OrderKey(id));
}

absl::StatusOr<std::optional<pb::Backorder>> PurchasingService::LoadView(const std::string& id) {
  return Load<pb::Backorder>(store_, ViewKey(id));
}

absl::StatusOr<pb::StockOrder> PurchasingService::FindOrder(const std::string& id) {
  auto order = LoadOrder(id);
  if (!order.ok()) return order.status();
  if (!order->has_value())
    return absl::NotFoundError(absl::StrCat("stock order ", id, " not found"));
  return std::move(**order);
}

absl::Status PurchasingService::SaveDraft(const pb::StockOrder& order, const Caller& caller,
                                          const std::string& method, const std::string& request_id,
                                          pb::StockOrder* resp) {
  const std::string stream = OrderStream(order.stock_order_id());
  auto version = store_->StreamVersion(stream);
  if (!version.ok()) return version.status();
  pb::EventEnvelope drafted = DraftedEvent(order);
  Stamp(&drafted, stream, *version + 1, clock_(), caller, request_id);
  CommitRequest commit;
  commit.appends.push_back({stream, *version, {drafted.SerializeAsString()}});
  commit.outbox.push_back(
      ToOutbox(kPurchasingTopic, order.stock_order_id(), drafted, "purchasing"));
  commit.state.emplace_back(OrderKey(order.stock_order_id()), order.SerializeAsString());
  *resp = order;
  return CommitWithAnswer(store_, &commit, method, request_id, resp);
}

// ---- Commands ----

grpc::Status PurchasingService::CreateStockOrder(grpc::ServerContext* ctx,
                                                 const pb::CreateStockOrderRequest* req,
                                                 pb::StockOrder* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  if (auto s = CheckRequest(*req); !s.ok()) return ToGrpc(s);
  std::lock_guard lock(counter_locks_.For(req->branch_id()));
  auto done = PreviousAnswer(store_, "CreateStockOrder", req->request_id(), resp);
  if (!done.ok()) return ToGrpc(done.status());
  if (*done) return grpc::Status::OK;

  auto counter = store_->GetState(CounterKey(req->branch_id()));
  if (!counter.ok()) return ToGrpc(counter.status());
  uint64_t last = 0;
  if (counter->has_value() && !absl::SimpleAtoi(**counter, &last)) {
    return ToGrpc(absl::DataLossError(
        absl::StrCat("stock order counter of branch ", req->branch_id(), " is unreadable")));
  }
  const std::string id = StockOrderId(req->branch_id(), last + 1);
  if (!CheckId("stock_order_id", id).ok()) {
    return ToGrpc(absl::FailedPreconditionError(
        absl::StrCat("branch ", req->branch_id(), " has used up its stock order numbers")));
  }
  const absl::Time now = clock_();
  const pb::StockOrder order = NewStockOrder(id, *req, admitted->subject, now);
  pb::EventEnvelope opened = OpenedEvent(order);
  Stamp(&opened, OrderStream(id), 1, now, *admitted, req->request_id());

  CommitRequest commit;
  commit.appends.push_back({OrderStream(id), 0, {opened.SerializeAsString()}});
  commit.outbox.push_back(ToOutbox(kPurchasingTopic, id, opened, "purchasing"));
  commit.state.emplace_back(OrderKey(id), order.SerializeAsString());
  commit.state.emplace_back(OrderIndexKey(order), "");
  commit.state.emplace_back(CounterKey(req->branch_id()), std::to_string(last + 1));
  *resp = order;
  return ToGrpc(CommitWithAnswer(store_, &commit, "CreateStockOrder", req->request_id(), resp));
}

grpc::Status PurchasingService::AddBackorderLines(grpc::ServerContext* ctx,
                                                  const pb::AddBackorderLinesToOrderRequest* req,
                                                  pb::StockOrder* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  if (auto s = CheckRequest(*req); !s.ok()) return ToGrpc(s);
  std::lock_guard lock(order_locks_.For(req->stock_order_id()));
  auto done = PreviousAnswer(store_, "AddBackorderLines", req->request_id(), resp);
  if (!done.ok()) return ToGrpc(done.status());
  if (*done) return grpc::Status::OK;

  auto order = FindOrder(req->stock_order_id());
  if (!order.ok()) return ToGrpc(order.status());
  if (auto s = CheckDraft(*order); !s.ok()) return ToGrpc(s);
  std::vector<pb::Backorder> ticked;
  for (const std::string& id : req->backorder_ids()) {
    auto view = LoadView(id);
    if (!view.ok()) return ToGrpc(view.status());
    if (!view->has_value()) {
      return ToGrpc(absl::NotFoundError(absl::StrCat("back order ", id, " not found")));
    }
    ticked.push_back(std::move(**view));
  }
  auto changed = AddBackorders(*std::move(order), ticked);
  if (!changed.ok()) return ToGrpc(changed.status());
  return ToGrpc(SaveDraft(*changed, *admitted, "AddBackorderLines", req->request_id(), resp));
}

grpc::Status PurchasingService::AddStockLine(grpc::ServerContext* ctx,
                                             const pb::AddStockLineRequest* req,
                                             pb::StockOrder* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  if (auto s = CheckRequest(*req); !s.ok()) return ToGrpc(s);
  std::lock_guard lock(order_locks_.For(req->stock_order_id()));
  auto done = PreviousAnswer(store_, "AddStockLine", req->request_id(), resp);
  if (!done.ok()) return ToGrpc(done.status());
  if (*done) return grpc::Status::OK;

  auto order = FindOrder(req->stock_order_id());
  if (!order.ok()) return ToGrpc(order.status());
  auto changed = AddShelfStock(*std::move(order), req->part_number(), req->quantity());
  if (!changed.ok()) return ToGrpc(changed.status());
  return ToGrpc(SaveDraft(*changed, *admitted, "AddStockLine", req->request_id(), resp));
}

grpc::Status PurchasingService::FinaliseStockOrder(grpc::ServerContext* ctx,
                                                   const pb::FinaliseStockOrderRequest* req,
                                                   pb::StockOrder* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  if (auto s = CheckRequest(*req); !s.ok()) return ToGrpc(s);
  std::lock_guard lock(order_locks_.For(req->stock_order_id()));
  auto done = PreviousAnswer(store_, "FinaliseStockOrder", req->request_id(), resp);
  if (!done.ok()) return ToGrpc(done.status());
  if (*done) return grpc::Status::OK;

  auto draft = FindOrder(req->stock_order_id());
  if (!draft.ok()) return ToGrpc(draft.status());
  std::vector<std::string> ticked;
  for (const auto& line : draft->lines()) {
    for (const auto& b : line.backorders()) ticked.push_back(b.backorder_id());
  }
  // Held until the commit: no other finalisation or reaction changes these views meanwhile.
  auto held = backorder_locks_.LockAll(ticked);
  std::map<std::string, pb::Backorder> views;  // as they are now
  for (const auto& line : draft->lines()) {
    for (const auto& b : line.backorders()) {
      auto view = LoadView(b.backorder_id());
      if (!view.ok()) return ToGrpc(view.status());
      if (view->has_value()) views.emplace(b.backorder_id(), std::move(**view));
    }
  }
  const absl::Time now = clock_();
  auto placement = Finalise(*draft, views, now);
  if (!placement.ok()) return ToGrpc(placement.status());

  const std::string& id = draft->stock_order_id();
  auto version = store_->StreamVersion(OrderStream(id));
  if (!version.ok()) return ToGrpc(version.status());
  Stamp(&placement->event, OrderStream(id), *version + 1, now, *admitted, req->request_id());
  CommitRequest commit;
  commit.appends.push_back({OrderStream(id), *version, {placement->event.SerializeAsString()}});
  commit.state.emplace_back(OrderKey(id), placement->order.SerializeAsString());
  for (const auto& [backorder_id, line] : placement->on_order) {
    const pb::Backorder before = views.at(backorder_id);
    pb::Backorder after = before;
    MarkOnOrder(&after, id, line, placement->event.occurred_at());
    commit.state.emplace_back(ViewKey(backorder_id), after.SerializeAsString());
    StageOpenIndex(before, after, &commit);
  }
  commit.outbox.push_back(ToOutbox(kPurchasingTopic, id, placement->event, "purchasing"));
  *resp = placement->order;
  return ToGrpc(CommitWithAnswer(store_, &commit, "FinaliseStockOrder", req->request_id(), resp));
}

// ---- Queries ----

grpc::Status PurchasingService::GetStockOrder(grpc::ServerContext* ctx,
                                              const pb::GetStockOrderRequest* req,
                                              pb::StockOrder* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  if (auto s = CheckRequest(*req); !s.ok()) return ToGrpc(s);
  auto order = FindOrder(req->stock_order_id());
  if (!order.ok()) return ToGrpc(order.status());
  *resp = *std::move(order);
  return grpc::Status::OK;
}

grpc::Status PurchasingService::ListStockOrders(grpc::ServerContext* ctx,
                                                const pb::ListStockOrdersRequest* req,
                                                pb::ListStockOrdersResponse* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  if (auto s = CheckRequest(*req); !s.ok()) return ToGrpc(s);
  const int page_size = *PageSize(req->page_size());
  auto start_after = PageStart(req->page_token(), kOrderIndexPrefix);
  if (!start_after.ok()) return ToGrpc(start_after.status());

  auto next = ScanPage<pb::StockOrder>(
      *store_->database(), kStateFamily, kOrderIndexPrefix, *start_after, page_size,
      [&](std::string_view key, std::string_view) -> absl::StatusOr<std::optional<pb::StockOrder>> {
        const size_t slash = key.find('/', sizeof(kOrderIndexPrefix) - 1);
        if (slash == std::string_view::npos) return std::nullopt;
        auto order = LoadOrder(std::string(key.substr(slash + 1)));
        if (!order.ok() || !order->has_value()) return order;
        const pb::StockOrder& o = **order;
        if ((!req->branch_id().empty() && o.branch_id() != req->branch_id()) ||
            !admitted->MaySee(o.branch_id()) ||
            (!req->supplier_id().empty() && o.supplier_id() != req->supplier_id()) ||
            (req->status() != pb::STOCK_ORDER_STATUS_UNSPECIFIED && o.status() != req->status())) {
          return std::nullopt;
        }
        return order;
      },
      [&](pb::StockOrder&& o) { *resp->add_stock_orders() = std::move(o); });
  if (!next.ok()) return ToGrpc(next.status());
  resp->set_next_page_token(*next);
  return grpc::Status::OK;
}

grpc::Status PurchasingService::GetBackorders(grpc::ServerContext* ctx,
                                              const pb::GetBackordersRequest* req,
                                              pb::GetBackordersResponse* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  if (auto s = CheckRequest(*req); !s.ok()) return ToGrpc(s);
  // No page size and no token: everything, as before paging existed. A page reads only as many
  // views as it lists (and those of other suppliers it passes), however many wait at the branch.
  const bool everything = req->page_size() == 0 && req->page_token().empty();
  auto size = everything ? absl::StatusOr<int>(std::numeric_limits<int>::max())
                         : PageSize(req->page_size());
  if (!size.ok()) return ToGrpc(size.status());
  auto order = FindOrder(req->stock_order_id());
  if (!order.ok()) return ToGrpc(order.status());

  const std::string prefix = OpenPrefix(order->branch_id());
  auto start_after = PageStart(req->page_token(), prefix);
  if (!start_after.ok()) return ToGrpc(start_after.status());
  auto next = ScanPage<pb::Backorder>(
      open_index_, kStateFamily, prefix, *start_after, *size,
      [&](std::string_view key, std::string_view) -> absl::StatusOr<std::optional<pb::Backorder>> {
        // <prefix><20-digit created_at>/<backorder id>
        const size_t id_at = prefix.size() + 21;
        if (key.size() <= id_at) return std::nullopt;
        auto view = LoadView(std::string(key.substr(id_at)));
        if (!view.ok() || !view->has_value()) return view;
        if (!ListedFor(**view, *order, req->this_supplier_only())) return std::nullopt;
        return view;
      },
      [&](pb::Backorder&& b) { *resp->add_backorders() = std::move(b); });
  if (!next.ok()) return ToGrpc(next.status());
  resp->set_next_page_token(*next);
  return grpc::Status::OK;
}

grpc::Status PurchasingService::GetBackorder(grpc::ServerContext* ctx,
                                             const pb::GetPurchasingBackorderRequest* req,
                                             pb::Backorder* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  if (auto s = CheckRequest(*req); !s.ok()) return ToGrpc(s);
  auto view = LoadView(req->backorder_id());
  if (!view.ok()) return ToGrpc(view.status());
  if (!view->has_value()) {
    return ToGrpc(
        absl::NotFoundError(absl::StrCat("back order ", req->backorder_id(), " not found")));
  }
  *resp = std::move(**view);
  return grpc::Status::OK;
}

// ---- Reactions ----

absl::Status PurchasingService::React(const kafka::ConsumedRecord& record) {
  pb::EventEnvelope event;
  if (!event.ParseFromArray(record.value.data(), static_cast<int>(record.value.size()))) {
    spdlog::warn("purchasing: skipping undecodable record {}/{}@{}", std::string(record.topic),
                 record.partition, record.offset);
    return absl::OkStatus();
  }
  switch (event.payload_case()) {
    case pb::EventEnvelope::kBackorderCreated:
    case pb::EventEnvelope::kBackorderFilled:
    case pb::EventEnvelope::kBackorderCancelled:
    case pb::EventEnvelope::kBackorderInvoiced:
      break;
    default:
      return absl::OkStatus();  // not about a back order's quantities
  }
  const std::string backorder_id = BackorderIdOf(event);
  if (auto s = CheckId("backorder_id", backorder_id); !s.ok()) {
    spdlog::warn("purchasing: skipping {} {} ({}/{}@{}): {}", event.type(), event.event_id(),
                 std::string(record.topic), record.partition, record.offset, s.ToString());
    return absl::OkStatus();
  }

  std::lock_guard lock(backorder_locks_.For(backorder_id));
  auto loaded = LoadView(backorder_id);
  if (!loaded.ok()) return loaded.status();
  const pb::Backorder before = loaded->value_or(pb::Backorder());
  pb::Backorder after = before;
  if (!ApplyToView(&after, event)) return absl::OkStatus();
  CommitRequest commit;
  commit.state.emplace_back(ViewKey(backorder_id), after.SerializeAsString());
  StageOpenIndex(before, after, &commit);
  return CommitReaction(store_, &commit, record.event_id);
}

kafka::RecordHandler PurchasingService::Handler() {
  return
      [this](const kafka::ConsumedRecord& record, rocksdb::WriteBatch*) { return React(record); };
}

}  // namespace bo::purchasing
