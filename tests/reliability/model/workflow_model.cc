#include "tests/reliability/model/workflow_model.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "absl/strings/str_cat.h"
#include "services/common/backorder_view.h"
#include "services/common/command_support.h"
#include "services/debtor-query/debtor_query_rules.h"
#include "services/invoicing/domain/invoice.h"
#include "services/purchasing/stock_order.h"

namespace bo::reliability {
namespace {

namespace pb = ::backorder::v1;
namespace rcv = ::bo::receiving;

// invoicing's longest branch id: its invoices and their back orders' ids must stay ids.
constexpr size_t kMaxInvoiceBranchIdLength = 64 - sizeof("BO--000000-999") + 1;

// receiving's default hold time (ReceivingOptions::hold_ttl).
constexpr absl::Duration kHoldTtl = absl::Minutes(30);

template <typename T>
const T& As(const google::protobuf::Message& m) {
  return static_cast<const T&>(m);
}

std::string Key(const std::pair<std::string, std::string>& k) {
  return absl::StrCat(k.first, "/", k.second);
}

// The fields every service's view of a back order must agree on (invoicing's also records the
// draft it is ticked on, which is invoicing's own business).
std::string Shared(const pb::Backorder& v) {
  pb::Backorder shared = v;
  shared.clear_draft_invoice_id();
  return shared.ShortDebugString();
}

bool Final(pb::BackorderState s) {
  return s == pb::BACKORDER_STATE_CANCELLED || s == pb::BACKORDER_STATE_INVOICED;
}

// receiving's CheckBranchPart.
absl::Status CheckBranchPart(const std::string& branch_id, const std::string& part_number) {
  return FirstError({CheckId("branch_id", branch_id), CheckId("part_number", part_number)});
}

}  // namespace

const char* RpcName(Rpc rpc) {
  static constexpr const char* kNames[kRpcCount] = {"CreateInvoice",
                                                    "GetInvoice",
                                                    "ListInvoices",
                                                    "AddPartLine",
                                                    "AdjustPartLine",
                                                    "AddChargeLine",
                                                    "ListReadyBackorders",
                                                    "AddBackorderLines",
                                                    "FinaliseInvoice",
                                                    "AbandonInvoice",
                                                    "GetBackorder",
                                                    "CancelBackorder",
                                                    "CreateStockOrder",
                                                    "GetStockOrder",
                                                    "ListStockOrders",
                                                    "GetBackorders",
                                                    "AddBackorderLinesToOrder",
                                                    "AddStockLine",
                                                    "FinaliseStockOrder",
                                                    "GetPurchasingBackorder",
                                                    "UpsertPart",
                                                    "GetPart",
                                                    "ListParts",
                                                    "AdjustStock",
                                                    "GetStock",
                                                    "HoldStock",
                                                    "ReleaseHold",
                                                    "ProcessCreditorInvoice",
                                                    "CreateDebtor",
                                                    "UpdateDebtor",
                                                    "GetDebtor",
                                                    "ListDebtors",
                                                    "ListReadyToInvoice",
                                                    "ListBackorders",
                                                    "GetBackorderHistory"};
  return kNames[static_cast<int>(rpc)];
}

std::unique_ptr<google::protobuf::Message> NewRequest(Rpc rpc) {
  switch (rpc) {
    case Rpc::kCreateInvoice:
      return std::make_unique<pb::CreateInvoiceRequest>();
    case Rpc::kGetInvoice:
      return std::make_unique<pb::GetInvoiceRequest>();
    case Rpc::kListInvoices:
      return std::make_unique<pb::ListInvoicesRequest>();
    case Rpc::kAddPartLine:
      return std::make_unique<pb::AddPartLineRequest>();
    case Rpc::kAdjustPartLine:
      return std::make_unique<pb::AdjustPartLineRequest>();
    case Rpc::kAddChargeLine:
      return std::make_unique<pb::AddChargeLineRequest>();
    case Rpc::kListReadyBackorders:
      return std::make_unique<pb::ListReadyBackordersRequest>();
    case Rpc::kAddBackorderLines:
      return std::make_unique<pb::AddBackorderLinesRequest>();
    case Rpc::kFinaliseInvoice:
      return std::make_unique<pb::FinaliseInvoiceRequest>();
    case Rpc::kAbandonInvoice:
      return std::make_unique<pb::AbandonInvoiceRequest>();
    case Rpc::kGetBackorder:
      return std::make_unique<pb::GetBackorderRequest>();
    case Rpc::kCancelBackorder:
      return std::make_unique<pb::CancelBackorderRequest>();
    case Rpc::kCreateStockOrder:
      return std::make_unique<pb::CreateStockOrderRequest>();
    case Rpc::kGetStockOrder:
      return std::make_unique<pb::GetStockOrderRequest>();
    case Rpc::kListStockOrders:
      return std::make_unique<pb::ListStockOrdersRequest>();
    case Rpc::kGetBackorders:
      return std::make_unique<pb::GetBackordersRequest>();
    case Rpc::kAddBackorderLinesToOrder:
      return std::make_unique<pb::AddBackorderLinesToOrderRequest>();
    case Rpc::kAddStockLine:
      return std::make_unique<pb::AddStockLineRequest>();
    case Rpc::kFinaliseStockOrder:
      return std::make_unique<pb::FinaliseStockOrderRequest>();
    case Rpc::kGetPurchasingBackorder:
      return std::make_unique<pb::GetPurchasingBackorderRequest>();
    case Rpc::kUpsertPart:
      return std::make_unique<pb::UpsertPartRequest>();
    case Rpc::kGetPart:
      return std::make_unique<pb::GetPartRequest>();
    case Rpc::kListParts:
      return std::make_unique<pb::ListPartsRequest>();
    case Rpc::kAdjustStock:
      return std::make_unique<pb::AdjustStockRequest>();
    case Rpc::kGetStock:
      return std::make_unique<pb::GetStockRequest>();
    case Rpc::kHoldStock:
      return std::make_unique<pb::HoldStockRequest>();
    case Rpc::kReleaseHold:
      return std::make_unique<pb::ReleaseHoldRequest>();
    case Rpc::kProcessCreditorInvoice:
      return std::make_unique<pb::ProcessCreditorInvoiceRequest>();
    case Rpc::kCreateDebtor:
      return std::make_unique<pb::CreateDebtorRequest>();
    case Rpc::kUpdateDebtor:
      return std::make_unique<pb::UpdateDebtorRequest>();
    case Rpc::kGetDebtor:
      return std::make_unique<pb::GetDebtorRequest>();
    case Rpc::kListDebtors:
      return std::make_unique<pb::ListDebtorsRequest>();
    case Rpc::kListReadyToInvoice:
      return std::make_unique<pb::ListReadyToInvoiceRequest>();
    case Rpc::kListBackorders:
      return std::make_unique<pb::ListBackordersRequest>();
    case Rpc::kGetBackorderHistory:
      return std::make_unique<pb::GetBackorderHistoryRequest>();
  }
  return nullptr;
}

int StateRank(pb::BackorderState state) {
  switch (state) {
    case pb::BACKORDER_STATE_OPEN:
      return 1;
    case pb::BACKORDER_STATE_ON_ORDER:
      return 2;
    case pb::BACKORDER_STATE_PARTLY_FILLED:
      return 3;
    case pb::BACKORDER_STATE_FILLED:
      return 4;
    case pb::BACKORDER_STATE_INVOICED:
      return 5;
    case pb::BACKORDER_STATE_CANCELLED:
      return 6;
    default:
      return 0;
  }
}

Workflow::Workflow(absl::Time start) : now_(start) {}

absl::Status Workflow::Handle(Rpc rpc, const google::protobuf::Message& request) {
  now_ += absl::Minutes(1);
  absl::Status s = Dispatch(rpc, request);
  ++answers_[absl::StatusCodeToString(s.code())];
  // What is final now is frozen: Violations() compares it with what it becomes.
  for (const auto& [id, invoice] : invoices_) {
    if (invoice.status() != pb::INVOICE_STATUS_DRAFT && !final_invoices_.contains(id)) {
      final_invoices_[id] = invoice.SerializeAsString();
    }
  }
  for (const auto& [id, order] : orders_) {
    if (order.status() == pb::STOCK_ORDER_STATUS_PLACED && !placed_orders_.contains(id)) {
      placed_orders_[id] = order.SerializeAsString();
    }
  }
  // The services answer only these; anything else (INTERNAL above all) is a bug.
  switch (s.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      break;
    default:
      broken_.push_back(absl::StrCat(RpcName(rpc), " answered ", s.ToString()));
  }
  return s;
}

void Workflow::Advance(absl::Duration later) {
  now_ += later;
  std::vector<LedgerKey> keys;
  for (const auto& [key, ledger] : ledgers_) keys.push_back(key);
  for (const LedgerKey& key : keys) {
    RunLedger(key.first, key.second, rcv::ExpireHolds{now_}).IgnoreError();
  }
}

absl::Status Workflow::Dispatch(Rpc rpc, const google::protobuf::Message& m) {
  switch (rpc) {
    case Rpc::kCreateInvoice:
      return CreateInvoice(As<pb::CreateInvoiceRequest>(m));
    case Rpc::kGetInvoice: {
      const auto& r = As<pb::GetInvoiceRequest>(m);
      if (auto s = CheckId("invoice_id", r.invoice_id()); !s.ok()) return s;
      return invoices_.contains(r.invoice_id()) ? absl::OkStatus() : absl::NotFoundError("invoice");
    }
    case Rpc::kListInvoices:
      return ListInvoices(As<pb::ListInvoicesRequest>(m));
    case Rpc::kAddPartLine:
      return AddPartLine(As<pb::AddPartLineRequest>(m));
    case Rpc::kAdjustPartLine:
      return AdjustPartLine(As<pb::AdjustPartLineRequest>(m));
    case Rpc::kAddChargeLine:
      return AddChargeLine(As<pb::AddChargeLineRequest>(m));
    case Rpc::kListReadyBackorders:
      return ListReadyBackorders(As<pb::ListReadyBackordersRequest>(m));
    case Rpc::kAddBackorderLines:
      return AddBackorderLines(As<pb::AddBackorderLinesRequest>(m));
    case Rpc::kFinaliseInvoice:
      return FinaliseInvoice(As<pb::FinaliseInvoiceRequest>(m));
    case Rpc::kAbandonInvoice:
      return AbandonInvoice(As<pb::AbandonInvoiceRequest>(m));
    case Rpc::kGetBackorder: {
      const auto& r = As<pb::GetBackorderRequest>(m);
      if (auto s = CheckId("backorder_id", r.backorder_id()); !s.ok()) return s;
      return invoicing_views_.contains(r.backorder_id()) ? absl::OkStatus()
                                                         : absl::NotFoundError("back order");
    }
    case Rpc::kCancelBackorder:
      return CancelBackorder(As<pb::CancelBackorderRequest>(m));
    case Rpc::kCreateStockOrder:
      return CreateStockOrder(As<pb::CreateStockOrderRequest>(m));
    case Rpc::kGetStockOrder: {
      const auto& r = As<pb::GetStockOrderRequest>(m);
      if (auto s = purchasing::CheckRequest(r); !s.ok()) return s;
      return orders_.contains(r.stock_order_id()) ? absl::OkStatus()
                                                  : absl::NotFoundError("stock order");
    }
    case Rpc::kListStockOrders:
      return ListStockOrders(As<pb::ListStockOrdersRequest>(m));
    case Rpc::kGetBackorders:
      return GetBackorders(As<pb::GetBackordersRequest>(m));
    case Rpc::kAddBackorderLinesToOrder:
      return AddBackorderLinesToOrder(As<pb::AddBackorderLinesToOrderRequest>(m));
    case Rpc::kAddStockLine:
      return AddStockLine(As<pb::AddStockLineRequest>(m));
    case Rpc::kFinaliseStockOrder:
      return FinaliseStockOrder(As<pb::FinaliseStockOrderRequest>(m));
    case Rpc::kGetPurchasingBackorder: {
      const auto& r = As<pb::GetPurchasingBackorderRequest>(m);
      if (auto s = purchasing::CheckRequest(r); !s.ok()) return s;
      return purchasing_views_.contains(r.backorder_id()) ? absl::OkStatus()
                                                          : absl::NotFoundError("back order");
    }
    case Rpc::kUpsertPart:
      return UpsertPart(As<pb::UpsertPartRequest>(m));
    case Rpc::kGetPart: {
      const auto& r = As<pb::GetPartRequest>(m);
      if (auto s = CheckId("part_number", r.part_number()); !s.ok()) return s;
      return parts_.contains(r.part_number()) ? absl::OkStatus() : absl::NotFoundError("part");
    }
    case Rpc::kListParts:
      return ListParts(As<pb::ListPartsRequest>(m));
    case Rpc::kAdjustStock:
      return AdjustStock(As<pb::AdjustStockRequest>(m));
    case Rpc::kGetStock:
      return GetStock(As<pb::GetStockRequest>(m));
    case Rpc::kHoldStock:
      return HoldStock(As<pb::HoldStockRequest>(m));
    case Rpc::kReleaseHold:
      return ReleaseHold(As<pb::ReleaseHoldRequest>(m));
    case Rpc::kProcessCreditorInvoice:
      return ProcessCreditorInvoice(As<pb::ProcessCreditorInvoiceRequest>(m));
    case Rpc::kCreateDebtor: {
      const auto& r = As<pb::CreateDebtorRequest>(m);
      return WriteDebtor(r.request_id(), r.debtor(), /*must_exist=*/false);
    }
    case Rpc::kUpdateDebtor: {
      const auto& r = As<pb::UpdateDebtorRequest>(m);
      return WriteDebtor(r.request_id(), r.debtor(), /*must_exist=*/true);
    }
    case Rpc::kGetDebtor: {
      const auto& r = As<pb::GetDebtorRequest>(m);
      if (auto s = CheckId("debtor_id", r.debtor_id()); !s.ok()) return s;
      return debtors_.contains(r.debtor_id()) ? absl::OkStatus() : absl::NotFoundError("debtor");
    }
    case Rpc::kListDebtors:
      return ListDebtors(As<pb::ListDebtorsRequest>(m));
    case Rpc::kListReadyToInvoice:
      return ListReadyToInvoice(As<pb::ListReadyToInvoiceRequest>(m));
    case Rpc::kListBackorders:
      return ListBackorders(As<pb::ListBackordersRequest>(m));
    case Rpc::kGetBackorderHistory: {
      const auto& r = As<pb::GetBackorderHistoryRequest>(m);
      return CheckId("backorder_id", r.backorder_id());
    }
  }
  return absl::InternalError("unknown rpc");
}

// ---- invoicing ----

absl::Status Workflow::CreateInvoice(const pb::CreateInvoiceRequest& r) {
  absl::Status valid = FirstError({
      CheckRequestId(r.request_id()),
      CheckId("branch_id", r.branch_id()),
      r.branch_id().size() > kMaxInvoiceBranchIdLength
          ? Invalid("branch_id", "too long to name its invoices")
          : absl::OkStatus(),
      CheckId("debtor_id", r.debtor_id()),
      r.kind() == pb::INVOICE_KIND_UNSPECIFIED || !pb::InvoiceKind_IsValid(r.kind())
          ? Invalid("kind", "must be WORKSHOP, LABOUR or COUNTER")
          : absl::OkStatus(),
      CheckText("reference", r.reference(), 200, /*required=*/false),
  });
  if (!valid.ok()) return valid;
  auto debtor = invoicing_debtors_.find(r.debtor_id());
  if (debtor == invoicing_debtors_.end()) return absl::NotFoundError("debtor_id: not known");
  const int64_t n = ++invoice_counters_[r.branch_id()];
  char number[32];
  std::snprintf(number, sizeof number, "%06lld", static_cast<long long>(n));
  pb::Invoice invoice;
  invoice.set_invoice_id(absl::StrCat("INV-", r.branch_id(), "-", number));
  if (!CheckId("invoice_id", invoicing::BackorderIdFor(invoice.invoice_id(), 999)).ok()) {
    return absl::FailedPreconditionError("branch has used up its invoice numbers");
  }
  invoice.set_kind(r.kind());
  invoice.set_branch_id(r.branch_id());
  invoice.set_debtor_id(r.debtor_id());
  invoice.set_reference(r.reference());
  invoice.set_status(pb::INVOICE_STATUS_DRAFT);
  *invoice.mutable_created_at() = ToProto(now_);
  invoice.set_debtor_uses_backorders(debtor->second.use_backorders());
  if (auto s = invoicing::Reprice(&invoice, "lines"); !s.ok()) return s;  // a zero total
  invoices_[invoice.invoice_id()] = invoice;
  return absl::OkStatus();
}

absl::Status Workflow::ListInvoices(const pb::ListInvoicesRequest& r) {
  absl::Status valid = FirstError({
      CheckId("branch_id", r.branch_id(), /*required=*/false),
      CheckId("debtor_id", r.debtor_id(), /*required=*/false),
      !pb::InvoiceStatus_IsValid(r.status()) ? Invalid("status", "unknown status")
                                             : absl::OkStatus(),
  });
  if (!valid.ok()) return valid;
  if (auto size = PageSize(r.page_size()); !size.ok()) return size.status();
  return PageStart(r.page_token(), "invoice/").status();
}

absl::StatusOr<int64_t> Workflow::Hold(const std::string& branch, const std::string& part,
                                       const std::string& invoice_id, int32_t line,
                                       int64_t quantity) {
  // Receiving's HoldStock handler, as invoicing calls it (its request id is derived from the
  // clerk's and always valid here: receiving checks it like any other).
  absl::Status valid = FirstError({
      CheckBranchPart(branch, part),
      CheckId("invoice_id", invoice_id),
      CheckDocumentOfBranch("invoice_id", invoice_id, "INV-", branch),
      line < 1 ? Invalid("invoice_line", "must be at least 1") : absl::OkStatus(),
      CheckQuantity("quantity", quantity, /*allow_zero=*/true),
  });
  if (!valid.ok()) return valid;
  if (!parts_.contains(part)) return absl::NotFoundError(absl::StrCat("part ", part));
  rcv::StockLedgerState& ledger = Ledger(branch, part);
  const rcv::HoldKey key{invoice_id, line};
  const auto it = ledger.holds.find(key);
  const int64_t old = it == ledger.holds.end() ? 0 : it->second.quantity;
  const int64_t hold = std::min(quantity, ledger.free + old);
  absl::Status s;
  if (hold > 0) {
    s = RunLedger(branch, part, rcv::HoldStock{invoice_id, line, hold, now_ + kHoldTtl});
  } else if (old > 0) {
    s = RunLedger(branch, part,
                  rcv::ReleaseHold{invoice_id, line, std::string(rcv::kCauseChanged)});
  }
  if (!s.ok()) return s;
  return hold;
}

absl::Status Workflow::AddPartLine(const pb::AddPartLineRequest& r) {
  absl::Status valid = FirstError({
      CheckRequestId(r.request_id()),
      CheckId("invoice_id", r.invoice_id()),
      CheckId("part_number", r.part_number()),
      CheckQuantity("quantity_ordered", r.quantity_ordered()),
      CheckMoney("unit_price", r.unit_price(), /*required=*/false),
  });
  if (!valid.ok()) return valid;
  auto it = invoices_.find(r.invoice_id());
  if (it == invoices_.end()) return absl::NotFoundError("invoice");
  pb::Invoice invoice = it->second;
  if (invoice.status() != pb::INVOICE_STATUS_DRAFT) {
    return invoicing::AddPartLine(&invoice, {}).status();
  }
  auto debtor = invoicing_debtors_.find(invoice.debtor_id());
  const bool uses_backorders =
      debtor != invoicing_debtors_.end() && debtor->second.use_backorders();
  if (r.has_unit_price()) {
    // A price the invoice cannot take is refused before receiving is asked to hold stock.
    invoicing::PartLineFacts trial;
    trial.part_number = r.part_number();
    trial.unit_price = r.unit_price();
    trial.quantity_ordered = r.quantity_ordered();
    pb::Invoice copy = invoice;
    if (auto s = invoicing::AddPartLine(&copy, trial).status(); !s.ok()) return s;
  }
  const int32_t line = invoicing::NextLineNumber(invoice);
  auto held =
      Hold(invoice.branch_id(), r.part_number(), invoice.invoice_id(), line, r.quantity_ordered());
  if (!held.ok()) return held.status();
  const pb::Part& part = parts_.at(r.part_number());
  invoicing::PartLineFacts facts;
  facts.part_number = r.part_number();
  facts.description = part.description();
  facts.supplier_id = part.supplier_id();
  facts.unit_price = r.has_unit_price() ? r.unit_price() : part.unit_price();
  facts.quantity_ordered = r.quantity_ordered();
  facts.quantity_held = *held;
  facts.debtor_uses_backorders = uses_backorders;
  auto offer = invoicing::AddPartLine(&invoice, facts);
  if (!offer.ok()) return offer.status();  // the hold stays, as in the service (it expires)
  invoice.set_debtor_uses_backorders(uses_backorders);
  it->second = invoice;
  return absl::OkStatus();
}

absl::Status Workflow::AdjustPartLine(const pb::AdjustPartLineRequest& r) {
  absl::Status valid = FirstError({
      CheckRequestId(r.request_id()),
      CheckId("invoice_id", r.invoice_id()),
      r.line() < 1 ? Invalid("line", "must be at least 1") : absl::OkStatus(),
      CheckQuantity("quantity_supplied", r.quantity_supplied(), /*allow_zero=*/true),
      CheckQuantity("quantity_back_ordered", r.quantity_back_ordered(), /*allow_zero=*/true),
  });
  if (!valid.ok()) return valid;
  auto it = invoices_.find(r.invoice_id());
  if (it == invoices_.end()) return absl::NotFoundError("invoice");
  auto debtor = invoicing_debtors_.find(it->second.debtor_id());
  const bool uses_backorders =
      debtor != invoicing_debtors_.end() && debtor->second.use_backorders();
  pb::Invoice invoice = it->second;
  absl::Status s = invoicing::AdjustPartLine(&invoice, r.line(), r.quantity_supplied(),
                                             r.quantity_back_ordered(), uses_backorders);
  if (!s.ok()) return s;
  it->second = invoice;
  return absl::OkStatus();
}

absl::Status Workflow::AddChargeLine(const pb::AddChargeLineRequest& r) {
  absl::Status valid = FirstError({
      CheckRequestId(r.request_id()),
      CheckId("invoice_id", r.invoice_id()),
      CheckText("description", r.description(), 200, /*required=*/true),
      CheckMoney("amount", r.amount(), /*required=*/true),
  });
  if (!valid.ok()) return valid;
  auto it = invoices_.find(r.invoice_id());
  if (it == invoices_.end()) return absl::NotFoundError("invoice");
  pb::Invoice invoice = it->second;
  absl::Status s = invoicing::AddChargeLine(&invoice, r.description(), r.amount());
  if (!s.ok()) return s;
  it->second = invoice;
  return absl::OkStatus();
}

absl::Status Workflow::ListReadyBackorders(const pb::ListReadyBackordersRequest& r) {
  absl::Status valid = FirstError({CheckId("debtor_id", r.debtor_id()),
                                   CheckId("branch_id", r.branch_id(), /*required=*/false)});
  if (!valid.ok()) return valid;
  for (const auto& [id, view] : invoicing_views_) {
    if (invoicing::ReadyToInvoice(view) && Ready(view.quantities()) <= 0) {
      broken_.push_back(absl::StrCat("back order ", id, " listed ready with nothing ready"));
    }
  }
  return absl::OkStatus();
}

absl::Status Workflow::AddBackorderLines(const pb::AddBackorderLinesRequest& r) {
  absl::Status valid = FirstError({
      CheckRequestId(r.request_id()),
      CheckId("invoice_id", r.invoice_id()),
      r.backorder_ids().empty() ? Invalid("backorder_ids", "tick at least one back order")
                                : absl::OkStatus(),
      r.backorder_ids_size() > 500 ? Invalid("backorder_ids", "at most 500") : absl::OkStatus(),
  });
  if (!valid.ok()) return valid;
  std::set<std::string> seen;
  for (int i = 0; i < r.backorder_ids_size(); ++i) {
    const std::string field = absl::StrCat("backorder_ids[", i, "]");
    if (auto s = CheckId(field, r.backorder_ids(i)); !s.ok()) return s;
    if (!seen.insert(r.backorder_ids(i)).second) return Invalid(field, "ticked twice");
  }
  auto it = invoices_.find(r.invoice_id());
  if (it == invoices_.end()) return absl::NotFoundError("invoice");
  pb::Invoice invoice = it->second;
  std::map<std::string, pb::Backorder> changed;
  for (const std::string& id : r.backorder_ids()) {
    auto view = invoicing_views_.find(id);
    if (view == invoicing_views_.end()) return absl::NotFoundError(absl::StrCat("back order ", id));
    if (auto s = invoicing::AddBackorderLine(&invoice, view->second); !s.ok()) return s;
    pb::Backorder ticked = view->second;
    ticked.set_draft_invoice_id(invoice.invoice_id());
    changed[id] = ticked;
  }
  it->second = invoice;
  for (auto& [id, view] : changed) invoicing_views_[id] = view;
  return absl::OkStatus();
}

absl::Status Workflow::FinaliseInvoice(const pb::FinaliseInvoiceRequest& r) {
  absl::Status valid =
      FirstError({CheckRequestId(r.request_id()), CheckId("invoice_id", r.invoice_id())});
  if (!valid.ok()) return valid;
  auto it = invoices_.find(r.invoice_id());
  if (it == invoices_.end()) return absl::NotFoundError("invoice");
  const pb::Invoice invoice = it->second;
  if (invoice.status() != pb::INVOICE_STATUS_DRAFT) {
    return invoicing::Finalise(invoice, {}, now_).status();
  }
  // Confirm each part line's hold at what it supplies.
  for (const pb::InvoiceLineView& line : invoice.lines()) {
    if (line.part_number().empty() || !line.fulfils_backorder_id().empty()) continue;
    auto held = Hold(invoice.branch_id(), line.part_number(), invoice.invoice_id(), line.line(),
                     line.quantity_supplied());
    if (!held.ok()) return held.status();
    if (*held < line.quantity_supplied()) {
      return absl::FailedPreconditionError(absl::StrCat("line ", line.line(), ": only ", *held));
    }
  }
  std::map<std::string, pb::Backorder> backorders;
  for (const pb::InvoiceLineView& line : invoice.lines()) {
    if (line.fulfils_backorder_id().empty()) continue;
    auto view = invoicing_views_.find(line.fulfils_backorder_id());
    if (view != invoicing_views_.end()) backorders[view->first] = view->second;
  }
  auto decided = invoicing::Finalise(invoice, backorders, now_);
  if (!decided.ok()) return decided.status();
  it->second = decided->invoice;
  std::vector<Event> published;
  for (Event& e : decided->invoice_events) published.push_back(e);
  for (auto& [id, e] : decided->backorder_events) {
    pb::Backorder view = backorders.count(id) ? backorders[id] : pb::Backorder();
    view.clear_draft_invoice_id();
    e.set_event_id(absl::StrCat("E", ++event_counter_));
    *e.mutable_occurred_at() = ToProto(now_);
    ApplyToView(&view, e);
    invoicing_views_[id] = view;
    published.push_back(e);
  }
  for (Event& e : published) Publish(std::move(e));
  return absl::OkStatus();
}

absl::Status Workflow::AbandonInvoice(const pb::AbandonInvoiceRequest& r) {
  absl::Status valid =
      FirstError({CheckRequestId(r.request_id()), CheckId("invoice_id", r.invoice_id())});
  if (!valid.ok()) return valid;
  auto it = invoices_.find(r.invoice_id());
  if (it == invoices_.end()) return absl::NotFoundError("invoice");
  auto abandoned = invoicing::Abandon(it->second);
  if (!abandoned.ok()) return abandoned.status();
  for (const pb::InvoiceLineView& line : it->second.lines()) {
    if (line.part_number().empty() || !line.fulfils_backorder_id().empty()) continue;
    auto released =
        Hold(it->second.branch_id(), line.part_number(), it->second.invoice_id(), line.line(), 0);
    if (!released.ok()) return released.status();
  }
  for (const pb::InvoiceLineView& line : it->second.lines()) {
    auto view = invoicing_views_.find(line.fulfils_backorder_id());
    if (line.fulfils_backorder_id().empty() || view == invoicing_views_.end()) continue;
    view->second.clear_draft_invoice_id();
  }
  it->second = *abandoned;
  return absl::OkStatus();
}

absl::Status Workflow::CancelBackorder(const pb::CancelBackorderRequest& r) {
  absl::Status valid = FirstError({
      CheckRequestId(r.request_id()),
      CheckId("backorder_id", r.backorder_id()),
      CheckText("reason", r.reason(), 500, /*required=*/true),
  });
  if (!valid.ok()) return valid;
  auto view = invoicing_views_.find(r.backorder_id());
  if (view == invoicing_views_.end()) return absl::NotFoundError("back order");
  auto event = invoicing::Cancel(view->second, r.reason());
  if (!event.ok()) return event.status();
  event->set_event_id(absl::StrCat("E", ++event_counter_));
  *event->mutable_occurred_at() = ToProto(now_);
  ApplyToView(&view->second, *event);
  Publish(*event);
  return absl::OkStatus();
}

// ---- purchasing ----

absl::Status Workflow::CreateStockOrder(const pb::CreateStockOrderRequest& r) {
  if (auto s = purchasing::CheckRequest(r); !s.ok()) return s;
  const uint64_t n = order_counters_[r.branch_id()] + 1;
  const std::string id = purchasing::StockOrderId(r.branch_id(), n);
  if (!CheckId("stock_order_id", id).ok()) {
    return absl::FailedPreconditionError("branch has used up its stock order numbers");
  }
  order_counters_[r.branch_id()] = n;
  orders_[id] = purchasing::NewStockOrder(id, r, "clerk:model", now_);
  return absl::OkStatus();
}

absl::Status Workflow::ListStockOrders(const pb::ListStockOrdersRequest& r) {
  if (auto s = purchasing::CheckRequest(r); !s.ok()) return s;
  return PageStart(r.page_token(), "stockorders/").status();
}

absl::Status Workflow::GetBackorders(const pb::GetBackordersRequest& r) {
  if (auto s = purchasing::CheckRequest(r); !s.ok()) return s;
  if (r.page_size() != 0 || !r.page_token().empty()) {
    if (auto size = PageSize(r.page_size()); !size.ok()) return size.status();
  }
  auto order = orders_.find(r.stock_order_id());
  if (order == orders_.end()) return absl::NotFoundError("stock order");
  if (auto start = PageStart(r.page_token(), "open/" + order->second.branch_id() + "/");
      !start.ok()) {
    return start.status();
  }
  for (const auto& [id, view] : purchasing_views_) {
    if (purchasing::ListedFor(view, order->second, r.this_supplier_only()) &&
        !purchasing::CheckOrderable(view, order->second).ok()) {
      broken_.push_back(absl::StrCat("back order ", id, " listed but not orderable"));
    }
  }
  return absl::OkStatus();
}

absl::Status Workflow::AddBackorderLinesToOrder(const pb::AddBackorderLinesToOrderRequest& r) {
  if (auto s = purchasing::CheckRequest(r); !s.ok()) return s;
  auto order = orders_.find(r.stock_order_id());
  if (order == orders_.end()) return absl::NotFoundError("stock order");
  if (auto s = purchasing::CheckDraft(order->second); !s.ok()) return s;
  std::vector<pb::Backorder> ticked;
  for (const std::string& id : r.backorder_ids()) {
    auto view = purchasing_views_.find(id);
    if (view == purchasing_views_.end())
      return absl::NotFoundError(absl::StrCat("back order ", id));
    ticked.push_back(view->second);
  }
  auto changed = purchasing::AddBackorders(order->second, ticked);
  if (!changed.ok()) return changed.status();
  order->second = *changed;
  return absl::OkStatus();
}

absl::Status Workflow::AddStockLine(const pb::AddStockLineRequest& r) {
  if (auto s = purchasing::CheckRequest(r); !s.ok()) return s;
  auto order = orders_.find(r.stock_order_id());
  if (order == orders_.end()) return absl::NotFoundError("stock order");
  auto changed = purchasing::AddShelfStock(order->second, r.part_number(), r.quantity());
  if (!changed.ok()) return changed.status();
  order->second = *changed;
  return absl::OkStatus();
}

absl::Status Workflow::FinaliseStockOrder(const pb::FinaliseStockOrderRequest& r) {
  if (auto s = purchasing::CheckRequest(r); !s.ok()) return s;
  auto draft = orders_.find(r.stock_order_id());
  if (draft == orders_.end()) return absl::NotFoundError("stock order");
  std::map<std::string, pb::Backorder> views;
  for (const auto& line : draft->second.lines()) {
    for (const auto& b : line.backorders()) {
      auto view = purchasing_views_.find(b.backorder_id());
      if (view != purchasing_views_.end()) views.emplace(view->first, view->second);
    }
  }
  auto placement = purchasing::Finalise(draft->second, views, now_);
  if (!placement.ok()) return placement.status();
  placement->event.set_event_id(absl::StrCat("E", ++event_counter_));
  draft->second = placement->order;
  for (const auto& [id, line] : placement->on_order) {
    MarkOnOrder(&purchasing_views_[id], draft->first, line, placement->event.occurred_at());
    Observe(id);
  }
  Publish(placement->event);
  return absl::OkStatus();
}

// ---- receiving ----

absl::Status Workflow::UpsertPart(const pb::UpsertPartRequest& r) {
  const pb::Part& in = r.part();
  absl::Status valid = FirstError({
      CheckRequestId(r.request_id()),
      CheckId("part.part_number", in.part_number()),
      CheckText("part.description", in.description(), 200, /*required=*/false),
      CheckId("part.supplier_id", in.supplier_id()),
      CheckMoney("part.unit_price", in.unit_price(), /*required=*/true),
  });
  if (!valid.ok()) return valid;
  parts_[in.part_number()] = in;
  return absl::OkStatus();
}

absl::Status Workflow::ListParts(const pb::ListPartsRequest& r) {
  if (auto size = PageSize(r.page_size()); !size.ok()) return size.status();
  return PageStart(r.page_token(), "part/").status();
}

absl::Status Workflow::AdjustStock(const pb::AdjustStockRequest& r) {
  absl::Status valid = FirstError({
      CheckRequestId(r.request_id()),
      CheckBranchPart(r.branch_id(), r.part_number()),
      r.delta() == 0 ? Invalid("delta", "must not be 0") : absl::OkStatus(),
      r.delta() < -kMaxRequestQuantity || r.delta() > kMaxRequestQuantity
          ? Invalid("delta", "out of range")
          : absl::OkStatus(),
      CheckText("reason", r.reason(), 200, /*required=*/true),
  });
  if (!valid.ok()) return valid;
  if (!parts_.contains(r.part_number())) return absl::NotFoundError("part");
  return RunLedger(r.branch_id(), r.part_number(), rcv::AdjustStock{r.delta(), r.reason()});
}

absl::Status Workflow::GetStock(const pb::GetStockRequest& r) {
  if (auto s = CheckBranchPart(r.branch_id(), r.part_number()); !s.ok()) return s;
  return parts_.contains(r.part_number()) ? absl::OkStatus() : absl::NotFoundError("part");
}

absl::Status Workflow::HoldStock(const pb::HoldStockRequest& r) {
  if (auto s = CheckRequestId(r.request_id()); !s.ok()) return s;
  return Hold(r.branch_id(), r.part_number(), r.invoice_id(), r.invoice_line(), r.quantity())
      .status();
}

absl::Status Workflow::ReleaseHold(const pb::ReleaseHoldRequest& r) {
  absl::Status valid = FirstError({
      CheckRequestId(r.request_id()),
      CheckBranchPart(r.branch_id(), r.part_number()),
      CheckId("invoice_id", r.invoice_id()),
      CheckDocumentOfBranch("invoice_id", r.invoice_id(), "INV-", r.branch_id()),
      r.invoice_line() < 1 ? Invalid("invoice_line", "must be at least 1") : absl::OkStatus(),
  });
  if (!valid.ok()) return valid;
  const rcv::StockLedgerState& ledger = Ledger(r.branch_id(), r.part_number());
  if (!ledger.holds.contains({r.invoice_id(), r.invoice_line()})) return absl::OkStatus();
  return RunLedger(
      r.branch_id(), r.part_number(),
      rcv::ReleaseHold{r.invoice_id(), r.invoice_line(), std::string(rcv::kCauseAbandoned)});
}

absl::Status Workflow::ProcessCreditorInvoice(const pb::ProcessCreditorInvoiceRequest& r) {
  absl::Status valid = FirstError({
      CheckRequestId(r.request_id()),
      CheckId("branch_id", r.branch_id()),
      CheckId("creditor_invoice_id", r.creditor_invoice_id()),
      CheckId("supplier_id", r.supplier_id()),
      CheckId("stock_order_id", r.stock_order_id(), /*required=*/false),
      CheckDocumentOfBranch("stock_order_id", r.stock_order_id(), "SO-", r.branch_id()),
      r.lines().empty() ? Invalid("lines", "at least one line is required") : absl::OkStatus(),
      r.lines_size() > 1000 ? Invalid("lines", "at most 1000 lines") : absl::OkStatus(),
  });
  if (!valid.ok()) return valid;
  std::set<std::string> parts;
  for (int i = 0; i < r.lines_size(); ++i) {
    const auto& line = r.lines(i);
    const std::string field = absl::StrCat("lines[", i, "]");
    absl::Status s = FirstError({CheckId(field + ".part_number", line.part_number()),
                                 CheckQuantity(field + ".quantity", line.quantity()),
                                 CheckMoney(field + ".unit_cost", line.unit_cost(), false)});
    if (!s.ok()) return s;
    if (!parts.insert(line.part_number()).second) return Invalid(field + ".part_number", "twice");
    if (!parts_.contains(line.part_number())) return absl::NotFoundError(field + ".part_number");
  }
  const std::string key = absl::StrCat(r.supplier_id(), "/", r.creditor_invoice_id());
  if (creditor_invoices_.contains(key)) return absl::AlreadyExistsError("creditor invoice");
  // Every line is decided before any is applied: the service commits all lines or none.
  for (const auto& line : r.lines()) {
    auto events =
        rcv::Decide(Ledger(r.branch_id(), line.part_number()),
                    rcv::ReceiveStock{line.quantity(), r.creditor_invoice_id(), r.stock_order_id(),
                                      line.unit_cost(), r.supplier_id()});
    if (!events.ok()) return events.status();
  }
  creditor_invoices_.insert(key);
  for (const auto& line : r.lines()) {
    RunLedger(r.branch_id(), line.part_number(),
              rcv::ReceiveStock{line.quantity(), r.creditor_invoice_id(), r.stock_order_id(),
                                line.unit_cost(), r.supplier_id()})
        .IgnoreError();
  }
  return absl::OkStatus();
}

rcv::StockLedgerState& Workflow::Ledger(const std::string& branch, const std::string& part) {
  auto [it, inserted] = ledgers_.try_emplace({branch, part});
  if (inserted) it->second = rcv::NewStockLedger(branch, part);
  return it->second;
}

absl::Status Workflow::RunLedger(const std::string& branch, const std::string& part,
                                 const rcv::Command& about) {
  rcv::StockLedgerState& ledger = Ledger(branch, part);
  rcv::Command command = about;
  if (closed_backorders_.contains(rcv::BackorderOf(command))) rcv::MarkClosed(&command);
  auto events = rcv::Decide(ledger, command);
  if (!events.ok()) return events.status();
  for (rcv::Event& e : *events) {
    ledger = rcv::Apply(std::move(ledger), e);
    if (std::string id = rcv::ClosedBy(ledger, e); !id.empty()) closed_backorders_.insert(id);
    if (absl::Status s = rcv::CheckInvariants(ledger); !s.ok()) {
      broken_.push_back(absl::StrCat(s.ToString(), " after ", e.ShortDebugString()));
    }
    e.set_event_id(absl::StrCat("E", ++event_counter_));
    if (!e.has_occurred_at()) *e.mutable_occurred_at() = ToProto(now_);
    Publish(e);
  }
  if (!events->empty()) {
    Flow& flow = flows_[{branch, part}];
    if (const auto* c = std::get_if<rcv::AdjustStock>(&command)) flow.adjusted += c->delta;
    if (const auto* c = std::get_if<rcv::ReceiveStock>(&command)) flow.received += c->quantity;
    if (const auto* c = std::get_if<rcv::IssueHeld>(&command)) flow.issued += c->quantity;
    if (const auto* c = std::get_if<rcv::IssueBackorder>(&command)) flow.issued += c->quantity;
  }
  return absl::OkStatus();
}

// ---- debtor-query ----

absl::Status Workflow::WriteDebtor(const std::string& request_id, const pb::Debtor& debtor,
                                   bool must_exist) {
  if (auto s =
          FirstError({CheckRequestId(request_id), debtor_query::ValidateDebtor(debtor, "debtor")});
      !s.ok()) {
    return s;
  }
  const bool exists = debtors_.contains(debtor.debtor_id());
  if (must_exist && !exists) return absl::NotFoundError("debtor");
  if (!must_exist && exists) return absl::AlreadyExistsError("debtor");
  pb::Debtor record = debtor;
  *record.mutable_updated_at() = ToProto(now_);
  debtors_[debtor.debtor_id()] = record;
  Event e = debtor_query::DebtorUpdatedEvent(record);
  e.set_event_id(absl::StrCat("E", ++event_counter_));
  *e.mutable_occurred_at() = ToProto(now_);
  Publish(std::move(e));
  return absl::OkStatus();
}

absl::Status Workflow::ListDebtors(const pb::ListDebtorsRequest& r) {
  if (auto size = PageSize(r.page_size()); !size.ok()) return size.status();
  return PageStart(r.page_token(), "debtor/").status();
}

absl::Status Workflow::ListReadyToInvoice(const pb::ListReadyToInvoiceRequest& r) {
  if (auto s = FirstError({CheckId("branch_id", r.branch_id(), /*required=*/false),
                           CheckId("debtor_id", r.debtor_id(), /*required=*/false)});
      !s.ok()) {
    return s;
  }
  std::vector<pb::Backorder> views;
  for (const auto& [id, view] : dq_views_) views.push_back(view);
  int64_t lines = 0;
  for (const pb::ReadyInvoice& invoice : debtor_query::GroupReadyToInvoice(views)) {
    for (const pb::ReadyLine& line : invoice.lines()) {
      ++lines;
      if (line.quantity_ready() <= 0) broken_.push_back("a ready line with nothing ready");
    }
  }
  int64_t ready = 0;
  for (const auto& v : views) {
    if (Ready(v.quantities()) > 0 && v.state() != pb::BACKORDER_STATE_CANCELLED) ++ready;
  }
  if (lines != ready) {
    broken_.push_back(
        absl::StrCat("ready to invoice lists ", lines, " lines for ", ready, " ready back orders"));
  }
  return absl::OkStatus();
}

absl::Status Workflow::ListBackorders(const pb::ListBackordersRequest& r) {
  auto filter = debtor_query::FilterOf(r);
  if (!filter.ok()) return filter.status();
  if (auto size = PageSize(r.page_size()); !size.ok()) return size.status();
  const std::string prefix = filter->branch_id.empty()
                                 ? std::string("age/")
                                 : absl::StrCat("branch-age/", filter->branch_id, "/");
  if (auto start = PageStart(r.page_token(), prefix); !start.ok()) return start.status();
  for (const auto& [id, view] : dq_views_) {
    if (debtor_query::Matches(*filter, view, now_) && debtor_query::AgeDays(view, now_) < 0) {
      broken_.push_back("negative age");
    }
  }
  return absl::OkStatus();
}

// ---- delivery ----

void Workflow::Publish(Event event) {
  queue_.push_back(std::move(event));
  if (delivering_) return;  // the loop below takes it in turn
  delivering_ = true;
  for (size_t i = 0; i < queue_.size(); ++i) {
    const Event e = queue_[i];  // a copy: delivering may publish more
    Deliver(e);
  }
  queue_.clear();
  delivering_ = false;
}

void Workflow::Deliver(const Event& e) {
  published_.push_back(e);
  const std::string id = BackorderIdOf(e);
  if (!id.empty()) backorder_events_[id].push_back(e);
  if (e.has_stock_order_placed()) {
    std::set<std::string> covered;
    for (const auto& line : e.stock_order_placed().lines()) {
      for (const auto& b : line.backorders()) covered.insert(b.backorder_id());
    }
    for (const std::string& b : covered) backorder_events_[b].push_back(e);
  }
  ReactReceiving(e);
  ApplyToViews(e);
}

void Workflow::ReactReceiving(const Event& e) {
  switch (e.payload_case()) {
    case Event::kBackorderCreated: {
      const auto& p = e.backorder_created();
      RunLedger(p.context().branch_id(), p.context().part_number(),
                rcv::RegisterBackorder{p.context(), p.quantity(), FromProto(e.occurred_at())})
          .IgnoreError();
      break;
    }
    case Event::kBackorderCancelled: {
      const auto& p = e.backorder_cancelled();
      RunLedger(p.context().branch_id(), p.context().part_number(),
                rcv::CancelBackorder{p.context().backorder_id(), e.reason()})
          .IgnoreError();
      break;
    }
    case Event::kBackorderInvoiced: {
      const auto& p = e.backorder_invoiced();
      absl::Status s =
          RunLedger(p.context().branch_id(), p.context().part_number(),
                    rcv::IssueBackorder{p.context().backorder_id(), p.invoicing_invoice_id(),
                                        p.invoicing_line(), p.quantity()});
      // Invoicing invoiced only what was ready: receiving must be able to issue it.
      if (!s.ok())
        broken_.push_back(
            absl::StrCat("receiving refused ", e.ShortDebugString(), ": ", s.ToString()));
      break;
    }
    case Event::kInvoiceFinalised: {
      const auto& p = e.invoice_finalised();
      for (const auto& line : p.lines()) {
        if (line.quantity_supplied() <= 0 || !line.fulfils_backorder_id().empty() ||
            line.part_number().empty()) {
          continue;
        }
        const rcv::IssueHeld issue{p.invoice_id(), line.line(), line.quantity_supplied()};
        absl::Status s = RunLedger(p.branch_id(), line.part_number(), issue);
        if (absl::IsNotFound(s)) {
          // The hold expired before the invoice arrived: hold it again and issue it at once.
          if (RunLedger(
                  p.branch_id(), line.part_number(),
                  rcv::HoldStock{issue.invoice_id, issue.line, issue.quantity, now_ + kHoldTtl})
                  .ok()) {
            s = RunLedger(p.branch_id(), line.part_number(), issue);
          }
        }
        // Finalising confirmed the hold a moment ago, in the same call: it must still be there.
        if (!s.ok())
          broken_.push_back(absl::StrCat("receiving could not issue ", p.invoice_id(), " line ",
                                         line.line(), ": ", s.ToString()));
      }
      break;
    }
    default:
      break;
  }
}

void Workflow::ApplyToViews(const Event& e) {
  switch (e.payload_case()) {
    case Event::kDebtorUpdated:
      if (CheckId("debtor_id", e.debtor_updated().debtor_id()).ok()) {
        pb::Debtor d;
        d.set_debtor_id(e.debtor_updated().debtor_id());
        d.set_use_backorders(e.debtor_updated().use_backorders());
        invoicing_debtors_[d.debtor_id()] = d;
      }
      return;
    case Event::kBackorderCreated:
    case Event::kBackorderCancelled:
    case Event::kBackorderInvoiced:
    case Event::kBackorderFilled: {
      const std::string id = BackorderIdOf(e);
      // Invoicing applied its own events when it decided them; it reacts only to fills.
      if (e.has_backorder_filled()) ApplyToView(&invoicing_views_[id], e);
      if (CheckId("backorder_id", id).ok()) ApplyToView(&purchasing_views_[id], e);
      if (!id.empty()) ApplyToView(&dq_views_[id], e);
      Observe(id);
      return;
    }
    case Event::kStockOrderPlaced: {
      const auto& p = e.stock_order_placed();
      std::map<std::string, int32_t> lines;  // debtor-query: the last line naming each
      for (const auto& line : p.lines()) {
        for (const auto& covered : line.backorders()) {
          auto view = invoicing_views_.find(covered.backorder_id());
          if (view != invoicing_views_.end()) {
            MarkOnOrder(&view->second, p.stock_order_id(), line.line(), e.occurred_at());
          }
          if (!covered.backorder_id().empty()) lines[covered.backorder_id()] = line.line();
        }
      }
      for (const auto& [id, line] : lines) {
        MarkOnOrder(&dq_views_[id], p.stock_order_id(), line, e.occurred_at());
        Observe(id);
      }
      return;
    }
    default:
      return;
  }
}

void Workflow::Observe(const std::string& id) {
  for (const auto* views : {&invoicing_views_, &purchasing_views_, &dq_views_}) {
    auto it = views->find(id);
    if (it == views->end()) continue;
    const pb::Backorder& v = it->second;
    const char* who = views == &invoicing_views_    ? "invoicing"
                      : views == &purchasing_views_ ? "purchasing"
                                                    : "debtor-query";
    const std::string slot = absl::StrCat(who, "/", id);
    std::vector<pb::BackorderState>& seen = states_seen_[slot];
    if (!seen.empty() && StateRank(v.state()) < StateRank(seen.back())) {
      broken_.push_back(absl::StrCat(who, ": back order ", id, " went back from ",
                                     StateName(seen.back()), " to ", StateName(v.state())));
    }
    if (seen.empty() || seen.back() != v.state()) seen.push_back(v.state());
    // A final back order never changes again: its quantities and state are frozen.
    pb::Backorder frozen;
    *frozen.mutable_quantities() = v.quantities();
    frozen.set_state(v.state());
    auto was = final_views_.find(slot);
    if (was != final_views_.end() && was->second != frozen.ShortDebugString()) {
      broken_.push_back(absl::StrCat(who, ": back order ", id, " changed after it was final: ",
                                     was->second, " -> ", frozen.ShortDebugString()));
    }
    if (was == final_views_.end() && Final(v.state())) {
      final_views_[slot] = frozen.ShortDebugString();
    }
  }
}

// ---- the rules ----

std::vector<std::string> Workflow::Violations() const {
  std::vector<std::string> out = broken_;
  auto fail = [&](auto&&... parts) { out.push_back(absl::StrCat(parts...)); };

  // Guarantee 5, per (branch, part), by the ledger's own rule and by the commands' figures.
  for (const auto& [key, ledger] : ledgers_) {
    if (absl::Status s = rcv::CheckInvariants(ledger); !s.ok()) fail(s.ToString());
    auto flow = flows_.find(key);
    const Flow f = flow == flows_.end() ? Flow{} : flow->second;
    if (f.received + f.adjusted - f.issued != ledger.on_hand) {
      fail("ledger ", Key(key), ": received ", f.received, " + adjusted ", f.adjusted, " - issued ",
           f.issued, " != on hand ", ledger.on_hand);
    }
  }

  // Guarantee 6: every service's view agrees, with each other and with the ledger.
  std::set<std::string> ids;
  for (const auto& [id, v] : invoicing_views_) ids.insert(id);
  for (const auto& [id, v] : purchasing_views_) ids.insert(id);
  for (const auto& [id, v] : dq_views_) ids.insert(id);
  for (const std::string& id : ids) {
    auto in = invoicing_views_.find(id);
    auto pu = purchasing_views_.find(id);
    auto dq = dq_views_.find(id);
    if (in == invoicing_views_.end() || pu == purchasing_views_.end() || dq == dq_views_.end()) {
      fail("back order ", id, " is not known to every service");
      continue;
    }
    if (Shared(in->second) != Shared(dq->second) || Shared(pu->second) != Shared(dq->second)) {
      fail("back order ", id, " differs between services:\n  invoicing    ", Shared(in->second),
           "\n  purchasing   ", Shared(pu->second), "\n  debtor-query ", Shared(dq->second));
    }
    const pb::Backorder& v = dq->second;
    const pb::BackorderQuantities& q = v.quantities();
    if (v.state() != DeriveState(q, !v.stock_order_id().empty())) {
      fail("back order ", id, " stores state ", StateName(v.state()),
           " its quantities do not give");
    }
    if (q.filled() > q.back_ordered() || q.invoiced() > q.filled() || q.filled() < 0 ||
        q.invoiced() < 0 || q.back_ordered() <= 0 || q.cancelled() < 0) {
      fail("back order ", id, " has impossible quantities ", q.ShortDebugString());
    }
    if (!in->second.draft_invoice_id().empty()) {
      auto draft = invoices_.find(in->second.draft_invoice_id());
      if (draft == invoices_.end() || draft->second.status() != pb::INVOICE_STATUS_DRAFT) {
        fail("back order ", id, " is ticked on ", in->second.draft_invoice_id(),
             ", which is not a draft");
      }
    }
    auto ledger = ledgers_.find({v.context().branch_id(), v.context().part_number()});
    if (ledger == ledgers_.end()) {
      fail("back order ", id, " has no ledger");
      continue;
    }
    const rcv::StockLedgerState& s = ledger->second;
    const rcv::OpenBackorder* open = nullptr;
    for (const rcv::OpenBackorder& b : s.backorders) {
      if (b.context.backorder_id() == id) open = &b;
    }
    if (open != nullptr) {
      if (open->quantities.back_ordered != q.back_ordered() ||
          open->quantities.filled != q.filled() || open->quantities.invoiced != q.invoiced() ||
          Final(v.state())) {
        fail("back order ", id, " is ", q.ShortDebugString(), " ", StateName(v.state()),
             " in the views but back_ordered ", open->quantities.back_ordered, " filled ",
             open->quantities.filled, " invoiced ", open->quantities.invoiced, " in the ledger");
      }
    } else if (closed_backorders_.contains(id)) {
      if (!Final(v.state()))
        fail("back order ", id, " is closed in the ledger but ", StateName(v.state()));
    } else {
      fail("back order ", id, " is not known to the ledger");
    }
  }

  // Invoices: the figures of every line add up, ids are usable, final ones never change.
  for (const auto& [id, invoice] : invoices_) {
    if (!CheckId("invoice_id", id).ok()) {
      fail("invoice ", id, " was given an id no request can name (",
           CheckId("invoice_id", id).message(), ")");
    }
    __int128 total = 0;
    for (const pb::InvoiceLineView& l : invoice.lines()) {
      const __int128 amount =
          static_cast<__int128>(l.quantity_supplied()) * l.unit_price().minor_units();
      total += amount;
      if (amount != l.amount().minor_units()) {
        fail("invoice ", id, " line ", l.line(), ": amount ", l.amount().minor_units(), " is not ",
             l.quantity_supplied(), " x ", l.unit_price().minor_units());
      }
      if (!l.part_number().empty() && l.fulfils_backorder_id().empty()) {
        if (l.quantity_supplied() < 0 || l.quantity_supplied() > l.quantity_available() ||
            l.quantity_available() > l.quantity_ordered() || l.quantity_back_ordered() < 0 ||
            l.quantity_lost() < 0 ||
            l.quantity_supplied() + l.quantity_back_ordered() + l.quantity_lost() !=
                l.quantity_ordered()) {
          fail("invoice ", id, " line ", l.line(), " does not add up: ", l.ShortDebugString());
        }
        if (invoice.status() == pb::INVOICE_STATUS_FINALISED && l.quantity_back_ordered() > 0) {
          if (!dq_views_.contains(l.created_backorder_id())) {
            fail("invoice ", id, " line ", l.line(), " back-ordered ", l.quantity_back_ordered(),
                 " but back order '", l.created_backorder_id(), "' is not known");
          }
          if (!CheckId("backorder_id", l.created_backorder_id()).ok()) {
            fail("back order ", l.created_backorder_id(), " has an id no request can name");
          }
        }
      }
    }
    if (total != invoice.total().minor_units()) {
      fail("invoice ", id, " total ", invoice.total().minor_units(),
           " is not the sum of its lines");
    }
    if (invoice.status() != pb::INVOICE_STATUS_DRAFT) {
      auto frozen = final_invoices_.find(id);
      if (frozen != final_invoices_.end() && frozen->second != invoice.SerializeAsString()) {
        fail("invoice ", id, " changed after it was ", pb::InvoiceStatus_Name(invoice.status()));
      }
    }
  }

  // Stock orders: lines add up, placed ones never change, a back order is on one placed order.
  std::map<std::string, std::string> placed_on;
  for (const auto& [id, order] : orders_) {
    for (const auto& line : order.lines()) {
      int64_t sum = line.shelf_quantity();
      for (const auto& b : line.backorders()) sum += b.quantity();
      if (sum != line.quantity() || line.quantity() <= 0 ||
          line.quantity() > purchasing::kMaxLineQuantity) {
        fail("stock order ", id, " line ", line.line(),
             " does not add up: ", line.ShortDebugString());
      }
      if (order.status() != pb::STOCK_ORDER_STATUS_PLACED) continue;
      for (const auto& b : line.backorders()) {
        auto [it, inserted] = placed_on.emplace(b.backorder_id(), id);
        if (!inserted) fail("back order ", b.backorder_id(), " is on ", it->second, " and ", id);
        auto view = purchasing_views_.find(b.backorder_id());
        if (view == purchasing_views_.end() || view->second.stock_order_id() != id) {
          fail("back order ", b.backorder_id(), " placed on ", id, " but its view says '",
               view == purchasing_views_.end() ? "" : view->second.stock_order_id(), "'");
        }
      }
    }
    if (order.status() == pb::STOCK_ORDER_STATUS_PLACED) {
      auto frozen = placed_orders_.find(id);
      if (frozen != placed_orders_.end() && frozen->second != order.SerializeAsString()) {
        fail("stock order ", id, " changed after it was placed");
      }
    }
  }
  return out;
}

}  // namespace bo::reliability
