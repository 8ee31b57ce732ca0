// bo-debtor-query: wiring only (see services/common/service_runtime.h). The debtor commands and
// the queries are in debtor_query_service.h, the read models in projection.h, the ops dashboard
// in dashboard.h (its page in dashboard/), the business figures on /metrics in figure_metrics.h.
#include <chrono>
#include <cstdio>
#include <string>

#include "libs/http/http_server.h"
#include "services/common/service_runtime.h"
#include "services/common/topics.h"
#include "services/debtor-query/dashboard.h"
#include "services/debtor-query/dashboard_assets.h"
#include "services/debtor-query/debtor_query_rules.h"
#include "services/debtor-query/debtor_query_service.h"
#include "services/debtor-query/figure_metrics.h"
#include "services/debtor-query/projection.h"

namespace {

// A peer's status must not hold the dashboard up: the page refreshes every 10 s.
constexpr std::chrono::milliseconds kPeerStatusTimeout{500};

bo::http::Response Asset(const bo::debtor_query::DashboardAsset& asset) {
  bo::http::Response response;
  response.content_type = std::string(asset.content_type);
  response.body = std::string(asset.body);
  // Compiled in: a new build may change the page, so the browser asks again (cheaply).
  response.headers["Cache-Control"] = "no-cache";
  return response;
}

}  // namespace

int main(int argc, char** argv) {
  auto runtime = bo::ServiceRuntime::Open("debtor-query", 50054, argc, argv);
  bo::Database* db = runtime->database();
  // A read model written by a build with another key layout is rebuilt from the topics, and so
  // is any with --rebuild-read-models. Its own records (debtors) are in other families.
  if (absl::Status s =
          bo::debtor_query::PrepareReadModel(db, runtime->config().rebuild_read_models);
      !s.ok()) {
    std::fprintf(stderr, "debtor-query: preparing the read model: %s\n", s.ToString().c_str());
    return 1;
  }
  bo::debtor_query::ReadModelProjection projection(db);
  bo::debtor_query::DebtorQueryService service(runtime->store(), runtime->access());
  runtime->SetOwnStateRestorer(bo::debtor_query::RestoreDebtorStream);

  bo::debtor_query::AddFigureCollector(runtime->metrics(), db);

  bo::debtor_query::Dashboard::Options options;
  options.own_status = [&runtime] { return runtime->StatusJson(); };
  options.peers = bo::debtor_query::PeersFromEnvironment();
  // Over HTTPS with debtor-query's own certificate, which the peers admit (AccessOptions).
  options.fetch = [identity = runtime->http_identity()](const std::string& base_url) {
    return bo::http::Fetch(base_url, "/api/v1/status", kPeerStatusTimeout, identity);
  };
  bo::debtor_query::Dashboard dashboard(db, std::move(options));

  bo::http::HttpServer* http = runtime->http();
  http->Get("/api/v1/dashboard", [&dashboard](const bo::http::Request& request) {
    bo::debtor_query::Dashboard::Answer answer = dashboard.Get(request.params);
    bo::http::Response response = bo::http::Json(answer.status, std::move(answer.body));
    response.headers["Cache-Control"] = "no-store";
    return response;
  });
  // The page and its script hold no data (the script fetches it with the viewer's token): open.
  for (const bo::debtor_query::DashboardAsset& asset : bo::debtor_query::DashboardAssets()) {
    const std::string path = "/dashboard/" + std::string(asset.name);
    http->GetOpen(path, [&asset](const bo::http::Request&) { return Asset(asset); });
    if (asset.name == "index.html") {
      http->GetOpen("/", [&asset](const bo::http::Request&) { return Asset(asset); });
      http->GetOpen("/dashboard", [&asset](const bo::http::Request&) { return Asset(asset); });
    }
  }

  // One subscription over all four topics, so one thread writes the read models.
  return runtime->Run(
      {{bo::debtor_query::kReadModelConsumer,
        {bo::kDebtorQueryTopic, bo::kInvoicingTopic, bo::kPurchasingTopic, bo::kReceivingTopic},
        projection.Handler()}},
      {&service});
}
