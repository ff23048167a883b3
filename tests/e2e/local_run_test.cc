// `gotestrun run` end to end: the real binary, the real agent, real `go test` of the
// fixture module in memory cgroups of this machine, really OOM-killed by the kernel.
// No control plane. Needs go on PATH and a memory cgroup we may make children in
// (root with the cgroup v1 memory controller, or cgroup v2 with memory delegated).
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/api/yaml_json.h"
#include "base/files.h"
#include "sandbox/child_process.h"
#include "sandbox/cgroup.h"
#include "tests/support/run_status.h"

namespace gotestrun {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using sandbox::ExitInfo;
using sandbox::Subprocess;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const std::string kBinary = GTR_GOTESTRUN_BIN;
const std::string kMemoryFixture = std::string(GTR_FIXTURES_DIR) + "/memory";
const std::string kLeak = "gotestrun.dev/fixtures/memory/leak";

class LocalRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "gotestrun-local-e2e-XXXXXX").string();
    work_ = ::mkdtemp(t.data());
    StatusOr<sandbox::CgroupDir> own = sandbox::FindOwnMemoryCgroup();
    ASSERT_TRUE(own.ok()) << "these tests need a memory cgroup they may make children in: " << own.status();
    own_cgroup_ = own->dir;
  }
  void TearDown() override {
    if (HasFailure()) {
      for (const char* log : {"/output.log"}) {
        auto text = ReadFile(work_ + log, 64 << 20);
        if (text.ok()) std::cerr << "---- " << log << " ----\n" << *text << "\n";
      }
    }
    if (std::getenv("GOTESTRUN_KEEP_E2E") == nullptr) fs::remove_all(work_);
  }

  // Starts gotestrun with `args`, its stdout and stderr in work_/output.log, every
  // process of the run marked in its environment.
  Subprocess Start(std::vector<std::string> args, std::string goflags = "-mod=mod") {
    args.insert(args.begin(), kBinary);
    auto p = Subprocess::Spawn({.argv = args,
                                .extra_env = {"GOFLAGS=" + goflags, "GOTOOLCHAIN=local", marker_},
                                .output_file = work_ + "/output.log"});
    EXPECT_TRUE(p.ok()) << p.status();
    return std::move(p).value();
  }

  int Run(std::vector<std::string> args, std::string goflags = "-mod=mod") {
    Subprocess p = Start(std::move(args), std::move(goflags));
    std::optional<ExitInfo> exit = p.Wait(std::chrono::minutes(10));
    EXPECT_TRUE(exit.has_value()) << "gotestrun did not end in 10 minutes";
    return exit ? (exit->signal != 0 ? 128 + exit->signal : exit->exit_code) : -1;
  }

  json Status(const std::string& run_dir) {
    auto text = ReadFile(run_dir + "/status.yaml", 16 << 20);
    EXPECT_TRUE(text.ok()) << text.status();
    auto j = api::YamlToJson(text.ok() ? *text : "");
    EXPECT_TRUE(j.ok()) << j.status();
    return j.ok() ? *j : json();
  }

  // Every live process whose environment carries this test's marker: gotestrun, the
  // agents, go, the compilers and the test binaries, and anything they started.
  std::vector<std::string> MarkedProcesses() {
    std::vector<std::string> found;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator("/proc", ec)) {
      const std::string pid = e.path().filename().string();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream env(e.path() / "environ", std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
      if (text.find(marker_) == std::string::npos) continue;
      std::ifstream cmd(e.path() / "cmdline", std::ios::binary);
      std::string cmdline((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      found.push_back(pid + ": " + cmdline);
    }
    return found;
  }

  // The sandbox's cgroups of the gotestrun process `pid` still on disk.
  std::vector<std::string> CgroupsOf(pid_t pid) {
    std::vector<std::string> left;
    const std::string prefix = "gotestrun-" + std::to_string(pid) + "-";
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(own_cgroup_, ec)) {
      if (e.path().filename().string().starts_with(prefix)) left.push_back(e.path().string());
    }
    return left;
  }

  std::string work_;
  std::string own_cgroup_;
  const std::string marker_ = "GOTESTRUN_E2E_MARK=" + std::to_string(::getpid()) + "-" +
                              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
};

TEST_F(LocalRunTest, AnOomKilledLeakIsDiagnosedAndRetriedUntilTheSuitePasses) {
  // leak/ needs ~330 MiB (tests/fixtures/memory/README.md); 256Mi is too little.
  const std::string run_dir = work_ + "/converge";
  int code = Run({"run", "./leak", "./clean/...", "--module-dir", kMemoryFixture, "--memory", "256Mi", "--max-memory",
                  "1Gi", "--parallel", "2", "--out", run_dir, "--no-history"});
  EXPECT_EQ(code, 0);
  json status = Status(run_dir);
  ASSERT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  // The kernel kills the binary at the limit, or (on a busy machine, with page cache
  // to reclaim) lets it thrash there until the agent's stall watch ends it: either way
  // the first attempt ends at the limit and is retried from its evidence.
  int oom_killed = 0, stalled = 0;
  for (const json& shard : status["shards"]) {
    for (const json& a : shard["attempts"]) {
      if (a.value("outcome", "") != "OOMKilled" && a.value("outcome", "") != "MemoryStall") continue;
      if (a.value("outcome", "") == "OOMKilled") {
        ++oom_killed;
      } else {
        ++stalled;
        // The leak grows across tests: never "init", whether a test was running or not.
        EXPECT_NE(a.value("phase", ""), "init") << a.dump();
      }
      // Named as the killed package, or among the binaries running at a container kill.
      std::string killed = a.value("killedPackage", "");
      EXPECT_TRUE(killed == kLeak || a.value("message", "").find(kLeak) != std::string::npos ||
                  a.value("message", "").find("building") != std::string::npos)
          << a.dump();
    }
  }
  EXPECT_GE(oom_killed + stalled, 1) << status.dump(2);
  EXPECT_EQ(status.value("oomKills", 0), oom_killed) << status.dump(2);
  EXPECT_TRUE(gotestrun::testing::NamesKilledPackage(status, kLeak)) << status.dump(2);
  std::set<std::string> passed;
  for (const json& p : status["packages"]) {
    EXPECT_EQ(p.value("outcome", ""), "Succeeded") << p.dump();
    passed.insert(p.value("package", ""));
  }
  EXPECT_TRUE(passed.contains(kLeak));
  EXPECT_TRUE(passed.contains("gotestrun.dev/fixtures/memory/clean/a"));
  // The evidence of every attempt, the plan, and the reports.
  EXPECT_TRUE(fs::exists(run_dir + "/run.yaml"));
  EXPECT_TRUE(fs::exists(run_dir + "/plan/packages.json"));
  EXPECT_TRUE(fs::exists(run_dir + "/s0/a1/events.jsonl"));
  EXPECT_TRUE(fs::exists(run_dir + "/report.html"));
  auto junit = ReadFile(run_dir + "/junit.xml", 16 << 20);
  ASSERT_TRUE(junit.ok()) << junit.status();
  EXPECT_THAT(*junit, HasSubstr(kLeak));
  // The summary names the kill; describe reads the folder back.
  auto out = ReadFile(work_ + "/output.log", 16 << 20);
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(*out, HasSubstr("OOM kills:"));
  EXPECT_THAT(*out, HasSubstr(run_dir + "/report.html"));
  fs::remove(work_ + "/output.log");
  EXPECT_EQ(Run({"describe", run_dir}), 0);
  auto described = ReadFile(work_ + "/output.log", 16 << 20);
  ASSERT_TRUE(described.ok());
  EXPECT_THAT(*described, HasSubstr("Phase:      Succeeded"));
  EXPECT_THAT(*described, HasSubstr(oom_killed > 0 ? "OOMKilled" : "MemoryStall"));
  EXPECT_THAT(*described, HasSubstr(kLeak));
}

TEST_F(LocalRunTest, AContainerKilledWhileCompilingNamesTheCompileAsBuildMemory) {
  // compileheavy's compile peaks at ~450 MiB (tests/fixtures/memory/README.md): under
  // 300Mi the whole sandbox is OOM-killed while go test is still building, before any
  // test binary runs. Only the toolexec wrapper's build log can say which compile it
  // was. A -gcflags only this run uses keeps the compile out of the build cache.
  const std::string package = "gotestrun.dev/fixtures/memory/compileheavy";
  const std::string goflags =
      "-mod=mod -gcflags=" + package + "=-D=/gotestrun-e2e-" + marker_.substr(marker_.find('=') + 1);
  const std::string run_dir = work_ + "/compile";
  EXPECT_EQ(Run({"run", "./compileheavy", "--module-dir", kMemoryFixture, "--memory", "300Mi", "--max-memory", "1Gi",
                 "--out", run_dir, "--no-history"},
                goflags),
            0);
  json status = Status(run_dir);
  ASSERT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  const json& first = status["shards"][0]["attempts"][0];
  EXPECT_EQ(first.value("outcome", ""), "OOMKilled") << first.dump(2);
  EXPECT_EQ(first.value("killedPackage", ""), package) << first.dump(2);
  EXPECT_EQ(first.value("phase", ""), "compile") << first.dump(2);
  // The kernel kills the compile alone (go test reports the step killed) or the whole
  // container with it: either way the message names the compile.
  EXPECT_THAT(first.value("message", ""), AnyOf(HasSubstr("the container was OOM-killed while compiling " + package),
                                                HasSubstr("OOM kill of " + package + " (compile)")));
  bool build_memory = false;
  for (const json& d : status["diagnosis"]) {
    if (d.value("package", "") != package) continue;
    build_memory = d.value("cause", "") == "BuildMemory" && d.value("phase", "") == "compile";
    EXPECT_THAT(d.dump(), HasSubstr("compile of " + package + " ran ")) << d.dump(2);
  }
  EXPECT_TRUE(build_memory) << status.dump(2);
  // The retry was planned from the build kill, not from a blind split.
  const json& log = status["retryLog"][package];
  ASSERT_TRUE(log.is_array() && !log.empty()) << status.dump(2);
  EXPECT_EQ(log[0].value("result", ""), "build killed");
  EXPECT_EQ(log[0].value("cause", ""), "BuildMemory");
  // The attempt that passed left the compile's own figure in its build log.
  auto build_log = ReadFile(run_dir + "/s0/a2/build.jsonl", 16 << 20);
  ASSERT_TRUE(build_log.ok()) << build_log.status();
  EXPECT_THAT(*build_log, HasSubstr("\"package\":\"" + package + "\""));
}

TEST_F(LocalRunTest, APackageThatCannotFitUnderMaxMemoryExits3) {
  // largetest/ needs ~360 MiB.
  const std::string run_dir = work_ + "/too-big";
  int code = Run({"run", "./largetest", "--module-dir", kMemoryFixture, "--max-memory", "200Mi", "--out", run_dir,
                  "--no-history"});
  EXPECT_EQ(code, 3);
  json status = Status(run_dir);
  EXPECT_EQ(status.value("phase", ""), "Failed") << status.dump(2);
  for (const json& shard : status["shards"]) {
    for (const json& a : shard["attempts"]) EXPECT_EQ(a.value("memory", ""), "200Mi") << a.dump();
  }
  bool does_not_fit = false;
  for (const json& p : status["packages"]) does_not_fit |= p.value("outcome", "") == "OOMKilled";
  EXPECT_TRUE(does_not_fit) << status.dump(2);
}

TEST_F(LocalRunTest, AnInvalidSpecGetsTheCrdsMessageAndExits2) {
  EXPECT_EQ(Run({"run", "--module-dir", kMemoryFixture, "--memory", "5Gb", "--out", work_ + "/bad"}), 2);
  auto out = ReadFile(work_ + "/output.log", 1 << 20);
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(*out, HasSubstr("spec.resources.memory: '5Gb' is not a quantity"));
  EXPECT_FALSE(fs::exists(work_ + "/bad"));
}

// A module whose tests never end on their own, each with a child process of its own:
// the run is stopped while they run.
void WriteSleeperModule(const std::string& dir) {
  fs::create_directories(dir + "/one");
  fs::create_directories(dir + "/two");
  ASSERT_TRUE(WriteFileAtomic(dir + "/go.mod", "module example.com/sleeper\n\ngo 1.24\n").ok());
  for (const char* pkg : {"one", "two"}) {
    std::string src = std::string("package ") + pkg + R"(

import (
	"os/exec"
	"testing"
	"time"
)

func TestSleeps(t *testing.T) {
	child := exec.Command("sleep", "600")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Minute)
}
)";
    ASSERT_TRUE(WriteFileAtomic(dir + "/" + pkg + "/" + pkg + "_test.go", src).ok());
  }
}

TEST_F(LocalRunTest, InterruptStopsEveryProcessOfTheRunAndExits130) {
  const std::string module = work_ + "/sleeper";
  WriteSleeperModule(module);
  const std::string run_dir = work_ + "/interrupted";
  Subprocess p = Start({"run", "--module-dir", module, "--shards", "2", "--out", run_dir, "--no-history"});
  // Wait until both shards' test binaries have started their `sleep` children.
  auto sleeping = [&] {
    int n = 0;
    for (const std::string& proc : MarkedProcesses()) n += proc.find(": sleep 600") != std::string::npos ? 1 : 0;
    return n;
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (sleeping() < 2 && std::chrono::steady_clock::now() < deadline && p.running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(sleeping(), 2) << "the tests did not start";
  ASSERT_FALSE(MarkedProcesses().empty());
  ASSERT_EQ(::kill(p.pid(), SIGINT), 0);
  std::optional<ExitInfo> exit = p.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(exit.has_value()) << "gotestrun did not stop within 60 s of SIGINT";
  EXPECT_EQ(exit->exit_code, 130) << exit->ToString();
  // Nothing of the run is left: no process, no cgroup.
  EXPECT_THAT(MarkedProcesses(), IsEmpty());
  EXPECT_THAT(CgroupsOf(p.pid()), IsEmpty());
  json status = Status(run_dir);
  EXPECT_EQ(status.value("phase", ""), "Failed") << status.dump(2);
  bool interrupted = false;
  for (const json& c : status["conditions"]) interrupted |= c.value("reason", "") == "Interrupted";
  EXPECT_TRUE(interrupted) << status.dump(2);
  for (const json& shard : status["shards"]) {
    for (const json& a : shard["attempts"]) {
      EXPECT_EQ(a.value("outcome", ""), "Failed") << a.dump();
      EXPECT_THAT(a.value("message", ""), HasSubstr("interrupted"));
    }
  }
}

// gotestrun killed with SIGKILL can clean nothing up (row 8). The exec wrappers and the
// test binaries die with it (each dies with its parent); what those started (here
// `sleep 600`) is ended by the next gotestrun, which also removes the cgroups; and the
// status that said Running is ended as Failed (Interrupted) once its owner is gone.
TEST_F(LocalRunTest, SigkillOfGotestrunLeavesNothingRunningAndItsRunIsEndedLater) {
  const std::string module = work_ + "/sleeper";
  WriteSleeperModule(module);
  const std::string run_dir = work_ + "/killed";
  Subprocess p = Start({"run", "--module-dir", module, "--shards", "2", "--out", run_dir, "--no-history"});
  auto count = [&](const std::string& what) {
    int n = 0;
    for (const std::string& proc : MarkedProcesses()) n += proc.find(what) != std::string::npos ? 1 : 0;
    return n;
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (count(": sleep 600") < 2 && std::chrono::steady_clock::now() < deadline && p.running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(count(": sleep 600"), 2) << "the tests did not start";
  ASSERT_EQ(::kill(p.pid(), SIGKILL), 0);
  std::optional<ExitInfo> exit = p.Wait(std::chrono::seconds(10));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->signal, SIGKILL);
  // The agents, go, the exec wrappers and the test binaries end with it; only what a
  // test started itself may be left, in the run's cgroups.
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto others = [&] {
    std::vector<std::string> left;
    for (const std::string& proc : MarkedProcesses()) {
      if (proc.find(": sleep 600") == std::string::npos) left.push_back(proc);
    }
    return left;
  };
  while (!others().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(others(), IsEmpty());
  EXPECT_THAT(CgroupsOf(p.pid()), Not(IsEmpty()));
  EXPECT_EQ(Status(run_dir).value("phase", ""), "Running");

  // The next run, of another module, ends what is left and removes the cgroups.
  EXPECT_EQ(Run({"run", "--module-dir", kMemoryFixture, "--out", work_ + "/next", "--no-history", "./clean/a"}), 0);
  EXPECT_THAT(MarkedProcesses(), IsEmpty());
  EXPECT_THAT(CgroupsOf(p.pid()), IsEmpty());

  // describe finds the run's owner gone and ends its status.
  EXPECT_EQ(Run({"describe", run_dir}), 0);
  json status = Status(run_dir);
  EXPECT_EQ(status.value("phase", ""), "Failed") << status.dump(2);
  bool interrupted = false;
  for (const json& c : status["conditions"]) interrupted |= c.value("reason", "") == "Interrupted";
  EXPECT_TRUE(interrupted) << status.dump(2);
  EXPECT_THAT(status.value("message", ""), HasSubstr("pid " + std::to_string(p.pid())));
  for (const json& shard : status["shards"]) {
    for (const json& a : shard["attempts"]) EXPECT_EQ(a.value("outcome", ""), "Failed") << a.dump();
  }
  auto output = ReadFile(work_ + "/output.log", 1 << 20);
  ASSERT_TRUE(output.ok());
  EXPECT_THAT(*output, HasSubstr("Phase:      Failed"));
}

// A full disk under the run folder (row 11), a real ENOSPC from a small tmpfs: the run
// ends at once with the folder and the system's words, exits non-zero, and its status
// says so in a condition rather than staying Running.
TEST_F(LocalRunTest, AFullRunFolderEndsTheRunSayingWhere) {
  const std::string disk = work_ + "/small-disk";
  fs::create_directories(disk);
  ASSERT_EQ(::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=1m"), 0)
      << "mounting a tmpfs needs root: " << std::strerror(errno);
  struct Unmount {
    std::string dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{disk};
  // Leave 24 KiB: room for run.yaml and a little evidence, not for a whole attempt.
  struct statvfs fs_stat {};
  ASSERT_EQ(::statvfs(disk.c_str(), &fs_stat), 0);
  const std::uint64_t free_bytes = std::uint64_t{fs_stat.f_bavail} * fs_stat.f_frsize;
  ASSERT_GT(free_bytes, 24u << 10);
  ASSERT_TRUE(WriteFileAtomic(disk + "/filler", std::string(free_bytes - (24u << 10), 'x')).ok());

  const std::string run_dir = disk + "/run";
  EXPECT_EQ(Run({"run", "--module-dir", kMemoryFixture, "--out", run_dir, "--no-history", "./clean/..."}), 1);
  auto output = ReadFile(work_ + "/output.log", 1 << 20);
  ASSERT_TRUE(output.ok());
  EXPECT_THAT(*output, HasSubstr("gotestrun: the run folder " + run_dir + " cannot be written"));
  EXPECT_THAT(*output, HasSubstr("No space left on device"));
  json status = Status(run_dir);
  EXPECT_EQ(status.value("phase", ""), "Failed") << status.dump(2);
  bool said = false;
  for (const json& c : status["conditions"]) {
    said |= c.value("reason", "") == "RunFolderNotWritable" &&
            c.value("message", "").find("No space left on device") != std::string::npos;
  }
  EXPECT_TRUE(said) << status.dump(2);
  EXPECT_THAT(MarkedProcesses(), IsEmpty());
}

namespace memory_stall {

// The attempt of `status` whose outcome is MemoryStall, or null.
const json* StalledAttempt(const json& status) {
  for (const json& shard : status["shards"]) {
    for (const json& a : shard["attempts"]) {
      if (a.value("outcome", "") == "MemoryStall") return &a;
    }
  }
  return nullptr;
}

}  // namespace memory_stall

TEST_F(LocalRunTest, AStallAtTheLimitIsEndedWithinAfterPlus5sAndRetriedUntilItPasses) {
  // stall/ holds 160 MiB of heap and scans a 160 MiB mmapped file: under 256Mi it sits
  // at the limit refaulting the file for over a minute and is never OOM-killed
  // (tests/fixtures/memory/README.md).
  const std::string run_dir = work_ + "/stall";
  const auto started = std::chrono::steady_clock::now();
  int code = Run({"run", "./stall", "--module-dir", kMemoryFixture, "--memory", "256Mi", "--max-memory", "1Gi",
                  "--memory-stall-after", "10s", "--out", run_dir, "--no-history"});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(code, 0);
  json status = Status(run_dir);
  ASSERT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  const json* stalled = memory_stall::StalledAttempt(status);
  ASSERT_NE(stalled, nullptr) << status.dump(2);
  EXPECT_EQ(stalled->value("killedPackage", ""), "gotestrun.dev/fixtures/memory/stall");
  EXPECT_EQ(stalled->value("runningTest", ""), "TestScanMappedIndex");
  EXPECT_THAT(stalled->value("message", ""), HasSubstr("stalled at the limit"));
  EXPECT_THAT(stalled->value("message", ""), HasSubstr("refaults/s"));

  // The agent's record: ended within after + 5 s of the thrash's start, no OOM kill.
  auto result_text = ReadFile(run_dir + "/s0/a1/result.json", 16 << 20);
  ASSERT_TRUE(result_text.ok()) << result_text.status();
  const json result = json::parse(*result_text);
  ASSERT_TRUE(result.contains("memoryStall")) << result.dump(2);
  const json& m = result["memoryStall"];
  EXPECT_EQ(m.value("outcome", ""), "MemoryStall");
  EXPECT_EQ(m.value("phase", ""), "test-run");
  const std::int64_t ended_after_ms = m.value("endedUnixMs", std::int64_t{0}) - m.value("sinceUnixMs", std::int64_t{0});
  EXPECT_GE(ended_after_ms, 10000);
  EXPECT_LE(ended_after_ms, 15000);
  EXPECT_LE(result.value("endUnixMs", std::int64_t{0}) - m.value("sinceUnixMs", std::int64_t{0}), 15000);
  EXPECT_EQ(result.value("oomKillsSeen", 1), 0);
  EXPECT_FALSE(m.value("heapProfile", "").empty()) << m.dump(2);
  // Without the watch the first attempt alone crawls for over a minute.
  EXPECT_LT(took, std::chrono::seconds(60));

  // The diagnosis, the report and JUnit say so.
  bool in_diagnosis = false;
  for (const json& d : status["diagnosis"]) {
    for (const json& e : d["evidence"]) in_diagnosis |= e.get<std::string>().starts_with("stalled at the limit");
  }
  EXPECT_TRUE(in_diagnosis) << status["diagnosis"].dump(2);
  auto junit = ReadFile(run_dir + "/junit.xml", 16 << 20);
  ASSERT_TRUE(junit.ok());
  auto out = ReadFile(work_ + "/output.log", 16 << 20);
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(*out, HasSubstr("stalled at the limit"));
}

TEST_F(LocalRunTest, APackageThatTouchesItsLimitAndRecoversIsNotEnded) {
  // touchlimit/ thrashes at 256Mi for ~3 s, then streams a file larger than the limit
  // once (reclaim without refaults) and ends under it.
  const std::string run_dir = work_ + "/touch";
  int code = Run({"run", "./touchlimit", "--module-dir", kMemoryFixture, "--memory", "256Mi", "--max-memory", "256Mi",
                  "--memory-stall-after", "10s", "--out", run_dir, "--no-history"});
  EXPECT_EQ(code, 0);
  json status = Status(run_dir);
  EXPECT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  EXPECT_EQ(memory_stall::StalledAttempt(status), nullptr) << status.dump(2);
  EXPECT_EQ(status.value("attemptCount", 0), 1) << status.dump(2);
}

TEST_F(LocalRunTest, MemoryStallFlagsAreCheckedLikeTheSpec) {
  EXPECT_EQ(Run({"run", "--module-dir", kMemoryFixture, "--memory-stall-after", "1s", "--out", work_ + "/bad"}), 2);
  auto out = ReadFile(work_ + "/output.log", 1 << 20);
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(*out, HasSubstr("memoryStall.after: '1s' must be a duration from 2s to 10m"));
}

}  // namespace
}  // namespace gotestrun
