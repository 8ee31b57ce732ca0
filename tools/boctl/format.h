// What boctl prints and reads that is not a gRPC call: aligned tables, labelled fields, money,
// timestamps and the names of enum values as a parts clerk reads them. Pure functions, so the
// unit tests pin down the exact text a script or a clerk sees.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "backorder/v1/common.pb.h"
#include "backorder/v1/invoicing_service.pb.h"
#include "backorder/v1/purchasing_service.pb.h"
#include "backorder/v1/receiving_service.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace bo::boctl {

// Columns aligned to the widest cell (counted in characters, not bytes, so "–" or "é" do not
// shift a column), two spaces apart, a header row and a rule under it. Numbers read best
// right-aligned, so a column can be.
class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string title;
    Align align = Align::kLeft;
  };

  explicit Table(std::vector<Column> columns);

  // A row with fewer cells than columns is padded with empty cells; extra cells are dropped.
  void AddRow(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  size_t size() const { return rows_.size(); }

  // Every line starts with `indent`; trailing spaces are trimmed.
  std::string Render(std::string_view indent = "") const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// "Label:  value" lines with the values aligned; an empty value prints "-".
std::string RenderFields(const std::vector<std::pair<std::string, std::string>>& fields,
                         std::string_view indent = "  ");

// Characters in UTF-8 text (code points), the width a terminal gives it for our alphabets.
size_t DisplayWidth(std::string_view text);

// "12.50 AUD", "-0.05 NZD"; "-" for an unset amount (no currency, zero).
std::string FormatMoney(const backorder::v1::Money& money);

// "12.50", "12.5", "12", "12.50 NZD" or "nzd 12.50" (currency case-insensitive); without a
// currency, `default_currency`. At most two decimals (no rounding ever happens) and a leading
// '-' for credits. Every currency is taken to have two decimals.
absl::StatusOr<backorder::v1::Money> ParseMoney(std::string_view text,
                                                std::string_view default_currency);

// A creditor invoice line typed as PART:QTY[:COST], for example "OIL-1:5" or "OIL-1:5:12.50"
// (the cost in `default_currency` unless it names one: "OIL-1:5:12.50 NZD").
absl::StatusOr<backorder::v1::CreditorInvoiceLine> ParseReceiptLine(
    std::string_view text, std::string_view default_currency);

// "2026-11-29 10:15" in UTC (FormatTimeUtc adds " UTC" for a value printed on its own);
// "-" when the timestamp is unset.
std::string FormatTime(const google::protobuf::Timestamp& time);
std::string FormatTimeUtc(const google::protobuf::Timestamp& time);

// "INV-B1-000001/2": an invoice line.
std::string InvoiceLine(const std::string& invoice_id, int32_t line);
std::string YesNo(bool value);

// Enum values without their prefix: the kind in lower case as a clerk types it ("workshop"),
// statuses and states in capitals like bo::StateName gives them ("DRAFT", "PLACED", "ON_ORDER").
std::string KindName(backorder::v1::InvoiceKind kind);
std::string InvoiceStatusName(backorder::v1::InvoiceStatus status);
std::string StockOrderStatusName(backorder::v1::StockOrderStatus status);
std::string BackorderStateName(backorder::v1::BackorderState state);

// The flags' words back to the enums, in any case ("on-order" for ON_ORDER too). The CLI checks
// the word first, so these cannot fail on what it lets through; anything else gives UNSPECIFIED.
backorder::v1::InvoiceKind ParseKind(std::string_view word);
backorder::v1::InvoiceStatus ParseInvoiceStatus(std::string_view word);
backorder::v1::StockOrderStatus ParseStockOrderStatus(std::string_view word);
backorder::v1::BackorderState ParseBackorderState(std::string_view word);

}  // namespace bo::boctl
