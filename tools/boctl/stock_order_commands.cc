// boctl stock-order ...: stock orders to a supplier for a branch (purchasing service).
#include "absl/strings/str_join.h"
#include "tools/boctl/commands.h"
#include "tools/boctl/format.h"
#include "tools/boctl/views.h"

namespace bo::boctl {
namespace {

using Stub = v1::PurchasingService::Stub;
const Rpc kCreateStockOrder{"CreateStockOrder", &Stub::CreateStockOrder};
const Rpc kGetStockOrder{"GetStockOrder", &Stub::GetStockOrder};
const Rpc kListStockOrders{"ListStockOrders", &Stub::ListStockOrders};
const Rpc kGetBackorders{"GetBackorders", &Stub::GetBackorders};
const Rpc kAddBackorderLines{"AddBackorderLines", &Stub::AddBackorderLines};
const Rpc kAddStockLine{"AddStockLine", &Stub::AddStockLine};
const Rpc kFinaliseStockOrder{"FinaliseStockOrder", &Stub::FinaliseStockOrder};
const Rpc kGetBackorder{"GetBackorder", &Stub::GetBackorder};

constexpr char kOrderHelp[] = "stock order id, e.g. SO-B1-000001";

std::string OrderId(const v1::StockOrder& order) { return order.stock_order_id(); }

void SetOrderId(auto* request, const std::string& id) { request->set_stock_order_id(id); }

const View<v1::StockOrder> kOrderView = ViewOf<v1::StockOrder>(StockOrderText, OrderId);

// A stock order after a change, headed by what happened ("Finalised stock order SO-...").
View<v1::StockOrder> OrderView(const std::string& headline) { return Headed(headline, kOrderView); }

void AddCreate(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string branch, supplier, reference;
  };
  auto f = std::make_shared<Flags>();
  auto* command = commands->Add(
      group, "create", "Open a draft stock order to a supplier for a branch",
      [f](Context& context) {
        v1::CreateStockOrderRequest request;
        request.set_request_id(context.request_id());
        request.set_branch_id(f->branch);
        request.set_supplier_id(f->supplier);
        request.set_reference(f->reference);
        return Run(
            context,
            absl::StrCat("creating a stock order to ", f->supplier, " for branch ", f->branch),
            kCreateStockOrder, request, OrderView("Created stock order"));
      });
  AddRequired(command, "--branch", &f->branch, "branch id");
  AddRequired(command, "--supplier", &f->supplier, "supplier (creditor) id");
  command->add_option("--reference", f->reference, "your reference");
}

void AddList(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string branch, supplier, status;
    Paging paging;
  };
  auto f = std::make_shared<Flags>();
  auto* command =
      commands->Add(group, "list", "List stock orders, newest first", [f](Context& context) {
        v1::ListStockOrdersRequest request;
        request.set_branch_id(f->branch);
        request.set_supplier_id(f->supplier);
        request.set_status(ParseStockOrderStatus(f->status));
        f->paging.Set(&request);
        return Run(context, "listing stock orders", kListStockOrders, request,
                   ListView<v1::ListStockOrdersResponse>(
                       StockOrdersText,
                       [](const auto& r) -> const auto& { return r.stock_orders(); }, OrderId));
      });
  command->add_option("--branch", f->branch, "only this branch");
  command->add_option("--supplier", f->supplier, "only this supplier");
  command->add_option("--status", f->status, "draft or placed")
      ->check(CLI::IsMember({"draft", "placed"}, CLI::ignore_case));
  AddPaging(command, &f->paging);
}

void AddGetBackorders(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string order, this_supplier = "yes";
  };
  auto f = std::make_shared<Flags>();
  auto* command = commands->Add(
      group, "backorders",
      "Get back orders: open back orders of the order's branch not yet on order, oldest first",
      [f](Context& context) {
        v1::GetBackordersRequest request;
        request.set_stock_order_id(f->order);
        request.set_this_supplier_only(f->this_supplier == "yes");
        return Run(context, "getting back orders for stock order " + f->order, kGetBackorders,
                   request,
                   ListView<v1::GetBackordersResponse>(
                       [request](const auto& r) { return GetBackordersText(request, r); },
                       [](const auto& r) -> const auto& { return r.backorders(); },
                       [](const v1::Backorder& b) { return b.context().backorder_id(); }));
      });
  AddRequired(command, "--order", &f->order, kOrderHelp);
  AddYesNo(command, "--this-supplier", &f->this_supplier,
           "yes: only this order's supplier (default); no: the whole branch");
}

void AddTick(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string order;
    std::vector<std::string> backorders;
  };
  auto f = std::make_shared<Flags>();
  auto* command = commands->Add(
      group, "tick", "Tick back orders onto a draft (back orders of one part share a line)",
      [f](Context& context) {
        v1::AddBackorderLinesToOrderRequest request;
        request.set_request_id(context.request_id());
        request.set_stock_order_id(f->order);
        for (const auto& id : f->backorders) request.add_backorder_ids(id);
        return Run(context,
                   absl::StrCat("ticking back orders ", absl::StrJoin(f->backorders, ", "),
                                " onto ", f->order),
                   kAddBackorderLines, request, OrderView("Ticked back orders onto stock order"));
      });
  AddRequired(command, "--order", &f->order, kOrderHelp);
  command->add_option("--backorder", f->backorders, "back order id (repeat for several)")
      ->required();
}

void AddStockLine(CLI::App* group, Commands* commands) {
  struct Flags {
    std::string order, part;
    int64_t quantity = 0;
  };
  auto f = std::make_shared<Flags>();
  auto* command =
      commands->Add(group, "add-line", "Add stock for the shelf", [f](Context& context) {
        v1::AddStockLineRequest request;
        request.set_request_id(context.request_id());
        request.set_stock_order_id(f->order);
        request.set_part_number(f->part);
        request.set_quantity(f->quantity);
        return Run(context, absl::StrCat("adding ", f->quantity, " x ", f->part, " to ", f->order),
                   kAddStockLine, request, OrderView("Added a line to stock order"));
      });
  AddRequired(command, "--order", &f->order, kOrderHelp);
  AddRequired(command, "--part", &f->part, "part number");
  command->add_option("--qty", f->quantity, "quantity for the shelf")->required();
}

}  // namespace

void AddStockOrderCommands(CLI::App* app, Commands* commands) {
  CLI::App* group = Commands::Group(app, "stock-order",
                                    "Stock orders: get back orders, tick them, order, finalise");
  AddCreate(group, commands);
  AddIdCommand(group, commands,
               {"get", "Show a stock order with its lines and back orders", "--order", kOrderHelp,
                "reading stock order"},
               kGetStockOrder, SetOrderId<v1::GetStockOrderRequest>, kOrderView);
  AddList(group, commands);
  AddGetBackorders(group, commands);
  AddTick(group, commands);
  AddStockLine(group, commands);
  AddIdCommand(group, commands,
               {"finalise", "Finalise (place) the order: the ticked back orders are on order",
                "--order", kOrderHelp, "finalising stock order"},
               kFinaliseStockOrder, SetOrderId<v1::FinaliseStockOrderRequest>,
               OrderView("Finalised stock order"));
  AddIdCommand(
      group, commands,
      {"backorder", "Show a back order as purchasing knows it", "--id",
       "back order id, e.g. BO-B1-000001-2", "reading back order"},
      kGetBackorder,
      [](v1::GetPurchasingBackorderRequest* r, const std::string& id) { r->set_backorder_id(id); },
      ViewOf<v1::Backorder>(BackorderText,
                            [](const v1::Backorder& b) { return b.context().backorder_id(); }));
}

}  // namespace bo::boctl
