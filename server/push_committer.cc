#include "server/push_committer.h"

#include <chrono>
#include <cstdio>
#include <vector>

namespace tillsync::server {

// One waiter: a push or a task, and the condition it sleeps on until the writer is done with it.
// Each waiter sleeps on a mutex of its own, not on the queue's: when a group of 50 is answered,
// 50 threads wake at once, and had they all to take the queue's mutex again (as a condition
// variable on it makes them), they would pass it from one to the next, each handover a context
// switch on 2 busy cores, while the writer and new pushes need the same mutex. The writer sets
// `done` (and everything the waiter reads) under the waiter's mutex and notifies while holding
// it: once it lets go, the waiter may return and the Item (on the waiter's stack) is gone.
struct PushCommitter::Item {
  bool is_task = false;
  PushCall call;
  const std::function<Status(Hub*)>* task = nullptr;
  Status task_status;
  std::mutex mu;
  bool done = false;  // guarded by mu
  std::condition_variable cv;
  std::chrono::steady_clock::time_point queued, answered;  // for PushTimings
};

PushCommitter::PushCommitter(std::unique_ptr<Hub> writer, size_t max_group, std::function<void(Hub*, bool)> after_group,
                             PushTimings* timings)
    : hub_(std::move(writer)),
      max_group_(max_group == 0 ? 1 : max_group),
      after_group_(std::move(after_group)),
      timings_(timings) {
  thread_ = std::thread([this] { Loop(); });
}

PushCommitter::~PushCommitter() { Stop(); }

void PushCommitter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status PushCommitter::Push(const Caller& caller, std::string body, std::string* response) {
  Item item;
  item.call.caller = caller;
  item.call.body = std::move(body);
  return Wait(&item, response);
}

Status PushCommitter::Push(const Caller& caller, PreparedPush request, std::string* response) {
  Item item;
  item.call.caller = caller;
  item.call.prepared = true;
  item.call.request = std::move(request);
  return Wait(&item, response);
}

Status PushCommitter::Wait(Item* item, std::string* response) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status(ErrorCode::kNotOpen, "the hub is shutting down");
    if (timings_ != nullptr) item->queued = std::chrono::steady_clock::now();
    queue_.push_back(item);
  }
  wake_.notify_one();
  std::unique_lock<std::mutex> mine(item->mu);
  item->cv.wait(mine, [&] { return item->done; });
  if (timings_ != nullptr) timings_->wake.Record(PushTimings::MicrosSince(item->answered));
  if (!item->call.status.ok()) return item->call.status;
  *response = std::move(item->call.response);
  return Status::Ok();
}

Status PushCommitter::Run(const std::function<Status(Hub*)>& task) {
  Item item;
  item.is_task = true;
  item.task = &task;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status(ErrorCode::kNotOpen, "the hub is shutting down");
    queue_.push_back(&item);
  }
  wake_.notify_one();
  std::unique_lock<std::mutex> mine(item.mu);
  item.cv.wait(mine, [&] { return item.done; });
  return item.task_status;
}

CommitterStats PushCommitter::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void PushCommitter::Loop() {
  std::vector<Item*> batch;
  std::vector<PushCall> calls;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has been answered
      // Take a task alone, or a run of consecutive pushes (up to max_group_): FIFO order holds,
      // so a task queued after a push sees that push's effects.
      batch.clear();
      if (queue_.front()->is_task) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      } else {
        while (!queue_.empty() && !queue_.front()->is_task && batch.size() < max_group_) {
          batch.push_back(queue_.front());
          queue_.pop_front();
        }
      }
    }
    // The writer works without the lock held: new pushes queue up meanwhile and form the next
    // group, which is the whole point.
    if (batch.front()->is_task) {
      Item* item = batch.front();
      Status status = (*item->task)(hub_.get());
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.tasks;
      }
      std::lock_guard<std::mutex> mine(item->mu);
      item->task_status = status;
      item->done = true;
      item->cv.notify_one();
      continue;
    }
    calls.clear();
    calls.reserve(batch.size());
    auto group_start = std::chrono::steady_clock::now();
    for (Item* item : batch) {
      if (timings_ != nullptr)
        timings_->queue_wait.Record(
            std::chrono::duration_cast<std::chrono::microseconds>(group_start - item->queued).count());
      calls.push_back(std::move(item->call));
    }
    Status group = hub_->PushGroup(&calls);
    auto answered = std::chrono::steady_clock::now();
    if (timings_ != nullptr)
      timings_->group.Record(std::chrono::duration_cast<std::chrono::microseconds>(answered - group_start).count());
    if (!group.ok()) {
      // PushGroup failed as a whole (could not begin or commit): nothing of this group is
      // durable, so no call may be acknowledged, whatever its own status says.
      std::fprintf(stderr, "tillsync-server: push group of %zu failed: %s\n", calls.size(), group.ToString().c_str());
      for (PushCall& c : calls) {
        c.status = group;
        c.response.clear();
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.groups;
      stats_.pushes += int64_t(calls.size());
      if (int64_t(calls.size()) > stats_.largest_group) stats_.largest_group = int64_t(calls.size());
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      std::lock_guard<std::mutex> mine(batch[i]->mu);
      batch[i]->call = std::move(calls[i]);
      batch[i]->answered = answered;
      batch[i]->done = true;
      batch[i]->cv.notify_one();
    }
    if (after_group_) {
      bool waiting;
      {
        std::lock_guard<std::mutex> lock(mu_);
        waiting = !queue_.empty();
      }
      auto start = std::chrono::steady_clock::now();
      after_group_(hub_.get(), waiting);
      if (timings_ != nullptr) timings_->after_group.Record(PushTimings::MicrosSince(start));
    }
  }
}

}  // namespace tillsync::server
