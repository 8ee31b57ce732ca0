#include "services/debtor-query/debtor_query_rules.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "services/common/backorder_view.h"
#include "services/common/command_support.h"

namespace bo::debtor_query {
namespace pb = backorder::v1;

namespace {

constexpr size_t kMaxDebtorText = 200;

std::string Path(const std::string& field, const char* name) {
  return absl::StrCat(field, ".", name);
}

absl::Status CheckEmail(const std::string& field, const std::string& email) {
  if (email.empty()) return absl::OkStatus();
  if (email.find('@') == std::string::npos) {
    return Invalid(field, absl::StrCat("\"", email, "\" is not an e-mail address (no '@')"));
  }
  if (email.find_first_of(" \t") != std::string::npos) {
    return Invalid(field, absl::StrCat("\"", email, "\" is not an e-mail address (has spaces)"));
  }
  return absl::OkStatus();
}

absl::Status CheckAge(const char* field, int32_t days) {
  if (days < 0) return Invalid(field, absl::StrCat("must not be negative, got ", days));
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateDebtor(const pb::Debtor& debtor, const std::string& field) {
  const std::string email = Path(field, "email");
  return FirstError({
      CheckId(Path(field, "debtor_id"), debtor.debtor_id()),
      CheckText(Path(field, "name"), debtor.name(), kMaxDebtorText, /*required=*/true),
      CheckText(Path(field, "contact_name"), debtor.contact_name(), kMaxDebtorText, false),
      CheckText(Path(field, "phone"), debtor.phone(), kMaxDebtorText, false),
      CheckText(email, debtor.email(), kMaxDebtorText, false),
      CheckEmail(email, debtor.email()),
  });
}

pb::EventEnvelope DebtorUpdatedEvent(const pb::Debtor& debtor) {
  pb::EventEnvelope event;
  event.set_type("DebtorUpdated");
  event.set_branch_id("");  // debtors belong to the whole group
  pb::DebtorUpdated* p = event.mutable_debtor_updated();
  p->set_debtor_id(debtor.debtor_id());
  p->set_name(debtor.name());
  p->set_contact_name(debtor.contact_name());
  p->set_phone(debtor.phone());
  p->set_email(debtor.email());
  p->set_use_backorders(debtor.use_backorders());
  return event;
}

absl::Status RestoreDebtorStream(const std::string& aggregate_id,
                                 const std::vector<pb::EventEnvelope>& events,
                                 RestoredWrites* out) {
  return RestoreRecordStream<pb::Debtor>(
      aggregate_id, events,
      [](const pb::EventEnvelope& e, pb::Debtor* record) {
        if (!e.has_debtor_updated()) return false;
        const pb::DebtorUpdated& d = e.debtor_updated();
        record->set_debtor_id(d.debtor_id());
        record->set_name(d.name());
        record->set_contact_name(d.contact_name());
        record->set_phone(d.phone());
        record->set_email(d.email());
        record->set_use_backorders(d.use_backorders());
        return true;
      },
      [](const pb::EventEnvelope& e) {
        return std::string(e.aggregate_version() == 1 ? "CreateDebtor" : "UpdateDebtor");
      },
      out);
}

absl::StatusOr<BackorderFilter> FilterOf(const pb::ListBackordersRequest& request) {
  absl::Status s = FirstError({
      CheckId("branch_id", request.branch_id(), /*required=*/false),
      CheckId("debtor_id", request.debtor_id(), false),
      CheckId("supplier_id", request.supplier_id(), false),
      CheckId("part_number", request.part_number(), false),
      CheckAge("min_age_days", request.min_age_days()),
      CheckAge("max_age_days", request.max_age_days()),
  });
  if (!s.ok()) return s;
  if (!pb::BackorderState_IsValid(request.state())) {
    return Invalid("state", absl::StrCat("unknown back-order state ", request.state()));
  }
  if (request.min_age_days() > 0 && request.max_age_days() > 0 &&
      request.min_age_days() > request.max_age_days()) {
    return Invalid("min_age_days",
                   absl::StrCat("must not exceed max_age_days (", request.max_age_days(), "), got ",
                                request.min_age_days()));
  }
  BackorderFilter f;
  f.branch_id = request.branch_id();
  f.debtor_id = request.debtor_id();
  f.supplier_id = request.supplier_id();
  f.part_number = request.part_number();
  f.state = request.state();
  f.min_age_days = request.min_age_days();
  f.max_age_days = request.max_age_days();
  return f;
}

int64_t AgeDays(const pb::Backorder& view, absl::Time now) {
  const absl::Duration age = now - FromProto(view.created_at());
  if (age <= absl::ZeroDuration()) return 0;
  return absl::ToInt64Hours(age) / 24;
}

bool Matches(const BackorderFilter& f, const pb::Backorder& view, absl::Time now) {
  const pb::BackorderContext& c = view.context();
  if (!f.branch_id.empty() && c.branch_id() != f.branch_id) return false;
  if (!f.debtor_id.empty() && c.debtor_id() != f.debtor_id) return false;
  if (!f.supplier_id.empty() && c.supplier_id() != f.supplier_id) return false;
  if (!f.part_number.empty() && c.part_number() != f.part_number) return false;
  if (f.state != pb::BACKORDER_STATE_UNSPECIFIED && view.state() != f.state) return false;
  if (f.has_age_filter()) {
    if (!view.has_created_at()) return false;
    const int64_t age = AgeDays(view, now);
    if (f.min_age_days > 0 && age < f.min_age_days) return false;
    if (f.max_age_days > 0 && age > f.max_age_days) return false;
  }
  return true;
}

pb::ReadyLine ReadyLineOf(const pb::Backorder& view) {
  pb::ReadyLine line;
  line.set_backorder_id(view.context().backorder_id());
  line.set_invoice_line(view.context().invoice_line());
  line.set_part_number(view.context().part_number());
  line.set_quantity_ready(Ready(view.quantities()));
  line.set_quantity_waiting(Waiting(view.quantities()));
  *line.mutable_unit_price() = view.context().unit_price();
  line.set_state(view.state());
  *line.mutable_created_at() = view.created_at();
  *line.mutable_filled_at() = view.filled_at();
  return line;
}

std::vector<pb::ReadyInvoice> GroupReadyToInvoice(const std::vector<pb::Backorder>& views) {
  using GroupKey = std::tuple<std::string, std::string, std::string>;  // branch, debtor, invoice
  std::map<GroupKey, pb::ReadyInvoice> groups;
  for (const pb::Backorder& view : views) {
    if (Ready(view.quantities()) <= 0 || view.state() == pb::BACKORDER_STATE_CANCELLED) continue;
    const pb::BackorderContext& c = view.context();
    pb::ReadyInvoice& group = groups[{c.branch_id(), c.debtor_id(), c.invoice_id()}];
    if (group.lines().empty()) {
      group.mutable_debtor()->set_debtor_id(c.debtor_id());
      group.set_branch_id(c.branch_id());
      group.set_invoice_id(c.invoice_id());
      group.set_invoice_kind(c.invoice_kind());
    }
    *group.add_lines() = ReadyLineOf(view);
  }
  std::vector<pb::ReadyInvoice> out;
  out.reserve(groups.size());
  for (auto& [key, group] : groups) {
    std::sort(group.mutable_lines()->begin(), group.mutable_lines()->end(),
              [](const pb::ReadyLine& a, const pb::ReadyLine& b) {
                if (a.invoice_line() != b.invoice_line())
                  return a.invoice_line() < b.invoice_line();
                return a.backorder_id() < b.backorder_id();
              });
    out.push_back(std::move(group));
  }
  return out;
}

}  // namespace bo::debtor_query
