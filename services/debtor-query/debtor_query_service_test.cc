#include "services/debtor-query/debtor_query_service.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "services/common/topics.h"
#include "services/debtor-query/read_model_keys.h"
#include "services/debtor-query/test_support.h"

namespace bo::debtor_query {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using namespace fixtures;  // NOLINT: the event builders

// The field a google.rpc.BadRequest in the status details names ("" if none).
std::string BadField(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return "";
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&bad) && bad.field_violations_size() > 0) {
      return bad.field_violations(0).field();
    }
  }
  return "";
}

pb::Debtor Debtor(const std::string& id, const std::string& name = "Smith Motors") {
  pb::Debtor d;
  d.set_debtor_id(id);
  d.set_name(name);
  d.set_contact_name("Jo Smith");
  d.set_phone("+61 2 5550 1234");
  d.set_email("jo@smith.example");
  d.set_use_backorders(true);
  return d;
}

class DebtorQueryServiceTest : public ::testing::Test {
 protected:
  static constexpr int64_t kNowDay = 30;  // "now" is Day(30)

  grpc::Status Create(const std::string& request_id, const pb::Debtor& d,
                      pb::Debtor* out = nullptr) {
    pb::CreateDebtorRequest req;
    req.set_request_id(request_id);
    *req.mutable_debtor() = d;
    pb::Debtor resp;
    grpc::Status s = service_.CreateDebtor(nullptr, &req, &resp);
    if (out != nullptr) *out = resp;
    return s;
  }
  grpc::Status Update(const std::string& request_id, const pb::Debtor& d,
                      pb::Debtor* out = nullptr) {
    pb::UpdateDebtorRequest req;
    req.set_request_id(request_id);
    *req.mutable_debtor() = d;
    pb::Debtor resp;
    grpc::Status s = service_.UpdateDebtor(nullptr, &req, &resp);
    if (out != nullptr) *out = resp;
    return s;
  }
  void Apply(const pb::EventEnvelope& e) { ASSERT_TRUE(Feed(&projection_, db_.db(), e).ok()); }
  // Everything a command could have written.
  size_t Written() {
    return db_.Dump(kEventsFamily).size() + db_.Dump(kStateFamily).size() +
           db_.Dump(kIdempotencyFamily).size() + db_.Dump(kOutboxFamily).size();
  }
  pb::ListBackordersResponse List(pb::ListBackordersRequest req) {
    pb::ListBackordersResponse resp;
    grpc::Status s = service_.ListBackorders(nullptr, &req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
  static std::vector<std::string> Ids(const pb::ListBackordersResponse& resp) {
    std::vector<std::string> ids;
    for (const auto& b : resp.backorders()) ids.push_back(b.context().backorder_id());
    return ids;
  }

  TempDatabase db_{"service"};
  ReadModelProjection projection_{db_.db()};
  DebtorQueryService service_{db_.store(), Access::Insecure(),
                              [] { return FromProto(Day(kNowDay)); }};
};

// ---- Debtors ----

TEST_F(DebtorQueryServiceTest, CreateStoresPublishesAndAnswersTheRecord) {
  pb::Debtor created;
  ASSERT_TRUE(Create("r1", Debtor("D-1"), &created).ok());
  EXPECT_EQ(created.name(), "Smith Motors");
  EXPECT_EQ(created.updated_by(), "anonymous");
  EXPECT_EQ(created.updated_at().seconds(), Day(kNowDay).seconds());

  pb::GetDebtorRequest get;
  get.set_debtor_id("D-1");
  pb::Debtor got;
  ASSERT_TRUE(service_.GetDebtor(nullptr, &get, &got).ok());
  EXPECT_EQ(got.SerializeAsString(), created.SerializeAsString());

  auto stream = db_.store()->ReadStream(DebtorStream("D-1"));
  ASSERT_TRUE(stream.ok());
  ASSERT_THAT(*stream, SizeIs(1));
  pb::EventEnvelope event;
  ASSERT_TRUE(event.ParseFromString((*stream)[0]));
  EXPECT_EQ(event.type(), "DebtorUpdated");
  EXPECT_EQ(event.aggregate_version(), 1u);
  EXPECT_TRUE(event.branch_id().empty());
  EXPECT_EQ(event.debtor_updated().email(), "jo@smith.example");
  EXPECT_TRUE(event.debtor_updated().use_backorders());
  EXPECT_FALSE(event.event_id().empty());

  auto outbox = db_.store()->ReadOutbox(0, 10);
  ASSERT_TRUE(outbox.ok());
  ASSERT_THAT(*outbox, SizeIs(1));
  EXPECT_EQ((*outbox)[0].message.topic, kDebtorQueryTopic);
  EXPECT_EQ((*outbox)[0].message.key, "D-1");
  EXPECT_EQ((*outbox)[0].message.value, (*stream)[0]);
}

TEST_F(DebtorQueryServiceTest, CreateIsIdempotentAndRefusesATakenId) {
  pb::Debtor first, again;
  ASSERT_TRUE(Create("r1", Debtor("D-1"), &first).ok());
  ASSERT_TRUE(Create("r1", Debtor("D-1", "Other name"), &again).ok());  // a retry
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(*db_.store()->StreamVersion(DebtorStream("D-1")), 1u);

  grpc::Status s = Create("r2", Debtor("D-1"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(*db_.store()->StreamVersion(DebtorStream("D-1")), 1u);
}

TEST_F(DebtorQueryServiceTest, UpdateReplacesTheWholeRecord) {
  EXPECT_EQ(Update("r0", Debtor("D-9")).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Written(), 0u);

  ASSERT_TRUE(Create("r1", Debtor("D-1")).ok());
  pb::Debtor changed;
  changed.set_debtor_id("D-1");
  changed.set_name("Smith Motors Pty");
  changed.set_use_backorders(false);
  pb::Debtor updated;
  ASSERT_TRUE(Update("r2", changed, &updated).ok());
  EXPECT_EQ(updated.name(), "Smith Motors Pty");
  EXPECT_TRUE(updated.email().empty());  // replaced, not merged
  EXPECT_FALSE(updated.use_backorders());
  EXPECT_EQ(*db_.store()->StreamVersion(DebtorStream("D-1")), 2u);
  // A retry answers the same and changes nothing.
  pb::Debtor retried;
  ASSERT_TRUE(Update("r2", Debtor("D-1"), &retried).ok());
  EXPECT_EQ(retried.SerializeAsString(), updated.SerializeAsString());
  EXPECT_EQ(*db_.store()->StreamVersion(DebtorStream("D-1")), 2u);
}

TEST_F(DebtorQueryServiceTest, ListDebtorsPagesById) {
  for (const char* id : {"D-3", "D-1", "D-2"}) {
    ASSERT_TRUE(Create(std::string("r-") + id, Debtor(id)).ok());
  }
  pb::ListDebtorsRequest req;
  req.set_page_size(2);
  pb::ListDebtorsResponse page1, page2;
  ASSERT_TRUE(service_.ListDebtors(nullptr, &req, &page1).ok());
  ASSERT_THAT(page1.debtors(), SizeIs(2));
  EXPECT_EQ(page1.debtors(0).debtor_id(), "D-1");
  EXPECT_EQ(page1.debtors(1).debtor_id(), "D-2");
  ASSERT_FALSE(page1.next_page_token().empty());
  req.set_page_token(page1.next_page_token());
  ASSERT_TRUE(service_.ListDebtors(nullptr, &req, &page2).ok());
  ASSERT_THAT(page2.debtors(), SizeIs(1));
  EXPECT_EQ(page2.debtors(0).debtor_id(), "D-3");
  EXPECT_TRUE(page2.next_page_token().empty());
}

TEST_F(DebtorQueryServiceTest, BadDebtorInputNamesTheFieldAndWritesNothing) {
  struct Case {
    std::string field;
    std::string request_id;
    pb::Debtor debtor;
  };
  std::vector<Case> cases;
  cases.push_back({"request_id", "", Debtor("D-1")});
  cases.push_back({"request_id", "has space", Debtor("D-1")});
  cases.push_back({"debtor.debtor_id", "r", Debtor("")});
  cases.push_back({"debtor.debtor_id", "r", Debtor("D 1")});
  cases.push_back({"debtor.name", "r", Debtor("D-1", "  ")});
  cases.push_back({"debtor.name", "r", Debtor("D-1", std::string(201, 'x'))});
  {
    pb::Debtor d = Debtor("D-1");
    d.set_contact_name(std::string(201, 'x'));
    cases.push_back({"debtor.contact_name", "r", d});
  }
  {
    pb::Debtor d = Debtor("D-1");
    d.set_phone("\x01");
    cases.push_back({"debtor.phone", "r", d});
  }
  {
    pb::Debtor d = Debtor("D-1");
    d.set_email("jo.smith.example");
    cases.push_back({"debtor.email", "r", d});
  }
  {
    pb::Debtor d = Debtor("D-1");
    d.set_email("jo @smith.example");
    cases.push_back({"debtor.email", "r", d});
  }
  for (const Case& c : cases) {
    for (bool update : {false, true}) {
      grpc::Status s = update ? Update(c.request_id, c.debtor) : Create(c.request_id, c.debtor);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
      EXPECT_EQ(BadField(s), c.field) << s.error_message();
      EXPECT_TRUE(s.error_message().starts_with(c.field + ": ")) << s.error_message();
    }
  }
  EXPECT_EQ(Written(), 0u);

  pb::GetDebtorRequest get;
  pb::Debtor got;
  grpc::Status s = service_.GetDebtor(nullptr, &get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "debtor_id");
  get.set_debtor_id("D-404");
  EXPECT_EQ(service_.GetDebtor(nullptr, &get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
}

// ---- Ready to invoice ----

TEST_F(DebtorQueryServiceTest, ReadyToInvoiceGroupsByInvoiceWithTheDebtorsContactDetails) {
  ASSERT_TRUE(Create("r1", Debtor("D-1")).ok());
  const auto a1 = Context("BO-B1-000001-1", "B1", "D-1", "INV-B1-000001", 1);
  const auto a2 = Context("BO-B1-000001-2", "B1", "D-1", "INV-B1-000001", 2, "P-200");
  const auto b1 = Context("BO-B1-000002-1", "B1", "D-1", "INV-B1-000002", 1);
  const auto c1 = Context("BO-B2-000001-1", "B2", "D-7", "INV-B2-000001", 1);
  const auto waiting = Context("BO-B1-000003-1", "B1", "D-1", "INV-B1-000003", 1);
  Apply(Created("e1", a1, 5, Day(1)));
  Apply(Created("e2", a2, 1, Day(1)));
  Apply(Created("e3", b1, 1, Day(2)));
  Apply(Created("e4", c1, 3, Day(2)));
  Apply(Created("e5", waiting, 3, Day(2)));
  Apply(Filled("e6", a2, 1, Quantities(1, 1), Day(3)));
  Apply(Filled("e7", a1, 2, Quantities(5, 2), Day(4)));  // partly: 2 ready, 3 waiting
  Apply(Filled("e8", b1, 1, Quantities(1, 1), Day(4)));
  Apply(Filled("e9", c1, 3, Quantities(3, 3), Day(4)));

  pb::ListReadyToInvoiceRequest all;
  pb::ListReadyToInvoiceResponse resp;
  ASSERT_TRUE(service_.ListReadyToInvoice(nullptr, &all, &resp).ok());
  ASSERT_THAT(resp.invoices(), SizeIs(3));
  const pb::ReadyInvoice& first = resp.invoices(0);
  EXPECT_EQ(first.branch_id(), "B1");
  EXPECT_EQ(first.invoice_id(), "INV-B1-000001");
  EXPECT_EQ(first.invoice_kind(), pb::INVOICE_KIND_WORKSHOP);
  EXPECT_EQ(first.debtor().name(), "Smith Motors");
  EXPECT_EQ(first.debtor().phone(), "+61 2 5550 1234");
  ASSERT_THAT(first.lines(), SizeIs(2));
  EXPECT_EQ(first.lines(0).backorder_id(), "BO-B1-000001-1");
  EXPECT_EQ(first.lines(0).quantity_ready(), 2);
  EXPECT_EQ(first.lines(0).quantity_waiting(), 3);
  EXPECT_EQ(first.lines(0).state(), pb::BACKORDER_STATE_PARTLY_FILLED);
  EXPECT_EQ(first.lines(0).unit_price().minor_units(), 1250);
  EXPECT_EQ(first.lines(0).created_at().seconds(), Day(1).seconds());
  EXPECT_EQ(first.lines(0).filled_at().seconds(), Day(4).seconds());
  EXPECT_EQ(first.lines(1).backorder_id(), "BO-B1-000001-2");
  EXPECT_EQ(first.lines(1).quantity_waiting(), 0);
  EXPECT_EQ(resp.invoices(1).invoice_id(), "INV-B1-000002");
  // A debtor the master file does not know still shows, by id.
  EXPECT_EQ(resp.invoices(2).branch_id(), "B2");
  EXPECT_EQ(resp.invoices(2).debtor().debtor_id(), "D-7");
  EXPECT_TRUE(resp.invoices(2).debtor().name().empty());

  pb::ListReadyToInvoiceRequest by_branch;
  by_branch.set_branch_id("B2");
  resp.Clear();
  ASSERT_TRUE(service_.ListReadyToInvoice(nullptr, &by_branch, &resp).ok());
  ASSERT_THAT(resp.invoices(), SizeIs(1));
  EXPECT_EQ(resp.invoices(0).invoice_id(), "INV-B2-000001");

  pb::ListReadyToInvoiceRequest by_debtor;
  by_debtor.set_debtor_id("D-1");
  resp.Clear();
  ASSERT_TRUE(service_.ListReadyToInvoice(nullptr, &by_debtor, &resp).ok());
  ASSERT_THAT(resp.invoices(), SizeIs(2));

  by_debtor.set_branch_id("B2");
  resp.Clear();
  ASSERT_TRUE(service_.ListReadyToInvoice(nullptr, &by_debtor, &resp).ok());
  EXPECT_THAT(resp.invoices(), IsEmpty());

  pb::ListReadyToInvoiceRequest bad;
  bad.set_debtor_id("D 1");
  grpc::Status s = service_.ListReadyToInvoice(nullptr, &bad, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "debtor_id");
  bad.Clear();
  bad.set_branch_id(std::string(65, 'b'));
  EXPECT_EQ(BadField(service_.ListReadyToInvoice(nullptr, &bad, &resp)), "branch_id");
}

TEST_F(DebtorQueryServiceTest, ReadyToInvoicePagesCarryOnWhereTheLastEnded) {
  // Four ready lines: two of one invoice, one each of two more (one of them at another debtor).
  const auto a1 = Context("BO-B1-000001-1", "B1", "D-1", "INV-B1-000001", 1);
  const auto a2 = Context("BO-B1-000001-2", "B1", "D-1", "INV-B1-000001", 2);
  const auto b1 = Context("BO-B1-000002-1", "B1", "D-2", "INV-B1-000002", 1);
  const auto c1 = Context("BO-B1-000003-1", "B1", "D-1", "INV-B1-000003", 1);
  int n = 0;
  for (const auto& c : {a1, a2, b1, c1}) {
    Apply(Created("c" + std::to_string(++n), c, 1, Day(1)));
    Apply(Filled("f" + std::to_string(n), c, 1, Quantities(1, 1), Day(2)));
  }
  auto lines = [](const pb::ListReadyToInvoiceResponse& r) {
    std::vector<std::string> ids;
    for (const auto& invoice : r.invoices()) {
      for (const auto& line : invoice.lines()) ids.push_back(line.backorder_id());
    }
    return ids;
  };

  pb::ListReadyToInvoiceRequest req;
  req.set_page_size(3);
  pb::ListReadyToInvoiceResponse page;
  ASSERT_TRUE(service_.ListReadyToInvoice(nullptr, &req, &page).ok());
  // Debtor D-1's invoices first (the index runs branch, debtor, invoice), then D-2's.
  EXPECT_EQ(lines(page),
            (std::vector<std::string>{"BO-B1-000001-1", "BO-B1-000001-2", "BO-B1-000003-1"}));
  ASSERT_FALSE(page.next_page_token().empty());
  req.set_page_token(page.next_page_token());
  page.Clear();
  ASSERT_TRUE(service_.ListReadyToInvoice(nullptr, &req, &page).ok());
  EXPECT_EQ(lines(page), std::vector<std::string>{"BO-B1-000002-1"});
  EXPECT_TRUE(page.next_page_token().empty());

  // Without a page size or token, everything at once, as before paging.
  pb::ListReadyToInvoiceRequest all;
  page.Clear();
  ASSERT_TRUE(service_.ListReadyToInvoice(nullptr, &all, &page).ok());
  EXPECT_EQ(lines(page).size(), 4u);
  EXPECT_TRUE(page.next_page_token().empty());

  // A page size beyond the limit, a token of another list: the field is named.
  pb::ListReadyToInvoiceRequest bad;
  bad.set_page_size(1001);
  EXPECT_EQ(BadField(service_.ListReadyToInvoice(nullptr, &bad, &page)), "page_size");
  bad.Clear();
  bad.set_branch_id("B2");
  bad.set_page_token(req.page_token());
  EXPECT_EQ(BadField(service_.ListReadyToInvoice(nullptr, &bad, &page)), "page_token");
}

// ---- ListBackorders ----

class ListBackordersTest : public DebtorQueryServiceTest {
 protected:
  void SetUp() override {
    // Created on days 1..6 (now is day 30: ages 29..24 days).
    Apply(Created("e1", Context("BO-1", "B1", "D-1", "INV-1", 1, "P-1", "S-1"), 2, Day(1)));
    Apply(Created("e2", Context("BO-2", "B2", "D-1", "INV-2", 1, "P-1", "S-1"), 2, Day(2)));
    Apply(Created("e3", Context("BO-3", "B1", "D-2", "INV-3", 1, "P-2", "S-2"), 2, Day(3)));
    Apply(Created("e4", Context("BO-4", "B1", "D-2", "INV-3", 2, "P-1", "S-1"), 2, Day(4)));
    Apply(Created("e5", Context("BO-5", "B1", "D-1", "INV-5", 1, "P-2", "S-2"), 2, Day(5)));
    Apply(Created("e6", Context("BO-6", "B2", "D-3", "INV-6", 1, "P-3", "S-1"), 2, Day(6)));
    Apply(Filled("e7", Context("BO-3", "B1", "D-2", "INV-3", 1, "P-2", "S-2"), 2, Quantities(2, 2),
                 Day(7)));
  }
};

TEST_F(ListBackordersTest, NoFilterListsAllOldestFirst) {
  auto resp = List({});
  EXPECT_THAT(Ids(resp), ElementsAre("BO-1", "BO-2", "BO-3", "BO-4", "BO-5", "BO-6"));
  EXPECT_EQ(resp.total_size(), 6);
  EXPECT_TRUE(resp.next_page_token().empty());
}

TEST_F(ListBackordersTest, EachFilterNarrows) {
  pb::ListBackordersRequest req;
  req.set_branch_id("B2");
  EXPECT_THAT(Ids(List(req)), ElementsAre("BO-2", "BO-6"));
  req.Clear();
  req.set_debtor_id("D-2");
  EXPECT_THAT(Ids(List(req)), ElementsAre("BO-3", "BO-4"));
  req.Clear();
  req.set_supplier_id("S-2");
  EXPECT_THAT(Ids(List(req)), ElementsAre("BO-3", "BO-5"));
  req.Clear();
  req.set_part_number("P-1");
  EXPECT_THAT(Ids(List(req)), ElementsAre("BO-1", "BO-2", "BO-4"));
  req.Clear();
  req.set_state(pb::BACKORDER_STATE_FILLED);
  EXPECT_THAT(Ids(List(req)), ElementsAre("BO-3"));
  req.Clear();
  req.set_min_age_days(27);  // created day 3 or before
  EXPECT_THAT(Ids(List(req)), ElementsAre("BO-1", "BO-2", "BO-3"));
  req.Clear();
  req.set_max_age_days(25);  // created day 5 or after
  EXPECT_THAT(Ids(List(req)), ElementsAre("BO-5", "BO-6"));
  req.set_min_age_days(25);
  EXPECT_THAT(Ids(List(req)), ElementsAre("BO-5"));
  req.Clear();
  req.set_branch_id("B1");
  req.set_debtor_id("D-1");
  req.set_part_number("P-2");
  EXPECT_THAT(Ids(List(req)), ElementsAre("BO-5"));
}

TEST_F(ListBackordersTest, AStateFilterPagesThroughThatStateOnly) {
  for (const std::string branch : {"", "B1"}) {
    pb::ListBackordersRequest req;
    req.set_branch_id(branch);
    req.set_state(pb::BACKORDER_STATE_OPEN);
    req.set_page_size(2);
    std::vector<std::string> seen;
    do {
      auto resp = List(req);
      EXPECT_EQ(resp.total_size(), branch.empty() ? 5 : 3);
      for (const auto& bo : resp.backorders()) seen.push_back(bo.context().backorder_id());
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty() && seen.size() < 10);
    if (branch.empty()) {
      EXPECT_THAT(seen, ElementsAre("BO-1", "BO-2", "BO-4", "BO-5", "BO-6"));
    } else {
      EXPECT_THAT(seen, ElementsAre("BO-1", "BO-4", "BO-5"));
    }
  }
  pb::ListBackordersRequest req;
  req.set_branch_id("B2");
  req.set_state(pb::BACKORDER_STATE_FILLED);
  auto resp = List(req);
  EXPECT_THAT(Ids(resp), IsEmpty());
  EXPECT_EQ(resp.total_size(), 0);
}

TEST_F(ListBackordersTest, PagesCarryOnWhereTheLastEnded) {
  for (const std::string branch : {"", "B1"}) {
    pb::ListBackordersRequest req;
    req.set_branch_id(branch);
    req.set_page_size(2);
    std::vector<std::string> seen;
    int pages = 0;
    do {
      auto resp = List(req);
      EXPECT_EQ(resp.total_size(), branch.empty() ? 6 : 4);
      EXPECT_LE(resp.backorders_size(), 2);
      for (const auto& id : Ids(resp)) seen.push_back(id);
      req.set_page_token(resp.next_page_token());
      ++pages;
    } while (!req.page_token().empty() && pages < 10);
    if (branch.empty()) {
      EXPECT_THAT(seen, ElementsAre("BO-1", "BO-2", "BO-3", "BO-4", "BO-5", "BO-6"));
      EXPECT_EQ(pages, 3);
    } else {
      EXPECT_THAT(seen, ElementsAre("BO-1", "BO-3", "BO-4", "BO-5"));
      EXPECT_EQ(pages, 2);
    }
  }
}

TEST_F(ListBackordersTest, BadFiltersNameTheField) {
  struct Case {
    std::string field;
    pb::ListBackordersRequest req;
  };
  std::vector<Case> cases(9);
  cases[0] = {"branch_id", {}};
  cases[0].req.set_branch_id("B 1");
  cases[1] = {"debtor_id", {}};
  cases[1].req.set_debtor_id(std::string(65, 'd'));
  cases[2] = {"supplier_id", {}};
  cases[2].req.set_supplier_id("S*");
  cases[3] = {"part_number", {}};
  cases[3].req.set_part_number("P 1");
  cases[4] = {"state", {}};
  cases[4].req.set_state(static_cast<pb::BackorderState>(42));
  cases[5] = {"min_age_days", {}};
  cases[5].req.set_min_age_days(-1);
  cases[6] = {"max_age_days", {}};
  cases[6].req.set_max_age_days(-3);
  cases[7] = {"min_age_days", {}};
  cases[7].req.set_min_age_days(10);
  cases[7].req.set_max_age_days(5);
  cases[8] = {"page_token", {}};
  cases[8].req.set_page_token("zz");
  for (const Case& c : cases) {
    pb::ListBackordersResponse resp;
    grpc::Status s = service_.ListBackorders(nullptr, &c.req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(BadField(s), c.field) << s.error_message();
  }
  // A token of one list is refused by another.
  pb::ListBackordersRequest req;
  req.set_page_size(1);
  auto first = List(req);
  req.set_branch_id("B1");
  req.set_page_token(first.next_page_token());
  pb::ListBackordersResponse resp;
  EXPECT_EQ(BadField(service_.ListBackorders(nullptr, &req, &resp)), "page_token");
  req.Clear();
  req.set_page_size(1001);
  EXPECT_EQ(BadField(service_.ListBackorders(nullptr, &req, &resp)), "page_size");
}

// ---- History ----

TEST_F(DebtorQueryServiceTest, HistoryTellsWhoDidWhatAndWhy) {
  const auto c = Context("BO-1");
  Apply(Created("e1", c, 3, Day(1)));
  Apply(Placed("e2", "SO-B1-000001", {{"BO-1"}}, Day(2)));
  Apply(Filled("e3", c, 3, Quantities(3, 3), Day(3)));
  Apply(Cancelled("e4", c, Quantities(3, 0, 0, 3), "customer cancelled", Day(4)));

  pb::GetBackorderHistoryRequest req;
  req.set_backorder_id("BO-1");
  pb::BackorderHistory history;
  ASSERT_TRUE(service_.GetBackorderHistory(nullptr, &req, &history).ok());
  EXPECT_EQ(history.backorder().state(), pb::BACKORDER_STATE_CANCELLED);
  ASSERT_THAT(history.entries(), SizeIs(4));
  EXPECT_EQ(history.entries(0).type(), "BackorderCreated");
  EXPECT_EQ(history.entries(0).actor().subject(), "clerk:anna@B1");
  EXPECT_EQ(history.entries(1).type(), "StockOrderPlaced");
  EXPECT_THAT(history.entries(1).summary(), ::testing::HasSubstr("SO-B1-000001"));
  EXPECT_EQ(history.entries(2).actor().subject(), "svc:receiving");
  EXPECT_THAT(history.entries(2).summary(), ::testing::HasSubstr("CI-9"));
  EXPECT_EQ(history.entries(3).reason(), "customer cancelled");
  EXPECT_EQ(history.entries(3).occurred_at().seconds(), Day(4).seconds());
  EXPECT_EQ(history.entries(3).event().event_id(), "e4");

  req.set_backorder_id("BO-404");
  EXPECT_EQ(service_.GetBackorderHistory(nullptr, &req, &history).error_code(),
            grpc::StatusCode::NOT_FOUND);
  req.set_backorder_id("");
  grpc::Status s = service_.GetBackorderHistory(nullptr, &req, &history);
  EXPECT_EQ(BadField(s), "backorder_id");
}

}  // namespace
}  // namespace bo::debtor_query
