#include "services/debtor-query/figure_metrics.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "services/debtor-query/figures.h"
#include "services/debtor-query/read_model_keys.h"
#include "spdlog/spdlog.h"

namespace bo::debtor_query {

namespace {

constexpr char kOpenHelp[] = "Open back orders (not invoiced, not cancelled) by branch and state.";
constexpr char kReadyHelp[] = "Back orders with stock filled and not yet invoiced, by branch.";
constexpr char kQuantityHelp[] =
    "Quantity of back orders not cancelled, by branch: back-ordered (ordered), filled, invoiced.";
constexpr char kFillRateHelp[] =
    "Filled / back-ordered quantity of back orders not cancelled, by branch (0..1).";
constexpr char kDaysToFillHelp[] =
    "Average days from creation to complete fill, over back orders filled completely.";
constexpr char kDaysToInvoiceHelp[] =
    "Average days from creation to complete invoicing, over back orders invoiced completely.";
constexpr char kLostHelp[] = "Lost sales (lines short and not back-ordered), by branch.";
constexpr char kLostQuantityHelp[] = "Quantity of lost sales, by branch.";

}  // namespace

void CollectFigures(Database* db, metrics::Sink& out) {
  // One iterator: one consistent view of every branch.
  std::map<std::string, BranchFigures> branches;
  bool damaged = false;
  absl::Status s =
      db->Scan(kReadModelFamily, kFiguresPrefix, "", [&](std::string_view key, std::string_view v) {
        auto figures = DecodeFigures(v);
        if (!figures.ok()) {
          spdlog::warn("metrics: {}: {}", std::string(key), figures.status().ToString());
          damaged = true;
          return false;
        }
        branches[BranchOfFiguresKey(key)] = *figures;
        return true;
      });
  if (!s.ok() || damaged) {
    if (!s.ok()) spdlog::warn("metrics: reading the figures: {}", s.ToString());
    return;
  }

  // The sink wants every sample of one name together: one loop over the branches per name.
  for (const auto& [branch, f] : branches) {
    for (const auto& [state, count] :
         {std::pair{"OPEN", f.count_open}, std::pair{"ON_ORDER", f.count_on_order},
          std::pair{"PARTLY_FILLED", f.count_partly_filled}, std::pair{"FILLED", f.count_filled}}) {
      out.Gauge("bo_backorders_open", kOpenHelp, {"branch", "state"}, {branch, state},
                static_cast<double>(count));
    }
  }
  for (const auto& [branch, f] : branches) {
    out.Gauge("bo_backorders_ready_to_invoice", kReadyHelp, {"branch"}, {branch},
              static_cast<double>(f.ready_lines));
  }
  for (const auto& [branch, f] : branches) {
    for (const auto& [kind, quantity] :
         {std::pair{"ordered", f.quantity_back_ordered}, std::pair{"filled", f.quantity_filled},
          std::pair{"invoiced", f.quantity_invoiced}}) {
      out.Gauge("bo_backorder_quantity", kQuantityHelp, {"branch", "kind"}, {branch, kind},
                static_cast<double>(quantity));
    }
  }
  for (const auto& [branch, f] : branches) {
    if (auto rate = FillRate(f))
      out.Gauge("bo_fill_rate", kFillRateHelp, {"branch"}, {branch}, *rate);
  }
  for (const auto& [branch, f] : branches) {
    if (auto days = AverageDaysToFill(f)) {
      out.Gauge("bo_backorder_days_to_fill_average", kDaysToFillHelp, {"branch"}, {branch}, *days);
    }
  }
  for (const auto& [branch, f] : branches) {
    if (auto days = AverageDaysToInvoice(f)) {
      out.Gauge("bo_backorder_days_to_invoice_average", kDaysToInvoiceHelp, {"branch"}, {branch},
                *days);
    }
  }
  for (const auto& [branch, f] : branches) {
    out.Counter("bo_lost_sales_total", kLostHelp, {"branch"}, {branch},
                static_cast<double>(f.lost_lines));
  }
  for (const auto& [branch, f] : branches) {
    out.Counter("bo_lost_sales_quantity_total", kLostQuantityHelp, {"branch"}, {branch},
                static_cast<double>(f.lost_quantity));
  }
}

void AddFigureCollector(metrics::Registry* registry, Database* db) {
  registry->AddCollector([db](metrics::Sink& out) { CollectFigures(db, out); });
}

}  // namespace bo::debtor_query
