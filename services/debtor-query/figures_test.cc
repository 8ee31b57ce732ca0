// The branch figures the projection keeps (figures.h): what they add up to after a life of
// events, that they do not depend on the order the events arrive in, and that repeats do not
// count twice.
#include "services/debtor-query/figures.h"

#include <algorithm>
#include <random>
#include <sstream>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/kafka/exactly_once_consumer.h"
#include "libs/metrics/registry.h"
#include "services/debtor-query/figure_metrics.h"
#include "services/debtor-query/projection.h"
#include "services/debtor-query/read_model_keys.h"
#include "services/debtor-query/test_support.h"

namespace bo::debtor_query {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace fixtures;  // NOLINT: the event builders

// The stored figures of `branch` (all zero if none are stored).
BranchFigures StoredFigures(Database* db, const std::string& branch) {
  auto bytes = db->Get(kReadModelFamily, FiguresKey(branch));
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  if (!bytes.ok() || !bytes->has_value()) return {};
  auto figures = DecodeFigures(**bytes);
  EXPECT_TRUE(figures.ok()) << figures.status();
  return figures.ok() ? *figures : BranchFigures{};
}

class FiguresTest : public ::testing::Test {
 protected:
  void Apply(const pb::EventEnvelope& e) { ASSERT_TRUE(Feed(&projection_, db_.db(), e).ok()); }
  BranchFigures Figures(const std::string& branch) { return StoredFigures(db_.db(), branch); }

  TempDatabase db_{"figures"};
  ReadModelProjection projection_{db_.db()};
};

const pb::BackorderContext kA1 = Context("BO-B1-000001-1", "B1", "D-1", "INV-B1-000001", 1);
const pb::BackorderContext kA2 =
    Context("BO-B1-000002-1", "B1", "D-2", "INV-B1-000002", 1, "P-200", "S-2");
const pb::BackorderContext kA3 = Context("BO-B1-000003-1", "B1", "D-1", "INV-B1-000003", 1);
const pb::BackorderContext kB1 = Context("BO-B2-000001-1", "B2", "D-3", "INV-B2-000001", 1);

// Two branches: at B1 one back order invoiced after a complete fill, one cancelled after a
// partial fill, one on order; at B2 one partly filled. Lost sales at both.
std::vector<pb::EventEnvelope> Life() {
  return {
      Created("e01", kA1, 4, Day(1)),
      Created("e02", kA2, 3, Day(1, 600)),
      Created("e03", kA3, 2, Day(2)),
      Created("e04", kB1, 10, Day(2)),
      Placed("e05", "SO-B1-000001", {{"BO-B1-000002-1", "BO-B1-000003-1"}}, Day(2, 60)),
      Filled("e06", kA1, 4, Quantities(4, 4), Day(3)),
      Filled("e07", kA2, 1, Quantities(3, 1), Day(3, 5)),
      Filled("e08", kB1, 6, Quantities(10, 6), Day(4)),
      Invoiced("e09", kA1, 4, Quantities(4, 4, 4), Day(5)),
      Cancelled("e10", kA2, Quantities(3, 0, 0, 3), "customer went elsewhere", Day(6)),
      LostSale("e11", "B1", 2, Day(6)),
      LostSale("e12", "B2", 5, Day(7)),
      LostSale("e13", "B2", 1, Day(7, 1)),
  };
}

BranchFigures ExpectedB1() {
  BranchFigures f;
  f.count_on_order = 1;   // A3
  f.count_invoiced = 1;   // A1
  f.count_cancelled = 1;  // A2: its quantities count nowhere else
  f.quantity_back_ordered = 4 + 2;
  f.quantity_filled = 4;
  f.quantity_invoiced = 4;
  f.fill_seconds = 2 * 86'400;  // A1: Day(1) -> Day(3)
  f.fill_count = 1;
  f.invoice_seconds = 4 * 86'400;  // A1: Day(1) -> Day(5)
  f.invoice_count = 1;
  f.lost_lines = 1;
  f.lost_quantity = 2;
  return f;
}

BranchFigures ExpectedB2() {
  BranchFigures f;
  f.count_partly_filled = 1;
  f.ready_lines = 1;
  f.ready_quantity = 6;
  f.quantity_back_ordered = 10;
  f.quantity_filled = 6;
  f.lost_lines = 2;
  f.lost_quantity = 6;
  return f;
}

TEST_F(FiguresTest, FiguresAfterALifeOfEvents) {
  for (const auto& e : Life()) Apply(e);
  EXPECT_EQ(Figures("B1"), ExpectedB1()) << EncodeFigures(Figures("B1"));
  EXPECT_EQ(Figures("B2"), ExpectedB2()) << EncodeFigures(Figures("B2"));
  EXPECT_THAT(db_.Keys(kFiguresPrefix), ElementsAre(FiguresKey("B1"), FiguresKey("B2")));

  EXPECT_DOUBLE_EQ(*FillRate(ExpectedB1()), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(*AverageDaysToFill(ExpectedB1()), 2.0);
  EXPECT_DOUBLE_EQ(*AverageDaysToInvoice(ExpectedB1()), 4.0);
  EXPECT_EQ(AverageDaysToFill(ExpectedB2()), std::nullopt);  // nothing filled completely yet
  EXPECT_EQ(ExpectedB1().open_total(), 1);
}

TEST_F(FiguresTest, EachStepMovesTheOpenCountsByState) {
  Apply(Created("e01", kA1, 4, Day(1)));
  EXPECT_EQ(Figures("B1").count_open, 1);
  Apply(Placed("e02", "SO-B1-000001", {{"BO-B1-000001-1"}}, Day(2)));
  EXPECT_EQ(Figures("B1").count_open, 0);
  EXPECT_EQ(Figures("B1").count_on_order, 1);
  Apply(Filled("e03", kA1, 1, Quantities(4, 1), Day(3)));
  EXPECT_EQ(Figures("B1").count_on_order, 0);
  EXPECT_EQ(Figures("B1").count_partly_filled, 1);
  EXPECT_EQ(Figures("B1").ready_lines, 1);
  EXPECT_EQ(Figures("B1").ready_quantity, 1);
  Apply(Filled("e04", kA1, 3, Quantities(4, 4), Day(4)));
  EXPECT_EQ(Figures("B1").count_partly_filled, 0);
  EXPECT_EQ(Figures("B1").count_filled, 1);
  EXPECT_EQ(Figures("B1").ready_quantity, 4);
  EXPECT_EQ(Figures("B1").fill_seconds, 3 * 86'400);  // to the fill that completed it
  Apply(Invoiced("e05", kA1, 4, Quantities(4, 4, 4), Day(5)));
  EXPECT_EQ(Figures("B1").open_total(), 0);
  EXPECT_EQ(Figures("B1").ready_lines, 0);
  EXPECT_EQ(Figures("B1").count_invoiced, 1);
}

TEST_F(FiguresTest, ACancelledBackorderLeavesTheOpenCounts) {
  Apply(Created("e01", kA1, 4, Day(1)));
  Apply(Filled("e02", kA1, 4, Quantities(4, 4), Day(2)));
  EXPECT_EQ(Figures("B1").open_total(), 1);
  EXPECT_EQ(Figures("B1").ready_lines, 1);
  Apply(Cancelled("e03", kA1, Quantities(4, 0, 0, 4), "not needed", Day(3)));
  BranchFigures expected;
  expected.count_cancelled = 1;
  EXPECT_EQ(Figures("B1"), expected) << EncodeFigures(Figures("B1"));
  EXPECT_THAT(db_.Keys(OpenAgePrefix("B1")), IsEmpty());
  // A fill receiving made before it learnt of the cancellation changes nothing.
  Apply(Filled("e04", kA1, 1, Quantities(4, 1), Day(3, 1)));
  EXPECT_EQ(Figures("B1"), expected);
}

TEST_F(FiguresTest, TheSameEventTwiceCountsOnce) {
  // The consumer drops a repeat by its event id before the projection sees it; one that gets
  // past (a replay older than the seen-id window) must change nothing either.
  for (const auto& e : Life()) Apply(e);
  const auto once = db_.Dump(kReadModelFamily);
  for (const auto& e : Life()) Apply(e);
  EXPECT_EQ(db_.Dump(kReadModelFamily), once);
  EXPECT_EQ(Figures("B2").lost_lines, 2);
}

TEST_F(FiguresTest, FiguresDoNotDependOnTheOrderEventsArriveIn) {
  for (const auto& e : Life()) Apply(e);
  const auto in_order = db_.Dump(kReadModelFamily);

  std::vector<std::vector<pb::EventEnvelope>> orders;
  std::vector<pb::EventEnvelope> reversed = Life();
  std::reverse(reversed.begin(), reversed.end());
  orders.push_back(reversed);
  std::mt19937 random(20'260'105);  // fixed: a failure must be repeatable
  for (int i = 0; i < 12; ++i) {
    std::vector<pb::EventEnvelope> shuffled = Life();
    std::shuffle(shuffled.begin(), shuffled.end(), random);
    orders.push_back(shuffled);
  }
  for (size_t i = 0; i < orders.size(); ++i) {
    TempDatabase other("order" + std::to_string(i));
    ReadModelProjection projection(other.db());
    for (const auto& e : orders[i]) ASSERT_TRUE(Feed(&projection, other.db(), e).ok());
    EXPECT_EQ(StoredFigures(other.db(), "B1"), ExpectedB1()) << "order " << i;
    EXPECT_EQ(StoredFigures(other.db(), "B2"), ExpectedB2()) << "order " << i;
    EXPECT_EQ(other.Dump(kReadModelFamily), in_order) << "order " << i;
  }
}

TEST_F(FiguresTest, SeveralChangesToOneBranchInOneBatchAllCount) {
  Apply(Created("e01", kA1, 1, Day(1)));
  Apply(Created("e02", kA3, 1, Day(1)));
  // One stock order moving two back orders of the same branch: one record, one batch.
  Apply(Placed("e03", "SO-B1-000001", {{"BO-B1-000001-1"}, {"BO-B1-000003-1"}}, Day(2)));
  EXPECT_EQ(Figures("B1").count_on_order, 2);
  EXPECT_EQ(Figures("B1").count_open, 0);

  // Two records in one batch (the consumer gives each its own today; the projection must not
  // rely on it): the second must start from the first's figures and view, not the Database's.
  rocksdb::WriteBatch batch;
  for (const auto& e :
       {Filled("e04", kA1, 1, Quantities(1, 1), Day(3)), LostSale("e05", "B1", 2, Day(3)),
        LostSale("e06", "B1", 1, Day(3)), Filled("e07", kA3, 1, Quantities(1, 1), Day(3)),
        Invoiced("e08", kA1, 1, Quantities(1, 1, 1), Day(4))}) {
    const std::string bytes = e.SerializeAsString();
    kafka::ConsumedRecord record;
    record.topic = "t";
    record.value = bytes;
    record.event_id = e.event_id();
    ASSERT_TRUE(projection_.Apply(record, &batch).ok());
  }
  ASSERT_TRUE(db_.db()->Write(&batch, false).ok());
  const BranchFigures f = Figures("B1");
  EXPECT_EQ(f.count_on_order, 0);
  EXPECT_EQ(f.count_filled, 1);
  EXPECT_EQ(f.count_invoiced, 1);
  EXPECT_EQ(f.lost_lines, 2);
  EXPECT_EQ(f.lost_quantity, 3);
  EXPECT_EQ(f.quantity_invoiced, 1);
}

TEST_F(FiguresTest, OpenAgeIndexHoldsExactlyTheOpenBackorders) {
  Apply(Created("e01", kA1, 1, Day(1)));
  Apply(Created("e02", kA3, 1, Day(2)));
  EXPECT_THAT(db_.Keys(OpenAgePrefix("B1")),
              ElementsAre(OpenAgeKey("B1", Day(1), kA1.backorder_id()),
                          OpenAgeKey("B1", Day(2), kA3.backorder_id())));
  Apply(Filled("e03", kA1, 1, Quantities(1, 1), Day(3)));  // FILLED is still open
  Apply(Invoiced("e04", kA1, 1, Quantities(1, 1, 1), Day(4)));
  EXPECT_THAT(db_.Keys(OpenAgePrefix("B1")),
              ElementsAre(OpenAgeKey("B1", Day(2), kA3.backorder_id())));
  const std::string key = OpenAgeKey("B1", Day(2), kA3.backorder_id());
  EXPECT_EQ(CreatedNanosOfOpenAgeKey(OpenAgePrefix("B1"), key),
            int64_t{Day(2).seconds()} * 1'000'000'000);
  EXPECT_EQ(CreatedNanosOfOpenAgeKey(OpenAgePrefix("B2"), key), -1);
}

TEST_F(FiguresTest, StateIndexesHoldEachBackorderUnderItsCurrentStateOnly) {
  const auto open = pb::BACKORDER_STATE_OPEN, filled = pb::BACKORDER_STATE_FILLED,
             invoiced = pb::BACKORDER_STATE_INVOICED;
  Apply(Created("e01", kA1, 1, Day(1)));
  Apply(Created("e02", kA3, 1, Day(2)));
  const std::string a1 = kA1.backorder_id(), a3 = kA3.backorder_id();
  EXPECT_THAT(db_.Keys(StateAgePrefix("", open)),
              ElementsAre(StateAgeKey("", open, Day(1), a1), StateAgeKey("", open, Day(2), a3)));
  EXPECT_THAT(
      db_.Keys(StateAgePrefix("B1", open)),
      ElementsAre(StateAgeKey("B1", open, Day(1), a1), StateAgeKey("B1", open, Day(2), a3)));
  Apply(Filled("e03", kA1, 1, Quantities(1, 1), Day(3)));
  EXPECT_THAT(db_.Keys(StateAgePrefix("B1", open)),
              ElementsAre(StateAgeKey("B1", open, Day(2), a3)));
  EXPECT_THAT(db_.Keys(StateAgePrefix("B1", filled)),
              ElementsAre(StateAgeKey("B1", filled, Day(1), a1)));
  Apply(Invoiced("e04", kA1, 1, Quantities(1, 1, 1), Day(4)));
  EXPECT_THAT(db_.Keys(StateAgePrefix("", filled)), IsEmpty());
  EXPECT_THAT(db_.Keys(StateAgePrefix("B1", invoiced)),
              ElementsAre(StateAgeKey("B1", invoiced, Day(1), a1)));
  EXPECT_THAT(db_.Keys(StateAgePrefix("B2", invoiced)), IsEmpty());
}

// A Sink that keeps what it is given, one line per sample: name{label=value,...} value.
class RecordingSink : public metrics::Sink {
 public:
  void Gauge(std::string_view name, std::string_view, const std::vector<std::string>& labels,
             const metrics::LabelValues& values, double value) override {
    Add("gauge", name, labels, values, value);
  }
  void Counter(std::string_view name, std::string_view, const std::vector<std::string>& labels,
               const metrics::LabelValues& values, double value) override {
    Add("counter", name, labels, values, value);
  }
  std::vector<std::string> samples;
  std::vector<std::string> names;  // in the order given, once per run of the same name

 private:
  void Add(const char* type, std::string_view name, const std::vector<std::string>& labels,
           const metrics::LabelValues& values, double value) {
    std::string line = std::string(type) + " " + std::string(name) + "{";
    for (size_t i = 0; i < labels.size(); ++i) {
      line += (i ? "," : "") + labels[i] + "=" + (i < values.size() ? values[i] : "?");
    }
    std::ostringstream number;
    number << value;
    samples.push_back(line + "} " + number.str());
    if (names.empty() || names.back() != name) names.emplace_back(name);
  }
};

TEST_F(FiguresTest, MetricsAreReadFromTheFiguresAtScrapeTime) {
  for (const auto& e : Life()) Apply(e);
  RecordingSink sink;
  CollectFigures(db_.db(), sink);
  // Every sample of one name together (the text format wants one block per family).
  EXPECT_THAT(sink.names, ElementsAre("bo_backorders_open", "bo_backorders_ready_to_invoice",
                                      "bo_backorder_quantity", "bo_fill_rate",
                                      "bo_backorder_days_to_fill_average",
                                      "bo_backorder_days_to_invoice_average", "bo_lost_sales_total",
                                      "bo_lost_sales_quantity_total"));
  EXPECT_THAT(sink.samples, ::testing::IsSupersetOf({
                                "gauge bo_backorders_open{branch=B1,state=OPEN} 0",
                                "gauge bo_backorders_open{branch=B1,state=ON_ORDER} 1",
                                "gauge bo_backorders_open{branch=B2,state=PARTLY_FILLED} 1",
                                "gauge bo_backorders_ready_to_invoice{branch=B2} 1",
                                "gauge bo_backorder_quantity{branch=B1,kind=ordered} 6",
                                "gauge bo_backorder_quantity{branch=B1,kind=filled} 4",
                                "gauge bo_backorder_quantity{branch=B1,kind=invoiced} 4",
                                "gauge bo_fill_rate{branch=B2} 0.6",
                                "gauge bo_backorder_days_to_fill_average{branch=B1} 2",
                                "gauge bo_backorder_days_to_invoice_average{branch=B1} 4",
                                "counter bo_lost_sales_total{branch=B2} 2",
                                "counter bo_lost_sales_quantity_total{branch=B2} 6",
                            }));
  // Nothing to average at B2 yet: no sample rather than a made-up zero.
  for (const std::string& sample : sink.samples) {
    EXPECT_THAT(sample, ::testing::Not(::testing::HasSubstr("days_to_fill_average{branch=B2}")));
  }
  EXPECT_EQ(sink.samples.size(), 2u * (4 + 1 + 3 + 1 + 2) + 1 + 1);
}

TEST(FiguresEncoding, RoundTripsAndRejectsWhatItDoesNotWrite) {
  BranchFigures f = ExpectedB1();
  f.count_open = -3;  // a negative value must survive too (it never should be, but is seen)
  auto decoded = DecodeFigures(EncodeFigures(f));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, f);
  EXPECT_EQ(EncodeFigures(BranchFigures{}).substr(0, 13), "count_open=0\n");
  EXPECT_EQ(DecodeFigures("count_open=1\nmystery=2\n").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeFigures("count_open=x\n").status().code(), absl::StatusCode::kDataLoss);
}

TEST(FiguresContribution, AViewWithoutContextAddsNothing) {
  pb::Backorder view;
  view.set_stock_order_id("SO-1");
  EXPECT_EQ(ContributionOf(view), std::nullopt);
}

TEST(PrepareReadModel, RebuildsAReadModelOfAnotherLayoutAndKeepsItsOwn) {
  TempDatabase db("prepare");
  ReadModelProjection projection(db.db());
  ASSERT_TRUE(Feed(&projection, db.db(), Created("e01", kA1, 1, Day(1))).ok());
  // As a consumer would have left it: an offset for the topic.
  rocksdb::WriteBatch offsets;
  offsets.Put(db.db()->family(kConsumerFamily),
              std::string("off") + '\0' + kReadModelConsumer + '\0' + "t" + '\0' + "0", "7");
  ASSERT_TRUE(db.db()->Write(&offsets, true).ok());
  ASSERT_EQ(*kafka::ExactlyOnceConsumer::StoredOffset(db.db(), kReadModelConsumer, "t", 0), 7);

  // Written before layouts existed: no layout key, so everything goes and the topics replay.
  ASSERT_TRUE(PrepareReadModel(db.db()).ok());
  EXPECT_THAT(db.Dump(kReadModelFamily), ElementsAre(std::pair<const std::string, std::string>(
                                             std::string(kLayoutKey), kReadModelLayout)));
  EXPECT_EQ(*kafka::ExactlyOnceConsumer::StoredOffset(db.db(), kReadModelConsumer, "t", 0), 0);

  // Its own layout: left alone.
  ASSERT_TRUE(Feed(&projection, db.db(), Created("e01", kA1, 1, Day(1))).ok());
  const auto built = db.Dump(kReadModelFamily);
  ASSERT_TRUE(PrepareReadModel(db.db()).ok());
  EXPECT_EQ(db.Dump(kReadModelFamily), built);

  // Asked to rebuild (--rebuild-read-models): everything goes again, whatever the layout.
  ASSERT_TRUE(PrepareReadModel(db.db(), /*rebuild=*/true).ok());
  EXPECT_THAT(db.Dump(kReadModelFamily), ElementsAre(std::pair<const std::string, std::string>(
                                             std::string(kLayoutKey), kReadModelLayout)));
}

}  // namespace
}  // namespace bo::debtor_query
