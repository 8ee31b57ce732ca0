#include "tools/boctl/format.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "services/common/backorder_view.h"

namespace bo::boctl {
namespace {

using backorder::v1::Money;

// Debian's absl::string_view is not std::string_view.
absl::string_view Absl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

constexpr std::string_view kMoneyExample = "for example 12.50 or \"12.50 NZD\"";

std::string Pad(const std::string& text, size_t width, Table::Align align) {
  const size_t have = DisplayWidth(text);
  const std::string fill(width > have ? width - have : 0, ' ');
  return align == Table::Align::kRight ? fill + text : text + fill;
}

void TrimRight(std::string* line) {
  while (!line->empty() && line->back() == ' ') line->pop_back();
}

bool IsCurrency(std::string_view word) {
  return word.size() == 3 && std::all_of(word.begin(), word.end(), [](char c) {
           return absl::ascii_isalpha(static_cast<unsigned char>(c));
         });
}

// "12", "12.5", "12.50", "-3.00" -> minor units; anything else is not an amount.
absl::StatusOr<int64_t> ParseMinorUnits(std::string_view text, std::string_view whole) {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  const size_t dot = text.find('.');
  const std::string_view units = text.substr(0, dot);
  const std::string_view cents = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const std::string quoted = absl::StrCat("\"", std::string(whole), "\"");
  if (units.empty() || !digits(units) || !digits(cents) ||
      (dot != std::string_view::npos && cents.empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat(quoted, " is not an amount (", std::string(kMoneyExample), ")"));
  }
  if (cents.size() > 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(quoted, " has more than two decimals (amounts are in cents)"));
  }
  if (units.size() > 15) return absl::InvalidArgumentError(absl::StrCat(quoted, " is too large"));
  int64_t minor = 0;
  for (char c : units) minor = minor * 10 + (c - '0');
  minor *= 100;
  if (!cents.empty()) minor += (cents[0] - '0') * 10 + (cents.size() == 2 ? cents[1] - '0' : 0);
  return negative ? -minor : minor;
}

// Strips "PREFIX_" from an enum value's name: INVOICE_KIND_WORKSHOP -> WORKSHOP.
std::string ShortName(const std::string& full, std::string_view prefix) {
  std::string name = full;
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  return name;
}

std::string LongName(std::string_view prefix, std::string_view word) {
  return absl::StrCat(std::string(prefix), absl::AsciiStrToUpper(std::string(word)));
}

}  // namespace

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::Render(std::string_view indent) const {
  std::vector<size_t> widths;
  for (const auto& c : columns_) widths.push_back(DisplayWidth(c.title));
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  auto line = [&](auto cell_of) {
    std::string out(indent);
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (i > 0) out += "  ";
      out += cell_of(i);
    }
    TrimRight(&out);
    return out + "\n";
  };
  std::string out =
      line([&](size_t i) { return Pad(columns_[i].title, widths[i], columns_[i].align); });
  out += line([&](size_t i) { return std::string(widths[i], '-'); });
  for (const auto& row : rows_) {
    out += line([&](size_t i) { return Pad(row[i], widths[i], columns_[i].align); });
  }
  return out;
}

std::string RenderFields(const std::vector<std::pair<std::string, std::string>>& fields,
                         std::string_view indent) {
  size_t width = 0;
  for (const auto& [label, value] : fields) width = std::max(width, DisplayWidth(label) + 1);
  std::string out;
  for (const auto& [label, value] : fields) {
    std::string line =
        absl::StrCat(std::string(indent), Pad(label + ":", width, Table::Align::kLeft), "  ",
                     value.empty() ? "-" : value);
    TrimRight(&line);
    out += line + "\n";
  }
  return out;
}

size_t DisplayWidth(std::string_view text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

std::string FormatMoney(const Money& money) {
  if (money.currency().empty() && money.minor_units() == 0) return "-";
  const int64_t minor = money.minor_units();
  const uint64_t magnitude =
      minor < 0 ? static_cast<uint64_t>(-(minor + 1)) + 1 : static_cast<uint64_t>(minor);
  const uint64_t cents = magnitude % 100;
  std::string text =
      absl::StrCat(minor < 0 ? "-" : "", magnitude / 100, ".", cents < 10 ? "0" : "", cents);
  if (!money.currency().empty()) absl::StrAppend(&text, " ", money.currency());
  return text;
}

absl::StatusOr<Money> ParseMoney(std::string_view text, std::string_view default_currency) {
  const std::vector<std::string> words =
      absl::StrSplit(Absl(text), absl::ByAnyChar(" \t"), absl::SkipEmpty());
  std::string_view amount, currency = default_currency;
  if (words.size() == 1) {
    amount = words[0];
  } else if (words.size() == 2 && IsCurrency(words[1])) {
    amount = words[0];
    currency = words[1];
  } else if (words.size() == 2 && IsCurrency(words[0])) {
    amount = words[1];
    currency = words[0];
  } else {
    return absl::InvalidArgumentError(absl::StrCat("\"", std::string(text), "\" is not an amount (",
                                                   std::string(kMoneyExample), ")"));
  }
  if (!IsCurrency(currency)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", std::string(currency), "\" is not a currency code (AUD, NZD, ...)"));
  }
  auto minor = ParseMinorUnits(amount, text);
  if (!minor.ok()) return minor.status();
  Money money;
  money.set_currency(absl::AsciiStrToUpper(std::string(currency)));
  money.set_minor_units(*minor);
  return money;
}

absl::StatusOr<backorder::v1::CreditorInvoiceLine> ParseReceiptLine(
    std::string_view text, std::string_view default_currency) {
  const std::vector<std::string> parts = absl::StrSplit(Absl(text), absl::MaxSplits(':', 2));
  const std::string quoted = absl::StrCat("\"", std::string(text), "\"");
  if (parts.size() < 2 || parts[0].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(quoted, " is not PART:QTY[:COST] (for example OIL-1:5:12.50)"));
  }
  backorder::v1::CreditorInvoiceLine line;
  line.set_part_number(std::string(parts[0]));
  int64_t quantity = 0;
  if (!absl::SimpleAtoi(parts[1], &quantity)) {
    return absl::InvalidArgumentError(
        absl::StrCat(quoted, ": quantity \"", std::string(parts[1]), "\" is not a whole number"));
  }
  line.set_quantity(quantity);
  if (parts.size() == 3) {
    auto cost = ParseMoney(parts[2], default_currency);
    if (!cost.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(quoted, ": cost ", std::string(cost.status().message())));
    }
    *line.mutable_unit_cost() = *cost;
  }
  return line;
}

std::string FormatTime(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "-";
  const absl::Time t = absl::FromUnixSeconds(time.seconds()) + absl::Nanoseconds(time.nanos());
  return absl::FormatTime("%Y-%m-%d %H:%M", t, absl::UTCTimeZone());
}

std::string FormatTimeUtc(const google::protobuf::Timestamp& time) {
  const std::string text = FormatTime(time);
  return text == "-" ? text : text + " UTC";
}

std::string InvoiceLine(const std::string& invoice_id, int32_t line) {
  return absl::StrCat(invoice_id, "/", line);
}

std::string YesNo(bool value) { return value ? "yes" : "no"; }

std::string KindName(backorder::v1::InvoiceKind kind) {
  return absl::AsciiStrToLower(ShortName(backorder::v1::InvoiceKind_Name(kind), "INVOICE_KIND_"));
}

std::string InvoiceStatusName(backorder::v1::InvoiceStatus status) {
  return ShortName(backorder::v1::InvoiceStatus_Name(status), "INVOICE_STATUS_");
}

std::string StockOrderStatusName(backorder::v1::StockOrderStatus status) {
  return ShortName(backorder::v1::StockOrderStatus_Name(status), "STOCK_ORDER_STATUS_");
}

std::string BackorderStateName(backorder::v1::BackorderState state) { return bo::StateName(state); }

backorder::v1::InvoiceKind ParseKind(std::string_view word) {
  auto kind = backorder::v1::INVOICE_KIND_UNSPECIFIED;
  backorder::v1::InvoiceKind_Parse(LongName("INVOICE_KIND_", word), &kind);
  return kind;
}

backorder::v1::InvoiceStatus ParseInvoiceStatus(std::string_view word) {
  auto status = backorder::v1::INVOICE_STATUS_UNSPECIFIED;
  backorder::v1::InvoiceStatus_Parse(LongName("INVOICE_STATUS_", word), &status);
  return status;
}

backorder::v1::StockOrderStatus ParseStockOrderStatus(std::string_view word) {
  auto status = backorder::v1::STOCK_ORDER_STATUS_UNSPECIFIED;
  backorder::v1::StockOrderStatus_Parse(LongName("STOCK_ORDER_STATUS_", word), &status);
  return status;
}

backorder::v1::BackorderState ParseBackorderState(std::string_view word) {
  auto state = backorder::v1::BACKORDER_STATE_UNSPECIFIED;
  std::string name = LongName("BACKORDER_STATE_", word);
  std::replace(name.begin(), name.end(), '-', '_');  // "on-order" reads as well as "on_order"
  backorder::v1::BackorderState_Parse(name, &state);
  return state;
}

}  // namespace bo::boctl
