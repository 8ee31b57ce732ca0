#include "libs/core/ids.h"

#include <cstdio>
#include <mutex>
#include <random>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace bo {

std::string NewUuidV7() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  static uint64_t last_ms = 0;
  static uint16_t counter = 0;

  uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
  uint16_t rand_a;
  uint64_t rand_b;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (ms <= last_ms) {
      // Same (or an earlier, if the clock stepped back) millisecond: keep ids increasing.
      ms = last_ms;
      if (++counter > 0x0fff) {  // counter exhausted: borrow the next millisecond
        ++ms;
        counter = 0;
      }
    } else {
      counter = static_cast<uint16_t>(rng() & 0x01ff);  // random start leaves room to count
    }
    last_ms = ms;
    rand_a = counter;
    rand_b = rng();
  }
  uint64_t hi = (ms << 16) | 0x7000u | (rand_a & 0x0fffu);
  uint64_t lo = (rand_b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", static_cast<uint32_t>(hi >> 32),
                         static_cast<uint32_t>((hi >> 16) & 0xffff),
                         static_cast<uint32_t>(hi & 0xffff), static_cast<uint32_t>(lo >> 48),
                         lo & 0xffffffffffffULL);
}

absl::Time UuidV7Time(const std::string& id) {
  if (id.size() != 36 || id[14] != '7') return absl::InfinitePast();
  std::string hex = id.substr(0, 8) + id.substr(9, 4);
  uint64_t ms = 0;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      return absl::InfinitePast();
    }
    ms = (ms << 4) | static_cast<uint64_t>(v);
  }
  return absl::FromUnixMillis(static_cast<int64_t>(ms));
}

std::string SortableNumber(uint64_t n) { return absl::StrFormat("%020u", n); }

}  // namespace bo
