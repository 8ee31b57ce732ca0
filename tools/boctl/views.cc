#include "tools/boctl/views.h"

#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/backorder_view.h"
#include "tools/boctl/format.h"

namespace bo::boctl {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;
using Align = Table::Align;
constexpr Align kRight = Align::kRight;

std::string Num(int64_t n) { return absl::StrCat(n); }

// "clerk:anna at 2026-11-29 10:15 UTC" (either part may be missing).
std::string When(const google::protobuf::Timestamp& time, const std::string& who) {
  std::string text = FormatTimeUtc(time);
  if (text == "-") text.clear();
  if (!who.empty()) absl::StrAppend(&text, text.empty() ? "" : " by ", who);
  return text;
}

// Adds the field only when it has a value: optional details stay out of the way.
void AddIfSet(Fields* fields, std::string label, std::string value) {
  if (!value.empty() && value != "-") fields->emplace_back(std::move(label), std::move(value));
}

std::string MoreText(const std::string& next_page_token) {
  if (next_page_token.empty()) return "";
  return absl::StrCat("More: run again with --page-token ", next_page_token, "\n");
}

std::string Section(const std::string& title, const std::string& body) {
  return absl::StrCat("\n", title, "\n", body);
}

std::string Plural(int64_t n, std::string_view one, std::string_view many) {
  return absl::StrCat(n, " ", std::string(n == 1 ? one : many));
}

// --- debtors -------------------------------------------------------------------------------

std::string ContactLine(const v1::Debtor& debtor) {
  std::vector<std::string> parts;
  if (!debtor.contact_name().empty()) parts.push_back("Contact: " + debtor.contact_name());
  if (!debtor.phone().empty()) parts.push_back("Phone: " + debtor.phone());
  if (!debtor.email().empty()) parts.push_back("Email: " + debtor.email());
  return parts.empty() ? "No contact details" : absl::StrJoin(parts, "   ");
}

// --- invoices ------------------------------------------------------------------------------

std::string LineBackorder(const v1::InvoiceLineView& line) {
  if (!line.fulfils_backorder_id().empty()) return "invoices " + line.fulfils_backorder_id();
  if (!line.created_backorder_id().empty()) return "created " + line.created_backorder_id();
  return "";
}

Table InvoiceLinesTable() {
  return Table({{"Line", kRight},
                {"Part"},
                {"Description"},
                {"Ordered", kRight},
                {"Supplied", kRight},
                {"Back order", kRight},
                {"Available", kRight},
                {"Lost", kRight},
                {"Unit price", kRight},
                {"Amount", kRight},
                {"Back order id"}});
}

void AddInvoiceLine(Table* table, const v1::InvoiceLineView& line) {
  const bool part = !line.part_number().empty();
  table->AddRow({Num(line.line()), line.part_number(), line.description(),
                 part ? Num(line.quantity_ordered()) : "", Num(line.quantity_supplied()),
                 part ? Num(line.quantity_back_ordered()) : "",
                 part ? Num(line.quantity_available()) : "", part ? Num(line.quantity_lost()) : "",
                 FormatMoney(line.unit_price()), FormatMoney(line.amount()), LineBackorder(line)});
}

std::string InvoiceHeadline(const v1::Invoice& invoice) {
  return absl::StrCat("Invoice ", invoice.invoice_id(), "  ", KindName(invoice.kind()), "  ",
                      InvoiceStatusName(invoice.status()), "\n");
}

// --- back orders ---------------------------------------------------------------------------

std::string QuantitiesText(const v1::BackorderQuantities& q) {
  return absl::StrCat(q.back_ordered(), " back-ordered, ", q.filled(), " filled, ", q.invoiced(),
                      " invoiced, ", q.cancelled(), " cancelled (", bo::Waiting(q), " waiting, ",
                      bo::Ready(q), " ready)");
}

std::string ReadyTitle(const v1::ListReadyToInvoiceRequest& request) {
  std::vector<std::string> filters;
  if (!request.branch_id().empty()) filters.push_back("branch " + request.branch_id());
  if (!request.debtor_id().empty()) filters.push_back("debtor " + request.debtor_id());
  const std::string scope = filters.empty() ? "ALL DEBTORS" : absl::StrJoin(filters, ", ");
  return absl::StrCat("Backorders ready to invoice – ", scope, "\n");
}

std::string ReadyInvoiceText(const v1::ReadyInvoice& invoice) {
  const v1::Debtor& debtor = invoice.debtor();
  std::string out = absl::StrCat("\n", invoice.invoice_id(), " (", KindName(invoice.invoice_kind()),
                                 ") at branch ", invoice.branch_id(), "\n");
  absl::StrAppend(&out, "  Debtor ", debtor.debtor_id(), "  ", debtor.name(), "\n  ",
                  ContactLine(debtor), "\n");
  Table table({{"Line", kRight},
               {"Part"},
               {"Ready", kRight},
               {"Waiting", kRight},
               {"Unit price", kRight},
               {"State"},
               {"Back order"},
               {"Filled (UTC)"}});
  for (const auto& line : invoice.lines()) {
    table.AddRow({Num(line.invoice_line()), line.part_number(), Num(line.quantity_ready()),
                  Num(line.quantity_waiting()), FormatMoney(line.unit_price()),
                  BackorderStateName(line.state()), line.backorder_id(),
                  FormatTime(line.filled_at())});
  }
  return out + table.Render("  ");
}

// --- stock orders --------------------------------------------------------------------------

std::string StockOrderLinesText(const v1::StockOrder& order) {
  if (order.lines().empty()) return "No lines yet.\n";
  Table table({{"Line", kRight},
               {"Part"},
               {"Quantity", kRight},
               {"Shelf", kRight},
               {"Back order"},
               {"Qty", kRight},
               {"Debtor"},
               {"Invoice/line"}});
  for (const auto& line : order.lines()) {
    std::vector<std::string> row = {Num(line.line()), line.part_number(), Num(line.quantity()),
                                    Num(line.shelf_quantity())};
    if (line.backorders().empty()) table.AddRow(row);
    for (const auto& bo : line.backorders()) {
      row.insert(row.end(), {bo.backorder_id(), Num(bo.quantity()), bo.debtor_id(),
                             InvoiceLine(bo.invoice_id(), bo.invoice_line())});
      table.AddRow(row);
      row = {"", "", "", ""};  // further back orders of the line under the first
    }
  }
  return table.Render();
}

}  // namespace

std::string DebtorText(const v1::Debtor& debtor) {
  return absl::StrCat("Debtor ", debtor.debtor_id(), "  ", debtor.name(), "\n",
                      RenderFields({{"Contact", debtor.contact_name()},
                                    {"Phone", debtor.phone()},
                                    {"Email", debtor.email()},
                                    {"Use backorders", YesNo(debtor.use_backorders())},
                                    {"Updated", When(debtor.updated_at(), debtor.updated_by())}}));
}

std::string DebtorsText(const v1::ListDebtorsResponse& response) {
  if (response.debtors().empty()) return "No debtors.\n";
  Table table({{"Debtor"}, {"Name"}, {"Contact"}, {"Phone"}, {"Email"}, {"Use backorders"}});
  for (const auto& d : response.debtors()) {
    table.AddRow({d.debtor_id(), d.name(), d.contact_name(), d.phone(), d.email(),
                  YesNo(d.use_backorders())});
  }
  return table.Render() + MoreText(response.next_page_token());
}

std::string PartText(const v1::Part& part) {
  return absl::StrCat("Part ", part.part_number(), "  ", part.description(), "\n",
                      RenderFields({{"Supplier", part.supplier_id()},
                                    {"Unit price", FormatMoney(part.unit_price())},
                                    {"Updated", When(part.updated_at(), part.updated_by())}}));
}

std::string PartsText(const v1::ListPartsResponse& response) {
  if (response.parts().empty()) return "No parts.\n";
  Table table({{"Part"}, {"Description"}, {"Supplier"}, {"Unit price", kRight}, {"Updated (UTC)"}});
  for (const auto& p : response.parts()) {
    table.AddRow({p.part_number(), p.description(), p.supplier_id(), FormatMoney(p.unit_price()),
                  FormatTime(p.updated_at())});
  }
  return table.Render() + MoreText(response.next_page_token());
}

std::string StockPositionText(const v1::StockPosition& p) {
  std::string out = absl::StrCat("Stock of ", p.part_number(), " at branch ", p.branch_id(), "\n");
  absl::StrAppend(
      &out, RenderFields({{"On hand", Num(p.on_hand())},
                          {"Free", Num(p.free())},
                          {"Held for drafts", Num(p.held())},
                          {"Filled for back orders", Num(p.filled_not_invoiced())},
                          {"Received / adjusted / issued",
                           absl::StrCat(p.received(), " / ", p.adjusted(), " / ", p.issued())}}));
  if (!p.holds().empty()) {
    Table holds({{"Invoice/line"}, {"Held", kRight}, {"Expires (UTC)"}});
    for (const auto& h : p.holds()) {
      holds.AddRow({InvoiceLine(h.invoice_id(), h.invoice_line()), Num(h.quantity()),
                    FormatTime(h.expires_at())});
    }
    absl::StrAppend(&out, Section("Holds for draft invoices:", holds.Render("  ")));
  }
  absl::StrAppend(&out, Section("Back orders waiting or filled here:",
                                BackordersTable(p.backorders(), "  None.\n")));
  return out;
}

std::string AdjustStockText(const v1::AdjustStockRequest& request,
                            const v1::AdjustStockResponse& response) {
  return absl::StrCat("Adjusted ", request.part_number(), " at branch ", request.branch_id(),
                      " by ", request.delta() > 0 ? "+" : "", request.delta(), " (",
                      request.reason(), ")\n\n", StockPositionText(response.position()), "\n",
                      FilledText(response.filled()));
}

std::string ReceiveText(const v1::ProcessCreditorInvoiceRequest& request,
                        const v1::ProcessCreditorInvoiceResponse& response) {
  std::string out =
      absl::StrCat("Creditor invoice ", request.creditor_invoice_id(), " from ",
                   request.supplier_id(), " processed at branch ", request.branch_id());
  if (!request.stock_order_id().empty())
    absl::StrAppend(&out, " (stock order ", request.stock_order_id(), ")");
  absl::StrAppend(&out, "\n\nReceived:\n");
  std::map<std::string, const v1::StockPosition*> positions;
  for (const auto& p : response.positions()) positions[p.part_number()] = &p;
  Table table({{"Part"},
               {"Received", kRight},
               {"Unit cost", kRight},
               {"On hand", kRight},
               {"Free", kRight},
               {"Filled for back orders", kRight}});
  for (const auto& line : request.lines()) {
    const auto it = positions.find(line.part_number());
    const bool known = it != positions.end();
    table.AddRow({line.part_number(), Num(line.quantity()), FormatMoney(line.unit_cost()),
                  known ? Num(it->second->on_hand()) : "", known ? Num(it->second->free()) : "",
                  known ? Num(it->second->filled_not_invoiced()) : ""});
  }
  return absl::StrCat(out, table.Render("  "), "\n", FilledText(response.filled()));
}

std::string FilledText(const google::protobuf::RepeatedPtrField<v1::FilledBackorder>& filled) {
  if (filled.empty()) return "No back orders were waiting for this stock.\n";
  Table table({{"Debtor"},
               {"Invoice/line"},
               {"Part"},
               {"Filled now", kRight},
               {"Filled/back-ordered", kRight},
               {"Back order"}});
  for (const auto& f : filled) {
    const auto& c = f.context();
    table.AddRow({c.debtor_id(), InvoiceLine(c.invoice_id(), c.invoice_line()), c.part_number(),
                  Num(f.quantity()),
                  absl::StrCat(f.quantities().filled(), "/", f.quantities().back_ordered()),
                  c.backorder_id()});
  }
  return "Back orders filled:\n" + table.Render("  ");
}

std::string InvoiceText(const v1::Invoice& invoice) {
  Fields fields = {
      {"Branch", invoice.branch_id()},
      {"Debtor", absl::StrCat(invoice.debtor_id(), invoice.debtor_uses_backorders()
                                                       ? " (uses back orders)"
                                                       : " (does not use back orders)")}};
  AddIfSet(&fields, "Reference", invoice.reference());
  fields.emplace_back("Created", When(invoice.created_at(), invoice.created_by()));
  AddIfSet(&fields, "Finalised", FormatTimeUtc(invoice.finalised_at()));
  fields.emplace_back("Total", FormatMoney(invoice.total()));
  std::string out = InvoiceHeadline(invoice) + RenderFields(fields);
  if (invoice.ready_backorders() > 0 && invoice.status() == v1::INVOICE_STATUS_DRAFT) {
    absl::StrAppend(
        &out, "\nThe debtor has ", Plural(invoice.ready_backorders(), "back order", "back orders"),
        " ready to invoice: boctl invoice ready-backorders --debtor ", invoice.debtor_id(), "\n");
  }
  if (invoice.lines().empty()) return out + "\nNo lines yet.\n";
  Table lines = InvoiceLinesTable();
  for (const auto& line : invoice.lines()) AddInvoiceLine(&lines, line);
  return absl::StrCat(out, "\n", lines.Render());
}

std::string InvoicesText(const v1::ListInvoicesResponse& response) {
  if (response.invoices().empty()) return "No invoices match.\n";
  Table table({{"Invoice"},
               {"Kind"},
               {"Status"},
               {"Branch"},
               {"Debtor"},
               {"Reference"},
               {"Lines", kRight},
               {"Total", kRight},
               {"Created (UTC)"}});
  for (const auto& i : response.invoices()) {
    table.AddRow({i.invoice_id(), KindName(i.kind()), InvoiceStatusName(i.status()), i.branch_id(),
                  i.debtor_id(), i.reference(), Num(i.lines_size()), FormatMoney(i.total()),
                  FormatTime(i.created_at())});
  }
  return table.Render() + MoreText(response.next_page_token());
}

std::string AddPartLineText(const v1::AddPartLineResponse& response) {
  const auto& line = response.line();
  const auto& invoice = response.invoice();
  Table table = InvoiceLinesTable();
  AddInvoiceLine(&table, line);
  std::string out =
      absl::StrCat("Line ", line.line(), " added to invoice ", invoice.invoice_id(), " (total now ",
                   FormatMoney(invoice.total()), ")\n\n", table.Render(), "\n");
  if (!response.message().empty()) {
    absl::StrAppend(&out, response.message(), "\n");
  } else if (response.backorder_offered()) {
    absl::StrAppend(&out, "Short by ", response.shortfall(), ": a back order is offered.\n");
  } else if (response.shortfall() > 0) {
    absl::StrAppend(&out, "Short by ", response.shortfall(),
                    ": the debtor does not use back orders, so it is a lost sale at finalising.\n");
  }
  if (response.backorder_offered()) {
    absl::StrAppend(&out, "To change the figures: boctl invoice adjust-line --invoice ",
                    invoice.invoice_id(), " --line ", line.line(), " --supplied N --backorder N\n");
  }
  return out;
}

std::string FinaliseText(const v1::FinaliseInvoiceResponse& response) {
  const auto& invoice = response.invoice();
  std::string out = absl::StrCat("Invoice ", invoice.invoice_id(), " finalised: charged ",
                                 FormatMoney(invoice.total()), "\n\n", InvoiceText(invoice));
  if (!response.created().empty()) {
    absl::StrAppend(&out, Section("Back orders created:", BackordersTable(response.created(), "")));
  }
  if (!response.invoiced().empty()) {
    absl::StrAppend(&out,
                    Section("Back orders invoiced:", BackordersTable(response.invoiced(), "")));
  }
  return out;
}

std::string ReadyBackordersText(const std::string& debtor_id,
                                const v1::ListReadyBackordersResponse& response) {
  if (response.backorders().empty()) return "No back orders ready to invoice.\n";
  Table table({{"Back order"},
               {"Invoice/line"},
               {"Branch"},
               {"Part"},
               {"Ready", kRight},
               {"Waiting", kRight},
               {"Unit price", kRight},
               {"Filled (UTC)"}});
  for (const auto& b : response.backorders()) {
    const auto& c = b.context();
    table.AddRow({c.backorder_id(), InvoiceLine(c.invoice_id(), c.invoice_line()), c.branch_id(),
                  c.part_number(), Num(bo::Ready(b.quantities())), Num(bo::Waiting(b.quantities())),
                  FormatMoney(c.unit_price()), FormatTime(b.filled_at())});
  }
  return absl::StrCat(
      "Back orders of ", debtor_id, " ready to invoice:\n", table.Render(),
      "Add them with: boctl invoice add-backorders --invoice INV --backorder ID ...\n");
}

std::string BackorderText(const v1::Backorder& b) {
  const auto& c = b.context();
  Fields fields = {{"Debtor", c.debtor_id()},
                   {"Branch", c.branch_id()},
                   {"Invoice/line", absl::StrCat(InvoiceLine(c.invoice_id(), c.invoice_line()),
                                                 " (", KindName(c.invoice_kind()), ")")},
                   {"Part", absl::StrCat(c.part_number(), " (supplier ", c.supplier_id(), ")")},
                   {"Unit price", FormatMoney(c.unit_price())},
                   {"Quantities", QuantitiesText(b.quantities())}};
  if (!b.stock_order_id().empty()) {
    fields.emplace_back("On order",
                        absl::StrCat(b.stock_order_id(), " line ", b.stock_order_line()));
  }
  fields.emplace_back("Created", FormatTimeUtc(b.created_at()));
  AddIfSet(&fields, "Last filled", FormatTimeUtc(b.filled_at()));
  AddIfSet(&fields, "Invoiced", FormatTimeUtc(b.invoiced_at()));
  if (b.cancelled_at().seconds() != 0) {
    fields.emplace_back("Cancelled",
                        absl::StrCat(FormatTimeUtc(b.cancelled_at()), ": ", b.cancel_reason()));
  }
  AddIfSet(&fields, "On draft invoice", b.draft_invoice_id());
  AddIfSet(&fields, "Updated", FormatTimeUtc(b.updated_at()));
  return absl::StrCat("Back order ", c.backorder_id(), "  ", BackorderStateName(b.state()), "\n",
                      RenderFields(fields));
}

std::string BackordersTable(const google::protobuf::RepeatedPtrField<v1::Backorder>& backorders,
                            const std::string& empty, const std::string& indent) {
  if (backorders.empty()) return empty;
  Table table({{"Back order"},
               {"Debtor"},
               {"Invoice/line"},
               {"Part"},
               {"Supplier"},
               {"State"},
               {"Qty", kRight},
               {"Filled", kRight},
               {"Invoiced", kRight},
               {"Waiting", kRight},
               {"Created (UTC)"}});
  for (const auto& b : backorders) {
    const auto& c = b.context();
    const auto& q = b.quantities();
    table.AddRow({c.backorder_id(), c.debtor_id(), InvoiceLine(c.invoice_id(), c.invoice_line()),
                  c.part_number(), c.supplier_id(), BackorderStateName(b.state()),
                  Num(q.back_ordered()), Num(q.filled()), Num(q.invoiced()), Num(bo::Waiting(q)),
                  FormatTime(b.created_at())});
  }
  return table.Render(indent);
}

std::string BackorderListText(const v1::ListBackordersResponse& response) {
  if (response.backorders().empty()) return "No back orders match.\n";
  std::string out = BackordersTable(response.backorders(), "", "");
  if (response.total_size() > response.backorders_size()) {
    absl::StrAppend(&out, "Showing ", response.backorders_size(), " of ", response.total_size(),
                    " back orders.\n");
  }
  return out + MoreText(response.next_page_token());
}

std::string HistoryText(const v1::BackorderHistory& history) {
  std::string out = BackorderText(history.backorder());
  if (history.entries().empty()) return out + "\nNo history recorded.\n";
  Table table({{"When (UTC)"}, {"Event"}, {"Who"}, {"What"}, {"Why"}});
  for (const auto& e : history.entries()) {
    std::string who = e.actor().subject();
    if (!e.actor().role().empty()) absl::StrAppend(&who, " (", e.actor().role(), ")");
    table.AddRow({FormatTime(e.occurred_at()), e.type(), who, e.summary(), e.reason()});
  }
  return absl::StrCat(out, Section("History, oldest first:", table.Render("  ")));
}

std::string ReadyToInvoiceText(const v1::ListReadyToInvoiceRequest& request,
                               const v1::ListReadyToInvoiceResponse& response) {
  std::string out = ReadyTitle(request);
  if (response.invoices().empty()) return out + "\nNo back orders ready to invoice.\n";
  int lines = 0;
  for (const auto& invoice : response.invoices()) {
    absl::StrAppend(&out, ReadyInvoiceText(invoice));
    lines += invoice.lines_size();
  }
  return absl::StrCat(out, "\n", Plural(lines, "back order", "back orders"), " ready on ",
                      Plural(response.invoices_size(), "invoice", "invoices"), ".\n");
}

std::string StockOrderText(const v1::StockOrder& order) {
  Fields fields = {{"Branch", order.branch_id()}, {"Supplier", order.supplier_id()}};
  AddIfSet(&fields, "Reference", order.reference());
  fields.emplace_back("Created", When(order.created_at(), order.created_by()));
  AddIfSet(&fields, "Placed", FormatTimeUtc(order.placed_at()));
  std::string out = absl::StrCat("Stock order ", order.stock_order_id(), "  ",
                                 StockOrderStatusName(order.status()), "\n", RenderFields(fields),
                                 "\n", StockOrderLinesText(order));
  if (!order.dropped_backorder_ids().empty()) {
    absl::StrAppend(&out,
                    "\nLeft off at finalising (taken by another stock order, filled or "
                    "cancelled meanwhile): ",
                    absl::StrJoin(order.dropped_backorder_ids(), ", "), "\n");
  }
  return out;
}

std::string StockOrdersText(const v1::ListStockOrdersResponse& response) {
  if (response.stock_orders().empty()) return "No stock orders match.\n";
  Table table({{"Stock order"},
               {"Status"},
               {"Branch"},
               {"Supplier"},
               {"Reference"},
               {"Lines", kRight},
               {"Created (UTC)"},
               {"Placed (UTC)"}});
  for (const auto& o : response.stock_orders()) {
    table.AddRow({o.stock_order_id(), StockOrderStatusName(o.status()), o.branch_id(),
                  o.supplier_id(), o.reference(), Num(o.lines_size()), FormatTime(o.created_at()),
                  FormatTime(o.placed_at())});
  }
  return table.Render() + MoreText(response.next_page_token());
}

std::string GetBackordersText(const v1::GetBackordersRequest& request,
                              const v1::GetBackordersResponse& response) {
  const std::string scope =
      request.this_supplier_only() ? "of this order's supplier" : "of the whole branch";
  if (response.backorders().empty()) {
    return absl::StrCat("No open back orders ", scope, " waiting to be ordered.\n");
  }
  return absl::StrCat("Open back orders ", scope, ", not on order (oldest first):\n",
                      BackordersTable(response.backorders(), ""),
                      "Tick them with: boctl stock-order tick --order ", request.stock_order_id(),
                      " --backorder ID ...\n");
}

}  // namespace bo::boctl
