// The agent's command lines, as the operator's Pods and the local runner both run
// them (agent/command_line.h parses them): one builder, so the two cannot drift.
#pragma once

#include <string>
#include <vector>

#include "core/api/gotestrun.h"
#include "core/policy/plan.h"

namespace gotestrun::engine {

// `AGENT run --dir ATTEMPT_DIR --module-dir MODULE_DIR [knobs and go test flags] -- PACKAGES...`
// for one shard attempt. "--" ends the options, so no package is read as one.
std::vector<std::string> AgentRunArgv(const std::string& agent, const std::string& attempt_dir,
                                      const std::string& module_dir, const api::GoTestRunSpec& spec,
                                      const policy::ShardPlan& plan);

// `AGENT list --module-dir MODULE_DIR --out OUT_FILE [--tags T] -- PATTERNS...` for planning.
std::vector<std::string> AgentListArgv(const std::string& agent, const std::string& module_dir,
                                       const std::string& out_file, const api::GoTestRunSpec& spec);

}  // namespace gotestrun::engine
