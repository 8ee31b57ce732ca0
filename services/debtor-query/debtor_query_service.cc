#include "services/debtor-query/debtor_query_service.h"

#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/backorder_view.h"
#include "services/common/topics.h"
#include "services/debtor-query/debtor_query_rules.h"
#include "services/debtor-query/read_model_keys.h"
#include "services/debtor-query/snapshot_reader.h"
#include "spdlog/spdlog.h"

namespace bo::debtor_query {
namespace pb = backorder::v1;

namespace {

constexpr char kSource[] = "debtor-query";

// The escaped branch and debtor parts of a ready-index key "ready/<branch>/<debtor>/<invoice>/<id>"
// (both empty if `key` is not one).
struct ReadyKeyParts {
  std::string_view branch, debtor;
};
ReadyKeyParts PartsOfReadyKey(std::string_view key) {
  const size_t branch_start = key.find('/') + 1;
  const size_t branch_end = key.find('/', branch_start);
  if (branch_start == 0 || branch_end == std::string_view::npos) return {};
  const size_t debtor_end = key.find('/', branch_end + 1);
  if (debtor_end == std::string_view::npos) return {};
  return {key.substr(branch_start, branch_end - branch_start),
          key.substr(branch_end + 1, debtor_end - branch_end - 1)};
}

}  // namespace

// ---- Debtor commands ----

absl::Status DebtorQueryService::WriteDebtor(const Caller& caller, const char* method,
                                             const std::string& request_id,
                                             const pb::Debtor& debtor, bool must_exist,
                                             pb::Debtor* response) {
  if (auto s = FirstError({CheckRequestId(request_id), ValidateDebtor(debtor, "debtor")});
      !s.ok()) {
    return s;
  }
  const std::string& id = debtor.debtor_id();
  std::lock_guard lock(locks_.For(id));
  auto previous = PreviousAnswer(store_, method, request_id, response);
  if (!previous.ok()) return previous.status();
  if (*previous) return absl::OkStatus();

  auto stored = store_->GetState(DebtorKey(id));
  if (!stored.ok()) return stored.status();
  if (must_exist && !stored->has_value()) {
    return absl::NotFoundError(absl::StrCat("debtor ", id, " not found"));
  }
  if (!must_exist && stored->has_value()) {
    return absl::AlreadyExistsError(absl::StrCat("debtor ", id, " already exists"));
  }
  const std::string stream = DebtorStream(id);
  auto version = store_->StreamVersion(stream);
  if (!version.ok()) return version.status();

  const absl::Time now = clock_();
  pb::Debtor record = debtor;
  // Only what DebtorUpdated carries is kept, so a rebuild from the topic gives the same record.
  record.DiscardUnknownFields();
  *record.mutable_updated_at() = ToProto(now);
  record.set_updated_by(caller.subject);

  pb::EventEnvelope event = DebtorUpdatedEvent(record);
  Stamp(&event, stream, *version + 1, now, caller, request_id);
  CommitRequest commit;
  commit.appends.push_back({stream, *version, {event.SerializeAsString()}});
  commit.state.emplace_back(DebtorKey(id), record.SerializeAsString());
  commit.outbox.push_back(ToOutbox(kDebtorQueryTopic, id, event, kSource));
  *response = record;
  return CommitWithAnswer(store_, &commit, method, request_id, response);
}

grpc::Status DebtorQueryService::CreateDebtor(grpc::ServerContext* context,
                                              const pb::CreateDebtorRequest* request,
                                              pb::Debtor* response) {
  auto admitted = access_->Admit(context, *request);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  return ToGrpc(WriteDebtor(*admitted, "CreateDebtor", request->request_id(), request->debtor(),
                            /*must_exist=*/false, response));
}

grpc::Status DebtorQueryService::UpdateDebtor(grpc::ServerContext* context,
                                              const pb::UpdateDebtorRequest* request,
                                              pb::Debtor* response) {
  auto admitted = access_->Admit(context, *request);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  return ToGrpc(WriteDebtor(*admitted, "UpdateDebtor", request->request_id(), request->debtor(),
                            /*must_exist=*/true, response));
}

// ---- Debtor queries ----

grpc::Status DebtorQueryService::GetDebtor(grpc::ServerContext* context,
                                           const pb::GetDebtorRequest* request,
                                           pb::Debtor* response) {
  auto admitted = access_->Admit(context, *request);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  if (auto s = CheckId("debtor_id", request->debtor_id()); !s.ok()) return ToGrpc(s);
  SnapshotReader reader(store_->database());
  auto debtor = LoadDebtor(&reader, request->debtor_id());
  if (!debtor.ok()) return ToGrpc(debtor.status());
  if (!debtor->has_value()) {
    return ToGrpc(absl::NotFoundError(absl::StrCat("debtor ", request->debtor_id(), " not found")));
  }
  *response = std::move(**debtor);
  return grpc::Status::OK;
}

grpc::Status DebtorQueryService::ListDebtors(grpc::ServerContext* context,
                                             const pb::ListDebtorsRequest* request,
                                             pb::ListDebtorsResponse* response) {
  auto admitted = access_->Admit(context, *request);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  auto size = PageSize(request->page_size());
  if (!size.ok()) return ToGrpc(size.status());
  auto start = PageStart(request->page_token(), kDebtorPrefix);
  if (!start.ok()) return ToGrpc(start.status());

  SnapshotReader reader(store_->database());
  auto next = ScanPage<pb::Debtor>(
      reader, kStateFamily, kDebtorPrefix, *start, *size, ParseRecord<pb::Debtor>,
      [&](pb::Debtor&& d) { *response->add_debtors() = std::move(d); });
  if (!next.ok()) return ToGrpc(next.status());
  response->set_next_page_token(*next);
  return grpc::Status::OK;
}

// ---- Back-order queries ----

grpc::Status DebtorQueryService::ListReadyToInvoice(grpc::ServerContext* context,
                                                    const pb::ListReadyToInvoiceRequest* request,
                                                    pb::ListReadyToInvoiceResponse* response) {
  auto admitted = access_->Admit(context, *request);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  const std::string& debtor = request->debtor_id();
  if (auto s = FirstError({CheckId("branch_id", request->branch_id(), /*required=*/false),
                           CheckId("debtor_id", debtor, /*required=*/false)});
      !s.ok()) {
    return ToGrpc(s);
  }
  const Caller& caller = *admitted;
  const std::string branch = caller.ListBranch(request->branch_id());
  // With a branch the index narrows to it (and to the debtor); a debtor alone is filtered from
  // the keys, which carry it, so no view outside the answer is read.
  const std::string prefix = ReadyPrefix(branch, branch.empty() ? "" : debtor);
  // No page size and no token: everything, as before paging existed.
  const bool everything = request->page_size() == 0 && request->page_token().empty();
  auto size = everything ? absl::StatusOr<int>(std::numeric_limits<int>::max())
                         : PageSize(request->page_size());
  if (!size.ok()) return ToGrpc(size.status());
  auto start = PageStart(request->page_token(), prefix);
  if (!start.ok()) return ToGrpc(start.status());
  const std::string escaped_debtor = EscapeKeyPart(debtor);
  SnapshotReader reader(store_->database());
  std::vector<std::string> ids;
  auto next = ScanPage<std::string>(
      reader, kReadModelFamily, prefix, *start, *size,
      [&](std::string_view key,
          std::string_view value) -> absl::StatusOr<std::optional<std::string>> {
        const ReadyKeyParts parts = PartsOfReadyKey(key);
        if (!debtor.empty() && parts.debtor != escaped_debtor) return std::nullopt;
        // Branch ids hold no character that escaping changes (CheckId), so the key's part is
        // the branch id itself.
        if (!caller.MaySee(parts.branch)) return std::nullopt;
        return std::optional<std::string>(std::string(value));
      },
      [&](std::string&& id) { ids.push_back(std::move(id)); });
  if (!next.ok()) return ToGrpc(next.status());
  response->set_next_page_token(*next);

  std::vector<pb::Backorder> views;
  views.reserve(ids.size());
  for (const std::string& id : ids) {
    auto view = LoadView(&reader, id);
    if (!view.ok()) return ToGrpc(view.status());
    if (view->has_value()) views.push_back(std::move(**view));
  }
  std::map<std::string, std::optional<pb::Debtor>> debtors;
  for (pb::ReadyInvoice& invoice : GroupReadyToInvoice(views)) {
    const std::string debtor_id = invoice.debtor().debtor_id();
    auto found = debtors.find(debtor_id);
    if (found == debtors.end()) {
      auto record = LoadDebtor(&reader, debtor_id);
      if (!record.ok()) return ToGrpc(record.status());
      found = debtors.emplace(debtor_id, std::move(*record)).first;
    }
    // A debtor the master file does not know (yet) still shows, by its id.
    if (found->second.has_value()) *invoice.mutable_debtor() = *found->second;
    *response->add_invoices() = std::move(invoice);
  }
  return grpc::Status::OK;
}

grpc::Status DebtorQueryService::ListBackorders(grpc::ServerContext* context,
                                                const pb::ListBackordersRequest* request,
                                                pb::ListBackordersResponse* response) {
  auto admitted = access_->Admit(context, *request);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  auto filter = FilterOf(*request);
  if (!filter.ok()) return ToGrpc(filter.status());
  const Caller& caller = *admitted;
  filter->branch_id = caller.ListBranch(filter->branch_id);
  auto size = PageSize(request->page_size());
  if (!size.ok()) return ToGrpc(size.status());
  // The narrowest index that holds every match: the state's when a state is asked for.
  std::string prefix;
  if (filter->state != pb::BACKORDER_STATE_UNSPECIFIED) {
    prefix = StateAgePrefix(filter->branch_id, filter->state);
  } else {
    prefix =
        filter->branch_id.empty() ? std::string(kAgePrefix) : BranchAgePrefix(filter->branch_id);
  }
  auto start = PageStart(request->page_token(), prefix);
  if (!start.ok()) return ToGrpc(start.status());

  const absl::Time now = clock_();
  SnapshotReader reader(store_->database());
  absl::Status error;
  int32_t total = 0;
  std::string last_key;
  bool more = false;
  // When a state is asked for and nothing else but the branch, and the caller may see every row
  // of the index, every key of the state's index is a match: off the page it is counted by its
  // key alone. Otherwise total_size needs every view read and parsed, a cost that grows with
  // the matches (ListBackorders of a branch's open back orders went from p50 47 to 524 ms
  // between 10,000 and 1,000,000 stored: docs/performance.md).
  const bool index_decides = filter->state != pb::BACKORDER_STATE_UNSPECIFIED &&
                             filter->debtor_id.empty() && filter->supplier_id.empty() &&
                             filter->part_number.empty() && !filter->has_age_filter() &&
                             (!filter->branch_id.empty() || caller.all_branches);
  // The whole index is walked (not only the page) because total_size counts every match.
  absl::Status s =
      reader.Scan(kReadModelFamily, prefix, "", [&](std::string_view key, std::string_view value) {
        const bool off_page =
            (!start->empty() && key <= *start) || response->backorders_size() >= *size;
        if (index_decides && off_page) {
          ++total;
          more = more || response->backorders_size() >= *size;
          return true;
        }
        auto view = LoadView(&reader, std::string(value));
        if (!view.ok()) {
          error = view.status();
          return false;
        }
        if (!view->has_value()) return true;
        const pb::Backorder& bo = **view;
        // Oldest first: once one is younger than min_age_days, all that follow are too.
        if (filter->min_age_days > 0 && bo.has_created_at() &&
            AgeDays(bo, now) < filter->min_age_days) {
          return false;
        }
        if (!Matches(*filter, bo, now) || !caller.MaySee(bo.context().branch_id())) return true;
        ++total;
        if (!start->empty() && key <= *start) return true;
        if (response->backorders_size() < *size) {
          *response->add_backorders() = bo;
          last_key = std::string(key);
        } else {
          more = true;
        }
        return true;
      });
  if (!s.ok()) return ToGrpc(s);
  if (!error.ok()) return ToGrpc(error);
  response->set_total_size(total);
  if (more) response->set_next_page_token(EncodePageToken(last_key));
  return grpc::Status::OK;
}

grpc::Status DebtorQueryService::GetBackorderHistory(grpc::ServerContext* context,
                                                     const pb::GetBackorderHistoryRequest* request,
                                                     pb::BackorderHistory* response) {
  auto admitted = access_->Admit(context, *request);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  const std::string& id = request->backorder_id();
  if (auto s = CheckId("backorder_id", id); !s.ok()) return ToGrpc(s);
  SnapshotReader reader(store_->database());
  auto view = LoadView(&reader, id);
  if (!view.ok()) return ToGrpc(view.status());
  if (!view->has_value()) {
    return ToGrpc(absl::NotFoundError(absl::StrCat("back order ", id, " not found")));
  }
  *response->mutable_backorder() = std::move(**view);
  // Known so far only from a stock order: say at least which back order it is.
  if (response->backorder().context().backorder_id().empty()) {
    response->mutable_backorder()->mutable_context()->set_backorder_id(id);
  }
  absl::Status s = reader.Scan(
      kReadModelFamily, HistoryPrefix(id), "", [&](std::string_view key, std::string_view value) {
        pb::EventEnvelope event;
        if (!event.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          spdlog::warn("history entry {} is unreadable; left out", std::string(key));
          return true;
        }
        pb::HistoryEntry* entry = response->add_entries();
        *entry->mutable_occurred_at() = event.occurred_at();
        entry->set_type(event.type());
        *entry->mutable_actor() = event.actor();
        entry->set_reason(event.reason());
        entry->set_summary(Describe(event));
        *entry->mutable_event() = std::move(event);
        return true;
      });
  return ToGrpc(s);
}

}  // namespace bo::debtor_query
