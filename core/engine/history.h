// Memory history: what each package of a suite needed in its recent runs, so that the
// next run is planned right the first time and a package whose memory grew is flagged.
//
// One history per suite (SuiteKey: the source, module folder, build tags and go test
// flags, since -race alone doubles a binary's memory). The operator keeps it in a
// ConfigMap beside the runs (operator/main.cc wires HistoryConfigMapName), the local
// runner in a file; both hold EncodeHistory's JSON, so a history can be moved between
// them with kubectl.
//
// Per suite it keeps what a shard's build needed from an empty build cache, when that
// was once too little. Per package it keeps the test binary's peak from each of the last kWindow runs that
// passed it (with the run's uid, so recording the same run twice changes nothing), the
// largest build need seen, and, for a package that passed only after an OOM kill, the
// knobs it passed with (limit, -parallel, -p, GOMEMLIMIT; alone), so that the next run
// starts it the way it fit instead of being killed again at the suite's defaults. Planning uses the largest peak in the
// window: an OOM kill costs a whole attempt, a few spare MiB cost nothing. Growth is judged against the median of the
// window's other runs, so one noisy run neither raises nor lowers the baseline, and a real step up becomes the new
// normal only after it has held for half the window: until then a memory gate keeps failing on it, as a gate should.
//
// Bounded: at most kMaxPackages packages (least recently seen dropped first), kWindow
// peaks each; about 200 bytes per package, 400 KiB at most, well under a ConfigMap's
// 1 MiB.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api/gotestrun.h"
#include "base/status.h"
#include "core/policy/plan.h"
#include "core/policy/retry.h"

namespace gotestrun::engine {

inline constexpr std::size_t kWindow = 10;
inline constexpr std::size_t kMaxPackages = 2000;

struct RunPeak {
  std::string run;  // the uid of the run that measured it
  policy::Bytes bytes = 0;
  friend bool operator==(const RunPeak&, const RunPeak&) = default;
};

struct PackageHistory {
  std::vector<RunPeak> test_run;       // oldest first, at most kWindow
  std::optional<policy::Bytes> build;  // the limit its build passed under after a build kill
  // The knobs it last passed with after an OOM kill: the planner starts it that way.
  std::optional<policy::FitKnobs> fit;
  std::string last_seen;  // RFC 3339, when a run last recorded it
  friend bool operator==(const PackageHistory&, const PackageHistory&) = default;
};

struct MemoryHistory {
  std::string suite;  // SuiteKey's readable form, for people reading the ConfigMap
  std::map<std::string, PackageHistory, std::less<>> packages;
  // What a shard's build got through with after it was OOM-killed (policy::ShardBuildNeed),
  // from the last run that had such a kill.
  std::optional<policy::ShardBuildNeed> shard_build;
  friend bool operator==(const MemoryHistory&, const MemoryHistory&) = default;
};

// A short stable id of the suite ("3f2a9c01d4e5b6a7") and its readable form.
struct SuiteKey {
  std::string id;
  std::string description;
};
SuiteKey SuiteKeyOf(const api::GoTestRunSpec& spec);

std::string EncodeHistory(const MemoryHistory& history);
// InvalidArgument for JSON that is not a history; entries that do not make sense are
// dropped, and the caps are applied.
StatusOr<MemoryHistory> DecodeHistory(std::string_view json);

// What the planner needs: the largest test-run peak in the window, and the build need.
policy::History PlanningHistory(const MemoryHistory& history);

// A package whose peak in this run is more than `threshold_percent` over its baseline.
struct Growth {
  std::string package;
  policy::Bytes baseline = 0;  // the median of the other runs' peaks
  policy::Bytes peak = 0;      // this run's
  int percent = 0;             // (peak - baseline) / baseline, rounded down
  friend bool operator==(const Growth&, const Growth&) = default;
};

// The peaks a finished run measured: for each package whose last attempt passed, the
// peak of that attempt's test binary; and the limit a package passed under after one
// of its builds was killed.
struct RunPeaks {
  std::map<std::string, policy::Bytes, std::less<>> test_run;
  std::map<std::string, policy::Bytes, std::less<>> build;
  // For each package that passed after being OOM-killed in the run: the knobs of the
  // attempt it passed in.
  std::map<std::string, policy::FitKnobs, std::less<>> fit;
  // A shard's build was OOM-killed (no test binary running) and a later attempt of the
  // same packages got through the build: the largest limit (with its -p) it took.
  std::optional<policy::ShardBuildNeed> shard_build;
};
// An attempt's build peak (AttemptFindings::build_peak: its cgroup's peak before the
// first test binary started), by (shard, attempt), where measured.
using AttemptPeaks = std::map<std::pair<int, int>, policy::Bytes>;
// `attempt_peaks` sizes the shard build need: the limit the build got through under,
// lowered to that attempt's build peak with headroom (the limit can be maxMemory,
// reached by a step up after a second kill, far above what the build took).
RunPeaks PeaksOf(const policy::AttemptLog& log, const AttemptPeaks& attempt_peaks = {});

// Packages of `peaks` that grew past the threshold, judged against the history's
// other runs (not `run` itself), by name. A package without an earlier peak is not
// judged.
std::vector<Growth> FindGrowth(const MemoryHistory& history, const RunPeaks& peaks, std::string_view run,
                               int threshold_percent);

// Folds one run in: replaces that run's earlier entry if there is one, keeps the last
// kWindow, drops the packages seen least recently beyond kMaxPackages.
void RecordRun(MemoryHistory& history, const RunPeaks& peaks, std::string_view run, const std::string& now);

// "memory growth: example.com/x 120Mi -> 180Mi (+50%), ..." for a condition and an Event.
std::string DescribeGrowth(const std::vector<Growth>& growth);

}  // namespace gotestrun::engine
