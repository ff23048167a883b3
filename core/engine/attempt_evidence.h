// What a finished attempt left behind, read into the retry policy's terms.
//
// Two sources, as FACTS.md describes an OOM kill: how the container ended (a Pod's
// `terminated.reason: OOMKilled`, exit code 137; or the local sandbox's OOM kill
// count) and the agent's evidence folder
// (result.json, exec/*.json, events.jsonl, memory.tsv). A missing result.json means
// the whole container died; then the event stream still tells which packages had
// passed before it did. A package killed while others passed is an OOM kill even if
// the container's exit code is 1. The operator and the local runner share this reader.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/evidence/memory_stall.h"
#include "core/policy/retry.h"

namespace gotestrun::engine {

// How the container (a Pod's, or the local runner's cgroup) ended.
struct ContainerEnd {
  bool oom_killed = false;       // the kernel's OOM killer ended something in it
  std::optional<int> exit_code;  // of its top process, when it exited
  // The local runner's RSS watch killed it at the limit (no cgroup): treated as an
  // OOM kill by the policy, and said so in the message.
  bool killed_at_limit = false;
  // The local sandbox ended the whole tree because it stalled at its memory limit and
  // the agent had not ended it (sandbox/memory_stall.h); `stall_evidence` has the figures.
  bool memory_stall = false;
  std::string stall_evidence;
  // The Pod was ended at its activeDeadlineSeconds: whatever had no result by then
  // timed out. It failed, and running it again would hang the same way.
  bool deadline_exceeded = false;
  // An init container (the agent's install, the git clone) failed and so ended the Pod
  // before go test started; the kubelet then reports the test container as waiting
  // (PodInitializing), never terminated, so the fields above say nothing.
  struct InitFailure {
    std::string container;
    std::string reason;  // the kubelet's, e.g. "OOMKilled", "Error"
    std::optional<int> exit_code;
    bool oom_killed = false;
  };
  std::optional<InitFailure> init_failure;
};

// What the diagnosis (diagnosis/cause) concluded about one package of an attempt.
struct PackageDiagnosis {
  std::string package;
  policy::Phase phase = policy::Phase::kUnknown;
  policy::Cause cause = policy::Cause::kUnknown;
  std::string summary;                // one sentence a developer can act on
  std::vector<std::string> evidence;  // the figures behind it, one line each
};

// A package that passed but is at risk of an OOM kill on a later run (status.warnings):
// NearLimit, LeakAcrossTests or GoroutineLeak.
struct RiskFinding {
  std::string package;
  std::string kind;
  std::string message;
  friend bool operator==(const RiskFinding&, const RiskFinding&) = default;
};

// A pass at or above this share of the limit is one small change (a test added, a
// dependency's buffer grown, a busier CI node's GC timing) from a kill.
inline constexpr int kNearLimitPercent = 90;

// A compile or link step (build.jsonl) that was running when the container died.
struct BuildStepAtKill {
  std::string tool;     // "compile" or "link"
  std::string package;  // the package it was built for; may be a dependency outside the plan
  std::int64_t start_unix_ms = 0;
  // From its start to the kill (the last memory sample, or the last build record when
  // there is none); none when neither is known.
  std::optional<std::int64_t> ran_ms;
  // Its max RSS, when its wrapper outlived it long enough to record the SIGKILL.
  std::optional<std::uint64_t> max_rss_bytes;
};

// What the evidence of one attempt says (the report's AttemptFindings is the files
// themselves, read for people).
struct AttemptFindings {
  policy::AttemptOutcome outcome;
  bool container_oom_killed = false;  // the container was OOM-killed (or killed at the limit)
  bool agent_result = false;          // result.json was there
  std::string killed_package;         // the package named as killed, if one was
  // When the container died while several test binaries ran: all of them (the policy
  // splits the shard to find which).
  std::vector<std::string> suspects;
  std::string running_test;      // the test running in it at the kill
  std::string phase;             // compile, link, init, test-run, unknown
  std::optional<uint64_t> peak;  // the attempt's peak (cgroup)
  // The cgroup's peak before the first test binary started (all of it when none did):
  // the build from the Pod's empty build cache with nothing of the tests in it. go
  // test compiles on while tests run, so this is a lower bound of what building takes.
  std::optional<uint64_t> build_peak;
  std::string message;  // one line for people
  // For each package killed (or the one suspect of a container kill): the diagnosis.
  std::vector<PackageDiagnosis> diagnoses;
  // The attempt was ended because it stalled at its memory limit: by the agent (the
  // record from result.json) or by the local sandbox (package empty). Its outcome in
  // status is "MemoryStall"; the policy sees the package as killed.
  std::optional<evidence::MemoryStallRecord> memory_stall;
  // Packages that passed in it but are at risk, by package.
  std::vector<RiskFinding> at_risk;
  // A container killed before any test binary ran: the build steps running at the kill.
  std::vector<BuildStepAtKill> builds_at_kill;
  // Per planned package, the largest max RSS of its compile and link steps that ended
  // well in this attempt: what building it takes, for the memory history.
  std::map<std::string, std::uint64_t> build_peaks;
  // Evidence files of the folder that were there but not read, each "<file>: why" (a
  // FIFO or a link planted under an evidence name, a file over its size cap); the
  // message ends with them, so the status says what the diagnosis went without.
  std::vector<std::string> left_out;
};

// Top-level tests per package (import path), where known: for projections of what the
// tests still to come will need.
using TestCounts = std::map<std::string, int>;

// `attempt_dir` is the attempt's evidence folder (core/evidence/evidence.h); `end` how its
// container ended.
AttemptFindings ReadAttemptEvidence(const std::string& attempt_dir, const policy::ShardPlan& plan,
                                    const ContainerEnd& end, const TestCounts& test_counts = {});

}  // namespace gotestrun::engine
