// LatencyHistogram: a lock-free histogram of durations in microseconds, for the hub's push path
// (server/push_timings.h). Buckets are log-linear: exact below 8 us, then 8 buckets per power of
// two (each at most 12.5 % wide), so p99 and p999 of a phase can be read to within an eighth of
// their value, from 1 us to days, in a fixed 300-odd counters.
//
// Why not a vector of samples: Record() runs on the writer thread and on every HTTP thread at
// thousands of pushes a second; a relaxed atomic increment costs nothing measurable there and
// needs no lock, and the counters are cumulative, so a reader (bench_hub) takes the difference
// of two snapshots to get the percentiles of its own measured window.
//
// Threading: Record() and Snapshot() from any thread (relaxed atomics: a snapshot taken during
// recording may miss the last few samples, which does not matter for percentiles).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "core/json_reader.h"

namespace tillsync::server {

class LatencyHistogram {
 public:
  static constexpr int kExact = 8;          // 0..7 us each in a bucket of their own
  static constexpr int kPerOctave = 8;      // above that, 8 buckets per power of two
  static constexpr int kOctaves = 40;       // up to 2^43 us, about 100 days
  static constexpr int kBuckets = kExact + kPerOctave * kOctaves;

  void Record(int64_t micros);
  // The counts of every bucket, index by index (cumulative since start).
  std::vector<int64_t> Snapshot() const;
  int64_t count() const { return count_.load(std::memory_order_relaxed); }

  static int BucketOf(int64_t micros);
  static int64_t UpperBound(int bucket);  // the largest value that falls in `bucket`
  // The smallest bucket upper bound below or at which a fraction `p` of the samples fall
  // (0 when there are none).
  static int64_t Percentile(const std::vector<int64_t>& counts, double p);

  // {"count": n, "sum_us": s, "max_us": m, "buckets": [[upper_us, count], ...]} with only the
  // non-empty buckets, in order: self-describing, so a client diffs two snapshots by upper bound.
  Json ToJson() const;

 private:
  std::array<std::atomic<int64_t>, kBuckets> buckets_{};
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> sum_{0};
  std::atomic<int64_t> max_{0};
};

}  // namespace tillsync::server
