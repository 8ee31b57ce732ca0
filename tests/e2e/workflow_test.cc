// The back-order workflow end to end (WORKFLOW.md Parts 1-4): the four services and the real
// broker as processes, driven over gRPC. Every test works on its own branch, parts and debtors,
// so the tests share one stack without seeing each other.
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "libs/kafka/testing.h"
#include "services/common/topics.h"
#include "tests/e2e/test_stack.h"

namespace bo::testing {
namespace {
namespace pb = backorder::v1;

TestStack* stack = nullptr;

class StackEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* base = std::getenv("BO_E2E_PORT_BASE");
    stack = new TestStack(base != nullptr ? std::atoi(base) : 22200,
                          {{"BO_HOLD_TTL_SECONDS", "3"}, {"BO_HOLD_SWEEP_SECONDS", "1"}});
    stack->Start();
  }
  void TearDown() override {
    delete stack;
    stack = nullptr;
  }
};

std::string RunId() {
  static const std::string id = std::to_string(::getpid() % 100000);
  return id;
}

// The field named by a BadRequest detail ("" if none).
std::string BadField(const grpc::Status& s) {
  google::rpc::Status details;
  google::rpc::BadRequest bad;
  if (!details.ParseFromString(s.error_details()) || details.details_size() == 0 ||
      !details.details(0).UnpackTo(&bad) || bad.field_violations_size() == 0) {
    return "";
  }
  return bad.field_violations(0).field();
}

#define ASSERT_GRPC_OK(expr)                                                               \
  do {                                                                                     \
    const grpc::Status _s = (expr);                                                        \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.error_code() << " " << _s.error_message(); \
  } while (0)

class Workflow : public ::testing::Test {
 protected:
  void SetUp() override {
    static int tests = 0;
    test_ = ++tests;
  }
  // An id unique to this test and run: "B1" in the Nth test becomes "B1-<run>-<N>".
  std::string Id(const std::string& base) {
    return base + "-" + RunId() + "-" + std::to_string(test_);
  }
  std::string NextRequest() { return Id("req") + "-" + std::to_string(++requests_); }

  void Debtor(const std::string& id, bool use_backorders) {
    pb::CreateDebtorRequest req;
    req.set_request_id(NextRequest());
    auto* d = req.mutable_debtor();
    d->set_debtor_id(id);
    d->set_name("Debtor " + id);
    d->set_contact_name("Sam");
    d->set_phone("0400 000 000");
    d->set_email("sam@example.com");
    d->set_use_backorders(use_backorders);
    pb::Debtor resp;
    ASSERT_GRPC_OK(stack->debtor_query().CreateDebtor(Call().get(), req, &resp));
  }

  void Part(const std::string& part, const std::string& supplier, int64_t cents = 1000) {
    pb::UpsertPartRequest req;
    req.set_request_id(NextRequest());
    auto* p = req.mutable_part();
    p->set_part_number(part);
    p->set_description("Part " + part);
    p->set_supplier_id(supplier);
    p->mutable_unit_price()->set_currency("AUD");
    p->mutable_unit_price()->set_minor_units(cents);
    pb::Part resp;
    ASSERT_GRPC_OK(stack->receiving().UpsertPart(Call().get(), req, &resp));
  }

  void Adjust(const std::string& branch, const std::string& part, int64_t delta) {
    pb::AdjustStockRequest req;
    req.set_request_id(NextRequest());
    req.set_branch_id(branch);
    req.set_part_number(part);
    req.set_delta(delta);
    req.set_reason("opening stock");
    pb::AdjustStockResponse resp;
    ASSERT_GRPC_OK(stack->receiving().AdjustStock(Call().get(), req, &resp));
  }

  // Opens an invoice, waiting until the debtor created a moment ago has reached invoicing.
  pb::Invoice Invoice(const std::string& branch, const std::string& debtor) {
    pb::CreateInvoiceRequest req;
    req.set_request_id(NextRequest());
    req.set_branch_id(branch);
    req.set_debtor_id(debtor);
    req.set_kind(pb::INVOICE_KIND_COUNTER);
    pb::Invoice resp;
    grpc::Status s;
    EXPECT_TRUE(Eventually([&] {
      s = stack->invoicing().CreateInvoice(Call().get(), req, &resp);
      return s.error_code() != grpc::StatusCode::NOT_FOUND;
    }));
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  pb::AddPartLineResponse AddPart(const std::string& invoice, const std::string& part,
                                  int64_t quantity, grpc::Status* status = nullptr) {
    pb::AddPartLineRequest req;
    req.set_request_id(NextRequest());
    req.set_invoice_id(invoice);
    req.set_part_number(part);
    req.set_quantity_ordered(quantity);
    pb::AddPartLineResponse resp;
    grpc::Status s = stack->invoicing().AddPartLine(Call().get(), req, &resp);
    if (status != nullptr) {
      *status = s;
    } else {
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    return resp;
  }

  pb::FinaliseInvoiceResponse Finalise(const std::string& invoice,
                                       const std::string& request_id = "") {
    pb::FinaliseInvoiceRequest req;
    req.set_request_id(request_id.empty() ? NextRequest() : request_id);
    req.set_invoice_id(invoice);
    pb::FinaliseInvoiceResponse resp;
    grpc::Status s = stack->invoicing().FinaliseInvoice(Call().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  // Creates one back order of `quantity` x part for debtor at branch (no stock there).
  std::string BackOrder(const std::string& branch, const std::string& debtor,
                        const std::string& part, int64_t quantity) {
    pb::Invoice inv = Invoice(branch, debtor);
    auto added = AddPart(inv.invoice_id(), part, quantity);
    EXPECT_TRUE(added.backorder_offered()) << added.message();
    auto done = Finalise(inv.invoice_id());
    EXPECT_EQ(done.created_size(), 1);
    return done.created_size() == 1 ? done.created(0).context().backorder_id() : "";
  }

  pb::ProcessCreditorInvoiceResponse Receive(const std::string& branch, const std::string& supplier,
                                             const std::string& part, int64_t quantity,
                                             const std::string& stock_order = "") {
    pb::ProcessCreditorInvoiceRequest req;
    req.set_request_id(NextRequest());
    req.set_branch_id(branch);
    req.set_creditor_invoice_id(Id("CI") + std::to_string(requests_));
    req.set_supplier_id(supplier);
    req.set_stock_order_id(stock_order);
    auto* line = req.add_lines();
    line->set_part_number(part);
    line->set_quantity(quantity);
    pb::ProcessCreditorInvoiceResponse resp;
    grpc::Status s = stack->receiving().ProcessCreditorInvoice(Call().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  pb::StockPosition Stock(const std::string& branch, const std::string& part) {
    pb::GetStockRequest req;
    req.set_branch_id(branch);
    req.set_part_number(part);
    pb::StockPosition resp;
    grpc::Status s = stack->receiving().GetStock(Call().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  // The views of one back order in invoicing, purchasing and debtor-query (empty if unknown).
  struct Views {
    pb::Backorder invoicing, purchasing, query;
  };
  Views ViewsOf(const std::string& id) {
    Views v;
    pb::GetBackorderRequest a;
    a.set_backorder_id(id);
    (void)stack->invoicing().GetBackorder(Call().get(), a, &v.invoicing);
    pb::GetPurchasingBackorderRequest b;
    b.set_backorder_id(id);
    (void)stack->purchasing().GetBackorder(Call().get(), b, &v.purchasing);
    pb::GetBackorderHistoryRequest c;
    c.set_backorder_id(id);
    pb::BackorderHistory h;
    if (stack->debtor_query().GetBackorderHistory(Call().get(), c, &h).ok())
      v.query = h.backorder();
    return v;
  }

  // Waits until all three views report `state` with the same quantities; returns them.
  pb::Backorder Agreed(const std::string& id, pb::BackorderState state) {
    Views v;
    const bool agreed = Eventually([&] {
      v = ViewsOf(id);
      const std::string q = v.invoicing.quantities().SerializeAsString();
      return v.invoicing.state() == state && v.purchasing.state() == state &&
             v.query.state() == state && v.purchasing.quantities().SerializeAsString() == q &&
             v.query.quantities().SerializeAsString() == q;
    });
    EXPECT_TRUE(agreed) << id << " want " << pb::BackorderState_Name(state)
                        << "\n invoicing: " << v.invoicing.ShortDebugString()
                        << "\n purchasing: " << v.purchasing.ShortDebugString()
                        << "\n debtor-query: " << v.query.ShortDebugString();
    return v.invoicing;
  }

  // DESIGN.md 4.5 at one (branch, part).
  void ExpectConserved(const std::string& branch, const std::string& part) {
    pb::StockPosition p = Stock(branch, part);
    EXPECT_EQ(p.on_hand(), p.free() + p.held() + p.filled_not_invoiced()) << p.ShortDebugString();
    EXPECT_EQ(p.received() + p.adjusted() - p.issued(), p.on_hand()) << p.ShortDebugString();
    EXPECT_GE(p.free(), 0);
    EXPECT_GE(p.held(), 0);
  }

  int test_ = 0;
  int requests_ = 0;
};

TEST_F(Workflow, StockIsSuppliedAndTheShortfallBackOrderedThenFilledAndInvoiced) {
  const std::string branch = Id("B1"), part = Id("P"), supplier = Id("SUP"), debtor = Id("D");
  Debtor(debtor, true);
  Part(part, supplier, 2500);
  Adjust(branch, part, 2);

  pb::Invoice inv = Invoice(branch, debtor);
  auto added = AddPart(inv.invoice_id(), part, 5);
  EXPECT_TRUE(added.backorder_offered());
  EXPECT_EQ(added.line().quantity_supplied(), 2);
  EXPECT_EQ(added.line().quantity_back_ordered(), 3);
  auto done = Finalise(inv.invoice_id());
  EXPECT_EQ(done.invoice().total().minor_units(), 2 * 2500);  // only what was supplied
  ASSERT_EQ(done.created_size(), 1);
  const std::string bo = done.created(0).context().backorder_id();
  EXPECT_EQ(done.created(0).context().unit_price().minor_units(), 2500);
  Agreed(bo, pb::BACKORDER_STATE_OPEN);
  EXPECT_TRUE(Eventually([&] { return Stock(branch, part).issued() == 2; }));
  EXPECT_EQ(Stock(branch, part).on_hand(), 0);

  // Stock arrives: a partial fill, then the rest.
  auto first = Receive(branch, supplier, part, 1);
  ASSERT_EQ(first.filled_size(), 1);
  EXPECT_EQ(first.filled(0).context().backorder_id(), bo);
  EXPECT_EQ(first.filled(0).quantity(), 1);
  Agreed(bo, pb::BACKORDER_STATE_PARTLY_FILLED);
  auto second = Receive(branch, supplier, part, 4);
  ASSERT_EQ(second.filled_size(), 1);
  EXPECT_EQ(second.filled(0).quantity(), 2);
  Agreed(bo, pb::BACKORDER_STATE_FILLED);
  EXPECT_EQ(Stock(branch, part).free(), 2);  // what was left went to free stock

  // It is on the ready-to-invoice list with the debtor's contact details.
  pb::ListReadyToInvoiceRequest rq;
  rq.set_debtor_id(debtor);
  pb::ListReadyToInvoiceResponse ready;
  ASSERT_GRPC_OK(stack->debtor_query().ListReadyToInvoice(Call().get(), rq, &ready));
  ASSERT_EQ(ready.invoices_size(), 1);
  EXPECT_EQ(ready.invoices(0).invoice_id(), inv.invoice_id());
  EXPECT_EQ(ready.invoices(0).debtor().phone(), "0400 000 000");
  EXPECT_EQ(ready.invoices(0).lines(0).quantity_ready(), 3);

  // A new invoice prompts, the clerk ticks it, finalising invoices it.
  pb::Invoice second_inv = Invoice(branch, debtor);
  EXPECT_EQ(second_inv.ready_backorders(), 1);
  // The prompt counts the invoice's branch only: the same debtor has nothing ready at another.
  EXPECT_EQ(Invoice(Id("B2"), debtor).ready_backorders(), 0);
  pb::ListReadyBackordersRequest lr;
  lr.set_debtor_id(debtor);
  pb::ListReadyBackordersResponse listed;
  ASSERT_GRPC_OK(stack->invoicing().ListReadyBackorders(Call().get(), lr, &listed));
  ASSERT_EQ(listed.backorders_size(), 1);
  pb::AddBackorderLinesRequest tick;
  tick.set_request_id(NextRequest());
  tick.set_invoice_id(second_inv.invoice_id());
  tick.add_backorder_ids(bo);
  pb::Invoice ticked;
  ASSERT_GRPC_OK(stack->invoicing().AddBackorderLines(Call().get(), tick, &ticked));
  EXPECT_EQ(ticked.total().minor_units(), 3 * 2500);  // the agreed price
  auto invoiced = Finalise(second_inv.invoice_id());
  ASSERT_EQ(invoiced.invoiced_size(), 1);
  pb::Backorder final_view = Agreed(bo, pb::BACKORDER_STATE_INVOICED);
  EXPECT_EQ(final_view.quantities().invoiced(), 3);
  EXPECT_TRUE(Eventually([&] { return Stock(branch, part).on_hand() == 2; }));
  EXPECT_TRUE(Eventually([&] {
    pb::ListReadyToInvoiceResponse r;
    return stack->debtor_query().ListReadyToInvoice(Call().get(), rq, &r).ok() &&
           r.invoices_size() == 0;
  }));
  ExpectConserved(branch, part);
}

TEST_F(Workflow, ReceivedStockFillsBackOrdersOldestFirstAcrossDebtors) {
  const std::string branch = Id("B1"), part = Id("P"), supplier = Id("SUP");
  const std::string d1 = Id("D1"), d2 = Id("D2"), d3 = Id("D3");
  for (const auto& d : {d1, d2, d3}) Debtor(d, true);
  Part(part, supplier);
  const std::string oldest = BackOrder(branch, d2, part, 2);
  const std::string middle = BackOrder(branch, d1, part, 2);
  const std::string newest = BackOrder(branch, d3, part, 2);
  // Receiving must have registered all three before the stock comes.
  ASSERT_TRUE(Eventually([&] { return Stock(branch, part).backorders_size() == 3; }));

  auto received = Receive(branch, supplier, part, 3);
  ASSERT_EQ(received.filled_size(), 2);
  EXPECT_EQ(received.filled(0).context().backorder_id(), oldest);
  EXPECT_EQ(received.filled(0).context().debtor_id(), d2);
  EXPECT_EQ(received.filled(0).quantity(), 2);
  EXPECT_EQ(received.filled(1).context().backorder_id(), middle);
  EXPECT_EQ(received.filled(1).quantity(), 1);
  Agreed(oldest, pb::BACKORDER_STATE_FILLED);
  Agreed(middle, pb::BACKORDER_STATE_PARTLY_FILLED);
  Agreed(newest, pb::BACKORDER_STATE_OPEN);
  ExpectConserved(branch, part);
}

TEST_F(Workflow, ADebtorWithoutBackOrdersGetsNoneAndTheShortfallIsALostSale) {
  const std::string branch = Id("B1"), part = Id("P"), debtor = Id("D");
  Debtor(debtor, false);
  Part(part, Id("SUP"));
  Adjust(branch, part, 1);
  pb::Invoice inv = Invoice(branch, debtor);
  auto added = AddPart(inv.invoice_id(), part, 4);
  EXPECT_FALSE(added.backorder_offered());
  EXPECT_EQ(added.line().quantity_supplied(), 1);
  EXPECT_EQ(added.line().quantity_back_ordered(), 0);
  EXPECT_EQ(added.line().quantity_lost(), 3);

  pb::AdjustPartLineRequest adj;
  adj.set_request_id(NextRequest());
  adj.set_invoice_id(inv.invoice_id());
  adj.set_line(1);
  adj.set_quantity_supplied(1);
  adj.set_quantity_back_ordered(3);
  pb::Invoice after;
  EXPECT_EQ(stack->invoicing().AdjustPartLine(Call().get(), adj, &after).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  auto done = Finalise(inv.invoice_id());
  EXPECT_EQ(done.created_size(), 0);
  // The lost sale is on the invoicing topic, with the context a subscriber needs.
  bool found = false;
  ASSERT_TRUE(Eventually([&] {
    for (const auto& r : kafka::testing::ReadAll(kInvoicingTopic, 0, std::chrono::seconds(10))) {
      pb::EventEnvelope e;
      if (e.ParseFromString(r.value) && e.has_lost_sale_recorded() &&
          e.lost_sale_recorded().invoice_id() == inv.invoice_id()) {
        found = e.lost_sale_recorded().quantity() == 3 &&
                e.lost_sale_recorded().debtor_id() == debtor && r.ce_type == "LostSaleRecorded";
        return true;
      }
    }
    return false;
  }));
  EXPECT_TRUE(found);
  pb::ListBackordersRequest lb;
  lb.set_debtor_id(debtor);
  pb::ListBackordersResponse none;
  ASSERT_GRPC_OK(stack->debtor_query().ListBackorders(Call().get(), lb, &none));
  EXPECT_EQ(none.backorders_size(), 0);
}

TEST_F(Workflow, TwoClerksRacingForTheLastUnitsNeverBothGetThem) {
  const std::string branch = Id("B1"), part = Id("P"), debtor = Id("D");
  Debtor(debtor, true);
  Part(part, Id("SUP"));
  Adjust(branch, part, 3);
  constexpr int kClerks = 8;
  std::vector<pb::Invoice> invoices;
  for (int i = 0; i < kClerks; ++i) invoices.push_back(Invoice(branch, debtor));
  std::vector<pb::AddPartLineResponse> lines(kClerks);
  std::vector<std::thread> clerks;
  for (int i = 0; i < kClerks; ++i) {
    clerks.emplace_back([&, i] {
      pb::AddPartLineRequest req;
      req.set_request_id(Id("race") + std::to_string(i));
      req.set_invoice_id(invoices[i].invoice_id());
      req.set_part_number(part);
      req.set_quantity_ordered(2);
      EXPECT_TRUE(stack->invoicing().AddPartLine(Call().get(), req, &lines[i]).ok());
    });
  }
  for (auto& t : clerks) t.join();
  int64_t supplied = 0;
  for (const auto& l : lines) supplied += l.line().quantity_supplied();
  EXPECT_EQ(supplied, 3) << "exactly the 3 units in stock were handed out";
  pb::StockPosition p = Stock(branch, part);
  EXPECT_EQ(p.held(), 3);
  EXPECT_EQ(p.free(), 0);
  ExpectConserved(branch, part);
}

TEST_F(Workflow, AnAbandonedDraftsHoldReturnsAfterExpiryAndFillsAWaitingBackOrder) {
  const std::string branch = Id("B1"), part = Id("P"), debtor = Id("D");
  Debtor(debtor, true);
  Part(part, Id("SUP"));
  Adjust(branch, part, 2);
  pb::Invoice draft = Invoice(branch, debtor);
  EXPECT_EQ(AddPart(draft.invoice_id(), part, 2).line().quantity_supplied(), 2);
  // Everything is held, so this back order waits for all of its 2.
  const std::string bo = BackOrder(branch, debtor, part, 2);
  Agreed(bo, pb::BACKORDER_STATE_OPEN);
  // The draft is left as it is; the stack's holds last 3 s.
  pb::Backorder filled = Agreed(bo, pb::BACKORDER_STATE_FILLED);
  EXPECT_EQ(filled.quantities().filled(), 2);
  EXPECT_EQ(Stock(branch, part).held(), 0);
  ExpectConserved(branch, part);
}

TEST_F(Workflow, ACancellationPassesItsStockToTheNextBackOrder) {
  const std::string branch = Id("B1"), part = Id("P"), supplier = Id("SUP");
  const std::string d1 = Id("D1"), d2 = Id("D2");
  Debtor(d1, true);
  Debtor(d2, true);
  Part(part, supplier);
  const std::string first = BackOrder(branch, d1, part, 2);
  const std::string second = BackOrder(branch, d2, part, 2);
  ASSERT_TRUE(Eventually([&] { return Stock(branch, part).backorders_size() == 2; }));
  Receive(branch, supplier, part, 2);
  Agreed(first, pb::BACKORDER_STATE_FILLED);
  Agreed(second, pb::BACKORDER_STATE_OPEN);

  pb::CancelBackorderRequest no_reason;
  no_reason.set_request_id(NextRequest());
  no_reason.set_backorder_id(first);
  pb::Backorder out;
  grpc::Status s = stack->invoicing().CancelBackorder(Call().get(), no_reason, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "reason");

  pb::CancelBackorderRequest cancel = no_reason;
  cancel.set_reason("customer bought elsewhere");
  ASSERT_GRPC_OK(stack->invoicing().CancelBackorder(Call().get(), cancel, &out));
  pb::Backorder cancelled = Agreed(first, pb::BACKORDER_STATE_CANCELLED);
  EXPECT_EQ(cancelled.quantities().cancelled(), 2);
  EXPECT_EQ(cancelled.cancel_reason(), "customer bought elsewhere");
  Agreed(second, pb::BACKORDER_STATE_FILLED);
  ExpectConserved(branch, part);

  // Its history says who cancelled it and why.
  pb::GetBackorderHistoryRequest hr;
  hr.set_backorder_id(first);
  pb::BackorderHistory history;
  ASSERT_GRPC_OK(stack->debtor_query().GetBackorderHistory(Call().get(), hr, &history));
  ASSERT_GE(history.entries_size(), 3);  // created, filled, cancelled
  const auto& last = history.entries(history.entries_size() - 1);
  EXPECT_EQ(last.type(), "BackorderCancelled");
  EXPECT_EQ(last.reason(), "customer bought elsewhere");
  EXPECT_EQ(last.actor().subject(), TestStack::kSubject);  // the token's, not the metadata's
}

TEST_F(Workflow, ABackOrderIsNeverOnTwoStockOrders) {
  const std::string branch = Id("B1"), part = Id("P"), other_part = Id("Q"), supplier = Id("SUP"),
                    other_supplier = Id("SUP2"), debtor = Id("D");
  Debtor(debtor, true);
  Part(part, supplier);
  Part(other_part, other_supplier);
  const std::string a = BackOrder(branch, debtor, part, 2);
  const std::string b = BackOrder(branch, debtor, part, 3);
  const std::string c = BackOrder(branch, debtor, other_part, 1);

  auto create = [&](const std::string& sup) {
    pb::CreateStockOrderRequest req;
    req.set_request_id(NextRequest());
    req.set_branch_id(branch);
    req.set_supplier_id(sup);
    pb::StockOrder so;
    EXPECT_TRUE(stack->purchasing().CreateStockOrder(Call().get(), req, &so).ok());
    return so;
  };
  pb::StockOrder first = create(supplier);
  pb::StockOrder second = create(supplier);
  auto listed = [&](const pb::StockOrder& so, bool this_supplier_only) {
    pb::GetBackordersRequest req;
    req.set_stock_order_id(so.stock_order_id());
    req.set_this_supplier_only(this_supplier_only);
    pb::GetBackordersResponse resp;
    EXPECT_TRUE(stack->purchasing().GetBackorders(Call().get(), req, &resp).ok());
    std::vector<std::string> ids;
    for (const auto& x : resp.backorders()) ids.push_back(x.context().backorder_id());
    return ids;
  };
  ASSERT_TRUE(Eventually([&] { return listed(first, false).size() == 3; }));
  EXPECT_EQ(listed(first, true), (std::vector<std::string>{a, b}));  // Yes: this supplier only

  auto tick = [&](const pb::StockOrder& so, std::vector<std::string> ids) {
    pb::AddBackorderLinesToOrderRequest req;
    req.set_request_id(NextRequest());
    req.set_stock_order_id(so.stock_order_id());
    for (const auto& id : ids) req.add_backorder_ids(id);
    pb::StockOrder out;
    EXPECT_TRUE(stack->purchasing().AddBackorderLines(Call().get(), req, &out).ok());
    return out;
  };
  pb::StockOrder ticked = tick(first, {a, b});
  ASSERT_EQ(ticked.lines_size(), 1);  // one line for the part, both back orders traceable
  EXPECT_EQ(ticked.lines(0).quantity(), 5);
  EXPECT_EQ(ticked.lines(0).backorders_size(), 2);
  tick(second, {b});  // the second clerk ticks b too, before the first finalises

  auto finalise = [&](const pb::StockOrder& so) {
    pb::FinaliseStockOrderRequest req;
    req.set_request_id(NextRequest());
    req.set_stock_order_id(so.stock_order_id());
    pb::StockOrder out;
    grpc::Status s = stack->purchasing().FinaliseStockOrder(Call().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  };
  pb::StockOrder placed = finalise(first);
  EXPECT_EQ(placed.status(), pb::STOCK_ORDER_STATUS_PLACED);
  pb::StockOrder late = finalise(second);
  EXPECT_EQ(late.dropped_backorder_ids_size(), 1);  // b was already on the first order
  Agreed(a, pb::BACKORDER_STATE_ON_ORDER);
  pb::Backorder on_order = Agreed(b, pb::BACKORDER_STATE_ON_ORDER);
  EXPECT_EQ(on_order.stock_order_id(), first.stock_order_id());
  EXPECT_EQ(listed(first, false), (std::vector<std::string>{c}));

  // The supplier delivers against the order: the back orders fill.
  Receive(branch, supplier, part, 5, first.stock_order_id());
  Agreed(a, pb::BACKORDER_STATE_FILLED);
  Agreed(b, pb::BACKORDER_STATE_FILLED);
  ExpectConserved(branch, part);
}

// Every page of the list `req`, one row per page: `list(req, &response)` calls it and
// `take(response)` reads each answer (at most 10 pages: the test expects 3 rows at most).
template <typename Response, typename Request, typename List, typename Take>
void EveryPage(Request req, List list, Take take) {
  req.set_page_size(1);
  for (int pages = 0; pages < 10; ++pages) {
    Response resp;
    const grpc::Status s = list(req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    take(resp);
    if (!s.ok() || resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
}

// Issue 8: a list that names no branch shows a caller limited to some branches only theirs
// (Caller::MaySee), page by page, rather than refusing them or showing everyone's.
TEST_F(Workflow, ListsShowACallerOfSomeBranchesOnlyTheirRows) {
  const std::string a = Id("BA"), b = Id("BB"), c = Id("BC"), part = Id("P"), supplier = Id("SUP"),
                    debtor = Id("D");
  Debtor(debtor, true);
  Part(part, supplier);
  std::map<std::string, std::string> backorder;  // branch -> its back order, filled
  for (const std::string& branch : {a, b, c}) {
    backorder[branch] = BackOrder(branch, debtor, part, 2);
    ASSERT_TRUE(Eventually([&] { return Stock(branch, part).backorders_size() == 1; }));
    Receive(branch, supplier, part, 2);
    Agreed(backorder[branch], pb::BACKORDER_STATE_FILLED);
  }
  std::map<std::string, std::string> stock_order;  // branch -> a draft stock order there
  for (const std::string& branch : {a, c}) {
    pb::CreateStockOrderRequest req;
    req.set_request_id(NextRequest());
    req.set_branch_id(branch);
    req.set_supplier_id(supplier);
    pb::StockOrder so;
    ASSERT_GRPC_OK(stack->purchasing().CreateStockOrder(Call().get(), req, &so));
    stock_order[branch] = so.stock_order_id();
  }
  // Wait until debtor-query has all three ready, as the group token sees them.
  ASSERT_TRUE(Eventually([&] {
    pb::ListReadyToInvoiceRequest req;
    req.set_debtor_id(debtor);
    pb::ListReadyToInvoiceResponse resp;
    return stack->debtor_query().ListReadyToInvoice(Call().get(), req, &resp).ok() &&
           resp.invoices_size() == 3;
  }));

  // Stubs as a clerk of a and b, and as a clerk of c alone.
  struct Stubs {
    std::unique_ptr<pb::DebtorQueryService::Stub> query;
    std::unique_ptr<pb::InvoicingService::Stub> invoicing;
    std::unique_ptr<pb::PurchasingService::Stub> purchasing;
  };
  auto stubs_of = [&](const std::vector<std::string>& branches) {
    const auto credentials =
        rpc::ClientChannelCredentials(stack->pki().Client("kim@e2e", "clerk", branches));
    auto channel = [&](const char* service) {
      return grpc::CreateChannel(stack->services().at(service).addr, credentials);
    };
    return Stubs{pb::DebtorQueryService::NewStub(channel("debtor-query")),
                 pb::InvoicingService::NewStub(channel("invoicing")),
                 pb::PurchasingService::NewStub(channel("purchasing"))};
  };
  const Stubs two = stubs_of({a, b});
  const Stubs one = stubs_of({c});

  auto backorders = [&](const Stubs& as) {
    std::vector<std::string> ids;
    pb::ListBackordersRequest req;
    req.set_debtor_id(debtor);
    EveryPage<pb::ListBackordersResponse>(
        req, [&](auto& r, auto* resp) { return as.query->ListBackorders(Call().get(), r, resp); },
        [&](const auto& resp) {
          EXPECT_EQ(resp.total_size(), &as == &one ? 1 : 2);  // counts only what the caller sees
          for (const auto& x : resp.backorders()) ids.push_back(x.context().backorder_id());
        });
    return ids;
  };
  auto ready = [&](const Stubs& as) {
    std::vector<std::string> ids;
    pb::ListReadyToInvoiceRequest req;
    req.set_debtor_id(debtor);
    EveryPage<pb::ListReadyToInvoiceResponse>(
        req,
        [&](auto& r, auto* resp) { return as.query->ListReadyToInvoice(Call().get(), r, resp); },
        [&](const auto& resp) {
          for (const auto& invoice : resp.invoices()) {
            for (const auto& line : invoice.lines()) ids.push_back(line.backorder_id());
          }
        });
    return ids;
  };
  auto invoice_branches = [&](const Stubs& as) {
    std::set<std::string> branches;
    pb::ListInvoicesRequest req;
    req.set_debtor_id(debtor);
    EveryPage<pb::ListInvoicesResponse>(
        req, [&](auto& r, auto* resp) { return as.invoicing->ListInvoices(Call().get(), r, resp); },
        [&](const auto& resp) {
          for (const auto& x : resp.invoices()) branches.insert(x.branch_id());
        });
    return branches;
  };
  auto ready_for_debtor = [&](const Stubs& as) {
    std::set<std::string> ids;
    pb::ListReadyBackordersRequest req;
    req.set_debtor_id(debtor);
    pb::ListReadyBackordersResponse resp;
    EXPECT_TRUE(as.invoicing->ListReadyBackorders(Call().get(), req, &resp).ok());
    for (const auto& x : resp.backorders()) ids.insert(x.context().backorder_id());
    return ids;
  };
  // The stock orders of this test's supplier.
  auto stock_orders = [&](const Stubs& as) {
    std::set<std::string> ids;
    pb::ListStockOrdersRequest req;
    req.set_supplier_id(supplier);
    EveryPage<pb::ListStockOrdersResponse>(
        req,
        [&](auto& r, auto* resp) { return as.purchasing->ListStockOrders(Call().get(), r, resp); },
        [&](const auto& resp) {
          for (const auto& x : resp.stock_orders()) ids.insert(x.stock_order_id());
        });
    return ids;
  };

  using Ids = std::vector<std::string>;
  using IdSet = std::set<std::string>;
  EXPECT_EQ(backorders(two), (Ids{backorder[a], backorder[b]}));  // oldest first
  EXPECT_EQ(backorders(one), (Ids{backorder[c]}));
  EXPECT_EQ(ready(two), (Ids{backorder[a], backorder[b]}));  // by branch
  EXPECT_EQ(ready(one), (Ids{backorder[c]}));
  EXPECT_EQ(invoice_branches(two), (IdSet{a, b}));
  EXPECT_EQ(invoice_branches(one), (IdSet{c}));
  EXPECT_EQ(ready_for_debtor(two), (IdSet{backorder[a], backorder[b]}));
  EXPECT_EQ(ready_for_debtor(one), (IdSet{backorder[c]}));
  EXPECT_EQ(stock_orders(two), (IdSet{stock_order[a]}));
  EXPECT_EQ(stock_orders(one), (IdSet{stock_order[c]}));

  // Naming a branch still has to name one of theirs.
  pb::ListBackordersRequest other;
  other.set_branch_id(c);
  pb::ListBackordersResponse resp;
  EXPECT_EQ(two.query->ListBackorders(Call().get(), other, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// invoicing holds stock through receiving on every part line. While receiving is down a line
// cannot be added (the clerk tries again); once it is back the next line must reach it, not fail
// because invoicing's connection is still waiting out a reconnect backoff grown during the outage
// (gRPC's default: about 6 s after 12 s down, up to two minutes) or stalled in a TLS handshake.
TEST_F(Workflow, APartLineReachesReceivingAsSoonAsItIsBackAfterAnOutage) {
  const std::string branch = Id("B1"), part = Id("P"), debtor = Id("D");
  Debtor(debtor, true);
  Part(part, Id("SUP"));
  Adjust(branch, part, 10);
  pb::Invoice inv = Invoice(branch, debtor);

  stack->Kill("receiving");
  grpc::Status s;
  AddPart(inv.invoice_id(), part, 1, &s);
  EXPECT_TRUE(s.error_code() == grpc::StatusCode::UNAVAILABLE ||
              s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
      << s.error_code() << " " << s.error_message();
  std::this_thread::sleep_for(std::chrono::seconds(12));  // the outage: invoicing keeps trying
  stack->Restart("receiving");

  auto added = AddPart(inv.invoice_id(), part, 2, &s);  // once, no retry
  EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(added.line().quantity_supplied(), 2);
  EXPECT_EQ(Stock(branch, part).held(), 2);
  ExpectConserved(branch, part);
}

TEST_F(Workflow, FinalisingTwiceOrReusingARequestIdChangesNothing) {
  const std::string branch = Id("B1"), part = Id("P"), debtor = Id("D");
  Debtor(debtor, true);
  Part(part, Id("SUP"));
  pb::Invoice inv = Invoice(branch, debtor);
  AddPart(inv.invoice_id(), part, 2);
  const std::string request = NextRequest();
  auto first = Finalise(inv.invoice_id(), request);
  auto again = Finalise(inv.invoice_id(), request);  // a retry: the first answer
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  pb::FinaliseInvoiceRequest twice;
  twice.set_request_id(NextRequest());
  twice.set_invoice_id(inv.invoice_id());
  pb::FinaliseInvoiceResponse resp;
  EXPECT_EQ(stack->invoicing().FinaliseInvoice(Call().get(), twice, &resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // One back order, created once, on every service.
  ASSERT_EQ(first.created_size(), 1);
  const std::string bo = first.created(0).context().backorder_id();
  Agreed(bo, pb::BACKORDER_STATE_OPEN);
  int created = 0;
  for (const auto& r : kafka::testing::ReadAll(kInvoicingTopic, 0, std::chrono::seconds(10))) {
    pb::EventEnvelope e;
    if (e.ParseFromString(r.value) && e.has_backorder_created() &&
        e.backorder_created().context().backorder_id() == bo) {
      ++created;
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(Stock(branch, part).backorders_size(), 1);
}

TEST_F(Workflow, TheFourServicesAgreeAndStockIsConservedAfterABusyFlow) {
  const std::string branch = Id("B1"), branch2 = Id("B2"), part = Id("P"), supplier = Id("SUP");
  std::vector<std::string> debtors;
  for (int i = 0; i < 4; ++i) {
    debtors.push_back(Id("D") + std::to_string(i));
    Debtor(debtors.back(), true);
  }
  Part(part, supplier);
  Adjust(branch, part, 3);
  Adjust(branch2, part, 1);
  std::vector<std::string> bos;
  for (int i = 0; i < 6; ++i) {
    const std::string& b = i % 2 == 0 ? branch : branch2;
    pb::Invoice inv = Invoice(b, debtors[i % 4]);
    AddPart(inv.invoice_id(), part, 2 + i % 3);
    auto done = Finalise(inv.invoice_id());
    for (const auto& c : done.created()) bos.push_back(c.context().backorder_id());
  }
  Receive(branch, supplier, part, 4);
  Receive(branch2, supplier, part, 2);
  if (!bos.empty()) {
    pb::CancelBackorderRequest cancel;
    cancel.set_request_id(NextRequest());
    cancel.set_backorder_id(bos.front());
    cancel.set_reason("no longer needed");
    pb::Backorder out;
    ASSERT_GRPC_OK(stack->invoicing().CancelBackorder(Call().get(), cancel, &out));
  }
  Adjust(branch, part, 2);
  for (const auto& id : bos) {
    Views v;
    const bool agreed = Eventually([&] {
      v = ViewsOf(id);
      return v.invoicing.SerializeAsString().size() > 0 &&
             v.invoicing.state() == v.purchasing.state() &&
             v.invoicing.state() == v.query.state() &&
             v.invoicing.quantities().SerializeAsString() ==
                 v.purchasing.quantities().SerializeAsString() &&
             v.invoicing.quantities().SerializeAsString() ==
                 v.query.quantities().SerializeAsString();
    });
    EXPECT_TRUE(agreed) << id << "\n " << v.invoicing.ShortDebugString() << "\n "
                        << v.purchasing.ShortDebugString() << "\n " << v.query.ShortDebugString();
  }
  // Receiving's ledger agrees on every back order it still has open.
  for (const auto& b : {branch, branch2}) {
    ASSERT_TRUE(Eventually([&] {
      const pb::StockPosition position = Stock(b, part);
      for (const auto& open : position.backorders()) {
        if (ViewsOf(open.context().backorder_id()).invoicing.quantities().SerializeAsString() !=
            open.quantities().SerializeAsString()) {
          return false;
        }
      }
      return true;
    }));
    ExpectConserved(b, part);
  }
}

// Bad input on the RPCs of every service: a precise status naming the field or the reason,
// and nothing changes.
TEST_F(Workflow, BadInputGetsAPreciseStatusAndChangesNothing) {
  const std::string branch = Id("B1"), part = Id("P"), debtor = Id("D");
  Debtor(debtor, true);
  Part(part, Id("SUP"));
  Adjust(branch, part, 2);
  pb::Invoice inv = Invoice(branch, debtor);
  const std::string before_stock = Stock(branch, part).SerializeAsString();

  struct Case {
    std::string name;
    std::function<grpc::Status()> call;
    grpc::StatusCode code;
    std::string field;  // expected BadRequest field ("" when not INVALID_ARGUMENT)
  };
  std::vector<Case> cases;
  auto add_part = [&](std::function<void(pb::AddPartLineRequest&)> change) {
    return [&, change] {
      pb::AddPartLineRequest r;
      r.set_request_id(NextRequest());
      r.set_invoice_id(inv.invoice_id());
      r.set_part_number(part);
      r.set_quantity_ordered(1);
      change(r);
      pb::AddPartLineResponse resp;
      return stack->invoicing().AddPartLine(Call().get(), r, &resp);
    };
  };
  cases.push_back({"add part, no request id", add_part([](auto& r) { r.clear_request_id(); }),
                   grpc::StatusCode::INVALID_ARGUMENT, "request_id"});
  cases.push_back({"add part, zero quantity", add_part([](auto& r) { r.set_quantity_ordered(0); }),
                   grpc::StatusCode::INVALID_ARGUMENT, "quantity_ordered"});
  cases.push_back({"add part, negative quantity",
                   add_part([](auto& r) { r.set_quantity_ordered(-3); }),
                   grpc::StatusCode::INVALID_ARGUMENT, "quantity_ordered"});
  cases.push_back({"add part, malformed part", add_part([](auto& r) { r.set_part_number("P 1"); }),
                   grpc::StatusCode::INVALID_ARGUMENT, "part_number"});
  cases.push_back({"add part, unknown part", add_part([](auto& r) { r.set_part_number("NOPE"); }),
                   grpc::StatusCode::NOT_FOUND, ""});
  cases.push_back({"add part, unknown invoice",
                   add_part([](auto& r) { r.set_invoice_id("INV-X-000001"); }),
                   grpc::StatusCode::NOT_FOUND, ""});
  cases.push_back({"add part, bad currency", add_part([](auto& r) {
                     r.mutable_unit_price()->set_currency("dollars");
                     r.mutable_unit_price()->set_minor_units(5);
                   }),
                   grpc::StatusCode::INVALID_ARGUMENT, "unit_price.currency"});
  cases.push_back({"create invoice, no kind",
                   [&] {
                     pb::CreateInvoiceRequest r;
                     r.set_request_id(NextRequest());
                     r.set_branch_id(branch);
                     r.set_debtor_id(debtor);
                     pb::Invoice resp;
                     return stack->invoicing().CreateInvoice(Call().get(), r, &resp);
                   },
                   grpc::StatusCode::INVALID_ARGUMENT, "kind"});
  cases.push_back({"cancel unknown back order",
                   [&] {
                     pb::CancelBackorderRequest r;
                     r.set_request_id(NextRequest());
                     r.set_backorder_id("BO-NOPE-1");
                     r.set_reason("x");
                     pb::Backorder resp;
                     return stack->invoicing().CancelBackorder(Call().get(), r, &resp);
                   },
                   grpc::StatusCode::NOT_FOUND, ""});
  cases.push_back({"adjust stock, no reason",
                   [&] {
                     pb::AdjustStockRequest r;
                     r.set_request_id(NextRequest());
                     r.set_branch_id(branch);
                     r.set_part_number(part);
                     r.set_delta(5);
                     pb::AdjustStockResponse resp;
                     return stack->receiving().AdjustStock(Call().get(), r, &resp);
                   },
                   grpc::StatusCode::INVALID_ARGUMENT, "reason"});
  cases.push_back({"adjust stock, write down more than free",
                   [&] {
                     pb::AdjustStockRequest r;
                     r.set_request_id(NextRequest());
                     r.set_branch_id(branch);
                     r.set_part_number(part);
                     r.set_delta(-50);
                     r.set_reason("stocktake");
                     pb::AdjustStockResponse resp;
                     return stack->receiving().AdjustStock(Call().get(), r, &resp);
                   },
                   grpc::StatusCode::FAILED_PRECONDITION, ""});
  cases.push_back({"receive, no lines",
                   [&] {
                     pb::ProcessCreditorInvoiceRequest r;
                     r.set_request_id(NextRequest());
                     r.set_branch_id(branch);
                     r.set_creditor_invoice_id("CI-1");
                     r.set_supplier_id("SUP");
                     pb::ProcessCreditorInvoiceResponse resp;
                     return stack->receiving().ProcessCreditorInvoice(Call().get(), r, &resp);
                   },
                   grpc::StatusCode::INVALID_ARGUMENT, "lines"});
  cases.push_back({"create debtor, no name",
                   [&] {
                     pb::CreateDebtorRequest r;
                     r.set_request_id(NextRequest());
                     r.mutable_debtor()->set_debtor_id(Id("DX"));
                     pb::Debtor resp;
                     return stack->debtor_query().CreateDebtor(Call().get(), r, &resp);
                   },
                   grpc::StatusCode::INVALID_ARGUMENT, "debtor.name"});
  cases.push_back({"stock order for unknown order",
                   [&] {
                     pb::GetBackordersRequest r;
                     r.set_stock_order_id("SO-NOPE-000001");
                     pb::GetBackordersResponse resp;
                     return stack->purchasing().GetBackorders(Call().get(), r, &resp);
                   },
                   grpc::StatusCode::NOT_FOUND, ""});
  cases.push_back({"add stock line, zero quantity",
                   [&] {
                     pb::AddStockLineRequest r;
                     r.set_request_id(NextRequest());
                     r.set_stock_order_id("SO-NOPE-000001");
                     r.set_part_number(part);
                     pb::StockOrder resp;
                     return stack->purchasing().AddStockLine(Call().get(), r, &resp);
                   },
                   grpc::StatusCode::INVALID_ARGUMENT, "quantity"});
  cases.push_back({"list back orders, negative age",
                   [&] {
                     pb::ListBackordersRequest r;
                     r.set_min_age_days(-1);
                     pb::ListBackordersResponse resp;
                     return stack->debtor_query().ListBackorders(Call().get(), r, &resp);
                   },
                   grpc::StatusCode::INVALID_ARGUMENT, "min_age_days"});
  // One more for every other RPC: each names what is wrong.
  auto rpc = [&](std::string name, grpc::StatusCode code, std::string field, auto call) {
    cases.push_back({std::move(name), call, code, std::move(field)});
  };
  using Code = grpc::StatusCode;
  rpc("upsert part, negative price", Code::INVALID_ARGUMENT, "part.unit_price.minor_units", [&] {
    pb::UpsertPartRequest r;
    r.set_request_id(NextRequest());
    r.mutable_part()->set_part_number(part);
    r.mutable_part()->set_supplier_id("SUP");
    r.mutable_part()->mutable_unit_price()->set_currency("AUD");
    r.mutable_part()->mutable_unit_price()->set_minor_units(-1);
    pb::Part resp;
    return stack->receiving().UpsertPart(Call().get(), r, &resp);
  });
  rpc("get part, unknown", Code::NOT_FOUND, "", [&] {
    pb::GetPartRequest r;
    r.set_part_number("NO-SUCH-PART");
    pb::Part resp;
    return stack->receiving().GetPart(Call().get(), r, &resp);
  });
  rpc("list parts, page size too big", Code::INVALID_ARGUMENT, "page_size", [&] {
    pb::ListPartsRequest r;
    r.set_page_size(5000);
    pb::ListPartsResponse resp;
    return stack->receiving().ListParts(Call().get(), r, &resp);
  });
  rpc("get stock, no branch", Code::INVALID_ARGUMENT, "branch_id", [&] {
    pb::GetStockRequest r;
    r.set_part_number(part);
    pb::StockPosition resp;
    return stack->receiving().GetStock(Call().get(), r, &resp);
  });
  rpc("hold stock, line 0", Code::INVALID_ARGUMENT, "invoice_line", [&] {
    pb::HoldStockRequest r;
    r.set_request_id(NextRequest());
    r.set_branch_id(branch);
    r.set_part_number(part);
    r.set_invoice_id(inv.invoice_id());
    r.set_quantity(1);
    pb::HoldStockResponse resp;
    return stack->receiving_from_invoicing().HoldStock(Call().get(), r, &resp);
  });
  rpc("release hold, no invoice", Code::INVALID_ARGUMENT, "invoice_id", [&] {
    pb::ReleaseHoldRequest r;
    r.set_request_id(NextRequest());
    r.set_branch_id(branch);
    r.set_part_number(part);
    r.set_invoice_line(1);
    pb::ReleaseHoldResponse resp;
    return stack->receiving_from_invoicing().ReleaseHold(Call().get(), r, &resp);
  });
  rpc("receive, same part twice", Code::INVALID_ARGUMENT, "lines[1].part_number", [&] {
    pb::ProcessCreditorInvoiceRequest r;
    r.set_request_id(NextRequest());
    r.set_branch_id(branch);
    r.set_creditor_invoice_id("CI-2");
    r.set_supplier_id("SUP");
    for (int i = 0; i < 2; ++i) {
      r.add_lines()->set_part_number(part);
      r.mutable_lines(i)->set_quantity(1);
    }
    pb::ProcessCreditorInvoiceResponse resp;
    return stack->receiving().ProcessCreditorInvoice(Call().get(), r, &resp);
  });
  rpc("get invoice, malformed id", Code::INVALID_ARGUMENT, "invoice_id", [&] {
    pb::GetInvoiceRequest r;
    r.set_invoice_id("INV 1");
    pb::Invoice resp;
    return stack->invoicing().GetInvoice(Call().get(), r, &resp);
  });
  rpc("list invoices, bad token", Code::INVALID_ARGUMENT, "page_token", [&] {
    pb::ListInvoicesRequest r;
    r.set_page_token("not-a-token");
    pb::ListInvoicesResponse resp;
    return stack->invoicing().ListInvoices(Call().get(), r, &resp);
  });
  rpc("adjust line, negative supplied", Code::INVALID_ARGUMENT, "quantity_supplied", [&] {
    pb::AdjustPartLineRequest r;
    r.set_request_id(NextRequest());
    r.set_invoice_id(inv.invoice_id());
    r.set_line(1);
    r.set_quantity_supplied(-1);
    pb::Invoice resp;
    return stack->invoicing().AdjustPartLine(Call().get(), r, &resp);
  });
  rpc("adjust line, no such line", Code::NOT_FOUND, "", [&] {
    pb::AdjustPartLineRequest r;
    r.set_request_id(NextRequest());
    r.set_invoice_id(inv.invoice_id());
    r.set_line(7);
    pb::Invoice resp;
    return stack->invoicing().AdjustPartLine(Call().get(), r, &resp);
  });
  rpc("charge line, no description", Code::INVALID_ARGUMENT, "description", [&] {
    pb::AddChargeLineRequest r;
    r.set_request_id(NextRequest());
    r.set_invoice_id(inv.invoice_id());
    r.mutable_amount()->set_currency("AUD");
    r.mutable_amount()->set_minor_units(100);
    pb::Invoice resp;
    return stack->invoicing().AddChargeLine(Call().get(), r, &resp);
  });
  rpc("ready back orders, no debtor", Code::INVALID_ARGUMENT, "debtor_id", [&] {
    pb::ListReadyBackordersRequest r;
    pb::ListReadyBackordersResponse resp;
    return stack->invoicing().ListReadyBackorders(Call().get(), r, &resp);
  });
  rpc("add back order lines, ticked twice", Code::INVALID_ARGUMENT, "backorder_ids[1]", [&] {
    pb::AddBackorderLinesRequest r;
    r.set_request_id(NextRequest());
    r.set_invoice_id(inv.invoice_id());
    r.add_backorder_ids("BO-X-1");
    r.add_backorder_ids("BO-X-1");
    pb::Invoice resp;
    return stack->invoicing().AddBackorderLines(Call().get(), r, &resp);
  });
  rpc("add back order lines, unknown", Code::NOT_FOUND, "", [&] {
    pb::AddBackorderLinesRequest r;
    r.set_request_id(NextRequest());
    r.set_invoice_id(inv.invoice_id());
    r.add_backorder_ids("BO-NO-SUCH-1");
    pb::Invoice resp;
    return stack->invoicing().AddBackorderLines(Call().get(), r, &resp);
  });
  rpc("finalise, empty draft", Code::FAILED_PRECONDITION, "", [&] {
    pb::FinaliseInvoiceRequest r;
    r.set_request_id(NextRequest());
    r.set_invoice_id(inv.invoice_id());
    pb::FinaliseInvoiceResponse resp;
    return stack->invoicing().FinaliseInvoice(Call().get(), r, &resp);
  });
  rpc("abandon, unknown invoice", Code::NOT_FOUND, "", [&] {
    pb::AbandonInvoiceRequest r;
    r.set_request_id(NextRequest());
    r.set_invoice_id("INV-NONE-000001");
    pb::Invoice resp;
    return stack->invoicing().AbandonInvoice(Call().get(), r, &resp);
  });
  rpc("get back order, no id", Code::INVALID_ARGUMENT, "backorder_id", [&] {
    pb::GetBackorderRequest r;
    pb::Backorder resp;
    return stack->invoicing().GetBackorder(Call().get(), r, &resp);
  });
  rpc("create stock order, no supplier", Code::INVALID_ARGUMENT, "supplier_id", [&] {
    pb::CreateStockOrderRequest r;
    r.set_request_id(NextRequest());
    r.set_branch_id(branch);
    pb::StockOrder resp;
    return stack->purchasing().CreateStockOrder(Call().get(), r, &resp);
  });
  rpc("get stock order, unknown", Code::NOT_FOUND, "", [&] {
    pb::GetStockOrderRequest r;
    r.set_stock_order_id("SO-NONE-000001");
    pb::StockOrder resp;
    return stack->purchasing().GetStockOrder(Call().get(), r, &resp);
  });
  rpc("list stock orders, negative page size", Code::INVALID_ARGUMENT, "page_size", [&] {
    pb::ListStockOrdersRequest r;
    r.set_page_size(-1);
    pb::ListStockOrdersResponse resp;
    return stack->purchasing().ListStockOrders(Call().get(), r, &resp);
  });
  rpc("tick on stock order, none ticked", Code::INVALID_ARGUMENT, "backorder_ids", [&] {
    pb::AddBackorderLinesToOrderRequest r;
    r.set_request_id(NextRequest());
    r.set_stock_order_id("SO-NONE-000001");
    pb::StockOrder resp;
    return stack->purchasing().AddBackorderLines(Call().get(), r, &resp);
  });
  rpc("finalise stock order, unknown", Code::NOT_FOUND, "", [&] {
    pb::FinaliseStockOrderRequest r;
    r.set_request_id(NextRequest());
    r.set_stock_order_id("SO-NONE-000001");
    pb::StockOrder resp;
    return stack->purchasing().FinaliseStockOrder(Call().get(), r, &resp);
  });
  rpc("purchasing back order, unknown", Code::NOT_FOUND, "", [&] {
    pb::GetPurchasingBackorderRequest r;
    r.set_backorder_id("BO-NONE-1");
    pb::Backorder resp;
    return stack->purchasing().GetBackorder(Call().get(), r, &resp);
  });
  rpc("update debtor, unknown", Code::NOT_FOUND, "", [&] {
    pb::UpdateDebtorRequest r;
    r.set_request_id(NextRequest());
    r.mutable_debtor()->set_debtor_id(Id("NOBODY"));
    r.mutable_debtor()->set_name("Nobody");
    pb::Debtor resp;
    return stack->debtor_query().UpdateDebtor(Call().get(), r, &resp);
  });
  rpc("update debtor, bad email", Code::INVALID_ARGUMENT, "debtor.email", [&] {
    pb::UpdateDebtorRequest r;
    r.set_request_id(NextRequest());
    r.mutable_debtor()->set_debtor_id(debtor);
    r.mutable_debtor()->set_name("Debtor");
    r.mutable_debtor()->set_email("not an email");
    pb::Debtor resp;
    return stack->debtor_query().UpdateDebtor(Call().get(), r, &resp);
  });
  rpc("get debtor, unknown", Code::NOT_FOUND, "", [&] {
    pb::GetDebtorRequest r;
    r.set_debtor_id(Id("NOBODY"));
    pb::Debtor resp;
    return stack->debtor_query().GetDebtor(Call().get(), r, &resp);
  });
  rpc("list debtors, bad token", Code::INVALID_ARGUMENT, "page_token", [&] {
    pb::ListDebtorsRequest r;
    r.set_page_token("zz");
    pb::ListDebtorsResponse resp;
    return stack->debtor_query().ListDebtors(Call().get(), r, &resp);
  });
  rpc("ready to invoice, malformed branch", Code::INVALID_ARGUMENT, "branch_id", [&] {
    pb::ListReadyToInvoiceRequest r;
    r.set_branch_id("B 1");
    pb::ListReadyToInvoiceResponse resp;
    return stack->debtor_query().ListReadyToInvoice(Call().get(), r, &resp);
  });
  rpc("history, unknown back order", Code::NOT_FOUND, "", [&] {
    pb::GetBackorderHistoryRequest r;
    r.set_backorder_id("BO-NONE-1");
    pb::BackorderHistory resp;
    return stack->debtor_query().GetBackorderHistory(Call().get(), r, &resp);
  });
  for (const auto& c : cases) {
    grpc::Status s = c.call();
    EXPECT_EQ(s.error_code(), c.code) << c.name << ": " << s.error_message();
    if (c.code == grpc::StatusCode::INVALID_ARGUMENT) {
      EXPECT_EQ(BadField(s), c.field) << c.name << ": " << s.error_message();
    }
  }
  // A step in the wrong state: a line on an abandoned draft.
  pb::Invoice gone = Invoice(branch, debtor);
  pb::AbandonInvoiceRequest ab;
  ab.set_request_id(NextRequest());
  ab.set_invoice_id(gone.invoice_id());
  pb::Invoice abandoned;
  ASSERT_GRPC_OK(stack->invoicing().AbandonInvoice(Call().get(), ab, &abandoned));
  grpc::Status late;
  AddPart(gone.invoice_id(), part, 1, &late);
  EXPECT_EQ(late.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << late.error_message();
  EXPECT_GE(cases.size(), 45u);
  EXPECT_EQ(Stock(branch, part).SerializeAsString(), before_stock);
  pb::GetInvoiceRequest gi;
  gi.set_invoice_id(inv.invoice_id());
  pb::Invoice after;
  ASSERT_GRPC_OK(stack->invoicing().GetInvoice(Call().get(), gi, &after));
  EXPECT_EQ(after.lines_size(), 0);
}

}  // namespace
}  // namespace bo::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new bo::testing::StackEnvironment);
  return RUN_ALL_TESTS();
}
