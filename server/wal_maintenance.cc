#include "server/wal_maintenance.h"

#include <sqlite3.h>

#include <cstdio>

namespace tillsync::server {

int WalMaintenance::Hook(void* self, sqlite3*, const char*, int frames) {
  static_cast<WalMaintenance*>(self)->frames_.store(frames);
  return SQLITE_OK;
}

Status WalMaintenance::Attach(Database* writer) {
  db_ = writer;
  // wal_autocheckpoint=0 first: it installs SQLite's own hook, which the next call replaces.
  TS_RETURN_IF_ERROR(writer->Exec("PRAGMA wal_autocheckpoint=0"));
  sqlite3_wal_hook(writer->raw(), &WalMaintenance::Hook, this);
  return Status::Ok();
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
