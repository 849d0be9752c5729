#include "core/hybrid_clock.h"

#include <gtest/gtest.h>

namespace tillsync {
namespace {

TEST(HybridClockTest, TextFormSortsLikeTimestamps) {
  HlcTimestamp a{0x18b2c3d4e5f, 1, "dev-a"}, b{0x18b2c3d4e5f, 2, "dev-a"}, c{0x18b2c3d4e60, 0, "dev-a"};
  EXPECT_LT(a.ToString(), b.ToString());
  EXPECT_LT(b.ToString(), c.ToString());
  EXPECT_LT(a, b);
  HlcTimestamp parsed;
  ASSERT_TRUE(HlcTimestamp::Parse(b.ToString(), &parsed).ok());
  EXPECT_EQ(parsed, b);
}

TEST(HybridClockTest, NeverGoesBackwardsWhenTheWallClockDoes) {
  ManualEnv env(1'000'000);
  HybridClock clock(&env, "d1");
  HlcTimestamp first = clock.Now();
  env.SetNow(1'000'000 - 3'600'000);  // a jump back of one hour
  HlcTimestamp second = clock.Now();
  EXPECT_LT(first, second);
  EXPECT_EQ(second.wall_ms, first.wall_ms);
  EXPECT_EQ(second.logical, first.logical + 1);
}

TEST(HybridClockTest, ObservingARemoteTimestampOrdersLaterWritesAfterIt) {
  ManualEnv env(1'000);
  HybridClock clock(&env, "slow");
  HlcTimestamp remote{600'000, 7, "fast"};  // ten minutes ahead
  clock.Observe(remote);
  HlcTimestamp next = clock.Now();
  EXPECT_LT(remote, next);
}

TEST(HybridClockTest, RejectsMalformedText) {
  HlcTimestamp ts;
  EXPECT_FALSE(HlcTimestamp::Parse("", &ts).ok());
  EXPECT_FALSE(HlcTimestamp::Parse("zzzzzzzzzzzz.0000.node", &ts).ok());
  EXPECT_FALSE(HlcTimestamp::Parse("000000000001-0000-node", &ts).ok());
  EXPECT_FALSE(HlcTimestamp::Parse("000000000001.0000.", &ts).ok());
}

}  // namespace
}  // namespace tillsync
