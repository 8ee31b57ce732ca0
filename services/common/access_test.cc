#include "services/common/access.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <set>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "backorder/v1/debtor_query_service.grpc.pb.h"
#include "backorder/v1/invoicing_service.grpc.pb.h"
#include "backorder/v1/purchasing_service.grpc.pb.h"
#include "backorder/v1/receiving_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/auth/token.h"

namespace bo {
namespace {

namespace pb = ::backorder::v1;

using ::testing::HasSubstr;

// A key pair made when the test runs (none is committed): the private key PEM, the public one.
const std::pair<std::string, std::string>& KeyPair() {
  static const std::pair<std::string, std::string> pems = [] {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(2048), &EVP_PKEY_free);
    auto pem = [&](bool is_private) {
      std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
      EXPECT_EQ(is_private ? PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0,
                                                      nullptr, nullptr)
                           : PEM_write_bio_PUBKEY(bio.get(), key.get()),
                1);
      char* data = nullptr;
      const long size = BIO_get_mem_data(bio.get(), &data);
      return std::string(data, static_cast<size_t>(size));
    };
    return std::make_pair(pem(true), pem(false));
  }();
  return pems;
}

std::shared_ptr<const Access> WithTokens() {
  static const std::shared_ptr<const Access> access = [] {
    AccessOptions o;
    o.tokens.public_key_pem = KeyPair().second;
    o.tokens.issuer = "backorders-dev";
    o.tokens.audience = "backorders";
    auto a = Access::WithTokens(o);
    EXPECT_TRUE(a.ok()) << a.status();
    return *a;
  }();
  return access;
}

// "Bearer <token>" for `role` at `branches`, signed with the key WithTokens() trusts.
std::string Bearer(const std::string& role, std::vector<std::string> branches) {
  auth::Claims c;
  c.subject = "someone";
  c.role = role;
  c.branches = std::move(branches);
  c.issuer = "backorders-dev";
  c.audience = "backorders";
  c.issued_at = absl::Now();
  c.expires_at = c.issued_at + absl::Hours(1);
  auto token = auth::MintToken(KeyPair().first, c);
  EXPECT_TRUE(token.ok()) << token.status();
  return "Bearer " + token.value_or("");
}

auth::Claims Token(const std::string& role, std::vector<std::string> branches) {
  auth::Claims c;
  c.subject = "someone";
  c.role = role;
  c.branches = std::move(branches);
  return c;
}

absl::StatusCode Code(const auth::Claims& claims, const google::protobuf::Message& request,
                      std::string_view peer = "boctl") {
  return WithTokens()->Authorise(claims, peer, request).code();
}

// Every method of the four services has its own request type and a rule for it: a method added
// without one is refused to every caller (this test says which).
TEST(Access, EveryRpcHasARuleAndItsOwnRequestType) {
  std::set<std::string> seen;
  int methods = 0;
  ASSERT_EQ(GuardedServices().size(), 4u);
  for (const auto* service : GuardedServices()) {
    ASSERT_NE(service, nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* m = service->method(i);
      ++methods;
      EXPECT_NE(NeedOf(m->input_type()->full_name()), nullptr)
          << m->full_name() << ": no rule for " << m->input_type()->full_name();
      EXPECT_TRUE(seen.insert(m->input_type()->full_name()).second)
          << m->full_name() << " shares its request type " << m->input_type()->full_name();
    }
  }
  EXPECT_EQ(methods, 35);
  EXPECT_EQ(NeedOf("backorder.v1.NoSuchRequest"), nullptr);
}

TEST(Access, DocumentIdsNameTheirBranchEvenWhenBranchIdsHaveDashes) {
  EXPECT_TRUE(IsDocumentOfBranch("INV-B1-000001", "B1"));
  EXPECT_TRUE(IsDocumentOfBranch("SO-B1-000042", "B1"));
  EXPECT_TRUE(IsDocumentOfBranch("BO-B1-000001-3", "B1"));
  EXPECT_TRUE(IsDocumentOfBranch("INV-NORTH-7-000001", "NORTH-7"));
  EXPECT_FALSE(IsDocumentOfBranch("INV-NORTH-7-000001", "NORTH"));  // not "NORTH"'s
  EXPECT_FALSE(IsDocumentOfBranch("BO-NORTH-7-000001-3", "NORTH"));
  EXPECT_FALSE(IsDocumentOfBranch("INV-B2-000001", "B1"));
  EXPECT_FALSE(IsDocumentOfBranch("INV-B1-", "B1"));
  EXPECT_FALSE(IsDocumentOfBranch("INV-B1-00x1", "B1"));
  EXPECT_FALSE(IsDocumentOfBranch("BO-B1-000001", "B1"));  // no line
  EXPECT_FALSE(IsDocumentOfBranch("XX-B1-000001", "B1"));
  EXPECT_FALSE(IsDocumentOfBranch("INV-B1-000001", ""));
}

TEST(Access, RolesAllowWhatTheirNameSays) {
  pb::GetStockRequest read;
  read.set_branch_id("B1");
  pb::CreateInvoiceRequest write;
  write.set_branch_id("B1");
  pb::AdjustStockRequest manage;
  manage.set_branch_id("B1");
  pb::CancelBackorderRequest cancel;
  cancel.set_backorder_id("BO-B1-000001-1");

  for (const char* role : {"viewer", "clerk", "manager", "group", "service"}) {
    EXPECT_EQ(Code(Token(role, {"B1"}), read), absl::StatusCode::kOk) << role;
  }
  EXPECT_EQ(Code(Token("viewer", {"B1"}), write), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code(Token("service", {"B1"}), write), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code(Token("clerk", {"B1"}), write), absl::StatusCode::kOk);
  EXPECT_EQ(Code(Token("clerk", {"B1"}), manage), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code(Token("clerk", {"B1"}), cancel), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code(Token("manager", {"B1"}), manage), absl::StatusCode::kOk);
  EXPECT_EQ(Code(Token("manager", {"B1"}), cancel), absl::StatusCode::kOk);
  EXPECT_EQ(Code(Token("group", {}), cancel), absl::StatusCode::kOk);
  EXPECT_EQ(Code(Token("intruder", {"B1"}), read), absl::StatusCode::kPermissionDenied);

  const absl::Status s = WithTokens()->Authorise(Token("viewer", {"B1"}), "boctl", write);
  EXPECT_THAT(std::string(s.message()), HasSubstr("role viewer may not call"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("CreateInvoiceRequest"));
}

TEST(Access, AnotherBranchIsRefusedWhereverTheRequestNamesIt) {
  const auth::Claims anna = Token("manager", {"B1"});
  pb::GetStockRequest stock;
  stock.set_branch_id("B2");
  EXPECT_EQ(Code(anna, stock), absl::StatusCode::kPermissionDenied);
  stock.set_branch_id("B1");
  EXPECT_EQ(Code(anna, stock), absl::StatusCode::kOk);

  pb::GetInvoiceRequest invoice;
  invoice.set_invoice_id("INV-B2-000001");
  const absl::Status s = WithTokens()->Authorise(anna, "boctl", invoice);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("invoice_id: INV-B2-000001"));
  invoice.set_invoice_id("INV-B1-000001");
  EXPECT_EQ(Code(anna, invoice), absl::StatusCode::kOk);

  pb::AddBackorderLinesRequest lines;
  lines.set_invoice_id("INV-B1-000002");
  lines.add_backorder_ids("BO-B1-000001-1");
  lines.add_backorder_ids("BO-B2-000001-1");
  EXPECT_EQ(Code(anna, lines), absl::StatusCode::kPermissionDenied);

  pb::GetStockOrderRequest order;
  order.set_stock_order_id("SO-B2-000001");
  EXPECT_EQ(Code(anna, order), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code(Token("manager", {"B1", "B2"}), order), absl::StatusCode::kOk);
  EXPECT_EQ(Code(Token("clerk", {"*"}), order), absl::StatusCode::kOk);
  EXPECT_EQ(Code(Token("group", {}), order), absl::StatusCode::kOk);

  // Group-wide records name no branch.
  pb::GetDebtorRequest debtor;
  debtor.set_debtor_id("D1");
  EXPECT_EQ(Code(Token("viewer", {"B1"}), debtor), absl::StatusCode::kOk);
}

// The five lists filter their rows by the caller's branches (Caller::MaySee), so a caller of
// some branches may leave branch_id empty there; every other request naming a branch must name
// one of theirs, empty or not.
TEST(Access, OnlyTheListsThatFilterRowsMayLeaveTheBranchOut) {
  const auth::Claims clerk = Token("clerk", {"B1", "B2"});
  pb::ListReadyToInvoiceRequest ready;
  pb::ListBackordersRequest backorders;
  pb::ListInvoicesRequest invoices;
  pb::ListReadyBackordersRequest ready_for_debtor;
  ready_for_debtor.set_debtor_id("D1");
  pb::ListStockOrdersRequest orders;
  for (google::protobuf::Message* list : std::initializer_list<google::protobuf::Message*>{
           &ready, &backorders, &invoices, &ready_for_debtor, &orders}) {
    const std::string& type = list->GetDescriptor()->full_name();
    EXPECT_TRUE(FiltersRowsByBranch(type)) << type;
    EXPECT_EQ(Code(clerk, *list), absl::StatusCode::kOk) << type;
    // Naming a branch still has to name one of theirs.
    const auto* branch_id = list->GetDescriptor()->FindFieldByName("branch_id");
    ASSERT_NE(branch_id, nullptr) << type;
    list->GetReflection()->SetString(list, branch_id, "B3");
    EXPECT_EQ(Code(clerk, *list), absl::StatusCode::kPermissionDenied) << type;
    list->GetReflection()->SetString(list, branch_id, "B2");
    EXPECT_EQ(Code(clerk, *list), absl::StatusCode::kOk) << type;
  }

  pb::GetStockRequest stock;  // names no branch: not a list, so refused rather than filtered
  stock.set_part_number("P1");
  EXPECT_FALSE(FiltersRowsByBranch(stock.GetDescriptor()->full_name()));
  const absl::Status s = WithTokens()->Authorise(clerk, "boctl", stock);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("branch_id: required of a caller limited to branches (B1, B2)"));
  EXPECT_EQ(Code(Token("group", {}), stock), absl::StatusCode::kOk);
  EXPECT_FALSE(FiltersRowsByBranch("backorder.v1.CreateInvoiceRequest"));
  EXPECT_FALSE(FiltersRowsByBranch("backorder.v1.ListDebtorsRequest"));  // group-wide records
}

TEST(Access, HoldsAreTakenOnlyFromARelayingServiceForTheClerksBranch) {
  pb::HoldStockRequest hold;
  hold.set_branch_id("B1");
  hold.set_invoice_id("INV-B1-000001");
  const auth::Claims clerk = Token("clerk", {"B1"});
  EXPECT_EQ(Code(clerk, hold, "invoicing"), absl::StatusCode::kOk);
  EXPECT_EQ(Code(clerk, hold, "boctl"), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code(clerk, hold, ""), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code(Token("viewer", {"B1"}), hold, "invoicing"), absl::StatusCode::kPermissionDenied);
  hold.set_branch_id("B2");
  hold.set_invoice_id("INV-B2-000001");
  EXPECT_EQ(Code(clerk, hold, "invoicing"), absl::StatusCode::kPermissionDenied);
}

TEST(Access, InsecureAdmitsEveryoneAsTheyNameThemselves) {
  pb::CreateInvoiceRequest req;
  req.set_request_id("req-1");
  auto caller = Access::Insecure()->Admit(nullptr, req);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->subject, "anonymous");
  EXPECT_EQ(caller->role, "clerk");
  EXPECT_EQ(caller->correlation_id, "req-1");
  EXPECT_TRUE(caller->all_branches);
}

TEST(Access, WithTokensAnInProcessCallWithoutMetadataIsUnauthenticated) {
  pb::GetStockRequest req;
  req.set_branch_id("B1");
  auto caller = WithTokens()->Admit(nullptr, req);
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(caller.status().message()), HasSubstr("authorization"));
}

TEST(Access, HttpReadsNeedAServiceOrPrometheusCertificateOrATokenOfTheirBranch) {
  const auto access = WithTokens();
  EXPECT_TRUE(access->AdmitHttpRead("prometheus", "", "").ok());
  EXPECT_TRUE(access->AdmitHttpRead("debtor-query", "", "").ok());
  // boctl's certificate alone is no reader; a browser presents none.
  EXPECT_EQ(access->AdmitHttpRead("boctl", "", "").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(access->AdmitHttpRead("", "", "").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(access->AdmitHttpRead("", "Bearer not.a.token", "").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(access->AdmitHttpRead("", Bearer("viewer", {"*"}), "").ok());  // every branch
  EXPECT_TRUE(access->AdmitHttpRead("", Bearer("group", {}), "").ok());
  // A wall screen of one branch: that branch only, and never all of them.
  const std::string north = Bearer("viewer", {"NORTH"});
  EXPECT_TRUE(access->AdmitHttpRead("", north, "NORTH").ok());
  EXPECT_EQ(access->AdmitHttpRead("", north, "SOUTH").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(access->AdmitHttpRead("", north, "").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(Access::Insecure()->AdmitHttpRead("", "", "").ok());
}

}  // namespace
}  // namespace bo
