#include "sandbox/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::sandbox {
namespace {

using ::testing::HasSubstr;

TEST(RunCapturedTest, StdoutAndStderrApart) {
  StatusOr<CapturedRun> run =
      RunCaptured(ChildSpec{.argv = {"/bin/sh", "-c", "echo out; echo err >&2; echo $AGENT_TEST_VAR; pwd; exit 3"},
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
  StatusOr<CapturedRun> run = RunCaptured(ChildSpec{.argv = {"/bin/sh", "-c", "head -c 100000 /dev/zero"}}, 1000);
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

TEST(SpawnChildTest, ClosesWhatItDoesNotHandOver) {
  // A descriptor of ours without close-on-exec, as a library might leave one.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string leaked = "/proc/self/fd/" + std::to_string(fds[1]);
  StatusOr<CapturedRun> run = RunCaptured(
      ChildSpec{.argv = {"/bin/sh", "-c", "if [ -e " + leaked + " ]; then echo open; else echo closed; fi"}}, 1 << 20);
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->out, "closed\n");
}

TEST(SpawnChildTest, OwnProcessGroupOrOurs) {
  // The shell's pid and its process group, from /proc (field 5 of stat).
  const std::string script = "echo $$ $(cut -d' ' -f5 /proc/$$/stat)";
  StatusOr<CapturedRun> own = RunCaptured(ChildSpec{.argv = {"/bin/sh", "-c", script}}, 1 << 20);
  ASSERT_TRUE(own.ok()) << own.status();
  std::istringstream own_fields(own->out);
  long pid = 0, pgid = 0;
  own_fields >> pid >> pgid;
  EXPECT_GT(pid, 0);
  EXPECT_EQ(pgid, pid);

  StatusOr<CapturedRun> ours =
      RunCaptured(ChildSpec{.argv = {"/bin/sh", "-c", script}, .own_process_group = false}, 1 << 20);
  ASSERT_TRUE(ours.ok()) << ours.status();
  std::istringstream our_fields(ours->out);
  our_fields >> pid >> pgid;
  EXPECT_EQ(pgid, ::getpgrp());
}

TEST(SubprocessTest, OutputFileAndNullStdin) {
  const std::string out =
      (std::filesystem::temp_directory_path() / ("child-process-test-" + std::to_string(::getpid()))).string();
  std::filesystem::remove(out);
  StatusOr<Subprocess> p = Subprocess::Spawn(
      ChildSpec{.argv = {"/bin/sh", "-c", "cat; echo out; echo err >&2; exit 4"}, .output_file = out});
  ASSERT_TRUE(p.ok()) << p.status();
  std::optional<ExitInfo> end = p->Wait();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->exit_code, 4);
  EXPECT_EQ(end->ToString(), "exit code 4");
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "out\nerr\n");
  std::filesystem::remove(out);
}

TEST(SubprocessTest, StopEndsTheGroup) {
  StatusOr<Subprocess> p = Subprocess::Spawn(ChildSpec{.argv = {"/bin/sh", "-c", "sleep 300 & wait"}});
  ASSERT_TRUE(p.ok()) << p.status();
  const ExitInfo end = p->Stop(std::chrono::milliseconds(2000));
  EXPECT_EQ(end.signal, SIGTERM);
  EXPECT_EQ(end.ToString(), "killed by signal 15 (Terminated)");
}

TEST(SpawnChildTest, ReportsACgroupItCannotJoin) {
  StatusOr<pid_t> pid = SpawnChild(ChildSpec{.argv = {"/bin/true"}, .cgroup_procs_path = "/nonexistent/cgroup.procs"});
  EXPECT_EQ(pid.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(pid.status().message(), HasSubstr("cannot join cgroup /nonexistent/cgroup.procs"));
}

}  // namespace
}  // namespace gotestrun::sandbox
