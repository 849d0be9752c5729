// HybridClock: a hybrid logical clock (Kulkarni et al.) that orders writes across devices whose
// wall clocks are skewed or jump. A timestamp is (wall_ms, logical, node). It never goes
// backwards on a node, even when the wall clock does, and it moves past every timestamp the node
// has observed, so a write made after seeing another write always orders after it.
//
// Text form, used on the wire and in column clocks: "WWWWWWWWWWWW.LLLL.node" with 12 lowercase
// hex digits of wall ms and 4 of logical counter. Fixed width makes byte-wise string comparison
// equal to timestamp order, with the node id as the deterministic tie-break.
// Threading: not thread-safe; one clock per device or hub.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/env.h"
#include "core/status.h"

namespace tillsync {

struct HlcTimestamp {
  int64_t wall_ms = 0;
  uint32_t logical = 0;
  std::string node;

  std::string ToString() const;
  static Status Parse(std::string_view text, HlcTimestamp* out);
  bool operator<(const HlcTimestamp& o) const;
  bool operator==(const HlcTimestamp& o) const;
};

class HybridClock {
 public:
  HybridClock(Env* env, std::string node) : env_(env), node_(std::move(node)) {}

  // The timestamp for a new local event.
  HlcTimestamp Now();
  // Moves the clock past a timestamp received from elsewhere.
  void Observe(const HlcTimestamp& remote);
  // The last timestamp issued or observed (what must be persisted to survive a restart).
  const HlcTimestamp& last() const { return last_; }
  void Restore(const HlcTimestamp& last) { last_ = last; last_.node = node_; }
  const std::string& node() const { return node_; }

 private:
  Env* env_;
  std::string node_;
  HlcTimestamp last_;
};

}  // namespace tillsync
