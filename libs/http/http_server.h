// HttpServer: the small HTTP side of a process (metrics, probes, a dashboard and its JSON API),
// on cpp-httplib. Handlers are plain functions from a Request to a Response; the server never
// lets an exception out of a handler (it answers 500 and logs).
//
//   bo::http::HttpServer http("127.0.0.1:0");
//   http.Get("/healthz", [](const bo::http::Request&) { return bo::http::Text(200, "ok\n"); });
//   if (absl::Status s = http.Start(); !s.ok()) ...;
//   int port = http.port();
//   ...
//   http.Stop();
//
// With TlsFiles it serves HTTPS: a client certificate is optional (a browser has none), one that
// is presented must be signed by the CA, and its common name reaches handlers as Request::peer.
// A Guard runs before every handler registered with Get (not GetOpen: probes), so whoever may
// call is decided in one place.
//
// Nothing here knows about back orders.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace bo::http {

struct Request {
  std::string path;
  std::multimap<std::string, std::string> params;  // query parameters, decoded
  std::map<std::string, std::string> headers;      // lower-case names
  std::string peer;  // common name of the verified client certificate; empty without one

  // The first value of query parameter `name`, or "" if absent.
  std::string Param(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::map<std::string, std::string> headers;  // extra headers (e.g. Cache-Control)
};

Response Text(int status, std::string body);
Response Json(int status, std::string body);

using Handler = std::function<Response(const Request&)>;
// Decides before a handler: nullopt lets the request through; a Response is sent instead of
// the handler's (say 401 or 403).
using Guard = std::function<std::optional<Response>(const Request&)>;

// PEM files of an HTTPS server: its certificate and key, and the CA of client certificates.
struct TlsFiles {
  std::string ca;
  std::string cert;
  std::string key;
};

class HttpServer {
 public:
  // `addr` is host:port; port 0 picks a free one. HTTPS with `tls`, else plain HTTP.
  explicit HttpServer(std::string addr, std::optional<TlsFiles> tls = std::nullopt);
  ~HttpServer();  // stops

  // Serves GET (and HEAD) of exactly `path`, behind the guard if one is set. Call before Start().
  void Get(const std::string& path, Handler handler);
  // The same, never guarded: liveness and readiness probes, static files without data.
  void GetOpen(const std::string& path, Handler handler);
  // The guard of every Get route. Call before Start().
  void SetGuard(Guard guard);

  // Binds and starts serving on its own thread. UNAVAILABLE if the address cannot be bound,
  // INVALID_ARGUMENT if it is not host:port or the TLS files cannot be used.
  absl::Status Start();
  int port() const { return port_; }
  void Stop();

 private:
  void Route(const std::string& path, Handler handler, bool guarded);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string addr_;
  int port_ = 0;
  std::thread thread_;
};

// Who fetches from an https:// URL: the CA that signed the server's certificate, a client
// certificate and key (optional), and a bearer token sent as `Authorization` (optional).
struct FetchIdentity {
  std::string ca;
  std::string cert;
  std::string key;
  std::string bearer_token;
};

// GETs `path` from `base_url` (http://host:port or https://host:port). The body if the answer is
// 200, UNAVAILABLE if the server cannot be reached in `timeout` (or its certificate is not the
// CA's), UNKNOWN with the status otherwise.
absl::StatusOr<std::string> Fetch(const std::string& base_url, const std::string& path,
                                  std::chrono::milliseconds timeout, const FetchIdentity& who = {});

}  // namespace bo::http
