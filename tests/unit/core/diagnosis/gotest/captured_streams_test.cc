// The readers against real `go test` output, captured by testdata/regenerate.sh from
// the fixture module tests/fixtures/gotest-streams. Regenerating changes timings and
// GC counts, not the facts asserted here.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/diagnosis/gotest/gctrace.h"
#include "base/files.h"
#include "core/diagnosis/gotest/test_stream_reader.h"

namespace gotestrun::gotest {
namespace {

using ::testing::AnyOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Optional;
using ::testing::SizeIs;

constexpr std::uint64_t kMiB = 1024 * 1024;
const std::string kModule = "example.com/streams/";

std::string Captured(const std::string& name) {
  StatusOr<std::string> contents = ReadFile(std::string(GOTEST_TESTDATA) + "/" + name);
  EXPECT_TRUE(contents.ok()) << contents.status();
  return contents.ok() ? *contents : std::string();
}

// Package name (without the module prefix) and outcome, in stream order.
std::vector<std::string> Outcomes(const RunSummary& summary) {
  std::vector<std::string> outcomes;
  for (const PackageResult& p : summary.packages) {
    std::string name = p.name.starts_with(kModule) ? p.name.substr(kModule.size()) : p.name;
    outcomes.push_back(name + "=" + std::string(PackageOutcomeName(p.outcome)));
  }
  std::sort(outcomes.begin(), outcomes.end());
  return outcomes;
}

const PackageResult& Package(const RunSummary& summary, const std::string& short_name) {
  const PackageResult* p = summary.FindPackage(kModule + short_name);
  if (p == nullptr) {
    ADD_FAILURE() << "no package " << short_name;
    static const PackageResult kMissing;
    return kMissing;
  }
  return *p;
}

TestOutcome OutcomeOf(const PackageResult& p, const std::string& test) {
  const TestResult* t = p.FindTest(test);
  EXPECT_NE(t, nullptr) << p.name << " has no test " << test;
  return t == nullptr ? TestOutcome::kNoResult : t->outcome;
}

const std::vector<std::string> kMixedOutcomes = {
    "brokenbuild=build-failed",
    "failing=fail",
    "notests=skip",
    "panicking=fail",
    "parallel=pass",
    "passing=pass",
    "skipping=pass",
};

void ExpectMixedTests(const RunSummary& summary) {
  const PackageResult& passing = Package(summary, "passing");
  for (const char* test : {"TestAdd", "TestTable", "TestTable/zero", "TestTable/one"}) {
    EXPECT_EQ(OutcomeOf(passing, test), TestOutcome::kPass) << test;
  }
  EXPECT_THAT(passing.FindTest("TestAdd")->output.lines(), Contains(HasSubstr("passing_test.go:9: added")));

  const PackageResult& failing = Package(summary, "failing");
  EXPECT_EQ(OutcomeOf(failing, "TestFine"), TestOutcome::kPass);
  EXPECT_EQ(OutcomeOf(failing, "TestBroken"), TestOutcome::kFail);
  EXPECT_EQ(OutcomeOf(failing, "TestSubtests"), TestOutcome::kFail);
  EXPECT_EQ(OutcomeOf(failing, "TestSubtests/good"), TestOutcome::kPass);
  EXPECT_EQ(OutcomeOf(failing, "TestSubtests/bad"), TestOutcome::kFail);
  EXPECT_THAT(failing.FindTest("TestBroken")->output.lines(), Contains(HasSubstr("want 1, got 2")));
  EXPECT_THAT(failing.running_at_end, IsEmpty());

  const PackageResult& skipping = Package(summary, "skipping");
  EXPECT_EQ(OutcomeOf(skipping, "TestSkipped"), TestOutcome::kSkip);
  EXPECT_EQ(OutcomeOf(skipping, "TestRuns"), TestOutcome::kPass);

  EXPECT_THAT(Package(summary, "notests").tests, IsEmpty());

  const PackageResult& panicking = Package(summary, "panicking");
  EXPECT_EQ(OutcomeOf(panicking, "TestBeforePanic"), TestOutcome::kPass);
  EXPECT_EQ(OutcomeOf(panicking, "TestPanics"), TestOutcome::kFail);
  EXPECT_EQ(panicking.FindTest("TestNeverRuns"), nullptr);
  EXPECT_EQ(panicking.panic, "panic: assignment to entry in nil map [recovered, repanicked]");
  EXPECT_TRUE(panicking.exit_signal.empty());
  EXPECT_FALSE(panicking.saw_signal_killed);

  const PackageResult& parallel = Package(summary, "parallel");
  for (const char* test : {"TestSerial", "TestParallelA", "TestParallelB", "TestGroup", "TestGroup/x", "TestGroup/y"}) {
    EXPECT_EQ(OutcomeOf(parallel, test), TestOutcome::kPass) << test;
  }
  EXPECT_THAT(parallel.running_at_end, IsEmpty());
  EXPECT_THAT(parallel.paused_at_end, IsEmpty());
}

TEST(CapturedStreamsTest, MixedJson) {
  const RunSummary summary = SummarizeTestStream(Captured("mixed.json"));
  EXPECT_EQ(Outcomes(summary), kMixedOutcomes);
  ExpectMixedTests(summary);
  EXPECT_THAT(Package(summary, "passing").elapsed_seconds, Optional(Ge(0.0)));

  // Go 1.24+: build events name the failed build, and the fail event points at it.
  const std::string broken_id = kModule + "brokenbuild [" + kModule + "brokenbuild.test]";
  const PackageResult& broken = Package(summary, "brokenbuild");
  EXPECT_EQ(broken.failed_build, broken_id);
  ASSERT_THAT(summary.build_failures, SizeIs(1));
  const BuildFailure& failure = summary.build_failures[0];
  EXPECT_EQ(failure.import_path, broken_id);
  EXPECT_EQ(failure.phase, BuildPhase::kCompile);
  EXPECT_TRUE(failure.signal.empty());
  EXPECT_THAT(failure.packages, ElementsAre(kModule + "brokenbuild"));
  EXPECT_THAT(failure.output.lines(), Contains(HasSubstr("undefined: undefinedFunction")));

  EXPECT_EQ(summary.stats.malformed_lines, 0u);
  EXPECT_EQ(summary.stats.text_lines, 0u);
  EXPECT_EQ(summary.stats.unknown_actions, 0u);
  EXPECT_EQ(summary.stats.truncated_lines, 0u);
  EXPECT_EQ(summary.stats.build_events, 4u);
}

TEST(CapturedStreamsTest, MixedJsonWithBuildErrorsAsText) {
  // GODEBUG=gotestjsonbuildtext=1 gives the pre-1.24 form: no build events, no
  // FailedBuild, the compiler's errors as plain text lines on stderr.
  const RunSummary summary = SummarizeTestStream(Captured("mixed_buildtext.json"));
  EXPECT_EQ(Outcomes(summary), kMixedOutcomes);
  ExpectMixedTests(summary);
  EXPECT_EQ(summary.stats.build_events, 0u);
  EXPECT_EQ(summary.stats.text_lines, 3u);

  EXPECT_TRUE(Package(summary, "brokenbuild").failed_build.empty());
  ASSERT_THAT(summary.build_failures, SizeIs(1));
  const BuildFailure& failure = summary.build_failures[0];
  EXPECT_EQ(failure.import_path, kModule + "brokenbuild [" + kModule + "brokenbuild.test]");
  EXPECT_EQ(failure.phase, BuildPhase::kCompile);
  EXPECT_THAT(failure.packages, ElementsAre(kModule + "brokenbuild"));
  EXPECT_THAT(failure.output.lines(), Contains(HasSubstr("undefined: undefinedFunction")));
}

TEST(CapturedStreamsTest, MixedPlainText) {
  const RunSummary summary = SummarizeTestStream(Captured("mixed_verbose.txt"));
  EXPECT_EQ(Outcomes(summary), kMixedOutcomes);
  EXPECT_EQ(Package(summary, "panicking").panic, "panic: assignment to entry in nil map [recovered, repanicked]");
  ASSERT_THAT(summary.build_failures, SizeIs(1));
  EXPECT_EQ(summary.build_failures[0].phase, BuildPhase::kCompile);
  EXPECT_THAT(summary.build_failures[0].packages, ElementsAre(kModule + "brokenbuild"));
  // The build block ends where test output starts again.
  EXPECT_THAT(summary.build_failures[0].output.lines(), SizeIs(3));
  EXPECT_EQ(summary.stats.events, 0u);
}

TEST(CapturedStreamsTest, KilledTestBinary) {
  GcTraceReader gc;
  const RunSummary summary =
      SummarizeTestStream(Captured("killed.json"), {}, [&gc](const OutputLine& line) { gc.Add(line); });
  const PackageResult& killed = Package(summary, "killed");
  EXPECT_EQ(killed.outcome, PackageOutcome::kKilled);
  EXPECT_EQ(killed.exit_signal, "killed");
  EXPECT_TRUE(killed.saw_signal_killed);
  EXPECT_TRUE(killed.failed_build.empty());
  EXPECT_THAT(killed.running_at_end, ElementsAre("TestKilled", "TestKilled/inner"));
  EXPECT_EQ(OutcomeOf(killed, "TestBeforeKill"), TestOutcome::kPass);
  EXPECT_EQ(OutcomeOf(killed, "TestKilled"), TestOutcome::kNoResult);
  EXPECT_EQ(OutcomeOf(killed, "TestKilled/inner"), TestOutcome::kNoResult);
  EXPECT_EQ(killed.FindTest("TestNeverRuns"), nullptr);
  // The runtime writes a GC line in pieces from another goroutine, so the test's own
  // line may land inside one, and the kill may cut the last one short.
  EXPECT_THAT(killed.FindTest("TestKilled/inner")->output.Text(), HasSubstr("about to be killed"));

  // The heap grew inside the test that was then killed.
  const HeapTrajectory* heap = gc.Find(kModule + "killed");
  ASSERT_NE(heap, nullptr);
  ASSERT_THAT(heap->points, Not(IsEmpty()));
  for (const HeapPoint& point : heap->points) {
    EXPECT_EQ(point.test, "TestKilled/inner");
    EXPECT_THAT(point.running_tests, ElementsAre("TestKilled", "TestKilled/inner"));
    EXPECT_EQ(point.process, 0);
  }
  EXPECT_LE(gc.malformed_lines(), 1u);
}

TEST(CapturedStreamsTest, KilledInTheMiddleOfALine) {
  for (const char* file : {"killed_midline.json", "killed_midline_verbose.txt"}) {
    SCOPED_TRACE(file);
    GcTraceReader gc;
    const RunSummary summary = SummarizeTestStream(Captured(file), {}, [&gc](const OutputLine& line) { gc.Add(line); });
    const PackageResult& killed = Package(summary, "killedmidline");
    EXPECT_EQ(killed.outcome, PackageOutcome::kKilled);
    EXPECT_EQ(killed.exit_signal, "killed");
    EXPECT_TRUE(killed.saw_signal_killed);
    // The unfinished GC line is a malformed one, not a cycle.
    EXPECT_EQ(gc.malformed_lines(), 1u);
    EXPECT_THAT(gc.trajectories(), IsEmpty());
  }
  const RunSummary summary = SummarizeTestStream(Captured("killed_midline.json"));
  EXPECT_THAT(Package(summary, "killedmidline").running_at_end, ElementsAre("TestKilledMidLine"));
}

TEST(CapturedStreamsTest, KilledTestBinaryPlainText) {
  const RunSummary summary = SummarizeTestStream(Captured("killed_verbose.txt"));
  ASSERT_THAT(summary.packages, SizeIs(1));
  EXPECT_EQ(summary.packages[0].outcome, PackageOutcome::kKilled);
  EXPECT_EQ(summary.packages[0].exit_signal, "killed");
}

TEST(CapturedStreamsTest, GoCommandKilledMidStream) {
  // The go command itself killed: the stream stops, here inside the event that
  // carries "signal: killed", never to be continued.
  const std::string whole = Captured("killed.json");
  const std::size_t cut = whole.find("signal: killed");
  ASSERT_NE(cut, std::string::npos);
  TestStreamReader reader;
  reader.Feed(std::string_view(whole).substr(0, cut));
  EXPECT_EQ(Package(reader.summary(), "killed").outcome, PackageOutcome::kRunning);
  reader.Finish();
  const PackageResult& killed = Package(reader.summary(), "killed");
  EXPECT_EQ(killed.outcome, PackageOutcome::kNoResult);
  EXPECT_THAT(killed.running_at_end, ElementsAre("TestKilled", "TestKilled/inner"));
  EXPECT_EQ(reader.summary().stats.malformed_lines, 1u);
}

TEST(CapturedStreamsTest, GcTraceAttributedToTests) {
  GcTraceReader gc;
  const RunSummary summary =
      SummarizeTestStream(Captured("gctrace.json"), {}, [&gc](const OutputLine& line) { gc.Add(line); });
  EXPECT_EQ(Package(summary, "gcheavy").outcome, PackageOutcome::kPass);
  EXPECT_EQ(gc.malformed_lines(), 0u);
  ASSERT_THAT(gc.trajectories(), SizeIs(1));
  const HeapTrajectory& heap = gc.trajectories()[0];
  EXPECT_EQ(heap.package, kModule + "gcheavy");
  ASSERT_THAT(heap.points, Not(IsEmpty()));
  EXPECT_EQ(heap.cycles, heap.points.size());

  // TestMain allocates and forces a GC before any test runs: no test to blame.
  EXPECT_EQ(heap.points.front().test, "");
  EXPECT_EQ(heap.points.front().cycle.number, 1u);
  std::vector<std::string> forced_in;
  std::uint64_t previous = 0;
  for (const HeapPoint& point : heap.points) {
    EXPECT_THAT(point.test, AnyOf("", "TestSmall", "TestLarge"));
    if (point.test.empty()) {
      EXPECT_THAT(point.running_tests, IsEmpty());
    } else {
      EXPECT_THAT(point.running_tests, ElementsAre(point.test));
    }
    if (point.cycle.forced) forced_in.push_back(point.test);
    EXPECT_GT(point.cycle.number, previous);
    previous = point.cycle.number;
    EXPECT_EQ(point.cycle.heap_start_bytes % kMiB, 0u);
    EXPECT_GE(point.cycle.heap_end_bytes, point.cycle.live_heap_bytes);
    EXPECT_TRUE(point.cycle.stacks_bytes.has_value());
    EXPECT_EQ(point.process, 0);
  }
  EXPECT_THAT(forced_in, ElementsAre("", "TestLarge"));
  // TestLarge holds 48 MiB at once; the peak is its.
  ASSERT_TRUE(heap.peak.has_value());
  EXPECT_EQ(heap.peak->test, "TestLarge");
  EXPECT_GE(heap.peak_heap_bytes(), 40 * kMiB);
}

struct KilledBuildCase {
  std::string file;
  std::string import_path;
  BuildPhase phase;
  std::string tool;
  std::string victim;  // the test package
};

TEST(CapturedStreamsTest, KilledBuildSteps) {
  const KilledBuildCase cases[] = {
      {"compile_killed.json", kModule + "compilevictim [" + kModule + "compilevictim.test]", BuildPhase::kCompile,
       "compile", "compilevictim"},
      {"compile_killed.txt", kModule + "compilevictim", BuildPhase::kCompile, "compile", "compilevictim"},
      {"link_killed.json", kModule + "linkvictim.test", BuildPhase::kLink, "link", "linkvictim"},
      {"link_killed.txt", kModule + "linkvictim.test", BuildPhase::kLink, "link", "linkvictim"},
      // Through -toolexec go names the wrapper it ran, so the phase is not told.
      {"toolexec_killed.json", kModule + "compilevictim [" + kModule + "compilevictim.test]", BuildPhase::kUnknown,
       "kill-tool.sh", "compilevictim"},
  };
  for (const KilledBuildCase& c : cases) {
    SCOPED_TRACE(c.file);
    const RunSummary summary = SummarizeTestStream(Captured(c.file));
    EXPECT_EQ(Package(summary, c.victim).outcome, PackageOutcome::kBuildFailed);
    if (summary.FindPackage(kModule + "passing") != nullptr) {
      EXPECT_EQ(Package(summary, "passing").outcome, PackageOutcome::kPass);
    }
    ASSERT_THAT(summary.build_failures, SizeIs(1));
    const BuildFailure& failure = summary.build_failures[0];
    EXPECT_EQ(failure.import_path, c.import_path);
    EXPECT_EQ(failure.phase, c.phase);
    EXPECT_EQ(failure.tool, c.tool);
    EXPECT_EQ(failure.signal, "killed");
    EXPECT_THAT(failure.packages, ElementsAre(kModule + c.victim));
    EXPECT_EQ(summary.stats.malformed_lines, 0u);
  }
}

TEST(CapturedStreamsTest, EveryCaptureReadsTheSameByteByByte) {
  for (const char* file :
       {"mixed.json", "mixed_buildtext.json", "mixed_verbose.txt", "killed.json", "killed_verbose.txt",
        "killed_midline.json", "killed_midline_verbose.txt", "gctrace.json", "compile_killed.json",
        "compile_killed.txt", "link_killed.json", "link_killed.txt", "toolexec_killed.json"}) {
    SCOPED_TRACE(file);
    const std::string stream = Captured(file);
    GcTraceReader whole_gc;
    const RunSummary whole =
        SummarizeTestStream(stream, {}, [&whole_gc](const OutputLine& line) { whole_gc.Add(line); });

    GcTraceReader piece_gc;
    TestStreamReader reader({}, [&piece_gc](const OutputLine& line) { piece_gc.Add(line); });
    for (std::size_t i = 0; i < stream.size(); ++i) reader.Feed(std::string_view(stream).substr(i, 1));
    reader.Finish();
    const RunSummary& pieces = reader.summary();

    EXPECT_EQ(Outcomes(pieces), Outcomes(whole));
    ASSERT_EQ(pieces.packages.size(), whole.packages.size());
    for (std::size_t p = 0; p < whole.packages.size(); ++p) {
      EXPECT_EQ(pieces.packages[p].tests.size(), whole.packages[p].tests.size());
      EXPECT_EQ(pieces.packages[p].running_at_end, whole.packages[p].running_at_end);
      EXPECT_EQ(pieces.packages[p].output.Text(), whole.packages[p].output.Text());
    }
    EXPECT_EQ(pieces.build_failures.size(), whole.build_failures.size());
    EXPECT_EQ(pieces.stats.events, whole.stats.events);
    EXPECT_EQ(pieces.stats.lines, whole.stats.lines);
    ASSERT_EQ(piece_gc.trajectories().size(), whole_gc.trajectories().size());
    for (std::size_t t = 0; t < whole_gc.trajectories().size(); ++t) {
      EXPECT_EQ(piece_gc.trajectories()[t].cycles, whole_gc.trajectories()[t].cycles);
    }
  }
}

TEST(ReadFileTest, MissingFileIsNotFound) {
  const StatusOr<std::string> contents = ReadFile(std::string(GOTEST_TESTDATA) + "/no-such-file.json");
  EXPECT_EQ(contents.status().code(), StatusCode::kNotFound);
}

TEST(ReadFileTest, RefusesAFileOverTheLimit) {
  const StatusOr<std::string> contents = ReadFile(std::string(GOTEST_TESTDATA) + "/mixed.json", 100);
  EXPECT_EQ(contents.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace gotestrun::gotest
