// WalMaintenance: keeps the hub's write-ahead log small, on the writer's own thread, at the
// moment that costs no waiting push anything.
//
// Why not SQLite's default: the automatic checkpoint runs inside the COMMIT that pushes the WAL
// past its threshold, so every push of that group would wait for the page copies and the fsync
// of the database file before hearing its answer.
// Why not a background thread: a checkpoint on another connection never catches up with a
// writer that commits every few milliseconds, and SQLite rewinds the WAL to its start only when
// the writer begins a transaction with everything already copied back. Under steady load the
// WAL then grows without end (measured: 600 MB in 11 s at 570 sales/s), and every commit appends
// to a growing file, whose fsync also has to journal the file's new size.
// So: the writer's automatic checkpoint is off, a WAL hook counts the frames each commit leaves,
// and after a group's answers have been handed back (PushCommitter's after-group hook) the writer
// runs a PASSIVE checkpoint itself once the WAL holds `threshold_frames`. The next transaction
// then finds the WAL copied back and starts it again from the beginning: the file stays bounded
// and its blocks are rewritten in place. Pushes that arrive meanwhile wait in the queue, so the
// writer does this only when no push is waiting, until the WAL reaches a hard limit (4x the
// threshold; wal_checkpoint_policy.h has the rule and the measurement behind it).
//
// Readers (pulls) can stand in the way of that restart: while any reader uses the WAL, SQLite
// appends instead of starting again, and under a steady stream of pulls the file creeps up
// (measured: 2 MB/s at 100 devices). So once the WAL holds 2x the threshold the writer's
// checkpoint is a RESTART, which waits up to 20 ms (500 ms past 8x) for the readers of the moment
// to finish their pull, so the next transaction can start the WAL again; journal_size_limit
// then trims the file back.
//
// A helper thread on its own connection does the bulk of the copying in the background (PASSIVE
// checkpoints every 100 ms, on the other core), so the writer's own checkpoint at the threshold
// usually finds little left to copy and costs it little; the writer's checkpoint is still what
// lets the WAL start again (the helper alone never catches up, see above).
//
// Durability is unchanged: a commit is durable once its WAL frames are synced; a checkpoint only
// moves pages that are already durable.
//
// Threading: Attach() and AfterGroup() on the writer thread only (the one that uses the
// connection); Stop() from the owner; the counters are atomics, readable from any thread.
// Ownership: owns the helper's connection and thread; borrows the writer's Database.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/database.h"
#include "server/push_timings.h"

namespace tillsync::server {

class WalMaintenance {
 public:
  // timings, if given, receives commit, checkpoint and helper_checkpoint (push_timings.h) and
  // must outlive this object.
  explicit WalMaintenance(int threshold_frames = 4000, PushTimings* timings = nullptr)
      : threshold_(threshold_frames), timings_(timings) {}
  ~WalMaintenance();
  WalMaintenance(const WalMaintenance&) = delete;
  WalMaintenance& operator=(const WalMaintenance&) = delete;

  // Turns off the writer connection's automatic checkpoint, installs the frame-counting hook and
  // starts the helper on its own connection to `path`.
  Status Attach(Database* writer, const std::string& path);
  // Checkpoints when the WAL has reached the threshold and no push is waiting, or has reached
  // its hard limit (wal_checkpoint_policy.h). Call after answering a group.
  void AfterGroup(bool pushes_waiting = false);
  // Stops the helper thread (before the writer's connection closes). Idempotent.
  void Stop();

  int64_t checkpoints() const { return checkpoints_.load(); }
  // After-group calls that left the checkpoint for later because pushes were waiting.
  int64_t checkpoints_deferred() const { return deferred_.load(); }
  int64_t wal_frames() const { return wal_length_.load(); }  // the WAL's length after the last commit
  // Frames the writer's commits have written to the WAL since Attach (pages, each page_size
  // bytes plus a 24-byte header): the disk traffic of commits, before checkpoints copy them back.
  int64_t frames_written() const { return frames_written_.load(); }
  int64_t page_size() const { return page_size_; }  // bytes per frame's page, read at Attach

 private:
  static int Hook(void* self, struct sqlite3* db, const char* name, int frames);
  static int CommitHook(void* self);  // COMMIT is starting: PushTimings::commit begins here
  void HelperLoop();
  int64_t Uncopied();  // frames of the current WAL not yet copied back (as last known)

  const int threshold_;
  PushTimings* const timings_;
  std::chrono::steady_clock::time_point commit_start_;  // writer thread only
  Database* db_ = nullptr;
  std::unique_ptr<Database> helper_db_;
  std::thread helper_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<int64_t> wal_length_{0};  // frames in the WAL since it last started (WAL hook)
  std::atomic<int64_t> copied_{0};      // of those, copied back to the database file
  std::atomic<int64_t> checkpoints_{0};
  std::atomic<int64_t> deferred_{0};
  std::atomic<int64_t> frames_written_{0};
  int64_t last_length_ = 0;
  int64_t page_size_ = 0;  // writer thread only: the WAL's length at the previous commit
};

}  // namespace tillsync::server
