// LedgerRepository's cache: a command takes its ledger out of the cache and must give back
// exactly what is committed, never staged events whose commit did not happen.
#include "services/receiving/ledger_repository.h"

#include <memory>

#include "gtest/gtest.h"
#include "libs/store/store_fixture.h"

namespace bo::receiving {
namespace {

class LedgerRepositoryTest : public StoreFixture {
 protected:
  static Caller Clerk() {
    Caller caller;
    caller.subject = "clerk";
    return caller;
  }
  // Stages an AdjustStock of `delta` on the loaded ledger into `commit`.
  void StageAdjustment(LoadedLedger* ledger, int64_t delta, CommitRequest* commit) {
    auto events = Decide(ledger->state, AdjustStock{delta, "count"});
    ASSERT_TRUE(events.ok()) << events.status();
    repo_->Stage(ledger, std::move(*events), absl::Now(), Clerk(), "req", commit);
  }
  // Loads, adjusts by `delta` and commits through Settle.
  void CommitAdjustment(int64_t delta) {
    auto ledger = repo_->Load("B1", "P1");
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    CommitRequest commit;
    StageAdjustment(&*ledger, delta, &commit);
    ASSERT_TRUE(repo_->Settle(*std::move(ledger), store_->Commit(commit)).ok());
  }
  void ExpectOnHand(int64_t on_hand, uint64_t version) {
    auto ledger = repo_->Load("B1", "P1");
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    EXPECT_EQ(ledger->state.on_hand, on_hand);
    EXPECT_EQ(ledger->version, version);
  }

  void SetUp() override {
    StoreFixture::SetUp();
    repo_ = std::make_unique<LedgerRepository>(store_.get());
  }
  void TearDown() override {
    repo_.reset();
    StoreFixture::TearDown();
  }

  std::unique_ptr<LedgerRepository> repo_;
};

TEST_F(LedgerRepositoryTest, ACommittedLedgerIsLoadedAgainAsCommitted) {
  CommitAdjustment(5);
  CommitAdjustment(3);
  ExpectOnHand(8, 2);
  // A load that is dropped (a read) gives the ledger back unchanged, again and again.
  ExpectOnHand(8, 2);
  // The stream says the same as the cache.
  LedgerRepository fresh(store_.get());
  auto from_stream = fresh.Load("B1", "P1");
  ASSERT_TRUE(from_stream.ok());
  EXPECT_EQ(from_stream->state.on_hand, 8);
  EXPECT_EQ(from_stream->version, 2u);
}

TEST_F(LedgerRepositoryTest, StagedEventsWithoutTheirCommitAreNeverCached) {
  CommitAdjustment(5);
  {
    // Staged, then the command gives up before committing (an error further on).
    auto ledger = repo_->Load("B1", "P1");
    ASSERT_TRUE(ledger.ok());
    CommitRequest commit;
    StageAdjustment(&*ledger, 100, &commit);
    EXPECT_EQ(ledger->state.on_hand, 105);
  }
  ExpectOnHand(5, 1);
  {
    // Staged, and its commit failed.
    auto ledger = repo_->Load("B1", "P1");
    ASSERT_TRUE(ledger.ok());
    CommitRequest commit;
    StageAdjustment(&*ledger, 100, &commit);
    EXPECT_FALSE(repo_->Settle(*std::move(ledger), absl::AbortedError("conflict")).ok());
  }
  ExpectOnHand(5, 1);
  // And the next command commits on top of what is really there.
  CommitAdjustment(1);
  ExpectOnHand(6, 2);
}

TEST_F(LedgerRepositoryTest, ALedgerMovedIntoAnotherIsGivenBackOnce) {
  CommitAdjustment(5);
  auto first = repo_->Load("B1", "P1");
  ASSERT_TRUE(first.ok());
  LoadedLedger held = std::move(*first);
  LoadedLedger other;
  other = std::move(held);  // the loan moves with the state
  EXPECT_EQ(other.state.on_hand, 5);
  other = LoadedLedger();  // dropping it by assignment gives it back
  ExpectOnHand(5, 1);
  // Given back, not merely re-read: the repository is its streams' only writer and trusts its
  // cache, so an event written behind its back is not seen (a command would then fail on the
  // stream's expected version, and Settle would drop the ledger).
  CommitRequest behind;
  behind.appends.push_back({LedgerId("B1", "P1"), 1, {"not an event the repository wrote"}});
  ASSERT_TRUE(store_->Commit(behind).ok());
  ExpectOnHand(5, 1);
}

}  // namespace
}  // namespace bo::receiving
