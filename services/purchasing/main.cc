// bo-purchasing: wiring only (see services/common/service_runtime.h). The stock-order rules are
// in stock_order.h, the gRPC handlers and back-order views in purchasing_service.h.
#include "services/common/service_runtime.h"
#include "services/common/topics.h"
#include "services/purchasing/purchasing_service.h"

int main(int argc, char** argv) {
  auto runtime = bo::ServiceRuntime::Open("purchasing", 50052, argc, argv);
  bo::purchasing::PurchasingService service(runtime->store(), runtime->access());
  runtime->SetOwnStateRestorer(bo::purchasing::RestoreStockOrderStream);
  runtime->SetReadModels(bo::purchasing::PurchasingReadModels());
  return runtime->Run(
      {{"purchasing.backorders", {bo::kInvoicingTopic, bo::kReceivingTopic}, service.Handler()}},
      {&service});
}
