// The gRPC handlers of debtor-query (proto/backorder/v1/debtor_query_service.proto).
//
// Debtor commands are the usual thin handlers: validate -> lock the debtor -> PreviousAnswer ->
// load -> build DebtorUpdated -> CommitWithAnswer (event on stream debtor/<id>, the record in the
// state family, the event in the outbox for backorder.debtor-query.v1).
// Queries read the read models the projection (projection.h) keeps, through one snapshot each,
// and the debtor records; they never write.
#pragma once

#include <functional>

#include "absl/time/time.h"
#include "backorder/v1/debtor_query_service.grpc.pb.h"
#include "libs/store/event_store.h"
#include "services/common/access.h"
#include "services/common/command_support.h"

namespace bo::debtor_query {

class DebtorQueryService final : public backorder::v1::DebtorQueryService::Service {
 public:
  using Clock = std::function<absl::Time()>;

  // `store` must outlive the service; `access` admits every call (access.h). `clock` gives commit
  // times and the "now" that back-order ages are measured against (tests pass a fixed one).
  DebtorQueryService(
      EventStore* store, std::shared_ptr<const Access> access,
      Clock clock = [] { return absl::Now(); })
      : store_(store), access_(std::move(access)), clock_(std::move(clock)) {}

  grpc::Status CreateDebtor(grpc::ServerContext* context,
                            const backorder::v1::CreateDebtorRequest* request,
                            backorder::v1::Debtor* response) override;
  grpc::Status UpdateDebtor(grpc::ServerContext* context,
                            const backorder::v1::UpdateDebtorRequest* request,
                            backorder::v1::Debtor* response) override;
  grpc::Status GetDebtor(grpc::ServerContext* context,
                         const backorder::v1::GetDebtorRequest* request,
                         backorder::v1::Debtor* response) override;
  grpc::Status ListDebtors(grpc::ServerContext* context,
                           const backorder::v1::ListDebtorsRequest* request,
                           backorder::v1::ListDebtorsResponse* response) override;
  grpc::Status ListReadyToInvoice(grpc::ServerContext* context,
                                  const backorder::v1::ListReadyToInvoiceRequest* request,
                                  backorder::v1::ListReadyToInvoiceResponse* response) override;
  grpc::Status ListBackorders(grpc::ServerContext* context,
                              const backorder::v1::ListBackordersRequest* request,
                              backorder::v1::ListBackordersResponse* response) override;
  grpc::Status GetBackorderHistory(grpc::ServerContext* context,
                                   const backorder::v1::GetBackorderHistoryRequest* request,
                                   backorder::v1::BackorderHistory* response) override;

 private:
  // Create (`must_exist` false) and Update (true) differ only in that precondition.
  absl::Status WriteDebtor(const Caller& caller, const char* method, const std::string& request_id,
                           const backorder::v1::Debtor& debtor, bool must_exist,
                           backorder::v1::Debtor* response);

  EventStore* store_;
  std::shared_ptr<const Access> access_;
  Clock clock_;
  KeyedLocks locks_;
};

}  // namespace bo::debtor_query
