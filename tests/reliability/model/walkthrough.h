// The back-order workflow at two branches as a list of requests (the README's walkthrough and
// more: lost sales, a cancellation releasing filled stock, an abandoned draft, every query), with
// the answer each should get. The property tests run it as a baseline for the model; the fuzz
// seed generator serialises it and the events it publishes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "tests/reliability/model/workflow_model.h"

namespace bo::reliability {

struct Step {
  Rpc rpc;
  std::shared_ptr<google::protobuf::Message> request;
  absl::StatusCode expected;
};

// The request of `rpc` written in protobuf text format (aborts on a typo: these are fixed).
std::shared_ptr<google::protobuf::Message> Request(Rpc rpc, const std::string& text);

// The walkthrough; every step succeeds.
std::vector<Step> Walkthrough();
// Wrong requests across the services, each refused with the code it names.
std::vector<Step> WrongRequests();

}  // namespace bo::reliability
