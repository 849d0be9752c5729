// WalCoalescingVfs: an SQLite VFS over the platform's default one that gathers the WAL writes of
// one commit into a single write. Only the hub's writer connection uses it (serve.cc); every other
// connection to the file, and every non-WAL file, goes through the default VFS unchanged.
//
// Why: SQLite writes each WAL frame as two pwrite calls (its 24-byte header, then the page), so a
// group commit of 50 sales (about 650 frames) is some 1,300 system calls, each copying into a page
// cache page that straddles the previous one (frames are page_size + 24 bytes). Session 3's
// profile put COMMIT at a quarter of the writer thread, nearly all of it in the kernel for these
// writes, and the push timings (push_timings.h) show the COMMIT as a large part of the group.
// Gathered, a commit's frames reach the kernel as a few writes of contiguous bytes (128 KiB each:
// the most the unix VFS writes in one call).
//
// Durability is unchanged: everything gathered is written before the file is synced (xSync), so
// the fsync that makes a commit durable covers exactly the bytes it covered before, and an answer
// is still only sent after it. Before anything else that could observe the file (a read, its
// size, a truncate, a file control, closing it) the gathered bytes are written first, in the
// order SQLite wrote them; a write that is not contiguous with the gathered run writes the run
// first. A write error surfaces at the next of those calls (at the latest the commit's xSync), so
// the commit fails as it would have, and nothing is acknowledged.
//
// Other connections read the WAL only up to the last commit recorded in the shared WAL index,
// which the writer updates after the commit's xSync: they never need bytes still gathered here.
// That holds because the writer runs synchronous=FULL (a sync at every commit); the VFS is not
// for connections that commit without syncing.
//
// Threading: Register() is thread-safe and idempotent. A file handle is used by one connection
// at a time, as SQLite guarantees; the counters are atomics.
#pragma once

#include <cstdint>

#include "core/status.h"

namespace tillsync::server {

class WalCoalescingVfs {
 public:
  static constexpr const char* kName = "tillsync-wal-coalescing";
  // Registers the VFS (not as the default). Returns its name through *name.
  static Status Register(const char** name);

  // WAL writes SQLite asked for, and the writes the VFS made of them, since the process started.
  static int64_t write_calls();
  static int64_t writes_issued();
};

}  // namespace tillsync::server
