#include "tools/boctl/client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace bo::boctl {
namespace {

// A fake environment for the resolution functions.
struct FakeEnv {
  std::map<std::string, std::string> values;
  std::function<const char*(const char*)> Getenv() const {
    return [this](const char* name) -> const char* {
      auto it = values.find(name);
      return it == values.end() ? nullptr : it->second.c_str();
    };
  }
};

TEST(EnvFileTest, ReadsKeyValueLinesLikeTheStackWritesThem) {
  auto values = ParseEnvFile(
      "KAFKA_BOOTSTRAP=127.0.0.1:39092\n"
      "# a comment\n"
      "\n"
      "INVOICING_ADDR=127.0.0.1:50051\n"
      "export RECEIVING_ADDR=\"127.0.0.1:6\"\n"
      "  PURCHASING_ADDR = '10.0.0.1:50052'  \n"
      "not a pair\n"
      "=nokey\n");
  EXPECT_EQ(values.size(), 4u);
  EXPECT_EQ(values["KAFKA_BOOTSTRAP"], "127.0.0.1:39092");
  EXPECT_EQ(values["INVOICING_ADDR"], "127.0.0.1:50051");
  EXPECT_EQ(values["RECEIVING_ADDR"], "127.0.0.1:6");
  EXPECT_EQ(values["PURCHASING_ADDR"], "10.0.0.1:50052");
}

TEST(IdentityTest, TheStackFilesCertificateAndTokenUnlessGivenOtherwise) {
  const StackFile stack{"s.env",
                        {{"BO_CA", "pki/ca.crt"},
                         {"BO_CERT", "pki/boctl.crt"},
                         {"BO_KEY", "pki/boctl.key"},
                         {"BO_TOKEN_FILE", "tokens/group.jwt"}}};
  rpc::TlsFiles tls;
  std::string token_file;
  TakeIdentityFromStack(stack, &tls, "", &token_file);
  EXPECT_EQ(tls.ca, "pki/ca.crt");
  EXPECT_EQ(tls.cert, "pki/boctl.crt");
  EXPECT_EQ(tls.key, "pki/boctl.key");
  EXPECT_EQ(token_file, "tokens/group.jwt");

  // Any TLS file given (flag or environment) means the caller chose its own three; a token or a
  // token file given is the caller's.
  rpc::TlsFiles mine{"", "me.crt", ""};
  std::string my_file;
  TakeIdentityFromStack(stack, &mine, "a.b.c", &my_file);
  EXPECT_EQ(mine.ca, "");
  EXPECT_EQ(mine.cert, "me.crt");
  EXPECT_EQ(my_file, "");
  my_file = "mine.jwt";
  TakeIdentityFromStack(stack, &mine, "", &my_file);
  EXPECT_EQ(my_file, "mine.jwt");

  // An insecure stack names none: plaintext, no token.
  rpc::TlsFiles none;
  std::string no_file;
  TakeIdentityFromStack(StackFile{}, &none, "", &no_file);
  EXPECT_FALSE(none.any());
  EXPECT_EQ(no_file, "");
}

TEST(AddressTest, FlagThenEnvironmentThenStackFileThenDefault) {
  FakeEnv env;
  std::map<std::string, std::string> stack = {{"INVOICING_ADDR", "10.0.0.3:1"},
                                              {"DEBTOR_QUERY_ADDR", "10.0.0.3:4"}};
  env.values["INVOICING_ADDR"] = "10.0.0.2:1";

  Address a = ResolveAddress(ServiceId::kInvoicing, "10.0.0.1:1", env.Getenv(), stack, "s.env");
  EXPECT_EQ(a.target, "10.0.0.1:1");
  EXPECT_EQ(a.source, "--invoicing-addr");

  a = ResolveAddress(ServiceId::kInvoicing, "", env.Getenv(), stack, "s.env");
  EXPECT_EQ(a.target, "10.0.0.2:1");
  EXPECT_EQ(a.source, "$INVOICING_ADDR");

  a = ResolveAddress(ServiceId::kDebtorQuery, "", env.Getenv(), stack, "s.env");
  EXPECT_EQ(a.target, "10.0.0.3:4");
  EXPECT_EQ(a.source, "s.env");

  a = ResolveAddress(ServiceId::kPurchasing, "", env.Getenv(), stack, "s.env");
  EXPECT_EQ(a.target, "127.0.0.1:50052");
  EXPECT_EQ(a.source, "default");
  EXPECT_EQ(ResolveAddress(ServiceId::kReceiving, "", env.Getenv(), {}, "").target,
            "127.0.0.1:50053");
}

TEST(AddressTest, EmptyEnvironmentValueDoesNotCount) {
  FakeEnv env;
  env.values["RECEIVING_ADDR"] = "";
  EXPECT_EQ(ResolveAddress(ServiceId::kReceiving, "", env.Getenv(), {}, "").source, "default");
}

TEST(AddressTest, KeysAndNames) {
  EXPECT_EQ(AddressKey(ServiceId::kDebtorQuery), "DEBTOR_QUERY_ADDR");
  EXPECT_EQ(ServiceName(ServiceId::kDebtorQuery), "debtor-query");
  EXPECT_EQ(AddressKey(ServiceId::kPurchasing), "PURCHASING_ADDR");
}

class StackFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("boctl_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "var" / "stack");
    std::filesystem::create_directories(root_ / "a" / "b");
    std::ofstream(root_ / "var" / "stack" / "stack.env") << "INVOICING_ADDR=x:1\n";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
};

TEST_F(StackFileTest, WalksUpToTheNearestStackFile) {
  FakeEnv env;
  auto found = FindStackFile("", env.Getenv(), (root_ / "a" / "b").string());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, (root_ / "var" / "stack" / "stack.env").string());
}

TEST_F(StackFileTest, FlagThenEnvironmentWin) {
  FakeEnv env;
  env.values["BO_STACK_ENV"] = "/elsewhere/stack.env";
  EXPECT_EQ(FindStackFile("mine.env", env.Getenv(), root_.string()), "mine.env");
  EXPECT_EQ(FindStackFile("", env.Getenv(), root_.string()), "/elsewhere/stack.env");
}

TEST_F(StackFileTest, NoneFound) {
  std::filesystem::remove(root_ / "var" / "stack" / "stack.env");
  FakeEnv env;
  // Directories above the temporary one are not ours; only check nothing is found below root.
  auto found = FindStackFile("", env.Getenv(), (root_ / "a").string());
  if (found.has_value()) {
    EXPECT_EQ(found->rfind(root_.string(), 0), std::string::npos);
  }
}

TEST(RetryTest, OnlyUnavailableAndDeadlineAreRetried) {
  EXPECT_TRUE(Retryable(grpc::StatusCode::UNAVAILABLE));
  EXPECT_TRUE(Retryable(grpc::StatusCode::DEADLINE_EXCEEDED));
  EXPECT_FALSE(Retryable(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_FALSE(Retryable(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_FALSE(Retryable(grpc::StatusCode::NOT_FOUND));
}

TEST(RetryTest, BackoffDoublesAndIsCapped) {
  EXPECT_EQ(Backoff(2).count(), 200);
  EXPECT_EQ(Backoff(3, std::chrono::milliseconds(10)).count(), 20);
  EXPECT_EQ(Backoff(3).count(), 400);
  EXPECT_EQ(Backoff(5).count(), 1600);
  EXPECT_EQ(Backoff(6).count(), 2000);
  EXPECT_EQ(Backoff(100).count(), 2000);
}

CallTarget Target(bool unreachable) {
  return {ServiceId::kInvoicing, {"127.0.0.1:50051", "default"}, 2, unreachable};
}

TEST(ErrorReportTest, NamesWhatWasDoneTheCodeAndTheMessage) {
  grpc::Status status(grpc::StatusCode::NOT_FOUND, "invoice INV-9 not found");
  EXPECT_EQ(ErrorReport("reading invoice INV-9", status, Target(false)),
            "error: reading invoice INV-9: NOT_FOUND: invoice INV-9 not found\n");
}

TEST(ErrorReportTest, ListsFieldViolationsAndPreconditions) {
  google::rpc::Status details;
  google::rpc::BadRequest bad;
  auto* v = bad.add_field_violations();
  v->set_field("quantity_ordered");
  v->set_description("must be at least 1, got 0");  // the message says it already
  v = bad.add_field_violations();
  v->set_field("unit_price");
  v->set_description("must not be negative");
  v = bad.add_field_violations();
  v->set_field("part_number");
  v->set_description("required");
  details.add_details()->PackFrom(bad);
  google::rpc::PreconditionFailure failure;
  failure.add_violations()->set_description("invoice INV-1 is FINALISED, not a draft");
  failure.add_violations()->set_description("quantity_ordered: must be at least 1, got 0");
  details.add_details()->PackFrom(failure);
  grpc::Status status(grpc::StatusCode::INVALID_ARGUMENT,
                      "quantity_ordered: must be at least 1, got 0", details.SerializeAsString());
  EXPECT_EQ(ErrorReport("adding 0 x OIL-1 to INV-1", status, Target(false)),
            "error: adding 0 x OIL-1 to INV-1: INVALID_ARGUMENT: quantity_ordered: must be at "
            "least 1, got 0\n"
            "  field unit_price: must not be negative\n"
            "  field part_number: required\n"
            "  invoice INV-1 is FINALISED, not a draft\n");
}

TEST(ErrorReportTest, GarbageDetailsAreIgnored) {
  grpc::Status status(grpc::StatusCode::INTERNAL, "boom", "\xff\xff not a proto");
  EXPECT_EQ(ErrorReport("x", status, Target(false)), "error: x: INTERNAL: boom\n");
}

TEST(ErrorReportTest, UnreachableGetsAHint) {
  grpc::Status status(grpc::StatusCode::UNAVAILABLE, "failed to connect to all addresses");
  EXPECT_EQ(ErrorReport("reading invoice INV-9", status, Target(true)),
            "error: reading invoice INV-9: UNAVAILABLE: failed to connect to all addresses\n"
            "hint: cannot reach invoicing at 127.0.0.1:50051 (from default): is the stack up? "
            "(tools/run)\n");
  // The service itself answering UNAVAILABLE (it could not reach another) is not our address.
  EXPECT_EQ(ErrorReport("x", status, Target(false)),
            "error: x: UNAVAILABLE: failed to connect to all addresses\n");
}

TEST(ErrorReportTest, DeadlineGetsAHint) {
  grpc::Status status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded");
  EXPECT_EQ(ErrorReport("x", status, Target(false)),
            "error: x: DEADLINE_EXCEEDED: Deadline Exceeded\n"
            "hint: no answer from invoicing at 127.0.0.1:50051 (from default) within 2s "
            "(--timeout)\n");
}

}  // namespace
}  // namespace bo::boctl
