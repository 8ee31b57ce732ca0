#include "services/common/topics.h"

namespace bo {

std::vector<kafka::TopicSpec> EventTopics(int partitions) {
  std::map<std::string, std::string> forever = {
      {"retention.ms", "-1"}, {"retention.bytes", "-1"}, {"cleanup.policy", "delete"}};
  std::vector<kafka::TopicSpec> topics;
  for (const char* name : {kDebtorQueryTopic, kInvoicingTopic, kPurchasingTopic, kReceivingTopic}) {
    topics.push_back({name, partitions, 1, forever});
  }
  return topics;
}

}  // namespace bo
