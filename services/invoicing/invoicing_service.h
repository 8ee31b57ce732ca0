// InvoicingService: the gRPC face of the invoicing service (proto/backorder/v1/
// invoicing_service.proto) and its reactions to the other services' events.
//
// The rules are the pure domain's (domain/invoice.h). This class validates requests, holds
// stock for draft part lines through receiving's HoldStock (idempotent per invoice line),
// serialises work per invoice (KeyedLocks) and on the back-order views (one mutex), and commits
// events, snapshots, answers and outbox entries together.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "backorder/v1/invoicing_service.grpc.pb.h"
#include "backorder/v1/receiving_service.grpc.pb.h"
#include "libs/kafka/exactly_once_consumer.h"
#include "libs/store/event_store.h"
#include "services/common/access.h"
#include "services/common/command_support.h"
#include "services/common/own_state_restore.h"
#include "services/invoicing/domain/invoice.h"

namespace bo::invoicing {

// invoicing's AggregateRestorer (services/common/own_state_restore.h): an invoice stream gives
// back the invoice as last stored (its last InvoiceSaved) and the branch's invoice counter
// (streams fold in key order, so the last written is the highest number: true while numbers have
// six digits); a back-order stream the own part of the back order's view (BackorderCreated,
// Invoiced, Cancelled) and its ready-index entry. The consumer's replay of the other topics adds
// fills, stock orders and debtors. The answers are not restored (a cache: a retry after a lost
// disk gets the current state's answer). Invoices finalised before InvoiceSaved existed have no
// record on the topic and do not come back (their back orders and events do).
absl::Status RestoreInvoicingStream(const std::string& aggregate_id,
                                    const std::vector<backorder::v1::EventEnvelope>& events,
                                    RestoredWrites* out);
// Its RestoreFinisher: every draft marks the back orders it ticks (draft_invoice_id), which takes
// them off the ready list, as AddBackorderLines did.
absl::Status FinishInvoicingRestore(Database* db);
// Its read models (ServiceRuntime::SetReadModels): the back-order views and the ready index, in
// which its own facts and receiving's and purchasing's meet, the debtors from debtor-query, and
// the reactions' records.
std::vector<KeyRange> InvoicingReadModels();

class InvoicingService final : public backorder::v1::InvoicingService::Service {
 public:
  // `receiving` is the channel to the receiving service (for holds); `access` admits every call
  // (services/common/access.h).
  InvoicingService(EventStore* store, std::shared_ptr<grpc::ChannelInterface> receiving,
                   std::shared_ptr<const Access> access);

  grpc::Status CreateInvoice(grpc::ServerContext* ctx,
                             const backorder::v1::CreateInvoiceRequest* req,
                             Invoice* resp) override;
  grpc::Status GetInvoice(grpc::ServerContext* ctx, const backorder::v1::GetInvoiceRequest* req,
                          Invoice* resp) override;
  grpc::Status ListInvoices(grpc::ServerContext* ctx, const backorder::v1::ListInvoicesRequest* req,
                            backorder::v1::ListInvoicesResponse* resp) override;
  grpc::Status AddPartLine(grpc::ServerContext* ctx, const backorder::v1::AddPartLineRequest* req,
                           backorder::v1::AddPartLineResponse* resp) override;
  grpc::Status AdjustPartLine(grpc::ServerContext* ctx,
                              const backorder::v1::AdjustPartLineRequest* req,
                              Invoice* resp) override;
  grpc::Status AddChargeLine(grpc::ServerContext* ctx,
                             const backorder::v1::AddChargeLineRequest* req,
                             Invoice* resp) override;
  grpc::Status ListReadyBackorders(grpc::ServerContext* ctx,
                                   const backorder::v1::ListReadyBackordersRequest* req,
                                   backorder::v1::ListReadyBackordersResponse* resp) override;
  grpc::Status AddBackorderLines(grpc::ServerContext* ctx,
                                 const backorder::v1::AddBackorderLinesRequest* req,
                                 Invoice* resp) override;
  grpc::Status FinaliseInvoice(grpc::ServerContext* ctx,
                               const backorder::v1::FinaliseInvoiceRequest* req,
                               backorder::v1::FinaliseInvoiceResponse* resp) override;
  grpc::Status AbandonInvoice(grpc::ServerContext* ctx,
                              const backorder::v1::AbandonInvoiceRequest* req,
                              Invoice* resp) override;
  grpc::Status GetBackorder(grpc::ServerContext* ctx, const backorder::v1::GetBackorderRequest* req,
                            Backorder* resp) override;
  grpc::Status CancelBackorder(grpc::ServerContext* ctx,
                               const backorder::v1::CancelBackorderRequest* req,
                               Backorder* resp) override;

  // Run before serving: builds the ready index (ready/<debtor>/<back order> = <branch>) from the
  // stored back-order views if this data directory was written before it existed or with an
  // older layout of it (empty values). Otherwise a no-op.
  static absl::Status PrepareReadyIndex(EventStore* store);

  // The reaction to one record of the debtor-query, receiving and purchasing topics
  // (DebtorUpdated, BackorderFilled, StockOrderPlaced); other records are skipped.
  absl::Status React(const kafka::ConsumedRecord& record);

 private:
  absl::StatusOr<Invoice> LoadInvoice(const std::string& invoice_id);
  absl::StatusOr<std::optional<backorder::v1::DebtorUpdated>> FindDebtor(
      const std::string& debtor_id);
  absl::StatusOr<std::optional<Backorder>> FindBackorder(const std::string& backorder_id);
  // Calls `fn` with the id of each back order of the debtor's ready index (at `branch_id`, or at
  // any branch when it is empty), from one snapshot of the index; reads no view.
  absl::Status ScanReady(const std::string& debtor_id, const std::string& branch_id,
                         const std::function<void(std::string_view)>& fn);
  // How many back orders of the debtor are ready to invoice (optionally at one branch).
  absl::StatusOr<int32_t> CountReady(const std::string& debtor_id, const std::string& branch_id);
  // The debtor's back orders ready to invoice (optionally at one branch), oldest first.
  absl::StatusOr<std::vector<Backorder>> ReadyFor(const std::string& debtor_id,
                                                  const std::string& branch_id);
  // Adds the view's snapshot and its ready-index change to `commit`.
  static void PutBackorder(CommitRequest* commit, const Backorder& backorder);
  // Asks receiving to hold `quantity` for the line (0 gives the hold back).
  absl::StatusOr<backorder::v1::HoldStockResponse> Hold(const Caller& caller,
                                                        const Invoice& invoice,
                                                        const std::string& part_number,
                                                        int32_t line, int64_t quantity,
                                                        const std::string& request_id);
  // Fills the read-time field ready_backorders (the prompt).
  absl::Status AddPrompt(Invoice* invoice);
  // Adds `invoice` as it is to be stored to `commit`: the record, and InvoiceSaved at the end of
  // the invoice's stream (and in the outbox).
  absl::Status StageSaved(CommitRequest* commit, const Invoice& invoice, const Caller& caller,
                          const std::string& request_id);
  // Common tail of the draft-changing commands: commit the new snapshot with the answer.
  absl::Status CommitDraft(const Invoice& invoice, const Caller& caller, std::string_view method,
                           const std::string& request_id, google::protobuf::Message* response);

  EventStore* store_;
  std::shared_ptr<const Access> access_;
  std::unique_ptr<backorder::v1::ReceivingService::Stub> receiving_;
  KeyedLocks invoice_locks_;
  // By back-order id, taken (after an invoice's lock) around every change of a back-order view.
  // Not one lock for all views: that held every finalise behind every other's synced commit
  // (tests/perf P3: FinaliseInvoice p50 196 ms with 64 clerks). Reads take none.
  KeyedLocks backorder_locks_;
  KeyedLocks counter_locks_;  // by branch: its invoice number counter
};

}  // namespace bo::invoicing
