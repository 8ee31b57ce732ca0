// boctl: the command-line client for every operation of the four back-order services.
// main only wires: global flags, the command groups, parsing, addresses, then the chosen action.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "CLI/CLI.hpp"
#include "libs/core/ids.h"
#include "tools/boctl/client.h"
#include "tools/boctl/commands.h"

namespace {

using bo::boctl::kUsageError;

constexpr char kCommandFooter[] =
    "Global options go anywhere on the line: --json, -q/--quiet, --dry-run, --token,\n"
    "--token-file, --as, --role, --request-id, --timeout, --currency, --env-file,\n"
    "--<service>-addr, --ca/--cert/--key\n"
    "(see boctl --help).";

constexpr char kMainFooter[] =
    "Addresses: --<service>-addr, else $INVOICING_ADDR, $PURCHASING_ADDR, $RECEIVING_ADDR,\n"
    "$DEBTOR_QUERY_ADDR, else the stack file (--env-file, $BO_STACK_ENV, or var/stack/stack.env\n"
    "in this directory or above), else 127.0.0.1:50051..50054.\n"
    "Who calls: --ca/--cert/--key and --token/--token-file, else the same from the environment,\n"
    "else the stack file's client certificate and token (BO_CA, BO_CERT, BO_KEY, BO_TOKEN_FILE).\n"
    "Exit codes: 0 done, 1 the service refused or could not be reached, 2 usage error.\n"
    "Example: boctl invoice create --branch B1 --debtor D-1001 --kind counter -q";

struct GlobalFlags {
  bo::boctl::OutputOptions output;
  bo::boctl::CallSettings call;
  std::string env_file;
  std::map<bo::boctl::ServiceId, std::string> addresses;
  bo::rpc::TlsFiles tls;
  std::string token;
  std::string token_file;
};

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

void AddGlobalFlags(CLI::App* app, GlobalFlags* g) {
  const std::string output = "Output", caller = "Caller", where = "Addresses";
  app->add_flag("--json", g->output.json, "print the answer as one JSON document")->group(output);
  app->add_flag("-q,--quiet", g->output.quiet,
                "print only ids: of what was created or changed, or of each listed record")
      ->group(output);
  app->add_flag("--dry-run", g->output.dry_run, "print the request instead of sending it")
      ->group(output);
  app->add_option("--currency", g->output.currency, "currency of amounts typed without one")
      ->check(CLI::Validator(
          [](std::string& code) -> std::string {
            const bool ok = code.size() == 3 && std::all_of(code.begin(), code.end(), ::isalpha);
            for (auto& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            return ok ? "" : "\"" + code + "\" is not a 3-letter currency code";
          },
          "CODE"))
      ->capture_default_str()
      ->group(output);

  g->tls = {EnvOr("BO_CA", ""), EnvOr("BO_CERT", ""), EnvOr("BO_KEY", "")};
  app->add_option("--ca", g->tls.ca, "CA certificate (PEM) for mutual TLS (env BO_CA)")
      ->group(where);
  app->add_option("--cert", g->tls.cert, "client certificate (PEM) (env BO_CERT)")->group(where);
  app->add_option("--key", g->tls.key, "its private key (PEM) (env BO_KEY)")->group(where);
  g->token = EnvOr("BO_TOKEN", "");
  g->token_file = EnvOr("BO_TOKEN_FILE", "");
  app->add_option("--token", g->token,
                  "bearer token (bo-admin mint-token makes one for development; env BO_TOKEN)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)  // a wrapper's, then the user's
      ->group(caller);
  app->add_option("--token-file", g->token_file,
                  "a file holding the bearer token (env BO_TOKEN_FILE)")
      ->group(caller);
  g->call.actor = EnvOr("BO_ACTOR", "clerk:" + EnvOr("USER", "unknown"));
  g->call.role = EnvOr("BO_ROLE", "clerk");
  app->add_option("--as", g->call.actor, "who is acting (metadata bo-actor; env BO_ACTOR)")
      ->capture_default_str()
      ->group(caller);
  app->add_option("--role", g->call.role, "role acted in (metadata bo-role; env BO_ROLE)")
      ->capture_default_str()
      ->group(caller);
  app->add_option("--request-id", g->call.request_id,
                  "id of this change, to repeat it safely (default: a new UUIDv7)")
      ->group(caller);
  app->add_option("--timeout", g->call.timeout_seconds,
                  "seconds for each attempt, and for retrying an unreachable service")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->group(caller);

  app->add_option("--env-file", g->env_file, "stack file of KEY=VALUE addresses")->group(where);
  for (bo::boctl::ServiceId service : bo::boctl::kAllServices) {
    const std::string name = bo::boctl::ServiceName(service);
    app->add_option("--" + name + "-addr", g->addresses[service],
                    name + " host:port (env " + bo::boctl::AddressKey(service) + ")")
        ->group(where);
  }
}

// The innermost command given and its path ("boctl invoice"): a parse error prints its help.
const CLI::App* Innermost(const CLI::App& app, std::string* path) {
  const CLI::App* current = &app;
  while (!current->get_subcommands().empty()) {
    *path += (path->empty() ? "" : " ") + current->get_name();
    current = current->get_subcommands().front();
  }
  return current;
}

// "error: <what>" and the usage of the command being typed. A mistyped command name reaches
// CLI11 as a stray argument to a group, which it reports as a missing command: say which word.
void PrintUsageError(const CLI::App& app, const CLI::ParseError& error) {
  std::string path;
  const CLI::App* command = Innermost(app, &path);
  std::string what = error.what();
  const bool group = command->get_require_subcommand_min() > 0;
  if (group && dynamic_cast<const CLI::RequiredError*>(&error) != nullptr) {
    auto stray = command->remaining();
    if (stray.empty()) stray = app.remaining();  // global flags fall through to the top
    const std::string name = (path.empty() ? "" : path + " ") + command->get_name();
    what = !stray.empty() && stray.front()[0] != '-'
               ? "\"" + stray.front() + "\" is not a command of " + name
               : "which command of " + name + "?";
  }
  std::fprintf(stderr, "error: %s\n\n%s", what.c_str(), command->help(path).c_str());
}

// Fills in the addresses and request id. False (with the reason on stderr) if a stack file that
// was asked for cannot be read.
bool Resolve(GlobalFlags* g) {
  const auto stack = bo::boctl::ReadStackFile(g->env_file);
  if (!stack.has_value()) return false;
  g->call.addresses = bo::boctl::ResolveAddresses(*stack, g->addresses);
  if (g->call.request_id.empty()) g->call.request_id = bo::NewUuidV7();
  auto identity = bo::boctl::ResolveIdentity(*stack, g->tls, g->token, g->token_file);
  if (!identity.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(identity.status().message()).c_str());
    return false;
  }
  g->call.identity = *std::move(identity);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "boctl: the parts counter's command line for back orders (debtors, parts and stock,\n"
      "invoices/ROs, back orders, stock orders, receiving creditor invoices)"};
  app.name("boctl");
  app.get_formatter()->column_width(34);
  app.fallthrough();  // global flags may follow the command
  app.require_subcommand(1);
  GlobalFlags globals;
  AddGlobalFlags(&app, &globals);

  app.footer(kCommandFooter);  // inherited by every command added below
  bo::boctl::Commands commands;
  bo::boctl::AddDebtorCommands(&app, &commands);
  bo::boctl::AddReceivingCommands(&app, &commands);
  bo::boctl::AddInvoiceCommands(&app, &commands);
  bo::boctl::AddBackorderCommands(&app, &commands);
  bo::boctl::AddStockOrderCommands(&app, &commands);
  bo::boctl::AddEventsCommands(&app, &commands);
  app.footer(kMainFooter);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    PrintUsageError(app, e);
    return kUsageError;
  }

  const bo::boctl::Action* action = commands.Chosen(app);
  if (action == nullptr || !Resolve(&globals)) return kUsageError;
  bo::boctl::Client client(globals.call);
  bo::boctl::Context context(&client, globals.output);
  return (*action)(context);
}
