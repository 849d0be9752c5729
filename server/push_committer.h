// PushCommitter: group commit for the hub's one writer. Every HTTP worker that has a push hands
// it here and blocks; a single writer thread takes everything queued at that moment, runs
// Hub::PushGroup over it (one transaction, one durable fsync for the whole group; each push
// all-or-nothing on its own savepoint inside it) and then wakes each waiter with its own answer.
//
// Why: with synchronous=FULL an acknowledgement costs one fsync of the WAL, and one fsync per
// push caps the hub at a few hundred pushes a second on ordinary disks. While the writer is
// inside one fsync, the next pushes pile up in the queue and share the next one, so the fsync
// rate stays constant as load grows and the group size absorbs the load. An answer is only
// released after the group's COMMIT returned, so nothing is acknowledged before it is durable.
//
// The same thread also runs the other writes of the hub (provisioning, catalog administration,
// settings) through Run(): the core's Hub keeps its sequence counter and clock in memory, so
// every write to the hub's rows must go through this one Hub object, in this one thread.
//
// Ownership: owns the writer Hub and the thread. Threading: Push() and Run() are thread-safe and
// block until done; Stop() drains what was queued, then joins.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/hub.h"
#include "server/push_timings.h"

namespace tillsync::server {

struct CommitterStats {
  int64_t groups = 0;        // PushGroup transactions committed (or failed)
  int64_t pushes = 0;        // push requests handled
  int64_t largest_group = 0;
  int64_t tasks = 0;         // Run() tasks
};

class PushCommitter {
 public:
  // max_group caps the pushes in one transaction, so one group's latency stays bounded.
  // after_group, if given, runs on the writer thread after each group's waiters were answered
  // (WAL maintenance: work that no answered push should wait for); pushes_waiting tells it
  // whether the next group is already queued, so it can leave long work for an idle moment. timings, if given, receives
  // queue_wait, group, after_group and wake (push_timings.h) and must outlive the committer.
  PushCommitter(std::unique_ptr<Hub> writer, size_t max_group = 512,
                std::function<void(Hub*, bool pushes_waiting)> after_group = nullptr, PushTimings* timings = nullptr);
  ~PushCommitter();
  PushCommitter(const PushCommitter&) = delete;
  PushCommitter& operator=(const PushCommitter&) = delete;

  // Applies one push (durably) and returns its own answer. Thread-safe; blocks. Prefer the
  // prepared form: decoding on the caller's thread keeps it off the one writer thread.
  Status Push(const Caller& caller, std::string body, std::string* response);
  Status Push(const Caller& caller, PreparedPush request, std::string* response);
  // Runs `task` on the writer thread with exclusive use of the writer Hub. Thread-safe; blocks.
  Status Run(const std::function<Status(Hub*)>& task);

  // Refuses new work (kNotOpen), finishes what is queued, joins the thread. Idempotent.
  void Stop();
  CommitterStats stats();

 private:
  struct Item;
  void Loop();
  Status Wait(Item* item, std::string* response);

  std::unique_ptr<Hub> hub_;
  const size_t max_group_;
  const std::function<void(Hub*, bool pushes_waiting)> after_group_;
  PushTimings* const timings_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Item*> queue_;
  bool stopping_ = false;
  CommitterStats stats_;
  std::thread thread_;
};

}  // namespace tillsync::server
