// How boctl reaches the four services: where they are (flags, environment, the stack file,
// defaults), who is calling (gRPC metadata), and one call with a deadline, retries and an error
// report a clerk can act on.
//
// Retries: UNAVAILABLE and DEADLINE_EXCEEDED are retried with the same request (so the same
// request_id: the services answer a repeat with the first answer and change nothing), at most
// kMaxAttempts times with exponential backoff, and no new attempt starts once the --timeout
// window since the first one has passed, so an unreachable service fails within about that time.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "absl/status/statusor.h"
#include "backorder/v1/debtor_query_service.grpc.pb.h"
#include "backorder/v1/invoicing_service.grpc.pb.h"
#include "backorder/v1/purchasing_service.grpc.pb.h"
#include "backorder/v1/receiving_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/rpc/tls.h"

namespace bo::boctl {

enum class ServiceId { kInvoicing, kPurchasing, kReceiving, kDebtorQuery };
inline constexpr ServiceId kAllServices[] = {ServiceId::kInvoicing, ServiceId::kPurchasing,
                                             ServiceId::kReceiving, ServiceId::kDebtorQuery};

// "invoicing", "debtor-query", ...
std::string ServiceName(ServiceId service);
// "INVOICING_ADDR", ... (the environment and stack-file key).
std::string AddressKey(ServiceId service);

// Where one service is, and where that came from ("--invoicing-addr", "$INVOICING_ADDR",
// "var/stack/stack.env", "default"), so an error can say why boctl looked there.
struct Address {
  std::string target;
  std::string source;
};

// KEY=VALUE lines; blank lines, "#" comments and a leading "export " are ignored, and one pair of
// quotes around a value is removed.
std::map<std::string, std::string> ParseEnvFile(std::string_view text);

// The stack file to read: `env_file` (--env-file) if given, else $BO_STACK_ENV, else
// var/stack/stack.env in `start` or the nearest directory above it that has one; nullopt if none.
std::optional<std::string> FindStackFile(const std::string& env_file,
                                         const std::function<const char*(const char*)>& getenv,
                                         const std::string& start);

// The address of `service`: the flag if set, else the environment, else the stack file, else
// 127.0.0.1:5005x.
Address ResolveAddress(ServiceId service, const std::string& flag,
                       const std::function<const char*(const char*)>& getenv,
                       const std::map<std::string, std::string>& stack_file,
                       const std::string& stack_file_path);

// The stack file's KEY=VALUE pairs and where it is; both empty when there is none.
struct StackFile {
  std::string path;
  std::map<std::string, std::string> values;
};

// Finds the stack file (FindStackFile, from `env_file` and the current directory) and reads it.
// nullopt, with the reason on stderr, if the file found or asked for cannot be read.
std::optional<StackFile> ReadStackFile(const std::string& env_file);

// Every service's address, each by ResolveAddress from `flags` (a service missing from it has no
// flag), the environment and `stack`.
std::map<ServiceId, Address> ResolveAddresses(const StackFile& stack,
                                              const std::map<ServiceId, std::string>& flags);

// Who the client is when neither flags nor environment said: the stack's client certificate
// (BO_CA, BO_CERT, BO_KEY in the stack file) unless any TLS file was given, and its token file
// (BO_TOKEN_FILE) unless a token or token file was given. A stack started --insecure has none.
void TakeIdentityFromStack(const StackFile& stack, rpc::TlsFiles* tls, const std::string& token,
                           std::string* token_file);

// Who the client is: `tls`, `token` and `token_file` (flags, else environment) completed from
// `stack` by TakeIdentityFromStack, then read (rpc::ReadClientIdentity and its errors).
absl::StatusOr<rpc::ClientIdentity> ResolveIdentity(const StackFile& stack, rpc::TlsFiles tls,
                                                    const std::string& token,
                                                    std::string token_file);

// Who calls and how patiently.
struct CallSettings {
  std::map<ServiceId, Address> addresses;
  // Mutual TLS (--ca, --cert, --key) and the bearer token sent on every call; plaintext and no
  // token when it has no TLS.
  rpc::ClientIdentity identity;
  std::string actor;       // metadata bo-actor (services started --insecure only)
  std::string role;        // metadata bo-role (services started --insecure only)
  std::string request_id;  // the request id of this invocation's mutating call
  double timeout_seconds = 10;
  // Wait before the second attempt; doubles for each further one (tests make it short).
  std::chrono::milliseconds first_backoff{200};
};

inline constexpr int kMaxAttempts = 5;

// Whether a failed call may be tried again with the same request.
bool Retryable(grpc::StatusCode code);
// Wait before attempt `attempt` (2, 3, ...): `first` doubling, at most 10 x `first`, before
// jitter.
std::chrono::milliseconds Backoff(int attempt,
                                  std::chrono::milliseconds first = std::chrono::milliseconds(200));

// What an error report says about where the call went.
struct CallTarget {
  ServiceId service = ServiceId::kInvoicing;
  Address address;
  double timeout_seconds = 10;
  // The channel never connected: UNAVAILABLE then means the service is not there at all (rather
  // than the service answering UNAVAILABLE itself).
  bool unreachable = false;
};

// The report printed on stderr for a failed call:
//   error: <doing>: <STATUS_NAME>: <message>
//     field <field>: <description>       (google.rpc.BadRequest)
//     <description>                      (google.rpc.PreconditionFailure)
// leaving out a detail that only repeats the message ("field: description" for a BadRequest).
//   hint: cannot reach <service> at <addr> (<source>): is the stack up? (tools/run)
std::string ErrorReport(std::string_view doing, const grpc::Status& status,
                        const CallTarget& target);

template <typename Stub>
struct StubTraits;
template <>
struct StubTraits<backorder::v1::InvoicingService::Stub> {
  static constexpr ServiceId kService = ServiceId::kInvoicing;
  using Service = backorder::v1::InvoicingService;
};
template <>
struct StubTraits<backorder::v1::PurchasingService::Stub> {
  static constexpr ServiceId kService = ServiceId::kPurchasing;
  using Service = backorder::v1::PurchasingService;
};
template <>
struct StubTraits<backorder::v1::ReceivingService::Stub> {
  static constexpr ServiceId kService = ServiceId::kReceiving;
  using Service = backorder::v1::ReceivingService;
};
template <>
struct StubTraits<backorder::v1::DebtorQueryService::Stub> {
  static constexpr ServiceId kService = ServiceId::kDebtorQuery;
  using Service = backorder::v1::DebtorQueryService;
};

// One RPC of a generated stub, with its name for messages ("CreateInvoice").
template <typename Stub, typename Request, typename Response>
struct Rpc {
  using StubType = Stub;
  using RequestType = Request;
  using ResponseType = Response;
  std::string_view name;
  grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*);
};

class Client {
 public:
  explicit Client(CallSettings settings);

  const CallSettings& settings() const { return settings_; }
  const Address& AddressOf(ServiceId service) const { return settings_.addresses.at(service); }

  // Calls `rpc` with the deadline, metadata and retries. On failure prints the ErrorReport of
  // `doing` on stderr and returns false.
  template <typename Stub, typename Request, typename Response>
  bool Call(std::string_view doing, const Rpc<Stub, Request, Response>& rpc, const Request& request,
            Response* response) {
    const grpc::Status status = TryCall(rpc, request, response);
    if (!status.ok()) Report(doing, StubTraits<Stub>::kService, status);
    return status.ok();
  }

  // The same without the report, for a caller that expects some errors (NOT_FOUND on upsert).
  template <typename Stub, typename Request, typename Response>
  grpc::Status TryCall(const Rpc<Stub, Request, Response>& rpc, const Request& request,
                       Response* response) {
    constexpr ServiceId service = StubTraits<Stub>::kService;
    auto& stub = std::get<std::unique_ptr<Stub>>(stubs_);
    if (stub == nullptr) stub = StubTraits<Stub>::Service::NewStub(Channel(service));
    return CallWithRetries([&](grpc::ClientContext* context) {
      response->Clear();
      return (stub.get()->*rpc.method)(context, request, response);
    });
  }

  // Prints the ErrorReport of a failed call to `service` on stderr.
  void Report(std::string_view doing, ServiceId service, const grpc::Status& status);

 private:
  std::shared_ptr<grpc::Channel> Channel(ServiceId service);
  grpc::Status CallWithRetries(const std::function<grpc::Status(grpc::ClientContext*)>& attempt);
  void Prepare(grpc::ClientContext* context) const;

  CallSettings settings_;
  std::map<ServiceId, std::shared_ptr<grpc::Channel>> channels_;
  // One stub per service, made on first use (a command talks to one or two services).
  std::tuple<std::unique_ptr<backorder::v1::InvoicingService::Stub>,
             std::unique_ptr<backorder::v1::PurchasingService::Stub>,
             std::unique_ptr<backorder::v1::ReceivingService::Stub>,
             std::unique_ptr<backorder::v1::DebtorQueryService::Stub>>
      stubs_;
};

}  // namespace bo::boctl
