#include "tools/boctl/events.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace bo::boctl {
namespace {

namespace pb = backorder::v1;

pb::BackorderContext Context(const std::string& id, const std::string& branch) {
  pb::BackorderContext c;
  c.set_backorder_id(id);
  c.set_branch_id(branch);
  c.set_debtor_id("D-1001");
  c.set_invoice_id("INV-NORTH-000001");
  c.set_invoice_line(1);
  c.set_part_number("OIL-FILTER-1");
  return c;
}

// A BackorderFilled as receiving publishes it: 2 of 5 filled from creditor invoice CI-9.
pb::EventEnvelope Filled(const std::string& id = "BO-NORTH-000001-1",
                         const std::string& branch = "NORTH") {
  pb::EventEnvelope e;
  e.set_event_id("01a224bf-6e3d-71bf-a2c2-37f703ab14a2");
  e.set_type("BackorderFilled");
  e.set_aggregate_id("ledger/" + branch + "/OIL-FILTER-1");
  e.set_branch_id(branch);
  e.mutable_occurred_at()->set_seconds(1795914432);  // 2026-11-29 01:07:12 UTC
  e.mutable_occurred_at()->set_nanos(500000000);
  e.mutable_actor()->set_subject("clerk:kim@north");
  auto* p = e.mutable_backorder_filled();
  *p->mutable_context() = Context(id, branch);
  p->set_quantity(2);
  p->mutable_quantities()->set_back_ordered(5);
  p->mutable_quantities()->set_filled(2);
  p->set_source("receipt");
  p->set_creditor_invoice_id("CI-9");
  return e;
}

pb::EventEnvelope StockOrderPlaced(const std::vector<std::string>& covered) {
  pb::EventEnvelope e;
  e.set_type("StockOrderPlaced");
  e.set_aggregate_id("stockorder/SO-NORTH-000001");
  e.set_branch_id("NORTH");
  auto* p = e.mutable_stock_order_placed();
  p->set_stock_order_id("SO-NORTH-000001");
  p->set_supplier_id("SUP-1");
  auto* line = p->add_lines();
  for (const auto& id : covered) line->add_backorders()->set_backorder_id(id);
  p->add_lines()->set_part_number("SHELF-STOCK");  // a line for the shelf covers nothing
  return e;
}

TEST(EventTypes, AreThePayloadsOfTheEnvelope) {
  const auto names = EventTypeNames();
  ASSERT_EQ(names.size(), 19u);
  EXPECT_EQ(names.front(), "DebtorUpdated");
  EXPECT_NE(std::find(names.begin(), names.end(), "BackorderFilled"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "StockHoldReleased"), names.end());
  EXPECT_EQ(CanonicalEventType("BackorderCancelled"), "BackorderCancelled");
  EXPECT_EQ(CanonicalEventType("backordercancelled"), "BackorderCancelled");
  // Messages of the catalogue that are not events, and near misses.
  EXPECT_EQ(CanonicalEventType("EventEnvelope"), std::nullopt);
  EXPECT_EQ(CanonicalEventType("BackorderContext"), std::nullopt);
  EXPECT_EQ(CanonicalEventType("BackorderFill"), std::nullopt);
  EXPECT_EQ(CanonicalEventType(""), std::nullopt);
}

TEST(Topics, ShortNamesAndFullNames) {
  EXPECT_EQ(EventTopicNames().size(), 4u);
  EXPECT_EQ(TopicName("receiving"), "backorder.receiving.v1");
  EXPECT_EQ(TopicName("Debtor-Query"), "backorder.debtor-query.v1");
  EXPECT_EQ(TopicName("backorder.invoicing.v1"), "backorder.invoicing.v1");
  EXPECT_EQ(TopicName("boctl-tail-test-1"), "boctl-tail-test-1");
}

TEST(Filter, EmptyLetsEverythingThrough) {
  EXPECT_TRUE(Matches({}, Filled(), "BackorderFilled"));
  EXPECT_TRUE(Matches({}, pb::EventEnvelope(), ""));
}

TEST(Filter, TypeMatchesEnvelopeTypeHeaderOrPayload) {
  EventFilter filter;
  filter.types = {"BackorderFilled", "BackorderCancelled"};
  EXPECT_TRUE(Matches(filter, Filled(), ""));
  EXPECT_FALSE(Matches(filter, StockOrderPlaced({}), "StockOrderPlaced"));
  // An envelope without its type: the ce_type header, else the payload, says what it is.
  pb::EventEnvelope untyped = Filled();
  untyped.clear_type();
  EXPECT_TRUE(Matches(filter, untyped, ""));
  pb::EventEnvelope bare;
  EXPECT_FALSE(Matches(filter, bare, ""));
  EXPECT_TRUE(Matches(filter, bare, "BackorderCancelled"));
}

TEST(Filter, BranchIsTheEnvelopes) {
  EventFilter filter;
  filter.branches = {"NORTH"};
  EXPECT_TRUE(Matches(filter, Filled(), ""));
  EXPECT_FALSE(Matches(filter, Filled("BO-SOUTH-000001-1", "SOUTH"), ""));
  pb::EventEnvelope part;  // group-wide events have no branch
  part.mutable_part_updated()->set_part_number("P1");
  EXPECT_FALSE(Matches(filter, part, "PartUpdated"));
  filter.branches.insert("SOUTH");
  EXPECT_TRUE(Matches(filter, Filled("BO-SOUTH-000001-1", "SOUTH"), ""));
}

TEST(Filter, BackorderTakesItsEventsAndTheStockOrdersCoveringIt) {
  EventFilter filter;
  filter.backorders = {"BO-NORTH-000001-1"};
  EXPECT_TRUE(Matches(filter, Filled(), ""));
  EXPECT_FALSE(Matches(filter, Filled("BO-NORTH-000002-1"), ""));
  EXPECT_TRUE(Matches(filter, StockOrderPlaced({"BO-NORTH-000003-1", "BO-NORTH-000001-1"}), ""));
  EXPECT_FALSE(Matches(filter, StockOrderPlaced({"BO-NORTH-000003-1"}), ""));

  pb::EventEnvelope issued;
  issued.mutable_stock_issued()->set_backorder_id("BO-NORTH-000001-1");
  EXPECT_TRUE(Matches(filter, issued, ""));
  issued.mutable_stock_issued()->clear_backorder_id();
  EXPECT_FALSE(Matches(filter, issued, ""));

  pb::EventEnvelope invoice;
  invoice.mutable_invoice_finalised()->add_lines()->set_fulfils_backorder_id("BO-NORTH-000001-1");
  EXPECT_TRUE(Matches(filter, invoice, ""));
  EXPECT_EQ(BackordersNamed(StockOrderPlaced({"A", "B", "A"})), (std::set<std::string>{"A", "B"}));
}

TEST(Filter, KindsCombine) {
  EventFilter filter;
  filter.types = {"BackorderFilled"};
  filter.branches = {"NORTH"};
  filter.backorders = {"BO-NORTH-000001-1"};
  EXPECT_TRUE(Matches(filter, Filled(), ""));
  filter.branches = {"SOUTH"};
  EXPECT_FALSE(Matches(filter, Filled(), ""));
  filter.branches = {"NORTH"};
  filter.types = {"BackorderCancelled"};
  EXPECT_FALSE(Matches(filter, Filled(), ""));
}

TEST(Line, ReadsAsAClerkWouldSayIt) {
  EXPECT_EQ(EventLine("backorder.receiving.v1", Filled(), "BackorderFilled"),
            "2026-11-29 01:07:12  backorder.receiving.v1     BackorderFilled      NORTH  "
            "BO-NORTH-000001-1  clerk:kim@north  Filled 2 from creditor invoice CI-9 (2 of 5 "
            "filled, 3 waiting, 0 invoiced)");
}

TEST(Line, AnEventWithoutABackOrderShowsItsAggregate) {
  pb::EventEnvelope part;
  part.set_type("PartUpdated");
  part.set_aggregate_id("part/OIL-FILTER-1");
  part.mutable_occurred_at()->set_seconds(1795914432);
  part.mutable_actor()->set_subject("clerk:kim@north");
  part.mutable_part_updated()->set_part_number("OIL-FILTER-1");
  part.mutable_part_updated()->set_supplier_id("SUP-1");
  EXPECT_EQ(EventLine("backorder.receiving.v1", part, ""),
            "2026-11-29 01:07:12  backorder.receiving.v1     PartUpdated          -  "
            "part/OIL-FILTER-1  clerk:kim@north  Part OIL-FILTER-1 saved: no description, "
            "supplier SUP-1, price -");
}

TEST(Line, EmptyFieldsAreDashes) {
  EXPECT_EQ(EventLine("t", pb::EventEnvelope(), ""),
            "-  t                          -                    -  -  -  An event (a payload this "
            "build does not know)");
  // A payload from a newer catalogue: the header still names it.
  EXPECT_EQ(EventLine("t", pb::EventEnvelope(), "BackorderTeleported"),
            "-  t                          BackorderTeleported  -  -  -  An event (a payload this "
            "build does not know)");
}

TEST(Json, OneObjectPerLineWithThePositionAndTheEvent) {
  RecordPosition position{"backorder.receiving.v1", 3, 17, "NORTH/OIL-FILTER-1",
                          "01a224bf-6e3d-71bf-a2c2-37f703ab14a2"};
  const std::string line = EventJsonLine(position, Filled());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &parsed).ok()) << line;
  const auto& f = parsed.fields();
  EXPECT_EQ(f.at("topic").string_value(), "backorder.receiving.v1");
  EXPECT_EQ(f.at("partition").number_value(), 3);
  EXPECT_EQ(f.at("offset").number_value(), 17);
  EXPECT_EQ(f.at("key").string_value(), "NORTH/OIL-FILTER-1");
  EXPECT_EQ(f.at("ce_id").string_value(), "01a224bf-6e3d-71bf-a2c2-37f703ab14a2");
  const auto& event = f.at("event").struct_value().fields();
  EXPECT_EQ(event.at("type").string_value(), "BackorderFilled");
  EXPECT_EQ(event.at("occurredAt").string_value(), "2026-11-29T01:07:12.500Z");
  EXPECT_EQ(event.at("backorderFilled")
                .struct_value()
                .fields()
                .at("context")
                .struct_value()
                .fields()
                .at("backorderId")
                .string_value(),
            "BO-NORTH-000001-1");
  // Every field is printed, 64-bit numbers as strings (as boctl --json prints answers).
  EXPECT_EQ(event.at("reason").string_value(), "");
  EXPECT_EQ(event.at("aggregateVersion").string_value(), "0");
}

TEST(Json, StringsAreEscaped) {
  EXPECT_EQ(JsonString("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
  RecordPosition position{"t", 0, 0, "key \"quoted\"", ""};
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  EventJsonLine(position, pb::EventEnvelope()), &parsed)
                  .ok());
  EXPECT_EQ(parsed.fields().at("key").string_value(), "key \"quoted\"");
}

TEST(Bootstrap, FlagThenEnvironmentThenStackFileThenDefault) {
  std::map<std::string, std::string> env = {{"KAFKA_BOOTSTRAP", "10.0.0.2:9092"}};
  auto getenv = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  const std::map<std::string, std::string> stack = {{"KAFKA_BOOTSTRAP", "10.0.0.3:9092"}};

  Address a = ResolveBootstrap("10.0.0.1:9092", getenv, stack, "s.env");
  EXPECT_EQ(a.target, "10.0.0.1:9092");
  EXPECT_EQ(a.source, "--kafka-bootstrap");
  a = ResolveBootstrap("", getenv, stack, "s.env");
  EXPECT_EQ(a.target, "10.0.0.2:9092");
  EXPECT_EQ(a.source, "$KAFKA_BOOTSTRAP");
  env["KAFKA_BOOTSTRAP"] = "";  // set but empty does not count
  a = ResolveBootstrap("", getenv, stack, "s.env");
  EXPECT_EQ(a.target, "10.0.0.3:9092");
  EXPECT_EQ(a.source, "s.env");
  a = ResolveBootstrap("", getenv, {}, "");
  EXPECT_EQ(a.target, "127.0.0.1:19092");
  EXPECT_EQ(a.source, "default");
}

}  // namespace
}  // namespace bo::boctl
