#include "tools/loadgen/workload.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "backorder/v1/debtor_query_service.grpc.pb.h"
#include "backorder/v1/invoicing_service.grpc.pb.h"
#include "backorder/v1/purchasing_service.grpc.pb.h"
#include "backorder/v1/receiving_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/rpc/transient.h"

namespace bo::loadgen {
namespace {

namespace pb = backorder::v1;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Each attempt's deadline, and how long a transiently failing call is retried.
constexpr seconds kAttemptDeadline{10};
constexpr seconds kRetryWindow{60};
// How long Run waits for each service's connection before giving up.
constexpr seconds kConnectTimeout{10};
// Stock of every part at every branch after set-up (workflow and rpc mixes).
constexpr int64_t kOpeningStock = 5;
// Most back orders one stock order ticks, and lines one ready invoice takes.
constexpr int kMaxTicked = 25;
constexpr int kMaxReadyLines = 3;
// Ready lines a clerk's ready-to-invoice screen asks for at once.
constexpr int kReadyScreen = 100;

// ---------------------------------------------------------------------------------------------
// The RPCs, in report order.

enum Rpc : int {
  kCreateInvoice,
  kAddPartLine,
  kFinaliseInvoice,
  kAbandonInvoice,
  kInvoiceAddBackorderLines,
  kCancelBackorder,
  kInvoiceGetBackorder,
  kCreateStockOrder,
  kGetBackorders,
  kOrderAddBackorderLines,
  kAddStockLine,
  kFinaliseStockOrder,
  kUpsertPart,
  kGetPart,
  kAdjustStock,
  kProcessCreditorInvoice,
  kGetStock,
  kCreateDebtor,
  kGetDebtor,
  kListReadyToInvoice,
  kListBackorders,
  kRpcCount
};

struct RpcInfo {
  const char* name;
  bool mutating;
};

constexpr RpcInfo kRpcs[kRpcCount] = {
    {"invoicing.CreateInvoice", true},      {"invoicing.AddPartLine", true},
    {"invoicing.FinaliseInvoice", true},    {"invoicing.AbandonInvoice", true},
    {"invoicing.AddBackorderLines", true},  {"invoicing.CancelBackorder", true},
    {"invoicing.GetBackorder", false},      {"purchasing.CreateStockOrder", true},
    {"purchasing.GetBackorders", false},    {"purchasing.AddBackorderLines", true},
    {"purchasing.AddStockLine", true},      {"purchasing.FinaliseStockOrder", true},
    {"receiving.UpsertPart", true},         {"receiving.GetPart", false},
    {"receiving.AdjustStock", true},        {"receiving.ProcessCreditorInvoice", true},
    {"receiving.GetStock", false},          {"debtor-query.CreateDebtor", true},
    {"debtor-query.GetDebtor", false},      {"debtor-query.ListReadyToInvoice", false},
    {"debtor-query.ListBackorders", false},
};

struct RpcStats {
  int64_t calls = 0, ok = 0, refused = 0, transient = 0, unresolved = 0;
  std::vector<double> ms;
};

// One thread's figures; merged after the threads are joined.
struct Stats {
  std::array<RpcStats, kRpcCount> rpc;
  int64_t backorders_created = 0;
};

// What the clerks share: the stop conditions and the deck.
struct Shared {
  int64_t max_commands = 0;
  Clock::time_point end = Clock::time_point::max();
  uint64_t seed = 1;
  std::atomic<int64_t> commands{0};
  std::atomic<int64_t> draws{0};
  std::atomic<bool> stop{false};

  bool Stopping() const { return stop.load(std::memory_order_relaxed) || Clock::now() >= end; }
  void Acknowledged() {
    const int64_t n = commands.fetch_add(1, std::memory_order_relaxed) + 1;
    if (max_commands > 0 && n >= max_commands) stop.store(true, std::memory_order_relaxed);
  }
};

// ---------------------------------------------------------------------------------------------
// Calls: per-attempt timing, retries of transient failures with the same request.

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target,
                                          const rpc::ClientIdentity& identity) {
  grpc::ChannelArguments args;
  // A connection of its own per clerk (gRPC shares subchannels of identical channels otherwise).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // Our retries decide; a lost connection is tried again soon.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(target, rpc::ClientChannelCredentials(identity), args);
}

class Caller {
 public:
  Caller(const Targets& t, Stats* stats, Shared* shared)
      : invoicing(pb::InvoicingService::NewStub(NewChannel(t.invoicing, t.identity))),
        purchasing(pb::PurchasingService::NewStub(NewChannel(t.purchasing, t.identity))),
        receiving(pb::ReceivingService::NewStub(NewChannel(t.receiving, t.identity))),
        query(pb::DebtorQueryService::NewStub(NewChannel(t.debtor_query, t.identity))),
        stats_(stats),
        shared_(shared) {}

  template <typename Stub, typename Req, typename Resp>
  grpc::Status Send(Rpc id, Stub& stub,
                    grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Resp* resp, const std::string& request_id = "",
                    const char* role = "clerk") {
    RpcStats& st = stats_->rpc[id];
    const auto give_up = Clock::now() + kRetryWindow;
    grpc::Status s;
    for (int attempt = 1;; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + kAttemptDeadline);
      ctx.AddMetadata("bo-actor", absl::StrCat(role, ":loadgen"));
      ctx.AddMetadata("bo-role", role);
      if (!request_id.empty()) ctx.AddMetadata("bo-correlation-id", request_id);
      resp->Clear();
      const auto start = Clock::now();
      s = (stub.*method)(&ctx, req, resp);
      st.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      ++st.calls;
      if (s.ok()) {
        ++st.ok;
        if (kRpcs[id].mutating && shared_ != nullptr) shared_->Acknowledged();
        return s;
      }
      if (!bo::rpc::Transient(s.error_code())) {
        ++st.refused;
        return s;
      }
      ++st.transient;
      if (Clock::now() >= give_up) {
        ++st.unresolved;
        return s;
      }
      std::this_thread::sleep_for(milliseconds(std::min(50 * attempt, 1000)));
    }
  }

  std::unique_ptr<pb::InvoicingService::Stub> invoicing;
  std::unique_ptr<pb::PurchasingService::Stub> purchasing;
  std::unique_ptr<pb::ReceivingService::Stub> receiving;
  std::unique_ptr<pb::DebtorQueryService::Stub> query;

 private:
  Stats* stats_;
  Shared* shared_;
};

// Calls `method` of the named stub of `caller` with its Rpc id, e.g.
//   SEND(kGetStock, receiving, GetStock, req, &resp)
#define SEND(id, stub, method, ...)                                                          \
  caller_.Send(id, *caller_.stub, &std::remove_reference_t<decltype(*caller_.stub)>::method, \
               __VA_ARGS__)

pb::Money Aud(int64_t cents) {
  pb::Money m;
  m.set_currency("AUD");
  m.set_minor_units(cents);
  return m;
}

std::string Describe(const grpc::Status& s) {
  return absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())), ": ",
                      s.error_message());
}

// ---------------------------------------------------------------------------------------------
// The mix.

enum class Mode { kWorkflow, kBackorders, kHistory, kSingleRpc };

struct Mix {
  Mode mode = Mode::kWorkflow;
  Rpc rpc = kGetStock;         // kSingleRpc
  int history_open_every = 0;  // kHistory: LoadOptions::history_open_every
};

absl::StatusOr<Mix> ParseMix(const std::string& text) {
  if (text == "workflow") return Mix{Mode::kWorkflow, kGetStock};
  if (text == "backorders") return Mix{Mode::kBackorders, kGetStock};
  if (text == "history") return Mix{Mode::kHistory, kGetStock};
  const std::string usage =
      "; use workflow, backorders, history or rpc:<service>/<Method> with one of "
      "receiving/GetStock, "
      "receiving/GetPart, receiving/AdjustStock, debtor-query/GetDebtor, "
      "debtor-query/ListBackorders, debtor-query/ListReadyToInvoice";
  if (text.rfind("rpc:", 0) != 0)
    return absl::InvalidArgumentError("mix: unknown \"" + text + "\"" + usage);
  std::string spec = text.substr(4);
  const size_t cut = spec.find_last_of("/.");
  if (cut == std::string::npos) return absl::InvalidArgumentError("mix: \"" + text + "\"" + usage);
  std::string service = absl::AsciiStrToLower(spec.substr(0, cut));
  const std::string method = spec.substr(cut + 1);
  // "backorder.v1.ReceivingService" -> "receivingservice" -> "receiving"
  if (const size_t dot = service.find_last_of('.'); dot != std::string::npos) {
    service = service.substr(dot + 1);
  }
  if (service.size() > 7 && service.substr(service.size() - 7) == "service") {
    service = service.substr(0, service.size() - 7);
  }
  service.erase(std::remove(service.begin(), service.end(), '-'), service.end());
  static const std::pair<const char*, Rpc> kSupported[] = {
      {"receiving.GetStock", kGetStock},
      {"receiving.GetPart", kGetPart},
      {"receiving.AdjustStock", kAdjustStock},
      {"debtorquery.GetDebtor", kGetDebtor},
      {"debtorquery.ListBackorders", kListBackorders},
      {"debtorquery.ListReadyToInvoice", kListReadyToInvoice},
  };
  for (const auto& [name, rpc] : kSupported) {
    if (service + "." + method == name) return Mix{Mode::kSingleRpc, rpc};
  }
  return absl::InvalidArgumentError("mix: \"" + text + "\" is not supported" + usage);
}

// The workflow's steps and how many of each are in one deck of 40.
enum class Step {
  kSale,
  kQuote,  // a sale the customer walks away from: the draft is abandoned
  kReceive,
  kOrder,
  kInvoiceReady,
  kCancel,
  kAdjust,
  kGetBackorder,
  kListBackorders,
  kGetStock,
};

constexpr std::pair<Step, int> kDeck[] = {
    {Step::kSale, 14},          {Step::kQuote, 2},    {Step::kReceive, 5}, {Step::kOrder, 4},
    {Step::kInvoiceReady, 6},   {Step::kCancel, 2},   {Step::kAdjust, 2},  {Step::kGetBackorder, 2},
    {Step::kListBackorders, 1}, {Step::kGetStock, 2},
};

// Card `k` of the run: decks of 40 cards, each shuffled with the seed and its number.
Step Draw(int64_t k, uint64_t seed) {
  std::vector<Step> deck;
  for (const auto& [step, n] : kDeck) deck.insert(deck.end(), n, step);
  const auto size = static_cast<int64_t>(deck.size());
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(k / size));
  std::shuffle(deck.begin(), deck.end(), rng);
  return deck[static_cast<size_t>(k % size)];
}

// ---------------------------------------------------------------------------------------------
// A clerk.

class Clerk {
 public:
  Clerk(int n, const World& world, const Targets& targets, const Mix& mix, const std::string& run,
        const std::string& session, Shared* shared)
      : n_(n),
        world_(world),
        mix_(mix),
        run_(run),
        session_(session),
        shared_(shared),
        caller_(targets, &stats_, shared),
        rng_(shared->seed * 1000003ULL + static_cast<uint64_t>(n)),
        branch_(world.branches[static_cast<size_t>(n) % world.branches.size()]) {}

  void Run() {
    while (!shared_->Stopping()) {
      switch (mix_.mode) {
        case Mode::kWorkflow:
          Do(Draw(shared_->draws.fetch_add(1, std::memory_order_relaxed), shared_->seed));
          break;
        case Mode::kBackorders:
        case Mode::kHistory:
          BackorderSale();
          break;
        case Mode::kSingleRpc:
          SingleRpc();
          break;
      }
    }
  }

  Stats& stats() { return stats_; }

 private:
  struct KnownBackorder {
    std::string id, part;
  };
  struct PlacedOrder {
    std::string id, supplier;
    std::vector<std::pair<std::string, int64_t>> lines;
  };

  int Roll(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  template <typename T>
  const T& Any(const std::vector<T>& v) {
    return v[static_cast<size_t>(Roll(static_cast<int>(v.size())))];
  }
  // Unique to this Run call (session), so runs sharing a run_id's world never repeat one.
  std::string Request() { return absl::StrCat(run_, "-", session_, "c", n_, "-", ++requests_); }
  const std::string& SupplierOf(const std::string& part) {
    const auto it = std::find(world_.parts.begin(), world_.parts.end(), part);
    return world_.part_supplier[static_cast<size_t>(it - world_.parts.begin())];
  }

  void Do(Step step) {
    switch (step) {
      case Step::kSale:
        return Sale(false);
      case Step::kQuote:
        return Sale(true);
      case Step::kReceive:
        return Receive();
      case Step::kOrder:
        return OrderStock();
      case Step::kInvoiceReady:
        return InvoiceReady();
      case Step::kCancel:
        return Cancel();
      case Step::kAdjust:
        return Adjust();
      case Step::kGetBackorder:
        return GetBackorder();
      case Step::kListBackorders:
        return ListBackorders();
      case Step::kGetStock:
        return GetStock();
    }
  }

  std::optional<std::string> CreateInvoice(const std::string& debtor) {
    pb::CreateInvoiceRequest req;
    req.set_request_id(Request());
    req.set_branch_id(branch_);
    req.set_debtor_id(debtor);
    req.set_kind(pb::INVOICE_KIND_COUNTER);
    pb::Invoice inv;
    if (!SEND(kCreateInvoice, invoicing, CreateInvoice, req, &inv, req.request_id()).ok()) {
      return std::nullopt;
    }
    return inv.invoice_id();
  }

  bool AddPartLine(const std::string& invoice, const std::string& part, int64_t quantity) {
    pb::AddPartLineRequest req;
    req.set_request_id(Request());
    req.set_invoice_id(invoice);
    req.set_part_number(part);
    req.set_quantity_ordered(quantity);
    pb::AddPartLineResponse resp;
    return SEND(kAddPartLine, invoicing, AddPartLine, req, &resp, req.request_id()).ok();
  }

  void Abandon(const std::string& invoice) {
    pb::AbandonInvoiceRequest req;
    req.set_request_id(Request());
    req.set_invoice_id(invoice);
    pb::Invoice resp;
    SEND(kAbandonInvoice, invoicing, AbandonInvoice, req, &resp, req.request_id());
  }

  void Finalise(const std::string& invoice) {
    pb::FinaliseInvoiceRequest req;
    req.set_request_id(Request());
    req.set_invoice_id(invoice);
    pb::FinaliseInvoiceResponse resp;
    if (!SEND(kFinaliseInvoice, invoicing, FinaliseInvoice, req, &resp, req.request_id()).ok()) {
      Abandon(invoice);
      return;
    }
    stats_.backorders_created += resp.created_size();
    if (mix_.mode == Mode::kHistory) return CloseMostOf(resp);
    if (mix_.mode != Mode::kWorkflow) return;
    for (const auto& b : resp.created()) {
      backorders_.push_back({b.context().backorder_id(), b.context().part_number()});
      if (backorders_.size() > 256) backorders_.pop_front();
    }
  }

  // A counter sale of one or two parts: what is free is supplied, the rest back-ordered (a lost
  // sale for the debtor without back orders). `quote`: the customer walks away, the draft is
  // abandoned and its holds go back.
  void Sale(bool quote) {
    const auto invoice = CreateInvoice(Any(world_.debtors));
    if (!invoice) return;
    const int lines = 1 + Roll(2);
    for (int i = 0; i < lines; ++i) {
      if (!AddPartLine(*invoice, Any(world_.parts), 1 + Roll(3))) {
        Abandon(*invoice);
        return;
      }
    }
    if (quote) {
      Abandon(*invoice);
    } else {
      Finalise(*invoice);
    }
  }

  // "history" mix: a store where most back orders are long closed. The manager cancels every
  // back order the sale created but one in history_open_every, which stays open.
  void CloseMostOf(const pb::FinaliseInvoiceResponse& finalised) {
    const int every = mix_.history_open_every;
    for (const auto& b : finalised.created()) {
      ++history_created_;
      if (every > 0 && history_created_ % every == 0) continue;
      pb::CancelBackorderRequest req;
      req.set_request_id(Request());
      req.set_backorder_id(b.context().backorder_id());
      req.set_reason("history: closed");
      pb::Backorder resp;
      SEND(kCancelBackorder, invoicing, CancelBackorder, req, &resp, req.request_id(), "manager");
    }
  }

  // "backorders" and "history" mixes: kBackorderLines lines of parts that have no stock.
  void BackorderSale() {
    const auto invoice = CreateInvoice(Any(world_.debtors));
    if (!invoice) return;
    const int first = Roll(static_cast<int>(world_.parts.size()));
    for (int i = 0; i < kBackorderLines; ++i) {
      const auto& part = world_.parts[static_cast<size_t>(first + i) % world_.parts.size()];
      if (!AddPartLine(*invoice, part, 1 + Roll(3))) {
        Abandon(*invoice);
        return;
      }
    }
    Finalise(*invoice);
  }

  // A creditor invoice: mostly the delivery of a stock order placed earlier (what it ordered),
  // otherwise a delivery of one part (often one that is back-ordered).
  void Receive() {
    pb::ProcessCreditorInvoiceRequest req;
    req.set_request_id(Request());
    req.set_branch_id(branch_);
    req.set_creditor_invoice_id("CI-" + req.request_id());
    if (!placed_.empty() && Roll(10) < 7) {
      const PlacedOrder order = std::move(placed_.front());
      placed_.pop_front();
      req.set_supplier_id(order.supplier);
      req.set_stock_order_id(order.id);
      for (const auto& [part, quantity] : order.lines) {
        auto* line = req.add_lines();
        line->set_part_number(part);
        line->set_quantity(quantity);
        *line->mutable_unit_cost() = Aud(600);
      }
    }
    if (req.lines_size() == 0) {
      const std::string part =
          !backorders_.empty() && Roll(2) == 0
              ? backorders_[static_cast<size_t>(Roll(static_cast<int>(backorders_.size())))].part
              : Any(world_.parts);
      req.set_supplier_id(SupplierOf(part));
      auto* line = req.add_lines();
      line->set_part_number(part);
      line->set_quantity(1 + Roll(5));
      *line->mutable_unit_cost() = Aud(600);
    }
    pb::ProcessCreditorInvoiceResponse resp;
    SEND(kProcessCreditorInvoice, receiving, ProcessCreditorInvoice, req, &resp, req.request_id());
  }

  // A stock order to one supplier: Get back orders (this supplier), tick them (at most
  // kMaxTicked), a shelf line, finalise.
  void OrderStock() {
    const std::string supplier = Any(world_.suppliers);
    pb::CreateStockOrderRequest create;
    create.set_request_id(Request());
    create.set_branch_id(branch_);
    create.set_supplier_id(supplier);
    create.set_reference("loadgen");
    pb::StockOrder order;
    if (!SEND(kCreateStockOrder, purchasing, CreateStockOrder, create, &order, create.request_id())
             .ok()) {
      return;
    }
    const std::string id = order.stock_order_id();
    pb::GetBackordersRequest get;
    get.set_stock_order_id(id);
    get.set_this_supplier_only(true);
    // One screenful, oldest first: no more than the clerk ticks.
    get.set_page_size(kMaxTicked);
    pb::GetBackordersResponse waiting;
    bool lines = false;
    if (SEND(kGetBackorders, purchasing, GetBackorders, get, &waiting).ok() &&
        waiting.backorders_size() > 0) {
      pb::AddBackorderLinesToOrderRequest tick;
      tick.set_request_id(Request());
      tick.set_stock_order_id(id);
      for (const auto& b : waiting.backorders()) {
        if (tick.backorder_ids_size() >= kMaxTicked) break;
        tick.add_backorder_ids(b.context().backorder_id());
      }
      pb::StockOrder ticked;
      // Refused when another clerk ticked one of them first: the order goes on without them.
      lines = SEND(kOrderAddBackorderLines, purchasing, AddBackorderLines, tick, &ticked,
                   tick.request_id())
                  .ok();
    }
    std::vector<std::string> shelf_parts;
    for (size_t i = 0; i < world_.parts.size(); ++i) {
      if (world_.part_supplier[i] == supplier) shelf_parts.push_back(world_.parts[i]);
    }
    pb::AddStockLineRequest shelf;
    shelf.set_request_id(Request());
    shelf.set_stock_order_id(id);
    shelf.set_part_number(Any(shelf_parts));
    shelf.set_quantity(2);
    pb::StockOrder with_shelf;
    lines = SEND(kAddStockLine, purchasing, AddStockLine, shelf, &with_shelf, shelf.request_id())
                .ok() ||
            lines;
    if (!lines) return;
    pb::FinaliseStockOrderRequest fin;
    fin.set_request_id(Request());
    fin.set_stock_order_id(id);
    pb::StockOrder placed;
    if (!SEND(kFinaliseStockOrder, purchasing, FinaliseStockOrder, fin, &placed, fin.request_id())
             .ok()) {
      return;
    }
    PlacedOrder p{id, supplier, {}};
    for (const auto& line : placed.lines())
      p.lines.emplace_back(line.part_number(), line.quantity());
    if (p.lines.empty()) return;
    placed_.push_back(std::move(p));
    if (placed_.size() > 32) placed_.pop_front();
  }

  // Backorders ready to invoice at this branch: one customer's invoice, up to kMaxReadyLines of
  // its lines ticked onto a new invoice, finalised.
  void InvoiceReady() {
    pb::ListReadyToInvoiceRequest list;
    list.set_branch_id(branch_);
    // A screenful, as the clerk's screen asks (and tests/perf's P5): unpaged, the answer is every
    // ready line of the branch, which grows with the store.
    list.set_page_size(kReadyScreen);
    pb::ListReadyToInvoiceResponse ready;
    if (!SEND(kListReadyToInvoice, query, ListReadyToInvoice, list, &ready).ok() ||
        ready.invoices_size() == 0) {
      return;
    }
    const auto& group = ready.invoices(Roll(ready.invoices_size()));
    if (group.lines_size() == 0) return;
    pb::AddBackorderLinesRequest add;
    const int first = Roll(group.lines_size());
    for (int i = 0; i < std::min(group.lines_size(), kMaxReadyLines); ++i) {
      add.add_backorder_ids(group.lines((first + i) % group.lines_size()).backorder_id());
    }
    const auto invoice = CreateInvoice(group.debtor().debtor_id());
    if (!invoice) return;
    add.set_request_id(Request());
    add.set_invoice_id(*invoice);
    pb::Invoice with;
    if (!SEND(kInvoiceAddBackorderLines, invoicing, AddBackorderLines, add, &with, add.request_id())
             .ok()) {
      Abandon(*invoice);  // another clerk was quicker, or it moved on
      return;
    }
    Finalise(*invoice);
  }

  // The manager cancels one of this clerk's back orders (refused if it was invoiced meanwhile).
  void Cancel() {
    if (backorders_.empty()) return Sale(false);
    const size_t i = static_cast<size_t>(Roll(static_cast<int>(backorders_.size())));
    const std::string id = backorders_[i].id;
    backorders_.erase(backorders_.begin() + static_cast<std::ptrdiff_t>(i));
    pb::CancelBackorderRequest req;
    req.set_request_id(Request());
    req.set_backorder_id(id);
    req.set_reason("customer no longer wants it");
    pb::Backorder resp;
    SEND(kCancelBackorder, invoicing, CancelBackorder, req, &resp, req.request_id(), "manager");
  }

  void Adjust() {
    pb::AdjustStockRequest req;
    req.set_request_id(Request());
    req.set_branch_id(branch_);
    req.set_part_number(Any(world_.parts));
    req.set_delta(1 + Roll(3));
    req.set_reason("stocktake found more");
    pb::AdjustStockResponse resp;
    SEND(kAdjustStock, receiving, AdjustStock, req, &resp, req.request_id(), "manager");
  }

  void GetBackorder() {
    if (backorders_.empty()) return GetStock();
    pb::GetBackorderRequest req;
    req.set_backorder_id(
        backorders_[static_cast<size_t>(Roll(static_cast<int>(backorders_.size())))].id);
    pb::Backorder resp;
    SEND(kInvoiceGetBackorder, invoicing, GetBackorder, req, &resp);
  }

  void ListBackorders() {
    pb::ListBackordersRequest req;
    req.set_branch_id(branch_);
    req.set_state(pb::BACKORDER_STATE_OPEN);
    req.set_page_size(20);
    pb::ListBackordersResponse resp;
    SEND(kListBackorders, query, ListBackorders, req, &resp);
  }

  void GetStock() {
    pb::GetStockRequest req;
    req.set_branch_id(branch_);
    req.set_part_number(Any(world_.parts));
    pb::StockPosition resp;
    SEND(kGetStock, receiving, GetStock, req, &resp);
  }

  // "rpc:" mix: the same request every time for reads (branch 1, part 1, debtor 1, as a ghz
  // run with one -d body makes them), a new request id and part each time for AdjustStock.
  void SingleRpc() {
    const std::string& branch = world_.branches[0];
    switch (mix_.rpc) {
      case kGetStock: {
        pb::GetStockRequest req;
        req.set_branch_id(branch);
        req.set_part_number(world_.parts[0]);
        pb::StockPosition resp;
        SEND(kGetStock, receiving, GetStock, req, &resp);
        return;
      }
      case kGetPart: {
        pb::GetPartRequest req;
        req.set_part_number(world_.parts[0]);
        pb::Part resp;
        SEND(kGetPart, receiving, GetPart, req, &resp);
        return;
      }
      case kAdjustStock:
        return Adjust();
      case kGetDebtor: {
        pb::GetDebtorRequest req;
        req.set_debtor_id(world_.debtors[0]);
        pb::Debtor resp;
        SEND(kGetDebtor, query, GetDebtor, req, &resp);
        return;
      }
      case kListBackorders: {
        pb::ListBackordersRequest req;
        req.set_branch_id(branch);
        req.set_page_size(20);
        pb::ListBackordersResponse resp;
        SEND(kListBackorders, query, ListBackorders, req, &resp);
        return;
      }
      case kListReadyToInvoice: {
        pb::ListReadyToInvoiceRequest req;
        req.set_branch_id(branch);
        req.set_page_size(kReadyScreen);
        pb::ListReadyToInvoiceResponse resp;
        SEND(kListReadyToInvoice, query, ListReadyToInvoice, req, &resp);
        return;
      }
      default:
        shared_->stop = true;  // ParseMix admits no other
        return;
    }
  }

  int n_;
  const World& world_;
  Mix mix_;
  std::string run_, session_;
  Shared* shared_;
  Stats stats_;
  Caller caller_;
  std::mt19937_64 rng_;
  std::string branch_;
  int64_t requests_ = 0;
  int64_t history_created_ = 0;            // back orders the "history" mix created
  std::deque<KnownBackorder> backorders_;  // created by this clerk's invoices, newest last
  std::deque<PlacedOrder> placed_;         // placed by this clerk, not yet delivered
};

// ---------------------------------------------------------------------------------------------
// Set-up: parts, opening stock, debtors, and waiting until invoicing knows the debtors.

class Setup {
 public:
  Setup(const Targets& targets, const World& world, const std::string& run, Stats* stats,
        Shared* shared)
      : world_(world), run_(run), caller_(targets, stats, shared) {}

  absl::Status Run(const Mix& mix) {
    for (size_t p = 0; p < world_.parts.size(); ++p) {
      pb::UpsertPartRequest req;
      req.set_request_id(absl::StrCat(run_, "-setup-part-", p + 1));
      auto* part = req.mutable_part();
      part->set_part_number(world_.parts[p]);
      part->set_description("Load part " + world_.parts[p]);
      part->set_supplier_id(world_.part_supplier[p]);
      *part->mutable_unit_price() = Aud(1000 + 10 * static_cast<int64_t>(p));
      pb::Part resp;
      if (auto s =
              SEND(kUpsertPart, receiving, UpsertPart, req, &resp, req.request_id(), "manager");
          !s.ok()) {
        return Failed("UpsertPart " + world_.parts[p], s);
      }
    }
    if (mix.mode != Mode::kBackorders && mix.mode != Mode::kHistory) {
      for (size_t b = 0; b < world_.branches.size(); ++b) {
        for (size_t p = 0; p < world_.parts.size(); ++p) {
          pb::AdjustStockRequest req;
          req.set_request_id(absl::StrCat(run_, "-setup-stock-", b + 1, "-", p + 1));
          req.set_branch_id(world_.branches[b]);
          req.set_part_number(world_.parts[p]);
          req.set_delta(kOpeningStock);
          req.set_reason("opening stock");
          pb::AdjustStockResponse resp;
          if (auto s = SEND(kAdjustStock, receiving, AdjustStock, req, &resp, req.request_id(),
                            "manager");
              !s.ok()) {
            return Failed("AdjustStock " + world_.branches[b] + " " + world_.parts[p], s);
          }
        }
      }
    }
    const bool every_debtor_uses_backorders =
        mix.mode == Mode::kBackorders || mix.mode == Mode::kHistory || world_.debtors.size() < 3;
    for (size_t d = 0; d < world_.debtors.size(); ++d) {
      pb::CreateDebtorRequest req;
      req.set_request_id(absl::StrCat(run_, "-setup-debtor-", d + 1));
      auto* debtor = req.mutable_debtor();
      debtor->set_debtor_id(world_.debtors[d]);
      debtor->set_name("Load debtor " + world_.debtors[d]);
      debtor->set_contact_name("Sam");
      debtor->set_phone("03 9555 0000");
      // The last one does not use back orders: its shortfalls are lost sales.
      debtor->set_use_backorders(every_debtor_uses_backorders || d + 1 < world_.debtors.size());
      pb::Debtor resp;
      if (auto s =
              SEND(kCreateDebtor, query, CreateDebtor, req, &resp, req.request_id(), "manager");
          !s.ok()) {
        return Failed("CreateDebtor " + world_.debtors[d], s);
      }
    }
    if (mix.mode == Mode::kSingleRpc) return absl::OkStatus();
    // Invoicing learns of debtors from debtor-query's events: a probe invoice per debtor (the
    // same request id until the debtor is known, then abandoned) waits for that.
    for (size_t d = 0; d < world_.debtors.size(); ++d) {
      pb::CreateInvoiceRequest req;
      req.set_request_id(absl::StrCat(run_, "-setup-probe-", d + 1));
      req.set_branch_id(world_.branches[0]);
      req.set_debtor_id(world_.debtors[d]);
      req.set_kind(pb::INVOICE_KIND_COUNTER);
      pb::Invoice inv;
      const auto give_up = Clock::now() + kRetryWindow;
      grpc::Status s;
      while (true) {
        s = SEND(kCreateInvoice, invoicing, CreateInvoice, req, &inv, req.request_id());
        if (s.error_code() != grpc::StatusCode::NOT_FOUND || Clock::now() >= give_up) break;
        std::this_thread::sleep_for(milliseconds(100));
      }
      if (!s.ok()) return Failed("waiting for invoicing to know debtor " + world_.debtors[d], s);
      pb::AbandonInvoiceRequest abandon;
      abandon.set_request_id(absl::StrCat(run_, "-setup-abandon-", d + 1));
      abandon.set_invoice_id(inv.invoice_id());
      pb::Invoice abandoned;
      if (auto a = SEND(kAbandonInvoice, invoicing, AbandonInvoice, abandon, &abandoned,
                        abandon.request_id());
          !a.ok()) {
        return Failed("AbandonInvoice " + inv.invoice_id(), a);
      }
    }
    return absl::OkStatus();
  }

 private:
  static absl::Status Failed(const std::string& doing, const grpc::Status& s) {
    return absl::FailedPreconditionError("set-up: " + doing + ": " + Describe(s));
  }

  const World& world_;
  std::string run_;
  Caller caller_;
};

#undef SEND

// ---------------------------------------------------------------------------------------------

std::vector<RpcFigures> Figures(std::vector<Stats>& stats) {
  std::vector<RpcFigures> out;
  for (int r = 0; r < kRpcCount; ++r) {
    RpcFigures f;
    f.rpc = kRpcs[r].name;
    f.mutating = kRpcs[r].mutating;
    std::vector<double> ms;
    for (auto& s : stats) {
      const RpcStats& st = s.rpc[static_cast<size_t>(r)];
      f.calls += st.calls;
      f.ok += st.ok;
      f.refused += st.refused;
      f.transient += st.transient;
      f.unresolved += st.unresolved;
      ms.insert(ms.end(), st.ms.begin(), st.ms.end());
    }
    if (f.calls == 0) continue;
    std::sort(ms.begin(), ms.end());
    f.p50_ms = NearestRank(ms, 50);
    f.p90_ms = NearestRank(ms, 90);
    f.p99_ms = NearestRank(ms, 99);
    f.p999_ms = NearestRank(ms, 99.9);
    f.max_ms = ms.back();
    out.push_back(std::move(f));
  }
  return out;
}

absl::Status CheckOptions(const LoadOptions& o) {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (o.clerks < 1 || o.clerks > 1000) return bad("clerks: must be 1..1000");
  if (o.branches < 1 || o.branches > 100) return bad("branches: must be 1..100");
  if (o.parts < 1 || o.parts > 10000) return bad("parts: must be 1..10000");
  if (o.debtors < 1 || o.debtors > 10000) return bad("debtors: must be 1..10000");
  if (o.max_commands < 0) return bad("max_commands: must not be negative");
  if (o.history_open_every < 0) return bad("history_open_every: must not be negative");
  if (o.duration.count() <= 0 && o.max_commands == 0) {
    return bad("duration: must be positive unless max_commands is set");
  }
  if (o.run_id.size() > 16) return bad("run_id: at most 16 characters");
  for (char c : o.run_id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return bad("run_id: only letters, digits, - and _");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckReachable(const std::string& name, const std::string& target,
                            const rpc::ClientIdentity& identity) {
  if (target.empty()) return absl::InvalidArgumentError(name + ": no address");
  auto channel = grpc::CreateChannel(target, rpc::ClientChannelCredentials(identity));
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + kConnectTimeout)) {
    return absl::UnavailableError(absl::StrCat("cannot reach ", name, " at ", target, " within ",
                                               kConnectTimeout.count(), "s: is the stack up?"));
  }
  return absl::OkStatus();
}

std::string RandomToken(int hex_digits) {
  std::random_device rd;
  const uint64_t bits = (static_cast<uint64_t>(rd()) << 32) | rd();
  return absl::StrFormat("%0*x", hex_digits, bits >> (64 - 4 * hex_digits));
}

}  // namespace

double NearestRank(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double n = static_cast<double>(sorted.size());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * n - 1e-9));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

World MakeWorld(const LoadOptions& options, const std::string& run_id) {
  World w;
  for (int b = 0; b < options.branches; ++b)
    w.branches.push_back(absl::StrCat(run_id, "-B", b + 1));
  const int suppliers = options.parts >= 2 ? 2 : 1;
  for (int s = 0; s < suppliers; ++s) w.suppliers.push_back(absl::StrCat(run_id, "-S", s + 1));
  for (int p = 0; p < options.parts; ++p) {
    w.parts.push_back(absl::StrFormat("%s-P%03d", run_id, p + 1));
    w.part_supplier.push_back(w.suppliers[static_cast<size_t>(p % suppliers)]);
  }
  for (int d = 0; d < options.debtors; ++d) {
    w.debtors.push_back(absl::StrFormat("%s-D%03d", run_id, d + 1));
  }
  return w;
}

absl::StatusOr<LoadReport> Run(const Targets& targets, const LoadOptions& options) {
  if (auto s = CheckOptions(options); !s.ok()) return s;
  auto mix = ParseMix(options.mix);
  if (!mix.ok()) return mix.status();
  mix->history_open_every = options.history_open_every;
  const std::string run = options.run_id.empty() ? "lg" + RandomToken(6) : options.run_id;
  const World world = MakeWorld(options, run);

  for (const auto& [name, target] :
       {std::pair<std::string, std::string>{"invoicing", targets.invoicing},
        {"purchasing", targets.purchasing},
        {"receiving", targets.receiving},
        {"debtor-query", targets.debtor_query}}) {
    const bool needed = mix->mode == Mode::kWorkflow || name != "purchasing";
    if (!needed) continue;
    if (auto s = CheckReachable(name, target, targets.identity); !s.ok()) return s;
  }

  LoadReport report;
  report.mix = options.mix;
  report.run_id = run;
  report.clerks = options.clerks;
  report.branches = options.branches;

  if (options.setup) {
    Shared unlimited;
    std::vector<Stats> setup_stats(1);
    absl::Status s = Setup(targets, world, run, &setup_stats[0], &unlimited).Run(*mix);
    report.setup_rpcs = Figures(setup_stats);
    if (!s.ok()) return s;
  }

  Shared shared;
  shared.max_commands = options.max_commands;
  shared.seed = options.seed;
  const std::string session = RandomToken(8);
  std::vector<std::unique_ptr<Clerk>> clerks;
  for (int n = 0; n < options.clerks; ++n) {
    clerks.push_back(std::make_unique<Clerk>(n, world, targets, *mix, run, session, &shared));
  }
  const auto start = Clock::now();
  if (options.duration.count() > 0) shared.end = start + options.duration;
  std::vector<std::thread> threads;
  for (auto& c : clerks) threads.emplace_back([&c] { c->Run(); });
  for (auto& t : threads) t.join();
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<Stats> stats;
  for (auto& c : clerks) {
    report.backorders_created += c->stats().backorders_created;
    stats.push_back(std::move(c->stats()));
  }
  report.rpcs = Figures(stats);
  for (const auto& f : report.rpcs) {
    (f.mutating ? report.commands : report.queries) += f.ok;
    report.unresolved += f.unresolved;
  }
  report.commands_per_s = report.seconds > 0 ? report.commands / report.seconds : 0;
  return report;
}

std::string FormatTable(const LoadReport& r) {
  std::string out = absl::StrFormat(
      "bo-loadgen  mix=%s  clerks=%d  branches=%d  run_id=%s\n"
      "%.1f s: %d commands (%.1f/s), %d queries, %d back orders created, %d unresolved\n\n",
      r.mix, r.clerks, r.branches, r.run_id, r.seconds, r.commands, r.commands_per_s, r.queries,
      r.backorders_created, r.unresolved);
  const std::string header =
      absl::StrFormat("%-34s %8s %8s %8s %9s %9s %9s %9s %9s %9s\n", "rpc", "calls", "ok",
                      "refused", "transient", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms");
  auto rows = [&](const std::vector<RpcFigures>& figures) {
    std::string text = header;
    for (const auto& f : figures) {
      absl::StrAppendFormat(&text, "%-34s %8d %8d %8d %9d %9.2f %9.2f %9.2f %9.2f %9.2f\n", f.rpc,
                            f.calls, f.ok, f.refused, f.transient, f.p50_ms, f.p90_ms, f.p99_ms,
                            f.p999_ms, f.max_ms);
    }
    return text;
  };
  out += rows(r.rpcs);
  if (!r.setup_rpcs.empty()) out += "\nset-up (not in the figures above):\n" + rows(r.setup_rpcs);
  return out;
}

std::string FormatLines(const LoadReport& r) {
  std::string out = absl::StrFormat(
      "LOADGEN clerks=%d branches=%d seconds=%.1f commands=%d commands_per_s=%.1f queries=%d "
      "backorders_created=%d unresolved=%d mix=%s run_id=%s\n",
      r.clerks, r.branches, r.seconds, r.commands, r.commands_per_s, r.queries,
      r.backorders_created, r.unresolved, r.mix, r.run_id);
  for (const auto& f : r.rpcs) {
    absl::StrAppendFormat(&out,
                          "LOADGEN_RPC rpc=%s calls=%d ok=%d refused=%d transient=%d p50_ms=%.3f "
                          "p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f unresolved=%d\n",
                          f.rpc, f.calls, f.ok, f.refused, f.transient, f.p50_ms, f.p90_ms,
                          f.p99_ms, f.p999_ms, f.max_ms, f.unresolved);
  }
  return out;
}

}  // namespace bo::loadgen
