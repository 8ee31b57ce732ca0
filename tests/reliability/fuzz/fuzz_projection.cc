// Fuzz target: a sequence of Kafka records (fuzz_support.h framing; the tag picks the topic and
// whether the record shares the previous record's WriteBatch) given to debtor-query's
// ReadModelProjection::Apply against a real RocksDB in a temporary directory, each batch written
// as the exactly-once consumer writes it.
//
// Checked after every input, over the whole readmodel family: every view's state is the one its
// quantities give; the index entries are exactly those IndexEntries asks for the stored views
// (no stale age/open/state/ready key, none missing); each branch's stored figures are the sum of
// its views' contributions plus its lost sales (figures.h), and a branch with nothing to count has
// none; and the last record applied again (a re-delivery beyond the seen-id window) changes no
// byte. The read model is emptied between inputs so that every crash reproduces from its input.
//
// Events with a value no producer of ours emits (an integer beyond +-2^53, a time outside
// protobuf's range) are left out: the projection sums and subtracts them unchecked (README.md,
// "Known issues", 2).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "backorder/v1/events.pb.h"
#include "libs/kafka/exactly_once_consumer.h"
#include "libs/store/database.h"
#include "rocksdb/write_batch.h"
#include "services/common/backorder_view.h"
#include "services/debtor-query/figures.h"
#include "services/debtor-query/projection.h"
#include "services/debtor-query/read_model_keys.h"
#include "spdlog/spdlog.h"
#include "tests/reliability/fuzz/fuzz_support.h"

namespace {

namespace pb = ::backorder::v1;
namespace dq = ::bo::debtor_query;
using bo::fuzz::Fail;

constexpr const char* kTopics[] = {"backorder.invoicing.v1", "backorder.purchasing.v1",
                                   "backorder.receiving.v1", "backorder.debtor-query.v1"};

std::string g_dir;

bo::Database* Db() {
  static std::unique_ptr<bo::Database> db = [] {
    // The projection logs every record it skips; thousands a second would drown the report.
    spdlog::set_level(spdlog::level::off);
    // run.sh gives a directory of its own (removed even after a crash); else RAM if there is.
    const char* given = std::getenv("FUZZ_TMPDIR");
    const char* base = given != nullptr                            ? given
                       : std::filesystem::is_directory("/dev/shm") ? "/dev/shm"
                                                                   : "/tmp";
    std::string dir = absl::StrCat(base, "/bo-fuzz-projection-XXXXXX");
    if (mkdtemp(dir.data()) == nullptr) Fail("cannot make a temporary directory");
    g_dir = dir;
    std::atexit([] { std::filesystem::remove_all(g_dir); });
    auto opened = bo::Database::Open(dir + "/db");
    if (!opened.ok()) Fail(opened.status().ToString());
    if (absl::Status s = dq::PrepareReadModel(opened->get()); !s.ok()) Fail(s.ToString());
    return std::move(*opened);
  }();
  return db.get();
}

using Dump = std::map<std::string, std::string>;

Dump ReadModel() {
  Dump dump;
  absl::Status s =
      Db()->Scan(bo::kReadModelFamily, "", "", [&](std::string_view key, std::string_view value) {
        dump.emplace(key, value);
        return true;
      });
  if (!s.ok()) Fail(s.ToString());
  dump.erase(std::string(dq::kLayoutKey));
  return dump;
}

void Write(rocksdb::WriteBatch* batch) {
  if (batch->Count() == 0) return;
  if (absl::Status s = Db()->Write(batch, /*sync=*/false); !s.ok()) Fail(s.ToString());
  batch->Clear();
}

// Deletes the read model but its layout key. Every few hundred inputs the deletions are
// compacted away: left in the memtable they would slow every later scan.
void Empty() {
  static int inputs = 0;
  rocksdb::ColumnFamilyHandle* cf = Db()->family(bo::kReadModelFamily);
  rocksdb::WriteBatch batch;
  batch.DeleteRange(cf, "", "\xff");
  batch.Put(cf, dq::kLayoutKey, dq::kReadModelLayout);
  Write(&batch);
  if (++inputs % 256 == 0) {
    rocksdb::CompactRangeOptions options;
    if (!Db()->db()->Flush(rocksdb::FlushOptions(), cf).ok() ||
        !Db()->db()->CompactRange(options, cf, nullptr, nullptr).ok()) {
      Fail("cannot compact the read model");
    }
  }
}

bool StartsWith(const std::string& s, std::string_view prefix) { return s.starts_with(prefix); }

void CheckReadModel(const Dump& dump) {
  Dump indexes;         // what is stored under the index prefixes
  Dump wanted_indexes;  // what the stored views ask for
  std::map<std::string, dq::BranchFigures> stored_figures;
  std::map<std::string, dq::BranchFigures> wanted_figures;
  for (const auto& [key, value] : dump) {
    if (StartsWith(key, "bo/")) {
      pb::Backorder view;
      if (!view.ParseFromString(value)) Fail("unreadable view " + key);
      if (view.state() != bo::DeriveState(view.quantities(), !view.stock_order_id().empty())) {
        Fail(absl::StrCat("view ", key,
                          " stores a state its quantities do not give: ", view.ShortDebugString()));
      }
      const std::string id = key.substr(3);  // view keys hold the id as it is (point reads only)
      if (dq::BackorderKey(id) != key) Fail("view key does not round-trip: " + key);
      for (const auto& [k, v] : dq::IndexEntries(view, id)) wanted_indexes[k] = v;
      if (auto c = dq::ContributionOf(view)) wanted_figures[c->branch_id] += c->figures;
    } else if (StartsWith(key, "age/") || StartsWith(key, "branch-age/") ||
               StartsWith(key, "open-age/") || StartsWith(key, "ready/") ||
               StartsWith(key, "state-age/") || StartsWith(key, "branch-state-age/")) {
      indexes[key] = value;
    } else if (StartsWith(key, "fig/")) {
      auto figures = dq::DecodeFigures(value);
      if (!figures.ok()) Fail(figures.status().ToString());
      stored_figures[dq::BranchOfFiguresKey(key)] = *figures;
    } else if (StartsWith(key, "lost/")) {
      pb::EventEnvelope lost;
      if (!lost.ParseFromString(value)) Fail("unreadable lost sale " + key);
      dq::BranchFigures& f = wanted_figures[lost.lost_sale_recorded().branch_id()];
      f.lost_lines += 1;
      f.lost_quantity += lost.lost_sale_recorded().quantity();
    } else if (!StartsWith(key, "hist/")) {
      Fail("a key of no known kind: " + key);
    }
  }
  if (indexes != wanted_indexes) {
    std::string diff;
    for (const auto& [k, v] : indexes) {
      if (!wanted_indexes.contains(k)) absl::StrAppend(&diff, "\n  stale: ", k);
    }
    for (const auto& [k, v] : wanted_indexes) {
      if (!indexes.contains(k)) absl::StrAppend(&diff, "\n  missing: ", k);
    }
    Fail("index entries differ from the views':" + diff);
  }
  std::erase_if(wanted_figures, [](const auto& e) { return e.second == dq::BranchFigures{}; });
  if (stored_figures != wanted_figures) {
    std::string diff;
    for (const auto& [branch, f] : wanted_figures) {
      absl::StrAppend(&diff, "\n  wanted ", branch, ": ", dq::EncodeFigures(f));
    }
    for (const auto& [branch, f] : stored_figures) {
      absl::StrAppend(&diff, "\n  stored ", branch, ": ", dq::EncodeFigures(f));
    }
    Fail("figures are not the sum over the views:" + diff);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dq::ReadModelProjection projection(Db());
  bo::fuzz::RecordReader reader(data, size);
  bo::fuzz::Record record;
  rocksdb::WriteBatch batch;
  int64_t offset = 0;
  std::optional<bo::kafka::ConsumedRecord> last;
  while (reader.Next(&record)) {
    bo::kafka::ConsumedRecord r;
    r.topic = kTopics[record.tag % 4];
    r.offset = offset++;
    r.value = record.bytes;
    r.event_id = absl::StrCat(std::string(r.topic), "/0/", r.offset);
    // Bit 2 of the tag: this record shares the batch of the one before (a consumer that batches
    // several records must still see its own earlier writes, projection.h).
    if ((record.tag & 4) == 0) Write(&batch);
    if (absl::Status s = projection.Apply(r, &batch); !s.ok()) {
      Fail(absl::StrCat("Apply failed on a record: ", s.ToString()));
    }
    last = r;
  }
  Write(&batch);
  const Dump dump = ReadModel();
  CheckReadModel(dump);
  if (last) {
    if (absl::Status s = projection.Apply(*last, &batch); !s.ok()) Fail(s.ToString());
    Write(&batch);
    if (ReadModel() != dump) Fail("the last record applied again changed the read model");
  }
  Empty();
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  return bo::fuzz::MutateStructured(data, size, max_size, seed, /*framed=*/true,
                                    [](uint8_t) { return std::make_unique<pb::EventEnvelope>(); });
}
