// The exit codes of `gotestrun run`, read from the run's status so that the code a
// script sees and the status a person reads never disagree:
//
//   0    every package passed
//   1    tests failed, a package did not build, or the run failed otherwise (planning
//        failed, an attempt ended without a result); this wins over 3, because a test
//        that fails is failing whatever memory it gets
//   2    bad usage or an invalid spec (the CRD's message), or nothing to run with
//        (no module folder, no gotestrun-agent)
//   3    could not fit in memory: a package ended on OOM kills (DoesNotFit at
//        maxMemory, or AttemptsSpent after kills)
//   130  interrupted (SIGINT or SIGTERM); the status says Interrupted
#pragma once

#include <nlohmann/json.hpp>

namespace gotestrun::cli {

inline constexpr int kExitPassed = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitDoesNotFit = 3;
inline constexpr int kExitInterrupted = 130;

// The condition reason a stopped run's status carries.
inline constexpr char kInterruptedReason[] = "Interrupted";

// From a settled status (phase Succeeded or Failed).
int ExitCodeOf(const nlohmann::json& status);

}  // namespace gotestrun::cli
