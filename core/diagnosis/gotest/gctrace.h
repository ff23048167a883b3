// The Go runtime's GC trace (GODEBUG=gctrace=1), read into heap trajectories.
//
// One line per collection, e.g. (Go 1.18+; older versions lack stacks and globals,
// Go 1.26 may add "(checking for goroutine leaks)" after the percentage):
//   gc 4 @0.011s 4%: 0.26+0.34+0.004 ms clock, 0.52+0/0.12/0.18+0.009 ms cpu,
//   38->48->48 MB, 44 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)
// "38->48->48 MB" is the heap at the start of the GC, at its end, and the live heap
// it marked. The runtime prints MiB rounded down, so sizes here are multiples of MiB.
//
// Only lines that start with "gc <number>" are GC lines; everything else is not
// this reader's business and is ignored. A GC line that does not parse is skipped and
// counted: the runtime writes a line in several writes, so a test printing at the same
// moment can garble it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/diagnosis/gotest/test_stream_reader.h"

namespace gotestrun::gotest {

struct GcCycle {
  std::uint64_t number = 0;        // counts from 1 in each process
  double seconds_since_start = 0;  // since the process started
  int cpu_percent = 0;             // GC's share of CPU since the process started
  std::uint64_t heap_start_bytes = 0;
  std::uint64_t heap_end_bytes = 0;
  std::uint64_t live_heap_bytes = 0;
  std::uint64_t goal_bytes = 0;
  std::optional<std::uint64_t> stacks_bytes;   // Go 1.18+
  std::optional<std::uint64_t> globals_bytes;  // Go 1.18+
  std::optional<double> wall_clock_ms;         // the three phases added up
  int procs = 0;                               // GOMAXPROCS
  bool forced = false;                         // runtime.GC() or debug.FreeOSMemory()
};

// Whether the line starts like a GC trace line: "gc", a space, digits, then a space
// or the end of the line.
bool IsGcTraceLine(std::string_view line);
// InvalidArgument, saying what is missing, for a line that is not a whole GC line.
StatusOr<GcCycle> ParseGcTraceLine(std::string_view line);

struct HeapPoint {
  GcCycle cycle;
  // Which process of the package printed it, from 0: GC numbers start again at 1 in
  // a new test binary, so a number that does not grow starts the next process.
  int process = 0;
  std::string test;                        // as go test attributed the line (OutputLine::test)
  std::vector<std::string> running_tests;  // OutputLine::running_tests
};

struct HeapTrajectory {
  std::string package;  // empty for lines from outside any JSON event
  // Oldest first; only the latest max_points_per_package are kept.
  std::deque<HeapPoint> points;
  std::uint64_t cycles = 0;  // GC lines parsed, kept or not
  // The cycle with the largest heap (at GC start or end) over all cycles, dropped ones too.
  std::optional<HeapPoint> peak;

  std::uint64_t peak_heap_bytes() const;
};

class GcTraceReader {
 public:
  explicit GcTraceReader(std::size_t max_points_per_package = 10000);

  // Offers a line a test binary printed, e.g. as the OutputSink of a TestStreamReader:
  //   GcTraceReader gc;
  //   TestStreamReader reader({}, [&gc](const OutputLine& line) { gc.Add(line); });
  void Add(const OutputLine& line);
  // The same for a bare line (plain stderr of a test binary, for instance).
  void AddLine(std::string_view text, std::string_view package = {}, std::string_view test = {},
               std::span<const std::string> running_tests = {});

  // One trajectory per package, in the order their first GC line appeared.
  const std::vector<HeapTrajectory>& trajectories() const { return trajectories_; }
  const HeapTrajectory* Find(std::string_view package) const;

  std::uint64_t malformed_lines() const { return malformed_lines_; }
  // The first GC line that did not parse and why, for a report; empty if none.
  const std::string& first_malformed() const { return first_malformed_; }

 private:
  // Where a package's GC numbering is, to see a new process start.
  struct Progress {
    std::uint64_t last_number = 0;
    int process = 0;
  };

  std::size_t TrajectoryIndex(std::string_view package);

  std::size_t max_points_;
  std::vector<HeapTrajectory> trajectories_;
  std::vector<Progress> progress_;  // parallel to trajectories_
  std::map<std::string, std::size_t, std::less<>> index_;
  std::uint64_t malformed_lines_ = 0;
  std::string first_malformed_;
};

}  // namespace gotestrun::gotest
