// A stall at the memory limit: a cgroup whose usage stays pinned at its limit while the
// kernel keeps reclaiming its pages and faulting them back in, so that the processes
// in it crawl for minutes without the OOM killer ever firing (file-backed pages, the
// binary's text and mmapped files included, can always be reclaimed, so the kernel
// never runs out of something to take).
//
// StallDetector is pure: it is fed timestamped samples of the cgroup (usage, limit and
// the cumulative pressure counters of memory_pressure.h) and says when a stall has
// lasted `after`, with the figures for the evidence. No files, clocks or threads; the
// agent (inside the Pod, or the local attempt's cgroup) and the sandbox (a backstop
// for local runs) feed it.
//
// A sample "thrashes" when usage is at least kPinnedFraction of the limit and, since
// the previous sample, the cgroup refaulted or major-faulted pages, or its tasks
// stalled on memory (v2 PSI), at one of the rates below. A stall is a run of
// thrashing samples, with gaps of at most kThrashGapTolerance, lasting `after`.
// A steady heap just under the limit (no refaults, no PSI) is not a stall; neither is
// a file streamed once through the page cache (reclaim, but no refaults), nor a
// brief touch of the limit that recovers before `after`.
//
// Samples whose time does not move forward, without a limit, or whose counters go
// backwards (a new cgroup, a reset) restart the detector: nothing is concluded from
// figures that cannot be compared.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace gotestrun::sandbox {

// Usage at or above this share of the limit is "at the limit". The kernel reclaims a
// batch of pages each time a charge hits the limit and the Go heap moves by a span or
// two between samples, so a thrashing cgroup's usage wobbles a few percent under its
// limit (the stall in issue 14 sat at >= 99% for 2,819 of 2,827 samples; under a 256 MiB
// limit 95% still leaves ~13 MiB of wobble).
inline constexpr double kPinnedFraction = 0.95;
// Refaults (pages evicted recently and read back in) at this rate or more: 256 pages of
// 4 KiB, 1 MiB/s. A cgroup that merely sits at its limit refaults a few pages a second
// (a log, the go command's cache); one that thrashes re-reads its working set, tens of
// thousands of pages a second on a local disk and still hundreds on slow network
// storage. A file read once never refaults, however large.
inline constexpr double kMinRefaultsPerSecond = 256;
// Major faults (a page fault that waited for I/O) at this rate or more. Readahead makes
// one fault bring in many pages, so they count far fewer than refaults (~20/s in the
// stall fixture next to ~200,000 refaults/s), but a binary whose own text is being
// re-read shows them even when the kernel does not count refaults (before 5.9 for anon).
inline constexpr double kMinMajorFaultsPerSecond = 20;
// cgroup v2 PSI: some task of the cgroup waited on memory for this share of the time.
// Reclaim that keeps up costs a few percent; at 10% and more the work is visibly
// slowed by memory, the level Android's lmkd and systemd-oomd's guidance treat as
// pressure rather than noise.
inline constexpr double kMinSomeStallShare = 0.10;
// A thrash that pauses this long (five 200 ms samples) is still the same thrash: a GC
// frees a span, or the faulting task sat blocked through a whole sampling interval.
inline constexpr std::chrono::milliseconds kThrashGapTolerance{1000};

// The cumulative counters of a memory cgroup at one moment; nullopt where the kernel
// (or the cgroup version) has none.
struct PressureCounters {
  std::optional<std::uint64_t> major_faults;   // memory.stat pgmajfault (v1 total_pgmajfault)
  std::optional<std::uint64_t> refaults;       // workingset_refault_anon + _file (or workingset_refault)
  std::optional<std::uint64_t> fail_count;     // v1 memory.failcnt; v2 memory.events "max"
  std::optional<std::uint64_t> some_stall_us;  // v2 memory.pressure "some ... total="
  std::optional<std::uint64_t> full_stall_us;  // v2 memory.pressure "full ... total="
  std::optional<double> some_avg10;            // v2 memory.pressure, percent
  std::optional<double> full_avg10;
  friend bool operator==(const PressureCounters&, const PressureCounters&) = default;
};

struct StallSample {
  std::int64_t unix_ms = 0;
  std::uint64_t usage_bytes = 0;
  std::optional<std::uint64_t> limit_bytes;
  PressureCounters counters;
};

// What the evidence says about a stall: from its first thrashing sample to the one that
// confirmed it. Rates are over that span; nullopt where the counter was not readable.
struct StallFigures {
  std::int64_t since_unix_ms = 0;
  std::int64_t detected_unix_ms = 0;
  std::uint64_t limit_bytes = 0;
  std::uint64_t min_usage_bytes = 0;
  std::uint64_t max_usage_bytes = 0;
  int samples = 0;         // samples in the span
  int pinned_samples = 0;  // of them, at or above kPinnedFraction of the limit
  std::optional<double> refaults_per_second;
  std::optional<double> major_faults_per_second;
  std::optional<double> fail_count_per_second;
  std::optional<double> some_stall_percent;  // PSI "some" time over the span, percent of wall time
  std::optional<double> full_stall_percent;
  std::optional<double> some_avg10;  // as the kernel last said
  std::optional<double> full_avg10;
  friend bool operator==(const StallFigures&, const StallFigures&) = default;
};

// One line for people, e.g. "at 97-100% of its 256.0Mi limit for 10.2 s (50 of 51
// samples): 180,000 refaults/s, 25 major faults/s, memory.failcnt +30,000/s".
std::string DescribeStall(const StallFigures& figures);

class StallDetector {
 public:
  // `after` at least one sampling interval; 10 s is the default (see kDefaultStallAfter).
  explicit StallDetector(std::chrono::milliseconds after) : after_(after) {}

  // Feeds the next sample. Returns the figures when the current thrash has now lasted
  // `after` (and on every later thrashing sample while it goes on), else nullopt.
  std::optional<StallFigures> Add(const StallSample& sample);

  // When the current thrash began (its first thrashing sample), nullopt when there is
  // none: the moment to ask for a heap profile, before the stall is confirmed.
  std::optional<std::int64_t> thrashing_since() const;

 private:
  bool Thrashing(const StallSample& previous, const StallSample& sample) const;
  void Restart();

  std::chrono::milliseconds after_;
  std::optional<StallSample> previous_;
  // The samples of the current thrash, its first thrashing sample's predecessor first
  // (the base the rates are measured from).
  std::deque<StallSample> run_;
  std::optional<std::int64_t> last_thrashing_ms_;
};

// The default `after`: long enough that a package which touches its limit during one
// large test (a GC cycle, a file read once) has recovered or been OOM-killed, short
// next to the minutes a stalled attempt holds its Pod (590 s in issue 14).
inline constexpr std::chrono::milliseconds kDefaultStallAfter{10000};

}  // namespace gotestrun::sandbox
