// The run's progress in the engine's terms (plans, the retry policy's log, verdicts,
// diagnoses), kept in GoTestRun.status (api/status.h). The status is the run's only
// memory, so everything a later decision needs is written there and read back on
// every step (level-triggered: an operator restart resumes where the status says).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/api/status.h"
#include "core/engine/attempt_evidence.h"
#include "core/policy/retry.h"

namespace gotestrun::engine {

struct AttemptRecord {
  policy::ShardPlan plan;
  std::string pod;
  std::string outcome = "Pending";  // Pending, Running, Succeeded, TestsFailed, OOMKilled, Failed
  std::string phase;                // where a kill happened
  std::optional<uint64_t> peak_bytes;
  std::optional<uint64_t> build_peak_bytes;  // AttemptFindings::build_peak
  std::string killed_package;
  std::string running_test;
  std::string start_time;
  std::string finish_time;
  std::string message;
  bool finished() const { return outcome != "Pending" && outcome != "Running"; }
};

struct ShardRecord {
  int index = 0;
  std::vector<AttemptRecord> attempts;
};

// A package's latest diagnosis and what was done about it: status.diagnosis.
struct DiagnosisRecord {
  PackageDiagnosis diagnosis;
  std::string attempt;  // the attempt it was read from, e.g. "payments-s0-a1"
  std::string action;   // what the retry policy did about it
};

struct RunProgress {
  bool planned = false;
  std::vector<ShardRecord> shards;
  policy::AttemptLog log;
  std::vector<policy::PackageVerdict> verdicts;
  std::vector<DiagnosisRecord> diagnoses;  // the latest of each package, in the order first diagnosed
};

// Reads what an earlier step wrote; a status without shards is a run not yet planned.
RunProgress ReadProgress(const api::RunStatus& status);
// Writes shards, retryLog, packages and diagnosis into `status` (other fields untouched).
void WriteProgress(const RunProgress& progress, api::RunStatus& status);

}  // namespace gotestrun::engine
