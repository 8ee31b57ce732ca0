#include "services/common/command_support.h"

#include <map>
#include <vector>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace bo {
namespace {

TEST(ToGrpc, InvalidArgumentNamesTheFieldInBadRequest) {
  grpc::Status s = ToGrpc(Invalid("lines[0].quantity", "must be at least 1, got 0"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(s.error_details()));
  google::rpc::BadRequest bad;
  ASSERT_TRUE(details.details(0).UnpackTo(&bad));
  EXPECT_EQ(bad.field_violations(0).field(), "lines[0].quantity");
  EXPECT_EQ(bad.field_violations(0).description(), "must be at least 1, got 0");
}

TEST(ToGrpc, PreconditionFailureCarriesTheReason) {
  grpc::Status s = ToGrpc(absl::FailedPreconditionError("invoice inv-1 is finalised"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(s.error_details()));
  google::rpc::PreconditionFailure failure;
  ASSERT_TRUE(details.details(0).UnpackTo(&failure));
  EXPECT_EQ(failure.violations(0).description(), "invoice inv-1 is finalised");
}

TEST(Checks, RejectWhatTheyShould) {
  EXPECT_TRUE(CheckId("debtor_id", "D-1001").ok());
  EXPECT_EQ(CheckId("debtor_id", "").message(), "debtor_id: required");
  EXPECT_FALSE(CheckId("debtor_id", "D 1").ok());
  EXPECT_FALSE(CheckId("branch_id", "B/1").ok());
  EXPECT_FALSE(CheckId("debtor_id", std::string(65, 'a')).ok());
  EXPECT_TRUE(CheckId("stock_order_id", "", /*required=*/false).ok());
  EXPECT_FALSE(CheckQuantity("quantity", 0).ok());
  EXPECT_FALSE(CheckQuantity("quantity", -1, true).ok());
  EXPECT_TRUE(CheckQuantity("quantity", 0, true).ok());
  EXPECT_FALSE(CheckQuantity("quantity", kMaxRequestQuantity + 1).ok());
  EXPECT_FALSE(CheckRequestId("").ok());
  EXPECT_FALSE(CheckRequestId("a b").ok());
  EXPECT_FALSE(CheckText("reason", "  ", 100, true).ok());
  EXPECT_FALSE(CheckText("reason", std::string("\xff\xfe"), 100, true).ok());
  backorder::v1::Money m;
  EXPECT_TRUE(CheckMoney("unit_price", m, false).ok());
  EXPECT_FALSE(CheckMoney("unit_price", m, true).ok());
  m.set_currency("aud");
  EXPECT_EQ(CheckMoney("unit_price", m, true).message(),
            "unit_price.currency: \"aud\" is not an ISO 4217 code like \"AUD\"");
  EXPECT_FALSE(PageSize(-1).ok());
  EXPECT_EQ(*PageSize(0), 100);
}

TEST(Checks, DocumentsOfAnotherBranchAreRefused) {
  EXPECT_TRUE(CheckDocumentOfBranch("invoice_id", "INV-NORTH-000001", "INV-", "NORTH").ok());
  EXPECT_TRUE(CheckDocumentOfBranch("invoice_id", "INV-NORTH-2-000001", "INV-", "NORTH-2").ok());
  EXPECT_EQ(CheckDocumentOfBranch("invoice_id", "INV-NORTH-000001", "INV-", "SOUTH").message(),
            "invoice_id: INV-NORTH-000001 is of branch NORTH, not SOUTH");
  EXPECT_EQ(CheckDocumentOfBranch("invoice_id", "INV-NORTH-000001", "INV-", "NORTH-2").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckDocumentOfBranch("stock_order_id", "SO-B1-000007", "SO-", "B2").message(),
            "stock_order_id: SO-B1-000007 is of branch B1, not B2");
  // Not in the form: not judged.
  EXPECT_TRUE(CheckDocumentOfBranch("invoice_id", "INV-1", "INV-", "B2").ok());
  EXPECT_TRUE(CheckDocumentOfBranch("invoice_id", "INV-B1-x1", "INV-", "B2").ok());
  EXPECT_TRUE(CheckDocumentOfBranch("invoice_id", "WO-B1-000001", "INV-", "B2").ok());
  EXPECT_TRUE(CheckDocumentOfBranch("stock_order_id", "", "SO-", "B2").ok());
}

// What a restore reads a branch's counter from (own_state_restore.h).
TEST(Checks, DocumentNumberIsTheNumberAfterTheLastDash) {
  EXPECT_EQ(DocumentNumber("INV-B1-000007"), 7u);
  EXPECT_EQ(DocumentNumber("SO-NORTH-2-000012"), 12u);  // a branch id with a dash
  EXPECT_EQ(DocumentNumber("INV-B1-"), std::nullopt);
  EXPECT_EQ(DocumentNumber("INV-B1-0x7"), std::nullopt);
  EXPECT_EQ(DocumentNumber("INVOICE"), std::nullopt);
}

TEST(Caller, SeesTheRowsOfItsBranchesAndListsItsOnlyBranch) {
  Caller everyone;  // a group token, or an insecure service
  EXPECT_TRUE(everyone.MaySee("B1"));
  EXPECT_EQ(everyone.ListBranch(""), "");
  EXPECT_EQ(everyone.ListBranch("B2"), "B2");

  Caller two;
  two.all_branches = false;
  two.branches = {"B1", "B2"};
  EXPECT_TRUE(two.MaySee("B1"));
  EXPECT_TRUE(two.MaySee("B2"));
  EXPECT_FALSE(two.MaySee("B3"));
  EXPECT_FALSE(two.MaySee(""));
  EXPECT_FALSE(two.MaySee("B"));
  EXPECT_EQ(two.ListBranch(""), "");  // both, filtered row by row
  EXPECT_EQ(two.ListBranch("B2"), "B2");

  Caller one;
  one.all_branches = false;
  one.branches = {"B1"};
  EXPECT_EQ(one.ListBranch(""), "B1");  // narrowed to its index
  EXPECT_FALSE(one.MaySee("B2"));

  Caller none;
  none.all_branches = false;
  EXPECT_FALSE(none.MaySee("B1"));
  EXPECT_EQ(none.ListBranch(""), "");
}

TEST(PageToken, RoundTripsAndRejectsForgeries) {
  auto back = DecodePageToken(EncodePageToken("bo/\x01zz"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "bo/\x01zz");
  EXPECT_FALSE(DecodePageToken("xyz").ok());
  EXPECT_FALSE(DecodePageToken("zz").ok());
}

}  // namespace
}  // namespace bo

namespace bo {
namespace {

// A stand-in with Database::Scan's contract over a sorted map.
struct MapReader {
  std::map<std::string, std::string> rows;
  absl::Status Scan(std::string_view, std::string_view prefix, std::string_view start_after,
                    const std::function<bool(std::string_view, std::string_view)>& visit) {
    for (auto it = rows.upper_bound(std::string(start_after)); it != rows.end(); ++it) {
      if (!std::string_view(it->first).starts_with(prefix)) continue;
      if (!visit(it->first, it->second)) break;
    }
    return absl::OkStatus();
  }
};

TEST(ScanPage, PagesThroughWhatPickListsAndRefusesForeignTokens) {
  MapReader reader;
  for (int i = 0; i < 7; ++i) reader.rows["x/" + std::to_string(i)] = i % 2 ? "odd" : "even";
  reader.rows["y/0"] = "even";
  std::vector<std::string> seen;
  auto even = [](std::string_view key,
                 std::string_view value) -> absl::StatusOr<std::optional<std::string>> {
    if (value != "even") return std::nullopt;
    return std::optional<std::string>(std::string(key));
  };
  auto add = [&](std::string&& key) { seen.push_back(std::move(key)); };
  auto next = ScanPage<std::string>(reader, "state", "x/", "", 2, even, add);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"x/0", "x/2"}));
  auto start = PageStart(*next, "x/");
  ASSERT_TRUE(start.ok());
  seen.clear();
  auto last = ScanPage<std::string>(reader, "state", "x/", *start, 2, even, add);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"x/4", "x/6"}));
  EXPECT_EQ(*last, "");  // x/6 was the last even one: no token to an empty page
  EXPECT_EQ(PageStart(*next, "y/").status().code(), absl::StatusCode::kInvalidArgument);
  auto failing = ScanPage<std::string>(
      reader, "state", "x/", "", 2,
      [](std::string_view, std::string_view) -> absl::StatusOr<std::optional<std::string>> {
        return absl::DataLossError("unreadable");
      },
      add);
  EXPECT_EQ(failing.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace bo
