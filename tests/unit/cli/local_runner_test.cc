// The local run loop over a fake executor that writes evidence folders as the agent
// would: the engine's real evidence reader, retry policy and status, no go and no
// cgroups. tests/e2e/local_run_test.cc runs the real thing.
#include "cli/local_runner.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/evidence/evidence.h"
#include "core/api/yaml_json.h"
#include "base/files.h"
#include "cli/exit_code.h"
#include "cli/history_file.h"
#include "cli/local_run_folder.h"
#include "sandbox/child_process.h"

namespace gotestrun::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using sandbox::Subprocess;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr std::uint64_t kMiB = 1 << 20;

// Each package needs a known amount of memory; an attempt whose limit is below a
// package's need has that binary OOM-killed (the agent lives and writes result.json,
// as when the kernel picks the test binary), and the packages after it get no result.
class FakeExecutor : public AttemptExecutor {
 public:
  std::vector<std::string> packages;
  std::map<std::string, std::uint64_t> needs;
  std::set<std::string> failing;
  int list_exit_code = 0;
  bool block_until_stop = false;
  std::chrono::milliseconds hold{0};  // how long each attempt runs

  std::atomic<int> started{0};
  std::atomic<int> running{0};
  std::atomic<int> most_at_once{0};
  std::mutex mu;
  std::vector<policy::ShardPlan> plans;

  StatusOr<ProcessEnd> ListPackages(const std::string& out_file, const std::string& log_file, const StopFn&) override {
    std::vector<evidence::PackageListing> listings;
    for (const std::string& p : packages) {
      listings.push_back({.import_path = p, .name = "x", .dir = "/m", .test_go_files = {"x_test.go"}});
    }
    listings.push_back({.import_path = "ex/notests", .name = "x", .dir = "/m"});
    EXPECT_TRUE(WriteFileAtomic(log_file, list_exit_code == 0 ? "" : "go: cannot find main module\n").ok());
    if (list_exit_code == 0) {
      EXPECT_TRUE(WriteFileAtomic(out_file, evidence::EncodePackageListings(listings)).ok());
    }
    ProcessEnd end;
    end.end.exit_code = list_exit_code;
    return end;
  }

  StatusOr<ProcessEnd> RunAttempt(const policy::ShardPlan& plan, const std::string& dir,
                                  const std::function<void(std::uint64_t)>& on_memory, const StopFn& stop) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      plans.push_back(plan);
    }
    int now = ++running;
    int seen = most_at_once.load();
    while (now > seen && !most_at_once.compare_exchange_weak(seen, now)) {
    }
    ++started;
    std::this_thread::sleep_for(hold);
    ProcessEnd end;
    evidence::AttemptLayout layout(dir);
    EXPECT_TRUE(layout.Create().ok());
    if (block_until_stop) {
      while (!stop()) {
        on_memory(10 * kMiB);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      end.stopped = true;
      end.end.exit_code = 143;
      --running;
      return end;
    }
    evidence::AttemptResult result;
    result.limit_bytes = plan.memory;
    std::string events;
    bool killed = false;
    std::uint64_t peak = 0;
    for (const std::string& pkg : plan.packages) {
      evidence::PackageRecord r;
      r.package = pkg;
      std::uint64_t need = needs.contains(pkg) ? needs[pkg] : 8 * kMiB;
      if (killed) {
        r.outcome = gotest::PackageOutcome::kNoResult;
      } else if (need > plan.memory) {
        killed = true;
        r.outcome = gotest::PackageOutcome::kKilled;
        r.running_tests = {"TestBig"};
        r.binary = evidence::BinaryEnd{.exit_code = -1, .signal = 9, .max_rss_bytes = plan.memory};
        peak = plan.memory;
      } else {
        bool fails = failing.contains(pkg);
        r.outcome = fails ? gotest::PackageOutcome::kFail : gotest::PackageOutcome::kPass;
        r.binary = evidence::BinaryEnd{.exit_code = fails ? 1 : 0, .max_rss_bytes = need};
        if (fails) r.failed_tests = {"TestFails"};
        peak = std::max(peak, need);
        events += R"({"Action":"pass","Package":")" + pkg + "\"}\n";
      }
      result.packages.push_back(r);
    }
    result.peak_bytes = peak;
    result.go_test_exit_code = killed || !failing.empty() ? 1 : 0;
    EXPECT_TRUE(WriteFileAtomic(layout.events(), events).ok());
    on_memory(peak);
    EXPECT_TRUE(WriteFileAtomic(layout.result(), evidence::EncodeAttemptResult(result)).ok());
    end.end.oom_killed = killed;
    end.end.exit_code = result.go_test_exit_code;
    --running;
    return end;
  }
};

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "gtr-runner-XXXXXX").string();
    module_ = ::mkdtemp(t.data());
    null_ = std::fopen("/dev/null", "w");
    fake_.packages = {"ex/a", "ex/big", "ex/c"};
    fake_.needs = {{"ex/big", 300 * kMiB}};
  }
  void TearDown() override {
    std::fclose(null_);
    fs::remove_all(module_);
  }

  LocalRun Resolve(const std::string& name, const std::string& memory, const std::string& max_memory) {
    RunFlags f;
    f.module_dir = module_;
    f.name = name;
    f.memory = memory;
    f.max_memory = max_memory;
    StatusOr<LocalRun> run = ResolveRun(f, std::nullopt, "/", std::chrono::system_clock::now());
    EXPECT_TRUE(run.ok()) << run.status();
    return *run;
  }

  RunEnd Run(
      const LocalRun& run, const std::function<bool()>& stop = [] { return false; }) {
    Progress progress(ProgressStyle::kLines, null_);
    StatusOr<RunEnd> end = RunLocally(run, fake_, progress, stop);
    EXPECT_TRUE(end.ok()) << end.status();
    return end.ok() ? *end : RunEnd{};
  }

  // status.yaml must say what the run returned: it is the status as the operator writes it.
  void ExpectStatusOnDisk(const LocalRun& run, const RunEnd& end) {
    StatusOr<json> loaded = LoadRunObject(run.run_dir);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ((*loaded)["status"], end.run["status"]);
    EXPECT_EQ((*loaded)["metadata"]["name"], run.name);
    EXPECT_EQ((*loaded)["spec"], run.object["spec"]);
  }

  std::string module_;
  std::FILE* null_ = nullptr;
  FakeExecutor fake_;
};

std::vector<json> Attempts(const json& status) {
  std::vector<json> out;
  for (const json& s : status["shards"]) {
    for (const json& a : s["attempts"]) out.push_back(a);
  }
  return out;
}

TEST_F(RunnerTest, AnOomKillIsRetriedWithMoreMemoryUntilEverythingPasses) {
  LocalRun run = Resolve("first", "256Mi", "1Gi");
  RunEnd end = Run(run);
  const json& status = end.run["status"];
  EXPECT_EQ(end.exit_code, kExitPassed) << status.dump(2);
  EXPECT_EQ(status["phase"], "Succeeded");
  EXPECT_EQ(status["observedGeneration"], 1);
  EXPECT_GE(status["oomKills"].get<int>(), 1);
  bool killed = false;
  for (const json& a : Attempts(status)) {
    if (a["outcome"] == "OOMKilled") {
      EXPECT_EQ(a["killedPackage"], "ex/big") << a.dump();
      EXPECT_EQ(a["phase"], "test-run");
      EXPECT_EQ(a["runningTest"], "TestBig");
      killed = true;
    }
    EXPECT_NE(a["outcome"], "Running");
    EXPECT_TRUE(a.contains("startTime") && a.contains("finishTime")) << a.dump();
  }
  EXPECT_TRUE(killed) << status.dump(2);
  // The package that was killed ran again alone, with more memory; the others once.
  int big_runs = 0;
  for (const policy::ShardPlan& p : fake_.plans) {
    if (std::find(p.packages.begin(), p.packages.end(), "ex/big") == p.packages.end()) continue;
    if (++big_runs > 1) {
      EXPECT_EQ(p.packages.size(), 1u);
      EXPECT_GT(p.memory, 256 * kMiB);
    }
  }
  EXPECT_GE(big_runs, 2);
  std::set<std::string> passed;
  for (const json& p : status["packages"]) {
    EXPECT_EQ(p["outcome"], "Succeeded") << p.dump();
    passed.insert(p["package"]);
  }
  EXPECT_EQ(passed, (std::set<std::string>{"ex/a", "ex/big", "ex/c"}));  // ex/notests has no tests
  ExpectStatusOnDisk(run, end);
  EXPECT_EQ(end.reports, (std::vector<std::string>{run.run_dir + "/report.html", run.run_dir + "/junit.xml"}));
  StatusOr<std::string> junit = ReadFile(run.run_dir + "/junit.xml", 1 << 20);
  ASSERT_TRUE(junit.ok()) << junit.status();
  EXPECT_THAT(*junit, HasSubstr("ex/big"));
  StatusOr<std::string> html = ReadFile(run.run_dir + "/report.html", 16 << 20);
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_THAT(*html, HasSubstr("first"));
  EXPECT_TRUE(fs::exists(run.run_dir + "/plan/packages.json"));
  EXPECT_TRUE(fs::exists(run.run_dir + "/s0/a1/result.json"));
  EXPECT_TRUE(end.run["metadata"].contains("uid"));
}

TEST_F(RunnerTest, TheNextRunIsPlannedFromTheMemoryHistory) {
  RunEnd first = Run(Resolve("first", "256Mi", "1Gi"));
  ASSERT_EQ(first.exit_code, kExitPassed);
  EXPECT_TRUE(fs::exists(HistoryFile(module_, LocalSuiteKey(Resolve("x", "256Mi", "1Gi").spec))));
  fake_.plans.clear();
  RunEnd second = Run(Resolve("second", "256Mi", "1Gi"));
  ASSERT_EQ(second.exit_code, kExitPassed);
  EXPECT_EQ(second.run["status"]["oomKills"], 0) << second.run["status"].dump(2);
  bool sized = false;
  for (const json& c : second.run["status"]["conditions"]) {
    if (c["type"] == "Succeeded" || c["type"] == "AtRisk") continue;
    EXPECT_EQ(c["type"], "MemoryGrowth");
    EXPECT_EQ(c["status"], "False");
  }
  for (const policy::ShardPlan& p : fake_.plans) {
    if (std::find(p.packages.begin(), p.packages.end(), "ex/big") != p.packages.end()) {
      EXPECT_GT(p.memory, 300 * kMiB);
      sized = true;
    }
  }
  EXPECT_TRUE(sized);
}

TEST_F(RunnerTest, WithoutHistoryEveryRunIsAFirstRun) {
  LocalRun run = Resolve("first", "256Mi", "1Gi");
  run.use_history = false;
  RunEnd first = Run(run);
  ASSERT_EQ(first.exit_code, kExitPassed);
  EXPECT_FALSE(fs::exists(module_ + "/.gotestrun/history"));
  for (const json& c : first.run["status"]["conditions"]) EXPECT_NE(c["type"], "MemoryGrowth");
  run = Resolve("second", "256Mi", "1Gi");
  run.use_history = false;
  RunEnd second = Run(run);
  EXPECT_EQ(second.run["status"]["oomKills"], first.run["status"]["oomKills"]);
}

TEST_F(RunnerTest, APackageThatCannotFitEndsTheRunWithExitCode3) {
  LocalRun run = Resolve("too-big", "256Mi", "280Mi");
  RunEnd end = Run(run);
  const json& status = end.run["status"];
  EXPECT_EQ(end.exit_code, kExitDoesNotFit) << status.dump(2);
  EXPECT_EQ(status["phase"], "Failed");
  bool found = false;
  for (const json& p : status["packages"]) {
    if (p["package"] == "ex/big") {
      EXPECT_EQ(p["outcome"], "OOMKilled");
      found = true;
    } else {
      EXPECT_EQ(p["outcome"], "Succeeded");
    }
  }
  EXPECT_TRUE(found);
  for (const policy::ShardPlan& p : fake_.plans) EXPECT_LE(p.memory, 280 * kMiB);
  ExpectStatusOnDisk(run, end);
}

TEST_F(RunnerTest, FailedTestsEndWithExitCode1AndAreNotRetried) {
  fake_.needs.clear();
  fake_.failing = {"ex/c"};
  RunEnd end = Run(Resolve("failing", "256Mi", "1Gi"));
  EXPECT_EQ(end.exit_code, kExitFailed);
  EXPECT_EQ(end.run["status"]["phase"], "Failed");
  EXPECT_EQ(fake_.plans.size(), 1u);
}

TEST_F(RunnerTest, StoppingEndsEveryAttemptAndSaysInterrupted) {
  fake_.block_until_stop = true;
  StatusOr<LocalRun> sharded = [&] {
    RunFlags flags;
    flags.module_dir = module_;
    flags.name = "stopped";
    flags.shards = "3";
    return ResolveRun(flags, std::nullopt, "/", std::chrono::system_clock::now());
  }();
  ASSERT_TRUE(sharded.ok());
  RunEnd end = Run(*sharded, [&] { return fake_.started.load() == 3; });
  const json& status = end.run["status"];
  EXPECT_EQ(end.exit_code, kExitInterrupted) << status.dump(2);
  EXPECT_EQ(status["phase"], "Failed");
  EXPECT_EQ(fake_.running.load(), 0);
  EXPECT_EQ(fake_.most_at_once.load(), 3);  // the shards ran at once
  bool interrupted = false;
  for (const json& c : status["conditions"]) interrupted |= c["reason"] == kInterruptedReason;
  EXPECT_TRUE(interrupted) << status.dump(2);
  std::vector<json> attempts = Attempts(status);
  ASSERT_EQ(attempts.size(), 3u);
  for (const json& a : attempts) {
    EXPECT_EQ(a["outcome"], "Failed");
    EXPECT_THAT(a["message"].get<std::string>(), HasSubstr("interrupted"));
  }
  ExpectStatusOnDisk(*sharded, end);
}

TEST_F(RunnerTest, PlanningThatFailsSaysWhy) {
  fake_.list_exit_code = 1;
  RunEnd end = Run(Resolve("noplan", "256Mi", "1Gi"));
  EXPECT_EQ(end.exit_code, kExitFailed);
  EXPECT_EQ(end.run["status"]["phase"], "Failed");
  EXPECT_THAT(end.run["status"]["message"].get<std::string>(), HasSubstr("go: cannot find main module"));
  EXPECT_THAT(fake_.plans, IsEmpty());
}

TEST_F(RunnerTest, NoPackagesWithTestsSucceeds) {
  fake_.packages.clear();
  RunEnd end = Run(Resolve("empty", "256Mi", "1Gi"));
  EXPECT_EQ(end.exit_code, kExitPassed);
  EXPECT_EQ(end.run["status"]["message"], "no packages with tests");
}

TEST_F(RunnerTest, ARunFolderIsNeverReused) {
  LocalRun run = Resolve("again", "256Mi", "1Gi");
  Run(run);
  Progress progress(ProgressStyle::kLines, null_);
  StatusOr<RunEnd> again = RunLocally(run, fake_, progress, [] { return false; });
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
}

// Shards at once are bounded by the machine: the sum of running limits, and one go
// command per CPU.
TEST_F(RunnerTest, ShardsAtOnceStayWithinTheMachinesBudget) {
  fake_.packages = {"ex/a", "ex/b", "ex/c", "ex/d"};
  fake_.needs.clear();
  fake_.hold = std::chrono::milliseconds(100);
  auto run_with = [&](const std::string& name, MachineBudget budget) {
    fake_.most_at_once = 0;
    RunFlags f;
    f.module_dir = module_;
    f.name = name;
    f.memory = "256Mi";
    f.shards = "4";
    f.no_history = true;
    StatusOr<LocalRun> run = ResolveRun(f, std::nullopt, "/", std::chrono::system_clock::now());
    EXPECT_TRUE(run.ok()) << run.status();
    run->budget = std::move(budget);
    RunEnd end = Run(*run);
    EXPECT_EQ(end.run["status"]["phase"], "Succeeded") << end.run["status"].dump(2);
    return fake_.most_at_once.load();
  };
  EXPECT_EQ(run_with("unbounded", LocalRun{}.budget), 4);
  EXPECT_EQ(run_with("memory", {.memory_bytes = 600 * kMiB, .go_commands = 8, .source = "600Mi"}), 2);
  EXPECT_EQ(run_with("cpus", {.memory_bytes = UINT64_MAX, .go_commands = 3, .source = "3 CPUs"}), 3);
}

// --out on a folder that holds files of its own (row 9): its report.html, junit.xml
// and status.yaml were overwritten. Refused, naming the folder and what is in it.
TEST_F(RunnerTest, AFolderThatIsNotARunIsNeverWrittenInto) {
  LocalRun run = Resolve("theirs", "256Mi", "1Gi");
  run.run_dir = module_ + "/site";
  fs::create_directories(run.run_dir);
  ASSERT_TRUE(WriteFileAtomic(run.run_dir + "/report.html", "<p>their report</p>").ok());
  ASSERT_TRUE(WriteFileAtomic(run.run_dir + "/junit.xml", "<testsuites/>").ok());
  ASSERT_TRUE(WriteFileAtomic(run.run_dir + "/status.yaml", "theirs: true\n").ok());
  Progress progress(ProgressStyle::kLines, null_);
  StatusOr<RunEnd> end = RunLocally(run, fake_, progress, [] { return false; });
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(end.status().message(), HasSubstr(run.run_dir + " is not empty and is not a run folder of gotestrun"));
  EXPECT_THAT(end.status().message(), HasSubstr("junit.xml, report.html, status.yaml"));
  EXPECT_EQ(*ReadFile(run.run_dir + "/report.html", 1 << 10), "<p>their report</p>");
  EXPECT_EQ(*ReadFile(run.run_dir + "/status.yaml", 1 << 10), "theirs: true\n");
  EXPECT_FALSE(fs::exists(run.run_dir + "/run.yaml"));
  EXPECT_EQ(fake_.started.load(), 0);
}

TEST_F(RunnerTest, AnEmptyFolderBecomesTheRunFolder) {
  LocalRun run = Resolve("empty-out", "256Mi", "1Gi");
  run.run_dir = module_ + "/empty-out";
  fs::create_directories(run.run_dir);
  RunEnd end = Run(run);
  EXPECT_EQ(end.exit_code, kExitPassed);
  ExpectStatusOnDisk(run, end);
}

// A run folder whose gotestrun was killed says Running for good (row 8): ended once its
// owner is gone, left alone while the owner lives or once the status is settled.
TEST_F(RunnerTest, ARunWhoseOwnerIsGoneIsEndedAsInterrupted) {
  LocalRun run = Resolve("owned", "256Mi", "1Gi");
  RunEnd end = Run(run);
  ASSERT_EQ(end.exit_code, kExitPassed);
  EXPECT_EQ(end.run["metadata"]["annotations"][kOwnerAnnotation], OwnerOfThisProcess());
  EXPECT_EQ(*EndAbandonedRun(run.run_dir), false);  // settled

  // The same folder as a killed run leaves it: attempts and the run still Running.
  json status = end.run["status"];
  status["phase"] = "Running";
  status.erase("completionTime");
  status["conditions"] = json::array();
  status["shards"][0]["attempts"][0]["outcome"] = "Running";
  ASSERT_TRUE(WriteStatusYaml(LocalRunLayout(run.run_dir), status).ok());
  EXPECT_EQ(*EndAbandonedRun(run.run_dir), false);  // its owner, this process, lives

  StatusOr<Subprocess> gone = Subprocess::Spawn({.argv = {"true"}});
  ASSERT_TRUE(gone.ok());
  const std::string dead_owner = std::to_string(gone->pid()) + " 12345";
  gone->Wait();
  json object = end.run;
  object.erase("status");
  object["metadata"]["annotations"][kOwnerAnnotation] = dead_owner;
  ASSERT_TRUE(WriteRunYaml(LocalRunLayout(run.run_dir), object).ok());
  StatusOr<bool> ended = EndAbandonedRun(run.run_dir);
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_TRUE(*ended);
  StatusOr<json> loaded = LoadRunObject(run.run_dir);
  ASSERT_TRUE(loaded.ok());
  const json& now = (*loaded)["status"];
  EXPECT_EQ(now["phase"], "Failed");
  EXPECT_THAT(now["message"].get<std::string>(), HasSubstr("pid " + std::to_string(gone->pid())));
  EXPECT_EQ(now["conditions"][0]["reason"], "Interrupted");
  EXPECT_EQ(now["shards"][0]["attempts"][0]["outcome"], "Failed");
  EXPECT_EQ(ExitCodeOf(now), kExitInterrupted);
  EXPECT_EQ(*EndAbandonedRun(run.run_dir), false);  // once
}

}  // namespace
}  // namespace gotestrun::cli
