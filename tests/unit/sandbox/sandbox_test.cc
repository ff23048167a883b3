// The sandbox on this machine's real memory cgroup: real processes, real OOM kills by
// the kernel. These need no server, but they do need a memory cgroup we may make
// children in (root, with the v1 memory controller or cgroup v2 with memory
// delegated); without one they fail and say so rather than pass on nothing.
#include "sandbox/sandbox.h"

#include <signal.h>
#include <sys/wait.h>
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
#include "sandbox/cgroup.h"
#include "sandbox/process_tree.h"
#include "tests/unit/sandbox/processes.h"

namespace gotestrun::sandbox {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr std::uint64_t kMiB = 1 << 20;
const std::string kAllocator = SANDBOX_ALLOCATOR;

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ = (fs::temp_directory_path() / ("gtr-sandbox-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove(out_);
  }
  void TearDown() override { fs::remove(out_); }

  std::string out_;
};

// The tests that need a real memory cgroup.
class CgroupSandboxTest : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    StatusOr<CgroupDir> own = FindOwnMemoryCgroup();
    ASSERT_TRUE(own.ok()) << "this machine has no memory cgroup these tests can make children in (they need root "
                             "and the cgroup v1 memory controller, or cgroup v2 with memory available): "
                          << own.status();
    own_ = *own;
    ASSERT_NE(sandbox_.enforcement(), MemoryEnforcement::kRssWatch) << sandbox_.enforcement_note();
  }
  void TearDown() override {
    // Every run removes its cgroup, whatever happened in it.
    std::vector<std::string> left;
    const std::string mine = "gotestrun-" + std::to_string(::getpid()) + "-";
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(own_.dir, ec)) {
      if (e.path().filename().string().starts_with(mine)) left.push_back(e.path().string());
    }
    EXPECT_THAT(left, IsEmpty());
    SandboxTest::TearDown();
  }

  CgroupDir own_;
  Sandbox sandbox_;
};

TEST_F(CgroupSandboxTest, ACommandIsInItsCgroupFromItsFirstInstruction) {
  const std::string name = MemoryCgroup::UniqueName();
  StatusOr<MemoryCgroup> cg = MemoryCgroup::Create(own_, name);
  ASSERT_TRUE(cg.ok()) << cg.status();
  StatusOr<Subprocess> cat = Subprocess::Spawn({
      .argv = {"cat", "/proc/self/cgroup"},
      .output_file = out_,
      .cgroup_procs_path = cg->procs_path(),
  });
  ASSERT_TRUE(cat.ok()) << cat.status();
  EXPECT_EQ(cat->Wait()->exit_code, 0);
  const std::string path = (own_.cgroup_path == "/" ? "" : own_.cgroup_path) + "/" + name;
  const std::string want = own_.version == CgroupVersion::kV2 ? "0::" + path + "\n" : ":memory:" + path + "\n";
  EXPECT_THAT(ReadFile(out_).value(), HasSubstr(want));
  EXPECT_TRUE(cg->Remove().ok());
}

TEST_F(CgroupSandboxTest, TheKernelOomKillsAnAllocatorOverItsLimit) {
  constexpr std::uint64_t kLimit = 64 * kMiB;
  std::vector<MemorySample> samples;
  StatusOr<RunResult> result = sandbox_.Run({
      .argv = {kAllocator, "512", "4"},
      .output_file = out_,
      .memory_limit_bytes = kLimit,
      .timeout = std::chrono::minutes(2),
      .on_sample = [&](const MemorySample& s) { samples.push_back(s); },
  });
  ASSERT_TRUE(result.ok()) << result.status();
  SCOPED_TRACE(result->ToString());
  EXPECT_TRUE(result->oom_killed);
  EXPECT_GE(result->oom_kill_count, 1u);
  EXPECT_EQ(result->exit.signal, SIGKILL);
  EXPECT_FALSE(result->killed_at_limit);
  EXPECT_FALSE(result->timed_out);
  EXPECT_GE(result->peak_bytes, kLimit / 2);
  EXPECT_LE(result->peak_bytes, kLimit);
  EXPECT_EQ(result->enforcement, sandbox_.enforcement());
  EXPECT_FALSE(fs::exists(result->cgroup_dir));
  EXPECT_FALSE(samples.empty());
  // It got part of the way and no further than the limit allows.
  EXPECT_THAT(ReadFile(out_).value(), HasSubstr("4 MiB\n"));
  EXPECT_THAT(ReadFile(out_).value(), ::testing::Not(HasSubstr("\n64 MiB\n")));
}

TEST_F(CgroupSandboxTest, TheSameAllocatorUnderItsLimitExitsCleanly) {
  constexpr std::uint64_t kLimit = 256 * kMiB;
  std::vector<MemorySample> samples;
  StatusOr<RunResult> result = sandbox_.Run({
      .argv = {kAllocator, "32", "4", "0", "1000"},
      .output_file = out_,
      .memory_limit_bytes = kLimit,
      .timeout = std::chrono::minutes(2),
      .on_sample = [&](const MemorySample& s) { samples.push_back(s); },
  });
  ASSERT_TRUE(result.ok()) << result.status();
  SCOPED_TRACE(result->ToString());
  EXPECT_EQ(result->exit.exit_code, 0);
  EXPECT_EQ(result->exit.signal, 0);
  EXPECT_FALSE(result->oom_killed);
  EXPECT_EQ(result->oom_kill_count, 0u);
  EXPECT_GE(result->peak_bytes, 32 * kMiB);
  EXPECT_LT(result->peak_bytes, kLimit);
  EXPECT_GE(result->wall_time, milliseconds(1000));
  ASSERT_FALSE(samples.empty());
  EXPECT_TRUE(std::is_sorted(samples.begin(), samples.end(),
                             [](const MemorySample& a, const MemorySample& b) { return a.elapsed < b.elapsed; }));
  std::uint64_t most = 0;
  for (const MemorySample& s : samples) most = std::max(most, s.usage_bytes);
  EXPECT_GE(most, 32 * kMiB);
  EXPECT_THAT(ReadFile(out_).value(), HasSubstr("32 MiB\n"));
}

TEST_F(CgroupSandboxTest, StopKillsTheWholeTreeAndRemovesTheCgroup) {
  StatusOr<RunResult> result = sandbox_.Run({
      .argv = {"/bin/sh", "-c", "sleep 300 & echo $!; sleep 300 & echo $!; wait"},
      .output_file = out_,
      .memory_limit_bytes = 256 * kMiB,
      .timeout = std::chrono::minutes(2),
      .stop_requested = [&] { return PrintedPids(out_).size() >= 2; },
  });
  ASSERT_TRUE(result.ok()) << result.status();
  SCOPED_TRACE(result->ToString());
  EXPECT_TRUE(result->stopped);
  EXPECT_FALSE(result->timed_out);
  EXPECT_FALSE(result->oom_killed);
  EXPECT_EQ(result->exit.signal, SIGKILL);
  const std::vector<pid_t> sleepers = PrintedPids(out_);
  ASSERT_EQ(sleepers.size(), 2u);
  for (pid_t pid : sleepers) EXPECT_FALSE(IsAlive(pid)) << pid;
  EXPECT_FALSE(result->cgroup_dir.empty());
  EXPECT_FALSE(fs::exists(result->cgroup_dir));
}

TEST_F(CgroupSandboxTest, AGracefulStopLetsTheTopProcessExitItsOwnWay) {
  StatusOr<RunResult> result = sandbox_.Run({
      .argv = {"/bin/sh", "-c", "trap 'exit 3' TERM; sleep 300 & echo $!; wait"},
      .output_file = out_,
      .timeout = std::chrono::minutes(2),
      .stop_requested = [&] { return PrintedPids(out_).size() >= 1; },
      .stop_grace = std::chrono::seconds(30),
  });
  ASSERT_TRUE(result.ok()) << result.status();
  SCOPED_TRACE(result->ToString());
  EXPECT_TRUE(result->stopped);
  EXPECT_EQ(result->exit.exit_code, 3);
  for (pid_t pid : PrintedPids(out_)) EXPECT_FALSE(IsAlive(pid)) << pid;
}

TEST_F(CgroupSandboxTest, ATimeoutKillsTheTree) {
  StatusOr<RunResult> result = sandbox_.Run({.argv = {"sleep", "300"}, .timeout = milliseconds(200)});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->timed_out);
  EXPECT_FALSE(result->stopped);
  EXPECT_EQ(result->exit.signal, SIGKILL);
  EXPECT_GE(result->wall_time, milliseconds(200));
  EXPECT_FALSE(result->oom_killed);
}

TEST_F(CgroupSandboxTest, WhatTheTopProcessLeavesBehindIsKilled) {
  StatusOr<RunResult> result = sandbox_.Run({
      .argv = {"/bin/sh", "-c", "sleep 300 & echo $!"},
      .output_file = out_,
      .timeout = std::chrono::minutes(2),
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit.exit_code, 0);
  const std::vector<pid_t> sleepers = PrintedPids(out_);
  ASSERT_EQ(sleepers.size(), 1u);
  EXPECT_FALSE(IsAlive(sleepers[0]));
}

TEST_F(CgroupSandboxTest, AnOomKillOfAChildCountsAndCanEndTheTree) {
  // The shell survives its child's OOM kill; containerd would still call this OOMKilled.
  StatusOr<RunResult> survived = sandbox_.Run({
      .argv = {"/bin/sh", "-c", kAllocator + " 512 4; exit 5"},
      .output_file = out_,
      .memory_limit_bytes = 64 * kMiB,
      .timeout = std::chrono::minutes(2),
  });
  ASSERT_TRUE(survived.ok()) << survived.status();
  SCOPED_TRACE(survived->ToString());
  EXPECT_EQ(survived->exit.exit_code, 5);
  EXPECT_TRUE(survived->oom_killed);
  EXPECT_GE(survived->oom_kill_count, 1u);

  // With kill_tree_on_oom the whole tree goes, as with memory.oom.group on v2.
  StatusOr<RunResult> ended = sandbox_.Run({
      .argv = {"/bin/sh", "-c", kAllocator + " 512 4; sleep 300"},
      .output_file = out_,
      .memory_limit_bytes = 64 * kMiB,
      .timeout = std::chrono::minutes(2),
      .kill_tree_on_oom = true,
  });
  ASSERT_TRUE(ended.ok()) << ended.status();
  SCOPED_TRACE(ended->ToString());
  EXPECT_FALSE(ended->timed_out);
  EXPECT_EQ(ended->exit.signal, SIGKILL);
  EXPECT_TRUE(ended->oom_killed);
}

TEST_F(CgroupSandboxTest, KillEmptiesACgroupThatHoldsATree) {
  StatusOr<MemoryCgroup> cg = MemoryCgroup::Create(own_, MemoryCgroup::UniqueName());
  ASSERT_TRUE(cg.ok()) << cg.status();
  const std::string dir = cg->dir();
  StatusOr<Subprocess> shell = Subprocess::Spawn({
      .argv = {"/bin/sh", "-c", "sleep 300 & sleep 300 & (sleep 300 & wait) & wait"},
      .cgroup_procs_path = cg->procs_path(),
  });
  ASSERT_TRUE(shell.ok()) << shell.status();
  std::vector<pid_t> pids;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(milliseconds(20))) {
    pids = cg->Pids().value();
    if (pids.size() >= 5) break;
  }
  ASSERT_EQ(pids.size(), 5u);  // sh, two sleeps, the subshell and its sleep
  ASSERT_TRUE(cg->Kill().ok());
  EXPECT_THAT(cg->Pids().value(), IsEmpty());
  for (pid_t pid : pids) EXPECT_FALSE(IsAlive(pid)) << pid;
  EXPECT_EQ(shell->Wait()->signal, SIGKILL);
  ASSERT_TRUE(cg->Remove().ok());
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(CgroupSandboxTest, ACommandThatCannotStartIsAnErrorAndLeavesNoCgroup) {
  StatusOr<RunResult> result = sandbox_.Run({.argv = {"/nonexistent/program"}, .memory_limit_bytes = 64 * kMiB});
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(sandbox_.Run({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sandbox_.Run({.argv = {"true"}, .working_dir = "/nonexistent/dir"}).status().code(),
            StatusCode::kFailedPrecondition);
}

// ---- without a cgroup ----

TEST_F(SandboxTest, TheRssWatchKillsATreeThatGoesOverTheLimit) {
  constexpr std::uint64_t kLimit = 128 * kMiB;
  Sandbox sandbox({.force_rss_watch = true});
  EXPECT_EQ(sandbox.enforcement(), MemoryEnforcement::kRssWatch);
  const std::string grow = kAllocator + " 1024 4 20 300000";
  StatusOr<RunResult> result = sandbox.Run({
      .argv = {"/bin/sh", "-c", grow + " & echo $!; " + grow + " & echo $!; wait"},
      .output_file = out_,
      .memory_limit_bytes = kLimit,
      .timeout = std::chrono::minutes(2),
  });
  ASSERT_TRUE(result.ok()) << result.status();
  SCOPED_TRACE(result->ToString());
  EXPECT_EQ(result->enforcement, MemoryEnforcement::kRssWatch);
  EXPECT_TRUE(result->killed_at_limit);
  EXPECT_FALSE(result->oom_killed);
  EXPECT_FALSE(result->timed_out);
  EXPECT_EQ(result->exit.signal, SIGKILL);
  EXPECT_GT(result->peak_bytes, kLimit);
  EXPECT_TRUE(result->cgroup_dir.empty());
  const std::vector<pid_t> allocators = PrintedPids(out_);
  ASSERT_EQ(allocators.size(), 2u);
  for (pid_t pid : allocators) EXPECT_FALSE(IsAlive(pid)) << pid;
}

TEST_F(SandboxTest, WithoutACgroupTheRunSaysSoAndStillMeasures) {
  Sandbox sandbox({.fs_root = "/nonexistent-root"});
  EXPECT_EQ(sandbox.enforcement(), MemoryEnforcement::kRssWatch);
  EXPECT_THAT(sandbox.enforcement_note(), HasSubstr("no memory cgroup"));
  StatusOr<RunResult> result = sandbox.Run({
      .argv = {kAllocator, "32", "4", "0", "1000"},
      .output_file = out_,
      .memory_limit_bytes = 256 * kMiB,
      .timeout = std::chrono::minutes(2),
  });
  ASSERT_TRUE(result.ok()) << result.status();
  SCOPED_TRACE(result->ToString());
  EXPECT_EQ(result->enforcement, MemoryEnforcement::kRssWatch);
  EXPECT_THAT(result->enforcement_note, HasSubstr("no memory cgroup"));
  EXPECT_THAT(result->ToString(), HasSubstr("rss watch"));
  EXPECT_EQ(result->exit.exit_code, 0);
  EXPECT_FALSE(result->killed_at_limit);
  EXPECT_GE(result->peak_bytes, 32 * kMiB);
}

// A tree killed with SIGKILL (as at its limit) cleans nothing up: what it wrote in its
// private TMPDIR goes with the run all the same.
TEST_F(SandboxTest, APrivateTmpGoesWithTheRunHoweverItEnded) {
  Sandbox sandbox({.force_rss_watch = true});
  StatusOr<RunResult> result = sandbox.Run({
      .argv = {"/bin/sh", "-c",
               "echo \"$TMPDIR\" && mkdir \"$TMPDIR/TestLeft\" && head -c 65536 /dev/zero > \"$TMPDIR/TestLeft/f\" "
               "&& kill -9 $$"},
      .output_file = out_,
      .private_tmp = true,
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit.signal, SIGKILL);
  std::string tmp = ReadFile(out_).value();
  if (!tmp.empty() && tmp.back() == '\n') tmp.pop_back();
  EXPECT_EQ(fs::path(tmp).parent_path(), fs::temp_directory_path());
  EXPECT_TRUE(
      fs::path(tmp).filename().string().starts_with(std::string(kPrivateTmpPrefix) + std::to_string(::getpid()) + "-"))
      << tmp;
  EXPECT_FALSE(fs::exists(tmp)) << tmp;
}

TEST_F(SandboxTest, ATmpdirTheCallerSetsStands) {
  Sandbox sandbox({.force_rss_watch = true});
  const std::string mine = out_ + ".tmp";
  fs::create_directories(mine);
  StatusOr<RunResult> result = sandbox.Run({
      .argv = {"/bin/sh", "-c", "echo \"$TMPDIR\" && touch \"$TMPDIR/kept\""},
      .env = {"TMPDIR=" + mine},
      .output_file = out_,
      .private_tmp = true,
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(ReadFile(out_).value(), mine + "\n");
  EXPECT_TRUE(fs::exists(mine + "/kept"));
  fs::remove_all(mine);
}

// What a gotestrun killed with SIGKILL left: the next Sandbox removes the private
// TMPDIRs of makers that are gone, and nothing of a living one or of anyone else.
TEST_F(SandboxTest, PrivateTmpsOfMakersThatAreGoneAreRemovedByTheNextSandbox) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  const std::uint64_t start = ProcessStartTime(child).value_or(1);
  ::waitpid(child, nullptr, 0);
  const fs::path root = fs::temp_directory_path();
  const std::string prefix(kPrivateTmpPrefix);
  const fs::path gone = root / (prefix + std::to_string(child) + "-" + std::to_string(start) + "-0");
  const fs::path living = root / MemoryCgroup::UniqueName(kPrivateTmpPrefix);
  const fs::path other = root / (prefix + "notours-" + std::to_string(::getpid()));
  for (const fs::path& p : {gone, living, other}) fs::create_directories(p / "TestLeft");
  Sandbox sandbox({.force_rss_watch = true});
  EXPECT_FALSE(fs::exists(gone));
  EXPECT_TRUE(fs::exists(living / "TestLeft"));
  EXPECT_TRUE(fs::exists(other / "TestLeft"));
  fs::remove_all(living);
  fs::remove_all(other);
}

}  // namespace
}  // namespace gotestrun::sandbox
