// The ops dashboard's JSON API, GET /api/v1/dashboard[?branch=B] (docs/dashboard-api.md): the
// ready-to-invoice list with each debtor's contact, open back orders by age bucket and branch,
// fill rate, average days to fill and to invoice, lost sales, and every service's consumer lag.
//
// Pure over the Database: everything comes from the projection's keys (read_model_keys.h) through
// one RocksDB snapshot, so the figures, the age buckets and the ready list of one answer agree
// with each other. "Now" comes from an injected clock and the other services' status from an
// injected fetch, so tests need neither a clock nor HTTP.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/store/database.h"

namespace bo::debtor_query {

// A service whose status the dashboard shows beside debtor-query's own.
struct DashboardPeer {
  std::string name;      // "invoicing"
  std::string variable;  // where its URL comes from: "INVOICING_HTTP"
  std::string base_url;  // http://host:port; empty when the variable is not set
};

// invoicing, purchasing and receiving, with their URLs from INVOICING_HTTP, PURCHASING_HTTP and
// RECEIVING_HTTP (empty where unset: shown as not configured, not dropped, so a wall screen shows
// a wiring mistake instead of hiding it).
std::vector<DashboardPeer> PeersFromEnvironment();

class Dashboard {
 public:
  // The body of `<base_url>/api/v1/status`, or an error if it cannot be had in time.
  using StatusFetch = std::function<absl::StatusOr<std::string>(const std::string& base_url)>;

  struct Options {
    std::function<absl::Time()> clock = [] { return absl::Now(); };
    // This process's own status JSON (ServiceRuntime::StatusJson).
    std::function<std::string()> own_status;
    std::vector<DashboardPeer> peers;
    StatusFetch fetch;
    // Ready-to-invoice rows in one answer; the total is counted beyond it.
    size_t ready_row_limit = 500;
  };

  // `db` must outlive the dashboard.
  Dashboard(Database* db, Options options) : db_(db), options_(std::move(options)) {}

  struct Answer {
    int status = 200;  // 200, 400 (a malformed parameter) or 500 (the store failed)
    std::string body;  // JSON; {"error": "field: reason"} when not 200
  };

  // GET /api/v1/dashboard with these query parameters. `branch` (optional, one branch id)
  // restricts every figure to that branch; a branch nobody has heard of gives empty figures.
  // Other parameters are ignored (a browser's cache-buster must not break the page).
  Answer Get(const std::multimap<std::string, std::string>& params) const;

 private:
  Database* db_;
  Options options_;
};

}  // namespace bo::debtor_query
