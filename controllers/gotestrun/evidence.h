// What a finished attempt left behind, read into the retry policy's terms.
//
// Two sources, as FACTS.md describes an OOM kill: the Pod's container status
// (`terminated.reason: OOMKilled`, exit code 137) and the agent's evidence folder
// (result.json, exec/*.json, events.jsonl, memory.tsv). A missing result.json means
// the whole container died; then the event stream still tells which packages had
// passed before it did. A package killed while others passed is an OOM kill even if
// the Pod's exit code is 1.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/retry.h"

namespace gotestrun::controllers {

struct AttemptEvidence {
  policy::AttemptOutcome outcome;
  bool pod_oom_killed = false;   // the container status said OOMKilled
  bool agent_result = false;     // result.json was there
  std::string killed_package;    // the package named as killed, if one was
  // When the container died while several test binaries ran: all of them (the policy
  // splits the shard to find which).
  std::vector<std::string> suspects;
  std::string running_test;      // the test running in it at the kill
  std::string phase;             // compile, link, init, test-run, unknown
  std::optional<uint64_t> peak;  // the attempt's peak (cgroup)
  std::string message;           // one line for people
};

// `attempt_dir` is the attempt's folder on the profiles volume; `pod` its Pod.
AttemptEvidence ReadAttemptEvidence(const std::string& attempt_dir, const policy::ShardPlan& plan,
                                    const nlohmann::json& pod);

// True when the Pod has ended (Succeeded or Failed).
bool PodFinished(const nlohmann::json& pod);

}  // namespace gotestrun::controllers
