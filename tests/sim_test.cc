// The simulation's own guarantees: it replays exactly, and its checks can fail.
#include <gtest/gtest.h>

#include "tests/sim/simulation.h"

namespace tillsync {
namespace {

SimOptions Small(uint64_t seed) {
  SimOptions o;
  o.seed = seed;
  o.ops = 300;
  return o;
}

TEST(SimulationTest, TheSameSeedGivesTheSameTrace) {
  SimReport a = RunSimulation(Small(11));
  SimReport b = RunSimulation(Small(11));
  ASSERT_TRUE(a.ok) << (a.failures.empty() ? "" : a.failures[0]);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.Summary(), b.Summary());
  SimReport c = RunSimulation(Small(12));
  EXPECT_NE(a.trace_hash, c.trace_hash);
}

TEST(SimulationTest, FaultsReallyHappenAndSyncStillProgresses) {
  SimReport r = RunSimulation(Small(5));
  ASSERT_TRUE(r.ok) << (r.failures.empty() ? "" : r.failures[0]);
  EXPECT_GT(r.crashes, 0);
  EXPECT_GT(r.lost_messages, 0);
  EXPECT_GT(r.sales, 0);
  EXPECT_GE(r.reached_hub_in_fault_phase * 2, r.writes);
}

TEST(SimulationTest, ALostSaleOnTheHubIsCaught) {
  SimOptions o = Small(3);
  o.sabotage = "lose_hub_sale";
  SimReport r = RunSimulation(o);
  EXPECT_FALSE(r.ok);
  bool named = false;
  for (const std::string& f : r.failures) named = named || f.find("was lost") != std::string::npos;
  EXPECT_TRUE(named);
}

TEST(SimulationTest, ARowOfAnotherShopOnADeviceIsCaught) {
  SimOptions o = Small(4);
  o.sabotage = "leak_row";
  SimReport r = RunSimulation(o);
  EXPECT_FALSE(r.ok);
  bool named = false;
  for (const std::string& f : r.failures) named = named || f.find("another shop") != std::string::npos;
  EXPECT_TRUE(named);
}

}  // namespace
}  // namespace tillsync
