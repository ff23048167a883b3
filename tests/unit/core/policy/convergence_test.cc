// The planner and the retry policy run against a simulated world, round after
// round, until the run ends: each package has a true memory need (and some a
// pathology), the world OOM-kills what does not fit, and the policy must find a plan
// that fits within maxAttempts, or say that nothing can.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/policy/plan.h"
#include "core/policy/retry.h"
#include "core/policy/sizing.h"
#include "tests/unit/core/policy/decision_checks.h"

namespace gotestrun::policy {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// What a package really needs, which the policy can only learn from kills.
struct TruePackage {
  std::string name;
  Bytes base = 50 * kMiB;        // its test binary with one test at a time
  Bytes per_test = 0;            // more for each t.Parallel test running beside the first
  int parallel_tests = 1;        // how many of its tests call t.Parallel
  Bytes gc_slack = 0;            // heap the GC lets grow on top of base unless GOMEMLIMIT is set
  Bytes build = 30 * kMiB;       // its compile step
  bool fails = false;            // a real test failure
  bool kills_container = false;  // native memory: the whole container dies, nothing is named
};

// The node's CPU count: go's default -p and -parallel when neither is set.
constexpr int kNodeCpus = 8;

struct World {
  std::vector<TruePackage> packages;

  const TruePackage& Find(const std::string& name) const {
    return *std::find_if(packages.begin(), packages.end(), [&](const TruePackage& p) { return p.name == name; });
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const TruePackage& p : packages) names.push_back(p.name);
    return names;
  }

  int Parallel(const ShardPlan& plan, const RunPolicy& policy) const {
    return plan.parallel.value_or(GoMaxProcs(policy.cpu_millis).value_or(kNodeCpus));
  }
  Bytes Need(const TruePackage& p, const ShardPlan& plan, const RunPolicy& policy) const {
    int at_once = std::min(Parallel(plan, policy), p.parallel_tests);
    Bytes need = p.base + p.per_test * static_cast<Bytes>(at_once - 1);
    if (!plan.gomemlimit) need += p.gc_slack;
    return need;
  }

  // What happens when the shard attempt runs: the largest process is killed when the
  // go command plus the -p largest processes do not fit the limit.
  AttemptOutcome Run(const ShardPlan& plan, const RunPolicy& policy) const {
    AttemptOutcome outcome;
    outcome.shard = plan.index;
    outcome.attempt = plan.attempt;
    const int procs = plan.p.value_or(GoMaxProcs(policy.cpu_millis).value_or(kNodeCpus));
    const int at_once = std::min<int>(procs, static_cast<int>(plan.packages.size()));

    auto largest = [&](auto need_of) {
      std::vector<std::pair<Bytes, std::string>> needs;
      for (const std::string& name : plan.packages) needs.emplace_back(need_of(Find(name)), name);
      std::sort(needs.begin(), needs.end(), std::greater<>());
      Bytes total = kGoCommandOverhead;
      for (int i = 0; i < at_once; ++i) total += needs[static_cast<std::size_t>(i)].first;
      return std::make_pair(total, needs.front());
    };

    auto [build_total, build_top] = largest([](const TruePackage& package) { return package.build; });
    if (build_total > plan.memory) {
      PackageOutcome killed;
      killed.package = build_top.second;
      killed.result = PackageResult::kBuildKilled;
      killed.phase = Phase::kCompile;
      outcome.packages.push_back(killed);
      outcome.binaries_at_kill = at_once;
      return outcome;
    }
    auto [test_total, test_top] = largest([&](const TruePackage& package) { return Need(package, plan, policy); });
    if (test_total <= plan.memory) {
      for (const std::string& name : plan.packages) {
        const TruePackage& package = Find(name);
        PackageOutcome done;
        done.package = name;
        done.result = package.fails ? PackageResult::kTestsFailed : PackageResult::kPassed;
        done.peak = std::max(Need(package, plan, policy), package.build);
        outcome.packages.push_back(done);
      }
      return outcome;
    }
    const TruePackage& victim = Find(test_top.second);
    outcome.binaries_at_kill = at_once;
    if (victim.kills_container) {
      outcome.container_oom_killed = true;
      outcome.peak = plan.memory;
      outcome.phase = Phase::kTestRun;
      return outcome;
    }
    PackageOutcome killed;
    killed.package = victim.name;
    killed.result = PackageResult::kKilled;
    killed.phase = Phase::kTestRun;
    killed.test_at_kill = "TestHeavy";
    killed.tests_at_kill = std::min(Parallel(plan, policy), victim.parallel_tests);
    killed.peak = std::min(test_top.first, plan.memory - std::min(plan.memory, kGoCommandOverhead));
    Finding finding;
    if (victim.per_test > 0 && killed.tests_at_kill > 1) {
      finding.cause = Cause::kParallelSpike;
    } else if (victim.gc_slack > 0 && !plan.gomemlimit) {
      finding.cause = Cause::kGcHeadroom;
    } else {
      finding.cause = Cause::kLargeTest;
    }
    killed.finding = finding;
    outcome.packages.push_back(killed);
    return outcome;
  }
};

struct RunResult {
  std::map<std::string, PackageVerdict> verdicts;
  AttemptLog log;
  RunState state = RunState::kRunning;
  std::string summary;
  int rounds = 0;
  int pods = 0;
};

constexpr int kMaxRounds = 100;

// Every shard of a round finishes before the policy is asked again.
RunResult RunInRounds(const World& world, const RunPolicy& policy, const History& history) {
  RunResult result;
  std::vector<std::string> names = world.Names();
  StatusOr<std::vector<ShardPlan>> planned = PlanShards(names, policy, history);
  EXPECT_TRUE(planned.ok()) << planned.status();
  std::vector<ShardPlan> shards = planned.ok() ? *planned : std::vector<ShardPlan>{};
  while (!shards.empty() && result.rounds < kMaxRounds) {
    ++result.rounds;
    std::vector<AttemptOutcome> outcomes;
    for (const ShardPlan& plan : shards) outcomes.push_back(world.Run(plan, policy));
    result.pods += static_cast<int>(shards.size());
    StatusOr<RetryDecision> decision = NextAttempts(policy, shards, outcomes, result.log);
    EXPECT_TRUE(decision.ok()) << decision.status();
    if (!decision.ok()) break;
    ExpectDecisionHolds(policy, shards, outcomes, result.log, *decision);
    for (const PackageVerdict& verdict : decision->verdicts) result.verdicts[verdict.package] = verdict;
    result.log = decision->log;
    result.state = decision->state;
    result.summary = decision->summary;
    shards = decision->shards;
  }
  return result;
}

// The controller's way: the policy is asked each time one shard finishes, while
// the others are still running.
RunResult RunOneAtATime(const World& world, const RunPolicy& policy) {
  RunResult result;
  std::vector<std::string> names = world.Names();
  StatusOr<std::vector<ShardPlan>> planned = PlanShards(names, policy, {});
  EXPECT_TRUE(planned.ok());
  std::vector<ShardPlan> in_flight = planned.ok() ? *planned : std::vector<ShardPlan>{};
  while (!in_flight.empty() && result.rounds < 10 * kMaxRounds) {
    ++result.rounds;
    ++result.pods;
    std::vector<AttemptOutcome> outcomes = {world.Run(in_flight.front(), policy)};
    StatusOr<RetryDecision> decision = NextAttempts(policy, in_flight, outcomes, result.log);
    EXPECT_TRUE(decision.ok()) << decision.status();
    if (!decision.ok()) break;
    ExpectDecisionHolds(policy, in_flight, outcomes, result.log, *decision);
    for (const PackageVerdict& verdict : decision->verdicts) result.verdicts[verdict.package] = verdict;
    result.log = decision->log;
    result.state = decision->state;
    result.summary = decision->summary;
    in_flight.erase(in_flight.begin());
    in_flight.insert(in_flight.end(), decision->shards.begin(), decision->shards.end());
  }
  return result;
}

RunPolicy Policy() {
  RunPolicy policy;
  policy.memory = 256 * kMiB;
  policy.max_memory = 2 * kGiB;
  policy.shards = 2;
  policy.max_shards = 8;
  policy.max_attempts = 8;
  policy.memory_bump_ratio = 2.0;
  policy.parallel = 8;
  policy.p = 4;
  return policy;
}

World Suite() {
  World world;
  world.packages = {
      {.name = "corp.example/tiny", .base = 40 * kMiB},
      {.name = "corp.example/small", .base = 90 * kMiB},
      {.name = "corp.example/spiky", .base = 60 * kMiB, .per_test = 50 * kMiB, .parallel_tests = 16},
      {.name = "corp.example/large", .base = 900 * kMiB},
      {.name = "corp.example/cgo", .base = 600 * kMiB, .kills_container = true},
      {.name = "corp.example/heavybuild", .base = 40 * kMiB, .build = 500 * kMiB},
      {.name = "corp.example/gc", .base = 120 * kMiB, .gc_slack = 400 * kMiB},
      {.name = "corp.example/leaky", .base = 1800 * kMiB},
      {.name = "corp.example/flaky", .base = 40 * kMiB, .fails = true},
      {.name = "corp.example/huge", .base = 3 * kGiB},
  };
  return world;
}

void ExpectSuiteOutcome(const RunResult& result, const RunPolicy& policy) {
  EXPECT_EQ(result.state, RunState::kFailed) << result.summary;
  ASSERT_EQ(result.verdicts.size(), 10u);
  for (const auto& [name, verdict] : result.verdicts) {
    SCOPED_TRACE(name + ": " + verdict.diagnosis);
    if (name == "corp.example/flaky") {
      EXPECT_EQ(verdict.verdict, Verdict::kTestsFailed);
      EXPECT_EQ(CountedAttempts(result.log, name), 1);
    } else if (name == "corp.example/huge") {
      EXPECT_EQ(verdict.verdict, Verdict::kDoesNotFit);
      EXPECT_THAT(verdict.diagnosis, AllOf(HasSubstr("corp.example/huge does not fit in maxMemory 2Gi"),
                                           HasSubstr("alone in its shard at 2Gi"), HasSubstr("(LargeTest)"),
                                           HasSubstr("Tried: "), HasSubstr("2Gi -parallel 8 -p 4: killed")));
    } else {
      EXPECT_EQ(verdict.verdict, Verdict::kPassed);
    }
    EXPECT_LE(CountedAttempts(result.log, name), policy.max_attempts);
  }
  EXPECT_THAT(result.summary, HasSubstr("2 of 10 package(s) failed: corp.example/flaky (tests failed); "
                                        "corp.example/huge (does not fit in maxMemory 2Gi)"));
}

TEST(ConvergenceTest, ARoundAtATimeFindsAPlanForEveryPackageThatFits) {
  RunPolicy policy = Policy();
  RunResult result = RunInRounds(Suite(), policy, {});
  EXPECT_LT(result.rounds, kMaxRounds);
  ExpectSuiteOutcome(result, policy);

  // What it took, for the record of how the policy behaves.
  const AttemptLog& log = result.log;
  EXPECT_LT(log.at("corp.example/spiky").back().parallel.value_or(8), 8);  // -parallel halved
  EXPECT_TRUE(log.at("corp.example/gc").back().gomemlimit.has_value());    // GOMEMLIMIT set
  EXPECT_GE(log.at("corp.example/large").back().memory, 1000 * kMiB);      // memory raised
  for (const auto& [name, entries] : log) {
    if (result.verdicts.at(name).verdict == Verdict::kPassed) {
      // The plan it passed with fits its true need, and was not inflated past maxMemory.
      EXPECT_LE(entries.back().memory, policy.max_memory) << name;
    }
  }
}

TEST(ConvergenceTest, OneShardAtATimeConvergesToo) {
  RunPolicy policy = Policy();
  RunResult result = RunOneAtATime(Suite(), policy);
  EXPECT_LT(result.rounds, 10 * kMaxRounds);
  ExpectSuiteOutcome(result, policy);
}

TEST(ConvergenceTest, ConvergesUnderATightShardCap) {
  RunPolicy policy = Policy();
  policy.shards = 1;
  policy.max_shards = 1;
  RunResult result = RunInRounds(Suite(), policy, {});
  EXPECT_LT(result.rounds, kMaxRounds);
  // With one shard nothing can be isolated: memory and -p carry the whole load, and
  // the run ends; every package ends with a verdict within its attempts.
  EXPECT_EQ(result.verdicts.size(), 10u);
  EXPECT_EQ(result.state, RunState::kFailed);
  for (const auto& [name, entries] : result.log) EXPECT_LE(CountedAttempts(result.log, name), policy.max_attempts);
}

TEST(ConvergenceTest, TheNextRunIsPlannedRightFromHistory) {
  // A suite without concurrency or GC pathologies, whose needs history can carry.
  World world;
  world.packages = {
      {.name = "corp.example/tiny", .base = 40 * kMiB},
      {.name = "corp.example/small", .base = 90 * kMiB},
      {.name = "corp.example/medium", .base = 300 * kMiB},
      {.name = "corp.example/large", .base = 900 * kMiB},
      {.name = "corp.example/heavybuild", .base = 40 * kMiB, .build = 500 * kMiB},
      {.name = "corp.example/leaky", .base = 1500 * kMiB},
  };
  RunPolicy policy = Policy();
  RunResult first = RunInRounds(world, policy, {});
  ASSERT_EQ(first.state, RunState::kSucceeded) << first.summary;
  EXPECT_GT(first.rounds, 1);

  History history;
  for (const auto& [name, entries] : first.log) {
    ASSERT_EQ(entries.back().result, PackageResult::kPassed);
    history.packages[name].test_run = entries.back().peak;
  }
  RunResult second = RunInRounds(world, policy, history);
  EXPECT_EQ(second.state, RunState::kSucceeded) << second.summary;
  EXPECT_EQ(second.rounds, 1);
  EXPECT_LT(second.pods, first.pods);
}

TEST(ConvergenceTest, EveryNeedBelowMaxMemoryIsReachedWithinMaxAttempts) {
  // One package at a time, needs from tiny to just under the cap, with VPA's rule
  // alone (no bump ratio) and the default 4 attempts: 1.2x per attempt would not
  // climb from 256Mi to 2Gi in time, the last attempt at maxMemory does.
  RunPolicy policy = Policy();
  policy.memory_bump_ratio = 1.0;
  policy.max_attempts = 4;
  for (Bytes need = 16 * kMiB; need + kGoCommandOverhead <= policy.max_memory; need += 96 * kMiB) {
    SCOPED_TRACE(FormatMemoryQuantity(need));
    World world;
    world.packages = {{.name = "corp.example/one", .base = need}};
    RunResult result = RunInRounds(world, policy, {});
    ASSERT_EQ(result.verdicts.size(), 1u);
    EXPECT_EQ(result.verdicts.begin()->second.verdict, Verdict::kPassed) << result.verdicts.begin()->second.diagnosis;
    EXPECT_LE(CountedAttempts(result.log, "corp.example/one"), policy.max_attempts);
  }
}

}  // namespace
}  // namespace gotestrun::policy
