// The ops dashboard's page (services/debtor-query/dashboard/), compiled into the binary by
// embed_assets.cmake, so the page works with no files beside the binary and no internet.
#pragma once

#include <string_view>
#include <vector>

namespace bo::debtor_query {

struct DashboardAsset {
  std::string_view name;          // file name under dashboard/, e.g. "index.html"
  std::string_view content_type;  // e.g. "text/html; charset=utf-8"
  std::string_view body;
};

// Every file, in the order CMakeLists.txt lists them.
const std::vector<DashboardAsset>& DashboardAssets();

}  // namespace bo::debtor_query
