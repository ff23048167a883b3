#include "core/policy/sizing.h"

#include <algorithm>

namespace gotestrun::policy {

Bytes SaturatingAdd(Bytes a, Bytes b) {
  if (a >= kMaxQuantityBytes || b >= kMaxQuantityBytes - a) return kMaxQuantityBytes;
  return a + b;
}

Bytes ScaleUp(Bytes a, std::uint64_t numerator, std::uint64_t denominator) {
  if (denominator == 0) return kMaxQuantityBytes;
  // Split a so that neither product overflows: a = q x d + r.
  Bytes q = a / denominator;
  Bytes r = a % denominator;
  if (numerator != 0 && q > kMaxQuantityBytes / numerator) return kMaxQuantityBytes;
  Bytes whole = q * numerator;
  Bytes rest = (r * numerator + denominator - 1) / denominator;
  return SaturatingAdd(whole, rest);
}

Bytes Headroom(Bytes peak) { return std::max(ScaleUp(peak, 6, 5), SaturatingAdd(peak, kMinHeadroom)); }

Bytes RoundUpLimit(Bytes bytes) {
  constexpr Bytes kTop = kMaxQuantityBytes / kLimitGranularity * kLimitGranularity;
  if (bytes > kTop) return kTop;
  return (bytes + kLimitGranularity - 1) / kLimitGranularity * kLimitGranularity;
}

std::optional<int> GoMaxProcs(std::optional<std::uint64_t> cpu_millis) {
  if (!cpu_millis || *cpu_millis == 0) return std::nullopt;
  std::uint64_t cores = (*cpu_millis + 999) / 1000;
  return static_cast<int>(std::clamp<std::uint64_t>(cores, 2, 1u << 16));
}

Bytes GoMemLimitFor(Bytes limit, int binaries_at_once) {
  Bytes share = limit / 100 * kGoMemLimitPercent + limit % 100 * kGoMemLimitPercent / 100;
  share /= static_cast<Bytes>(std::max(binaries_at_once, 1));
  return std::max(share / kMiB * kMiB, kMiB);
}

}  // namespace gotestrun::policy
