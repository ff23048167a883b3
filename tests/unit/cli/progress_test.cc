#include "cli/progress.h"

#include <cstdio>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/exit_code.h"
#include "cli/finished_packages.h"

namespace gotestrun::cli {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::uint64_t kMiB = 1 << 20;

policy::ShardPlan Plan(int index, int attempt, std::vector<std::string> packages, std::uint64_t memory) {
  policy::ShardPlan p;
  p.index = index;
  p.attempt = attempt;
  p.packages = std::move(packages);
  p.memory = memory;
  return p;
}

// What a Progress wrote, through a memory stream.
class Captured {
 public:
  Captured() : f_(open_memstream(&buf_, &size_)) {}
  ~Captured() {
    std::fclose(f_);
    std::free(buf_);
  }
  std::FILE* file() { return f_; }
  std::string text() {
    std::fflush(f_);
    return std::string(buf_, size_);
  }

 private:
  char* buf_ = nullptr;
  size_t size_ = 0;
  std::FILE* f_;
};

TEST(ProgressLines, AttemptStartAndEnd) {
  policy::ShardPlan p = Plan(3, 2, {"example.com/leak"}, 528 * kMiB);
  p.parallel = 1;
  p.gomemlimit = 460 * kMiB;
  EXPECT_EQ(
      AttemptStartedLine(p, "more memory after an OOM kill"),
      "s3/a2  retry: 1 package under 528Mi, -parallel 1, GOMEMLIMIT=460MiB (example.com/leak): more memory after an "
      "OOM kill");
  EXPECT_EQ(AttemptStartedLine(Plan(0, 1, {"a", "b"}, 256 * kMiB), ""), "s0/a1  started: 2 packages under 256Mi");
  engine::AttemptRecord r;
  r.plan = p;
  r.outcome = "OOMKilled";
  r.message = "OOM kill of example.com/leak (test-run, TestLedger); peak 527.9Mi";
  EXPECT_EQ(AttemptEndedLine(r), "s3/a2  OOMKilled: OOM kill of example.com/leak (test-run, TestLedger); peak 527.9Mi");
}

TEST(ProgressLines, LiveBlockShowsMemoryAgainstTheLimitAndPackagesDone) {
  LiveAttempt a{.plan = Plan(0, 1, {"a", "b", "c", "d"}, 256 * kMiB),
                .usage_bytes = 128 * kMiB,
                .peak_bytes = 200 * kMiB,
                .packages_done = 3,
                .elapsed = std::chrono::milliseconds(75'000)};
  std::vector<std::string> lines = RenderLiveBlock({a}, 0);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("s0/a1  ██████████░░░░░░░░░░ 128Mi / 256Mi  peak 200Mi  3/4 packages  1m15s"));
  // Over the limit (the kernel is about to act) the bar is full, not longer.
  a.usage_bytes = 300 * kMiB;
  EXPECT_THAT(RenderLiveBlock({a}, 0)[0], HasSubstr("████████████████████ 300Mi"));
  // Cut to the terminal's width, counting the bar's characters as one column each.
  EXPECT_EQ(RenderLiveBlock({a}, 12)[0], "  s0/a1  ███");
}

TEST(Progress, PlainLinesOnlyWhenSomethingChanges) {
  Captured out;
  ManualClock clock;
  Progress progress(ProgressStyle::kLines, out.file(), clock);
  policy::ShardPlan p = Plan(0, 1, {"a", "b"}, 256 * kMiB);
  progress.Planned(2, {p});
  progress.AttemptStarted(p, "");
  for (int i = 0; i < 10; ++i) progress.Sample(0, 1, i * kMiB, 1);
  engine::AttemptRecord r;
  r.plan = p;
  r.outcome = "Succeeded";
  r.message = "go test exited with code 0";
  progress.AttemptEnded(r);
  progress.Finish();
  EXPECT_EQ(out.text(),
            "planned 2 packages in 1 shard (256Mi)\n"
            "s0/a1  started: 2 packages under 256Mi\n"
            "s0/a1  Succeeded: go test exited with code 0\n");
}

TEST(Progress, NamesAndMessagesFromTheTestsCannotActOnTheTerminal) {
  Captured out;
  ManualClock clock;
  Progress progress(ProgressStyle::kLines, out.file(), clock);
  policy::ShardPlan p = Plan(0, 1, {"pkg/\x1b]0;title\x07"}, 256 * kMiB);
  progress.AttemptStarted(p, "");
  engine::AttemptRecord r;
  r.plan = p;
  r.outcome = "Failed";
  r.message = "TestA\x1b[2J failed\nFAKE  Succeeded\r\xc2\x9b";
  progress.AttemptEnded(r);
  progress.Finish();
  EXPECT_EQ(out.text(),
            "s0/a1  started: 1 package under 256Mi (pkg/\\x1b]0;title\\x07)\n"
            "s0/a1  Failed: TestA\\x1b[2J failed\\x0aFAKE  Succeeded\\x0d\\u009b\n");
}

TEST(Progress, TerminalRedrawsItsBlockBelowTheLines) {
  Captured out;
  ManualClock clock;
  Progress progress(ProgressStyle::kTerminal, out.file(), clock);
  policy::ShardPlan p = Plan(0, 1, {"a", "b"}, 256 * kMiB);
  progress.AttemptStarted(p, "");
  clock.Advance(std::chrono::seconds(1));
  progress.Sample(0, 1, 64 * kMiB, 1);
  std::string text = out.text();
  EXPECT_THAT(text, HasSubstr("s0/a1  started"));
  EXPECT_THAT(text, HasSubstr("64Mi / 256Mi"));
  EXPECT_THAT(text, HasSubstr("1/2 packages"));
  EXPECT_THAT(text, HasSubstr("\x1b[1A\r\x1b[J"));  // the block erased before it is drawn again
  progress.Finish();
  EXPECT_TRUE(out.text().ends_with("\x1b[1A\r\x1b[J"));
}

TEST(Progress, JsonEvents) {
  Captured out;
  ManualClock clock;
  Progress progress(ProgressStyle::kJson, out.file(), clock);
  policy::ShardPlan p = Plan(1, 2, {"a"}, 256 * kMiB);
  progress.AttemptStarted(p, "isolated");
  progress.Sample(1, 2, kMiB, 0);
  progress.Sample(1, 2, kMiB, 1);
  engine::AttemptRecord r;
  r.plan = p;
  r.outcome = "OOMKilled";
  r.killed_package = "a";
  progress.AttemptEnded(r);
  std::vector<json> events;
  std::string text = out.text();
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    events.push_back(json::parse(text.substr(start, end - start)));
    start = end + 1;
  }
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["event"], "attemptStarted");
  EXPECT_EQ(events[0]["attempt"], "s1/a2");
  EXPECT_EQ(events[0]["reason"], "isolated");
  EXPECT_EQ(events[1]["event"], "packagesDone");
  EXPECT_EQ(events[1]["done"], 1);
  EXPECT_EQ(events[2]["event"], "attemptEnded");
  EXPECT_EQ(events[2]["killedPackage"], "a");
}

TEST(FinishedPackages, CountsPlannedPackagesAtTheirPackageLevelEnd) {
  FinishedPackages f("/nonexistent", {"ex/a", "ex/b", "ex/c"});
  f.Feed(R"({"Action":"run","Package":"ex/a","Test":"TestX"})"
         "\n"
         R"({"Action":"pass","Package":"ex/a","Test":"TestX"})"
         "\n"
         R"({"Action":"pass","Package":"ex/a","Elapsed":0.1})"
         "\n"
         R"({"Action":"fail","Package":"ex/b","Elapsed":0.1})"
         "\n"
         R"({"Action":"pass","Package":"ex/other","Elapsed":0.1})"
         "\n"
         R"({"Action":"skip","Package":"ex/c")");
  EXPECT_EQ(f.count(), 2);
  f.Feed(R"(,"Elapsed":0})"
         "\nnot json\n");
  EXPECT_EQ(f.count(), 3);
  EXPECT_EQ(f.Poll(), 3);  // no file: what it had
}

TEST(ExitCode, FromTheStatus) {
  auto status = [](const char* phase, std::vector<std::string> outcomes, const char* reason = "") {
    json s = {{"phase", phase}, {"packages", json::array()}, {"conditions", json::array()}};
    for (const std::string& o : outcomes) s["packages"].push_back({{"package", "p"}, {"outcome", o}});
    s["conditions"].push_back({{"type", "Succeeded"}, {"reason", reason}});
    return s;
  };
  EXPECT_EQ(ExitCodeOf(status("Succeeded", {"Succeeded"})), kExitPassed);
  EXPECT_EQ(ExitCodeOf(status("Failed", {"Succeeded", "TestsFailed"})), kExitFailed);
  EXPECT_EQ(ExitCodeOf(status("Failed", {"BuildFailed"})), kExitFailed);
  EXPECT_EQ(ExitCodeOf(status("Failed", {"Succeeded", "OOMKilled"})), kExitDoesNotFit);
  EXPECT_EQ(ExitCodeOf(status("Failed", {"OOMKilled", "TestsFailed"})), kExitFailed);  // 1 wins over 3
  EXPECT_EQ(ExitCodeOf(status("Failed", {"Failed"})), kExitFailed);
  EXPECT_EQ(ExitCodeOf(status("Failed", {}, "PlanningFailed")), kExitFailed);
  EXPECT_EQ(ExitCodeOf(status("Failed", {"OOMKilled"}, "Interrupted")), kExitInterrupted);
  EXPECT_EQ(ExitCodeOf(json()), kExitFailed);
}

}  // namespace
}  // namespace gotestrun::cli
