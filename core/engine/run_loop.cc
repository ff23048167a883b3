#include "core/engine/run_loop.h"

#include "core/policy/retry.h"

namespace gotestrun::engine {
namespace {

constexpr char kInterrupted[] = "interrupted: the run was stopped";

// False while the listing runs, or when the run ended in planning (nothing to test,
// planning failed); true once the shards are planned.
StatusOr<bool> Plan(const RunContext& run, api::RunStatus& status, RunProgress& progress, RunDriver& driver) {
  ListingObservation listing = driver.ObserveListing();
  if (listing.state != Progressing::kEnded) {
    if (listing.state == Progressing::kNotStarted) GTR_RETURN_IF_ERROR(driver.StartListing());
    status.phase = "Planning";
    if (status.start_time.empty()) status.start_time = driver.Now();
    api::SetCondition(status, "Succeeded", "Unknown", "Planning", "listing the packages", run.generation, driver.Now());
    return false;
  }
  if (!listing.listings.ok()) {
    FailRun(status, "PlanningFailed", "planning failed: " + listing.listings.status().message(), run.generation,
            driver.Now());
    return false;
  }
  std::vector<std::string> packages = PackagesToTest(*listing.listings);
  if (packages.empty()) {
    WriteNoTests(status, run.generation, driver.Now());
    return false;
  }
  // History only makes plans better: without it the run is planned as a first run.
  StatusOr<MemoryHistory> history = driver.LoadHistory();
  if (!history.ok()) driver.OnHistoryNotUsed(history.status());
  policy::History known = history.ok() ? PlanningHistory(*history) : policy::History{};
  int sized = 0;
  for (const std::string& p : packages) sized += known.packages.contains(p) ? 1 : 0;
  StatusOr<std::vector<policy::ShardPlan>> plans = policy::PlanShards(packages, run.spec.policy, known);
  if (!plans.ok()) {
    // The same packages and policy would fail the same way again.
    FailRun(status, "PlanningFailed", "planning failed: " + plans.status().message(), run.generation, driver.Now());
    return false;
  }
  for (const policy::ShardPlan& p : *plans) AddAttempt(progress, p, run.name);
  progress.planned = true;
  status.phase = "Running";
  std::string planned = std::to_string(packages.size()) + " packages in " + std::to_string(plans->size()) + " shards";
  if (sized > 0) planned += " (" + std::to_string(sized) + " sized from memory history " + driver.HistoryName() + ")";
  api::SetCondition(status, "Succeeded", "Unknown", "Running", planned, run.generation, driver.Now());
  driver.OnPlanned(packages.size(), *plans, sized, planned);
  return true;
}

// Reads an ended attempt's evidence into its record, and its diagnoses into the run's
// unless it was stopped (then its binaries were killed by the stop, not for memory).
AttemptFindings RecordEnded(RunProgress& progress, AttemptRecord& a, const AttemptObservation& o, RunDriver& driver,
                            const TestCounts& test_counts) {
  if (a.start_time.empty()) a.start_time = o.started_at;
  AttemptFindings ev = ReadAttemptEvidence(o.evidence_dir, a.plan, o.end, test_counts);
  RecordEnd(a, ev, driver.Now());
  if (!o.stopped) NoteDiagnoses(progress, ev, a.pod);
  if (!o.note.empty()) a.message += "; " + o.note;
  return ev;
}

// The peaks of a settled run go into the memory history; what grew, if it was consulted.
std::optional<std::vector<Growth>> RememberPeaks(const RunProgress& progress, RunDriver& driver) {
  AttemptPeaks attempt_peaks;
  for (const ShardRecord& shard : progress.shards) {
    for (const AttemptRecord& a : shard.attempts) {
      if (a.build_peak_bytes) attempt_peaks[{a.plan.index, a.plan.attempt}] = *a.build_peak_bytes;
    }
  }
  RunPeaks peaks = PeaksOf(progress.log, attempt_peaks);
  if (peaks.test_run.empty() && peaks.build.empty() && peaks.fit.empty() && !peaks.shard_build) return std::nullopt;
  StatusOr<std::optional<std::vector<Growth>>> growth = driver.RecordHistory(peaks);
  if (growth.ok()) return *std::move(growth);
  // The run's own result stands; only the next plan is worse for it.
  driver.OnHistoryNotRecorded(growth.status());
  return std::nullopt;
}

void Save(const RunProgress& progress, api::RunStatus& status) {
  WriteProgress(progress, status);
  WriteTotals(progress, status);
}

}  // namespace

TestCounts KnownTestCounts(const api::GoTestRunSpec& spec, RunDriver& driver) {
  std::vector<std::string> flags = spec.flags;
  for (const api::EnvVar& e : spec.env) {
    if (e.name != "GOFLAGS") continue;
    for (std::string& word : api::GoFlagsWords(e.value)) flags.push_back(std::move(word));
  }
  for (std::size_t i = 0; i < flags.size(); ++i) {
    const std::string_view name = api::FlagName(flags[i]);
    if (name == "run" || name == "skip" || name == "list") return {};
    if (name != "count") continue;
    // -count=N, "-count N" as one argument, or -count then N.
    const std::string_view value =
        api::FlagInlineValue(flags[i]).value_or(i + 1 < flags.size() ? std::string_view(flags[i + 1]) : "");
    if (value != "1") return {};
  }
  ListingObservation listing = driver.ObserveListing();
  if (listing.state != Progressing::kEnded || !listing.listings.ok()) return {};
  TestCounts counts;
  for (const evidence::PackageListing& l : *listing.listings) {
    if (l.top_level_tests) counts[l.import_path] = *l.top_level_tests;
  }
  return counts;
}

StatusOr<std::vector<policy::ShardPlan>> ReconcileRun(const RunContext& run, api::RunStatus& status,
                                                      RunDriver& driver) {
  std::vector<policy::ShardPlan> to_start;
  if (status.settled()) return to_start;
  status.observed_generation = run.generation;
  RunProgress progress = ReadProgress(status);
  if (!progress.planned) {
    StatusOr<bool> planned = Plan(run, status, progress, driver);
    if (!planned.ok()) return planned.status();
    if (!*planned) return to_start;
  }

  std::vector<policy::AttemptOutcome> finished;
  std::optional<TestCounts> test_counts;  // read once an attempt has ended
  for (ShardRecord& shard : progress.shards) {
    AttemptRecord& a = shard.attempts.back();
    if (a.finished()) continue;
    AttemptObservation o = driver.ObserveAttempt(a);
    switch (o.state) {
      case Progressing::kNotStarted: to_start.push_back(a.plan); break;
      case Progressing::kStarting: break;
      case Progressing::kRunning:
        if (a.outcome != "Running") {
          a.outcome = "Running";
          a.start_time = o.started_at.empty() ? driver.Now() : o.started_at;
        }
        break;
      case Progressing::kEnded: {
        if (!test_counts) test_counts = KnownTestCounts(run.spec, driver);
        AttemptFindings ev = RecordEnded(progress, a, o, driver, *test_counts);
        if (!o.stopped) NoteRisks(status, ev, a.pod);
        driver.OnAttemptEnded(a, ev);
        finished.push_back(std::move(ev.outcome));
        break;
      }
    }
  }
  if (!finished.empty()) {
    StatusOr<Step> step = Advance(run.spec.policy, run.name, finished, progress);
    if (!step.ok()) {
      Save(progress, status);
      return step.status();
    }
    NoteActions(progress, *step, run.name);
    to_start.insert(to_start.end(), step->started.begin(), step->started.end());
    driver.OnDecided(*step);
    if (step->state != policy::RunState::kRunning) {
      std::optional<std::vector<Growth>> growth = RememberPeaks(progress, driver);
      NoteAtRiskCondition(status, run.generation, driver.Now());
      Settled settled = SettleRun(status, step->state, step->summary, growth, run.spec.growth_threshold_percent,
                                  run.spec.fail_on_growth, run.generation, driver.Now());
      driver.OnSettled(settled);
    }
  }
  Save(progress, status);
  return to_start;
}

void StopRun(const RunContext& run, api::RunStatus& status, RunDriver& driver, const std::string& reason,
             const std::string& message) {
  RunProgress progress = ReadProgress(status);
  for (ShardRecord& shard : progress.shards) {
    AttemptRecord& a = shard.attempts.back();
    if (a.finished()) continue;
    AttemptObservation o = driver.ObserveAttempt(a);
    if (o.state == Progressing::kEnded) {
      RecordEnded(progress, a, o, driver, {});
      if (!o.stopped) continue;
      // How a stopped attempt ended says nothing about the tests: the stop did it.
      a.outcome = "Failed";
      a.phase.clear();
      a.killed_package.clear();
      a.running_test.clear();
      a.message = kInterrupted;
      continue;
    }
    a.outcome = "Failed";
    a.finish_time = driver.Now();
    a.message = kInterrupted;
  }
  if (progress.planned) Save(progress, status);
  FailRun(status, reason, message, run.generation, driver.Now());
}

}  // namespace gotestrun::engine
