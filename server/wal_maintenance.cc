#include "server/wal_maintenance.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>

namespace tillsync::server {

int WalMaintenance::Hook(void* self, sqlite3*, const char*, int frames) {
  static_cast<WalMaintenance*>(self)->frames_.store(frames);
  return SQLITE_OK;
}

WalMaintenance::~WalMaintenance() { Stop(); }

Status WalMaintenance::Attach(Database* writer, const std::string& path) {
  db_ = writer;
  // wal_autocheckpoint=0 first: it installs SQLite's own hook, which the next call replaces.
  TS_RETURN_IF_ERROR(writer->Exec("PRAGMA wal_autocheckpoint=0"));
  sqlite3_wal_hook(writer->raw(), &WalMaintenance::Hook, this);
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

void WalMaintenance::HelperLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    // Only when there is something worth copying; a PASSIVE checkpoint never blocks anyone, and
    // BUSY just means the writer is checkpointing itself right now.
    if (frames_.load() >= threshold_ / 8)
      (void)sqlite3_wal_checkpoint_v2(helper_db_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
  }
}

void WalMaintenance::AfterGroup() {
  if (db_ == nullptr || frames_.load() < threshold_) return;
  int log = 0, copied = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  // BUSY: another connection (an operator's CLI) is checkpointing; the next group tries again.
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    std::fprintf(stderr, "tillsync-server: checkpoint: %s\n", sqlite3_errmsg(db_->raw()));
  ++checkpoints_;
  // Frames a reader still needed stay in the WAL; count them so the next group retries only
  // once the WAL has grown by another threshold's worth.
  frames_.store(log > copied ? log - copied : 0);
}

}  // namespace tillsync::server
