#include "services/invoicing/invoicing_service.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "absl/strings/str_cat.h"
#include "rocksdb/write_batch.h"
#include "services/common/backorder_view.h"
#include "services/common/topics.h"
#include "spdlog/spdlog.h"

namespace bo::invoicing {
namespace pb = backorder::v1;

namespace {

constexpr char kInvoicePrefix[] = "invoice/";
constexpr char kBackorderPrefix[] = "backorder/";
constexpr char kDebtorPrefix[] = "debtor/";
constexpr char kCounterPrefix[] = "counter/invoice/";
// ready/<debtor>/<backorder> = <branch>: present exactly while the back order is ready to
// invoice, so the prompt and the ready list read only those, however many back orders a debtor
// ever had. The value lets the prompt count a debtor's ready back orders at one branch from the
// index alone: every draft change asks for that count, and reading each view for it was the part
// of invoicing's CPU that grew most with the store (docs/performance.md, session 14).
constexpr char kReadyPrefix[] = "ready/";
// What the ready index replaced: every back order of a debtor, read in full on every prompt.
constexpr char kByDebtorPrefix[] = "bo_by_debtor/";
// Holds the layout of the ready index in this data directory: absent before the index, "1" when
// its values were empty, kReadyIndexLayout since they hold the branch.
constexpr char kReadyIndexMarker[] = "meta/ready_index";
constexpr char kReadyIndexLayout[] = "2";
constexpr auto kReceivingDeadline = std::chrono::seconds(5);
// A branch id this long still names its invoices ("INV-<branch>-000001") and the back orders of
// their first 999 lines ("BO-<branch>-000001-999") within the 64 characters of an id.
constexpr size_t kMaxBranchIdLength = 64 - sizeof("BO--000000-999") + 1;

std::string InvoiceKey(const std::string& id) { return kInvoicePrefix + id; }
std::string BackorderKey(const std::string& id) { return kBackorderPrefix + id; }

absl::Status FromGrpc(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(s.error_code());
  if (code == absl::StatusCode::kDeadlineExceeded) code = absl::StatusCode::kUnavailable;
  return absl::Status(code, absl::StrCat(what, ": ", s.error_message()));
}

absl::Status CheckLineNumber(std::string_view field, int32_t line) {
  return line < 1 ? Invalid(field, "must be at least 1") : absl::OkStatus();
}

template <typename T>
absl::StatusOr<std::optional<T>> ReadState(EventStore* store, const std::string& key) {
  auto bytes = store->GetState(key);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<T>();
  T value;
  if (!value.ParseFromString(**bytes)) return absl::DataLossError("unreadable state " + key);
  return std::optional<T>(std::move(value));
}

// The back orders an invoice's lines invoice (fulfil).
std::vector<std::string> FulfilledBackorders(const Invoice& invoice) {
  std::vector<std::string> ids;
  for (const Line& line : invoice.lines()) {
    if (!line.fulfils_backorder_id().empty()) ids.push_back(line.fulfils_backorder_id());
  }
  return ids;
}

// The Kafka key of an invoice's own events: one invoice's events stay in order.
std::string InvoiceTopicKey(const Invoice& invoice) {
  return absl::StrCat(invoice.branch_id(), "/", invoice.invoice_id());
}

// InvoiceSaved carrying `invoice` as stored (the wiring stamps the rest).
Event SavedEvent(const Invoice& invoice) {
  Event e;
  e.set_type("InvoiceSaved");
  e.set_branch_id(invoice.branch_id());
  pb::InvoiceSaved* saved = e.mutable_invoice_saved();
  saved->set_invoice_id(invoice.invoice_id());
  saved->set_invoice(invoice.SerializeAsString());
  saved->set_branch_id(invoice.branch_id());
  return e;
}

// Adds the view's ready-index entry to `commit` if it is ready to invoice, its removal otherwise.
void PutReadyIndex(CommitRequest* commit, const Backorder& b) {
  std::string key =
      absl::StrCat(kReadyPrefix, b.context().debtor_id(), "/", b.context().backorder_id());
  if (ReadyToInvoice(b)) {
    commit->state.emplace_back(std::move(key), b.context().branch_id());
  } else {
    commit->state_deletes.push_back(std::move(key));
  }
}

}  // namespace

absl::Status RestoreInvoicingStream(const std::string& aggregate_id,
                                    const std::vector<pb::EventEnvelope>& events,
                                    RestoredWrites* out) {
  if (aggregate_id.starts_with(kBackorderPrefix)) {
    Backorder view;
    for (const pb::EventEnvelope& e : events) ApplyToView(&view, e);
    out->state.emplace_back(aggregate_id, view.SerializeAsString());
    CommitRequest index;
    PutReadyIndex(&index, view);
    for (auto& write : index.state) out->state.push_back(std::move(write));
    return absl::OkStatus();
  }
  if (!aggregate_id.starts_with(kInvoicePrefix)) {
    return absl::DataLossError(absl::StrCat("an invoicing stream of unknown kind: ", aggregate_id));
  }
  const pb::InvoiceSaved* last = nullptr;
  for (const pb::EventEnvelope& e : events) {
    if (e.has_invoice_saved()) last = &e.invoice_saved();
  }
  if (last == nullptr) return absl::OkStatus();  // finalised before InvoiceSaved existed
  Invoice invoice;
  if (!invoice.ParseFromString(last->invoice()) ||
      InvoiceKey(invoice.invoice_id()) != aggregate_id) {
    return absl::DataLossError(absl::StrCat("unreadable InvoiceSaved in ", aggregate_id));
  }
  out->state.emplace_back(aggregate_id, last->invoice());
  if (auto number = DocumentNumber(invoice.invoice_id())) {
    out->state.emplace_back(kCounterPrefix + invoice.branch_id(), std::to_string(*number));
  }
  return absl::OkStatus();
}

absl::Status FinishInvoicingRestore(Database* db) {
  std::vector<std::pair<std::string, std::string>> ticked;  // back order, draft
  absl::Status failed = absl::OkStatus();
  absl::Status s =
      db->Scan(kStateFamily, kInvoicePrefix, "", [&](std::string_view, std::string_view value) {
        Invoice invoice;
        if (!invoice.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          failed = absl::DataLossError("unreadable invoice record");
          return false;
        }
        if (invoice.status() != pb::INVOICE_STATUS_DRAFT) return true;
        for (const std::string& id : FulfilledBackorders(invoice)) {
          ticked.emplace_back(id, invoice.invoice_id());
        }
        return true;
      });
  if (!s.ok()) return s;
  if (!failed.ok()) return failed;
  rocksdb::WriteBatch batch;
  for (const auto& [backorder_id, draft] : ticked) {
    auto bytes = db->Get(kStateFamily, BackorderKey(backorder_id));
    if (!bytes.ok()) return bytes.status();
    Backorder view;
    if (!bytes->has_value() || !view.ParseFromString(**bytes)) continue;
    view.set_draft_invoice_id(draft);
    CommitRequest index;
    index.state.emplace_back(BackorderKey(backorder_id), view.SerializeAsString());
    PutReadyIndex(&index, view);
    for (const auto& [k, v] : index.state) batch.Put(db->family(kStateFamily), k, v);
    for (const auto& k : index.state_deletes) batch.Delete(db->family(kStateFamily), k);
  }
  return db->Write(&batch, /*sync=*/true);
}

std::vector<KeyRange> InvoicingReadModels() {
  const std::string state(kStateFamily);
  return {
      {state, kBackorderPrefix}, {state, kReadyPrefix}, {state, kDebtorPrefix}, ReactionRecords()};
}

InvoicingService::InvoicingService(EventStore* store,
                                   std::shared_ptr<grpc::ChannelInterface> receiving,
                                   std::shared_ptr<const Access> access)
    : store_(store),
      access_(std::move(access)),
      receiving_(pb::ReceivingService::NewStub(receiving)) {}

absl::StatusOr<Invoice> InvoicingService::LoadInvoice(const std::string& invoice_id) {
  auto invoice = ReadState<Invoice>(store_, InvoiceKey(invoice_id));
  if (!invoice.ok()) return invoice.status();
  if (!invoice->has_value()) {
    return absl::NotFoundError(absl::StrCat("invoice ", invoice_id, " does not exist"));
  }
  return **invoice;
}

absl::StatusOr<std::optional<pb::DebtorUpdated>> InvoicingService::FindDebtor(
    const std::string& debtor_id) {
  return ReadState<pb::DebtorUpdated>(store_, kDebtorPrefix + debtor_id);
}

absl::StatusOr<std::optional<Backorder>> InvoicingService::FindBackorder(
    const std::string& backorder_id) {
  return ReadState<Backorder>(store_, BackorderKey(backorder_id));
}

void InvoicingService::PutBackorder(CommitRequest* commit, const Backorder& b) {
  commit->state.emplace_back(BackorderKey(b.context().backorder_id()), b.SerializeAsString());
  PutReadyIndex(commit, b);
}

absl::Status InvoicingService::PrepareReadyIndex(EventStore* store) {
  auto marker = store->GetState(kReadyIndexMarker);
  if (!marker.ok()) return marker.status();
  if (marker->has_value() && **marker == kReadyIndexLayout) return absl::OkStatus();
  // Built from the views in chunks (every entry of an older layout is written again or deleted),
  // the old every-back-order index deleted; the marker goes with the last chunk, so a crash
  // midway starts over (every write here is idempotent).
  CommitRequest commit;
  absl::Status failed = absl::OkStatus();
  auto flush = [&]() {
    if (failed.ok() && (!commit.state.empty() || !commit.state_deletes.empty())) {
      failed = store->Commit(commit);
    }
    commit = CommitRequest();
  };
  absl::Status s = store->database()->Scan(
      kStateFamily, kBackorderPrefix, "", [&](std::string_view, std::string_view value) {
        Backorder b;
        if (!b.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          failed = absl::DataLossError("unreadable back-order view");
          return false;
        }
        PutReadyIndex(&commit, b);
        if (commit.state.size() + commit.state_deletes.size() >= 10000) flush();
        return failed.ok();
      });
  if (!s.ok()) return s;
  s = store->database()->Scan(kStateFamily, kByDebtorPrefix, "",
                              [&](std::string_view key, std::string_view) {
                                commit.state_deletes.emplace_back(key);
                                if (commit.state_deletes.size() >= 10000) flush();
                                return failed.ok();
                              });
  if (!s.ok()) return s;
  flush();
  if (!failed.ok()) return failed;
  commit.state.emplace_back(kReadyIndexMarker, kReadyIndexLayout);
  return store->Commit(commit);
}

absl::Status InvoicingService::ScanReady(const std::string& debtor_id, const std::string& branch_id,
                                         const std::function<void(std::string_view)>& fn) {
  const std::string prefix = absl::StrCat(kReadyPrefix, debtor_id, "/");
  return store_->database()->Scan(kStateFamily, prefix, "",
                                  [&](std::string_view key, std::string_view branch) {
                                    if (branch_id.empty() || branch == branch_id) {
                                      fn(key.substr(prefix.size()));
                                    }
                                    return true;
                                  });
}

absl::StatusOr<int32_t> InvoicingService::CountReady(const std::string& debtor_id,
                                                     const std::string& branch_id) {
  int32_t n = 0;
  absl::Status s = ScanReady(debtor_id, branch_id, [&](std::string_view) { ++n; });
  if (!s.ok()) return s;
  return n;
}

absl::StatusOr<std::vector<Backorder>> InvoicingService::ReadyFor(const std::string& debtor_id,
                                                                  const std::string& branch_id) {
  std::vector<std::string> ids;
  absl::Status s =
      ScanReady(debtor_id, branch_id, [&](std::string_view id) { ids.emplace_back(id); });
  if (!s.ok()) return s;
  std::vector<Backorder> out;
  for (const auto& id : ids) {
    auto b = FindBackorder(id);
    if (!b.ok()) return b.status();
    if (!b->has_value() || !ReadyToInvoice(**b)) continue;
    if (!branch_id.empty() && (*b)->context().branch_id() != branch_id) continue;
    out.push_back(std::move(**b));
  }
  std::sort(out.begin(), out.end(), [](const Backorder& a, const Backorder& b) {
    return std::make_pair(a.created_at().seconds(), a.context().backorder_id()) <
           std::make_pair(b.created_at().seconds(), b.context().backorder_id());
  });
  return out;
}

absl::Status InvoicingService::AddPrompt(Invoice* invoice) {
  // Read without the back orders' locks: the index is read at one snapshot, and the prompt is a
  // hint (AddBackorderLines checks the back orders again under their locks).
  auto ready = CountReady(invoice->debtor_id(), invoice->branch_id());
  if (!ready.ok()) return ready.status();
  invoice->set_ready_backorders(*ready);
  return absl::OkStatus();
}

absl::StatusOr<pb::HoldStockResponse> InvoicingService::Hold(const Caller& caller,
                                                             const Invoice& invoice,
                                                             const std::string& part_number,
                                                             int32_t line, int64_t quantity,
                                                             const std::string& request_id) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kReceivingDeadline);
  // A hold made while the channel reconnects (receiving just restarted) waits for it, within the
  // deadline, rather than failing at once (rpc::PeerChannel).
  context.set_wait_for_ready(true);
  // The clerk's own token goes with the hold: receiving checks their branch, and that this
  // service's certificate relays it (access.h, Need::kRelay). Without tokens (--insecure) the
  // actor is named in metadata.
  if (!caller.authorization.empty()) context.AddMetadata("authorization", caller.authorization);
  context.AddMetadata("bo-actor", caller.subject);
  context.AddMetadata("bo-role", caller.role);
  context.AddMetadata("bo-correlation-id", caller.correlation_id);
  pb::HoldStockRequest req;
  req.set_request_id(request_id);
  req.set_branch_id(invoice.branch_id());
  req.set_part_number(part_number);
  req.set_invoice_id(invoice.invoice_id());
  req.set_invoice_line(line);
  req.set_quantity(quantity);
  pb::HoldStockResponse resp;
  grpc::Status s = receiving_->HoldStock(&context, req, &resp);
  if (!s.ok()) {
    return FromGrpc(s, absl::StrCat("receiving could not hold ", part_number, " for line ", line));
  }
  return resp;
}

absl::Status InvoicingService::StageSaved(CommitRequest* commit, const Invoice& invoice,
                                          const Caller& caller, const std::string& request_id) {
  const std::string stream = InvoiceKey(invoice.invoice_id());
  auto version = store_->StreamVersion(stream);
  if (!version.ok()) return version.status();
  Event saved = SavedEvent(invoice);
  Stamp(&saved, stream, *version + 1, absl::Now(), caller, request_id);
  commit->appends.push_back({stream, *version, {saved.SerializeAsString()}});
  commit->outbox.push_back(ToOutbox(kInvoicingTopic, InvoiceTopicKey(invoice), saved, "invoicing"));
  commit->state.emplace_back(stream, saved.invoice_saved().invoice());  // the same bytes
  return absl::OkStatus();
}

absl::Status InvoicingService::CommitDraft(const Invoice& invoice, const Caller& caller,
                                           std::string_view method, const std::string& request_id,
                                           google::protobuf::Message* response) {
  CommitRequest commit;
  if (absl::Status s = StageSaved(&commit, invoice, caller, request_id); !s.ok()) return s;
  return CommitWithAnswer(store_, &commit, method, request_id, response);
}

grpc::Status InvoicingService::CreateInvoice(grpc::ServerContext* ctx,
                                             const pb::CreateInvoiceRequest* req, Invoice* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  absl::Status valid = FirstError({
      CheckRequestId(req->request_id()),
      CheckId("branch_id", req->branch_id()),
      req->branch_id().size() > kMaxBranchIdLength
          ? Invalid("branch_id", absl::StrCat("longer than ", kMaxBranchIdLength,
                                              " characters, too long to name its invoices"))
          : absl::OkStatus(),
      CheckId("debtor_id", req->debtor_id()),
      req->kind() == pb::INVOICE_KIND_UNSPECIFIED || !pb::InvoiceKind_IsValid(req->kind())
          ? Invalid("kind", "must be WORKSHOP, LABOUR or COUNTER")
          : absl::OkStatus(),
      CheckText("reference", req->reference(), 200, /*required=*/false),
  });
  if (!valid.ok()) return ToGrpc(valid);
  // Invoice numbers run per branch: only creations at the same branch wait for each other.
  std::lock_guard lock(counter_locks_.For(req->branch_id()));
  auto previous = PreviousAnswer(store_, "CreateInvoice", req->request_id(), resp);
  if (!previous.ok() || *previous) return ToGrpc(previous.status());
  auto debtor = FindDebtor(req->debtor_id());
  if (!debtor.ok()) return ToGrpc(debtor.status());
  if (!debtor->has_value()) {
    return ToGrpc(absl::NotFoundError(
        absl::StrCat("debtor_id: debtor ", req->debtor_id(),
                     " is not in the debtor master file (or has not reached invoicing yet)")));
  }
  const std::string counter_key = kCounterPrefix + req->branch_id();
  auto counter = store_->GetState(counter_key);
  if (!counter.ok()) return ToGrpc(counter.status());
  const int64_t n = counter->has_value() ? std::stoll(**counter) + 1 : 1;
  char number[32];
  std::snprintf(number, sizeof number, "%06lld", static_cast<long long>(n));

  const Caller& caller = *admitted;
  resp->set_invoice_id(absl::StrCat("INV-", req->branch_id(), "-", number));
  if (!CheckId("invoice_id", BackorderIdFor(resp->invoice_id(), 999)).ok()) {
    return ToGrpc(absl::FailedPreconditionError(
        absl::StrCat("branch ", req->branch_id(), " has used up its invoice numbers")));
  }
  resp->set_kind(req->kind());
  resp->set_branch_id(req->branch_id());
  resp->set_debtor_id(req->debtor_id());
  resp->set_reference(req->reference());
  resp->set_status(pb::INVOICE_STATUS_DRAFT);
  *resp->mutable_created_at() = ToProto(absl::Now());
  resp->set_created_by(caller.subject);
  resp->set_debtor_uses_backorders((*debtor)->use_backorders());
  if (auto s = Reprice(resp, "lines"); !s.ok()) return ToGrpc(s);  // no lines yet: a zero total
  if (auto s = AddPrompt(resp); !s.ok()) return ToGrpc(s);

  CommitRequest commit;
  commit.state.emplace_back(counter_key, std::to_string(n));
  if (auto s = StageSaved(&commit, *resp, caller, req->request_id()); !s.ok()) return ToGrpc(s);
  return ToGrpc(CommitWithAnswer(store_, &commit, "CreateInvoice", req->request_id(), resp));
}

grpc::Status InvoicingService::GetInvoice(grpc::ServerContext* ctx,
                                          const pb::GetInvoiceRequest* req, Invoice* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  if (auto s = CheckId("invoice_id", req->invoice_id()); !s.ok()) return ToGrpc(s);
  auto invoice = LoadInvoice(req->invoice_id());
  if (!invoice.ok()) return ToGrpc(invoice.status());
  *resp = std::move(*invoice);
  return ToGrpc(resp->status() == pb::INVOICE_STATUS_DRAFT ? AddPrompt(resp) : absl::OkStatus());
}

grpc::Status InvoicingService::ListInvoices(grpc::ServerContext* ctx,
                                            const pb::ListInvoicesRequest* req,
                                            pb::ListInvoicesResponse* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  absl::Status valid = FirstError({
      CheckId("branch_id", req->branch_id(), /*required=*/false),
      CheckId("debtor_id", req->debtor_id(), /*required=*/false),
      !pb::InvoiceStatus_IsValid(req->status()) ? Invalid("status", "unknown status")
                                                : absl::OkStatus(),
  });
  if (!valid.ok()) return ToGrpc(valid);
  auto size = PageSize(req->page_size());
  if (!size.ok()) return ToGrpc(size.status());
  auto after = PageStart(req->page_token(), kInvoicePrefix);
  if (!after.ok()) return ToGrpc(after.status());
  auto next = ScanPage<Invoice>(
      *store_->database(), kStateFamily, kInvoicePrefix, *after, *size,
      [&](std::string_view key, std::string_view value) -> absl::StatusOr<std::optional<Invoice>> {
        auto invoice = ParseRecord<Invoice>(key, value);
        if (!invoice.ok()) return invoice.status();
        const Invoice& v = **invoice;
        if ((!req->branch_id().empty() && v.branch_id() != req->branch_id()) ||
            !admitted->MaySee(v.branch_id()) ||
            (!req->debtor_id().empty() && v.debtor_id() != req->debtor_id()) ||
            (req->status() != pb::INVOICE_STATUS_UNSPECIFIED && v.status() != req->status())) {
          return std::nullopt;
        }
        return invoice;
      },
      [&](Invoice&& v) { *resp->add_invoices() = std::move(v); });
  if (!next.ok()) return ToGrpc(next.status());
  resp->set_next_page_token(*next);
  return grpc::Status::OK;
}

grpc::Status InvoicingService::AddPartLine(grpc::ServerContext* ctx,
                                           const pb::AddPartLineRequest* req,
                                           pb::AddPartLineResponse* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  absl::Status valid = FirstError({
      CheckRequestId(req->request_id()),
      CheckId("invoice_id", req->invoice_id()),
      CheckId("part_number", req->part_number()),
      CheckQuantity("quantity_ordered", req->quantity_ordered()),
      CheckMoney("unit_price", req->unit_price(), /*required=*/false),
  });
  if (!valid.ok()) return ToGrpc(valid);
  std::lock_guard lock(invoice_locks_.For(req->invoice_id()));
  auto previous = PreviousAnswer(store_, "AddPartLine", req->request_id(), resp);
  if (!previous.ok() || *previous) return ToGrpc(previous.status());
  auto invoice = LoadInvoice(req->invoice_id());
  if (!invoice.ok()) return ToGrpc(invoice.status());
  if (invoice->status() != pb::INVOICE_STATUS_DRAFT) {
    return ToGrpc(bo::invoicing::AddPartLine(&*invoice, {}).status());  // the domain's wording
  }
  auto debtor = FindDebtor(invoice->debtor_id());
  if (!debtor.ok()) return ToGrpc(debtor.status());
  const bool uses_backorders = debtor->has_value() && (*debtor)->use_backorders();

  if (req->has_unit_price()) {
    // A price the invoice cannot take is refused before receiving is asked to hold stock.
    PartLineFacts trial;
    trial.part_number = req->part_number();
    trial.unit_price = req->unit_price();
    trial.quantity_ordered = req->quantity_ordered();
    trial.quantity_held = req->quantity_ordered();  // priced as if all supplied: the most it can be
    Invoice copy = *invoice;
    if (auto s = bo::invoicing::AddPartLine(&copy, trial).status(); !s.ok()) return ToGrpc(s);
  }

  const Caller& caller = *admitted;
  const int32_t line = NextLineNumber(*invoice);
  // The hold's request id is derived from this request's, so a retry after a crash between the
  // hold and the commit below finds the same hold rather than holding twice.
  auto held = Hold(caller, *invoice, req->part_number(), line, req->quantity_ordered(),
                   absl::StrCat("AddPartLine:", req->request_id()));
  if (!held.ok()) return ToGrpc(held.status());

  PartLineFacts facts;
  facts.part_number = req->part_number();
  facts.description = held->part().description();
  facts.supplier_id = held->part().supplier_id();
  facts.unit_price = req->has_unit_price() ? req->unit_price() : held->part().unit_price();
  facts.quantity_ordered = req->quantity_ordered();
  facts.quantity_held = held->held();
  facts.debtor_uses_backorders = uses_backorders;
  auto offer = bo::invoicing::AddPartLine(&*invoice, facts);
  if (!offer.ok()) return ToGrpc(offer.status());
  invoice->set_debtor_uses_backorders(uses_backorders);
  if (auto s = AddPrompt(&*invoice); !s.ok()) return ToGrpc(s);
  *resp->mutable_invoice() = *invoice;
  *resp->mutable_line() = invoice->lines(invoice->lines_size() - 1);
  resp->set_backorder_offered(offer->backorder_offered);
  resp->set_shortfall(offer->shortfall);
  resp->set_message(offer->message);
  return ToGrpc(CommitDraft(*invoice, caller, "AddPartLine", req->request_id(), resp));
}

grpc::Status InvoicingService::AdjustPartLine(grpc::ServerContext* ctx,
                                              const pb::AdjustPartLineRequest* req, Invoice* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  absl::Status valid = FirstError({
      CheckRequestId(req->request_id()),
      CheckId("invoice_id", req->invoice_id()),
      CheckLineNumber("line", req->line()),
      CheckQuantity("quantity_supplied", req->quantity_supplied(), /*allow_zero=*/true),
      CheckQuantity("quantity_back_ordered", req->quantity_back_ordered(), /*allow_zero=*/true),
  });
  if (!valid.ok()) return ToGrpc(valid);
  std::lock_guard lock(invoice_locks_.For(req->invoice_id()));
  auto previous = PreviousAnswer(store_, "AdjustPartLine", req->request_id(), resp);
  if (!previous.ok() || *previous) return ToGrpc(previous.status());
  auto invoice = LoadInvoice(req->invoice_id());
  if (!invoice.ok()) return ToGrpc(invoice.status());
  auto debtor = FindDebtor(invoice->debtor_id());
  if (!debtor.ok()) return ToGrpc(debtor.status());
  const bool uses_backorders = debtor->has_value() && (*debtor)->use_backorders();
  absl::Status s = bo::invoicing::AdjustPartLine(&*invoice, req->line(), req->quantity_supplied(),
                                                 req->quantity_back_ordered(), uses_backorders);
  if (!s.ok()) return ToGrpc(s);
  if (auto p = AddPrompt(&*invoice); !p.ok()) return ToGrpc(p);
  *resp = *invoice;
  return ToGrpc(CommitDraft(*invoice, *admitted, "AdjustPartLine", req->request_id(), resp));
}

grpc::Status InvoicingService::AddChargeLine(grpc::ServerContext* ctx,
                                             const pb::AddChargeLineRequest* req, Invoice* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  absl::Status valid = FirstError({
      CheckRequestId(req->request_id()),
      CheckId("invoice_id", req->invoice_id()),
      CheckText("description", req->description(), 200, /*required=*/true),
      CheckMoney("amount", req->amount(), /*required=*/true),
  });
  if (!valid.ok()) return ToGrpc(valid);
  std::lock_guard lock(invoice_locks_.For(req->invoice_id()));
  auto previous = PreviousAnswer(store_, "AddChargeLine", req->request_id(), resp);
  if (!previous.ok() || *previous) return ToGrpc(previous.status());
  auto invoice = LoadInvoice(req->invoice_id());
  if (!invoice.ok()) return ToGrpc(invoice.status());
  absl::Status s = bo::invoicing::AddChargeLine(&*invoice, req->description(), req->amount());
  if (!s.ok()) return ToGrpc(s);
  if (auto p = AddPrompt(&*invoice); !p.ok()) return ToGrpc(p);
  *resp = *invoice;
  return ToGrpc(CommitDraft(*invoice, *admitted, "AddChargeLine", req->request_id(), resp));
}

grpc::Status InvoicingService::ListReadyBackorders(grpc::ServerContext* ctx,
                                                   const pb::ListReadyBackordersRequest* req,
                                                   pb::ListReadyBackordersResponse* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  absl::Status valid = FirstError({CheckId("debtor_id", req->debtor_id()),
                                   CheckId("branch_id", req->branch_id(), /*required=*/false)});
  if (!valid.ok()) return ToGrpc(valid);
  auto ready = ReadyFor(req->debtor_id(), req->branch_id());
  if (!ready.ok()) return ToGrpc(ready.status());
  for (auto& b : *ready) {
    if (admitted->MaySee(b.context().branch_id())) *resp->add_backorders() = std::move(b);
  }
  return grpc::Status::OK;
}

grpc::Status InvoicingService::AddBackorderLines(grpc::ServerContext* ctx,
                                                 const pb::AddBackorderLinesRequest* req,
                                                 Invoice* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  absl::Status valid = FirstError({
      CheckRequestId(req->request_id()),
      CheckId("invoice_id", req->invoice_id()),
      req->backorder_ids().empty() ? Invalid("backorder_ids", "tick at least one back order")
                                   : absl::OkStatus(),
      req->backorder_ids_size() > 500 ? Invalid("backorder_ids", "at most 500") : absl::OkStatus(),
  });
  if (!valid.ok()) return ToGrpc(valid);
  std::set<std::string> seen;
  for (int i = 0; i < req->backorder_ids_size(); ++i) {
    const std::string field = absl::StrCat("backorder_ids[", i, "]");
    if (auto s = CheckId(field, req->backorder_ids(i)); !s.ok()) return ToGrpc(s);
    if (!seen.insert(req->backorder_ids(i)).second) {
      return ToGrpc(Invalid(field, absl::StrCat(req->backorder_ids(i), " is ticked twice")));
    }
  }
  std::lock_guard lock(invoice_locks_.For(req->invoice_id()));
  auto views = backorder_locks_.LockAll({seen.begin(), seen.end()});
  auto previous = PreviousAnswer(store_, "AddBackorderLines", req->request_id(), resp);
  if (!previous.ok() || *previous) return ToGrpc(previous.status());
  auto invoice = LoadInvoice(req->invoice_id());
  if (!invoice.ok()) return ToGrpc(invoice.status());
  CommitRequest commit;
  for (int i = 0; i < req->backorder_ids_size(); ++i) {
    auto b = FindBackorder(req->backorder_ids(i));
    if (!b.ok()) return ToGrpc(b.status());
    if (!b->has_value()) {
      return ToGrpc(absl::NotFoundError(absl::StrCat("backorder_ids[", i, "]: back order ",
                                                     req->backorder_ids(i), " does not exist")));
    }
    if (auto s = AddBackorderLine(&*invoice, **b); !s.ok()) return ToGrpc(s);
    (*b)->set_draft_invoice_id(invoice->invoice_id());
    PutBackorder(&commit, **b);
  }
  invoice->set_ready_backorders(0);
  auto ready = CountReady(invoice->debtor_id(), invoice->branch_id());
  if (!ready.ok()) return ToGrpc(ready.status());
  // The ones just ticked are no longer "ready" once this commits.
  invoice->set_ready_backorders(*ready - req->backorder_ids_size());
  *resp = *invoice;
  if (auto s = StageSaved(&commit, *invoice, *admitted, req->request_id()); !s.ok()) {
    return ToGrpc(s);
  }
  return ToGrpc(CommitWithAnswer(store_, &commit, "AddBackorderLines", req->request_id(), resp));
}

grpc::Status InvoicingService::FinaliseInvoice(grpc::ServerContext* ctx,
                                               const pb::FinaliseInvoiceRequest* req,
                                               pb::FinaliseInvoiceResponse* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  absl::Status valid =
      FirstError({CheckRequestId(req->request_id()), CheckId("invoice_id", req->invoice_id())});
  if (!valid.ok()) return ToGrpc(valid);
  std::lock_guard lock(invoice_locks_.For(req->invoice_id()));
  auto previous = PreviousAnswer(store_, "FinaliseInvoice", req->request_id(), resp);
  if (!previous.ok() || *previous) return ToGrpc(previous.status());
  auto invoice = LoadInvoice(req->invoice_id());
  if (!invoice.ok()) return ToGrpc(invoice.status());
  if (invoice->status() != pb::INVOICE_STATUS_DRAFT) {
    return ToGrpc(Finalise(*invoice, {}, absl::Now()).status());  // the domain's wording
  }
  const Caller& caller = *admitted;
  // Confirm each part line's hold at what it supplies (a hold may have expired, and a line
  // supplying less than it held gives the rest back now).
  for (const Line& line : invoice->lines()) {
    if (line.part_number().empty() || !line.fulfils_backorder_id().empty()) continue;
    auto held = Hold(caller, *invoice, line.part_number(), line.line(), line.quantity_supplied(),
                     absl::StrCat("FinaliseInvoice:", req->request_id(), ":", line.line()));
    if (!held.ok()) return ToGrpc(held.status());
    if (held->held() < line.quantity_supplied()) {
      return ToGrpc(absl::FailedPreconditionError(absl::StrCat(
          "line ", line.line(), ": only ", held->held(), " of ", line.part_number(),
          " can be supplied now (the hold expired and the stock went elsewhere); adjust the "
          "line")));
    }
  }

  auto views = backorder_locks_.LockAll(FulfilledBackorders(*invoice));
  std::map<std::string, Backorder> backorders;
  for (const Line& line : invoice->lines()) {
    if (line.fulfils_backorder_id().empty()) continue;
    auto b = FindBackorder(line.fulfils_backorder_id());
    if (!b.ok()) return ToGrpc(b.status());
    if (b->has_value()) backorders[line.fulfils_backorder_id()] = **b;
  }
  const absl::Time now = absl::Now();
  auto decided = Finalise(*invoice, backorders, now);
  if (!decided.ok()) return ToGrpc(decided.status());

  CommitRequest commit;
  const std::string invoice_stream = InvoiceKey(invoice->invoice_id());
  auto invoice_version = store_->StreamVersion(invoice_stream);
  if (!invoice_version.ok()) return ToGrpc(invoice_version.status());
  StreamAppend invoice_append{invoice_stream, *invoice_version, {}};
  uint64_t version = *invoice_version;
  // The finalised record goes on the stream after the events that finalised it.
  decided->invoice_events.push_back(SavedEvent(decided->invoice));
  for (Event& e : decided->invoice_events) {
    Stamp(&e, invoice_stream, ++version, now, caller, req->request_id());
    invoice_append.events.push_back(e.SerializeAsString());
    const std::string key =
        e.has_lost_sale_recorded()
            ? StockKey(invoice->branch_id(), e.lost_sale_recorded().part_number())
            : InvoiceTopicKey(*invoice);
    commit.outbox.push_back(ToOutbox(kInvoicingTopic, key, e, "invoicing"));
  }
  commit.appends.push_back(std::move(invoice_append));
  for (auto& [id, e] : decided->backorder_events) {
    const std::string stream = BackorderKey(id);
    auto current = store_->StreamVersion(stream);
    if (!current.ok()) return ToGrpc(current.status());
    Stamp(&e, stream, *current + 1, now, caller, req->request_id());
    commit.appends.push_back({stream, *current, {e.SerializeAsString()}});
    Backorder view = backorders.count(id) ? backorders[id] : Backorder();
    view.clear_draft_invoice_id();
    ApplyToView(&view, e);
    PutBackorder(&commit, view);
    (e.has_backorder_created() ? resp->add_created() : resp->add_invoiced())->CopyFrom(view);
    const auto& c = view.context();
    commit.outbox.push_back(
        ToOutbox(kInvoicingTopic, StockKey(c.branch_id(), c.part_number()), e, "invoicing"));
  }
  *resp->mutable_invoice() = decided->invoice;
  commit.state.emplace_back(invoice_stream, decided->invoice.SerializeAsString());
  return ToGrpc(CommitWithAnswer(store_, &commit, "FinaliseInvoice", req->request_id(), resp));
}

grpc::Status InvoicingService::AbandonInvoice(grpc::ServerContext* ctx,
                                              const pb::AbandonInvoiceRequest* req, Invoice* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  absl::Status valid =
      FirstError({CheckRequestId(req->request_id()), CheckId("invoice_id", req->invoice_id())});
  if (!valid.ok()) return ToGrpc(valid);
  std::lock_guard lock(invoice_locks_.For(req->invoice_id()));
  auto previous = PreviousAnswer(store_, "AbandonInvoice", req->request_id(), resp);
  if (!previous.ok() || *previous) return ToGrpc(previous.status());
  auto invoice = LoadInvoice(req->invoice_id());
  if (!invoice.ok()) return ToGrpc(invoice.status());
  auto abandoned = Abandon(*invoice);
  if (!abandoned.ok()) return ToGrpc(abandoned.status());
  const Caller& caller = *admitted;
  for (const Line& line : invoice->lines()) {
    if (line.part_number().empty() || !line.fulfils_backorder_id().empty()) continue;
    auto released = Hold(caller, *invoice, line.part_number(), line.line(), 0,
                         absl::StrCat("AbandonInvoice:", req->request_id(), ":", line.line()));
    if (!released.ok()) return ToGrpc(released.status());
  }
  auto views = backorder_locks_.LockAll(FulfilledBackorders(*invoice));
  CommitRequest commit;
  for (const Line& line : invoice->lines()) {
    if (line.fulfils_backorder_id().empty()) continue;
    auto b = FindBackorder(line.fulfils_backorder_id());
    if (!b.ok()) return ToGrpc(b.status());
    if (!b->has_value()) continue;
    (*b)->clear_draft_invoice_id();  // ready to invoice again
    PutBackorder(&commit, **b);
  }
  *resp = *abandoned;
  if (auto s = StageSaved(&commit, *abandoned, caller, req->request_id()); !s.ok()) {
    return ToGrpc(s);
  }
  return ToGrpc(CommitWithAnswer(store_, &commit, "AbandonInvoice", req->request_id(), resp));
}

grpc::Status InvoicingService::GetBackorder(grpc::ServerContext* ctx,
                                            const pb::GetBackorderRequest* req, Backorder* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  if (auto s = CheckId("backorder_id", req->backorder_id()); !s.ok()) return ToGrpc(s);
  auto b = FindBackorder(req->backorder_id());
  if (!b.ok()) return ToGrpc(b.status());
  if (!b->has_value()) {
    return ToGrpc(
        absl::NotFoundError(absl::StrCat("back order ", req->backorder_id(), " does not exist")));
  }
  *resp = std::move(**b);
  return grpc::Status::OK;
}

grpc::Status InvoicingService::CancelBackorder(grpc::ServerContext* ctx,
                                               const pb::CancelBackorderRequest* req,
                                               Backorder* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  absl::Status valid = FirstError({
      CheckRequestId(req->request_id()),
      CheckId("backorder_id", req->backorder_id()),
      CheckText("reason", req->reason(), 500, /*required=*/true),
  });
  if (!valid.ok()) return ToGrpc(valid);
  std::lock_guard lock(backorder_locks_.For(req->backorder_id()));
  auto previous = PreviousAnswer(store_, "CancelBackorder", req->request_id(), resp);
  if (!previous.ok() || *previous) return ToGrpc(previous.status());
  auto b = FindBackorder(req->backorder_id());
  if (!b.ok()) return ToGrpc(b.status());
  if (!b->has_value()) {
    return ToGrpc(absl::NotFoundError(
        absl::StrCat("backorder_id: back order ", req->backorder_id(), " does not exist")));
  }
  auto event = Cancel(**b, req->reason());
  if (!event.ok()) return ToGrpc(event.status());
  const std::string stream = BackorderKey(req->backorder_id());
  auto version = store_->StreamVersion(stream);
  if (!version.ok()) return ToGrpc(version.status());
  Stamp(&*event, stream, *version + 1, absl::Now(), *admitted, req->request_id());
  Backorder view = **b;
  ApplyToView(&view, *event);
  CommitRequest commit;
  commit.appends.push_back({stream, *version, {event->SerializeAsString()}});
  PutBackorder(&commit, view);
  const auto& c = view.context();
  commit.outbox.push_back(
      ToOutbox(kInvoicingTopic, StockKey(c.branch_id(), c.part_number()), *event, "invoicing"));
  *resp = view;
  return ToGrpc(CommitWithAnswer(store_, &commit, "CancelBackorder", req->request_id(), resp));
}

absl::Status InvoicingService::React(const kafka::ConsumedRecord& record) {
  pb::EventEnvelope e;
  if (!e.ParseFromArray(record.value.data(), static_cast<int>(record.value.size()))) {
    spdlog::warn("invoicing: skipping undecodable record {}/{}@{}", std::string(record.topic),
                 record.partition, record.offset);
    return absl::OkStatus();
  }
  CommitRequest commit;
  switch (e.payload_case()) {
    case pb::EventEnvelope::kDebtorUpdated: {
      const auto& d = e.debtor_updated();
      if (CheckId("debtor_id", d.debtor_id()).ok()) {
        commit.state.emplace_back(kDebtorPrefix + d.debtor_id(), d.SerializeAsString());
      }
      return commit.state.empty() ? absl::OkStatus()
                                  : CommitReaction(store_, &commit, record.event_id);
    }
    case pb::EventEnvelope::kBackorderFilled: {
      std::lock_guard lock(backorder_locks_.For(BackorderIdOf(e)));
      auto b = FindBackorder(BackorderIdOf(e));
      if (!b.ok()) return b.status();
      Backorder view = b->value_or(Backorder());
      if (!ApplyToView(&view, e)) return absl::OkStatus();
      PutBackorder(&commit, view);
      return CommitReaction(store_, &commit, record.event_id);
    }
    case pb::EventEnvelope::kStockOrderPlaced: {
      const auto& p = e.stock_order_placed();
      std::vector<std::string> ids;
      for (const auto& line : p.lines()) {
        for (const auto& covered : line.backorders()) ids.push_back(covered.backorder_id());
      }
      auto views = backorder_locks_.LockAll(ids);
      for (const auto& line : p.lines()) {
        for (const auto& covered : line.backorders()) {
          auto b = FindBackorder(covered.backorder_id());
          if (!b.ok()) return b.status();
          if (!b->has_value()) {
            spdlog::warn("invoicing: stock order {} covers unknown back order {}",
                         p.stock_order_id(), covered.backorder_id());
            continue;
          }
          if (MarkOnOrder(&**b, p.stock_order_id(), line.line(), e.occurred_at())) {
            PutBackorder(&commit, **b);
          }
        }
      }
      return commit.state.empty() ? absl::OkStatus()
                                  : CommitReaction(store_, &commit, record.event_id);
    }
    default:
      return absl::OkStatus();
  }
}

}  // namespace bo::invoicing
