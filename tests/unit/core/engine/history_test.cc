#include "core/engine/history.h"
#include "core/policy/plan.h"
#include "core/policy/sizing.h"

#include <gtest/gtest.h>

namespace gotestrun::engine {
namespace {

using policy::kMiB;

policy::PackageAttempt Passed(policy::Bytes memory, std::optional<policy::Bytes> peak) {
  policy::PackageAttempt a;
  a.memory = memory;
  a.peak = peak;
  a.result = policy::PackageResult::kPassed;
  return a;
}

RunPeaks Peaks(std::map<std::string, policy::Bytes, std::less<>> test_run) { return RunPeaks{std::move(test_run), {}}; }

TEST(History, PeaksOfTakesThePassingAttemptsPeakAndTheLimitABuildPassedUnderAfterAKill) {
  policy::AttemptLog log;
  policy::PackageAttempt killed;
  killed.memory = 256 * kMiB;
  killed.result = policy::PackageResult::kKilled;
  killed.peak = 256 * kMiB;
  log["x/leak"] = {killed, Passed(368 * kMiB, 330 * kMiB)};
  policy::PackageAttempt build_killed;
  build_killed.memory = 256 * kMiB;
  build_killed.result = policy::PackageResult::kBuildKilled;
  log["x/heavy"] = {build_killed, Passed(640 * kMiB, 5 * kMiB)};
  policy::PackageAttempt failed;
  failed.result = policy::PackageResult::kTestsFailed;
  failed.peak = 10 * kMiB;
  log["x/broken"] = {failed};
  log["x/nopeak"] = {Passed(256 * kMiB, std::nullopt)};

  RunPeaks p = PeaksOf(log);
  EXPECT_EQ(p.test_run,
            (std::map<std::string, policy::Bytes, std::less<>>{{"x/leak", 330 * kMiB}, {"x/heavy", 5 * kMiB}}));
  EXPECT_EQ(p.build, (std::map<std::string, policy::Bytes, std::less<>>{{"x/heavy", 640 * kMiB}}));
  // What made the killed packages fit; the others passed as planned and need nothing.
  EXPECT_EQ(p.fit, (std::map<std::string, policy::FitKnobs, std::less<>>{{"x/heavy", {.memory = 640 * kMiB}},
                                                                         {"x/leak", {.memory = 368 * kMiB}}}));
}

// A package whose own compile was killed and then passed under maxMemory: its build
// need is what the -toolexec wrapper measured for its compile (with headroom), not the
// limit it happened to pass under (the step to maxMemory after a second kill).
TEST(History, ABuildKilledPackagesNeedIsItsMeasuredCompileNotTheLimitItPassedUnder) {
  policy::AttemptLog log;
  policy::PackageAttempt build_killed;
  build_killed.memory = 256 * kMiB;
  build_killed.result = policy::PackageResult::kBuildKilled;
  build_killed.peak = 250 * kMiB;  // at the kill: a lower bound
  policy::PackageAttempt passed = Passed(2048 * kMiB, 5 * kMiB);
  passed.build_peak = 600 * kMiB;
  log["x/generated"] = {build_killed, build_killed, passed};
  RunPeaks p = PeaksOf(log);
  ASSERT_TRUE(p.build.contains("x/generated"));
  EXPECT_EQ(p.build["x/generated"], policy::RoundUpLimit(policy::Headroom(600 * kMiB)));
  EXPECT_LT(p.build["x/generated"], 1024 * kMiB);
  // Never more than the limit it passed under, whatever the wrapper measured.
  log["x/generated"].back().memory = 640 * kMiB;
  EXPECT_EQ(PeaksOf(log).build["x/generated"], 640 * kMiB);
  // The planner gives it that need, not maxMemory.
  policy::RunPolicy policy;
  policy.memory = 256 * kMiB;
  policy.max_memory = 2048 * kMiB;
  MemoryHistory h;
  RecordRun(h, p, "r1", "2026-12-04T10:00:00Z");
  const std::vector<std::string> packages = {"x/generated", "x/small"};
  StatusOr<std::vector<policy::ShardPlan>> plans = policy::PlanShards(packages, policy, PlanningHistory(h));
  ASSERT_TRUE(plans.ok()) << plans.status();
  for (const policy::ShardPlan& plan : *plans) {
    if (plan.packages == std::vector<std::string>{"x/generated"}) {
      EXPECT_LT(plan.memory, 1024 * kMiB) << plan.reason;
      EXPECT_GE(plan.memory, 600 * kMiB) << plan.reason;
    }
  }
}

TEST(History, RemembersTheKnobsAPackagePassedWithAfterAKill) {
  policy::AttemptLog log;
  policy::PackageAttempt killed;
  killed.memory = 256 * kMiB;
  killed.parallel = 16;
  killed.result = policy::PackageResult::kKilled;
  policy::PackageAttempt passed = Passed(256 * kMiB, 180 * kMiB);
  passed.parallel = 2;
  passed.gomemlimit = 230 * kMiB;
  log["x/spike"] = {killed, passed};
  MemoryHistory h;
  RecordRun(h, PeaksOf(log), "r1", "2026-12-04T10:00:00Z");
  const policy::FitKnobs want{.memory = 256 * kMiB, .parallel = 2, .gomemlimit = true};
  ASSERT_TRUE(h.packages["x/spike"].fit);
  EXPECT_EQ(*h.packages["x/spike"].fit, want);
  // Kept across the ConfigMap or file, and handed to the planner.
  StatusOr<MemoryHistory> back = DecodeHistory(EncodeHistory(h));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, h);
  policy::History planning = PlanningHistory(*back);
  ASSERT_TRUE(planning.packages["x/spike"].fit);
  EXPECT_EQ(*planning.packages["x/spike"].fit, want);
  // A later run that passed it with no kill keeps what made it fit.
  log["x/spike"] = {Passed(256 * kMiB, 170 * kMiB)};
  RecordRun(h, PeaksOf(log), "r2", "2026-12-04T11:00:00Z");
  EXPECT_EQ(*h.packages["x/spike"].fit, want);
}

// A shard killed while building from an empty build cache (policy rule 2: nobody
// charged, every package kNotRun with cause BuildMemory) got through its build at the
// next limit: that is the suite's, kept for every shard of the next run.
TEST(History, RemembersWhatAShardsBuildGotThroughWith) {
  policy::PackageAttempt build_killed;
  build_killed.memory = 256 * kMiB;
  build_killed.result = policy::PackageResult::kNotRun;
  build_killed.cause = policy::Cause::kBuildMemory;
  policy::PackageAttempt again = build_killed;
  again.memory = 384 * kMiB;
  policy::PackageAttempt through = Passed(512 * kMiB, 90 * kMiB);
  through.p = 2;
  policy::PackageAttempt test_killed;  // got through the build, then its test binary was killed
  test_killed.memory = 448 * kMiB;
  test_killed.result = policy::PackageResult::kKilled;
  policy::AttemptLog log;
  log["x/a"] = {build_killed, again, through};
  log["x/b"] = {build_killed, test_killed, Passed(1024 * kMiB, 700 * kMiB)};
  log["x/clean"] = {Passed(256 * kMiB, 20 * kMiB)};
  RunPeaks peaks = PeaksOf(log);
  ASSERT_TRUE(peaks.shard_build);
  // The larger of the two limits the builds got through at (x/a's), with its -p; not
  // x/b's 1Gi, which its test binary needed.
  EXPECT_EQ(*peaks.shard_build, (policy::ShardBuildNeed{512 * kMiB, 2}));
  // Where the attempt's peak was measured, the need is that with headroom, not a limit
  // far above it: x/a's attempt 3 (shard 0) peaked at 300Mi -> 400Mi; x/b's attempt 2
  // (shard 1) is not lowered and is now the larger.
  log["x/a"][2].shard = 0;
  log["x/a"][2].attempt = 3;
  log["x/b"][1].shard = 1;
  log["x/b"][1].attempt = 2;
  EXPECT_EQ(*PeaksOf(log, {{{0, 3}, 300 * kMiB}}).shard_build, (policy::ShardBuildNeed{448 * kMiB, std::nullopt}));
  EXPECT_EQ(*PeaksOf(log, {{{0, 3}, 300 * kMiB}, {{1, 2}, 200 * kMiB}}).shard_build,
            (policy::ShardBuildNeed{400 * kMiB, 2}));

  MemoryHistory h;
  RecordRun(h, peaks, "r1", "2026-12-04T10:00:00Z");
  StatusOr<MemoryHistory> back = DecodeHistory(EncodeHistory(h));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, h);
  EXPECT_EQ(PlanningHistory(*back).shard_build, (policy::ShardBuildNeed{512 * kMiB, 2}));
  // A run with no build kill (it was planned with enough) keeps it.
  RecordRun(h, PeaksOf({{"x/clean", {Passed(512 * kMiB, 20 * kMiB)}}}), "r2", "2026-12-04T11:00:00Z");
  EXPECT_EQ(h.shard_build, (policy::ShardBuildNeed{512 * kMiB, 2}));
  // A run without any build kill at all records none.
  EXPECT_FALSE(PeaksOf({{"x/a", {test_killed, Passed(512 * kMiB, 1)}}}).shard_build);

  for (const char* bad :
       {R"("1Gi")", R"({"memory":0})", R"({"memory":1048576,"p":0})", R"({"memory":1048576,"parallel":4})"}) {
    StatusOr<MemoryHistory> d = DecodeHistory(std::string(R"({"version":1,"shardBuild":)") + bad + "}");
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_FALSE(d->shard_build) << bad;
  }
}

TEST(History, DecodeDropsAFitThatDoesNotMakeSense) {
  for (const char* fit : {R"({"memory":0})", R"({"memory":"1Gi"})", R"({"memory":1048576,"parallel":0})",
                          R"({"memory":1048576,"p":-2})", R"({"memory":1048576,"gomemlimit":"yes"})", R"([1])"}) {
    std::string text =
        std::string(R"({"version":1,"packages":{"x/a":{"testRun":[{"run":"r","bytes":5}],"fit":)") + fit + "}}}";
    StatusOr<MemoryHistory> h = DecodeHistory(text);
    ASSERT_TRUE(h.ok()) << h.status() << fit;
    EXPECT_FALSE(h->packages["x/a"].fit) << fit;
    EXPECT_EQ(h->packages["x/a"].test_run.size(), 1u) << fit;
  }
}

TEST(History, RecordingTheSameRunTwiceChangesNothing) {
  MemoryHistory h;
  RecordRun(h, Peaks({{"x/a", 100 * kMiB}}), "run-1", "2026-11-28T10:00:00Z");
  MemoryHistory once = h;
  RecordRun(h, Peaks({{"x/a", 100 * kMiB}}), "run-1", "2026-11-28T10:00:00Z");
  EXPECT_EQ(h, once);
  ASSERT_EQ(h.packages["x/a"].test_run.size(), 1u);
}

TEST(History, KeepsTheLastWindowOfRuns) {
  MemoryHistory h;
  for (int i = 0; i < 25; ++i)
    RecordRun(h, Peaks({{"x/a", static_cast<policy::Bytes>(i + 1) * kMiB}}), "r" + std::to_string(i), "t");
  const auto& peaks = h.packages["x/a"].test_run;
  ASSERT_EQ(peaks.size(), kWindow);
  EXPECT_EQ(peaks.front().run, "r15");
  EXPECT_EQ(peaks.back().bytes, 25 * kMiB);
}

TEST(History, DropsTheLeastRecentlySeenPackagesBeyondTheCap) {
  MemoryHistory h;
  for (std::size_t i = 0; i < kMaxPackages + 5; ++i) {
    char when[32];
    std::snprintf(when, sizeof when, "2026-11-28T%02zu:%02zu:00Z", i / 60 % 24, i % 60);
    RecordRun(h, Peaks({{"p" + std::to_string(i), kMiB}}), "r", std::string(when) + std::to_string(i / 1440));
  }
  EXPECT_EQ(h.packages.size(), kMaxPackages);
  EXPECT_FALSE(h.packages.contains("p0"));
  EXPECT_TRUE(h.packages.contains("p" + std::to_string(kMaxPackages + 4)));
}

TEST(History, PlanningUsesTheLargestPeakInTheWindowAndTheBuildNeed) {
  MemoryHistory h;
  RecordRun(h, Peaks({{"x/a", 100 * kMiB}}), "r1", "t");
  RecordRun(h, Peaks({{"x/a", 140 * kMiB}}), "r2", "t");
  RecordRun(h, Peaks({{"x/a", 120 * kMiB}}), "r3", "t");
  RecordRun(h, RunPeaks{{}, {{"x/heavy", 640 * kMiB}}}, "r3", "t");
  policy::History planning = PlanningHistory(h);
  EXPECT_EQ(planning.packages.at("x/a").test_run, 140 * kMiB);
  EXPECT_FALSE(planning.packages.at("x/a").build);
  EXPECT_EQ(planning.packages.at("x/heavy").build, 640 * kMiB);
}

struct GrowthCase {
  std::string name;
  std::vector<policy::Bytes> earlier;  // MiB, one run each
  policy::Bytes now;                   // MiB
  int threshold;
  std::optional<int> percent;  // flagged with this, or not flagged
};

class GrowthTable : public ::testing::TestWithParam<GrowthCase> {};

TEST_P(GrowthTable, FlagsAgainstTheMedianOfTheOtherRuns) {
  const GrowthCase& c = GetParam();
  MemoryHistory h;
  for (std::size_t i = 0; i < c.earlier.size(); ++i)
    RecordRun(h, Peaks({{"x/a", c.earlier[i] * kMiB}}), "r" + std::to_string(i), "t");
  // The run itself may already be recorded (a retried status write): it is not its own baseline.
  RecordRun(h, Peaks({{"x/a", c.now * kMiB}}), "now", "t");
  std::vector<Growth> g = FindGrowth(h, Peaks({{"x/a", c.now * kMiB}}), "now", c.threshold);
  if (!c.percent) {
    EXPECT_TRUE(g.empty()) << DescribeGrowth(g);
    return;
  }
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].percent, *c.percent);
  EXPECT_EQ(g[0].peak, c.now * kMiB);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GrowthTable,
    ::testing::Values(
        GrowthCase{"first_run_is_not_judged", {}, 500, 25, std::nullopt},
        GrowthCase{"steady", {100, 101, 99}, 102, 25, std::nullopt},
        GrowthCase{"just_at_threshold", {100}, 125, 25, std::nullopt}, GrowthCase{"just_over", {100}, 126, 25, 26},
        GrowthCase{"one_noisy_run_does_not_move_the_baseline", {100, 300, 100}, 140, 25, 40},
        GrowthCase{"a_step_is_flagged_until_it_holds_for_half_the_window",
                   {100, 100, 100, 100, 100, 100, 200, 200, 200},
                   200,
                   25,
                   100},
        GrowthCase{
            "a_step_that_held_is_the_new_normal", {100, 100, 100, 100, 200, 200, 200, 200, 200}, 200, 25, std::nullopt},
        GrowthCase{"shrinking_is_fine", {300}, 100, 1, std::nullopt}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(History, EncodeDecodeRoundTrips) {
  MemoryHistory h;
  h.suite = "volume ws/src module . flags -race";
  RecordRun(h, RunPeaks{{{"x/a", 100 * kMiB}}, {{"x/b", 640 * kMiB}}}, "r1", "2026-11-28T10:00:00Z");
  StatusOr<MemoryHistory> back = DecodeHistory(EncodeHistory(h));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, h);
}

TEST(History, DecodeRefusesWhatIsNotAHistoryAndDropsNonsense) {
  EXPECT_FALSE(DecodeHistory("").ok());
  EXPECT_FALSE(DecodeHistory("[1,2]").ok());
  EXPECT_FALSE(DecodeHistory(R"({"version": 2})").ok());
  StatusOr<MemoryHistory> h = DecodeHistory(
      R"({"version":1,"packages":{"x/a":{"testRun":[{"run":"r","bytes":-5},{"run":7,"bytes":5}]},"":{},"x/b":"no"}})");
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->packages.size(), 1u);
  ASSERT_EQ(h->packages["x/a"].test_run.size(), 1u);
  EXPECT_EQ(h->packages["x/a"].test_run[0].bytes, 5u);
}

TEST(History, SuiteKeyDependsOnSourceTagsAndFlagsNotOnLimits) {
  api::GoTestRunSpec a;
  a.volume_claim = "ws";
  a.volume_sub_path = "src";
  api::GoTestRunSpec b = a;
  b.policy.memory = 12345;
  EXPECT_EQ(SuiteKeyOf(a).id, SuiteKeyOf(b).id);
  b.flags = {"-race"};
  EXPECT_NE(SuiteKeyOf(a).id, SuiteKeyOf(b).id);
  api::GoTestRunSpec c = a;
  c.tags = {"integration"};
  EXPECT_NE(SuiteKeyOf(a).id, SuiteKeyOf(c).id);
  EXPECT_EQ(SuiteKeyOf(a).id.size(), 16u);
}

}  // namespace
}  // namespace gotestrun::engine
