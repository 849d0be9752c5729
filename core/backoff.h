// Backoff: the retry schedule after a failed sync. Exponential with "equal jitter": the n-th
// consecutive failure waits between d/2 and d, where d = min(cap, base * 2^n) (base 1 s, cap
// 5 min). Jitter spreads a fleet of tablets that lost the network together, so they do not all
// return at the same instant. Success resets it. Deterministic under an injected Env.
// Not thread-safe.
#pragma once

#include <cstdint>

#include "core/env.h"

namespace tillsync {

struct BackoffPolicy {
  int64_t base_ms = 1000;
  int64_t cap_ms = 5 * 60 * 1000;
};

class Backoff {
 public:
  Backoff(Env* env, BackoffPolicy policy = {}) : env_(env), policy_(policy) {}
  // The wait before the next attempt; counts one more failure.
  int64_t NextDelayMs();
  void Reset() { failures_ = 0; }
  int failures() const { return failures_; }
  void set_failures(int n) { failures_ = n; }

 private:
  Env* env_;
  BackoffPolicy policy_;
  int failures_ = 0;
};

}  // namespace tillsync
