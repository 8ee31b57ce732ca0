// The partition a key goes to, computed the way Kafka's Java producer does (murmur2), so that
// the relay knows each entry's partition before producing it, and Java or Python producers of
// the same keys agree with us.
#pragma once

#include <cstdint>
#include <string_view>

namespace bo::kafka {

// Kafka's murmur2 hash of `data` (org.apache.kafka.common.utils.Utils.murmur2).
int32_t Murmur2(std::string_view data);

// Partition of `key` among `partition_count` partitions: toPositive(murmur2(key)) % count.
int32_t PartitionForKey(std::string_view key, int32_t partition_count);

}  // namespace bo::kafka
