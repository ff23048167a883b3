// Random inputs (from a fixed seed, so every run checks the same cases) against the
// promises of retry.h that hold whatever the inputs.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/policy/retry.h"
#include "tests/unit/core/policy/decision_checks.h"

namespace gotestrun::policy {
namespace {

class Inputs {
 public:
  explicit Inputs(unsigned seed) : random_(seed) {}

  int Int(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  bool Chance(int percent) { return Int(1, 100) <= percent; }
  Bytes MiB(int low, int high) { return static_cast<Bytes>(Int(low, high)) * kMiB; }

  RunPolicy Policy() {
    RunPolicy policy;
    policy.memory = MiB(64, 1024);
    policy.max_memory = policy.memory + (Chance(20) ? 0 : MiB(0, 4096));
    policy.max_shards = Int(1, 10);
    policy.shards = Int(1, policy.max_shards);
    policy.max_attempts = Int(1, 6);
    if (Chance(70)) policy.parallel = Int(1, 32);
    if (Chance(70)) policy.p = Int(1, 8);
    if (Chance(50)) policy.cpu_millis = static_cast<std::uint64_t>(Int(100, 16000));
    policy.memory_bump_ratio = 1.0 + Int(0, 10) / 10.0;
    policy.min_memory_bump = Chance(50) ? 0 : MiB(1, 512);
    policy.allow_gomemlimit = Chance(70);
    return policy;
  }

  std::optional<Finding> MaybeFinding() {
    if (Chance(40)) return std::nullopt;
    Finding finding;
    finding.cause = static_cast<Cause>(Int(0, 8));
    finding.evidence = "evidence";
    if (Chance(20)) finding.memory = MiB(1, 8192);
    if (Chance(20)) finding.parallel = Int(0, 16);
    if (Chance(20)) finding.p = Int(0, 8);
    return finding;
  }

  PackageOutcome Outcome(const std::string& package, Bytes limit) {
    PackageOutcome outcome;
    outcome.package = package;
    outcome.result = static_cast<PackageResult>(Int(0, 5));
    outcome.phase = static_cast<Phase>(Int(0, 4));
    if (Chance(50)) outcome.peak = MiB(1, static_cast<int>(limit / kMiB) + 200);
    outcome.tests_at_kill = Int(0, 20);
    if (Chance(50)) outcome.test_at_kill = "TestX";
    outcome.finding = MaybeFinding();
    return outcome;
  }

  std::mt19937 random_;
};

TEST(NextAttemptsPropertiesTest, HoldForRandomInputs) {
  Inputs in(4242);
  int decisions = 0;
  for (int round = 0; round < 2000; ++round) {
    SCOPED_TRACE(round);
    RunPolicy policy = in.Policy();
    std::vector<ShardPlan> shards;
    std::vector<AttemptOutcome> outcomes;
    AttemptLog log;
    int next_package = 0;
    int shard_count = in.Int(0, policy.max_shards);
    for (int s = 0; s < shard_count; ++s) {
      ShardPlan plan;
      plan.index = s * in.Int(1, 3);
      while (!shards.empty() && plan.index <= shards.back().index) ++plan.index;
      plan.attempt = in.Int(1, 3);
      const int room = static_cast<int>((policy.max_memory - policy.memory) / kMiB);
      plan.memory = in.Chance(20) ? policy.max_memory : policy.memory + in.MiB(0, room);
      if (in.Chance(60)) plan.parallel = in.Int(1, 32);
      if (in.Chance(60)) plan.p = in.Int(1, 8);
      if (in.Chance(20)) plan.gomemlimit = plan.memory / 2;
      int count = in.Int(1, 6);
      for (int k = 0; k < count; ++k) {
        std::string package = "corp.example/p" + std::to_string(next_package++);
        plan.packages.push_back(package);
        // Earlier attempts that left something to do, never a pass.
        int earlier = in.Int(0, policy.max_attempts - 1);
        for (int e = 0; e < earlier; ++e) {
          PackageAttempt entry;
          entry.shard = in.Int(0, 20);
          entry.attempt = e + 1;
          entry.memory = policy.memory;
          entry.result = in.Chance(50) ? PackageResult::kKilled : PackageResult::kNotRun;
          entry.counted = true;
          log[package].push_back(entry);
        }
      }
      shards.push_back(plan);
      if (in.Chance(75)) {
        AttemptOutcome outcome;
        outcome.shard = plan.index;
        outcome.attempt = plan.attempt;
        for (const std::string& package : plan.packages) {
          if (in.Chance(85)) outcome.packages.push_back(in.Outcome(package, plan.memory));
        }
        outcome.container_oom_killed = in.Chance(30);
        outcome.phase = static_cast<Phase>(in.Int(0, 4));
        if (in.Chance(50)) outcome.peak = in.MiB(1, static_cast<int>(plan.memory / kMiB) + 100);
        outcome.binaries_at_kill = in.Int(0, 8);
        outcome.finding = in.MaybeFinding();
        outcomes.push_back(outcome);
      }
    }
    StatusOr<RetryDecision> decision = NextAttempts(policy, shards, outcomes, log);
    ASSERT_TRUE(decision.ok()) << decision.status();
    ExpectDecisionHolds(policy, shards, outcomes, log, *decision);
    StatusOr<RetryDecision> again = NextAttempts(policy, shards, outcomes, log);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->shards, decision->shards);
    EXPECT_EQ(again->verdicts, decision->verdicts);
    EXPECT_EQ(again->summary, decision->summary);
    ++decisions;
    if (HasFailure()) break;
  }
  EXPECT_EQ(decisions, 2000);
}

}  // namespace
}  // namespace gotestrun::policy
