#include "libs/http/http_server.h"

#include <sys/socket.h>

#include <atomic>
#include <exception>

#include "httplib.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"
#include "spdlog/spdlog.h"

namespace bo::http {

namespace {

// An SSL_CTX for an HTTPS server: its certificate and key; client certificates verified against
// the CA when presented, but not required (browsers on a dashboard have none; the guard decides
// what a request without one may do). TLS 1.2 at least.
bool SetUpServerTls(SSL_CTX& ctx, const TlsFiles& tls) {
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(&ctx, tls.cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(&ctx, tls.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(&ctx) != 1 ||
      SSL_CTX_load_verify_locations(&ctx, tls.ca.c_str(), nullptr) != 1) {
    return false;
  }
  SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
  // With client certificates verified, OpenSSL refuses to resume a session (a browser's or
  // node's second connection) with an internal_error alert unless the context is named.
  static const unsigned char kSessionContext[] = "bo-http";
  return SSL_CTX_set_session_id_context(&ctx, kSessionContext, sizeof kSessionContext - 1) == 1;
}

// The common name of the client certificate `ssl` verified; empty if none was presented.
std::string PeerName(const SSL* ssl) {
  if (ssl == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return "";
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  char name[256] = {0};
  const int n =
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
  X509_free(cert);
  return n > 0 ? std::string(name, static_cast<size_t>(n)) : "";
}

}  // namespace

struct HttpServer::Impl {
  std::unique_ptr<httplib::Server> server;
  bool tls_ok = true;  // the TLS files could be used (Start refuses otherwise)
  Guard guard;
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

HttpServer::HttpServer(std::string addr, std::optional<TlsFiles> tls)
    : impl_(std::make_unique<Impl>()), addr_(std::move(addr)) {
  if (tls.has_value()) {
    auto server = std::make_unique<httplib::SSLServer>(
        [tls = *tls](SSL_CTX& ctx) { return SetUpServerTls(ctx, tls); });
    impl_->tls_ok = server->is_valid();
    impl_->server = std::move(server);
  } else {
    impl_->server = std::make_unique<httplib::Server>();
  }
  // Small pool: probes, scrapes and a few dashboards, never user traffic.
  impl_->server->new_task_queue = [] { return new httplib::ThreadPool(4); };
  impl_->server->set_keep_alive_max_count(100);
  // httplib's default sets SO_REUSEPORT, which lets a second process bind the same port
  // silently (and share its traffic). SO_REUSEADDR alone still allows a quick restart.
  impl_->server->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Get(const std::string& path, Handler handler) {
  Route(path, std::move(handler), /*guarded=*/true);
}

void HttpServer::GetOpen(const std::string& path, Handler handler) {
  Route(path, std::move(handler), /*guarded=*/false);
}

void HttpServer::SetGuard(Guard guard) { impl_->guard = std::move(guard); }

void HttpServer::Route(const std::string& path, Handler handler, bool guarded) {
  // cpp-httplib matches a regex; escape the path so it is matched exactly.
  std::string pattern;
  for (char c : path) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) pattern += '\\';
    pattern += c;
  }
  Impl* impl = impl_.get();
  impl_->server->Get(pattern, [impl, guarded, handler = std::move(handler), path](
                                  const httplib::Request& req, httplib::Response& res) {
    Request request;
    request.path = req.path;
    request.peer = PeerName(req.ssl);
    for (const auto& [k, v] : req.params) request.params.emplace(k, v);
    for (const auto& [k, v] : req.headers) {
      std::string lower = k;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      request.headers[lower] = v;
    }
    Response response;
    try {
      std::optional<Response> refused;
      if (guarded && impl->guard) refused = impl->guard(request);
      response = refused.has_value() ? *std::move(refused) : handler(request);
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
  if (!impl_->tls_ok) {
    return absl::InvalidArgumentError("https on " + addr_ +
                                      ": the TLS certificate, key or CA file cannot be used");
  }
  if (port == 0) {
    port = impl_->server->bind_to_any_port(host);
    if (port < 0) return absl::UnavailableError("cannot bind http on " + addr_);
  } else if (!impl_->server->bind_to_port(host, port)) {
    return absl::UnavailableError("cannot bind http on " + addr_);
  }
  port_ = port;
  thread_ = std::thread([this] {
    impl_->server->listen_after_bind();
    impl_->finished = true;
  });
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (thread_.joinable()) {
    // httplib's stop() does nothing until the listening loop has begun: wait for it first.
    while (!impl_->server->is_running() && !impl_->finished) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    impl_->server->stop();
    thread_.join();
  }
}

absl::StatusOr<std::string> Fetch(const std::string& base_url, const std::string& path,
                                  std::chrono::milliseconds timeout, const FetchIdentity& who) {
  try {
    httplib::Client client(base_url, who.cert, who.key);
    if (!who.ca.empty()) client.set_ca_cert_path(who.ca);
    if (!who.bearer_token.empty()) client.set_bearer_token_auth(who.bearer_token);
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
