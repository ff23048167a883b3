#include "core/policy/plan.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/policy/sizing.h"

namespace gotestrun::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

RunPolicy Policy() {
  RunPolicy policy;
  policy.memory = 512 * kMiB;
  policy.max_memory = 4 * kGiB;
  policy.shards = 1;
  policy.max_shards = 8;
  policy.parallel = 8;
  policy.p = 2;
  return policy;
}

std::vector<std::string> Names(std::initializer_list<const char*> names) { return {names.begin(), names.end()}; }

History Peaks(std::map<std::string, Bytes> test_run, std::map<std::string, Bytes> build = {}) {
  History history;
  for (const auto& [package, peak] : test_run) history.packages[package].test_run = peak;
  for (const auto& [package, peak] : build) history.packages[package].build = peak;
  return history;
}

std::vector<std::vector<std::string>> Partition(const std::vector<ShardPlan>& plans) {
  std::vector<std::vector<std::string>> out;
  for (const ShardPlan& plan : plans) out.push_back(plan.packages);
  return out;
}

TEST(SizingTest, HeadroomIsVpasRule) {
  EXPECT_EQ(Headroom(0), 100 * kMiB);
  EXPECT_EQ(Headroom(256 * kMiB), 356 * kMiB);  // +100Mi wins below 500Mi
  EXPECT_EQ(Headroom(500 * kMiB), 600 * kMiB);  // the two meet
  EXPECT_EQ(Headroom(530 * kMiB), 636 * kMiB);  // x1.2 wins above
  EXPECT_EQ(Headroom(kMaxQuantityBytes), kMaxQuantityBytes);
  EXPECT_EQ(Headroom(kMaxQuantityBytes / 6 * 5 + 10), kMaxQuantityBytes);
}

TEST(SizingTest, LimitsRoundUpToSixteenMebibytes) {
  EXPECT_EQ(RoundUpLimit(0), 0u);
  EXPECT_EQ(RoundUpLimit(1), 16 * kMiB);
  EXPECT_EQ(RoundUpLimit(636 * kMiB), 640 * kMiB);
  EXPECT_EQ(RoundUpLimit(640 * kMiB), 640 * kMiB);
  EXPECT_LE(RoundUpLimit(kMaxQuantityBytes), kMaxQuantityBytes);
  EXPECT_EQ(RoundUpLimit(kMaxQuantityBytes) % (16 * kMiB), 0u);
}

TEST(SizingTest, GoMaxProcsFollowsTheCpuLimitAsGo125Does) {
  EXPECT_EQ(GoMaxProcs(std::nullopt), std::nullopt);
  EXPECT_EQ(GoMaxProcs(250), 2);  // at least 2
  EXPECT_EQ(GoMaxProcs(1000), 2);
  EXPECT_EQ(GoMaxProcs(2500), 3);  // rounded up
  EXPECT_EQ(GoMaxProcs(16000), 16);
}

TEST(SizingTest, GoMemLimitLeavesTenPercentAndDividesByBinaries) {
  EXPECT_EQ(GoMemLimitFor(512 * kMiB, 1), 460 * kMiB);
  EXPECT_EQ(GoMemLimitFor(1 * kGiB, 4), 230 * kMiB);
  EXPECT_EQ(GoMemLimitFor(1 * kGiB, 0), 921 * kMiB);  // treated as one
  EXPECT_EQ(GoMemLimitFor(1 * kMiB, 8), kMiB);        // never zero, which Go reads as "no heap"
}

TEST(SizingTest, ScaleUpRoundsUpAndSaturates) {
  EXPECT_EQ(ScaleUp(10, 6, 5), 12u);
  EXPECT_EQ(ScaleUp(11, 6, 5), 14u);  // 13.2 rounds up
  EXPECT_EQ(ScaleUp(kMaxQuantityBytes, 1500, 1000), kMaxQuantityBytes);
  EXPECT_EQ(SaturatingAdd(kMaxQuantityBytes, 1), kMaxQuantityBytes);
  EXPECT_EQ(SaturatingAdd(1, 2), 3u);
}

TEST(AttemptNameTest, NamesPodsAndFolders) {
  EXPECT_EQ(AttemptName("payments", 0, 1), "payments-s0-a1");
  EXPECT_EQ(AttemptName("payments", 12, 3), "payments-s12-a3");
}

TEST(ValidateRunPolicyTest, RejectsKnobsOutOfRange) {
  struct Case {
    std::string name;
    void (*change)(RunPolicy&);
    std::string message;
  };
  const Case cases[] = {
      {"no memory", [](RunPolicy& p) { p.memory = 0; }, "memory must be above 0"},
      {"max below memory", [](RunPolicy& p) { p.max_memory = 256 * kMiB; }, "maxMemory 256Mi is below memory 512Mi"},
      {"memory too large", [](RunPolicy& p) { p.memory = p.max_memory = kMaxQuantityBytes + 1; }, "too large"},
      {"zero shards", [](RunPolicy& p) { p.shards = 0; }, "shards must be at least 1"},
      {"max shards below shards", [](RunPolicy& p) { p.shards = 9; }, "maxShards 8 is below shards 9"},
      {"zero attempts", [](RunPolicy& p) { p.max_attempts = 0; }, "maxAttempts"},
      {"ratio below one", [](RunPolicy& p) { p.memory_bump_ratio = 0.5; }, "memoryBumpRatio"},
      {"ratio not a number", [](RunPolicy& p) { p.memory_bump_ratio = std::nan(""); }, "memoryBumpRatio"},
      {"parallel zero", [](RunPolicy& p) { p.parallel = 0; }, "parallel must be at least 1"},
      {"p negative", [](RunPolicy& p) { p.p = -2; }, "p must be at least 1"},
      {"cpu zero", [](RunPolicy& p) { p.cpu_millis = 0; }, "cpu must be above 0"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    RunPolicy policy = Policy();
    c.change(policy);
    Status status = ValidateRunPolicy(policy);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr(c.message));
    std::vector<std::string> packages = {"a"};
    EXPECT_FALSE(PlanShards(packages, policy, {}).ok());
  }
  EXPECT_TRUE(ValidateRunPolicy(Policy()).ok());
}

TEST(PlanShardsTest, RejectsBadPackageLists) {
  const std::vector<std::vector<std::string>> cases = {{"a", "b", "a"}, {"a", ""}};
  for (const auto& packages : cases) {
    StatusOr<std::vector<ShardPlan>> plans = PlanShards(packages, Policy(), {});
    ASSERT_FALSE(plans.ok());
    EXPECT_EQ(plans.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(PlanShardsTest, WithoutHistoryDealsRoundRobin) {
  struct Case {
    std::string name;
    std::vector<std::string> packages;
    int shards;
    std::vector<std::vector<std::string>> want;
  };
  const Case cases[] = {
      {"nothing to test", {}, 3, {}},
      {"one shard", Names({"a", "b", "c"}), 1, {Names({"a", "b", "c"})}},
      {"two shards", Names({"a", "b", "c", "d", "e"}), 2, {Names({"a", "c", "e"}), Names({"b", "d"})}},
      {"more shards than packages", Names({"a", "b"}), 4, {Names({"a"}), Names({"b"})}},
      {"even split", Names({"a", "b", "c", "d"}), 4, {Names({"a"}), Names({"b"}), Names({"c"}), Names({"d"})}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    RunPolicy policy = Policy();
    policy.shards = c.shards;
    StatusOr<std::vector<ShardPlan>> plans = PlanShards(c.packages, policy, {});
    ASSERT_TRUE(plans.ok()) << plans.status();
    EXPECT_EQ(Partition(*plans), c.want);
    for (std::size_t i = 0; i < plans->size(); ++i) {
      const ShardPlan& plan = (*plans)[i];
      EXPECT_EQ(plan.index, static_cast<int>(i));
      EXPECT_EQ(plan.attempt, 1);
      EXPECT_EQ(plan.memory, 512 * kMiB);
      EXPECT_EQ(plan.parallel, 8);
      EXPECT_EQ(plan.p, 2);
      EXPECT_EQ(plan.gomemlimit, std::nullopt);
      EXPECT_THAT(plan.reason, HasSubstr("round-robin share " + std::to_string(i + 1)));
      EXPECT_THAT(plan.reason, HasSubstr("no memory history"));
    }
  }
}

TEST(PlanShardsTest, WithoutHistoryKeepsGoDefaultsUnset) {
  RunPolicy policy = Policy();
  policy.parallel.reset();
  policy.p.reset();
  std::vector<std::string> packages = Names({"a"});
  StatusOr<std::vector<ShardPlan>> plans = PlanShards(packages, policy, {});
  ASSERT_TRUE(plans.ok());
  EXPECT_EQ((*plans)[0].parallel, std::nullopt);
  EXPECT_EQ((*plans)[0].p, std::nullopt);
}

struct HistoryCase {
  std::string name;
  void (*change)(RunPolicy&);
  std::vector<std::string> packages;
  History history;
  std::vector<std::vector<std::string>> want;
  std::vector<Bytes> limits;
  std::vector<std::string> reasons;  // substrings, one per shard
};

TEST(PlanShardsTest, WithHistoryBinPacksUnderTheInitialMemory) {
  auto none = [](RunPolicy&) {};
  const HistoryCase cases[] = {
      {"small packages share one shard (p=2: 100Mi go + 100Mi + 100Mi, x1.2 fits 512Mi)",
       none,
       Names({"a", "b", "c", "d"}),
       Peaks({{"a", 100 * kMiB}, {"b", 100 * kMiB}, {"c", 50 * kMiB}}),
       {Names({"a", "b", "c", "d"})},
       {512 * kMiB},
       {"from history: 4 package(s), 3 measured, up to 2 at once; need 100Mi (go) + 100Mi + 100Mi = 300Mi"}},
      {"the user's shard count is kept, packages balanced by count",
       [](RunPolicy& p) { p.shards = 2; },
       Names({"a", "b", "c", "d"}),
       Peaks({{"a", 100 * kMiB}, {"b", 100 * kMiB}, {"c", 50 * kMiB}}),
       {Names({"a", "c"}), Names({"b", "d"})},
       {512 * kMiB, 512 * kMiB},
       {"fits the initial 512Mi", "fits the initial 512Mi"}},
      {"a package above the initial memory gets a shard of its own",
       none,
       Names({"small", "big"}),
       Peaks({{"small", 50 * kMiB}, {"big", 900 * kMiB}}),
       {Names({"big"}), Names({"small"})},
       {1200 * kMiB, 512 * kMiB},
       {"own shard: big peaked at 900Mi in earlier runs; need 100Mi (go) + 900Mi = 1000Mi, with headroom 1200Mi -> "
        "1200Mi",
        "fits the initial 512Mi"}},
      {"a package above maxMemory is capped there",
       none,
       Names({"huge"}),
       Peaks({{"huge", 5 * kGiB}}),
       {Names({"huge"})},
       {4 * kGiB},
       {"capped at maxMemory 4Gi"}},
      {"a package that fills the budget alone is not paired (250Mi: alone 450Mi fits, two 720Mi do not)",
       none,
       Names({"a", "b", "c"}),
       Peaks({{"a", 250 * kMiB}, {"b", 250 * kMiB}, {"c", 250 * kMiB}}),
       {Names({"a"}), Names({"b"}), Names({"c"})},
       {512 * kMiB, 512 * kMiB, 512 * kMiB},
       {"", "", ""}},
      {"at maxShards a package joins the shard it raises least",
       [](RunPolicy& p) { p.max_shards = 2; },
       Names({"a", "b", "c"}),
       Peaks({{"a", 250 * kMiB}, {"b", 250 * kMiB}, {"c", 250 * kMiB}}),
       {Names({"a", "c"}), Names({"b"})},
       {720 * kMiB, 512 * kMiB},
       {"need 100Mi (go) + 250Mi + 250Mi = 600Mi, with headroom 720Mi -> 720Mi", "fits"}},
      {"with -p 1 only the largest counts",
       [](RunPolicy& p) { p.p = 1; },
       Names({"a", "b", "c"}),
       Peaks({{"a", 200 * kMiB}, {"b", 200 * kMiB}, {"c", 200 * kMiB}}),
       {Names({"a", "b", "c"})},
       {512 * kMiB},
       {"up to 1 at once; need 100Mi (go) + 200Mi = 300Mi"}},
      {"-p unset: GOMAXPROCS from the CPU limit (3 cores)",
       [](RunPolicy& p) {
         p.p.reset();
         p.cpu_millis = 2500;
       },
       Names({"a", "b", "c", "d"}),
       Peaks({{"a", 60 * kMiB}, {"b", 60 * kMiB}, {"c", 60 * kMiB}, {"d", 60 * kMiB}}),
       {Names({"a", "b", "c", "d"})},
       {512 * kMiB},
       {"up to 3 at once; need 100Mi (go) + 60Mi + 60Mi + 60Mi = 280Mi"}},
      {"-p and cpu unset: everything at once",
       [](RunPolicy& p) { p.p.reset(); },
       Names({"a", "b", "c", "d"}),
       Peaks({{"a", 80 * kMiB}, {"b", 80 * kMiB}, {"c", 80 * kMiB}, {"d", 80 * kMiB}}),
       {Names({"a", "b", "c"}), Names({"d"})},
       {512 * kMiB, 512 * kMiB},
       {"all at once; need 100Mi (go) + 80Mi + 80Mi + 80Mi = 340Mi", ""}},
      {"the build peak counts when it is the larger",
       none,
       Names({"cgo"}),
       Peaks({{"cgo", 100 * kMiB}}, {{"cgo", 700 * kMiB}}),
       {Names({"cgo"})},
       {960 * kMiB},
       {"peaked at 700Mi"}},
      {"unknown packages fill the emptiest shards, not the large package's",
       [](RunPolicy& p) { p.shards = 2; },
       Names({"u1", "big", "u2", "u3"}),
       Peaks({{"big", 900 * kMiB}}),
       {Names({"big"}), Names({"u1", "u2", "u3"})},
       {1200 * kMiB, 512 * kMiB},
       {"own shard", "no memory history for its 3 package(s)"}},
  };
  for (const HistoryCase& c : cases) {
    SCOPED_TRACE(c.name);
    RunPolicy policy = Policy();
    c.change(policy);
    StatusOr<std::vector<ShardPlan>> plans = PlanShards(c.packages, policy, c.history);
    ASSERT_TRUE(plans.ok()) << plans.status();
    EXPECT_EQ(Partition(*plans), c.want);
    ASSERT_EQ(plans->size(), c.limits.size());
    for (std::size_t i = 0; i < plans->size(); ++i) {
      EXPECT_EQ((*plans)[i].index, static_cast<int>(i));
      EXPECT_EQ((*plans)[i].memory, c.limits[i]) << FormatMemoryQuantity((*plans)[i].memory);
      EXPECT_THAT((*plans)[i].reason, HasSubstr(c.reasons[i]));
    }
  }
}

// A package that passed only after a kill starts the way it passed.
TEST(PlanShardsTest, APackageThatPassedAfterAKillStartsAsItPassed) {
  RunPolicy policy = Policy();
  policy.memory = 256 * kMiB;
  policy.max_memory = 1 * kGiB;
  policy.parallel = 16;
  policy.p = {};
  History history = Peaks({{"x/spike", 150 * kMiB}, {"x/gc", 300 * kMiB}, {"x/a", 10 * kMiB}});
  history.packages["x/spike"].fit = FitKnobs{.memory = 256 * kMiB, .parallel = 1};
  history.packages["x/gc"].fit = FitKnobs{.memory = 336 * kMiB, .gomemlimit = true};
  StatusOr<std::vector<ShardPlan>> plans = PlanShards(Names({"x/a", "x/b", "x/gc", "x/spike"}), policy, history);
  ASSERT_TRUE(plans.ok()) << plans.status();
  ASSERT_EQ(plans->size(), 3u);
  const ShardPlan& gc = (*plans)[0];
  EXPECT_EQ(gc.packages, Names({"x/gc"}));
  // Its peaks with headroom would ask for more than it is known to pass under.
  EXPECT_EQ(gc.memory, 336 * kMiB);
  EXPECT_EQ(gc.gomemlimit, GoMemLimitFor(336 * kMiB, 1));
  EXPECT_EQ(gc.parallel, 16);
  EXPECT_THAT(gc.reason,
              HasSubstr("own shard as it passed after an OOM kill in an earlier run (336Mi with GOMEMLIMIT)"));
  const ShardPlan& spike = (*plans)[1];
  EXPECT_EQ(spike.packages, Names({"x/spike"}));
  EXPECT_EQ(spike.parallel, 1);
  EXPECT_EQ(spike.memory, 256 * kMiB);
  EXPECT_FALSE(spike.gomemlimit);
  EXPECT_EQ((*plans)[2].packages, Names({"x/a", "x/b"}));
  EXPECT_EQ((*plans)[2].parallel, 16);

  // With no shard to spare it is packed like any measured package.
  policy.max_shards = 1;
  plans = PlanShards(Names({"x/a", "x/spike"}), policy, history);
  ASSERT_TRUE(plans.ok()) << plans.status();
  ASSERT_EQ(plans->size(), 1u);
  EXPECT_EQ((*plans)[0].packages, Names({"x/a", "x/spike"}));
  EXPECT_EQ((*plans)[0].parallel, 16);
}

TEST(PlanShardsTest, AShardBuildNeedIsAFloorForEveryShard) {
  RunPolicy policy = Policy();
  policy.memory = 256 * kMiB;
  policy.shards = 3;
  policy.p = std::nullopt;
  History history = Peaks({{"x/big", 600 * kMiB}});
  history.shard_build = ShardBuildNeed{448 * kMiB, 2};
  StatusOr<std::vector<ShardPlan>> plans = PlanShards(Names({"x/a", "x/b", "x/big"}), policy, history);
  ASSERT_TRUE(plans.ok()) << plans.status();
  ASSERT_EQ(plans->size(), 3u);
  for (const ShardPlan& plan : *plans) {
    SCOPED_TRACE(plan.reason);
    EXPECT_GE(plan.memory, 448 * kMiB);
    EXPECT_EQ(plan.p, 2);
  }
  // The shard already above the floor keeps its own limit; the others are raised and
  // say why.
  const ShardPlan& big = *std::find_if(
      plans->begin(), plans->end(), [](const ShardPlan& p) { return p.packages == std::vector<std::string>{"x/big"}; });
  EXPECT_GT(big.memory, 448 * kMiB);
  const ShardPlan& small = plans->front().packages == big.packages ? (*plans)[1] : plans->front();
  EXPECT_EQ(small.memory, 448 * kMiB);
  EXPECT_THAT(small.reason, HasSubstr("256Mi -> 448Mi, -p 2 for its build"));

  // Capped at maxMemory; a lower -p asked for is kept.
  policy.max_memory = 384 * kMiB;
  policy.p = 1;
  plans = PlanShards(Names({"x/a"}), policy, History{.shard_build = ShardBuildNeed{448 * kMiB, 2}});
  ASSERT_TRUE(plans.ok()) << plans.status();
  EXPECT_EQ(plans->front().memory, 384 * kMiB);
  EXPECT_EQ(plans->front().p, 1);
}

TEST(PlanShardsTest, IsDeterministic) {
  std::vector<std::string> packages = Names({"a", "b", "c", "d", "e", "f"});
  History history = Peaks({{"a", 300 * kMiB}, {"b", 20 * kMiB}, {"c", 700 * kMiB}, {"d", 20 * kMiB}});
  RunPolicy policy = Policy();
  policy.shards = 3;
  StatusOr<std::vector<ShardPlan>> first = PlanShards(packages, policy, history);
  StatusOr<std::vector<ShardPlan>> second = PlanShards(packages, policy, history);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
}

// Whatever the history, the plan covers every package once, within the caps.
TEST(PlanShardsTest, PropertiesHoldForRandomHistories) {
  std::mt19937 random(20260711);
  for (int round = 0; round < 300; ++round) {
    SCOPED_TRACE(round);
    RunPolicy policy = Policy();
    policy.memory = (64 + random() % 1024) * kMiB;
    policy.max_memory = policy.memory + (random() % 4096) * kMiB;
    policy.max_shards = 1 + static_cast<int>(random() % 12);
    policy.shards = 1 + static_cast<int>(random() % policy.max_shards);
    if (random() % 3 == 0) policy.p.reset();
    if (random() % 2 == 0) policy.cpu_millis = 500 + random() % 8000;
    std::vector<std::string> packages;
    History history;
    int count = static_cast<int>(random() % 40);
    for (int i = 0; i < count; ++i) {
      std::string name = "corp.example/p" + std::to_string(i);
      packages.push_back(name);
      if (random() % 4 != 0) history.packages[name].test_run = (random() % 3000) * kMiB;
      if (random() % 5 == 0) history.packages[name].build = (random() % 800) * kMiB;
    }
    StatusOr<std::vector<ShardPlan>> plans = PlanShards(packages, policy, history);
    ASSERT_TRUE(plans.ok()) << plans.status();
    EXPECT_LE(plans->size(), static_cast<std::size_t>(policy.max_shards));
    std::multiset<std::string> seen;
    for (std::size_t i = 0; i < plans->size(); ++i) {
      const ShardPlan& plan = (*plans)[i];
      EXPECT_EQ(plan.index, static_cast<int>(i));
      EXPECT_FALSE(plan.packages.empty());
      EXPECT_GE(plan.memory, policy.memory);
      EXPECT_LE(plan.memory, policy.max_memory);
      EXPECT_FALSE(plan.reason.empty());
      seen.insert(plan.packages.begin(), plan.packages.end());
    }
    EXPECT_EQ(seen, std::multiset<std::string>(packages.begin(), packages.end()));
  }
}

}  // namespace
}  // namespace gotestrun::policy
