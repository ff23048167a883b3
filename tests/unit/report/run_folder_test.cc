#include "report/run_folder.h"

#include <sys/stat.h>

#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/api/yaml_json.h"
#include "base/files.h"
#include "base/timestamps.h"
#include "report/final_results.h"
#include "report/html.h"
#include "report/junit.h"
#include "tests/unit/report/test_runs.h"

namespace gotestrun::report {
namespace {

using ::testing::Contains;
using testing::CopyTestRun;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Optional;
using ::testing::SizeIs;
using testing::TempDir;
using testing::TestRunDir;
using testing::WriteText;

const std::string kMod = "gotestrun.dev/fixtures/memory/";
const std::string kLeakDir = "gotestrun.dev_fixtures_memory_leak";

const Attempt* Find(const LoadedRun& run, int shard, int attempt) {
  for (const Shard& s : run.shards) {
    for (const Attempt& a : s.attempts) {
      if (a.shard == shard && a.attempt == attempt) return &a;
    }
  }
  return nullptr;
}

std::vector<std::string> SkippedPaths(const LoadedRun& run) {
  std::vector<std::string> paths;
  for (const SkippedFile& s : run.skipped) paths.push_back(s.path);
  return paths;
}

std::int64_t Ms(const char* rfc3339) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(ParseRfc3339(rfc3339)->time_since_epoch()).count();
}

TEST(LoadRunFolder, ReadsTheRunAndItsStatus) {
  auto run = LoadRunFolder(TestRunDir());
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(run->skipped, IsEmpty());
  EXPECT_EQ(run->name, "ledger");
  EXPECT_EQ(run->ns, "ci");
  EXPECT_EQ(run->image, "golang:1.26");
  EXPECT_EQ(run->memory, "192Mi");
  EXPECT_EQ(run->max_memory, "320Mi");
  EXPECT_THAT(run->patterns, ElementsAre("./..."));
  EXPECT_TRUE(run->has_status);
  EXPECT_EQ(run->phase, "Failed");
  EXPECT_THAT(run->message, HasSubstr("2 of 5 package(s) failed"));
  EXPECT_EQ(run->oom_kills, 4);
  ASSERT_THAT(run->conditions, SizeIs(1));
  EXPECT_EQ(run->conditions[0].reason, "PackagesFailed");
  EXPECT_THAT(run->plan, SizeIs(5));
  EXPECT_THAT(run->packages, SizeIs(5));
  EXPECT_THAT(run->retry_log, SizeIs(8));

  ASSERT_THAT(run->shards, SizeIs(2));
  EXPECT_EQ(run->shards[0].index, 0);
  EXPECT_THAT(run->shards[0].packages, ElementsAre(kMod + "leak"));
  ASSERT_THAT(run->shards[0].attempts, SizeIs(3));
  ASSERT_THAT(run->shards[1].attempts, SizeIs(2));
  const Attempt& a = run->shards[0].attempts[1];
  EXPECT_TRUE(a.in_status);
  EXPECT_EQ(a.attempt, 2);
  EXPECT_EQ(a.status.memory, "288Mi");
  EXPECT_THAT(a.status.memory_bytes, Optional(288ull << 20));
  EXPECT_THAT(a.status.parallel, Optional(2));
  EXPECT_EQ(a.status.outcome, "OOMKilled");
  EXPECT_EQ(a.status.killed_package, kMod + "leak");
  EXPECT_EQ(a.status.running_test, "TestReports");
  EXPECT_EQ(a.status.pod, "ledger-s0-a2");
  EXPECT_THAT(run->shards[1].attempts[0].status.parallel, Optional(8));
}

TEST(LoadRunFolder, ReadsEachAttemptsEvidence) {
  auto run = LoadRunFolder(TestRunDir());
  ASSERT_TRUE(run.ok()) << run.status();

  const Attempt* s0a1 = Find(*run, 0, 1);
  ASSERT_NE(s0a1, nullptr);
  EXPECT_EQ(s0a1->evidence.path, "s0/a1");
  EXPECT_TRUE(s0a1->evidence.exists);
  EXPECT_THAT(s0a1->evidence.memory.samples, SizeIs(27));
  EXPECT_EQ(s0a1->evidence.memory.source, "cgroup2\t/sys/fs/cgroup/kubepods/pod-run/gotestrun");
  EXPECT_THAT(s0a1->evidence.memory.samples.front().limit_bytes, Optional(192ull << 20));
  ASSERT_THAT(s0a1->evidence.execs, SizeIs(2));
  EXPECT_EQ(s0a1->evidence.execs[0].package, kMod + "clean/a");  // by start time
  EXPECT_EQ(s0a1->evidence.execs[1].end.signal, 9);
  ASSERT_TRUE(s0a1->evidence.result.has_value());
  EXPECT_THAT(s0a1->evidence.result->packages, SizeIs(2));
  ASSERT_TRUE(s0a1->evidence.has_events);
  const gotest::PackageResult* leak = s0a1->evidence.events.FindPackage(kMod + "leak");
  ASSERT_NE(leak, nullptr);
  EXPECT_EQ(leak->outcome, gotest::PackageOutcome::kKilled);
  EXPECT_THAT(leak->running_at_end, ElementsAre("TestPayments"));

  // The container kill: no result.json, no exec record, both streams cut mid-line.
  const Attempt* s0a3 = Find(*run, 0, 3);
  ASSERT_NE(s0a3, nullptr);
  EXPECT_FALSE(s0a3->evidence.result.has_value());
  EXPECT_THAT(s0a3->evidence.execs, IsEmpty());
  EXPECT_EQ(s0a3->evidence.memory.malformed_lines, 1u);
  EXPECT_EQ(s0a3->evidence.events.stats.malformed_lines, 1u);
  ASSERT_EQ(s0a3->evidence.heap_profiles.count(kMod + "leak"), 1u);
  EXPECT_THAT(s0a3->evidence.heap_profiles.at(kMod + "leak"), SizeIs(4));
  EXPECT_THAT(s0a3->evidence.heap_snapshots.at(kMod + "leak"), SizeIs(4));

  EXPECT_THAT(AttemptStartUnixMs(*s0a1), Optional(Ms("2026-11-28T10:00:05Z")));
  EXPECT_THAT(AttemptEndUnixMs(*s0a1), Optional(Ms("2026-11-28T10:00:10Z")));
}

TEST(LoadRunFolder, DiagnosisGetsTheTopSitesOfTheLastHeapProfile) {
  auto run = LoadRunFolder(TestRunDir());
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_THAT(run->diagnoses, SizeIs(1));
  const Diagnosis& d = run->diagnoses[0];
  EXPECT_EQ(d.package, kMod + "leak");
  EXPECT_EQ(d.cause, "LeakAcrossTests");
  EXPECT_EQ(d.phase, "test-run");
  EXPECT_EQ(d.action, "DoesNotFit");
  EXPECT_THAT(d.evidence, SizeIs(4));
  ASSERT_TRUE(d.heap.has_value());
  EXPECT_EQ(d.heap->profile, "s0/a3/heap/" + kLeakDir + "/0004.pb.gz");
  EXPECT_EQ(d.heap->seq, 4u);
  ASSERT_TRUE(d.heap->snapshot.has_value());
  EXPECT_EQ(d.heap->snapshot->seq, 4u);
  ASSERT_THAT(d.heap->sites, Not(IsEmpty()));
  EXPECT_EQ(d.heap->sites[0].function, kMod + "leak.remember");
  EXPECT_THAT(d.heap->sites[0].filename, HasSubstr("leak.go"));
  EXPECT_GT(d.heap->sites[0].flat_bytes, d.heap->total_inuse_bytes * 9 / 10);
  for (const AllocationSite& s : d.heap->sites) EXPECT_GT(s.flat_bytes, 0) << s.function;
  EXPECT_GE(d.heap->function_count, d.heap->sites.size());
}

TEST(LoadRunFolder, AttemptsInOrderFollowsStartTimes) {
  auto run = LoadRunFolder(TestRunDir());
  ASSERT_TRUE(run.ok()) << run.status();
  std::vector<std::string> order;
  for (const Attempt* a : run->AttemptsInOrder()) order.push_back(a->evidence.path);
  EXPECT_THAT(order, ElementsAre("s0/a1", "s1/a1", "s1/a2", "s0/a2", "s0/a3"));
}

TEST(LoadRunFolder, FinalResultsJoinStatusAndEvidence) {
  auto run = LoadRunFolder(TestRunDir());
  ASSERT_TRUE(run.ok()) << run.status();
  std::vector<FinalResult> results = FinalResults(*run);
  ASSERT_THAT(results, SizeIs(5));
  EXPECT_EQ(results[3].package, kMod + "leak");
  EXPECT_EQ(results[3].outcome, "OOMKilled");
  EXPECT_TRUE(results[3].killed);
  EXPECT_FALSE(results[3].passed_once);
  EXPECT_EQ(results[3].running_test, "TestReports");
  ASSERT_NE(results[3].attempt, nullptr);
  EXPECT_EQ(results[3].attempt->evidence.path, "s0/a3");
  EXPECT_NE(results[3].diagnosis, nullptr);
  EXPECT_EQ(results[4].package, kMod + "parallelspike");
  EXPECT_EQ(results[4].attempt->evidence.path, "s1/a2");
  EXPECT_FALSE(results[4].killed);
  EXPECT_TRUE(results[4].passed_once);
}

TEST(LoadRunFolder, NotAFolderIsNotFound) {
  EXPECT_EQ(LoadRunFolder("/nonexistent/run").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(LoadRunFolder(TestRunDir() + "/run.yaml").status().code(), StatusCode::kNotFound);
}

TEST(LoadRunFolder, CorruptEvidenceFilesAreNotedAndSkipped) {
  TempDir tmp;
  std::string dir = CopyTestRun(tmp);
  WriteText(dir + "/s0/a1/result.json", "{\"version\": 1, \"packages\": [");
  WriteText(dir + "/s0/a1/exec/gotestrun.dev_fixtures_memory_leak.json", "\x1f\x8b garbage");
  WriteText(dir + "/s1/a1/memory.tsv", "not\ta\ttimeline\nat all\n");
  WriteText(dir + "/s0/a2/memory.tsv", "#source\tcgroup2\t/x\n1\t2\t3\nbad\nworse\n4\t5\tmax\n");
  WriteText(dir + "/s0/a3/heap/" + kLeakDir + "/0004.pb.gz", "\x1f\x8b\x08\x00 not really gzip");
  WriteText(dir + "/s0/a3/heap/" + kLeakDir + "/snapshots.tsv", "zzz\n");
  WriteText(dir + "/plan/packages.json", "{");

  auto run = LoadRunFolder(dir);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(SkippedPaths(*run), ::testing::UnorderedElementsAre(
                                      "s0/a1/result.json", "s0/a1/exec/gotestrun.dev_fixtures_memory_leak.json",
                                      "s1/a1/memory.tsv", "s0/a2/memory.tsv", "s0/a3/heap/" + kLeakDir + "/0004.pb.gz",
                                      "s0/a3/heap/" + kLeakDir + "/snapshots.tsv", "plan/packages.json"));
  for (const SkippedFile& s : run->skipped) EXPECT_FALSE(s.reason.empty()) << s.path;

  const Attempt* s0a1 = Find(*run, 0, 1);
  EXPECT_FALSE(s0a1->evidence.result.has_value());
  EXPECT_THAT(s0a1->evidence.execs, SizeIs(1));  // clean/a's record still read
  EXPECT_THAT(s0a1->evidence.memory.samples, SizeIs(27));
  EXPECT_THAT(Find(*run, 0, 2)->evidence.memory.samples, SizeIs(2));
  EXPECT_THAT(Find(*run, 1, 1)->evidence.memory.samples, IsEmpty());
  // The last profile does not read: the one before it is used.
  ASSERT_TRUE(run->diagnoses[0].heap.has_value());
  EXPECT_EQ(run->diagnoses[0].heap->seq, 3u);
  EXPECT_FALSE(run->diagnoses[0].heap->snapshot.has_value());

  // And a report can still be written.
  EXPECT_THAT(RenderHtmlReport(*run), HasSubstr("s0/a1/result.json"));
  EXPECT_THAT(RenderJUnit(*run), HasSubstr("<testsuites"));
}

TEST(LoadRunFolder, CorruptStatusFallsBackToTheAttemptFolders) {
  TempDir tmp;
  std::string dir = CopyTestRun(tmp);
  WriteText(dir + "/status.yaml", "phase: [Failed\n  shards: {");
  WriteText(dir + "/run.yaml", "- just\n- a list\n");

  auto run = LoadRunFolder(dir);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(SkippedPaths(*run), ElementsAre("run.yaml", "status.yaml"));
  EXPECT_FALSE(run->has_status);
  EXPECT_EQ(run->name, "run");  // the folder's name
  ASSERT_THAT(run->shards, SizeIs(2));
  EXPECT_THAT(run->shards[0].attempts, SizeIs(3));
  EXPECT_THAT(run->shards[1].attempts, SizeIs(2));
  for (const Shard& s : run->shards) {
    for (const Attempt& a : s.attempts) {
      EXPECT_FALSE(a.in_status);
      EXPECT_TRUE(a.evidence.exists);
    }
  }
  // Packages and their outcomes come from the evidence alone.
  std::vector<FinalResult> results = FinalResults(*run);
  EXPECT_THAT(results, SizeIs(5));
  for (const FinalResult& r : results) {
    if (r.package == kMod + "leak") {
      EXPECT_EQ(r.outcome, "OOMKilled");
    } else if (r.package == kMod + "clean/b") {
      EXPECT_EQ(r.outcome, "TestsFailed");
    } else if (r.package == kMod + "parallelspike") {
      EXPECT_EQ(r.outcome, "Succeeded");
    }
  }
  EXPECT_THAT(RenderHtmlReport(*run), HasSubstr("data-chart=\"memory\""));
}

TEST(LoadRunFolder, NoStatusAtAll) {
  TempDir tmp;
  std::string dir = CopyTestRun(tmp);
  std::filesystem::remove(dir + "/status.yaml");
  auto run = LoadRunFolder(dir);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(run->skipped, IsEmpty());  // missing is not corrupt
  EXPECT_EQ(run->name, "ledger");
  EXPECT_FALSE(run->has_status);
  EXPECT_THAT(run->shards, SizeIs(2));
}

TEST(LoadRunFolder, NeverOpensAFifoForReading) {
  TempDir tmp;
  std::string dir = CopyTestRun(tmp);
  std::filesystem::remove(dir + "/s0/a1/events.jsonl");
  ASSERT_EQ(::mkfifo((dir + "/s0/a1/events.jsonl").c_str(), 0600), 0);
  std::filesystem::remove(dir + "/s0/a2/result.json");
  ASSERT_EQ(::mkfifo((dir + "/s0/a2/result.json").c_str(), 0600), 0);

  auto run = LoadRunFolder(dir);  // would block forever on an open or read of a FIFO
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(SkippedPaths(*run), ElementsAre("s0/a1/events.jsonl", "s0/a2/result.json"));
  EXPECT_THAT(run->skipped[0].reason, HasSubstr("not a regular file"));
  EXPECT_FALSE(Find(*run, 0, 1)->evidence.has_events);
}

TEST(LoadRunFolder, FilesOverTheirCapAreRefusedOrReadFromTheEnd) {
  LoadLimits limits;
  limits.max_memory_bytes = 100;
  limits.max_events_bytes = 600;
  auto run = LoadRunFolder(TestRunDir(), limits);
  ASSERT_TRUE(run.ok()) << run.status();
  const Attempt* s0a1 = Find(*run, 0, 1);
  EXPECT_THAT(s0a1->evidence.memory.samples, IsEmpty());
  EXPECT_THAT(SkippedPaths(*run), Contains("s0/a1/memory.tsv"));
  EXPECT_THAT(SkippedPaths(*run), Contains("s0/a1/events.jsonl"));
  // The end of the stream was read: the kill is there.
  const gotest::PackageResult* leak = s0a1->evidence.events.FindPackage(kMod + "leak");
  ASSERT_NE(leak, nullptr);
  EXPECT_EQ(leak->outcome, gotest::PackageOutcome::kKilled);
  EXPECT_LE(s0a1->evidence.events.stats.bytes, 600u);
}

TEST(LoadRunFolder, OperatorFormTakesTheObject) {
  auto run_yaml = ReadFile(TestRunDir() + "/run.yaml");
  auto status_yaml = ReadFile(TestRunDir() + "/status.yaml");
  ASSERT_TRUE(run_yaml.ok() && status_yaml.ok());
  auto object = api::YamlToJson(*run_yaml);
  auto status = api::YamlToJson(*status_yaml);
  ASSERT_TRUE(object.ok() && status.ok());
  (*object)["status"] = *status;

  TempDir tmp;
  std::string dir = CopyTestRun(tmp);
  // The profiles volume holds only the attempt folders.
  std::filesystem::remove(dir + "/run.yaml");
  std::filesystem::remove(dir + "/status.yaml");
  auto run = LoadRunFolder(dir, *object);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->name, "ledger");
  EXPECT_EQ(run->phase, "Failed");
  EXPECT_TRUE(Find(*run, 0, 3)->in_status);
  EXPECT_TRUE(run->diagnoses[0].heap.has_value());
}

TEST(LoadRunFolder, AttemptFoldersOutsideTheStatusAreKept) {
  TempDir tmp;
  std::string dir = CopyTestRun(tmp);
  std::filesystem::copy(dir + "/s1/a2", dir + "/s1/a3", std::filesystem::copy_options::recursive);
  std::filesystem::create_directories(dir + "/s7/a1");
  std::filesystem::create_directories(dir + "/sx/a1");  // not an attempt folder
  std::filesystem::create_directories(dir + "/s1/b2");
  auto run = LoadRunFolder(dir);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_THAT(run->shards, SizeIs(3));
  EXPECT_THAT(run->shards[1].attempts, SizeIs(3));
  EXPECT_FALSE(run->shards[1].attempts[2].in_status);
  EXPECT_TRUE(run->shards[1].attempts[2].evidence.result.has_value());
  EXPECT_EQ(run->shards[2].index, 7);
  EXPECT_TRUE(run->shards[2].attempts[0].evidence.exists);
}

}  // namespace
}  // namespace gotestrun::report
