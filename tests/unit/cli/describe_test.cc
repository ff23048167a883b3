// engine/describe.h: the words `gotestrun describe` and the end of `gotestrun run` print.
#include "core/engine/describe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::engine {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const char kLeak[] = "gotestrun.dev/fixtures/memory/leak";

json LeakDemo() {
  return json::parse(R"json({
    "apiVersion": "gotestrun.dev/v1alpha1", "kind": "GoTestRun",
    "metadata": {"name": "leak-demo", "namespace": "ci",
                 "annotations": {"gotestrun.dev/module-dir": "/src/memory"}},
    "spec": {"packages": ["./leak", "./clean/..."], "resources": {"memory": "256Mi", "maxMemory": "1Gi"}},
    "status": {
      "phase": "Succeeded", "message": "all 2 package(s) passed",
      "startTime": "2026-11-28T21:25:11Z", "completionTime": "2026-11-28T21:26:16Z",
      "shardCount": 2, "attemptCount": 3, "oomKills": 1,
      "shards": [
        {"index": 0, "packages": ["gotestrun.dev/fixtures/memory/leak"], "attempts": [
          {"attempt": 1, "pod": "leak-demo-s0-a1", "memory": "256Mi", "parallel": 2, "outcome": "OOMKilled",
           "phase": "test-run", "peakBytes": 268435456, "killedPackage": "gotestrun.dev/fixtures/memory/leak",
           "runningTest": "TestReports", "startTime": "2026-11-28T21:25:11Z", "finishTime": "2026-11-28T21:25:22Z",
           "message": "OOM kill of gotestrun.dev/fixtures/memory/leak (test-run, TestReports); peak 256.0Mi"},
          {"attempt": 2, "pod": "leak-demo-s0-a2", "memory": "528Mi", "parallel": 2, "gomemlimit": "460MiB",
           "outcome": "Succeeded", "peakBytes": 355663872, "message": "go test exited with code 0; peak 339.2Mi"}]},
        {"index": 1, "packages": ["gotestrun.dev/fixtures/memory/clean/a"], "attempts": [
          {"attempt": 1, "memory": "256Mi", "outcome": "OOMKilled", "phase": "unknown",
           "message": "the container was OOM-killed while 2 test binaries ran: a b"}]}],
      "packages": [
        {"package": "gotestrun.dev/fixtures/memory/leak", "outcome": "Succeeded", "attempts": 2, "shard": 0,
         "peakBytes": 340787200},
        {"package": "gotestrun.dev/fixtures/memory/clean/a", "outcome": "Succeeded", "attempts": 1, "shard": 1}],
      "diagnosis": [
        {"package": "gotestrun.dev/fixtures/memory/leak", "phase": "test-run", "cause": "LeakAcrossTests",
         "attempt": "leak-demo-s0-a1",
         "summary": "the live heap grew ~41 MiB per test",
         "evidence": ["live heap: TestOrders 25 MiB, TestCustomers 52 MiB"],
         "action": "retried alone as leak-demo-s0-a2 (528Mi)"}],
      "conditions": [{"type": "Succeeded", "status": "True", "reason": "AllPassed",
                      "lastTransitionTime": "2026-11-28T21:26:16Z"}]
    }})json");
}

TEST(DescribeRun, SaysEverythingTheStatusHolds) {
  std::string text = DescribeRun(LeakDemo());
  EXPECT_THAT(text, HasSubstr("Name:       leak-demo\n"));
  EXPECT_THAT(text, HasSubstr("Namespace:  ci\n"));
  EXPECT_THAT(text, HasSubstr("Module:     /src/memory\n"));
  EXPECT_THAT(text, HasSubstr("Packages:   ./leak ./clean/...\n"));
  EXPECT_THAT(text, HasSubstr("Memory:     256Mi to start, at most 1Gi\n"));
  EXPECT_THAT(text, HasSubstr("Phase:      Succeeded\n"));
  EXPECT_THAT(text, HasSubstr("Message:    all 2 package(s) passed\n"));
  EXPECT_THAT(text, HasSubstr("(1m05s)"));
  EXPECT_THAT(text, HasSubstr("Attempts:   3 in 2 shards, 1 OOM-killed\n"));
  // Per shard, each attempt: limit, knobs, outcome, peak, time; the killed package.
  EXPECT_THAT(text, HasSubstr("  s0  1 package: gotestrun.dev/fixtures/memory/leak\n"));
  EXPECT_THAT(text, HasSubstr("    a1  256Mi  -parallel 2  OOMKilled  peak 256Mi  11s\n"));
  EXPECT_THAT(text, HasSubstr("        killed: gotestrun.dev/fixtures/memory/leak (test-run, TestReports)\n"));
  EXPECT_THAT(text, HasSubstr("    a2  528Mi  -parallel 2 GOMEMLIMIT=460MiB  Succeeded  peak 339.2Mi\n"));
  // A kill that could not be pinned on a package names none.
  EXPECT_THAT(text, Not(HasSubstr("killed: (unknown)")));
  EXPECT_THAT(text, HasSubstr("while 2 test binaries ran"));
  // Packages, by name, with outcome and peak.
  EXPECT_THAT(text, HasSubstr("PACKAGE"));
  EXPECT_THAT(text, HasSubstr("gotestrun.dev/fixtures/memory/clean/a  Succeeded    -          1\n"));
  EXPECT_THAT(text, HasSubstr("gotestrun.dev/fixtures/memory/leak     Succeeded    325Mi      2\n"));
  EXPECT_LT(text.find("clean/a  Succeeded"), text.find("memory/leak     Succeeded"));
  // Diagnosis: cause, phase, attempt, summary, evidence, action.
  EXPECT_THAT(text,
              HasSubstr("  gotestrun.dev/fixtures/memory/leak: LeakAcrossTests (test-run), seen in leak-demo-s0-a1\n"));
  EXPECT_THAT(text, HasSubstr("      the live heap grew ~41 MiB per test\n"));
  EXPECT_THAT(text, HasSubstr("      evidence: live heap: TestOrders 25 MiB, TestCustomers 52 MiB\n"));
  EXPECT_THAT(text, HasSubstr("      action: retried alone as leak-demo-s0-a2 (528Mi)\n"));
  EXPECT_THAT(text, HasSubstr("Succeeded=True  AllPassed"));
}

TEST(DescribeRun, ARunStillRunningShowsItsPendingPackages) {
  json run = LeakDemo();
  run["status"]["phase"] = "Running";
  run["status"]["packages"] = json::array();
  run["status"]["shards"][0]["attempts"][1]["outcome"] = "Running";
  std::string text = DescribeRun(run);
  EXPECT_THAT(text, HasSubstr("Phase:      Running\n"));
  EXPECT_THAT(text, HasSubstr(std::string(kLeak) + "     Running"));
  EXPECT_THAT(text, HasSubstr("clean/a  OOMKilled"));
  // A package that moved on to a new shard stands where its newest attempt does.
  run["status"]["shards"].push_back(json::parse(R"({"index": 2, "packages": ["gotestrun.dev/fixtures/memory/clean/a"],
                                                   "attempts": [{"attempt": 1, "outcome": "Pending"}]})"));
  EXPECT_THAT(DescribeRun(run), HasSubstr("clean/a  Pending"));
}

TEST(DescribeRun, NeverTrustsTheShapeOfTheStatus) {
  for (const char* odd :
       {"null", "[]", "{}", R"({"status": 3})", R"({"status": {"shards": [1, "x", {"attempts": 5}]}})",
        R"({"status": {"packages": [{"package": 1, "peakBytes": -4}], "diagnosis": [null, {"evidence": "x"}]}})",
        R"({"metadata": [], "spec": {"packages": "./..."}, "status": {"conditions": [{}]}})"}) {
    json run = json::parse(odd);
    EXPECT_NO_THROW(DescribeRun(run)) << odd;
    EXPECT_NO_THROW(SummarizeRun(run)) << odd;
  }
  EXPECT_THAT(DescribeRun(json::object()), HasSubstr("Phase:      Pending"));
}

// A status.yaml is outside input: what it says is printed, what it would do to the
// terminal is not (row 12).
TEST(DescribeRun, EscapeSequencesFromTheStatusAreShownNotSent) {
  json run = LeakDemo();
  run["status"]["message"] = "all passed\x1b[2J\x1b[H\x1b]0;owned\x07";
  run["status"]["packages"][0]["package"] = "pkg/\x1b]8;;http://evil\x1b\\link\u009b2J";
  run["status"]["shards"][0]["attempts"][0]["killedPackage"] = "pkg/k\r\x1b[1A";
  run["status"]["shards"][0]["attempts"][0]["runningTest"] = "TestX\x1b[31m";
  for (const std::string& text : {DescribeRun(run), SummarizeRun(run)}) {
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
    EXPECT_EQ(text.find('\r'), std::string::npos) << text;
    EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos) << text;
    EXPECT_THAT(text, HasSubstr("all passed\\x1b[2J\\x1b[H\\x1b]0;owned\\x07"));
    EXPECT_THAT(text, HasSubstr("pkg/\\x1b]8;;http://evil\\x1b\\link\\u009b2J"));
  }
}

TEST(SummarizeRun, PackagesKillsWithTheirDiagnosisAndTheEnd) {
  std::string text = SummarizeRun(LeakDemo());
  EXPECT_THAT(text, HasSubstr("gotestrun.dev/fixtures/memory/leak     Succeeded    325Mi      2\n"));
  EXPECT_THAT(text, HasSubstr("OOM kills:\n"));
  EXPECT_THAT(text, HasSubstr("  s0/a1 at 256Mi: gotestrun.dev/fixtures/memory/leak (test-run, TestReports)\n"));
  EXPECT_THAT(text, HasSubstr("LeakAcrossTests (test-run)"));
  // A kill without a named package is told by its message.
  EXPECT_THAT(text, HasSubstr("  s1/a1 at 256Mi: the container was OOM-killed while 2 test binaries ran: a b\n"));
  EXPECT_THAT(text, HasSubstr("\nSucceeded: all 2 package(s) passed\n"));
  // The diagnosis is told once, under the first kill of its package.
  EXPECT_EQ(text.find("LeakAcrossTests"), text.rfind("LeakAcrossTests"));
}

TEST(SummarizeRun, ADiagnosisWithoutANamedKillIsStillTold) {
  json run = LeakDemo();
  run["status"]["shards"][0]["attempts"][0].erase("killedPackage");
  std::string text = SummarizeRun(run);
  EXPECT_THAT(text, HasSubstr("Diagnosis:\n  gotestrun.dev/fixtures/memory/leak: LeakAcrossTests"));
}

}  // namespace
}  // namespace gotestrun::engine
