#include "services/invoicing/domain/invoice.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/common/backorder_view.h"

namespace bo::invoicing {
namespace pb = backorder::v1;

namespace {

absl::Status Invalid(const std::string& field, const std::string& reason) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", reason));
}

absl::Status CheckDraft(const Invoice& invoice) {
  if (invoice.status() == pb::INVOICE_STATUS_DRAFT) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("invoice ", invoice.invoice_id(), " is ",
                   invoice.status() == pb::INVOICE_STATUS_FINALISED ? "finalised" : "abandoned",
                   "; only a draft can be changed"));
}

// An invoice is in one currency: the first priced line's.
absl::Status CheckCurrency(const Invoice& invoice, const pb::Money& price,
                           const std::string& field) {
  for (const Line& l : invoice.lines()) {
    if (!l.unit_price().currency().empty() && l.unit_price().currency() != price.currency()) {
      return Invalid(field + ".currency",
                     absl::StrCat("the invoice is in ", l.unit_price().currency(), ", not ",
                                  price.currency()));
    }
  }
  return absl::OkStatus();
}

// `invoice` with `line` added, priced; the invoice unchanged if that cannot be priced.
absl::Status AddPricedLine(Invoice* invoice, Line line, std::string_view field) {
  Invoice next = *invoice;
  *next.add_lines() = std::move(line);
  if (absl::Status s = Reprice(&next, field); !s.ok()) return s;
  *invoice = std::move(next);
  return absl::OkStatus();
}

Line* FindLine(Invoice* invoice, int32_t number) {
  for (Line& l : *invoice->mutable_lines()) {
    if (l.line() == number) return &l;
  }
  return nullptr;
}

pb::BackorderContext ContextFor(const Invoice& invoice, const Line& line) {
  pb::BackorderContext c;
  c.set_backorder_id(BackorderIdFor(invoice.invoice_id(), line.line()));
  c.set_debtor_id(invoice.debtor_id());
  c.set_branch_id(invoice.branch_id());
  c.set_invoice_id(invoice.invoice_id());
  c.set_invoice_line(line.line());
  c.set_part_number(line.part_number());
  c.set_supplier_id(line.supplier_id());
  *c.mutable_unit_price() = line.unit_price();
  c.set_invoice_kind(invoice.kind());
  return c;
}

Event NewEvent(const std::string& type, const std::string& branch_id) {
  Event e;
  e.set_type(type);
  e.set_branch_id(branch_id);
  return e;
}

}  // namespace

int32_t NextLineNumber(const Invoice& invoice) {
  int32_t max = 0;
  for (const Line& l : invoice.lines()) max = std::max(max, l.line());
  return max + 1;
}

absl::StatusOr<LineOffer> AddPartLine(Invoice* invoice, const PartLineFacts& f) {
  if (absl::Status s = CheckDraft(*invoice); !s.ok()) return s;
  if (f.quantity_ordered <= 0) return Invalid("quantity_ordered", "must be at least 1");
  if (f.quantity_held < 0 || f.quantity_held > f.quantity_ordered) {
    return absl::InternalError(
        absl::StrCat("held ", f.quantity_held, " for an order of ", f.quantity_ordered));
  }
  if (absl::Status s = CheckCurrency(*invoice, f.unit_price, "unit_price"); !s.ok()) return s;
  Line line;
  line.set_line(NextLineNumber(*invoice));
  line.set_part_number(f.part_number);
  line.set_description(f.description);
  line.set_supplier_id(f.supplier_id);
  *line.mutable_unit_price() = f.unit_price;
  line.set_quantity_ordered(f.quantity_ordered);
  line.set_quantity_available(f.quantity_held);
  line.set_quantity_supplied(f.quantity_held);
  const int64_t shortfall = f.quantity_ordered - f.quantity_held;
  LineOffer offer;
  offer.shortfall = shortfall;
  if (shortfall == 0) {
    offer.message = absl::StrCat("All ", f.quantity_ordered, " in stock and supplied.");
  } else if (f.debtor_uses_backorders) {
    line.set_quantity_back_ordered(shortfall);
    offer.backorder_offered = true;
    offer.message = absl::StrCat("Only ", f.quantity_held, " in stock: supplying ", f.quantity_held,
                                 " now and offering a back order for ", shortfall,
                                 " (adjust the line to change either figure).");
  } else {
    line.set_quantity_lost(shortfall);
    offer.message = absl::StrCat("Only ", f.quantity_held, " in stock: supplying ", f.quantity_held,
                                 "; the debtor does not use back orders, so ", shortfall,
                                 " will be recorded as a lost sale.");
  }
  if (absl::Status s = AddPricedLine(invoice, std::move(line), "unit_price"); !s.ok()) return s;
  return offer;
}

absl::Status AdjustPartLine(Invoice* invoice, int32_t number, int64_t supplied,
                            int64_t back_ordered, bool debtor_uses_backorders) {
  if (absl::Status s = CheckDraft(*invoice); !s.ok()) return s;
  Invoice next = *invoice;  // changed only once it can be priced
  Line* line = FindLine(&next, number);
  if (line == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("line: invoice ", invoice->invoice_id(), " has no line ", number));
  }
  if (line->part_number().empty() || !line->fulfils_backorder_id().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("line ", number, " is not a part line that can be back-ordered"));
  }
  if (supplied < 0) return Invalid("quantity_supplied", "must not be negative");
  if (back_ordered < 0) return Invalid("quantity_back_ordered", "must not be negative");
  if (supplied > line->quantity_available()) {
    return absl::FailedPreconditionError(
        absl::StrCat("quantity_supplied: only ", line->quantity_available(), " of ",
                     line->part_number(), " can be supplied now, not ", supplied));
  }
  if (supplied + back_ordered > line->quantity_ordered()) {
    return absl::FailedPreconditionError(absl::StrCat("supplied ", supplied, " + back order ",
                                                      back_ordered, " is more than the ",
                                                      line->quantity_ordered(), " ordered"));
  }
  if (back_ordered > 0 && !debtor_uses_backorders) {
    return absl::FailedPreconditionError(
        absl::StrCat("debtor ", invoice->debtor_id(),
                     " does not use back orders (turn Use backorders on in "
                     "the debtor master file first)"));
  }
  line->set_quantity_supplied(supplied);
  line->set_quantity_back_ordered(back_ordered);
  line->set_quantity_lost(line->quantity_ordered() - supplied - back_ordered);
  if (absl::Status s = Reprice(&next, "quantity_supplied"); !s.ok()) return s;
  *invoice = std::move(next);
  return absl::OkStatus();
}

absl::Status AddChargeLine(Invoice* invoice, const std::string& description,
                           const pb::Money& amount) {
  if (absl::Status s = CheckDraft(*invoice); !s.ok()) return s;
  if (absl::Status s = CheckCurrency(*invoice, amount, "amount"); !s.ok()) return s;
  Line line;
  line.set_line(NextLineNumber(*invoice));
  line.set_description(description);
  line.set_quantity_ordered(1);
  line.set_quantity_supplied(1);
  line.set_quantity_available(1);
  *line.mutable_unit_price() = amount;
  return AddPricedLine(invoice, std::move(line), "amount");
}

bool ReadyToInvoice(const Backorder& b) {
  return Ready(b.quantities()) > 0 && b.state() != pb::BACKORDER_STATE_CANCELLED &&
         b.state() != pb::BACKORDER_STATE_INVOICED && b.draft_invoice_id().empty();
}

absl::Status AddBackorderLine(Invoice* invoice, const Backorder& b) {
  if (absl::Status s = CheckDraft(*invoice); !s.ok()) return s;
  const auto& c = b.context();
  for (const Line& l : invoice->lines()) {
    if (l.fulfils_backorder_id() == c.backorder_id()) {
      return absl::FailedPreconditionError(
          absl::StrCat("back order ", c.backorder_id(), " is already on this invoice"));
    }
  }
  if (c.debtor_id() != invoice->debtor_id()) {
    return absl::FailedPreconditionError(absl::StrCat("back order ", c.backorder_id(),
                                                      " belongs to debtor ", c.debtor_id(),
                                                      ", not ", invoice->debtor_id()));
  }
  if (c.branch_id() != invoice->branch_id()) {
    return absl::FailedPreconditionError(
        absl::StrCat("back order ", c.backorder_id(), " is filled at branch ", c.branch_id(),
                     "; invoice it there, not at ", invoice->branch_id()));
  }
  if (!b.draft_invoice_id().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "back order ", c.backorder_id(), " is already on draft invoice ", b.draft_invoice_id()));
  }
  if (!ReadyToInvoice(b)) {
    return absl::FailedPreconditionError(absl::StrCat("back order ", c.backorder_id(),
                                                      " has nothing ready to invoice (state ",
                                                      StateName(b.state()), ")"));
  }
  if (absl::Status s = CheckCurrency(*invoice, c.unit_price(), "backorder_ids"); !s.ok()) return s;
  Line line;
  line.set_line(NextLineNumber(*invoice));
  line.set_part_number(c.part_number());
  line.set_description(absl::StrCat("Back order ", c.backorder_id(), " (invoice ", c.invoice_id(),
                                    " line ", c.invoice_line(), ")"));
  line.set_supplier_id(c.supplier_id());
  *line.mutable_unit_price() = c.unit_price();
  const int64_t ready = Ready(b.quantities());
  line.set_quantity_ordered(ready);
  line.set_quantity_available(ready);
  line.set_quantity_supplied(ready);
  line.set_fulfils_backorder_id(c.backorder_id());
  return AddPricedLine(invoice, std::move(line), "backorder_ids");
}

std::string BackorderIdFor(const std::string& invoice_id, int32_t line) {
  std::string rest = invoice_id;
  if (rest.starts_with("INV-")) rest = rest.substr(4);
  return absl::StrCat("BO-", rest, "-", line);
}

absl::StatusOr<Finalised> Finalise(const Invoice& invoice,
                                   const std::map<std::string, Backorder>& backorders,
                                   absl::Time now) {
  if (absl::Status s = CheckDraft(invoice); !s.ok()) return s;
  if (invoice.lines().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("invoice ", invoice.invoice_id(), " has no lines"));
  }
  Finalised out;
  out.invoice = invoice;
  // Every change was priced, so this only refuses an invoice stored before amounts were checked.
  if (absl::Status s = Reprice(&out.invoice, "invoice_id"); !s.ok()) return s;
  out.invoice.set_status(pb::INVOICE_STATUS_FINALISED);
  out.invoice.mutable_finalised_at()->set_seconds(absl::ToUnixSeconds(now));
  out.invoice.mutable_finalised_at()->set_nanos(
      static_cast<int32_t>(absl::ToUnixNanos(now) % 1'000'000'000));

  Event finalised = NewEvent("InvoiceFinalised", invoice.branch_id());
  pb::InvoiceFinalised* p = finalised.mutable_invoice_finalised();
  p->set_invoice_id(invoice.invoice_id());
  p->set_kind(invoice.kind());
  p->set_debtor_id(invoice.debtor_id());
  p->set_branch_id(invoice.branch_id());
  *p->mutable_total() = out.invoice.total();
  std::vector<Event> lost_sales;

  for (Line& line : *out.invoice.mutable_lines()) {
    pb::InvoiceLine* l = p->add_lines();
    l->set_line(line.line());
    l->set_part_number(line.part_number());
    l->set_quantity_ordered(line.quantity_ordered());
    l->set_quantity_supplied(line.quantity_supplied());
    l->set_quantity_back_ordered(line.quantity_back_ordered());
    *l->mutable_unit_price() = line.unit_price();
    l->set_fulfils_backorder_id(line.fulfils_backorder_id());

    if (!line.fulfils_backorder_id().empty()) {
      auto it = backorders.find(line.fulfils_backorder_id());
      if (it == backorders.end()) {
        return absl::InternalError("no view of back order " + line.fulfils_backorder_id());
      }
      const Backorder& b = it->second;
      if (Ready(b.quantities()) < line.quantity_supplied() ||
          b.state() == pb::BACKORDER_STATE_CANCELLED) {
        return absl::FailedPreconditionError(
            absl::StrCat("back order ", b.context().backorder_id(), " on line ", line.line(),
                         " no longer has ", line.quantity_supplied(), " ready to invoice"));
      }
      Event e = NewEvent("BackorderInvoiced", invoice.branch_id());
      pb::BackorderInvoiced* bi = e.mutable_backorder_invoiced();
      *bi->mutable_context() = b.context();
      bi->set_invoicing_invoice_id(invoice.invoice_id());
      bi->set_invoicing_line(line.line());
      bi->set_quantity(line.quantity_supplied());
      *bi->mutable_quantities() = b.quantities();
      bi->mutable_quantities()->set_invoiced(b.quantities().invoiced() + line.quantity_supplied());
      out.backorder_events[b.context().backorder_id()] = std::move(e);
      continue;
    }
    if (line.quantity_back_ordered() > 0) {
      Event e = NewEvent("BackorderCreated", invoice.branch_id());
      pb::BackorderCreated* bc = e.mutable_backorder_created();
      *bc->mutable_context() = ContextFor(invoice, line);
      bc->set_quantity(line.quantity_back_ordered());
      line.set_created_backorder_id(bc->context().backorder_id());
      out.backorder_events[bc->context().backorder_id()] = std::move(e);
    }
    if (line.quantity_lost() > 0) {
      Event e = NewEvent("LostSaleRecorded", invoice.branch_id());
      pb::LostSaleRecorded* ls = e.mutable_lost_sale_recorded();
      ls->set_invoice_id(invoice.invoice_id());
      ls->set_invoice_line(line.line());
      ls->set_debtor_id(invoice.debtor_id());
      ls->set_branch_id(invoice.branch_id());
      ls->set_part_number(line.part_number());
      ls->set_quantity(line.quantity_lost());
      lost_sales.push_back(std::move(e));
    }
  }
  out.invoice_events.push_back(std::move(finalised));
  for (auto& e : lost_sales) out.invoice_events.push_back(std::move(e));
  return out;
}

absl::StatusOr<Invoice> Abandon(const Invoice& invoice) {
  if (absl::Status s = CheckDraft(invoice); !s.ok()) return s;
  Invoice out = invoice;
  out.set_status(pb::INVOICE_STATUS_ABANDONED);
  return out;
}

absl::StatusOr<Event> Cancel(const Backorder& b, const std::string& reason) {
  const auto& id = b.context().backorder_id();
  if (b.state() == pb::BACKORDER_STATE_CANCELLED) {
    return absl::FailedPreconditionError(absl::StrCat("back order ", id, " is already cancelled"));
  }
  if (b.state() == pb::BACKORDER_STATE_INVOICED) {
    return absl::FailedPreconditionError(
        absl::StrCat("back order ", id, " is fully invoiced; nothing is left to cancel"));
  }
  if (!b.draft_invoice_id().empty()) {
    return absl::FailedPreconditionError(absl::StrCat("back order ", id, " is on draft invoice ",
                                                      b.draft_invoice_id(),
                                                      "; finalise or abandon that draft first"));
  }
  const pb::BackorderQuantities& q = b.quantities();
  Event e = NewEvent("BackorderCancelled", b.context().branch_id());
  e.set_reason(reason);
  pb::BackorderCancelled* c = e.mutable_backorder_cancelled();
  *c->mutable_context() = b.context();
  c->set_quantity_cancelled(q.back_ordered() - q.invoiced());
  c->set_filled_released(Ready(q));
  pb::BackorderQuantities* after = c->mutable_quantities();
  after->set_back_ordered(q.back_ordered());
  after->set_invoiced(q.invoiced());
  after->set_filled(q.invoiced());
  after->set_cancelled(q.back_ordered() - q.invoiced());
  return e;
}

absl::Status Reprice(Invoice* invoice, std::string_view field) {
  std::string currency;
  int64_t total = 0;
  for (Line& l : *invoice->mutable_lines()) {
    int64_t amount = 0;
    if (__builtin_mul_overflow(l.quantity_supplied(), l.unit_price().minor_units(), &amount)) {
      return Invalid(std::string(field),
                     absl::StrCat("line ", l.line(), ": ", l.quantity_supplied(), " at ",
                                  l.unit_price().minor_units(),
                                  " minor units each is more than an amount can hold"));
    }
    if (__builtin_add_overflow(total, amount, &total)) {
      return Invalid(std::string(field), absl::StrCat("with line ", l.line(),
                                                      " the invoice total is more than an "
                                                      "amount can hold"));
    }
    l.mutable_amount()->set_currency(l.unit_price().currency());
    l.mutable_amount()->set_minor_units(amount);
    if (currency.empty()) currency = l.unit_price().currency();
  }
  invoice->mutable_total()->set_currency(currency);
  invoice->mutable_total()->set_minor_units(total);
  return absl::OkStatus();
}

}  // namespace bo::invoicing
