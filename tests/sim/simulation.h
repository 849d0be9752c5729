// Simulation: a whole fleet in one process, deterministic from a seed. Several shops with several
// devices each and one hub, all on one in-memory FaultVfs, under a seeded random schedule of
// sales, voids and refunds, catalog edits (shops editing the same product while apart, hub admin
// edits), stock receipts and adjustments, customer edits (a manual-merge table) and expenses;
// with requests and answers lost, duplicated and delayed (a request reaching the hub after the
// device gave up), devices crashing at each step of a push and being reopened from their files,
// clocks skewed by up to +-10 minutes and jumping by an hour, and devices going offline.
// Then the network heals and every device syncs until quiet, and the report checks:
//   no sale lost or duplicated, no row that no device or operator created, every replica of a
//   shop equal to the hub's view of it, stock equal to the sum of the surviving movements on
//   every replica, no row of one shop on another shop's device, integrity_check ok everywhere,
//   and that syncing really happened while the faults were on.
// The same seed gives the same trace hash. Single-threaded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tillsync {

struct SimOptions {
  uint64_t seed = 1;
  int shops = 3;
  int devices_per_shop = 3;
  int products = 12;
  int ops = 2000;     // local write operations in the fault phase
  bool verbose = false;
  // Test-only damage done after healing, to prove the checks can fail: "lose_hub_sale" deletes
  // a sale on the hub; "leak_row" copies a row of one shop onto another shop's device.
  std::string sabotage;
};

struct SimReport {
  bool ok = true;
  std::vector<std::string> failures;
  uint64_t trace_hash = 0;
  int64_t writes = 0, sales = 0, voids = 0, catalog_edits = 0, crashes = 0, sync_cycles = 0;
  int64_t lost_messages = 0, duplicated_messages = 0, delayed_requests = 0;
  int64_t reached_hub_in_fault_phase = 0;  // operations the hub applied/answered before healing
  int64_t quarantined = 0, conflicts = 0, heal_rounds = 0;
  int64_t snapshot_pages = 0;  // pull answers of a first download sent in key order (core/pull_snapshot.h)

  std::string Summary() const;
};

SimReport RunSimulation(const SimOptions& options);

}  // namespace tillsync
