// Env: where the core gets time and randomness, LevelDB style. The core never reads a clock or a
// random source directly, so tests and the deterministic simulation can skew clocks, jump them,
// and replay a seed exactly. SystemEnv reads the real wall clock and the OS random source;
// ManualEnv is driven by its owner. An Env is borrowed by the objects that use it and must
// outlive them. Not thread-safe unless the implementation says so (SystemEnv is).
#pragma once

#include <cstdint>

namespace tillsync {

class Env {
 public:
  virtual ~Env() = default;
  // Wall clock in milliseconds since the Unix epoch. Untrusted for ordering: it may jump
  // backwards or forwards; only the hybrid logical clock orders writes.
  virtual int64_t NowMillis() = 0;
  // A uniformly random 64-bit value.
  virtual uint64_t Random64() = 0;
};

// The real clock and the OS random source. Thread-safe. Never destroyed.
Env* SystemEnv();

// A clock set by hand and a seeded generator (splitmix64): same seed, same sequence.
class ManualEnv : public Env {
 public:
  explicit ManualEnv(int64_t now_millis, uint64_t seed = 1) : now_(now_millis), state_(seed) {}
  int64_t NowMillis() override { return now_; }
  uint64_t Random64() override;
  void SetNow(int64_t now_millis) { now_ = now_millis; }
  void Advance(int64_t millis) { now_ += millis; }

 private:
  int64_t now_;
  uint64_t state_;
};

}  // namespace tillsync
