#include "server/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace tillsync::server {

RateLimiter::RateLimiter(double rate_per_s, double burst, size_t max_keys)
    : rate_(rate_per_s), burst_(std::max(1.0, burst)), max_keys_(max_keys) {}

bool RateLimiter::Allow(const std::string& key, int* retry_after_s) {
  return AllowAt(key, std::chrono::steady_clock::now(), retry_after_s);
}

bool RateLimiter::AllowAt(const std::string& key, std::chrono::steady_clock::time_point now, int* retry_after_s) {
  if (rate_ <= 0) return true;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) Sweep(now);
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  double elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed > 0) {
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  ++refused_;
  // Whole seconds (HTTP's unit), rounded up so a client that waits exactly that long succeeds.
  *retry_after_s = std::max(1, int(std::ceil((1.0 - b.tokens) / rate_)));
  return false;
}

void RateLimiter::Sweep(std::chrono::steady_clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    double elapsed = std::chrono::duration<double>(now - it->second.last).count();
    if (it->second.tokens + elapsed * rate_ >= burst_) it = buckets_.erase(it);
    else ++it;
  }
}

}  // namespace tillsync::server
