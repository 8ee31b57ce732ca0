#include "libs/store/key_range_mirror.h"

#include <random>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "libs/store/store_fixture.h"

namespace bo {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

class KeyRangeMirrorTest : public StoreFixture {
 protected:
  void Commit(Entries puts, std::vector<std::string> deletes = {}) {
    CommitRequest c;
    c.state = std::move(puts);
    c.state_deletes = std::move(deletes);
    ASSERT_TRUE(store_->Commit(c).ok());
  }
  template <typename Reader>
  static Entries ScanOf(Reader& reader, std::string_view prefix, std::string_view after = "",
                        size_t limit = 1'000'000) {
    Entries out;
    absl::Status s = reader.Scan(kStateFamily, prefix, after, [&](auto k, auto v) {
      out.emplace_back(k, v);
      return out.size() < limit;
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }
};

TEST_F(KeyRangeMirrorTest, LoadsWhatWasThereAndFollowsLaterCommits) {
  Commit({{"open/a/1", "x"}, {"open/a/2", ""}, {"other/1", "y"}});
  KeyRangeMirror mirror(store_.get(), "open/");
  Commit({{"open/a/3", "z"}});  // before the first scan: read from the database
  EXPECT_EQ(ScanOf(mirror, "open/"),
            (Entries{{"open/a/1", "x"}, {"open/a/2", ""}, {"open/a/3", "z"}}));

  Commit({{"open/b/1", "b"}, {"open/a/2", "changed"}, {"other/2", "no"}}, {"open/a/1"});
  EXPECT_EQ(ScanOf(mirror, "open/a/"), (Entries{{"open/a/2", "changed"}, {"open/a/3", "z"}}));
  EXPECT_EQ(ScanOf(mirror, "open/b/"), (Entries{{"open/b/1", "b"}}));
  // A key both put and deleted in one commit ends deleted, as in the WriteBatch.
  Commit({{"open/a/4", "both"}}, {"open/a/4"});
  EXPECT_EQ(ScanOf(mirror, "open/a/"), ScanOf(*db_, "open/a/"));
}

TEST_F(KeyRangeMirrorTest, ACommitThatWasNotWrittenChangesNothing) {
  KeyRangeMirror mirror(store_.get(), "open/");
  EXPECT_TRUE(ScanOf(mirror, "open/").empty());
  CommitRequest first;
  first.state = {{"open/a/1", ""}};
  first.idempotency = IdempotencyRecord{"req-1", "answer"};
  ASSERT_TRUE(store_->Commit(first).ok());
  CommitRequest again;  // the same request id: ALREADY_EXISTS, nothing written
  again.state = {{"open/a/2", ""}};
  again.state_deletes = {"open/a/1"};
  again.idempotency = IdempotencyRecord{"req-1", "answer"};
  ASSERT_EQ(store_->Commit(again).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ScanOf(mirror, "open/"), (Entries{{"open/a/1", ""}}));
  EXPECT_EQ(ScanOf(mirror, "open/"), ScanOf(*db_, "open/"));
}

TEST_F(KeyRangeMirrorTest, ScansAsTheDatabaseDoesAfterManyCommits) {
  KeyRangeMirror mirror(store_.get(), "q/");
  EXPECT_TRUE(ScanOf(mirror, "q/").empty());  // loaded now: every later commit is mirrored
  std::mt19937 rng(20261130);
  std::vector<std::string> live;
  for (int i = 0; i < 3000; ++i) {
    Entries puts;
    std::vector<std::string> deletes;
    const std::string key = "q/" + std::to_string(rng() % 3) + "/" + std::to_string(100000 + i);
    puts.emplace_back(key, std::to_string(i));
    live.push_back(key);
    // Most entries go again soon, from anywhere in the queue: a store of mostly deleted keys.
    if (rng() % 100 < 95 && !live.empty()) {
      const size_t at = rng() % live.size();
      deletes.push_back(live[at]);
      live.erase(live.begin() + static_cast<ptrdiff_t>(at));
    }
    Commit(std::move(puts), std::move(deletes));
  }
  ASSERT_FALSE(live.empty());
  for (const char* prefix : {"q/", "q/0/", "q/1/", "q/2/", "q/3/"}) {
    EXPECT_EQ(ScanOf(mirror, prefix), ScanOf(*db_, prefix)) << prefix;
    // Pages: from the middle, from before the prefix, past its end; a visit that stops.
    const Entries all = ScanOf(*db_, prefix);
    for (const std::string& after :
         {std::string("a"), std::string("q/1/100500"), std::string("z"), std::string(prefix)}) {
      EXPECT_EQ(ScanOf(mirror, prefix, after), ScanOf(*db_, prefix, after)) << prefix << after;
    }
    EXPECT_EQ(ScanOf(mirror, prefix, "", 100), ScanOf(*db_, prefix, "", 100)) << prefix;
  }
}

TEST_F(KeyRangeMirrorTest, RefusesAScanOutsideItsRange) {
  KeyRangeMirror mirror(store_.get(), "open/");
  auto visit = [](std::string_view, std::string_view) { return true; };
  EXPECT_EQ(mirror.Scan(kStateFamily, "other/", "", visit).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(mirror.Scan(kStateFamily, "ope", "", visit).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(mirror.Scan(kReadModelFamily, "open/", "", visit).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KeyRangeMirrorTest, StopsObservingWhenGone) {
  {
    KeyRangeMirror mirror(store_.get(), "open/");
    EXPECT_TRUE(ScanOf(mirror, "open/").empty());
  }
  // The store no longer calls the mirror (under ASan a dangling observer fails here).
  Commit({{"open/a/1", ""}});
  KeyRangeMirror again(store_.get(), "open/");
  EXPECT_EQ(ScanOf(again, "open/"), (Entries{{"open/a/1", ""}}));
}

}  // namespace
}  // namespace bo
