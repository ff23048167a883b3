// The first plan of a run: which packages go into which shard, with what memory
// limit and go test knobs.
//
// What this component promises:
//  - PlanShards is a pure, deterministic function of its inputs: the same packages,
//    policy and history give the same shards, in the same order, with the same
//    reasons. No files, clocks, threads or logging.
//  - Every package appears in exactly one shard; shards are numbered 0..n-1, none
//    is empty, n <= maxShards, and every limit is within [memory, maxMemory].
//  - Without history the packages are dealt round-robin into `shards` shards, each
//    at the initial memory.
//  - With history (peaks of earlier runs) packages are bin-packed under the
//    initial memory as budget, largest first; see PlanShards for the sizing.
//
// The controller (and the local runner) name each attempt of a shard
// `<run>-s<shard>-a<attempt>` (AttemptName): the pod, and the folder
// `<ns>/<run>/s<shard>/a<attempt>/` on the profiles volume. A shard keeps its index
// while it goes on as one shard (attempt + 1 each time); a shard the retry policy
// splits gives its packages new indexes after the highest one used (retry.h), so a
// name is never reused within a run.
//
// Error code: InvalidArgument for a policy that does not hold together or a package
// list with empty or repeated names.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/policy/quantity.h"

namespace gotestrun::policy {

// The user's knobs, from GoTestRun.spec (resources, goTest, sharding, retry).
struct RunPolicy {
  Bytes memory = 0;      // resources.memory: every shard starts here
  Bytes max_memory = 0;  // resources.maxMemory: no plan goes above it
  // resources.cpu in thousandths of a core, if set. Go 1.25+ derives GOMAXPROCS from
  // it, and with it go test's default -p and a binary's default -parallel.
  std::optional<std::uint64_t> cpu_millis;
  std::optional<int> parallel;  // goTest.parallel as given; unset leaves go's default
  std::optional<int> p;         // goTest.p as given; unset leaves go's default
  int shards = 1;
  int max_shards = 32;
  int max_attempts = 4;  // per package, counting its first
  // retry.memoryBumpRatio and retry.minMemoryBump: a raise after a kill is at least
  // max(old x ratio, old + minMemoryBump). 1 and 0 add nothing to VPA's rule.
  double memory_bump_ratio = 1.0;
  Bytes min_memory_bump = 0;
  bool allow_gomemlimit = true;  // whether the policy may set GOMEMLIMIT
};

// InvalidArgument naming the first field that is out of range.
Status ValidateRunPolicy(const RunPolicy& policy);

// One shard attempt to run: `go test -json [-parallel N] [-p N] <packages>` in a
// container (or cgroup) limited to `memory`, GOMEMLIMIT set if given.
struct ShardPlan {
  int index = 0;
  int attempt = 1;                    // 1 for a new shard, +1 for each retry of it
  std::vector<std::string> packages;  // import paths, in a stable order
  Bytes memory = 0;
  std::optional<int> parallel;      // unset: go's default
  std::optional<int> p;             // unset: go's default
  std::optional<Bytes> gomemlimit;  // per test binary; unset: not set
  std::string reason;               // one line for people: why this shard looks like this

  friend bool operator==(const ShardPlan&, const ShardPlan&) = default;
};

// "payments-s3-a2": the name of a shard attempt's pod and of its evidence folder.
std::string AttemptName(std::string_view run, int shard, int attempt);
// "s<shard>/a<attempt>": a shard attempt in messages, and its folder under the run's
// (core/evidence names folders with it).
std::string AttemptLabel(int shard, int attempt);

// What earlier runs measured for one package: the peak of its test binary and the
// peak of its compile/link steps, each the process's own memory, without the go
// command (which PlanShards adds once per shard as kGoCommandOverhead).
// The knobs a package passed with after an OOM kill in an earlier run. The retry
// policy isolates a killed package, so it passed alone in its shard with them.
struct FitKnobs {
  Bytes memory = 0;
  std::optional<int> parallel;
  std::optional<int> p;
  bool gomemlimit = false;  // GOMEMLIMIT was set (to the share of the limit it had)
  friend bool operator==(const FitKnobs&, const FitKnobs&) = default;
};

struct PackagePeaks {
  std::optional<Bytes> test_run;
  std::optional<Bytes> build;
  std::optional<FitKnobs> fit;
};

// What a shard's build needed in an earlier run of the suite: the limit (and -p) under
// which a shard got through its build after the build was OOM-killed with no test
// binary running. Such a kill is the go command compiling from an empty build cache
// (the standard library, the module's dependencies), which every shard of a Pod does,
// whichever packages it holds: so it is a floor for every shard, not a package's need.
struct ShardBuildNeed {
  Bytes memory = 0;
  std::optional<int> p;
  friend bool operator==(const ShardBuildNeed&, const ShardBuildNeed&) = default;
};

struct History {
  std::map<std::string, PackagePeaks, std::less<>> packages;
  std::optional<ShardBuildNeed> shard_build;
};

// Splits `packages` (import paths, in the order the shards should list them) into
// shards.
//
// With history, a package's need is the larger of its two peaks. Under `-p N` up to
// N test binaries (or compilers) run at once, so a shard's need is the go command
// (kGoCommandOverhead) plus the sum of its N largest package needs, and its limit is
// max(memory, Headroom(need)) rounded up to 16 MiB and capped at maxMemory (N is -p,
// else GOMAXPROCS from the CPU limit, else every package of the shard). Known
// packages are placed largest first into the shard, among those where they still fit
// under the initial memory, that holds the fewest packages, so that the user's shard
// count is honoured as well as the budget; a package that fits nowhere opens a new
// shard while there are fewer than maxShards, and otherwise joins the shard whose
// limit it raises least. A package that does not fit the initial memory even alone
// gets a shard of its own (limit Headroom(100 MiB + peak), capped at maxMemory).
// Packages without history go, in order, to the shard with the fewest packages and
// add nothing to its estimate: the initial memory is what they would have had anyway.
// A package that passed only after an OOM kill (PackagePeaks::fit) is planned the way
// it passed, while maxShards allows: alone, with the -parallel, -p and GOMEMLIMIT it
// passed with, and the limit it passed under, lowered to what its measured peaks need
// with headroom when that is less (never below the initial memory); so a package that
// needed -parallel 1 is not killed at -parallel 16 again on the next run. With a
// shard build need in the history, no shard gets less memory (capped at maxMemory) or
// a higher -p than the build got through with.
StatusOr<std::vector<ShardPlan>> PlanShards(std::span<const std::string> packages, const RunPolicy& policy,
                                            const History& history);

}  // namespace gotestrun::policy
