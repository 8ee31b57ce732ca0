#include "tools/boctl/views.h"

#include <gtest/gtest.h>

namespace bo::boctl {
namespace {

v1::Money Aud(int64_t cents) {
  v1::Money m;
  m.set_currency("AUD");
  m.set_minor_units(cents);
  return m;
}

google::protobuf::Timestamp At(int64_t seconds) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  return t;
}

constexpr int64_t kNov29 = 1795947300;  // 2026-11-29 10:15 UTC

v1::Debtor Smith() {
  v1::Debtor d;
  d.set_debtor_id("D-1001");
  d.set_name("Smith Motors");
  d.set_contact_name("Jo Smith");
  d.set_phone("03 9555 0101");
  d.set_email("jo@smith.example");
  d.set_use_backorders(true);
  return d;
}

v1::ListReadyToInvoiceResponse OneReadyInvoice() {
  v1::ListReadyToInvoiceResponse response;
  auto* invoice = response.add_invoices();
  *invoice->mutable_debtor() = Smith();
  invoice->set_branch_id("B1");
  invoice->set_invoice_id("INV-B1-000001");
  invoice->set_invoice_kind(v1::INVOICE_KIND_WORKSHOP);
  auto* line = invoice->add_lines();
  line->set_backorder_id("BO-B1-000001-2");
  line->set_invoice_line(2);
  line->set_part_number("OIL-FILTER-1");
  line->set_quantity_ready(3);
  line->set_quantity_waiting(2);
  *line->mutable_unit_price() = Aud(1250);
  line->set_state(v1::BACKORDER_STATE_PARTLY_FILLED);
  *line->mutable_filled_at() = At(kNov29);
  return response;
}

TEST(ReadyToInvoiceTest, AllDebtorsGroupedByInvoiceWithContactDetails) {
  EXPECT_EQ(ReadyToInvoiceText(v1::ListReadyToInvoiceRequest(), OneReadyInvoice()),
            "Backorders ready to invoice – ALL DEBTORS\n"
            "\n"
            "INV-B1-000001 (workshop) at branch B1\n"
            "  Debtor D-1001  Smith Motors\n"
            "  Contact: Jo Smith   Phone: 03 9555 0101   Email: jo@smith.example\n"
            "  Line  Part          Ready  Waiting  Unit price  State          Back order      "
            "Filled (UTC)\n"
            "  ----  ------------  -----  -------  ----------  -------------  --------------  "
            "----------------\n"
            "     2  OIL-FILTER-1      3        2   12.50 AUD  PARTLY_FILLED  BO-B1-000001-2  "
            "2026-11-29 10:15\n"
            "\n"
            "1 back order ready on 1 invoice.\n");
}

TEST(ReadyToInvoiceTest, TitleNamesTheFilter) {
  v1::ListReadyToInvoiceRequest request;
  request.set_branch_id("B2");
  EXPECT_EQ(ReadyToInvoiceText(request, {}),
            "Backorders ready to invoice – branch B2\n\nNo back orders ready to invoice.\n");
  request.clear_branch_id();
  request.set_debtor_id("D-7");
  EXPECT_EQ(ReadyToInvoiceText(request, {}),
            "Backorders ready to invoice – debtor D-7\n\nNo back orders ready to invoice.\n");
}

TEST(FilledTest, TellsTheClerkWhichBackOrdersWereFilled) {
  google::protobuf::RepeatedPtrField<v1::FilledBackorder> filled;
  auto* f = filled.Add();
  f->mutable_context()->set_backorder_id("BO-B1-000001-2");
  f->mutable_context()->set_debtor_id("D-1001");
  f->mutable_context()->set_invoice_id("INV-B1-000001");
  f->mutable_context()->set_invoice_line(2);
  f->mutable_context()->set_part_number("OIL-FILTER-1");
  f->set_quantity(3);
  f->mutable_quantities()->set_back_ordered(5);
  f->mutable_quantities()->set_filled(3);
  EXPECT_EQ(FilledText(filled),
            "Back orders filled:\n"
            "  Debtor  Invoice/line     Part          Filled now  Filled/back-ordered  Back order\n"
            "  ------  ---------------  ------------  ----------  -------------------  "
            "--------------\n"
            "  D-1001  INV-B1-000001/2  OIL-FILTER-1           3                  3/5  "
            "BO-B1-000001-2\n");
  EXPECT_EQ(FilledText({}), "No back orders were waiting for this stock.\n");
}

TEST(DebtorTest, ReadsAsARecord) {
  v1::Debtor d = Smith();
  d.set_email("");
  *d.mutable_updated_at() = At(kNov29);
  d.set_updated_by("clerk:anna");
  EXPECT_EQ(DebtorText(d),
            "Debtor D-1001  Smith Motors\n"
            "  Contact:         Jo Smith\n"
            "  Phone:           03 9555 0101\n"
            "  Email:           -\n"
            "  Use backorders:  yes\n"
            "  Updated:         2026-11-29 10:15 UTC by clerk:anna\n");
}

TEST(BackorderTest, ShowsQuantitiesAndOnlyTheDatesThatHappened) {
  v1::Backorder b;
  auto* c = b.mutable_context();
  c->set_backorder_id("BO-B1-000001-2");
  c->set_debtor_id("D-1001");
  c->set_branch_id("B1");
  c->set_invoice_id("INV-B1-000001");
  c->set_invoice_line(2);
  c->set_part_number("OIL-FILTER-1");
  c->set_supplier_id("SUP-1");
  *c->mutable_unit_price() = Aud(1250);
  c->set_invoice_kind(v1::INVOICE_KIND_COUNTER);
  b.mutable_quantities()->set_back_ordered(5);
  b.mutable_quantities()->set_filled(3);
  b.set_state(v1::BACKORDER_STATE_PARTLY_FILLED);
  *b.mutable_created_at() = At(kNov29);
  b.set_stock_order_id("SO-B1-000001");
  b.set_stock_order_line(1);
  EXPECT_EQ(BackorderText(b),
            "Back order BO-B1-000001-2  PARTLY_FILLED\n"
            "  Debtor:        D-1001\n"
            "  Branch:        B1\n"
            "  Invoice/line:  INV-B1-000001/2 (counter)\n"
            "  Part:          OIL-FILTER-1 (supplier SUP-1)\n"
            "  Unit price:    12.50 AUD\n"
            "  Quantities:    5 back-ordered, 3 filled, 0 invoiced, 0 cancelled (2 waiting, 3 "
            "ready)\n"
            "  On order:      SO-B1-000001 line 1\n"
            "  Created:       2026-11-29 10:15 UTC\n");
}

TEST(ListsTest, EmptyListsSaySo) {
  EXPECT_EQ(DebtorsText({}), "No debtors.\n");
  EXPECT_EQ(BackorderListText({}), "No back orders match.\n");
  EXPECT_EQ(ReadyBackordersText("D-1", {}), "No back orders ready to invoice.\n");
  EXPECT_EQ(StockOrdersText({}), "No stock orders match.\n");
}

TEST(ListsTest, APageEndsWithHowToGetTheNext) {
  v1::ListDebtorsResponse response;
  *response.add_debtors() = Smith();
  response.set_next_page_token("abc");
  EXPECT_EQ(DebtorsText(response),
            "Debtor  Name          Contact   Phone         Email             Use backorders\n"
            "------  ------------  --------  ------------  ----------------  --------------\n"
            "D-1001  Smith Motors  Jo Smith  03 9555 0101  jo@smith.example  yes\n"
            "More: run again with --page-token abc\n");
}

TEST(AddPartLineTest, PrintsTheLineAndTheOffer) {
  v1::AddPartLineResponse r;
  r.mutable_invoice()->set_invoice_id("INV-B1-000001");
  *r.mutable_invoice()->mutable_total() = Aud(3750);
  auto* line = r.mutable_line();
  line->set_line(1);
  line->set_part_number("OIL-FILTER-1");
  line->set_description("Oil filter");
  line->set_quantity_ordered(5);
  line->set_quantity_supplied(3);
  line->set_quantity_back_ordered(2);
  line->set_quantity_available(3);
  *line->mutable_unit_price() = Aud(1250);
  *line->mutable_amount() = Aud(3750);
  r.set_backorder_offered(true);
  r.set_shortfall(2);
  r.set_message("Only 3 in stock: back order of 2 offered.");
  const std::string text = AddPartLineText(r);
  EXPECT_NE(text.find("Line 1 added to invoice INV-B1-000001 (total now 37.50 AUD)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Only 3 in stock: back order of 2 offered.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("boctl invoice adjust-line --invoice INV-B1-000001 --line 1"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace bo::boctl
