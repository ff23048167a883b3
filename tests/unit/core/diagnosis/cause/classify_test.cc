// Classify on synthetic signals: one table per cause (the case that fits, and the
// boundaries on either side of its thresholds), clean packages, and the promises of
// classify.h (a killed package always gets a diagnosis, bounded evidence, determinism).
#include "core/diagnosis/cause/classify.h"

#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::cause {
namespace {

using policy::Cause;
using policy::PackageResult;
using policy::Phase;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

TestProgress In(int test, int started, int ended, int running = 1, int open = 1) {
  return {.started = started, .ended = ended, .running_leaves = running, .open = open, .test = test};
}

// A GC line: heap at its start, live after it, in MiB; the goal defaults to 2x live.
GcSample Gc(std::uint64_t number, std::uint64_t start_mib, std::uint64_t live_mib, TestProgress progress,
            std::int64_t ms, std::uint64_t goal_mib = 0) {
  return {.number = number,
          .seconds = static_cast<double>(ms - 1000) / 1000,
          .unix_ms = ms,
          .heap_start = start_mib * kMiB,
          .heap_end = start_mib * kMiB,
          .live = live_mib * kMiB,
          .goal = (goal_mib != 0 ? goal_mib : 2 * live_mib) * kMiB,
          .progress = progress,
          .attributed_by_stream = true};
}

HeapSample Snap(std::int64_t ms, std::uint64_t goroutines, std::uint64_t inuse_mib, TestProgress progress,
                std::uint64_t next_gc_mib = 0) {
  return {.unix_ms = ms,
          .goroutines = goroutines,
          .heap_alloc = inuse_mib * kMiB,
          .heap_inuse = inuse_mib * kMiB,
          .heap_sys = (inuse_mib + 4) * kMiB,
          .next_gc = next_gc_mib * kMiB,
          .progress = progress};
}

// Tests TestA, TestB, ... run one after another from t=1000 ms, 100 ms each; with
// `killed` the last one never ends and the binary was OOM-killed in it.
PackageSignals Sequential(int tests, bool killed) {
  PackageSignals s;
  s.package = "example.com/p";
  s.limit_bytes = 200 * kMiB;
  s.gctrace_recorded = true;
  for (int i = 0; i < tests; ++i) {
    TestSpan span{.name = std::string("Test") + static_cast<char>('A' + i), .start_ms = 1000 + 100 * i};
    if (!killed || i + 1 < tests) {
      span.ended = true;
      span.end_ms = 1000 + 100 * i + 90;
    }
    s.tests.push_back(span);
  }
  if (killed) {
    s.result = PackageResult::kKilled;
    s.phase = Phase::kTestRun;
    s.running_at_kill = {s.tests.back().name};
    s.max_rss_bytes = 190 * kMiB;
  } else {
    s.result = PackageResult::kPassed;
    s.max_rss_bytes = 20 * kMiB;
  }
  return s;
}

AllocationSite Site(std::string function, std::uint64_t mib, AllocationOrigin origin, std::string test = {}) {
  return {.function = "example.com/p." + function,
          .file = "/src/p/p.go",
          .line = 21,
          .bytes = mib * kMiB,
          .origin = origin,
          .test = std::move(test)};
}

// The fixture leak's shape: 40 MiB more live in each of four tests, killed in the fifth.
PackageSignals KilledLeak() {
  PackageSignals s = Sequential(5, true);
  s.gc = {Gc(1, 4, 4, In(0, 1, 0), 1010), Gc(2, 36, 36, In(0, 1, 0), 1080), Gc(3, 76, 76, In(1, 2, 1), 1180),
          Gc(4, 116, 116, In(2, 3, 2), 1280), Gc(5, 156, 156, In(3, 4, 3), 1380)};
  s.inuse_sites = {Site("remember", 40, AllocationOrigin::kTest, "TestA"),
                   Site("remember", 40, AllocationOrigin::kTest, "TestB")};
  s.growth_sites = {Site("remember", 40, AllocationOrigin::kTest, "TestB")};
  return s;
}

struct Case {
  std::string name;
  std::function<PackageSignals()> signals;
  std::optional<Cause> want;  // nullopt: Classify gives nullopt
  std::function<void(const Diagnosis&)> check = {};
};

void RunTable(const std::vector<Case>& table) {
  for (const Case& c : table) {
    SCOPED_TRACE(c.name);
    const PackageSignals signals = c.signals();
    const std::optional<Diagnosis> d = Classify(signals);
    if (!c.want) {
      EXPECT_FALSE(d.has_value()) << policy::CauseName(d->cause) << ": " << d->summary;
      continue;
    }
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->cause, *c.want) << d->summary;
    EXPECT_EQ(d->finding.cause, d->cause);
    EXPECT_FALSE(d->summary.empty());
    EXPECT_FALSE(d->finding.evidence.empty());
    EXPECT_FALSE(d->evidence.empty());
    if (c.check && d->cause == *c.want) c.check(*d);
  }
}

TEST(ClassifyLeakTest, Table) {
  RunTable({
      {"killed: 40 MiB more live in each test, never released", KilledLeak, Cause::kLeakAcrossTests,
       [](const Diagnosis& d) {
         EXPECT_THAT(d.summary,
                     AllOf(HasSubstr("leak:"), HasSubstr("~40 MiB per test over 3 tests (36 MiB -> 156 MiB)"),
                           HasSubstr("p.remember (p.go:21)"), HasSubstr("80 MiB")));
         // 190 MiB at the kill plus 40 MiB for as many tests again as had started (5).
         ASSERT_TRUE(d.finding.memory.has_value());
         EXPECT_EQ(*d.finding.memory, (190 + 5 * 40) * kMiB);
         EXPECT_FALSE(d.finding.parallel.has_value());
       }},
      {"killed: the known test count sets the projection",
       [] {
         PackageSignals s = KilledLeak();
         s.known_test_count = 8;
         return s;
       },
       // 4 tests ended and one was killed midway: 4 of the 8 still have their growth to come.
       Cause::kLeakAcrossTests, [](const Diagnosis& d) { EXPECT_EQ(d.finding.memory, (190 + 4 * 40) * kMiB); }},
      {"killed: a known count below the tests started is no count (the listing was wrong)",
       [] {
         PackageSignals s = KilledLeak();
         s.known_test_count = 3;
         return s;
       },
       Cause::kLeakAcrossTests,
       [](const Diagnosis& d) {
         EXPECT_EQ(d.finding.memory, (190 + 5 * 40) * kMiB);
         EXPECT_THAT(d.evidence.back(), HasSubstr("assumed: as many again as had started"));
       }},
      {"killed: a count of top-level tests is not the rest where subtests ran",
       [] {
         PackageSignals s = KilledLeak();
         s.known_test_count = 8;
         TestSpan sub = s.tests.front();
         sub.name += "/case";
         s.tests.insert(s.tests.begin() + 1, sub);
         return s;
       },
       Cause::kLeakAcrossTests,
       [](const Diagnosis& d) { EXPECT_THAT(d.evidence.back(), HasSubstr("assumed: as many again as had started")); }},
      {"passed: rising over four tests is still named",
       [] {
         PackageSignals s = KilledLeak();
         s.result = PackageResult::kPassed;
         s.phase = Phase::kUnknown;
         s.running_at_kill.clear();
         s.tests.back().ended = true;
         s.tests.back().end_ms = 1490;
         s.gc.push_back(Gc(6, 196, 196, In(4, 5, 4), 1480));
         s.max_rss_bytes = 210 * kMiB;
         s.limit_bytes.reset();
         return s;
       },
       Cause::kLeakAcrossTests, [](const Diagnosis& d) { EXPECT_FALSE(d.finding.memory.has_value()); }},
      {"passed: two rises are not enough to name a package that passed",
       [] {
         PackageSignals s = Sequential(3, false);
         s.gc = {Gc(1, 4, 4, In(0, 1, 0), 1010), Gc(2, 40, 40, In(0, 1, 0), 1080), Gc(3, 80, 80, In(1, 2, 1), 1180),
                 Gc(4, 120, 120, In(2, 3, 2), 1280)};
         s.max_rss_bytes = 130 * kMiB;
         s.limit_bytes = 1024 * kMiB;
         return s;
       },
       std::nullopt},
      {"killed: growth just under the minimum is no leak",
       [] {
         PackageSignals s = Sequential(4, true);
         s.limit_bytes = 64 * kMiB;
         s.max_rss_bytes = 60 * kMiB;
         s.gc = {Gc(1, 4, 4, In(0, 1, 0), 1010), Gc(2, 16, 16, In(1, 2, 1), 1180), Gc(3, 35, 35, In(2, 3, 2), 1280)};
         return s;
       },
       // 35 MiB live fits the 64 MiB limit, its 70 MiB goal does not.
       Cause::kGcHeadroom},
      {"killed: live heap released between tests is no leak",
       [] {
         PackageSignals s = Sequential(4, true);
         s.gc = {Gc(1, 60, 60, In(0, 1, 0), 1010), Gc(2, 100, 20, In(1, 2, 1), 1180),
                 Gc(3, 150, 120, In(2, 3, 2), 1280)};
         return s;
       },
       Cause::kGcHeadroom},
      {"killed: rising only while several tests ran at once is no leak",
       [] {
         PackageSignals s = KilledLeak();
         for (GcSample& g : s.gc) g.progress.running_leaves = 2;
         s.inuse_sites.clear();
         s.growth_sites.clear();
         return s;
       },
       Cause::kUnknown},
      {"killed: the GC line of the last doubling lost, the snapshots see every test",
       [] {
         PackageSignals s = Sequential(5, true);
         s.gc = {Gc(1, 4, 4, In(0, 1, 0), 1010), Gc(2, 33, 32, In(0, 1, 0), 1050), Gc(3, 64, 62, In(1, 2, 1), 1130)};
         s.heap = {Snap(1030, 3, 20, In(0, 1, 0)), Snap(1080, 3, 40, In(0, 1, 0)),  Snap(1150, 3, 70, In(1, 2, 1)),
                   Snap(1180, 3, 80, In(1, 2, 1)), Snap(1250, 3, 110, In(2, 3, 2)), Snap(1350, 3, 150, In(3, 4, 3)),
                   Snap(1420, 3, 170, In(4, 5, 4))};
         return s;
       },
       Cause::kLeakAcrossTests,
       [](const Diagnosis& d) {
         EXPECT_THAT(d.evidence, testing::Contains(HasSubstr("in use at snapshots; the GCs among them freed little")));
       }},
      {"killed: snapshots rise between GCs that free half the heap: churn, not a leak",
       [] {
         PackageSignals s = Sequential(5, true);
         s.gc = {Gc(1, 4, 4, In(0, 1, 0), 1010), Gc(2, 80, 40, In(1, 2, 1), 1130)};
         s.heap = {Snap(1030, 3, 20, In(0, 1, 0)), Snap(1080, 3, 40, In(0, 1, 0)), Snap(1150, 3, 70, In(1, 2, 1)),
                   Snap(1250, 3, 110, In(2, 3, 2)), Snap(1350, 3, 150, In(3, 4, 3))};
         s.max_rss_bytes = 160 * kMiB;
         return s;
       },
       Cause::kLargeTest},
      {"killed: the profile holds what two ended tests allocated",
       [] {
         // Every GC came while two tests ran, so the live heap tells nothing per test.
         PackageSignals s = Sequential(4, true);
         s.gc = {Gc(1, 30, 30, In(0, 1, 0, 2), 1050), Gc(2, 70, 70, In(2, 3, 2, 2), 1250),
                 Gc(3, 90, 90, In(3, 4, 3, 2), 1350)};
         s.inuse = InuseBreakdown{.unix_ms = 1360,
                                  .total = 80 * kMiB,
                                  .tests = 80 * kMiB,
                                  .by_test = {{"TestA", 40 * kMiB}, {"TestB", 40 * kMiB}}};
         return s;
       },
       Cause::kLeakAcrossTests,
       [](const Diagnosis& d) { EXPECT_THAT(d.evidence, testing::Contains(HasSubstr("TestA and TestB allocated"))); }},
      {"killed: tests that ended after the GC the profile reflects do not count",
       [] {
         PackageSignals s = Sequential(4, true);
         s.gc = {Gc(1, 30, 30, In(0, 1, 0), 1050), Gc(2, 70, 70, In(0, 1, 0), 1085), Gc(3, 90, 90, In(3, 4, 3), 1350)};
         s.inuse = InuseBreakdown{.unix_ms = 1360,
                                  .total = 80 * kMiB,
                                  .tests = 80 * kMiB,
                                  .by_test = {{"TestA", 40 * kMiB}, {"TestB", 40 * kMiB}}};
         return s;
       },
       // Not a leak; 90 MiB live fits the limit and its goal reaches 90% of it.
       Cause::kGcHeadroom},
  });
}

PackageSignals GoroutineLeakSignals() {
  PackageSignals s = Sequential(4, true);
  s.heap = {Snap(1095, 203, 52, In(1, 2, 1)), Snap(1195, 403, 102, In(2, 3, 2)), Snap(1295, 603, 152, In(3, 4, 3))};
  s.gc = {Gc(1, 64, 64, In(1, 2, 1), 1120), Gc(2, 130, 130, In(2, 3, 2), 1260)};
  s.inuse = InuseBreakdown{.unix_ms = 1300, .total = 100 * kMiB, .goroutines = 100 * kMiB};
  s.inuse_sites = {Site("worker", 100, AllocationOrigin::kGoroutine)};
  return s;
}

TEST(ClassifyGoroutineLeakTest, Table) {
  RunTable({
      {"killed: 200 goroutines and 50 MiB more per test", GoroutineLeakSignals, Cause::kGoroutineLeak,
       [](const Diagnosis& d) {
         EXPECT_THAT(d.summary, AllOf(HasSubstr("~200 more per test"), HasSubstr("~50 MiB per test"),
                                      HasSubstr("p.worker (p.go:21)")));
         EXPECT_EQ(d.finding.memory, (190 + 4 * 50) * kMiB);
       }},
      {"killed: one snapshot with 400 goroutines left over, the heap held by them",
       [] {
         PackageSignals s = GoroutineLeakSignals();
         s.heap = {Snap(1295, 405, 152, In(3, 4, 3))};
         return s;
       },
       Cause::kGoroutineLeak},
      {"passed: growing across tests is named",
       [] {
         PackageSignals s = GoroutineLeakSignals();
         s.result = PackageResult::kPassed;
         s.phase = Phase::kUnknown;
         s.running_at_kill.clear();
         s.max_rss_bytes = 180 * kMiB;
         s.limit_bytes = 1024 * kMiB;
         return s;
       },
       Cause::kGoroutineLeak, [](const Diagnosis& d) { EXPECT_FALSE(d.finding.memory.has_value()); }},
      {"killed: 40 more goroutines is under the threshold: the heap's growth is a leak",
       [] {
         PackageSignals s = GoroutineLeakSignals();
         s.heap = {Snap(1095, 10, 52, In(1, 2, 1)), Snap(1295, 50, 152, In(3, 4, 3))};
         s.inuse = InuseBreakdown{.unix_ms = 1300, .total = 100 * kMiB, .init = 90 * kMiB, .goroutines = 10 * kMiB};
         s.gc = {Gc(1, 52, 52, In(1, 2, 1), 1120), Gc(2, 102, 102, In(2, 3, 2), 1220),
                 Gc(3, 152, 152, In(3, 4, 3), 1320)};
         return s;
       },
       Cause::kLeakAcrossTests},
      {"killed: goroutines of open t.Parallel tests are no leak",
       [] {
         PackageSignals s = Sequential(2, true);
         s.max_rss_bytes = 20 * kMiB;
         s.heap = {Snap(1095, 20, 5, In(1, 16, 0, 2, 16)), Snap(1295, 20, 5, In(1, 16, 2, 2, 14))};
         return s;
       },
       Cause::kUnknown},
      {"killed: many goroutines but neither the heap grows nor do they hold it",
       [] {
         PackageSignals s = GoroutineLeakSignals();
         for (HeapSample& h : s.heap) h.heap_inuse = h.heap_alloc = 50 * kMiB;
         s.inuse = InuseBreakdown{.unix_ms = 1300, .total = 100 * kMiB, .tests = 90 * kMiB, .goroutines = 10 * kMiB};
         s.gc.clear();
         s.gctrace_recorded = false;
         s.max_rss_bytes = 60 * kMiB;
         return s;
       },
       Cause::kUnknown},
  });
}

PackageSignals NativeSignals() {
  PackageSignals s = Sequential(3, true);
  s.max_rss_bytes = 190 * kMiB;
  s.heap = {Snap(1050, 3, 2, In(0, 1, 0)), Snap(1150, 3, 3, In(1, 2, 1))};  // heap_sys 6-7 MiB
  s.gc = {Gc(1, 4, 1, In(0, 1, 0), 1060)};
  return s;
}

// Killed with its container at 304Mi, no max RSS of its own, the cgroup sampled at 30
// and 42 MiB.
PackageSignals SampledShortOfTheLimit() {
  PackageSignals s = NativeSignals();
  s.max_rss_bytes.reset();
  s.limit_bytes = 304 * kMiB;
  s.started_ms = 1000;
  s.cgroup = {{.unix_ms = 990, .usage_bytes = 30 * kMiB}, {.unix_ms = 1100, .usage_bytes = 42 * kMiB}};
  s.cgroup_peak_bytes = 42 * kMiB;
  return s;
}

// nativemem/ killed at 160Mi under `gotestrun run` (cgroup v1), its exec record lost
// with the kill: two 64 MiB blocks held and a third being written. memory.tsv's two
// samples around the binary's start, on this test's clock (the binary started at
// 1000): 109.6 MiB in use, 35.9 MiB of it anonymous (the rest the build's page cache),
// then 113.6 MiB with 40.8 MiB anonymous.
PackageSignals KilledWithThePageCacheOfTheBuild() {
  PackageSignals s = NativeSignals();
  s.max_rss_bytes.reset();
  s.limit_bytes = 167772160;
  s.started_ms = 1000;
  s.cgroup = {{.unix_ms = 815, .usage_bytes = 114913280, .anon_bytes = 37629952},
              {.unix_ms = 1018, .usage_bytes = 119083008, .anon_bytes = 42733568}};
  s.cgroup_peak_bytes = 119083008;
  NoteKilledAtLimit(s);
  return s;
}

TEST(ClassifyNativeMemoryTest, Table) {
  RunTable({
      {"killed: RSS 190 MiB, Go heap under 8 MiB", NativeSignals, Cause::kNativeMemory,
       [](const Diagnosis& d) {
         EXPECT_THAT(d.summary,
                     AllOf(HasSubstr("native memory:"), HasSubstr("190 MiB"), HasSubstr("GOMEMLIMIT cannot")));
         // 183 MiB native over the 2 tests that ended (the third was killed midway), 3
         // more assumed.
         EXPECT_EQ(d.finding.memory, 190 * kMiB + ((190 - 7) * kMiB / 2) * 3);
       }},
      {"killed: three parallel tests running at once, none ended: per test started",
       [] {
         PackageSignals s = NativeSignals();
         for (TestSpan& t : s.tests) {
           t.ended = false;
           t.end_ms.reset();
           t.parallel = true;
         }
         s.running_at_kill = {"TestA", "TestB", "TestC"};
         return s;
       },
       Cause::kNativeMemory,
       [](const Diagnosis& d) {
         EXPECT_EQ(d.finding.memory, 190 * kMiB + ((190 - 7) * kMiB / 3) * 3);
         EXPECT_THAT(d.evidence.back(), HasSubstr("native per test started"));
       }},
      {"killed: no GC ever ran and no snapshot: the heap stayed under the first goal",
       [] {
         PackageSignals s = NativeSignals();
         s.heap.clear();
         s.gc.clear();
         return s;
       },
       Cause::kNativeMemory,
       [](const Diagnosis& d) { EXPECT_THAT(d.evidence, testing::Contains(HasSubstr("no GC ran"))); }},
      {"killed: without any look at the Go heap it cannot be said",
       [] {
         PackageSignals s = NativeSignals();
         s.heap.clear();
         s.gc.clear();
         s.gctrace_recorded = false;
         return s;
       },
       Cause::kUnknown},
      {"killed: the Go heap is over half the RSS",
       [] {
         PackageSignals s = NativeSignals();
         s.heap = {Snap(1150, 3, 92, In(1, 2, 1))};  // heap_sys 96 MiB of 190
         return s;
       },
       Cause::kLargeTest},
      {"killed: just under 64 MiB outside the heap: the test it died in took it",
       [] {
         PackageSignals s = NativeSignals();
         s.max_rss_bytes = 7 * kMiB + 63 * kMiB;
         return s;
       },
       Cause::kLargeTest},
      {"killed: no RSS, the cgroup's peak stands in",
       [] {
         PackageSignals s = NativeSignals();
         s.max_rss_bytes.reset();
         s.cgroup_peak_bytes = 200 * kMiB;
         return s;
       },
       Cause::kNativeMemory, [](const Diagnosis& d) { EXPECT_THAT(d.summary, HasSubstr("cgroup")); }},
      // Seen at 576Mi with leak/ and largetest/ in one container: the cgroup's peak held
      // the other binary's 350 MiB heap, which read as leak's native memory.
      {"one of two binaries at a container kill: the cgroup's peak is not its own",
       [] {
         PackageSignals s = NativeSignals();
         s.max_rss_bytes.reset();
         s.cgroup_peak_bytes = 200 * kMiB;
         s.binaries_at_kill = 2;
         return s;
       },
       Cause::kLargeTest},
      // Seen at 320Mi: jobs/ killed in its first test with no GC yet, the cgroup at 276
      // MiB (the go command, the page cache) when it started.
      {"the cgroup's peak stands in, but most of it was there before the binary started",
       [] {
         PackageSignals s = NativeSignals();
         s.max_rss_bytes.reset();
         s.cgroup_peak_bytes = 320 * kMiB;
         s.started_ms = 1000;
         s.cgroup = {{.unix_ms = 800, .usage_bytes = 245 * kMiB},
                     {.unix_ms = 990, .usage_bytes = 276 * kMiB},
                     {.unix_ms = 1200, .usage_bytes = 320 * kMiB}};
         return s;
       },
       Cause::kLargeTest},
      {"the cgroup grew by far more than the Go heap after the binary started: native",
       [] {
         PackageSignals s = NativeSignals();
         s.max_rss_bytes.reset();
         s.cgroup_peak_bytes = 320 * kMiB;
         s.started_ms = 1000;
         s.cgroup = {{.unix_ms = 990, .usage_bytes = 100 * kMiB}, {.unix_ms = 1200, .usage_bytes = 320 * kMiB}};
         return s;
       },
       Cause::kNativeMemory,
       [](const Diagnosis& d) {
         EXPECT_THAT(d.summary, HasSubstr("growth after the binary started reached 220 MiB"));
       }},
      // Seen locally at 304Mi: nativemem/ killed with its container, memory.tsv's last
      // sample at 42 MiB (64 MiB of malloc and memset fits between two samples); the
      // sampled peak alone read as a large test that took "the heap" to the limit.
      {"container killed at its limit, the samples missed the growth: the limit is the peak",
       [] {
         PackageSignals s = SampledShortOfTheLimit();
         NoteKilledAtLimit(s);
         EXPECT_EQ(s.cgroup_peak_bytes, 304 * kMiB);
         EXPECT_EQ(s.cgroup.back().usage_bytes, 304 * kMiB);
         EXPECT_GE(s.cgroup.back().unix_ms, 1200);  // the last test's start
         return s;
       },
       Cause::kNativeMemory,
       [](const Diagnosis& d) {
         EXPECT_THAT(d.summary, HasSubstr("growth after the binary started reached 274 MiB"));
       }},
      {"the same without the kill noted: the sampled 42 MiB explains nothing", SampledShortOfTheLimit,
       Cause::kLargeTest},
      // The usage grew by only 50 MiB after the start: read so, a large test.
      {"killed at the limit: the page cache at the start was reclaimed, only the anonymous memory was others'",
       KilledWithThePageCacheOfTheBuild, Cause::kNativeMemory,
       [](const Diagnosis& d) {
         EXPECT_THAT(d.summary, HasSubstr("growth after the binary started reached 124 MiB"));
         // 117 MiB outside a 7 MiB Go heap over the 2 tests that ended, 3 to come, on
         // top of the 36 MiB of anonymous memory in the cgroup at the binary's start:
         // the peak, 160 MiB, plus 3 x 58.5 MiB.
         EXPECT_THAT(d.evidence.back(), HasSubstr("projected need 336 MiB: 36 MiB in the cgroup when the binary "
                                                  "started, 59 MiB native per test that ended, for 3"));
         ASSERT_TRUE(d.finding.memory.has_value());
         EXPECT_GE(*d.finding.memory, 167772160u + 3 * 58 * kMiB);
         EXPECT_LT(*d.finding.memory, 167772160u + 3 * 60 * kMiB);
       }},
      // Go 1.18+ prints the stacks a GC scanned: 1,000s of blocked goroutines hold them.
      {"killed: the goroutine stacks a GC line counted are Go's memory, not native",
       [] {
         PackageSignals s = NativeSignals();
         for (GcSample& g : s.gc) g.stacks = 150 * kMiB;
         return s;
       },
       Cause::kLargeTest},
      {"the same without the anonymous part: the usage's growth, too small to be native",
       [] {
         PackageSignals s = KilledWithThePageCacheOfTheBuild();
         for (CgroupSample& c : s.cgroup) c.anon_bytes.reset();
         return s;
       },
       Cause::kLargeTest},
      {"passed: the anonymous memory's growth, not the usage's, is the binary's",
       [] {
         PackageSignals s = NativeSignals();
         s.result = PackageResult::kPassed;
         s.max_rss_bytes.reset();
         s.limit_bytes = 1024 * kMiB;
         s.started_ms = 1000;
         // The usage grows by 200 MiB, 180 of it page cache the tests wrote.
         s.cgroup = {{.unix_ms = 990, .usage_bytes = 100 * kMiB, .anon_bytes = 40 * kMiB},
                     {.unix_ms = 1200, .usage_bytes = 300 * kMiB, .anon_bytes = 60 * kMiB}};
         s.cgroup_peak_bytes = 300 * kMiB;
         return s;
       },
       std::nullopt},
      {"killed at its limit with a Go heap that filled it: not native",
       [] {
         PackageSignals s = SampledShortOfTheLimit();
         s.gc.push_back(Gc(2, 250, 250, In(2, 3, 2), 1250));
         NoteKilledAtLimit(s);
         return s;
       },
       Cause::kLargeTest},
      {"one of two binaries, with its own max RSS: still named",
       [] {
         PackageSignals s = NativeSignals();
         s.binaries_at_kill = 2;
         return s;
       },
       Cause::kNativeMemory},
      {"passed far under its limit: nothing to name",
       [] {
         PackageSignals s = NativeSignals();
         s.result = PackageResult::kPassed;
         s.limit_bytes = 1024 * kMiB;
         return s;
       },
       std::nullopt},
  });
}

PackageSignals KilledInInit() {
  PackageSignals s;
  s.package = "example.com/initmem";
  s.result = PackageResult::kKilled;
  s.phase = Phase::kInit;
  s.limit_bytes = 200 * kMiB;
  s.max_rss_bytes = 185 * kMiB;
  s.gctrace_recorded = true;
  s.gc = {Gc(1, 4, 4, In(-1, 0, 0, 0, 0), 1004), Gc(2, 72, 72, In(-1, 0, 0, 0, 0), 1040),
          Gc(3, 148, 148, In(-1, 0, 0, 0, 0), 1080)};
  return s;
}

TEST(ClassifyInitMemoryTest, Table) {
  RunTable({
      {"killed before the first test, 148 MiB live by then", KilledInInit, Cause::kInitMemory,
       [](const Diagnosis& d) {
         EXPECT_THAT(d.summary, AllOf(HasSubstr("init:"), HasSubstr("148 MiB")));
         EXPECT_FALSE(d.finding.memory.has_value());
       }},
      {"killed before the first test with nothing seen: the phase says it",
       [] {
         PackageSignals s = KilledInInit();
         s.gc.clear();
         s.gctrace_recorded = false;
         s.max_rss_bytes.reset();
         return s;
       },
       Cause::kInitMemory},
      {"passed near its limit: 300 MiB before the first test, flat after",
       [] {
         PackageSignals s = Sequential(3, false);
         s.limit_bytes = 340 * kMiB;
         s.max_rss_bytes = 310 * kMiB;
         s.gc = {Gc(1, 150, 150, In(-1, 0, 0, 0, 0), 990), Gc(2, 300, 300, In(-1, 0, 0, 0, 0), 995),
                 Gc(3, 302, 301, In(1, 2, 1), 1150)};
         s.inuse = InuseBreakdown{.unix_ms = 1200, .total = 300 * kMiB, .init = 300 * kMiB};
         s.inuse_sites = {Site("preallocate", 300, AllocationOrigin::kInit)};
         return s;
       },
       Cause::kInitMemory,
       [](const Diagnosis& d) { EXPECT_THAT(d.summary, HasSubstr("p.preallocate (p.go:21) holds 300 MiB")); }},
      {"passed far under its limit with the same shape: nothing to name",
       [] {
         PackageSignals s = Sequential(3, false);
         s.limit_bytes = 2048 * kMiB;
         s.max_rss_bytes = 310 * kMiB;
         s.gc = {Gc(1, 300, 300, In(-1, 0, 0, 0, 0), 995)};
         return s;
       },
       std::nullopt},
      {"killed in a test, 120 MiB held since init of a 200 MiB limit",
       [] {
         PackageSignals s = Sequential(2, true);
         s.gc = {Gc(1, 120, 120, In(-1, 0, 0, 0, 0), 995), Gc(2, 124, 122, In(1, 2, 1), 1150)};
         return s;
       },
       Cause::kInitMemory},
      {"killed in a test that grew far beyond what init held",
       [] {
         PackageSignals s = Sequential(2, true);
         s.gc = {Gc(1, 40, 40, In(-1, 0, 0, 0, 0), 995), Gc(2, 160, 160, In(1, 2, 1), 1150)};
         return s;
       },
       Cause::kLargeTest},
  });
}

// Eight t.Parallel tests running at the kill; the profile shows three of them.
PackageSignals SpikeSignals() {
  PackageSignals s = Sequential(16, true);
  s.parallel = 8;
  s.running_at_kill.clear();
  for (int i = 0; i < 16; ++i) {
    s.tests[static_cast<std::size_t>(i)].parallel = true;
    s.tests[static_cast<std::size_t>(i)].ended = false;
    s.tests[static_cast<std::size_t>(i)].end_ms.reset();
    if (i < 8) s.running_at_kill.push_back(s.tests[static_cast<std::size_t>(i)].name);
  }
  s.gc = {Gc(1, 40, 40, In(0, 16, 0, 8, 16), 1010), Gc(2, 204, 200, In(0, 16, 0, 8, 16), 1130)};
  s.inuse = InuseBreakdown{.unix_ms = 1150,
                           .total = 121 * kMiB,
                           .tests = 120 * kMiB,
                           .by_test = {{"TestA", 40 * kMiB}, {"TestB", 40 * kMiB}, {"TestC", 40 * kMiB}}};
  s.inuse_sites = {Site("holdWorkingSet", 40, AllocationOrigin::kTest, "TestA")};
  return s;
}

TEST(ClassifyParallelSpikeTest, Table) {
  RunTable({
      {"killed with 8 running, 40 MiB each", SpikeSignals, Cause::kParallelSpike,
       [](const Diagnosis& d) {
         EXPECT_THAT(d.summary, AllOf(HasSubstr("8 t.Parallel tests"), HasSubstr("~40 MiB"), HasSubstr("-parallel 2")));
         // 40 MiB live costs up to 80 with GOGC=100: two fit 90% of 200 MiB.
         EXPECT_EQ(d.finding.parallel, 2);
         EXPECT_EQ(d.finding.memory, 8 * 80 * kMiB);
       }},
      {"killed with 4 running and no profile: the peak shared among them",
       [] {
         PackageSignals s = SpikeSignals();
         s.running_at_kill.resize(4);
         s.inuse.reset();
         s.inuse_sites.clear();
         s.gc = {Gc(1, 40, 40, In(0, 16, 0, 4, 16), 1010), Gc(2, 180, 160, In(0, 16, 0, 4, 16), 1130)};
         return s;
       },
       Cause::kParallelSpike,
       [](const Diagnosis& d) {
         // 190 MiB over 4 tests: ~47 MiB each, ~95 with headroom: one fits.
         EXPECT_EQ(d.finding.parallel, 1);
       }},
      {"a parent and its subtests: only the two leaves count",
       [] {
         PackageSignals s = SpikeSignals();
         s.running_at_kill = {"TestA", "TestA/x", "TestA/y"};
         s.inuse->by_test = {{"TestA", 80 * kMiB}};
         return s;
       },
       Cause::kParallelSpike, [](const Diagnosis& d) { EXPECT_THAT(d.summary, HasSubstr("2 t.Parallel tests")); }},
      {"GOMEMLIMIT set: no GC headroom to plan for",
       [] {
         PackageSignals s = SpikeSignals();
         s.gomemlimit_bytes = 180 * kMiB;
         return s;
       },
       Cause::kParallelSpike,
       [](const Diagnosis& d) {
         EXPECT_EQ(d.finding.parallel, 4);  // 40 MiB each: four fit, half of 8 is 4
         EXPECT_EQ(d.finding.memory, 8 * 40 * kMiB);
       }},
      {"one test running is no spike",
       [] {
         PackageSignals s = SpikeSignals();
         s.running_at_kill = {"TestA"};
         s.inuse->by_test = {{"TestA", 150 * kMiB}};
         return s;
       },
       Cause::kLargeTest},
      {"two running, but one holds most of the memory",
       [] {
         PackageSignals s = SpikeSignals();
         s.running_at_kill = {"TestA", "TestB"};
         s.inuse->by_test = {{"TestA", 150 * kMiB}, {"TestB", 2 * kMiB}};
         return s;
       },
       Cause::kLargeTest},
  });
}

// The fixture gcheadroom under 300 MiB: 187 MiB live, the GC freeing the churn, killed
// on the way to a 374 MiB goal.
PackageSignals HeadroomSignals() {
  PackageSignals s = Sequential(1, true);
  s.limit_bytes = 300 * kMiB;
  s.max_rss_bytes = 288 * kMiB;
  s.gc = {Gc(5, 69, 67, In(0, 1, 0), 1095), Gc(6, 131, 131, In(0, 1, 0), 1159),
          Gc(7, 258, 187, In(0, 1, 0), 1224, 262)};
  s.heap = {Snap(1200, 3, 240, In(0, 1, 0), 275), Snap(1250, 3, 222, In(0, 1, 0), 374)};
  s.inuse_sites = {Site("loadWorkingSet", 138, AllocationOrigin::kTest, "TestA")};
  return s;
}

PackageSignals LargeTestSignals();  // below, with its own table

TEST(ClassifyGcHeadroomTest, Table) {
  RunTable({
      {"killed: 187 MiB live of 300, goal 374", HeadroomSignals, Cause::kGcHeadroom,
       [](const Diagnosis& d) {
         EXPECT_THAT(d.summary, AllOf(HasSubstr("GC headroom:"), HasSubstr("187 MiB"), HasSubstr("374 MiB"),
                                      HasSubstr("GOMEMLIMIT")));
         EXPECT_FALSE(d.finding.memory.has_value());
         EXPECT_FALSE(d.finding.parallel.has_value());
       }},
      {"no snapshot after the last GC: twice the live heap",
       [] {
         PackageSignals s = HeadroomSignals();
         s.heap.pop_back();
         return s;
       },
       Cause::kGcHeadroom, [](const Diagnosis& d) { EXPECT_THAT(d.summary, HasSubstr("374 MiB goal")); }},
      {"live heap over 75% of the limit does not fit",
       [] {
         PackageSignals s = HeadroomSignals();
         s.gc.back() = Gc(7, 300, 230, In(0, 1, 0), 1224);
         return s;
       },
       Cause::kLargeTest},
      {"no GC freed much yet: still named, and the evidence says the heap may be growing",
       [] {
         PackageSignals s = HeadroomSignals();
         s.gc = {Gc(5, 67, 67, In(0, 1, 0), 1095), Gc(6, 131, 131, In(0, 1, 0), 1159),
                 Gc(7, 187, 187, In(0, 1, 0), 1224)};
         return s;
       },
       Cause::kGcHeadroom,
       [](const Diagnosis& d) {
         EXPECT_THAT(d.evidence, testing::Contains(HasSubstr("may still have been growing")));
       }},
      {"killed again under GOMEMLIMIT with the same shape: a large test",
       [] {
         PackageSignals s = HeadroomSignals();
         s.gc = {Gc(5, 67, 67, In(0, 1, 0), 1095), Gc(6, 131, 131, In(0, 1, 0), 1159),
                 Gc(7, 187, 187, In(0, 1, 0), 1224)};
         s.gomemlimit_bytes = 270 * kMiB;
         return s;
       },
       Cause::kLargeTest},
      {"GOMEMLIMIT already under the limit",
       [] {
         PackageSignals s = HeadroomSignals();
         s.gomemlimit_bytes = 260 * kMiB;
         return s;
       },
       Cause::kLargeTest},
      {"goal under 90% of the limit",
       [] {
         PackageSignals s = HeadroomSignals();
         s.heap.back().next_gc = 260 * kMiB;
         return s;
       },
       Cause::kLargeTest},
      // Seen at 576Mi with largetest/ beside leak/: 350 MiB live (61% of the limit), one GC
      // that freed nothing, goal 700 MiB. The other binary held part of the limit, so
      // "the live heap fits" is not known; without a GC that freed garbage it is the test.
      {"one of two binaries at a container kill, no GC freed garbage: not GC headroom",
       [] {
         PackageSignals s = LargeTestSignals();
         s.limit_bytes = 576 * kMiB;
         s.max_rss_bytes.reset();
         s.cgroup_peak_bytes = 576 * kMiB;
         s.heap.clear();
         s.binaries_at_kill = 2;
         return s;
       },
       Cause::kLargeTest},
      {"the same alone in its container: GC headroom, the evidence saying it may be growing",
       [] {
         PackageSignals s = LargeTestSignals();
         s.limit_bytes = 576 * kMiB;
         s.max_rss_bytes.reset();
         s.cgroup_peak_bytes = 576 * kMiB;
         s.heap.clear();
         return s;
       },
       Cause::kGcHeadroom},
      {"one of two binaries, and a GC freed garbage: GC headroom",
       [] {
         PackageSignals s = HeadroomSignals();
         s.binaries_at_kill = 2;
         return s;
       },
       Cause::kGcHeadroom},
  });
}

PackageSignals LargeTestSignals() {
  PackageSignals s = Sequential(2, true);
  s.gc = {Gc(1, 350, 350, In(1, 2, 1), 1110)};
  s.heap = {Snap(1120, 3, 368, In(1, 2, 1))};
  s.inuse =
      InuseBreakdown{.unix_ms = 1120, .total = 350 * kMiB, .tests = 350 * kMiB, .by_test = {{"TestB", 350 * kMiB}}};
  s.inuse_sites = {Site("buildIndex", 350, AllocationOrigin::kTest, "TestB")};
  return s;
}

TEST(ClassifyLargeTestTest, Table) {
  RunTable({
      {"killed: TestB jumps to 368 MiB from under 4", LargeTestSignals, Cause::kLargeTest,
       [](const Diagnosis& d) {
         EXPECT_THAT(d.summary, AllOf(HasSubstr("large test: TestB"), HasSubstr("under 4.0 MiB"), HasSubstr("368 MiB"),
                                      HasSubstr("p.buildIndex (p.go:21) holds 350 MiB")));
         EXPECT_EQ(d.finding.memory, (368 + 16) * kMiB);
       }},
      {"killed in its first test with nothing seen inside it, RSS unknown",
       [] {
         // (With an RSS and no GC line, the Go heap never reached 4 MiB: NativeMemory.)
         PackageSignals s = Sequential(1, true);
         s.max_rss_bytes.reset();
         return s;
       },
       Cause::kLargeTest, [](const Diagnosis& d) { EXPECT_FALSE(d.finding.memory.has_value()); }},
      {"a jump of 31 MiB is not a large test",
       [] {
         PackageSignals s = Sequential(2, true);
         s.gc = {Gc(1, 20, 20, In(0, 1, 0), 1010), Gc(2, 51, 51, In(1, 2, 1), 1110)};
         return s;
       },
       Cause::kUnknown},
      {"passed near its limit: the biggest test is named",
       [] {
         PackageSignals s = LargeTestSignals();
         s.result = PackageResult::kPassed;
         s.phase = Phase::kUnknown;
         s.running_at_kill.clear();
         s.tests.back().ended = true;
         s.tests.back().end_ms = 1190;
         s.limit_bytes = 400 * kMiB;
         s.max_rss_bytes = 370 * kMiB;
         return s;
       },
       Cause::kLargeTest},
  });
}

TEST(ClassifyBuildMemoryTest, Table) {
  auto build = [](Phase phase, std::string tool, std::optional<int> p) {
    return [=] {
      PackageSignals s;
      s.package = "example.com/heavy";
      s.result = PackageResult::kBuildKilled;
      s.phase = phase;
      s.killed_build_tool = tool;
      s.limit_bytes = 200 * kMiB;
      s.cgroup_peak_bytes = 200 * kMiB;
      s.p = p;
      return s;
    };
  };
  RunTable({
      {"compile killed", build(Phase::kCompile, "compile", std::nullopt), Cause::kBuildMemory,
       [](const Diagnosis& d) {
         EXPECT_THAT(d.summary, AllOf(HasSubstr("build: the compile step"), HasSubstr("200 MiB limit")));
         EXPECT_FALSE(d.finding.p.has_value());
       }},
      {"link killed, -p 4", build(Phase::kLink, "", 4), Cause::kBuildMemory,
       [](const Diagnosis& d) {
         EXPECT_THAT(d.summary, AllOf(HasSubstr("the link step"), HasSubstr("-p 4 -> 2")));
         EXPECT_EQ(d.finding.p, 2);
       }},
      {"-p 1 cannot go lower", build(Phase::kCompile, "compile", 1), Cause::kBuildMemory,
       [](const Diagnosis& d) { EXPECT_FALSE(d.finding.p.has_value()); }},
      {"a build that failed on its own is not a memory matter",
       [] {
         PackageSignals s;
         s.package = "example.com/broken";
         s.result = PackageResult::kBuildFailed;
         return s;
       },
       std::nullopt},
  });
}

TEST(ClassifyUnknownTest, KilledWithNoEvidenceSaysWhatIsMissing) {
  PackageSignals s;
  s.package = "example.com/p";
  s.result = PackageResult::kKilled;
  s.phase = Phase::kTestRun;
  s.running_at_kill = {"TestX"};
  std::optional<Diagnosis> d = Classify(s);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->cause, Cause::kUnknown);
  EXPECT_THAT(d->missing, AllOf(HasSubstr("no heap snapshot"), HasSubstr("no GC trace"), HasSubstr("no exec record"),
                                HasSubstr("no memory limit")));
  EXPECT_THAT(d->summary, AllOf(HasSubstr("unknown:"), HasSubstr("TestX")));
  EXPECT_EQ(d->finding.cause, Cause::kUnknown);
}

TEST(ClassifyUnknownTest, PassedNearTheLimitWithNoPatternIsUnknown) {
  PackageSignals s = Sequential(3, false);
  s.max_rss_bytes = 180 * kMiB;  // 90% of 200 MiB
  s.gctrace_recorded = false;
  std::optional<Diagnosis> d = Classify(s);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->cause, Cause::kUnknown);
  EXPECT_THAT(d->summary, HasSubstr("came close to its limit"));
}

TEST(ClassifyCleanTest, Table) {
  RunTable({
      {"passed, tiny", [] { return Sequential(4, false); }, std::nullopt},
      {"passed with no limit known",
       [] {
         PackageSignals s = Sequential(4, false);
         s.limit_bytes.reset();
         s.gc = {Gc(1, 4, 3, In(0, 1, 0), 1010), Gc(2, 5, 3, In(2, 3, 2), 1210)};
         return s;
       },
       std::nullopt},
      {"passed at half its limit with t.Parallel tests",
       [] {
         PackageSignals s = Sequential(4, false);
         s.max_rss_bytes = 100 * kMiB;
         s.heap = {Snap(1050, 6, 40, In(0, 4, 0, 2, 4))};
         return s;
       },
       std::nullopt},
      {"tests failed, small",
       [] {
         PackageSignals s = Sequential(2, false);
         s.result = PackageResult::kTestsFailed;
         return s;
       },
       std::nullopt},
      {"never ran", [] { return PackageSignals{.package = "example.com/p"}; }, std::nullopt},
  });
}

TEST(ClassifyTest, KilledAlwaysGetsADiagnosis) {
  // Every way of being killed, with every part of the evidence taken away in turn.
  const std::vector<std::function<PackageSignals()>> killed = {
      KilledLeak, GoroutineLeakSignals, NativeSignals, KilledInInit, SpikeSignals, HeadroomSignals, LargeTestSignals};
  for (std::size_t i = 0; i < killed.size(); ++i) {
    for (int drop = 0; drop < 6; ++drop) {
      PackageSignals s = killed[i]();
      switch (drop) {
        case 0: s.gc.clear(); break;
        case 1: s.heap.clear(); break;
        case 2:
          s.inuse.reset();
          s.inuse_sites.clear();
          break;
        case 3: s.max_rss_bytes.reset(); break;
        case 4: s.limit_bytes.reset(); break;
        case 5:
          s.tests.clear();
          s.running_at_kill.clear();
          break;
      }
      SCOPED_TRACE(std::to_string(i) + "/" + std::to_string(drop));
      const std::optional<Diagnosis> d = Classify(s);
      ASSERT_TRUE(d.has_value());
      EXPECT_FALSE(d->summary.empty());
      if (d->cause == Cause::kUnknown) {
        EXPECT_FALSE(d->missing.empty());
      }
    }
  }
}

TEST(ClassifyTest, EvidenceIsBounded) {
  PackageSignals s = KilledLeak();
  for (int i = 0; i < 100; ++i) s.notes.push_back(std::string(5000, 'x'));
  s.running_at_kill.assign(500, std::string(100, 'T'));
  const std::optional<Diagnosis> d = Classify(s);
  ASSERT_TRUE(d.has_value());
  EXPECT_LE(d->evidence.size(), kMaxEvidenceLines);
  for (const std::string& line : d->evidence) EXPECT_LE(line.size(), kMaxEvidenceLineBytes);
}

TEST(ClassifyTest, HostileSignalsDoNotCrash) {
  // Signals written by hand can say anything: indexes past the tests, extreme times
  // and sizes, negative counts. Classify must still answer (the sanitizer build checks
  // it does so without undefined behaviour).
  constexpr std::int64_t kMaxMs = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMinMs = std::numeric_limits<std::int64_t>::min();
  constexpr std::uint64_t kHuge = std::numeric_limits<std::uint64_t>::max();
  for (int variant = 0; variant < 4; ++variant) {
    for (const auto& make :
         {KilledLeak, GoroutineLeakSignals, NativeSignals, SpikeSignals, HeadroomSignals, LargeTestSignals}) {
      PackageSignals s = make();
      const std::int64_t ms = variant % 2 == 0 ? kMaxMs : kMinMs;
      for (GcSample& g : s.gc) {
        g.progress.test = variant < 2 ? 1000 : -5;
        g.progress.open = -3;
        g.unix_ms = ms;
        if (variant == 3) g.live = g.heap_start = g.goal = kHuge;
      }
      for (HeapSample& h : s.heap) {
        h.progress.test = 7777;
        h.progress.open = -100;
        h.unix_ms = ms;
        h.goroutines = kHuge;
        if (variant == 1) h.heap_alloc = h.heap_inuse = h.heap_sys = h.next_gc = kHuge;
      }
      for (TestSpan& t : s.tests) {
        t.start_ms = variant == 2 ? kMinMs : kMaxMs;
        t.end_ms = variant == 2 ? kMaxMs : kMinMs;
      }
      if (variant == 3) {
        s.max_rss_bytes = kHuge;
        s.limit_bytes = 1;
        s.known_test_count = -5;
        s.parallel = std::numeric_limits<int>::max();
        s.p = std::numeric_limits<int>::min();
        if (s.inuse) s.inuse->by_test.push_back({"TestZ", kHuge});
      }
      if (variant == 2) s.limit_bytes = kHuge;
      const std::optional<Diagnosis> d = Classify(s);
      ASSERT_TRUE(d.has_value());
      EXPECT_LE(d->evidence.size(), kMaxEvidenceLines);
    }
  }
}

TEST(ClassifyTest, Deterministic) {
  for (const auto& make : {KilledLeak, GoroutineLeakSignals, SpikeSignals, HeadroomSignals}) {
    const std::optional<Diagnosis> a = Classify(make()), b = Classify(make());
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->summary, b->summary);
    EXPECT_EQ(a->evidence, b->evidence);
    EXPECT_EQ(a->finding.memory, b->finding.memory);
    EXPECT_EQ(a->finding.parallel, b->finding.parallel);
  }
}

TEST(ClassifyTest, ResultLineLeadsTheEvidence) {
  const std::optional<Diagnosis> d = Classify(KilledLeak());
  ASSERT_TRUE(d.has_value());
  ASSERT_THAT(d->evidence, Not(IsEmpty()));
  EXPECT_THAT(d->evidence.front(), AllOf(HasSubstr("result: killed (test-run) during TestE"),
                                         HasSubstr("limit 200 MiB"), HasSubstr("binary max RSS 190 MiB")));
  EXPECT_THAT(d->evidence,
              testing::Contains(HasSubstr("in use at the last profile: 40 MiB p.remember (p.go:21), test TestA")));
}

}  // namespace
}  // namespace gotestrun::cause
