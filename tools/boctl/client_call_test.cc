// Client against an in-process fake invoicing service: metadata, the same request on every retry,
// which codes are retried, and the retry window.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "services/common/command_support.h"
#include "tools/boctl/client.h"
#include "tools/boctl/commands.h"

namespace bo::boctl {
namespace {

namespace v1 = ::backorder::v1;

// Answers CreateInvoice with `failures` errors of `code` before succeeding, and remembers what
// each attempt carried.
class FakeInvoicing final : public v1::InvoicingService::Service {
 public:
  struct Seen {
    std::string request_id, actor, role, correlation_id;
  };

  grpc::Status CreateInvoice(grpc::ServerContext* context, const v1::CreateInvoiceRequest* request,
                             v1::Invoice* response) override {
    std::lock_guard lock(mu_);
    auto md = [&](const char* key) {
      auto it = context->client_metadata().find(key);
      return it == context->client_metadata().end()
                 ? std::string()
                 : std::string(it->second.data(), it->second.size());
    };
    seen_.push_back(
        {request->request_id(), md("bo-actor"), md("bo-role"), md("bo-correlation-id")});
    if (static_cast<int>(seen_.size()) <= failures_) return grpc::Status(code_, "not now");
    response->set_invoice_id("INV-B1-000001");
    return grpc::Status::OK;
  }

  grpc::Status GetInvoice(grpc::ServerContext*, const v1::GetInvoiceRequest*,
                          v1::Invoice*) override {
    return bo::ToGrpc(absl::FailedPreconditionError("invoice INV-1 is not a draft"));
  }

  void FailFirst(int n, grpc::StatusCode code) {
    std::lock_guard lock(mu_);
    failures_ = n;
    code_ = code;
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  int failures_ = 0;
  grpc::StatusCode code_ = grpc::StatusCode::UNAVAILABLE;
  std::vector<Seen> seen_;
};

class ClientCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  Client MakeClient(double timeout_seconds) {
    CallSettings settings;
    for (ServiceId s : kAllServices) settings.addresses[s] = {"127.0.0.1:1", "test"};
    settings.addresses[ServiceId::kInvoicing] = {"127.0.0.1:" + std::to_string(port_), "test"};
    settings.actor = "clerk:anna";
    settings.role = "manager";
    settings.request_id = "req-42";
    settings.timeout_seconds = timeout_seconds;
    settings.first_backoff = std::chrono::milliseconds(1);
    return Client(settings);
  }

  const Rpc<v1::InvoicingService::Stub, v1::CreateInvoiceRequest, v1::Invoice> create_{
      "CreateInvoice", &v1::InvoicingService::Stub::CreateInvoice};
  FakeInvoicing service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(ClientCallTest, SendsWhoIsCallingAndRetriesWithTheSameRequest) {
  service_.FailFirst(2, grpc::StatusCode::UNAVAILABLE);
  Client client = MakeClient(10);
  v1::CreateInvoiceRequest request;
  request.set_request_id("req-42");
  v1::Invoice invoice;
  const grpc::Status status = client.TryCall(create_, request, &invoice);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(invoice.invoice_id(), "INV-B1-000001");
  const auto seen = service_.seen();
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& s : seen) {
    EXPECT_EQ(s.request_id, "req-42");
    EXPECT_EQ(s.actor, "clerk:anna");
    EXPECT_EQ(s.role, "manager");
    EXPECT_EQ(s.correlation_id, "req-42");
  }
}

TEST_F(ClientCallTest, GivesUpAfterFiveAttempts) {
  service_.FailFirst(100, grpc::StatusCode::DEADLINE_EXCEEDED);
  Client client = MakeClient(10);
  v1::Invoice invoice;
  const grpc::Status status = client.TryCall(create_, v1::CreateInvoiceRequest(), &invoice);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(service_.seen().size(), static_cast<size_t>(kMaxAttempts));
}

TEST_F(ClientCallTest, DoesNotRetryARefusal) {
  service_.FailFirst(100, grpc::StatusCode::INVALID_ARGUMENT);
  Client client = MakeClient(10);
  v1::Invoice invoice;
  EXPECT_FALSE(client.Call("creating an invoice", create_, v1::CreateInvoiceRequest(), &invoice));
  EXPECT_EQ(service_.seen().size(), 1u);
}

TEST_F(ClientCallTest, StopsRetryingWhenTheTimeoutWindowIsOver) {
  service_.FailFirst(100, grpc::StatusCode::UNAVAILABLE);
  CallSettings settings = MakeClient(0.05).settings();
  settings.first_backoff = std::chrono::milliseconds(40);  // 40, 80: the second wait passes 50 ms
  Client client(settings);
  v1::Invoice invoice;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(client.TryCall(create_, v1::CreateInvoiceRequest(), &invoice).ok());
  EXPECT_LT(service_.seen().size(), static_cast<size_t>(kMaxAttempts));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(ClientCallTest, ErrorDetailsComeThroughTheTrailer) {
  Client client = MakeClient(10);
  const Rpc get{"GetInvoice", &v1::InvoicingService::Stub::GetInvoice};
  v1::Invoice invoice;
  const grpc::Status status = client.TryCall(get, v1::GetInvoiceRequest(), &invoice);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  const CallTarget target{ServiceId::kInvoicing, client.AddressOf(ServiceId::kInvoicing), 10,
                          false};
  // The service's PreconditionFailure repeats the message, so the report says it once.
  EXPECT_EQ(ErrorReport("reading invoice INV-1", status, target),
            "error: reading invoice INV-1: FAILED_PRECONDITION: invoice INV-1 is not a draft\n");
}

// Run, the step every command ends with: --json prints the whole answer, --quiet the id, and
// otherwise the view's text.
TEST_F(ClientCallTest, RunPrintsTheAnswerAsAsked) {
  Client client = MakeClient(10);
  const auto view = ViewOf<v1::Invoice>(
      [](const v1::Invoice& i) { return "Created invoice " + i.invoice_id() + "\n"; },
      [](const v1::Invoice& i) { return i.invoice_id(); });
  auto output_of = [&](OutputOptions options) {
    Context context(&client, options);
    ::testing::internal::CaptureStdout();
    const int exit_code =
        bo::boctl::Run(context, "creating an invoice", create_, v1::CreateInvoiceRequest(), view);
    EXPECT_EQ(exit_code, kOk);
    return ::testing::internal::GetCapturedStdout();
  };
  EXPECT_EQ(output_of({}), "Created invoice INV-B1-000001\n");
  EXPECT_EQ(output_of({.quiet = true}), "INV-B1-000001\n");
  const std::string json = output_of({.json = true, .quiet = true});
  EXPECT_NE(json.find("\"invoiceId\": \"INV-B1-000001\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"reference\": \"\""), std::string::npos) << json;  // every field
  EXPECT_EQ(json.back(), '\n');
}

TEST_F(ClientCallTest, RunExitsOneOnAnError) {
  service_.FailFirst(100, grpc::StatusCode::NOT_FOUND);
  Client client = MakeClient(10);
  Context context(&client, {});
  ::testing::internal::CaptureStderr();
  const int exit_code = bo::boctl::Run(context, "creating an invoice", create_,
                                       v1::CreateInvoiceRequest(), View<v1::Invoice>{});
  EXPECT_EQ(exit_code, kRpcError);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "error: creating an invoice: NOT_FOUND: not now\n");
}

}  // namespace
}  // namespace bo::boctl
