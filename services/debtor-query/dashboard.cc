#include "services/debtor-query/dashboard.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backorder/v1/common.pb.h"
#include "backorder/v1/debtor_query_service.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/backorder_view.h"
#include "services/common/command_support.h"
#include "services/debtor-query/figures.h"
#include "services/debtor-query/read_model_keys.h"
#include "services/debtor-query/snapshot_reader.h"

namespace bo::debtor_query {
namespace pb = backorder::v1;
using json = nlohmann::json;

namespace {

constexpr int64_t kNanosPerDay = int64_t{86'400} * 1'000'000'000;

// The age buckets of open back orders, in whole days since creation. Kept here, not in the page,
// so the API says what its numbers mean and every client draws the same buckets.
struct AgeBucket {
  const char* key;
  const char* label;
  int64_t min_days;
  int64_t max_days;  // -1: no upper bound
};
constexpr AgeBucket kAgeBuckets[] = {
    {"0-2", "0–2 days", 0, 2},           {"3-7", "3–7 days", 3, 7},
    {"8-14", "8–14 days", 8, 14},        {"15-30", "15–30 days", 15, 30},
    {"over-30", "over 30 days", 31, -1},
};
constexpr size_t kBucketCount = std::size(kAgeBuckets);

size_t BucketOf(int64_t days) {
  for (size_t i = 0; i < kBucketCount; ++i) {
    if (kAgeBuckets[i].max_days < 0 || days <= kAgeBuckets[i].max_days) return i;
  }
  return kBucketCount - 1;
}

// "2026-01-05T10:15:30Z": what browsers' Date and every JSON consumer parse.
std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

bool Known(const google::protobuf::Timestamp& t) { return t.seconds() > 0 || t.nanos() > 0; }

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// Whole days from `from` to `to`, never negative.
int64_t DaysBetween(absl::Time from, absl::Time to) {
  if (to <= from) return 0;
  return absl::ToInt64Hours(to - from) / 24;
}

// Ratios to 4 decimals and days to 2: enough for any display, and the exact sums are given too.
json Rounded(std::optional<double> value, double scale) {
  if (!value.has_value()) return nullptr;
  return std::round(*value * scale) / scale;
}

json FiguresJson(const BranchFigures& f) {
  return {
      {"open", f.open_total()},
      {"open_by_state",
       {{"OPEN", f.count_open},
        {"ON_ORDER", f.count_on_order},
        {"PARTLY_FILLED", f.count_partly_filled},
        {"FILLED", f.count_filled}}},
      {"closed_by_state", {{"INVOICED", f.count_invoiced}, {"CANCELLED", f.count_cancelled}}},
      {"ready_to_invoice", {{"lines", f.ready_lines}, {"quantity", f.ready_quantity}}},
      {"quantity",
       {{"back_ordered", f.quantity_back_ordered},
        {"filled", f.quantity_filled},
        {"invoiced", f.quantity_invoiced}}},
      {"fill_rate", Rounded(FillRate(f), 1e4)},
      {"days_to_fill",
       {{"average", Rounded(AverageDaysToFill(f), 1e2)},
        {"count", f.fill_count},
        {"seconds_total", f.fill_seconds}}},
      {"days_to_invoice",
       {{"average", Rounded(AverageDaysToInvoice(f), 1e2)},
        {"count", f.invoice_count},
        {"seconds_total", f.invoice_seconds}}},
      {"lost_sales", {{"lines", f.lost_lines}, {"quantity", f.lost_quantity}}},
  };
}

// Every branch's figures, by branch id.
absl::StatusOr<std::map<std::string, BranchFigures>> LoadFigures(SnapshotReader* reader) {
  std::map<std::string, BranchFigures> figures;
  absl::Status error;
  absl::Status s = reader->Scan(
      kReadModelFamily, kFiguresPrefix, "", [&](std::string_view key, std::string_view value) {
        auto decoded = DecodeFigures(value);
        if (!decoded.ok()) {
          error = absl::DataLossError(
              absl::StrCat("read model ", std::string(key), ": ", decoded.status().message()));
          return false;
        }
        figures[BranchOfFiguresKey(key)] = *decoded;
        return true;
      });
  if (!s.ok()) return s;
  if (!error.ok()) return error;
  return figures;
}

// Open back orders of one branch by age bucket, from the open-age index (keys only: the age is
// in the key, so no view is read).
absl::StatusOr<json> AgeRow(SnapshotReader* reader, const std::string& branch, int64_t now_nanos) {
  std::vector<int64_t> counts(kBucketCount, 0);
  int64_t unknown = 0;
  int64_t total = 0;
  const std::string prefix = OpenAgePrefix(branch);
  absl::Status s =
      reader->Scan(kReadModelFamily, prefix, "", [&](std::string_view key, std::string_view) {
        const int64_t created = CreatedNanosOfOpenAgeKey(prefix, key);
        ++total;
        // Created 0: a fill seen before its creation; it has no age yet.
        if (created <= 0) {
          ++unknown;
        } else {
          const int64_t days = now_nanos > created ? (now_nanos - created) / kNanosPerDay : 0;
          ++counts[BucketOf(days)];
        }
        return true;
      });
  if (!s.ok()) return s;
  return json{{"branch", branch}, {"counts", counts}, {"unknown_age", unknown}, {"total", total}};
}

json ReadyRow(const pb::Backorder& view, const std::optional<pb::Debtor>& debtor, absl::Time now) {
  const pb::BackorderContext& c = view.context();
  // A debtor the master file does not know (yet) still shows, by its id.
  const pb::Debtor none;
  const pb::Debtor& d = debtor.has_value() ? *debtor : none;
  json row = {
      {"branch_id", c.branch_id()},
      {"debtor_id", c.debtor_id()},
      {"debtor_name", d.name()},
      {"contact_name", d.contact_name()},
      {"phone", d.phone()},
      {"email", d.email()},
      {"invoice_id", c.invoice_id()},
      {"invoice_line", c.invoice_line()},
      {"backorder_id", c.backorder_id()},
      {"part_number", c.part_number()},
      {"quantity_ready", Ready(view.quantities())},
      {"quantity_waiting", Waiting(view.quantities())},
      {"state", StateName(view.state())},
      {"ready_since", nullptr},
      {"days_ready", nullptr},
  };
  if (Known(view.filled_at())) {
    row["ready_since"] = Rfc3339(FromProto(view.filled_at()));
    row["days_ready"] = DaysBetween(FromProto(view.filled_at()), now);
  }
  return row;
}

// The ready-to-invoice list of `branch` ("" for all): the first `limit` rows in index order
// (branch, debtor, invoice, back order) and how many there are in all.
absl::StatusOr<json> ReadyToInvoice(SnapshotReader* reader, const std::string& branch, size_t limit,
                                    absl::Time now) {
  std::vector<std::string> ids;
  int64_t total = 0;
  absl::Status s = reader->Scan(kReadModelFamily, ReadyPrefix(branch, ""), "",
                                [&](std::string_view, std::string_view value) {
                                  ++total;
                                  if (ids.size() < limit) ids.emplace_back(value);
                                  return true;
                                });
  if (!s.ok()) return s;
  json rows = json::array();
  std::map<std::string, std::optional<pb::Debtor>> debtors;
  for (const std::string& id : ids) {
    auto view = LoadView(reader, id);
    if (!view.ok()) return view.status();
    if (!view->has_value()) continue;  // not in the same snapshot as its index entry: cannot be
    const std::string& debtor_id = (*view)->context().debtor_id();
    auto found = debtors.find(debtor_id);
    if (found == debtors.end()) {
      auto record = LoadDebtor(reader, debtor_id);
      if (!record.ok()) return record.status();
      found = debtors.emplace(debtor_id, std::move(*record)).first;
    }
    rows.push_back(ReadyRow(**view, found->second, now));
  }
  return json{{"total", total},
              {"limit", limit},
              {"truncated", static_cast<size_t>(total) > limit},
              {"rows", std::move(rows)}};
}

// ---- services ----

int64_t IntOr(const json& object, const char* key, int64_t otherwise) {
  if (!object.is_object()) return otherwise;
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : otherwise;
}

json ServiceEntry(const std::string& name, const std::string& url,
                  const absl::StatusOr<std::string>& status) {
  json entry = {{"service", name},
                {"url", url.empty() ? json(nullptr) : json(url)},
                {"state", "unreachable"},
                {"ready", false},
                {"lag", nullptr},
                {"outbox_depth", nullptr},
                {"consumers", json::array()},
                {"error", nullptr}};
  if (!status.ok()) {
    entry["error"] = std::string(status.status().message());
    return entry;
  }
  json parsed = json::parse(*status, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    entry["error"] = "answered with something that is not a status";
    return entry;
  }
  // The service's own name wins: a URL pointing at the wrong service should show as such.
  if (auto it = parsed.find("service"); it != parsed.end() && it->is_string()) {
    entry["service"] = *it;
  }
  const bool ready =
      parsed.contains("ready") && parsed["ready"].is_boolean() && parsed["ready"].get<bool>();
  entry["ready"] = ready;
  entry["state"] = ready ? "ready" : "catching_up";
  if (parsed.contains("outbox_depth") && parsed["outbox_depth"].is_number_integer()) {
    entry["outbox_depth"] = parsed["outbox_depth"];
  }
  int64_t lag = 0;
  if (parsed.contains("consumers") && parsed["consumers"].is_array()) {
    for (const json& consumer : parsed["consumers"]) {
      int64_t consumer_lag = 0;
      if (consumer.contains("partitions") && consumer["partitions"].is_array()) {
        for (const json& p : consumer["partitions"]) consumer_lag += IntOr(p, "lag", 0);
      }
      json copy = consumer;
      if (copy.is_object()) copy["lag"] = consumer_lag;
      entry["consumers"].push_back(std::move(copy));
      lag += consumer_lag;
    }
  }
  entry["lag"] = lag;
  return entry;
}

json ErrorBody(std::string_view message) { return json{{"error", std::string(message)}}; }

std::string Dump(const json& j) {
  // Replace, not throw, on invalid UTF-8: free text in a debtor record must not cost the page.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::vector<DashboardPeer> PeersFromEnvironment() {
  std::vector<DashboardPeer> peers;
  for (const auto& [name, variable] :
       {std::pair{"invoicing", "INVOICING_HTTP"}, std::pair{"purchasing", "PURCHASING_HTTP"},
        std::pair{"receiving", "RECEIVING_HTTP"}}) {
    const char* url = std::getenv(variable);
    peers.push_back({name, variable, url == nullptr ? "" : url});
  }
  return peers;
}

Dashboard::Answer Dashboard::Get(const std::multimap<std::string, std::string>& params) const {
  if (params.count("branch") > 1) return {400, Dump(ErrorBody("branch: given more than once"))};
  std::string branch;
  if (auto it = params.find("branch"); it != params.end()) branch = it->second;
  if (absl::Status s = CheckId("branch", branch, /*required=*/false); !s.ok()) {
    return {400, Dump(ErrorBody(std::string(s.message())))};
  }

  // The peers are asked first and in parallel (each may take its whole timeout), and before the
  // snapshot, so a slow peer does not hold a snapshot open.
  std::vector<std::future<absl::StatusOr<std::string>>> peer_status;
  for (const DashboardPeer& peer : options_.peers) {
    if (peer.base_url.empty() || !options_.fetch) {
      peer_status.push_back({});
      continue;
    }
    peer_status.push_back(std::async(std::launch::async,
                                     [this, url = peer.base_url] { return options_.fetch(url); }));
  }

  const absl::Time now = options_.clock();
  json body = {{"generated_at", Rfc3339(now)},
               {"branch", branch.empty() ? json(nullptr) : json(branch)}};
  {
    SnapshotReader reader(db_);
    auto figures = LoadFigures(&reader);
    if (!figures.ok()) return {500, Dump(ErrorBody(figures.status().ToString()))};
    json branches = json::array();
    for (const auto& [id, f] : *figures) branches.push_back(id);
    body["branches"] = std::move(branches);

    // The branches this answer is about: all, the one asked for, or none (unknown branch).
    std::vector<std::string> selected;
    for (const auto& [id, f] : *figures) {
      if (branch.empty() || id == branch) selected.push_back(id);
    }

    BranchFigures total;
    json by_branch = json::array();
    for (const std::string& id : selected) {
      const BranchFigures& f = figures->at(id);
      total += f;
      json row = FiguresJson(f);
      row["branch"] = id;
      by_branch.push_back(std::move(row));
    }
    body["figures"] = {{"total", FiguresJson(total)}, {"branches", std::move(by_branch)}};

    json buckets = json::array();
    for (const AgeBucket& b : kAgeBuckets) {
      buckets.push_back({{"key", b.key},
                         {"label", b.label},
                         {"min_days", b.min_days},
                         {"max_days", b.max_days < 0 ? json(nullptr) : json(b.max_days)}});
    }
    std::vector<int64_t> total_counts(kBucketCount, 0);
    int64_t total_unknown = 0, total_open = 0;
    json age_rows = json::array();
    for (const std::string& id : selected) {
      auto row = AgeRow(&reader, id, absl::ToUnixNanos(now));
      if (!row.ok()) return {500, Dump(ErrorBody(row.status().ToString()))};
      for (size_t i = 0; i < kBucketCount; ++i) {
        total_counts[i] += (*row)["counts"][i].get<int64_t>();
      }
      total_unknown += (*row)["unknown_age"].get<int64_t>();
      total_open += (*row)["total"].get<int64_t>();
      age_rows.push_back(std::move(*row));
    }
    body["open_by_age"] = {
        {"buckets", std::move(buckets)},
        {"branches", std::move(age_rows)},
        {"total",
         {{"counts", total_counts}, {"unknown_age", total_unknown}, {"total", total_open}}},
    };

    if (branch.empty() || figures->contains(branch)) {
      auto ready = ReadyToInvoice(&reader, branch, options_.ready_row_limit, now);
      if (!ready.ok()) return {500, Dump(ErrorBody(ready.status().ToString()))};
      body["ready_to_invoice"] = std::move(*ready);
    } else {
      body["ready_to_invoice"] = {{"total", 0},
                                  {"limit", options_.ready_row_limit},
                                  {"truncated", false},
                                  {"rows", json::array()}};
    }
  }

  // Services are not per branch: the filter leaves them as they are.
  json services = json::array();
  if (options_.own_status) {
    services.push_back(ServiceEntry("debtor-query", "", options_.own_status()));
  }
  for (size_t i = 0; i < options_.peers.size(); ++i) {
    const DashboardPeer& peer = options_.peers[i];
    if (peer.base_url.empty()) {
      json entry = ServiceEntry(peer.name, "",
                                absl::NotFoundError(absl::StrCat(peer.variable, " is not set")));
      entry["state"] = "not_configured";
      services.push_back(std::move(entry));
    } else if (!peer_status[i].valid()) {
      services.push_back(ServiceEntry(peer.name, peer.base_url,
                                      absl::FailedPreconditionError("no way to fetch a status")));
    } else {
      services.push_back(ServiceEntry(peer.name, peer.base_url, peer_status[i].get()));
    }
  }
  body["services"] = std::move(services);
  return {200, Dump(body)};
}

}  // namespace bo::debtor_query
