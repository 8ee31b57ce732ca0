#include "libs/rpc/rpc_observer.h"

#include <chrono>
#include <optional>

#include "libs/log/log.h"
#include "spdlog/spdlog.h"

namespace bo::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

struct Families {
  metrics::Family<metrics::Counter>* handled;
  metrics::Family<metrics::Histogram>* seconds;
};

// "/backorder.v1.ReceivingService/GetStock" -> {"backorder.v1.ReceivingService", "GetStock"}.
std::pair<std::string, std::string> SplitMethod(const char* full) {
  std::string_view m(full ? full : "");
  if (!m.empty() && m[0] == '/') m.remove_prefix(1);
  const size_t slash = m.find('/');
  if (slash == std::string_view::npos) return {"", std::string(m)};
  return {std::string(m.substr(0, slash)), std::string(m.substr(slash + 1))};
}

class Observer : public grpc::experimental::Interceptor {
 public:
  Observer(const Families& families, const std::string& correlation_header,
           grpc::experimental::ServerRpcInfo* info)
      : families_(families),
        correlation_header_(correlation_header),
        start_(std::chrono::steady_clock::now()) {
    std::tie(service_, method_) = SplitMethod(info->method());
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* md = methods->GetRecvInitialMetadata();
      if (md != nullptr) {
        auto it = md->find(correlation_header_);
        if (it != md->end()) {
          // The synchronous server runs the handler on this thread right after this hook and
          // sends the status from it, so the scope covers exactly the handler's log lines.
          scope_.emplace(std::string(it->second.data(), it->second.size()));
        }
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      const std::string code = CodeName(status.error_code());
      families_.handled->WithLabels({service_, method_, code}).Increment();
      families_.seconds->WithLabels({service_, method_}).Observe(seconds);
      const auto level = status.error_code() == grpc::StatusCode::INTERNAL ||
                                 status.error_code() == grpc::StatusCode::UNKNOWN ||
                                 status.error_code() == grpc::StatusCode::DATA_LOSS
                             ? spdlog::level::err
                             : spdlog::level::debug;
      if (spdlog::should_log(level)) {
        spdlog::log(level, "rpc {} {} {:.1f} ms{}{}", method_, code, seconds * 1000,
                    status.error_message().empty() ? "" : ": ", status.error_message());
      }
      scope_.reset();
    }
    methods->Proceed();
  }

 private:
  Families families_;
  const std::string& correlation_header_;
  std::chrono::steady_clock::time_point start_;
  std::string service_, method_;
  std::optional<log::ScopedCorrelation> scope_;
};

class ObserverFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  ObserverFactory(metrics::Registry* registry, std::string correlation_header)
      : families_{&registry->AddCounter("grpc_server_handled_total",
                                        "RPCs completed on the server, by method and status code.",
                                        {"grpc_service", "grpc_method", "grpc_code"}),
                  &registry->AddHistogram(
                      "grpc_server_handling_seconds",
                      "Time from the start of an RPC to its status being sent, in seconds.",
                      {"grpc_service", "grpc_method"}, metrics::LatencyBuckets())},
        correlation_header_(std::move(correlation_header)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new Observer(families_, correlation_header_, info);
  }

 private:
  Families families_;
  std::string correlation_header_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> RpcObserverFactory(
    metrics::Registry* registry, std::string correlation_header) {
  return std::make_unique<ObserverFactory>(registry, std::move(correlation_header));
}

std::string CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  if (i >= 0 && i < static_cast<int>(std::size(kNames))) return kNames[i];
  return "CODE_" + std::to_string(i);
}

}  // namespace bo::rpc
