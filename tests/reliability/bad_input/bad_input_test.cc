// Bad input (issue 4, item 5). A table of wrong requests against every RPC of the four services:
// missing, malformed, out of range and oversized fields, unknown ids, steps in the wrong state,
// replayed request ids with a different payload, and things of the wrong branch or debtor. Each
// must get the expected status code with a field-level detail in grpc-status-details-bin
// (google.rpc.BadRequest naming the field; PreconditionFailure or ResourceInfo saying what is
// wrong), or, for a replayed request id, the first answer again. Afterwards every service process
// must be alive and SERVING, no event may have been published, and each service's durable state
// (`bo-admin dump`, every column family but RocksDB's unused default) must be byte for byte what
// it was before the table ran. Ends with
//   BAD_INPUT cases=<n> passed=<n> crashes=0 state_changed=0
// and exits non-zero unless every case passed and the last two are 0.
//
// Besides the table, a few probes send what no client library would (bytes that are not the
// request message, invalid UTF-8 in a string, a message over gRPC's 4 MiB limit) to every method:
// no detail can name a field there, but they too must not crash anything or change any state.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <future>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "libs/kafka/client.h"
#include "libs/kafka/testing.h"
#include "libs/rpc/rpc_observer.h"
#include "services/common/topics.h"
#include "tests/e2e/test_stack.h"

namespace bo::testing {
namespace {

namespace pb = backorder::v1;
using Code = grpc::StatusCode;

constexpr int kPortBase = 22400;
constexpr size_t kMiB = 1 << 20;
constexpr int64_t kMax = 1'000'000'000;  // kMaxRequestQuantity
// Every column family a service writes (RocksDB's "default" is unused).
constexpr char kDumpFamilies[] = "state,events,idempotency,readmodel,outbox,consumer";

// ---- The table ----

enum class Kind {
  kMissing,
  kMalformed,
  kOutOfRange,
  kOversized,
  kUnknownId,
  kWrongState,
  kReplay,
  kWrongBranch
};

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kMissing:
      return "missing";
    case Kind::kMalformed:
      return "malformed";
    case Kind::kOutOfRange:
      return "out-of-range";
    case Kind::kOversized:
      return "oversized";
    case Kind::kUnknownId:
      return "unknown-id";
    case Kind::kWrongState:
      return "wrong-state";
    case Kind::kReplay:
      return "replay";
    case Kind::kWrongBranch:
      return "wrong-branch";
  }
  return "?";
}

// What a case expects. INVALID_ARGUMENT: a BadRequest whose first violation's field is `names`.
// FAILED_PRECONDITION: a PreconditionFailure whose violation's description contains `names`.
// NOT_FOUND, ALREADY_EXISTS: a ResourceInfo whose description contains `names`.
// OK (a replayed request id): the answer is `first_answer`, byte for byte.
struct Expect {
  Code code;
  std::string names;
  std::string first_answer;
};
Expect Field(std::string field) { return {Code::INVALID_ARGUMENT, std::move(field), ""}; }
Expect Precondition(std::string says) { return {Code::FAILED_PRECONDITION, std::move(says), ""}; }
Expect NotFound(std::string says) { return {Code::NOT_FOUND, std::move(says), ""}; }
Expect Exists(std::string says) { return {Code::ALREADY_EXISTS, std::move(says), ""}; }
Expect FirstAnswer(std::string answer) { return {Code::OK, "", std::move(answer)}; }

struct Outcome {
  grpc::Status status;
  std::string response;  // serialized, when OK
};

struct Case {
  std::string service;  // full name, e.g. "backorder.v1.InvoicingService"
  std::string method;   // e.g. "CreateInvoice"
  Kind kind;
  std::string name;
  std::function<Outcome()> call;
  Expect expect;
};

std::string CodeName(Code c) { return bo::rpc::CodeName(c); }

std::string Shorten(const std::string& s, size_t n = 160) {
  return s.size() <= n ? s : s.substr(0, n) + "...(" + std::to_string(s.size()) + " bytes)";
}

// "" if `o` is what `c` expects, else why not.
std::string Judge(const Case& c, const Outcome& o) {
  const Code got = o.status.error_code();
  if (got != c.expect.code) {
    return "got " + CodeName(got) + " (" + Shorten(o.status.error_message()) + "), want " +
           CodeName(c.expect.code);
  }
  if (got == Code::OK) {
    return o.response == c.expect.first_answer
               ? ""
               : "a replay must get the first answer back, got a different one";
  }
  google::rpc::Status details;
  if (o.status.error_details().empty() || !details.ParseFromString(o.status.error_details())) {
    return "no google.rpc.Status in grpc-status-details-bin";
  }
  if (details.code() != static_cast<int>(got)) return "the details' code differs from the status";
  for (const auto& any : details.details()) {
    if (got == Code::INVALID_ARGUMENT && any.Is<google::rpc::BadRequest>()) {
      google::rpc::BadRequest bad;
      any.UnpackTo(&bad);
      if (bad.field_violations_size() == 0) return "BadRequest without a field violation";
      const auto& v = bad.field_violations(0);
      if (v.field() != c.expect.names) {
        return "BadRequest names field \"" + v.field() + "\" (" + Shorten(v.description()) +
               "), want \"" + c.expect.names + "\"";
      }
      return v.description().empty() ? "BadRequest violation without a description" : "";
    }
    if (got == Code::FAILED_PRECONDITION && any.Is<google::rpc::PreconditionFailure>()) {
      google::rpc::PreconditionFailure failure;
      any.UnpackTo(&failure);
      if (failure.violations_size() == 0) return "PreconditionFailure without a violation";
      const auto& v = failure.violations(0);
      if (v.type().empty()) return "PreconditionFailure violation without a type";
      if (v.description().find(c.expect.names) == std::string::npos) {
        return "PreconditionFailure says \"" + Shorten(v.description()) + "\", not naming \"" +
               c.expect.names + "\"";
      }
      return "";
    }
    if ((got == Code::NOT_FOUND || got == Code::ALREADY_EXISTS) &&
        any.Is<google::rpc::ResourceInfo>()) {
      google::rpc::ResourceInfo info;
      any.UnpackTo(&info);
      const std::string text =
          info.resource_type() + " " + info.resource_name() + " " + info.description();
      if (text.find(c.expect.names) == std::string::npos) {
        return "ResourceInfo says \"" + Shorten(text) + "\", not naming \"" + c.expect.names + "\"";
      }
      return "";
    }
  }
  return "no " +
         std::string(got == Code::INVALID_ARGUMENT      ? "BadRequest"
                     : got == Code::FAILED_PRECONDITION ? "PreconditionFailure"
                                                        : "ResourceInfo") +
         " detail";
}

// Sends `request` with `method` of `stub`; the response is kept (serialized) for replays.
template <typename Stub, typename Request, typename Response>
std::function<Outcome()> Sender(Stub* stub,
                                grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                                Request request) {
  return [stub, method, request = std::move(request)] {
    Response response;
    auto ctx = Call("clerk:bad-input");
    grpc::Status s = (stub->*method)(ctx.get(), request, &response);
    return Outcome{s, s.ok() ? response.SerializeAsString() : ""};
  };
}

// Calls once and insists on OK (set-up steps); returns the response.
template <typename Stub, typename Request, typename Response>
Response Must(Stub* stub,
              grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
              const Request& request, const std::string& what) {
  Response response;
  auto ctx = Call("clerk:bad-input-setup");
  grpc::Status s = (stub->*method)(ctx.get(), request, &response);
  if (!s.ok()) {
    throw std::runtime_error("set-up step \"" + what + "\" failed: " + CodeName(s.error_code()) +
                             " " + s.error_message());
  }
  return response;
}

void Require(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error("set-up: gave up waiting until " + what);
}

// A first answer kept for a replay: the request as sent and the answer it got.
template <typename Request>
struct First {
  Request request;
  std::string answer;
};

// ---- Durable state and the broker ----

// `bo-admin dump` of one service's data directory. A secondary instance can trip over a file
// the running service has just deleted (compaction): such a dump is tried again.
std::string Dump(const ServiceProcess& s) {
  const std::string command =
      std::string(BO_ADMIN_BIN) + " dump --families " + kDumpFamilies + " --data-dir " + s.data_dir;
  int status = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
    std::string out;
    char buffer[1 << 16];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    status = ::pclose(pipe);
    if (status == 0) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  throw std::runtime_error(command + " failed (status " + std::to_string(status) + ")");
}

std::map<std::string, std::string> DumpAll(const TestStack& stack) {
  std::map<std::string, std::string> dumps;
  for (const auto& [name, s] : stack.services()) dumps[name] = Dump(s);
  return dumps;
}

// Waits until nothing moves: two dumps of every service 2 s apart are the same and every outbox
// is empty (the relays have published everything, the consumers applied it).
std::map<std::string, std::string> Settle(const TestStack& stack) {
  std::map<std::string, std::string> last = DumpAll(stack);
  for (int round = 0; round < 60; ++round) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    std::map<std::string, std::string> now = DumpAll(stack);
    bool quiet = now == last;
    for (const auto& [name, dump] : now) {
      if (dump.find("== outbox 0\n") == std::string::npos) quiet = false;
    }
    if (quiet) return now;
    last = std::move(now);
  }
  throw std::runtime_error("the services never became quiet");
}

// The end offset of every partition of the four event topics.
std::map<std::string, int64_t> EndOffsets() {
  auto conf = kafka::MakeConf(
      {{"bootstrap.servers", kafka::testing::Bootstrap()}, {"group.id", "bo-bad-input-offsets"}});
  if (!conf.ok()) throw std::runtime_error(conf.status().ToString());
  auto client = kafka::MakeClient(RD_KAFKA_CONSUMER, *conf);
  if (!client.ok()) throw std::runtime_error(client.status().ToString());
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_metadata(client->get(), 1, nullptr, &metadata, 10000) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("cannot read the broker's metadata");
  }
  const std::set<std::string> ours = {kDebtorQueryTopic, kInvoicingTopic, kPurchasingTopic,
                                      kReceivingTopic};
  std::map<std::string, int64_t> offsets;
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    const auto& topic = metadata->topics[t];
    if (!ours.count(topic.topic)) continue;
    for (int p = 0; p < topic.partition_cnt; ++p) {
      int64_t low = 0, high = 0;
      const int32_t partition = topic.partitions[p].id;
      if (rd_kafka_query_watermark_offsets(client->get(), topic.topic, partition, &low, &high,
                                           10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_metadata_destroy(metadata);
        throw std::runtime_error(std::string("cannot read the end offset of ") + topic.topic);
      }
      offsets[std::string(topic.topic) + "/" + std::to_string(partition)] = high;
    }
  }
  rd_kafka_metadata_destroy(metadata);
  return offsets;
}

// Lines of `before` and `after` that differ (a few, for the log).
std::string FirstDifferences(const std::string& before, const std::string& after) {
  auto lines = [](const std::string& s) {
    std::set<std::string> out;
    size_t at = 0;
    while (at < s.size()) {
      size_t end = s.find('\n', at);
      if (end == std::string::npos) end = s.size();
      out.insert(s.substr(at, end - at));
      at = end + 1;
    }
    return out;
  };
  const std::set<std::string> a = lines(before), b = lines(after);
  std::string out;
  int shown = 0;
  for (const auto& l : a) {
    if (!b.count(l) && shown++ < 5) out += "    - " + Shorten(l, 200) + "\n";
  }
  for (const auto& l : b) {
    if (!a.count(l) && shown++ < 10) out += "    + " + Shorten(l, 200) + "\n";
  }
  return out;
}

bool Serving(const TestStack& stack, const ServiceProcess& s) {
  auto stub = grpc::health::v1::Health::NewStub(stack.Channel(s.addr));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  return stub->Check(&ctx, req, &resp).ok() &&
         resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

// True if the process has exited (it is reaped then).
bool Exited(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

// ---- Probes: bytes no client library would send ----

grpc::Status RawCall(std::shared_ptr<grpc::Channel> channel, const std::string& method,
                     const std::string& bytes) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

// Ids unique to this run: the broker's topics keep the events of earlier runs, which every
// service reads again from the start.
std::string RunId() {
  return std::to_string(std::time(nullptr) % 1'000'000) + std::to_string(::getpid() % 1000);
}

// The end of each service's log, when something went wrong.
void PrintLogTails(const TestStack& stack) {
  for (const auto& [name, s] : stack.services()) {
    std::printf("---- last lines of %s\n", s.log.c_str());
    std::fflush(stdout);
    const std::string command = "tail -n 15 " + s.log;
    if (std::system(command.c_str()) != 0) std::printf("(no log)\n");
  }
  std::fflush(stdout);
}

// ---- The suite ----

class BadInput {
 public:
  explicit BadInput(TestStack* stack) : stack_(*stack), run_(RunId()) {}

  void SetUp();
  void AddCases();
  int Run();

 private:
  std::string Id(const std::string& base) { return base + "-" + run_; }
  std::string NextRequest() { return "bi-" + run_ + "-" + std::to_string(++requests_); }
  pb::InvoicingService::Stub* inv() { return &stack_.invoicing(); }
  pb::PurchasingService::Stub* pur() { return &stack_.purchasing(); }
  pb::ReceivingService::Stub* rcv() { return &stack_.receiving(); }
  pb::DebtorQueryService::Stub* dq() { return &stack_.debtor_query(); }
  // HoldStock and ReleaseHold are taken only from invoicing (access.h).
  pb::ReceivingService::Stub* relay() { return &stack_.receiving_from_invoicing(); }

  // Registers one case: `base` changed by `change`, sent with `method` of `stub`.
  template <typename Stub, typename Request, typename Response, typename Change>
  void Add(const std::string& service, const std::string& method_name,
           grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
           Stub* stub, Request request, Kind kind, std::string name, Change change, Expect expect) {
    change(request);
    cases_.push_back({service, method_name, kind, std::move(name),
                      Sender(stub, method, std::move(request)), std::move(expect)});
  }

  // Set-up helpers.
  pb::Invoice OpenInvoice(const std::string& branch, const std::string& debtor,
                          First<pb::CreateInvoiceRequest>* first = nullptr);
  pb::AddPartLineResponse AddPart(const std::string& invoice, const std::string& part,
                                  int64_t quantity, First<pb::AddPartLineRequest>* first = nullptr);
  pb::FinaliseInvoiceResponse Finalise(const std::string& invoice,
                                       First<pb::FinaliseInvoiceRequest>* first = nullptr);
  std::string BackOrder(const std::string& branch, const std::string& debtor,
                        const std::string& part, int64_t quantity);

  void InvoicingCases();
  void PurchasingCases();
  void ReceivingCases();
  void DebtorQueryCases();

  TestStack& stack_;
  const std::string run_;
  int requests_ = 0;
  std::vector<Case> cases_;

  // The valid state the cases are wrong about.
  std::string A_, B_, S1_, S2_, P1_, P2_, P3_, D1_, D2_, D3_;
  std::string I1_, DA_, DA2_, DB_, DC_, IX_;
  std::string BO1_, BO2_, BO3_, BO4_, BO5_, BO7_;
  std::string SOA1_, SOA2_, SOB1_, CI1_;
  std::string backorders_token_a_;
  // First answers, for the replays.
  First<pb::CreateDebtorRequest> create_d1_;
  First<pb::UpdateDebtorRequest> update_d3_;
  First<pb::UpsertPartRequest> upsert_p1_;
  First<pb::AdjustStockRequest> adjust_a_p2_;
  First<pb::HoldStockRequest> hold_da_;
  First<pb::ProcessCreditorInvoiceRequest> receive_ci1_;
  First<pb::CreateInvoiceRequest> create_i1_;
  First<pb::AddPartLineRequest> add_part_da_;
  First<pb::AdjustPartLineRequest> adjust_da_;
  First<pb::AddChargeLineRequest> charge_da_;
  First<pb::AddBackorderLinesRequest> tick_da2_;
  First<pb::FinaliseInvoiceRequest> finalise_i1_;
  First<pb::AbandonInvoiceRequest> abandon_ix_;
  First<pb::CancelBackorderRequest> cancel_bo4_;
  First<pb::CreateStockOrderRequest> create_soa2_;
  First<pb::AddBackorderLinesToOrderRequest> tick_soa2_;
  First<pb::FinaliseStockOrderRequest> finalise_soa2_;
  First<pb::AddStockLineRequest> stock_line_soa1_;
};

pb::Invoice BadInput::OpenInvoice(const std::string& branch, const std::string& debtor,
                                  First<pb::CreateInvoiceRequest>* first) {
  pb::CreateInvoiceRequest req;
  req.set_request_id(NextRequest());
  req.set_branch_id(branch);
  req.set_debtor_id(debtor);
  req.set_kind(pb::INVOICE_KIND_COUNTER);
  req.set_reference("RO " + branch);
  pb::Invoice resp;
  grpc::Status s;
  // The debtor reaches invoicing as an event a moment after it was created.
  Eventually([&] {
    s = inv()->CreateInvoice(Call().get(), req, &resp);
    return s.error_code() != Code::NOT_FOUND;
  });
  if (!s.ok()) throw std::runtime_error("set-up: CreateInvoice: " + s.error_message());
  if (first != nullptr) *first = {req, resp.SerializeAsString()};
  return resp;
}

pb::AddPartLineResponse BadInput::AddPart(const std::string& invoice, const std::string& part,
                                          int64_t quantity, First<pb::AddPartLineRequest>* first) {
  pb::AddPartLineRequest req;
  req.set_request_id(NextRequest());
  req.set_invoice_id(invoice);
  req.set_part_number(part);
  req.set_quantity_ordered(quantity);
  auto resp = Must(inv(), &pb::InvoicingService::Stub::AddPartLine, req, "AddPartLine");
  if (first != nullptr) *first = {req, resp.SerializeAsString()};
  return resp;
}

pb::FinaliseInvoiceResponse BadInput::Finalise(const std::string& invoice,
                                               First<pb::FinaliseInvoiceRequest>* first) {
  pb::FinaliseInvoiceRequest req;
  req.set_request_id(NextRequest());
  req.set_invoice_id(invoice);
  auto resp = Must(inv(), &pb::InvoicingService::Stub::FinaliseInvoice, req, "FinaliseInvoice");
  if (first != nullptr) *first = {req, resp.SerializeAsString()};
  return resp;
}

std::string BadInput::BackOrder(const std::string& branch, const std::string& debtor,
                                const std::string& part, int64_t quantity) {
  const pb::Invoice invoice = OpenInvoice(branch, debtor);
  AddPart(invoice.invoice_id(), part, quantity);
  const auto done = Finalise(invoice.invoice_id());
  if (done.created_size() != 1) throw std::runtime_error("set-up: no back order created");
  return done.created(0).context().backorder_id();
}

// Two branches, two suppliers, three parts, three debtors (D3 without back orders), back orders
// in every state (open, partly filled and on a draft, on order, invoiced, cancelled), drafts,
// a finalised and an abandoned invoice, stock orders draft and placed, a processed creditor
// invoice.
void BadInput::SetUp() {
  A_ = Id("BA"), B_ = Id("BB"), S1_ = Id("S1"), S2_ = Id("S2");
  P1_ = Id("P1"), P2_ = Id("P2"), P3_ = Id("P3");
  D1_ = Id("D1"), D2_ = Id("D2"), D3_ = Id("D3");

  // Debtors.
  for (const auto& [id, uses] : {std::pair{D1_, true}, {D2_, true}, {D3_, false}}) {
    pb::CreateDebtorRequest req;
    req.set_request_id(NextRequest());
    auto* d = req.mutable_debtor();
    d->set_debtor_id(id);
    d->set_name("Debtor " + id);
    d->set_contact_name("Sam");
    d->set_phone("03 9555 0101");
    d->set_email("sam@example.com");
    d->set_use_backorders(uses);
    auto resp = Must(dq(), &pb::DebtorQueryService::Stub::CreateDebtor, req, "CreateDebtor");
    if (id == D1_) create_d1_ = {req, resp.SerializeAsString()};
  }
  {
    pb::UpdateDebtorRequest req;
    req.set_request_id(NextRequest());
    auto* d = req.mutable_debtor();
    d->set_debtor_id(D3_);
    d->set_name("Debtor " + D3_);
    d->set_phone("03 9555 0202");
    d->set_use_backorders(false);
    auto resp = Must(dq(), &pb::DebtorQueryService::Stub::UpdateDebtor, req, "UpdateDebtor");
    update_d3_ = {req, resp.SerializeAsString()};
  }

  // Parts and stock: A has 2 x P1 and 5 x P2, B has 1 x P1; nobody has P3.
  for (const auto& [part, supplier, cents] :
       {std::tuple{P1_, S1_, 1000}, {P2_, S2_, 500}, {P3_, S1_, 200}}) {
    pb::UpsertPartRequest req;
    req.set_request_id(NextRequest());
    auto* p = req.mutable_part();
    p->set_part_number(part);
    p->set_description("Part " + part);
    p->set_supplier_id(supplier);
    p->mutable_unit_price()->set_currency("AUD");
    p->mutable_unit_price()->set_minor_units(cents);
    auto resp = Must(rcv(), &pb::ReceivingService::Stub::UpsertPart, req, "UpsertPart");
    if (part == P1_) upsert_p1_ = {req, resp.SerializeAsString()};
  }
  for (const auto& [branch, part, delta] : {std::tuple{A_, P1_, 2}, {B_, P1_, 1}, {A_, P2_, 5}}) {
    pb::AdjustStockRequest req;
    req.set_request_id(NextRequest());
    req.set_branch_id(branch);
    req.set_part_number(part);
    req.set_delta(delta);
    req.set_reason("opening stock");
    auto resp = Must(rcv(), &pb::ReceivingService::Stub::AdjustStock, req, "AdjustStock");
    if (branch == A_ && part == P2_) adjust_a_p2_ = {req, resp.SerializeAsString()};
  }

  // I1 at A for D1: 5 x P1, 2 supplied, 3 back-ordered (BO1); finalised.
  const pb::Invoice i1 = OpenInvoice(A_, D1_, &create_i1_);
  I1_ = i1.invoice_id();
  AddPart(I1_, P1_, 5);
  BO1_ = Finalise(I1_, &finalise_i1_).created(0).context().backorder_id();
  BO2_ = BackOrder(A_, D2_, P1_, 2);  // younger, waits behind BO1
  BO4_ = BackOrder(A_, D1_, P3_, 1);  // to be cancelled
  BO5_ = BackOrder(A_, D1_, P3_, 2);  // stays open, nothing ready
  BO7_ = BackOrder(B_, D2_, P3_, 1);  // open at B
  BO3_ = BackOrder(B_, D1_, P1_, 3);  // 1 supplied at B, 2 back-ordered; to be invoiced

  // Receiving registers the back orders (events), then stock arrives at both branches.
  auto waiting_at = [&](const std::string& branch, std::set<std::string> ids) {
    return Eventually([&] {
      pb::GetStockRequest req;
      req.set_branch_id(branch);
      req.set_part_number(P1_);
      pb::StockPosition position;
      if (!rcv()->GetStock(Call().get(), req, &position).ok()) return false;
      for (const auto& b : position.backorders()) ids.erase(b.context().backorder_id());
      return ids.empty();
    });
  };
  Require(waiting_at(A_, {BO1_, BO2_}), "receiving knows BO1 and BO2");
  Require(waiting_at(B_, {BO3_}), "receiving knows BO3");
  for (const auto& [branch, ci] : {std::pair{A_, Id("CI-A")}, {B_, Id("CI-B")}}) {
    pb::ProcessCreditorInvoiceRequest req;
    req.set_request_id(NextRequest());
    req.set_branch_id(branch);
    req.set_creditor_invoice_id(ci);
    req.set_supplier_id(S1_);
    auto* line = req.add_lines();
    line->set_part_number(P1_);
    line->set_quantity(2);  // A: BO1 gets 2 of its 3 (oldest first); B: BO3 filled
    line->mutable_unit_cost()->set_currency("AUD");
    line->mutable_unit_cost()->set_minor_units(600);
    auto resp = Must(rcv(), &pb::ReceivingService::Stub::ProcessCreditorInvoice, req,
                     "ProcessCreditorInvoice");
    if (branch == A_) receive_ci1_ = {req, resp.SerializeAsString()}, CI1_ = ci;
  }

  // BO4 cancelled.
  {
    pb::CancelBackorderRequest req;
    req.set_request_id(NextRequest());
    req.set_backorder_id(BO4_);
    req.set_reason("customer bought elsewhere");
    auto resp = Must(inv(), &pb::InvoicingService::Stub::CancelBackorder, req, "CancelBackorder");
    cancel_bo4_ = {req, resp.SerializeAsString()};
  }

  // Invoicing learns that BO1 (A) and BO3 (B) are ready.
  auto ready = [&](const std::string& branch, const std::string& id) {
    return Eventually([&] {
      pb::ListReadyBackordersRequest req;
      req.set_debtor_id(D1_);
      req.set_branch_id(branch);
      pb::ListReadyBackordersResponse resp;
      if (!inv()->ListReadyBackorders(Call().get(), req, &resp).ok()) return false;
      for (const auto& b : resp.backorders()) {
        if (b.context().backorder_id() == id) return true;
      }
      return false;
    });
  };
  Require(ready(A_, BO1_), "invoicing sees BO1 ready");
  Require(ready(B_, BO3_), "invoicing sees BO3 ready");

  // DA2 at A for D1 holds BO1 (ticked, not finalised).
  DA2_ = OpenInvoice(A_, D1_).invoice_id();
  {
    pb::AddBackorderLinesRequest req;
    req.set_request_id(NextRequest());
    req.set_invoice_id(DA2_);
    req.add_backorder_ids(BO1_);
    auto resp =
        Must(inv(), &pb::InvoicingService::Stub::AddBackorderLines, req, "AddBackorderLines");
    tick_da2_ = {req, resp.SerializeAsString()};
  }
  // BO3 invoiced at B.
  {
    const std::string db2 = OpenInvoice(B_, D1_).invoice_id();
    pb::AddBackorderLinesRequest req;
    req.set_request_id(NextRequest());
    req.set_invoice_id(db2);
    req.add_backorder_ids(BO3_);
    Must(inv(), &pb::InvoicingService::Stub::AddBackorderLines, req, "AddBackorderLines");
    Finalise(db2);
  }

  // DA: a draft at A for D1 with a part line (1 x P2 held) and a charge line.
  DA_ = OpenInvoice(A_, D1_).invoice_id();
  AddPart(DA_, P2_, 1, &add_part_da_);
  {
    pb::AdjustPartLineRequest req;
    req.set_request_id(NextRequest());
    req.set_invoice_id(DA_);
    req.set_line(1);
    req.set_quantity_supplied(1);
    auto resp = Must(inv(), &pb::InvoicingService::Stub::AdjustPartLine, req, "AdjustPartLine");
    adjust_da_ = {req, resp.SerializeAsString()};
  }
  {
    pb::AddChargeLineRequest req;
    req.set_request_id(NextRequest());
    req.set_invoice_id(DA_);
    req.set_description("Labour");
    req.mutable_amount()->set_currency("AUD");
    req.mutable_amount()->set_minor_units(5000);
    auto resp = Must(inv(), &pb::InvoicingService::Stub::AddChargeLine, req, "AddChargeLine");
    charge_da_ = {req, resp.SerializeAsString()};
  }
  // The hold invoicing asked receiving for on DA's line 1, as receiving answered it (asking
  // again with the same request id and payload is a retry: the first answer, nothing changes).
  {
    pb::HoldStockRequest req;
    req.set_request_id("AddPartLine:" + add_part_da_.request.request_id());
    req.set_branch_id(A_);
    req.set_part_number(P2_);
    req.set_invoice_id(DA_);
    req.set_invoice_line(1);
    req.set_quantity(1);
    auto resp = Must(relay(), &pb::ReceivingService::Stub::HoldStock, req, "HoldStock (retry)");
    hold_da_ = {req, resp.SerializeAsString()};
  }
  DB_ = OpenInvoice(B_, D1_).invoice_id();  // an empty draft
  DC_ = OpenInvoice(A_, D3_).invoice_id();  // D3 does not use back orders
  AddPart(DC_, P2_, 1);
  {
    IX_ = OpenInvoice(A_, D1_).invoice_id();
    pb::AbandonInvoiceRequest req;
    req.set_request_id(NextRequest());
    req.set_invoice_id(IX_);
    auto resp = Must(inv(), &pb::InvoicingService::Stub::AbandonInvoice, req, "AbandonInvoice");
    abandon_ix_ = {req, resp.SerializeAsString()};
  }

  // Purchasing: it learns the back orders from the events.
  auto purchasing_sees = [&](const std::string& id, pb::BackorderState state) {
    return Eventually([&] {
      pb::GetPurchasingBackorderRequest req;
      req.set_backorder_id(id);
      pb::Backorder b;
      return pur()->GetBackorder(Call().get(), req, &b).ok() && b.has_created_at() &&
             b.state() == state;
    });
  };
  Require(purchasing_sees(BO1_, pb::BACKORDER_STATE_PARTLY_FILLED), "purchasing sees BO1");
  Require(purchasing_sees(BO2_, pb::BACKORDER_STATE_OPEN), "purchasing sees BO2");
  Require(purchasing_sees(BO3_, pb::BACKORDER_STATE_INVOICED), "purchasing sees BO3 invoiced");
  Require(purchasing_sees(BO4_, pb::BACKORDER_STATE_CANCELLED), "purchasing sees BO4 cancelled");
  Require(purchasing_sees(BO5_, pb::BACKORDER_STATE_OPEN), "purchasing sees BO5");
  Require(purchasing_sees(BO7_, pb::BACKORDER_STATE_OPEN), "purchasing sees BO7");
  auto create_order = [&](const std::string& branch, First<pb::CreateStockOrderRequest>* first) {
    pb::CreateStockOrderRequest req;
    req.set_request_id(NextRequest());
    req.set_branch_id(branch);
    req.set_supplier_id(S1_);
    req.set_reference("weekly order");
    auto resp =
        Must(pur(), &pb::PurchasingService::Stub::CreateStockOrder, req, "CreateStockOrder");
    if (first != nullptr) *first = {req, resp.SerializeAsString()};
    return resp.stock_order_id();
  };
  // SO-A2: BO2 ticked, placed (BO2 on order).
  SOA2_ = create_order(A_, &create_soa2_);
  {
    pb::AddBackorderLinesToOrderRequest req;
    req.set_request_id(NextRequest());
    req.set_stock_order_id(SOA2_);
    req.add_backorder_ids(BO2_);
    auto resp =
        Must(pur(), &pb::PurchasingService::Stub::AddBackorderLines, req, "AddBackorderLines");
    tick_soa2_ = {req, resp.SerializeAsString()};
    pb::FinaliseStockOrderRequest fin;
    fin.set_request_id(NextRequest());
    fin.set_stock_order_id(SOA2_);
    auto placed =
        Must(pur(), &pb::PurchasingService::Stub::FinaliseStockOrder, fin, "FinaliseStockOrder");
    finalise_soa2_ = {fin, placed.SerializeAsString()};
  }
  // SO-A1: a draft at A with BO5 ticked and 1 x P1 for the shelf.
  SOA1_ = create_order(A_, nullptr);
  {
    pb::AddBackorderLinesToOrderRequest req;
    req.set_request_id(NextRequest());
    req.set_stock_order_id(SOA1_);
    req.add_backorder_ids(BO5_);
    Must(pur(), &pb::PurchasingService::Stub::AddBackorderLines, req, "AddBackorderLines");
    pb::AddStockLineRequest line;
    line.set_request_id(NextRequest());
    line.set_stock_order_id(SOA1_);
    line.set_part_number(P1_);
    line.set_quantity(1);
    auto resp = Must(pur(), &pb::PurchasingService::Stub::AddStockLine, line, "AddStockLine");
    stock_line_soa1_ = {line, resp.SerializeAsString()};
  }
  SOB1_ = create_order(B_, nullptr);  // an empty draft at B

  // Debtor-query: a real page token of branch A's back-order list.
  Require(Eventually([&] {
            pb::ListBackordersRequest req;
            req.set_branch_id(A_);
            req.set_page_size(1);
            pb::ListBackordersResponse resp;
            if (!dq()->ListBackorders(Call().get(), req, &resp).ok() || resp.total_size() < 4) {
              return false;
            }
            backorders_token_a_ = resp.next_page_token();
            return !backorders_token_a_.empty();
          }),
          "debtor-query lists branch A's back orders");
}

// ---- The cases, service by service ----

#define INV_RPC(M) "backorder.v1.InvoicingService", #M, &pb::InvoicingService::Stub::M, inv()
#define PUR_RPC(M) "backorder.v1.PurchasingService", #M, &pb::PurchasingService::Stub::M, pur()
#define RCV_RPC(M) "backorder.v1.ReceivingService", #M, &pb::ReceivingService::Stub::M, rcv()
#define RELAY_RPC(M) "backorder.v1.ReceivingService", #M, &pb::ReceivingService::Stub::M, relay()
#define DQ_RPC(M) "backorder.v1.DebtorQueryService", #M, &pb::DebtorQueryService::Stub::M, dq()

// Values used across the table.
const std::string& MiB() {
  static const std::string s(kMiB, 'x');
  return s;
}
std::string Long(size_t n) { return std::string(n, 'a'); }
std::vector<std::string> Ids(int n, const std::string& prefix) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(prefix + std::to_string(i));
  return ids;
}
// A page token of a list other than the one it is used with.
std::string ForeignToken(const std::string& key) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

void BadInput::InvoicingCases() {
  using K = Kind;
  // CreateInvoice.
  pb::CreateInvoiceRequest create;
  create.set_branch_id(A_);
  create.set_debtor_id(D1_);
  create.set_kind(pb::INVOICE_KIND_WORKSHOP);
  create.set_reference("RO 4711");
  auto add_create = [&](Kind k, std::string name, auto change, Expect e) {
    pb::CreateInvoiceRequest r = create;
    r.set_request_id(NextRequest());
    Add(INV_RPC(CreateInvoice), r, k, std::move(name), change, std::move(e));
  };
  add_create(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_create(
      K::kMalformed, "request id with a space", [](auto& r) { r.set_request_id("a b"); },
      Field("request_id"));
  add_create(
      K::kOversized, "request id of 129 characters", [](auto& r) { r.set_request_id(Long(129)); },
      Field("request_id"));
  add_create(
      K::kMissing, "no branch", [](auto& r) { r.clear_branch_id(); }, Field("branch_id"));
  add_create(
      K::kMalformed, "branch with a space", [](auto& r) { r.set_branch_id("B A"); },
      Field("branch_id"));
  add_create(
      K::kOversized, "branch of 1 MiB", [](auto& r) { r.set_branch_id(MiB()); },
      Field("branch_id"));
  add_create(
      K::kOutOfRange, "branch too long to name its invoices (51 characters)",
      [](auto& r) { r.set_branch_id(Long(51)); }, Field("branch_id"));
  add_create(
      K::kMissing, "no debtor", [](auto& r) { r.clear_debtor_id(); }, Field("debtor_id"));
  add_create(
      K::kMalformed, "debtor with a slash", [](auto& r) { r.set_debtor_id("D/1"); },
      Field("debtor_id"));
  add_create(
      K::kMissing, "no kind", [](auto& r) { r.clear_kind(); }, Field("kind"));
  add_create(
      K::kOutOfRange, "kind 99", [](auto& r) { r.set_kind(static_cast<pb::InvoiceKind>(99)); },
      Field("kind"));
  add_create(
      K::kOversized, "reference of 1 MiB", [](auto& r) { r.set_reference(MiB()); },
      Field("reference"));
  add_create(
      K::kMalformed, "reference with a control character",
      [](auto& r) {
        r.set_reference(
            "RO\x01"
            "1");
      },
      Field("reference"));
  add_create(
      K::kUnknownId, "unknown debtor", [this](auto& r) { r.set_debtor_id(Id("NOBODY")); },
      NotFound(Id("NOBODY")));
  Add(
      INV_RPC(CreateInvoice), create_i1_.request, K::kReplay,
      "replayed request id, other branch and debtor",
      [this](auto& r) {
        r.set_branch_id(B_);
        r.set_debtor_id(D2_);
      },
      FirstAnswer(create_i1_.answer));

  // GetInvoice.
  auto add_get = [&](Kind k, std::string name, std::string id, Expect e) {
    pb::GetInvoiceRequest r;
    r.set_invoice_id(std::move(id));
    Add(
        INV_RPC(GetInvoice), r, k, std::move(name), [](auto&) {}, std::move(e));
  };
  add_get(K::kMissing, "no id", "", Field("invoice_id"));
  add_get(K::kMalformed, "id with a space", "INV 1", Field("invoice_id"));
  add_get(K::kMalformed, "id with a slash", I1_ + "/1", Field("invoice_id"));
  add_get(K::kOversized, "id of 1 MiB", MiB(), Field("invoice_id"));
  add_get(K::kUnknownId, "unknown invoice", "INV-" + A_ + "-999999",
          NotFound("INV-" + A_ + "-999999"));

  // ListInvoices.
  auto add_list = [&](Kind k, std::string name, auto change, Expect e) {
    Add(INV_RPC(ListInvoices), pb::ListInvoicesRequest(), k, std::move(name), change, std::move(e));
  };
  add_list(
      K::kMalformed, "branch with a space", [](auto& r) { r.set_branch_id("B 1"); },
      Field("branch_id"));
  add_list(
      K::kMalformed, "debtor with a star", [](auto& r) { r.set_debtor_id("D*"); },
      Field("debtor_id"));
  add_list(
      K::kOutOfRange, "status 42",
      [](auto& r) { r.set_status(static_cast<pb::InvoiceStatus>(42)); }, Field("status"));
  add_list(
      K::kOutOfRange, "negative page size", [](auto& r) { r.set_page_size(-1); },
      Field("page_size"));
  add_list(
      K::kOutOfRange, "page size 1001", [](auto& r) { r.set_page_size(1001); }, Field("page_size"));
  add_list(
      K::kMalformed, "page token not hex", [](auto& r) { r.set_page_token("xyz!"); },
      Field("page_token"));
  add_list(
      K::kMalformed, "page token of another list",
      [](auto& r) { r.set_page_token(ForeignToken("part/P1")); }, Field("page_token"));
  add_list(
      K::kOversized, "page token of 1 MiB", [](auto& r) { r.set_page_token(MiB()); },
      Field("page_token"));

  // AddPartLine: DA is a draft at A for D1 in AUD.
  pb::AddPartLineRequest part;
  part.set_invoice_id(DA_);
  part.set_part_number(P2_);
  part.set_quantity_ordered(1);
  auto add_part = [&](Kind k, std::string name, auto change, Expect e) {
    pb::AddPartLineRequest r = part;
    r.set_request_id(NextRequest());
    Add(INV_RPC(AddPartLine), r, k, std::move(name), change, std::move(e));
  };
  add_part(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_part(
      K::kMissing, "no invoice", [](auto& r) { r.clear_invoice_id(); }, Field("invoice_id"));
  add_part(
      K::kMissing, "no part", [](auto& r) { r.clear_part_number(); }, Field("part_number"));
  add_part(
      K::kMalformed, "part with a space", [](auto& r) { r.set_part_number("P 1"); },
      Field("part_number"));
  add_part(
      K::kOversized, "part of 1 MiB", [](auto& r) { r.set_part_number(MiB()); },
      Field("part_number"));
  add_part(
      K::kMissing, "quantity 0", [](auto& r) { r.set_quantity_ordered(0); },
      Field("quantity_ordered"));
  add_part(
      K::kOutOfRange, "quantity -1", [](auto& r) { r.set_quantity_ordered(-1); },
      Field("quantity_ordered"));
  add_part(
      K::kOutOfRange, "quantity 10^9 + 1", [](auto& r) { r.set_quantity_ordered(kMax + 1); },
      Field("quantity_ordered"));
  add_part(
      K::kOutOfRange, "quantity INT64_MAX",
      [](auto& r) { r.set_quantity_ordered(std::numeric_limits<int64_t>::max()); },
      Field("quantity_ordered"));
  add_part(
      K::kMalformed, "price currency in lower case",
      [](auto& r) {
        r.mutable_unit_price()->set_currency("aud");
        r.mutable_unit_price()->set_minor_units(100);
      },
      Field("unit_price.currency"));
  add_part(
      K::kOversized, "price currency of 1 MiB",
      [](auto& r) {
        r.mutable_unit_price()->set_currency(MiB());
        r.mutable_unit_price()->set_minor_units(100);
      },
      Field("unit_price.currency"));
  add_part(
      K::kOutOfRange, "negative price",
      [](auto& r) {
        r.mutable_unit_price()->set_currency("AUD");
        r.mutable_unit_price()->set_minor_units(-5);
      },
      Field("unit_price.minor_units"));
  add_part(
      K::kOutOfRange, "price over 10^12",
      [](auto& r) {
        r.mutable_unit_price()->set_currency("AUD");
        r.mutable_unit_price()->set_minor_units(1'000'000'000'001);
      },
      Field("unit_price.minor_units"));
  add_part(
      K::kWrongState, "price in NZD on an invoice in AUD",
      [](auto& r) {
        r.mutable_unit_price()->set_currency("NZD");
        r.mutable_unit_price()->set_minor_units(100);
      },
      Field("unit_price.currency"));
  add_part(
      K::kUnknownId, "unknown invoice",
      [this](auto& r) { r.set_invoice_id("INV-" + A_ + "-999999"); },
      NotFound("INV-" + A_ + "-999999"));
  add_part(
      K::kUnknownId, "unknown part", [this](auto& r) { r.set_part_number(Id("NO-PART")); },
      NotFound(Id("NO-PART")));
  add_part(
      K::kWrongState, "finalised invoice", [this](auto& r) { r.set_invoice_id(I1_); },
      Precondition(I1_));
  add_part(
      K::kWrongState, "abandoned invoice", [this](auto& r) { r.set_invoice_id(IX_); },
      Precondition(IX_));
  Add(
      INV_RPC(AddPartLine), add_part_da_.request, K::kReplay,
      "replayed request id, other part and quantity",
      [this](auto& r) {
        r.set_part_number(P1_);
        r.set_quantity_ordered(7);
      },
      FirstAnswer(add_part_da_.answer));

  // AdjustPartLine: DA line 1 is 1 x P2 (1 available), line 2 a charge.
  pb::AdjustPartLineRequest adjust;
  adjust.set_invoice_id(DA_);
  adjust.set_line(1);
  adjust.set_quantity_supplied(1);
  auto add_adjust = [&](Kind k, std::string name, auto change, Expect e) {
    pb::AdjustPartLineRequest r = adjust;
    r.set_request_id(NextRequest());
    Add(INV_RPC(AdjustPartLine), r, k, std::move(name), change, std::move(e));
  };
  add_adjust(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_adjust(
      K::kMissing, "no invoice", [](auto& r) { r.clear_invoice_id(); }, Field("invoice_id"));
  add_adjust(
      K::kMissing, "line 0", [](auto& r) { r.set_line(0); }, Field("line"));
  add_adjust(
      K::kOutOfRange, "line -3", [](auto& r) { r.set_line(-3); }, Field("line"));
  add_adjust(
      K::kOutOfRange, "supplied -1", [](auto& r) { r.set_quantity_supplied(-1); },
      Field("quantity_supplied"));
  add_adjust(
      K::kOutOfRange, "supplied 10^9 + 1", [](auto& r) { r.set_quantity_supplied(kMax + 1); },
      Field("quantity_supplied"));
  add_adjust(
      K::kOutOfRange, "back order -1", [](auto& r) { r.set_quantity_back_ordered(-1); },
      Field("quantity_back_ordered"));
  add_adjust(
      K::kOutOfRange, "back order INT64_MAX",
      [](auto& r) { r.set_quantity_back_ordered(std::numeric_limits<int64_t>::max()); },
      Field("quantity_back_ordered"));
  add_adjust(
      K::kUnknownId, "unknown invoice",
      [this](auto& r) { r.set_invoice_id("INV-" + A_ + "-999999"); },
      NotFound("INV-" + A_ + "-999999"));
  add_adjust(
      K::kUnknownId, "no line 99", [](auto& r) { r.set_line(99); }, NotFound("line 99"));
  add_adjust(
      K::kWrongState, "a charge line", [](auto& r) { r.set_line(2); }, Precondition("line 2"));
  add_adjust(
      K::kOutOfRange, "supplied more than available", [](auto& r) { r.set_quantity_supplied(2); },
      Precondition("quantity_supplied"));
  add_adjust(
      K::kOutOfRange, "supplied + back order more than ordered",
      [](auto& r) { r.set_quantity_back_ordered(5); }, Precondition("ordered"));
  add_adjust(
      K::kWrongState, "back order for a debtor without back orders",
      [this](auto& r) {
        r.set_invoice_id(DC_);
        r.set_quantity_supplied(0);
        r.set_quantity_back_ordered(1);
      },
      Precondition(D3_));
  add_adjust(
      K::kWrongState, "finalised invoice", [this](auto& r) { r.set_invoice_id(I1_); },
      Precondition(I1_));
  Add(
      INV_RPC(AdjustPartLine), adjust_da_.request, K::kReplay, "replayed request id, other figures",
      [](auto& r) {
        r.set_quantity_supplied(0);
        r.set_quantity_back_ordered(1);
      },
      FirstAnswer(adjust_da_.answer));

  // AddChargeLine.
  pb::AddChargeLineRequest charge;
  charge.set_invoice_id(DA_);
  charge.set_description("Sundries");
  charge.mutable_amount()->set_currency("AUD");
  charge.mutable_amount()->set_minor_units(1500);
  auto add_charge = [&](Kind k, std::string name, auto change, Expect e) {
    pb::AddChargeLineRequest r = charge;
    r.set_request_id(NextRequest());
    Add(INV_RPC(AddChargeLine), r, k, std::move(name), change, std::move(e));
  };
  add_charge(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_charge(
      K::kMissing, "no invoice", [](auto& r) { r.clear_invoice_id(); }, Field("invoice_id"));
  add_charge(
      K::kMissing, "no description", [](auto& r) { r.clear_description(); }, Field("description"));
  add_charge(
      K::kMissing, "blank description", [](auto& r) { r.set_description(" \t "); },
      Field("description"));
  add_charge(
      K::kOversized, "description of 1 MiB", [](auto& r) { r.set_description(MiB()); },
      Field("description"));
  add_charge(
      K::kMalformed, "description with a control character",
      [](auto& r) { r.set_description("oil\x07"); }, Field("description"));
  add_charge(
      K::kMissing, "no amount", [](auto& r) { r.clear_amount(); }, Field("amount"));
  add_charge(
      K::kMalformed, "amount currency of 2 letters",
      [](auto& r) { r.mutable_amount()->set_currency("AU"); }, Field("amount.currency"));
  add_charge(
      K::kOutOfRange, "negative amount", [](auto& r) { r.mutable_amount()->set_minor_units(-1); },
      Field("amount.minor_units"));
  add_charge(
      K::kOutOfRange, "amount over 10^12",
      [](auto& r) { r.mutable_amount()->set_minor_units(1'000'000'000'001); },
      Field("amount.minor_units"));
  add_charge(
      K::kOversized, "amount currency of 1 MiB",
      [](auto& r) { r.mutable_amount()->set_currency(MiB()); }, Field("amount.currency"));
  add_charge(
      K::kWrongState, "amount in NZD on an invoice in AUD",
      [](auto& r) { r.mutable_amount()->set_currency("NZD"); }, Field("amount.currency"));
  add_charge(
      K::kUnknownId, "unknown invoice",
      [this](auto& r) { r.set_invoice_id("INV-" + B_ + "-999999"); },
      NotFound("INV-" + B_ + "-999999"));
  add_charge(
      K::kWrongState, "finalised invoice", [this](auto& r) { r.set_invoice_id(I1_); },
      Precondition(I1_));
  add_charge(
      K::kWrongState, "abandoned invoice", [this](auto& r) { r.set_invoice_id(IX_); },
      Precondition(IX_));
  Add(
      INV_RPC(AddChargeLine), charge_da_.request, K::kReplay,
      "replayed request id, other description and amount",
      [](auto& r) {
        r.set_description("Freight");
        r.mutable_amount()->set_minor_units(99);
      },
      FirstAnswer(charge_da_.answer));

  // ListReadyBackorders.
  auto add_ready = [&](Kind k, std::string name, auto change, Expect e) {
    pb::ListReadyBackordersRequest r;
    r.set_debtor_id(D1_);
    Add(INV_RPC(ListReadyBackorders), r, k, std::move(name), change, std::move(e));
  };
  add_ready(
      K::kMissing, "no debtor", [](auto& r) { r.clear_debtor_id(); }, Field("debtor_id"));
  add_ready(
      K::kMalformed, "debtor with a space", [](auto& r) { r.set_debtor_id("D 1"); },
      Field("debtor_id"));
  add_ready(
      K::kOversized, "debtor of 65 characters", [](auto& r) { r.set_debtor_id(Long(65)); },
      Field("debtor_id"));
  add_ready(
      K::kMalformed, "branch with a slash", [](auto& r) { r.set_branch_id("A/B"); },
      Field("branch_id"));

  // AddBackorderLines (invoicing): onto DA (A, D1).
  auto add_tick = [&](Kind k, std::string name, auto change, Expect e) {
    pb::AddBackorderLinesRequest r;
    r.set_request_id(NextRequest());
    r.set_invoice_id(DA_);
    r.add_backorder_ids(BO1_);
    Add(INV_RPC(AddBackorderLines), r, k, std::move(name), change, std::move(e));
  };
  add_tick(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_tick(
      K::kMissing, "no invoice", [](auto& r) { r.clear_invoice_id(); }, Field("invoice_id"));
  add_tick(
      K::kMissing, "none ticked", [](auto& r) { r.clear_backorder_ids(); }, Field("backorder_ids"));
  add_tick(
      K::kOversized, "501 ticked",
      [](auto& r) {
        for (const auto& id : Ids(500, "BO-X-")) r.add_backorder_ids(id);
      },
      Field("backorder_ids"));
  add_tick(
      K::kOversized, "10,000 ticked",
      [](auto& r) {
        for (const auto& id : Ids(10'000, "BO-X-")) r.add_backorder_ids(id);
      },
      Field("backorder_ids"));
  add_tick(
      K::kMalformed, "second id with a space", [](auto& r) { r.add_backorder_ids("BO 2"); },
      Field("backorder_ids[1]"));
  add_tick(
      K::kMalformed, "ticked twice", [this](auto& r) { r.add_backorder_ids(BO1_); },
      Field("backorder_ids[1]"));
  add_tick(
      K::kUnknownId, "unknown back order",
      [this](auto& r) { r.set_backorder_ids(0, Id("BO-NONE-1")); }, NotFound("backorder_ids[0]"));
  add_tick(
      K::kUnknownId, "unknown invoice",
      [this](auto& r) { r.set_invoice_id("INV-" + A_ + "-999999"); },
      NotFound("INV-" + A_ + "-999999"));
  add_tick(
      K::kWrongBranch, "a back order of another debtor",
      [this](auto& r) { r.set_backorder_ids(0, BO2_); }, Precondition("belongs to debtor"));
  add_tick(
      K::kWrongBranch, "a back order of another branch",
      [this](auto& r) { r.set_backorder_ids(0, BO3_); }, Precondition("branch " + B_));
  add_tick(
      K::kWrongState, "a back order on another draft", [](auto&) {},
      Precondition("already on draft invoice " + DA2_));
  add_tick(
      K::kWrongState, "a back order already on this invoice",
      [this](auto& r) { r.set_invoice_id(DA2_); }, Precondition("already on this invoice"));
  add_tick(
      K::kWrongState, "a back order with nothing ready",
      [this](auto& r) { r.set_backorder_ids(0, BO5_); }, Precondition("nothing ready"));
  add_tick(
      K::kWrongState, "a cancelled back order", [this](auto& r) { r.set_backorder_ids(0, BO4_); },
      Precondition("CANCELLED"));
  add_tick(
      K::kWrongState, "onto a finalised invoice", [this](auto& r) { r.set_invoice_id(I1_); },
      Precondition(I1_));
  Add(
      INV_RPC(AddBackorderLines), tick_da2_.request, K::kReplay,
      "replayed request id, other back order and invoice",
      [this](auto& r) {
        r.set_invoice_id(DA_);
        r.set_backorder_ids(0, BO5_);
      },
      FirstAnswer(tick_da2_.answer));

  // FinaliseInvoice.
  auto add_finalise = [&](Kind k, std::string name, std::string invoice, Expect e) {
    pb::FinaliseInvoiceRequest r;
    r.set_request_id(NextRequest());
    r.set_invoice_id(std::move(invoice));
    Add(
        INV_RPC(FinaliseInvoice), r, k, std::move(name), [](auto&) {}, std::move(e));
  };
  {
    pb::FinaliseInvoiceRequest r;
    r.set_invoice_id(DA_);
    Add(
        INV_RPC(FinaliseInvoice), r, K::kMissing, "no request id", [](auto&) {},
        Field("request_id"));
  }
  add_finalise(K::kMissing, "no invoice", "", Field("invoice_id"));
  add_finalise(K::kMalformed, "invoice with a quote", "INV\"1", Field("invoice_id"));
  add_finalise(K::kUnknownId, "unknown invoice", "INV-" + A_ + "-999998",
               NotFound("INV-" + A_ + "-999998"));
  add_finalise(K::kWrongState, "already finalised", I1_, Precondition(I1_));
  add_finalise(K::kWrongState, "abandoned", IX_, Precondition(IX_));
  add_finalise(K::kWrongState, "a draft without lines", DB_, Precondition("no lines"));
  Add(
      INV_RPC(FinaliseInvoice), finalise_i1_.request, K::kReplay,
      "replayed request id of I1 for the draft DA", [this](auto& r) { r.set_invoice_id(DA_); },
      FirstAnswer(finalise_i1_.answer));

  // AbandonInvoice.
  auto add_abandon = [&](Kind k, std::string name, std::string invoice, Expect e) {
    pb::AbandonInvoiceRequest r;
    r.set_request_id(NextRequest());
    r.set_invoice_id(std::move(invoice));
    Add(
        INV_RPC(AbandonInvoice), r, k, std::move(name), [](auto&) {}, std::move(e));
  };
  {
    pb::AbandonInvoiceRequest r;
    r.set_invoice_id(DA_);
    Add(
        INV_RPC(AbandonInvoice), r, K::kMissing, "no request id", [](auto&) {},
        Field("request_id"));
  }
  add_abandon(K::kMissing, "no invoice", "", Field("invoice_id"));
  add_abandon(K::kOversized, "invoice of 1 MiB", MiB(), Field("invoice_id"));
  add_abandon(K::kUnknownId, "unknown invoice", "INV-" + B_ + "-999999",
              NotFound("INV-" + B_ + "-999999"));
  add_abandon(K::kWrongState, "finalised invoice", I1_, Precondition(I1_));
  add_abandon(K::kWrongState, "already abandoned", IX_, Precondition(IX_));
  Add(
      INV_RPC(AbandonInvoice), abandon_ix_.request, K::kReplay,
      "replayed request id of IX for the draft DA", [this](auto& r) { r.set_invoice_id(DA_); },
      FirstAnswer(abandon_ix_.answer));

  // GetBackorder (invoicing).
  auto add_get_bo = [&](Kind k, std::string name, std::string id, Expect e) {
    pb::GetBackorderRequest r;
    r.set_backorder_id(std::move(id));
    Add(
        INV_RPC(GetBackorder), r, k, std::move(name), [](auto&) {}, std::move(e));
  };
  add_get_bo(K::kMissing, "no id", "", Field("backorder_id"));
  add_get_bo(K::kMalformed, "id with a space", "BO 1", Field("backorder_id"));
  add_get_bo(K::kOversized, "id of 65 characters", Long(65), Field("backorder_id"));
  add_get_bo(K::kUnknownId, "unknown back order", Id("BO-NONE-1"), NotFound(Id("BO-NONE-1")));

  // CancelBackorder.
  auto add_cancel = [&](Kind k, std::string name, auto change, Expect e) {
    pb::CancelBackorderRequest r;
    r.set_request_id(NextRequest());
    r.set_backorder_id(BO5_);
    r.set_reason("customer changed their mind");
    Add(INV_RPC(CancelBackorder), r, k, std::move(name), change, std::move(e));
  };
  add_cancel(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_cancel(
      K::kMissing, "no back order", [](auto& r) { r.clear_backorder_id(); }, Field("backorder_id"));
  add_cancel(
      K::kMalformed, "back order with a slash", [](auto& r) { r.set_backorder_id("BO/1"); },
      Field("backorder_id"));
  add_cancel(
      K::kMissing, "no reason", [](auto& r) { r.clear_reason(); }, Field("reason"));
  add_cancel(
      K::kMissing, "blank reason", [](auto& r) { r.set_reason("   "); }, Field("reason"));
  add_cancel(
      K::kOutOfRange, "reason of 501 bytes", [](auto& r) { r.set_reason(Long(501)); },
      Field("reason"));
  add_cancel(
      K::kOversized, "reason of 1 MiB", [](auto& r) { r.set_reason(MiB()); }, Field("reason"));
  add_cancel(
      K::kUnknownId, "unknown back order", [this](auto& r) { r.set_backorder_id(Id("BO-NONE-2")); },
      NotFound(Id("BO-NONE-2")));
  add_cancel(
      K::kWrongState, "already cancelled", [this](auto& r) { r.set_backorder_id(BO4_); },
      Precondition("already cancelled"));
  add_cancel(
      K::kWrongState, "fully invoiced", [this](auto& r) { r.set_backorder_id(BO3_); },
      Precondition("fully invoiced"));
  add_cancel(
      K::kWrongState, "on a draft invoice", [this](auto& r) { r.set_backorder_id(BO1_); },
      Precondition(DA2_));
  Add(
      INV_RPC(CancelBackorder), cancel_bo4_.request, K::kReplay,
      "replayed request id of BO4 for BO5", [this](auto& r) { r.set_backorder_id(BO5_); },
      FirstAnswer(cancel_bo4_.answer));
}

void BadInput::PurchasingCases() {
  using K = Kind;
  // CreateStockOrder.
  auto add_create = [&](Kind k, std::string name, auto change, Expect e) {
    pb::CreateStockOrderRequest r;
    r.set_request_id(NextRequest());
    r.set_branch_id(A_);
    r.set_supplier_id(S1_);
    r.set_reference("urgent");
    Add(PUR_RPC(CreateStockOrder), r, k, std::move(name), change, std::move(e));
  };
  add_create(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_create(
      K::kMissing, "no branch", [](auto& r) { r.clear_branch_id(); }, Field("branch_id"));
  add_create(
      K::kMalformed, "branch with a space", [](auto& r) { r.set_branch_id("B 1"); },
      Field("branch_id"));
  add_create(
      K::kOutOfRange, "branch too long to name its stock orders (55 characters)",
      [](auto& r) { r.set_branch_id(Long(55)); }, Field("branch_id"));
  add_create(
      K::kMissing, "no supplier", [](auto& r) { r.clear_supplier_id(); }, Field("supplier_id"));
  add_create(
      K::kMalformed, "supplier with a comma", [](auto& r) { r.set_supplier_id("S,1"); },
      Field("supplier_id"));
  add_create(
      K::kOversized, "reference of 1 MiB", [](auto& r) { r.set_reference(MiB()); },
      Field("reference"));
  add_create(
      K::kMalformed, "reference with a newline", [](auto& r) { r.set_reference("line 1\nline 2"); },
      Field("reference"));
  Add(
      PUR_RPC(CreateStockOrder), create_soa2_.request, K::kReplay,
      "replayed request id, other branch and supplier",
      [this](auto& r) {
        r.set_branch_id(B_);
        r.set_supplier_id(S2_);
      },
      FirstAnswer(create_soa2_.answer));

  // GetStockOrder.
  auto add_get = [&](Kind k, std::string name, std::string id, Expect e) {
    pb::GetStockOrderRequest r;
    r.set_stock_order_id(std::move(id));
    Add(
        PUR_RPC(GetStockOrder), r, k, std::move(name), [](auto&) {}, std::move(e));
  };
  add_get(K::kMissing, "no id", "", Field("stock_order_id"));
  add_get(K::kMalformed, "id with a space", "SO 1", Field("stock_order_id"));
  add_get(K::kOversized, "id of 1 MiB", MiB(), Field("stock_order_id"));
  add_get(K::kUnknownId, "unknown stock order", "SO-" + A_ + "-999999",
          NotFound("SO-" + A_ + "-999999"));

  // ListStockOrders.
  auto add_list = [&](Kind k, std::string name, auto change, Expect e) {
    Add(PUR_RPC(ListStockOrders), pb::ListStockOrdersRequest(), k, std::move(name), change,
        std::move(e));
  };
  add_list(
      K::kMalformed, "branch with a space", [](auto& r) { r.set_branch_id("B 1"); },
      Field("branch_id"));
  add_list(
      K::kMalformed, "supplier with a slash", [](auto& r) { r.set_supplier_id("S/1"); },
      Field("supplier_id"));
  add_list(
      K::kOutOfRange, "status 7",
      [](auto& r) { r.set_status(static_cast<pb::StockOrderStatus>(7)); }, Field("status"));
  add_list(
      K::kOutOfRange, "negative page size", [](auto& r) { r.set_page_size(-5); },
      Field("page_size"));
  add_list(
      K::kOutOfRange, "page size 100000", [](auto& r) { r.set_page_size(100000); },
      Field("page_size"));
  add_list(
      K::kMalformed, "page token of odd length", [](auto& r) { r.set_page_token("abc"); },
      Field("page_token"));
  add_list(
      K::kMalformed, "page token of another list",
      [](auto& r) { r.set_page_token(ForeignToken("invoice/INV-1")); }, Field("page_token"));

  // GetBackorders.
  auto add_get_bos = [&](Kind k, std::string name, std::string id, Expect e) {
    pb::GetBackordersRequest r;
    r.set_stock_order_id(std::move(id));
    r.set_this_supplier_only(true);
    Add(
        PUR_RPC(GetBackorders), r, k, std::move(name), [](auto&) {}, std::move(e));
  };
  add_get_bos(K::kMissing, "no stock order", "", Field("stock_order_id"));
  add_get_bos(K::kMalformed, "stock order with a tab", "SO\t1", Field("stock_order_id"));
  add_get_bos(K::kUnknownId, "unknown stock order", "SO-" + B_ + "-999999",
              NotFound("SO-" + B_ + "-999999"));
  auto add_get_bos_page = [&](Kind k, std::string name, auto change, Expect e) {
    pb::GetBackordersRequest r;
    r.set_stock_order_id(SOA1_);
    Add(PUR_RPC(GetBackorders), r, k, std::move(name), change, std::move(e));
  };
  add_get_bos_page(
      K::kOutOfRange, "page size 100000", [](auto& r) { r.set_page_size(100000); },
      Field("page_size"));
  add_get_bos_page(
      K::kMalformed, "page token of another list",
      [](auto& r) { r.set_page_token(ForeignToken("stockorders/x")); }, Field("page_token"));

  // AddBackorderLines (purchasing): onto SO-A1, a draft at A.
  auto add_tick = [&](Kind k, std::string name, auto change, Expect e) {
    pb::AddBackorderLinesToOrderRequest r;
    r.set_request_id(NextRequest());
    r.set_stock_order_id(SOA1_);
    r.add_backorder_ids(BO1_);
    Add(PUR_RPC(AddBackorderLines), r, k, std::move(name), change, std::move(e));
  };
  add_tick(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_tick(
      K::kMissing, "no stock order", [](auto& r) { r.clear_stock_order_id(); },
      Field("stock_order_id"));
  add_tick(
      K::kMissing, "none ticked", [](auto& r) { r.clear_backorder_ids(); }, Field("backorder_ids"));
  add_tick(
      K::kOversized, "1001 ticked",
      [](auto& r) {
        for (const auto& id : Ids(1000, "BO-X-")) r.add_backorder_ids(id);
      },
      Field("backorder_ids"));
  add_tick(
      K::kOversized, "10,000 ticked",
      [](auto& r) {
        for (const auto& id : Ids(10'000, "BO-X-")) r.add_backorder_ids(id);
      },
      Field("backorder_ids"));
  add_tick(
      K::kMalformed, "third id empty",
      [](auto& r) {
        r.add_backorder_ids("BO-X-1");
        r.add_backorder_ids("");
      },
      Field("backorder_ids[2]"));
  add_tick(
      K::kMalformed, "ticked twice", [this](auto& r) { r.add_backorder_ids(BO1_); },
      Field("backorder_ids[1]"));
  add_tick(
      K::kUnknownId, "unknown back order",
      [this](auto& r) { r.set_backorder_ids(0, Id("BO-NONE-3")); }, NotFound(Id("BO-NONE-3")));
  add_tick(
      K::kUnknownId, "unknown stock order",
      [this](auto& r) { r.set_stock_order_id("SO-" + A_ + "-999999"); },
      NotFound("SO-" + A_ + "-999999"));
  add_tick(
      K::kWrongBranch, "a back order of another branch",
      [this](auto& r) { r.set_backorder_ids(0, BO7_); }, Precondition("branch " + B_));
  add_tick(
      K::kWrongState, "a back order on another stock order",
      [this](auto& r) { r.set_backorder_ids(0, BO2_); }, Precondition(SOA2_));
  add_tick(
      K::kWrongState, "a back order already on this stock order",
      [this](auto& r) { r.set_backorder_ids(0, BO5_); },
      Precondition("already on this stock order"));
  add_tick(
      K::kWrongState, "a cancelled back order", [this](auto& r) { r.set_backorder_ids(0, BO4_); },
      Precondition("cancelled"));
  add_tick(
      K::kWrongState, "an invoiced back order",
      [this](auto& r) {
        r.set_stock_order_id(SOB1_);
        r.set_backorder_ids(0, BO3_);
      },
      Precondition("invoiced"));
  add_tick(
      K::kWrongState, "onto a placed stock order", [this](auto& r) { r.set_stock_order_id(SOA2_); },
      Precondition("already placed"));
  Add(
      PUR_RPC(AddBackorderLines), tick_soa2_.request, K::kReplay,
      "replayed request id, other stock order and back order",
      [this](auto& r) {
        r.set_stock_order_id(SOA1_);
        r.set_backorder_ids(0, BO1_);
      },
      FirstAnswer(tick_soa2_.answer));

  // AddStockLine: SO-A1 has 1 x P1 for the shelf.
  auto add_line = [&](Kind k, std::string name, auto change, Expect e) {
    pb::AddStockLineRequest r;
    r.set_request_id(NextRequest());
    r.set_stock_order_id(SOA1_);
    r.set_part_number(P1_);
    r.set_quantity(2);
    Add(PUR_RPC(AddStockLine), r, k, std::move(name), change, std::move(e));
  };
  add_line(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_line(
      K::kMissing, "no stock order", [](auto& r) { r.clear_stock_order_id(); },
      Field("stock_order_id"));
  add_line(
      K::kMissing, "no part", [](auto& r) { r.clear_part_number(); }, Field("part_number"));
  add_line(
      K::kMalformed, "part with a hash", [](auto& r) { r.set_part_number("P#1"); },
      Field("part_number"));
  add_line(
      K::kMissing, "quantity 0", [](auto& r) { r.set_quantity(0); }, Field("quantity"));
  add_line(
      K::kOutOfRange, "quantity -5", [](auto& r) { r.set_quantity(-5); }, Field("quantity"));
  add_line(
      K::kOutOfRange, "quantity 10^9 + 1", [](auto& r) { r.set_quantity(kMax + 1); },
      Field("quantity"));
  add_line(
      K::kOutOfRange, "line would exceed 10^9", [](auto& r) { r.set_quantity(kMax); },
      Precondition("more than"));
  add_line(
      K::kUnknownId, "unknown stock order",
      [this](auto& r) { r.set_stock_order_id("SO-" + B_ + "-999998"); },
      NotFound("SO-" + B_ + "-999998"));
  add_line(
      K::kWrongState, "onto a placed stock order", [this](auto& r) { r.set_stock_order_id(SOA2_); },
      Precondition("already placed"));
  Add(
      PUR_RPC(AddStockLine), stock_line_soa1_.request, K::kReplay,
      "replayed request id, other quantity", [](auto& r) { r.set_quantity(5); },
      FirstAnswer(stock_line_soa1_.answer));

  // FinaliseStockOrder.
  auto add_finalise = [&](Kind k, std::string name, std::string id, Expect e) {
    pb::FinaliseStockOrderRequest r;
    r.set_request_id(NextRequest());
    r.set_stock_order_id(std::move(id));
    Add(
        PUR_RPC(FinaliseStockOrder), r, k, std::move(name), [](auto&) {}, std::move(e));
  };
  {
    pb::FinaliseStockOrderRequest r;
    r.set_stock_order_id(SOA1_);
    Add(
        PUR_RPC(FinaliseStockOrder), r, K::kMissing, "no request id", [](auto&) {},
        Field("request_id"));
  }
  add_finalise(K::kMissing, "no stock order", "", Field("stock_order_id"));
  add_finalise(K::kOversized, "stock order of 65 characters", Long(65), Field("stock_order_id"));
  add_finalise(K::kUnknownId, "unknown stock order", "SO-" + A_ + "-999997",
               NotFound("SO-" + A_ + "-999997"));
  add_finalise(K::kWrongState, "already placed", SOA2_, Precondition("already placed"));
  add_finalise(K::kWrongState, "a draft without lines", SOB1_, Precondition("no lines"));
  Add(
      PUR_RPC(FinaliseStockOrder), finalise_soa2_.request, K::kReplay,
      "replayed request id of SO-A2 for the draft SO-A1",
      [this](auto& r) { r.set_stock_order_id(SOA1_); }, FirstAnswer(finalise_soa2_.answer));

  // GetBackorder (purchasing).
  auto add_get_bo = [&](Kind k, std::string name, std::string id, Expect e) {
    pb::GetPurchasingBackorderRequest r;
    r.set_backorder_id(std::move(id));
    Add(
        PUR_RPC(GetBackorder), r, k, std::move(name), [](auto&) {}, std::move(e));
  };
  add_get_bo(K::kMissing, "no id", "", Field("backorder_id"));
  add_get_bo(K::kMalformed, "id with a space", "BO 1", Field("backorder_id"));
  add_get_bo(K::kOversized, "id of 1 MiB", MiB(), Field("backorder_id"));
  add_get_bo(K::kUnknownId, "unknown back order", Id("BO-NONE-4"), NotFound(Id("BO-NONE-4")));
}

void BadInput::ReceivingCases() {
  using K = Kind;
  // UpsertPart.
  auto add_upsert = [&](Kind k, std::string name, auto change, Expect e) {
    pb::UpsertPartRequest r;
    r.set_request_id(NextRequest());
    auto* p = r.mutable_part();
    p->set_part_number(P1_);
    p->set_description("Part " + P1_);
    p->set_supplier_id(S1_);
    p->mutable_unit_price()->set_currency("AUD");
    p->mutable_unit_price()->set_minor_units(1000);
    Add(RCV_RPC(UpsertPart), r, k, std::move(name), change, std::move(e));
  };
  add_upsert(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_upsert(
      K::kOversized, "request id of 129 characters", [](auto& r) { r.set_request_id(Long(129)); },
      Field("request_id"));
  add_upsert(
      K::kMissing, "no part at all", [](auto& r) { r.clear_part(); }, Field("part.part_number"));
  add_upsert(
      K::kMalformed, "part number with a space",
      [](auto& r) { r.mutable_part()->set_part_number("P 1"); }, Field("part.part_number"));
  add_upsert(
      K::kOversized, "part number of 65 characters",
      [](auto& r) { r.mutable_part()->set_part_number(Long(65)); }, Field("part.part_number"));
  add_upsert(
      K::kOversized, "description of 1 MiB",
      [](auto& r) { r.mutable_part()->set_description(MiB()); }, Field("part.description"));
  add_upsert(
      K::kMalformed, "description with a control character",
      [](auto& r) { r.mutable_part()->set_description("lamp\x1b[0m"); }, Field("part.description"));
  add_upsert(
      K::kMissing, "no supplier", [](auto& r) { r.mutable_part()->clear_supplier_id(); },
      Field("part.supplier_id"));
  add_upsert(
      K::kMalformed, "supplier with a slash",
      [](auto& r) { r.mutable_part()->set_supplier_id("S/1"); }, Field("part.supplier_id"));
  add_upsert(
      K::kMissing, "no price", [](auto& r) { r.mutable_part()->clear_unit_price(); },
      Field("part.unit_price"));
  add_upsert(
      K::kOversized, "price currency of 1 MiB",
      [](auto& r) { r.mutable_part()->mutable_unit_price()->set_currency(MiB()); },
      Field("part.unit_price.currency"));
  add_upsert(
      K::kMalformed, "price currency with a digit",
      [](auto& r) { r.mutable_part()->mutable_unit_price()->set_currency("A1D"); },
      Field("part.unit_price.currency"));
  add_upsert(
      K::kOutOfRange, "negative price",
      [](auto& r) { r.mutable_part()->mutable_unit_price()->set_minor_units(-1); },
      Field("part.unit_price.minor_units"));
  add_upsert(
      K::kOutOfRange, "price over 10^12",
      [](auto& r) {
        r.mutable_part()->mutable_unit_price()->set_minor_units(
            std::numeric_limits<int64_t>::max());
      },
      Field("part.unit_price.minor_units"));
  Add(
      RCV_RPC(UpsertPart), upsert_p1_.request, K::kReplay,
      "replayed request id, other price and supplier",
      [this](auto& r) {
        r.mutable_part()->set_supplier_id(S2_);
        r.mutable_part()->mutable_unit_price()->set_minor_units(1);
      },
      FirstAnswer(upsert_p1_.answer));

  // GetPart.
  auto add_get = [&](Kind k, std::string name, std::string id, Expect e) {
    pb::GetPartRequest r;
    r.set_part_number(std::move(id));
    Add(
        RCV_RPC(GetPart), r, k, std::move(name), [](auto&) {}, std::move(e));
  };
  add_get(K::kMissing, "no part", "", Field("part_number"));
  add_get(K::kMalformed, "part with a slash", P1_ + "/x", Field("part_number"));
  add_get(K::kOversized, "part of 1 MiB", MiB(), Field("part_number"));
  add_get(K::kUnknownId, "unknown part", Id("NO-PART"), NotFound(Id("NO-PART")));

  // ListParts.
  auto add_list = [&](Kind k, std::string name, auto change, Expect e) {
    Add(RCV_RPC(ListParts), pb::ListPartsRequest(), k, std::move(name), change, std::move(e));
  };
  add_list(
      K::kOutOfRange, "negative page size", [](auto& r) { r.set_page_size(-1); },
      Field("page_size"));
  add_list(
      K::kOutOfRange, "page size 1001", [](auto& r) { r.set_page_size(1001); }, Field("page_size"));
  add_list(
      K::kMalformed, "page token in upper-case hex", [](auto& r) { r.set_page_token("AB"); },
      Field("page_token"));
  add_list(
      K::kMalformed, "page token of another list",
      [](auto& r) { r.set_page_token(ForeignToken("debtor/D1")); }, Field("page_token"));

  // AdjustStock.
  auto add_adjust = [&](Kind k, std::string name, auto change, Expect e) {
    pb::AdjustStockRequest r;
    r.set_request_id(NextRequest());
    r.set_branch_id(A_);
    r.set_part_number(P1_);
    r.set_delta(1);
    r.set_reason("stocktake");
    Add(RCV_RPC(AdjustStock), r, k, std::move(name), change, std::move(e));
  };
  add_adjust(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_adjust(
      K::kMissing, "no branch", [](auto& r) { r.clear_branch_id(); }, Field("branch_id"));
  add_adjust(
      K::kMalformed, "branch with a space", [](auto& r) { r.set_branch_id("B A"); },
      Field("branch_id"));
  add_adjust(
      K::kMissing, "no part", [](auto& r) { r.clear_part_number(); }, Field("part_number"));
  add_adjust(
      K::kMissing, "delta 0", [](auto& r) { r.set_delta(0); }, Field("delta"));
  add_adjust(
      K::kOutOfRange, "delta 10^9 + 1", [](auto& r) { r.set_delta(kMax + 1); }, Field("delta"));
  add_adjust(
      K::kOutOfRange, "delta -(10^9 + 1)", [](auto& r) { r.set_delta(-kMax - 1); }, Field("delta"));
  add_adjust(
      K::kOutOfRange, "delta INT64_MIN",
      [](auto& r) { r.set_delta(std::numeric_limits<int64_t>::min()); }, Field("delta"));
  add_adjust(
      K::kMissing, "no reason", [](auto& r) { r.clear_reason(); }, Field("reason"));
  add_adjust(
      K::kOversized, "reason of 1 MiB", [](auto& r) { r.set_reason(MiB()); }, Field("reason"));
  add_adjust(
      K::kMalformed, "reason with a NUL", [](auto& r) { r.set_reason(std::string("a\0b", 3)); },
      Field("reason"));
  add_adjust(
      K::kUnknownId, "unknown part", [this](auto& r) { r.set_part_number(Id("NO-PART")); },
      NotFound(Id("NO-PART")));
  add_adjust(
      K::kOutOfRange, "writing down more than is free", [](auto& r) { r.set_delta(-1); },
      Precondition("free"));
  add_adjust(
      K::kWrongBranch, "writing down at a branch that has none",
      [this](auto& r) {
        r.set_branch_id(B_);
        r.set_part_number(P2_);
        r.set_delta(-1);
      },
      Precondition("free"));
  Add(
      RCV_RPC(AdjustStock), adjust_a_p2_.request, K::kReplay,
      "replayed request id, written down instead", [](auto& r) { r.set_delta(-5); },
      FirstAnswer(adjust_a_p2_.answer));

  // GetStock.
  auto add_stock = [&](Kind k, std::string name, auto change, Expect e) {
    pb::GetStockRequest r;
    r.set_branch_id(A_);
    r.set_part_number(P1_);
    Add(RCV_RPC(GetStock), r, k, std::move(name), change, std::move(e));
  };
  add_stock(
      K::kMissing, "no branch", [](auto& r) { r.clear_branch_id(); }, Field("branch_id"));
  add_stock(
      K::kMissing, "no part", [](auto& r) { r.clear_part_number(); }, Field("part_number"));
  add_stock(
      K::kMalformed, "part with a space", [](auto& r) { r.set_part_number("P 1"); },
      Field("part_number"));
  add_stock(
      K::kOversized, "branch of 1 MiB", [](auto& r) { r.set_branch_id(MiB()); },
      Field("branch_id"));
  add_stock(
      K::kUnknownId, "unknown part", [this](auto& r) { r.set_part_number(Id("NO-PART")); },
      NotFound(Id("NO-PART")));

  // HoldStock.
  auto add_hold = [&](Kind k, std::string name, auto change, Expect e) {
    pb::HoldStockRequest r;
    r.set_request_id(NextRequest());
    r.set_branch_id(A_);
    r.set_part_number(P2_);
    r.set_invoice_id(DA_);
    r.set_invoice_line(9);
    r.set_quantity(1);
    Add(RELAY_RPC(HoldStock), r, k, std::move(name), change, std::move(e));
  };
  add_hold(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_hold(
      K::kMissing, "no branch", [](auto& r) { r.clear_branch_id(); }, Field("branch_id"));
  add_hold(
      K::kMissing, "no part", [](auto& r) { r.clear_part_number(); }, Field("part_number"));
  add_hold(
      K::kMissing, "no invoice", [](auto& r) { r.clear_invoice_id(); }, Field("invoice_id"));
  add_hold(
      K::kMalformed, "invoice with a space", [](auto& r) { r.set_invoice_id("INV 1"); },
      Field("invoice_id"));
  add_hold(
      K::kMissing, "line 0", [](auto& r) { r.set_invoice_line(0); }, Field("invoice_line"));
  add_hold(
      K::kOutOfRange, "line -1", [](auto& r) { r.set_invoice_line(-1); }, Field("invoice_line"));
  add_hold(
      K::kOutOfRange, "quantity -1", [](auto& r) { r.set_quantity(-1); }, Field("quantity"));
  add_hold(
      K::kOutOfRange, "quantity 10^9 + 1", [](auto& r) { r.set_quantity(kMax + 1); },
      Field("quantity"));
  add_hold(
      K::kUnknownId, "unknown part", [this](auto& r) { r.set_part_number(Id("NO-PART")); },
      NotFound(Id("NO-PART")));
  add_hold(
      K::kWrongBranch, "branch B's stock for an invoice of branch A",
      [this](auto& r) { r.set_branch_id(B_); }, Field("invoice_id"));
  Add(
      RELAY_RPC(HoldStock), hold_da_.request, K::kReplay,
      "invoicing's request id for DA line 1, giving the hold back",
      [](auto& r) { r.set_quantity(0); }, FirstAnswer(hold_da_.answer));

  // ReleaseHold.
  auto add_release = [&](Kind k, std::string name, auto change, Expect e) {
    pb::ReleaseHoldRequest r;
    r.set_request_id(NextRequest());
    r.set_branch_id(A_);
    r.set_part_number(P2_);
    r.set_invoice_id(DA_);
    r.set_invoice_line(1);
    Add(RELAY_RPC(ReleaseHold), r, k, std::move(name), change, std::move(e));
  };
  add_release(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_release(
      K::kMissing, "no branch", [](auto& r) { r.clear_branch_id(); }, Field("branch_id"));
  add_release(
      K::kMissing, "no part", [](auto& r) { r.clear_part_number(); }, Field("part_number"));
  add_release(
      K::kMalformed, "part with a slash", [](auto& r) { r.set_part_number("P/2"); },
      Field("part_number"));
  add_release(
      K::kMissing, "no invoice", [](auto& r) { r.clear_invoice_id(); }, Field("invoice_id"));
  add_release(
      K::kOversized, "invoice of 1 MiB", [](auto& r) { r.set_invoice_id(MiB()); },
      Field("invoice_id"));
  add_release(
      K::kMissing, "line 0", [](auto& r) { r.set_invoice_line(0); }, Field("invoice_line"));
  add_release(
      K::kWrongBranch, "at branch B, a hold of an invoice of branch A",
      [this](auto& r) { r.set_branch_id(B_); }, Field("invoice_id"));

  // ProcessCreditorInvoice.
  auto add_receive = [&](Kind k, std::string name, auto change, Expect e) {
    pb::ProcessCreditorInvoiceRequest r;
    r.set_request_id(NextRequest());
    r.set_branch_id(A_);
    r.set_creditor_invoice_id(Id("CI-NEW"));
    r.set_supplier_id(S1_);
    r.set_stock_order_id(SOA2_);
    auto* line = r.add_lines();
    line->set_part_number(P1_);
    line->set_quantity(1);
    line->mutable_unit_cost()->set_currency("AUD");
    line->mutable_unit_cost()->set_minor_units(600);
    Add(RCV_RPC(ProcessCreditorInvoice), r, k, std::move(name), change, std::move(e));
  };
  add_receive(
      K::kWrongBranch, "a stock order of branch B received at branch A",
      [this](auto& r) { r.set_stock_order_id(SOB1_); }, Field("stock_order_id"));
  add_receive(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_receive(
      K::kMissing, "no branch", [](auto& r) { r.clear_branch_id(); }, Field("branch_id"));
  add_receive(
      K::kMissing, "no creditor invoice", [](auto& r) { r.clear_creditor_invoice_id(); },
      Field("creditor_invoice_id"));
  add_receive(
      K::kMalformed, "creditor invoice with a space",
      [](auto& r) { r.set_creditor_invoice_id("CI 1"); }, Field("creditor_invoice_id"));
  add_receive(
      K::kMissing, "no supplier", [](auto& r) { r.clear_supplier_id(); }, Field("supplier_id"));
  add_receive(
      K::kMalformed, "stock order with a slash", [](auto& r) { r.set_stock_order_id("SO/1"); },
      Field("stock_order_id"));
  add_receive(
      K::kMissing, "no lines", [](auto& r) { r.clear_lines(); }, Field("lines"));
  add_receive(
      K::kOversized, "1001 lines",
      [](auto& r) {
        for (int i = 0; i < 1000; ++i) *r.add_lines() = r.lines(0);
      },
      Field("lines"));
  add_receive(
      K::kOversized, "10,000 lines",
      [](auto& r) {
        for (int i = 0; i < 9999; ++i) {
          auto* line = r.add_lines();
          *line = r.lines(0);
          line->set_part_number("P-" + std::to_string(i));
        }
      },
      Field("lines"));
  add_receive(
      K::kMissing, "a line without a part",
      [](auto& r) { r.mutable_lines(0)->clear_part_number(); }, Field("lines[0].part_number"));
  add_receive(
      K::kMissing, "a line of quantity 0", [](auto& r) { r.mutable_lines(0)->set_quantity(0); },
      Field("lines[0].quantity"));
  add_receive(
      K::kOutOfRange, "a line of quantity -1",
      [](auto& r) { r.mutable_lines(0)->set_quantity(-1); }, Field("lines[0].quantity"));
  add_receive(
      K::kOutOfRange, "a line of quantity 10^9 + 1",
      [](auto& r) { r.mutable_lines(0)->set_quantity(kMax + 1); }, Field("lines[0].quantity"));
  add_receive(
      K::kOversized, "a cost in a currency of 1 MiB",
      [](auto& r) { r.mutable_lines(0)->mutable_unit_cost()->set_currency(MiB()); },
      Field("lines[0].unit_cost.currency"));
  add_receive(
      K::kMalformed, "a cost in a currency of 4 letters",
      [](auto& r) { r.mutable_lines(0)->mutable_unit_cost()->set_currency("AUDD"); },
      Field("lines[0].unit_cost.currency"));
  add_receive(
      K::kOutOfRange, "a negative cost",
      [](auto& r) { r.mutable_lines(0)->mutable_unit_cost()->set_minor_units(-600); },
      Field("lines[0].unit_cost.minor_units"));
  add_receive(
      K::kMalformed, "the same part on two lines", [](auto& r) { *r.add_lines() = r.lines(0); },
      Field("lines[1].part_number"));
  add_receive(
      K::kUnknownId, "an unknown part on line 2",
      [this](auto& r) {
        auto* line = r.add_lines();
        line->set_part_number(Id("NO-PART"));
        line->set_quantity(1);
      },
      NotFound("lines[1].part_number"));
  add_receive(
      K::kWrongState, "a creditor invoice already processed",
      [this](auto& r) { r.set_creditor_invoice_id(CI1_); }, Exists(CI1_));
  Add(
      RCV_RPC(ProcessCreditorInvoice), receive_ci1_.request, K::kReplay,
      "replayed request id, other creditor invoice and quantity",
      [this](auto& r) {
        r.set_creditor_invoice_id(Id("CI-OTHER"));
        r.mutable_lines(0)->set_quantity(50);
      },
      FirstAnswer(receive_ci1_.answer));
}

void BadInput::DebtorQueryCases() {
  using K = Kind;
  // CreateDebtor.
  auto add_create = [&](Kind k, std::string name, auto change, Expect e) {
    pb::CreateDebtorRequest r;
    r.set_request_id(NextRequest());
    auto* d = r.mutable_debtor();
    d->set_debtor_id(Id("DNEW"));
    d->set_name("Lee Panels");
    d->set_email("lee@example.com");
    d->set_use_backorders(true);
    Add(DQ_RPC(CreateDebtor), r, k, std::move(name), change, std::move(e));
  };
  add_create(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_create(
      K::kMalformed, "request id not ASCII", [](auto& r) { r.set_request_id("r\xc3\xa9q"); },
      Field("request_id"));
  add_create(
      K::kMissing, "no debtor at all", [](auto& r) { r.clear_debtor(); },
      Field("debtor.debtor_id"));
  add_create(
      K::kMalformed, "id with a slash", [](auto& r) { r.mutable_debtor()->set_debtor_id("D/1"); },
      Field("debtor.debtor_id"));
  add_create(
      K::kOversized, "id of 65 characters",
      [](auto& r) { r.mutable_debtor()->set_debtor_id(Long(65)); }, Field("debtor.debtor_id"));
  add_create(
      K::kMissing, "no name", [](auto& r) { r.mutable_debtor()->clear_name(); },
      Field("debtor.name"));
  add_create(
      K::kMissing, "blank name", [](auto& r) { r.mutable_debtor()->set_name("  "); },
      Field("debtor.name"));
  add_create(
      K::kOversized, "name of 1 MiB", [](auto& r) { r.mutable_debtor()->set_name(MiB()); },
      Field("debtor.name"));
  add_create(
      K::kMalformed, "name with a newline",
      [](auto& r) { r.mutable_debtor()->set_name("Lee\nPanels"); }, Field("debtor.name"));
  add_create(
      K::kOutOfRange, "contact of 201 bytes",
      [](auto& r) { r.mutable_debtor()->set_contact_name(Long(201)); },
      Field("debtor.contact_name"));
  add_create(
      K::kMalformed, "phone with a control character",
      [](auto& r) { r.mutable_debtor()->set_phone("03\x7f"); }, Field("debtor.phone"));
  add_create(
      K::kMalformed, "e-mail without @",
      [](auto& r) { r.mutable_debtor()->set_email("lee.example.com"); }, Field("debtor.email"));
  add_create(
      K::kMalformed, "e-mail with a space",
      [](auto& r) { r.mutable_debtor()->set_email("lee @example.com"); }, Field("debtor.email"));
  add_create(
      K::kWrongState, "a debtor that exists",
      [this](auto& r) { r.mutable_debtor()->set_debtor_id(D1_); }, Exists(D1_));
  Add(
      DQ_RPC(CreateDebtor), create_d1_.request, K::kReplay,
      "replayed request id, other name and no back orders",
      [](auto& r) {
        r.mutable_debtor()->set_name("Someone Else");
        r.mutable_debtor()->set_use_backorders(false);
      },
      FirstAnswer(create_d1_.answer));

  // UpdateDebtor.
  auto add_update = [&](Kind k, std::string name, auto change, Expect e) {
    pb::UpdateDebtorRequest r;
    r.set_request_id(NextRequest());
    auto* d = r.mutable_debtor();
    d->set_debtor_id(D2_);
    d->set_name("Debtor " + D2_);
    d->set_use_backorders(false);
    Add(DQ_RPC(UpdateDebtor), r, k, std::move(name), change, std::move(e));
  };
  add_update(
      K::kMissing, "no request id", [](auto& r) { r.clear_request_id(); }, Field("request_id"));
  add_update(
      K::kMissing, "no id", [](auto& r) { r.mutable_debtor()->clear_debtor_id(); },
      Field("debtor.debtor_id"));
  add_update(
      K::kMalformed, "id with a space", [](auto& r) { r.mutable_debtor()->set_debtor_id("D 2"); },
      Field("debtor.debtor_id"));
  add_update(
      K::kMissing, "no name", [](auto& r) { r.mutable_debtor()->clear_name(); },
      Field("debtor.name"));
  add_update(
      K::kMalformed, "e-mail without @", [](auto& r) { r.mutable_debtor()->set_email("nobody"); },
      Field("debtor.email"));
  add_update(
      K::kOversized, "phone of 1 MiB", [](auto& r) { r.mutable_debtor()->set_phone(MiB()); },
      Field("debtor.phone"));
  add_update(
      K::kUnknownId, "unknown debtor",
      [this](auto& r) { r.mutable_debtor()->set_debtor_id(Id("NOBODY")); }, NotFound(Id("NOBODY")));
  Add(
      DQ_RPC(UpdateDebtor), update_d3_.request, K::kReplay,
      "replayed request id, turning back orders on",
      [](auto& r) { r.mutable_debtor()->set_use_backorders(true); },
      FirstAnswer(update_d3_.answer));

  // GetDebtor.
  auto add_get = [&](Kind k, std::string name, std::string id, Expect e) {
    pb::GetDebtorRequest r;
    r.set_debtor_id(std::move(id));
    Add(
        DQ_RPC(GetDebtor), r, k, std::move(name), [](auto&) {}, std::move(e));
  };
  add_get(K::kMissing, "no id", "", Field("debtor_id"));
  add_get(K::kMalformed, "id with a percent", "D%1", Field("debtor_id"));
  add_get(K::kOversized, "id of 1 MiB", MiB(), Field("debtor_id"));
  add_get(K::kUnknownId, "unknown debtor", Id("NOBODY"), NotFound(Id("NOBODY")));

  // ListDebtors.
  auto add_list = [&](Kind k, std::string name, auto change, Expect e) {
    Add(DQ_RPC(ListDebtors), pb::ListDebtorsRequest(), k, std::move(name), change, std::move(e));
  };
  add_list(
      K::kOutOfRange, "negative page size", [](auto& r) { r.set_page_size(-1); },
      Field("page_size"));
  add_list(
      K::kOutOfRange, "page size 2000", [](auto& r) { r.set_page_size(2000); }, Field("page_size"));
  add_list(
      K::kMalformed, "page token not hex", [](auto& r) { r.set_page_token("zz"); },
      Field("page_token"));
  add_list(
      K::kMalformed, "page token of another list",
      [](auto& r) { r.set_page_token(ForeignToken("part/P1")); }, Field("page_token"));

  // ListReadyToInvoice.
  auto add_ready = [&](Kind k, std::string name, auto change, Expect e) {
    Add(DQ_RPC(ListReadyToInvoice), pb::ListReadyToInvoiceRequest(), k, std::move(name), change,
        std::move(e));
  };
  add_ready(
      K::kMalformed, "branch with a space", [](auto& r) { r.set_branch_id("B 1"); },
      Field("branch_id"));
  add_ready(
      K::kMalformed, "debtor with a slash", [](auto& r) { r.set_debtor_id("D/1"); },
      Field("debtor_id"));
  add_ready(
      K::kOversized, "branch of 1 MiB", [](auto& r) { r.set_branch_id(MiB()); },
      Field("branch_id"));
  add_ready(
      K::kOversized, "debtor of 65 characters", [](auto& r) { r.set_debtor_id(Long(65)); },
      Field("debtor_id"));

  // ListBackorders.
  auto add_bos = [&](Kind k, std::string name, auto change, Expect e) {
    Add(DQ_RPC(ListBackorders), pb::ListBackordersRequest(), k, std::move(name), change,
        std::move(e));
  };
  add_bos(
      K::kMalformed, "branch with a space", [](auto& r) { r.set_branch_id("B 1"); },
      Field("branch_id"));
  add_bos(
      K::kMalformed, "debtor with a slash", [](auto& r) { r.set_debtor_id("D/1"); },
      Field("debtor_id"));
  add_bos(
      K::kMalformed, "supplier with a space", [](auto& r) { r.set_supplier_id("S 1"); },
      Field("supplier_id"));
  add_bos(
      K::kOversized, "part of 1 MiB", [](auto& r) { r.set_part_number(MiB()); },
      Field("part_number"));
  add_bos(
      K::kOutOfRange, "state 99", [](auto& r) { r.set_state(static_cast<pb::BackorderState>(99)); },
      Field("state"));
  add_bos(
      K::kOutOfRange, "negative minimum age", [](auto& r) { r.set_min_age_days(-1); },
      Field("min_age_days"));
  add_bos(
      K::kOutOfRange, "negative maximum age", [](auto& r) { r.set_max_age_days(-1); },
      Field("max_age_days"));
  add_bos(
      K::kOutOfRange, "minimum age over the maximum",
      [](auto& r) {
        r.set_min_age_days(10);
        r.set_max_age_days(2);
      },
      Field("min_age_days"));
  add_bos(
      K::kOutOfRange, "negative page size", [](auto& r) { r.set_page_size(-1); },
      Field("page_size"));
  add_bos(
      K::kOutOfRange, "page size 1001", [](auto& r) { r.set_page_size(1001); }, Field("page_size"));
  add_bos(
      K::kMalformed, "page token not hex", [](auto& r) { r.set_page_token("not-a-token"); },
      Field("page_token"));
  add_bos(
      K::kWrongBranch, "branch A's page token used for branch B",
      [this](auto& r) {
        r.set_branch_id(B_);
        r.set_page_token(backorders_token_a_);
      },
      Field("page_token"));

  // GetBackorderHistory.
  auto add_history = [&](Kind k, std::string name, std::string id, Expect e) {
    pb::GetBackorderHistoryRequest r;
    r.set_backorder_id(std::move(id));
    Add(
        DQ_RPC(GetBackorderHistory), r, k, std::move(name), [](auto&) {}, std::move(e));
  };
  add_history(K::kMissing, "no id", "", Field("backorder_id"));
  add_history(K::kMalformed, "id with a space", "BO 1", Field("backorder_id"));
  add_history(K::kOversized, "id of 1 MiB", MiB(), Field("backorder_id"));
  add_history(K::kUnknownId, "unknown back order", Id("BO-NONE-5"), NotFound(Id("BO-NONE-5")));
}

void BadInput::AddCases() {
  InvoicingCases();
  PurchasingCases();
  ReceivingCases();
  DebtorQueryCases();
}

// Every method of the four services, as the protos declare them.
std::vector<std::pair<std::string, std::string>> AllMethods() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* service : {"backorder.v1.InvoicingService", "backorder.v1.PurchasingService",
                              "backorder.v1.ReceivingService", "backorder.v1.DebtorQueryService"}) {
    const auto* d = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
    if (d == nullptr) throw std::runtime_error(std::string("no descriptor of ") + service);
    for (int i = 0; i < d->method_count(); ++i) out.emplace_back(service, d->method(i)->name());
  }
  return out;
}

std::string AddressOf(const TestStack& stack, const std::string& service) {
  static const std::map<std::string, std::string> names = {
      {"backorder.v1.InvoicingService", "invoicing"},
      {"backorder.v1.PurchasingService", "purchasing"},
      {"backorder.v1.ReceivingService", "receiving"},
      {"backorder.v1.DebtorQueryService", "debtor-query"}};
  return stack.services().at(names.at(service)).addr;
}

int BadInput::Run() {
  const auto methods = AllMethods();
  std::map<std::pair<std::string, std::string>, int> per_method;
  std::map<Kind, int> per_kind;
  for (const auto& c : cases_) {
    ++per_method[{c.service, c.method}];
    ++per_kind[c.kind];
  }
  int uncovered = 0;
  for (const auto& m : methods) {
    if (per_method[m] == 0) {
      std::printf("UNCOVERED %s.%s: no case\n", m.first.c_str(), m.second.c_str());
      ++uncovered;
    }
  }

  std::printf("settling before the table...\n");
  std::fflush(stdout);
  const std::map<std::string, std::string> before = Settle(stack_);
  const std::map<std::string, int64_t> offsets_before = EndOffsets();

  int passed = 0;
  for (const auto& c : cases_) {
    const Outcome o = c.call();
    const std::string why = Judge(c, o);
    if (why.empty()) ++passed;
    const std::string service = c.service.substr(c.service.rfind('.') + 1);
    std::printf("%s %s.%s [%s] %s -> %s%s%s\n", why.empty() ? "ok  " : "FAIL", service.c_str(),
                c.method.c_str(), KindName(c.kind), c.name.c_str(), CodeName(c.expect.code).c_str(),
                c.expect.names.empty() ? "" : (" \"" + c.expect.names + "\"").c_str(),
                why.empty() ? "" : ("\n     " + why).c_str());
  }

  // Probes: bytes that are no request message, invalid UTF-8, a message over 4 MiB.
  int probes = 0, probe_failures = 0;
  const std::string not_a_message("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
  const std::string bad_utf8("\x0a\x02\xc3\x28", 4);  // field 1 (a string everywhere): C3 28
  const std::string huge = "\x0a" + std::string("\x80\x80\x80\x03", 4) + std::string(6 << 20, 'x');
  for (const auto& [service, method] : methods) {
    const std::string path = "/" + service + "/" + method;
    // Invalid UTF-8 is only wrong in a string field; field 1 is one in all but the List calls
    // that start with page_size (there the bytes are an unknown field, rightly ignored).
    const auto* field1 = google::protobuf::DescriptorPool::generated_pool()
                             ->FindMethodByName(service + "." + method)
                             ->input_type()
                             ->FindFieldByNumber(1);
    const bool string_first =
        field1 != nullptr && field1->type() == google::protobuf::FieldDescriptor::TYPE_STRING;
    for (const auto& [what, bytes] :
         {std::pair<const char*, const std::string*>{"not a message", &not_a_message},
          {"invalid UTF-8", &bad_utf8},
          {"6 MiB", &huge}}) {
      if (bytes == &bad_utf8 && !string_first) continue;
      const grpc::Status s = RawCall(stack_.Channel(AddressOf(stack_, service)), path, *bytes);
      ++probes;
      // Refused by the server (any code but the ones a dead or hung process gives).
      const bool refused = !s.ok() && s.error_code() != Code::UNAVAILABLE &&
                           s.error_code() != Code::DEADLINE_EXCEEDED &&
                           s.error_code() != Code::UNKNOWN;
      if (!refused) {
        ++probe_failures;
        std::printf("FAIL probe %s %s: %s %s\n", path.c_str(), what,
                    CodeName(s.error_code()).c_str(), Shorten(s.error_message()).c_str());
      }
    }
  }
  std::printf("probes: %d sent to %zu methods, %d refused as expected\n", probes, methods.size(),
              probes - probe_failures);

  // Nothing may have changed: no process died, all serve, no event published, same state.
  int crashes = 0;
  for (const auto& [name, s] : stack_.services()) {
    if (Exited(s.pid)) {
      std::printf("CRASH %s exited; see %s\n", name.c_str(), s.log.c_str());
      ++crashes;
    } else if (!Serving(stack_, s)) {
      std::printf("CRASH %s is alive but not SERVING\n", name.c_str());
      ++crashes;
    }
  }
  int state_changed = 0;
  if (crashes == 0) {
    const std::map<std::string, std::string> after = Settle(stack_);
    for (const auto& [name, dump] : before) {
      if (after.at(name) == dump) {
        std::printf("state of %s unchanged (%zu bytes of dump)\n", name.c_str(), dump.size());
        continue;
      }
      ++state_changed;
      std::printf("STATE CHANGED %s:\n%s", name.c_str(),
                  FirstDifferences(dump, after.at(name)).c_str());
    }
    const std::map<std::string, int64_t> offsets_after = EndOffsets();
    if (offsets_after != offsets_before) {
      ++state_changed;
      for (const auto& [partition, end] : offsets_after) {
        const auto it = offsets_before.find(partition);
        const int64_t was = it == offsets_before.end() ? 0 : it->second;
        if (was != end) {
          std::printf("EVENTS PUBLISHED %s: end offset %lld -> %lld\n", partition.c_str(),
                      static_cast<long long>(was), static_cast<long long>(end));
        }
      }
    } else {
      std::printf("no event published (%zu partitions)\n", offsets_after.size());
    }
  }

  std::string kinds;
  for (const auto& [kind, n] : per_kind) {
    kinds += std::string(kinds.empty() ? "" : " ") + KindName(kind) + "=" + std::to_string(n);
  }
  std::printf("coverage: %zu of %zu RPCs; %s\n", methods.size() - uncovered, methods.size(),
              kinds.c_str());
  const int total = static_cast<int>(cases_.size());
  std::printf("BAD_INPUT cases=%d passed=%d crashes=%d state_changed=%d\n", total, passed, crashes,
              state_changed);
  const bool ok = passed == total && crashes == 0 && state_changed == 0 && uncovered == 0 &&
                  probe_failures == 0 && total >= 200 && per_kind.size() == 8;
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace bo::testing

int main() {
  using bo::testing::TestStack;
  const auto started = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  // Holds of the drafts must not expire while the suite runs (an expiry is a change no request
  // made).
  TestStack stack(bo::testing::kPortBase,
                  {{"BO_HOLD_TTL_SECONDS", "86400"}, {"BO_HOLD_SWEEP_SECONDS", "1"}});
  try {
    stack.Start();
    std::printf("stack serving after %.1f s; setting up the valid state...\n", seconds());
    std::fflush(stdout);
    bo::testing::BadInput suite(&stack);
    suite.SetUp();
    suite.AddCases();
    std::printf("set up after %.1f s\n", seconds());
    return suite.Run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bad input suite: %s (after %.1f s)\n", e.what(), seconds());
    bo::testing::PrintLogTails(stack);
    std::printf("BAD_INPUT cases=0 passed=0 crashes=0 state_changed=0 (did not run: %s)\n",
                e.what());
    return 1;
  }
}
