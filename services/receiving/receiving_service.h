// ReceivingService: the gRPC face of the receiving service (proto/backorder/v1/
// receiving_service.proto) and its reactions to invoicing's events.
//
// Every stock decision is the pure StockLedger's (domain/stock_ledger.h); this class validates
// requests, serialises work per (branch, part) with KeyedLocks, and commits the decided events,
// the answer and the outbox entries together (LedgerRepository + EventStore).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "backorder/v1/receiving_service.grpc.pb.h"
#include "libs/kafka/exactly_once_consumer.h"
#include "libs/store/event_store.h"
#include "services/common/access.h"
#include "services/common/command_support.h"
#include "services/receiving/ledger_repository.h"

namespace bo::receiving {

// receiving's AggregateRestorer (services/common/own_state_restore.h): a part stream gives back
// the part record and the UpsertPart answers; a ledger stream what RestoreLedgerStream says.
// The answers to AdjustStock, HoldStock, ReleaseHold and ProcessCreditorInvoice hold stock
// positions of their moment and are not restored (a retry after a lost disk gets the current
// state's answer).
absl::Status RestoreReceivingStream(const std::string& aggregate_id,
                                    const std::vector<Event>& events, RestoredWrites* out);

struct ReceivingOptions {
  // How long a hold for a draft invoice line lasts unless the invoice is finalised.
  absl::Duration hold_ttl = absl::Minutes(30);
};

class ReceivingService final : public backorder::v1::ReceivingService::Service {
 public:
  // `access` admits every call (services/common/access.h).
  ReceivingService(EventStore* store, ReceivingOptions options,
                   std::shared_ptr<const Access> access);

  grpc::Status UpsertPart(grpc::ServerContext* ctx, const backorder::v1::UpsertPartRequest* req,
                          backorder::v1::Part* resp) override;
  grpc::Status GetPart(grpc::ServerContext* ctx, const backorder::v1::GetPartRequest* req,
                       backorder::v1::Part* resp) override;
  grpc::Status ListParts(grpc::ServerContext* ctx, const backorder::v1::ListPartsRequest* req,
                         backorder::v1::ListPartsResponse* resp) override;
  grpc::Status AdjustStock(grpc::ServerContext* ctx, const backorder::v1::AdjustStockRequest* req,
                           backorder::v1::AdjustStockResponse* resp) override;
  grpc::Status GetStock(grpc::ServerContext* ctx, const backorder::v1::GetStockRequest* req,
                        backorder::v1::StockPosition* resp) override;
  grpc::Status HoldStock(grpc::ServerContext* ctx, const backorder::v1::HoldStockRequest* req,
                         backorder::v1::HoldStockResponse* resp) override;
  grpc::Status ReleaseHold(grpc::ServerContext* ctx, const backorder::v1::ReleaseHoldRequest* req,
                           backorder::v1::ReleaseHoldResponse* resp) override;
  grpc::Status ProcessCreditorInvoice(grpc::ServerContext* ctx,
                                      const backorder::v1::ProcessCreditorInvoiceRequest* req,
                                      backorder::v1::ProcessCreditorInvoiceResponse* resp) override;

  // The reaction to one record of the invoicing topic (BackorderCreated, BackorderCancelled,
  // BackorderInvoiced, InvoiceFinalised); other records are skipped. Only storage errors are
  // returned (and retried by the consumer); an event the ledger refuses is logged and skipped.
  absl::Status React(const kafka::ConsumedRecord& record);

  // Releases every hold that expired by `now` and fills waiting back orders from it.
  absl::Status ExpireHolds(absl::Time now);

 private:
  absl::StatusOr<backorder::v1::Part> FindPart(const std::string& part_number);
  // Decides `command` on one ledger and commits it as a reaction to `event_id`.
  absl::Status ReactOnLedger(const std::string& branch_id, const std::string& part_number,
                             const Command& command, const backorder::v1::EventEnvelope& cause,
                             const std::string& reaction_id);

  EventStore* store_;
  std::shared_ptr<const Access> access_;
  ReceivingOptions options_;
  LedgerRepository ledgers_;
  KeyedLocks locks_;
};

// The position a client sees: the ledger's figures, its open back orders and its holds.
backorder::v1::StockPosition PositionOf(const StockLedgerState& state);

}  // namespace bo::receiving
