// The hub writer's checkpoint policy (server/wal_checkpoint_policy.h): never in front of waiting
// pushes until the WAL reaches its hard limit; otherwise as before (passive at the threshold,
// restart past 2x, patient restart past 8x).
#include "server/wal_checkpoint_policy.h"

#include <gtest/gtest.h>

namespace tillsync::server {
namespace {

constexpr int64_t kThreshold = 4000;

WalCheckpoint Choose(int64_t length, int64_t uncopied, bool waiting) {
  return WalCheckpointPolicy::Choose(length, uncopied, waiting, kThreshold);
}

TEST(WalCheckpointPolicyTest, NothingBelowTheThreshold) {
  EXPECT_EQ(Choose(0, 0, false), WalCheckpoint::kNone);
  EXPECT_EQ(Choose(kThreshold - 1, kThreshold - 1, false), WalCheckpoint::kNone);
  EXPECT_EQ(Choose(kThreshold - 1, kThreshold - 1, true), WalCheckpoint::kNone);
}

TEST(WalCheckpointPolicyTest, AtTheThresholdOnlyWhenNoPushWaits) {
  EXPECT_EQ(Choose(kThreshold, kThreshold, false), WalCheckpoint::kPassive);
  EXPECT_EQ(Choose(kThreshold, kThreshold, true), WalCheckpoint::kNone);
}

TEST(WalCheckpointPolicyTest, NothingWhenTheHelperHasCopiedMostOfIt) {
  // 1.5x the threshold written, the helper copied all but a few hundred frames: nothing to do.
  EXPECT_EQ(Choose(kThreshold * 3 / 2, 300, false), WalCheckpoint::kNone);
}

TEST(WalCheckpointPolicyTest, RestartPastTwiceTheThresholdUnlessPushesWait) {
  EXPECT_EQ(Choose(kThreshold * 2, 0, false), WalCheckpoint::kRestart);
  EXPECT_EQ(Choose(kThreshold * 2, 0, true), WalCheckpoint::kNone);
  EXPECT_EQ(Choose(kThreshold * 4 - 1, kThreshold, true), WalCheckpoint::kNone);
}

TEST(WalCheckpointPolicyTest, TheHardLimitCheckpointsEvenWithPushesWaiting) {
  EXPECT_EQ(Choose(kThreshold * WalCheckpointPolicy::kDeferLimit, 0, true), WalCheckpoint::kRestart);
  EXPECT_EQ(Choose(kThreshold * 8, 0, true), WalCheckpoint::kRestartPatient);
  EXPECT_EQ(Choose(kThreshold * 8, 0, false), WalCheckpoint::kRestartPatient);
}

}  // namespace
}  // namespace tillsync::server
