// bo-loadgen: drives the four services over gRPC with N concurrent clerks at M branches running
// the whole workflow mix, and reports commands/s and latency percentiles per RPC.
// main only wires: flags, the addresses (found as boctl finds them), Run, the report.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "tools/boctl/client.h"
#include "tools/loadgen/workload.h"

namespace {

constexpr int kUnresolved = 1;
constexpr int kCouldNotStart = 2;

nlohmann::json FiguresJson(const std::vector<bo::loadgen::RpcFigures>& figures) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : figures) {
    out.push_back({{"rpc", f.rpc},
                   {"mutating", f.mutating},
                   {"calls", f.calls},
                   {"ok", f.ok},
                   {"refused", f.refused},
                   {"transient", f.transient},
                   {"unresolved", f.unresolved},
                   {"p50_ms", f.p50_ms},
                   {"p90_ms", f.p90_ms},
                   {"p99_ms", f.p99_ms},
                   {"p999_ms", f.p999_ms},
                   {"max_ms", f.max_ms}});
  }
  return out;
}

std::string ReportJson(const bo::loadgen::LoadReport& r) {
  nlohmann::json j = {{"mix", r.mix},
                      {"run_id", r.run_id},
                      {"clerks", r.clerks},
                      {"branches", r.branches},
                      {"seconds", r.seconds},
                      {"commands", r.commands},
                      {"commands_per_s", r.commands_per_s},
                      {"queries", r.queries},
                      {"backorders_created", r.backorders_created},
                      {"unresolved", r.unresolved},
                      {"rpcs", FiguresJson(r.rpcs)},
                      {"setup_rpcs", FiguresJson(r.setup_rpcs)}};
  return j.dump(2) + "\n";
}

// The four addresses and who to be, as boctl resolves them: --<service>-addr, else
// $INVOICING_ADDR..., else the stack file (--env-file, $BO_STACK_ENV, var/stack/stack.env here or
// above), else the defaults; --ca/--cert/--key and --token/--token-file, else the environment,
// else the stack file's.
bool Resolve(const std::string& env_file, std::map<bo::boctl::ServiceId, std::string> flags,
             const bo::rpc::TlsFiles& tls, const std::string& token, const std::string& token_file,
             bo::loadgen::Targets* targets) {
  const auto stack = bo::boctl::ReadStackFile(env_file);
  if (!stack.has_value()) return false;
  auto addresses = bo::boctl::ResolveAddresses(*stack, flags);
  std::map<bo::boctl::ServiceId, std::string*> out = {
      {bo::boctl::ServiceId::kInvoicing, &targets->invoicing},
      {bo::boctl::ServiceId::kPurchasing, &targets->purchasing},
      {bo::boctl::ServiceId::kReceiving, &targets->receiving},
      {bo::boctl::ServiceId::kDebtorQuery, &targets->debtor_query}};
  for (bo::boctl::ServiceId service : bo::boctl::kAllServices) {
    const bo::boctl::Address& address = addresses[service];
    *out[service] = address.target;
    std::fprintf(stderr, "bo-loadgen: %s at %s (%s)\n", bo::boctl::ServiceName(service).c_str(),
                 address.target.c_str(), address.source.c_str());
  }
  auto identity = bo::boctl::ResolveIdentity(*stack, tls, token, token_file);
  if (!identity.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(identity.status().message()).c_str());
    return false;
  }
  targets->identity = *std::move(identity);
  std::fprintf(stderr, "bo-loadgen: %s\n",
               !targets->identity.tls.has_value() ? "plaintext, no token (an --insecure stack)"
               : targets->identity.bearer_token.empty() ? "mutual TLS, no token"
                                                        : "mutual TLS with a bearer token");
  return true;
}

std::string EnvOr(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

int main(int argc, char** argv) {
  // As the services do (ServiceRuntime::Open): no deadlock-detection graph behind gRPC's mutexes.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{
      "bo-loadgen: N concurrent clerks at M branches drive the four back-order services over\n"
      "gRPC with the whole workflow mix; reports commands/s and latency percentiles per RPC."};
  app.name("bo-loadgen");
  bo::loadgen::LoadOptions o;
  double duration_seconds = 30;
  bool no_setup = false, json = false;
  std::string env_file;
  std::map<bo::boctl::ServiceId, std::string> addresses;

  app.add_option("--clerks", o.clerks, "concurrent clerks (threads)")->capture_default_str();
  app.add_option("--branches", o.branches, "branches; clerk i works at branch i % branches")
      ->capture_default_str();
  app.add_option("--parts", o.parts, "parts")->capture_default_str();
  app.add_option("--debtors", o.debtors, "debtors")->capture_default_str();
  app.add_option("--duration", duration_seconds, "seconds to run (0: until --commands)")
      ->capture_default_str();
  app.add_option("--commands", o.max_commands,
                 "stop after this many acknowledged commands (0: no limit)")
      ->capture_default_str();
  app.add_option(
         "--mix", o.mix,
         "workflow | backorders | history | rpc:<service>/<Method> (e.g. rpc:receiving/GetStock)")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "random seed")->capture_default_str();
  app.add_option("--history-open-every", o.history_open_every,
                 "history mix: leave one back order in this many open (0: none)")
      ->capture_default_str();
  app.add_option("--run-id", o.run_id,
                 "prefix of this run's ids and request ids (default: random); repeat it with "
                 "--no-setup to reuse a world")
      ->capture_default_str();
  app.add_flag("--no-setup", no_setup,
               "skip creating parts, opening stock and debtors (the run id's world exists)");
  app.add_flag("--json", json, "print the report as one JSON document instead of table and lines");
  app.add_option("--env-file", env_file, "stack file of KEY=VALUE addresses");
  bo::rpc::TlsFiles tls{EnvOr("BO_CA"), EnvOr("BO_CERT"), EnvOr("BO_KEY")};
  std::string token = EnvOr("BO_TOKEN"), token_file = EnvOr("BO_TOKEN_FILE");
  app.add_option("--ca", tls.ca, "CA certificate (PEM) for mutual TLS (env BO_CA)");
  app.add_option("--cert", tls.cert, "client certificate (PEM) (env BO_CERT)");
  app.add_option("--key", tls.key, "its private key (PEM) (env BO_KEY)");
  app.add_option("--token", token, "bearer token, role group (env BO_TOKEN)");
  app.add_option("--token-file", token_file, "a file holding it (env BO_TOKEN_FILE)");
  for (bo::boctl::ServiceId service : bo::boctl::kAllServices) {
    const std::string name = bo::boctl::ServiceName(service);
    app.add_option("--" + name + "-addr", addresses[service],
                   name + " host:port (env " + bo::boctl::AddressKey(service) + ")");
  }
  app.footer(
      "Addresses: --<service>-addr, else $INVOICING_ADDR, $PURCHASING_ADDR, $RECEIVING_ADDR,\n"
      "$DEBTOR_QUERY_ADDR, else the stack file (--env-file, $BO_STACK_ENV, or var/stack/stack.env\n"
      "in this directory or above), else 127.0.0.1:50051..50054.\n"
      "Who: --ca/--cert/--key, --token/--token-file, else the environment, else the stack file's.\n"
      "Exit codes: 0 done, 1 some call stayed unresolved, 2 could not start (usage, unreachable,\n"
      "set-up refused).");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kCouldNotStart;
  }
  if (duration_seconds < 0) {
    std::fprintf(stderr, "error: --duration must not be negative\n");
    return kCouldNotStart;
  }
  o.duration = std::chrono::milliseconds(static_cast<int64_t>(duration_seconds * 1000));
  o.setup = !no_setup;

  bo::loadgen::Targets targets;
  if (!Resolve(env_file, addresses, tls, token, token_file, &targets)) return kCouldNotStart;
  auto report = bo::loadgen::Run(targets, o);
  if (!report.ok()) {
    std::fprintf(stderr, "error: %s\n", report.status().ToString().c_str());
    return kCouldNotStart;
  }
  if (json) {
    std::fputs(ReportJson(*report).c_str(), stdout);
  } else {
    std::fputs(bo::loadgen::FormatTable(*report).c_str(), stdout);
    std::fputs("\n", stdout);
    std::fputs(bo::loadgen::FormatLines(*report).c_str(), stdout);
  }
  if (report->unresolved > 0) {
    std::fprintf(stderr, "error: %lld calls stayed unresolved (their effect is unknown)\n",
                 static_cast<long long>(report->unresolved));
    return kUnresolved;
  }
  return 0;
}
