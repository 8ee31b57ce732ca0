#include "libs/store/event_store.h"

#include <algorithm>
#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "rocksdb/iterator.h"

namespace bo {
namespace {

// Stream keys: aggregate id, NUL, 20-digit version, so one stream's events are contiguous and
// in order, and no aggregate id can be a prefix-match of another's key.
std::string StreamPrefix(const std::string& aggregate_id) {
  std::string k = aggregate_id;
  k.push_back('\0');
  return k;
}

}  // namespace

std::string EventKey(const std::string& aggregate_id, uint64_t version) {
  return StreamPrefix(aggregate_id) + SortableNumber(version);
}

namespace {

// Outbox entries are length-prefixed fields: cheap, and private to this file.
void PutField(std::string* out, std::string_view field) {
  uint32_t n = static_cast<uint32_t>(field.size());
  out->append(reinterpret_cast<const char*>(&n), sizeof n);
  out->append(field.data(), field.size());
}
bool GetField(std::string_view* in, std::string* field) {
  uint32_t n;
  if (in->size() < sizeof n) return false;
  std::copy_n(in->data(), sizeof n, reinterpret_cast<char*>(&n));
  in->remove_prefix(sizeof n);
  if (in->size() < n) return false;
  field->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}
std::string EncodeOutbox(const OutboxMessage& m) {
  std::string out;
  PutField(&out, m.topic);
  PutField(&out, m.key);
  PutField(&out, m.value);
  PutField(&out, m.event_id);
  PutField(&out, std::to_string(m.headers.size()));
  for (const auto& [k, v] : m.headers) {
    PutField(&out, k);
    PutField(&out, v);
  }
  return out;
}
bool DecodeOutbox(std::string_view in, OutboxMessage* m) {
  std::string count;
  if (!GetField(&in, &m->topic) || !GetField(&in, &m->key) || !GetField(&in, &m->value) ||
      !GetField(&in, &m->event_id) || !GetField(&in, &count)) {
    return false;
  }
  size_t n = 0;
  if (!absl::SimpleAtoi(count, &n) || n > in.size()) return false;
  m->headers.resize(n);
  for (auto& [k, v] : m->headers) {
    if (!GetField(&in, &k) || !GetField(&in, &v)) return false;
  }
  return in.empty();
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventStore>> EventStore::Open(Database* db) {
  std::unique_ptr<EventStore> store(new EventStore(db));
  std::unique_ptr<rocksdb::Iterator> it(
      db->db()->NewIterator(rocksdb::ReadOptions(), db->family(kOutboxFamily)));
  uint64_t depth = 0;
  uint64_t last = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++depth;
    if (!absl::SimpleAtoi(it->key().ToString(), &last)) {
      return absl::DataLossError("outbox key is not a sequence number: " + it->key().ToString());
    }
  }
  if (!it->status().ok()) return FromRocks(it->status());
  // Sequence numbers continue after the highest entry still waiting. Entries already removed
  // may have had higher numbers; reuse is harmless because the relay matches by event id.
  store->next_seq_ = last + 1;
  store->readable_up_to_ = last;
  store->depth_ = depth;
  return store;
}

std::mutex& EventStore::StripeFor(const std::string& key) {
  return stripes_[std::hash<std::string>{}(key) % kStripes];
}

absl::Status EventStore::Commit(const CommitRequest& request) {
  // Lock every stripe the command touches, in index order so two commands never deadlock.
  std::vector<size_t> stripe_ids;
  std::set<std::string_view> aggregates;
  for (const auto& a : request.appends) {
    if (a.aggregate_id.empty()) return absl::InvalidArgumentError("aggregate_id is empty");
    // Two appends to one stream would both be checked against the same version and then write
    // the same keys: one append per stream per commit.
    if (!aggregates.insert(a.aggregate_id).second) {
      return absl::InvalidArgumentError("stream " + a.aggregate_id +
                                        " appears twice in one commit");
    }
    stripe_ids.push_back(std::hash<std::string>{}(a.aggregate_id) % kStripes);
  }
  if (request.idempotency) {
    stripe_ids.push_back(std::hash<std::string>{}("req:" + request.idempotency->request_id) %
                         kStripes);
  }
  std::sort(stripe_ids.begin(), stripe_ids.end());
  stripe_ids.erase(std::unique(stripe_ids.begin(), stripe_ids.end()), stripe_ids.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  for (size_t i : stripe_ids) locks.emplace_back(stripes_[i]);

  if (request.idempotency) {
    auto found = FindAnswer(request.idempotency->request_id);
    if (!found.ok()) return found.status();
    if (found->has_value()) {
      return absl::AlreadyExistsError(
          absl::StrCat("request ", request.idempotency->request_id, " was already committed"));
    }
  }

  rocksdb::WriteBatch batch;
  for (const auto& a : request.appends) {
    auto version = StreamVersion(a.aggregate_id);
    if (!version.ok()) return version.status();
    if (*version != a.expected_version) {
      return absl::AbortedError(absl::StrCat("stream ", a.aggregate_id, " is at version ", *version,
                                             ", expected ", a.expected_version,
                                             ": it changed concurrently; read it again"));
    }
    uint64_t v = a.expected_version;
    for (const auto& e : a.events) {
      batch.Put(db_->family(kEventsFamily), EventKey(a.aggregate_id, ++v), e);
    }
  }
  for (const auto& [k, v] : request.state) batch.Put(db_->family(kStateFamily), k, v);
  for (const auto& k : request.state_deletes) batch.Delete(db_->family(kStateFamily), k);
  if (request.idempotency) {
    batch.Put(db_->family(kIdempotencyFamily), request.idempotency->request_id,
              request.idempotency->response);
  }

  std::vector<uint64_t> seqs;
  if (!request.outbox.empty()) {
    std::lock_guard<std::mutex> lock(outbox_mu_);
    for (size_t i = 0; i < request.outbox.size(); ++i) {
      seqs.push_back(next_seq_);
      in_flight_.insert(next_seq_++);
    }
  }
  for (size_t i = 0; i < request.outbox.size(); ++i) {
    batch.Put(db_->family(kOutboxFamily), SortableNumber(seqs[i]), EncodeOutbox(request.outbox[i]));
  }

  absl::Status s = db_->Write(&batch, /*sync=*/true);

  if (!seqs.empty()) {
    std::lock_guard<std::mutex> lock(outbox_mu_);
    for (uint64_t q : seqs) in_flight_.erase(q);
    if (s.ok()) depth_ += seqs.size();
    // Everything below the smallest commit still in flight is now final (written or failed).
    readable_up_to_ = in_flight_.empty() ? next_seq_ - 1 : *in_flight_.begin() - 1;
    outbox_cv_.notify_all();
  }
  if (s.ok()) {
    std::shared_lock lock(observers_mu_);
    for (const auto& [id, observer] : observers_) observer(request);
  }
  return s;
}

uint64_t EventStore::AddCommitObserver(std::function<void(const CommitRequest&)> observer) {
  std::unique_lock lock(observers_mu_);
  observers_.emplace_back(next_observer_, std::move(observer));
  return next_observer_++;
}

void EventStore::RemoveCommitObserver(uint64_t id) {
  std::unique_lock lock(observers_mu_);
  std::erase_if(observers_, [id](const auto& o) { return o.first == id; });
}

absl::StatusOr<std::vector<std::string>> EventStore::ReadStream(const std::string& aggregate_id,
                                                                uint64_t from_version) {
  std::vector<std::string> events;
  std::string prefix = StreamPrefix(aggregate_id);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db()->NewIterator(rocksdb::ReadOptions(), db_->family(kEventsFamily)));
  for (it->Seek(EventKey(aggregate_id, std::max<uint64_t>(from_version, 1)));
       it->Valid() && it->key().starts_with(prefix); it->Next()) {
    events.push_back(it->value().ToString());
  }
  if (!it->status().ok()) return FromRocks(it->status());
  return events;
}

absl::StatusOr<uint64_t> EventStore::StreamVersion(const std::string& aggregate_id) {
  std::string prefix = StreamPrefix(aggregate_id);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db()->NewIterator(rocksdb::ReadOptions(), db_->family(kEventsFamily)));
  it->SeekForPrev(prefix + std::string(20, '9'));
  if (!it->status().ok()) return FromRocks(it->status());
  if (!it->Valid() || !it->key().starts_with(prefix)) return 0;
  uint64_t version = 0;
  if (!absl::SimpleAtoi(it->key().ToString().substr(prefix.size()), &version)) {
    return absl::DataLossError("bad event key in stream " + aggregate_id);
  }
  return version;
}

absl::StatusOr<std::optional<std::string>> EventStore::GetState(const std::string& key) {
  return db_->Get(kStateFamily, key);
}

absl::StatusOr<std::optional<std::string>> EventStore::FindAnswer(const std::string& request_id) {
  return db_->Get(kIdempotencyFamily, request_id);
}

absl::StatusOr<std::vector<OutboxEntry>> EventStore::ReadOutbox(uint64_t after, size_t max) {
  uint64_t limit;
  {
    std::lock_guard<std::mutex> lock(outbox_mu_);
    limit = readable_up_to_;
  }
  std::vector<OutboxEntry> entries;
  if (after >= limit) return entries;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db()->NewIterator(rocksdb::ReadOptions(), db_->family(kOutboxFamily)));
  for (it->Seek(SortableNumber(after + 1)); it->Valid() && entries.size() < max; it->Next()) {
    uint64_t seq = 0;
    if (!absl::SimpleAtoi(it->key().ToString(), &seq)) {
      return absl::DataLossError("outbox key is not a sequence number: " + it->key().ToString());
    }
    if (seq > limit) break;
    OutboxEntry e;
    e.seq = seq;
    if (!DecodeOutbox(std::string_view(it->value().data(), it->value().size()), &e.message)) {
      return absl::DataLossError(absl::StrCat("outbox entry ", seq, " is corrupt"));
    }
    entries.push_back(std::move(e));
  }
  if (!it->status().ok()) return FromRocks(it->status());
  return entries;
}

absl::Status EventStore::RemoveFromOutbox(const std::vector<uint64_t>& seqs) {
  if (seqs.empty()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  for (uint64_t q : seqs) batch.Delete(db_->family(kOutboxFamily), SortableNumber(q));
  absl::Status s = db_->Write(&batch, /*sync=*/false);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(outbox_mu_);
    depth_ -= std::min<uint64_t>(depth_, seqs.size());
  }
  return s;
}

uint64_t EventStore::OutboxDepth() const {
  std::lock_guard<std::mutex> lock(outbox_mu_);
  return depth_;
}

void EventStore::WaitForOutbox(uint64_t after, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(outbox_mu_);
  outbox_cv_.wait_for(lock, timeout, [&] { return readable_up_to_ > after; });
}

}  // namespace bo
