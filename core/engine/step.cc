#include "core/engine/step.h"

#include <algorithm>
#include <set>

#include "core/policy/plan.h"
#include "core/policy/quantity.h"

namespace gotestrun::engine {
std::string AttemptOutcomeName(const AttemptFindings& ev) {
  bool killed = ev.outcome.container_oom_killed || !ev.killed_package.empty() || !ev.outcome.setup_killed.empty();
  if (ev.memory_stall) return std::string(evidence::kMemoryStallOutcome);
  if (killed) return "OOMKilled";
  bool any_failed = false, all_passed = !ev.outcome.packages.empty();
  for (const policy::PackageOutcome& p : ev.outcome.packages) {
    if (p.result == policy::PackageResult::kTestsFailed || p.result == policy::PackageResult::kBuildFailed)
      any_failed = true;
    if (p.result != policy::PackageResult::kPassed) all_passed = false;
  }
  if (any_failed) return "TestsFailed";
  return all_passed && ev.agent_result ? "Succeeded" : "Failed";
}

void AddAttempt(RunProgress& progress, const policy::ShardPlan& plan, const std::string& run) {
  AttemptRecord r;
  r.plan = plan;
  r.pod = policy::AttemptName(run, plan.index, plan.attempt);
  for (ShardRecord& s : progress.shards) {
    if (s.index == plan.index) {
      s.attempts.push_back(std::move(r));
      return;
    }
  }
  progress.shards.push_back({plan.index, {std::move(r)}});
}

void RecordEnd(AttemptRecord& a, const AttemptFindings& ev, const std::string& now) {
  a.outcome = AttemptOutcomeName(ev);
  a.phase = ev.phase;
  a.peak_bytes = ev.peak;
  a.build_peak_bytes = ev.build_peak;
  a.killed_package = ev.killed_package;
  a.running_test = ev.running_test;
  a.finish_time = now;
  if (a.start_time.empty()) a.start_time = now;
  a.message = ev.message;
}

StatusOr<Step> Advance(const policy::RunPolicy& policy, const std::string& run,
                       const std::vector<policy::AttemptOutcome>& finished, RunProgress& progress) {
  // The policy sees every shard's latest attempt that is running or just finished.
  std::vector<policy::ShardPlan> active;
  for (const ShardRecord& s : progress.shards) {
    if (s.attempts.empty()) continue;
    const AttemptRecord& a = s.attempts.back();
    bool just_finished = std::any_of(finished.begin(), finished.end(), [&](const policy::AttemptOutcome& o) {
      return o.shard == a.plan.index && o.attempt == a.plan.attempt;
    });
    if (!a.finished() || just_finished) active.push_back(a.plan);
  }
  StatusOr<policy::RetryDecision> decision = policy::NextAttempts(policy, active, finished, progress.log);
  if (!decision.ok()) return decision.status().Annotate("retry policy");
  progress.log = std::move(decision->log);
  for (const policy::PackageVerdict& v : decision->verdicts) progress.verdicts.push_back(v);
  for (const policy::ShardPlan& p : decision->shards) AddAttempt(progress, p, run);
  return Step{std::move(decision->shards), std::move(decision->verdicts), decision->state,
              std::move(decision->summary)};
}

void NoteRisks(api::RunStatus& status, const AttemptFindings& evidence, const std::string& attempt) {
  for (const RiskFinding& r : evidence.at_risk) {
    auto it = std::find_if(status.warnings.begin(), status.warnings.end(),
                           [&](const api::RiskWarning& w) { return w.package == r.package && w.kind == r.kind; });
    api::RiskWarning w{r.package, r.kind, r.message, attempt};
    if (it != status.warnings.end()) {
      *it = std::move(w);
    } else if (status.warnings.size() < kMaxWarnings) {
      status.warnings.push_back(std::move(w));
    }
  }
}

void NoteAtRiskCondition(api::RunStatus& status, std::int64_t generation, const std::string& now) {
  if (status.warnings.empty()) {
    api::SetCondition(status, "AtRisk", "False", "NoPackageAtRisk",
                      "no package that passed came within " + std::to_string(100 - kNearLimitPercent) +
                          "% of its limit or showed a leak pattern",
                      generation, now);
    return;
  }
  std::set<std::string> packages;
  for (const api::RiskWarning& w : status.warnings) packages.insert(w.package);
  std::string message = std::to_string(packages.size()) + " package(s) passed but are at risk of an OOM kill:";
  std::size_t shown = 0;
  for (const api::RiskWarning& w : status.warnings) {
    if (++shown > 10) {
      message += " ...";
      break;
    }
    message += (shown == 1 ? " " : "; ") + w.package + " (" + w.kind + ")";
  }
  api::SetCondition(status, "AtRisk", "True", "PackagesAtRisk", message, generation, now);
}

void NoteDiagnoses(RunProgress& progress, const AttemptFindings& evidence, const std::string& attempt) {
  for (const PackageDiagnosis& d : evidence.diagnoses) {
    auto it = std::find_if(progress.diagnoses.begin(), progress.diagnoses.end(),
                           [&](const DiagnosisRecord& r) { return r.diagnosis.package == d.package; });
    if (it == progress.diagnoses.end()) {
      progress.diagnoses.push_back({d, attempt, ""});
    } else {
      *it = {d, attempt, ""};
    }
  }
}

void NoteActions(RunProgress& progress, const Step& step, const std::string& run) {
  for (const policy::ShardPlan& p : step.started) {
    for (DiagnosisRecord& r : progress.diagnoses) {
      if (!r.action.empty() ||
          std::find(p.packages.begin(), p.packages.end(), r.diagnosis.package) == p.packages.end()) {
        continue;
      }
      std::string knobs = policy::FormatMemoryQuantity(p.memory);
      if (p.parallel) knobs += ", -parallel " + std::to_string(*p.parallel);
      if (p.p) knobs += ", -p " + std::to_string(*p.p);
      if (p.gomemlimit) knobs += ", GOMEMLIMIT=" + policy::FormatGoMemLimit(*p.gomemlimit);
      std::string with =
          p.packages.size() == 1 ? "alone" : "with " + std::to_string(p.packages.size() - 1) + " other package(s)";
      r.action =
          "retried " + with + " as " + policy::AttemptName(run, p.index, p.attempt) + " (" + knobs + "): " + p.reason;
    }
  }
}

void WriteTotals(const RunProgress& progress, api::RunStatus& status) {
  int attempts = 0, ooms = 0;
  for (const ShardRecord& s : progress.shards) {
    attempts += static_cast<int>(s.attempts.size());
    for (const AttemptRecord& a : s.attempts) ooms += a.outcome == "OOMKilled" ? 1 : 0;
  }
  status.shard_count = static_cast<int>(progress.shards.size());
  status.attempt_count = attempts;
  status.oom_kills = ooms;
}

std::vector<std::string> PackagesToTest(const std::vector<evidence::PackageListing>& listings) {
  std::vector<std::string> packages;
  for (const evidence::PackageListing& l : listings) {
    if (l.has_tests() || !l.error.empty()) packages.push_back(l.import_path);
  }
  return packages;
}

void WriteNoTests(api::RunStatus& status, std::int64_t generation, const std::string& now) {
  status.phase = "Succeeded";
  status.completion_time = now;
  status.message = "no packages with tests";
  api::SetCondition(status, "Succeeded", "True", "NoTests", "no packages with tests", generation, now);
}

void FailRun(api::RunStatus& status, const std::string& reason, const std::string& message, std::int64_t generation,
             const std::string& now) {
  status.phase = "Failed";
  status.completion_time = now;
  status.message = message;
  api::SetCondition(status, "Succeeded", "False", reason, message, generation, now);
}

void WriteSettled(api::RunStatus& status, policy::RunState state, const std::string& summary, std::int64_t generation,
                  const std::string& now) {
  bool ok = state == policy::RunState::kSucceeded;
  status.phase = ok ? "Succeeded" : "Failed";
  status.completion_time = now;
  status.message = summary;
  api::SetCondition(status, "Succeeded", ok ? "True" : "False", ok ? "AllPassed" : "PackagesFailed", summary,
                    generation, now);
}

Settled SettleRun(api::RunStatus& status, policy::RunState state, std::string summary,
                  const std::optional<std::vector<Growth>>& growth, int threshold_percent, bool fail_on_growth,
                  std::int64_t generation, const std::string& now) {
  Settled out{state, std::move(summary), ""};
  if (growth && !growth->empty()) {
    out.growth = DescribeGrowth(*growth);
    api::SetCondition(status, "MemoryGrowth", "True", "PeakGrew", out.growth, generation, now);
    if (fail_on_growth && state == policy::RunState::kSucceeded) {
      out.state = policy::RunState::kFailed;
      out.summary += "; failed by the memory gate: " + out.growth;
    }
  } else if (growth) {
    api::SetCondition(status, "MemoryGrowth", "False", "WithinBaseline",
                      "no package's peak grew more than " + std::to_string(threshold_percent) + "% over its baseline",
                      generation, now);
  }
  WriteSettled(status, out.state, out.summary, generation, now);
  if (out.state != state) api::SetCondition(status, "Succeeded", "False", "MemoryGrowth", out.summary, generation, now);
  return out;
}

}  // namespace gotestrun::engine
