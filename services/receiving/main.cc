// bo-receiving: wiring only. The stock ledgers, the part master and creditor invoices
// (receiving_service.h), the reaction to invoicing's events, and the hold-expiry sweep.
//
// Environment: BO_HOLD_TTL_SECONDS (how long a draft line's hold lasts, default 1800) and
// BO_HOLD_SWEEP_SECONDS (how often expired holds are released, default 5).
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "services/common/service_runtime.h"
#include "services/common/topics.h"
#include "services/receiving/receiving_service.h"
#include "spdlog/spdlog.h"

namespace {

int64_t EnvSeconds(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  if (*end != '\0' || n <= 0) {
    spdlog::critical("{}={} is not a positive number of seconds", name, v);
    std::exit(2);
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  auto runtime = bo::ServiceRuntime::Open("receiving", 50053, argc, argv);
  bo::receiving::ReceivingOptions options;
  options.hold_ttl = absl::Seconds(EnvSeconds("BO_HOLD_TTL_SECONDS", 1800));
  const auto sweep = std::chrono::seconds(EnvSeconds("BO_HOLD_SWEEP_SECONDS", 5));
  bo::receiving::ReceivingService service(runtime->store(), options, runtime->access());
  runtime->SetOwnStateRestorer(bo::receiving::RestoreReceivingStream);
  if (runtime->config().rebuild_read_models) {
    // Every reaction of receiving changes its own ledgers (own state, restored only with the
    // whole directory), so it declares no read models.
    spdlog::warn("--rebuild-read-models: receiving keeps no read models; nothing to rebuild");
  }

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread sweeper([&] {
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, sweep, [&] { return stopping; })) {
      // Not while the ledgers are being restored from the topic: expiry writes to them.
      if (!runtime->Restored()) continue;
      lock.unlock();
      if (absl::Status s = service.ExpireHolds(absl::Now()); !s.ok()) {
        spdlog::error("receiving: hold expiry: {}", s.ToString());
      }
      lock.lock();
    }
  });

  const int code = runtime->Run({{"receiving.invoicing",
                                  {bo::kInvoicingTopic},
                                  [&service](const bo::kafka::ConsumedRecord& r,
                                             rocksdb::WriteBatch*) { return service.React(r); }}},
                                {&service});
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  cv.notify_all();
  sweeper.join();
  return code;
}
