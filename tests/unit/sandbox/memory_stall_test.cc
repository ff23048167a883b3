// The stall detector on sample sequences, and the pressure counter readers on fake
// cgroup folders.
#include "sandbox/memory_stall.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sandbox/memory_pressure.h"
#include "tests/unit/sandbox/fake_cgroup.h"

namespace gotestrun::sandbox {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kLimit = 256 * kMiB;
constexpr std::int64_t kStart = 1'700'000'000'000;
constexpr std::chrono::milliseconds kAfter{10000};

// Samples every 200 ms for `seconds`; `shape(i)` gives usage and the counters' growth
// in interval i.
struct Step {
  std::uint64_t usage = 0;
  std::uint64_t refaults = 0;      // added in this interval
  std::uint64_t major_faults = 0;  // added in this interval
  std::uint64_t some_us = 0;       // added in this interval (v2 PSI)
};

struct Fed {
  std::optional<StallFigures> first;  // the first stall the detector reported
  int first_at = -1;                  // its sample index
};

Fed Feed(StallDetector& d, int samples, const std::function<Step(int)>& shape, bool psi = false,
         std::int64_t start = kStart) {
  PressureCounters c{.major_faults = 0, .refaults = 0, .fail_count = 0};
  if (psi) c.some_stall_us = c.full_stall_us = 0;
  Fed run;
  for (int i = 0; i < samples; ++i) {
    const Step s = shape(i);
    *c.refaults += s.refaults;
    *c.major_faults += s.major_faults;
    *c.fail_count += s.usage >= kLimit - kMiB ? 100 : 0;
    if (psi) *c.some_stall_us += s.some_us;
    StallSample sample{.unix_ms = start + 200 * i, .usage_bytes = s.usage, .limit_bytes = kLimit, .counters = c};
    if (std::optional<StallFigures> f = d.Add(sample); f && !run.first) {
      run.first = f;
      run.first_at = i;
    }
  }
  return run;
}

TEST(StallDetectorTest, PinnedWithRisingRefaultsForAfterIsAStall) {
  StallDetector d(kAfter);
  // Warm-up under the limit for 2 s, then pinned with 40,000 refaults per interval.
  const Fed run = Feed(d, 100, [](int i) { return i < 10 ? Step{100 * kMiB, 0, 0} : Step{255 * kMiB, 40000, 5}; });
  ASSERT_TRUE(run.first);
  // The thrash starts at sample 10; 10 s later is sample 60.
  EXPECT_EQ(run.first_at, 60);
  EXPECT_EQ(run.first->since_unix_ms, kStart + 200 * 10);
  EXPECT_EQ(run.first->detected_unix_ms, kStart + 200 * 60);
  EXPECT_EQ(run.first->samples, 51);
  EXPECT_EQ(run.first->pinned_samples, 51);
  EXPECT_EQ(run.first->limit_bytes, kLimit);
  ASSERT_TRUE(run.first->refaults_per_second);
  EXPECT_DOUBLE_EQ(*run.first->refaults_per_second, 200000);
  EXPECT_DOUBLE_EQ(*run.first->major_faults_per_second, 25);
  EXPECT_FALSE(run.first->some_stall_percent);
  const std::string text = DescribeStall(*run.first);
  EXPECT_THAT(text, HasSubstr("at 99-99% of its 256.0Mi limit for 10.0 s (51 of 51 samples pinned)"));
  EXPECT_THAT(text, HasSubstr("200,000 refaults/s"));
  EXPECT_THAT(text, HasSubstr("25 major faults/s"));
}

TEST(StallDetectorTest, MajorFaultsAloneAreEnough) {
  // A binary re-reading its own text: few refaults counted, steady major faults.
  StallDetector d(kAfter);
  const Fed run = Feed(d, 80, [](int) { return Step{250 * kMiB, 0, 10}; });
  ASSERT_TRUE(run.first);
  EXPECT_EQ(run.first_at, 51);
}

TEST(StallDetectorTest, PsiPressureAloneIsEnoughOnV2) {
  StallDetector d(kAfter);
  // 60 ms of every 200 ms stalled: 30% of the time.
  const Fed run = Feed(
      d, 80,
      [](int) {
        return Step{256 * kMiB, 0, 0, 60000};
      },
      /*psi=*/true);
  ASSERT_TRUE(run.first);
  ASSERT_TRUE(run.first->some_stall_percent);
  EXPECT_NEAR(*run.first->some_stall_percent, 30, 0.01);
  EXPECT_THAT(DescribeStall(*run.first), HasSubstr("memory pressure some 30% of the time"));
}

TEST(StallDetectorTest, LowPsiIsNotPressure) {
  StallDetector d(kAfter);
  // 10 ms of every 200 ms (5%): reclaim keeping up.
  const Fed run = Feed(
      d, 200,
      [](int) {
        return Step{256 * kMiB, 0, 0, 10000};
      },
      /*psi=*/true);
  EXPECT_FALSE(run.first);
}

TEST(StallDetectorTest, BriefTouchThatRecoversIsNone) {
  StallDetector d(kAfter);
  // 4 s of thrash, then well under the limit; then another 4 s: never 10 s in a row.
  const Fed run = Feed(d, 200, [](int i) {
    const bool thrash = (i >= 10 && i < 30) || (i >= 60 && i < 80);
    return thrash ? Step{255 * kMiB, 40000, 5} : Step{40 * kMiB, 0, 0};
  });
  EXPECT_FALSE(run.first);
  EXPECT_FALSE(d.thrashing_since());
}

TEST(StallDetectorTest, SteadyHeapJustUnderTheLimitIsNone) {
  StallDetector d(kAfter);
  // Pinned for a minute, the limit hit now and then, but nothing read back in.
  const Fed run = Feed(d, 300, [](int) { return Step{254 * kMiB, 3, 0}; });
  EXPECT_FALSE(run.first);
}

TEST(StallDetectorTest, RefaultsUnderTheLimitAreNone) {
  StallDetector d(kAfter);
  // Heavy refaulting at 80% of the limit: the cgroup is not what holds it back.
  const Fed run = Feed(d, 300, [](int) { return Step{205 * kMiB, 40000, 5}; });
  EXPECT_FALSE(run.first);
}

TEST(StallDetectorTest, ShortGapsKeepTheThrashLongOnesEndIt) {
  {
    StallDetector d(kAfter);
    // Every fifth sample shows no growth (the faulting task blocked through it).
    const Fed run = Feed(d, 100, [](int i) { return Step{255 * kMiB, i % 5 == 0 ? 0u : 40000u, 0}; });
    ASSERT_TRUE(run.first);
    EXPECT_EQ(run.first->pinned_samples, run.first->samples);
  }
  {
    StallDetector d(kAfter);
    // 1.4 s without growth every 6 s: each thrash starts over.
    const Fed run = Feed(d, 300, [](int i) { return Step{255 * kMiB, i % 30 < 7 ? 0u : 40000u, 0}; });
    EXPECT_FALSE(run.first);
  }
}

TEST(StallDetectorTest, ThrashingSinceMarksTheStartBeforeTheStallIsConfirmed) {
  StallDetector d(kAfter);
  Feed(d, 30, [](int i) { return i < 10 ? Step{100 * kMiB, 0, 0} : Step{255 * kMiB, 40000, 0}; });
  ASSERT_TRUE(d.thrashing_since());
  EXPECT_EQ(*d.thrashing_since(), kStart + 200 * 10);
}

TEST(StallDetectorTest, CounterResetRestarts) {
  StallDetector d(kAfter);
  // At 8 s the counters start again from zero (a new cgroup): 8 + 8 s, never 10 in one.
  PressureCounters c{.major_faults = 0, .refaults = 0};
  std::optional<StallFigures> seen;
  for (int i = 0; i < 80; ++i) {
    if (i == 40) c = {.major_faults = 0, .refaults = 0};
    *c.refaults += 40000;
    seen = seen ? seen
                : d.Add({.unix_ms = kStart + 200 * i, .usage_bytes = 255 * kMiB, .limit_bytes = kLimit, .counters = c});
  }
  EXPECT_FALSE(seen);
}

TEST(StallDetectorTest, GarbageIsNone) {
  {
    // Time that does not move forward.
    StallDetector d(kAfter);
    PressureCounters c{.refaults = 0};
    std::optional<StallFigures> seen;
    for (int i = 0; i < 200; ++i) {
      *c.refaults += 40000;
      seen = seen ? seen
                  : d.Add({.unix_ms = kStart + 200 * (i % 20),
                           .usage_bytes = 255 * kMiB,
                           .limit_bytes = kLimit,
                           .counters = c});
    }
    EXPECT_FALSE(seen);
  }
  {
    // No limit, or a limit of zero.
    StallDetector d(kAfter);
    PressureCounters c{.refaults = 0};
    std::optional<StallFigures> seen;
    for (int i = 0; i < 200; ++i) {
      *c.refaults += 40000;
      const std::optional<std::uint64_t> limit = i % 2 == 0 ? std::nullopt : std::optional<std::uint64_t>(0);
      seen = seen
                 ? seen
                 : d.Add({.unix_ms = kStart + 200 * i, .usage_bytes = 255 * kMiB, .limit_bytes = limit, .counters = c});
    }
    EXPECT_FALSE(seen);
  }
  {
    // No counters at all.
    StallDetector d(kAfter);
    std::optional<StallFigures> seen;
    for (int i = 0; i < 200; ++i) {
      seen = seen ? seen : d.Add({.unix_ms = kStart + 200 * i, .usage_bytes = 256 * kMiB, .limit_bytes = kLimit});
    }
    EXPECT_FALSE(seen);
  }
  {
    // A limit that changes under the samples (a resize) restarts, too.
    StallDetector d(kAfter);
    PressureCounters c{.refaults = 0};
    std::optional<StallFigures> seen;
    for (int i = 0; i < 200; ++i) {
      *c.refaults += 40000;
      const std::uint64_t limit = (i / 30) % 2 == 0 ? kLimit : 2 * kLimit;
      seen =
          seen ? seen : d.Add({.unix_ms = kStart + 200 * i, .usage_bytes = limit, .limit_bytes = limit, .counters = c});
    }
    EXPECT_FALSE(seen);
  }
}

// ---- readers ----

TEST(MemoryPressureTest, ReadsV1) {
  FakeCgroup cg;
  cg.Write("memory.stat",
           "cache 2478080\npgmajfault 3\nworkingset_refault_anon 1\nworkingset_refault_file 2\n"
           "total_pgmajfault 518\ntotal_workingset_refault_anon 7\ntotal_workingset_refault_file 5637218\n");
  cg.Write("memory.failcnt", "692447\n");
  cg.Write("memory.memsw.failcnt", "3\n");
  const PressureCounters c = ReadPressureCounters(cg.dir(), /*v2=*/false);
  EXPECT_EQ(c.major_faults, 518u);
  EXPECT_EQ(c.refaults, 5637225u);
  EXPECT_EQ(c.fail_count, 692450u);
  EXPECT_FALSE(c.some_stall_us);
}

TEST(MemoryPressureTest, ReadsV1BeforeTheRefaultSplit) {
  FakeCgroup cg;
  cg.Write("memory.stat", "total_pgmajfault 9\ntotal_workingset_refault 1234\n");
  const PressureCounters c = ReadPressureCounters(cg.dir(), /*v2=*/false);
  EXPECT_EQ(c.refaults, 1234u);
  EXPECT_FALSE(c.fail_count);
}

TEST(MemoryPressureTest, ReadsV2) {
  FakeCgroup cg;
  cg.Write("memory.stat", "anon 1000\npgmajfault 42\nworkingset_refault_anon 0\nworkingset_refault_file 9000\n");
  cg.Write("memory.events", "low 0\nhigh 0\nmax 1200\noom 0\noom_kill 0\noom_group_kill 0\n");
  cg.Write("memory.pressure",
           "some avg10=41.52 avg60=12.00 avg300=3.10 total=9876543\nfull avg10=30.01 avg60=9.00 avg300=2.00 "
           "total=5432100\n");
  const PressureCounters c = ReadPressureCounters(cg.dir(), /*v2=*/true);
  EXPECT_EQ(c.major_faults, 42u);
  EXPECT_EQ(c.refaults, 9000u);
  EXPECT_EQ(c.fail_count, 1200u);
  EXPECT_EQ(c.some_stall_us, 9876543u);
  EXPECT_EQ(c.full_stall_us, 5432100u);
  ASSERT_TRUE(c.some_avg10);
  EXPECT_DOUBLE_EQ(*c.some_avg10, 41.52);
  EXPECT_DOUBLE_EQ(*c.full_avg10, 30.01);
}

TEST(MemoryPressureTest, MissingAndMalformedFilesLeaveCountersUnset) {
  FakeCgroup cg;
  EXPECT_EQ(ReadPressureCounters(cg.dir(), true), PressureCounters{});
  EXPECT_EQ(ReadPressureCounters(cg.dir(), false), PressureCounters{});
  cg.Write("memory.stat", "pgmajfault lots\nworkingset_refault_file -3\ngarbage\n\n");
  cg.Write("memory.pressure", "some avg10=x total=\nfull\nsomething else\n");
  cg.Write("memory.events", "max\n");
  const PressureCounters c = ReadPressureCounters(cg.dir(), true);
  EXPECT_FALSE(c.major_faults);
  EXPECT_FALSE(c.refaults);
  EXPECT_FALSE(c.some_stall_us);
  EXPECT_FALSE(c.some_avg10);
  EXPECT_FALSE(c.fail_count);
}

}  // namespace
}  // namespace gotestrun::sandbox
