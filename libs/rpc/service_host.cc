#include "libs/rpc/service_host.h"

#include <csignal>
#include <cstdlib>
#include <sstream>

#include "CLI/CLI.hpp"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "spdlog/spdlog.h"

namespace bo::rpc {
namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : fallback;
}

// Plaintext only when asked for, and never half of each.
absl::Status CheckTransport(const ServiceConfig& config) {
  if (config.insecure && config.tls.any()) {
    return absl::FailedPreconditionError("--insecure and --tls-* together: choose one");
  }
  if (!config.insecure &&
      (config.tls.ca.empty() || config.tls.cert.empty() || config.tls.key.empty())) {
    return absl::FailedPreconditionError(
        "TLS needs --tls-ca, --tls-cert and --tls-key (deploy/local/pki makes them); plaintext "
        "only with --insecure");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServiceConfig> ParseServiceConfig(const std::string& name, int default_port,
                                                 int argc, char** argv) {
  ServiceConfig config;
  config.name = name;
  config.grpc_addr = EnvOr("BO_GRPC_ADDR", "127.0.0.1:" + std::to_string(default_port));
  config.data_dir = EnvOr("BO_DATA_DIR", "var/data/" + name);
  config.kafka_bootstrap = EnvOr("KAFKA_BOOTSTRAP", "127.0.0.1:19092");

  CLI::App app{"bo-" + name + ": the " + name + " service of the back-order system"};
  app.add_option("--grpc-addr", config.grpc_addr,
                 "gRPC listen address host:port (env BO_GRPC_ADDR)");
  app.add_option("--data-dir", config.data_dir,
                 "directory of this service's RocksDB (env BO_DATA_DIR)");
  app.add_option("--kafka-bootstrap", config.kafka_bootstrap,
                 "Kafka bootstrap servers (env KAFKA_BOOTSTRAP)");
  config.http_addr = EnvOr("BO_HTTP_ADDR", "");
  config.log_format = EnvOr("BO_LOG_FORMAT", "text");
  config.log_level = EnvOr("BO_LOG_LEVEL", "info");
  config.tls.ca = EnvOr("BO_TLS_CA", "");
  config.tls.cert = EnvOr("BO_TLS_CERT", "");
  config.tls.key = EnvOr("BO_TLS_KEY", "");
  config.insecure = EnvOr("BO_INSECURE", "") == "1";
  config.token_key = EnvOr("BO_TOKEN_KEY", "");
  config.token_issuer = EnvOr("BO_TOKEN_ISSUER", config.token_issuer);
  config.token_audience = EnvOr("BO_TOKEN_AUDIENCE", config.token_audience);
  config.restore_own_state = EnvOr("BO_RESTORE_OWN_STATE", "1") != "0";
  app.add_option("--http-addr", config.http_addr,
                 "HTTP listen address host:port for /metrics, /healthz, /readyz (env "
                 "BO_HTTP_ADDR; default: the gRPC host, port + 1000)");
  app.add_option("--log-format", config.log_format, "text or json (env BO_LOG_FORMAT)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", config.log_level,
                 "trace, debug, info, warn, error, critical or off (env BO_LOG_LEVEL)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--tls-ca", config.tls.ca, "CA certificate, PEM (env BO_TLS_CA)");
  app.add_option("--tls-cert", config.tls.cert,
                 "this service's certificate, PEM (env BO_TLS_CERT)");
  app.add_option("--tls-key", config.tls.key, "its private key, PEM (env BO_TLS_KEY)");
  app.add_flag("--insecure", config.insecure,
               "plaintext gRPC without TLS or tokens, for local development only (env "
               "BO_INSECURE=1)");
  app.add_option("--token-key", config.token_key,
                 "public key bearer tokens are signed with, PEM; required with TLS (env "
                 "BO_TOKEN_KEY)");
  app.add_option("--token-issuer", config.token_issuer,
                 "the issuer tokens must name (env BO_TOKEN_ISSUER)");
  app.add_option("--token-audience", config.token_audience,
                 "the audience tokens must name (env BO_TOKEN_AUDIENCE)");
  app.add_option("--restore-own-state", config.restore_own_state,
                 "on an empty data directory, rebuild this service's own state from its own "
                 "topic before serving; false only for test deployments sharing a broker (env "
                 "BO_RESTORE_OWN_STATE=0)");
  app.add_flag("--rebuild-read-models", config.rebuild_read_models,
               "once, at this start: forget the read models built from other services' topics "
               "and rebuild them from the topics (the service's own records are kept)");
  // CLI11 reports through exceptions; they stop here and become a status.
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return absl::CancelledError(app.help());
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(std::string(e.what()) + "\n" + app.help());
  }
  if (config.grpc_addr.find(':') == std::string::npos) {
    return absl::InvalidArgumentError("--grpc-addr must be host:port, got " + config.grpc_addr);
  }
  if (config.data_dir.empty()) return absl::InvalidArgumentError("--data-dir must not be empty");
  if (config.http_addr.empty()) {
    const size_t colon = config.grpc_addr.rfind(':');
    int grpc_port = 0;
    try {
      grpc_port = std::stoi(config.grpc_addr.substr(colon + 1));
    } catch (const std::exception&) {
      return absl::InvalidArgumentError("--grpc-addr has no port number: " + config.grpc_addr);
    }
    config.http_addr = config.grpc_addr.substr(0, colon) + ":" +
                       std::to_string(grpc_port == 0 ? 0 : grpc_port + 1000);
  }
  if (config.http_addr.find(':') == std::string::npos) {
    return absl::InvalidArgumentError("--http-addr must be host:port, got " + config.http_addr);
  }
  if (absl::Status s = CheckTransport(config); !s.ok()) {
    return absl::InvalidArgumentError(std::string(s.message()));
  }
  if (!config.insecure && config.token_key.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs --token-key too: every call carries a bearer token (deploy/local/pki makes "
        "jwt.pub); no tokens only with --insecure");
  }
  return config;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> PeerChannel(const ServiceConfig& config,
                                                           const std::string& target) {
  if (absl::Status s = CheckTransport(config); !s.ok()) return s;
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!config.insecure) {
    auto tls = ReadTls(config.tls);
    if (!tls.ok()) return absl::FailedPreconditionError(std::string(tls.status().message()));
    credentials = MutualTlsChannelCredentials(*tls);
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(target, credentials, args);
}

void ServiceHost::BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

ServiceHost::ServiceHost(ServiceConfig config) : config_(std::move(config)) {}

ServiceHost::~ServiceHost() { Shutdown(std::chrono::milliseconds(0)); }

void ServiceHost::AddService(grpc::Service* service) { services_.push_back(service); }

void ServiceHost::SetReadiness(std::function<bool()> ready) { ready_ = std::move(ready); }

void ServiceHost::AddInterceptor(
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> f) {
  interceptors_.push_back(std::move(f));
}

absl::Status ServiceHost::Start() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which lets a second copy of a service silently share the
  // port with the first; one address must mean one process.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (absl::Status s = CheckTransport(config_); !s.ok()) return s;
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (config_.insecure) {
    spdlog::warn(
        "{}: *** INSECURE: plaintext gRPC on {}, no TLS, no client certificates; for local "
        "development only (--insecure) ***",
        config_.name, config_.grpc_addr);
    credentials = grpc::InsecureServerCredentials();
  } else {
    auto tls = ReadTls(config_.tls);
    if (!tls.ok()) return absl::FailedPreconditionError(std::string(tls.status().message()));
    credentials = MutualTlsServerCredentials(*tls);
  }
  builder.AddListeningPort(config_.grpc_addr, credentials, &port_);
  for (auto* s : services_) builder.RegisterService(s);
  if (!interceptors_.empty())
    builder.experimental().SetInterceptorCreators(std::move(interceptors_));
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    server_.reset();
    return absl::UnavailableError("cannot listen on " + config_.grpc_addr);
  }
  // NOT_SERVING until the readiness function first says otherwise.
  server_->GetHealthCheckService()->SetServingStatus(false);
  stopping_ = false;
  watcher_ = std::thread([this] { WatchReadiness(); });
  return absl::OkStatus();
}

void ServiceHost::WatchReadiness() {
  int last = -1;
  while (!stopping_) {
    int now = ready_() ? 1 : 0;
    if (now != last) {
      server_->GetHealthCheckService()->SetServingStatus(now == 1);
      last = now;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void ServiceHost::WaitForTermination(std::chrono::milliseconds grace) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  Shutdown(grace);
}

void ServiceHost::Shutdown(std::chrono::milliseconds grace) {
  if (!server_) return;
  stopping_ = true;
  if (watcher_.joinable()) watcher_.join();
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  server_.reset();
}

}  // namespace bo::rpc
