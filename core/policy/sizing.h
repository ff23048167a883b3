// The arithmetic that the planner (plan.h) and the retry policy (retry.h) share: how
// much room a measured peak gets, how many things go runs at once, and what
// GOMEMLIMIT a limit allows. Kept in one place so that a shard planned from history
// and a shard resized after a kill are sized by the same rules.
#pragma once

#include <cstdint>
#include <optional>

#include "core/policy/quantity.h"

namespace gotestrun::policy {

// The go command's own memory beside the compilers and test binaries it starts: the
// package graph, the build cache index, the -json encoder. Its peak RSS (Go 1.26) was
// about 24 MiB running `go test -json` on a small module and about 120 MiB loading
// kube-apiserver's 2,030-package graph with tests (`go list -deps -test -json`);
// 100 MiB covers suites up to about a thousand packages.
inline constexpr Bytes kGoCommandOverhead = 100 * kMiB;

// VPA's rule after an OOM kill: new = max(peak x 1.2, peak + 100 MiB).
inline constexpr Bytes kMinHeadroom = 100 * kMiB;

// Limits are rounded up to a multiple of this, so that they read well in pod specs
// and reasons (640Mi rather than 636.1Mi) and a retry never differs by a few bytes.
inline constexpr Bytes kLimitGranularity = 16 * kMiB;

// When the diagnosis named no cause, this many tests running at once in the killed
// binary is taken as concurrency having driven the peak.
inline constexpr int kManyTestsAtOnce = 4;

// GOMEMLIMIT as a share of the limit: 90% leaves the 5-10% that stacks, cgo and the
// go command need outside the Go heap.
inline constexpr int kGoMemLimitPercent = 90;

// max(peak x 1.2 rounded up, peak + 100 MiB), saturating at kMaxQuantityBytes.
Bytes Headroom(Bytes peak);

// Up to the next multiple of kLimitGranularity, saturating at the largest multiple
// not above kMaxQuantityBytes.
Bytes RoundUpLimit(Bytes bytes);

// The GOMAXPROCS a Go 1.25+ process picks under a CPU limit, which is also go test's
// default -p and a test binary's default -parallel: ceil(cpu), at least 2. Unset
// without a limit (then it is the node's CPU count, which the policy cannot know).
std::optional<int> GoMaxProcs(std::optional<std::uint64_t> cpu_millis);

// GOMEMLIMIT for each of `binaries_at_once` test binaries sharing `limit`:
// 90% of the limit divided among them, rounded down to a whole MiB (at least 1 MiB).
Bytes GoMemLimitFor(Bytes limit, int binaries_at_once);

// a x b / c rounded up, without overflow for a below 2^63 and small b, c; saturates
// at kMaxQuantityBytes.
Bytes ScaleUp(Bytes a, std::uint64_t numerator, std::uint64_t denominator);

// a + b, saturating at kMaxQuantityBytes.
Bytes SaturatingAdd(Bytes a, Bytes b);

}  // namespace gotestrun::policy
