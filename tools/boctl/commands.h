// The commands of boctl and what they share: the invocation's context (client, output mode),
// one generic "call, report the error or print the answer" step, and the CLI11 wiring of leaf
// commands to their actions.
//
// Each command file adds one group (debtor, part, stock, receive, invoice, backorder,
// stock-order): its flags bind to a small struct owned by the action, and the action builds the
// request and hands it to Run with a "doing" phrase for errors and a view for the answer.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "backorder/v1/common.pb.h"
#include "google/protobuf/message.h"
#include "tools/boctl/client.h"

namespace bo::boctl {

// Exit codes.
inline constexpr int kOk = 0;
inline constexpr int kRpcError = 1;
inline constexpr int kUsageError = 2;

// How answers are printed.
struct OutputOptions {
  // The whole answer as one JSON document (proto3 JSON, every field printed).
  bool json = false;
  // Only the ids: of what was created or changed, or of each listed record, one per line.
  bool quiet = false;
  // Print the request that would be sent instead of sending it.
  bool dry_run = false;
  // For amounts typed without one.
  std::string currency = "AUD";
};

class Context {
 public:
  Context(Client* client, OutputOptions output) : client_(client), output_(std::move(output)) {}

  Client& client() { return *client_; }
  const OutputOptions& output() const { return output_; }
  // The request id of this invocation's mutating call (the same on every retry).
  const std::string& request_id() const { return client_->settings().request_id; }

  // Prints `response` as the options say: JSON, the ids, or the text. Returns kOk.
  int Print(const google::protobuf::Message& response, const std::function<std::string()>& text,
            const std::function<std::vector<std::string>()>& ids);
  // Prints which RPC would be called where, and the request as JSON. Returns kOk.
  int DryRun(std::string_view rpc_name, ServiceId service,
             const google::protobuf::Message& request);

 private:
  Client* client_;
  OutputOptions output_;
};

// How an answer reads: the text for people, the ids for --quiet (none: the text is printed).
template <typename Response>
struct View {
  std::function<std::string(const Response&)> text;
  std::function<std::vector<std::string>(const Response&)> ids;
};

// A view printing `text` and giving the single id `id` for --quiet.
template <typename Response, typename Text, typename Id>
View<Response> ViewOf(Text text, Id id) {
  return {text, [id](const Response& r) { return std::vector<std::string>{id(r)}; }};
}

// A view of a list: `text`, and for --quiet the `id` of each of `items` of the answer.
template <typename Response, typename Text, typename Items, typename Id>
View<Response> ListView(Text text, Items items, Id id) {
  return {text, [items, id](const Response& r) {
            std::vector<std::string> ids;
            for (const auto& item : items(r)) ids.push_back(id(item));
            return ids;
          }};
}

// `view` headed by what happened: "<headline> <id>" and a blank line before its text.
template <typename Response>
View<Response> Headed(const std::string& headline, const View<Response>& view) {
  return {[headline, view](const Response& r) {
            const auto ids = view.ids ? view.ids(r) : std::vector<std::string>();
            return absl::StrCat(headline, " ", ids.empty() ? "" : ids.front(), "\n\n",
                                view.text(r));
          },
          view.ids};
}

// The generic step every command ends with: send `request` (or show it with --dry-run), report
// a failure as "error: <doing>: ..." (exit 1), or print the answer with `view` (exit 0).
template <typename Stub, typename Request, typename Response>
int Run(Context& context, std::string_view doing, const Rpc<Stub, Request, Response>& rpc,
        const Request& request, const View<Response>& view) {
  if (context.output().dry_run) {
    return context.DryRun(rpc.name, StubTraits<Stub>::kService, request);
  }
  Response response;
  if (!context.client().Call(doing, rpc, request, &response)) return kRpcError;
  return context.Print(
      response, [&] { return view.text ? view.text(response) : std::string(); },
      view.ids ? std::function<std::vector<std::string>()>([&] { return view.ids(response); })
               : nullptr);
}

using Action = std::function<int(Context&)>;

// The words of a command whose request is one id (plus the request id, for a change).
struct IdCommandText {
  std::string name;         // "finalise"
  std::string description;  // for --help
  std::string flag;         // "--invoice"
  std::string flag_help;    // "invoice id, e.g. INV-B1-000001"
  std::string doing;        // "finalising invoice": the error says "finalising invoice <id>"
};

// Leaf commands and their actions. After parsing, Chosen finds the action of the command given.
class Commands {
 public:
  // Adds the leaf command `name` under `parent`; `action` runs when it is the one chosen.
  CLI::App* Add(CLI::App* parent, const std::string& name, const std::string& description,
                Action action);
  // Adds a group of commands (one of which must be given).
  static CLI::App* Group(CLI::App* parent, const std::string& name, const std::string& description);
  // The action of the leaf command the user chose, or nullptr.
  const Action* Chosen(const CLI::App& app) const;

 private:
  std::map<const CLI::App*, Action> actions_;
};

// A CLI11 check from one of our parsers (text, default currency) -> StatusOr: the parser's
// message is the usage error.
template <typename Parse>
CLI::Validator ParsedBy(Parse parse, const std::string& name) {
  return CLI::Validator(
      [parse](std::string& text) -> std::string {
        const auto parsed = parse(text, "AUD");
        return parsed.ok() ? "" : std::string(parsed.status().message());
      },
      "", name);
}

// Flags shared by many commands.
CLI::Option* AddRequired(CLI::App* command, const std::string& name, std::string* value,
                         const std::string& description);
// --flag yes|no.
CLI::Option* AddYesNo(CLI::App* command, const std::string& name, std::string* value,
                      const std::string& description);
// An amount: "12.50", "12.50 NZD" (checked when parsing, so a typo is a usage error).
CLI::Option* AddMoney(CLI::App* command, const std::string& name, std::string* value,
                      const std::string& description);
// --page-size and --page-token.
struct Paging {
  int size = 0;
  std::string token;
  template <typename Request>
  void Set(Request* request) const {
    request->set_page_size(size);
    request->set_page_token(token);
  }
};
void AddPaging(CLI::App* command, Paging* paging);
// Whether the flag `name` of `command` was given (for commands that change only what is given).
bool Given(const CLI::App* command, const std::string& name);

// The amount typed for flag `name`, in the --currency when it names none. False, with the
// reason on stderr, if it is not an amount (AddMoney lets none through, so only a bad
// --currency gets here).
bool MoneyFlag(const Context& context, const std::string& name, const std::string& text,
               backorder::v1::Money* money);

// Adds a command that sends one id: `set_id(&request, id)` fills the request; a request with a
// request_id gets this invocation's.
template <typename Stub, typename Request, typename Response, typename SetId>
CLI::App* AddIdCommand(CLI::App* group, Commands* commands, const IdCommandText& text,
                       const Rpc<Stub, Request, Response>& rpc, SetId set_id,
                       const View<Response>& view) {
  auto id = std::make_shared<std::string>();
  CLI::App* command = commands->Add(group, text.name, text.description, [=](Context& context) {
    Request request;
    if constexpr (requires { request.set_request_id(std::string()); }) {
      request.set_request_id(context.request_id());
    }
    set_id(&request, *id);
    return Run(context, absl::StrCat(text.doing, " ", *id), rpc, request, view);
  });
  AddRequired(command, text.flag, id.get(), text.flag_help);
  return command;
}

// The groups, one per file.
void AddDebtorCommands(CLI::App* app, Commands* commands);
void AddReceivingCommands(CLI::App* app, Commands* commands);  // part, stock, receive
void AddInvoiceCommands(CLI::App* app, Commands* commands);
void AddBackorderCommands(CLI::App* app, Commands* commands);
void AddStockOrderCommands(CLI::App* app, Commands* commands);
void AddEventsCommands(CLI::App* app, Commands* commands);  // events tail (Kafka, not gRPC)

}  // namespace bo::boctl
