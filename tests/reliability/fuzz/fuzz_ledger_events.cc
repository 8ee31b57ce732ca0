// Fuzz target: a sequence of Kafka record values (fuzz_support.h framing) reaching receiving's
// stock ledgers the way ReceivingService::React takes them: decoded, turned into a ledger command
// (BackorderCreated -> RegisterBackorder, BackorderCancelled -> CancelBackorder,
// BackorderInvoiced -> IssueBackorder, InvoiceFinalised -> IssueHeld per part line, with the
// hold-again fallback for an expired hold), decided and applied. Between records the input may
// also receive stock or expire holds (the record's tag), so the events meet ledgers with free
// stock, holds and waiting back orders.
//
// Checked: no crash or sanitizer report; Decide fails only with the statuses it documents;
// CheckInvariants (guarantee 5) after every applied event; a registration or cancellation
// decided again changes nothing; and each ledger rebuilt from its own stream, through the bytes
// it would be stored as, equals the live one (guarantee 7).
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "backorder/v1/events.pb.h"
#include "services/common/command_support.h"
#include "services/receiving/domain/stock_ledger.h"
#include "tests/reliability/fuzz/fuzz_support.h"

namespace {

namespace pb = ::backorder::v1;
namespace rcv = ::bo::receiving;
using bo::fuzz::Fail;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

struct Ledger {
  rcv::StockLedgerState state;
  rcv::Events stream;  // every event applied, in order
};

class Receiving {
 public:
  Receiving() {
    // The ledgers the seed events name start with free stock and one draft's holds on them.
    for (const auto& [branch, part] : {std::pair{"NORTH", "HL-3003"}, std::pair{"NORTH", "BR-1"},
                                       std::pair{"SOUTH", "HL-3003"}}) {
      if (!Run(branch, part, rcv::AdjustStock{10, "opening stock"}).ok() ||
          !Run(branch, part,
               rcv::HoldStock{absl::StrCat("INV-", branch, "-000001"), 1, 2,
                              kStart + absl::Hours(1)})
               .ok()) {
        Fail("the starting ledgers cannot be set up");
      }
    }
  }

  // Decides `command` on the ledger of (branch, part) and applies what it decided.
  absl::Status Run(const std::string& branch, const std::string& part, const rcv::Command& about) {
    Ledger& ledger = For(branch, part);
    rcv::Command command = about;
    if (closed_.contains(rcv::BackorderOf(command))) rcv::MarkClosed(&command);
    absl::StatusOr<rcv::Events> events = rcv::Decide(ledger.state, command);
    if (!events.ok()) {
      const absl::StatusCode code = events.status().code();
      if (code != absl::StatusCode::kInvalidArgument &&
          code != absl::StatusCode::kFailedPrecondition && code != absl::StatusCode::kNotFound) {
        Fail(absl::StrCat("Decide failed with an undocumented status: ",
                          events.status().ToString()));
      }
      return events.status();
    }
    for (const rcv::Event& e : *events) {
      ledger.state = rcv::Apply(std::move(ledger.state), e);
      if (std::string id = rcv::ClosedBy(ledger.state, e); !id.empty()) closed_.insert(id);
      if (absl::Status s = rcv::CheckInvariants(ledger.state); !s.ok()) {
        Fail(absl::StrCat(s.ToString(), "\n  after ", e.ShortDebugString(), "\n",
                          rcv::DebugString(ledger.state)));
      }
      ledger.stream.push_back(e);
    }
    // A reaction that slips past the consumer's dedupe meets a ledger that already knows it.
    if (std::holds_alternative<rcv::RegisterBackorder>(command) ||
        std::holds_alternative<rcv::CancelBackorder>(command)) {
      rcv::Command repeat = about;
      if (closed_.contains(rcv::BackorderOf(repeat))) rcv::MarkClosed(&repeat);
      auto again = rcv::Decide(ledger.state, repeat);
      if (!again.ok() || !again->empty()) {
        Fail(absl::StrCat(
            "a repeated registration or cancellation decided something: ",
            again.ok() ? again->front().ShortDebugString() : again.status().ToString()));
      }
    }
    return absl::OkStatus();
  }

  // ReceivingService::React without the store.
  void React(const pb::EventEnvelope& e) {
    switch (e.payload_case()) {
      case pb::EventEnvelope::kBackorderCreated: {
        const auto& p = e.backorder_created();
        Run(p.context().branch_id(), p.context().part_number(),
            rcv::RegisterBackorder{p.context(), p.quantity(), bo::FromProto(e.occurred_at())})
            .IgnoreError();
        break;
      }
      case pb::EventEnvelope::kBackorderCancelled: {
        const auto& p = e.backorder_cancelled();
        Run(p.context().branch_id(), p.context().part_number(),
            rcv::CancelBackorder{p.context().backorder_id(), e.reason()})
            .IgnoreError();
        break;
      }
      case pb::EventEnvelope::kBackorderInvoiced: {
        const auto& p = e.backorder_invoiced();
        Run(p.context().branch_id(), p.context().part_number(),
            rcv::IssueBackorder{p.context().backorder_id(), p.invoicing_invoice_id(),
                                p.invoicing_line(), p.quantity()})
            .IgnoreError();
        break;
      }
      case pb::EventEnvelope::kInvoiceFinalised: {
        const auto& p = e.invoice_finalised();
        for (const auto& line : p.lines()) {
          if (line.quantity_supplied() <= 0 || !line.fulfils_backorder_id().empty() ||
              line.part_number().empty()) {
            continue;
          }
          const rcv::IssueHeld issue{p.invoice_id(), line.line(), line.quantity_supplied()};
          absl::Status s = Run(p.branch_id(), line.part_number(), issue);
          if (absl::IsNotFound(s)) {
            // The hold expired before the invoice arrived: hold again, then issue.
            if (Run(p.branch_id(), line.part_number(),
                    rcv::HoldStock{issue.invoice_id, issue.line, issue.quantity,
                                   now_ + absl::Minutes(30)})
                    .ok()) {
              Run(p.branch_id(), line.part_number(), issue).IgnoreError();
            }
          }
        }
        break;
      }
      default:
        break;
    }
  }

  // Stock arriving for whatever (branch, part) the event names, so waiting back orders fill.
  void Receive(const pb::EventEnvelope& e, int64_t quantity) {
    const pb::BackorderContext* c = nullptr;
    if (e.has_backorder_created()) c = &e.backorder_created().context();
    if (e.has_backorder_cancelled()) c = &e.backorder_cancelled().context();
    if (e.has_backorder_invoiced()) c = &e.backorder_invoiced().context();
    if (c == nullptr) return;
    pb::Money cost;
    Run(c->branch_id(), c->part_number(),
        rcv::ReceiveStock{quantity, "CI-FUZZ", "", cost, "SUP-FUZZ"})
        .IgnoreError();
  }

  void Expire(absl::Duration later) {
    now_ += later;
    for (auto& [key, ledger] : ledgers_) {
      Run(key.first, key.second, rcv::ExpireHolds{now_}).IgnoreError();
    }
  }

  // Guarantee 7 for the ledger: its own stream, stored and read back, rebuilds it exactly.
  void CheckRebuild() const {
    for (const auto& [key, ledger] : ledgers_) {
      rcv::StockLedgerState rebuilt = rcv::NewStockLedger(key.first, key.second);
      for (const rcv::Event& e : ledger.stream) {
        rcv::Event stored;
        if (!stored.ParseFromString(e.SerializeAsString())) Fail("own event does not decode");
        rebuilt = rcv::Apply(std::move(rebuilt), stored);
      }
      if (rcv::DebugString(rebuilt) != rcv::DebugString(ledger.state)) {
        Fail(absl::StrCat("rebuilt ledger differs:\n", rcv::DebugString(rebuilt), "vs\n",
                          rcv::DebugString(ledger.state)));
      }
    }
  }

 private:
  Ledger& For(const std::string& branch, const std::string& part) {
    auto [it, inserted] = ledgers_.try_emplace({branch, part});
    if (inserted) it->second.state = rcv::NewStockLedger(branch, part);
    return it->second;
  }

  absl::Time now_ = kStart;
  std::map<std::pair<std::string, std::string>, Ledger> ledgers_;
  std::set<std::string> closed_;  // as receiving's repository records them (ClosedBy)
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Receiving receiving;
  bo::fuzz::RecordReader reader(data, size);
  bo::fuzz::Record record;
  while (reader.Next(&record)) {
    pb::EventEnvelope e;
    const bool decoded =
        e.ParseFromArray(record.bytes.data(), static_cast<int>(record.bytes.size()));
    switch (record.tag % 3) {
      case 1:
        if (decoded) receiving.Receive(e, record.aux + 1);
        break;
      case 2:
        receiving.Expire(absl::Minutes(record.aux));
        break;
      default:
        break;
    }
    if (decoded) receiving.React(e);  // an undecodable record is skipped, as React does
  }
  receiving.CheckRebuild();
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  return bo::fuzz::MutateStructured(data, size, max_size, seed, /*framed=*/true,
                                    [](uint8_t) { return std::make_unique<pb::EventEnvelope>(); });
}
