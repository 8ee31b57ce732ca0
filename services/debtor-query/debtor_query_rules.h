// The pure parts of debtor-query's queries and debtor commands: validating requests, matching a
// back order against list filters, grouping ready back orders by customer invoice, and turning a
// debtor record into its event. No I/O and no clock: "now" comes in as an argument.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "backorder/v1/common.pb.h"
#include "backorder/v1/debtor_query_service.pb.h"
#include "backorder/v1/events.pb.h"
#include "services/common/own_state_restore.h"

namespace bo::debtor_query {

// ---- Debtors ----

// Validates a debtor record as given in a request under `field` (e.g. "debtor"), so errors
// name the request path: "debtor.name: required". debtor_id: an id; name: required, <= 200
// bytes; contact_name, phone, email: optional, <= 200 bytes; an email must have an '@' and no
// spaces. Output-only fields are ignored.
absl::Status ValidateDebtor(const backorder::v1::Debtor& debtor, const std::string& field);

// The DebtorUpdated event (type and payload; the wiring stamps the rest) carrying `debtor`.
backorder::v1::EventEnvelope DebtorUpdatedEvent(const backorder::v1::Debtor& debtor);

// debtor-query's AggregateRestorer (services/common/own_state_restore.h). A debtor stream gives
// back the debtor record (DebtorUpdated plus updated_at = occurred_at and updated_by = the actor,
// as the command stamped them) and, for each event, the answer of the command that wrote it:
// CreateDebtor for version 1, UpdateDebtor after, under the event's causation_id.
absl::Status RestoreDebtorStream(const std::string& aggregate_id,
                                 const std::vector<backorder::v1::EventEnvelope>& events,
                                 RestoredWrites* out);

// ---- ListBackorders ----

// The filters of a ListBackorders request, validated. Empty / UNSPECIFIED / 0 match anything.
struct BackorderFilter {
  std::string branch_id;
  std::string debtor_id;
  std::string supplier_id;
  std::string part_number;
  backorder::v1::BackorderState state = backorder::v1::BACKORDER_STATE_UNSPECIFIED;
  int32_t min_age_days = 0;
  int32_t max_age_days = 0;

  bool has_age_filter() const { return min_age_days > 0 || max_age_days > 0; }
};

// INVALID_ARGUMENT naming the field for: an id that CheckId rejects, a state that is not a
// BackorderState, a negative age, or min_age_days > max_age_days when both are given.
absl::StatusOr<BackorderFilter> FilterOf(const backorder::v1::ListBackordersRequest& request);

// Whole days since the back order was created, at `now` (never negative).
int64_t AgeDays(const backorder::v1::Backorder& view, absl::Time now);

// Whether `view` passes every filter at `now`. A view whose creation is not known yet (a fill
// seen before the creation) has no age, so it never passes an age filter.
bool Matches(const BackorderFilter& filter, const backorder::v1::Backorder& view, absl::Time now);

// ---- ListReadyToInvoice ----

// One line of the ready-to-invoice list for `view` (quantity ready and still waiting).
backorder::v1::ReadyLine ReadyLineOf(const backorder::v1::Backorder& view);

// Groups ready back orders by (branch, debtor, invoice), sorted that way, lines by invoice line
// then back-order id. Each group's debtor carries only its id; the caller adds the contact
// details. Views with nothing ready, or cancelled, are left out.
std::vector<backorder::v1::ReadyInvoice> GroupReadyToInvoice(
    const std::vector<backorder::v1::Backorder>& views);

}  // namespace bo::debtor_query
