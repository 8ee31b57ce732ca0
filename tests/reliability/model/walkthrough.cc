#include "tests/reliability/model/walkthrough.h"

#include <cstdio>
#include <cstdlib>

#include "google/protobuf/text_format.h"

namespace bo::reliability {

std::shared_ptr<google::protobuf::Message> Request(Rpc rpc, const std::string& text) {
  std::shared_ptr<google::protobuf::Message> m = NewRequest(rpc);
  if (!google::protobuf::TextFormat::ParseFromString(text, m.get())) {
    std::fprintf(stderr, "walkthrough: bad %s request: %s\n", RpcName(rpc), text.c_str());
    std::abort();
  }
  return m;
}

namespace {

using Code = absl::StatusCode;

Step Ok(Rpc rpc, const std::string& text) { return {rpc, Request(rpc, text), Code::kOk}; }
Step Refused(Code code, Rpc rpc, const std::string& text) {
  return {rpc, Request(rpc, text), code};
}

}  // namespace

std::vector<Step> Walkthrough() {
  return {
      // The master files.
      Ok(Rpc::kCreateDebtor,
         R"(request_id: "d1" debtor { debtor_id: "D-1" name: "Lee Panels" phone: "03 9555 0303"
            use_backorders: true })"),
      Ok(Rpc::kCreateDebtor, R"(request_id: "d2" debtor { debtor_id: "D-2" name: "Walk-in" })"),
      Ok(Rpc::kUpsertPart,
         R"(request_id: "p1" part { part_number: "HL-3003" description: "Headlamp"
            supplier_id: "SUP-9" unit_price { currency: "AUD" minor_units: 31000 } })"),
      Ok(Rpc::kUpsertPart,
         R"(request_id: "p2" part { part_number: "BR-1" description: "Brake pads"
            supplier_id: "SUP-9" unit_price { currency: "AUD" minor_units: 4500 } })"),
      Ok(Rpc::kUpsertPart,
         R"(request_id: "p3" part { part_number: "OIL-1" description: "Oil filter"
            supplier_id: "SUP-3" unit_price { currency: "AUD" minor_units: 1200 } })"),
      Ok(Rpc::kAdjustStock,
         R"(request_id: "a1" branch_id: "NORTH" part_number: "HL-3003" delta: 1
            reason: "opening stock")"),
      Ok(Rpc::kAdjustStock,
         R"(request_id: "a2" branch_id: "SOUTH" part_number: "HL-3003" delta: 4
            reason: "opening stock")"),
      // A counter sale short of stock: 1 supplied, 2 + 1 back-ordered.
      Ok(Rpc::kCreateInvoice,
         R"(request_id: "i1" branch_id: "NORTH" debtor_id: "D-1" kind: INVOICE_KIND_COUNTER)"),
      Ok(Rpc::kAddPartLine,
         R"(request_id: "l1" invoice_id: "INV-NORTH-000001" part_number: "HL-3003"
            quantity_ordered: 3)"),
      Ok(Rpc::kAddPartLine,
         R"(request_id: "l2" invoice_id: "INV-NORTH-000001" part_number: "BR-1"
            quantity_ordered: 1)"),
      Ok(Rpc::kAddChargeLine,
         R"(request_id: "l3" invoice_id: "INV-NORTH-000001" description: "Freight"
            amount { currency: "AUD" minor_units: 1500 })"),
      Ok(Rpc::kGetInvoice, R"(invoice_id: "INV-NORTH-000001")"),
      Ok(Rpc::kFinaliseInvoice, R"(request_id: "f1" invoice_id: "INV-NORTH-000001")"),
      // Ordering them from the supplier, with stock for the shelf.
      Ok(Rpc::kCreateStockOrder,
         R"(request_id: "s1" branch_id: "NORTH" supplier_id: "SUP-9" reference: "weekly")"),
      Ok(Rpc::kGetBackorders, R"(stock_order_id: "SO-NORTH-000001" this_supplier_only: true)"),
      Ok(Rpc::kAddBackorderLinesToOrder,
         R"(request_id: "s2" stock_order_id: "SO-NORTH-000001"
            backorder_ids: "BO-NORTH-000001-1" backorder_ids: "BO-NORTH-000001-2")"),
      Ok(Rpc::kAddStockLine,
         R"(request_id: "s3" stock_order_id: "SO-NORTH-000001" part_number: "HL-3003"
            quantity: 2)"),
      Ok(Rpc::kFinaliseStockOrder, R"(request_id: "s4" stock_order_id: "SO-NORTH-000001")"),
      Ok(Rpc::kGetStockOrder, R"(stock_order_id: "SO-NORTH-000001")"),
      // The delivery fills both, oldest first.
      Ok(Rpc::kProcessCreditorInvoice,
         R"(request_id: "c1" branch_id: "NORTH" creditor_invoice_id: "CI-77" supplier_id: "SUP-9"
            stock_order_id: "SO-NORTH-000001"
            lines { part_number: "HL-3003" quantity: 4
                    unit_cost { currency: "AUD" minor_units: 18000 } }
            lines { part_number: "BR-1" quantity: 1
                    unit_cost { currency: "AUD" minor_units: 2000 } })"),
      Ok(Rpc::kListReadyToInvoice, R"(branch_id: "NORTH")"),
      // One is invoiced, the other cancelled (its filled stock goes back to free stock).
      Ok(Rpc::kCreateInvoice,
         R"(request_id: "i2" branch_id: "NORTH" debtor_id: "D-1" kind: INVOICE_KIND_WORKSHOP)"),
      Ok(Rpc::kListReadyBackorders, R"(debtor_id: "D-1" branch_id: "NORTH")"),
      Ok(Rpc::kAddBackorderLines,
         R"(request_id: "b1" invoice_id: "INV-NORTH-000002" backorder_ids: "BO-NORTH-000001-1")"),
      Ok(Rpc::kFinaliseInvoice, R"(request_id: "f2" invoice_id: "INV-NORTH-000002")"),
      Ok(Rpc::kCancelBackorder,
         R"(request_id: "x1" backorder_id: "BO-NORTH-000001-2"
            reason: "customer went elsewhere")"),
      // A debtor without back orders: the shortfall is a lost sale.
      Ok(Rpc::kCreateInvoice,
         R"(request_id: "i3" branch_id: "NORTH" debtor_id: "D-2" kind: INVOICE_KIND_COUNTER)"),
      Ok(Rpc::kAddPartLine,
         R"(request_id: "l4" invoice_id: "INV-NORTH-000003" part_number: "HL-3003"
            quantity_ordered: 5)"),
      Ok(Rpc::kAdjustPartLine,
         R"(request_id: "l5" invoice_id: "INV-NORTH-000003" line: 1 quantity_supplied: 1
            quantity_back_ordered: 0)"),
      Ok(Rpc::kFinaliseInvoice, R"(request_id: "f3" invoice_id: "INV-NORTH-000003")"),
      // A back order still waiting, then partly filled by a stocktake correction.
      Ok(Rpc::kCreateInvoice,
         R"(request_id: "i4" branch_id: "NORTH" debtor_id: "D-1" kind: INVOICE_KIND_LABOUR)"),
      Ok(Rpc::kAddPartLine,
         R"(request_id: "l6" invoice_id: "INV-NORTH-000004" part_number: "OIL-1"
            quantity_ordered: 2 unit_price { currency: "AUD" minor_units: 1100 })"),
      Ok(Rpc::kFinaliseInvoice, R"(request_id: "f4" invoice_id: "INV-NORTH-000004")"),
      Ok(Rpc::kAdjustStock,
         R"(request_id: "a3" branch_id: "NORTH" part_number: "OIL-1" delta: 1
            reason: "found in the bin")"),
      // A draft at the other branch, abandoned: its hold is given back.
      Ok(Rpc::kCreateInvoice,
         R"(request_id: "i5" branch_id: "SOUTH" debtor_id: "D-1" kind: INVOICE_KIND_LABOUR)"),
      Ok(Rpc::kAddPartLine,
         R"(request_id: "l7" invoice_id: "INV-SOUTH-000001" part_number: "HL-3003"
            quantity_ordered: 2)"),
      Ok(Rpc::kAbandonInvoice, R"(request_id: "n1" invoice_id: "INV-SOUTH-000001")"),
      Ok(Rpc::kHoldStock,
         R"(request_id: "h1" branch_id: "SOUTH" part_number: "HL-3003"
            invoice_id: "INV-SOUTH-000009" invoice_line: 1 quantity: 1)"),
      Ok(Rpc::kReleaseHold,
         R"(request_id: "h2" branch_id: "SOUTH" part_number: "HL-3003"
            invoice_id: "INV-SOUTH-000009" invoice_line: 1)"),
      // An empty draft, left open.
      Ok(Rpc::kCreateInvoice,
         R"(request_id: "i6" branch_id: "NORTH" debtor_id: "D-1" kind: INVOICE_KIND_COUNTER)"),
      // Every query.
      Ok(Rpc::kGetStock, R"(branch_id: "NORTH" part_number: "HL-3003")"),
      Ok(Rpc::kGetPart, R"(part_number: "HL-3003")"),
      Ok(Rpc::kListParts, R"(page_size: 2)"),
      Ok(Rpc::kListInvoices, R"(branch_id: "NORTH" status: INVOICE_STATUS_FINALISED)"),
      Ok(Rpc::kGetBackorder, R"(backorder_id: "BO-NORTH-000001-1")"),
      Ok(Rpc::kListStockOrders, R"(branch_id: "NORTH")"),
      Ok(Rpc::kGetPurchasingBackorder, R"(backorder_id: "BO-NORTH-000001-2")"),
      Ok(Rpc::kGetDebtor, R"(debtor_id: "D-1")"),
      Ok(Rpc::kListDebtors, R"(page_size: 10)"),
      Ok(Rpc::kListBackorders, R"(branch_id: "NORTH" state: BACKORDER_STATE_PARTLY_FILLED)"),
      Ok(Rpc::kGetBackorderHistory, R"(backorder_id: "BO-NORTH-000001-1")"),
      Ok(Rpc::kUpdateDebtor,
         R"(request_id: "d3" debtor { debtor_id: "D-2" name: "Walk-in customers"
            email: "front@example.com" })"),
  };
}

std::vector<Step> WrongRequests() {
  using C = Code;
  return {
      Refused(C::kInvalidArgument, Rpc::kCreateInvoice,
              R"(branch_id: "NORTH" debtor_id: "D-1" kind: INVOICE_KIND_COUNTER)"),
      Refused(C::kNotFound, Rpc::kCreateInvoice,
              R"(request_id: "w1" branch_id: "NORTH" debtor_id: "D-404"
                 kind: INVOICE_KIND_COUNTER)"),
      Refused(C::kInvalidArgument, Rpc::kCreateInvoice,
              R"(request_id: "w2" branch_id: "NORTH" debtor_id: "D-1")"),
      Refused(C::kInvalidArgument, Rpc::kAddPartLine,
              R"(request_id: "w3" invoice_id: "INV-NORTH-000005" part_number: "HL-3003")"),
      Refused(C::kNotFound, Rpc::kAddPartLine,
              R"(request_id: "w4" invoice_id: "INV-NORTH-999999" part_number: "HL-3003"
                 quantity_ordered: 1)"),
      Refused(C::kFailedPrecondition, Rpc::kAddPartLine,
              R"(request_id: "w5" invoice_id: "INV-NORTH-000001" part_number: "HL-3003"
                 quantity_ordered: 1)"),
      Refused(C::kNotFound, Rpc::kAddPartLine,
              R"(request_id: "w6" invoice_id: "INV-NORTH-000005" part_number: "NO-SUCH"
                 quantity_ordered: 1)"),
      Refused(C::kNotFound, Rpc::kAdjustPartLine,
              R"(request_id: "w7" invoice_id: "INV-NORTH-000005" line: 9 quantity_supplied: 1)"),
      Refused(C::kInvalidArgument, Rpc::kAddChargeLine,
              R"(request_id: "w8" invoice_id: "INV-NORTH-000005" description: "Freight"
                 amount { currency: "aud" minor_units: 100 })"),
      Refused(C::kInvalidArgument, Rpc::kAddBackorderLines,
              R"(request_id: "w9" invoice_id: "INV-NORTH-000005"
                 backorder_ids: "BO-NORTH-000004-1" backorder_ids: "BO-NORTH-000004-1")"),
      Refused(C::kFailedPrecondition, Rpc::kAddBackorderLines,
              R"(request_id: "w10" invoice_id: "INV-NORTH-000005"
                 backorder_ids: "BO-NORTH-000001-2")"),
      Refused(C::kFailedPrecondition, Rpc::kFinaliseInvoice,
              R"(request_id: "w11" invoice_id: "INV-NORTH-000005")"),
      Refused(C::kFailedPrecondition, Rpc::kCancelBackorder,
              R"(request_id: "w12" backorder_id: "BO-NORTH-000001-2" reason: "again")"),
      Refused(C::kInvalidArgument, Rpc::kCancelBackorder,
              R"(request_id: "w13" backorder_id: "BO-NORTH-000004-1" reason: "  ")"),
      Refused(C::kNotFound, Rpc::kCancelBackorder,
              R"(request_id: "w14" backorder_id: "BO-NOPE-1" reason: "gone")"),
      Refused(C::kInvalidArgument, Rpc::kCreateStockOrder,
              R"(request_id: "w15" branch_id: "NORTH/2" supplier_id: "SUP-9")"),
      Refused(C::kFailedPrecondition, Rpc::kAddBackorderLinesToOrder,
              R"(request_id: "w16" stock_order_id: "SO-NORTH-000001"
                 backorder_ids: "BO-NORTH-000004-1")"),
      Refused(C::kInvalidArgument, Rpc::kAddStockLine,
              R"(request_id: "w17" stock_order_id: "SO-NORTH-000001" part_number: "HL-3003"
                 quantity: 2000000000)"),
      Refused(C::kNotFound, Rpc::kFinaliseStockOrder,
              R"(request_id: "w18" stock_order_id: "SO-NORTH-000404")"),
      Refused(C::kFailedPrecondition, Rpc::kAdjustStock,
              R"(request_id: "w19" branch_id: "NORTH" part_number: "HL-3003" delta: -100
                 reason: "stocktake")"),
      Refused(C::kInvalidArgument, Rpc::kAdjustStock,
              R"(request_id: "w20" branch_id: "NORTH" part_number: "HL-3003" delta: 0
                 reason: "stocktake")"),
      Refused(C::kNotFound, Rpc::kAdjustStock,
              R"(request_id: "w21" branch_id: "NORTH" part_number: "NO-SUCH" delta: 1
                 reason: "stocktake")"),
      Refused(C::kAlreadyExists, Rpc::kProcessCreditorInvoice,
              R"(request_id: "w22" branch_id: "NORTH" creditor_invoice_id: "CI-77"
                 supplier_id: "SUP-9" lines { part_number: "HL-3003" quantity: 1 })"),
      Refused(C::kInvalidArgument, Rpc::kProcessCreditorInvoice,
              R"(request_id: "w23" branch_id: "NORTH" creditor_invoice_id: "CI-78"
                 supplier_id: "SUP-9" lines { part_number: "HL-3003" quantity: 1 }
                 lines { part_number: "HL-3003" quantity: 1 })"),
      Refused(C::kInvalidArgument, Rpc::kHoldStock,
              R"(request_id: "w24" branch_id: "NORTH" part_number: "HL-3003"
                 invoice_id: "INV-NORTH-000005" invoice_line: 0 quantity: 1)"),
      Refused(C::kAlreadyExists, Rpc::kCreateDebtor,
              R"(request_id: "w25" debtor { debtor_id: "D-1" name: "Again" })"),
      Refused(C::kNotFound, Rpc::kUpdateDebtor,
              R"(request_id: "w26" debtor { debtor_id: "D-404" name: "Nobody" })"),
      Refused(C::kInvalidArgument, Rpc::kCreateDebtor,
              R"(request_id: "w27" debtor { debtor_id: "D-9" name: "X" email: "no-at" })"),
      Refused(C::kInvalidArgument, Rpc::kListBackorders, R"(min_age_days: 5 max_age_days: 2)"),
      Refused(C::kInvalidArgument, Rpc::kListInvoices, R"(page_size: 5000)"),
      Refused(C::kInvalidArgument, Rpc::kListParts, R"(page_token: "zz")"),
      Refused(C::kInvalidArgument, Rpc::kGetDebtor, R"(debtor_id: "")"),
  };
}

}  // namespace bo::reliability
