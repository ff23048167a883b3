#include "cli/executor.h"

#include <filesystem>

#include "core/engine/agent_command.h"

namespace gotestrun::cli {
namespace {

// The agent writes result.json after go test ends; a stopped attempt gets this long
// between SIGTERM and SIGKILL to do so.
constexpr std::chrono::milliseconds kStopGrace{2000};
// How long past `after` the sandbox waits for the agent to end a stall: the agent needs
// a sample or two to confirm it and go test a moment to reap the binary.
constexpr std::chrono::milliseconds kStallBackstopGrace{3000};

}  // namespace

std::vector<std::string> AgentRunArgv(const AgentCommand& c, const policy::ShardPlan& plan,
                                      const std::string& attempt_dir) {
  return engine::AgentRunArgv(c.agent, attempt_dir, c.module_dir, c.spec, plan);
}

std::vector<std::string> AgentListArgv(const AgentCommand& c, const std::string& out_file) {
  return engine::AgentListArgv(c.agent, c.module_dir, out_file, c.spec);
}

SandboxExecutor::SandboxExecutor(const sandbox::Sandbox& sandbox, AgentCommand command)
    : sandbox_(sandbox), command_(std::move(command)) {}

StatusOr<ProcessEnd> SandboxExecutor::Run(sandbox::RunOptions options, const StopFn& stop) const {
  options.env = command_.env;
  // What a killed test or go command leaves in TMPDIR goes with the attempt.
  options.private_tmp = true;
  options.working_dir = command_.module_dir;
  options.stop_requested = stop;
  options.stop_grace = kStopGrace;
  StatusOr<sandbox::RunResult> r = sandbox_.Run(options);
  if (!r.ok()) return r.status();
  ProcessEnd end;
  end.end.oom_killed = r->oom_killed;
  end.end.killed_at_limit = r->killed_at_limit;
  end.end.memory_stall = r->memory_stall;
  end.end.stall_evidence = r->stall_evidence;
  // As a container runtime reports it: 128 + the signal that ended the top process.
  end.end.exit_code = r->exit.signal != 0 ? 128 + r->exit.signal : r->exit.exit_code;
  end.stopped = r->stopped;
  if (r->enforcement == sandbox::MemoryEnforcement::kRssWatch) {
    end.limit_note = "memory limit enforced by watching RSS (no memory cgroup: " + r->enforcement_note + ")";
  }
  return end;
}

StatusOr<ProcessEnd> SandboxExecutor::ListPackages(const std::string& out_file, const std::string& log_file,
                                                   const StopFn& stop) {
  sandbox::RunOptions options;
  options.argv = AgentListArgv(command_, out_file);
  options.output_file = log_file;
  return Run(std::move(options), stop);
}

StatusOr<ProcessEnd> SandboxExecutor::RunAttempt(const policy::ShardPlan& plan, const std::string& attempt_dir,
                                                 const std::function<void(std::uint64_t)>& on_memory,
                                                 const StopFn& stop) {
  std::error_code ec;
  std::filesystem::create_directories(attempt_dir, ec);
  if (ec) return UnavailableError("cannot make " + attempt_dir + ": " + ec.message());
  sandbox::RunOptions options;
  options.argv = AgentRunArgv(command_, plan, attempt_dir);
  // The agent's own output (a line per package, its errors); go test's is in events.jsonl.
  options.output_file = attempt_dir + "/agent.log";
  options.memory_limit_bytes = plan.memory;
  // As on cgroup v2 with memory.oom.group, and as the operator's Pods: one OOM kill
  // ends the attempt, and its evidence says what was running.
  options.kill_tree_on_oom = true;
  options.sample_interval = std::chrono::milliseconds(250);
  // The agent ends a stall itself, with its evidence; the sandbox ends the whole tree
  // only when the stall outlasts the agent's chance (a compile stalling, an agent gone).
  if (command_.spec.memory_stall_enabled)
    options.memory_stall_after = command_.spec.memory_stall_after + kStallBackstopGrace;
  if (on_memory) options.on_sample = [&](const sandbox::MemorySample& s) { on_memory(s.usage_bytes); };
  return Run(std::move(options), stop);
}

}  // namespace gotestrun::cli
