#include "services/purchasing/stock_order.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/backorder_view.h"
#include "services/common/command_support.h"

namespace bo::purchasing {
namespace pb = backorder::v1;

// ---- Request checks ----

absl::Status CheckRequest(const pb::CreateStockOrderRequest& r) {
  if (auto s = FirstError({CheckRequestId(r.request_id()), CheckId("branch_id", r.branch_id())});
      !s.ok()) {
    return s;
  }
  if (r.branch_id().size() > kMaxBranchIdLength) {
    return Invalid("branch_id", absl::StrCat("longer than ", kMaxBranchIdLength,
                                             " characters, too long to name its stock orders"));
  }
  return FirstError({CheckId("supplier_id", r.supplier_id()),
                     CheckText("reference", r.reference(), kMaxReferenceLength, false)});
}

absl::Status CheckRequest(const pb::GetStockOrderRequest& r) {
  return CheckId("stock_order_id", r.stock_order_id());
}

absl::Status CheckRequest(const pb::ListStockOrdersRequest& r) {
  if (auto s = FirstError({CheckId("branch_id", r.branch_id(), false),
                           CheckId("supplier_id", r.supplier_id(), false)});
      !s.ok()) {
    return s;
  }
  if (!pb::StockOrderStatus_IsValid(r.status())) {
    return Invalid("status", absl::StrCat("unknown stock order status ", r.status()));
  }
  return PageSize(r.page_size()).status();
}

absl::Status CheckRequest(const pb::GetBackordersRequest& r) {
  return CheckId("stock_order_id", r.stock_order_id());
}

absl::Status CheckRequest(const pb::AddBackorderLinesToOrderRequest& r) {
  if (auto s = FirstError(
          {CheckRequestId(r.request_id()), CheckId("stock_order_id", r.stock_order_id())});
      !s.ok()) {
    return s;
  }
  if (r.backorder_ids().empty()) return Invalid("backorder_ids", "tick at least one back order");
  if (r.backorder_ids_size() > kMaxBackordersPerRequest) {
    return Invalid("backorder_ids",
                   absl::StrCat("at most ", kMaxBackordersPerRequest,
                                " back orders per request, got ", r.backorder_ids_size()));
  }
  std::map<std::string, int> first_index;
  for (int i = 0; i < r.backorder_ids_size(); ++i) {
    const std::string field = absl::StrCat("backorder_ids[", i, "]");
    const std::string& id = r.backorder_ids(i);
    if (auto s = CheckId(field, id); !s.ok()) return s;
    auto [it, inserted] = first_index.emplace(id, i);
    if (!inserted) {
      return Invalid(field, absl::StrCat("repeats backorder_ids[", it->second, "] (", id, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRequest(const pb::AddStockLineRequest& r) {
  return FirstError({CheckRequestId(r.request_id()), CheckId("stock_order_id", r.stock_order_id()),
                     CheckId("part_number", r.part_number()),
                     CheckQuantity("quantity", r.quantity())});
}

absl::Status CheckRequest(const pb::FinaliseStockOrderRequest& r) {
  return FirstError(
      {CheckRequestId(r.request_id()), CheckId("stock_order_id", r.stock_order_id())});
}

absl::Status CheckRequest(const pb::GetPurchasingBackorderRequest& r) {
  return CheckId("backorder_id", r.backorder_id());
}

// ---- Stock orders ----

std::string StockOrderId(const std::string& branch_id, uint64_t number) {
  return absl::StrFormat("SO-%s-%06d", branch_id, number);
}

pb::StockOrder NewStockOrder(const std::string& stock_order_id,
                             const pb::CreateStockOrderRequest& request,
                             const std::string& created_by, absl::Time now) {
  pb::StockOrder order;
  order.set_stock_order_id(stock_order_id);
  order.set_branch_id(request.branch_id());
  order.set_supplier_id(request.supplier_id());
  order.set_reference(request.reference());
  order.set_status(pb::STOCK_ORDER_STATUS_DRAFT);
  *order.mutable_created_at() = ToProto(now);
  order.set_created_by(created_by);
  return order;
}

// ---- Back orders ----

bool Orderable(const pb::Backorder& view) {
  const auto& q = view.quantities();
  const pb::BackorderState state = DeriveState(q, false);
  return view.has_created_at() && !view.context().backorder_id().empty() && Waiting(q) > 0 &&
         state != pb::BACKORDER_STATE_CANCELLED && state != pb::BACKORDER_STATE_INVOICED &&
         view.stock_order_id().empty();
}

absl::Status CheckOrderable(const pb::Backorder& view, const pb::StockOrder& order) {
  const std::string& id = view.context().backorder_id();
  const auto& q = view.quantities();
  const pb::BackorderState state = DeriveState(q, false);
  auto refuse = [&id](const std::string& why) {
    return absl::FailedPreconditionError(absl::StrCat("back order ", id, " ", why));
  };
  if (!view.has_created_at() || id.empty()) {
    return refuse("is not known to purchasing yet (its creation has not arrived)");
  }
  if (view.context().branch_id() != order.branch_id()) {
    return refuse(absl::StrCat("is for branch ", view.context().branch_id(),
                               ", not this order's branch ", order.branch_id()));
  }
  if (!view.stock_order_id().empty()) {
    return refuse(absl::StrCat("is already on stock order ", view.stock_order_id()));
  }
  if (state == pb::BACKORDER_STATE_CANCELLED) return refuse("is cancelled");
  if (state == pb::BACKORDER_STATE_INVOICED) return refuse("is invoiced");
  if (Waiting(q) <= 0) {
    return refuse(absl::StrCat("is not waiting for stock (", StateName(state), ": ", q.filled(),
                               " of ", q.back_ordered(), " filled)"));
  }
  return absl::OkStatus();
}

int32_t LineOf(const pb::StockOrder& order, const std::string& backorder_id) {
  for (const auto& line : order.lines()) {
    for (const auto& b : line.backorders()) {
      if (b.backorder_id() == backorder_id) return line.line();
    }
  }
  return 0;
}

bool ListedFor(const pb::Backorder& view, const pb::StockOrder& order, bool this_supplier_only) {
  if (!Orderable(view) || view.context().branch_id() != order.branch_id()) return false;
  if (this_supplier_only && view.context().supplier_id() != order.supplier_id()) return false;
  return LineOf(order, view.context().backorder_id()) == 0;
}

// ---- Changing a draft ----

absl::Status CheckDraft(const pb::StockOrder& order) {
  if (order.status() == pb::STOCK_ORDER_STATUS_DRAFT) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("stock order ", order.stock_order_id(), " is already placed"));
}

namespace {

// The lines of `order` as events carry them.
void AddEventLines(const pb::StockOrder& order,
                   google::protobuf::RepeatedPtrField<pb::StockOrderLine>* out) {
  for (const auto& line : order.lines()) {
    pb::StockOrderLine* l = out->Add();
    l->set_line(line.line());
    l->set_part_number(line.part_number());
    l->set_quantity(line.quantity());
    for (const auto& b : line.backorders()) {
      pb::CoveredBackorder* covered = l->add_backorders();
      covered->set_backorder_id(b.backorder_id());
      covered->set_quantity(b.quantity());
      covered->set_debtor_id(b.debtor_id());
      covered->set_invoice_id(b.invoice_id());
      covered->set_invoice_line(b.invoice_line());
    }
  }
}

// Replaces the lines of `order` with `lines` as an event carried them. What is not for a back
// order is for the shelf.
void SetLineViews(const google::protobuf::RepeatedPtrField<pb::StockOrderLine>& lines,
                  pb::StockOrder* order) {
  order->clear_lines();
  for (const pb::StockOrderLine& l : lines) {
    pb::StockOrderLineView* line = order->add_lines();
    line->set_line(l.line());
    line->set_part_number(l.part_number());
    line->set_quantity(l.quantity());
    int64_t shelf = l.quantity();
    for (const pb::CoveredBackorder& covered : l.backorders()) {
      pb::StockOrderBackorder* b = line->add_backorders();
      b->set_backorder_id(covered.backorder_id());
      b->set_quantity(covered.quantity());
      b->set_debtor_id(covered.debtor_id());
      b->set_invoice_id(covered.invoice_id());
      b->set_invoice_line(covered.invoice_line());
      shelf -= covered.quantity();
    }
    line->set_shelf_quantity(shelf);
  }
}

// The line of `part_number`, added at the end (numbered after the last) if there is none.
pb::StockOrderLineView* LineFor(pb::StockOrder* order, const std::string& part_number) {
  int32_t last = 0;
  for (auto& line : *order->mutable_lines()) {
    if (line.part_number() == part_number) return &line;
    last = std::max(last, line.line());
  }
  pb::StockOrderLineView* line = order->add_lines();
  line->set_line(last + 1);
  line->set_part_number(part_number);
  return line;
}

absl::Status CheckLineRoom(const pb::StockOrderLineView& line, int64_t more) {
  if (line.quantity() + more <= kMaxLineQuantity) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("line ", line.line(), " (", line.part_number(),
                                                    ") would order more than ", kMaxLineQuantity));
}

}  // namespace

absl::StatusOr<pb::StockOrder> AddBackorders(pb::StockOrder order,
                                             const std::vector<pb::Backorder>& ticked) {
  if (auto s = CheckDraft(order); !s.ok()) return s;
  std::set<std::string> seen;
  for (const pb::Backorder& view : ticked) {
    const std::string& id = view.context().backorder_id();
    if (auto s = CheckOrderable(view, order); !s.ok()) return s;
    if (!seen.insert(id).second) {
      return absl::InvalidArgumentError(absl::StrCat("back order ", id, " is ticked twice"));
    }
    if (int32_t line = LineOf(order, id); line != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("back order ", id, " is already on this stock order (line ", line, ")"));
    }
    const int64_t quantity = Waiting(view.quantities());
    pb::StockOrderLineView* line = LineFor(&order, view.context().part_number());
    if (auto s = CheckLineRoom(*line, quantity); !s.ok()) return s;
    line->set_quantity(line->quantity() + quantity);
    pb::StockOrderBackorder* entry = line->add_backorders();
    entry->set_backorder_id(id);
    entry->set_quantity(quantity);
    entry->set_debtor_id(view.context().debtor_id());
    entry->set_invoice_id(view.context().invoice_id());
    entry->set_invoice_line(view.context().invoice_line());
  }
  return order;
}

absl::StatusOr<pb::StockOrder> AddShelfStock(pb::StockOrder order, const std::string& part_number,
                                             int64_t quantity) {
  if (auto s = CheckDraft(order); !s.ok()) return s;
  pb::StockOrderLineView* line = LineFor(&order, part_number);
  if (auto s = CheckLineRoom(*line, quantity); !s.ok()) return s;
  line->set_quantity(line->quantity() + quantity);
  line->set_shelf_quantity(line->shelf_quantity() + quantity);
  return order;
}

// ---- Finalising ----

absl::StatusOr<Placement> Finalise(const pb::StockOrder& draft,
                                   const std::map<std::string, pb::Backorder>& views,
                                   absl::Time now) {
  if (auto s = CheckDraft(draft); !s.ok()) return s;
  if (draft.lines().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stock order ", draft.stock_order_id(), " has no lines: tick back orders or add stock"));
  }
  Placement out;
  out.order = draft;
  out.order.clear_lines();
  out.order.clear_dropped_backorder_ids();
  for (const pb::StockOrderLineView& drafted : draft.lines()) {
    pb::StockOrderLineView line = drafted;
    line.clear_backorders();
    for (const pb::StockOrderBackorder& b : drafted.backorders()) {
      auto view = views.find(b.backorder_id());
      if (view == views.end() || !CheckOrderable(view->second, draft).ok()) {
        out.order.add_dropped_backorder_ids(b.backorder_id());
        line.set_quantity(line.quantity() - b.quantity());
      } else {
        *line.add_backorders() = b;
      }
    }
    if (line.quantity() <= 0) continue;
    line.set_line(out.order.lines_size() + 1);
    for (const auto& b : line.backorders())
      out.on_order.emplace_back(b.backorder_id(), line.line());
    *out.order.add_lines() = std::move(line);
  }
  out.order.set_status(pb::STOCK_ORDER_STATUS_PLACED);
  *out.order.mutable_placed_at() = ToProto(now);

  out.event.set_type("StockOrderPlaced");
  out.event.set_branch_id(draft.branch_id());
  *out.event.mutable_occurred_at() = ToProto(now);
  pb::StockOrderPlaced* placed = out.event.mutable_stock_order_placed();
  placed->set_stock_order_id(draft.stock_order_id());
  placed->set_branch_id(draft.branch_id());
  placed->set_supplier_id(draft.supplier_id());
  placed->set_reference(draft.reference());
  *placed->mutable_dropped_backorder_ids() = out.order.dropped_backorder_ids();
  AddEventLines(out.order, placed->mutable_lines());
  return out;
}

pb::EventEnvelope OpenedEvent(const pb::StockOrder& order) {
  pb::EventEnvelope e;
  e.set_type("StockOrderOpened");
  e.set_branch_id(order.branch_id());
  pb::StockOrderOpened* p = e.mutable_stock_order_opened();
  p->set_stock_order_id(order.stock_order_id());
  p->set_branch_id(order.branch_id());
  p->set_supplier_id(order.supplier_id());
  p->set_reference(order.reference());
  return e;
}

pb::EventEnvelope DraftedEvent(const pb::StockOrder& order) {
  pb::EventEnvelope e;
  e.set_type("StockOrderDrafted");
  e.set_branch_id(order.branch_id());
  pb::StockOrderDrafted* p = e.mutable_stock_order_drafted();
  p->set_stock_order_id(order.stock_order_id());
  AddEventLines(order, p->mutable_lines());
  return e;
}

absl::StatusOr<pb::StockOrder> StockOrderOf(const std::vector<pb::EventEnvelope>& events) {
  pb::StockOrder order;
  for (const pb::EventEnvelope& e : events) {
    switch (e.payload_case()) {
      case pb::EventEnvelope::kStockOrderOpened: {
        const pb::StockOrderOpened& o = e.stock_order_opened();
        order.Clear();
        order.set_stock_order_id(o.stock_order_id());
        order.set_branch_id(o.branch_id());
        order.set_supplier_id(o.supplier_id());
        order.set_reference(o.reference());
        order.set_status(pb::STOCK_ORDER_STATUS_DRAFT);
        *order.mutable_created_at() = e.occurred_at();
        order.set_created_by(e.actor().subject());
        break;
      }
      case pb::EventEnvelope::kStockOrderDrafted:
        SetLineViews(e.stock_order_drafted().lines(), &order);
        break;
      case pb::EventEnvelope::kStockOrderPlaced: {
        const pb::StockOrderPlaced& p = e.stock_order_placed();
        order.set_stock_order_id(p.stock_order_id());
        order.set_branch_id(p.branch_id());
        order.set_supplier_id(p.supplier_id());
        order.set_reference(p.reference());
        order.set_status(pb::STOCK_ORDER_STATUS_PLACED);
        SetLineViews(p.lines(), &order);
        *order.mutable_placed_at() = e.occurred_at();
        *order.mutable_dropped_backorder_ids() = p.dropped_backorder_ids();
        break;
      }
      default:
        return absl::DataLossError(absl::StrCat("a ", e.type(), " event in a stock order stream"));
    }
  }
  return order;
}

}  // namespace bo::purchasing
