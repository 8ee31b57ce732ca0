#include "services/receiving/receiving_service.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "services/common/backorder_view.h"
#include "services/common/topics.h"
#include "spdlog/spdlog.h"

namespace bo::receiving {
namespace pb = backorder::v1;

namespace {

constexpr char kPartPrefix[] = "part/";

std::string PartKey(const std::string& part_number) { return kPartPrefix + part_number; }
std::string CreditorInvoiceKey(const std::string& supplier, const std::string& id) {
  return absl::StrCat("creditor_invoice/", supplier, "/", id);
}

Caller SystemCaller(const pb::EventEnvelope* cause) {
  Caller caller;
  caller.subject = kReactionSubject;
  caller.role = cause != nullptr ? "service" : "system";
  caller.correlation_id = cause != nullptr ? cause->correlation_id() : "";
  return caller;
}

// The back orders filled by `events`, for the clerk.
void CollectFilled(const Events& events,
                   google::protobuf::RepeatedPtrField<pb::FilledBackorder>* out) {
  for (const Event& e : events) {
    if (e.payload_case() != Event::kBackorderFilled) continue;
    pb::FilledBackorder* f = out->Add();
    *f->mutable_context() = e.backorder_filled().context();
    f->set_quantity(e.backorder_filled().quantity());
    *f->mutable_quantities() = e.backorder_filled().quantities();
  }
}

absl::Status CheckBranchPart(const std::string& branch_id, const std::string& part_number) {
  return FirstError({CheckId("branch_id", branch_id), CheckId("part_number", part_number)});
}

}  // namespace

pb::StockPosition PositionOf(const StockLedgerState& s) {
  pb::StockPosition p;
  p.set_branch_id(s.branch_id);
  p.set_part_number(s.part_number);
  p.set_on_hand(s.on_hand);
  p.set_free(s.free);
  p.set_held(s.held);
  p.set_filled_not_invoiced(s.filled_not_invoiced);
  p.set_received(s.received);
  p.set_adjusted(s.adjusted);
  p.set_issued(s.issued);
  for (const OpenBackorder& b : s.backorders) {
    pb::Backorder* v = p.add_backorders();
    *v->mutable_context() = b.context;
    pb::BackorderQuantities* q = v->mutable_quantities();
    q->set_back_ordered(b.quantities.back_ordered);
    q->set_filled(b.quantities.filled);
    q->set_invoiced(b.quantities.invoiced);
    q->set_cancelled(b.quantities.cancelled);
    // Receiving does not know about stock orders: ON_ORDER shows as OPEN here.
    v->set_state(DeriveState(*q, /*on_order=*/false));
    *v->mutable_created_at() = ToProto(b.created_at);
  }
  for (const auto& [key, hold] : s.holds) {
    pb::StockHold* h = p.add_holds();
    h->set_invoice_id(key.first);
    h->set_invoice_line(key.second);
    h->set_quantity(hold.quantity);
    *h->mutable_expires_at() = ToProto(hold.expires_at);
  }
  return p;
}

ReceivingService::ReceivingService(EventStore* store, ReceivingOptions options,
                                   std::shared_ptr<const Access> access)
    : store_(store), access_(std::move(access)), options_(options), ledgers_(store) {}

absl::StatusOr<pb::Part> ReceivingService::FindPart(const std::string& part_number) {
  auto bytes = store_->GetState(PartKey(part_number));
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) {
    return absl::NotFoundError(
        absl::StrCat("part ", part_number, " is not in the part master (add it with UpsertPart)"));
  }
  pb::Part part;
  if (!part.ParseFromString(**bytes)) return absl::DataLossError("unreadable part " + part_number);
  return part;
}

grpc::Status ReceivingService::UpsertPart(grpc::ServerContext* ctx,
                                          const pb::UpsertPartRequest* req, pb::Part* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  const pb::Part& in = req->part();
  absl::Status valid = FirstError({
      CheckRequestId(req->request_id()),
      CheckId("part.part_number", in.part_number()),
      CheckText("part.description", in.description(), 200, /*required=*/false),
      CheckId("part.supplier_id", in.supplier_id()),
      CheckMoney("part.unit_price", in.unit_price(), /*required=*/true),
  });
  if (!valid.ok()) return ToGrpc(valid);
  const std::string key = PartKey(in.part_number());
  std::lock_guard lock(locks_.For(key));
  auto previous = PreviousAnswer(store_, "UpsertPart", req->request_id(), resp);
  if (!previous.ok() || *previous) return ToGrpc(previous.status());
  auto version = store_->StreamVersion(key);
  if (!version.ok()) return ToGrpc(version.status());

  const absl::Time now = absl::Now();
  const Caller& caller = *admitted;
  *resp = in;
  // Only what PartUpdated carries is kept, so a rebuild from the topic gives the same record.
  resp->DiscardUnknownFields();
  *resp->mutable_updated_at() = ToProto(now);
  resp->set_updated_by(caller.subject);

  Event e;
  e.set_type("PartUpdated");
  pb::PartUpdated* p = e.mutable_part_updated();
  p->set_part_number(in.part_number());
  p->set_description(in.description());
  p->set_supplier_id(in.supplier_id());
  *p->mutable_unit_price() = in.unit_price();
  Stamp(&e, key, *version + 1, now, caller, req->request_id());

  CommitRequest commit;
  commit.appends.push_back({key, *version, {e.SerializeAsString()}});
  commit.state.emplace_back(key, resp->SerializeAsString());
  commit.outbox.push_back(ToOutbox(kReceivingTopic, in.part_number(), e, "receiving"));
  return ToGrpc(CommitWithAnswer(store_, &commit, "UpsertPart", req->request_id(), resp));
}

grpc::Status ReceivingService::GetPart(grpc::ServerContext* ctx, const pb::GetPartRequest* req,
                                       pb::Part* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  if (auto s = CheckId("part_number", req->part_number()); !s.ok()) return ToGrpc(s);
  auto part = FindPart(req->part_number());
  if (!part.ok()) return ToGrpc(part.status());
  *resp = *part;
  return grpc::Status::OK;
}

grpc::Status ReceivingService::ListParts(grpc::ServerContext* ctx, const pb::ListPartsRequest* req,
                                         pb::ListPartsResponse* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  auto size = PageSize(req->page_size());
  if (!size.ok()) return ToGrpc(size.status());
  auto after = PageStart(req->page_token(), kPartPrefix);
  if (!after.ok()) return ToGrpc(after.status());
  auto next = ScanPage<pb::Part>(*store_->database(), kStateFamily, kPartPrefix, *after, *size,
                                 ParseRecord<pb::Part>,
                                 [&](pb::Part&& p) { *resp->add_parts() = std::move(p); });
  if (!next.ok()) return ToGrpc(next.status());
  resp->set_next_page_token(*next);
  return grpc::Status::OK;
}

grpc::Status ReceivingService::AdjustStock(grpc::ServerContext* ctx,
                                           const pb::AdjustStockRequest* req,
                                           pb::AdjustStockResponse* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  absl::Status valid = FirstError({
      CheckRequestId(req->request_id()),
      CheckBranchPart(req->branch_id(), req->part_number()),
      req->delta() == 0 ? Invalid("delta", "must not be 0") : absl::OkStatus(),
      req->delta() < -kMaxRequestQuantity || req->delta() > kMaxRequestQuantity
          ? Invalid("delta", absl::StrCat("must be within +/-", kMaxRequestQuantity))
          : absl::OkStatus(),
      CheckText("reason", req->reason(), 200, /*required=*/true),
  });
  if (!valid.ok()) return ToGrpc(valid);
  if (auto part = FindPart(req->part_number()); !part.ok()) return ToGrpc(part.status());
  std::lock_guard lock(locks_.For(LedgerId(req->branch_id(), req->part_number())));
  auto previous = PreviousAnswer(store_, "AdjustStock", req->request_id(), resp);
  if (!previous.ok() || *previous) return ToGrpc(previous.status());
  auto ledger = ledgers_.Load(req->branch_id(), req->part_number());
  if (!ledger.ok()) return ToGrpc(ledger.status());
  auto events = Decide(ledger->state, receiving::AdjustStock{req->delta(), req->reason()});
  if (!events.ok()) return ToGrpc(events.status());
  CollectFilled(*events, resp->mutable_filled());
  CommitRequest commit;
  ledgers_.Stage(&*ledger, std::move(*events), absl::Now(), *admitted, req->request_id(), &commit);
  *resp->mutable_position() = PositionOf(ledger->state);
  return ToGrpc(ledgers_.Settle(*std::move(ledger), CommitWithAnswer(store_, &commit, "AdjustStock",
                                                                     req->request_id(), resp)));
}

grpc::Status ReceivingService::GetStock(grpc::ServerContext* ctx, const pb::GetStockRequest* req,
                                        pb::StockPosition* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  if (auto s = CheckBranchPart(req->branch_id(), req->part_number()); !s.ok()) return ToGrpc(s);
  if (auto part = FindPart(req->part_number()); !part.ok()) return ToGrpc(part.status());
  std::lock_guard lock(locks_.For(LedgerId(req->branch_id(), req->part_number())));
  auto ledger = ledgers_.Load(req->branch_id(), req->part_number());
  if (!ledger.ok()) return ToGrpc(ledger.status());
  *resp = PositionOf(ledger->state);
  return grpc::Status::OK;
}

grpc::Status ReceivingService::HoldStock(grpc::ServerContext* ctx, const pb::HoldStockRequest* req,
                                         pb::HoldStockResponse* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  absl::Status valid = FirstError({
      CheckRequestId(req->request_id()),
      CheckBranchPart(req->branch_id(), req->part_number()),
      CheckId("invoice_id", req->invoice_id()),
      CheckDocumentOfBranch("invoice_id", req->invoice_id(), "INV-", req->branch_id()),
      req->invoice_line() < 1 ? Invalid("invoice_line", "must be at least 1") : absl::OkStatus(),
      CheckQuantity("quantity", req->quantity(), /*allow_zero=*/true),
  });
  if (!valid.ok()) return ToGrpc(valid);
  auto part = FindPart(req->part_number());
  if (!part.ok()) return ToGrpc(part.status());
  std::lock_guard lock(locks_.For(LedgerId(req->branch_id(), req->part_number())));
  auto previous = PreviousAnswer(store_, "HoldStock", req->request_id(), resp);
  if (!previous.ok() || *previous) return ToGrpc(previous.status());
  auto ledger = ledgers_.Load(req->branch_id(), req->part_number());
  if (!ledger.ok()) return ToGrpc(ledger.status());

  const HoldKey key{req->invoice_id(), req->invoice_line()};
  const auto it = ledger->state.holds.find(key);
  const int64_t old = it == ledger->state.holds.end() ? 0 : it->second.quantity;
  // As much of the wanted quantity as is free, counting what this line already holds.
  const int64_t hold = std::min(req->quantity(), ledger->state.free + old);
  const absl::Time now = absl::Now();
  absl::StatusOr<Events> events = Events{};
  if (hold > 0) {
    events = Decide(ledger->state, receiving::HoldStock{req->invoice_id(), req->invoice_line(),
                                                        hold, now + options_.hold_ttl});
  } else if (old > 0) {
    events = Decide(ledger->state, receiving::ReleaseHold{req->invoice_id(), req->invoice_line(),
                                                          std::string(kCauseChanged)});
  }
  if (!events.ok()) return ToGrpc(events.status());
  CommitRequest commit;
  ledgers_.Stage(&*ledger, std::move(*events), now, *admitted, req->request_id(), &commit);
  resp->set_held(hold);
  resp->set_free(ledger->state.free);
  if (auto h = ledger->state.holds.find(key); h != ledger->state.holds.end()) {
    *resp->mutable_expires_at() = ToProto(h->second.expires_at);
  }
  *resp->mutable_part() = *part;
  return ToGrpc(ledgers_.Settle(
      *std::move(ledger), CommitWithAnswer(store_, &commit, "HoldStock", req->request_id(), resp)));
}

grpc::Status ReceivingService::ReleaseHold(grpc::ServerContext* ctx,
                                           const pb::ReleaseHoldRequest* req,
                                           pb::ReleaseHoldResponse* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  absl::Status valid = FirstError({
      CheckRequestId(req->request_id()),
      CheckBranchPart(req->branch_id(), req->part_number()),
      CheckId("invoice_id", req->invoice_id()),
      CheckDocumentOfBranch("invoice_id", req->invoice_id(), "INV-", req->branch_id()),
      req->invoice_line() < 1 ? Invalid("invoice_line", "must be at least 1") : absl::OkStatus(),
  });
  if (!valid.ok()) return ToGrpc(valid);
  std::lock_guard lock(locks_.For(LedgerId(req->branch_id(), req->part_number())));
  auto previous = PreviousAnswer(store_, "ReleaseHold", req->request_id(), resp);
  if (!previous.ok() || *previous) return ToGrpc(previous.status());
  auto ledger = ledgers_.Load(req->branch_id(), req->part_number());
  if (!ledger.ok()) return ToGrpc(ledger.status());
  const HoldKey key{req->invoice_id(), req->invoice_line()};
  const auto it = ledger->state.holds.find(key);
  if (it == ledger->state.holds.end()) return grpc::Status::OK;  // nothing held: released 0
  resp->set_released(it->second.quantity);
  auto events = Decide(ledger->state, receiving::ReleaseHold{req->invoice_id(), req->invoice_line(),
                                                             std::string(kCauseAbandoned)});
  if (!events.ok()) return ToGrpc(events.status());
  CollectFilled(*events, resp->mutable_filled());
  CommitRequest commit;
  ledgers_.Stage(&*ledger, std::move(*events), absl::Now(), *admitted, req->request_id(), &commit);
  return ToGrpc(ledgers_.Settle(*std::move(ledger), CommitWithAnswer(store_, &commit, "ReleaseHold",
                                                                     req->request_id(), resp)));
}

grpc::Status ReceivingService::ProcessCreditorInvoice(grpc::ServerContext* ctx,
                                                      const pb::ProcessCreditorInvoiceRequest* req,
                                                      pb::ProcessCreditorInvoiceResponse* resp) {
  auto admitted = access_->Admit(ctx, *req);
  if (!admitted.ok()) return ToGrpc(admitted.status());
  absl::Status valid = FirstError({
      CheckRequestId(req->request_id()),
      CheckId("branch_id", req->branch_id()),
      CheckId("creditor_invoice_id", req->creditor_invoice_id()),
      CheckId("supplier_id", req->supplier_id()),
      CheckId("stock_order_id", req->stock_order_id(), /*required=*/false),
      CheckDocumentOfBranch("stock_order_id", req->stock_order_id(), "SO-", req->branch_id()),
      req->lines().empty() ? Invalid("lines", "at least one line is required") : absl::OkStatus(),
      req->lines_size() > 1000 ? Invalid("lines", "at most 1000 lines") : absl::OkStatus(),
  });
  if (!valid.ok()) return ToGrpc(valid);
  std::set<std::string> parts;
  std::vector<std::string> lock_keys = {
      CreditorInvoiceKey(req->supplier_id(), req->creditor_invoice_id())};
  for (int i = 0; i < req->lines_size(); ++i) {
    const auto& line = req->lines(i);
    const std::string field = absl::StrCat("lines[", i, "]");
    absl::Status s = FirstError({CheckId(field + ".part_number", line.part_number()),
                                 CheckQuantity(field + ".quantity", line.quantity()),
                                 CheckMoney(field + ".unit_cost", line.unit_cost(), false)});
    if (!s.ok()) return ToGrpc(s);
    if (!parts.insert(line.part_number()).second) {
      return ToGrpc(Invalid(field + ".part_number",
                            absl::StrCat(line.part_number(), " appears on more than one line")));
    }
    if (auto part = FindPart(line.part_number()); !part.ok()) {
      return ToGrpc(
          absl::NotFoundError(absl::StrCat(field, ".part_number: ", part.status().message())));
    }
    lock_keys.push_back(LedgerId(req->branch_id(), line.part_number()));
  }
  auto locks = locks_.LockAll(lock_keys);
  auto previous = PreviousAnswer(store_, "ProcessCreditorInvoice", req->request_id(), resp);
  if (!previous.ok() || *previous) return ToGrpc(previous.status());
  const std::string ci_key = CreditorInvoiceKey(req->supplier_id(), req->creditor_invoice_id());
  auto seen = store_->GetState(ci_key);
  if (!seen.ok()) return ToGrpc(seen.status());
  if (seen->has_value()) {
    return ToGrpc(absl::AlreadyExistsError(
        absl::StrCat("creditor invoice ", req->creditor_invoice_id(), " from supplier ",
                     req->supplier_id(), " was already processed")));
  }
  const absl::Time now = absl::Now();
  const Caller& caller = *admitted;
  CommitRequest commit;
  std::vector<LoadedLedger> touched;
  for (const auto& line : req->lines()) {
    auto ledger = ledgers_.Load(req->branch_id(), line.part_number());
    if (!ledger.ok()) return ToGrpc(ledger.status());
    auto events = Decide(ledger->state,
                         ReceiveStock{line.quantity(), req->creditor_invoice_id(),
                                      req->stock_order_id(), line.unit_cost(), req->supplier_id()});
    if (!events.ok()) return ToGrpc(events.status());
    CollectFilled(*events, resp->mutable_filled());
    ledgers_.Stage(&*ledger, std::move(*events), now, caller, req->request_id(), &commit);
    *resp->add_positions() = PositionOf(ledger->state);
    touched.push_back(std::move(*ledger));
  }
  // Only its presence matters (a second delivery is ALREADY_EXISTS). The value is the request id,
  // which StockReceived carries as causation_id, so a rebuild from the topic gives it back.
  commit.state.emplace_back(ci_key, req->request_id());
  absl::Status s =
      CommitWithAnswer(store_, &commit, "ProcessCreditorInvoice", req->request_id(), resp);
  for (auto& ledger : touched) ledgers_.Settle(std::move(ledger), s).IgnoreError();
  return ToGrpc(s);
}

absl::Status ReceivingService::ReactOnLedger(const std::string& branch_id,
                                             const std::string& part_number, const Command& about,
                                             const pb::EventEnvelope& cause,
                                             const std::string& reaction_id) {
  std::lock_guard lock(locks_.For(LedgerId(branch_id, part_number)));
  auto done = ReactionDone(store_, reaction_id);
  if (!done.ok() || *done) return done.status();
  auto ledger = ledgers_.Load(branch_id, part_number);
  if (!ledger.ok()) return ledger.status();
  Command command = about;
  if (std::string backorder = BackorderOf(command); !backorder.empty()) {
    auto closed = ledgers_.IsClosed(backorder);
    if (!closed.ok()) return closed.status();
    if (*closed) MarkClosed(&command);
  }
  auto events = Decide(ledger->state, command);
  if (!events.ok() && absl::IsNotFound(events.status()) &&
      std::holds_alternative<IssueHeld>(command)) {
    // The hold expired before the finalised invoice reached us: the stock was handed over, so
    // take it from free stock (hold it again and issue it at once).
    const auto& issue = std::get<IssueHeld>(command);
    auto hold =
        Decide(ledger->state, receiving::HoldStock{issue.invoice_id, issue.line, issue.quantity,
                                                   absl::Now() + options_.hold_ttl});
    if (hold.ok()) {
      auto rest = Decide(ApplyAll(ledger->state, *hold), command);
      if (rest.ok()) {
        hold->insert(hold->end(), rest->begin(), rest->end());
        events = std::move(*hold);
      }
    }
  }
  if (!events.ok()) {
    spdlog::error("receiving: {} {} not applied to {}/{}: {}", cause.type(), cause.event_id(),
                  branch_id, part_number, events.status().ToString());
    return absl::OkStatus();  // not retryable: retrying would block the partition for ever
  }
  CommitRequest commit;
  ledgers_.Stage(&*ledger, std::move(*events), absl::Now(), SystemCaller(&cause), cause.event_id(),
                 &commit);
  return ledgers_.Settle(*std::move(ledger), CommitReaction(store_, &commit, reaction_id));
}

absl::Status ReceivingService::React(const kafka::ConsumedRecord& record) {
  pb::EventEnvelope e;
  if (!e.ParseFromArray(record.value.data(), static_cast<int>(record.value.size()))) {
    spdlog::warn("receiving: skipping undecodable record {}/{}@{}", std::string(record.topic),
                 record.partition, record.offset);
    return absl::OkStatus();
  }
  switch (e.payload_case()) {
    case pb::EventEnvelope::kBackorderCreated: {
      const auto& p = e.backorder_created();
      return ReactOnLedger(p.context().branch_id(), p.context().part_number(),
                           RegisterBackorder{p.context(), p.quantity(), FromProto(e.occurred_at())},
                           e, record.event_id);
    }
    case pb::EventEnvelope::kBackorderCancelled: {
      const auto& p = e.backorder_cancelled();
      return ReactOnLedger(p.context().branch_id(), p.context().part_number(),
                           CancelBackorder{p.context().backorder_id(), e.reason()}, e,
                           record.event_id);
    }
    case pb::EventEnvelope::kBackorderInvoiced: {
      const auto& p = e.backorder_invoiced();
      return ReactOnLedger(p.context().branch_id(), p.context().part_number(),
                           IssueBackorder{p.context().backorder_id(), p.invoicing_invoice_id(),
                                          p.invoicing_line(), p.quantity()},
                           e, record.event_id);
    }
    case pb::EventEnvelope::kInvoiceFinalised: {
      const auto& p = e.invoice_finalised();
      for (const auto& line : p.lines()) {
        // Back-order lines leave through BackorderInvoiced; charge lines hold no stock.
        if (line.quantity_supplied() <= 0 || !line.fulfils_backorder_id().empty() ||
            line.part_number().empty()) {
          continue;
        }
        absl::Status s =
            ReactOnLedger(p.branch_id(), line.part_number(),
                          IssueHeld{p.invoice_id(), line.line(), line.quantity_supplied()}, e,
                          absl::StrCat(record.event_id, "/", line.line()));
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();
  }
}

absl::Status RestoreReceivingStream(const std::string& aggregate_id,
                                    const std::vector<Event>& events, RestoredWrites* out) {
  if (!aggregate_id.starts_with(kPartPrefix)) {
    return RestoreLedgerStream(aggregate_id, events, CreditorInvoiceKey, out);
  }
  return RestoreRecordStream<pb::Part>(
      aggregate_id, events,
      [](const Event& e, pb::Part* record) {
        if (!e.has_part_updated()) return false;
        const pb::PartUpdated& p = e.part_updated();
        record->set_part_number(p.part_number());
        record->set_description(p.description());
        record->set_supplier_id(p.supplier_id());
        *record->mutable_unit_price() = p.unit_price();
        return true;
      },
      [](const Event&) { return std::string("UpsertPart"); }, out);
}

absl::Status ReceivingService::ExpireHolds(absl::Time now) {
  auto all = ledgers_.All();
  if (!all.ok()) return all.status();
  for (const auto& [branch, part] : *all) {
    std::lock_guard lock(locks_.For(LedgerId(branch, part)));
    auto ledger = ledgers_.Load(branch, part);
    if (!ledger.ok()) return ledger.status();
    auto events = Decide(ledger->state, receiving::ExpireHolds{now});
    if (!events.ok()) return events.status();
    if (events->empty()) continue;
    CommitRequest commit;
    ledgers_.Stage(&*ledger, std::move(*events), now, SystemCaller(nullptr), "hold-expiry",
                   &commit);
    if (absl::Status s = ledgers_.Settle(*std::move(ledger), store_->Commit(commit)); !s.ok())
      return s;
  }
  return absl::OkStatus();
}

}  // namespace bo::receiving
