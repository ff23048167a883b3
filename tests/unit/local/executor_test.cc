#include "local/executor.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/files.h"
#include "local/agent_path.h"

namespace gotestrun::local {
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
              ElementsAre("/bin/gotestrun-agent", "run", "--dir", "/runs/x/s2/a3", "--module-dir", "/src/m", "--parallel",
                          "1", "--p", "2", "--gomemlimit", "1000", "--heap-interval", "500ms", "--timeout", "20m", "--tags",
                          "integration,slow", "--flag", "-race", "--flag", "-count=1", "--", "ex/a", "ex/b"));
  c.spec.profiling = false;
  c.spec.flags.clear();
  c.spec.tags.clear();
  c.spec.timeout.clear();
  plan = {};
  plan.packages = {"ex/a"};
  EXPECT_THAT(AgentRunArgv(c, plan, "/d"),
              ElementsAre("/bin/gotestrun-agent", "run", "--dir", "/d", "--module-dir", "/src/m", "--", "ex/a"));
}

TEST(AgentArgv, ListIsThePlanningPodsCommand) {
  AgentCommand c{.agent = "agent", .module_dir = "/src/m"};
  c.spec.packages = {"./leak", "./clean/..."};
  c.spec.tags = {"x"};
  EXPECT_THAT(AgentListArgv(c, "/runs/r/plan/packages.json"),
              ElementsAre("agent", "list", "--module-dir", "/src/m", "--out", "/runs/r/plan/packages.json", "--tags", "x",
                          "--", "./leak", "./clean/..."));
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
  const std::string self = dir_ + "/build/cmd/gotestrun/gotestrun";
  std::string in_path = Executable("bin/gotestrun-agent");
  const std::string path_env = "/nonexistent:" + dir_ + "/bin";
  EXPECT_EQ(*FindAgent("", self, path_env), in_path);
  std::string in_build = Executable("build/agent/gotestrun-agent");
  EXPECT_EQ(*FindAgent("", self, path_env), in_build);
  std::string beside = Executable("build/cmd/gotestrun/gotestrun-agent");
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
}  // namespace gotestrun::local
