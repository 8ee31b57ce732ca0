// The business figures on /metrics (docs/dashboard-api.md): read from the projection's fig/ keys
// at scrape time, so Prometheus sees exactly what the dashboard shows and nothing has to be kept
// up to date in memory (or rebuilt after a restart).
#pragma once

#include "libs/metrics/registry.h"
#include "libs/store/database.h"

namespace bo::debtor_query {

// Writes, per branch: bo_backorders_open{branch,state} (OPEN, ON_ORDER, PARTLY_FILLED, FILLED),
// bo_backorders_ready_to_invoice{branch}, bo_backorder_quantity{branch,kind} (kind = ordered,
// filled, invoiced; back orders not cancelled), bo_fill_rate{branch} (0..1),
// bo_backorder_days_to_fill_average{branch}, bo_backorder_days_to_invoice_average{branch}
// (gauges; the last three only for a branch that has something to divide by), and the counters
// bo_lost_sales_total{branch} (lines) and bo_lost_sales_quantity_total{branch}.
// A store that cannot be read writes nothing (a scrape gap says more than a wrong zero).
void CollectFigures(Database* db, metrics::Sink& out);

// Adds CollectFigures to `registry`; `db` must outlive it.
void AddFigureCollector(metrics::Registry* registry, Database* db);

}  // namespace bo::debtor_query
