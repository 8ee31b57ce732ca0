// boctl debtor create|update|get|list: the debtor master file (debtor-query service).
#include "tools/boctl/commands.h"
#include "tools/boctl/views.h"

namespace bo::boctl {
namespace {

using Stub = v1::DebtorQueryService::Stub;
const Rpc kCreateDebtor{"CreateDebtor", &Stub::CreateDebtor};
const Rpc kUpdateDebtor{"UpdateDebtor", &Stub::UpdateDebtor};
const Rpc kGetDebtor{"GetDebtor", &Stub::GetDebtor};
const Rpc kListDebtors{"ListDebtors", &Stub::ListDebtors};

const View<v1::Debtor> kDebtorView =
    ViewOf<v1::Debtor>(DebtorText, [](const v1::Debtor& d) { return d.debtor_id(); });

// The record's flags, shared by create and update; only the given ones change the record.
struct DebtorFlags {
  CLI::App* command = nullptr;
  std::string id, name, contact, phone, email, use_backorders;
};

void AddDebtorFlags(CLI::App* command, DebtorFlags* f, bool create) {
  f->command = command;
  AddRequired(command, "--id", &f->id, "debtor id, for example D-1001");
  auto* name = command->add_option("--name", f->name, "account name");
  if (create) name->required();
  command->add_option("--contact", f->contact, "contact name");
  command->add_option("--phone", f->phone, "phone number");
  command->add_option("--email", f->email, "email address");
  AddYesNo(command, "--use-backorders", &f->use_backorders,
           create ? "offer back orders when stock is short (default no)"
                  : "offer back orders when stock is short");
}

void ApplyDebtorFlags(const DebtorFlags& f, v1::Debtor* debtor) {
  debtor->set_debtor_id(f.id);
  if (Given(f.command, "--name")) debtor->set_name(f.name);
  if (Given(f.command, "--contact")) debtor->set_contact_name(f.contact);
  if (Given(f.command, "--phone")) debtor->set_phone(f.phone);
  if (Given(f.command, "--email")) debtor->set_email(f.email);
  if (Given(f.command, "--use-backorders")) debtor->set_use_backorders(f.use_backorders == "yes");
}

void AddCreate(CLI::App* group, Commands* commands) {
  auto f = std::make_shared<DebtorFlags>();
  auto* command = commands->Add(group, "create", "Create a debtor", [f](Context& context) {
    v1::CreateDebtorRequest request;
    request.set_request_id(context.request_id());
    ApplyDebtorFlags(*f, request.mutable_debtor());
    return Run(context, "creating debtor " + f->id, kCreateDebtor, request,
               Headed("Created debtor", kDebtorView));
  });
  AddDebtorFlags(command, f.get(), /*create=*/true);
}

// UpdateDebtor replaces the whole record, so the current one is read first and only the given
// flags change it.
void AddUpdate(CLI::App* group, Commands* commands) {
  auto f = std::make_shared<DebtorFlags>();
  auto* command = commands->Add(
      group, "update", "Change a debtor: only the given flags change (Use backorders included)",
      [f](Context& context) {
        v1::UpdateDebtorRequest request;
        request.set_request_id(context.request_id());
        if (!context.output().dry_run) {
          v1::GetDebtorRequest get;
          get.set_debtor_id(f->id);
          if (!context.client().Call("reading debtor " + f->id + " to update it", kGetDebtor, get,
                                     request.mutable_debtor())) {
            return kRpcError;
          }
        }
        ApplyDebtorFlags(*f, request.mutable_debtor());
        return Run(context, "updating debtor " + f->id, kUpdateDebtor, request,
                   Headed("Updated debtor", kDebtorView));
      });
  AddDebtorFlags(command, f.get(), /*create=*/false);
}

void AddList(CLI::App* group, Commands* commands) {
  auto paging = std::make_shared<Paging>();
  auto* command = commands->Add(group, "list", "List debtors by id", [paging](Context& context) {
    v1::ListDebtorsRequest request;
    paging->Set(&request);
    return Run(context, "listing debtors", kListDebtors, request,
               ListView<v1::ListDebtorsResponse>(
                   DebtorsText, [](const auto& r) -> const auto& { return r.debtors(); },
                   [](const v1::Debtor& d) { return d.debtor_id(); }));
  });
  AddPaging(command, paging.get());
}

}  // namespace

void AddDebtorCommands(CLI::App* app, Commands* commands) {
  CLI::App* group =
      Commands::Group(app, "debtor", "Debtors (customer accounts) and Use backorders");
  AddCreate(group, commands);
  AddUpdate(group, commands);
  AddIdCommand(
      group, commands, {"get", "Show a debtor", "--id", "debtor id", "reading debtor"}, kGetDebtor,
      [](v1::GetDebtorRequest* r, const std::string& id) { r->set_debtor_id(id); }, kDebtorView);
  AddList(group, commands);
}

}  // namespace bo::boctl
