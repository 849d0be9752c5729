#include "server/wal_checkpointer.h"

#include <sqlite3.h>

#include <cstdio>

namespace tillsync::server {

WalCheckpointer::WalCheckpointer(std::string path, std::chrono::milliseconds interval)
    : path_(std::move(path)), interval_(interval) {}

WalCheckpointer::~WalCheckpointer() { Stop(); }

Status WalCheckpointer::Start() {
  OpenOptions open;
  open.create = false;
  // The checkpointing connection's own synchronous level decides whether the database file is
  // fsynced after the copy (FULL: yes), which must happen before SQLite may reuse the WAL.
  TS_RETURN_IF_ERROR(Database::Open(path_, open, &db_));
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void WalCheckpointer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  db_.reset();
}

void WalCheckpointer::CheckpointOnce() {
  int log = 0, copied = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    // BUSY only means another checkpoint was running; anything else is worth a line in the log.
    std::fprintf(stderr, "tillsync-server: checkpoint: %s\n", sqlite3_errmsg(db_->raw()));
    return;
  }
  ++checkpoints_;
  wal_frames_ = log;
  if (copied > 0) frames_copied_ += copied;
}

void WalCheckpointer::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
    lock.unlock();
    CheckpointOnce();
    lock.lock();
  }
}

}  // namespace tillsync::server
