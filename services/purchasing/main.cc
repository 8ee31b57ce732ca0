// bo-purchasing: wiring only (see services/common/service_runtime.h).
#include "services/common/service_runtime.h"
#include "services/common/topics.h"

int main(int argc, char** argv) {
  auto runtime = bo::ServiceRuntime::Open("purchasing", 50052, argc, argv);
  return runtime->Run({{"purchasing",
                        {bo::kInvoicingTopic, bo::kReceivingTopic},
                        bo::CountEventsByType(runtime->database())}},
                      {});
}
