// What must hold of every retry decision, whatever the inputs: shared by the
// property test (random inputs) and the convergence test (simulated runs).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/policy/retry.h"

namespace gotestrun::policy {

inline void ExpectDecisionHolds(const RunPolicy& policy, const std::vector<ShardPlan>& shards,
                                const std::vector<AttemptOutcome>& outcomes, const AttemptLog& log,
                                const RetryDecision& decision) {
  std::map<int, const ShardPlan*> by_index;
  int highest = -1;
  for (const ShardPlan& plan : shards) {
    by_index[plan.index] = &plan;
    highest = std::max(highest, plan.index);
  }
  for (const auto& [package, entries] : log) {
    for (const PackageAttempt& entry : entries) highest = std::max(highest, entry.shard);
  }
  std::set<int> finished;
  std::set<std::string> passed_now;
  std::set<std::string> unfinished;  // packages of finished shards that did not pass
  std::set<std::string> of_running;
  std::map<std::string, Verdict> ended_on_their_own;  // tests or build failed: not kills
  for (const AttemptOutcome& outcome : outcomes) {
    finished.insert(outcome.shard);
    std::map<std::string, PackageResult> results;
    for (const PackageOutcome& package : outcome.packages) results[package.package] = package.result;
    for (const std::string& package : by_index.at(outcome.shard)->packages) {
      auto it = results.find(package);
      if (it != results.end() && it->second == PackageResult::kPassed) {
        passed_now.insert(package);
      } else {
        unfinished.insert(package);
      }
      if (it != results.end() && it->second == PackageResult::kTestsFailed) {
        ended_on_their_own[package] = Verdict::kTestsFailed;
      }
      if (it != results.end() && it->second == PackageResult::kBuildFailed) {
        ended_on_their_own[package] = Verdict::kBuildFailed;
      }
    }
  }
  int running = 0;
  std::set<int> taken;
  for (const ShardPlan& plan : shards) {
    if (finished.count(plan.index) > 0) continue;
    ++running;
    taken.insert(plan.index);
    of_running.insert(plan.packages.begin(), plan.packages.end());
  }

  // Never above maxMemory; knobs in range; at most maxShards at once.
  EXPECT_LE(decision.shards.size() + static_cast<std::size_t>(running), static_cast<std::size_t>(policy.max_shards));
  std::map<std::string, int> placed;
  for (const ShardPlan& plan : decision.shards) {
    EXPECT_FALSE(plan.packages.empty());
    EXPECT_GE(plan.memory, 1u);
    EXPECT_LE(plan.memory, policy.max_memory) << plan.reason;
    EXPECT_GE(plan.parallel.value_or(1), 1);
    EXPECT_GE(plan.p.value_or(1), 1);
    EXPECT_LT(plan.gomemlimit.value_or(0), plan.memory);
    EXPECT_FALSE(plan.reason.empty());
    EXPECT_TRUE(taken.insert(plan.index).second) << "index " << plan.index << " used twice";
    auto old = by_index.find(plan.index);
    if (old != by_index.end()) {
      EXPECT_EQ(finished.count(plan.index), 1u);
      EXPECT_EQ(plan.attempt, old->second->attempt + 1);
    } else {
      EXPECT_GT(plan.index, highest);
      EXPECT_EQ(plan.attempt, 1);
    }
    for (const std::string& package : plan.packages) ++placed[package];
  }
  std::map<std::string, int> settled;
  for (const PackageVerdict& verdict : decision.verdicts) {
    ++settled[verdict.package];
    EXPECT_FALSE(verdict.diagnosis.empty());
    EXPECT_EQ(verdict.verdict == Verdict::kPassed, passed_now.count(verdict.package) > 0) << verdict.package;
    // A failure that was not a kill is reported as it is, never retried.
    auto own = ended_on_their_own.find(verdict.package);
    if (own != ended_on_their_own.end()) {
      EXPECT_EQ(verdict.verdict, own->second) << verdict.package;
    }
  }

  auto count = [](const std::map<std::string, int>& counts, const std::string& package) {
    auto it = counts.find(package);
    return it == counts.end() ? 0 : it->second;
  };

  // Passed packages are never run again; every other package of a finished shard is
  // in exactly one new shard or has a verdict; running shards are left alone.
  for (const std::string& package : passed_now) {
    EXPECT_EQ(placed.count(package), 0u) << package;
    EXPECT_EQ(count(settled, package), 1) << package;
  }
  for (const std::string& package : unfinished) {
    EXPECT_EQ(count(placed, package) + count(settled, package), 1) << package;
  }
  for (const auto& [package, verdict] : ended_on_their_own) {
    EXPECT_EQ(count(settled, package), 1) << package;
  }
  for (const auto& [package, times] : placed) {
    EXPECT_EQ(times, 1) << package;
    EXPECT_EQ(unfinished.count(package), 1u) << package << " was not a package of a finished shard";
    // Whoever runs again has an attempt left.
    EXPECT_LT(CountedAttempts(decision.log, package), policy.max_attempts) << package;
  }
  for (const std::string& package : of_running) {
    EXPECT_EQ(placed.count(package), 0u) << package;
    EXPECT_EQ(settled.count(package), 0u) << package;
  }
  for (const auto& [package, entries] : decision.log) {
    EXPECT_LE(CountedAttempts(decision.log, package), policy.max_attempts) << package;
    // The log records each verdict on the attempt that gave it.
    if (count(settled, package) > 0) {
      EXPECT_TRUE(entries.back().verdict.has_value()) << package;
    }
  }

  // Stable order.
  for (std::size_t i = 1; i < decision.shards.size(); ++i) {
    EXPECT_LT(decision.shards[i - 1].index, decision.shards[i].index);
  }
  for (std::size_t i = 1; i < decision.verdicts.size(); ++i) {
    EXPECT_LT(decision.verdicts[i - 1].package, decision.verdicts[i].package);
  }
  EXPECT_EQ(decision.state == RunState::kRunning, !decision.shards.empty() || running > 0);
}

}  // namespace gotestrun::policy
