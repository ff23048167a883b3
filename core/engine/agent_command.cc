#include "core/engine/agent_command.h"

namespace gotestrun::engine {
namespace {

// go's -tags takes one comma-separated list.
std::string JoinTags(const std::vector<std::string>& tags) {
  std::string out;
  for (const std::string& t : tags) out += (out.empty() ? "" : ",") + t;
  return out;
}

}  // namespace

std::vector<std::string> AgentRunArgv(const std::string& agent, const std::string& attempt_dir,
                                      const std::string& module_dir, const api::GoTestRunSpec& spec,
                                      const policy::ShardPlan& plan) {
  std::vector<std::string> argv = {agent, "run", "--dir", attempt_dir, "--module-dir", module_dir};
  auto add = [&](const std::string& flag, const std::string& value) {
    argv.push_back(flag);
    argv.push_back(value);
  };
  if (plan.parallel) add("--parallel", std::to_string(*plan.parallel));
  if (plan.p) add("--p", std::to_string(*plan.p));
  if (plan.gomemlimit) add("--gomemlimit", std::to_string(*plan.gomemlimit));
  if (spec.profiling) add("--heap-interval", std::to_string(spec.heap_interval.count()) + "ms");
  // Always said, so an agent's own default never decides: 0s switches the watch off.
  add("--memory-stall-after",
      spec.memory_stall_enabled ? std::to_string(spec.memory_stall_after.count()) + "ms" : std::string("0s"));
  if (!spec.timeout.empty()) add("--timeout", spec.timeout);
  if (!spec.tags.empty()) add("--tags", JoinTags(spec.tags));
  for (const std::string& f : spec.flags) add("--flag", f);
  argv.push_back("--");
  for (const std::string& p : plan.packages) argv.push_back(p);
  return argv;
}

std::vector<std::string> AgentListArgv(const std::string& agent, const std::string& module_dir,
                                       const std::string& out_file, const api::GoTestRunSpec& spec) {
  std::vector<std::string> argv = {agent, "list", "--module-dir", module_dir, "--out", out_file};
  if (!spec.tags.empty()) {
    argv.push_back("--tags");
    argv.push_back(JoinTags(spec.tags));
  }
  argv.push_back("--");
  for (const std::string& p : spec.packages) argv.push_back(p);
  return argv;
}

}  // namespace gotestrun::engine
