// The keys of debtor-query's read models (readmodel column family) and of its debtor records
// (state family). Every query is a prefix scan over one of these, never a scan of everything.
//
// readmodel family (written only by the projection, see projection.h):
//   bo/<backorder_id>                        -> backorder.v1.Backorder (the view)
//   age/<created_at>/<id>                    -> id: all back orders, oldest first
//   branch-age/<branch>/<created_at>/<id>    -> id: one branch, oldest first
//   open-age/<branch>/<created_at>/<id>      -> id: one branch's open back orders (present exactly
//                                               while not INVOICED or CANCELLED), oldest first
//   state-age/<state>/<created_at>/<id>      -> id: all back orders in one state, oldest first
//   branch-state-age/<branch>/<state>/<created_at>/<id>
//                                            -> id: one branch's back orders in one state
//   (<state> is the BackorderState number as 2 digits. ListBackorders filtered by state reads
//   only these, not every back order the branch ever had: most are invoiced or cancelled.)
//   ready/<branch>/<debtor>/<invoice>/<id>   -> id: ready to invoice (present exactly when
//                                               Ready > 0 and not CANCELLED)
//   hist/<id>/<occurred_at>/<event_id>       -> EventEnvelope bytes (one per event)
//   lost/<branch>/<occurred_at>/<event_id>   -> EventEnvelope bytes (LostSaleRecorded)
//   fig/<branch>                             -> EncodeFigures (figures.h): the branch's figures
//   meta/layout                              -> kReadModelLayout (projection.h)
// state family (written by the debtor commands):
//   debtor/<debtor_id>                              -> backorder.v1.Debtor
//
// Times are nanoseconds since the Unix epoch as 20 digits, so keys sort by time. Ids inside a key
// are escaped ('%' -> "%25", '/' -> "%2F"): ids may contain '/', and without escaping the prefix
// "ready/A/" of branch "A" would also match the keys of branch "A/B".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "backorder/v1/common.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace bo::debtor_query {

// An id made safe to sit between '/' separators, and back.
std::string EscapeKeyPart(std::string_view id);
std::string UnescapeKeyPart(std::string_view part);

// A timestamp as 20 sortable digits (nanoseconds since the epoch; times before it sort as 0).
std::string SortableTime(const google::protobuf::Timestamp& t);

// ---- readmodel family ----
std::string BackorderKey(std::string_view backorder_id);
std::string AgeKey(const google::protobuf::Timestamp& created_at, std::string_view backorder_id);
inline constexpr std::string_view kAgePrefix = "age/";
std::string BranchAgePrefix(std::string_view branch_id);
std::string BranchAgeKey(std::string_view branch_id, const google::protobuf::Timestamp& created_at,
                         std::string_view backorder_id);
// The ready-index prefix for one branch ("" for all) and, with a branch, one debtor ("" for all).
std::string ReadyPrefix(std::string_view branch_id, std::string_view debtor_id);
std::string ReadyKey(const backorder::v1::BackorderContext& context, std::string_view backorder_id);
std::string HistoryPrefix(std::string_view backorder_id);
std::string HistoryKey(std::string_view backorder_id,
                       const google::protobuf::Timestamp& occurred_at, std::string_view event_id);
std::string LostSalePrefix(std::string_view branch_id);
std::string LostSaleKey(std::string_view branch_id, const google::protobuf::Timestamp& occurred_at,
                        std::string_view event_id);

// The state index for one state, of one branch ("" for all branches).
std::string StateAgePrefix(std::string_view branch_id, backorder::v1::BackorderState state);
std::string StateAgeKey(std::string_view branch_id, backorder::v1::BackorderState state,
                        const google::protobuf::Timestamp& created_at,
                        std::string_view backorder_id);

std::string OpenAgePrefix(std::string_view branch_id);
std::string OpenAgeKey(std::string_view branch_id, const google::protobuf::Timestamp& created_at,
                       std::string_view backorder_id);
// The created_at part of an open-age key in nanoseconds since the epoch (0 when the creation is
// not known yet), or -1 if `key` is not an open-age key of `prefix`.
int64_t CreatedNanosOfOpenAgeKey(std::string_view prefix, std::string_view key);
inline constexpr std::string_view kFiguresPrefix = "fig/";
std::string FiguresKey(std::string_view branch_id);
// The branch of a figures key ("" if `key` is not one).
std::string BranchOfFiguresKey(std::string_view key);
inline constexpr std::string_view kLayoutKey = "meta/layout";

// ---- state family ----
inline constexpr std::string_view kDebtorPrefix = "debtor/";
std::string DebtorKey(std::string_view debtor_id);
// The event stream of one debtor (also the aggregate id of its events).
std::string DebtorStream(std::string_view debtor_id);

}  // namespace bo::debtor_query
