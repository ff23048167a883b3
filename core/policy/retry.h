// The retry policy: given how the shard attempts that just finished ended, what runs
// next, with what limits and knobs, and which packages have reached their end.
//
// What this component promises:
//  - NextAttempts is a pure, deterministic function of its inputs (no files, clocks,
//    threads or logging): shards come out ordered by index, verdicts by package, and
//    the same inputs always give the same decision, reasons included.
//  - A package that passed is never run again; a package whose tests failed (not
//    killed) or whose build failed (not killed) ends there, without more memory.
//  - Every package of a finished attempt that did not pass appears in exactly one new
//    shard or gets a verdict; no shard's memory exceeds maxMemory; no package is
//    given more than maxAttempts attempts; at most maxShards shards run at once.
//  - Each new shard carries a one-line reason, each verdict a diagnosis that says
//    what was tried (limits, -parallel, -p, GOMEMLIMIT per attempt) and why it ended.
//
// The rules, in the order they are applied to each finished attempt:
//  1. Passed, tests failed, build failed: verdicts.
//  2. The whole container died while go test was building and no test binary ran
//     (AttemptOutcome::build): the build steps are the shard's build need, not a test
//     package's, so the shard goes on whole and nobody is charged (cause BuildMemory,
//     named for the package compiled). When several steps ran at once and one step's
//     measured max RSS x1.2 fits the limit several times over but not as many times as
//     steps ran, -p is lowered to what fits (memory kept: go test's build peak is
//     about the sum of its concurrent compiles); otherwise memory is raised from what
//     the steps held together (the cgroup peak, or their summed RSS), by the rule for
//     memory below, and to maxMemory if the shard's build was killed before at a
//     lower limit. At maxMemory, -p 1 is the last change; then DoesNotFit.
//  2b. Packages the evidence names as killed (test binary, or compile/link) are each
//     isolated into a shard of their own, with one change chosen from the cause
//     (below); the packages left without a result go together to one more shard
//     with the limits they had.
//  3. The whole container died while several packages ran (running_at_kill): each of
//     them is isolated at once, in a shard of its own, with the change its own
//     evidence calls for (a -parallel, GOMEMLIMIT or memory figure its diagnosis
//     measured; else limits kept, since being alone already frees what the others
//     held); the packages not running go on together with the limits they had.
//     Isolating a suspect is not charged: the kill may have been a neighbour's.
//  4. The whole container died and no package was named: the packages without a
//     result are split in two (bisected), limits kept, instead of raising memory for
//     all of them. When one package is left without a result, it is the one killed.
//  5. No kill and packages without a result (a lost pod): they run again, once more
//     counted against maxAttempts.
//  The change for a killed package, by cause (Finding::cause, or derived from the
//  phase when the diagnosis named none):
//   - ParallelSpike: halve -parallel (min 1); Unknown with kManyTestsAtOnce or more
//     tests running at the kill: the same.
//   - GCHeadroom: set GOMEMLIMIT to 90% of the limit divided by the binaries that run
//     at once (if allowed and not tried yet).
//   - BuildMemory (compile/link killed): halve -p when several build steps ran at
//     once; Unknown with several binaries at once and the package already alone: the
//     same.
//   - Otherwise, or when the change above is not possible: raise memory to
//     max(peak x 1.2, peak + 100 MiB) (VPA's rule; the peak is the limit when the
//     observed one is unknown or below it), at least max(old x memoryBumpRatio,
//     old + minMemoryBump) and any need the diagnosis projected, rounded up to
//     16 MiB, capped at maxMemory. Already alone at maxMemory: DoesNotFit. A
//     package killed again after its memory was raised once goes to maxMemory: the
//     estimate under-shot once, and it must not under-shoot twice.
//   - A package killed beside others whose own observed peak, with the go command
//     and headroom, fits its limit, is only isolated.
//   - A package's last attempt (after maxAttempts - 1 charged) runs at maxMemory, besides
//     any other change: VPA's 1.2x per attempt would take 8 attempts to climb from
//     512Mi to 2Gi, and a need below the cap must not fail for want of attempts.
//  When isolating would need more shards than maxShards allows, the shard is retried
//  whole instead, with -p halved if several binaries ran at once, else more memory;
//  that attempt is charged to its suspects.
//
// Attempts: an attempt counts against maxAttempts for a package when it gave a
// result for it (passed, failed, killed) or was its own fault (rule 5, or the only
// package without a result in a container that died). Being left without a result
// because a neighbour was killed does not count: bisecting a shard is the policy's
// work, and it ends because every split leaves fewer packages together.
//
// Shard indexes: a finished shard that continues as exactly one shard keeps its
// index, with attempt + 1; a shard that is split gives its packages new shards,
// numbered after the highest index in `shards` and in the log. Pods are named
// `<run>-s<shard>-a<attempt>` (AttemptName in plan.h).
//
// Error code: InvalidArgument when the inputs contradict each other (an outcome for
// a shard attempt not in `shards`, a package in two shards, a package reported that
// its shard did not plan, a package run again after it passed) or the policy is out
// of range.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/policy/plan.h"
#include "core/policy/quantity.h"

namespace gotestrun::policy {

// How one package ended in one attempt.
enum class PackageResult {
  kNotRun,       // no result: not started, or still running when the attempt ended
  kPassed,       // passed, or had no tests
  kTestsFailed,  // tests failed, panicked or timed out: not a kill
  kBuildFailed,  // did not compile, not because of a kill
  kKilled,       // its test binary was killed (OOM)
  kBuildKilled,  // its compile or link step was killed (OOM)
};

// Where the memory ran out.
enum class Phase { kUnknown, kCompile, kLink, kInit, kTestRun };

// Why, as the diagnosis saw it.
enum class Cause {
  kUnknown,
  kLeakAcrossTests,  // heap grows test after test
  kParallelSpike,    // many t.Parallel tests at once
  kGoroutineLeak,    // goroutines (and what they hold) pile up
  kNativeMemory,     // cgo / mmap: outside the Go heap, GOMEMLIMIT cannot help
  kGcHeadroom,       // live heap fits, the GC let the heap grow past the limit
  kLargeTest,        // one test legitimately needs the memory
  kInitMemory,       // package init or TestMain, before any test
  kBuildMemory,      // the compiler or linker
};

std::string_view PackageResultName(PackageResult result);
std::string_view PhaseName(Phase phase);
std::string_view CauseName(Cause cause);

// What the diagnosis concluded about a kill. The proposals are taken only where they
// move in the safe direction: more memory, fewer tests or binaries at once.
struct Finding {
  Cause cause = Cause::kUnknown;
  std::string evidence;         // one line, e.g. "heap grew ~60 MiB per test over 6 tests"
  std::optional<Bytes> memory;  // a need it projected, e.g. from growth per test
  std::optional<int> parallel;
  std::optional<int> p;
};

struct PackageOutcome {
  std::string package;
  PackageResult result = PackageResult::kNotRun;
  Phase phase = Phase::kUnknown;  // where it was killed
  std::optional<Bytes> peak;      // its own peak: the test binary, or its compile/link
  // The largest max RSS of its own compile or link steps that ended well in this
  // attempt (the -toolexec wrapper's figure): what building it alone needs.
  std::optional<Bytes> build_peak;
  int tests_at_kill = 0;     // tests running at once in its binary at the kill (0: unknown)
  std::string test_at_kill;  // the test running at the kill, for the reason
  // kNotRun, but one of several test binaries (or build steps) running when the whole
  // container was killed: a suspect the evidence names, not a bystander.
  bool running_at_kill = false;
  std::optional<Finding> finding;
};

// The whole container died while go test was building and no test binary ran: the
// compile and link steps running then are what the shard needs to build, whichever
// package they were for (a dependency, the standard library from an empty GOCACHE, or
// one of its own).
struct BuildAtKill {
  std::string package;  // the step named as the cause: the largest known, else the longest running
  Phase phase = Phase::kCompile;
  int steps = 0;                   // compile/link steps running at once at the kill
  std::optional<Bytes> step_peak;  // the largest max RSS of one build step seen in the attempt
  std::optional<Bytes> need;       // what the steps at the kill held together, where measured
};

// One finished attempt of one shard, as the evidence tells it.
struct AttemptOutcome {
  int shard = 0;
  int attempt = 0;
  // Any order; a package of the plan that is missing here had no result (kNotRun).
  std::vector<PackageOutcome> packages;
  // The whole container (or cgroup) was OOM-killed: no result.json.
  bool container_oom_killed = false;
  Phase phase = Phase::kUnknown;  // of the container kill, where known
  std::optional<Bytes> peak;      // the attempt's peak (cgroup)
  int binaries_at_kill = 0;       // test binaries and build steps running at once at the kill (0: unknown)
  // The diagnosis of a container kill the evidence could not pin on one package.
  std::optional<Finding> finding;
  // Set when the container died in the build with no test binary running (rule 2).
  std::optional<BuildAtKill> build;
  // A step before go test (a Pod's init container: the agent's install, the git clone)
  // was OOM-killed, so no package ran: the step's name.
  std::string setup_killed;
};

enum class Verdict {
  kPassed,
  kTestsFailed,
  kBuildFailed,
  kDoesNotFit,     // killed alone at maxMemory with nothing else left to change
  kAttemptsSpent,  // maxAttempts used up
};

std::string_view VerdictName(Verdict verdict);

// One attempt of one package: the plan it ran under and how it ended. The log of
// these is the policy's memory between decisions; the controller keeps it (or
// rebuilds it from status) and passes it back.
struct PackageAttempt {
  int shard = 0;
  int attempt = 0;
  Bytes memory = 0;
  std::optional<int> parallel;
  std::optional<int> p;
  std::optional<Bytes> gomemlimit;
  PackageResult result = PackageResult::kNotRun;
  Phase phase = Phase::kUnknown;
  std::optional<Bytes> peak;
  std::optional<Bytes> build_peak;  // its own compile/link, where measured
  Cause cause = Cause::kUnknown;
  bool counted = false;  // charged against maxAttempts
  // Set on the attempt that ended the package: how it ended.
  std::optional<Verdict> verdict;

  friend bool operator==(const PackageAttempt&, const PackageAttempt&) = default;
};

using AttemptLog = std::map<std::string, std::vector<PackageAttempt>, std::less<>>;

// Attempts charged to a package so far.
int CountedAttempts(const AttemptLog& log, std::string_view package);

struct PackageVerdict {
  std::string package;
  Verdict verdict = Verdict::kPassed;
  std::string diagnosis;

  friend bool operator==(const PackageVerdict&, const PackageVerdict&) = default;
};

enum class RunState { kRunning, kSucceeded, kFailed };

std::string_view RunStateName(RunState state);

struct RetryDecision {
  std::vector<ShardPlan> shards;         // to start now, by index
  std::vector<PackageVerdict> verdicts;  // packages that reached their end, by name
  AttemptLog log;                        // the log passed in plus the attempts just finished
  // kRunning while shards are to start or still running; then kSucceeded when every
  // package's last attempt passed, else kFailed.
  RunState state = RunState::kRunning;
  std::string summary;  // for a finished run: what passed, what failed and why
};

// `shards`: the plans of every shard attempt that is running or just finished;
// those with an outcome in `outcomes` (matched on index and attempt) just finished,
// the others are still running and only count towards maxShards and the next index.
// `log`: the attempts before these.
StatusOr<RetryDecision> NextAttempts(const RunPolicy& policy, std::span<const ShardPlan> shards,
                                     std::span<const AttemptOutcome> outcomes, const AttemptLog& log);

}  // namespace gotestrun::policy
