#include "libs/store/key_range_mirror.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace bo {

namespace {
// Entries copied out per turn of the lock: a scan never holds it while `visit` runs.
constexpr size_t kChunk = 64;
}  // namespace

KeyRangeMirror::KeyRangeMirror(EventStore* store, std::string prefix)
    : store_(store), prefix_(std::move(prefix)) {
  observer_ = store_->AddCommitObserver([this](const CommitRequest& c) { Apply(c); });
}

KeyRangeMirror::~KeyRangeMirror() { store_->RemoveCommitObserver(observer_); }

void KeyRangeMirror::Apply(const CommitRequest& commit) {
  std::lock_guard lock(mu_);
  if (!loaded_) return;  // the first Scan reads the database, this commit included
  // In the order EventStore::Commit puts them in its WriteBatch: the puts, then the deletes (so a
  // key in both ends deleted, there as here).
  for (const auto& [key, value] : commit.state) {
    if (key.starts_with(prefix_)) entries_.insert_or_assign(key, value);
  }
  for (const std::string& key : commit.state_deletes) {
    if (key.starts_with(prefix_)) entries_.erase(key);
  }
}

absl::Status KeyRangeMirror::LoadLocked() {
  entries_.clear();
  absl::Status s = store_->database()->Scan(kStateFamily, prefix_, "",
                                            [&](std::string_view key, std::string_view value) {
                                              entries_.emplace(key, value);
                                              return true;
                                            });
  if (!s.ok()) {
    entries_.clear();
    return s;
  }
  loaded_ = true;
  return absl::OkStatus();
}

absl::Status KeyRangeMirror::Scan(
    std::string_view family, std::string_view prefix, std::string_view start_after,
    const std::function<bool(std::string_view key, std::string_view value)>& visit) {
  if (family != kStateFamily || !prefix.starts_with(prefix_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a scan of ", std::string(family), " under \"", std::string(prefix),
                     "\" is outside the mirrored state keys \"", prefix_, "\""));
  }
  std::string after(start_after);
  std::vector<std::pair<std::string, std::string>> chunk;
  while (true) {
    chunk.clear();
    {
      std::lock_guard lock(mu_);
      if (!loaded_) {
        if (absl::Status s = LoadLocked(); !s.ok()) return s;
      }
      // The first key after `after` with the prefix, wherever `after` lies (as Database::Scan).
      auto it = after < prefix ? entries_.lower_bound(prefix) : entries_.upper_bound(after);
      for (; it != entries_.end() && chunk.size() < kChunk; ++it) {
        if (!std::string_view(it->first).starts_with(prefix)) break;
        chunk.emplace_back(it->first, it->second);
      }
    }
    for (const auto& [key, value] : chunk) {
      if (!visit(key, value)) return absl::OkStatus();
    }
    if (chunk.size() < kChunk) return absl::OkStatus();
    after = chunk.back().first;
  }
}

}  // namespace bo
