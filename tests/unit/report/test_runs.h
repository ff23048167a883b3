// Run folders for the report tests: the committed one under testdata/run (see
// testdata/make_run.py), copies of it to damage, and runs built in memory.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "report/run_folder.h"

namespace gotestrun::report::testing {

inline std::string TestRunDir() { return std::string(REPORT_TESTDATA) + "/run"; }

// A temporary folder, removed with everything in it at the end of the scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gtr-report-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A copy of testdata/run in `dir`/run, to damage; returns its path.
inline std::string CopyTestRun(const TempDir& dir) {
  std::string to = dir.path() + "/run";
  std::filesystem::copy(TestRunDir(), to, std::filesystem::copy_options::recursive);
  return to;
}

inline void WriteText(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Names that try to break out of every context the report writes into.
inline const std::string kHostilePackage = "evil.example/</script><script>alert(1)</script>/p\"'&";
inline const std::string kHostileTest = "TestX/\"><svg onload=alert(2)>\xE2\x80\xA8</title>";
inline const std::string kHostileMessage =
    "killed </script><!-- <script>alert(3)</script> \xE2\x80\xA8\xE2\x80\xA9 & \x01\x1b[31m \xFF\xFE bad utf-8";

// A run built in memory whose every name and message is hostile.
inline LoadedRun HostileRun() {
  LoadedRun run;
  run.dir = "/tmp/<b>run</b>";
  run.name = "<img src=x onerror=alert(1)>";
  run.ns = "ns\"><script>alert(4)</script>";
  run.phase = "Failed";
  run.message = kHostileMessage;
  run.has_status = true;
  run.memory = "64Mi";
  run.max_memory = "128Mi";

  Attempt a;
  a.shard = 0;
  a.attempt = 1;
  a.in_status = true;
  a.status.memory = "64Mi";
  a.status.memory_bytes = 64u << 20;
  a.status.outcome = "OOMKilled";
  a.status.phase = "test-run";
  a.status.killed_package = kHostilePackage;
  a.status.running_test = kHostileTest;
  a.status.start_time = "2026-11-28T10:00:00Z";
  a.status.finish_time = "2026-11-28T10:00:04Z";
  a.status.message = kHostileMessage;
  a.evidence.path = "s0/a1";
  a.evidence.exists = true;
  const std::int64_t t0 = 1795860000000;
  for (int i = 0; i < 20; ++i) {
    a.evidence.memory.samples.push_back({t0 + 200 * i, static_cast<std::uint64_t>(3 * i) << 20, 64u << 20});
  }
  a.evidence.execs.push_back({kHostilePackage, {"x.test"}, t0 + 500, t0 + 3900, {-1, 9, false, 60u << 20}, {}, ""});
  a.evidence.has_events = true;
  gotest::PackageResult p;
  p.name = kHostilePackage;
  p.outcome = gotest::PackageOutcome::kKilled;
  gotest::TestResult passed;
  passed.name = kHostileTest + "/ok";
  passed.outcome = gotest::TestOutcome::kPass;
  passed.elapsed_seconds = 0.25;
  p.tests.push_back(std::move(passed));
  gotest::TestResult running;
  running.name = kHostileTest;
  running.outcome = gotest::TestOutcome::kNoResult;
  running.output.Add(kHostileMessage);
  p.tests.push_back(std::move(running));
  p.running_at_end = {kHostileTest};
  p.output.Add("signal: killed");
  p.output.Add(kHostileMessage);
  a.evidence.events.packages.push_back(std::move(p));
  run.shards.push_back({0, {kHostilePackage}, {}});
  run.shards[0].attempts.push_back(std::move(a));

  run.packages.push_back({kHostilePackage, "OOMKilled", 1, 0, 60u << 20});
  Diagnosis d;
  d.package = kHostilePackage;
  d.phase = "test-run";
  d.cause = "LeakAcrossTests<script>";
  d.summary = kHostileMessage;
  d.evidence = {kHostileMessage, "<b>bold</b>"};
  d.action = "DoesNotFit";
  HeapTop heap;
  heap.profile = "s0/a1/heap/x/0001.pb.gz";
  heap.seq = 1;
  heap.total_inuse_bytes = 50 << 20;
  heap.function_count = 1;
  heap.sites.push_back({"main.(*T).</script>", "/src/<x>.go", 12, 50 << 20, 50 << 20});
  d.heap = std::move(heap);
  run.diagnoses.push_back(std::move(d));
  run.retry_log.push_back({kHostilePackage,
                           0,
                           1,
                           64u << 20,
                           2,
                           2,
                           {},
                           60u << 20,
                           "killed",
                           "test-run",
                           "LeakAcrossTests",
                           true,
                           "DoesNotFit"});
  run.skipped.push_back({"s0/a1/<memory>.tsv", kHostileMessage});
  return run;
}

}  // namespace gotestrun::report::testing
