// WalCheckpointer: copies the WAL back into the database file on its own thread and connection,
// so the push writer never pays for it.
//
// Why: by default SQLite checkpoints inside the COMMIT that pushes the WAL past 1000 pages, on the
// committing connection. For the hub that connection is the push writer, and every push waiting
// in that group would wait for the checkpoint's page copies and its fsync of the database file:
// the p99 of push latency would be the checkpoint. So serve.cc turns the writer's automatic
// checkpoint off (PRAGMA wal_autocheckpoint=0) and this thread runs PASSIVE checkpoints every
// `interval` instead. PASSIVE never blocks the writer or the readers; it copies what no reader
// still needs, and SQLite rewinds the WAL once everything was copied, so the file stays bounded
// as long as pulls (the readers) are short, which they are.
//
// Durability is unchanged: a commit is durable once its WAL frames are synced (synchronous=FULL
// on the writer); the checkpoint only moves already-durable pages.
//
// Ownership: owns its connection and thread. Threading: Start/Stop from one thread.
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

namespace tillsync::server {

class WalCheckpointer {
 public:
  WalCheckpointer(std::string path, std::chrono::milliseconds interval);
  ~WalCheckpointer();
  Status Start();
  void Stop();  // runs one last checkpoint, then joins

  int64_t checkpoints() const { return checkpoints_.load(); }
  int64_t frames_copied() const { return frames_copied_.load(); }
  int64_t wal_frames() const { return wal_frames_.load(); }  // WAL size at the last checkpoint

 private:
  void Loop();
  void CheckpointOnce();

  const std::string path_;
  const std::chrono::milliseconds interval_;
  std::unique_ptr<Database> db_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<int64_t> checkpoints_{0}, frames_copied_{0}, wal_frames_{0};
};

}  // namespace tillsync::server
