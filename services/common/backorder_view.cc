#include "services/common/backorder_view.h"

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <limits>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

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

// "12.50 AUD", "-0.05 AUD" (every currency is taken to have two decimals, as everywhere else);
// "-" when unset.
std::string Amount(const pb::Money& m) {
  if (m.currency().empty() && m.minor_units() == 0) return "-";  // unset
  const int64_t units = m.minor_units();
  const uint64_t magnitude =
      units < 0 ? uint64_t{0} - static_cast<uint64_t>(units) : static_cast<uint64_t>(units);
  const uint64_t cents = magnitude % 100;
  return absl::StrCat(units < 0 ? "-" : "", magnitude / 100, ".", cents < 10 ? "0" : "", cents,
                      m.currency().empty() ? "" : " ", m.currency());
}

// "2026-11-29 10:15 UTC", as boctl prints times.
std::string UtcMinute(const google::protobuf::Timestamp& t) {
  const std::time_t seconds = static_cast<std::time_t>(t.seconds());
  std::tm utc{};
  char text[32] = "";
  if (gmtime_r(&seconds, &utc) == nullptr) return "?";
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &utc);
  return text;
}

std::string InvoiceLineName(const std::string& invoice_id, int32_t line) {
  return absl::StrCat("invoice ", invoice_id, " line ", line);
}

std::string KindWord(pb::InvoiceKind kind) {
  switch (kind) {
    case pb::INVOICE_KIND_WORKSHOP:
      return "workshop";
    case pb::INVOICE_KIND_LABOUR:
      return "labour";
    case pb::INVOICE_KIND_COUNTER:
      return "counter";
    default:
      return "unknown kind";
  }
}

std::string Signed(int64_t n) { return absl::StrCat(n > 0 ? "+" : "", n); }

std::string BecauseOf(const pb::EventEnvelope& e) {
  return e.reason().empty() ? "" : absl::StrCat(" (", e.reason(), ")");
}

// The request limit (kMaxRequestQuantity): no event of ours moves or counts more.
constexpr int64_t kMaxEventQuantity = 1'000'000'000;

// `payload``name` within 0..kMaxEventQuantity. Runs on every event a projection applies, so the
// field's name is only put together for the error.
absl::Status CheckQuantityOf(const char* payload, const char* name, int64_t value) {
  if (value >= 0 && value <= kMaxEventQuantity) return absl::OkStatus();
  return absl::OutOfRangeError(
      absl::StrCat(payload, name, " = ", value, " is outside 0..", kMaxEventQuantity));
}

absl::Status CheckTimeOf(const char* field, const google::protobuf::Timestamp& t) {
  using google::protobuf::util::TimeUtil;
  if (t.seconds() >= TimeUtil::kTimestampMinSeconds &&
      t.seconds() <= TimeUtil::kTimestampMaxSeconds && t.nanos() >= 0 && t.nanos() <= 999'999'999) {
    return absl::OkStatus();
  }
  return absl::OutOfRangeError(absl::StrCat(field, " = ", t.seconds(), "s ", t.nanos(),
                                            "ns is outside protobuf's Timestamp range"));
}

}  // namespace

absl::Status CheckEventNumbers(const pb::EventEnvelope& e) {
  struct Quantity {
    const char* name;
    int64_t value;
  };
  const char* payload = nullptr;
  Quantity own[2] = {};
  int count = 0;
  const pb::BackorderQuantities* after = nullptr;
  switch (e.payload_case()) {
    case pb::EventEnvelope::kBackorderCreated:
      payload = "backorder_created";
      own[count++] = {".quantity", e.backorder_created().quantity()};
      break;
    case pb::EventEnvelope::kBackorderFilled:
      payload = "backorder_filled";
      own[count++] = {".quantity", e.backorder_filled().quantity()};
      after = &e.backorder_filled().quantities();
      break;
    case pb::EventEnvelope::kBackorderCancelled:
      payload = "backorder_cancelled";
      own[count++] = {".quantity_cancelled", e.backorder_cancelled().quantity_cancelled()};
      own[count++] = {".filled_released", e.backorder_cancelled().filled_released()};
      after = &e.backorder_cancelled().quantities();
      break;
    case pb::EventEnvelope::kBackorderInvoiced:
      payload = "backorder_invoiced";
      own[count++] = {".quantity", e.backorder_invoiced().quantity()};
      after = &e.backorder_invoiced().quantities();
      break;
    case pb::EventEnvelope::kLostSaleRecorded:
      payload = "lost_sale_recorded";
      own[count++] = {".quantity", e.lost_sale_recorded().quantity()};
      break;
    default:
      return absl::OkStatus();
  }
  if (absl::Status s = CheckTimeOf("occurred_at", e.occurred_at()); !s.ok()) return s;
  for (int i = 0; i < count; ++i) {
    if (absl::Status s = CheckQuantityOf(payload, own[i].name, own[i].value); !s.ok()) return s;
  }
  if (after == nullptr) return absl::OkStatus();
  const Quantity quantities[] = {{".quantities.back_ordered", after->back_ordered()},
                                 {".quantities.filled", after->filled()},
                                 {".quantities.invoiced", after->invoiced()},
                                 {".quantities.cancelled", after->cancelled()}};
  for (const Quantity& q : quantities) {
    if (absl::Status s = CheckQuantityOf(payload, q.name, q.value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// In 128 bits: the quantities come off the wire, and a malformed event must not overflow.
int64_t Waiting(const pb::BackorderQuantities& q) {
  const __int128 waiting = static_cast<__int128>(q.back_ordered()) - q.filled() - q.cancelled();
  return static_cast<int64_t>(std::clamp<__int128>(waiting, 0, INT64_MAX));
}

int64_t Ready(const pb::BackorderQuantities& q) {
  const __int128 ready = static_cast<__int128>(q.filled()) - q.invoiced();
  return static_cast<int64_t>(std::clamp<__int128>(ready, 0, INT64_MAX));
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
  // Derived as ApplyToView derives it, so an empty id (a malformed event) cannot leave a state
  // that the next event contradicts.
  view->set_state(DeriveState(view->quantities(), !stock_order_id.empty()));
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
  // No default: a payload added to events.proto does not compile (-Wswitch) until it has its
  // sentence here.
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
    case pb::EventEnvelope::kBackorderRegistered: {
      const auto& p = e.backorder_registered();
      return absl::StrCat("Receiving at ", p.context().branch_id(), " waits for ", p.quantity(),
                          " x ", p.context().part_number(), " for back order ",
                          p.context().backorder_id());
    }
    case pb::EventEnvelope::kBackorderReleased: {
      const auto& p = e.backorder_released();
      return absl::StrCat("Receiving at ", p.context().branch_id(), " closed cancelled back order ",
                          p.context().backorder_id(), "; ", p.filled_released(),
                          " filled returned to free stock");
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
    case pb::EventEnvelope::kStockOrderOpened: {
      const auto& p = e.stock_order_opened();
      return absl::StrCat("Draft stock order ", p.stock_order_id(), " opened to supplier ",
                          p.supplier_id(), p.reference().empty() ? "" : " (" + p.reference() + ")");
    }
    case pb::EventEnvelope::kStockOrderDrafted: {
      const auto& p = e.stock_order_drafted();
      int backorders = 0;
      for (const auto& line : p.lines()) backorders += line.backorders_size();
      return absl::StrCat("Draft stock order ", p.stock_order_id(), " now has ", p.lines_size(),
                          " lines covering ", backorders, " back orders");
    }
    case pb::EventEnvelope::kInvoiceSaved:
      return absl::StrCat("Invoice ", e.invoice_saved().invoice_id(), " saved");
    case pb::EventEnvelope::kDebtorUpdated: {
      const auto& p = e.debtor_updated();
      return absl::StrCat("Debtor ", p.debtor_id(), " (", p.name(), ") saved: contact ",
                          p.contact_name().empty() ? "-" : p.contact_name(), ", phone ",
                          p.phone().empty() ? "-" : p.phone(), ", e-mail ",
                          p.email().empty() ? "-" : p.email(), "; ",
                          p.use_backorders() ? "uses" : "does not use", " back orders");
    }
    case pb::EventEnvelope::kInvoiceFinalised: {
      const auto& p = e.invoice_finalised();
      // Saturating: an event is input, and quantities past any sane count still only describe.
      int64_t supplied = 0, back_ordered = 0;
      auto add = [](int64_t* sum, int64_t n) {
        if (__builtin_add_overflow(*sum, n, sum)) {
          *sum = n > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
        }
      };
      for (const auto& line : p.lines()) {
        add(&supplied, line.quantity_supplied());
        add(&back_ordered, line.quantity_back_ordered());
      }
      return absl::StrCat("Invoice ", p.invoice_id(), " (", KindWord(p.kind()), ") finalised for ",
                          p.debtor_id(), ": ", p.lines_size(),
                          p.lines_size() == 1 ? " line, " : " lines, ", supplied, " supplied, ",
                          back_ordered, " back-ordered, total ", Amount(p.total()));
    }
    case pb::EventEnvelope::kLostSaleRecorded: {
      const auto& p = e.lost_sale_recorded();
      return absl::StrCat("Lost sale: ", p.quantity(), " x ", p.part_number(), " on ",
                          InvoiceLineName(p.invoice_id(), p.invoice_line()), " for ", p.debtor_id(),
                          " could not be supplied and was not back-ordered");
    }
    case pb::EventEnvelope::kPartUpdated: {
      const auto& p = e.part_updated();
      return absl::StrCat("Part ", p.part_number(),
                          " saved: ", p.description().empty() ? "no description" : p.description(),
                          ", supplier ", p.supplier_id().empty() ? "-" : p.supplier_id(),
                          ", price ", Amount(p.unit_price()));
    }
    case pb::EventEnvelope::kStockAdjusted: {
      const auto& p = e.stock_adjusted();
      return absl::StrCat("Stock of ", p.part_number(), " adjusted by ", Signed(p.delta()), " to ",
                          p.on_hand(), " on hand", BecauseOf(e));
    }
    case pb::EventEnvelope::kStockReceived: {
      const auto& p = e.stock_received();
      return absl::StrCat(
          "Received ", p.quantity(), " x ", p.part_number(), " on creditor invoice ",
          p.creditor_invoice_id(),
          p.stock_order_id().empty() ? "" : absl::StrCat(" (stock order ", p.stock_order_id(), ")"),
          p.has_unit_cost() ? absl::StrCat(" at ", Amount(p.unit_cost()), " each") : "", "; ",
          p.on_hand(), " on hand");
    }
    case pb::EventEnvelope::kStockHeld: {
      const auto& p = e.stock_held();
      return absl::StrCat(
          "Held ", p.quantity(), " x ", p.part_number(), " for draft ",
          InvoiceLineName(p.invoice_id(), p.invoice_line()),
          p.has_expires_at() ? absl::StrCat(" until ", UtcMinute(p.expires_at())) : std::string());
    }
    case pb::EventEnvelope::kStockHoldReleased: {
      const auto& p = e.stock_hold_released();
      const std::string why = p.cause() == "expired"     ? "the hold expired"
                              : p.cause() == "abandoned" ? "the draft was abandoned"
                              : p.cause() == "changed"   ? "the line changed"
                              : p.cause().empty()        ? "no cause given"
                                                         : p.cause();
      return absl::StrCat("Released the hold of ", p.quantity(), " x ", p.part_number(), " for ",
                          InvoiceLineName(p.invoice_id(), p.invoice_line()), " to free stock (",
                          why, ")");
    }
    case pb::EventEnvelope::kStockIssued: {
      const auto& p = e.stock_issued();
      return absl::StrCat(
          "Issued ", p.quantity(), " x ", p.part_number(), " on ",
          InvoiceLineName(p.invoice_id(), p.invoice_line()),
          p.backorder_id().empty() ? "" : absl::StrCat(" for back order ", p.backorder_id()), "; ",
          p.on_hand(), " on hand");
    }
    case pb::EventEnvelope::PAYLOAD_NOT_SET:
      // A payload added to the catalogue after this code was built (evolution is additive).
      return absl::StrCat(e.type().empty() ? "An event" : e.type(),
                          " (a payload this build does not know)");
  }
  return e.type();
}

std::string StateName(pb::BackorderState state) {
  std::string name = pb::BackorderState_Name(state);
  const std::string prefix = "BACKORDER_STATE_";
  return name.starts_with(prefix) ? name.substr(prefix.size()) : name;
}

}  // namespace bo
