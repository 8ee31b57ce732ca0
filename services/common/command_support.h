// What every command and query handler of the back-order services shares: who is calling,
// validating fields into precise statuses, turning absl::Status into a gRPC status with
// google.rpc details, stamping event envelopes, and committing idempotently (DESIGN.md
// guarantees 1, 4 and 8).
//
// A command handler reads like this:
//   if (auto s = CheckRequestId(req->request_id()); !s.ok()) return ToGrpc(s);   // validate
//   std::lock_guard lock(locks_.For(aggregate_id));                              // serialise
//   if (*PreviousAnswer(store, "Method", req->request_id(), resp)) return OK;    // a retry
//   ... load state, decide events (pure domain), build a CommitRequest ...
//   return ToGrpc(CommitWithAnswer(store, &commit, "Method", req->request_id(), resp));
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "backorder/v1/common.pb.h"
#include "backorder/v1/events.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/store/event_store.h"

namespace bo {

// The largest quantity a request may carry; keeps every sum far from int64 overflow.
inline constexpr int64_t kMaxRequestQuantity = 1'000'000'000;

// Who is calling, as events record it (DESIGN.md section 3). Only Access::Admit
// (services/common/access.h) makes one for a call, from a verified bearer token; reactions make
// their own ("svc:<service>").
struct Caller {
  std::string subject;
  std::string role;
  std::string correlation_id;
  std::vector<std::string> branches;  // the branches the caller acts for,
  bool all_branches = true;           // unless it acts for all of them
  std::string authorization;          // the caller's "Bearer ..." value, relayed to peer services

  // Whether the caller may see the rows of `branch`. A list that names no branch shows a caller
  // limited to some branches only theirs (Access admits such a list only for the request types
  // whose handlers filter by this: FiltersRowsByBranch in access.h).
  bool MaySee(std::string_view branch) const;
  // The one branch a list is narrowed to: `requested` when it names one, else the caller's only
  // branch when they have exactly one (so the list reads that branch's index), else "" (every
  // branch, filtered by MaySee).
  std::string ListBranch(const std::string& requested) const;
};

// absl::Status -> grpc::Status, with a google.rpc.Status in the `grpc-status-details-bin`
// trailer: INVALID_ARGUMENT whose message reads "field: reason" carries a BadRequest naming the
// field; FAILED_PRECONDITION a PreconditionFailure; NOT_FOUND and ALREADY_EXISTS a ResourceInfo.
grpc::Status ToGrpc(const absl::Status& status);

// INVALID_ARGUMENT "field: reason".
absl::Status Invalid(std::string_view field, std::string_view reason);
// The first status that is not OK, or OK.
absl::Status FirstError(std::initializer_list<absl::Status> statuses);
// request_id: required, at most 128 printable ASCII characters.
absl::Status CheckRequestId(const std::string& request_id);
// An identifier (debtor, branch, part, supplier, invoice ...): 1 to 64 characters of letters,
// digits and - _ . : (no '/': ids are joined with '/' into storage and Kafka keys). Optional ones
// may be empty.
absl::Status CheckId(std::string_view field, const std::string& value, bool required = true);
// A quantity: 1 .. kMaxRequestQuantity (or 0 .. when `allow_zero`).
absl::Status CheckQuantity(std::string_view field, int64_t value, bool allow_zero = false);
// Free text: at most `max_length` bytes of valid UTF-8; required ones must not be blank.
absl::Status CheckText(std::string_view field, const std::string& value, size_t max_length,
                       bool required);
// Money: a 3-letter upper-case currency and 0 .. 10^12 minor units. Unset is an error only
// when `required` (field empty and zero).
absl::Status CheckMoney(std::string_view field, const backorder::v1::Money& money, bool required);
// Invoice and stock order ids name their branch: "INV-<branch>-<number>" (invoicing) and
// "SO-<branch>-<number>" (purchasing). INVALID_ARGUMENT on `field` when `id` is such an id (with
// `prefix`, "INV-" or "SO-") of a branch other than `branch_id`, e.g. holding branch B's stock for
// an invoice of branch A. An id not in that form is not judged here.
absl::Status CheckDocumentOfBranch(std::string_view field, std::string_view id,
                                   std::string_view prefix, std::string_view branch_id);
// The number at the end of such a document id ("INV-B1-000007" -> 7); nothing if it has none.
std::optional<uint64_t> DocumentNumber(std::string_view id);
// page_size: 0 (default 100) .. 1000.
absl::StatusOr<int> PageSize(int32_t requested);

google::protobuf::Timestamp ToProto(absl::Time t);
absl::Time FromProto(const google::protobuf::Timestamp& t);

// Fills the envelope fields the pure domain leaves to the wiring: event_id (a new UUIDv7),
// aggregate id and version, occurred_at (unless already set), actor, correlation and causation.
void Stamp(backorder::v1::EventEnvelope* event, const std::string& aggregate_id, uint64_t version,
           absl::Time now, const Caller& caller, const std::string& causation_id);
// The outbox entry that publishes `event` on `topic` under `key`, with CloudEvents headers
// (ce_source "/backorders/<source>").
OutboxMessage ToOutbox(const std::string& topic, const std::string& key,
                       const backorder::v1::EventEnvelope& event, const std::string& source);
// The Kafka key of stock-affecting events: "<branch>/<part>", so one (branch, part) keeps its
// order on one partition.
std::string StockKey(const std::string& branch_id, const std::string& part_number);

// The idempotency-family key of the answer to (method, request_id), and of the record that the
// reaction to `event_id` was committed (its value is empty). A rebuild from the topics writes them
// back (own_state_restore.h).
std::string AnswerKey(std::string_view method, const std::string& request_id);
std::string ReactionKey(const std::string& event_id);

// If the command `method` with `request_id` was already committed, parses its first answer into
// `response` and returns true.
absl::StatusOr<bool> PreviousAnswer(EventStore* store, std::string_view method,
                                    const std::string& request_id,
                                    google::protobuf::Message* response);
// Commits `commit` with `response` as the answer to (method, request_id). If another call with
// the same request id won the race, `response` is replaced by that first answer and OK returned.
absl::Status CommitWithAnswer(EventStore* store, CommitRequest* commit, std::string_view method,
                              const std::string& request_id, google::protobuf::Message* response);
// Commits the effect of consuming event `event_id` (a reaction), recorded under that id so a
// re-delivery that slips past the consumer's own dedupe still changes nothing.
absl::Status CommitReaction(EventStore* store, CommitRequest* commit, const std::string& event_id);
// Whether the reaction to `event_id` was already committed.
absl::StatusOr<bool> ReactionDone(EventStore* store, const std::string& event_id);

// Striped mutexes: commands and reactions on the same aggregate run one at a time, so the
// read-decide-commit of one never interleaves with another's.
class KeyedLocks {
 public:
  std::mutex& For(std::string_view key);
  // Locks the stripes of all `keys` in one fixed order (so two callers never deadlock) and
  // holds them until the returned locks are destroyed.
  std::vector<std::unique_lock<std::mutex>> LockAll(const std::vector<std::string>& keys);

 private:
  std::array<std::mutex, 256> stripes_;
};

// Opaque page tokens: the last key of the previous page, hex-encoded.
std::string EncodePageToken(std::string_view last_key);
absl::StatusOr<std::string> DecodePageToken(const std::string& token);
// The key a page of the list under `prefix` starts after: "" for the first page; INVALID_ARGUMENT
// on page_token if the token was not given out by this list (another list, changed filters).
absl::StatusOr<std::string> PageStart(const std::string& token, std::string_view prefix);

// One page of a prefix scan, as the List methods serve it: visits the keys of `family` under
// `prefix` after `start_after` (see PageStart). `pick(key, value)` answers the record to list
// (std::nullopt to skip it, an error to stop); `add(item)` puts it on the page. Once `page_size`
// are on the page, the scan goes on only until the next record `pick` would list, so the next
// page token (returned; "" on the last page) never leads to an empty page.
// `Reader` is a Database or anything with the same Scan (a snapshot, a KeyRangeMirror).
template <typename Item, typename Reader, typename Pick, typename Add>
absl::StatusOr<std::string> ScanPage(Reader& reader, std::string_view family,
                                     std::string_view prefix, std::string_view start_after,
                                     int page_size, Pick pick, Add add) {
  absl::Status failure;
  std::string last_key;
  int taken = 0;
  bool more = false;
  absl::Status scan =
      reader.Scan(family, prefix, start_after, [&](std::string_view key, std::string_view value) {
        absl::StatusOr<std::optional<Item>> item = pick(key, value);
        if (!item.ok()) {
          failure = item.status();
          return false;
        }
        if (!item->has_value()) return true;
        if (taken == page_size) {
          more = true;
          return false;
        }
        add(std::move(**item));
        ++taken;
        last_key = std::string(key);
        return true;
      });
  if (!scan.ok()) return scan;
  if (!failure.ok()) return failure;
  return more ? EncodePageToken(last_key) : std::string();
}

// A `pick` for ScanPage that lists every record, parsed as `Message` (DATA_LOSS if one is not).
template <typename Message>
absl::StatusOr<std::optional<Message>> ParseRecord(std::string_view key, std::string_view value) {
  Message m;
  if (!m.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(std::string(key) + " is unreadable");
  }
  return std::optional<Message>(std::move(m));
}

}  // namespace bo
