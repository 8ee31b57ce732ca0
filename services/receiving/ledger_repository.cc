#include "services/receiving/ledger_repository.h"

#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/topics.h"

namespace bo::receiving {

namespace pb = backorder::v1;

namespace {
constexpr char kMarkerPrefix[] = "ledger/";
constexpr char kClosedPrefix[] = "closed_backorder/";
}  // namespace

std::string LedgerId(const std::string& branch_id, const std::string& part_number) {
  return absl::StrCat(kMarkerPrefix, branch_id, "/", part_number);
}

namespace {

// (branch, part) of a LedgerId, or nothing if `id` is not one. Branch ids never contain '/',
// part numbers may: split at the first one.
std::optional<std::pair<std::string, std::string>> BranchAndPart(std::string_view id) {
  if (!id.starts_with(kMarkerPrefix)) return std::nullopt;
  const std::string_view rest = id.substr(sizeof(kMarkerPrefix) - 1);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return std::make_pair(std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1)));
}

}  // namespace

absl::Status RestoreLedgerStream(
    const std::string& ledger_id, const std::vector<Event>& events,
    const std::function<std::string(const std::string&, const std::string&)>& creditor_invoice_key,
    RestoredWrites* out) {
  const auto branch_part = BranchAndPart(ledger_id);
  if (!branch_part) {
    return absl::InvalidArgumentError(absl::StrCat("not a ledger stream: ", ledger_id));
  }
  StockLedgerState state = NewStockLedger(branch_part->first, branch_part->second);
  out->state.emplace_back(ledger_id, "");
  for (const Event& e : events) {
    state = Apply(std::move(state), e);
    if (std::string closed = ClosedBy(state, e); !closed.empty()) {
      out->state.emplace_back(kClosedPrefix + closed, "");
    }
    const bool reaction = e.actor().subject() == kReactionSubject && e.actor().role() == "service";
    if (reaction) {
      // Which line of an InvoiceFinalised: only its reactions hold and issue for an invoice line
      // without a back order (IssueHeld, with a new hold when the old one had expired).
      const bool invoice_line =
          e.has_stock_held() || (e.has_stock_issued() && e.stock_issued().backorder_id().empty());
      const int32_t line =
          e.has_stock_held() ? e.stock_held().invoice_line() : e.stock_issued().invoice_line();
      out->idempotency.emplace_back(
          ReactionKey(invoice_line ? absl::StrCat(e.causation_id(), "/", line) : e.causation_id()),
          "");
    } else if (e.has_stock_received() && !e.stock_received().supplier_id().empty()) {
      const pb::StockReceived& r = e.stock_received();
      out->state.emplace_back(creditor_invoice_key(r.supplier_id(), r.creditor_invoice_id()),
                              e.causation_id());
    }
  }
  return absl::OkStatus();
}

LoadedLedger::LoadedLedger(LoadedLedger&& other) noexcept
    : id(std::move(other.id)),
      state(std::move(other.state)),
      version(other.version),
      lent_by_(std::exchange(other.lent_by_, nullptr)) {}

LoadedLedger& LoadedLedger::operator=(LoadedLedger&& other) noexcept {
  if (this != &other) {
    LoadedLedger dropped(std::move(*this));  // returns what this held, if lent
    id = std::move(other.id);
    state = std::move(other.state);
    version = other.version;
    lent_by_ = std::exchange(other.lent_by_, nullptr);
  }
  return *this;
}

LoadedLedger::~LoadedLedger() {
  if (LedgerRepository* owner = std::exchange(lent_by_, nullptr)) owner->Remember(std::move(*this));
}

absl::StatusOr<LoadedLedger> LedgerRepository::Load(const std::string& branch_id,
                                                    const std::string& part_number) {
  const std::string id = LedgerId(branch_id, part_number);
  {
    std::lock_guard lock(mu_);
    if (auto cached = cache_.extract(id)) {
      LoadedLedger ledger = std::move(cached.mapped());
      ledger.lent_by_ = this;
      return ledger;
    }
  }
  LoadedLedger ledger;
  ledger.id = id;
  ledger.state = NewStockLedger(branch_id, part_number);
  auto records = store_->ReadStream(id, 1);
  if (!records.ok()) return records.status();
  for (const std::string& bytes : *records) {
    Event e;
    if (!e.ParseFromString(bytes)) {
      return absl::DataLossError(absl::StrCat("undecodable event in stream ", id));
    }
    ledger.state = Apply(std::move(ledger.state), e);
    ++ledger.version;
  }
  if (!records->empty()) ledger.lent_by_ = this;
  return ledger;
}

void LedgerRepository::Stage(LoadedLedger* ledger, Events events, absl::Time now,
                             const Caller& caller, const std::string& causation_id,
                             CommitRequest* commit) {
  if (events.empty()) return;
  ledger->lent_by_ = nullptr;  // changed: cached again only by Settle, after its commit
  StreamAppend* append = nullptr;
  for (auto& a : commit->appends) {
    if (a.aggregate_id == ledger->id) append = &a;
  }
  if (append == nullptr) {
    commit->appends.push_back({ledger->id, ledger->version, {}});
    append = &commit->appends.back();
    commit->state.emplace_back(ledger->id, "");  // marker: this ledger exists (see All)
  }
  const std::string key = StockKey(ledger->state.branch_id, ledger->state.part_number);
  for (Event& e : events) {
    Stamp(&e, ledger->id, ++ledger->version, now, caller, causation_id);
    ledger->state = Apply(std::move(ledger->state), e);
    if (std::string closed = ClosedBy(ledger->state, e); !closed.empty()) {
      commit->state.emplace_back(kClosedPrefix + closed, "");
    }
    append->events.push_back(e.SerializeAsString());
    commit->outbox.push_back(ToOutbox(kReceivingTopic, key, e, "receiving"));
  }
}

absl::StatusOr<bool> LedgerRepository::IsClosed(const std::string& backorder_id) {
  auto value = store_->GetState(kClosedPrefix + backorder_id);
  if (!value.ok()) return value.status();
  return value->has_value();
}

void LedgerRepository::Remember(LoadedLedger ledger) {
  ledger.lent_by_ = nullptr;
  std::lock_guard lock(mu_);
  const std::string id = ledger.id;
  cache_.insert_or_assign(id, std::move(ledger));
}

void LedgerRepository::Forget(const std::string& ledger_id) {
  std::lock_guard lock(mu_);
  cache_.erase(ledger_id);
}

absl::Status LedgerRepository::Settle(LoadedLedger ledger, absl::Status commit) {
  if (commit.ok()) {
    Remember(std::move(ledger));
  } else {
    Forget(ledger.id);
  }
  return commit;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> LedgerRepository::All() {
  std::vector<std::pair<std::string, std::string>> out;
  absl::Status s = store_->database()->Scan(kStateFamily, kMarkerPrefix, "",
                                            [&](std::string_view key, std::string_view) {
                                              if (auto branch_part = BranchAndPart(key))
                                                out.push_back(*std::move(branch_part));
                                              return true;
                                            });
  if (!s.ok()) return s;
  return out;
}

}  // namespace bo::receiving
