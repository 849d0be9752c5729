// InstanceLock: says "a running server owns this hub database". `serve` holds an exclusive
// flock(2) on "<db>.serve-lock" for its whole life; the kernel drops it when the process dies,
// even by SIGKILL, so a crash never leaves a stale lock behind.
//
// Why it exists: the core's Hub keeps its row sequence counter and clock in memory. A second
// process writing hub rows (an operator's `create-shop` while the server runs) would hand out
// sequence numbers the server also hands out, and pull cursors would then skip rows. So CLI
// commands that write hub rows take this lock too and refuse while a server holds it (use the
// HTTP API then). Commands that only touch tokens or only read need no lock: SQLite's own
// locking keeps those consistent.
//
// Ownership: owns the file descriptor. Not thread-safe (one per process).
#pragma once

#include <string>

#include "core/status.h"

namespace tillsync::server {

class InstanceLock {
 public:
  InstanceLock() = default;
  ~InstanceLock();
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

  // kBusy when another process holds the lock.
  Status Acquire(const std::string& db_path);

 private:
  int fd_ = -1;
};

}  // namespace tillsync::server
