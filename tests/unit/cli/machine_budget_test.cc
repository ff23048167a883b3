#include "cli/machine_budget.h"

#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::cli {
namespace {

using ::testing::HasSubstr;

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kGiB = 1 << 30;

TEST(MachineBudgetTest, ParsesMemAvailable) {
  EXPECT_EQ(ParseMemAvailable("MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n"),
            20000000ull * 1024);
  EXPECT_EQ(ParseMemAvailable("MemAvailable: 0 kB\n"), 0u);
  EXPECT_FALSE(ParseMemAvailable("MemTotal: 5 kB\n"));
  EXPECT_FALSE(ParseMemAvailable("XMemAvailable: 5 kB\n"));
  EXPECT_FALSE(ParseMemAvailable("MemAvailable: lots\n"));
  EXPECT_FALSE(ParseMemAvailable("MemAvailable: 5 MB\n"));
  EXPECT_FALSE(ParseMemAvailable("MemAvailable: 99999999999999999999999 kB\n"));
}

TEST(MachineBudgetTest, TheTightestOfMemAvailableAndTheCgroupsRoom) {
  MachineBudget b = BudgetOf(20 * kGiB, std::nullopt, 0, 2, std::nullopt);
  EXPECT_EQ(b.memory_bytes, 20 * kGiB);
  EXPECT_EQ(b.go_commands, 2);
  EXPECT_THAT(b.source, HasSubstr("available, 2 CPUs"));
  b = BudgetOf(20 * kGiB, 4 * kGiB, 1 * kGiB, 8, std::nullopt);
  EXPECT_EQ(b.memory_bytes, 3 * kGiB);
  EXPECT_THAT(b.source, HasSubstr("left under this process's cgroup limit"));
  // A cgroup already over its limit leaves no room: one shard at a time.
  EXPECT_EQ(BudgetOf(20 * kGiB, 1 * kGiB, 2 * kGiB, 8, std::nullopt).memory_bytes, 0u);
  // The user's figure wins; no CPU count still allows one.
  b = BudgetOf(20 * kGiB, 1 * kGiB, 0, 0, 6 * kGiB);
  EXPECT_EQ(b.memory_bytes, 6 * kGiB);
  EXPECT_EQ(b.go_commands, 1);
  EXPECT_THAT(b.source, HasSubstr("--machine-memory"));
  // Nothing known about memory: only the CPUs bound the run.
  EXPECT_EQ(BudgetOf(std::nullopt, std::nullopt, 0, 4, std::nullopt).memory_bytes, UINT64_MAX);
}

TEST(MachineBudgetTest, AShardStartsWhenItsLimitFitsBesideTheRunningOnes) {
  const MachineBudget b{.memory_bytes = 1 * kGiB, .go_commands = 3};
  const std::vector<std::uint64_t> none, one{512 * kMiB}, two{256 * kMiB, 256 * kMiB}, three{1, 1, 1};
  EXPECT_TRUE(MayStart(b, none, 4 * kGiB)) << "alone, any limit may start";
  EXPECT_TRUE(MayStart(b, one, 512 * kMiB));
  EXPECT_FALSE(MayStart(b, one, 513 * kMiB));
  EXPECT_TRUE(MayStart(b, two, 512 * kMiB));
  EXPECT_FALSE(MayStart(b, three, 1)) << "no more go commands than CPUs";
  const std::vector<std::uint64_t> huge{UINT64_MAX - 1};
  EXPECT_FALSE(MayStart(b, huge, 10)) << "sums saturate instead of wrapping";
  EXPECT_TRUE(MayStart({.memory_bytes = UINT64_MAX, .go_commands = 8}, huge, 10));
}

}  // namespace
}  // namespace gotestrun::cli
