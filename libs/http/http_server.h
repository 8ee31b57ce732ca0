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
// Nothing here knows about back orders.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace bo::http {

struct Request {
  std::string path;
  std::multimap<std::string, std::string> params;  // query parameters, decoded
  std::map<std::string, std::string> headers;      // lower-case names

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

class HttpServer {
 public:
  // `addr` is host:port; port 0 picks a free one.
  explicit HttpServer(std::string addr);
  ~HttpServer();  // stops

  // Serves GET (and HEAD) of exactly `path`. Call before Start().
  void Get(const std::string& path, Handler handler);

  // Binds and starts serving on its own thread. UNAVAILABLE if the address cannot be bound,
  // INVALID_ARGUMENT if it is not host:port.
  absl::Status Start();
  int port() const { return port_; }
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string addr_;
  int port_ = 0;
  std::thread thread_;
};

// GETs `path` from `base_url` (http://host:port). The body if the answer is 200, UNAVAILABLE if
// the server cannot be reached in `timeout`, UNKNOWN with the status otherwise.
absl::StatusOr<std::string> Fetch(const std::string& base_url, const std::string& path,
                                  std::chrono::milliseconds timeout);

}  // namespace bo::http
