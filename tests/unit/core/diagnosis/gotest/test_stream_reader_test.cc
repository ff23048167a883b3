#include "core/diagnosis/gotest/test_stream_reader.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::gotest {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// One JSON event line; `extra` is more fields, already encoded, e.g. R"("Elapsed":1)".
std::string Event(const std::string& action, const std::string& package, const std::string& test = "",
                  const std::string& extra = "") {
  std::string line = R"({"Action":")" + action + R"(","Package":")" + package + '"';
  if (!test.empty()) line += R"(,"Test":")" + test + '"';
  if (!extra.empty()) line += "," + extra;
  return line + "}\n";
}

std::string Output(const std::string& package, const std::string& test, const std::string& encoded_text) {
  return Event("output", package, test, R"("Output":")" + encoded_text + '"');
}

struct SeenLine {
  std::string package;
  std::string test;
  std::string text;
  std::vector<std::string> running;
  bool operator==(const SeenLine&) const = default;
};

OutputSink Collect(std::vector<SeenLine>& seen) {
  return [&seen](const OutputLine& line) {
    seen.push_back({std::string(line.package), std::string(line.test), std::string(line.text),
                    std::vector<std::string>(line.running_tests.begin(), line.running_tests.end())});
  };
}

const std::string kPassingPackage =
    Event("start", "p") + Event("run", "p", "TestA") + Output("p", "TestA", R"(=== RUN   TestA\n)") +
    Output("p", "TestA", R"(--- PASS: TestA (0.00s)\n)") + Event("pass", "p", "TestA", R"("Elapsed":0.5)") +
    Output("p", "", R"(PASS\n)") + Output("p", "", R"(ok  \tp\t0.6s\n)") + Event("pass", "p", "", R"("Elapsed":0.6)");

TEST(TestStreamReaderTest, EmptyInput) {
  const RunSummary summary = SummarizeTestStream("");
  EXPECT_THAT(summary.packages, IsEmpty());
  EXPECT_THAT(summary.build_failures, IsEmpty());
  EXPECT_EQ(summary.stats.lines, 0u);
  EXPECT_EQ(summary.stats.bytes, 0u);
}

TEST(TestStreamReaderTest, PassingPackage) {
  const RunSummary summary = SummarizeTestStream(kPassingPackage);
  ASSERT_EQ(summary.packages.size(), 1u);
  const PackageResult& p = summary.packages[0];
  EXPECT_EQ(p.name, "p");
  EXPECT_EQ(p.outcome, PackageOutcome::kPass);
  EXPECT_EQ(p.elapsed_seconds, 0.6);
  ASSERT_EQ(p.tests.size(), 1u);
  EXPECT_EQ(p.tests[0].outcome, TestOutcome::kPass);
  EXPECT_EQ(p.tests[0].elapsed_seconds, 0.5);
  EXPECT_EQ(p.tests[0].output.Text(), "=== RUN   TestA\n--- PASS: TestA (0.00s)\n");
  EXPECT_EQ(p.output.Text(), "PASS\nok  \tp\t0.6s\n");
  EXPECT_THAT(p.running_at_end, IsEmpty());
  EXPECT_EQ(summary.stats.events, 8u);
  EXPECT_EQ(summary.stats.text_lines, 0u);
}

TEST(TestStreamReaderTest, NonJsonLinesBetweenEventsAreCountedNotFatal) {
  const std::string stream = "go: downloading example.com/dep v1.0.0\n" + Event("start", "p") +
                             "warning: something on stderr\n\n" + Event("run", "p", "TestA") +
                             Event("pass", "p", "TestA") + "   \n" + Event("pass", "p");
  const RunSummary summary = SummarizeTestStream(stream);
  ASSERT_EQ(summary.packages.size(), 1u);
  EXPECT_EQ(summary.packages[0].outcome, PackageOutcome::kPass);
  EXPECT_EQ(summary.stats.text_lines, 4u);
  EXPECT_EQ(summary.stats.events, 4u);
  EXPECT_EQ(summary.stats.malformed_lines, 0u);
}

TEST(TestStreamReaderTest, TruncatedJsonLineIsSkipped) {
  const std::string stream = Event("start", "p") + R"({"Action":"run","Package":"p","Te)" + "\n" +
                             Event("run", "p", "TestB") + Event("pass", "p", "TestB") + Event("pass", "p");
  const RunSummary summary = SummarizeTestStream(stream);
  EXPECT_EQ(summary.stats.malformed_lines, 1u);
  ASSERT_EQ(summary.packages.size(), 1u);
  EXPECT_EQ(summary.packages[0].outcome, PackageOutcome::kPass);
  ASSERT_EQ(summary.packages[0].tests.size(), 1u);
  EXPECT_EQ(summary.packages[0].tests[0].name, "TestB");
}

TEST(TestStreamReaderTest, UnknownActionsAndFieldsAreTolerated) {
  const std::string stream = Event("start", "p") + Event("teleport", "p", "TestA", R"("Where":{"x":1})") +
                             Event("run", "p", "TestA", R"("Shard":3)") + Event("pass", "p", "TestA") +
                             R"({"Action":"celebrate"})" + "\n" + Event("pass", "p");
  const RunSummary summary = SummarizeTestStream(stream);
  EXPECT_EQ(summary.stats.unknown_actions, 2u);
  ASSERT_EQ(summary.packages.size(), 1u);
  EXPECT_EQ(summary.packages[0].outcome, PackageOutcome::kPass);
  EXPECT_EQ(summary.packages[0].FindTest("TestA")->outcome, TestOutcome::kPass);
}

TEST(TestStreamReaderTest, EnormousLinesAreCutAndReadingGoesOn) {
  ReaderLimits limits;
  limits.max_line_bytes = 4096;
  const std::string enormous_json = Output("p", "TestA", std::string(100000, 'x') + R"(\n)");
  const std::string enormous_text(100000, 'y');
  const std::string stream = Event("start", "p") + Event("run", "p", "TestA") + enormous_json + enormous_text + "\n" +
                             Event("pass", "p", "TestA") + Event("pass", "p");
  const RunSummary summary = SummarizeTestStream(stream, limits);
  EXPECT_EQ(summary.stats.truncated_lines, 2u);
  EXPECT_EQ(summary.stats.malformed_lines, 1u);  // the cut JSON line
  EXPECT_EQ(summary.stats.text_lines, 1u);
  ASSERT_EQ(summary.packages.size(), 1u);
  EXPECT_EQ(summary.packages[0].outcome, PackageOutcome::kPass);
}

TEST(TestStreamReaderTest, StreamCutInTheMiddleOfALineThenContinued) {
  const std::string stream = kPassingPackage;
  const std::size_t cut = stream.find("TestA") + 2;
  TestStreamReader reader;
  reader.Feed(stream.substr(0, cut));
  EXPECT_EQ(reader.summary().packages.size(), 1u);  // the start event
  EXPECT_EQ(reader.summary().packages[0].outcome, PackageOutcome::kRunning);
  EXPECT_THAT(reader.summary().packages[0].tests, IsEmpty());  // its line is not whole yet
  reader.Feed(stream.substr(cut));
  reader.Finish();
  EXPECT_EQ(reader.summary().stats.malformed_lines, 0u);
  EXPECT_EQ(reader.summary().packages[0].outcome, PackageOutcome::kPass);
  EXPECT_EQ(reader.summary().packages[0].tests.at(0).outcome, TestOutcome::kPass);
}

TEST(TestStreamReaderTest, ByteByByteEqualsWhole) {
  TestStreamReader reader;
  for (const char c : kPassingPackage) reader.Feed(std::string_view(&c, 1));
  reader.Finish();
  const RunSummary whole = SummarizeTestStream(kPassingPackage);
  ASSERT_EQ(reader.summary().packages.size(), whole.packages.size());
  EXPECT_EQ(reader.summary().packages[0].outcome, whole.packages[0].outcome);
  EXPECT_EQ(reader.summary().packages[0].output.Text(), whole.packages[0].output.Text());
  EXPECT_EQ(reader.summary().stats.events, whole.stats.events);
  EXPECT_EQ(reader.summary().stats.bytes, whole.stats.bytes);
}

TEST(TestStreamReaderTest, StreamThatStopsLeavesNoResultAndTheRunningTests) {
  const std::string stream = Event("start", "p") + Event("run", "p", "TestP") + Event("pause", "p", "TestP") +
                             Event("run", "p", "TestA") + Event("run", "p", "TestA/sub") +
                             R"({"Action":"output","Package":"p","Test":"TestA/sub","Output":"hal)";
  TestStreamReader reader;
  reader.Feed(stream);
  EXPECT_EQ(reader.summary().packages.at(0).outcome, PackageOutcome::kRunning);
  reader.Finish();
  EXPECT_TRUE(reader.finished());
  const PackageResult& p = reader.summary().packages.at(0);
  EXPECT_EQ(p.outcome, PackageOutcome::kNoResult);
  EXPECT_THAT(p.running_at_end, ElementsAre("TestA", "TestA/sub"));
  EXPECT_THAT(p.paused_at_end, ElementsAre("TestP"));
  for (const TestResult& test : p.tests) EXPECT_EQ(test.outcome, TestOutcome::kNoResult) << test.name;
  EXPECT_EQ(reader.summary().stats.malformed_lines, 1u);
}

TEST(TestStreamReaderTest, FeedAfterFinishIsIgnored) {
  TestStreamReader reader;
  reader.Feed(kPassingPackage);
  reader.Finish();
  reader.Feed(Event("start", "q") + Event("pass", "q"));
  reader.Finish();
  EXPECT_EQ(reader.summary().packages.size(), 1u);
}

TEST(TestStreamReaderTest, OutputSplitOverEventsIsJoinedIntoLines) {
  std::vector<SeenLine> seen;
  const std::string stream =
      Event("start", "p") + Event("run", "p", "TestA") + Output("p", "TestA", "gc 5 @0.1s 3%: 0.1+0.2+0.3 ms clock, ") +
      Output("p", "TestA", R"(4-\u003e4-\u003e2 MB, 5 MB goal, 2 P\nnext)") + Output("p", "TestA", R"( line\n)") +
      Output("p", "TestA", "no newline") + Event("pass", "p", "TestA") + Event("pass", "p");
  const RunSummary summary = SummarizeTestStream(stream, {}, Collect(seen));
  EXPECT_THAT(
      seen,
      ElementsAre(SeenLine{"p", "TestA", "gc 5 @0.1s 3%: 0.1+0.2+0.3 ms clock, 4->4->2 MB, 5 MB goal, 2 P", {"TestA"}},
                  SeenLine{"p", "TestA", "next line", {"TestA"}}, SeenLine{"p", "TestA", "no newline", {"TestA"}}));
  EXPECT_EQ(summary.packages.at(0).FindTest("TestA")->output.lines().size(), 3u);
}

TEST(TestStreamReaderTest, OutputOfAnotherTestEndsAPartialLine) {
  std::vector<SeenLine> seen;
  const std::string stream = Event("run", "p", "TestA") + Output("p", "TestA", "partial") +
                             Output("p", "", R"(between\n)") + Event("pass", "p");
  SummarizeTestStream(stream, {}, Collect(seen));
  EXPECT_THAT(seen, ElementsAre(SeenLine{"p", "TestA", "partial", {"TestA"}}, SeenLine{"p", "", "between", {"TestA"}}));
}

TEST(TestStreamReaderTest, OutputLinesSayWhichTestsWereRunning) {
  std::vector<SeenLine> seen;
  const std::string stream = Event("run", "p", "TestA") + Event("pause", "p", "TestA") + Event("run", "p", "TestB") +
                             Event("pause", "p", "TestB") + Event("cont", "p", "TestA") + Event("cont", "p", "TestB") +
                             Output("p", "TestB", R"(both\n)") + Event("pass", "p", "TestB") +
                             Output("p", "TestA", R"(one\n)") + Event("pass", "p", "TestA") +
                             Output("p", "", R"(none\n)") + Event("pass", "p");
  SummarizeTestStream(stream, {}, Collect(seen));
  EXPECT_THAT(seen, ElementsAre(SeenLine{"p", "TestB", "both", {"TestA", "TestB"}},
                                SeenLine{"p", "TestA", "one", {"TestA"}}, SeenLine{"p", "", "none", {}}));
}

TEST(TestStreamReaderTest, PlainTextLinesReachTheSinkWithoutAPackage) {
  std::vector<SeenLine> seen;
  SummarizeTestStream("gc 1 @0.001s 6%: stuff\n", {}, Collect(seen));
  EXPECT_THAT(seen, ElementsAre(SeenLine{"", "", "gc 1 @0.001s 6%: stuff", {}}));
}

TEST(TestStreamReaderTest, OutputIsKeptBounded) {
  ReaderLimits limits;
  limits.test_output = {.max_lines = 3, .max_bytes = 1024};
  std::string stream = Event("run", "p", "TestA");
  for (int i = 0; i < 1000; ++i) stream += Output("p", "TestA", "line " + std::to_string(i) + R"(\n)");
  stream += Event("fail", "p", "TestA") + Event("fail", "p");
  const RunSummary summary = SummarizeTestStream(stream, limits);
  const TestResult* test = summary.packages.at(0).FindTest("TestA");
  ASSERT_NE(test, nullptr);
  EXPECT_THAT(test->output.lines(), ElementsAre("line 997", "line 998", "line 999"));
  EXPECT_EQ(test->output.dropped_lines(), 997u);
}

TEST(TestStreamReaderTest, ASiblingThatNeverEndedIsClosedWhenTheNextStarts) {
  // Benchmarks have run events and no result events.
  const std::string stream = Event("start", "p") + Event("run", "p", "BenchmarkX") +
                             Event("run", "p", "BenchmarkX/size=1") + Event("run", "p", "BenchmarkX/size=2") +
                             Event("run", "p", "BenchmarkY") + Output("p", "BenchmarkY", R"(signal: killed\n)") +
                             Output("p", "", R"(FAIL\tp\t1.0s\n)") + Event("fail", "p");
  const RunSummary summary = SummarizeTestStream(stream);
  const PackageResult& p = summary.packages.at(0);
  EXPECT_EQ(p.outcome, PackageOutcome::kKilled);
  EXPECT_THAT(p.running_at_end, ElementsAre("BenchmarkY"));
  for (const char* name : {"BenchmarkX", "BenchmarkX/size=1", "BenchmarkX/size=2"}) {
    EXPECT_EQ(p.FindTest(name)->outcome, TestOutcome::kNoResult) << name;
  }
}

TEST(TestStreamReaderTest, SignalLineOnlyCountsRightBeforeTheFailLine) {
  const std::string printed_by_a_test = Event("run", "p", "TestA") + Output("p", "TestA", R"(signal: killed\n)") +
                                        Output("p", "TestA", R"(--- FAIL: TestA (0.00s)\n)") +
                                        Event("fail", "p", "TestA") + Output("p", "", R"(FAIL\n)") +
                                        Output("p", "", R"(FAIL\tp\t0.1s\n)") + Event("fail", "p");
  const RunSummary summary = SummarizeTestStream(printed_by_a_test);
  const PackageResult& p = summary.packages.at(0);
  EXPECT_EQ(p.outcome, PackageOutcome::kFail);
  EXPECT_TRUE(p.saw_signal_killed);
  EXPECT_TRUE(p.exit_signal.empty());
  EXPECT_THAT(p.running_at_end, IsEmpty());
}

TEST(TestStreamReaderTest, OtherSignalsAreKillsToo) {
  const std::string stream = Event("run", "p", "TestA") + Output("p", "TestA", R"(signal: segmentation fault\n)") +
                             Output("p", "", R"(FAIL\tp\t0.1s\n)") + Event("fail", "p");
  const RunSummary summary = SummarizeTestStream(stream);
  const PackageResult& p = summary.packages.at(0);
  EXPECT_EQ(p.outcome, PackageOutcome::kKilled);
  EXPECT_EQ(p.exit_signal, "segmentation fault");
  EXPECT_FALSE(p.saw_signal_killed);
  EXPECT_THAT(p.running_at_end, ElementsAre("TestA"));
}

TEST(TestStreamReaderTest, SignalGluedToAnUnfinishedLine) {
  const std::string json = Event("run", "p", "TestA") + Output("p", "TestA", R"(half a linesignal: killed\n)") +
                           Output("p", "", R"(FAIL\tp\t0.1s\n)") + Event("fail", "p");
  const RunSummary from_json = SummarizeTestStream(json);
  EXPECT_EQ(from_json.packages.at(0).outcome, PackageOutcome::kKilled);
  EXPECT_TRUE(from_json.packages.at(0).saw_signal_killed);

  const RunSummary from_text = SummarizeTestStream("=== RUN   TestA\nhalf a linesignal: killed\nFAIL\tp\t0.1s\n");
  EXPECT_EQ(from_text.packages.at(0).outcome, PackageOutcome::kKilled);
  EXPECT_TRUE(from_text.packages.at(0).saw_signal_killed);
}

TEST(TestStreamReaderTest, TimeoutAndPanic) {
  const std::string stream =
      Event("run", "p", "TestSlow") + Output("p", "TestSlow", R"(panic: test timed out after 1s\n)") +
      Output("p", "TestSlow", R"(\trunning tests:\n)") + Output("p", "", R"(FAIL\tp\t1.2s\n)") + Event("fail", "p");
  const RunSummary summary = SummarizeTestStream(stream);
  const PackageResult& p = summary.packages.at(0);
  EXPECT_EQ(p.outcome, PackageOutcome::kFail);
  EXPECT_TRUE(p.timed_out);
  EXPECT_EQ(p.panic, "panic: test timed out after 1s");
  EXPECT_THAT(p.running_at_end, ElementsAre("TestSlow"));
}

TEST(TestStreamReaderTest, APackageStartedAgainAfterItEndedIsANewRun) {
  const std::string stream = Event("start", "p") + Event("fail", "p") + Event("start", "p") + Event("pass", "p");
  const RunSummary summary = SummarizeTestStream(stream);
  ASSERT_EQ(summary.packages.size(), 2u);
  EXPECT_EQ(summary.packages[0].outcome, PackageOutcome::kFail);
  EXPECT_EQ(summary.packages[1].outcome, PackageOutcome::kPass);
  EXPECT_EQ(summary.FindPackage("p"), &summary.packages[1]);
}

TEST(TestStreamReaderTest, AttributesAreKept) {
  const std::string stream = Event("run", "p", "TestA") +
                             Event("attr", "p", "TestA", R"("Key":"owner","Value":"storage")") +
                             Event("pass", "p", "TestA") + Event("pass", "p");
  const RunSummary summary = SummarizeTestStream(stream);
  const TestResult* test = summary.packages.at(0).FindTest("TestA");
  ASSERT_NE(test, nullptr);
  ASSERT_EQ(test->attributes.size(), 1u);
  EXPECT_EQ(test->attributes[0].first, "owner");
  EXPECT_EQ(test->attributes[0].second, "storage");
}

TEST(TestStreamReaderTest, BuildEventsWithoutFailureAreNotFailures) {
  const std::string stream =
      R"({"ImportPath":"example.com/c","Action":"build-output","Output":"# example.com/c\ncgo: warning\n"})"
      "\n" +
      Event("start", "example.com/c") + Event("pass", "example.com/c");
  const RunSummary summary = SummarizeTestStream(stream);
  EXPECT_THAT(summary.build_failures, IsEmpty());
  EXPECT_EQ(summary.stats.build_events, 1u);
  EXPECT_EQ(summary.packages.at(0).outcome, PackageOutcome::kPass);
}

TEST(TestStreamReaderTest, OnlyTheLatestPendingBuildsAreKept) {
  ReaderLimits limits;
  limits.max_pending_builds = 2;
  std::string stream;
  for (const char* id : {"a", "b", "c"}) {
    stream +=
        std::string(R"({"ImportPath":")") + id + R"(","Action":"build-output","Output":"# )" + id + R"(\n"})" + "\n";
  }
  stream += R"({"ImportPath":"a","Action":"build-fail"})"
            "\n"
            R"({"ImportPath":"c","Action":"build-fail"})"
            "\n";
  const RunSummary summary = SummarizeTestStream(stream, limits);
  ASSERT_EQ(summary.build_failures.size(), 2u);
  EXPECT_THAT(summary.FindBuildFailure("a")->output.lines(), IsEmpty());  // dropped as the oldest
  EXPECT_THAT(summary.FindBuildFailure("c")->output.lines(), ElementsAre("# c"));
}

TEST(TestStreamReaderTest, DependencyBuildFailureNamedByFailedBuild) {
  const std::string stream =
      R"({"ImportPath":"example.com/dep","Action":"build-output","Output":"# example.com/dep\n"})"
      "\n"
      R"({"ImportPath":"example.com/dep","Action":"build-output","Output":"dep/dep.go:3:1: syntax error\n"})"
      "\n"
      R"({"ImportPath":"example.com/dep","Action":"build-fail"})"
      "\n" +
      Event("start", "example.com/a") + Output("example.com/a", "", R"(FAIL\texample.com/a [build failed]\n)") +
      Event("fail", "example.com/a", "", R"("FailedBuild":"example.com/dep")") + Event("start", "example.com/b") +
      Output("example.com/b", "", R"(FAIL\texample.com/b [build failed]\n)") +
      Event("fail", "example.com/b", "", R"("FailedBuild":"example.com/dep")");
  const RunSummary summary = SummarizeTestStream(stream);
  ASSERT_EQ(summary.build_failures.size(), 1u);
  const BuildFailure& failure = summary.build_failures[0];
  EXPECT_EQ(failure.import_path, "example.com/dep");
  EXPECT_EQ(failure.phase, BuildPhase::kCompile);
  EXPECT_THAT(failure.packages, ElementsAre("example.com/a", "example.com/b"));
  EXPECT_EQ(failure.output.Text(), "# example.com/dep\ndep/dep.go:3:1: syntax error\n");
  for (const PackageResult& p : summary.packages) {
    EXPECT_EQ(p.outcome, PackageOutcome::kBuildFailed) << p.name;
    EXPECT_EQ(p.failed_build, "example.com/dep") << p.name;
  }
}

TEST(TestStreamReaderTest, PlainTextDependencyFailureIsClaimedByTheNextBuildFailedPackage) {
  const std::string stream =
      "# example.com/dep\n"
      "dep/dep.go:3:1: syntax error\n"
      "FAIL\texample.com/a [build failed]\n"
      "FAIL\n";
  const RunSummary summary = SummarizeTestStream(stream);
  ASSERT_EQ(summary.build_failures.size(), 1u);
  EXPECT_EQ(summary.build_failures[0].import_path, "example.com/dep");
  EXPECT_EQ(summary.build_failures[0].phase, BuildPhase::kCompile);
  EXPECT_THAT(summary.build_failures[0].packages, ElementsAre("example.com/a"));
  EXPECT_EQ(summary.packages.at(0).outcome, PackageOutcome::kBuildFailed);
}

TEST(TestStreamReaderTest, VetFindingsAndLinkErrorsHaveTheirPhase) {
  const std::string stream =
      "# example.com/v\n"
      "# [example.com/v]\n"
      "v/v_test.go:8:40: fmt.Printf format %d has arg \"s\" of wrong type string\n"
      "FAIL\texample.com/v [build failed]\n"
      "# example.com/l.test\n"
      "/usr/local/go/pkg/tool/linux_amd64/link: running gcc failed: exit status 1\n"
      "FAIL\texample.com/l [build failed]\n";
  const RunSummary summary = SummarizeTestStream(stream);
  ASSERT_NE(summary.FindBuildFailure("example.com/v"), nullptr);
  EXPECT_EQ(summary.FindBuildFailure("example.com/v")->phase, BuildPhase::kVet);
  ASSERT_NE(summary.FindBuildFailure("example.com/l.test"), nullptr);
  EXPECT_EQ(summary.FindBuildFailure("example.com/l.test")->phase, BuildPhase::kLink);
  EXPECT_THAT(summary.FindBuildFailure("example.com/l.test")->packages, ElementsAre("example.com/l"));
}

TEST(TestStreamReaderTest, SetupFailure) {
  const RunSummary summary = SummarizeTestStream("FAIL\texample.com/cycle [setup failed]\n");
  EXPECT_EQ(summary.packages.at(0).outcome, PackageOutcome::kBuildFailed);
  ASSERT_NE(summary.FindBuildFailure("example.com/cycle"), nullptr);
  EXPECT_EQ(summary.FindBuildFailure("example.com/cycle")->phase, BuildPhase::kSetup);
}

TEST(TestStreamReaderTest, PlainTextResults) {
  const std::string stream =
      "ok  \texample.com/a\t0.010s\n"
      "?   \texample.com/b\t[no test files]\n"
      "--- FAIL: TestX (0.00s)\n"
      "panic: boom [recovered]\n"
      "FAIL\texample.com/c\t0.020s\n"
      "about to be killed\n"
      "signal: killed\n"
      "FAIL\texample.com/d\t0.030s\n"
      "FAIL\n";
  const RunSummary summary = SummarizeTestStream(stream);
  ASSERT_EQ(summary.packages.size(), 4u);
  EXPECT_EQ(summary.FindPackage("example.com/a")->outcome, PackageOutcome::kPass);
  EXPECT_EQ(summary.FindPackage("example.com/a")->elapsed_seconds, 0.010);
  EXPECT_EQ(summary.FindPackage("example.com/b")->outcome, PackageOutcome::kSkip);
  EXPECT_EQ(summary.FindPackage("example.com/c")->outcome, PackageOutcome::kFail);
  EXPECT_EQ(summary.FindPackage("example.com/c")->panic, "panic: boom [recovered]");
  EXPECT_EQ(summary.FindPackage("example.com/d")->outcome, PackageOutcome::kKilled);
  EXPECT_TRUE(summary.FindPackage("example.com/d")->saw_signal_killed);
  EXPECT_TRUE(summary.FindPackage("example.com/d")->panic.empty());
}

TEST(OutputTailTest, BoundedByLinesAndBytes) {
  OutputTail tail({.max_lines = 10, .max_bytes = 8});
  tail.Add("abc");
  tail.Add("def");
  tail.Add("ghi");  // 9 bytes: the oldest goes
  EXPECT_THAT(tail.lines(), ElementsAre("def", "ghi"));
  tail.Add("0123456789");  // longer than the whole budget: cut to it
  EXPECT_THAT(tail.lines(), ElementsAre("01234567"));
  EXPECT_EQ(tail.dropped_lines(), 3u);
  EXPECT_EQ(tail.Text(), "01234567\n");
}

}  // namespace
}  // namespace gotestrun::gotest
