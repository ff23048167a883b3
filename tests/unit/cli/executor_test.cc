#include "cli/executor.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/files.h"
#include "cli/agent_path.h"

namespace gotestrun::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(AgentArgv, RunIsTheCommandTheOperatorPutsInAPod) {
  AgentCommand c{.agent = "/bin/gotestrun-agent", .module_dir = "/src/m"};
  c.spec.flags = {"-race", "-count=1"};
  c.spec.tags = {"integration", "slow"};
  c.spec.timeout = "20m";
  c.spec.heap_interval = std::chrono::milliseconds(500);
  policy::ShardPlan plan;
  plan.index = 2;
  plan.attempt = 3;
  plan.packages = {"ex/a", "ex/b"};
  plan.parallel = 1;
  plan.p = 2;
  plan.gomemlimit = 1000;
  EXPECT_THAT(AgentRunArgv(c, plan, "/runs/x/s2/a3"),
              ElementsAre("/bin/gotestrun-agent", "run", "--dir", "/runs/x/s2/a3", "--module-dir", "/src/m",
                          "--parallel", "1", "--p", "2", "--gomemlimit", "1000", "--heap-interval", "500ms",
                          "--memory-stall-after", "10000ms", "--timeout", "20m", "--tags", "integration,slow", "--flag",
                          "-race", "--flag", "-count=1", "--", "ex/a", "ex/b"));
  c.spec.profiling = false;
  c.spec.memory_stall_enabled = false;
  c.spec.flags.clear();
  c.spec.tags.clear();
  c.spec.timeout.clear();
  plan = {};
  plan.packages = {"ex/a"};
  EXPECT_THAT(AgentRunArgv(c, plan, "/d"), ElementsAre("/bin/gotestrun-agent", "run", "--dir", "/d", "--module-dir",
                                                       "/src/m", "--memory-stall-after", "0s", "--", "ex/a"));
}

TEST(AgentArgv, ListIsThePlanningPodsCommand) {
  AgentCommand c{.agent = "agent", .module_dir = "/src/m"};
  c.spec.packages = {"./leak", "./clean/..."};
  c.spec.tags = {"x"};
  EXPECT_THAT(AgentListArgv(c, "/runs/r/plan/packages.json"),
              ElementsAre("agent", "list", "--module-dir", "/src/m", "--out", "/runs/r/plan/packages.json", "--tags",
                          "x", "--", "./leak", "./clean/..."));
}

// The executor over the real sandbox, with a stand-in agent (a shell script): how the
// process tree ended reaches the runner as a container's end would.
class SandboxExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "gtr-executor-XXXXXX").string();
    dir_ = ::mkdtemp(t.data());
  }
  void TearDown() override { fs::remove_all(dir_); }
  AgentCommand Agent(const std::string& script) {
    EXPECT_TRUE(WriteFileAtomic(dir_ + "/agent", "#!/bin/sh\n" + script + "\n", 0755).ok());
    return {.agent = dir_ + "/agent", .module_dir = dir_, .env = {"GTR_TEST_VALUE=42"}};
  }
  policy::ShardPlan Plan() {
    policy::ShardPlan plan;
    plan.packages = {"ex/a"};
    plan.memory = 256 << 20;
    return plan;
  }
  std::string dir_;
};

TEST_F(SandboxExecutorTest, TheAgentRunsInTheModuleWithTheRunsEnvironmentAndItsExitCodeIsKept) {
  sandbox::Sandbox sandbox(sandbox::SandboxConfig{.force_rss_watch = true});
  SandboxExecutor executor(sandbox, Agent("echo \"$PWD $GTR_TEST_VALUE $*\"; exit 3"));
  int samples = 0;
  StatusOr<ProcessEnd> end = executor.RunAttempt(
      Plan(), dir_ + "/run/s0/a1", [&](std::uint64_t) { ++samples; }, [] { return false; });
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->end.exit_code, 3);
  EXPECT_FALSE(end->end.oom_killed);
  EXPECT_FALSE(end->stopped);
  // Without a cgroup the limit is the RSS watch's, and the attempt's message will say so.
  EXPECT_THAT(end->limit_note, HasSubstr("watching RSS"));
  StatusOr<std::string> log = ReadFile(dir_ + "/run/s0/a1/agent.log");
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_THAT(*log, HasSubstr(dir_ + " 42 run --dir " + dir_ + "/run/s0/a1 --module-dir " + dir_));
  EXPECT_GE(samples, 1);
}

TEST_F(SandboxExecutorTest, AStopEndsTheTreePromptly) {
  sandbox::Sandbox sandbox(sandbox::SandboxConfig{.force_rss_watch = true});
  SandboxExecutor executor(sandbox, Agent("sleep 30 & sleep 30"));
  auto start = std::chrono::steady_clock::now();
  StatusOr<ProcessEnd> end = executor.RunAttempt(Plan(), dir_ + "/s0/a1", nullptr, [&] {
    return std::chrono::steady_clock::now() - start > std::chrono::milliseconds(200);
  });
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_TRUE(end->stopped);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(SandboxExecutorTest, ListingWritesItsLog) {
  sandbox::Sandbox sandbox(sandbox::SandboxConfig{.force_rss_watch = true});
  SandboxExecutor executor(sandbox, Agent("echo listing \"$*\"; exit 1"));
  StatusOr<ProcessEnd> end = executor.ListPackages(dir_ + "/packages.json", dir_ + "/list.log", [] { return false; });
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->end.exit_code, 1);
  StatusOr<std::string> log = ReadFile(dir_ + "/list.log");
  ASSERT_TRUE(log.ok());
  EXPECT_THAT(*log, HasSubstr("listing list --module-dir " + dir_ + " --out " + dir_ + "/packages.json -- ./..."));
}

TEST_F(SandboxExecutorTest, AnAgentThatCannotStartIsAnError) {
  sandbox::Sandbox sandbox(sandbox::SandboxConfig{.force_rss_watch = true});
  SandboxExecutor executor(sandbox, {.agent = dir_ + "/missing", .module_dir = dir_});
  EXPECT_FALSE(executor.RunAttempt(Plan(), dir_ + "/s0/a1", nullptr, [] { return false; }).ok());
}

class AgentPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "gtr-agentpath-XXXXXX").string();
    dir_ = ::mkdtemp(t.data());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Executable(const std::string& rel) {
    std::string path = dir_ + "/" + rel;
    fs::create_directories(fs::path(path).parent_path());
    EXPECT_TRUE(WriteFileAtomic(path, "#!/bin/sh\n", 0755).ok());
    return path;
  }
  std::string dir_;
};

TEST_F(AgentPathTest, NextToItselfThenTheBuildTreeThenPath) {
  const std::string self = dir_ + "/build/cli/gotestrun";
  std::string in_path = Executable("bin/gotestrun-agent");
  const std::string path_env = "/nonexistent:" + dir_ + "/bin";
  EXPECT_EQ(*FindAgent("", self, path_env), in_path);
  std::string in_build = Executable("build/agent/gotestrun-agent");
  EXPECT_EQ(*FindAgent("", self, path_env), in_build);
  std::string beside = Executable("build/cli/gotestrun-agent");
  EXPECT_EQ(*FindAgent("", self, path_env), beside);
  // --agent is the only place looked at when given.
  EXPECT_EQ(*FindAgent(in_path, self, path_env), in_path);
  EXPECT_THAT(FindAgent(dir_ + "/nope", self, path_env).status().message(), HasSubstr("--agent " + dir_ + "/nope"));
  // Not executable: not an agent.
  ::chmod(beside.c_str(), 0644);
  EXPECT_EQ(*FindAgent("", self, path_env), in_build);
}

TEST_F(AgentPathTest, MissingSaysWhereItLookedAndWhatToDo) {
  StatusOr<std::string> found = FindAgent("", dir_ + "/gotestrun", "");
  EXPECT_EQ(found.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(found.status().message(), HasSubstr(dir_ + "/gotestrun-agent"));
  EXPECT_THAT(found.status().message(), HasSubstr("--agent"));
}

}  // namespace
}  // namespace gotestrun::cli
