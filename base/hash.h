// A stable, non-cryptographic hash for names derived from content (file names, keys):
// FNV-1a, 64 bits. The same input gives the same value on every machine and build.
#pragma once

#include <cstdint>
#include <string_view>

namespace gotestrun {

constexpr std::uint64_t Fnv1a64(std::string_view s) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace gotestrun
