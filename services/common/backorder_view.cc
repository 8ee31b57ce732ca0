#include "services/common/backorder_view.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace bo {
namespace pb = backorder::v1;

namespace {

bool Later(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return a.seconds() > b.seconds() || (a.seconds() == b.seconds() && a.nanos() > b.nanos());
}

// Keeps the later of two timestamps in `slot`.
void KeepLatest(google::protobuf::Timestamp* slot, const google::protobuf::Timestamp& t) {
  if (Later(t, *slot)) *slot = t;
}

void MergeContext(pb::Backorder* view, const pb::BackorderContext& context) {
  if (view->context().backorder_id().empty()) *view->mutable_context() = context;
}

// Takes the larger of each quantity, except that `filled` is not raised on a cancelled back order
// (a fill receiving made before it learnt of the cancellation was released by it).
void MergeQuantities(pb::Backorder* view, const pb::BackorderQuantities& q) {
  pb::BackorderQuantities* mine = view->mutable_quantities();
  mine->set_back_ordered(std::max(mine->back_ordered(), q.back_ordered()));
  mine->set_invoiced(std::max(mine->invoiced(), q.invoiced()));
  if (mine->cancelled() == 0) mine->set_filled(std::max(mine->filled(), q.filled()));
}

std::string Name(const pb::BackorderContext& c) {
  return absl::StrCat("invoice ", c.invoice_id(), " line ", c.invoice_line(), " (", c.part_number(),
                      " for ", c.debtor_id(), ")");
}

std::string Figures(const pb::BackorderQuantities& q) {
  return absl::StrCat(q.filled(), " of ", q.back_ordered(), " filled, ", Waiting(q), " waiting, ",
                      q.invoiced(), " invoiced");
}

}  // namespace

int64_t Waiting(const pb::BackorderQuantities& q) {
  return std::max<int64_t>(0, q.back_ordered() - q.filled() - q.cancelled());
}

int64_t Ready(const pb::BackorderQuantities& q) {
  return std::max<int64_t>(0, q.filled() - q.invoiced());
}

pb::BackorderState DeriveState(const pb::BackorderQuantities& q, bool on_order) {
  if (q.cancelled() > 0) return pb::BACKORDER_STATE_CANCELLED;
  if (q.back_ordered() > 0 && q.invoiced() >= q.back_ordered()) {
    return pb::BACKORDER_STATE_INVOICED;
  }
  if (q.back_ordered() > 0 && Waiting(q) == 0) return pb::BACKORDER_STATE_FILLED;
  if (q.filled() > 0) return pb::BACKORDER_STATE_PARTLY_FILLED;
  if (on_order) return pb::BACKORDER_STATE_ON_ORDER;
  return pb::BACKORDER_STATE_OPEN;
}

bool ApplyToView(pb::Backorder* view, const pb::EventEnvelope& e) {
  const pb::Backorder before = *view;
  switch (e.payload_case()) {
    case pb::EventEnvelope::kBackorderCreated: {
      const auto& p = e.backorder_created();
      // The creation is the authority on context and creation time.
      *view->mutable_context() = p.context();
      *view->mutable_created_at() = e.occurred_at();
      pb::BackorderQuantities q;
      q.set_back_ordered(p.quantity());
      MergeQuantities(view, q);
      break;
    }
    case pb::EventEnvelope::kBackorderFilled: {
      const auto& p = e.backorder_filled();
      MergeContext(view, p.context());
      KeepLatest(view->mutable_filled_at(), e.occurred_at());
      MergeQuantities(view, p.quantities());  // not `filled` once cancelled: it was released
      break;
    }
    case pb::EventEnvelope::kBackorderInvoiced: {
      const auto& p = e.backorder_invoiced();
      MergeContext(view, p.context());
      MergeQuantities(view, p.quantities());
      KeepLatest(view->mutable_invoiced_at(), e.occurred_at());
      break;
    }
    case pb::EventEnvelope::kBackorderCancelled: {
      const auto& p = e.backorder_cancelled();
      MergeContext(view, p.context());
      pb::BackorderQuantities* mine = view->mutable_quantities();
      mine->set_back_ordered(std::max(mine->back_ordered(), p.quantities().back_ordered()));
      mine->set_invoiced(std::max(mine->invoiced(), p.quantities().invoiced()));
      mine->set_cancelled(p.quantities().cancelled());
      mine->set_filled(mine->invoiced());  // filled stock not invoiced went back to free stock
      *view->mutable_cancelled_at() = e.occurred_at();
      view->set_cancel_reason(e.reason());
      break;
    }
    default:
      return false;
  }
  view->set_state(DeriveState(view->quantities(), !view->stock_order_id().empty()));
  KeepLatest(view->mutable_updated_at(), e.occurred_at());
  return view->SerializeAsString() != before.SerializeAsString();
}

bool MarkOnOrder(pb::Backorder* view, const std::string& stock_order_id, int32_t line,
                 const google::protobuf::Timestamp& when) {
  if (view->stock_order_id() == stock_order_id && view->stock_order_line() == line) return false;
  view->set_stock_order_id(stock_order_id);
  view->set_stock_order_line(line);
  view->set_state(DeriveState(view->quantities(), true));
  KeepLatest(view->mutable_updated_at(), when);
  return true;
}

std::string BackorderIdOf(const pb::EventEnvelope& e) {
  switch (e.payload_case()) {
    case pb::EventEnvelope::kBackorderCreated:
      return e.backorder_created().context().backorder_id();
    case pb::EventEnvelope::kBackorderFilled:
      return e.backorder_filled().context().backorder_id();
    case pb::EventEnvelope::kBackorderInvoiced:
      return e.backorder_invoiced().context().backorder_id();
    case pb::EventEnvelope::kBackorderCancelled:
      return e.backorder_cancelled().context().backorder_id();
    default:
      return "";
  }
}

std::string Describe(const pb::EventEnvelope& e) {
  switch (e.payload_case()) {
    case pb::EventEnvelope::kBackorderCreated: {
      const auto& p = e.backorder_created();
      return absl::StrCat("Back order created for ", p.quantity(), " x ", p.context().part_number(),
                          " on ", Name(p.context()), " at ", p.context().branch_id(), ", supplier ",
                          p.context().supplier_id());
    }
    case pb::EventEnvelope::kBackorderFilled: {
      const auto& p = e.backorder_filled();
      std::string from =
          p.source() == "receipt"      ? absl::StrCat("creditor invoice ", p.creditor_invoice_id())
          : p.source() == "adjustment" ? std::string("a stock adjustment")
          : p.source() == "hold_released" ? std::string("stock a draft gave back")
          : p.source() == "cancellation"  ? std::string("stock released by a cancelled back order")
                                          : std::string("free stock");
      return absl::StrCat("Filled ", p.quantity(), " from ", from, " (", Figures(p.quantities()),
                          ")");
    }
    case pb::EventEnvelope::kBackorderInvoiced: {
      const auto& p = e.backorder_invoiced();
      return absl::StrCat("Invoiced ", p.quantity(), " on invoice ", p.invoicing_invoice_id(),
                          " line ", p.invoicing_line(), " (", Figures(p.quantities()), ")");
    }
    case pb::EventEnvelope::kBackorderCancelled: {
      const auto& p = e.backorder_cancelled();
      return absl::StrCat("Cancelled ", p.quantity_cancelled(), "; ", p.filled_released(),
                          " filled returned to free stock",
                          e.reason().empty() ? "" : absl::StrCat(" (", e.reason(), ")"));
    }
    case pb::EventEnvelope::kStockOrderPlaced: {
      const auto& p = e.stock_order_placed();
      return absl::StrCat("Put on stock order ", p.stock_order_id(), " to supplier ",
                          p.supplier_id());
    }
    default:
      return e.type();
  }
}

std::string StateName(pb::BackorderState state) {
  std::string name = pb::BackorderState_Name(state);
  const std::string prefix = "BACKORDER_STATE_";
  return name.starts_with(prefix) ? name.substr(prefix.size()) : name;
}

}  // namespace bo
