// The dashboard's JSON API (dashboard.h) on a real RocksDB fed known events through the
// projection, with a fixed clock and a fake status fetch: no HTTP, no Kafka.
#include "services/debtor-query/dashboard.h"

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backorder/v1/debtor_query_service.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/debtor-query/dashboard_assets.h"
#include "services/debtor-query/projection.h"
#include "services/debtor-query/read_model_keys.h"
#include "services/debtor-query/test_support.h"

namespace bo::debtor_query {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using namespace fixtures;  // NOLINT: the event builders

absl::Time At(const google::protobuf::Timestamp& t) { return absl::FromUnixSeconds(t.seconds()); }

class DashboardTest : public ::testing::Test {
 protected:
  void Apply(const pb::EventEnvelope& e) { ASSERT_TRUE(Feed(&projection_, db_.db(), e).ok()); }

  void SaveDebtor(const std::string& id, const std::string& name, const std::string& contact,
                  const std::string& phone, const std::string& email) {
    pb::Debtor d;
    d.set_debtor_id(id);
    d.set_name(name);
    d.set_contact_name(contact);
    d.set_phone(phone);
    d.set_email(email);
    rocksdb::WriteBatch batch;
    batch.Put(db_.db()->family(kStateFamily), DebtorKey(id), d.SerializeAsString());
    ASSERT_TRUE(db_.db()->Write(&batch, false).ok());
  }

  Dashboard::Options Options() {
    Dashboard::Options o;
    o.clock = [] { return At(Day(40)); };
    o.own_status = [] {
      return R"({"service":"debtor-query","ready":true,"outbox_depth":0,"consumers":[
        {"name":"debtor-query.readmodel","caught_up":true,"partitions":[
          {"topic":"backorder.invoicing.v1","partition":0,"lag":0}]}]})";
    };
    o.peers = {{"invoicing", "INVOICING_HTTP", "http://127.0.0.1:1"},
               {"purchasing", "PURCHASING_HTTP", "http://127.0.0.1:2"},
               {"receiving", "RECEIVING_HTTP", ""}};
    o.fetch = [this](const std::string& url) -> absl::StatusOr<std::string> {
      {
        std::lock_guard lock(fetched_mu_);  // the dashboard asks its peers in parallel
        fetched_.push_back(url);
      }
      if (url == "http://127.0.0.1:1") {
        return R"({"service":"invoicing","ready":false,"outbox_depth":3,"consumers":[
          {"name":"invoicing.reactions","caught_up":false,"partitions":[
            {"topic":"backorder.receiving.v1","partition":0,"lag":5},
            {"topic":"backorder.receiving.v1","partition":1,"lag":2}]}]})";
      }
      return absl::UnavailableError("connection refused");
    };
    return o;
  }

  // GET /api/v1/dashboard with `params`, expecting `status` (with Options() unless given).
  json Get(std::multimap<std::string, std::string> params = {}, int status = 200,
           std::optional<Dashboard::Options> options = std::nullopt) {
    Dashboard dashboard(db_.db(), options.has_value() ? std::move(*options) : Options());
    Dashboard::Answer answer = dashboard.Get(params);
    EXPECT_EQ(answer.status, status) << answer.body;
    json body = json::parse(answer.body, nullptr, false);
    EXPECT_FALSE(body.is_discarded()) << answer.body;
    return body;
  }

  // Two branches. At B1 (now = Day(40)): A1 invoiced after a complete fill, A2 filled and
  // waiting to be invoiced for D-2, A3 on order, A4 partly filled for D-1. At B2: C1 filled
  // for D-1 who has no master record. Lost sales at B1.
  void Story() {
    SaveDebtor("D-1", "Lee Panels", "Kim Lee", "03 9555 0303", "kim@leepanels.example");
    SaveDebtor("D-2", "Avery Motors", "", "03 9555 0404", "");
    const auto a1 = Context("BO-B1-000001-1", "B1", "D-1", "INV-B1-000001", 1, "HL-3003");
    const auto a2 = Context("BO-B1-000002-1", "B1", "D-2", "INV-B1-000002", 1, "BR-17");
    const auto a3 = Context("BO-B1-000003-1", "B1", "D-1", "INV-B1-000003", 1, "FL-2");
    const auto a4 = Context("BO-B1-000004-2", "B1", "D-1", "INV-B1-000004", 2, "WB-8");
    const auto c1 = Context("BO-B2-000001-1", "B2", "D-9", "INV-B2-000001", 1, "HL-3003");
    Apply(Created("e01", a1, 2, Day(1)));
    Apply(Filled("e02", a1, 2, Quantities(2, 2), Day(3)));
    Apply(Invoiced("e03", a1, 2, Quantities(2, 2, 2), Day(7)));
    Apply(Created("e04", a2, 3, Day(30)));
    Apply(Filled("e05", a2, 3, Quantities(3, 3), Day(36)));
    Apply(Created("e06", a3, 1, Day(39)));
    Apply(Placed("e07", "SO-B1-000001", {{"BO-B1-000003-1"}}, Day(39, 60)));
    Apply(Created("e08", a4, 4, Day(5)));
    Apply(Filled("e09", a4, 1, Quantities(4, 1), Day(38)));
    Apply(Created("e10", c1, 1, Day(36)));
    Apply(Filled("e11", c1, 1, Quantities(1, 1), Day(37)));
    Apply(LostSale("e12", "B1", 3, Day(20)));
  }

  TempDatabase db_{"dashboard"};
  ReadModelProjection projection_{db_.db()};
  std::mutex fetched_mu_;
  std::vector<std::string> fetched_;
};

TEST_F(DashboardTest, FiguresForTheGroupAndEachBranch) {
  Story();
  const json body = Get();
  EXPECT_EQ(body["generated_at"], "2025-07-25T15:06:40Z");  // Day(40)
  EXPECT_TRUE(body["branch"].is_null());
  EXPECT_EQ(body["branches"], json::array({"B1", "B2"}));

  const json& total = body["figures"]["total"];
  EXPECT_EQ(total["open"], 4);  // A2, A3, A4, C1
  EXPECT_EQ(total["open_by_state"],
            json({{"OPEN", 0}, {"ON_ORDER", 1}, {"PARTLY_FILLED", 1}, {"FILLED", 2}}));
  EXPECT_EQ(total["closed_by_state"], json({{"INVOICED", 1}, {"CANCELLED", 0}}));
  EXPECT_EQ(total["ready_to_invoice"], json({{"lines", 3}, {"quantity", 5}}));
  EXPECT_EQ(total["quantity"], json({{"back_ordered", 11}, {"filled", 7}, {"invoiced", 2}}));
  EXPECT_DOUBLE_EQ(total["fill_rate"].get<double>(), 0.6364);  // 7 / 11, to 4 decimals
  // Filled completely: A1 in 2 days, A2 in 6, C1 in 1.
  EXPECT_EQ(total["days_to_fill"]["count"], 3);
  EXPECT_DOUBLE_EQ(total["days_to_fill"]["average"].get<double>(), 3.0);
  EXPECT_EQ(total["days_to_fill"]["seconds_total"], 9 * 86'400);
  EXPECT_DOUBLE_EQ(total["days_to_invoice"]["average"].get<double>(), 6.0);  // A1
  EXPECT_EQ(total["lost_sales"], json({{"lines", 1}, {"quantity", 3}}));

  const json& branches = body["figures"]["branches"];
  ASSERT_EQ(branches.size(), 2u);
  EXPECT_EQ(branches[0]["branch"], "B1");
  EXPECT_EQ(branches[0]["open"], 3);
  EXPECT_EQ(branches[1]["branch"], "B2");
  EXPECT_EQ(branches[1]["fill_rate"], 1.0);
  EXPECT_TRUE(branches[1]["days_to_invoice"]["average"].is_null());  // nothing invoiced there
  EXPECT_EQ(branches[1]["lost_sales"]["lines"], 0);
}

TEST_F(DashboardTest, OpenBackordersByAgeBucket) {
  // Whole days at Day(40): 0, 2 | 3, 7 | 8, 14 | 15, 30 | 31, 39; and one not created yet.
  int n = 0;
  for (int day : {40, 38, 37, 33, 32, 26, 25, 10, 9, 1}) {
    const std::string id = "BO-B1-0000" + std::to_string(10 + n) + "-1";
    Apply(Created("c" + std::to_string(n++), Context(id), 1, Day(day)));
  }
  Apply(Filled("f1", Context("BO-B1-000099-1"), 1, Quantities(2, 1), Day(39)));
  // Closed ones are not open, whatever their age.
  const auto closed = Context("BO-B1-000098-1");
  Apply(Created("x1", closed, 1, Day(1)));
  Apply(Cancelled("x2", closed, Quantities(1, 0, 0, 1), "no", Day(2)));

  const json age = Get()["open_by_age"];
  ASSERT_EQ(age["buckets"].size(), 5u);
  EXPECT_EQ(age["buckets"][0],
            json({{"key", "0-2"}, {"label", "0–2 days"}, {"min_days", 0}, {"max_days", 2}}));
  EXPECT_TRUE(age["buckets"][4]["max_days"].is_null());
  ASSERT_EQ(age["branches"].size(), 1u);
  EXPECT_EQ(age["branches"][0]["branch"], "B1");
  EXPECT_EQ(age["branches"][0]["counts"], json::array({2, 2, 2, 2, 2}));
  EXPECT_EQ(age["branches"][0]["unknown_age"], 1);
  EXPECT_EQ(age["branches"][0]["total"], 11);
  EXPECT_EQ(age["total"]["counts"], json::array({2, 2, 2, 2, 2}));
}

TEST_F(DashboardTest, ReadyToInvoiceRowsCarryTheDebtorsContactInBranchAndDebtorOrder) {
  Story();
  const json ready = Get()["ready_to_invoice"];
  EXPECT_EQ(ready["total"], 3);
  EXPECT_EQ(ready["truncated"], false);
  const json& rows = ready["rows"];
  ASSERT_EQ(rows.size(), 3u);
  // B1/D-1 (A4), B1/D-2 (A2), B2/D-9 (C1).
  EXPECT_EQ(rows[0]["backorder_id"], "BO-B1-000004-2");
  EXPECT_EQ(rows[1]["backorder_id"], "BO-B1-000002-1");
  EXPECT_EQ(rows[2]["backorder_id"], "BO-B2-000001-1");
  EXPECT_EQ(rows[0], json({{"branch_id", "B1"},
                           {"debtor_id", "D-1"},
                           {"debtor_name", "Lee Panels"},
                           {"contact_name", "Kim Lee"},
                           {"phone", "03 9555 0303"},
                           {"email", "kim@leepanels.example"},
                           {"invoice_id", "INV-B1-000004"},
                           {"invoice_line", 2},
                           {"backorder_id", "BO-B1-000004-2"},
                           {"part_number", "WB-8"},
                           {"quantity_ready", 1},
                           {"quantity_waiting", 3},
                           {"state", "PARTLY_FILLED"},
                           {"ready_since", "2025-07-23T15:06:40Z"},
                           {"days_ready", 2}}));
  EXPECT_EQ(rows[1]["debtor_name"], "Avery Motors");
  EXPECT_EQ(rows[1]["quantity_ready"], 3);
  // A debtor the master file does not know still shows, by id.
  EXPECT_EQ(rows[2]["debtor_id"], "D-9");
  EXPECT_EQ(rows[2]["debtor_name"], "");
}

TEST_F(DashboardTest, TheReadyListIsCappedButCountedInFull) {
  Story();
  Dashboard::Options options = Options();
  options.ready_row_limit = 2;
  const json ready = Get({}, 200, std::move(options))["ready_to_invoice"];
  EXPECT_EQ(ready["total"], 3);
  EXPECT_EQ(ready["limit"], 2);
  EXPECT_EQ(ready["truncated"], true);
  EXPECT_EQ(ready["rows"].size(), 2u);
}

TEST_F(DashboardTest, ABranchFilterRestrictsEverything) {
  Story();
  const json body = Get({{"branch", "B2"}});
  EXPECT_EQ(body["branch"], "B2");
  EXPECT_EQ(body["branches"], json::array({"B1", "B2"}));  // still all, for the filter
  EXPECT_EQ(body["figures"]["total"]["open"], 1);
  EXPECT_EQ(body["figures"]["total"]["lost_sales"]["lines"], 0);
  ASSERT_EQ(body["figures"]["branches"].size(), 1u);
  EXPECT_EQ(body["figures"]["branches"][0]["branch"], "B2");
  ASSERT_EQ(body["open_by_age"]["branches"].size(), 1u);
  EXPECT_EQ(body["open_by_age"]["branches"][0]["branch"], "B2");
  EXPECT_EQ(body["open_by_age"]["total"]["total"], 1);
  EXPECT_EQ(body["ready_to_invoice"]["total"], 1);
  EXPECT_EQ(body["ready_to_invoice"]["rows"][0]["branch_id"], "B2");
  EXPECT_EQ(body["services"].size(), 4u);  // services are not per branch
}

TEST_F(DashboardTest, AnUnknownBranchHasEmptyFiguresNotAnError) {
  Story();
  const json body = Get({{"branch", "NOWHERE"}});
  EXPECT_EQ(body["branches"], json::array({"B1", "B2"}));
  EXPECT_EQ(body["figures"]["total"]["open"], 0);
  EXPECT_TRUE(body["figures"]["total"]["fill_rate"].is_null());
  EXPECT_TRUE(body["figures"]["branches"].empty());
  EXPECT_TRUE(body["open_by_age"]["branches"].empty());
  EXPECT_EQ(body["ready_to_invoice"]["total"], 0);
  EXPECT_TRUE(body["ready_to_invoice"]["rows"].empty());
}

TEST_F(DashboardTest, AnEmptyStoreGivesAnEmptyDashboard) {
  const json body = Get({{"branch", ""}});  // "" = all branches, as the page's first option
  EXPECT_TRUE(body["branches"].empty());
  EXPECT_EQ(body["figures"]["total"]["open"], 0);
  EXPECT_EQ(body["ready_to_invoice"]["total"], 0);
}

TEST_F(DashboardTest, AMalformedParameterIs400NamingTheField) {
  json body = Get({{"branch", "B1/../x"}}, 400);
  EXPECT_THAT(body["error"].get<std::string>(), HasSubstr("branch: "));
  body = Get({{"branch", "B1"}, {"branch", "B2"}}, 400);
  EXPECT_EQ(body["error"], "branch: given more than once");
  // Parameters it does not know (a cache-buster) are not its business.
  Get({{"_", "1767225600000"}}, 200);
}

TEST_F(DashboardTest, EveryServiceShowsWithItsLagAndAPeerThatDoesNotAnswerIsUnreachable) {
  const json services = Get()["services"];
  ASSERT_EQ(services.size(), 4u);
  EXPECT_EQ(services[0]["service"], "debtor-query");
  EXPECT_EQ(services[0]["state"], "ready");
  EXPECT_EQ(services[0]["lag"], 0);
  EXPECT_TRUE(services[0]["url"].is_null());

  EXPECT_EQ(services[1]["service"], "invoicing");
  EXPECT_EQ(services[1]["url"], "http://127.0.0.1:1");
  EXPECT_EQ(services[1]["state"], "catching_up");
  EXPECT_EQ(services[1]["ready"], false);
  EXPECT_EQ(services[1]["lag"], 7);
  EXPECT_EQ(services[1]["outbox_depth"], 3);
  EXPECT_EQ(services[1]["consumers"][0]["lag"], 7);
  EXPECT_EQ(services[1]["consumers"][0]["partitions"].size(), 2u);

  EXPECT_EQ(services[2]["service"], "purchasing");
  EXPECT_EQ(services[2]["state"], "unreachable");
  EXPECT_EQ(services[2]["error"], "connection refused");
  EXPECT_TRUE(services[2]["lag"].is_null());

  EXPECT_EQ(services[3]["service"], "receiving");
  EXPECT_EQ(services[3]["state"], "not_configured");
  EXPECT_EQ(services[3]["error"], "RECEIVING_HTTP is not set");
  // The one without a URL was not asked.
  EXPECT_THAT(fetched_,
              ::testing::UnorderedElementsAre("http://127.0.0.1:1", "http://127.0.0.1:2"));
}

TEST_F(DashboardTest, APeerAnsweringSomethingElseIsUnreachable) {
  Dashboard::Options options = Options();
  options.fetch = [](const std::string&) -> absl::StatusOr<std::string> {
    return std::string("<html>not a status</html>");
  };
  const json services = Get({}, 200, std::move(options))["services"];
  EXPECT_EQ(services[1]["state"], "unreachable");
  EXPECT_EQ(services[1]["error"], "answered with something that is not a status");
}

TEST(DashboardAssets, ThePageAndEverythingItLoadsAreEmbedded) {
  std::map<std::string, const DashboardAsset*> assets;
  for (const DashboardAsset& a : DashboardAssets()) assets[std::string(a.name)] = &a;
  ASSERT_TRUE(assets.contains("index.html"));
  const std::string_view html = assets["index.html"]->body;
  EXPECT_EQ(assets["index.html"]->content_type, "text/html; charset=utf-8");
  EXPECT_THAT(std::string(html), HasSubstr("id=\"branch-filter\""));
  for (const char* name : {"dashboard.css", "dashboard.js"}) {
    ASSERT_TRUE(assets.contains(name)) << name;
    EXPECT_FALSE(assets[name]->body.empty()) << name;
    EXPECT_THAT(std::string(html), HasSubstr(std::string("dashboard/") + name));
  }
  // Works offline: nothing is loaded from another host (the SVG namespace is a name, not a load).
  for (const auto& [name, asset] : assets) {
    for (const char* remote : {"src=\"http", "href=\"http", "url(http", "@import", "src=\"//",
                               "href=\"//", "fetch(\"http"}) {
      EXPECT_THAT(std::string(asset->body), ::testing::Not(HasSubstr(remote))) << name;
    }
  }
}

}  // namespace
}  // namespace bo::debtor_query
