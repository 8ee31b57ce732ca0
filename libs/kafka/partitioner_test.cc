#include "libs/kafka/partitioner.h"

#include "gtest/gtest.h"

namespace bo::kafka {
namespace {

// Expected values from Kafka's own UtilsTest.testMurmur2.
TEST(Murmur2, MatchesKafkasJavaImplementation) {
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2(std::string_view("abc", 3)), 479470107);
}

TEST(PartitionForKey, IsStableAndInRange) {
  for (int n : {1, 3, 12}) {
    int32_t p = PartitionForKey("branch-01/PART-123", n);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, n);
    EXPECT_EQ(p, PartitionForKey("branch-01/PART-123", n));
  }
}

}  // namespace
}  // namespace bo::kafka
