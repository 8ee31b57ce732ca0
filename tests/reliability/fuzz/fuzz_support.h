// What the fuzz targets share: the input framing, a failure report, and the test for values a
// real producer of the topics could emit (README.md, "Known issues").
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/stubs/logging.h"

// libFuzzer's own mutation, for the custom mutators below.
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace bo::fuzz {

// Inputs of the multi-record targets are a sequence of records, each
//   [tag: 1 byte][aux: 1 byte][length: 2 bytes, little-endian][length bytes]
// `tag` chooses what the bytes are (a request type, a topic ...), `aux` gives facts the bytes
// cannot (how much stock receiving could hold ...). A length past the end takes what is left, so
// every input means something and a mutation of one record leaves the others readable.
struct Record {
  uint8_t tag = 0;
  uint8_t aux = 0;
  std::string_view bytes;
};

class RecordReader {
 public:
  RecordReader(const uint8_t* data, size_t size)
      : rest_(reinterpret_cast<const char*>(data), size) {}

  bool Next(Record* record) {
    if (rest_.size() < 4) return false;
    record->tag = static_cast<uint8_t>(rest_[0]);
    record->aux = static_cast<uint8_t>(rest_[1]);
    size_t length =
        static_cast<uint8_t>(rest_[2]) | (static_cast<size_t>(static_cast<uint8_t>(rest_[3])) << 8);
    rest_.remove_prefix(4);
    if (length > rest_.size()) length = rest_.size();
    record->bytes = rest_.substr(0, length);
    rest_.remove_prefix(length);
    return true;
  }

 private:
  std::string_view rest_;
};

// The seed generator's side of the framing.
inline void AppendRecord(std::string* out, uint8_t tag, uint8_t aux, std::string_view bytes) {
  if (bytes.size() > 0xFFFF) std::abort();  // seeds are small; a longer one would be cut short
  out->push_back(static_cast<char>(tag));
  out->push_back(static_cast<char>(aux));
  out->push_back(static_cast<char>(bytes.size() & 0xFF));
  out->push_back(static_cast<char>(bytes.size() >> 8));
  out->append(bytes);
}

// libprotobuf logs every string field that is not UTF-8 as it parses; the targets parse
// millions of such inputs, and the log would bury libFuzzer's report.
inline const bool kQuietProtobuf = [] {
  google::protobuf::SetLogHandler(nullptr);
  return true;
}();

// A broken invariant: libFuzzer records the input as a crash.
[[noreturn]] inline void Fail(const std::string& what) {
  std::fprintf(stderr, "FUZZ INVARIANT BROKEN: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// Protobuf's valid Timestamp range (0001-01-01 .. 9999-12-31) and 2^53 (the largest integer a
// double holds exactly): edges a mutation tries, next to int64's own.
inline constexpr int64_t kMinTimestampSeconds = -62'135'596'800;
inline constexpr int64_t kMaxTimestampSeconds = 253'402'300'799;
inline constexpr int64_t kMaxPlausible = int64_t{1} << 53;

// ---- Structure-aware mutation ----
//
// Byte mutations rarely get a protobuf past its length prefixes with a new value in a nested
// field (a fill's quantities, a stock order line's back orders), and never with the values that
// matter: the int64 edges, the limits of the validators, the ids of the seeds. So half of the
// mutations decode a record as its message, change one field (recursively) to such a value, or
// add, drop, repeat or swap records, and encode it again; the other half are libFuzzer's own.

using MessageFactory = std::function<std::unique_ptr<google::protobuf::Message>(uint8_t tag)>;

inline int64_t PickInt64(std::minstd_rand& rng) {
  static constexpr int64_t kEdges[] = {std::numeric_limits<int64_t>::min(),
                                       std::numeric_limits<int64_t>::min() + 1,
                                       -1'000'000'000'000,
                                       -1'000'000'000,
                                       -1,
                                       0,
                                       1,
                                       2,
                                       3,
                                       5,
                                       1'000'000'000,
                                       1'000'000'001,
                                       1'000'000'000'000,
                                       1'000'000'000'001,
                                       kMaxPlausible,
                                       kMaxPlausible + 1,
                                       kMinTimestampSeconds - 1,
                                       kMaxTimestampSeconds + 1,
                                       1'800'000'000,
                                       std::numeric_limits<int64_t>::max() - 1,
                                       std::numeric_limits<int64_t>::max()};
  if (rng() % 4 == 0) return static_cast<int64_t>(rng()) - (1 << 30);
  return kEdges[rng() % std::size(kEdges)];
}

inline int32_t PickInt32(std::minstd_rand& rng) {
  static constexpr int32_t kEdges[] = {
      std::numeric_limits<int32_t>::min(), -1, 0, 1, 2, 3, 999'999'999, 1'000'000'000, 1000, 1001,
      std::numeric_limits<int32_t>::max()};
  if (rng() % 4 == 0) return static_cast<int32_t>(rng() % 2000) - 1000;
  return kEdges[rng() % std::size(kEdges)];
}

inline std::string PickString(std::minstd_rand& rng) {
  static const char* const kWords[] = {"",
                                       "BO-NORTH-000001-1",
                                       "BO-NORTH-000001-2",
                                       "INV-NORTH-000001",
                                       "INV-NORTH-000002",
                                       "SO-NORTH-000001",
                                       "NORTH",
                                       "SOUTH",
                                       "HL-3003",
                                       "BR-1",
                                       "D-1",
                                       "D-2",
                                       "SUP-9",
                                       "AUD",
                                       "aud",
                                       "CI-77",
                                       "receipt",
                                       "changed",
                                       "abandoned",
                                       "a/b",
                                       "a b",
                                       "%2F",
                                       "\xff\xfe",
                                       "x@y.z",
                                       "  "};
  switch (rng() % 8) {
    case 0:
      return std::string(64 + rng() % 3, 'A');  // around CheckId's limit
    case 1:
      return std::string(199 + rng() % 3, 'x');  // around CheckText's
    case 2: {
      std::string random(rng() % 8, '\0');
      for (char& c : random) c = static_cast<char>(rng());
      return random;
    }
    default:
      return kWords[rng() % std::size(kWords)];
  }
}

// Changes one field of `m`, picked at random, going down into sub-messages.
inline void MutateField(google::protobuf::Message* m, std::minstd_rand& rng, int depth = 0) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Descriptor* d = m->GetDescriptor();
  const google::protobuf::Reflection* r = m->GetReflection();
  if (d->field_count() == 0) return;
  const FieldDescriptor* f = d->field(static_cast<int>(rng() % d->field_count()));
  if (f->is_repeated()) {
    const int size = r->FieldSize(*m, f);
    if (size > 0 && rng() % 4 == 0) {
      r->RemoveLast(m, f);
      return;
    }
    if (size > 0 && rng() % 4 == 0) {
      r->SwapElements(m, f, 0, size - 1);
      return;
    }
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth < 8) {
          google::protobuf::Message* element = size > 0 && rng() % 2 == 0
                                                   ? r->MutableRepeatedMessage(m, f, rng() % size)
                                                   : r->AddMessage(m, f);
          MutateField(element, rng, depth + 1);
        }
        return;
      case FieldDescriptor::CPPTYPE_STRING:
        r->AddString(m, f, PickString(rng));
        return;
      case FieldDescriptor::CPPTYPE_INT64:
        r->AddInt64(m, f, PickInt64(rng));
        return;
      case FieldDescriptor::CPPTYPE_INT32:
        r->AddInt32(m, f, PickInt32(rng));
        return;
      default:
        return;
    }
  }
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT64:
      r->SetInt64(m, f, PickInt64(rng));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      r->SetUInt64(m, f, static_cast<uint64_t>(PickInt64(rng)));
      break;
    case FieldDescriptor::CPPTYPE_INT32:
      r->SetInt32(m, f, PickInt32(rng));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      r->SetBool(m, f, !r->GetBool(*m, f));
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      r->SetEnumValue(m, f, static_cast<int>(rng() % 9) - 1);
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      r->SetString(m, f, PickString(rng));
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (rng() % 8 == 0) {
        r->ClearField(m, f);  // for a oneof payload: another payload, or none
      } else if (depth < 8) {
        MutateField(r->MutableMessage(m, f), rng, depth + 1);
      }
      break;
    default:
      break;
  }
}

struct OwnedRecord {
  uint8_t tag = 0;
  uint8_t aux = 0;
  std::string bytes;
};

// A custom mutator for LLVMFuzzerCustomMutator: the input is framed records when `framed`,
// otherwise one record (the whole input) whose tag is 0. `factory(tag)` gives the message a
// record's bytes are.
inline size_t MutateStructured(uint8_t* data, size_t size, size_t max_size, unsigned int seed,
                               bool framed, const MessageFactory& factory) {
  std::minstd_rand rng(seed);
  if (rng() % 2 == 0) return LLVMFuzzerMutate(data, size, max_size);
  std::vector<OwnedRecord> records;
  if (framed) {
    RecordReader reader(data, size);
    Record r;
    while (reader.Next(&r)) records.push_back({r.tag, r.aux, std::string(r.bytes)});
  } else {
    records.push_back({0, 0, std::string(reinterpret_cast<const char*>(data), size)});
  }
  if (records.empty()) return LLVMFuzzerMutate(data, size, max_size);
  const size_t i = rng() % records.size();
  const unsigned op = framed ? rng() % 10 : 0;
  if (op == 1) {
    records.insert(records.begin() + static_cast<long>(rng() % (records.size() + 1)), records[i]);
  } else if (op == 2 && records.size() > 1) {
    records.erase(records.begin() + static_cast<long>(i));
  } else if (op == 3) {
    std::swap(records[i], records[rng() % records.size()]);
  } else if (op == 4) {
    records[i].tag = static_cast<uint8_t>(rng());
  } else if (op == 5) {
    records[i].aux = static_cast<uint8_t>(rng());
  } else {
    std::unique_ptr<google::protobuf::Message> m = factory(records[i].tag);
    if (m == nullptr || !m->ParseFromString(records[i].bytes)) {
      return LLVMFuzzerMutate(data, size, max_size);
    }
    const unsigned changes = 1 + rng() % 3;
    for (unsigned k = 0; k < changes; ++k) MutateField(m.get(), rng);
    records[i].bytes = m->SerializeAsString();
  }
  std::string out;
  if (framed) {
    for (const OwnedRecord& r : records) {
      if (r.bytes.size() > 0xFFFF) return LLVMFuzzerMutate(data, size, max_size);
      AppendRecord(&out, r.tag, r.aux, r.bytes);
    }
  } else {
    out = std::move(records[0].bytes);
  }
  if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

}  // namespace bo::fuzz
