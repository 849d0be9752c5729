// FNV-1a, 64 bit: the one hash for change detection in tillsync (row hashes behind the pull
// checksum, operation payload hashes behind replay detection). Stable across platforms and
// builds, which is what both uses need; not a security hash (tokens use OpenSSL's SHA-256).
#pragma once

#include <cstdint>
#include <string_view>

namespace tillsync {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

inline uint64_t Fnv1a64(std::string_view bytes, uint64_t h = kFnvOffset) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace tillsync
