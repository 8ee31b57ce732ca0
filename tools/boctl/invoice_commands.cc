// boctl invoice ...: customer invoices/ROs (invoicing service).
#include "absl/strings/str_join.h"
#include "tools/boctl/commands.h"
#include "tools/boctl/format.h"
#include "tools/boctl/views.h"

namespace bo::boctl {
namespace {

using Stub = v1::InvoicingService::Stub;
const Rpc kCreateInvoice{"CreateInvoice", &Stub::CreateInvoice};
const Rpc kGetInvoice{"GetInvoice", &Stub::GetInvoice};
const Rpc kListInvoices{"ListInvoices", &Stub::ListInvoices};
const Rpc kAddPartLine{"AddPartLine", &Stub::AddPartLine};
const Rpc kAdjustPartLine{"AdjustPartLine", &Stub::AdjustPartLine};
const Rpc kAddChargeLine{"AddChargeLine", &Stub::AddChargeLine};
const Rpc kListReadyBackorders{"ListReadyBackorders", &Stub::ListReadyBackorders};
const Rpc kAddBackorderLines{"AddBackorderLines", &Stub::AddBackorderLines};
const Rpc kFinaliseInvoice{"FinaliseInvoice", &Stub::FinaliseInvoice};
const Rpc kAbandonInvoice{"AbandonInvoice", &Stub::AbandonInvoice};

std::string InvoiceId(const v1::Invoice& invoice) { return invoice.invoice_id(); }

const View<v1::Invoice> kInvoiceView = ViewOf<v1::Invoice>(InvoiceText, InvoiceId);

// An invoice after a change, headed by what happened ("Abandoned invoice INV-...").
View<v1::Invoice> InvoiceView(const std::string& headline) {
  return Headed(headline, kInvoiceView);
}

constexpr char kInvoiceHelp[] = "invoice id, e.g. INV-B1-000001";

CLI::Option* AddInvoiceFlag(CLI::App* command, std::string* invoice) {
  return AddRequired(command, "--invoice", invoice, kInvoiceHelp);
}

void SetInvoiceId(auto* request, const std::string& id) { request->set_invoice_id(id); }

void AddCreate(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string branch, debtor, kind, reference;
  };
  auto f = std::make_shared<Flags>();
  auto* command = commands->Add(
      group, "create", "Open a draft invoice/RO at a branch for a debtor", [f](Context& context) {
        v1::CreateInvoiceRequest request;
        request.set_request_id(context.request_id());
        request.set_branch_id(f->branch);
        request.set_debtor_id(f->debtor);
        request.set_kind(ParseKind(f->kind));
        request.set_reference(f->reference);
        return Run(context,
                   absl::StrCat("creating a ", f->kind, " invoice for debtor ", f->debtor,
                                " at branch ", f->branch),
                   kCreateInvoice, request, InvoiceView("Created invoice"));
      });
  AddRequired(command, "--branch", &f->branch, "branch id");
  AddRequired(command, "--debtor", &f->debtor, "debtor id");
  AddRequired(command, "--kind", &f->kind, "workshop, labour or counter")
      ->check(CLI::IsMember({"workshop", "labour", "counter"}, CLI::ignore_case));
  command->add_option("--reference", f->reference, "RO number, vehicle, customer's order number");
}

void AddList(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string branch, debtor, status;
    Paging paging;
  };
  auto f = std::make_shared<Flags>();
  auto* command =
      commands->Add(group, "list", "List invoices, newest first", [f](Context& context) {
        v1::ListInvoicesRequest request;
        request.set_branch_id(f->branch);
        request.set_debtor_id(f->debtor);
        request.set_status(ParseInvoiceStatus(f->status));
        f->paging.Set(&request);
        return Run(context, "listing invoices", kListInvoices, request,
                   ListView<v1::ListInvoicesResponse>(
                       InvoicesText, [](const auto& r) -> const auto& { return r.invoices(); },
                       InvoiceId));
      });
  command->add_option("--branch", f->branch, "only this branch");
  command->add_option("--debtor", f->debtor, "only this debtor");
  command->add_option("--status", f->status, "draft, finalised or abandoned")
      ->check(CLI::IsMember({"draft", "finalised", "abandoned"}, CLI::ignore_case));
  AddPaging(command, &f->paging);
}

void AddPart(CLI::App* group, Commands* commands) {
  struct Flags {
    CLI::App* command = nullptr;
    std::string invoice, part, price;
    int64_t quantity = 0;
  };
  auto f = std::make_shared<Flags>();
  f->command = commands->Add(
      group, "add-part",
      "Add a part line: holds free stock; offers a back order when short (if the debtor uses them)",
      [f](Context& context) {
        v1::AddPartLineRequest request;
        request.set_request_id(context.request_id());
        request.set_invoice_id(f->invoice);
        request.set_part_number(f->part);
        request.set_quantity_ordered(f->quantity);
        if (Given(f->command, "--price") &&
            !MoneyFlag(context, "--price", f->price, request.mutable_unit_price())) {
          return kUsageError;
        }
        return Run(context,
                   absl::StrCat("adding ", f->quantity, " x ", f->part, " to ", f->invoice),
                   kAddPartLine, request,
                   ViewOf<v1::AddPartLineResponse>(AddPartLineText, [](const auto& r) {
                     return InvoiceLine(r.invoice().invoice_id(), r.line().line());
                   }));
      });
  AddInvoiceFlag(f->command, &f->invoice);
  AddRequired(f->command, "--part", &f->part, "part number");
  f->command->add_option("--qty", f->quantity, "quantity ordered")->required();
  AddMoney(f->command, "--price", &f->price, "unit price instead of the part's price");
}

void AddAdjustLine(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string invoice;
    int32_t line = 0;
    int64_t supplied = 0, backorder = 0;
  };
  auto f = std::make_shared<Flags>();
  auto* command = commands->Add(
      group, "adjust-line",
      "Change a part line's supplied and back-order figures (supplied <= available, "
      "supplied + back order <= ordered)",
      [f](Context& context) {
        v1::AdjustPartLineRequest request;
        request.set_request_id(context.request_id());
        request.set_invoice_id(f->invoice);
        request.set_line(f->line);
        request.set_quantity_supplied(f->supplied);
        request.set_quantity_back_ordered(f->backorder);
        return Run(context, absl::StrCat("adjusting line ", f->line, " of ", f->invoice),
                   kAdjustPartLine, request, InvoiceView("Adjusted invoice"));
      });
  AddInvoiceFlag(command, &f->invoice);
  command->add_option("--line", f->line, "line number")->required();
  command->add_option("--supplied", f->supplied, "quantity supplied now")->required();
  command->add_option("--backorder", f->backorder, "quantity to back-order")->required();
}

void AddCharge(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string invoice, description, amount;
  };
  auto f = std::make_shared<Flags>();
  auto* command =
      commands->Add(group, "add-charge", "Add another charge (labour, sundries) to a draft",
                    [f](Context& context) {
                      v1::AddChargeLineRequest request;
                      request.set_request_id(context.request_id());
                      request.set_invoice_id(f->invoice);
                      request.set_description(f->description);
                      if (!MoneyFlag(context, "--amount", f->amount, request.mutable_amount())) {
                        return kUsageError;
                      }
                      return Run(context, "adding a charge to " + f->invoice, kAddChargeLine,
                                 request, InvoiceView("Added a charge to invoice"));
                    });
  AddInvoiceFlag(command, &f->invoice);
  AddRequired(command, "--description", &f->description, "what is charged");
  AddMoney(command, "--amount", &f->amount, "e.g. 85.00 or \"85.00 NZD\"")->required();
}

void AddReadyBackorders(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string debtor, branch;
  };
  auto f = std::make_shared<Flags>();
  auto* command = commands->Add(
      group, "ready-backorders", "The debtor's back orders filled and ready to add to an invoice",
      [f](Context& context) {
        v1::ListReadyBackordersRequest request;
        request.set_debtor_id(f->debtor);
        request.set_branch_id(f->branch);
        const std::string debtor = f->debtor;
        return Run(context, "listing back orders of " + f->debtor + " ready to invoice",
                   kListReadyBackorders, request,
                   ListView<v1::ListReadyBackordersResponse>(
                       [debtor](const auto& r) { return ReadyBackordersText(debtor, r); },
                       [](const auto& r) -> const auto& { return r.backorders(); },
                       [](const v1::Backorder& b) { return b.context().backorder_id(); }));
      });
  AddRequired(command, "--debtor", &f->debtor, "debtor id");
  command->add_option("--branch", f->branch, "only this branch");
}

void AddBackorders(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string invoice;
    std::vector<std::string> backorders;
  };
  auto f = std::make_shared<Flags>();
  auto* command = commands->Add(
      group, "add-backorders",
      "Add ticked ready back orders as lines at their agreed price, the filled quantity supplied",
      [f](Context& context) {
        v1::AddBackorderLinesRequest request;
        request.set_request_id(context.request_id());
        request.set_invoice_id(f->invoice);
        for (const auto& id : f->backorders) request.add_backorder_ids(id);
        return Run(context,
                   absl::StrCat("adding back orders ", absl::StrJoin(f->backorders, ", "), " to ",
                                f->invoice),
                   kAddBackorderLines, request, InvoiceView("Added back orders to invoice"));
      });
  AddInvoiceFlag(command, &f->invoice);
  command->add_option("--backorder", f->backorders, "back order id (repeat for several)")
      ->required();
}

}  // namespace

void AddInvoiceCommands(CLI::App* app, Commands* commands) {
  CLI::App* group =
      Commands::Group(app, "invoice", "Customer invoices/ROs: part lines, back orders, finalising");
  AddCreate(group, commands);
  AddIdCommand(
      group, commands,
      {"get", "Show an invoice with its lines", "--invoice", kInvoiceHelp, "reading invoice"},
      kGetInvoice, SetInvoiceId<v1::GetInvoiceRequest>, kInvoiceView);
  AddList(group, commands);
  AddPart(group, commands);
  AddAdjustLine(group, commands);
  AddCharge(group, commands);
  AddReadyBackorders(group, commands);
  AddBackorders(group, commands);
  AddIdCommand(group, commands,
               {"finalise",
                "Finalise a draft: charge what is supplied, create the back orders, record lost "
                "sales",
                "--invoice", kInvoiceHelp, "finalising invoice"},
               kFinaliseInvoice, SetInvoiceId<v1::FinaliseInvoiceRequest>,
               ViewOf<v1::FinaliseInvoiceResponse>(
                   FinaliseText, [](const auto& r) { return r.invoice().invoice_id(); }));
  AddIdCommand(group, commands,
               {"abandon", "Abandon a draft: its held stock is freed", "--invoice", kInvoiceHelp,
                "abandoning invoice"},
               kAbandonInvoice, SetInvoiceId<v1::AbandonInvoiceRequest>,
               InvoiceView("Abandoned invoice"));
}

}  // namespace bo::boctl
