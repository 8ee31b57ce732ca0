// bo-debtor-query: wiring only (see services/common/service_runtime.h). The debtor commands and
// the queries are in debtor_query_service.h, the read models in projection.h.
#include "services/common/service_runtime.h"
#include "services/common/topics.h"
#include "services/debtor-query/debtor_query_service.h"
#include "services/debtor-query/projection.h"

int main(int argc, char** argv) {
  auto runtime = bo::ServiceRuntime::Open("debtor-query", 50054, argc, argv);
  bo::debtor_query::ReadModelProjection projection(runtime->database());
  bo::debtor_query::DebtorQueryService service(runtime->store());
  // One subscription over all four topics, so one thread writes the read models.
  return runtime->Run(
      {{bo::debtor_query::kReadModelConsumer,
        {bo::kDebtorQueryTopic, bo::kInvoicingTopic, bo::kPurchasingTopic, bo::kReceivingTopic},
        projection.Handler()}},
      {&service});
}
