// What each answer of the services looks like on a terminal: one function per message, giving
// the whole text (ending in a newline). Shared by the commands, so a back order, an invoice or a
// stock order reads the same whichever command printed it.
#pragma once

#include <string>

#include "backorder/v1/debtor_query_service.pb.h"
#include "backorder/v1/invoicing_service.pb.h"
#include "backorder/v1/purchasing_service.pb.h"
#include "backorder/v1/receiving_service.pb.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace bo::boctl {

namespace v1 = ::backorder::v1;

// Debtors (debtor-query).
std::string DebtorText(const v1::Debtor& debtor);
std::string DebtorsText(const v1::ListDebtorsResponse& response);

// Parts and stock (receiving).
std::string PartText(const v1::Part& part);
std::string PartsText(const v1::ListPartsResponse& response);
std::string StockPositionText(const v1::StockPosition& position);
std::string AdjustStockText(const v1::AdjustStockRequest& request,
                            const v1::AdjustStockResponse& response);
std::string ReceiveText(const v1::ProcessCreditorInvoiceRequest& request,
                        const v1::ProcessCreditorInvoiceResponse& response);
// "Back orders filled:" and a table (debtor, invoice/line, part, filled now, filled/back-ordered),
// or a sentence when nothing was filled.
std::string FilledText(const google::protobuf::RepeatedPtrField<v1::FilledBackorder>& filled);

// Invoices (invoicing).
std::string InvoiceText(const v1::Invoice& invoice);
std::string InvoicesText(const v1::ListInvoicesResponse& response);
std::string AddPartLineText(const v1::AddPartLineResponse& response);
std::string FinaliseText(const v1::FinaliseInvoiceResponse& response);
// The debtor's back orders ready to tick onto an invoice.
std::string ReadyBackordersText(const std::string& debtor_id,
                                const v1::ListReadyBackordersResponse& response);

// Back orders (any service's view).
std::string BackorderText(const v1::Backorder& backorder);
// Aligned table of back orders, each line starting with `indent`; `empty` is the sentence printed
// when there are none.
std::string BackordersTable(const google::protobuf::RepeatedPtrField<v1::Backorder>& backorders,
                            const std::string& empty, const std::string& indent = "  ");
std::string BackorderListText(const v1::ListBackordersResponse& response);
std::string HistoryText(const v1::BackorderHistory& history);
// "Backorders ready to invoice – ALL DEBTORS" (or "– branch X", "– debtor X"), grouped by customer
// invoice with the debtor's contact details.
std::string ReadyToInvoiceText(const v1::ListReadyToInvoiceRequest& request,
                               const v1::ListReadyToInvoiceResponse& response);

// Stock orders (purchasing).
std::string StockOrderText(const v1::StockOrder& order);
std::string StockOrdersText(const v1::ListStockOrdersResponse& response);
std::string GetBackordersText(const v1::GetBackordersRequest& request,
                              const v1::GetBackordersResponse& response);

}  // namespace bo::boctl
