#include "libs/core/ids.h"

#include <set>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace bo {
namespace {

TEST(UuidV7, HasVersionAndVariantBits) {
  std::string id = NewUuidV7();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '7');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
}

TEST(UuidV7, StrictlyIncreasingAndUnique) {
  std::string prev = NewUuidV7();
  std::set<std::string> seen{prev};
  for (int i = 0; i < 100000; ++i) {
    std::string next = NewUuidV7();
    ASSERT_LT(prev, next);
    ASSERT_TRUE(seen.insert(next).second);
    prev = next;
  }
}

TEST(UuidV7, EncodesCreationTime) {
  absl::Time before = absl::Now() - absl::Milliseconds(1);
  absl::Time t = UuidV7Time(NewUuidV7());
  EXPECT_GE(t, before - absl::Milliseconds(5));
  EXPECT_LE(t, absl::Now() + absl::Milliseconds(5));
  EXPECT_EQ(UuidV7Time("not-a-uuid"), absl::InfinitePast());
}

TEST(SortableNumber, SortsAsNumbers) {
  EXPECT_LT(SortableNumber(9), SortableNumber(10));
  EXPECT_EQ(SortableNumber(42).size(), 20u);
}

}  // namespace
}  // namespace bo
