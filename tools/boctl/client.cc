#include "tools/boctl/client.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace bo::boctl {
namespace {

using Clock = std::chrono::steady_clock;

absl::string_view Unquote(absl::string_view value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front()) {
    return value.substr(1, value.size() - 2);
  }
  return value;
}

int DefaultPort(ServiceId service) {
  switch (service) {
    case ServiceId::kInvoicing:
      return 50051;
    case ServiceId::kPurchasing:
      return 50052;
    case ServiceId::kReceiving:
      return 50053;
    case ServiceId::kDebtorQuery:
      return 50054;
  }
  return 0;
}

// The lines the google.rpc details of `status` add to its report. A line that only repeats the
// message (the services' single violation usually does) is left out.
std::string DetailLines(const grpc::Status& status) {
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) return "";
  const std::string& message = status.error_message();
  std::string out;
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad;
    google::rpc::PreconditionFailure failure;
    if (any.UnpackTo(&bad)) {
      for (const auto& v : bad.field_violations()) {
        if (v.field() + ": " + v.description() == message) continue;
        absl::StrAppend(&out, "  ", v.field().empty() ? "" : "field " + v.field() + ": ",
                        v.description(), "\n");
      }
    } else if (any.UnpackTo(&failure)) {
      for (const auto& v : failure.violations()) {
        if (v.description() != message) absl::StrAppend(&out, "  ", v.description(), "\n");
      }
    }
  }
  return out;
}

std::string Hint(grpc::StatusCode code, const CallTarget& target) {
  const std::string where = absl::StrCat(ServiceName(target.service), " at ", target.address.target,
                                         " (from ", target.address.source, ")");
  if (code == grpc::StatusCode::UNAVAILABLE && target.unreachable) {
    return absl::StrCat("hint: cannot reach ", where, ": is the stack up? (tools/run)\n");
  }
  if (code == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::StrFormat("hint: no answer from %s within %gs (--timeout)\n", where,
                           target.timeout_seconds);
  }
  return "";
}

}  // namespace

std::string ServiceName(ServiceId service) {
  switch (service) {
    case ServiceId::kInvoicing:
      return "invoicing";
    case ServiceId::kPurchasing:
      return "purchasing";
    case ServiceId::kReceiving:
      return "receiving";
    case ServiceId::kDebtorQuery:
      return "debtor-query";
  }
  return "?";
}

std::string AddressKey(ServiceId service) {
  std::string key = absl::AsciiStrToUpper(ServiceName(service));
  std::replace(key.begin(), key.end(), '-', '_');
  return key + "_ADDR";
}

std::map<std::string, std::string> ParseEnvFile(std::string_view text) {
  std::map<std::string, std::string> values;
  // Debian's absl::string_view is not std::string_view.
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    absl::ConsumePrefix(&line, "export ");
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos || eq == 0) continue;
    values[std::string(absl::StripAsciiWhitespace(line.substr(0, eq)))] =
        std::string(Unquote(absl::StripAsciiWhitespace(line.substr(eq + 1))));
  }
  return values;
}

std::optional<std::string> FindStackFile(const std::string& env_file,
                                         const std::function<const char*(const char*)>& getenv,
                                         const std::string& start) {
  if (!env_file.empty()) return env_file;
  if (const char* from_env = getenv("BO_STACK_ENV"); from_env != nullptr && *from_env != '\0') {
    return std::string(from_env);
  }
  std::error_code error;
  for (std::filesystem::path dir = start; !dir.empty(); dir = dir.parent_path()) {
    const auto candidate = dir / "var" / "stack" / "stack.env";
    if (std::filesystem::is_regular_file(candidate, error)) return candidate.string();
    if (dir == dir.parent_path()) break;
  }
  return std::nullopt;
}

Address ResolveAddress(ServiceId service, const std::string& flag,
                       const std::function<const char*(const char*)>& getenv,
                       const std::map<std::string, std::string>& stack_file,
                       const std::string& stack_file_path) {
  const std::string key = AddressKey(service);
  if (!flag.empty()) return {flag, "--" + ServiceName(service) + "-addr"};
  if (const char* env = getenv(key.c_str()); env != nullptr && *env != '\0') {
    return {env, "$" + key};
  }
  if (auto it = stack_file.find(key); it != stack_file.end() && !it->second.empty()) {
    return {it->second, stack_file_path};
  }
  return {absl::StrCat("127.0.0.1:", DefaultPort(service)), "default"};
}

std::optional<StackFile> ReadStackFile(const std::string& env_file) {
  std::error_code error;
  const std::string cwd = std::filesystem::current_path(error).string();
  const auto path = FindStackFile(
      env_file, [](const char* name) { return std::getenv(name); }, cwd);
  StackFile stack;
  if (!path.has_value()) return stack;
  std::ifstream in(*path);
  if (!in) {
    std::fprintf(stderr, "error: cannot read the stack file %s (--env-file or $BO_STACK_ENV)\n",
                 path->c_str());
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  stack.path = *path;
  stack.values = ParseEnvFile(text.str());
  return stack;
}

std::map<ServiceId, Address> ResolveAddresses(const StackFile& stack,
                                              const std::map<ServiceId, std::string>& flags) {
  auto getenv = [](const char* name) { return std::getenv(name); };
  std::map<ServiceId, Address> out;
  for (ServiceId service : kAllServices) {
    auto flag = flags.find(service);
    out[service] = ResolveAddress(service, flag == flags.end() ? "" : flag->second, getenv,
                                  stack.values, stack.path);
  }
  return out;
}

void TakeIdentityFromStack(const StackFile& stack, rpc::TlsFiles* tls, const std::string& token,
                           std::string* token_file) {
  auto value = [&](const char* key) {
    auto it = stack.values.find(key);
    return it == stack.values.end() ? std::string() : it->second;
  };
  if (!tls->any()) *tls = {value("BO_CA"), value("BO_CERT"), value("BO_KEY")};
  if (token.empty() && token_file->empty()) *token_file = value("BO_TOKEN_FILE");
}

absl::StatusOr<rpc::ClientIdentity> ResolveIdentity(const StackFile& stack, rpc::TlsFiles tls,
                                                    const std::string& token,
                                                    std::string token_file) {
  TakeIdentityFromStack(stack, &tls, token, &token_file);
  return rpc::ReadClientIdentity(tls, token, token_file);
}

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

std::chrono::milliseconds Backoff(int attempt, std::chrono::milliseconds first) {
  const int doublings = std::clamp(attempt - 2, 0, 10);
  return std::min(first * (1 << doublings), first * 10);
}

std::string ErrorReport(std::string_view doing, const grpc::Status& status,
                        const CallTarget& target) {
  const std::string code =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
  return absl::StrCat("error: ", std::string(doing), ": ", code, ": ", status.error_message(), "\n",
                      DetailLines(status), Hint(status.error_code(), target));
}

Client::Client(CallSettings settings) : settings_(std::move(settings)) {}

std::shared_ptr<grpc::Channel> Client::Channel(ServiceId service) {
  auto& channel = channels_[service];
  if (channel == nullptr) {
    grpc::ChannelArguments args;
    // Our own retries decide; and a refused connection is tried again at our next attempt
    // rather than after gRPC's default one-second reconnect backoff.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    channel = grpc::CreateCustomChannel(AddressOf(service).target,
                                        rpc::ClientChannelCredentials(settings_.identity), args);
  }
  return channel;
}

void Client::Prepare(grpc::ClientContext* context) const {
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(settings_.timeout_seconds));
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  context->AddMetadata("bo-actor", settings_.actor);
  context->AddMetadata("bo-role", settings_.role);
  // One invocation is one user action: every call it makes shares a correlation id.
  context->AddMetadata("bo-correlation-id", settings_.request_id);
}

grpc::Status Client::CallWithRetries(
    const std::function<grpc::Status(grpc::ClientContext*)>& attempt) {
  const auto window = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(settings_.timeout_seconds));
  const auto give_up = Clock::now() + window;
  std::mt19937 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  grpc::Status status;
  for (int n = 1; n <= kMaxAttempts; ++n) {
    if (n > 1) {
      const auto wait = std::chrono::duration_cast<Clock::duration>(
          Backoff(n, settings_.first_backoff) * jitter(random));
      if (Clock::now() + wait >= give_up) break;
      std::this_thread::sleep_for(wait);
    }
    grpc::ClientContext context;
    Prepare(&context);
    status = attempt(&context);
    if (status.ok() || !Retryable(status.error_code())) break;
  }
  return status;
}

void Client::Report(std::string_view doing, ServiceId service, const grpc::Status& status) {
  const CallTarget target{service, AddressOf(service), settings_.timeout_seconds,
                          Channel(service)->GetState(false) != GRPC_CHANNEL_READY};
  std::fputs(ErrorReport(doing, status, target).c_str(), stderr);
}

}  // namespace bo::boctl
