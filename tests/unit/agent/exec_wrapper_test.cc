#include "agent/exec_wrapper.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/child.h"

namespace gotestrun::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(WithGcTraceTest, AppendsToAnyGodebug) {
  EXPECT_EQ(WithGcTrace(""), "gctrace=1");
  EXPECT_EQ(WithGcTrace("madvdontneed=1"), "madvdontneed=1,gctrace=1");
  EXPECT_EQ(WithGcTrace("a=1,"), "a=1,gctrace=1");
  // The last setting wins in GODEBUG, so ours does.
  EXPECT_EQ(WithGcTrace("gctrace=0"), "gctrace=0,gctrace=1");
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "agent-exec-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PackageForDirTest, ByFolderAsGivenOrResolved) {
  TempDir tmp;
  const std::string real = tmp.path() + "/src/m/a";
  std::filesystem::create_directories(real);
  std::filesystem::create_directory_symlink(tmp.path() + "/src", tmp.path() + "/link");
  const std::string via_link = tmp.path() + "/link/m/a";
  const std::vector<PackageListing> packages{
      {.import_path = "example.com/m/b", .dir = tmp.path() + "/src/m/b"},
      {.import_path = "example.com/m/a", .dir = via_link},
  };
  // go list printed the folder through the symlink; the binary's cwd is the real one.
  EXPECT_EQ(PackageForDir(packages, real), "example.com/m/a");
  EXPECT_EQ(PackageForDir(packages, via_link), "example.com/m/a");
  // Not a listed package: the folder names it.
  EXPECT_EQ(PackageForDir(packages, tmp.path()), std::filesystem::canonical(tmp.path()).string());
  EXPECT_EQ(PackageForDir({}, real), std::filesystem::canonical(real).string());
}

TEST(RunCapturedTest, StdoutAndStderrApart) {
  StatusOr<CapturedRun> run = RunCaptured(
      ChildSpec{.argv = {"/bin/sh", "-c", "echo out; echo err >&2; echo $AGENT_TEST_VAR; pwd; exit 3"},
                .extra_env = {"AGENT_TEST_VAR=set"},
                .working_dir = "/"},
      1 << 20);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->out, "out\nset\n/\n");
  EXPECT_EQ(run->err, "err\n");
  EXPECT_EQ(run->end.exit_code, 3);
  EXPECT_EQ(run->end.signal, 0);
}

TEST(RunCapturedTest, SignalAndRusage) {
  StatusOr<CapturedRun> run = RunCaptured(ChildSpec{.argv = {"/bin/sh", "-c", "kill -KILL $$"}}, 1 << 20);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->end.exit_code, -1);
  EXPECT_EQ(run->end.signal, SIGKILL);
  EXPECT_GT(run->end.max_rss_bytes, 0u);
}

TEST(RunCapturedTest, OutputCap) {
  StatusOr<CapturedRun> run =
      RunCaptured(ChildSpec{.argv = {"/bin/sh", "-c", "head -c 100000 /dev/zero"}}, 1000);
  EXPECT_EQ(run.status().code(), StatusCode::kResourceExhausted);
}

TEST(SpawnChildTest, ReportsWhatCouldNotStart) {
  StatusOr<pid_t> pid = SpawnChild(ChildSpec{.argv = {"/nonexistent/program"}});
  EXPECT_EQ(pid.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(pid.status().message(), HasSubstr("cannot start /nonexistent/program"));
  pid = SpawnChild(ChildSpec{.argv = {"/bin/true"}, .working_dir = "/nonexistent/folder"});
  EXPECT_THAT(pid.status().message(), HasSubstr("cannot enter /nonexistent/folder"));
  EXPECT_FALSE(SpawnChild(ChildSpec{}).ok());
}

}  // namespace
}  // namespace gotestrun::agent
