#include "sandbox/process_tree.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/files.h"
#include "sandbox/child_process.h"
#include "tests/unit/sandbox/processes.h"

namespace gotestrun::sandbox {
namespace {

using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr std::string_view kStatTail = " 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 8855 2236416 224 184467 1 1 0 0 0 0 0";

TEST(ParseProcStat, ReadsPidStateParentGroupAndStartTime) {
  StatusOr<ProcessStat> stat = ParseProcStat(std::string("4242 (go test) S 17 4242 17") + std::string(kStatTail));
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->pid, 4242);
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->ppid, 17);
  EXPECT_EQ(stat->pgid, 4242);
  EXPECT_EQ(stat->start_time, 8855u);
}

TEST(ParseProcStat, ACommandNameMayHoldParenthesesAndSpaces) {
  StatusOr<ProcessStat> stat = ParseProcStat(std::string("7 (a) Z 1 2 (b)) Z 3 9 1") + std::string(kStatTail));
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->pid, 7);
  EXPECT_EQ(stat->state, 'Z');
  EXPECT_EQ(stat->ppid, 3);
  EXPECT_EQ(stat->pgid, 9);
}

TEST(ParseProcStat, GarbageIsAnError) {
  for (std::string_view text : {"", "garbage", "12 (x", "x (sh) S 1 2 3", "12 (sh) S 1 2 3",
                                "12 (sh) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
                                "12 (sh) S one 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
                                "-3 (sh) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"}) {
    EXPECT_EQ(ParseProcStat(text).status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(ParseVmRss, ReadsKibibytesAsBytes) {
  EXPECT_EQ(ParseVmRss("Name:\tsh\nVmPeak:\t  9000 kB\nVmRSS:\t    1536 kB\nThreads:\t1\n").value(), 1536u * 1024);
  EXPECT_EQ(ParseVmRss("Name:\tkthreadd\nThreads:\t1\n").status().code(), StatusCode::kNotFound);
  for (std::string_view text :
       {"VmRSS:\n", "VmRSS:\t12 MB\n", "VmRSS:\tlots kB\n", "VmRSS:\t-1 kB\n", "VmRSS:\t99999999999999999999 kB\n"}) {
    EXPECT_EQ(ParseVmRss(text).status().code(), StatusCode::kInvalidArgument) << text;
  }
}

ProcessStat P(pid_t pid, pid_t ppid, pid_t pgid, std::uint64_t start = 1, char state = 'S') {
  return ProcessStat{.pid = pid, .state = state, .ppid = ppid, .pgid = pgid, .start_time = start};
}

std::vector<pid_t> Pids(const std::vector<ProcessStat>& stats) {
  std::vector<pid_t> pids;
  for (const ProcessStat& s : stats) pids.push_back(s.pid);
  return pids;
}

TEST(TreeMembers, FollowsGroupParentsAndWhatWasSeenBefore) {
  const std::vector<ProcessStat> table = {
      P(1, 0, 1),                // init
      P(100, 1, 100),            // the root
      P(101, 100, 100),          // its child
      P(102, 101, 102),          // a grandchild in a session of its own
      P(103, 1, 100),            // orphaned, still in the group
      P(104, 1, 104, 50),        // orphaned, left the group, seen before
      P(105, 1, 105, 77),        // a reused pid: seen before with another start time
      P(106, 100, 100, 1, 'Z'),  // a zombie
      P(107, 104, 107),          // child of one seen before
      P(200, 1, 200),            // unrelated
  };
  const std::map<pid_t, std::uint64_t> known = {{104, 50}, {105, 60}, {999, 1}};
  EXPECT_THAT(Pids(TreeMembers(table, 100, 100, known)), UnorderedElementsAre(100, 101, 102, 103, 104, 107));
}

TEST(TreeMembers, ADeadRootLeavesItsGroup) {
  const std::vector<ProcessStat> table = {P(1, 0, 1), P(101, 1, 100), P(200, 1, 200)};
  EXPECT_THAT(Pids(TreeMembers(table, 100, 100, {})), UnorderedElementsAre(101));
  EXPECT_THAT(TreeMembers({P(1, 0, 1)}, 100, 100, {}), IsEmpty());
}

TEST(ProcessTree, FindsMeasuresAndKillsARealTree) {
  const std::string out = std::filesystem::temp_directory_path() / ("gtr-tree-" + std::to_string(::getpid()));
  StatusOr<Subprocess> shell = Subprocess::Spawn({
      .argv = {"/bin/sh", "-c", "sleep 300 & echo $!; (setsid sleep 300 & echo $!; wait) & wait"},
      .output_file = out,
  });
  ASSERT_TRUE(shell.ok()) << shell.status();
  ProcessTree tree(shell->pid());
  // sh, sleep, the subshell, and the setsid sleep.
  std::vector<pid_t> members;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(std::chrono::milliseconds(20))) {
    members = tree.Members();
    if (members.size() >= 4) break;
  }
  ASSERT_EQ(members.size(), 4u);
  EXPECT_GT(tree.RssBytes(), 0u);
  ASSERT_TRUE(tree.Kill().ok());
  EXPECT_THAT(tree.Members(), IsEmpty());
  EXPECT_EQ(shell->Wait()->signal, SIGKILL);
  const std::vector<pid_t> sleepers = PrintedPids(out);
  EXPECT_EQ(sleepers.size(), 2u);
  for (pid_t pid : sleepers) EXPECT_FALSE(IsAlive(pid)) << pid;
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace gotestrun::sandbox
