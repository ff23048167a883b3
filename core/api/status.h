// GoTestRun.status as C++ structs, and its one JSON codec.
//
// The operator writes it through the status subresource, the local runner into
// status.yaml; describe and the report read it back. Every field here is a field of
// the CRD's status schema (crds/gotestrun.dev_gotestruns.yaml, checked by
// tests/unit/core/api/status_test.cc), named as the CRD names it.
//
// Decoding is tolerant: the status comes from outside (a file anyone can edit, an
// object anyone with RBAC can patch), so a missing or wrongly typed field is left at
// its default and decoding never throws. Encoding writes a field only when it holds
// something, so encode(decode(x)) == x for every status the encoder wrote.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gotestrun::api {

// status.conditions[]
struct Condition {
  std::string type;
  std::string status;  // True, False, Unknown
  std::string reason;
  std::string message;
  std::string last_transition_time;  // RFC 3339
  std::optional<std::int64_t> observed_generation;

  friend bool operator==(const Condition&, const Condition&) = default;
};

// status.shards[].attempts[]
struct AttemptStatus {
  int attempt = 1;
  std::string pod;     // the attempt's name, also its Pod's
  std::string memory;  // its memory limit, a quantity such as "384Mi"
  std::optional<int> parallel;
  std::optional<int> p;
  std::string gomemlimit;  // Go's form, e.g. "345MiB"
  std::string outcome;     // Pending, Running, Succeeded, TestsFailed, OOMKilled, Failed
  std::string phase;       // where a kill happened: compile, link, init, test-run, unknown
  std::optional<std::uint64_t> peak_bytes;
  std::optional<std::uint64_t> build_peak_bytes;  // before the first test binary started
  std::string killed_package;
  std::string running_test;
  std::string start_time;   // RFC 3339
  std::string finish_time;  // RFC 3339
  std::string message;

  friend bool operator==(const AttemptStatus&, const AttemptStatus&) = default;
};

// status.shards[]
struct ShardStatus {
  int index = 0;
  std::vector<std::string> packages;  // of its latest attempt
  std::vector<AttemptStatus> attempts;

  friend bool operator==(const ShardStatus&, const ShardStatus&) = default;
};

// status.packages[]: how a package ended over the run.
struct PackageStatus {
  std::string package;
  std::string outcome;  // Succeeded, TestsFailed, BuildFailed, OOMKilled, Failed, ...
  std::optional<int> shard;
  std::optional<int> attempts;
  std::optional<std::uint64_t> peak_bytes;
  std::optional<std::uint64_t> build_peak_bytes;

  friend bool operator==(const PackageStatus&, const PackageStatus&) = default;
};

// status.diagnosis[]: why a package needed its memory, and what was done about it.
struct DiagnosisEntry {
  std::string package;
  std::string phase;
  std::string cause;  // e.g. LeakAcrossTests
  std::string summary;
  std::vector<std::string> evidence;
  std::string action;
  std::string attempt;  // the attempt it was read from; empty when only a verdict speaks
  std::string verdict;

  friend bool operator==(const DiagnosisEntry&, const DiagnosisEntry&) = default;
};

// status.warnings[]: a package that passed but is at risk of an OOM kill next time.
struct RiskWarning {
  std::string package;
  std::string kind;  // NearLimit, LeakAcrossTests, GoroutineLeak
  std::string message;
  std::string attempt;

  friend bool operator==(const RiskWarning&, const RiskWarning&) = default;
};

// status.retryLog[<package>][]: the retry policy's record of one attempt of a package.
struct RetryLogEntry {
  int shard = 0;
  int attempt = 0;
  std::uint64_t memory = 0;  // bytes
  std::optional<int> parallel;
  std::optional<int> p;
  std::optional<std::uint64_t> gomemlimit;  // bytes
  std::optional<std::uint64_t> peak;        // bytes
  std::optional<std::uint64_t> build_peak;  // bytes: its own compile or link
  std::string result;
  std::string phase;
  std::string cause;
  bool counted = false;
  std::string verdict;  // set on the entry that ended the package

  friend bool operator==(const RetryLogEntry&, const RetryLogEntry&) = default;
};

struct RunStatus {
  std::string phase;  // Pending (empty), Planning, Running, Succeeded, Failed
  std::optional<std::int64_t> observed_generation;
  std::vector<Condition> conditions;
  std::string start_time;
  std::string completion_time;
  std::optional<int> shard_count;
  std::optional<int> attempt_count;
  std::optional<int> oom_kills;
  std::vector<PackageStatus> packages;
  std::vector<ShardStatus> shards;
  std::vector<DiagnosisEntry> diagnosis;
  std::vector<RiskWarning> warnings;
  std::map<std::string, std::vector<RetryLogEntry>> retry_log;  // by import path
  std::string message;

  bool settled() const { return phase == "Succeeded" || phase == "Failed"; }
  // The condition of that type, or null.
  const Condition* FindCondition(const std::string& type) const;

  friend bool operator==(const RunStatus&, const RunStatus&) = default;
};

nlohmann::json EncodeStatus(const RunStatus& status);
// Never throws: anything that is not what the CRD says is left out.
RunStatus DecodeStatus(const nlohmann::json& status);

// Sets a condition, keeping its lastTransitionTime when its status does not change.
void SetCondition(RunStatus& status, const std::string& type, const std::string& value, const std::string& reason,
                  const std::string& message, std::int64_t generation, const std::string& now);

}  // namespace gotestrun::api
