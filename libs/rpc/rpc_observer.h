// RpcObserver: a gRPC server interceptor that measures every call the way dashboards built for
// gRPC services expect (the names of go-grpc-prometheus, which Grafana's gRPC dashboards use):
//
//   grpc_server_handled_total{grpc_service,grpc_method,grpc_code}   counter
//   grpc_server_handling_seconds{grpc_service,grpc_method}          histogram
//
// It also puts the call's correlation id (metadata `correlation_header`) on the handling
// thread's log lines (bo::log::ScopedCorrelation), logs each call at debug level, and a call
// that ends INTERNAL, UNKNOWN or DATA_LOSS at error level.
//
//   bo::rpc::ServiceHost host(config);
//   host.AddInterceptor(bo::rpc::RpcObserverFactory(&registry, "bo-correlation-id"));
#pragma once

#include <memory>
#include <string>

#include "grpcpp/support/server_interceptor.h"
#include "libs/metrics/registry.h"

namespace bo::rpc {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> RpcObserverFactory(
    metrics::Registry* registry, std::string correlation_header);

// "OK", "INVALID_ARGUMENT", ...: the code's canonical name.
std::string CodeName(grpc::StatusCode code);

}  // namespace bo::rpc
