// Which gRPC failures a client should answer by sending the same request again (with the same
// request id, so a command the server did carry out is answered from its idempotency record and
// not done twice).
#pragma once

#include "grpcpp/support/status_code_enum.h"

namespace bo::rpc {

// UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, CANCELLED and UNKNOWN: the server was not reached, did
// not answer in time, lost a race it may win next time, or died mid-call (the effect is unknown).
// Every other code is the server's considered answer.
inline bool Transient(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::ABORTED || code == grpc::StatusCode::CANCELLED ||
         code == grpc::StatusCode::UNKNOWN;
}

}  // namespace bo::rpc
