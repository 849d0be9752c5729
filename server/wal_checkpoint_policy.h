// WalCheckpointPolicy: which checkpoint, if any, the hub's writer runs after a group
// (server/wal_maintenance.h does it). A pure function of the WAL's state and the committer's
// queue, so the policy is tested on its own (tests/wal_checkpoint_policy_test.cc).
//
// Why the queue matters: the writer's checkpoint runs on the writer thread, after the group's
// answers went out but before the next group starts. Every push queued at that moment waits for
// it: measured on the open loop (bench_hub --rate-per-device 10, 100 devices, 2026-11-23 08:27,
// bench/README.md "Hub"), the after-group step had a p99 of 41-73 ms while the checkpoints
// themselves took 13-33 ms at p50 (copy what the helper had not copied, fsync the database
// file). So while pushes are waiting the writer leaves the checkpoint for a moment when the queue
// is empty, up to a hard limit: the WAL must still start again from its beginning, or it grows
// without end and every commit appends to a longer file (wal_maintenance.h). Past
// kDeferLimit x threshold (the journal_size_limit the server sets, 64 MB at the default 4,000
// frames of 4 KiB) it checkpoints even with pushes waiting.
#pragma once

#include <cstdint>

namespace tillsync::server {

enum class WalCheckpoint {
  kNone,
  kPassive,         // copy back what the helper has not; the next transaction can start the WAL again
  kRestart,         // the same, waiting briefly (20 ms) for the readers of the moment to finish
  kRestartPatient,  // past 8x: wait as long as a pull takes (500 ms); readers never paused
};

struct WalCheckpointPolicy {
  static constexpr int64_t kDeferLimit = 4;  // x threshold: the WAL never defers past this

  // length: frames in the WAL since it last started; uncopied: of those, not yet copied back to
  // the database file (as last known); pushes_waiting: the committer's queue is not empty.
  static WalCheckpoint Choose(int64_t length, int64_t uncopied, bool pushes_waiting, int64_t threshold) {
    if (pushes_waiting && length < threshold * kDeferLimit) return WalCheckpoint::kNone;
    if (length >= threshold * 8) return WalCheckpoint::kRestartPatient;
    if (length >= threshold * 2) return WalCheckpoint::kRestart;
    if (uncopied >= threshold) return WalCheckpoint::kPassive;
    return WalCheckpoint::kNone;
  }
};

}  // namespace tillsync::server
