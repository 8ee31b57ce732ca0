// Identifiers and time used across the services.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace bo {

// A new UUIDv7 (RFC 9562) in its canonical 36-character text form. The first 48 bits are the
// Unix time in milliseconds, so ids sort by creation time; within one millisecond a process
// keeps them strictly increasing (monotonic counter in rand_a), which makes them usable as
// ordered keys. Thread-safe.
std::string NewUuidV7();

// The millisecond timestamp encoded in a UUIDv7, or absl::InfinitePast() if `id` is not one.
absl::Time UuidV7Time(const std::string& id);

// Fixed-width (20 digit) decimal, so numbers sort as strings in RocksDB keys.
std::string SortableNumber(uint64_t n);

}  // namespace bo
