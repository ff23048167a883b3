#include "core/diagnosis/gotest/gctrace.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace gotestrun::gotest {
namespace {

constexpr double kBytesPerMiB = 1024.0 * 1024.0;
// A malformed line kept for a report is cut to this.
constexpr std::size_t kMaxMalformedSample = 512;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads a number of type T at the start of `text` and consumes it.
template <typename T>
bool Consume(std::string_view& text, T& value) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc()) return false;
  text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
  return true;
}

bool ConsumeLiteral(std::string_view& text, std::string_view literal) {
  if (!text.starts_with(literal)) return false;
  text.remove_prefix(literal.size());
  return true;
}

// The whole of `text` as one number.
template <typename T>
bool ParseWhole(std::string_view text, T& value) {
  return Consume(text, value) && text.empty();
}

std::optional<std::uint64_t> MiBToBytes(std::string_view text) {
  double mib = 0;
  if (!ParseWhole(text, mib) || !(mib >= 0) || mib > 1e12) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(mib * kBytesPerMiB));
}

// "<n> MB goal" with label " MB goal" -> bytes.
std::optional<std::uint64_t> LabelledMiB(std::string_view field, std::string_view label) {
  if (!field.ends_with(label)) return std::nullopt;
  field.remove_suffix(label.size());
  return MiBToBytes(field);
}

// "<procs> P", possibly followed by " (forced)".
bool ParseProcs(std::string_view field, GcCycle& cycle) {
  int procs = 0;
  if (!Consume(field, procs) || !ConsumeLiteral(field, " P")) return false;
  if (!field.empty() && !field.starts_with(" ")) return false;
  cycle.procs = procs;
  cycle.forced = field.find("(forced)") != std::string_view::npos;
  return true;
}

// "0.26+0.34+0.004" -> the sum.
std::optional<double> SumOfPhases(std::string_view text) {
  double total = 0;
  while (true) {
    double phase = 0;
    if (!Consume(text, phase)) return std::nullopt;
    total += phase;
    if (text.empty()) return total;
    if (!ConsumeLiteral(text, "+")) return std::nullopt;
  }
}

Status Malformed(std::string_view what) { return InvalidArgumentError("gctrace line: " + std::string(what)); }

}  // namespace

bool IsGcTraceLine(std::string_view line) {
  if (!line.starts_with("gc ")) return false;
  std::size_t i = 3;
  while (i < line.size() && IsDigit(line[i])) ++i;
  return i > 3 && (i == line.size() || line[i] == ' ');
}

StatusOr<GcCycle> ParseGcTraceLine(std::string_view line) {
  if (!IsGcTraceLine(line)) return Malformed("does not start with \"gc <number> \"");
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);

  GcCycle cycle;
  std::string_view rest = line.substr(3);
  if (!Consume(rest, cycle.number)) return Malformed("bad GC number");
  if (!ConsumeLiteral(rest, " @") || !Consume(rest, cycle.seconds_since_start) || !ConsumeLiteral(rest, "s ")) {
    return Malformed("no @<seconds>s");
  }
  if (!Consume(rest, cycle.cpu_percent) || !ConsumeLiteral(rest, "%")) return Malformed("no CPU percentage");
  // Newer runtimes may put remarks such as "(checking for goroutine leaks)" before the colon.
  const std::size_t colon = rest.find(": ");
  if (colon == std::string_view::npos) return Malformed("no ':' after the percentage");
  rest.remove_prefix(colon + 2);

  bool have_heap = false;
  bool have_goal = false;
  bool have_procs = false;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(", ");
    const std::string_view field = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);

    if (field.ends_with(" ms clock")) {
      cycle.wall_clock_ms = SumOfPhases(field.substr(0, field.size() - 9));
    } else if (field.ends_with(" ms cpu")) {
      // CPU time per phase: not needed for a heap trajectory.
    } else if (field.find("->") != std::string_view::npos) {
      std::string_view sizes = field;
      if (!sizes.ends_with(" MB")) return Malformed("heap sizes without MB");
      sizes.remove_suffix(3);
      const std::size_t first = sizes.find("->");
      const std::size_t second = sizes.find("->", first + 2);
      if (second == std::string_view::npos) return Malformed("heap sizes are not start->end->live");
      const auto start = MiBToBytes(sizes.substr(0, first));
      const auto end = MiBToBytes(sizes.substr(first + 2, second - first - 2));
      const auto live = MiBToBytes(sizes.substr(second + 2));
      if (!start || !end || !live) return Malformed("heap sizes are not numbers");
      cycle.heap_start_bytes = *start;
      cycle.heap_end_bytes = *end;
      cycle.live_heap_bytes = *live;
      have_heap = true;
    } else if (field.ends_with(" MB goal")) {
      const auto goal = LabelledMiB(field, " MB goal");
      if (!goal) return Malformed("goal is not a number");
      cycle.goal_bytes = *goal;
      have_goal = true;
    } else if (field.ends_with(" MB stacks")) {
      cycle.stacks_bytes = LabelledMiB(field, " MB stacks");
    } else if (field.ends_with(" MB globals")) {
      cycle.globals_bytes = LabelledMiB(field, " MB globals");
    } else if (ParseProcs(field, cycle)) {
      have_procs = true;
    }
    // Other fields: later runtimes may add some; they do not change the heap figures.
  }
  if (!have_heap) return Malformed("no heap sizes");
  if (!have_goal) return Malformed("no heap goal");
  if (!have_procs) return Malformed("no processor count");
  return cycle;
}

std::uint64_t HeapTrajectory::peak_heap_bytes() const {
  if (!peak) return 0;
  return std::max(peak->cycle.heap_start_bytes, peak->cycle.heap_end_bytes);
}

GcTraceReader::GcTraceReader(std::size_t max_points_per_package) : max_points_(max_points_per_package) {}

void GcTraceReader::Add(const OutputLine& line) { AddLine(line.text, line.package, line.test, line.running_tests); }

void GcTraceReader::AddLine(std::string_view text, std::string_view package, std::string_view test,
                            std::span<const std::string> running_tests) {
  if (!IsGcTraceLine(text)) return;
  StatusOr<GcCycle> cycle = ParseGcTraceLine(text);
  if (!cycle.ok()) {
    if (malformed_lines_++ == 0) {
      first_malformed_ = cycle.status().message() + ": " + std::string(text.substr(0, kMaxMalformedSample));
    }
    return;
  }

  const std::size_t index = TrajectoryIndex(package);
  HeapTrajectory& trajectory = trajectories_[index];
  Progress& progress = progress_[index];
  HeapPoint point;
  point.cycle = std::move(cycle).value();
  if (trajectory.cycles > 0 && point.cycle.number <= progress.last_number) ++progress.process;
  progress.last_number = point.cycle.number;
  point.process = progress.process;
  point.test = std::string(test);
  point.running_tests.assign(running_tests.begin(), running_tests.end());
  ++trajectory.cycles;

  const auto size = [](const HeapPoint& p) { return std::max(p.cycle.heap_start_bytes, p.cycle.heap_end_bytes); };
  if (!trajectory.peak || size(point) > size(*trajectory.peak)) trajectory.peak = point;
  if (max_points_ == 0) return;
  trajectory.points.push_back(std::move(point));
  while (trajectory.points.size() > max_points_) trajectory.points.pop_front();
}

const HeapTrajectory* GcTraceReader::Find(std::string_view package) const {
  const auto it = index_.find(package);
  return it == index_.end() ? nullptr : &trajectories_[it->second];
}

std::size_t GcTraceReader::TrajectoryIndex(std::string_view package) {
  if (const auto it = index_.find(package); it != index_.end()) return it->second;
  const std::size_t index = trajectories_.size();
  trajectories_.emplace_back().package = std::string(package);
  progress_.emplace_back();
  index_.emplace(std::string(package), index);
  return index;
}

}  // namespace gotestrun::gotest
