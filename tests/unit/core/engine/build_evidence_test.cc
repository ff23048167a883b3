// A container killed while go test was still building, read from the build log the
// toolexec wrapper left (build.jsonl): the compile or link steps that had started and
// not ended name the package, so the policy gets a build kill instead of a blind split.
#include <filesystem>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/files.h"
#include "base/status.h"
#include "core/engine/attempt_evidence.h"
#include "core/evidence/evidence.h"

namespace gotestrun::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::uint64_t kMiB = 1 << 20;

class BuildEvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "gtr-build-evidence-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    ASSERT_TRUE(layout().Create().ok());
    plan_.packages = {"example.com/a", "example.com/b", "example.com/c"};
    plan_.memory = 300 * kMiB;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  evidence::AttemptLayout layout() const { return evidence::AttemptLayout(dir_); }

  // A step as the wrapper logs it: a start line, and an end line unless `end_ms` is 0.
  void Step(const std::string& tool, const std::string& package, std::int64_t pid, std::int64_t start_ms,
            std::int64_t end_ms = 0, int signal = 0, std::uint64_t max_rss = 0) {
    evidence::BuildRecord r{
        .tool = tool, .package = package, .import_path = package, .pid = pid, .start_unix_ms = start_ms};
    log_ += evidence::EncodeBuildRecord(r);
    if (end_ms == 0) return;
    r.event = evidence::BuildEvent::kEnd;
    r.end_unix_ms = end_ms;
    r.end = evidence::BinaryEnd{.exit_code = signal == 0 ? 0 : -1, .signal = signal, .max_rss_bytes = max_rss};
    log_ += evidence::EncodeBuildRecord(r);
  }
  void Write() {
    ASSERT_TRUE(WriteFileAtomic(layout().build_log(), log_).ok());
    std::string mem = evidence::FormatMemoryHeader("cgroup2\t/sys/fs/cgroup/x");
    for (int i = 0; i <= 10; ++i) {
      mem += evidence::FormatMemorySample(
          {.unix_ms = kT0 + 1000 * i + 12300, .usage_bytes = (200 + 9 * i) * kMiB, .limit_bytes = 300 * kMiB});
    }
    ASSERT_TRUE(WriteFileAtomic(layout().memory(), mem).ok());
  }
  // The exec wrapper makes heap/<pkg>/ just before it starts the binary; an empty
  // folder keeps that time.
  void StartedAt(const std::string& package, std::int64_t unix_ms) {
    const fs::path heap = layout().heap_dir(package);
    fs::create_directories(heap);
    fs::last_write_time(heap, std::chrono::file_clock::from_sys(
                                  std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms))));
  }
  std::map<std::string, const policy::PackageOutcome*> ByPackage(const AttemptFindings& ev) {
    std::map<std::string, const policy::PackageOutcome*> out;
    for (const policy::PackageOutcome& po : ev.outcome.packages) out[po.package] = &po;
    return out;
  }

  std::string dir_;
  std::string log_;
  policy::ShardPlan plan_;
};

TEST_F(BuildEvidenceTest, OneCompileRunningAtTheKillIsABuildKillOfItsPackage) {
  Step("compile", "math/big", 10, kT0 - 5000, kT0 - 4000, 0, 40 * kMiB);
  Step("compile", "example.com/a", 11, kT0 - 3000, kT0 - 2000, 0, 60 * kMiB);
  Step("link", "example.com/a", 12, kT0 - 1900, kT0 - 1000, 0, 90 * kMiB);
  Step("compile", "example.com/b", 13, kT0);  // the last memory sample is 22.3 s later
  Write();

  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.oom_killed = true, .exit_code = 137});
  EXPECT_EQ(ev.killed_package, "example.com/b");
  EXPECT_EQ(ev.phase, "compile");
  EXPECT_TRUE(ev.suspects.empty());
  EXPECT_EQ(ev.outcome.binaries_at_kill, 1);
  auto by = ByPackage(ev);
  ASSERT_TRUE(by.contains("example.com/b"));
  EXPECT_EQ(by["example.com/b"]->result, policy::PackageResult::kBuildKilled);
  EXPECT_EQ(by["example.com/b"]->phase, policy::Phase::kCompile);
  // Alone in the build at the kill: the cgroup's peak is its peak.
  EXPECT_EQ(by["example.com/b"]->peak, 290 * kMiB);
  EXPECT_FALSE(by.contains("example.com/c"));
  EXPECT_THAT(ev.message,
              HasSubstr("the container was OOM-killed while compiling example.com/b (started 22.3 s before the kill)"));
  EXPECT_THAT(ev.message, HasSubstr("BuildMemory"));
  ASSERT_EQ(ev.diagnoses.size(), 1u);
  EXPECT_EQ(ev.diagnoses[0].package, "example.com/b");
  EXPECT_EQ(ev.diagnoses[0].cause, policy::Cause::kBuildMemory);
  EXPECT_EQ(ev.diagnoses[0].phase, policy::Phase::kCompile);
  EXPECT_THAT(ev.diagnoses[0].evidence,
              Contains(HasSubstr("compile of example.com/b ran 22.3 s, max RSS unknown (killed)")));
  // What building a took, for the memory history; b never finished, math/big is not planned.
  EXPECT_EQ(ev.build_peaks, (std::map<std::string, std::uint64_t>{{"example.com/a", 90 * kMiB}}));
}

TEST_F(BuildEvidenceTest, AKilledStepItsWrapperRecordedGivesItsOwnPeak) {
  Step("compile", "example.com/gen", 10, kT0 - 1000);  // a dependency, still running
  Step("link", "example.com/c", 11, kT0, kT0 + 8100, 9, 475 * kMiB);
  Write();
  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.oom_killed = true, .exit_code = 137});
  EXPECT_EQ(ev.killed_package, "example.com/c");
  EXPECT_EQ(ev.phase, "link");
  EXPECT_EQ(ev.outcome.binaries_at_kill, 2);
  auto by = ByPackage(ev);
  ASSERT_TRUE(by.contains("example.com/c"));
  EXPECT_EQ(by["example.com/c"]->result, policy::PackageResult::kBuildKilled);
  EXPECT_EQ(by["example.com/c"]->phase, policy::Phase::kLink);
  EXPECT_EQ(by["example.com/c"]->peak, 475 * kMiB);
  EXPECT_THAT(ev.message, HasSubstr("while 2 build steps ran: compiling example.com/gen (started 23.3 s before the "
                                    "kill), linking example.com/c (started 8.1 s before the kill)"));
  ASSERT_EQ(ev.diagnoses.size(), 1u);
  EXPECT_EQ(ev.diagnoses[0].cause, policy::Cause::kBuildMemory);
  EXPECT_THAT(ev.diagnoses[0].evidence,
              Contains(HasSubstr("link of example.com/c ran 8.1 s, max RSS 475 MiB (killed)")));
  EXPECT_THAT(ev.build_peaks, IsEmpty());
}

TEST_F(BuildEvidenceTest, SeveralPackagesBuildingAreEachRunningAtTheKill) {
  Step("compile", "example.com/a", 10, kT0);
  Step("compile", "example.com/c", 11, kT0 + 100);
  Step("compile", "example.com/c", 12, kT0 + 200);  // its test variant, beside it
  Write();
  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.oom_killed = true, .exit_code = 137});
  EXPECT_TRUE(ev.killed_package.empty());
  EXPECT_THAT(ev.suspects, ElementsAre("example.com/a", "example.com/c"));
  EXPECT_EQ(ev.outcome.binaries_at_kill, 3);
  auto by = ByPackage(ev);
  for (const char* p : {"example.com/a", "example.com/c"}) {
    ASSERT_TRUE(by.contains(p)) << p;
    EXPECT_EQ(by[p]->result, policy::PackageResult::kNotRun) << p;
    EXPECT_TRUE(by[p]->running_at_kill) << p;
    EXPECT_EQ(by[p]->phase, policy::Phase::kCompile) << p;
  }
  EXPECT_THAT(ev.message, HasSubstr("while 3 build steps ran: compiling example.com/a"));
}

TEST_F(BuildEvidenceTest, ARunningTestBinaryIsTheSuspectNotTheBuild) {
  Step("compile", "example.com/a", 10, kT0);
  Write();
  StartedAt("example.com/b", kT0 + 12'500);  // b's binary started, the cgroup at 200 MiB of 300
  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.oom_killed = true, .exit_code = 137});
  EXPECT_EQ(ev.killed_package, "example.com/b");
  EXPECT_THAT(ev.builds_at_kill, IsEmpty());
  EXPECT_THAT(ev.message, HasSubstr("OOM kill of example.com/b"));
}

TEST_F(BuildEvidenceTest, ABuildThatEndedWellIsNoSuspect) {
  Step("compile", "example.com/a", 10, kT0, kT0 + 500, 0, 50 * kMiB);
  Write();
  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.oom_killed = true, .exit_code = 137});
  EXPECT_TRUE(ev.killed_package.empty());
  EXPECT_THAT(ev.builds_at_kill, IsEmpty());
  EXPECT_THAT(ev.message, HasSubstr("before any test binary was running"));
  EXPECT_EQ(ev.build_peaks.at("example.com/a"), 50 * kMiB);
}

TEST_F(BuildEvidenceTest, AHostileLogNamesNothingAndBreaksNothing) {
  log_ = "{\"event\":\"start\",\"tool\":\"compile\",\"package\":7}\n[1,2]\n\xff\xfe\n" + std::string(1 << 16, '{') +
         "\n{\"event\":\"start\",\"tool\":\"comp";
  Write();
  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.oom_killed = true, .exit_code = 137});
  EXPECT_TRUE(ev.killed_package.empty());
  EXPECT_THAT(ev.builds_at_kill, IsEmpty());
  EXPECT_THAT(ev.message, HasSubstr("before any test binary was running"));
}

TEST_F(BuildEvidenceTest, ACompileKilledAloneGetsItsOwnPeakFromTheBuildLog) {
  // go test saw "signal: killed" for the compile and the agent wrote its result.
  Step("compile", "example.com/a", 10, kT0, kT0 + 9000, 9, 410 * kMiB);
  Write();
  const std::string events =
      R"({"ImportPath":"example.com/a [example.com/a.test]","Action":"build-output","Output":"# example.com/a [example.com/a.test]\n"})"
      "\n"
      R"({"ImportPath":"example.com/a [example.com/a.test]","Action":"build-output","Output":"example.com/a: /usr/local/go/pkg/tool/linux_amd64/compile: signal: killed\n"})"
      "\n"
      R"({"ImportPath":"example.com/a [example.com/a.test]","Action":"build-fail"})"
      "\n"
      R"({"Action":"start","Package":"example.com/a"})"
      "\n"
      R"({"Action":"output","Package":"example.com/a","Output":"FAIL\texample.com/a [build failed]\n"})"
      "\n"
      R"({"Action":"fail","Package":"example.com/a","Elapsed":0,"FailedBuild":"example.com/a [example.com/a.test]"})"
      "\n";
  ASSERT_TRUE(WriteFileAtomic(layout().events(), events).ok());
  evidence::AttemptResult result;
  result.packages.push_back({.package = "example.com/a", .outcome = gotest::PackageOutcome::kBuildFailed});
  ASSERT_TRUE(WriteFileAtomic(layout().result(), evidence::EncodeAttemptResult(result)).ok());
  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.exit_code = 1});
  auto by = ByPackage(ev);
  ASSERT_TRUE(by.contains("example.com/a"));
  EXPECT_EQ(by["example.com/a"]->result, policy::PackageResult::kBuildKilled);
  EXPECT_EQ(by["example.com/a"]->peak, 410 * kMiB);
  ASSERT_EQ(ev.diagnoses.size(), 1u);
  EXPECT_EQ(ev.diagnoses[0].cause, policy::Cause::kBuildMemory);
  EXPECT_THAT(ev.diagnoses[0].evidence,
              Contains(HasSubstr("compile of example.com/a ran 9.0 s, max RSS 410 MiB (killed)")));
}

// go test names the process it started, the -toolexec wrapper, when a step dies by a
// signal: the build log says which step it was.
TEST_F(BuildEvidenceTest, AKilledStepNamedByItsWrapperIsPlacedByTheBuildLog) {
  Step("compile", "example.com/a", 10, kT0, kT0 + 2500, 9, 304 * kMiB);
  Write();
  const std::string events =
      R"({"ImportPath":"example.com/a [example.com/a.test]","Action":"build-output","Output":"example.com/a: /opt/gotestrun/gotestrun-agent: signal: killed\n"})"
      "\n"
      R"({"ImportPath":"example.com/a [example.com/a.test]","Action":"build-fail"})"
      "\n"
      R"({"Action":"start","Package":"example.com/a"})"
      "\n"
      R"({"Action":"fail","Package":"example.com/a","Elapsed":0,"FailedBuild":"example.com/a [example.com/a.test]"})"
      "\n";
  ASSERT_TRUE(WriteFileAtomic(layout().events(), events).ok());
  evidence::AttemptResult result;
  result.packages.push_back({.package = "example.com/a", .outcome = gotest::PackageOutcome::kBuildFailed});
  ASSERT_TRUE(WriteFileAtomic(layout().result(), evidence::EncodeAttemptResult(result)).ok());
  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.exit_code = 1});
  auto by = ByPackage(ev);
  ASSERT_TRUE(by.contains("example.com/a"));
  EXPECT_EQ(by["example.com/a"]->result, policy::PackageResult::kBuildKilled);
  EXPECT_EQ(by["example.com/a"]->phase, policy::Phase::kCompile);
}

}  // namespace
}  // namespace gotestrun::engine

namespace gotestrun::engine {
namespace {

std::string ReadTestdata(const std::string& name) {
  StatusOr<std::string> text = ReadFile(std::string(ENGINE_TESTDATA) + "/" + name);
  EXPECT_TRUE(text.ok()) << name;
  return text.ok() ? *text : std::string();
}

// A real cold build: the container died while go test compiled runtime (standard
// library, not a planned package) and no test binary ran. The shard's build need, not
// a package's: the policy gets what the steps held together (the cgroup's peak) and
// the largest step it saw end (unicode, 59 MiB).
TEST_F(BuildEvidenceTest, ACapturedColdBuildKillIsTheShardsBuildNeed) {
  plan_.packages = {"example.com/memfixture/leak", "example.com/memfixture/parallelspike"};
  plan_.memory = 256 * kMiB;
  ASSERT_TRUE(WriteFileAtomic(layout().build_log(), ReadTestdata("cold_build_runtime/build.jsonl")).ok());
  ASSERT_TRUE(WriteFileAtomic(layout().memory(), ReadTestdata("cold_build_runtime/memory.tsv")).ok());
  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.oom_killed = true, .exit_code = 137});
  ASSERT_TRUE(ev.outcome.build.has_value());
  EXPECT_EQ(ev.outcome.build->package, "runtime");
  EXPECT_EQ(ev.outcome.build->phase, policy::Phase::kCompile);
  EXPECT_EQ(ev.outcome.build->steps, 1);
  EXPECT_EQ(ev.outcome.build->step_peak, 62013440u);
  EXPECT_EQ(ev.outcome.build->need, 268431360u);  // the largest sample
  EXPECT_TRUE(ev.outcome.container_oom_killed);
  EXPECT_TRUE(ev.killed_package.empty());
  EXPECT_THAT(ev.message, HasSubstr("while compiling runtime"));
}

// Every step's RSS known and their sum above the cgroup's last reading: the sum.
TEST_F(BuildEvidenceTest, ConcurrentStepsWithKnownRssAddUp) {
  Step("compile", "example.com/gen", 10, kT0, kT0 + 9000, 9, 250 * kMiB);
  Step("compile", "example.com/a", 11, kT0 + 10, kT0 + 9000, 9, 120 * kMiB);
  Write();
  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.oom_killed = true, .exit_code = 137});
  ASSERT_TRUE(ev.outcome.build.has_value());
  EXPECT_EQ(ev.outcome.build->package, "example.com/gen");  // the largest
  EXPECT_EQ(ev.outcome.build->steps, 2);
  EXPECT_EQ(ev.outcome.build->step_peak, 250 * kMiB);
  EXPECT_EQ(ev.outcome.build->need, 370 * kMiB);
}

TEST_F(BuildEvidenceTest, NoBuildNeedWhenATestBinaryRan) {
  Step("compile", "example.com/a", 10, kT0);
  Write();
  StartedAt("example.com/b", kT0 + 12'500);
  const AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.oom_killed = true, .exit_code = 137});
  EXPECT_FALSE(ev.outcome.build.has_value());
}

// Seen at 192Mi: compileheavy's compile (400+ MiB) filled the cgroup, and the kill came
// a few milliseconds after gcheadroom's test binary started, with no GC line and no
// heap snapshot of its own. The binary did not fill the cgroup: the compile is named
// and the binary is left to run again, not charged (its kill read as native memory).
TEST_F(BuildEvidenceTest, ABinaryStartedIntoAFullCgroupBesideACompileIsNotTheOneKilled) {
  Step("compile", "example.com/b", 13, kT0);  // running at the kill
  Write();                                    // the cgroup at 200 MiB and more of 300 from kT0 + 12.3 s
  ASSERT_TRUE(WriteFileAtomic(layout().gctrace("example.com/a"), "").ok());
  // It started at kT0 + 21.5 s, when the cgroup held 272 MiB of 300 (over 90%).
  StartedAt("example.com/a", kT0 + 21'500);
  AttemptFindings ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.oom_killed = true, .exit_code = 137});
  EXPECT_NE(ev.killed_package, "example.com/a");
  auto by = ByPackage(ev);
  ASSERT_TRUE(by.contains("example.com/b"));
  EXPECT_EQ(by["example.com/b"]->result, policy::PackageResult::kBuildKilled);
  EXPECT_FALSE(by.contains("example.com/a") && by["example.com/a"]->result == policy::PackageResult::kKilled);
  for (const PackageDiagnosis& d : ev.diagnoses) EXPECT_NE(d.package, "example.com/a") << d.summary;

  // Started while the cgroup had room (kT0 + 12.5 s, 200 MiB of 300): it is the one.
  StartedAt("example.com/a", kT0 + 12'500);
  ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.oom_killed = true, .exit_code = 137});
  EXPECT_EQ(ev.killed_package, "example.com/a");
  // With a GC line of its own it had memory of its own: it is the one.
  StartedAt("example.com/a", kT0 + 21'500);
  ASSERT_TRUE(WriteFileAtomic(layout().gctrace("example.com/a"),
                              "gc 1 @0.010s 1%: 0.01+1.0+0.01 ms clock, 0.02+0/1/0+0.02 ms cpu, 4->4->2 MB, 4 MB goal, "
                              "0 MB stacks, 0 MB globals, 2 P\n")
                  .ok());
  ev = ReadAttemptEvidence(dir_, plan_, ContainerEnd{.oom_killed = true, .exit_code = 137});
  EXPECT_EQ(ev.killed_package, "example.com/a");
}

}  // namespace
}  // namespace gotestrun::engine
