// RateLimiter: a token bucket per key (a token's hash, or "addr:<ip>" for unauthenticated
// routes). Each key may make `burst` requests at once and `rate_per_s` per second after that; a
// request over the limit is told how many whole seconds to wait (the Retry-After header of the
// 429 answer). A POS device syncs a few times a minute, so honest clients never meet the limit;
// it is there so one runaway or hostile client cannot take the writer from every other shop.
//
// Memory is bounded: when the table grows past `max_keys`, buckets that have refilled (idle
// keys) are dropped, which loses nothing since a full bucket is the default state.
//
// Threading: thread-safe (one mutex; the critical section is a map lookup and some arithmetic).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tillsync::server {

class RateLimiter {
 public:
  // rate_per_s <= 0 disables limiting (every request allowed).
  RateLimiter(double rate_per_s, double burst, size_t max_keys = 100000);

  // True when the request may go ahead. Otherwise *retry_after_s is the wait, at least 1.
  bool Allow(const std::string& key, int* retry_after_s);
  // For tests and benchmarks: the same with an explicit clock.
  bool AllowAt(const std::string& key, std::chrono::steady_clock::time_point now, int* retry_after_s);

  int64_t refused() const { return refused_; }
  bool enabled() const { return rate_ > 0; }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  void Sweep(std::chrono::steady_clock::time_point now);

  const double rate_;
  const double burst_;
  const size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  int64_t refused_ = 0;
};

}  // namespace tillsync::server
