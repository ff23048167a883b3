#include "core/diagnosis/gotest/gctrace.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::gotest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::uint64_t kMiB = 1024 * 1024;

struct GcCase {
  std::string name;
  std::string line;
  GcCycle want;
};

GcCycle Cycle(std::uint64_t number, double seconds, int cpu, std::uint64_t start, std::uint64_t end, std::uint64_t live,
              std::uint64_t goal, int procs) {
  GcCycle cycle;
  cycle.number = number;
  cycle.seconds_since_start = seconds;
  cycle.cpu_percent = cpu;
  cycle.heap_start_bytes = start * kMiB;
  cycle.heap_end_bytes = end * kMiB;
  cycle.live_heap_bytes = live * kMiB;
  cycle.goal_bytes = goal * kMiB;
  cycle.procs = procs;
  return cycle;
}

GcCycle WithStacksAndGlobals(GcCycle cycle, std::uint64_t stacks, std::uint64_t globals) {
  cycle.stacks_bytes = stacks * kMiB;
  cycle.globals_bytes = globals * kMiB;
  return cycle;
}

GcCycle Forced(GcCycle cycle) {
  cycle.forced = true;
  return cycle;
}

TEST(ParseGcTraceLineTest, FormatsOfSeveralGoVersions) {
  const GcCase cases[] = {
      {"go1.18 and later",
       "gc 4 @0.014s 4%: 0.35+0.65+0.005 ms clock, 0.70+0/0.31/0.10+0.010 ms cpu, 8->18->10 MB, 8 MB goal, "
       "0 MB stacks, 0 MB globals, 2 P",
       WithStacksAndGlobals(Cycle(4, 0.014, 4, 8, 18, 10, 8, 2), 0, 0)},
      {"forced",
       "gc 7 @0.024s 4%: 0.028+0.12+0.003 ms clock, 0.057+0/0.11/0.12+0.006 ms cpu, 48->48->0 MB, 86 MB goal, "
       "0 MB stacks, 0 MB globals, 2 P (forced)",
       Forced(WithStacksAndGlobals(Cycle(7, 0.024, 4, 48, 48, 0, 86, 2), 0, 0))},
      {"go1.17 and earlier, no stacks or globals",
       "gc 1 @0.017s 2%: 0.021+0.55+0.009 ms clock, 0.043+0.13/0.42/0.33+0.019 ms cpu, 4->4->0 MB, 5 MB goal, 4 P",
       Cycle(1, 0.017, 2, 4, 4, 0, 5, 4)},
      {"go1.17 forced",
       "gc 9 @2.5s 0%: 0.010+0.20+0.004 ms clock, 0.040+0/0.1/0.2+0.016 ms cpu, 3->3->1 MB, 4 MB goal, 8 P (forced)",
       Forced(Cycle(9, 2.5, 0, 3, 3, 1, 4, 8))},
      {"go1.26 goroutine leak remark",
       "gc 3 @1.002s 1% (checking for goroutine leaks): 0.031+0.52+0.002 ms clock, 0.06+0/0.2/0.1+0.004 ms cpu, "
       "5->6->2 MB, 7 MB goal, 1 MB stacks, 2 MB globals, 4 P",
       WithStacksAndGlobals(Cycle(3, 1.002, 1, 5, 6, 2, 7, 4), 1, 2)},
      {"large heap, long run",
       "gc 1234 @3601.250s 12%: 0.5+120+0.1 ms clock, 4.0+30/900/0+0.8 ms cpu, 7850->7901->3900 MB, 8000 MB goal, "
       "2 MB stacks, 1 MB globals, 16 P",
       WithStacksAndGlobals(Cycle(1234, 3601.25, 12, 7850, 7901, 3900, 8000, 16), 2, 1)},
      {"carriage return", "gc 2 @0.1s 3%: 0.1+0.2+0.3 ms clock, 0.1+0/0.1/0+0.1 ms cpu, 4->4->2 MB, 5 MB goal, 2 P\r",
       Cycle(2, 0.1, 3, 4, 4, 2, 5, 2)},
      {"an unknown field from a later runtime",
       "gc 2 @0.1s 3%: 0.1+0.2+0.3 ms clock, 0.1+0/0.1/0+0.1 ms cpu, 4->4->2 MB, 5 MB goal, 9 MB arenas, 2 P",
       Cycle(2, 0.1, 3, 4, 4, 2, 5, 2)},
  };
  for (const GcCase& c : cases) {
    SCOPED_TRACE(c.name);
    const StatusOr<GcCycle> got = ParseGcTraceLine(c.line);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->number, c.want.number);
    EXPECT_DOUBLE_EQ(got->seconds_since_start, c.want.seconds_since_start);
    EXPECT_EQ(got->cpu_percent, c.want.cpu_percent);
    EXPECT_EQ(got->heap_start_bytes, c.want.heap_start_bytes);
    EXPECT_EQ(got->heap_end_bytes, c.want.heap_end_bytes);
    EXPECT_EQ(got->live_heap_bytes, c.want.live_heap_bytes);
    EXPECT_EQ(got->goal_bytes, c.want.goal_bytes);
    EXPECT_EQ(got->stacks_bytes, c.want.stacks_bytes);
    EXPECT_EQ(got->globals_bytes, c.want.globals_bytes);
    EXPECT_EQ(got->procs, c.want.procs);
    EXPECT_EQ(got->forced, c.want.forced);
    EXPECT_TRUE(got->wall_clock_ms.has_value());
  }
}

TEST(ParseGcTraceLineTest, WallClockIsTheSumOfThePhases) {
  const auto got = ParseGcTraceLine(
      "gc 4 @0.014s 4%: 0.25+0.5+0.25 ms clock, 0.70+0/0.31/0.10+0.010 ms cpu, 8->18->10 MB, 8 MB goal, 2 P");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_DOUBLE_EQ(got->wall_clock_ms.value(), 1.0);
}

TEST(ParseGcTraceLineTest, MalformedGcLines) {
  const std::string prefix = "gc 8 @0.5s 3%: 0.1+0.2+0.3 ms clock, 0.2+0/0.1/0.2+0.1 ms cpu, ";
  const std::string cases[] = {
      "gc 12",
      "gc 12 @",
      "gc 12 @0.5",
      "gc 12 @0.5s",
      "gc 12 @0.5s 3",
      "gc 12 @0.5s 3%",
      "gc 3 @0.1s 5%: garbage",
      prefix + "4->4-",                                                   // cut off
      prefix + "4->about to be killed",                                   // another write in the middle
      prefix + "4->4->x MB, 5 MB goal, 2 P",                              // not a number
      prefix + "4->4 MB, 5 MB goal, 2 P",                                 // two sizes, not three
      prefix + "4->4->2, 5 MB goal, 2 P",                                 // no unit
      prefix + "4->4->2 MB, 2 P",                                         // no goal
      prefix + "4->4->2 MB, five MB goal, 2 P",                           // goal not a number
      prefix + "4->4->2 MB, 5 MB goal",                                   // no processor count
      prefix + "4->4->2 MB, 5 MB goal, 2 Px",                             // garbled processor count
      prefix + "-4->4->2 MB, 5 MB goal, 2 P",                             // negative
      "gc 99999999999999999999999 @0.1s 1%: 4->4->2 MB, 5 MB goal, 2 P",  // overflow
  };
  for (const std::string& line : cases) {
    EXPECT_TRUE(IsGcTraceLine(line)) << line;
    const auto got = ParseGcTraceLine(line);
    EXPECT_FALSE(got.ok()) << line;
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument) << line;
  }
}

TEST(IsGcTraceLineTest, OnlyLinesStartingWithGcAndANumber) {
  for (const std::string line : {"gc 1 @0.1s 1%:", "gc 12", "gc 7 anything"}) {
    EXPECT_TRUE(IsGcTraceLine(line)) << line;
  }
  for (const std::string line : {"", "gc", "gc ", "gcfoo 1", "gc x @0.1s", " gc 1 @0.1s 1%:", "GC 1 @0.1s",
                                 "gc1(1): 0+0+0 ms, 0 -> 0 MB 0 -> 0 (0-0) objects",  // go1.4
                                 "scvg: 0 MB released", "pacer: assist ratio=+1.0", "gc 12x"}) {
    EXPECT_FALSE(IsGcTraceLine(line)) << line;
  }
}

const std::string kGc1 =
    "gc 1 @0.001s 6%: 0.26+0.22+0.005 ms clock, 0.52+0.061/0.091/0.21+0.010 ms cpu, 4->4->4 MB, 4 MB goal, "
    "0 MB stacks, 0 MB globals, 2 P";
const std::string kGc2 =
    "gc 2 @0.002s 7%: 0.24+0.18+0.004 ms clock, 0.48+0/0.13/0.16+0.008 ms cpu, 8->18->10 MB, 8 MB goal, "
    "0 MB stacks, 0 MB globals, 2 P";
const std::string kGc3 =
    "gc 3 @0.009s 3%: 0.040+1.1+0.015 ms clock, 0.080+0.27/0.001/0+0.031 ms cpu, 18->19->19 MB, 20 MB goal, "
    "0 MB stacks, 0 MB globals, 2 P";

TEST(GcTraceReaderTest, AttributesEachCycleToItsPackageAndTest) {
  GcTraceReader reader;
  const std::vector<std::string> running = {"TestA", "TestA/sub"};
  reader.AddLine(kGc1, "example.com/a");
  reader.AddLine("=== RUN   TestA", "example.com/a", "TestA");
  reader.AddLine(kGc2, "example.com/a", "TestA/sub", running);
  reader.AddLine(kGc1, "example.com/b", "TestB");
  reader.AddLine(kGc3, "example.com/a", "TestA/sub", running);

  ASSERT_EQ(reader.trajectories().size(), 2u);
  const HeapTrajectory* a = reader.Find("example.com/a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->cycles, 3u);
  ASSERT_EQ(a->points.size(), 3u);
  EXPECT_EQ(a->points[0].test, "");
  EXPECT_TRUE(a->points[0].running_tests.empty());
  EXPECT_EQ(a->points[1].test, "TestA/sub");
  EXPECT_THAT(a->points[1].running_tests, ElementsAre("TestA", "TestA/sub"));
  EXPECT_EQ(a->points[2].cycle.number, 3u);
  EXPECT_EQ(a->points[2].cycle.heap_start_bytes, 18 * kMiB);
  ASSERT_TRUE(a->peak.has_value());
  EXPECT_EQ(a->peak->cycle.number, 3u);
  EXPECT_EQ(a->peak_heap_bytes(), 19 * kMiB);

  const HeapTrajectory* b = reader.Find("example.com/b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->points.at(0).test, "TestB");
  EXPECT_EQ(reader.Find("example.com/c"), nullptr);
  EXPECT_EQ(reader.malformed_lines(), 0u);
}

TEST(GcTraceReaderTest, PeakCountsTheHeapAtTheEndOfAGcToo) {
  GcTraceReader reader;
  reader.AddLine(kGc2);  // 8->18->10: the heap grew during the GC
  EXPECT_EQ(reader.Find("")->peak_heap_bytes(), 18 * kMiB);
}

TEST(GcTraceReaderTest, SkipsAndCountsMalformedLinesIgnoresOthers) {
  GcTraceReader reader;
  reader.AddLine("hello");
  reader.AddLine("gc 5 @0.1s 3%: garbage", "p", "TestX");
  reader.AddLine("gc 6", "p");
  reader.AddLine(kGc1, "p");
  EXPECT_EQ(reader.malformed_lines(), 2u);
  EXPECT_THAT(reader.first_malformed(), HasSubstr("gc 5 @0.1s 3%: garbage"));
  ASSERT_EQ(reader.trajectories().size(), 1u);
  EXPECT_EQ(reader.trajectories()[0].cycles, 1u);
}

TEST(GcTraceReaderTest, ANumberThatDoesNotGrowStartsANewProcess) {
  GcTraceReader reader;
  reader.AddLine(kGc1, "p");
  reader.AddLine(kGc2, "p");
  reader.AddLine(kGc1, "p");  // the next test binary of the same package
  reader.AddLine(kGc2, "p");
  const HeapTrajectory* p = reader.Find("p");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->points.size(), 4u);
  EXPECT_EQ(p->points[0].process, 0);
  EXPECT_EQ(p->points[1].process, 0);
  EXPECT_EQ(p->points[2].process, 1);
  EXPECT_EQ(p->points[3].process, 1);
}

TEST(GcTraceReaderTest, KeepsTheLatestPointsAndThePeakOfAll) {
  GcTraceReader reader(/*max_points_per_package=*/2);
  reader.AddLine(kGc3, "p");  // the peak, soon dropped from points
  for (int i = 0; i < 5; ++i) reader.AddLine(kGc1, "p");
  const HeapTrajectory* p = reader.Find("p");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->cycles, 6u);
  EXPECT_EQ(p->points.size(), 2u);
  EXPECT_EQ(p->peak_heap_bytes(), 19 * kMiB);
}

TEST(GcTraceReaderTest, TakesOutputLines) {
  GcTraceReader reader;
  const std::vector<std::string> running = {"TestLarge"};
  reader.Add(OutputLine{.package = "p", .test = "TestLarge", .text = kGc2, .running_tests = running});
  const HeapTrajectory* p = reader.Find("p");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->points.at(0).test, "TestLarge");
  EXPECT_THAT(p->points.at(0).running_tests, ElementsAre("TestLarge"));
}

}  // namespace
}  // namespace gotestrun::gotest
