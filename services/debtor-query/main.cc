// bo-debtor-query: wiring only (see services/common/service_runtime.h).
#include "services/common/service_runtime.h"
#include "services/common/topics.h"

int main(int argc, char** argv) {
  auto runtime = bo::ServiceRuntime::Open("debtor-query", 50054, argc, argv);
  return runtime->Run(
      {{"debtor-query",
        {bo::kDebtorQueryTopic, bo::kInvoicingTopic, bo::kPurchasingTopic, bo::kReceivingTopic},
        bo::CountEventsByType(runtime->database())}},
      {});
}
