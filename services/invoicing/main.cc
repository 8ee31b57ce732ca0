// bo-invoicing: wiring only (see services/common/service_runtime.h).
#include "services/common/service_runtime.h"
#include "services/common/topics.h"

int main(int argc, char** argv) {
  auto runtime = bo::ServiceRuntime::Open("invoicing", 50051, argc, argv);
  return runtime->Run({{"invoicing",
                        {bo::kDebtorQueryTopic, bo::kPurchasingTopic, bo::kReceivingTopic},
                        bo::CountEventsByType(runtime->database())}},
                      {});
}
