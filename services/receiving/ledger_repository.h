// LedgerRepository: the stock ledgers of the receiving service on disk. Each (branch, part) is
// one event stream, "ledger/<branch>/<part>", holding every event the pure StockLedger decided
// (domain/stock_ledger.h); its state is the fold of that stream. A cache keeps the folded state
// and version of every ledger touched, so a command reads no events unless another writer
// (there is none in one process) moved the stream on.
//
// A back order that closed at a ledger leaves its state (see StockLedgerState): Stage records
// its id under "closed_backorder/<id>" in the same commit, and IsClosed answers from there for
// the `closed` flag of the next command about it.
//
// The caller serialises work on one ledger (KeyedLocks on LedgerId) around Load, Stage, Commit
// and Remember.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/store/event_store.h"
#include "services/common/command_support.h"
#include "services/common/own_state_restore.h"
#include "services/receiving/domain/stock_ledger.h"

namespace bo::receiving {

// "ledger/<branch>/<part>": the stream id, the lock key and the state-family marker key.
std::string LedgerId(const std::string& branch_id, const std::string& part_number);

// Who the ledger's reactions to the invoicing topic are by (role "service").
inline constexpr char kReactionSubject[] = "svc:receiving";

// The state records a ledger stream's commits wrote beside its events, from the events alone (for
// a restore from the receiving topic): the ledger's marker, every back order it closed, every
// creditor invoice it received (key from `creditor_invoice_key`, value the request id), and the
// reaction records of the events it reacted to (events by "svc:receiving" in role "service":
// the cause's event id, plus "/<line>" for the lines of an InvoiceFinalised).
absl::Status RestoreLedgerStream(
    const std::string& ledger_id, const std::vector<Event>& events,
    const std::function<std::string(const std::string& supplier,
                                    const std::string& creditor_invoice)>& creditor_invoice_key,
    RestoredWrites* out);

class LedgerRepository;

// One ledger, taken out of the repository's cache for the command that loaded it: a command
// moves the state instead of copying it (the state holds every waiting back order of the part,
// and copying it per command was a cost that grew with the open back orders, see
// docs/performance.md). Dropped without Stage (a read, or a command that decided nothing or
// failed to), it goes back into the cache as it was; once staged, only Settle puts it back,
// since staged events that were never committed must not be cached.
struct LoadedLedger {
  std::string id;
  StockLedgerState state;
  uint64_t version = 0;

  LoadedLedger() = default;
  LoadedLedger(LoadedLedger&& other) noexcept;
  LoadedLedger& operator=(LoadedLedger&& other) noexcept;
  ~LoadedLedger();

 private:
  friend class LedgerRepository;
  // The repository to return this unchanged ledger to when dropped; null once staged or cached.
  LedgerRepository* lent_by_ = nullptr;
};

class LedgerRepository {
 public:
  explicit LedgerRepository(EventStore* store) : store_(store) {}

  // The ledger's current state and version (an empty ledger at version 0 if it has no events),
  // out of the cache when it is there: every commit to a ledger's stream goes through Stage and
  // Settle under the caller's lock, so a cached ledger is never behind its stream. (Were it
  // behind, the commit's expected version would refuse the command, and Settle would drop it.)
  absl::StatusOr<LoadedLedger> Load(const std::string& branch_id, const std::string& part_number);

  // Stamps `events` (the output of Decide against `ledger`), adds them to `commit` (the stream
  // append, the outbox entries of the published ones, keyed by branch/part, and the ledger's
  // marker), and advances `ledger` to the state and version after them.
  void Stage(LoadedLedger* ledger, Events events, absl::Time now, const Caller& caller,
             const std::string& causation_id, CommitRequest* commit);

  // Whether `backorder_id` closed at its ledger (sets MarkClosed on the commands about it).
  absl::StatusOr<bool> IsClosed(const std::string& backorder_id);

  // After a successful commit: cache the staged state (moved in, not copied).
  void Remember(LoadedLedger ledger);
  // After a failed commit: drop the cached state so the next Load reads the stream.
  void Forget(const std::string& ledger_id);
  // After a commit: Remember on success, Forget otherwise. Returns `commit`.
  absl::Status Settle(LoadedLedger ledger, absl::Status commit);

  // Every ledger that has ever had an event, as (branch, part).
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> All();

 private:
  EventStore* store_;
  std::mutex mu_;
  std::map<std::string, LoadedLedger> cache_;
};

}  // namespace bo::receiving
