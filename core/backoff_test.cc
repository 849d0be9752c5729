// The retry schedule: base 1 s, doubling per consecutive failure, capped at 5 minutes, with
// "equal jitter" (the wait lands in [d/2, d]), reset by a success, and deterministic for a seed.
#include "core/backoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <set>
#include <vector>

namespace tillsync {
namespace {

// An Env whose random source returns scripted values (then zeros), to pin the jitter's ends.
class ScriptedEnv : public Env {
 public:
  int64_t NowMillis() override { return 0; }
  uint64_t Random64() override {
    if (values.empty()) return 0;
    uint64_t v = values.front();
    values.pop_front();
    return v;
  }
  std::deque<uint64_t> values;
};

int64_t Ceiling(int failures) {  // d for the n-th consecutive failure (0-based)
  int64_t d = 1000;
  for (int i = 0; i < failures && d < 300'000; ++i) d *= 2;
  return std::min<int64_t>(d, 300'000);
}

TEST(BackoffTest, DefaultPolicyIsOneSecondDoublingToFiveMinutes) {
  BackoffPolicy p;
  EXPECT_EQ(p.base_ms, 1000);
  EXPECT_EQ(p.cap_ms, 300'000);
}

TEST(BackoffTest, LowestJitterIsHalfTheCeilingAndTheCeilingDoubles) {
  ScriptedEnv env;  // always 0: the shortest wait of each step, d/2
  Backoff b(&env);
  const int64_t expected[] = {500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 150000, 150000, 150000};
  for (int64_t e : expected) EXPECT_EQ(b.NextDelayMs(), e);
  EXPECT_EQ(b.failures(), 12);
}

TEST(BackoffTest, HighestJitterReachesTheCeilingExactly) {
  ScriptedEnv env;
  Backoff b(&env);
  // A random value of d/2 is the top of the range [d/2, d] (d - d/2 + 1 choices).
  for (int n = 0; n < 12; ++n) env.values.push_back(uint64_t(Ceiling(n) / 2));
  const int64_t expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000, 300000};
  for (int64_t e : expected) EXPECT_EQ(b.NextDelayMs(), e);
}

TEST(BackoffTest, EveryWaitStaysWithinHalfToFullCeiling) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    ManualEnv env(0, seed);
    Backoff b(&env);
    for (int n = 0; n < 25; ++n) {
      int64_t d = Ceiling(n);
      int64_t wait = b.NextDelayMs();
      ASSERT_GE(wait, d / 2) << "seed " << seed << " failure " << n;
      ASSERT_LE(wait, d) << "seed " << seed << " failure " << n;
    }
  }
}

TEST(BackoffTest, JitterSpreadsAFleetThatFailedTogether) {
  // 100 tablets lose the network at the same moment; their 6th retries must not coincide.
  std::set<int64_t> waits;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    ManualEnv env(0, seed);
    Backoff b(&env);
    int64_t w = 0;
    for (int n = 0; n < 6; ++n) w = b.NextDelayMs();
    waits.insert(w);
  }
  EXPECT_GT(waits.size(), 90u);
}

TEST(BackoffTest, SuccessResetsToTheBase) {
  ManualEnv env(0, 3);
  Backoff b(&env);
  for (int n = 0; n < 10; ++n) b.NextDelayMs();
  b.Reset();
  EXPECT_EQ(b.failures(), 0);
  int64_t wait = b.NextDelayMs();
  EXPECT_GE(wait, 500);
  EXPECT_LE(wait, 1000);
}

TEST(BackoffTest, ManyFailuresStayAtTheCapWithoutOverflow) {
  ManualEnv env(0, 9);
  Backoff b(&env);
  b.set_failures(1'000'000);  // restored from a device that was offline for months
  for (int n = 0; n < 100; ++n) {
    int64_t wait = b.NextDelayMs();
    ASSERT_GE(wait, 150'000);
    ASSERT_LE(wait, 300'000);
  }
}

TEST(BackoffTest, SameSeedGivesTheSameSchedule) {
  auto schedule = [](uint64_t seed) {
    ManualEnv env(0, seed);
    Backoff b(&env);
    std::vector<int64_t> out;
    for (int n = 0; n < 20; ++n) out.push_back(b.NextDelayMs());
    return out;
  };
  EXPECT_EQ(schedule(42), schedule(42));
  EXPECT_NE(schedule(42), schedule(43));
}

TEST(BackoffTest, CustomPolicyIsHonoured) {
  ScriptedEnv env;
  Backoff b(&env, BackoffPolicy{100, 250});
  EXPECT_EQ(b.NextDelayMs(), 50);
  EXPECT_EQ(b.NextDelayMs(), 100);
  EXPECT_EQ(b.NextDelayMs(), 125);  // 400 capped at 250
}

}  // namespace
}  // namespace tillsync
