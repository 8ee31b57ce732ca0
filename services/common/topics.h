// The event topics of the back-order system: one per owning service and version
// (DESIGN.md section 3). Events are kept for ever (retention -1) so any service can rebuild its
// state and read models from them.
#pragma once

#include <string>
#include <vector>

#include "libs/kafka/topic_admin.h"

namespace bo {

inline constexpr char kDebtorQueryTopic[] = "backorder.debtor-query.v1";
inline constexpr char kInvoicingTopic[] = "backorder.invoicing.v1";
inline constexpr char kPurchasingTopic[] = "backorder.purchasing.v1";
inline constexpr char kReceivingTopic[] = "backorder.receiving.v1";

// The topic service `service` ("invoicing", ...) owns and publishes to: backorder.<service>.v1.
inline std::string OwnTopic(const std::string& service) { return "backorder." + service + ".v1"; }

// Every event topic with its partitions and settings. Partitions bound the parallelism of each
// consumer group; ordering is per key (stock events are keyed by branch and part).
std::vector<kafka::TopicSpec> EventTopics(int partitions = 6);

}  // namespace bo
