// Fuzz target: command validation and the pure domains behind it. The input is a sequence of
// requests (fuzz_support.h framing): the tag chooses the RPC (one of the 35 of the four
// services), the bytes are parsed as its request message, as gRPC would. Each request is
//   1. taken apart field by field through the validators of services/common/command_support.h
//      (CheckId, CheckText, CheckRequestId, CheckQuantity, CheckMoney, PageSize, page tokens),
//      each judged on its own: what it accepts is within its documented limits, what it refuses
//      is INVALID_ARGUMENT naming the field, and ToGrpc turns that into a BadRequest detail;
//   2. answered by the workflow model (tests/reliability/model): the handler's own checks, then
//      the domain decision (StockLedger Decide, the invoice functions, the stock-order rules,
//      debtor-query's rules), then every reaction to the events published.
// After each request the model's rules are checked (Workflow::Violations: stock conservation,
// the back-order life cycle and agreement across services, invoice and stock-order figures).
// The record's aux byte lets time pass (holds expire) when its top bit is set.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "services/common/command_support.h"
#include "tests/reliability/fuzz/fuzz_support.h"
#include "tests/reliability/model/workflow_model.h"

namespace {

namespace pb = ::backorder::v1;
using bo::fuzz::Fail;
using google::protobuf::FieldDescriptor;

// A refusal must be INVALID_ARGUMENT whose BadRequest detail names `field` (or a sub-field).
void CheckRefusal(const absl::Status& s, const std::string& field) {
  if (s.ok()) return;
  if (s.code() != absl::StatusCode::kInvalidArgument) {
    Fail(absl::StrCat("validator of ", field, " answered ", s.ToString()));
  }
  const grpc::Status g = bo::ToGrpc(s);
  google::rpc::Status details;
  google::rpc::BadRequest bad;
  if (!details.ParseFromString(g.error_details()) || details.details_size() != 1 ||
      !details.details(0).UnpackTo(&bad) || bad.field_violations_size() != 1 ||
      !bad.field_violations(0).field().starts_with(field)) {
    Fail(absl::StrCat("refusal of ", field, " does not name it: ", s.ToString()));
  }
}

bool IdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == ':';
}

void CheckString(const std::string& field, const std::string& v) {
  absl::Status id = bo::CheckId(field, v, /*required=*/false);
  CheckRefusal(id, field);
  if (id.ok() && (v.size() > 64 || !std::all_of(v.begin(), v.end(), IdChar))) {
    Fail(absl::StrCat("CheckId accepted \"", v, "\""));
  }
  if (bo::CheckId(field, v, /*required=*/true).ok() != (id.ok() && !v.empty())) {
    Fail("CheckId required/optional disagree");
  }
  for (const bool required : {false, true}) {
    absl::Status text = bo::CheckText(field, v, 200, required);
    CheckRefusal(text, field);
    if (text.ok() && v.size() > 200) Fail("CheckText accepted an over-long text");
    if (text.ok() && std::any_of(v.begin(), v.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x20 && c != '\t';
        })) {
      Fail("CheckText accepted a control character");
    }
  }
  absl::Status request_id = bo::CheckRequestId(v);
  CheckRefusal(request_id, "request_id");
  if (request_id.ok() && (v.empty() || v.size() > 128)) Fail("CheckRequestId accepted it");
  // Page tokens: what EncodePageToken gives back decodes to what it was given.
  auto decoded = bo::DecodePageToken(bo::EncodePageToken(v));
  if (!decoded.ok() || *decoded != v) Fail("a page token does not round-trip");
  CheckRefusal(bo::DecodePageToken(v).status(), "page_token");
  CheckRefusal(bo::PageStart(v, "invoice/").status(), "page_token");
}

void CheckInteger(const std::string& field, int64_t v) {
  for (const bool allow_zero : {false, true}) {
    absl::Status q = bo::CheckQuantity(field, v, allow_zero);
    CheckRefusal(q, field);
    if (q.ok() && (v < (allow_zero ? 0 : 1) || v > bo::kMaxRequestQuantity)) {
      Fail(absl::StrCat("CheckQuantity accepted ", v));
    }
  }
  if (v >= INT32_MIN && v <= INT32_MAX) {
    auto size = bo::PageSize(static_cast<int32_t>(v));
    CheckRefusal(size.status(), "page_size");
    if (size.ok() && (*size < 1 || *size > 1000)) Fail(absl::StrCat("PageSize gave ", *size));
  }
}

// Every field of `m`, recursively, through the validator for its kind.
void Validate(const google::protobuf::Message& m, const std::string& path) {
  if (const auto* money = dynamic_cast<const pb::Money*>(&m)) {
    for (const bool required : {false, true}) {
      absl::Status s = bo::CheckMoney(path, *money, required);
      CheckRefusal(s, path);
      if (s.ok() && (money->minor_units() < 0 || money->minor_units() > 1'000'000'000'000)) {
        Fail("CheckMoney accepted an amount out of range");
      }
    }
    return;
  }
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  const google::protobuf::Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const int count = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int k = 0; k < count && k < 50; ++k) {
      const std::string field =
          f->is_repeated() ? absl::StrCat(path, f->name(), "[", k, "]") : path + f->name();
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_STRING:
          CheckString(field, f->is_repeated() ? r->GetRepeatedString(m, f, k) : r->GetString(m, f));
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          CheckInteger(field, f->is_repeated() ? r->GetRepeatedInt64(m, f, k) : r->GetInt64(m, f));
          break;
        case FieldDescriptor::CPPTYPE_INT32:
          CheckInteger(field, f->is_repeated() ? r->GetRepeatedInt32(m, f, k) : r->GetInt32(m, f));
          break;
        case FieldDescriptor::CPPTYPE_MESSAGE:
          Validate(f->is_repeated() ? r->GetRepeatedMessage(m, f, k) : r->GetMessage(m, f),
                   field + ".");
          break;
        default:
          break;
      }
    }
  }
}

void CheckRules(const bo::reliability::Workflow& workflow, const std::string& when) {
  const std::vector<std::string> broken = workflow.Violations();
  if (!broken.empty()) Fail(absl::StrCat(when, ":\n  ", absl::StrJoin(broken, "\n  ")));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bo::reliability::Workflow workflow;
  bo::fuzz::RecordReader reader(data, size);
  bo::fuzz::Record record;
  int handled = 0;
  while (reader.Next(&record)) {
    const auto rpc = static_cast<bo::reliability::Rpc>(record.tag % bo::reliability::kRpcCount);
    auto request = bo::reliability::NewRequest(rpc);
    if (!request->ParseFromArray(record.bytes.data(), static_cast<int>(record.bytes.size()))) {
      continue;  // gRPC refuses it before any handler sees it
    }
    Validate(*request, "");
    const absl::Status answer = workflow.Handle(rpc, *request);
    if (answer.code() == absl::StatusCode::kInvalidArgument) {
      // Guarantee 8: every refusal of a request names the field it refuses.
      const std::string message(answer.message());
      const size_t colon = message.find(": ");
      if (colon == std::string::npos || colon == 0 || message.find(' ') < colon) {
        Fail(absl::StrCat(bo::reliability::RpcName(rpc),
                          " refused without naming a field: ", message));
      }
    }
    if (record.aux & 0x80) workflow.Advance(absl::Minutes(record.aux & 0x7F));
    // The whole rule set every 8 requests (it reads every view) and at the end; what breaks
    // in between is kept by the model until then.
    if (++handled % 8 == 0) CheckRules(workflow, "after " + request->ShortDebugString());
  }
  CheckRules(workflow, "at the end");
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  return bo::fuzz::MutateStructured(data, size, max_size, seed, /*framed=*/true, [](uint8_t tag) {
    return bo::reliability::NewRequest(
        static_cast<bo::reliability::Rpc>(tag % bo::reliability::kRpcCount));
  });
}
