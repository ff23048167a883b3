// What a run of `go test` amounted to, package by package: the value that
// TestStreamReader (diagnosis/gotest/test_stream_reader.h) derives from the stream.
// Plain data, so the diagnosis built on it stays a pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gotestrun::gotest {

// How a package's test run ended.
enum class PackageOutcome {
  kRunning,  // the stream has not finished the package yet
  kPass,
  kFail,         // tests failed, panicked or the binary exited non-zero on its own
  kSkip,         // no test files
  kBuildFailed,  // the package, a dependency or the test binary did not build
  kKilled,       // the test binary was ended by a signal (go test printed "signal: ...")
  kNoResult,     // the stream ended before the package did (the go command itself died)
};

// How one test (or subtest, or benchmark) ended.
enum class TestOutcome {
  kRunning,  // had run or cont, nothing since
  kPaused,   // t.Parallel: waiting for its turn
  kPass,
  kFail,
  kSkip,
  kBench,     // a benchmark's "--- BENCH" result
  kNoResult,  // its package ended (or a sibling started) without a result for it
};

// Which step of a build failed, as far as the output tells.
enum class BuildPhase {
  kUnknown,
  kSetup,  // "[setup failed]": go list-level errors such as import cycles
  kCompile,
  kLink,
  kVet,  // go test runs vet as part of the build
};

std::string_view PackageOutcomeName(PackageOutcome outcome);
std::string_view TestOutcomeName(TestOutcome outcome);
std::string_view BuildPhaseName(BuildPhase phase);

struct TailLimits {
  std::size_t max_lines = 100;
  std::size_t max_bytes = 16 * 1024;  // also the cap on one kept line
};

// The last lines of some output, bounded in lines and bytes: enough to show what a
// test printed before it failed without holding everything it ever printed.
class OutputTail {
 public:
  OutputTail() = default;
  explicit OutputTail(TailLimits limits) : limits_(limits) {}

  void Add(std::string_view line);

  const std::deque<std::string>& lines() const { return lines_; }
  // Lines given to Add and no longer kept.
  std::uint64_t dropped_lines() const { return dropped_lines_; }
  // The kept lines, each followed by "\n".
  std::string Text() const;

 private:
  TailLimits limits_;
  std::deque<std::string> lines_;
  std::size_t bytes_ = 0;
  std::uint64_t dropped_lines_ = 0;
};

struct TestResult {
  std::string name;  // "TestX" or "TestX/sub"
  TestOutcome outcome = TestOutcome::kRunning;
  std::optional<double> elapsed_seconds;
  OutputTail output;
  // t.Attr key/value pairs (Go 1.25+), bounded.
  std::vector<std::pair<std::string, std::string>> attributes;
};

struct PackageResult {
  std::string name;  // import path
  PackageOutcome outcome = PackageOutcome::kRunning;
  std::optional<double> elapsed_seconds;
  std::vector<TestResult> tests;  // in the order they first appeared
  // For a package that did not pass: the tests that had run or cont and neither an end
  // nor a pause when it ended, in the order they started. For a killed binary these are
  // the suspects; a subtest and its parents are all listed.
  std::vector<std::string> running_at_end;
  // Likewise, t.Parallel tests that were paused, waiting for their turn.
  std::vector<std::string> paused_at_end;
  // A line "signal: killed" appeared in the package's output.
  bool saw_signal_killed = false;
  // The signal that ended the test binary, e.g. "killed": set when go test printed
  // "signal: <name>" right before its "FAIL <pkg>" line. Makes the outcome kKilled.
  std::string exit_signal;
  // Go 1.24+: the package ID whose build failure failed this package (FailedBuild),
  // e.g. "example.com/p [example.com/p.test]"; see RunSummary::build_failures.
  std::string failed_build;
  // The first "panic: ..." line of the package's output, if any.
  std::string panic;
  // The go test timeout fired: "panic: test timed out" or "*** Test killed ... ran too long".
  bool timed_out = false;
  // Output not attributed to any test (package-level lines, "FAIL <pkg> ...").
  OutputTail output;

  const TestResult* FindTest(std::string_view test_name) const;
};

// A build step that failed. One failure can fail several test packages (a broken
// dependency), and a test package can fail on a build of its own test variant.
struct BuildFailure {
  // The package ID as go names it: "p", "p [p.test]" or "p.test" (the linked test
  // binary). Matches PackageResult::failed_build when the stream had build events.
  std::string import_path;
  BuildPhase phase = BuildPhase::kUnknown;
  // When a tool was ended by a signal ("<id>: <path>/compile: signal: killed"): the
  // tool's base name as go printed it (a -toolexec wrapper is named instead of the
  // tool) and the signal.
  std::string tool;
  std::string signal;
  // Test packages reported as failed because of this build, in the order seen.
  std::vector<std::string> packages;
  OutputTail output;
};

struct StreamStats {
  std::uint64_t bytes = 0;
  std::uint64_t lines = 0;
  std::uint64_t events = 0;           // JSON test events decoded
  std::uint64_t build_events = 0;     // of which build-output / build-fail (Go 1.24+)
  std::uint64_t text_lines = 0;       // lines that are not JSON (go's stderr, plain go test)
  std::uint64_t malformed_lines = 0;  // lines that start like JSON but do not decode
  std::uint64_t truncated_lines = 0;  // lines longer than the cap, cut
  std::uint64_t unknown_actions = 0;  // events with an action this reader does not know
};

struct RunSummary {
  // In the order they first appeared. A package started again after it ended (streams
  // of several runs appended together) appears once per run.
  std::vector<PackageResult> packages;
  std::vector<BuildFailure> build_failures;
  StreamStats stats;

  // The latest run of the package, or null.
  const PackageResult* FindPackage(std::string_view name) const;
  const BuildFailure* FindBuildFailure(std::string_view import_path) const;
};

}  // namespace gotestrun::gotest
