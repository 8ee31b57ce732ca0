// Writes the seed corpus of every fuzz target (<dir>/<target>/<name>) from real requests and the
// real events they publish: the walkthrough of tests/reliability/model/walkthrough.h run through
// the workflow model. The output is committed; run this only when the seeds should change
// (README.md). Deterministic: the same build writes the same bytes.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tests/reliability/fuzz/fuzz_support.h"
#include "tests/reliability/model/walkthrough.h"
#include "tests/reliability/model/workflow_model.h"

namespace {

namespace pb = ::backorder::v1;
namespace rel = ::bo::reliability;

std::filesystem::path g_out;

void WriteSeed(const std::string& target, const std::string& name, const std::string& bytes) {
  const std::filesystem::path dir = g_out / target;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

// The topic an event is published on, as fuzz_projection's tag names it.
uint8_t TopicOf(const pb::EventEnvelope& e) {
  switch (e.payload_case()) {
    case pb::EventEnvelope::kStockOrderPlaced:
      return 1;
    case pb::EventEnvelope::kBackorderFilled:
    case pb::EventEnvelope::kStockAdjusted:
    case pb::EventEnvelope::kStockReceived:
    case pb::EventEnvelope::kStockHeld:
    case pb::EventEnvelope::kStockHoldReleased:
    case pb::EventEnvelope::kStockIssued:
    case pb::EventEnvelope::kPartUpdated:
      return 2;
    case pb::EventEnvelope::kDebtorUpdated:
      return 3;
    default:
      return 0;
  }
}

bool FromInvoicing(const pb::EventEnvelope& e) {
  return e.has_backorder_created() || e.has_backorder_cancelled() || e.has_backorder_invoiced() ||
         e.has_invoice_finalised();
}

std::string Frame(const std::vector<std::pair<uint8_t, std::string>>& records, uint8_t aux = 0) {
  std::string out;
  for (const auto& [tag, bytes] : records) bo::fuzz::AppendRecord(&out, tag, aux, bytes);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  g_out = argv[1];

  // Run the walkthrough, then the wrong requests; every answer must be the expected one.
  rel::Workflow workflow;
  std::vector<rel::Step> steps = rel::Walkthrough();
  const size_t walkthrough_steps = steps.size();
  for (rel::Step& s : rel::WrongRequests()) steps.push_back(std::move(s));
  std::vector<std::pair<uint8_t, std::string>> requests;
  for (const rel::Step& s : steps) {
    const absl::Status answer = workflow.Handle(s.rpc, *s.request);
    if (answer.code() != s.expected) {
      std::fprintf(stderr, "%s %s: %s\n", rel::RpcName(s.rpc),
                   s.request->ShortDebugString().c_str(), answer.ToString().c_str());
      return 1;
    }
    requests.emplace_back(static_cast<uint8_t>(s.rpc), s.request->SerializeAsString());
  }
  if (auto broken = workflow.Violations(); !broken.empty()) {
    std::fprintf(stderr, "%s\n", absl::StrJoin(broken, "\n").c_str());
    return 1;
  }

  // fuzz_requests: the walkthrough, the walkthrough and the wrong requests, and one request of
  // each RPC on its own.
  WriteSeed("fuzz_requests", "walkthrough",
            Frame({requests.begin(), requests.begin() + walkthrough_steps}));
  WriteSeed("fuzz_requests", "walkthrough-wrong", Frame(requests));
  std::set<uint8_t> seen;
  for (const auto& [tag, bytes] : requests) {
    if (seen.insert(tag).second) {
      WriteSeed("fuzz_requests", absl::StrCat("rpc-", rel::RpcName(static_cast<rel::Rpc>(tag))),
                Frame({{tag, bytes}}));
    }
  }

  // fuzz_event_view: each event as a record value.
  const std::vector<pb::EventEnvelope>& events = workflow.published();
  for (size_t i = 0; i < events.size(); ++i) {
    WriteSeed("fuzz_event_view", absl::StrFormat("e%02d-%s", i, events[i].type()),
              events[i].SerializeAsString());
  }

  // fuzz_ledger_events: the invoicing topic in order; again with stock received before each
  // record; and with holds expiring between them.
  std::vector<std::pair<uint8_t, std::string>> invoicing;
  for (const pb::EventEnvelope& e : events) {
    if (FromInvoicing(e)) invoicing.emplace_back(0, e.SerializeAsString());
  }
  WriteSeed("fuzz_ledger_events", "invoicing-topic", Frame(invoicing));
  for (auto& [tag, bytes] : invoicing) tag = 1;
  WriteSeed("fuzz_ledger_events", "invoicing-topic-receiving", Frame(invoicing, 3));
  for (auto& [tag, bytes] : invoicing) tag = 2;
  WriteSeed("fuzz_ledger_events", "invoicing-topic-expiring", Frame(invoicing, 45));

  // fuzz_projection: all four topics in order, in reverse (the least favourable order), and
  // batched several records at a time.
  std::vector<std::pair<uint8_t, std::string>> all;
  for (const pb::EventEnvelope& e : events) all.emplace_back(TopicOf(e), e.SerializeAsString());
  WriteSeed("fuzz_projection", "all-topics", Frame(all));
  WriteSeed("fuzz_projection", "all-topics-reversed", Frame({all.rbegin(), all.rend()}));
  for (size_t i = 0; i < all.size(); ++i) {
    if (i % 3 != 0) all[i].first |= 4;
  }
  WriteSeed("fuzz_projection", "all-topics-batched", Frame(all));
  std::printf("seeds: %zu requests, %zu events\n", requests.size(), events.size());
  return 0;
}
