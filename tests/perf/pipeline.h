// Our side of P1 and P2: the event pipeline of the services, run in-process from the same
// libraries the binaries use (libs/store, libs/kafka, services/debtor-query's projection), so
// that nothing but the pipeline is timed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/perf/raw_limits.h"

namespace bo::perf {

// P1. `records` are committed to the outbox of a fresh EventStore under `work_dir` (not timed),
// with their topics renamed by `topic_map` (the targets must exist and be empty). Then, with
// debtor-query's read-model projection subscribed to the targets on a fresh Database, the outbox
// relay starts: the rate runs from the relay's start to the projection having applied every
// record: outbox -> Kafka -> exactly-once consumer -> RocksDB read model.
absl::StatusOr<Rate> PipelineRate(const std::string& bootstrap,
                                  const std::vector<KafkaRecord>& records,
                                  const std::map<std::string, std::string>& topic_map,
                                  const std::string& work_dir);

// P2. debtor-query's projection replays `topics` from the beginning into a fresh read model under
// `work_dir` until it has applied `expected` records; the rate runs from the first applied record
// to the last (joining the group is not counted, as the raw consume has none).
absl::StatusOr<Rate> ReplayRate(const std::string& bootstrap,
                                const std::vector<std::string>& topics, int64_t expected,
                                const std::string& work_dir);

}  // namespace bo::perf
