// boctl backorder get|cancel (invoicing's view and decision) and list|history|ready
// (debtor-query's read models).
#include "tools/boctl/commands.h"
#include "tools/boctl/format.h"
#include "tools/boctl/views.h"

namespace bo::boctl {
namespace {

using InvoicingStub = v1::InvoicingService::Stub;
using QueryStub = v1::DebtorQueryService::Stub;
const Rpc kGetBackorder{"GetBackorder", &InvoicingStub::GetBackorder};
const Rpc kCancelBackorder{"CancelBackorder", &InvoicingStub::CancelBackorder};
const Rpc kListBackorders{"ListBackorders", &QueryStub::ListBackorders};
const Rpc kGetBackorderHistory{"GetBackorderHistory", &QueryStub::GetBackorderHistory};
const Rpc kListReadyToInvoice{"ListReadyToInvoice", &QueryStub::ListReadyToInvoice};

constexpr char kIdHelp[] = "back order id, e.g. BO-B1-000001-2";

std::string BackorderId(const v1::Backorder& b) { return b.context().backorder_id(); }

const View<v1::Backorder> kBackorderView = ViewOf<v1::Backorder>(BackorderText, BackorderId);

void SetBackorderId(auto* request, const std::string& id) { request->set_backorder_id(id); }

void AddCancel(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string id, reason;
  };
  auto f = std::make_shared<Flags>();
  auto* command = commands->Add(
      group, "cancel",
      "Cancel a back order for everything not invoiced; its filled stock fills the next one",
      [f](Context& context) {
        v1::CancelBackorderRequest request;
        request.set_request_id(context.request_id());
        request.set_backorder_id(f->id);
        request.set_reason(f->reason);
        return Run(context, "cancelling back order " + f->id, kCancelBackorder, request,
                   Headed("Cancelled back order", kBackorderView));
      });
  AddRequired(command, "--id", &f->id, kIdHelp);
  AddRequired(command, "--reason", &f->reason, "why the customer no longer wants it");
}

void AddList(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string branch, debtor, supplier, part, state;
    int min_age_days = 0, max_age_days = 0;
    Paging paging;
  };
  auto f = std::make_shared<Flags>();
  auto* command = commands->Add(
      group, "list", "Back orders filtered by branch, debtor, supplier, part, state and age",
      [f](Context& context) {
        v1::ListBackordersRequest request;
        request.set_branch_id(f->branch);
        request.set_debtor_id(f->debtor);
        request.set_supplier_id(f->supplier);
        request.set_part_number(f->part);
        request.set_state(ParseBackorderState(f->state));
        request.set_min_age_days(f->min_age_days);
        request.set_max_age_days(f->max_age_days);
        f->paging.Set(&request);
        return Run(context, "listing back orders", kListBackorders, request,
                   ListView<v1::ListBackordersResponse>(
                       BackorderListText,
                       [](const auto& r) -> const auto& { return r.backorders(); }, BackorderId));
      });
  command->add_option("--branch", f->branch, "only this branch");
  command->add_option("--debtor", f->debtor, "only this debtor");
  command->add_option("--supplier", f->supplier, "only this supplier");
  command->add_option("--part", f->part, "only this part");
  command->add_option("--state", f->state, "only this state")
      ->check(
          CLI::IsMember({"OPEN", "ON_ORDER", "PARTLY_FILLED", "FILLED", "INVOICED", "CANCELLED"},
                        CLI::ignore_case));
  command->add_option("--min-age-days", f->min_age_days, "at least this many days old")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--max-age-days", f->max_age_days, "at most this many days old")
      ->check(CLI::NonNegativeNumber);
  AddPaging(command, &f->paging);
}

void AddReady(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string branch, debtor;
  };
  auto f = std::make_shared<Flags>();
  auto* command = commands->Add(
      group, "ready",
      "Backorders ready to invoice – ALL DEBTORS, or one branch or debtor, with contact details",
      [f](Context& context) {
        v1::ListReadyToInvoiceRequest request;
        request.set_branch_id(f->branch);
        request.set_debtor_id(f->debtor);
        View<v1::ListReadyToInvoiceResponse> view{
            [request](const auto& r) { return ReadyToInvoiceText(request, r); },
            [](const v1::ListReadyToInvoiceResponse& r) {
              std::vector<std::string> ids;  // --quiet: the back orders ready
              for (const auto& invoice : r.invoices()) {
                for (const auto& line : invoice.lines()) ids.push_back(line.backorder_id());
              }
              return ids;
            }};
        return Run(context, "listing back orders ready to invoice", kListReadyToInvoice, request,
                   view);
      });
  command->add_option("--branch", f->branch, "only this branch");
  command->add_option("--debtor", f->debtor, "only this debtor");
}

}  // namespace

void AddBackorderCommands(CLI::App* app, Commands* commands) {
  CLI::App* group =
      Commands::Group(app, "backorder", "Back orders: look up, cancel, list, history");
  AddIdCommand(
      group, commands,
      {"get", "Show a back order as invoicing knows it", "--id", kIdHelp, "reading back order"},
      kGetBackorder, SetBackorderId<v1::GetBackorderRequest>,
      ViewOf<v1::Backorder>(BackorderText, BackorderId));
  AddCancel(group, commands);
  AddList(group, commands);
  AddIdCommand(group, commands,
               {"history", "A back order with every event that changed it: who, when, why", "--id",
                kIdHelp, "reading the history of back order"},
               kGetBackorderHistory, SetBackorderId<v1::GetBackorderHistoryRequest>,
               ViewOf<v1::BackorderHistory>(HistoryText, [](const v1::BackorderHistory& h) {
                 return BackorderId(h.backorder());
               }));
  AddReady(group, commands);
}

}  // namespace bo::boctl
