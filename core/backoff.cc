#include "core/backoff.h"

namespace tillsync {

int64_t Backoff::NextDelayMs() {
  int64_t d = policy_.base_ms;
  for (int i = 0; i < failures_ && d < policy_.cap_ms; ++i) d *= 2;  // no shift overflow
  if (d > policy_.cap_ms) d = policy_.cap_ms;
  ++failures_;
  int64_t half = d / 2;
  return half + int64_t(env_->Random64() % uint64_t(d - half + 1));
}

}  // namespace tillsync
