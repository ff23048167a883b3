// How the local runner runs the agent: `gotestrun-agent list` to plan, and one
// `gotestrun-agent run` per shard attempt as the top process of a memory cgroup of its
// own (sandbox/sandbox.h), the way the operator runs it as a Pod's container.
//
// The runner talks to an AttemptExecutor so that its loop can be tested with an
// executor that writes evidence folders instead of running go test.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/api/gotestrun.h"
#include "base/status.h"
#include "core/engine/attempt_evidence.h"
#include "core/policy/plan.h"
#include "sandbox/sandbox.h"

namespace gotestrun::cli {

// How a process tree of the run ended.
struct ProcessEnd {
  engine::ContainerEnd end;  // as engine::ReadAttemptEvidence reads a container's end
  bool stopped = false;      // stopped on request (Ctrl-C): not an outcome of its own
  // Set when the limit was not enforced by a memory cgroup: the RSS watch, and why.
  std::string limit_note;
};

class AttemptExecutor {
 public:
  virtual ~AttemptExecutor() = default;
  // `stop` is polled while the process tree runs; true stops it (SIGTERM, a grace for
  // the agent to write result.json, then SIGKILL to the whole cgroup or tree).
  using StopFn = std::function<bool()>;

  // `gotestrun-agent list` of the run's packages into `out_file` (evidence::PackageListing
  // JSON), its output into `log_file`. An error only when it could not be started.
  virtual StatusOr<ProcessEnd> ListPackages(const std::string& out_file, const std::string& log_file,
                                            const StopFn& stop) = 0;
  // One shard attempt, to its end, leaving its evidence in `attempt_dir`. `on_memory`
  // is called from the calling thread every ~250 ms with the tree's memory in bytes.
  // Safe to call from several threads at once.
  virtual StatusOr<ProcessEnd> RunAttempt(const policy::ShardPlan& plan, const std::string& attempt_dir,
                                          const std::function<void(std::uint64_t)>& on_memory, const StopFn& stop) = 0;
};

// What the agent runs with, besides the plan.
struct AgentCommand {
  std::string agent;       // the gotestrun-agent executable
  std::string module_dir;  // absolute
  api::GoTestRunSpec spec;
  std::vector<std::string> env;  // "NAME=value", added to ours
};

// `gotestrun-agent run ...` for one attempt: the same command the operator puts in an
// attempt's Pod (controllers/gotestrun/pods.cc), with local paths.
std::vector<std::string> AgentRunArgv(const AgentCommand& command, const policy::ShardPlan& plan,
                                      const std::string& attempt_dir);
// `gotestrun-agent list ...`, as the planning Pod runs it.
std::vector<std::string> AgentListArgv(const AgentCommand& command, const std::string& out_file);

// The real thing: each process tree in a memory cgroup through the sandbox.
class SandboxExecutor final : public AttemptExecutor {
 public:
  SandboxExecutor(const sandbox::Sandbox& sandbox, AgentCommand command);

  StatusOr<ProcessEnd> ListPackages(const std::string& out_file, const std::string& log_file,
                                    const StopFn& stop) override;
  StatusOr<ProcessEnd> RunAttempt(const policy::ShardPlan& plan, const std::string& attempt_dir,
                                  const std::function<void(std::uint64_t)>& on_memory, const StopFn& stop) override;

 private:
  StatusOr<ProcessEnd> Run(sandbox::RunOptions options, const StopFn& stop) const;

  const sandbox::Sandbox& sandbox_;
  const AgentCommand command_;
};

}  // namespace gotestrun::cli
