// boctl part upsert|get|list, stock adjust|get, receive: the receiving service (part master,
// stock ledgers, creditor invoices).
#include <cstdio>

#include "tools/boctl/commands.h"
#include "tools/boctl/format.h"
#include "tools/boctl/views.h"

namespace bo::boctl {
namespace {

using Stub = v1::ReceivingService::Stub;
const Rpc kUpsertPart{"UpsertPart", &Stub::UpsertPart};
const Rpc kGetPart{"GetPart", &Stub::GetPart};
const Rpc kListParts{"ListParts", &Stub::ListParts};
const Rpc kAdjustStock{"AdjustStock", &Stub::AdjustStock};
const Rpc kGetStock{"GetStock", &Stub::GetStock};
const Rpc kProcessCreditorInvoice{"ProcessCreditorInvoice", &Stub::ProcessCreditorInvoice};

const View<v1::Part> kPartView =
    ViewOf<v1::Part>(PartText, [](const v1::Part& p) { return p.part_number(); });

std::string StockKeyText(const std::string& branch, const std::string& part) {
  return part + " at branch " + branch;
}

// --- part ----------------------------------------------------------------------------------

struct PartFlags {
  CLI::App* command = nullptr;
  std::string part, description, supplier, price;
};

// UpsertPart takes the whole record: an existing part keeps what the flags do not change.
void AddPartUpsert(CLI::App* group, Commands* commands) {
  auto f = std::make_shared<PartFlags>();
  f->command = commands->Add(
      group, "upsert", "Create a part, or change the given fields of an existing one",
      [f](Context& context) {
        v1::UpsertPartRequest request;
        request.set_request_id(context.request_id());
        v1::Part* part = request.mutable_part();
        if (!context.output().dry_run) {
          v1::GetPartRequest get;
          get.set_part_number(f->part);
          const grpc::Status found = context.client().TryCall(kGetPart, get, part);
          if (!found.ok() && found.error_code() != grpc::StatusCode::NOT_FOUND) {
            context.client().Report("reading part " + f->part, ServiceId::kReceiving, found);
            return kRpcError;
          }
        }
        part->set_part_number(f->part);
        part->clear_updated_at();
        part->clear_updated_by();
        if (Given(f->command, "--description")) part->set_description(f->description);
        if (Given(f->command, "--supplier")) part->set_supplier_id(f->supplier);
        if (Given(f->command, "--price") &&
            !MoneyFlag(context, "--price", f->price, part->mutable_unit_price())) {
          return kUsageError;
        }
        return Run(context, "saving part " + f->part, kUpsertPart, request,
                   Headed("Saved part", kPartView));
      });
  AddRequired(f->command, "--part", &f->part, "part number, for example OIL-FILTER-1");
  f->command->add_option("--description", f->description, "description");
  f->command->add_option("--supplier", f->supplier, "primary supplier (creditor) id");
  AddMoney(f->command, "--price", &f->price, "retail unit price, e.g. 12.50 or \"12.50 NZD\"");
}

void AddPartList(CLI::App* group, Commands* commands) {
  auto paging = std::make_shared<Paging>();
  auto* command =
      commands->Add(group, "list", "List parts by part number", [paging](Context& context) {
        v1::ListPartsRequest request;
        paging->Set(&request);
        return Run(context, "listing parts", kListParts, request,
                   ListView<v1::ListPartsResponse>(
                       PartsText, [](const auto& r) -> const auto& { return r.parts(); },
                       [](const v1::Part& p) { return p.part_number(); }));
      });
  AddPaging(command, paging.get());
}

// --- stock ---------------------------------------------------------------------------------

void AddStockAdjust(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string branch, part, reason;
    int64_t delta = 0;
  };
  auto f = std::make_shared<Flags>();
  auto* command = commands->Add(
      group, "adjust", "Opening stock or a stocktake correction (free stock fills back orders)",
      [f](Context& context) {
        v1::AdjustStockRequest request;
        request.set_request_id(context.request_id());
        request.set_branch_id(f->branch);
        request.set_part_number(f->part);
        request.set_delta(f->delta);
        request.set_reason(f->reason);
        View<v1::AdjustStockResponse> view{
            [request](const v1::AdjustStockResponse& r) { return AdjustStockText(request, r); },
            nullptr};
        return Run(context, "adjusting stock of " + StockKeyText(f->branch, f->part), kAdjustStock,
                   request, view);
      });
  AddRequired(command, "--branch", &f->branch, "branch id");
  AddRequired(command, "--part", &f->part, "part number");
  command->add_option("--delta", f->delta, "change to on-hand stock, e.g. 10 or -2")->required();
  AddRequired(command, "--reason", &f->reason, "why: \"opening stock\", \"stocktake\", ...");
}

void AddStockGet(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string branch, part;
  };
  auto f = std::make_shared<Flags>();
  auto* command = commands->Add(
      group, "get", "Stock position of a part at a branch, its holds and back orders",
      [f](Context& context) {
        v1::GetStockRequest request;
        request.set_branch_id(f->branch);
        request.set_part_number(f->part);
        return Run(context, "reading stock of " + StockKeyText(f->branch, f->part), kGetStock,
                   request, View<v1::StockPosition>{StockPositionText, nullptr});
      });
  AddRequired(command, "--branch", &f->branch, "branch id");
  AddRequired(command, "--part", &f->part, "part number");
}

// --- receive -------------------------------------------------------------------------------

void AddReceive(CLI::App* app, Commands* commands) {
  struct Flags {
    std::string branch, creditor_invoice, supplier, stock_order;
    std::vector<std::string> lines;
  };
  auto f = std::make_shared<Flags>();
  auto* command = commands->Add(
      app, "receive",
      "Process a supplier's creditor invoice: receive the stock, fill back orders oldest first",
      [f](Context& context) {
        v1::ProcessCreditorInvoiceRequest request;
        request.set_request_id(context.request_id());
        request.set_branch_id(f->branch);
        request.set_creditor_invoice_id(f->creditor_invoice);
        request.set_supplier_id(f->supplier);
        request.set_stock_order_id(f->stock_order);
        for (const auto& text : f->lines) {
          auto line = ParseReceiptLine(text, context.output().currency);
          if (!line.ok()) {
            std::fprintf(stderr, "error: --line: %s\n",
                         std::string(line.status().message()).c_str());
            return kUsageError;
          }
          *request.add_lines() = *line;
        }
        View<v1::ProcessCreditorInvoiceResponse> view{
            [request](const v1::ProcessCreditorInvoiceResponse& r) {
              return ReceiveText(request, r);
            },
            [](const v1::ProcessCreditorInvoiceResponse& r) {
              std::vector<std::string> ids;  // --quiet: the back orders filled
              for (const auto& filled : r.filled()) ids.push_back(filled.context().backorder_id());
              return ids;
            }};
        return Run(context,
                   "processing creditor invoice " + f->creditor_invoice + " at branch " + f->branch,
                   kProcessCreditorInvoice, request, view);
      });
  AddRequired(command, "--branch", &f->branch, "branch receiving the stock");
  AddRequired(command, "--creditor-invoice", &f->creditor_invoice, "the supplier's invoice number");
  AddRequired(command, "--supplier", &f->supplier, "supplier (creditor) id");
  command->add_option("--stock-order", f->stock_order, "the stock order the delivery answers");
  command->add_option("--line", f->lines, "PART:QTY[:COST], once per part, e.g. OIL-1:5:12.50")
      ->required()
      ->check(ParsedBy(ParseReceiptLine, "PART:QTY[:COST]"))
      ->type_name("PART:QTY[:COST]");
}

}  // namespace

void AddReceivingCommands(CLI::App* app, Commands* commands) {
  CLI::App* part = Commands::Group(app, "part", "The part master file");
  AddPartUpsert(part, commands);
  AddIdCommand(
      part, commands, {"get", "Show a part", "--part", "part number", "reading part"}, kGetPart,
      [](v1::GetPartRequest* r, const std::string& id) { r->set_part_number(id); }, kPartView);
  AddPartList(part, commands);
  CLI::App* stock = Commands::Group(app, "stock", "Stock of a part at a branch");
  AddStockAdjust(stock, commands);
  AddStockGet(stock, commands);
  AddReceive(app, commands);
}

}  // namespace bo::boctl
