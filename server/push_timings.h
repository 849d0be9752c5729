// PushTimings: where a push's time goes inside the hub, phase by phase, as histograms
// (server/latency_histogram.h), reported under "push_timings" in GET /v1/admin/stats.
//
// Why: the device sees one latency per push (request written to answer read); its tail can come
// from the writer's cycle (the group's SQL, the COMMIT's fsync, WAL maintenance after the group),
// from the push waiting in the queue for the group in front of it, or from threads waiting for a
// core. Each phase is timed with steady_clock where it happens, so bench_hub can put the device's
// p99 beside the phases' own and see which one carries the tail.
//
// Phases, all in microseconds:
//   handler      HTTP thread: from the push handler's start to its answer being ready
//                (prepare + queue wait + group + wake), i.e. the server's part minus the socket
//   prepare      HTTP thread: Hub::PreparePush (decode, hash, validate)
//   queue_wait   a push: handed to the committer -> its group starts on the writer
//   group        writer, per group: Hub::PushGroup, COMMIT included
//   commit       writer, per write transaction: SQLite's COMMIT (commit hook -> WAL hook), which
//                writes the WAL frames and fsyncs them (synchronous=FULL)
//   after_group  writer, per group: the after-group hook (WAL maintenance), whether or not it
//                checkpointed; pushes that arrive meanwhile wait in the queue
//   checkpoint   writer, per checkpoint it ran at the threshold (a subset of after_group)
//   helper_checkpoint  the background checkpointer's PASSIVE checkpoints (its own thread; it
//                competes with the writer for the disk and a core, not for a lock)
//   wake         a push: its group answered -> its HTTP thread running again
//
// Threading: every histogram is safe to record from any thread.
#pragma once

#include <chrono>
#include <cstdint>

#include "server/latency_histogram.h"

namespace tillsync::server {

struct PushTimings {
  LatencyHistogram handler, prepare, queue_wait, group, commit, after_group, checkpoint, helper_checkpoint, wake;

  static int64_t MicrosSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  }

  Json ToJson() const {
    return Json{{"handler", handler.ToJson()},
                {"prepare", prepare.ToJson()},
                {"queue_wait", queue_wait.ToJson()},
                {"group", group.ToJson()},
                {"commit", commit.ToJson()},
                {"after_group", after_group.ToJson()},
                {"checkpoint", checkpoint.ToJson()},
                {"helper_checkpoint", helper_checkpoint.ToJson()},
                {"wake", wake.ToJson()}};
  }
};

}  // namespace tillsync::server
