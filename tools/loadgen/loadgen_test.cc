// bo-loadgen's library against the real services: the four binaries and the real broker
// (KAFKA_BOOTSTRAP), started by TestStack on ports 22701..22704 (HTTP 23701..23704) and, for the
// history mix, 22711..22714.
// The run's report must be consistent in itself, cover every RPC of the workflow mix, and agree
// with what the services themselves counted (grpc_server_handled_total on their /metrics).
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "libs/http/http_server.h"
#include "tests/e2e/test_stack.h"
#include "tools/loadgen/workload.h"

namespace bo::loadgen {
namespace {

namespace pb = backorder::v1;

constexpr int kPortBase = 22700;

// Every RPC of the workflow mix; the reads are the queries.
const std::set<std::string> kMutating = {
    "invoicing.CreateInvoice",          "invoicing.AddPartLine",
    "invoicing.FinaliseInvoice",        "invoicing.AbandonInvoice",
    "invoicing.AddBackorderLines",      "invoicing.CancelBackorder",
    "purchasing.CreateStockOrder",      "purchasing.AddBackorderLines",
    "purchasing.AddStockLine",          "purchasing.FinaliseStockOrder",
    "receiving.ProcessCreditorInvoice", "receiving.AdjustStock",
};
const std::set<std::string> kQueries = {
    "invoicing.GetBackorder",          "purchasing.GetBackorders",    "receiving.GetStock",
    "debtor-query.ListReadyToInvoice", "debtor-query.ListBackorders",
};

const std::map<std::string, std::string> kGrpcService = {
    {"invoicing", "backorder.v1.InvoicingService"},
    {"purchasing", "backorder.v1.PurchasingService"},
    {"receiving", "backorder.v1.ReceivingService"},
    {"debtor-query", "backorder.v1.DebtorQueryService"},
};

// grpc_server_handled_total{...,grpc_code="OK"} of one service, by (grpc_service, grpc_method).
using Handled = std::map<std::pair<std::string, std::string>, int64_t>;

Handled HandledOk(const bo::testing::TestStack& stack, const std::string& grpc_addr) {
  const std::string http = bo::testing::TestStack::HttpBase(grpc_addr);
  auto body = http::Fetch(http, "/metrics", std::chrono::milliseconds(5000), stack.http_identity());
  EXPECT_TRUE(body.ok()) << http << ": " << body.status();
  Handled out;
  if (!body.ok()) return out;
  const std::string prefix = "grpc_server_handled_total{";
  for (absl::string_view line : absl::StrSplit(*body, '\n')) {
    if (line.substr(0, prefix.size()) != prefix) continue;
    const size_t close = line.find('}');
    std::map<std::string, std::string> labels;
    for (absl::string_view pair :
         absl::StrSplit(line.substr(prefix.size(), close - prefix.size()), ',')) {
      const size_t eq = pair.find('=');
      labels[std::string(pair.substr(0, eq))] =
          std::string(pair.substr(eq + 2, pair.size() - eq - 3));  // strip the quotes
    }
    double value = 0;
    EXPECT_TRUE(absl::SimpleAtod(line.substr(close + 1), &value)) << line;
    if (labels["grpc_code"] == "OK") {
      out[{labels["grpc_service"], labels["grpc_method"]}] = static_cast<int64_t>(value);
    }
  }
  return out;
}

std::pair<std::string, std::string> GrpcName(const std::string& rpc) {
  const size_t dot = rpc.find('.');
  return {kGrpcService.at(rpc.substr(0, dot)), rpc.substr(dot + 1)};
}

TEST(LoadgenFigures, NearestRank) {
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  EXPECT_EQ(NearestRank(hundred, 50), 50);
  EXPECT_EQ(NearestRank(hundred, 90), 90);
  EXPECT_EQ(NearestRank(hundred, 99), 99);
  EXPECT_EQ(NearestRank(hundred, 99.9), 100);
  EXPECT_EQ(NearestRank(hundred, 100), 100);
  EXPECT_EQ(NearestRank({7}, 50), 7);
  EXPECT_EQ(NearestRank({1, 2, 3}, 50), 2);
  EXPECT_EQ(NearestRank({}, 99), 0);
}

TEST(LoadgenFigures, MachineLines) {
  LoadReport r;
  r.clerks = 16;
  r.branches = 3;
  r.seconds = 30;
  r.commands = 12345;
  r.commands_per_s = 411.5;
  r.queries = 2345;
  r.backorders_created = 999;
  r.mix = "workflow";
  r.run_id = "x";
  RpcFigures f;
  f.rpc = "invoicing.AddPartLine";
  f.calls = 10;
  f.ok = 9;
  f.refused = 1;
  f.p50_ms = 1.5;
  r.rpcs.push_back(f);
  const std::string lines = FormatLines(r);
  EXPECT_EQ(
      lines.rfind("LOADGEN clerks=16 branches=3 seconds=30.0 commands=12345 commands_per_s=411.5 "
                  "queries=2345 backorders_created=999 ",
                  0),
      0u)
      << lines;
  EXPECT_NE(lines.find("\nLOADGEN_RPC rpc=invoicing.AddPartLine calls=10 ok=9 refused=1 "
                       "transient=0 p50_ms=1.500 "),
            std::string::npos)
      << lines;
}

TEST(LoadgenFigures, BadOptionsAreErrors) {
  LoadOptions o;
  o.mix = "rpc:receiving/Nope";
  EXPECT_EQ(bo::loadgen::Run({}, o).status().code(), absl::StatusCode::kInvalidArgument);
  o.mix = "workflow";
  o.run_id = "has space";
  EXPECT_EQ(bo::loadgen::Run({}, o).status().code(), absl::StatusCode::kInvalidArgument);
  o.run_id = "";
  o.history_open_every = -1;
  EXPECT_EQ(bo::loadgen::Run({}, o).status().code(), absl::StatusCode::kInvalidArgument);
}

// OK answers to the test's own calls, which the services count too.
Handled own_calls;

// What debtor-query lists for the branches of `world` (all states), and how many of their
// invoices are ready to invoice.
struct Listed {
  int64_t backorders = 0, ready_invoices = 0;
};
Listed ListedBy(bo::testing::TestStack& stack, const World& world) {
  Listed out;
  for (const auto& branch : world.branches) {
    pb::ListBackordersRequest req;
    req.set_branch_id(branch);
    req.set_page_size(1);
    pb::ListBackordersResponse resp;
    EXPECT_TRUE(stack.debtor_query().ListBackorders(bo::testing::Call().get(), req, &resp).ok());
    ++own_calls[{"backorder.v1.DebtorQueryService", "ListBackorders"}];
    out.backorders += resp.total_size();
    pb::ListReadyToInvoiceRequest ready_req;
    ready_req.set_branch_id(branch);
    pb::ListReadyToInvoiceResponse ready;
    EXPECT_TRUE(
        stack.debtor_query().ListReadyToInvoice(bo::testing::Call().get(), ready_req, &ready).ok());
    ++own_calls[{"backorder.v1.DebtorQueryService", "ListReadyToInvoice"}];
    out.ready_invoices += ready.invoices_size();
  }
  return out;
}

Targets TargetsOf(const bo::testing::TestStack& stack) {
  const auto& s = stack.services();
  return {s.at("invoicing").addr, s.at("purchasing").addr, s.at("receiving").addr,
          s.at("debtor-query").addr, stack.identity()};
}

// How many back orders of `world`'s branches debtor-query lists in `state`.
int64_t CountIn(bo::testing::TestStack& stack, const World& world, pb::BackorderState state) {
  int64_t n = 0;
  for (const auto& branch : world.branches) {
    pb::ListBackordersRequest req;
    req.set_branch_id(branch);
    req.set_state(state);
    req.set_page_size(1);
    pb::ListBackordersResponse resp;
    EXPECT_TRUE(stack.debtor_query().ListBackorders(bo::testing::Call().get(), req, &resp).ok());
    n += resp.total_size();
  }
  return n;
}

// Checks one report in itself: calls add up, commands and queries are the OK answers of the
// mutating and the reading RPCs, nothing stayed unresolved.
void CheckConsistent(const LoadReport& report) {
  EXPECT_EQ(report.unresolved, 0);
  int64_t commands = 0, queries = 0;
  for (const RpcFigures& f : report.rpcs) {
    SCOPED_TRACE(f.rpc);
    EXPECT_TRUE(kMutating.count(f.rpc) + kQueries.count(f.rpc) == 1) << "not in the mix";
    EXPECT_EQ(f.mutating, kMutating.count(f.rpc) == 1);
    EXPECT_EQ(f.calls, f.ok + f.refused + f.transient);
    EXPECT_GE(f.calls, 1);
    EXPECT_EQ(f.unresolved, 0);
    EXPECT_LE(f.p50_ms, f.p90_ms);
    EXPECT_LE(f.p90_ms, f.p99_ms);
    EXPECT_LE(f.p99_ms, f.p999_ms);
    EXPECT_LE(f.p999_ms, f.max_ms);
    EXPECT_GT(f.max_ms, 0);
    (kMutating.count(f.rpc) ? commands : queries) += f.ok;
  }
  EXPECT_EQ(report.commands, commands);
  EXPECT_EQ(report.queries, queries);
}

// The workflow mix against the real stack, in two runs on one world: the first (with the set-up)
// starts from nothing, so most back orders are created faster than the events that let other
// clerks order, fill and invoice them can flow; once they have, the second run finds back orders
// waiting and ready, and must call every RPC of the mix with an OK answer.
TEST(Loadgen, WorkflowMixAgreesWithTheServices) {
  bo::testing::TestStack stack(kPortBase, {});
  stack.Start();
  const auto& services = stack.services();
  const Targets targets = TargetsOf(stack);

  LoadOptions o;
  o.clerks = 8;
  o.branches = 2;
  o.parts = 4;
  o.debtors = 4;
  o.max_commands = 300;
  o.duration = std::chrono::milliseconds(0);  // only the command count stops it
  o.seed = 7;
  o.run_id = "lgt" + std::to_string(::getpid() % 100000);
  const World world = MakeWorld(o, o.run_id);

  auto first = bo::loadgen::Run(targets, o);
  ASSERT_TRUE(first.ok()) << first.status();
  std::printf("first run:\n%s\n%s", FormatTable(*first).c_str(), FormatLines(*first).c_str());
  CheckConsistent(*first);
  EXPECT_GE(first->commands, o.max_commands);
  EXPECT_FALSE(first->setup_rpcs.empty());
  EXPECT_GT(first->backorders_created, 0);
  Listed listed;
  ASSERT_TRUE(bo::testing::Eventually([&] {
    listed = ListedBy(stack, world);
    return listed.backorders == first->backorders_created && listed.ready_invoices > 0;
  })) << "debtor-query lists "
      << listed.backorders << " back orders (the first run created " << first->backorders_created
      << "), " << listed.ready_invoices << " invoices ready";

  o.setup = false;
  o.seed = 8;
  auto second = bo::loadgen::Run(targets, o);
  ASSERT_TRUE(second.ok()) << second.status();
  std::printf("second run:\n%s\n%s", FormatTable(*second).c_str(), FormatLines(*second).c_str());
  const LoadReport& report = *second;
  CheckConsistent(report);
  EXPECT_GE(report.commands, o.max_commands);
  EXPECT_EQ(report.clerks, 8);
  EXPECT_EQ(report.branches, 2);
  EXPECT_EQ(report.run_id, o.run_id);
  EXPECT_TRUE(report.setup_rpcs.empty());
  std::set<std::string> seen;
  for (const RpcFigures& f : report.rpcs) {
    seen.insert(f.rpc);
    EXPECT_GE(f.ok, 1) << f.rpc << " never answered OK";
  }
  for (const auto& rpc : kMutating) EXPECT_TRUE(seen.count(rpc)) << rpc << " never called";
  for (const auto& rpc : kQueries) EXPECT_TRUE(seen.count(rpc)) << rpc << " never called";

  // The services counted the same OK answers: the set-up's and both runs' (and the test's own).
  Handled ok = own_calls, transient;
  for (const auto* figures : {&first->setup_rpcs, &first->rpcs, &second->rpcs}) {
    for (const RpcFigures& f : *figures) {
      ok[GrpcName(f.rpc)] += f.ok;
      transient[GrpcName(f.rpc)] += f.transient;
    }
  }
  Handled handled;
  for (const auto& [name, s] : services) {
    for (const auto& [key, n] : HandledOk(stack, s.addr)) handled[key] += n;
  }
  for (const auto& [key, n] : ok) {
    SCOPED_TRACE(key.first + "/" + key.second);
    if (transient[key] == 0) {
      EXPECT_EQ(handled[key], n);
    } else {
      // An attempt that timed out at the client may still have been answered OK.
      EXPECT_GE(handled[key], n);
      EXPECT_LE(handled[key], n + transient[key]);
    }
  }
  // ...and nothing loadgen did is missing from its reports (invoicing's holds aside).
  for (const auto& [key, n] : handled) {
    if (key.first.rfind("backorder.v1.", 0) != 0) continue;
    if (key.first == "backorder.v1.ReceivingService" &&
        (key.second == "HoldStock" || key.second == "ReleaseHold")) {
      continue;
    }
    EXPECT_TRUE(ok.count(key)) << key.first << "/" << key.second << " answered OK " << n
                               << " times but is not in the reports";
  }

  // Every back order the finalised invoices created reached debtor-query.
  const int64_t created = first->backorders_created + second->backorders_created;
  EXPECT_TRUE(bo::testing::Eventually([&] {
    listed = ListedBy(stack, world);
    return listed.backorders == created;
  })) << "debtor-query lists "
      << listed.backorders << " back orders, loadgen created " << created;
}

// The history mix stores back orders and cancels all but one in history_open_every of them (one
// clerk, so the count is exact); with 0 it cancels every one: history that leaves none waiting.
TEST(Loadgen, HistoryMixLeavesOneInEveryNOpen) {
  bo::testing::TestStack stack(kPortBase + 10, {});
  stack.Start();
  const Targets targets = TargetsOf(stack);
  for (const int every : {5, 0}) {
    SCOPED_TRACE(every);
    LoadOptions o;
    o.mix = "history";
    o.clerks = 1;
    o.branches = 1;
    o.parts = 4;
    o.debtors = 2;
    o.max_commands = 30;
    o.duration = std::chrono::milliseconds(0);
    o.history_open_every = every;
    o.run_id = absl::StrCat("lgh", every, "-", ::getpid() % 100000);
    const World world = MakeWorld(o, o.run_id);
    auto report = bo::loadgen::Run(targets, o);
    ASSERT_TRUE(report.ok()) << report.status();
    CheckConsistent(*report);
    const int64_t created = report->backorders_created;
    ASSERT_GT(created, 0);
    const int64_t open = every > 0 ? created / every : 0;
    int64_t listed_open = -1, listed_cancelled = -1;
    EXPECT_TRUE(bo::testing::Eventually([&] {
      listed_open = CountIn(stack, world, pb::BACKORDER_STATE_OPEN);
      listed_cancelled = CountIn(stack, world, pb::BACKORDER_STATE_CANCELLED);
      return listed_open == open && listed_cancelled == created - open;
    })) << "created "
        << created << ": debtor-query lists " << listed_open << " open (want " << open << ") and "
        << listed_cancelled << " cancelled";
  }
}

}  // namespace
}  // namespace bo::loadgen
