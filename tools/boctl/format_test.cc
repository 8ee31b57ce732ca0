#include "tools/boctl/format.h"

#include <gtest/gtest.h>

namespace bo::boctl {
namespace {

using backorder::v1::Money;

Money Aud(int64_t cents) {
  Money m;
  m.set_currency("AUD");
  m.set_minor_units(cents);
  return m;
}

TEST(TableTest, AlignsColumnsToTheWidestCellWithAHeaderAndARule) {
  Table table({{"Part"}, {"Qty", Table::Align::kRight}, {"Debtor"}});
  table.AddRow({"OIL-FILTER-1", "5", "D-1"});
  table.AddRow({"P", "120", "D-1001"});
  EXPECT_EQ(table.Render(),
            "Part          Qty  Debtor\n"
            "------------  ---  ------\n"
            "OIL-FILTER-1    5  D-1\n"
            "P             120  D-1001\n");
}

TEST(TableTest, IndentsEveryLineAndPadsShortRows) {
  Table table({{"A"}, {"B"}});
  table.AddRow({"x"});
  table.AddRow({"1", "2", "dropped"});
  EXPECT_EQ(table.Render("  "),
            "  A  B\n"
            "  -  -\n"
            "  x\n"
            "  1  2\n");
}

TEST(TableTest, CountsCharactersNotBytes) {
  Table table({{"Name"}, {"N"}});
  table.AddRow({"Café – Zoë", "1"});
  table.AddRow({"Plain", "2"});
  EXPECT_EQ(table.Render(),
            "Name        N\n"
            "----------  -\n"
            "Café – Zoë  1\n"
            "Plain       2\n");
  EXPECT_EQ(DisplayWidth("Café – Zoë"), 10u);
}

TEST(TableTest, EmptyTableKnowsIt) {
  Table table({{"A"}});
  EXPECT_TRUE(table.empty());
  table.AddRow({"a"});
  EXPECT_EQ(table.size(), 1u);
}

TEST(FieldsTest, AlignsValuesAndShowsADashForEmpty) {
  EXPECT_EQ(RenderFields({{"Contact", "Jo"}, {"Use backorders", "yes"}, {"Email", ""}}),
            "  Contact:         Jo\n"
            "  Use backorders:  yes\n"
            "  Email:           -\n");
}

TEST(MoneyFormatTest, PrintsUnitsCentsAndCurrency) {
  EXPECT_EQ(FormatMoney(Aud(1250)), "12.50 AUD");
  EXPECT_EQ(FormatMoney(Aud(5)), "0.05 AUD");
  EXPECT_EQ(FormatMoney(Aud(0)), "0.00 AUD");
  EXPECT_EQ(FormatMoney(Aud(-1999)), "-19.99 AUD");
  EXPECT_EQ(FormatMoney(Aud(100000000000)), "1000000000.00 AUD");
  EXPECT_EQ(FormatMoney(Aud(INT64_MIN)), "-92233720368547758.08 AUD");
  EXPECT_EQ(FormatMoney(Money()), "-");
}

TEST(MoneyParseTest, TakesTheDefaultCurrencyOrTheOneGiven) {
  auto m = ParseMoney("12.50", "AUD");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->currency(), "AUD");
  EXPECT_EQ(m->minor_units(), 1250);

  m = ParseMoney("12.50 NZD", "AUD");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->currency(), "NZD");
  EXPECT_EQ(m->minor_units(), 1250);

  m = ParseMoney("  nzd 3 ", "AUD");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->currency(), "NZD");
  EXPECT_EQ(m->minor_units(), 300);

  m = ParseMoney("7", "usd");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->currency(), "USD");
}

TEST(MoneyParseTest, OneOrTwoDecimalsAndCredits) {
  EXPECT_EQ(ParseMoney("12.5", "AUD")->minor_units(), 1250);
  EXPECT_EQ(ParseMoney("0.05", "AUD")->minor_units(), 5);
  EXPECT_EQ(ParseMoney("-3.10", "AUD")->minor_units(), -310);
  EXPECT_EQ(ParseMoney("0", "AUD")->minor_units(), 0);
}

TEST(MoneyParseTest, RefusesWhatIsNotAnAmountWithAReason) {
  for (const char* bad : {"", "abc", "12.", ".5", "1.2.3", "12,50", "-", "12.50 NZD AUD",
                          "12.50 DOLLARS", "1e3", "+5", "9999999999999999"}) {
    EXPECT_FALSE(ParseMoney(bad, "AUD").ok()) << bad;
  }
  auto m = ParseMoney("12.505", "AUD");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "\"12.505\" has more than two decimals (amounts are in cents)");
  m = ParseMoney("abc", "AUD");
  EXPECT_EQ(m.status().message(), "\"abc\" is not an amount (for example 12.50 or \"12.50 NZD\")");
  EXPECT_FALSE(ParseMoney("12.50", "DOLLARS").ok());
}

TEST(MoneyParseTest, RoundTripsThroughFormat) {
  for (const char* text : {"0.00 AUD", "12.50 AUD", "-0.05 NZD", "1234567.89 USD"}) {
    auto m = ParseMoney(text, "AUD");
    ASSERT_TRUE(m.ok()) << text;
    EXPECT_EQ(FormatMoney(*m), text);
  }
}

TEST(ReceiptLineTest, PartQuantityAndOptionalCost) {
  auto line = ParseReceiptLine("OIL-1:5", "AUD");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->part_number(), "OIL-1");
  EXPECT_EQ(line->quantity(), 5);
  EXPECT_FALSE(line->has_unit_cost());

  line = ParseReceiptLine("OIL-1:5:12.50 NZD", "AUD");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(FormatMoney(line->unit_cost()), "12.50 NZD");

  line = ParseReceiptLine("A/B.C:2:3", "AUD");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(FormatMoney(line->unit_cost()), "3.00 AUD");
}

TEST(ReceiptLineTest, RefusesMalformedLines) {
  for (const char* bad : {"OIL-1", ":5", "OIL-1:x", "OIL-1:5:abc", "OIL-1::1", "OIL-1:5:1:2"}) {
    EXPECT_FALSE(ParseReceiptLine(bad, "AUD").ok()) << bad;
  }
  EXPECT_EQ(ParseReceiptLine("OIL-1", "AUD").status().message(),
            "\"OIL-1\" is not PART:QTY[:COST] (for example OIL-1:5:12.50)");
}

TEST(TimeTest, MinutesInUtcAndADashWhenUnset) {
  google::protobuf::Timestamp t;
  t.set_seconds(1795947300);  // 2026-11-29 10:15:00 UTC
  t.set_nanos(999);
  EXPECT_EQ(FormatTime(t), "2026-11-29 10:15");
  EXPECT_EQ(FormatTimeUtc(t), "2026-11-29 10:15 UTC");
  EXPECT_EQ(FormatTime(google::protobuf::Timestamp()), "-");
  EXPECT_EQ(FormatTimeUtc(google::protobuf::Timestamp()), "-");
}

TEST(NamesTest, EnumsReadWithoutTheirPrefix) {
  EXPECT_EQ(KindName(backorder::v1::INVOICE_KIND_WORKSHOP), "workshop");
  EXPECT_EQ(InvoiceStatusName(backorder::v1::INVOICE_STATUS_FINALISED), "FINALISED");
  EXPECT_EQ(StockOrderStatusName(backorder::v1::STOCK_ORDER_STATUS_PLACED), "PLACED");
  EXPECT_EQ(BackorderStateName(backorder::v1::BACKORDER_STATE_PARTLY_FILLED), "PARTLY_FILLED");
}

TEST(NamesTest, FlagWordsParseInAnyCase) {
  EXPECT_EQ(ParseKind("Counter"), backorder::v1::INVOICE_KIND_COUNTER);
  EXPECT_EQ(ParseKind(""), backorder::v1::INVOICE_KIND_UNSPECIFIED);
  EXPECT_EQ(ParseInvoiceStatus("draft"), backorder::v1::INVOICE_STATUS_DRAFT);
  EXPECT_EQ(ParseStockOrderStatus("PLACED"), backorder::v1::STOCK_ORDER_STATUS_PLACED);
  EXPECT_EQ(ParseBackorderState("on-order"), backorder::v1::BACKORDER_STATE_ON_ORDER);
  EXPECT_EQ(ParseBackorderState("partly_filled"), backorder::v1::BACKORDER_STATE_PARTLY_FILLED);
  EXPECT_EQ(ParseBackorderState(""), backorder::v1::BACKORDER_STATE_UNSPECIFIED);
  EXPECT_EQ(ParseBackorderState("nonsense"), backorder::v1::BACKORDER_STATE_UNSPECIFIED);
}

TEST(SmallTextTest, InvoiceLinesAndTotals) {
  EXPECT_EQ(InvoiceLine("INV-B1-000001", 2), "INV-B1-000001/2");
  EXPECT_EQ(YesNo(true), "yes");
}

}  // namespace
}  // namespace bo::boctl
