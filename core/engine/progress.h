// The run's progress as it is kept in GoTestRun.status: which shard attempts were
// planned with what, how each ended, and the retry policy's log. The status is the
// controller's only memory, so everything a later decision needs is written there and
// read back on every reconcile (level-triggered: an operator restart resumes where the
// status says).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/engine/attempt_evidence.h"
#include "core/policy/retry.h"

namespace gotestrun::engine {

struct AttemptRecord {
  policy::ShardPlan plan;
  std::string pod;
  std::string outcome = "Pending";  // Pending, Running, Succeeded, TestsFailed, OOMKilled, Failed
  std::string phase;                // where a kill happened
  std::optional<uint64_t> peak_bytes;
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

// Reads what an earlier reconcile wrote; tolerant of missing fields (a fresh run).
RunProgress DecodeProgress(const nlohmann::json& status);
// Writes shards, retryLog and packages into `status` (other fields untouched).
void EncodeProgress(const RunProgress& progress, nlohmann::json& status);

nlohmann::json EncodeAttemptLog(const policy::AttemptLog& log);
policy::AttemptLog DecodeAttemptLog(const nlohmann::json& j);

}  // namespace gotestrun::engine
