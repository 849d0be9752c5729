// FaultVfs: an in-memory SQLite VFS for tests and the simulation that behaves like a disk that
// can lose power. Files live in memory by name and survive close and reopen. Every file keeps
// its durable bytes (as of its last xSync) apart from its current bytes, so Crash() can drop
// or garble what was written but not yet synced, as a power cut would. It can also fail the
// Nth write or sync from now, and freeze at the Nth sync (a crash at a sync point: that sync
// and everything after it fail, so nothing more reaches the "disk").
//
// Randomness and time given to SQLite are deterministic (seeded), so a simulation replays
// exactly. Shared memory is not implemented: open databases with locking_mode=EXCLUSIVE, which
// makes SQLite keep the WAL index in heap memory (the browser's OPFS VFS works the same way).
// Registered under its name for its lifetime. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct sqlite3_vfs;

namespace tillsync {

enum class CrashMode {
  kDropUnsynced,    // every byte written since the file's last sync is lost
  kGarbleUnsynced,  // each unsynced 512-byte sector keeps its new bytes, its old ones, or noise
};

class FaultVfs {
 public:
  explicit FaultVfs(std::string name, uint64_t seed = 1);
  ~FaultVfs();
  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

  const std::string& name() const { return name_; }

  // The n-th write (1 = the next one) fails with SQLITE_IOERR_WRITE, or SQLITE_FULL.
  void FailNthWrite(int64_t n, bool as_full = false);
  void FailNthSync(int64_t n);
  // From the n-th sync on, every write and sync fails: the process "died" at that sync point.
  void FreezeAtNthSync(int64_t n);
  void ClearFaults();
  bool frozen() const { return frozen_; }

  // Power cut: close your connections first (they would die with the process).
  void Crash(CrashMode mode) { CrashFiles("", mode); }
  // One process dies: only files whose names start with `prefix` (its database and WAL) lose
  // their unsynced bytes. Files under other live connections must not be touched: rewinding a
  // WAL tail under a running connection corrupts what it writes next, which no crash can do.
  void CrashFiles(const std::string& prefix, CrashMode mode);
  // Forgets every file.
  void Reset();

  int64_t writes() const { return writes_; }
  int64_t syncs() const { return syncs_; }
  bool Exists(const std::string& path) const { return files_.count(path) != 0; }

  // Used by the C callbacks; not for tests.
  // A file is its current bytes plus an undo log of what was overwritten since the last sync,
  // so a sync is cheap (clear the log) and a crash can rewind or garble exactly the unsynced part.
  struct Undo {
    size_t offset;
    std::vector<uint8_t> old_bytes;  // the bytes that were there (only those inside the old size)
    size_t length = 0;               // bytes the write or truncate touched
  };
  struct File {
    std::vector<uint8_t> current;
    size_t durable_size = 0;
    std::vector<Undo> undo;
  };
  File* Lookup(const std::string& path, bool create);
  void Delete(const std::string& path) { files_.erase(path); }
  int BeforeWrite();  // SQLite result code for the next write
  int BeforeSync();
  uint64_t NextRandom();
  std::string TempName();

 private:
  std::string name_;
  std::unique_ptr<sqlite3_vfs> vfs_;
  std::map<std::string, File> files_;
  uint64_t rng_;
  int64_t writes_ = 0, syncs_ = 0, temp_counter_ = 0;
  int64_t fail_write_at_ = 0, fail_sync_at_ = 0, freeze_at_sync_ = 0;
  bool fail_write_as_full_ = false;
  bool frozen_ = false;
};

}  // namespace tillsync
