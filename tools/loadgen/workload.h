// bo-loadgen's library (issue 7, item 1): drives the four real services over gRPC with N
// concurrent clerks at M branches and measures what they see.
//
// Each clerk is one thread with its own gRPC connections (as a counter workstation has), working
// at branch (clerk % branches) without think time: counter sales that supply what is free and
// back-order the rest, creditor invoices that deliver the stock orders placed earlier, stock
// orders with Get back orders, invoices of ready back orders, cancellations and stock adjustments
// (as a manager), and the queries a clerk makes (GetBackorder, ListBackorders, GetStock). Which
// step comes next is drawn from a shuffled deck of the mix (the same proportions in every 40
// steps of the whole run), so even a short run calls every RPC of the mix.
//
// Every mutating call has a request id unique to the Run call (run_id, a random session token, the
// clerk and a counter; the set-up's are fixed per run_id), so several runs may share a run_id's
// world (set up once, then setup = false) without repeating a request id; a transient failure
// (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, CANCELLED, UNKNOWN) is retried with the SAME request,
// as a real client does, for up to a minute; still failing then, it is "unresolved" (its effect is
// unknown). Latency is the wall time of each attempt; per-thread samples are merged at the end and
// percentiles taken by nearest rank.
//
// Errors are values: Run returns a Status when the run cannot start (a service unreachable, the
// set-up refused); a run that started always returns its report.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/rpc/tls.h"

namespace bo::loadgen {

// host:port of each service's gRPC API.
struct Targets {
  std::string invoicing, purchasing, receiving, debtor_query;
  // Who the clerks are to the services: mutual TLS and a bearer token on every call (its role
  // must allow the whole mix at every branch: group). Plaintext for a stack run --insecure.
  rpc::ClientIdentity identity;
};

struct LoadOptions {
  int clerks = 16;
  int branches = 3;
  int parts = 20;
  int debtors = 10;
  // Stop after this...
  std::chrono::milliseconds duration{30000};
  // ...or after this many acknowledged mutations (0 = no limit). A clerk finishes the step it is
  // in (a sale is finalised, not left as a draft), so a run ends with at least this many and at
  // most a few per clerk more.
  int64_t max_commands = 0;
  // "workflow": the whole workflow (see above).
  // "backorders": only counter sales of parts with no stock, kBackorderLines lines per invoice,
  //   every line a back order: seeds many back orders fast (no opening stock is set up).
  // "history": the same, then a manager cancels all but one in history_open_every of the back
  //   orders created: a store of mostly closed back orders, as years of trading leave one.
  // "rpc:<service>/<Method>": one RPC only, the same request every time for reads (compare with
  //   ghz); <service> is invoicing, purchasing, receiving, debtor-query or the proto name
  //   (backorder.v1.ReceivingService). Supported: receiving/GetStock, receiving/GetPart,
  //   receiving/AdjustStock (a new request id each call), debtor-query/GetDebtor,
  //   debtor-query/ListBackorders, debtor-query/ListReadyToInvoice.
  std::string mix = "workflow";
  // Prefix making the ids (branches, parts, debtors, suppliers) and request ids of this run
  // unique; runs with the same run_id work on the same world (see MakeWorld). Default: random.
  // Letters, digits, - and _; at most 16 characters.
  std::string run_id;
  uint64_t seed = 1;
  // The "history" mix leaves one back order in this many open; 0 leaves none open (history that
  // adds to the store but not to the back orders waiting).
  int history_open_every = 100;
  // Create parts, opening stock and debtors first (idempotent: the same request ids per run_id, so
  // repeating a run_id repeats nothing). Without it the world of `run_id` must exist already.
  bool setup = true;
};

inline constexpr int kBackorderLines = 20;

// One RPC's figures. calls = ok + refused + transient, counting attempts: a retried call counts
// one transient per failed attempt.
struct RpcFigures {
  std::string rpc;  // "<service>.<Method>", e.g. "invoicing.AddPartLine"
  bool mutating = false;
  int64_t calls = 0, ok = 0, refused = 0, transient = 0;
  // Calls that were still failing transiently when retrying stopped (their effect is unknown).
  int64_t unresolved = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
};

struct LoadReport {
  // Of the load phase (after set-up).
  double seconds = 0;
  // OK answers of mutating calls (acknowledged commands) and of reads.
  int64_t commands = 0;
  int64_t queries = 0;
  // Back orders created by the finalised invoices (FinaliseInvoiceResponse.created).
  int64_t backorders_created = 0;
  double commands_per_s = 0;
  // Sum of RpcFigures::unresolved; a run with any is not trustworthy (bo-loadgen exits 1).
  int64_t unresolved = 0;
  // What was run.
  std::string mix, run_id;
  int clerks = 0, branches = 0;
  // Every RPC the load phase called, in a fixed order (by service, then the workflow's order).
  std::vector<RpcFigures> rpcs;
  // The set-up's calls (parts, opening stock, debtors, the probe invoices that wait until
  // invoicing knows the debtors), not counted in the figures above.
  std::vector<RpcFigures> setup_rpcs;
};

// The ids a run works with (a pure function of run_id and the sizes), for callers that want to
// look at what a run did.
struct World {
  std::vector<std::string> branches, parts, debtors, suppliers;
  std::vector<std::string> part_supplier;  // supplier of parts[i]
};
World MakeWorld(const LoadOptions& options, const std::string& run_id);

absl::StatusOr<LoadReport> Run(const Targets& targets, const LoadOptions& options);

// A human table: the totals, then one row per RPC.
std::string FormatTable(const LoadReport& report);
// The machine lines:
//   LOADGEN clerks=16 branches=3 seconds=30.0 commands=12345 commands_per_s=411.5 queries=2345
//     backorders_created=999 unresolved=0 mix=workflow run_id=...   (one line)
//   LOADGEN_RPC rpc=invoicing.AddPartLine calls=.. ok=.. refused=.. transient=.. p50_ms=..
//     p90_ms=.. p99_ms=.. p999_ms=.. max_ms=..                       (one line per RPC)
std::string FormatLines(const LoadReport& report);

// The nearest-rank percentile (0 < p <= 100) of `sorted` (ascending); 0 if empty.
double NearestRank(const std::vector<double>& sorted, double p);

}  // namespace bo::loadgen
