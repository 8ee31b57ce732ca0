// bo-invoicing: wiring only. Customer invoices and back-order decisions (invoicing_service.h),
// holding stock through receiving at RECEIVING_ADDR (default 127.0.0.1:50053).
#include <cstdio>
#include <cstdlib>

#include "grpcpp/grpcpp.h"
#include "services/common/service_runtime.h"
#include "services/common/topics.h"
#include "services/invoicing/invoicing_service.h"

int main(int argc, char** argv) {
  auto runtime = bo::ServiceRuntime::Open("invoicing", 50051, argc, argv);
  const char* receiving_addr = std::getenv("RECEIVING_ADDR");
  // Over mutual TLS with invoicing's own certificate, unless the stack runs --insecure.
  auto channel = bo::rpc::PeerChannel(
      runtime->config(),
      receiving_addr != nullptr && *receiving_addr != '\0' ? receiving_addr : "127.0.0.1:50053");
  if (!channel.ok()) {
    std::fprintf(stderr, "invoicing: receiving's channel: %s\n",
                 channel.status().ToString().c_str());
    return 1;
  }
  if (absl::Status s = bo::invoicing::InvoicingService::PrepareReadyIndex(runtime->store());
      !s.ok()) {
    std::fprintf(stderr, "invoicing: preparing the ready index: %s\n", s.ToString().c_str());
    return 1;
  }
  bo::invoicing::InvoicingService service(runtime->store(), *channel, runtime->access());
  runtime->SetOwnStateRestorer(bo::invoicing::RestoreInvoicingStream,
                               bo::invoicing::FinishInvoicingRestore);
  runtime->SetReadModels(bo::invoicing::InvoicingReadModels());
  return runtime->Run({{"invoicing.reactions",
                        {bo::kDebtorQueryTopic, bo::kReceivingTopic, bo::kPurchasingTopic},
                        [&service](const bo::kafka::ConsumedRecord& r, rocksdb::WriteBatch*) {
                          return service.React(r);
                        }}},
                      {&service});
}
