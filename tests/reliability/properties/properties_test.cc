// Properties of the pure domains under random command sequences (rapidcheck, shrinking to a
// shortest failing sequence). The sequences run through the workflow model
// (tests/reliability/model): every RPC validated as its handler does, decided by the domains,
// and every event delivered to every service that reacts.
//
//   Conservation          per (branch, part): on hand = free + held + filled-not-invoiced, none
//                         negative, and received + adjusted - issued = on hand (guarantee 5)
//   LifeCycle             a back order's state only moves forward, a cancelled or invoiced one
//                         never changes again, filled <= back-ordered, invoiced <= filled
//   ServicesAgree         every rule of the model: the services' views agree with each other and
//                         with the ledger, invoices and stock orders add up (guarantee 6)
//   ViewOrderIndependent  ApplyToView/MarkOnOrder over any permutation of a back order's events,
//                         some of them delivered twice, give the view the services hold
//   InvoiceRules          the invoice domain: lines add up, finalising emits exactly the back
//                         orders and lost sales of the lines, a final invoice refuses every change
//   StockOrderRules       the stock-order rules: lines add up, finalising places exactly the
//                         ticked back orders still orderable, a back order is on one line
#include <algorithm>
#include <cstdlib>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "rapidcheck/gtest.h"
#include "services/common/backorder_view.h"
#include "services/invoicing/domain/invoice.h"
#include "services/purchasing/stock_order.h"
#include "tests/reliability/model/walkthrough.h"
#include "tests/reliability/model/workflow_model.h"

namespace bo::reliability {
namespace {

namespace pb = ::backorder::v1;

constexpr const char* kBranches[] = {"NORTH", "SOUTH"};
constexpr const char* kParts[] = {"HL-3003", "BR-1", "OIL-1"};
constexpr const char* kDebtors[] = {"D-1", "D-2"};  // D-1 takes back orders, D-2 does not
constexpr const char* kSuppliers[] = {"SUP-9", "SUP-3"};

// One clerk action; a, b, c pick among what exists (the n-th invoice, part, ...) and quantities.
struct Op {
  int kind = 0;
  int a = 0;
  int b = 0;
  int c = 0;
};

std::ostream& operator<<(std::ostream& os, const Op& op) {
  return os << "Op{" << op.kind << "," << op.a << "," << op.b << "," << op.c << "}";
}

// Sequences of 10 to 150 actions, weighted the way a day at a parts counter goes: mostly
// invoices, lines and finalising, deliveries often enough to fill back orders.
rc::Gen<std::vector<Op>> Ops() {
  const rc::Gen<int> kind = rc::gen::weightedElement<int>({{2, 0},
                                                           {4, 1},
                                                           {4, 2},
                                                           {6, 3},
                                                           {6, 4},
                                                           {2, 5},
                                                           {4, 6},
                                                           {4, 7},
                                                           {1, 8},
                                                           {2, 9},
                                                           {3, 10},
                                                           {2, 11},
                                                           {3, 12},
                                                           {1, 13},
                                                           {2, 14},
                                                           {1, 15},
                                                           {1, 16}});  // {weight, kind}
  const rc::Gen<Op> op = rc::gen::construct<Op>(kind, rc::gen::inRange(0, 8),
                                                rc::gen::inRange(0, 8), rc::gen::inRange(0, 8));
  return rc::gen::mapcat(rc::gen::inRange(10, 151), [op](int length) {
    return rc::gen::container<std::vector<Op>>(static_cast<size_t>(length), op);
  });
}

// 300 sequences per property unless RC_PARAMS says otherwise (set before rapidcheck reads it).
const bool kDefaultParams = setenv("RC_PARAMS", "max_success=300", /*overwrite=*/0) == 0;

template <typename Map>
std::string Nth(const Map& map, int n, const std::string& none) {
  if (map.empty()) return none;
  auto it = map.begin();
  std::advance(it, n % static_cast<int>(map.size()));
  return it->first;
}

// The master files every sequence starts from.
Workflow NewWorkflow() {
  Workflow w;
  auto must = [&](Rpc rpc, const std::string& text) {
    absl::Status s = w.Handle(rpc, *Request(rpc, text));
    if (!s.ok()) ADD_FAILURE() << RpcName(rpc) << ": " << s;
  };
  must(Rpc::kCreateDebtor, R"(request_id: "d1" debtor { debtor_id: "D-1" name: "Lee Panels"
                              use_backorders: true })");
  must(Rpc::kCreateDebtor, R"(request_id: "d2" debtor { debtor_id: "D-2" name: "Walk-in" })");
  for (int i = 0; i < 3; ++i) {
    must(Rpc::kUpsertPart,
         absl::StrCat("request_id: \"p", i, "\" part { part_number: \"", kParts[i],
                      "\" supplier_id: \"", kSuppliers[i % 2],
                      "\" unit_price { currency: \"AUD\" minor_units: ", 1000 * (i + 1), " } }"));
  }
  return w;
}

// Runs `op` as a clerk would ask it. Refusals are part of the game: the properties hold either way.
void Run(Workflow& w, const Op& op, int step) {
  const std::string rid = absl::StrCat("r", step);
  const std::string branch = kBranches[op.a % 2];
  const std::string part = kParts[op.b % 3];
  // Mostly drafts: a clerk works on open invoices (now and then on a final one, refused).
  std::map<std::string, int> drafts;
  for (const auto& [id, inv] : w.invoices()) {
    if (inv.status() == pb::INVOICE_STATUS_DRAFT || op.c == 7) drafts[id] = 0;
  }
  const std::string invoice = Nth(drafts, op.a, "INV-NONE-000001");
  const std::string backorder = Nth(w.debtor_query_views(), op.b, "BO-NONE-1");
  const std::string order = Nth(w.stock_orders(), op.a, "SO-NONE-000001");
  auto run = [&](Rpc rpc, const std::string& text) {
    w.Handle(rpc, *Request(rpc, absl::StrCat("request_id: \"", rid, "\" ", text))).IgnoreError();
  };
  switch (op.kind) {
    case 0:
      run(Rpc::kAdjustStock, absl::StrCat("branch_id: \"", branch, "\" part_number: \"", part,
                                          "\" delta: ", op.c - 3, " reason: \"stocktake\""));
      break;
    case 1:
      run(Rpc::kProcessCreditorInvoice,
          absl::StrCat("branch_id: \"", branch, "\" creditor_invoice_id: \"CI-", step,
                       "\" supplier_id: \"SUP-9\" lines { part_number: \"", part,
                       "\" quantity: ", op.c + 1, " }"));
      break;
    case 2:
      run(Rpc::kCreateInvoice,
          absl::StrCat("branch_id: \"", branch, "\" debtor_id: \"", kDebtors[op.b % 4 == 3 ? 1 : 0],
                       "\" kind: INVOICE_KIND_COUNTER"));
      break;
    case 3:
    case 4:  // adding lines is what a clerk does most
      run(Rpc::kAddPartLine, absl::StrCat("invoice_id: \"", invoice, "\" part_number: \"", part,
                                          "\" quantity_ordered: ", op.c + 1));
      break;
    case 5:
      run(Rpc::kAdjustPartLine,
          absl::StrCat("invoice_id: \"", invoice, "\" line: ", op.b % 3 + 1,
                       " quantity_supplied: ", op.c % 4, " quantity_back_ordered: ", op.c / 2));
      break;
    case 6:
    case 7:
      run(Rpc::kFinaliseInvoice, absl::StrCat("invoice_id: \"", invoice, "\""));
      break;
    case 8:
      run(Rpc::kAbandonInvoice, absl::StrCat("invoice_id: \"", invoice, "\""));
      break;
    case 9:
      run(Rpc::kCancelBackorder,
          absl::StrCat("backorder_id: \"", backorder, "\" reason: \"gone\""));
      break;
    case 10:
      run(Rpc::kAddBackorderLines,
          absl::StrCat("invoice_id: \"", invoice, "\" backorder_ids: \"", backorder, "\""));
      break;
    case 11:
      run(Rpc::kCreateStockOrder,
          absl::StrCat("branch_id: \"", branch, "\" supplier_id: \"", kSuppliers[op.c % 2], "\""));
      break;
    case 12:
      run(Rpc::kAddBackorderLinesToOrder,
          absl::StrCat("stock_order_id: \"", order, "\" backorder_ids: \"", backorder, "\""));
      break;
    case 13:
      run(Rpc::kAddStockLine, absl::StrCat("stock_order_id: \"", order, "\" part_number: \"", part,
                                           "\" quantity: ", op.c + 1));
      break;
    case 14:
      run(Rpc::kFinaliseStockOrder, absl::StrCat("stock_order_id: \"", order, "\""));
      break;
    case 15:
      run(Rpc::kHoldStock, absl::StrCat("branch_id: \"", branch, "\" part_number: \"", part,
                                        "\" invoice_id: \"INV-HOLD-", op.a, "\" invoice_line: 1",
                                        " quantity: ", op.c));
      break;
    case 16:
      w.Advance(absl::Minutes(10 * op.c));  // holds of abandoned drafts run out
      break;
  }
}

// ---- Conservation ----

std::string ConservationBroken(const Workflow& w) {
  for (const auto& [key, s] : w.ledgers()) {
    const std::string where = absl::StrCat(key.first, "/", key.second, ": ");
    if (s.on_hand < 0 || s.free < 0 || s.held < 0 || s.filled_not_invoiced < 0) {
      return where + "negative stock";
    }
    if (s.on_hand != s.free + s.held + s.filled_not_invoiced) {
      return absl::StrCat(where, "on hand ", s.on_hand, " != free ", s.free, " + held ", s.held,
                          " + filled ", s.filled_not_invoiced);
    }
    if (s.received + s.adjusted - s.issued != s.on_hand) {
      return absl::StrCat(where, "the ledger's received ", s.received, " + adjusted ", s.adjusted,
                          " - issued ", s.issued, " != on hand ", s.on_hand);
    }
    // The parts of on hand, counted from the holds and back orders themselves.
    int64_t held = 0, ready = 0;
    for (const auto& [hold_key, hold] : s.holds) held += hold.quantity;
    for (const auto& b : s.backorders) ready += b.quantities.ready();
    if (held != s.held || ready != s.filled_not_invoiced) {
      return absl::StrCat(where, "held ", s.held, " / filled ", s.filled_not_invoiced,
                          " are not the sums of the holds (", held, ") and back orders (", ready,
                          ")");
    }
    // What the commands said came in and went out, against what the ledger holds.
    auto flow = w.flows().find(key);
    const Workflow::Flow f = flow == w.flows().end() ? Workflow::Flow{} : flow->second;
    if (f.received + f.adjusted - f.issued != s.on_hand) {
      return absl::StrCat(where, "received ", f.received, " + adjusted ", f.adjusted, " - issued ",
                          f.issued, " != on hand ", s.on_hand);
    }
  }
  return "";
}

RC_GTEST_PROP(ReliabilityProperties, Conservation, ()) {
  Workflow w = NewWorkflow();
  const std::vector<Op> ops = *Ops();
  for (size_t i = 0; i < ops.size(); ++i) {
    Run(w, ops[i], static_cast<int>(i));
    const std::string broken = ConservationBroken(w);
    if (!broken.empty()) RC_FAIL(absl::StrCat("after step ", i, ": ", broken));
  }
  RC_TAG(w.ledgers().size() > 3 ? "several ledgers" : "few ledgers");
}

// ---- Life cycle ----

RC_GTEST_PROP(ReliabilityProperties, LifeCycle, ()) {
  Workflow w = NewWorkflow();
  const std::vector<Op> ops = *Ops();
  std::map<std::string, pb::Backorder> last;  // each back order as it was after the step before
  bool reached_final = false;
  for (size_t i = 0; i < ops.size(); ++i) {
    Run(w, ops[i], static_cast<int>(i));
    for (const auto& [id, view] : w.debtor_query_views()) {
      const pb::BackorderQuantities& q = view.quantities();
      if (q.filled() > q.back_ordered() || q.invoiced() > q.filled()) {
        RC_FAIL(absl::StrCat("step ", i, ": ", id, " has ", q.ShortDebugString()));
      }
      auto before = last.find(id);
      if (before == last.end()) continue;
      const pb::Backorder& b = before->second;
      if (StateRank(view.state()) < StateRank(b.state())) {
        RC_FAIL(absl::StrCat("step ", i, ": ", id, " went back from ", StateName(b.state()), " to ",
                             StateName(view.state())));
      }
      if ((b.state() == pb::BACKORDER_STATE_CANCELLED ||
           b.state() == pb::BACKORDER_STATE_INVOICED) &&
          (view.state() != b.state() ||
           view.quantities().SerializeAsString() != b.quantities().SerializeAsString())) {
        RC_FAIL(absl::StrCat("step ", i, ": ", id, " changed after ", StateName(b.state()), ": ",
                             b.quantities().ShortDebugString(), " -> ", q.ShortDebugString()));
      }
    }
    for (const auto& [id, view] : w.debtor_query_views()) {
      reached_final |= view.state() == pb::BACKORDER_STATE_CANCELLED ||
                       view.state() == pb::BACKORDER_STATE_INVOICED;
      last[id] = view;
    }
  }
  RC_TAG(reached_final ? "a back order reached a final state" : "none final");
}

// ---- The model's whole rule set ----

RC_GTEST_PROP(ReliabilityProperties, ServicesAgree, ()) {
  Workflow w = NewWorkflow();
  const std::vector<Op> ops = *Ops();
  for (size_t i = 0; i < ops.size(); ++i) {
    Run(w, ops[i], static_cast<int>(i));
    const std::vector<std::string> broken = w.Violations();
    if (!broken.empty()) {
      RC_FAIL(absl::StrCat("after step ", i, ":\n  ", absl::StrJoin(broken, "\n  ")));
    }
  }
  RC_TAG(absl::StrCat(w.debtor_query_views().size() / 4 * 4, "+ back orders"));
}

// ---- Order independence ----

// The view from `events` in the order given: what any service ends with, whatever the topics'
// interleaving and however often an event is delivered.
pb::Backorder ViewFrom(const std::string& id, const std::vector<pb::EventEnvelope>& events) {
  pb::Backorder view;
  for (const pb::EventEnvelope& e : events) {
    if (e.has_stock_order_placed()) {
      int32_t line = 0;
      for (const auto& l : e.stock_order_placed().lines()) {
        for (const auto& b : l.backorders()) {
          if (b.backorder_id() == id) line = l.line();
        }
      }
      MarkOnOrder(&view, e.stock_order_placed().stock_order_id(), line, e.occurred_at());
    } else {
      ApplyToView(&view, e);
    }
  }
  return view;
}

RC_GTEST_PROP(ReliabilityProperties, ViewOrderIndependent, ()) {
  Workflow w = NewWorkflow();
  const std::vector<Op> ops = *Ops();
  for (size_t i = 0; i < ops.size(); ++i) Run(w, ops[i], static_cast<int>(i));
  for (const auto& [id, events] : w.backorder_events()) {
    const pb::Backorder& held = w.debtor_query_views().at(id);
    // A permutation of the events with some delivered twice (a re-delivery).
    std::vector<pb::EventEnvelope> shuffled = events;
    const std::vector<size_t> again =
        *rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(0, events.size()));
    for (size_t k : again) shuffled.push_back(events[k]);
    const std::vector<int> keys =
        *rc::gen::container<std::vector<int>>(shuffled.size(), rc::gen::arbitrary<int>());
    std::vector<size_t> order(shuffled.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t x, size_t y) { return keys[x] < keys[y]; });
    std::vector<pb::EventEnvelope> delivered;
    for (size_t k : order) delivered.push_back(shuffled[k]);
    const pb::Backorder view = ViewFrom(id, delivered);
    if (view.SerializeAsString() != held.SerializeAsString()) {
      std::string types;
      for (const auto& e : delivered) absl::StrAppend(&types, e.type(), " ");
      RC_FAIL(absl::StrCat(id, " delivered as [", types, "] gives\n  ", view.ShortDebugString(),
                           "\nnot\n  ", held.ShortDebugString()));
    }
  }
  RC_TAG(w.backorder_events().empty() ? "no back orders" : "back orders");
}

// ---- The invoice domain ----

RC_GTEST_PROP(ReliabilityProperties, InvoiceRules, ()) {
  pb::Invoice draft;
  draft.set_invoice_id("INV-NORTH-000042");
  draft.set_branch_id("NORTH");
  draft.set_debtor_id("D-1");
  draft.set_status(pb::INVOICE_STATUS_DRAFT);
  const bool uses_backorders = *rc::gen::arbitrary<bool>();
  const int lines = *rc::gen::inRange(1, 6);
  for (int i = 0; i < lines; ++i) {
    invoicing::PartLineFacts f;
    f.part_number = kParts[*rc::gen::inRange(0, 3)];
    f.unit_price.set_currency("AUD");
    f.unit_price.set_minor_units(*rc::gen::inRange(0, 100'000));
    f.quantity_ordered = *rc::gen::inRange(1, 20);
    f.quantity_held = *rc::gen::inRange<int64_t>(0, f.quantity_ordered + 1);
    f.debtor_uses_backorders = uses_backorders;
    if (*rc::gen::inRange(0, 4) == 0) {
      pb::Money amount;
      amount.set_currency("AUD");
      amount.set_minor_units(*rc::gen::inRange(0, 10'000));
      RC_ASSERT(invoicing::AddChargeLine(&draft, "Freight", amount).ok());
    }
    RC_ASSERT(invoicing::AddPartLine(&draft, f).ok());
    // The clerk changes the figures, maybe to something not allowed (refused, nothing changes).
    const pb::Invoice before = draft;
    const pb::InvoiceLineView& added = draft.lines(draft.lines_size() - 1);
    const int64_t supplied = *rc::gen::inRange<int64_t>(0, added.quantity_available() + 2);
    const int64_t back = *rc::gen::inRange<int64_t>(0, added.quantity_ordered() + 2);
    absl::Status s =
        invoicing::AdjustPartLine(&draft, added.line(), supplied, back, uses_backorders);
    if (!s.ok()) RC_ASSERT(draft.SerializeAsString() == before.SerializeAsString());
  }
  int64_t total = 0;
  for (const pb::InvoiceLineView& l : draft.lines()) {
    RC_ASSERT(l.amount().minor_units() == l.quantity_supplied() * l.unit_price().minor_units());
    total += l.amount().minor_units();
    if (l.part_number().empty()) continue;
    RC_ASSERT(l.quantity_supplied() + l.quantity_back_ordered() + l.quantity_lost() ==
              l.quantity_ordered());
    RC_ASSERT(l.quantity_supplied() <= l.quantity_available());
    RC_ASSERT(uses_backorders || l.quantity_back_ordered() == 0);
  }
  RC_ASSERT(draft.total().minor_units() == total);

  auto done = invoicing::Finalise(draft, {}, absl::FromUnixSeconds(1'900'000'000));
  RC_ASSERT(done.ok());
  RC_ASSERT(done->invoice.status() == pb::INVOICE_STATUS_FINALISED);
  RC_ASSERT(done->invoice_events.front().has_invoice_finalised());
  size_t created = 0, lost = 0;
  for (const pb::InvoiceLineView& l : done->invoice.lines()) {
    if (l.quantity_back_ordered() > 0) {
      ++created;
      auto e = done->backorder_events.find(l.created_backorder_id());
      RC_ASSERT(e != done->backorder_events.end());
      RC_ASSERT(e->second.backorder_created().quantity() == l.quantity_back_ordered());
      RC_ASSERT(e->second.backorder_created().context().part_number() == l.part_number());
    }
    if (l.quantity_lost() > 0) ++lost;
  }
  RC_ASSERT(done->backorder_events.size() == created);
  RC_ASSERT(done->invoice_events.size() == 1 + lost);
  // Final: every change is refused and leaves it as it is.
  pb::Invoice final_invoice = done->invoice;
  const std::string bytes = final_invoice.SerializeAsString();
  RC_ASSERT(absl::IsFailedPrecondition(invoicing::AddPartLine(&final_invoice, {}).status()));
  RC_ASSERT(absl::IsFailedPrecondition(
      invoicing::AdjustPartLine(&final_invoice, 1, 0, 0, uses_backorders)));
  RC_ASSERT(absl::IsFailedPrecondition(invoicing::AddChargeLine(&final_invoice, "x", {})));
  RC_ASSERT(absl::IsFailedPrecondition(invoicing::Finalise(final_invoice, {}, {}).status()));
  RC_ASSERT(absl::IsFailedPrecondition(invoicing::Abandon(final_invoice).status()));
  RC_ASSERT(final_invoice.SerializeAsString() == bytes);
  RC_TAG(created > 0 ? "back orders created" : "none created");
}

// ---- The stock-order rules ----

RC_GTEST_PROP(ReliabilityProperties, StockOrderRules, ()) {
  pb::StockOrder order;
  order.set_stock_order_id("SO-NORTH-000042");
  order.set_branch_id("NORTH");
  order.set_supplier_id("SUP-9");
  order.set_status(pb::STOCK_ORDER_STATUS_DRAFT);
  // Back orders as purchasing may see them: waiting, partly filled, at the other branch ...
  std::map<std::string, pb::Backorder> views;
  const int count = *rc::gen::inRange(1, 8);
  for (int i = 0; i < count; ++i) {
    pb::Backorder v;
    v.mutable_context()->set_backorder_id(absl::StrCat("BO-NORTH-00000", i, "-1"));
    v.mutable_context()->set_branch_id(*rc::gen::inRange(0, 5) == 0 ? "SOUTH" : "NORTH");
    v.mutable_context()->set_part_number(kParts[*rc::gen::inRange(0, 3)]);
    v.mutable_created_at()->set_seconds(1'800'000'000 + i);
    const int64_t back_ordered = *rc::gen::inRange(1, 10);
    v.mutable_quantities()->set_back_ordered(back_ordered);
    v.mutable_quantities()->set_filled(*rc::gen::inRange<int64_t>(0, back_ordered + 1));
    v.set_state(DeriveState(v.quantities(), false));
    views[v.context().backorder_id()] = v;
  }
  std::vector<pb::Backorder> ticked;
  for (const auto& [id, v] : views) {
    if (*rc::gen::arbitrary<bool>()) ticked.push_back(v);
  }
  auto added = purchasing::AddBackorders(order, ticked);
  bool all_orderable = true;
  for (const auto& v : ticked) all_orderable &= purchasing::CheckOrderable(v, order).ok();
  RC_ASSERT(added.ok() == all_orderable);  // all ticked or none
  if (added.ok()) order = *added;
  const int shelf_lines = *rc::gen::inRange(0, 3);
  for (int i = 0; i < shelf_lines; ++i) {
    auto shelf =
        purchasing::AddShelfStock(order, kParts[*rc::gen::inRange(0, 3)], *rc::gen::inRange(1, 5));
    RC_ASSERT(shelf.ok());
    order = *shelf;
  }
  auto adds_up = [](const pb::StockOrder& o) {
    std::map<std::string, int> seen;
    for (const auto& line : o.lines()) {
      int64_t sum = line.shelf_quantity();
      for (const auto& b : line.backorders()) {
        sum += b.quantity();
        if (++seen[b.backorder_id()] > 1) return false;
      }
      if (sum != line.quantity() || line.quantity() <= 0) return false;
    }
    return true;
  };
  RC_ASSERT(adds_up(order));
  if (order.lines().empty()) {
    RC_ASSERT(absl::IsFailedPrecondition(purchasing::Finalise(order, views, {}).status()));
    return;
  }
  // Meanwhile some back orders stop waiting (filled from other stock, or cancelled).
  for (auto& [id, v] : views) {
    if (*rc::gen::inRange(0, 3) == 0) {
      v.mutable_quantities()->set_filled(v.quantities().back_ordered());
      v.set_state(DeriveState(v.quantities(), false));
    }
  }
  auto placed = purchasing::Finalise(order, views, absl::FromUnixSeconds(1'900'000'000));
  RC_ASSERT(placed.ok());
  RC_ASSERT(placed->order.status() == pb::STOCK_ORDER_STATUS_PLACED);
  RC_ASSERT(adds_up(placed->order));
  std::map<std::string, int32_t> expected;
  for (const auto& line : order.lines()) {
    for (const auto& b : line.backorders()) {
      if (purchasing::CheckOrderable(views.at(b.backorder_id()), order).ok()) {
        expected[b.backorder_id()] = 0;
      }
    }
  }
  RC_ASSERT(placed->on_order.size() == expected.size());
  for (const auto& [id, line] : placed->on_order) {
    RC_ASSERT(expected.contains(id));
    RC_ASSERT(purchasing::LineOf(placed->order, id) == line);
  }
  size_t ticked_total = 0;
  for (const auto& line : order.lines()) ticked_total += line.backorders_size();
  RC_ASSERT(static_cast<size_t>(placed->order.dropped_backorder_ids_size()) + expected.size() ==
            ticked_total);
  RC_ASSERT(placed->event.stock_order_placed().lines_size() == placed->order.lines_size());
  RC_ASSERT(absl::IsFailedPrecondition(purchasing::CheckDraft(placed->order)));
  RC_TAG(placed->order.dropped_backorder_ids_size() > 0 ? "some dropped" : "none dropped");
}

// ---- The baseline: the model answers the walkthrough as the services do ----

TEST(ReliabilityModel, WalkthroughAndWrongRequests) {
  Workflow w;
  for (const std::vector<Step>& steps : {Walkthrough(), WrongRequests()}) {
    for (const Step& s : steps) {
      EXPECT_EQ(w.Handle(s.rpc, *s.request).code(), s.expected)
          << RpcName(s.rpc) << " " << s.request->ShortDebugString();
    }
  }
  EXPECT_EQ(absl::StrJoin(w.Violations(), "\n"), "");
  EXPECT_EQ(w.debtor_query_views().at("BO-NORTH-000001-1").state(), pb::BACKORDER_STATE_INVOICED);
  EXPECT_EQ(w.debtor_query_views().at("BO-NORTH-000001-2").state(), pb::BACKORDER_STATE_CANCELLED);
  EXPECT_EQ(w.debtor_query_views().at("BO-NORTH-000004-1").state(),
            pb::BACKORDER_STATE_PARTLY_FILLED);
}

}  // namespace
}  // namespace bo::reliability
