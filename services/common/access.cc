#include "services/common/access.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backorder/v1/debtor_query_service.pb.h"
#include "backorder/v1/invoicing_service.pb.h"
#include "backorder/v1/purchasing_service.pb.h"
#include "backorder/v1/receiving_service.pb.h"

namespace bo {
namespace {

namespace pb = ::backorder::v1;

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// The policy table: every request type of the four services and what it needs. A request type
// not listed here is refused (Admit, step 2); Access.EveryRpcHasARule walks the service
// descriptors so none is forgotten.
const std::map<std::string_view, Need>& Policy() {
  static const auto* const policy = new std::map<std::string_view, Need>{
      // debtor-query: debtors are the group's, kept by the branches' clerks.
      {"backorder.v1.CreateDebtorRequest", Need::kWrite},
      {"backorder.v1.UpdateDebtorRequest", Need::kWrite},
      {"backorder.v1.GetDebtorRequest", Need::kRead},
      {"backorder.v1.ListDebtorsRequest", Need::kRead},
      {"backorder.v1.ListReadyToInvoiceRequest", Need::kRead},
      {"backorder.v1.ListBackordersRequest", Need::kRead},
      {"backorder.v1.GetBackorderHistoryRequest", Need::kRead},
      // invoicing
      {"backorder.v1.CreateInvoiceRequest", Need::kWrite},
      {"backorder.v1.GetInvoiceRequest", Need::kRead},
      {"backorder.v1.ListInvoicesRequest", Need::kRead},
      {"backorder.v1.AddPartLineRequest", Need::kWrite},
      {"backorder.v1.AdjustPartLineRequest", Need::kWrite},
      {"backorder.v1.AddChargeLineRequest", Need::kWrite},
      {"backorder.v1.ListReadyBackordersRequest", Need::kRead},
      {"backorder.v1.AddBackorderLinesRequest", Need::kWrite},
      {"backorder.v1.FinaliseInvoiceRequest", Need::kWrite},
      {"backorder.v1.AbandonInvoiceRequest", Need::kWrite},
      {"backorder.v1.GetBackorderRequest", Need::kRead},
      {"backorder.v1.CancelBackorderRequest", Need::kManage},
      // purchasing
      {"backorder.v1.CreateStockOrderRequest", Need::kWrite},
      {"backorder.v1.GetStockOrderRequest", Need::kRead},
      {"backorder.v1.ListStockOrdersRequest", Need::kRead},
      {"backorder.v1.GetBackordersRequest", Need::kRead},
      {"backorder.v1.AddBackorderLinesToOrderRequest", Need::kWrite},
      {"backorder.v1.AddStockLineRequest", Need::kWrite},
      {"backorder.v1.FinaliseStockOrderRequest", Need::kWrite},
      {"backorder.v1.GetPurchasingBackorderRequest", Need::kRead},
      // receiving
      {"backorder.v1.UpsertPartRequest", Need::kManage},
      {"backorder.v1.GetPartRequest", Need::kRead},
      {"backorder.v1.ListPartsRequest", Need::kRead},
      {"backorder.v1.AdjustStockRequest", Need::kManage},
      {"backorder.v1.GetStockRequest", Need::kRead},
      {"backorder.v1.HoldStockRequest", Need::kRelay},
      {"backorder.v1.ReleaseHoldRequest", Need::kRelay},
      {"backorder.v1.ProcessCreditorInvoiceRequest", Need::kWrite},
  };
  return *policy;
}

// The lists whose handlers filter rows by Caller::MaySee: a caller limited to some branches may
// leave their branch_id empty and sees only their branches' rows. Any other request that has a
// branch_id must name one of the caller's branches.
const std::set<std::string_view>& RowFilteredLists() {
  static const auto* const lists = new std::set<std::string_view>{
      "backorder.v1.ListReadyToInvoiceRequest", "backorder.v1.ListBackordersRequest",
      "backorder.v1.ListInvoicesRequest",       "backorder.v1.ListReadyBackordersRequest",
      "backorder.v1.ListStockOrdersRequest",
  };
  return *lists;
}

const char* NeedName(Need need) {
  switch (need) {
    case Need::kRead:
      return "read";
    case Need::kWrite:
      return "write";
    case Need::kManage:
      return "manage";
    case Need::kRelay:
      return "a relayed write";
  }
  return "?";
}

// A group token, or one whose branches include "*", acts for every branch.
bool AllBranches(const auth::Claims& claims) {
  return claims.role == "group" ||
         std::find(claims.branches.begin(), claims.branches.end(), "*") != claims.branches.end();
}

// A caller limited to some branches names one of theirs in `field` (`branch`): PERMISSION_DENIED
// when it names none, or another.
absl::Status NamesOneOfTheirBranches(const auth::Claims& claims, std::string_view field,
                                     std::string_view branch) {
  const std::string theirs = absl::StrJoin(claims.branches, ", ");
  if (branch.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        std::string(field), ": required of a caller limited to branches (", theirs, ")"));
  }
  if (std::find(claims.branches.begin(), claims.branches.end(), branch) == claims.branches.end()) {
    return absl::PermissionDeniedError(absl::StrCat(std::string(field), ": ", std::string(branch),
                                                    " is not one of your branches (", theirs, ")"));
  }
  return absl::OkStatus();
}

bool RoleAllows(std::string_view role, Need need) {
  if (role == "group") return true;
  if (role == "manager") return true;
  if (role == "clerk") return need != Need::kManage;
  if (role == "viewer" || role == "service") return need == Need::kRead;
  return false;
}

// "<digits>" repeated `groups` times, joined by '-'.
bool IsNumberGroups(std::string_view s, int groups) {
  for (int g = 0; g < groups; ++g) {
    size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    if (n == 0) return false;
    s.remove_prefix(n);
    if (g + 1 < groups) {
      if (s.empty() || s.front() != '-') return false;
      s.remove_prefix(1);
    }
  }
  return s.empty();
}

// The fields that name a branch, directly or inside a document id.
constexpr std::string_view kDocumentFields[] = {"invoice_id", "backorder_id", "backorder_ids",
                                                "stock_order_id"};

std::string Metadata(const grpc::ServerContext* context, std::string_view name) {
  if (context == nullptr) return {};
  const auto& md = context->client_metadata();
  auto it = md.find(grpc::string_ref(name.data(), name.size()));
  if (it == md.end()) return {};
  return std::string(it->second.data(), it->second.size());
}

std::string RequestIdOf(const Message& request) {
  const FieldDescriptor* f = request.GetDescriptor()->FindFieldByName("request_id");
  if (f == nullptr || f->is_repeated() || f->type() != FieldDescriptor::TYPE_STRING) return {};
  return request.GetReflection()->GetString(request, f);
}

// The common name of the peer's verified certificate, "" when there is none.
std::string PeerName(const grpc::ServerContext* context) {
  if (context == nullptr) return {};
  const auto auth = context->auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return {};
  for (const grpc::string_ref& cn : auth->FindPropertyValues("x509_common_name")) {
    return std::string(cn.data(), cn.size());
  }
  return {};
}

}  // namespace

const std::vector<const google::protobuf::ServiceDescriptor*>& GuardedServices() {
  // Reached through a request type of each .proto, so that its generated code is linked in.
  static const auto* const services = new std::vector<const google::protobuf::ServiceDescriptor*>{
      pb::CreateDebtorRequest::descriptor()->file()->FindServiceByName("DebtorQueryService"),
      pb::CreateInvoiceRequest::descriptor()->file()->FindServiceByName("InvoicingService"),
      pb::CreateStockOrderRequest::descriptor()->file()->FindServiceByName("PurchasingService"),
      pb::UpsertPartRequest::descriptor()->file()->FindServiceByName("ReceivingService"),
  };
  return *services;
}

const Need* NeedOf(std::string_view request_type) {
  const auto& policy = Policy();
  auto it = policy.find(request_type);
  return it == policy.end() ? nullptr : &it->second;
}

bool FiltersRowsByBranch(std::string_view request_type) {
  return RowFilteredLists().contains(request_type);
}

bool IsDocumentOfBranch(std::string_view id, std::string_view branch) {
  for (auto [prefix, groups] :
       {std::pair{std::string_view("INV-"), 1}, std::pair{std::string_view("SO-"), 1},
        std::pair{std::string_view("BO-"), 2}}) {
    if (!id.starts_with(prefix)) continue;
    std::string_view rest = id.substr(prefix.size());
    if (branch.empty() || !rest.starts_with(branch)) return false;
    rest.remove_prefix(branch.size());
    return !rest.empty() && rest.front() == '-' && IsNumberGroups(rest.substr(1), groups);
  }
  return false;
}

std::shared_ptr<const Access> Access::Insecure() {
  static const auto* const insecure = new std::shared_ptr<const Access>(new Access());
  return *insecure;
}

absl::StatusOr<std::shared_ptr<const Access>> Access::WithTokens(AccessOptions options) {
  options.tokens.roles.assign(std::begin(kRoles), std::end(kRoles));
  auto verifier = auth::TokenVerifier::Create(std::move(options.tokens));
  if (!verifier.ok()) return verifier.status();
  std::shared_ptr<Access> access(new Access());
  access->verifier_.emplace(std::move(*verifier));
  access->relays_ = std::move(options.relays);
  access->http_readers_ = std::move(options.http_readers);
  return access;
}

absl::Status Access::Authorise(const auth::Claims& claims, std::string_view peer,
                               const Message& request) const {
  const std::string& type = request.GetDescriptor()->full_name();
  const Need* need = NeedOf(type);
  if (need == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat(type, " has no access rule: refused"));
  }
  if (!RoleAllows(claims.role, *need)) {
    return absl::PermissionDeniedError(absl::StrCat("role ", claims.role, " may not call ", type,
                                                    " (it needs ", NeedName(*need), ")"));
  }
  if (*need == Need::kRelay && std::find(relays_.begin(), relays_.end(), peer) == relays_.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat(type, " is taken only from a service relaying a clerk's call (",
                     absl::StrJoin(relays_, ", "), "), not from a peer certificate named \"",
                     std::string(peer), "\""));
  }
  if (AllBranches(claims)) return absl::OkStatus();

  const auto* descriptor = request.GetDescriptor();
  const auto* reflection = request.GetReflection();
  if (const FieldDescriptor* f = descriptor->FindFieldByName("branch_id");
      f != nullptr && !f->is_repeated() && f->type() == FieldDescriptor::TYPE_STRING) {
    const std::string branch = reflection->GetString(request, f);
    if (!(branch.empty() && FiltersRowsByBranch(type))) {
      if (absl::Status s = NamesOneOfTheirBranches(claims, "branch_id", branch); !s.ok()) return s;
    }
  }
  auto of_yours = [&](std::string_view id) {
    return std::any_of(claims.branches.begin(), claims.branches.end(),
                       [&](const std::string& b) { return IsDocumentOfBranch(id, b); });
  };
  for (std::string_view name : kDocumentFields) {
    const FieldDescriptor* f = descriptor->FindFieldByName(std::string(name));
    if (f == nullptr || f->type() != FieldDescriptor::TYPE_STRING) continue;
    const int n = f->is_repeated() ? reflection->FieldSize(request, f) : 1;
    for (int i = 0; i < n; ++i) {
      const std::string id = f->is_repeated() ? reflection->GetRepeatedString(request, f, i)
                                              : reflection->GetString(request, f);
      if (!id.empty() && !of_yours(id)) {
        return absl::PermissionDeniedError(
            absl::StrCat(std::string(name), ": ", id, " is not a document of",
                         " one of your branches (", absl::StrJoin(claims.branches, ", "), ")"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Access::AdmitHttpRead(std::string_view peer, std::string_view authorization,
                                   std::string_view branch) const {
  if (insecure()) return absl::OkStatus();
  if (!peer.empty() &&
      std::find(http_readers_.begin(), http_readers_.end(), peer) != http_readers_.end()) {
    return absl::OkStatus();
  }
  auto claims = VerifiedClaims(
      authorization,
      "Authorization: a bearer token is required (or a certificate of a service or Prometheus)");
  if (!claims.ok()) return claims.status();
  if (AllBranches(*claims)) return absl::OkStatus();
  return NamesOneOfTheirBranches(*claims, "branch", branch);
}

absl::StatusOr<auth::Claims> Access::VerifiedClaims(std::string_view authorization,
                                                    std::string_view missing) const {
  if (authorization.empty()) return absl::UnauthenticatedError(std::string(missing));
  auto token = auth::BearerToken(authorization);
  if (!token.ok()) return token.status();
  return verifier_->Verify(*token, absl::Now());
}

absl::StatusOr<Caller> Access::Admit(const grpc::ServerContext* context,
                                     const Message& request) const {
  Caller caller;
  caller.correlation_id = Metadata(context, "bo-correlation-id");
  if (caller.correlation_id.empty()) caller.correlation_id = RequestIdOf(request);
  if (insecure()) {
    caller.subject = Metadata(context, "bo-actor");
    caller.role = Metadata(context, "bo-role");
    if (caller.subject.empty()) caller.subject = "anonymous";
    if (caller.role.empty()) caller.role = "clerk";
    return caller;
  }
  const std::string authorization = Metadata(context, "authorization");
  auto claims = VerifiedClaims(authorization,
                               "authorization: a bearer token is required (bo-admin mint-token "
                               "makes one for development)");
  if (!claims.ok()) return claims.status();
  if (absl::Status s = Authorise(*claims, PeerName(context), request); !s.ok()) return s;
  caller.subject = claims->subject;
  caller.role = claims->role;
  caller.branches = claims->branches;
  caller.all_branches = AllBranches(*claims);
  caller.authorization = authorization;
  return caller;
}

}  // namespace bo
