// The four services as pure functions: every RPC's request validation (as its handler does it),
// the domain decisions (receiving's stock ledgers, invoicing's invoices, purchasing's stock
// orders, debtor-query's rules) and the reactions to each published event, with the events
// delivered at once, in order, to every service that reacts. No store, no Kafka, no clock: what
// the handlers do with them (idempotency, locks, outbox) is tested elsewhere (unit, e2e, crash).
//
// The fuzz target fuzz_requests drives it with arbitrary requests, the property tests with
// random ones; both judge it with Violations(): stock conservation (guarantee 5), the back-order
// life cycle and agreement of every service's view (guarantee 6), invoice and stock-order rules.
//
// The handlers' checks are repeated here (they are inline in the gRPC handlers of invoicing and
// receiving); purchasing's CheckRequest and debtor-query's rules are called as they are. A change
// to a handler's validation should be made here too.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "backorder/v1/common.pb.h"
#include "backorder/v1/debtor_query_service.pb.h"
#include "backorder/v1/events.pb.h"
#include "backorder/v1/invoicing_service.pb.h"
#include "backorder/v1/purchasing_service.pb.h"
#include "backorder/v1/receiving_service.pb.h"
#include "google/protobuf/message.h"
#include "services/receiving/domain/stock_ledger.h"

namespace bo::reliability {

// Every RPC of the four services.
enum class Rpc : uint8_t {
  // invoicing
  kCreateInvoice,
  kGetInvoice,
  kListInvoices,
  kAddPartLine,
  kAdjustPartLine,
  kAddChargeLine,
  kListReadyBackorders,
  kAddBackorderLines,
  kFinaliseInvoice,
  kAbandonInvoice,
  kGetBackorder,
  kCancelBackorder,
  // purchasing
  kCreateStockOrder,
  kGetStockOrder,
  kListStockOrders,
  kGetBackorders,
  kAddBackorderLinesToOrder,
  kAddStockLine,
  kFinaliseStockOrder,
  kGetPurchasingBackorder,
  // receiving
  kUpsertPart,
  kGetPart,
  kListParts,
  kAdjustStock,
  kGetStock,
  kHoldStock,
  kReleaseHold,
  kProcessCreditorInvoice,
  // debtor-query
  kCreateDebtor,
  kUpdateDebtor,
  kGetDebtor,
  kListDebtors,
  kListReadyToInvoice,
  kListBackorders,
  kGetBackorderHistory,
};
inline constexpr int kRpcCount = static_cast<int>(Rpc::kGetBackorderHistory) + 1;

const char* RpcName(Rpc rpc);
// An empty message of the RPC's request type.
std::unique_ptr<google::protobuf::Message> NewRequest(Rpc rpc);

// The states of a back order in life-cycle order (WORKFLOW.md): a view only ever moves to a later
// one, and CANCELLED and INVOICED are final.
int StateRank(backorder::v1::BackorderState state);

class Workflow {
 public:
  explicit Workflow(absl::Time start = absl::FromUnixSeconds(1'800'000'000));

  // Answers `request` (of `rpc`'s request type) as the service would, and delivers every event
  // it publishes. Each call is one minute later than the one before. The status is the one the
  // RPC would answer.
  absl::Status Handle(Rpc rpc, const google::protobuf::Message& request);
  // Time passes and receiving expires the holds that ran out (as its timer does).
  void Advance(absl::Duration later);

  // What is broken, one line per broken rule; empty when everything holds. Checks every ledger
  // (CheckInvariants), every invoice, every stock order, and every back order across the
  // services: the same state and quantities in invoicing, purchasing, debtor-query and the
  // ledger, filled <= back-ordered, invoiced <= filled, and the life cycle seen so far.
  std::vector<std::string> Violations() const;

  // ---- What the property tests look at ----
  const std::map<std::string, backorder::v1::Backorder>& debtor_query_views() const {
    return dq_views_;
  }
  // Every event published about each back order, in the order delivered (StockOrderPlaced
  // events are listed under each back order they cover).
  const std::map<std::string, std::vector<backorder::v1::EventEnvelope>>& backorder_events() const {
    return backorder_events_;
  }
  // Every event published, in the order delivered.
  const std::vector<backorder::v1::EventEnvelope>& published() const { return published_; }
  const std::map<std::pair<std::string, std::string>, receiving::StockLedgerState>& ledgers()
      const {
    return ledgers_;
  }
  const std::map<std::string, backorder::v1::Invoice>& invoices() const { return invoices_; }
  const std::map<std::string, backorder::v1::StockOrder>& stock_orders() const { return orders_; }
  // Units that entered and left each ledger by the commands' own figures (not the ledger's):
  // received + adjusted - issued must equal on hand.
  struct Flow {
    int64_t received = 0;
    int64_t adjusted = 0;
    int64_t issued = 0;
  };
  const std::map<std::pair<std::string, std::string>, Flow>& flows() const { return flows_; }
  // How many of each status code Handle answered, by name ("OK", "INVALID_ARGUMENT", ...).
  const std::map<std::string, int>& answers() const { return answers_; }

 private:
  using Event = backorder::v1::EventEnvelope;
  using LedgerKey = std::pair<std::string, std::string>;

  absl::Status Dispatch(Rpc rpc, const google::protobuf::Message& request);

  // invoicing
  absl::Status CreateInvoice(const backorder::v1::CreateInvoiceRequest& r);
  absl::Status AddPartLine(const backorder::v1::AddPartLineRequest& r);
  absl::Status AdjustPartLine(const backorder::v1::AdjustPartLineRequest& r);
  absl::Status AddChargeLine(const backorder::v1::AddChargeLineRequest& r);
  absl::Status AddBackorderLines(const backorder::v1::AddBackorderLinesRequest& r);
  absl::Status FinaliseInvoice(const backorder::v1::FinaliseInvoiceRequest& r);
  absl::Status AbandonInvoice(const backorder::v1::AbandonInvoiceRequest& r);
  absl::Status CancelBackorder(const backorder::v1::CancelBackorderRequest& r);
  absl::Status ListInvoices(const backorder::v1::ListInvoicesRequest& r);
  absl::Status ListReadyBackorders(const backorder::v1::ListReadyBackordersRequest& r);
  // purchasing
  absl::Status CreateStockOrder(const backorder::v1::CreateStockOrderRequest& r);
  absl::Status ListStockOrders(const backorder::v1::ListStockOrdersRequest& r);
  absl::Status GetBackorders(const backorder::v1::GetBackordersRequest& r);
  absl::Status AddBackorderLinesToOrder(const backorder::v1::AddBackorderLinesToOrderRequest& r);
  absl::Status AddStockLine(const backorder::v1::AddStockLineRequest& r);
  absl::Status FinaliseStockOrder(const backorder::v1::FinaliseStockOrderRequest& r);
  // receiving
  absl::Status UpsertPart(const backorder::v1::UpsertPartRequest& r);
  absl::Status ListParts(const backorder::v1::ListPartsRequest& r);
  absl::Status AdjustStock(const backorder::v1::AdjustStockRequest& r);
  absl::Status GetStock(const backorder::v1::GetStockRequest& r);
  absl::Status HoldStock(const backorder::v1::HoldStockRequest& r);
  absl::Status ReleaseHold(const backorder::v1::ReleaseHoldRequest& r);
  absl::Status ProcessCreditorInvoice(const backorder::v1::ProcessCreditorInvoiceRequest& r);
  // debtor-query
  absl::Status WriteDebtor(const std::string& request_id, const backorder::v1::Debtor& debtor,
                           bool must_exist);
  absl::Status ListDebtors(const backorder::v1::ListDebtorsRequest& r);
  absl::Status ListReadyToInvoice(const backorder::v1::ListReadyToInvoiceRequest& r);
  absl::Status ListBackorders(const backorder::v1::ListBackordersRequest& r);

  // receiving's ledger of (branch, part), created empty on first use.
  receiving::StockLedgerState& Ledger(const std::string& branch, const std::string& part);
  // Decides `command` on a ledger, applies it and publishes the events.
  absl::Status RunLedger(const std::string& branch, const std::string& part,
                         const receiving::Command& command);
  // What HoldStockRequest does on the ledger: hold as much of `quantity` as is free (0 releases);
  // returns what is held.
  absl::StatusOr<int64_t> Hold(const std::string& branch, const std::string& part,
                               const std::string& invoice_id, int32_t line, int64_t quantity);

  // Publishes an event: queued, then delivered to every reacting service in order.
  void Publish(Event event);
  void Deliver(const Event& event);
  void ReactReceiving(const Event& event);
  void ApplyToViews(const Event& event);  // invoicing, purchasing and debtor-query views
  // Records a view's state in the life-cycle log, noting a backward move.
  void Observe(const std::string& id);

  absl::Time now_;
  int64_t event_counter_ = 0;
  bool delivering_ = false;
  std::vector<Event> queue_;

  // receiving
  std::map<std::string, backorder::v1::Part> parts_;
  std::map<LedgerKey, receiving::StockLedgerState> ledgers_;
  std::set<std::string> closed_backorders_;  // as receiving's repository records them (ClosedBy)
  std::map<LedgerKey, Flow> flows_;
  std::set<std::string> creditor_invoices_;
  // invoicing
  std::map<std::string, backorder::v1::Debtor> invoicing_debtors_;
  std::map<std::string, backorder::v1::Invoice> invoices_;
  std::map<std::string, int64_t> invoice_counters_;
  std::map<std::string, backorder::v1::Backorder> invoicing_views_;
  // purchasing
  std::map<std::string, backorder::v1::StockOrder> orders_;
  std::map<std::string, uint64_t> order_counters_;
  std::map<std::string, backorder::v1::Backorder> purchasing_views_;
  // debtor-query
  std::map<std::string, backorder::v1::Debtor> debtors_;
  std::map<std::string, backorder::v1::Backorder> dq_views_;

  // Life cycle: the states each back order went through, and invoices and back orders frozen
  // once final (their bytes then).
  std::map<std::string, std::vector<backorder::v1::BackorderState>> states_seen_;
  std::map<std::string, std::string> final_views_;
  std::map<std::string, std::string> final_invoices_;
  std::map<std::string, std::string> placed_orders_;
  std::map<std::string, std::vector<Event>> backorder_events_;
  std::vector<Event> published_;
  std::vector<std::string> broken_;  // rules seen broken while handling
  std::map<std::string, int> answers_;
};

}  // namespace bo::reliability
