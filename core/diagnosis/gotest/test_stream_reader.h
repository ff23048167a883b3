// Reads what `go test` prints and keeps a summary of it current.
//
// What it promises:
//  - Incremental: bytes can be fed in chunks of any size, cut anywhere, while go test
//    is still writing (a file being appended to, a pipe); summary() is valid between
//    any two calls. A whole file is one Feed and a Finish.
//  - Tolerant: non-JSON lines, truncated JSON, unknown actions and fields, and lines
//    beyond the cap (which are cut) never stop the reading; they are counted in
//    RunSummary::stats. Nothing in the input can make it throw or fail.
//  - Bounded: per test, per package and per build only the last output lines are
//    kept (ReaderLimits), and only the latest builds not yet known to have failed.
//  - Both forms: a `go test -json` stream (with Go 1.24+ build events, or the older
//    form with build errors as text beside it) and plain `go test` text. From plain
//    text only package results and build failures are derived, not individual tests.
//  - Pure: no I/O, clocks or threads. Not thread-safe; one reader per stream.
//
// How an outcome is decided (see PackageOutcome): a package is kKilled only when go
// test printed "signal: <name>" right before its "FAIL <pkg>" line; kBuildFailed when
// its fail event names a FailedBuild or its output says "[build failed]"/"[setup
// failed]"; kNoResult when Finish comes before the package's last event. When a
// binary's end is known from elsewhere (a go test -exec wrapper sees its wait status),
// PackageResult::running_at_end still says which tests were running.
#pragma once

#include <cstddef>
#include <functional>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/diagnosis/gotest/line_splitter.h"
#include "core/diagnosis/gotest/run_summary.h"
#include "core/diagnosis/gotest/test_events.h"
#include "core/diagnosis/gotest/text_forms.h"

namespace gotestrun::gotest {

struct ReaderLimits {
  // A line of the stream longer than this is cut (and, if JSON, lost as malformed).
  // test2json splits long output into events of about 1 KiB, so real events stay small.
  std::size_t max_line_bytes = 1024 * 1024;
  TailLimits test_output;   // per test, and for each package's own output
  TailLimits build_output;  // per build step
  // Build output is held per package ID until the build fails or it is dropped as one
  // of the oldest beyond this many: a failure follows its output closely, and `go test
  // -x` prints output for every build that succeeds too.
  std::size_t max_pending_builds = 256;
};

// One whole line a test binary printed, with who printed it. Views are valid only
// during the OutputSink call.
struct OutputLine {
  std::string_view package;  // empty for a line outside any JSON event (plain text)
  // The test go test attributed the line to; empty between tests. With t.Parallel the
  // attribution is go test's guess (the test that last printed a framing line).
  std::string_view test;
  std::string_view text;  // without "\n"
  // The package's tests running (run or cont, no pause or end yet) when it was printed,
  // in the order they started; a subtest's parents are included.
  std::span<const std::string> running_tests;
};

// Receives every whole output line of every test binary, e.g. GcTraceReader::Add.
using OutputSink = std::function<void(const OutputLine&)>;

class TestStreamReader {
 public:
  explicit TestStreamReader(ReaderLimits limits = {}, OutputSink on_output = {});

  // The next bytes of the stream. Ignored after Finish.
  void Feed(std::string_view bytes);
  // The stream has ended: a last line without "\n" is read, and packages and tests
  // still running become kNoResult. Further calls do nothing.
  void Finish();
  bool finished() const { return finished_; }

  const RunSummary& summary() const { return summary_; }

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

  // What the reader tracks for a PackageResult beyond what the summary shows.
  struct PackageState {
    explicit PackageState(std::size_t max_line_bytes) : output_lines(max_line_bytes) {}

    StringMap<std::size_t> test_index;
    std::vector<std::string> running;  // tests in kRunning, in the order they started
    std::optional<TestAction> final_action;
    bool build_failed = false;  // "[build failed]" or "[setup failed]" seen
    bool ended = false;
    // A "signal: X" line is only the binary's end if go test's FAIL line follows it.
    std::string candidate_signal;
    // test2json may split a long line over several output events.
    LineSplitter output_lines;
    std::string output_test;  // whom the partial line in output_lines belongs to
  };

  // Where a build's output goes until it is known to have failed.
  struct PendingBuild {
    BuildFailure failure;
    bool from_text = false;
    bool shows_error = false;  // a source position, a linker message or a signal
  };

  void OnLine(std::string_view line, bool truncated);
  void OnEvent(TestEvent&& event);
  void OnBuildEvent(const TestEvent& event);
  void OnTextLine(std::string_view line);

  // The package's current run: the latest, or a new one if the latest has ended.
  std::size_t RunOf(std::string_view name);
  TestResult& Test(std::size_t package, std::string_view name);
  void SetRunning(std::size_t package, std::string_view test, bool running);
  void EndTest(std::size_t package, const TestEvent& event, TestOutcome outcome);
  void EndPackage(std::size_t package, const TestEvent& event);
  void CloseTests(std::size_t package);
  void Resolve(std::size_t package);

  void AddOutput(std::size_t package, std::string_view test, std::string_view chunk);
  void FlushOutput(std::size_t package);
  void OnOutputLine(std::size_t package, std::string_view test, std::string_view line);

  void AddBuildLine(std::string_view import_path, std::string_view line, bool from_text);
  // The failure record for a build known to have failed, promoting its pending output.
  BuildFailure& FailedBuild(std::string_view import_path);
  void LinkBuildToPackage(BuildFailure& build, std::string_view package);
  void MarkBuildFailed(std::size_t package);
  void ApplyTextResult(const TextLine& result, std::string_view line);

  ReaderLimits limits_;
  OutputSink on_output_;
  LineSplitter splitter_;
  bool finished_ = false;
  RunSummary summary_;
  std::vector<PackageState> states_;   // parallel to summary_.packages
  StringMap<std::size_t> latest_run_;  // package name -> index of its latest run
  std::map<std::string, PendingBuild, std::less<>> pending_builds_;
  std::deque<std::string> pending_order_;  // keys of pending_builds_, oldest first
  StringMap<std::size_t> failed_builds_;   // import path -> index in build_failures

  // Plain text: the "# <id>" block that following lines belong to, and what was seen
  // since the last package result line (text output comes one package at a time).
  std::string text_build_block_;
  std::string text_signal_;
  std::string text_panic_;
  bool text_saw_signal_killed_ = false;
  bool text_timed_out_ = false;
};

// Reads a whole stream at once.
RunSummary SummarizeTestStream(std::string_view stream, ReaderLimits limits = {}, OutputSink on_output = {});

}  // namespace gotestrun::gotest
