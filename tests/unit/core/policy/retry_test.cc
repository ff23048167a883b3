#include "core/policy/retry.h"

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::policy {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

RunPolicy Policy() {
  RunPolicy policy;
  policy.memory = 512 * kMiB;
  policy.max_memory = 4 * kGiB;
  policy.shards = 2;
  policy.max_shards = 8;
  policy.max_attempts = 4;
  policy.parallel = 8;
  policy.p = 4;
  return policy;
}

ShardPlan Shard(int index, std::vector<std::string> packages, Bytes memory = 512 * kMiB,
                std::optional<int> parallel = 8, std::optional<int> p = 4, std::optional<Bytes> gomemlimit = {},
                int attempt = 1) {
  ShardPlan plan;
  plan.index = index;
  plan.attempt = attempt;
  plan.packages = std::move(packages);
  plan.memory = memory;
  plan.parallel = parallel;
  plan.p = p;
  plan.gomemlimit = gomemlimit;
  plan.reason = "planned";
  return plan;
}

PackageOutcome Ended(std::string package, PackageResult result) {
  PackageOutcome outcome;
  outcome.package = std::move(package);
  outcome.result = result;
  return outcome;
}
PackageOutcome Pass(std::string package) { return Ended(std::move(package), PackageResult::kPassed); }
PackageOutcome Fail(std::string package) { return Ended(std::move(package), PackageResult::kTestsFailed); }
PackageOutcome BuildFail(std::string package) { return Ended(std::move(package), PackageResult::kBuildFailed); }
PackageOutcome NoResult(std::string package) { return Ended(std::move(package), PackageResult::kNotRun); }

PackageOutcome Killed(std::string package, int tests_at_kill = 1, std::optional<Bytes> peak = {}) {
  PackageOutcome outcome = Ended(std::move(package), PackageResult::kKilled);
  outcome.phase = Phase::kTestRun;
  outcome.test_at_kill = "TestBig";
  outcome.tests_at_kill = tests_at_kill;
  outcome.peak = peak;
  return outcome;
}

PackageOutcome BuildKilled(std::string package, Phase phase = Phase::kCompile) {
  PackageOutcome outcome = Ended(std::move(package), PackageResult::kBuildKilled);
  outcome.phase = phase;
  return outcome;
}

PackageOutcome Because(PackageOutcome outcome, Cause cause, std::string evidence = "") {
  Finding finding;
  finding.cause = cause;
  finding.evidence = std::move(evidence);
  outcome.finding = finding;
  return outcome;
}

AttemptOutcome Attempt(const ShardPlan& plan, std::vector<PackageOutcome> packages, int binaries_at_kill = 1) {
  AttemptOutcome outcome;
  outcome.shard = plan.index;
  outcome.attempt = plan.attempt;
  outcome.packages = std::move(packages);
  outcome.binaries_at_kill = binaries_at_kill;
  return outcome;
}

AttemptOutcome ContainerKilled(const ShardPlan& plan, std::vector<PackageOutcome> packages,
                               std::optional<Bytes> peak = {}, int binaries_at_kill = 0) {
  AttemptOutcome outcome = Attempt(plan, std::move(packages), binaries_at_kill);
  outcome.container_oom_killed = true;
  outcome.peak = peak;
  return outcome;
}

RetryDecision Decide(const RunPolicy& policy, const std::vector<ShardPlan>& shards,
                     const std::vector<AttemptOutcome>& outcomes, const AttemptLog& log = {}) {
  StatusOr<RetryDecision> decision = NextAttempts(policy, shards, outcomes, log);
  EXPECT_TRUE(decision.ok()) << decision.status();
  if (!decision.ok()) return {};
  return *std::move(decision);
}

// What a new shard should look like; reason is a substring.
struct WantShard {
  std::vector<std::string> packages;
  Bytes memory;
  std::optional<int> parallel;
  std::optional<int> p;
  std::optional<Bytes> gomemlimit;
  std::string reason;
  int index = -1;    // -1: not checked
  int attempt = -1;  // -1: not checked
};

// One finished shard attempt and what should follow from it.
struct Row {
  std::string name;
  std::function<void(RunPolicy&)> change;  // to the base policy, if any
  ShardPlan plan;
  AttemptOutcome outcome;
  std::vector<WantShard> want;
  std::map<std::string, Verdict> verdicts;
  std::string diagnosis;  // substring of the first non-passed verdict, if any
};

void CheckRow(const Row& row) {
  SCOPED_TRACE(row.name);
  RunPolicy policy = Policy();
  if (row.change) row.change(policy);
  RetryDecision decision = Decide(policy, {row.plan}, {row.outcome});
  ASSERT_EQ(decision.shards.size(), row.want.size()) << (decision.shards.empty() ? "" : decision.shards[0].reason);
  for (std::size_t i = 0; i < row.want.size(); ++i) {
    const ShardPlan& got = decision.shards[i];
    const WantShard& want = row.want[i];
    SCOPED_TRACE(got.reason);
    EXPECT_EQ(got.packages, want.packages);
    EXPECT_EQ(got.memory, want.memory) << FormatMemoryQuantity(got.memory);
    EXPECT_EQ(got.parallel, want.parallel);
    EXPECT_EQ(got.p, want.p);
    EXPECT_EQ(got.gomemlimit, want.gomemlimit);
    EXPECT_THAT(got.reason, HasSubstr(want.reason));
    if (want.index >= 0) {
      EXPECT_EQ(got.index, want.index);
    }
    if (want.attempt >= 0) {
      EXPECT_EQ(got.attempt, want.attempt);
    }
  }
  std::map<std::string, Verdict> verdicts;
  std::string diagnosis;
  for (const PackageVerdict& verdict : decision.verdicts) {
    verdicts[verdict.package] = verdict.verdict;
    if (verdict.verdict != Verdict::kPassed && diagnosis.empty()) diagnosis = verdict.diagnosis;
  }
  EXPECT_EQ(verdicts, row.verdicts);
  if (!row.diagnosis.empty()) {
    EXPECT_THAT(diagnosis, HasSubstr(row.diagnosis));
  }
}

// Rule: failing tests that were not killed are test failures, not OOMs.
TEST(NextAttemptsTest, TestFailuresAreNotRetried) {
  const ShardPlan ab = Shard(0, {"a", "b"});
  const ShardPlan abc = Shard(0, {"a", "b", "c"});
  const Row rows[] = {
      {"a failure and a pass end the shard",
       {},
       ab,
       Attempt(ab, {Fail("a"), Pass("b")}),
       {},
       {{"a", Verdict::kTestsFailed}, {"b", Verdict::kPassed}},
       "tests failed in s0/a1 with 512Mi -parallel 8 -p 4"},
      {"a build error is not a kill",
       {},
       ab,
       Attempt(ab, {BuildFail("a"), Pass("b")}),
       {},
       {{"a", Verdict::kBuildFailed}, {"b", Verdict::kPassed}},
       "build failed in s0/a1"},
      {"a failure beside a kill: only the killed one goes on",
       {},
       ab,
       Attempt(ab, {Fail("a"), Killed("b")}),
       {{{"b"}, 624 * kMiB, 8, 4, {}, "isolated b", 0, 2}},
       {{"a", Verdict::kTestsFailed}},
       "not an OOM kill"},
      {"a failure in a container that then died: the rest is bisected, the failure stays",
       {},
       abc,
       ContainerKilled(abc, {Fail("a")}),
       {{{"b"}, 512 * kMiB, 8, 4, {}, "half 1 of 2"}, {{"c"}, 512 * kMiB, 8, 4, {}, "half 2 of 2"}},
       {{"a", Verdict::kTestsFailed}},
       "tests failed"},
      {"a timed-out package is a failure, even with much memory in use",
       {},
       ab,
       Attempt(ab, {[] {
                      PackageOutcome failed = Fail("a");
                      failed.peak = 500 * kMiB;
                      return failed;
                    }(),
                    Pass("b")}),
       {},
       {{"a", Verdict::kTestsFailed}, {"b", Verdict::kPassed}},
       "not retried with more memory"},
  };
  for (const Row& row : rows) CheckRow(row);
}

// Rule: isolate the killed package(s); the rest go on with the same limits.
TEST(NextAttemptsTest, KilledPackagesAreIsolated) {
  const ShardPlan abc = Shard(0, {"a", "b", "c"});
  const ShardPlan a = Shard(0, {"a"});
  const ShardPlan ab = Shard(0, {"a", "b"});
  const Row rows[] = {
      {"one killed, one passed, one left",
       {},
       abc,
       Attempt(abc, {Pass("a"), Killed("b"), NoResult("c")}, 3),
       {{{"b"},
         624 * kMiB,
         8,
         4,
         {},
         "isolated b after OOM kill during TestBig; memory 512Mi -> 624Mi (limit 512Mi x1.2)",
         1,
         1},
        {{"c"},
         512 * kMiB,
         8,
         4,
         {},
         "left without a result when b was killed in s0/a1; limits kept (512Mi -parallel 8 -p 4)",
         2,
         1}},
       {{"a", Verdict::kPassed}}},
      {"a package missing from the outcome had no result",
       {},
       abc,
       Attempt(abc, {Pass("a"), Killed("b")}, 2),
       {{{"b"}, 624 * kMiB, 8, 4, {}, "isolated b"}, {{"c"}, 512 * kMiB, 8, 4, {}, "left without a result"}},
       {{"a", Verdict::kPassed}}},
      {"two killed: two shards of their own and one for the rest",
       {},
       abc,
       Attempt(abc, {Killed("a"), Killed("b"), NoResult("c")}, 3),
       {{{"a"}, 624 * kMiB, 8, 4, {}, "isolated a"},
        {{"b"}, 624 * kMiB, 8, 4, {}, "isolated b"},
        {{"c"}, 512 * kMiB, 8, 4, {}, "when a, b were killed in s0/a1"}},
       {}},
      {"its own peak fits alone: isolation is the whole change",
       {},
       abc,
       Attempt(abc, {Pass("a"), Killed("b", 1, 150 * kMiB), NoResult("c")}, 3),
       {{{"b"}, 512 * kMiB, 8, 4, {}, "its own peak 150Mi fits 512Mi alone; limits kept"},
        {{"c"}, 512 * kMiB, 8, 4, {}, "limits kept"}},
       {{"a", Verdict::kPassed}}},
      {"the only one left keeps the shard's index",
       {},
       ab,
       Attempt(ab, {Pass("a"), Killed("b")}),
       {{{"b"}, 624 * kMiB, 8, 4, {}, "isolated b", 0, 2}},
       {{"a", Verdict::kPassed}}},
      {"alone already: retried with more memory",
       {},
       a,
       Attempt(a, {Killed("a")}),
       {{{"a"}, 624 * kMiB, 8, 4, {}, "retry of a after OOM kill during TestBig; memory 512Mi -> 624Mi", 0, 2}},
       {}},
      {"a killed build is isolated too",
       {},
       abc,
       Attempt(abc, {Pass("a"), BuildKilled("b"), NoResult("c")}, 1),
       {{{"b"}, 624 * kMiB, 8, 4, {}, "isolated b after OOM kill while compiling (BuildMemory)"},
        {{"c"}, 512 * kMiB, 8, 4, {}, "limits kept"}},
       {{"a", Verdict::kPassed}}},
  };
  for (const Row& row : rows) CheckRow(row);
}

// Rule: a dead container with several suspects is bisected, limits kept.
TEST(NextAttemptsTest, UnnamedContainerKillsAreBisected) {
  const ShardPlan abcd = Shard(0, {"a", "b", "c", "d"});
  const ShardPlan abc = Shard(0, {"a", "b", "c"});
  const ShardPlan ab = Shard(0, {"a", "b"});
  const ShardPlan a = Shard(0, {"a"}, 1 * kGiB);
  const Row rows[] = {
      {"four suspects: two halves",
       {},
       abcd,
       ContainerKilled(abcd, {}, 512 * kMiB, 4),
       {{{"a", "b"},
         512 * kMiB,
         8,
         4,
         {},
         "bisected s0/a1 (4 packages without a result) after the container was OOM-killed and no package was named; "
         "limits kept (512Mi -parallel 8 -p 4): half 1 of 2",
         1,
         1},
        {{"c", "d"}, 512 * kMiB, 8, 4, {}, "half 2 of 2", 2, 1}},
       {}},
      {"three suspects after a pass: the odd one goes first",
       {},
       abcd,
       ContainerKilled(abcd, {Pass("a"), NoResult("b")}),
       {{{"b", "c"}, 512 * kMiB, 8, 4, {}, "3 packages without a result"}, {{"d"}, 512 * kMiB, 8, 4, {}, "half 2"}},
       {{"a", Verdict::kPassed}}},
      {"the only package without a result is the one killed",
       {},
       abc,
       ContainerKilled(abc, {Pass("a"), Pass("b")}, 512 * kMiB),
       {{{"c"}, 624 * kMiB, 8, 4, {}, "isolated c after OOM kill; memory 512Mi -> 624Mi (limit 512Mi x1.2)", 0, 2}},
       {{"a", Verdict::kPassed}, {"b", Verdict::kPassed}}},
      {"two suspects: one each",
       {},
       ab,
       ContainerKilled(ab, {}),
       {{{"a"}, 512 * kMiB, 8, 4, {}, "half 1"}, {{"b"}, 512 * kMiB, 8, 4, {}, "half 2"}},
       {}},
      {"once alone, a dead container raises memory from its peak",
       {},
       a,
       ContainerKilled(a, {}, 1100 * kMiB),
       {{{"a"}, 1328 * kMiB, 8, 4, {}, "retry of a after OOM kill; memory 1Gi -> 1328Mi (peak 1100Mi x1.2)", 0, 2}},
       {}},
      {"a dead container during a build names the phase",
       {},
       a,
       [&] {
         AttemptOutcome outcome = ContainerKilled(a, {}, std::nullopt, 1);
         outcome.phase = Phase::kLink;
         return outcome;
       }(),
       {{{"a"}, 1232 * kMiB, 8, 4, {}, "OOM kill while linking (BuildMemory); memory 1Gi -> 1232Mi"}},
       {}},
  };
  for (const Row& row : rows) CheckRow(row);
}

// Rule 3: packages named as running at a container kill are isolated at once, each
// with the change its own evidence measured; the rest go on together.
PackageOutcome Running(std::string package, std::optional<Finding> finding = {}, int tests_at_kill = 0) {
  PackageOutcome outcome = NoResult(std::move(package));
  outcome.running_at_kill = true;
  outcome.phase = Phase::kTestRun;
  outcome.tests_at_kill = tests_at_kill;
  outcome.finding = std::move(finding);
  return outcome;
}

TEST(NextAttemptsTest, PackagesRunningAtAContainerKillAreIsolatedAtOnce) {
  const ShardPlan six = Shard(0, {"a", "b", "c", "d", "e", "f"}, 256 * kMiB, 16, {});
  Finding spike{.cause = Cause::kParallelSpike, .evidence = "16 tests at once, ~70 MiB each", .parallel = 2};
  Finding large{.cause = Cause::kLargeTest, .evidence = "TestIndex alone needs ~400 MiB", .memory = 400 * kMiB};
  Finding headroom{.cause = Cause::kGcHeadroom, .evidence = "live 120 MiB fits, GC goal 240 MiB does not"};
  const Row rows[] = {
      {"two named, no figures: each alone, limits kept; the rest together",
       {},
       six,
       ContainerKilled(six, {Pass("a"), Running("b"), Running("e")}, 256 * kMiB, 2),
       {{{"b"}, 256 * kMiB, 16, {}, {}, "isolated b, one of 2 packages running when s0/a1 was OOM-killed; limits kept"},
        {{"e"}, 256 * kMiB, 16, {}, {}, "alone it has the memory 1 other binary held"},
        {{"c", "d", "f"}, 256 * kMiB, 16, {}, {}, "not running when s0/a1 was OOM-killed with b, e; limits kept"}},
       {{"a", Verdict::kPassed}}},
      {"each with its own change: -parallel from the diagnosis in one step, memory from its projection",
       {},
       six,
       ContainerKilled(six, {Running("b", spike, 16), Running("c", large), Running("d", headroom)}, 256 * kMiB, 3),
       {{{"b"}, 256 * kMiB, 2, {}, {}, "(its evidence: ParallelSpike); -parallel 16 -> 2"},
        {{"c"},
         448 * kMiB,
         16,
         {},
         {},
         "(its evidence: LargeTest); memory 256Mi -> 448Mi (projected need 400Mi as 90%"},
        {{"d"}, 256 * kMiB, 16, {}, 230 * kMiB, "GOMEMLIMIT=230MiB"},
        {{"a", "e", "f"}, 256 * kMiB, 16, {}, {}, "not running when"}},
       {}},
      {"every package was running: no shard for the rest",
       {},
       Shard(0, {"a", "b"}, 256 * kMiB, 16, {}),
       ContainerKilled(Shard(0, {"a", "b"}, 256 * kMiB, 16, {}), {Running("a"), Running("b")}, 256 * kMiB, 2),
       {{{"a"}, 256 * kMiB, 16, {}, {}, "isolated a"}, {{"b"}, 256 * kMiB, 16, {}, {}, "isolated b"}},
       {}},
  };
  for (const Row& row : rows) CheckRow(row);

  // Isolating a suspect is not charged: the kill may have been a neighbour's.
  RetryDecision decision =
      Decide(Policy(), {six}, {ContainerKilled(six, {Running("b", large), Running("e")}, 256 * kMiB, 2)});
  for (const std::string package : {"a", "b", "c", "d", "e", "f"}) {
    EXPECT_EQ(CountedAttempts(decision.log, package), 0) << package;
  }
}

TEST(NextAttemptsTest, BisectingDoesNotChargeAttempts) {
  const ShardPlan abcd = Shard(0, {"a", "b", "c", "d"});
  RetryDecision decision = Decide(Policy(), {abcd}, {ContainerKilled(abcd, {})});
  for (const std::string package : {"a", "b", "c", "d"}) {
    EXPECT_EQ(CountedAttempts(decision.log, package), 0) << package;
    ASSERT_EQ(decision.log.at(package).size(), 1u);
    EXPECT_EQ(decision.log.at(package)[0].result, PackageResult::kNotRun);
  }
}

// Rule: lower -parallel where concurrency drove the peak.
TEST(NextAttemptsTest, ParallelSpikesHalveParallel) {
  const ShardPlan a = Shard(0, {"a"});
  const ShardPlan unset = Shard(0, {"a"}, 512 * kMiB, std::nullopt);
  const ShardPlan one = Shard(0, {"a"}, 512 * kMiB, 1);
  const ShardPlan ab = Shard(0, {"a", "b"});
  auto spike = [](int tests) { return Because(Killed("a", tests), Cause::kParallelSpike, "16 tests at once"); };
  const Row rows[] = {
      {"halved",
       {},
       a,
       Attempt(a, {spike(8)}),
       {{{"a"},
         512 * kMiB,
         4,
         4,
         {},
         "retry of a after OOM kill during TestBig (ParallelSpike); -parallel 8 -> 4 (8 tests running at the kill)"}},
       {}},
      {"fewer ran than allowed: halve what ran",
       {},
       a,
       Attempt(a, {spike(6)}),
       {{{"a"}, 512 * kMiB, 3, 4, {}, "-parallel 8 -> 3"}},
       {}},
      {"unset: halve what ran",
       {},
       unset,
       Attempt(unset, {spike(16)}),
       {{{"a"}, 512 * kMiB, 8, 4, {}, "-parallel 8 (was go's default) (16 tests running at the kill)"}},
       {}},
      {"unset and nothing seen: halve GOMAXPROCS of the CPU limit",
       [](RunPolicy& p) { p.cpu_millis = 4000; },
       unset,
       Attempt(unset, {spike(0)}),
       {{{"a"}, 512 * kMiB, 2, 4, {}, "-parallel 2 (was go's default)"}},
       {}},
      {"unset, nothing seen, no CPU limit: more memory instead",
       {},
       unset,
       Attempt(unset, {spike(0)}),
       {{{"a"}, 624 * kMiB, std::nullopt, 4, {}, "memory 512Mi -> 624Mi"}},
       {}},
      {"already 1: more memory instead",
       {},
       one,
       Attempt(one, {spike(1)}),
       {{{"a"}, 624 * kMiB, 1, 4, {}, "(ParallelSpike); memory 512Mi -> 624Mi"}},
       {}},
      {"the diagnosis proposes a value",
       {},
       a,
       Attempt(a, {[&] {
                 PackageOutcome outcome = spike(8);
                 outcome.finding->parallel = 1;
                 return outcome;
               }()}),
       {{{"a"}, 512 * kMiB, 1, 4, {}, "-parallel 8 -> 1"}},
       {}},
      {"no cause named, many tests running: the same",
       {},
       a,
       Attempt(a, {Killed("a", 8)}),
       {{{"a"}, 512 * kMiB, 4, 4, {}, "-parallel 8 -> 4 (8 tests running at the kill)"}},
       {}},
      {"no cause named, few tests running: memory",
       {},
       a,
       Attempt(a, {Killed("a", 3)}),
       {{{"a"}, 624 * kMiB, 8, 4, {}, "memory 512Mi -> 624Mi"}},
       {}},
      {"a named cause other than concurrency wins over the count",
       {},
       a,
       Attempt(a, {Because(Killed("a", 8), Cause::kLeakAcrossTests)}),
       {{{"a"}, 624 * kMiB, 8, 4, {}, "(LeakAcrossTests); memory 512Mi -> 624Mi"}},
       {}},
      {"isolated and halved at once",
       {},
       ab,
       Attempt(ab, {spike(8), NoResult("b")}, 2),
       {{{"a"}, 512 * kMiB, 4, 4, {}, "isolated a after OOM kill during TestBig (ParallelSpike); -parallel 8 -> 4"},
        {{"b"}, 512 * kMiB, 8, 4, {}, "limits kept"}},
       {}},
  };
  for (const Row& row : rows) CheckRow(row);
}

// Rule: lower -p where several binaries or build steps ran at once; BuildMemory.
TEST(NextAttemptsTest, BuildKillsAndBusyShardsHalveP) {
  const ShardPlan a = Shard(0, {"a"});
  const ShardPlan unset = Shard(0, {"a"}, 512 * kMiB, 8, std::nullopt);
  const ShardPlan one = Shard(0, {"a"}, 512 * kMiB, 8, 1);
  const Row rows[] = {
      {"compile killed with 4 build steps: -p halved",
       {},
       a,
       Attempt(a, {BuildKilled("a")}, 4),
       {{{"a"},
         512 * kMiB,
         8,
         2,
         {},
         "retry of a after OOM kill while compiling (BuildMemory); "
         "-p 4 -> 2 (4 binaries or build steps at once at the kill)"}},
       {}},
      {"link killed alone: memory",
       {},
       a,
       Attempt(a, {BuildKilled("a", Phase::kLink)}, 1),
       {{{"a"}, 624 * kMiB, 8, 4, {}, "while linking (BuildMemory); memory 512Mi -> 624Mi"}},
       {}},
      {"build steps unknown: memory",
       {},
       a,
       Attempt(a, {BuildKilled("a")}, 0),
       {{{"a"}, 624 * kMiB, 8, 4, {}, "memory 512Mi -> 624Mi"}},
       {}},
      {"-p unset: halve what ran",
       {},
       unset,
       Attempt(unset, {BuildKilled("a")}, 8),
       {{{"a"}, 512 * kMiB, 8, 4, {}, "-p 4 (was go's default)"}},
       {}},
      {"-p already 1: memory",
       {},
       one,
       Attempt(one, {BuildKilled("a")}, 2),
       {{{"a"}, 624 * kMiB, 8, 1, {}, "memory 512Mi -> 624Mi"}},
       {}},
      {"the diagnosis proposes -p 1",
       {},
       a,
       Attempt(a, {[] {
                 PackageOutcome outcome = Because(BuildKilled("a"), Cause::kBuildMemory);
                 outcome.finding->p = 1;
                 return outcome;
               }()},
               4),
       {{{"a"}, 512 * kMiB, 8, 1, {}, "-p 4 -> 1"}},
       {}},
      {"test binary alone, no cause, three binaries at once: -p",
       {},
       a,
       Attempt(a, {Killed("a", 1)}, 3),
       {{{"a"}, 512 * kMiB, 8, 1, {}, "-p 4 -> 1 (3 binaries or build steps at once at the kill)"}},
       {}},
      {"bisected halves keep -p and GOMEMLIMIT as they were",
       {},
       Shard(0, {"a", "b"}, 512 * kMiB, 8, 2, 230 * kMiB),
       [] {
         AttemptOutcome outcome = Attempt(Shard(0, {"a", "b"}, 512 * kMiB, 8, 2, 230 * kMiB), {}, 2);
         outcome.container_oom_killed = true;
         return outcome;
       }(),
       {{{"a"}, 512 * kMiB, 8, 2, 230 * kMiB, "half 1"}, {{"b"}, 512 * kMiB, 8, 2, 230 * kMiB, "half 2"}},
       {}},
  };
  for (const Row& row : rows) CheckRow(row);
}

// Rule: GOMEMLIMIT where the GC let the heap outgrow the limit.
TEST(NextAttemptsTest, GcHeadroomSetsGoMemLimit) {
  const ShardPlan a = Shard(0, {"a"});
  const ShardPlan limited = Shard(0, {"a"}, 512 * kMiB, 8, 4, 460 * kMiB);
  const ShardPlan ab = Shard(0, {"a", "b"});
  auto gc = [] { return Because(Killed("a"), Cause::kGcHeadroom, "live heap 300Mi, goal 600Mi"); };
  const Row rows[] = {
      {"set to 90% for one binary",
       {},
       a,
       Attempt(a, {gc()}),
       {{{"a"},
         512 * kMiB,
         8,
         4,
         460 * kMiB,
         "retry of a after OOM kill during TestBig (GCHeadroom); GOMEMLIMIT=460MiB (90% of 512Mi, 1 binary at once)"}},
       {}},
      {"already set: memory, and the limit follows",
       {},
       limited,
       Attempt(limited, {gc()}),
       {{{"a"}, 624 * kMiB, 8, 4, 561 * kMiB, "memory 512Mi -> 624Mi (limit 512Mi x1.2); GOMEMLIMIT 460MiB -> 561MiB"}},
       {}},
      {"not allowed: memory",
       [](RunPolicy& p) { p.allow_gomemlimit = false; },
       a,
       Attempt(a, {gc()}),
       {{{"a"}, 624 * kMiB, 8, 4, {}, "memory 512Mi -> 624Mi"}},
       {}},
      {"isolated with GOMEMLIMIT for its one binary",
       {},
       ab,
       Attempt(ab, {gc(), NoResult("b")}, 2),
       {{{"a"}, 512 * kMiB, 8, 4, 460 * kMiB, "isolated a"}, {{"b"}, 512 * kMiB, 8, 4, {}, "limits kept"}},
       {}},
      {"native memory is not helped by GOMEMLIMIT",
       {},
       a,
       Attempt(a, {Because(Killed("a"), Cause::kNativeMemory)}),
       {{{"a"}, 624 * kMiB, 8, 4, {}, "(NativeMemory); memory 512Mi -> 624Mi"}},
       {}},
  };
  for (const Row& row : rows) CheckRow(row);
}

// Rule: otherwise raise memory: VPA's rule, the user's floor, the cap.
TEST(NextAttemptsTest, MemoryIsRaisedByVpasRuleAndTheUsersFloor) {
  const ShardPlan a = Shard(0, {"a"});
  const ShardPlan small = Shard(0, {"a"}, 256 * kMiB);
  const ShardPlan near_cap = Shard(0, {"a"}, 3584 * kMiB);
  auto cause = [](Cause c) { return Because(Killed("a"), c); };
  const Row rows[] = {
      {"peak unknown: the limit x1.2",
       {},
       a,
       Attempt(a, {Killed("a")}),
       {{{"a"}, 624 * kMiB, 8, 4, {}, "memory 512Mi -> 624Mi (limit 512Mi x1.2)"}},
       {}},
      {"peak seen above the limit: the peak x1.2",
       {},
       a,
       Attempt(a, {Killed("a", 1, 530 * kMiB)}),
       {{{"a"}, 640 * kMiB, 8, 4, {}, "memory 512Mi -> 640Mi (peak 530Mi x1.2)"}},
       {}},
      {"peak seen below the limit: the limit",
       {},
       a,
       Attempt(a, {Killed("a", 1, 300 * kMiB)}),
       {{{"a"}, 624 * kMiB, 8, 4, {}, "(limit 512Mi x1.2)"}},
       {}},
      {"small limits: +100Mi",
       {},
       small,
       Attempt(small, {Killed("a")}),
       {{{"a"}, 368 * kMiB, 8, 4, {}, "memory 256Mi -> 368Mi (limit 256Mi + 100Mi)"}},
       {}},
      {"memoryBumpRatio as a floor",
       [](RunPolicy& p) { p.memory_bump_ratio = 1.5; },
       a,
       Attempt(a, {Killed("a")}),
       {{{"a"}, 768 * kMiB, 8, 4, {}, "memory 512Mi -> 768Mi (memoryBumpRatio: 512Mi x1.5)"}},
       {}},
      {"minMemoryBump as a floor",
       [](RunPolicy& p) { p.min_memory_bump = 1 * kGiB; },
       a,
       Attempt(a, {Killed("a")}),
       {{{"a"}, 1536 * kMiB, 8, 4, {}, "memory 512Mi -> 1536Mi (minMemoryBump: 512Mi + 1Gi)"}},
       {}},
      {"a projected need above the rule",
       {},
       a,
       Attempt(a, {[] {
                 PackageOutcome outcome = Because(Killed("a"), Cause::kLeakAcrossTests, "60Mi per test, 30 tests");
                 outcome.finding->memory = 2 * kGiB;
                 return outcome;
               }()}),
       // 2Gi / 0.9 = 2275.6Mi, rounded up to 16Mi.
       {{{"a"},
         2288 * kMiB,
         8,
         4,
         {},
         "(LeakAcrossTests); memory 512Mi -> 2288Mi (projected need 2Gi as 90% of the limit)"}},
       {}},
      {"capped at maxMemory",
       {},
       near_cap,
       Attempt(near_cap, {Killed("a")}),
       {{{"a"}, 4 * kGiB, 8, 4, {}, "memory 3584Mi -> 4Gi (limit 3584Mi x1.2, capped at maxMemory)"}},
       {}},
      {"LargeTest",
       {},
       a,
       Attempt(a, {cause(Cause::kLargeTest)}),
       {{{"a"}, 624 * kMiB, 8, 4, {}, "(LargeTest); memory"}},
       {}},
      {"InitMemory",
       {},
       a,
       Attempt(a, {cause(Cause::kInitMemory)}),
       {{{"a"}, 624 * kMiB, 8, 4, {}, "(InitMemory); memory"}},
       {}},
      {"GoroutineLeak",
       {},
       a,
       Attempt(a, {cause(Cause::kGoroutineLeak)}),
       {{{"a"}, 624 * kMiB, 8, 4, {}, "(GoroutineLeak); memory"}},
       {}},
      {"init phase without a finding",
       {},
       a,
       Attempt(a, {[] {
                 PackageOutcome outcome = Killed("a", 0);
                 outcome.phase = Phase::kInit;
                 outcome.test_at_kill.clear();
                 return outcome;
               }()}),
       {{{"a"}, 624 * kMiB, 8, 4, {}, "OOM kill in init (InitMemory); memory"}},
       {}},
  };
  for (const Row& row : rows) CheckRow(row);
}

// Rule: alone at maxMemory and killed: it cannot fit.
TEST(NextAttemptsTest, KilledAloneAtMaxMemoryDoesNotFit) {
  const ShardPlan at_cap = Shard(3, {"corp.example/x"}, 4 * kGiB, 1, 4, {}, 2);
  const ShardPlan shared = Shard(0, {"corp.example/x", "b"}, 4 * kGiB);
  AttemptLog log;
  log["corp.example/x"] = {PackageAttempt{.shard = 0,
                                          .attempt = 1,
                                          .memory = 512 * kMiB,
                                          .parallel = 8,
                                          .p = 4,
                                          .result = PackageResult::kKilled,
                                          .phase = Phase::kTestRun,
                                          .peak = 512 * kMiB,
                                          .counted = true}};
  auto leak = [](std::string package) {
    return Because(Killed(std::move(package), 1, 4 * kGiB), Cause::kLeakAcrossTests, "heap grew 60Mi per test");
  };
  {
    RetryDecision decision = Decide(Policy(), {at_cap}, {Attempt(at_cap, {leak("corp.example/x")})}, log);
    EXPECT_THAT(decision.shards, IsEmpty());
    ASSERT_EQ(decision.verdicts.size(), 1u);
    EXPECT_EQ(decision.verdicts[0].verdict, Verdict::kDoesNotFit);
    EXPECT_THAT(decision.verdicts[0].diagnosis,
                AllOf(HasSubstr("corp.example/x does not fit in maxMemory 4Gi"),
                      HasSubstr("OOM kill during TestBig (LeakAcrossTests) in s3/a2, alone in its shard at 4Gi"),
                      HasSubstr("heap grew 60Mi per test"),
                      HasSubstr("it already had maxMemory, so as it runs now it needs more than 4Gi"),
                      HasSubstr("Tried: s0/a1 512Mi -parallel 8 -p 4: killed (test-run, peak 512Mi); "
                                "s3/a2 4Gi -parallel 1 -p 4: killed (test-run, peak 4Gi)")));
    EXPECT_EQ(decision.state, RunState::kFailed);
    EXPECT_THAT(decision.summary,
                HasSubstr("1 of 1 package(s) failed: corp.example/x (does not fit in maxMemory 4Gi)"));
  }
  {
    // Beside another package, being alone is still a change worth an attempt.
    RetryDecision decision = Decide(Policy(), {shared}, {Attempt(shared, {leak("corp.example/x"), NoResult("b")}, 2)});
    ASSERT_EQ(decision.shards.size(), 2u);
    EXPECT_EQ(decision.shards[0].memory, 4 * kGiB);
    EXPECT_THAT(decision.shards[0].reason, HasSubstr("isolated corp.example/x after OOM kill during TestBig "
                                                     "(LeakAcrossTests); memory stays at maxMemory 4Gi"));
    EXPECT_THAT(decision.verdicts, IsEmpty());
  }
  {
    // A lever other than memory is still tried at the cap.
    const ShardPlan spiky = Shard(0, {"a"}, 4 * kGiB, 8);
    RetryDecision decision =
        Decide(Policy(), {spiky}, {Attempt(spiky, {Because(Killed("a", 8), Cause::kParallelSpike)})});
    ASSERT_EQ(decision.shards.size(), 1u);
    EXPECT_EQ(decision.shards[0].parallel, 4);
    EXPECT_EQ(decision.shards[0].memory, 4 * kGiB);
  }
}

// Rule: a raise that was not enough is not followed by another guess.
TEST(NextAttemptsTest, MemoryIsNotUnderShotTwice) {
  PackageAttempt first{.shard = 0,
                       .attempt = 1,
                       .memory = 256 * kMiB,
                       .parallel = 8,
                       .p = 4,
                       .result = PackageResult::kKilled,
                       .phase = Phase::kTestRun,
                       .counted = true};
  AttemptLog once;
  once["a"] = {first};
  const ShardPlan second = Shard(0, {"a"}, 368 * kMiB, 8, 4, {}, 2);
  RetryDecision decision = Decide(Policy(), {second}, {Attempt(second, {Killed("a", 1, 360 * kMiB)})}, once);
  ASSERT_EQ(decision.shards.size(), 1u);
  EXPECT_EQ(decision.shards[0].memory, 4 * kGiB);
  EXPECT_THAT(decision.shards[0].reason, HasSubstr("maxMemory rather than under-shoot twice"));

  // Killed before at the same limit (a -parallel change in between): memory was never
  // raised, so VPA's rule applies.
  first.memory = 368 * kMiB;
  once["a"] = {first};
  decision = Decide(Policy(), {second}, {Attempt(second, {Killed("a", 1, 360 * kMiB)})}, once);
  ASSERT_EQ(decision.shards.size(), 1u);
  EXPECT_EQ(decision.shards[0].memory, 480 * kMiB);
}

// Rule: maxAttempts bounds the attempts of each package.
TEST(NextAttemptsTest, AttemptsAreBoundedByMaxAttempts) {
  auto entry = [](int shard, int attempt, Bytes memory, PackageResult result) {
    return PackageAttempt{.shard = shard,
                          .attempt = attempt,
                          .memory = memory,
                          .parallel = 8,
                          .p = 4,
                          .result = result,
                          .phase = Phase::kTestRun,
                          .counted = result != PackageResult::kNotRun};
  };
  AttemptLog three;
  three["a"] = {entry(0, 1, 512 * kMiB, PackageResult::kKilled), entry(0, 2, 624 * kMiB, PackageResult::kKilled),
                entry(0, 3, 752 * kMiB, PackageResult::kKilled)};
  const ShardPlan fourth = Shard(0, {"a"}, 912 * kMiB, 8, 4, {}, 4);
  {
    RetryDecision decision = Decide(Policy(), {fourth}, {Attempt(fourth, {Killed("a")})}, three);
    EXPECT_THAT(decision.shards, IsEmpty());
    ASSERT_EQ(decision.verdicts.size(), 1u);
    EXPECT_EQ(decision.verdicts[0].verdict, Verdict::kAttemptsSpent);
    EXPECT_THAT(decision.verdicts[0].diagnosis,
                AllOf(HasSubstr("a was OOM-killed in s0/a4 and has used all 4 attempts (maxAttempts)"),
                      HasSubstr("Tried: s0/a1 512Mi -parallel 8 -p 4: killed (test-run); s0/a2 624Mi"),
                      HasSubstr("s0/a4 912Mi -parallel 8 -p 4: killed (test-run)"),
                      HasSubstr("The next step would have been: memory 912Mi -> 4Gi (memory was raised after an "
                                "earlier kill and it was killed again")));
    EXPECT_EQ(CountedAttempts(decision.log, "a"), 4);
    EXPECT_THAT(decision.summary, HasSubstr("a (maxAttempts spent)"));
  }
  {
    // The same history with a fifth attempt allowed goes on.
    RunPolicy policy = Policy();
    policy.max_attempts = 5;
    RetryDecision decision = Decide(policy, {fourth}, {Attempt(fourth, {Killed("a")})}, three);
    ASSERT_EQ(decision.shards.size(), 1u);
    EXPECT_EQ(decision.shards[0].attempt, 5);
    // Its last attempt: all the memory it may have.
    EXPECT_EQ(decision.shards[0].memory, 4 * kGiB);
    EXPECT_THAT(decision.shards[0].reason, HasSubstr("memory 912Mi -> 4Gi (its last attempt gets maxMemory)"));
  }
  {
    // A lever other than memory on the last attempt comes with maxMemory too.
    RunPolicy policy = Policy();
    policy.max_attempts = 2;
    const ShardPlan a = Shard(0, {"a"});
    RetryDecision decision = Decide(policy, {a}, {Attempt(a, {Because(Killed("a", 8), Cause::kParallelSpike)})});
    ASSERT_EQ(decision.shards.size(), 1u);
    EXPECT_EQ(decision.shards[0].parallel, 4);
    EXPECT_EQ(decision.shards[0].memory, 4 * kGiB);
    EXPECT_THAT(decision.shards[0].reason,
                HasSubstr("-parallel 8 -> 4 (8 tests running at the kill); memory 512Mi -> 4Gi (its last attempt "
                          "gets maxMemory)"));
  }
  {
    // maxAttempts 1: no retry at all.
    RunPolicy policy = Policy();
    policy.max_attempts = 1;
    const ShardPlan ab = Shard(0, {"a", "b"});
    RetryDecision decision = Decide(policy, {ab}, {Attempt(ab, {Killed("a"), NoResult("b")}, 2)});
    ASSERT_EQ(decision.shards.size(), 1u);
    EXPECT_EQ(decision.shards[0].packages, std::vector<std::string>{"b"});
    ASSERT_EQ(decision.verdicts.size(), 1u);
    EXPECT_EQ(decision.verdicts[0].verdict, Verdict::kAttemptsSpent);
  }
  {
    // Lost results without a kill are charged: after maxAttempts they end.
    AttemptLog lost;
    lost["a"] = {entry(0, 1, 512 * kMiB, PackageResult::kNotRun), entry(0, 2, 512 * kMiB, PackageResult::kNotRun),
                 entry(0, 3, 512 * kMiB, PackageResult::kNotRun)};
    for (PackageAttempt& e : lost["a"]) e.counted = true;
    const ShardPlan again = Shard(0, {"a", "b"}, 512 * kMiB, 8, 4, {}, 4);
    RetryDecision decision = Decide(Policy(), {again}, {Attempt(again, {Pass("b")})}, lost);
    EXPECT_THAT(decision.shards, IsEmpty());
    ASSERT_EQ(decision.verdicts.size(), 2u);
    EXPECT_EQ(decision.verdicts[0].verdict, Verdict::kAttemptsSpent);
    EXPECT_THAT(decision.verdicts[0].diagnosis, HasSubstr("ended without a result in all 4 attempts"));
  }
  {
    // Spent at maxMemory: the diagnosis says it cannot fit, which says more.
    AttemptLog log = three;
    const ShardPlan at_cap = Shard(0, {"a"}, 4 * kGiB, 8, 4, {}, 4);
    RetryDecision decision = Decide(Policy(), {at_cap}, {Attempt(at_cap, {Killed("a", 1)})}, log);
    ASSERT_EQ(decision.verdicts.size(), 1u);
    EXPECT_EQ(decision.verdicts[0].verdict, Verdict::kDoesNotFit);
  }
}

// Rule 4: no kill and no result (a lost pod): run again, charged.
TEST(NextAttemptsTest, LostResultsRunAgainAsTheyWere) {
  const ShardPlan ab = Shard(2, {"a", "b"}, 640 * kMiB, 4, 2, {}, 3);
  RetryDecision decision = Decide(Policy(), {ab}, {Attempt(ab, {Pass("a")}, 0)});
  ASSERT_EQ(decision.shards.size(), 1u);
  EXPECT_EQ(decision.shards[0].index, 2);
  EXPECT_EQ(decision.shards[0].attempt, 4);
  EXPECT_EQ(decision.shards[0].packages, std::vector<std::string>{"b"});
  EXPECT_EQ(decision.shards[0].memory, 640 * kMiB);
  EXPECT_THAT(decision.shards[0].reason,
              HasSubstr("no result for 1 package(s) in s2/a3 and no OOM kill; run again with the same limits"));
  EXPECT_EQ(CountedAttempts(decision.log, "b"), 1);
}

// An init container (the clone, the agent's install) OOM-killed before go test: no
// package ran, so none is charged or split off; the shard goes on whole with more
// memory, and at maxMemory its packages do not fit.
TEST(NextAttemptsTest, ASetupStepKilledRaisesTheShardsMemoryAndChargesNoPackage) {
  const ShardPlan ab = Shard(0, {"a", "b"});
  AttemptOutcome killed = Attempt(ab, {}, 0);
  killed.setup_killed = "clone";
  killed.peak = 512 * kMiB;
  RetryDecision decision = Decide(Policy(), {ab}, {killed});
  ASSERT_EQ(decision.shards.size(), 1u);
  EXPECT_EQ(decision.shards[0].packages, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(decision.shards[0].memory, 624 * kMiB);  // max(512 x1.2, 512 + 100) rounded up to 16
  EXPECT_EQ(decision.shards[0].parallel, 8);
  EXPECT_THAT(decision.shards[0].reason,
              AllOf(HasSubstr("the step clone of s0/a1 was OOM-killed before go test started"),
                    HasSubstr("no package charged"), HasSubstr("memory 512Mi -> 624Mi")));
  EXPECT_EQ(CountedAttempts(decision.log, "a"), 0);
  EXPECT_EQ(CountedAttempts(decision.log, "b"), 0);
  EXPECT_EQ(decision.state, RunState::kRunning);

  RunPolicy policy = Policy();
  policy.max_memory = 512 * kMiB;
  decision = Decide(policy, {ab}, {killed});
  EXPECT_TRUE(decision.shards.empty());
  ASSERT_EQ(decision.verdicts.size(), 2u);
  for (const PackageVerdict& v : decision.verdicts) {
    EXPECT_EQ(v.verdict, Verdict::kDoesNotFit);
    EXPECT_THAT(v.diagnosis, HasSubstr("the step clone before go test was OOM-killed at maxMemory"));
  }
}

// maxShards: a split that does not fit is retried whole.
TEST(NextAttemptsTest, WithoutFreeShardsTheShardIsRetriedWhole) {
  RunPolicy policy = Policy();
  policy.max_shards = 2;
  const ShardPlan abc = Shard(0, {"a", "b", "c"});
  const ShardPlan running = Shard(1, {"d"});
  {
    RetryDecision decision =
        Decide(policy, {abc, running}, {Attempt(abc, {Killed("a"), NoResult("b"), NoResult("c")}, 3)});
    ASSERT_EQ(decision.shards.size(), 1u);
    EXPECT_EQ(decision.shards[0].index, 0);
    EXPECT_EQ(decision.shards[0].attempt, 2);
    EXPECT_EQ(decision.shards[0].packages, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(decision.shards[0].p, 1);
    EXPECT_THAT(decision.shards[0].reason,
                HasSubstr("retried whole after OOM kill in s0/a1 (maxShards 2 leaves no shard free to isolate a); "
                          "-p 4 -> 1"));
    EXPECT_EQ(decision.state, RunState::kRunning);
  }
  {
    RetryDecision decision = Decide(policy, {abc, running}, {ContainerKilled(abc, {}, 512 * kMiB, 1)});
    ASSERT_EQ(decision.shards.size(), 1u);
    EXPECT_EQ(decision.shards[0].memory, 624 * kMiB);
    EXPECT_THAT(decision.shards[0].reason, HasSubstr("no shard free to split it); memory 512Mi -> 624Mi"));
    // Retried whole, the suspects are charged, so this cannot go on forever.
    EXPECT_EQ(CountedAttempts(decision.log, "b"), 1);
  }
  {
    const ShardPlan full = Shard(0, {"a", "b", "c"}, 4 * kGiB);
    RetryDecision decision =
        Decide(policy, {full, running}, {Attempt(full, {Killed("a"), NoResult("b"), NoResult("c")}, 1)});
    ASSERT_EQ(decision.shards.size(), 1u);
    EXPECT_EQ(decision.shards[0].packages, (std::vector<std::string>{"b", "c"}));
    ASSERT_EQ(decision.verdicts.size(), 1u);
    EXPECT_EQ(decision.verdicts[0].verdict, Verdict::kDoesNotFit);
    EXPECT_THAT(decision.verdicts[0].diagnosis, HasSubstr("maxShards 2 leaves no shard free to isolate it"));
  }
  {
    // GOMEMLIMIT follows -p: fewer binaries at once, a larger share each.
    const ShardPlan limited = Shard(0, {"a", "b", "c"}, 512 * kMiB, 8, 4, 153 * kMiB);
    RetryDecision decision =
        Decide(policy, {limited, running}, {Attempt(limited, {Killed("a"), NoResult("b"), NoResult("c")}, 3)});
    ASSERT_EQ(decision.shards.size(), 1u);
    EXPECT_EQ(decision.shards[0].p, 1);
    EXPECT_EQ(decision.shards[0].gomemlimit, 460 * kMiB);
    EXPECT_THAT(decision.shards[0].reason, HasSubstr("-p 4 -> 1 (3 binaries or build steps at once at the kill); "
                                                     "GOMEMLIMIT 153MiB -> 460MiB"));
  }
  {
    // Once the other shard has finished, there is room to split.
    RetryDecision decision =
        Decide(policy, {abc, running},
               {Attempt(abc, {Killed("a"), NoResult("b"), NoResult("c")}, 3), Attempt(running, {Pass("d")})});
    EXPECT_EQ(decision.shards.size(), 2u);
  }
}

TEST(NextAttemptsTest, NewShardsAreNumberedAfterTheHighestIndexEverUsed) {
  const ShardPlan ab = Shard(4, {"a", "b"});
  const ShardPlan running = Shard(6, {"c"});
  AttemptLog log;
  log["z"] = {PackageAttempt{
      .shard = 9, .attempt = 1, .memory = 512 * kMiB, .result = PackageResult::kPassed, .counted = true}};
  RetryDecision decision = Decide(Policy(), {ab, running}, {ContainerKilled(ab, {})}, log);
  ASSERT_EQ(decision.shards.size(), 2u);
  EXPECT_EQ(decision.shards[0].index, 10);
  EXPECT_EQ(decision.shards[1].index, 11);
  EXPECT_EQ(decision.shards[0].attempt, 1);
  EXPECT_EQ(decision.state, RunState::kRunning);
  EXPECT_THAT(decision.summary, HasSubstr("2 shard(s) to start, 1 still running"));
}

TEST(NextAttemptsTest, IsDeterministicWhateverTheOrderOfOutcomes) {
  const ShardPlan s0 = Shard(0, {"a", "b", "c"});
  const ShardPlan s1 = Shard(1, {"d", "e"});
  const ShardPlan s2 = Shard(2, {"f"});
  std::vector<AttemptOutcome> outcomes = {
      Attempt(s0, {Killed("b"), Pass("a")}, 2),
      ContainerKilled(s1, {}),
      Attempt(s2, {Fail("f")}),
  };
  RetryDecision forward = Decide(Policy(), {s0, s1, s2}, outcomes);
  std::reverse(outcomes.begin(), outcomes.end());
  RetryDecision backward = Decide(Policy(), {s2, s1, s0}, outcomes);
  EXPECT_EQ(forward.shards, backward.shards);
  EXPECT_EQ(forward.verdicts, backward.verdicts);
  EXPECT_EQ(forward.log, backward.log);
  EXPECT_EQ(forward.summary, backward.summary);
  std::vector<int> indexes;
  for (const ShardPlan& plan : forward.shards) indexes.push_back(plan.index);
  EXPECT_THAT(indexes, ElementsAre(3, 4, 5, 6));  // b, c from s0; d, e from s1
  std::vector<std::string> names;
  for (const PackageVerdict& verdict : forward.verdicts) names.push_back(verdict.package);
  EXPECT_THAT(names, ElementsAre("a", "f"));
}

TEST(NextAttemptsTest, TheRunEndsWhenNothingIsLeft) {
  const ShardPlan s0 = Shard(0, {"a", "b"});
  {
    RetryDecision decision = Decide(Policy(), {s0}, {Attempt(s0, {Pass("a"), Pass("b")})});
    EXPECT_EQ(decision.state, RunState::kSucceeded);
    EXPECT_EQ(decision.summary, "all 2 package(s) passed");
  }
  {
    // A verdict given earlier is remembered through the log; a log without one
    // (written by hand, or by an older controller) still says how it ended.
    AttemptLog log;
    log["c"] = {PackageAttempt{.shard = 1,
                               .attempt = 1,
                               .memory = 512 * kMiB,
                               .result = PackageResult::kTestsFailed,
                               .counted = true,
                               .verdict = Verdict::kTestsFailed}};
    log["d"] = {PackageAttempt{
        .shard = 2, .attempt = 1, .memory = 4 * kGiB, .result = PackageResult::kKilled, .counted = true}};
    RetryDecision decision = Decide(Policy(), {s0}, {Attempt(s0, {Pass("a"), Pass("b")})}, log);
    EXPECT_EQ(decision.state, RunState::kFailed);
    EXPECT_EQ(decision.summary, "2 of 4 package(s) failed: c (tests failed); d (killed at 4Gi)");
  }
  {
    RetryDecision decision = Decide(Policy(), {}, {});
    EXPECT_EQ(decision.state, RunState::kSucceeded);
  }
  {
    const ShardPlan s1 = Shard(1, {"c"});
    RetryDecision decision = Decide(Policy(), {s0, s1}, {Attempt(s0, {Pass("a"), Pass("b")})});
    EXPECT_EQ(decision.state, RunState::kRunning);
  }
}

TEST(NextAttemptsTest, PassedVerdictsSayWhatItTook) {
  const ShardPlan s3 = Shard(3, {"a"}, 640 * kMiB, 8, 4, {}, 2);
  AttemptLog log;
  log["a"] = {PackageAttempt{.shard = 0,
                             .attempt = 1,
                             .memory = 512 * kMiB,
                             .result = PackageResult::kKilled,
                             .phase = Phase::kTestRun,
                             .counted = true}};
  RetryDecision decision = Decide(Policy(), {s3}, {Attempt(s3, {Pass("a")})}, log);
  ASSERT_EQ(decision.verdicts.size(), 1u);
  EXPECT_EQ(decision.verdicts[0].diagnosis,
            "passed in s3/a2 with 640Mi -parallel 8 -p 4 after 1 earlier attempt(s): s0/a1 512Mi: killed (test-run); "
            "s3/a2 640Mi -parallel 8 -p 4: passed");
}

TEST(NextAttemptsTest, RejectsInputsThatContradictEachOther) {
  const ShardPlan s0 = Shard(0, {"a", "b"});
  const ShardPlan s1 = Shard(1, {"c"});
  AttemptLog passed;
  passed["a"] = {PackageAttempt{.shard = 0, .attempt = 1, .result = PackageResult::kPassed, .counted = true}};
  RunPolicy bad = Policy();
  bad.max_attempts = 0;
  struct Case {
    std::string name;
    RunPolicy policy;
    std::vector<ShardPlan> shards;
    std::vector<AttemptOutcome> outcomes;
    AttemptLog log;
    std::string message;
  };
  const Case cases[] = {
      {"bad policy", bad, {s0}, {}, {}, "maxAttempts"},
      {"outcome for an unknown shard", Policy(), {s0}, {Attempt(s1, {})}, {}, "outcome for s1/a1, which is not among"},
      {"outcome for another attempt",
       Policy(),
       {s0},
       {[&] {
         AttemptOutcome outcome = Attempt(s0, {});
         outcome.attempt = 2;
         return outcome;
       }()},
       {},
       "outcome for s0/a2"},
      {"two outcomes", Policy(), {s0}, {Attempt(s0, {}), Attempt(s0, {})}, {}, "two outcomes for s0/a1"},
      {"a package the shard did not plan", Policy(), {s0}, {Attempt(s0, {Pass("c")})}, {}, "reports package c"},
      {"a package twice", Policy(), {s0}, {Attempt(s0, {Pass("a"), Fail("a")})}, {}, "reports package a twice"},
      {"a package in two shards", Policy(), {s0, Shard(1, {"a"})}, {}, {}, "package a is in two shards"},
      {"a shard twice", Policy(), {s0, Shard(0, {"c"})}, {}, {}, "shard 0 is given twice"},
      {"a negative index", Policy(), {Shard(-1, {"c"})}, {}, {}, "not a valid shard attempt"},
      {"a passed package run again",
       Policy(),
       {s0},
       {Attempt(s0, {Pass("a"), Pass("b")})},
       passed,
       "package a ran in s0/a1 after it passed in s0/a1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    StatusOr<RetryDecision> decision = NextAttempts(c.policy, c.shards, c.outcomes, c.log);
    ASSERT_FALSE(decision.ok());
    EXPECT_EQ(decision.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(decision.status().message(), HasSubstr(c.message));
  }
}

// Rule 2, from a captured cold build (tests/unit/core/engine/testdata/cold_build_runtime):
// 14 packages at 256Mi from an empty GOCACHE, the container killed while go test
// compiled runtime, cgroup peak 268431360 bytes, the largest step that ended 62013440.
AttemptOutcome BuildKill(const ShardPlan& plan, std::vector<PackageOutcome> packages, BuildAtKill build) {
  AttemptOutcome outcome = ContainerKilled(plan, std::move(packages), build.need, build.steps);
  outcome.build = std::move(build);
  return outcome;
}

const BuildAtKill kColdRuntime{.package = "runtime", .steps = 1, .step_peak = 62013440, .need = 268431360};

TEST(NextAttemptsTest, ABuildKillIsTheShardsBuildNeed) {
  RunPolicy policy = Policy();
  policy.memory = 256 * kMiB;
  policy.max_memory = 2 * kGiB;
  const ShardPlan all = Shard(0, {"a", "b", "c"}, 256 * kMiB, 16, std::nullopt);
  const RetryDecision d = Decide(policy, {all}, {BuildKill(all, {Pass("a")}, kColdRuntime)});
  // Not split, not isolated: b and c go on together with memory from what the build held.
  ASSERT_EQ(d.shards.size(), 1u);
  EXPECT_THAT(d.shards[0].packages, ElementsAre("b", "c"));
  EXPECT_EQ(d.shards[0].memory, 368 * kMiB);  // peak 256Mi + 100Mi, rounded to 16Mi
  EXPECT_EQ(d.shards[0].p, std::nullopt);
  EXPECT_THAT(d.shards[0].reason,
              AllOf(HasSubstr("BuildMemory: compiling runtime, 1 build step at once, no test binary running"),
                    HasSubstr("no package charged"), HasSubstr("memory 256Mi -> 368Mi")));
  EXPECT_EQ(CountedAttempts(d.log, "b"), 0);
  EXPECT_EQ(CountedAttempts(d.log, "c"), 0);
  EXPECT_EQ(CountedAttempts(d.log, "a"), 1);
  EXPECT_EQ(d.log.at("b").back().cause, Cause::kBuildMemory);
  ASSERT_EQ(d.verdicts.size(), 1u);
  EXPECT_EQ(d.verdicts[0].package, "a");
}

TEST(NextAttemptsTest, ABuildKillNamingAShardPackageIsStillTheShards) {
  // The engine names b's compile as killed; no test binary ran, so it is the build's.
  RunPolicy policy = Policy();
  const ShardPlan all = Shard(0, {"a", "b", "c"});
  const RetryDecision d = Decide(
      policy, {all},
      {BuildKill(all, {BuildKilled("b")}, {.package = "b", .steps = 1, .step_peak = 300 * kMiB, .need = 540 * kMiB})});
  ASSERT_EQ(d.shards.size(), 1u);
  EXPECT_THAT(d.shards[0].packages, ElementsAre("a", "b", "c"));
  EXPECT_EQ(d.shards[0].memory, 656 * kMiB);  // 540 MiB x1.2 = 648, rounded up
  EXPECT_EQ(CountedAttempts(d.log, "b"), 0);
}

TEST(NextAttemptsTest, ManyCompilesAtOnceLowerPWhenOneStepFitsSeveralTimes) {
  RunPolicy policy = Policy();
  const ShardPlan all = Shard(0, {"a", "b"}, 512 * kMiB, 8, 4);
  // Four compiles at once, the largest measured 150 MiB: x1.2 = 180 MiB, two fit in 512Mi.
  const RetryDecision d = Decide(
      policy, {all},
      {BuildKill(all, {}, {.package = "example.com/gen", .steps = 4, .step_peak = 150 * kMiB, .need = 512 * kMiB})});
  ASSERT_EQ(d.shards.size(), 1u);
  EXPECT_EQ(d.shards[0].memory, 512 * kMiB);
  EXPECT_EQ(d.shards[0].p, 2);
  EXPECT_THAT(d.shards[0].reason, HasSubstr("-p 4 -> 2 (one build step took up to 150Mi; x1.2, 2 fit in 512Mi)"));

  // One step alone takes more than half the limit: -p would have to be 1; memory instead.
  const RetryDecision big = Decide(
      policy, {all},
      {BuildKill(all, {}, {.package = "example.com/gen", .steps = 4, .step_peak = 300 * kMiB, .need = 512 * kMiB})});
  ASSERT_EQ(big.shards.size(), 1u);
  EXPECT_EQ(big.shards[0].p, 4);
  EXPECT_EQ(big.shards[0].memory, 624 * kMiB);
}

TEST(NextAttemptsTest, ABuildKilledAgainAfterARaiseGetsMaxMemoryThenP1ThenDoesNotFit) {
  RunPolicy policy = Policy();
  policy.max_memory = 1 * kGiB;
  const ShardPlan first = Shard(0, {"a", "b"}, 256 * kMiB, 8, 2);
  const RetryDecision d1 = Decide(policy, {first}, {BuildKill(first, {}, kColdRuntime)});
  ASSERT_EQ(d1.shards.size(), 1u);
  const ShardPlan second = d1.shards[0];
  EXPECT_EQ(second.memory, 368 * kMiB);
  const RetryDecision d2 =
      Decide(policy, {second}, {BuildKill(second, {}, {.package = "runtime", .steps = 2, .need = 368 * kMiB})}, d1.log);
  ASSERT_EQ(d2.shards.size(), 1u);
  EXPECT_EQ(d2.shards[0].memory, 1 * kGiB);
  EXPECT_THAT(d2.shards[0].reason, HasSubstr("rather than under-shoot twice"));
  const ShardPlan third = d2.shards[0];
  const RetryDecision d3 =
      Decide(policy, {third}, {BuildKill(third, {}, {.package = "runtime", .steps = 2, .need = 1 * kGiB})}, d2.log);
  ASSERT_EQ(d3.shards.size(), 1u);
  EXPECT_EQ(d3.shards[0].p, 1);
  const ShardPlan fourth = d3.shards[0];
  const RetryDecision d4 =
      Decide(policy, {fourth}, {BuildKill(fourth, {}, {.package = "runtime", .steps = 1, .need = 1 * kGiB})}, d3.log);
  EXPECT_THAT(d4.shards, IsEmpty());
  ASSERT_EQ(d4.verdicts.size(), 2u);
  EXPECT_EQ(d4.verdicts[0].verdict, Verdict::kDoesNotFit);
  EXPECT_EQ(d4.state, RunState::kFailed);
}

TEST(NamesTest, EveryEnumeratorHasAName) {
  EXPECT_EQ(CauseName(Cause::kGcHeadroom), "GCHeadroom");
  EXPECT_EQ(CauseName(Cause::kLeakAcrossTests), "LeakAcrossTests");
  EXPECT_EQ(PhaseName(Phase::kTestRun), "test-run");
  EXPECT_EQ(PackageResultName(PackageResult::kBuildKilled), "build killed");
  EXPECT_EQ(VerdictName(Verdict::kDoesNotFit), "DoesNotFit");
  EXPECT_EQ(RunStateName(RunState::kSucceeded), "Succeeded");
}

}  // namespace
}  // namespace gotestrun::policy
