// Test support: plain producing and reading, independent of the relay and consumer under test.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "libs/kafka/client.h"
#include "libs/kafka/exactly_once_consumer.h"
#include "libs/store/database.h"

namespace bo::kafka::testing {

// KAFKA_BOOTSTRAP from the environment ("" if unset).
std::string Bootstrap();

struct Record {
  std::string key, value, ce_id, ce_type;
  int32_t partition = 0;
  Headers headers;
};

// Reads every record of `topic` from the beginning with a fresh group: until `expect` records
// arrived and then 2 s of silence (so extra duplicates are caught too), or until `limit`.
std::vector<Record> ReadAll(const std::string& topic, size_t expect,
                            std::chrono::seconds limit = std::chrono::seconds(60));

// Produces one record per id (ids may repeat) with a ce_id header, keys round-robin over 11.
// Returns false if any produce or the final flush failed.
bool ProduceIds(const std::string& topic, const std::vector<std::string>& ids);

// A counter projection: +1 per applied record in the read model, one counter per partition
// (key "count/<partition>"), since members of a group apply different partitions concurrently.
RecordHandler PartitionCounter(Database* db);
// The sum of every PartitionCounter counter in `db`.
int64_t CountedTotal(Database* db);

}  // namespace bo::kafka::testing
