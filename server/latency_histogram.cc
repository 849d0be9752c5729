#include "server/latency_histogram.h"

namespace tillsync::server {

int LatencyHistogram::BucketOf(int64_t micros) {
  if (micros < kExact) return micros < 0 ? 0 : int(micros);
  int msb = 63 - __builtin_clzll(uint64_t(micros));  // >= 3
  int octave = msb - 3;
  if (octave >= kOctaves) return kBuckets - 1;
  int sub = int((uint64_t(micros) >> octave) & (kPerOctave - 1));
  return kExact + octave * kPerOctave + sub;
}

int64_t LatencyHistogram::UpperBound(int bucket) {
  if (bucket < kExact) return bucket;
  int octave = (bucket - kExact) / kPerOctave, sub = (bucket - kExact) % kPerOctave;
  return ((int64_t(kPerOctave + sub + 1)) << octave) - 1;
}

void LatencyHistogram::Record(int64_t micros) {
  if (micros < 0) micros = 0;
  buckets_[size_t(BucketOf(micros))].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(micros, std::memory_order_relaxed);
  int64_t seen = max_.load(std::memory_order_relaxed);
  while (micros > seen && !max_.compare_exchange_weak(seen, micros, std::memory_order_relaxed)) {
  }
}

std::vector<int64_t> LatencyHistogram::Snapshot() const {
  std::vector<int64_t> out(kBuckets);
  for (int i = 0; i < kBuckets; ++i) out[size_t(i)] = buckets_[size_t(i)].load(std::memory_order_relaxed);
  return out;
}

int64_t LatencyHistogram::Percentile(const std::vector<int64_t>& counts, double p) {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  if (total == 0) return 0;
  // The rank of the sample at fraction p, 1-based, at least 1.
  int64_t rank = int64_t(p * double(total) + 0.999999);
  if (rank < 1) rank = 1;
  int64_t seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank) return UpperBound(int(i));
  }
  return UpperBound(int(counts.size()) - 1);
}

Json LatencyHistogram::ToJson() const {
  Json buckets = Json::array();
  std::vector<int64_t> counts = Snapshot();
  for (int i = 0; i < kBuckets; ++i)
    if (counts[size_t(i)] != 0) buckets.push_back(Json::array({UpperBound(i), counts[size_t(i)]}));
  return Json{{"count", count()},
              {"sum_us", sum_.load(std::memory_order_relaxed)},
              {"max_us", max_.load(std::memory_order_relaxed)},
              {"buckets", std::move(buckets)}};
}

}  // namespace tillsync::server
