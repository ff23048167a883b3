// The pieces of a run's step (run_loop.h puts them in order): record how shard
// attempts ended, ask the retry policy what comes next, and write what it decided
// into the run's progress and status. Pure: no files, clocks or API calls; the caller
// passes the time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/evidence/evidence.h"
#include "base/status.h"
#include "core/api/status.h"
#include "core/engine/attempt_evidence.h"
#include "core/engine/history.h"
#include "core/engine/run_progress.h"
#include "core/policy/retry.h"

namespace gotestrun::engine {

// "Succeeded", "TestsFailed", "OOMKilled", "MemoryStall" or "Failed": an attempt's
// outcome in status.
std::string AttemptOutcomeName(const AttemptFindings& evidence);

// Appends a new attempt for `plan` to its shard (a new shard when its index is new),
// named AttemptName(run, index, attempt).
void AddAttempt(RunProgress& progress, const policy::ShardPlan& plan, const std::string& run);

// Records how `attempt` ended from its evidence, at `now` (RFC 3339).
void RecordEnd(AttemptRecord& attempt, const AttemptFindings& evidence, const std::string& now);

// Keeps the diagnoses of a finished attempt (named `attempt`), replacing a package's
// earlier one: a later attempt, often with the package alone, sees it more clearly.
// Adds the attempt's at-risk packages to status.warnings (one per package and kind,
// the latest kept; at most kMaxWarnings).
inline constexpr std::size_t kMaxWarnings = 1000;
void NoteRisks(api::RunStatus& status, const AttemptFindings& evidence, const std::string& attempt);
// Condition AtRisk: True with the packages when status.warnings has any, else False.
void NoteAtRiskCondition(api::RunStatus& status, std::int64_t generation, const std::string& now);
void NoteDiagnoses(RunProgress& progress, const AttemptFindings& evidence, const std::string& attempt);

// What the retry policy decided for the attempts that just finished.
struct Step {
  std::vector<policy::ShardPlan> started;        // new attempts, already added to progress
  std::vector<policy::PackageVerdict> verdicts;  // packages that reached their end now
  policy::RunState state = policy::RunState::kRunning;
  std::string summary;  // for a finished run
};

// Feeds the attempts that just finished (their records already updated with RecordEnd)
// to the retry policy and records its decision in `progress`: the log, the verdicts and
// the new attempts. `finished` must be outcomes of attempts that are the last of their
// shards in `progress`.
StatusOr<Step> Advance(const policy::RunPolicy& policy, const std::string& run,
                       const std::vector<policy::AttemptOutcome>& finished, RunProgress& progress);

// Writes into each diagnosis what the step did about its package: the attempt it was
// retried in and with what, or nothing (a verdict speaks for itself in status).
void NoteActions(RunProgress& progress, const Step& step, const std::string& run);

// Writes shardCount, attemptCount and oomKills.
void WriteTotals(const RunProgress& progress, api::RunStatus& status);

// The packages go test is to run: those with test files, and those go list could not
// load (go test reports why they do not build).
std::vector<std::string> PackagesToTest(const std::vector<evidence::PackageListing>& listings);

// Settles a run that has no package with tests: Succeeded, reason NoTests.
void WriteNoTests(api::RunStatus& status, std::int64_t generation, const std::string& now);

// Ends a run that could not run to a verdict (planning failed, stopped): phase
// Failed, completionTime, message and Succeeded=False with `reason`.
void FailRun(api::RunStatus& status, const std::string& reason, const std::string& message, std::int64_t generation,
             const std::string& now);

// Writes the end of a run: phase, completionTime, message and the Succeeded condition.
void WriteSettled(api::RunStatus& status, policy::RunState state, const std::string& summary, std::int64_t generation,
                  const std::string& now);

// The end of a run the retry policy settled, with the memory gate applied: `growth` is
// what the memory history judged (nullopt: no history was consulted, and the
// MemoryGrowth condition is left out). Grown packages set MemoryGrowth=True and, with
// `fail_on_growth`, fail a run whose packages all passed; otherwise MemoryGrowth=False.
// Writes phase, completionTime, message and the conditions.
struct Settled {
  policy::RunState state = policy::RunState::kFailed;
  std::string summary;
  std::string growth;  // DescribeGrowth's words, empty when nothing grew
};
Settled SettleRun(api::RunStatus& status, policy::RunState state, std::string summary,
                  const std::optional<std::vector<Growth>>& growth, int threshold_percent, bool fail_on_growth,
                  std::int64_t generation, const std::string& now);

}  // namespace gotestrun::engine
