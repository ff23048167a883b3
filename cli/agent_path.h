// Where the gotestrun-agent program is: the local runner starts it as the top process
// of every shard attempt, as the operator's Pods do.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace gotestrun::cli {

inline constexpr char kAgentName[] = "gotestrun-agent";

// The places looked at, in order: `explicit_path` when given (and then only it); next
// to `self_exe` (an installed pair); the build tree's agent/ folder seen from
// cmd/gotestrun/ (a build folder); then each folder of `path_env` ($PATH).
std::vector<std::string> AgentCandidates(const std::string& explicit_path, const std::string& self_exe,
                                         const std::string& path_env);

// The first candidate that is an executable file; NotFound listing where it looked.
StatusOr<std::string> FindAgent(const std::string& explicit_path, const std::string& self_exe,
                                const std::string& path_env);

}  // namespace gotestrun::cli
