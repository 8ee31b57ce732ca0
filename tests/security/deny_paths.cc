// bo-deny-paths: calls every RPC of the four running services over mutual TLS and checks who is
// refused (issue 8). Run by tests/security/tls_services_test.sh against services it started with
// TLS and tokens; it reaches them by gRPC's generic stub, so a method added to a .proto is
// checked without a line here.
//
// For every method: no token, an expired token, a token of another deployment's key, a token
// whose payload was altered and one for another audience are UNAUTHENTICATED; a viewer calling a
// method that is not a read is PERMISSION_DENIED; a group token is admitted (whatever the empty
// request then gets, it is neither of those two), except the holds, which only a relaying
// service's certificate may bring. And on chosen requests: another branch by branch_id or inside
// a document id, a clerk adjusting stock, and a clerk's hold sent from a client certificate are
// PERMISSION_DENIED; a clerk's list naming no branch is admitted (it shows only theirs).
//
// Prints one line per failed check and `DENY-PATHS checked=N failed=M`; exits 1 if M > 0.
#include <cstdio>
#include <future>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "backorder/v1/debtor_query_service.grpc.pb.h"
#include "backorder/v1/invoicing_service.grpc.pb.h"
#include "backorder/v1/purchasing_service.grpc.pb.h"
#include "backorder/v1/receiving_service.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/rpc/tls.h"
#include "services/common/access.h"

namespace {

namespace pb = ::backorder::v1;

// One of the services the policy guards, by name ("ReceivingService").
const google::protobuf::ServiceDescriptor* Service(std::string_view name) {
  for (const auto* s : bo::GuardedServices()) {
    if (s != nullptr && s->name() == name) return s;
  }
  return nullptr;
}
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

class DenyPaths {
 public:
  DenyPaths(std::string pki, std::string stranger, std::map<std::string, std::string> addresses)
      : pki_(std::move(pki)), stranger_(std::move(stranger)), addresses_(std::move(addresses)) {}

  bool Open() {
    for (const char* client : {"tests", "boctl"}) {
      auto tls = bo::rpc::ReadTls({pki_ + "/ca.crt", absl::StrCat(pki_, "/", client, ".crt"),
                                   absl::StrCat(pki_, "/", client, ".key")});
      if (!tls.ok()) {
        std::fprintf(stderr, "%s\n", tls.status().ToString().c_str());
        return false;
      }
      credentials_[client] = bo::rpc::MutualTlsChannelCredentials(*tls);
    }
    auto key = bo::rpc::ReadPem("token key", pki_ + "/jwt.key");
    auto stranger_key = bo::rpc::ReadPem("the stranger's token key", stranger_ + "/jwt.key");
    for (const auto* k : {&key, &stranger_key}) {
      if (!k->ok()) {
        std::fprintf(stderr, "%s\n", k->status().ToString().c_str());
        return false;
      }
    }
    key_ = *std::move(key);
    stranger_key_ = *std::move(stranger_key);
    return true;
  }

  std::string Token(const std::string& role, std::vector<std::string> branches,
                    const std::string& key = "", absl::Duration expires_in = absl::Hours(1),
                    const std::string& audience = "backorders") {
    bo::auth::Claims c;
    c.subject = absl::StrCat(role, "@deny-paths");
    c.role = role;
    c.branches = std::move(branches);
    c.issuer = "backorders-dev";
    c.audience = audience;
    c.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())) - absl::Hours(2);
    c.expires_at = absl::Now() + expires_in;
    auto token = bo::auth::MintToken(key.empty() ? key_ : key, c);
    if (!token.ok()) {
      std::fprintf(stderr, "mint: %s\n", token.status().ToString().c_str());
      return "";
    }
    return *token;
  }

  // Calls `method` with `request` (serialised) and `token` ("" for none) from `client`'s
  // certificate; the status.
  grpc::Status Call(const MethodDescriptor* method, const std::string& request,
                    const std::string& token, const std::string& client = "tests") {
    const std::string service = method->service()->name();
    auto channel = Channel(AddressOf(service), client);
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    grpc::Slice slice(request);
    grpc::ByteBuffer in(&slice, 1), out;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, absl::StrCat("/", method->service()->full_name(), "/", method->name()),
                   grpc::StubOptions(), &in, &out,
                   [&done](grpc::Status s) { done.set_value(std::move(s)); });
    return done.get_future().get();
  }

  void Expect(const std::string& what, const grpc::Status& got, grpc::StatusCode want) {
    ++checked_;
    if (got.error_code() == want) return;
    ++failed_;
    std::printf("FAIL %s: got %d %s, want %d\n", what.c_str(), got.error_code(),
                got.error_message().c_str(), want);
  }
  void ExpectNeither(const std::string& what, const grpc::Status& got) {
    ++checked_;
    if (got.error_code() != grpc::StatusCode::UNAUTHENTICATED &&
        got.error_code() != grpc::StatusCode::PERMISSION_DENIED) {
      return;
    }
    ++failed_;
    std::printf("FAIL %s: a valid group token got %d %s\n", what.c_str(), got.error_code(),
                got.error_message().c_str());
  }

  int checked() const { return checked_; }
  int failed() const { return failed_; }

 private:
  std::string AddressOf(const std::string& service) {
    if (service == "DebtorQueryService") return addresses_["debtor-query"];
    if (service == "InvoicingService") return addresses_["invoicing"];
    if (service == "PurchasingService") return addresses_["purchasing"];
    return addresses_["receiving"];
  }
  std::shared_ptr<grpc::Channel> Channel(const std::string& address, const std::string& client) {
    const std::string key = address + "/" + client;
    auto it = channels_.find(key);
    if (it != channels_.end()) return it->second;
    auto channel = grpc::CreateChannel(address, credentials_[client]);
    channels_[key] = channel;
    return channel;
  }

  std::string pki_, stranger_;
  std::map<std::string, std::string> addresses_;
  std::map<std::string, std::shared_ptr<grpc::ChannelCredentials>> credentials_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
  std::string key_, stranger_key_;
  int checked_ = 0, failed_ = 0;

 public:
  const std::string& stranger_key() const { return stranger_key_; }
};

// A token with one character of its payload changed: the signature no longer matches.
std::string Tampered(std::string token) {
  const size_t dot = token.find('.');
  if (dot != std::string::npos && dot + 5 < token.size()) {
    char& c = token[dot + 5];
    c = c == 'A' ? 'B' : 'A';
  }
  return token;
}

const MethodDescriptor* Method(const google::protobuf::ServiceDescriptor* s, const char* name) {
  return s->FindMethodByName(name);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bo-deny-paths: who every RPC refuses (issue 8)"};
  std::string pki, stranger, branch = "B1";
  std::map<std::string, std::string> addresses;
  app.add_option("--pki", pki, "deploy/local/pki output of the deployment")->required();
  app.add_option("--stranger", stranger, "pki output of another deployment")->required();
  for (const char* s : {"invoicing", "purchasing", "receiving", "debtor-query"}) {
    app.add_option(absl::StrCat("--", s), addresses[s], absl::StrCat(s, " host:port"))->required();
  }
  app.add_option("--branch", branch, "the branch the tokens act for");
  CLI11_PARSE(app, argc, argv);

  DenyPaths d(pki, stranger, addresses);
  if (!d.Open()) return 2;
  const std::string group = d.Token("group", {});
  const std::string viewer = d.Token("viewer", {branch});
  const std::string clerk = d.Token("clerk", {branch});
  const std::string manager = d.Token("manager", {branch});
  const std::vector<std::pair<std::string, std::string>> bad_tokens = {
      {"no token", ""},
      {"an expired token", d.Token("clerk", {branch}, "", -absl::Minutes(5))},
      {"a token of another key", d.Token("group", {}, d.stranger_key())},
      {"an altered token", Tampered(group)},
      {"a token for another audience",
       d.Token("group", {}, "", absl::Hours(1), "another-deployment")},
      {"a token that is not one", "not.a.token"},
  };
  if (group.empty() || viewer.empty()) return 2;

  int methods = 0;
  for (const auto* service : bo::GuardedServices()) {
    if (service == nullptr) return 2;
    for (int i = 0; i < service->method_count(); ++i) {
      const MethodDescriptor* m = service->method(i);
      ++methods;
      for (const auto& [what, token] : bad_tokens) {
        d.Expect(absl::StrCat(m->full_name(), " with ", what), d.Call(m, "", token),
                 grpc::StatusCode::UNAUTHENTICATED);
      }
      const bo::Need* need = bo::NeedOf(m->input_type()->full_name());
      if (need != nullptr && *need != bo::Need::kRead) {
        d.Expect(absl::StrCat(m->full_name(), " by a viewer"), d.Call(m, "", viewer),
                 grpc::StatusCode::PERMISSION_DENIED);
      }
      if (need != nullptr && *need == bo::Need::kRelay) {
        d.Expect(absl::StrCat(m->full_name(), " from a client certificate"), d.Call(m, "", group),
                 grpc::StatusCode::PERMISSION_DENIED);
      } else {
        d.ExpectNeither(absl::StrCat(m->full_name(), " with a group token"), d.Call(m, "", group));
      }
    }
  }

  const std::string other = branch + "-OTHER";
  const auto* receiving = Service("ReceivingService");
  const auto* invoicing = Service("InvoicingService");
  const auto* debtor_query = Service("DebtorQueryService");
  const auto* purchasing = Service("PurchasingService");
  {
    pb::GetStockRequest r;
    r.set_branch_id(other);
    r.set_part_number("P-1");
    d.Expect("GetStock of another branch",
             d.Call(Method(receiving, "GetStock"), r.SerializeAsString(), manager),
             grpc::StatusCode::PERMISSION_DENIED);
    r.set_branch_id(branch);
    d.ExpectNeither("GetStock of the token's branch",
                    d.Call(Method(receiving, "GetStock"), r.SerializeAsString(), viewer));
  }
  {
    pb::GetInvoiceRequest r;
    r.set_invoice_id(absl::StrCat("INV-", other, "-000001"));
    d.Expect("GetInvoice of another branch's invoice",
             d.Call(Method(invoicing, "GetInvoice"), r.SerializeAsString(), clerk),
             grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    pb::CancelBackorderRequest r;
    r.set_request_id("deny-1");
    r.set_backorder_id(absl::StrCat("BO-", branch, "-000001-1"));
    d.Expect("CancelBackorder by a clerk",
             d.Call(Method(invoicing, "CancelBackorder"), r.SerializeAsString(), clerk),
             grpc::StatusCode::PERMISSION_DENIED);
    r.set_backorder_id(absl::StrCat("BO-", other, "-000001-1"));
    d.Expect("CancelBackorder of another branch by a manager",
             d.Call(Method(invoicing, "CancelBackorder"), r.SerializeAsString(), manager),
             grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    pb::AdjustStockRequest r;
    r.set_request_id("deny-2");
    r.set_branch_id(branch);
    r.set_part_number("P-1");
    r.set_delta(1);
    r.set_reason("deny paths");
    d.Expect("AdjustStock by a clerk",
             d.Call(Method(receiving, "AdjustStock"), r.SerializeAsString(), clerk),
             grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    pb::ListBackordersRequest r;
    // Admitted, and filtered to the clerk's branch (E2E.Workflow checks the rows).
    d.ExpectNeither("ListBackorders naming no branch, by a clerk of one",
                    d.Call(Method(debtor_query, "ListBackorders"), r.SerializeAsString(), clerk));
    r.set_branch_id(other);
    d.Expect("ListBackorders of another branch",
             d.Call(Method(debtor_query, "ListBackorders"), r.SerializeAsString(), viewer),
             grpc::StatusCode::PERMISSION_DENIED);
    r.set_branch_id(branch);
    d.ExpectNeither("ListBackorders of the token's branch",
                    d.Call(Method(debtor_query, "ListBackorders"), r.SerializeAsString(), viewer));
  }
  {
    pb::GetStockOrderRequest r;
    r.set_stock_order_id(absl::StrCat("SO-", other, "-000001"));
    d.Expect("GetStockOrder of another branch",
             d.Call(Method(purchasing, "GetStockOrder"), r.SerializeAsString(), clerk),
             grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    pb::HoldStockRequest r;
    r.set_request_id("deny-3");
    r.set_branch_id(branch);
    r.set_part_number("P-1");
    r.set_invoice_id(absl::StrCat("INV-", branch, "-000001"));
    r.set_invoice_line(1);
    r.set_quantity(1);
    d.Expect("HoldStock by a clerk from boctl's certificate",
             d.Call(Method(receiving, "HoldStock"), r.SerializeAsString(), clerk, "boctl"),
             grpc::StatusCode::PERMISSION_DENIED);
  }

  std::printf("DENY-PATHS methods=%d checked=%d failed=%d\n", methods, d.checked(), d.failed());
  return d.failed() == 0 && methods > 0 ? 0 : 1;
}
