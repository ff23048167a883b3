// How often the diagnosis names the right cause: the real agent runs each package of
// tests/fixtures/memory alone, inside the real sandbox (a memory cgroup with a limit),
// so that the kernel OOM-kills the pathological ones; then ReadPackageSignals and
// Classify read the attempt folder it left. Every pathology must be named as its
// fixture intends and every clean package must get no diagnosis. A table of package /
// expected / got / summary is printed.
//
// The limits (tests/fixtures/memory/README.md has the measured peaks, on 2 cores):
//  - 200 MiB for leak (325 MiB peak), largetest (355), goroutineleak (258), nativemem
//    (326) and initmem (305): each needs well over the limit, so each is killed at the
//    point its pathology shows, whatever the timing.
//  - parallelspike peaks at 165 MiB with the default -parallel 2, under 200: it runs
//    with --parallel 8 (~40 MiB x 8 live), killed with 8 tests running.
//  - gcheadroom keeps ~180 MiB live and a GC goal of ~360: under 300 MiB the live heap
//    fits and the goal does not (README: killed under 300 MiB with GOGC=100 in every
//    run, passes there with GOMEMLIMIT).
//  - compileheavy's compile peaks at ~450 MiB: 200 MiB kills it. A -gcflags only this
//    run uses keeps the compile out of the build cache, so it really runs.
//  - the clean packages get 512 MiB: they need ~4.
// Runs are sequential (the machine has 2 cores shared with other builds) and the
// build cache is warmed outside any limit first, so that only the test binaries (and
// compileheavy's compile) meet the limit. Heap snapshots every 10 ms give the
// classifier several looks at each binary before its kill.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/files.h"
#include "core/evidence/evidence.h"
#include "sandbox/child_process.h"
#include "core/diagnosis/cause/classify.h"
#include "core/diagnosis/cause/signals.h"
#include "core/policy/retry.h"
#include "sandbox/sandbox.h"

namespace gotestrun::cause {
namespace {

namespace fs = std::filesystem;
using policy::Cause;
using policy::PackageResult;
using sandbox::ExitInfo;
using sandbox::Subprocess;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
const std::string kFixture = std::string(GTR_FIXTURES_DIR) + "/memory";
const std::string kModule = "gotestrun.dev/fixtures/memory/";
const std::vector<std::string> kGoEnv = {"GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "CGO_ENABLED=1"};

struct Row {
  std::string package;  // under the module
  std::uint64_t limit_mib = 0;
  std::vector<std::string> flags;  // more agent flags
  std::optional<Cause> expected;   // nullopt: a clean package, no diagnosis
};

std::vector<Row> Rows() {
  // Unique per run: the compile of compileheavy must never come from the build cache.
  const std::string unique = "/gotestrun-accuracy-" + std::to_string(::getpid()) + "-" +
                             std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  return {
      {"leak", 200, {}, Cause::kLeakAcrossTests},
      {"parallelspike", 200, {"--parallel", "8"}, Cause::kParallelSpike},
      {"largetest", 200, {}, Cause::kLargeTest},
      {"goroutineleak", 200, {}, Cause::kGoroutineLeak},
      {"nativemem", 200, {}, Cause::kNativeMemory},
      {"initmem", 200, {}, Cause::kInitMemory},
      {"gcheadroom", 300, {}, Cause::kGcHeadroom},
      {"compileheavy", 200, {"--flag", "-gcflags=" + kModule + "compileheavy=-D=" + unique}, Cause::kBuildMemory},
      {"clean/a", 512, {}, std::nullopt},
      {"clean/b", 512, {}, std::nullopt},
      {"clean/c", 512, {}, std::nullopt},
      {"clean/d", 512, {}, std::nullopt},
  };
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "diagnosis-accuracy-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    if (std::getenv("GOTESTRUN_KEEP_ACCURACY") == nullptr) fs::remove_all(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Name(std::optional<Cause> cause) { return cause ? std::string(policy::CauseName(*cause)) : "(none)"; }

std::string Tail(const std::string& path) {
  StatusOr<std::string> text = ReadFile(path, 64 << 20);
  if (!text.ok()) return "";
  return text->substr(text->size() > 3000 ? text->size() - 3000 : 0);
}

// Builds every test binary but compileheavy's once, outside any limit.
void WarmBuildCache(const std::string& log) {
  std::vector<std::string> argv = {"go", "test", "-count=1", "-run", "^$"};
  for (const Row& row : Rows()) {
    if (row.package != "compileheavy") argv.push_back("./" + row.package);
  }
  StatusOr<Subprocess> go =
      Subprocess::Spawn({.argv = argv, .extra_env = kGoEnv, .working_dir = kFixture, .output_file = log});
  ASSERT_TRUE(go.ok()) << go.status();
  const std::optional<ExitInfo> end = go->Wait(std::chrono::minutes(10));
  ASSERT_TRUE(end.has_value()) << "go test -run ^$ did not finish";
  ASSERT_EQ(end->exit_code, 0) << Tail(log);
}

TEST(DiagnosisAccuracyTest, EveryFixtureIsNamedRight) {
  sandbox::Sandbox sandbox;
  ASSERT_NE(sandbox.enforcement(), sandbox::MemoryEnforcement::kRssWatch)
      << "this test needs a memory cgroup it can make children in, for real kernel OOM kills: "
      << sandbox.enforcement_note();
  TempDir tmp;
  WarmBuildCache(tmp.path() + "/warm.log");
  if (HasFatalFailure()) return;

  struct Outcome {
    Row row;
    std::string got = "(not run)";
    std::string result;
    std::string summary;
    double seconds = 0;
    bool right = false;
  };
  std::vector<Outcome> outcomes;
  const auto all_start = std::chrono::steady_clock::now();
  for (const Row& row : Rows()) {
    SCOPED_TRACE(row.package);
    Outcome& out = outcomes.emplace_back(Outcome{.row = row});
    std::string folder = row.package;
    std::replace(folder.begin(), folder.end(), '/', '_');
    const std::string dir = tmp.path() + "/" + folder;
    std::vector<std::string> argv = {GTR_AGENT_BIN,     "run",  "--dir",  dir,       "--module-dir", kFixture,
                                     "--heap-interval", "10ms", "--flag", "-count=1"};
    argv.insert(argv.end(), row.flags.begin(), row.flags.end());
    argv.push_back("./" + row.package);
    const auto start = std::chrono::steady_clock::now();
    StatusOr<sandbox::RunResult> run = sandbox.Run({.argv = argv,
                                                    .env = kGoEnv,
                                                    .working_dir = kFixture,
                                                    .output_file = dir + ".log",
                                                    .memory_limit_bytes = row.limit_mib * kMiB,
                                                    .timeout = std::chrono::minutes(5),
                                                    // stall/ leaves a 160 MiB file when killed
                                                    .private_tmp = true});
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_FALSE(run->timed_out) << Tail(dir + ".log");
    // The pathological ones must end at their limit, the clean ones must not: met by the
    // kernel's OOM killer or, on a loaded machine, stalled there (cgroup v1 reclaims the
    // binary's own pages and the kernel thrashes rather than kills) and ended by the
    // agent's stall watch, which says so in result.json. Either way the evidence is the
    // same kill's, and the cause below must be right.
    StatusOr<std::string> result_text = ReadFile(evidence::AttemptLayout(dir).result(), evidence::kMaxResultBytes);
    StatusOr<evidence::AttemptResult> result = result_text.ok()
                                                   ? evidence::DecodeAttemptResult(*result_text)
                                                   : StatusOr<evidence::AttemptResult>(result_text.status());
    const bool stalled = result.ok() && result->memory_stall.has_value();
    EXPECT_EQ(run->oom_killed || stalled, row.expected.has_value()) << run->ToString() << "\n" << Tail(dir + ".log");

    StatusOr<PackageSignals> signals = ReadPackageSignals(dir, kModule + row.package);
    if (!signals.ok()) {
      ADD_FAILURE() << "ReadPackageSignals: " << signals.status() << "\n" << Tail(dir + ".log");
      continue;
    }
    out.result = std::string(policy::PackageResultName(signals->result));
    if (row.expected) {
      EXPECT_TRUE(signals->result == PackageResult::kKilled || signals->result == PackageResult::kBuildKilled)
          << out.result;
    } else {
      EXPECT_EQ(signals->result, PackageResult::kPassed);
    }
    const std::optional<Diagnosis> d = Classify(*signals);
    out.got = d ? Name(d->cause) : Name(std::nullopt);
    out.summary = d ? d->summary : "";
    out.right = d.has_value() == row.expected.has_value() && (!d || d->cause == *row.expected);
    EXPECT_TRUE(out.right) << "expected " << Name(row.expected) << ", got " << out.got << ": " << out.summary;
    if (d && !out.right) {
      for (const std::string& line : d->evidence) std::cerr << "  | " << line << "\n";
    }
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - all_start).count();

  int right = 0;
  std::printf("\n%-14s %6s %-16s %-16s %-12s %6s  %s\n", "package", "limit", "expected", "got", "result", "secs",
              "summary");
  for (const Outcome& o : outcomes) {
    right += o.right ? 1 : 0;
    std::printf("%-14s %4lluMi %-16s %-16s %-12s %6.1f  %s%s\n", o.row.package.c_str(),
                static_cast<unsigned long long>(o.row.limit_mib), Name(o.row.expected).c_str(), o.got.c_str(),
                o.result.c_str(), o.seconds, o.right ? "" : "WRONG: ", o.summary.c_str());
  }
  std::printf("%d of %zu right; %.1f s for the runs\n\n", right, outcomes.size(), total);
  std::fflush(stdout);
}

}  // namespace
}  // namespace gotestrun::cause
