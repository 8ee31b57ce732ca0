// bo-receiving: wiring only (see services/common/service_runtime.h).
#include "services/common/service_runtime.h"
#include "services/common/topics.h"

int main(int argc, char** argv) {
  auto runtime = bo::ServiceRuntime::Open("receiving", 50053, argc, argv);
  return runtime->Run(
      {{"receiving", {bo::kInvoicingTopic}, bo::CountEventsByType(runtime->database())}}, {});
}
