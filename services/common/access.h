// Access: the one place where every RPC's caller is identified and authorised (issue 8,
// DESIGN.md section 7, docs/security-plan.md). Each handler's first statement is
//
//   auto caller = access_->Admit(ctx, *req);
//   if (!caller.ok()) return ToGrpc(caller.status());
//
// and the Caller it returns is the only one a handler can stamp events with: there is no other
// way to get one. (A gRPC server interceptor cannot refuse a call in the synchronous server of
// gRPC 1.51, and an AuthMetadataProcessor never sees the request, so neither can check a branch.)
//
// With tokens (a service started with TLS, which requires --token-key):
//   1. `authorization: Bearer <jwt>` must verify (auth::TokenVerifier: RS256, issuer, audience,
//      expiry, a known role), else UNAUTHENTICATED.
//   2. The request's message type must have a rule in the policy table (access.cc), else
//      PERMISSION_DENIED: a new RPC is closed until someone decides who may call it.
//   3. The token's role must allow the rule's Need, else PERMISSION_DENIED.
//   4. Every branch the request names must be one of the token's branches (a group token, or
//      branches ["*"], has all), else PERMISSION_DENIED naming the field: `branch_id`, and the
//      branch inside document ids (`invoice_id`, `backorder_id`, `backorder_ids`,
//      `stock_order_id`; see IsDocumentOfBranch). A request with a branch_id must name one,
//      except the lists that filter their rows (FiltersRowsByBranch): left empty, they show
//      such a caller only their branches' rows.
//   5. Need::kRelay also needs the peer's certificate to name a relaying service (`relays`).
// Insecure (--insecure, development only, announced at start): nothing is checked; callers name
// themselves in the metadata `bo-actor` and `bo-role` ("anonymous" and "clerk" when missing).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "services/common/command_support.h"

namespace bo {

// What a request needs of its caller's role.
enum class Need {
  kRead,    // viewer, clerk, manager, group, service
  kWrite,   // clerk, manager, group
  kManage,  // manager, group: cancel a back order, adjust stock, change the part master
  kRelay,   // a clerk's (manager's, group's) write that a peer service relays: stock holds
};

// The roles a token may carry.
inline constexpr std::string_view kRoles[] = {"viewer", "clerk", "manager", "group", "service"};

// The four services whose requests the policy table covers (backorder.v1's DebtorQueryService,
// InvoicingService, PurchasingService, ReceivingService), for walking every method.
const std::vector<const google::protobuf::ServiceDescriptor*>& GuardedServices();

// The rule for a request message type (its full name, e.g. "backorder.v1.HoldStockRequest"), or
// nullptr when the policy table has none.
const Need* NeedOf(std::string_view request_type);

// Whether the handler of `request_type` (a list) filters its rows by Caller::MaySee, so that a
// caller limited to some branches may leave its branch_id empty and sees only their branches'
// rows: ListReadyToInvoice, ListBackorders, ListInvoices, ListReadyBackorders, ListStockOrders.
bool FiltersRowsByBranch(std::string_view request_type);

// Whether `id` is a document of `branch`: "INV-<branch>-<n>" (invoices), "BO-<branch>-<n>-<line>"
// (back orders) or "SO-<branch>-<n>" (stock orders), the numbers in digits. Branch ids may contain
// '-', so the branch is matched against the whole id rather than cut out of it.
bool IsDocumentOfBranch(std::string_view id, std::string_view branch);

struct AccessOptions {
  auth::VerifierOptions tokens;  // key, issuer, audience (the roles are kRoles)
  // Common names of the service certificates that may relay a caller's Need::kRelay call.
  std::vector<std::string> relays = {"invoicing"};
  // Common names of the certificates that may read the HTTP side without a token: the services
  // (debtor-query shows its peers' status) and Prometheus.
  std::vector<std::string> http_readers = {"invoicing", "purchasing", "receiving", "debtor-query",
                                           "prometheus"};
};

class Access {
 public:
  // Checks nothing; see the top of this file.
  static std::shared_ptr<const Access> Insecure();
  // Bearer tokens and the policy. INVALID_ARGUMENT for an unusable key, issuer or audience.
  static absl::StatusOr<std::shared_ptr<const Access>> WithTokens(AccessOptions options);

  bool insecure() const { return !verifier_.has_value(); }

  // The caller of this call, if the policy admits `request` from them (see the top of this
  // file); UNAUTHENTICATED or PERMISSION_DENIED with the reason otherwise. `context` may be null
  // for in-process calls, which only an insecure Access admits.
  absl::StatusOr<Caller> Admit(const grpc::ServerContext* context,
                               const google::protobuf::Message& request) const;

  // Whether a request to the HTTP side (metrics, status, the dashboard's data: all reads) is
  // admitted: from a certificate named in AccessOptions::http_readers (`peer`, "" when none), or
  // with a bearer token (`authorization`, the header's value) of any role. A token limited to
  // some branches must name one of them in `branch` (the `branch` query parameter), as on gRPC.
  // OK, UNAUTHENTICATED or PERMISSION_DENIED with the reason; an insecure Access admits all.
  absl::Status AdmitHttpRead(std::string_view peer, std::string_view authorization,
                             std::string_view branch) const;

  // Steps 2 to 5 for a verified token's claims and the peer certificate's common name ("" when
  // none): OK or PERMISSION_DENIED.
  absl::Status Authorise(const auth::Claims& claims, std::string_view peer,
                         const google::protobuf::Message& request) const;

 private:
  Access() = default;
  // The verified claims of an authorization value ("Bearer <token>"): UNAUTHENTICATED with
  // `missing` when it is empty, or with the reason when the token does not verify.
  absl::StatusOr<auth::Claims> VerifiedClaims(std::string_view authorization,
                                              std::string_view missing) const;
  std::optional<auth::TokenVerifier> verifier_;
  std::vector<std::string> relays_;
  std::vector<std::string> http_readers_;
};

}  // namespace bo
