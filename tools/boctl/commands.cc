#include "tools/boctl/commands.h"

#include <cstdio>

#include "google/protobuf/util/json_util.h"
#include "tools/boctl/format.h"

namespace bo::boctl {
namespace {

std::string Json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) return absl::StrCat("{\"error\": \"", std::string(status.message()), "\"}\n");
  return json;
}

void Write(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (!text.empty() && text.back() != '\n') std::fputc('\n', stdout);
}

}  // namespace

int Context::Print(const google::protobuf::Message& response,
                   const std::function<std::string()>& text,
                   const std::function<std::vector<std::string>()>& ids) {
  if (output_.json) {
    Write(Json(response));
  } else if (output_.quiet && ids) {
    for (const auto& id : ids()) Write(id + "\n");
  } else {
    Write(text());
  }
  return kOk;
}

int Context::DryRun(std::string_view rpc_name, ServiceId service,
                    const google::protobuf::Message& request) {
  const Address& address = client_->AddressOf(service);
  Write(absl::StrCat("dry run: ", ServiceName(service), ".", std::string(rpc_name), " at ",
                     address.target, " (from ", address.source, ")\n", Json(request)));
  return kOk;
}

CLI::App* Commands::Add(CLI::App* parent, const std::string& name, const std::string& description,
                        Action action) {
  CLI::App* command = parent->add_subcommand(name, description);
  command->require_subcommand(0, 0);
  actions_[command] = std::move(action);
  return command;
}

CLI::App* Commands::Group(CLI::App* parent, const std::string& name,
                          const std::string& description) {
  CLI::App* group = parent->add_subcommand(name, description);
  group->require_subcommand(1);
  return group;
}

const Action* Commands::Chosen(const CLI::App& app) const {
  const CLI::App* current = &app;
  for (;;) {
    const auto chosen = current->get_subcommands();
    if (chosen.empty()) break;
    current = chosen.front();
  }
  const auto it = actions_.find(current);
  return it == actions_.end() ? nullptr : &it->second;
}

CLI::Option* AddRequired(CLI::App* command, const std::string& name, std::string* value,
                         const std::string& description) {
  return command->add_option(name, *value, description)->required();
}

CLI::Option* AddYesNo(CLI::App* command, const std::string& name, std::string* value,
                      const std::string& description) {
  return command->add_option(name, *value, description)
      ->check(CLI::IsMember({"yes", "no"}, CLI::ignore_case))
      ->type_name("yes|no");
}

CLI::Option* AddMoney(CLI::App* command, const std::string& name, std::string* value,
                      const std::string& description) {
  return command->add_option(name, *value, description)
      ->check(ParsedBy(ParseMoney, "AMOUNT"))
      ->type_name("AMOUNT");
}

void AddPaging(CLI::App* command, Paging* paging) {
  command->add_option("--page-size", paging->size, "at most this many (default 100, at most 1000)")
      ->check(CLI::Range(0, 1000));
  command->add_option("--page-token", paging->token, "the token printed after the previous page");
}

bool Given(const CLI::App* command, const std::string& name) { return command->count(name) > 0; }

bool MoneyFlag(const Context& context, const std::string& name, const std::string& text,
               backorder::v1::Money* money) {
  auto parsed = ParseMoney(text, context.output().currency);
  if (!parsed.ok()) {
    std::fprintf(stderr, "error: %s: %s\n", name.c_str(),
                 std::string(parsed.status().message()).c_str());
    return false;
  }
  *money = *parsed;
  return true;
}

}  // namespace bo::boctl
