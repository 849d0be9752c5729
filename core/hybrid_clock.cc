#include "core/hybrid_clock.h"

#include <cstdio>
#include <algorithm>
#include <tuple>

namespace tillsync {
namespace {
constexpr uint32_t kMaxLogical = 0xffff;

bool ParseHex(std::string_view s, uint64_t* out) {
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return false;
    v = (v << 4) | uint64_t(d);
  }
  *out = v;
  return true;
}
}  // namespace

std::string HlcTimestamp::ToString() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%012llx.%04x.", static_cast<unsigned long long>(wall_ms),
                static_cast<unsigned>(logical));
  return std::string(buf) + node;
}

Status HlcTimestamp::Parse(std::string_view text, HlcTimestamp* out) {
  // 12 hex + '.' + 4 hex + '.' + node (1..64 chars)
  if (text.size() < 19 || text.size() > 18 + 64 || text[12] != '.' || text[17] != '.')
    return Status(ErrorCode::kBadValue, "hlc must look like WWWWWWWWWWWW.LLLL.node");
  uint64_t wall = 0, logical = 0;
  if (!ParseHex(text.substr(0, 12), &wall) || !ParseHex(text.substr(13, 4), &logical))
    return Status(ErrorCode::kBadValue, "hlc has non-hex digits");
  out->wall_ms = int64_t(wall);
  out->logical = uint32_t(logical);
  out->node = std::string(text.substr(18));
  return Status::Ok();
}

bool HlcTimestamp::operator<(const HlcTimestamp& o) const {
  return std::tie(wall_ms, logical, node) < std::tie(o.wall_ms, o.logical, o.node);
}
bool HlcTimestamp::operator==(const HlcTimestamp& o) const {
  return wall_ms == o.wall_ms && logical == o.logical && node == o.node;
}

HlcTimestamp HybridClock::Now() {
  int64_t wall = env_->NowMillis();
  if (wall > last_.wall_ms) {
    last_.wall_ms = wall;
    last_.logical = 0;
  } else if (last_.logical < kMaxLogical) {
    // The wall clock stood still or went backwards: keep the physical part, count logically.
    ++last_.logical;
  } else {
    // Logical counter exhausted: borrow one millisecond from the future rather than wrap.
    ++last_.wall_ms;
    last_.logical = 0;
  }
  last_.node = node_;
  return last_;
}

void HybridClock::Observe(const HlcTimestamp& remote) {
  int64_t wall = env_->NowMillis();
  int64_t top = std::max(wall, std::max(last_.wall_ms, remote.wall_ms));
  uint32_t logical;
  if (top == last_.wall_ms && top == remote.wall_ms) logical = std::max(last_.logical, remote.logical) + 1;
  else if (top == last_.wall_ms) logical = last_.logical + 1;
  else if (top == remote.wall_ms) logical = remote.logical + 1;
  else logical = 0;
  if (logical > kMaxLogical) {
    ++top;
    logical = 0;
  }
  last_.wall_ms = top;
  last_.logical = logical;
  last_.node = node_;
}

}  // namespace tillsync
