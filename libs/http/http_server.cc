#include "libs/http/http_server.h"

#include <sys/socket.h>

#include <atomic>
#include <exception>

#include "httplib.h"
#include "spdlog/spdlog.h"

namespace bo::http {

struct HttpServer::Impl {
  httplib::Server server;
  std::atomic<bool> finished{false};  // listen_after_bind returned
};

std::string Request::Param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

Response Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpServer::HttpServer(std::string addr) : impl_(std::make_unique<Impl>()), addr_(std::move(addr)) {
  // Small pool: probes, scrapes and a few dashboards, never user traffic.
  impl_->server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  impl_->server.set_keep_alive_max_count(100);
  // httplib's default sets SO_REUSEPORT, which lets a second process bind the same port
  // silently (and share its traffic). SO_REUSEADDR alone still allows a quick restart.
  impl_->server.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Get(const std::string& path, Handler handler) {
  // cpp-httplib matches a regex; escape the path so it is matched exactly.
  std::string pattern;
  for (char c : path) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) pattern += '\\';
    pattern += c;
  }
  impl_->server.Get(pattern, [handler = std::move(handler), path](const httplib::Request& req,
                                                                  httplib::Response& res) {
    Request request;
    request.path = req.path;
    for (const auto& [k, v] : req.params) request.params.emplace(k, v);
    for (const auto& [k, v] : req.headers) {
      std::string lower = k;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      request.headers[lower] = v;
    }
    Response response;
    try {
      response = handler(request);
    } catch (const std::exception& e) {
      spdlog::error("http: GET {} failed: {}", path, e.what());
      response = Text(500, "internal error\n");
    }
    res.status = response.status;
    for (const auto& [k, v] : response.headers) res.set_header(k, v);
    res.set_content(response.body, response.content_type);
  });
}

absl::Status HttpServer::Start() {
  const size_t colon = addr_.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError("http address '" + addr_ + "' is not host:port");
  }
  const std::string host = addr_.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(addr_.substr(colon + 1));
  } catch (const std::exception&) {
    return absl::InvalidArgumentError("http address '" + addr_ + "' has no port number");
  }
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError("http address '" + addr_ + "': port out of range");
  }
  if (port == 0) {
    port = impl_->server.bind_to_any_port(host);
    if (port < 0) return absl::UnavailableError("cannot bind http on " + addr_);
  } else if (!impl_->server.bind_to_port(host, port)) {
    return absl::UnavailableError("cannot bind http on " + addr_);
  }
  port_ = port;
  thread_ = std::thread([this] {
    impl_->server.listen_after_bind();
    impl_->finished = true;
  });
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (thread_.joinable()) {
    // httplib's stop() does nothing until the listening loop has begun: wait for it first.
    while (!impl_->server.is_running() && !impl_->finished) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    impl_->server.stop();
    thread_.join();
  }
}

absl::StatusOr<std::string> Fetch(const std::string& base_url, const std::string& path,
                                  std::chrono::milliseconds timeout) {
  try {
    httplib::Client client(base_url);
    const auto secs = timeout.count() / 1000;
    const auto usecs = (timeout.count() % 1000) * 1000;
    client.set_connection_timeout(secs, usecs);
    client.set_read_timeout(secs, usecs);
    client.set_write_timeout(secs, usecs);
    auto result = client.Get(path);
    if (!result) {
      const httplib::Error e = result.error();
      const std::string why = e == httplib::Error::Connection ? "cannot connect"
                              : e == httplib::Error::Read     ? "no answer (read failed)"
                              : e == httplib::Error::Write    ? "cannot send (write failed)"
                              : e == httplib::Error::Canceled ? "cancelled"
                                                              : httplib::to_string(e);
      return absl::UnavailableError(base_url + path + ": " + why);
    }
    if (result->status != 200) {
      return absl::UnknownError(base_url + path + ": HTTP " + std::to_string(result->status));
    }
    return result->body;
  } catch (const std::exception& e) {
    return absl::UnavailableError(base_url + path + ": " + e.what());
  }
}

}  // namespace bo::http
