// Questions the end-to-end tests ask of a finished run's status (GoTestRun status or a
// local run's status.yaml, which share one codec).
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace gotestrun::testing {

// Whether the status pins an OOM kill (or a memory stall) on `package`: on the attempt
// itself when only that package's test binary was running, or in the diagnosis of that
// attempt when the container died while several binaries ran. Which of the two happens
// depends on timing (whether the other packages' binaries had ended), so a test that
// asks "was the package named" must accept both.
inline bool NamesKilledPackage(const nlohmann::json& status, const std::string& package) {
  auto diagnosed = [&](const std::string& pod) {
    for (const nlohmann::json& d : status.value("diagnosis", nlohmann::json::array())) {
      if (d.value("attempt", "") == pod && d.value("package", "") == package) return true;
    }
    return false;
  };
  for (const nlohmann::json& shard : status.value("shards", nlohmann::json::array())) {
    for (const nlohmann::json& a : shard.value("attempts", nlohmann::json::array())) {
      const std::string outcome = a.value("outcome", "");
      if (outcome != "OOMKilled" && outcome != "MemoryStall") continue;
      if (a.value("killedPackage", "") == package) return true;
      if (a.value("killedPackage", "").empty() && diagnosed(a.value("pod", ""))) return true;
    }
  }
  return false;
}

// Attempts that ended at their memory limit: OOM-killed (status.oomKills), or stalled
// there and ended by the agent (outcome MemoryStall). Under load a binary at its limit
// may thrash on refaults (cgroup v1 reclaims its text pages) rather than meet the OOM
// killer; both end the attempt and are retried with more memory, so a test asking
// "was the first attempt too small" must count both.
inline int EndedAtTheLimit(const nlohmann::json& status) {
  int stalls = 0;
  for (const nlohmann::json& shard : status.value("shards", nlohmann::json::array())) {
    for (const nlohmann::json& a : shard.value("attempts", nlohmann::json::array())) {
      if (a.value("outcome", "") == "MemoryStall") ++stalls;
    }
  }
  return status.value("oomKills", 0) + stalls;
}

// Whether the run ended `package` as needing more than maxMemory: its diagnosis names
// `cause`, its action is DoesNotFit, and its verdict says the cap (`max_memory`, e.g.
// "288Mi"). Fails, saying what was there instead, when no diagnosis entry is that.
inline ::testing::AssertionResult DiagnosedDoesNotFit(const nlohmann::json& status, const std::string& package,
                                                      const std::string& cause, const std::string& max_memory) {
  std::string seen;
  for (const nlohmann::json& d : status.value("diagnosis", nlohmann::json::array())) {
    if (d.value("package", "") != package) continue;
    if (d.value("cause", "") == cause && d.value("action", "").starts_with("DoesNotFit") &&
        d.value("verdict", "").find(max_memory) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
    seen += "\n  " + d.dump();
  }
  return ::testing::AssertionFailure() << "no diagnosis of " << package << " with cause " << cause
                                       << ", action DoesNotFit and a verdict naming " << max_memory
                                       << (seen.empty() ? std::string(": none of it at all") : "; its entries:" + seen);
}

}  // namespace gotestrun::testing
