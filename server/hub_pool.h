// HubPool: the hub's readers. Pulls (and statistics) run on their own Hub objects, each with its
// own SQLite connection to the same file; in WAL mode a reader sees the last committed state and
// never waits for the writer's transaction or fsync, so a slow pull never delays a push and a
// burst of pushes never stalls the pulls.
//
// Hubs are opened on demand and kept in a free list, so the number of connections follows the
// peak number of concurrent pulls (bounded by the HTTP thread count), not the number of threads.
// The minimum schema version is applied on every lease, so a change made at run time reaches
// every reader at once.
//
// Threading: Acquire() is thread-safe; a leased Hub belongs to its lease holder until the Lease
// is destroyed. Do not write through a leased Hub: writes go through PushCommitter (the core's
// Hub keeps the row sequence counter in memory; two writing Hubs would hand out one number twice).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/hub.h"

namespace tillsync::server {

class HubPool {
 public:
  HubPool(std::string path, HubOptions options);

  class Lease {
   public:
    Lease() = default;
    ~Lease();
    Lease(Lease&& other) noexcept : pool_(other.pool_), hub_(std::move(other.hub_)) { other.pool_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Hub* operator->() const { return hub_.get(); }
    Hub* get() const { return hub_.get(); }

   private:
    friend class HubPool;
    HubPool* pool_ = nullptr;
    std::unique_ptr<Hub> hub_;
  };

  Status Acquire(Lease* out);
  void set_min_schema_version(int64_t v) { min_schema_version_.store(v); }
  int64_t min_schema_version() const { return min_schema_version_.load(); }
  size_t opened() const { return opened_.load(); }

 private:
  void Release(std::unique_ptr<Hub> hub);

  const std::string path_;
  const HubOptions options_;
  std::atomic<int64_t> min_schema_version_;
  std::atomic<size_t> opened_{0};
  std::mutex mu_;
  std::vector<std::unique_ptr<Hub>> free_;
};

}  // namespace tillsync::server
