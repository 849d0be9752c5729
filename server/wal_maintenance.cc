#include "server/wal_maintenance.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>

#include "server/wal_checkpoint_policy.h"

namespace tillsync::server {

int WalMaintenance::Hook(void* self, sqlite3*, const char*, int frames) {
  // Called inside every COMMIT of the writer: `frames` is the WAL's length since it last started.
  auto* me = static_cast<WalMaintenance*>(self);
  me->wal_length_.store(frames);
  // A length below the last one means this commit started the WAL again from its beginning.
  me->frames_written_ += frames >= me->last_length_ ? frames - me->last_length_ : frames;
  me->last_length_ = frames;
  // The WAL hook runs once the commit's frames are written and synced: the end of its COMMIT.
  if (me->timings_ != nullptr) me->timings_->commit.Record(PushTimings::MicrosSince(me->commit_start_));
  return SQLITE_OK;
}

int WalMaintenance::CommitHook(void* self) {
  static_cast<WalMaintenance*>(self)->commit_start_ = std::chrono::steady_clock::now();
  return 0;  // 0: let the commit go ahead
}

WalMaintenance::~WalMaintenance() { Stop(); }

Status WalMaintenance::Attach(Database* writer, const std::string& path) {
  db_ = writer;
  // wal_autocheckpoint=0 first: it installs SQLite's own hook, which the next call replaces.
  // journal_size_limit trims the file back after a restart that followed a long stretch.
  TS_RETURN_IF_ERROR(writer->Exec("PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=" +
                                  std::to_string(int64_t(threshold_) * 4 * 4096)));
  {
    Statement page_size;
    bool row = false;
    TS_RETURN_IF_ERROR(writer->Prepare("PRAGMA page_size", &page_size));
    TS_RETURN_IF_ERROR(page_size.Step(&row));
    if (row) page_size_ = page_size.Int(0);
  }
  sqlite3_wal_hook(writer->raw(), &WalMaintenance::Hook, this);
  if (timings_ != nullptr) sqlite3_commit_hook(writer->raw(), &WalMaintenance::CommitHook, this);
  OpenOptions open;
  open.create = false;
  // The helper's own synchronous=FULL is what fsyncs the database file after its copies.
  TS_RETURN_IF_ERROR(Database::Open(path, open, &helper_db_));
  TS_RETURN_IF_ERROR(helper_db_->Exec("PRAGMA wal_autocheckpoint=0"));
  helper_ = std::thread([this] { HelperLoop(); });
  return Status::Ok();
}

void WalMaintenance::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (helper_.joinable()) helper_.join();
  helper_db_.reset();
}

int64_t WalMaintenance::Uncopied() {
  int64_t length = wal_length_.load(), copied = copied_.load();
  if (length < copied) {  // the WAL has started again since the last checkpoint
    copied_.store(0);
    copied = 0;
  }
  return length - copied;
}

namespace {

// While a RESTART checkpoint waits for the readers of the moment, pushes queue behind the writer:
// poll every millisecond up to a limit instead of SQLite's default busy-timeout schedule, whose
// sleeps grow to 100 ms each (measured: restarts of 100 to 190 ms for pulls that ended sooner).
int ShortBusyWait(void* limit_ms, int count) {
  if (count >= *static_cast<int*>(limit_ms)) return 0;
  sqlite3_sleep(1);
  return 1;
}

// The busy timeout core/database.cc gives every connection, restored after a RESTART.
constexpr int kCoreBusyTimeoutMs = 5000;

}  // namespace

void WalMaintenance::AfterGroup(bool pushes_waiting) {
  if (db_ == nullptr) return;
  int64_t length = wal_length_.load();
  // Past 2x the threshold, ask for a restart, waiting briefly for readers; past 8x (a reader
  // stream that never paused), wait as long as it takes a pull to finish.
  WalCheckpoint what = WalCheckpointPolicy::Choose(length, Uncopied(), pushes_waiting, threshold_);
  if (what == WalCheckpoint::kNone) {
    if (pushes_waiting && WalCheckpointPolicy::Choose(length, Uncopied(), false, threshold_) != WalCheckpoint::kNone)
      ++deferred_;
    return;
  }
  bool restart = what != WalCheckpoint::kPassive;
  int log = 0, copied = 0, rc = SQLITE_OK;
  auto start = std::chrono::steady_clock::now();
  if (restart) {
    int limit_ms = what == WalCheckpoint::kRestartPatient ? 500 : 20;
    sqlite3_busy_handler(db_->raw(), &ShortBusyWait, &limit_ms);
    rc = sqlite3_wal_checkpoint_v2(db_->raw(), nullptr, SQLITE_CHECKPOINT_RESTART, &log, &copied);
    sqlite3_busy_timeout(db_->raw(), kCoreBusyTimeoutMs);
  } else {
    rc = sqlite3_wal_checkpoint_v2(db_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  }
  // BUSY: another checkpoint (the helper, an operator's CLI) holds the lock, or a reader was
  // still busy; the next group tries again.
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    std::fprintf(stderr, "tillsync-server: checkpoint: %s\n", sqlite3_errmsg(db_->raw()));
  if (copied >= 0) copied_.store(copied);  // frames of the current WAL now in the database file
  ++checkpoints_;
  if (timings_ != nullptr) timings_->checkpoint.Record(PushTimings::MicrosSince(start));
}

void WalMaintenance::HelperLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    // Only when there is something worth copying. A PASSIVE checkpoint never blocks anyone; BUSY
    // means the writer is checkpointing itself right now.
    if (Uncopied() >= threshold_ / 8) {
      int log = 0, copied = 0;
      auto start = std::chrono::steady_clock::now();
      if (sqlite3_wal_checkpoint_v2(helper_db_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) ==
              SQLITE_OK &&
          copied >= 0)
        copied_.store(copied);
      if (timings_ != nullptr) timings_->helper_checkpoint.Record(PushTimings::MicrosSince(start));
    }
    lock.lock();
  }
}

}  // namespace tillsync::server
