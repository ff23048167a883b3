// Runs one command tree under a real memory cgroup limit, as one Pod of a CI job
// would run it, and prints one JSON line about how it ended: the limit, the kernel's
// peak for the cgroup (builds included), the OOM kills the kernel counted, the exit,
// and the wall time. The convergence benchmark (run.sh) builds its baselines from
// these lines; the cgroup work is the project's sandbox (sandbox/sandbox.h), the
// same the local runner puts its attempts in.
//
//   convergence_cgroup_run [--limit-mib N] [--timeout-s S] [--stall-after-s S]
//       [--dir DIR] [--log FILE] [--env NAME=value]... [--label TEXT] -- COMMAND...
//
// --limit-mib 0 (the default) measures without a limit. As the local runner's
// attempts and Pods on cgroup v2 (memory.oom.group), one OOM kill ends the whole
// tree. --stall-after-s ends a tree pinned at its limit (sandbox/memory_stall.h),
// as the local runner's default watch does, so that a baseline does not sit in a
// stall for minutes where gotestrun would not. Exit code 0 when the command ran (whatever
// its result), 2 for bad arguments or a command that cannot start.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sandbox/sandbox.h"

namespace {

using gotestrun::sandbox::MemoryEnforcementName;
using gotestrun::sandbox::RunOptions;
using gotestrun::sandbox::Sandbox;

int Usage(const std::string& why) {
  std::cerr << "convergence_cgroup_run: " << why
            << "\nusage: convergence_cgroup_run [--limit-mib N] [--timeout-s S] [--stall-after-s S] [--dir DIR]"
               " [--log FILE] [--env NAME=value]... [--label TEXT] -- COMMAND...\n";
  return 2;
}

double Seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  RunOptions options;
  std::uint64_t limit_mib = 0;
  std::string label;
  std::size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i) {
    const std::string& flag = args[i];
    if (i + 1 >= args.size()) return Usage(flag + " needs a value");
    const std::string& value = args[++i];
    try {
      if (flag == "--limit-mib") {
        limit_mib = std::stoull(value);
      } else if (flag == "--timeout-s") {
        options.timeout = std::chrono::seconds(std::stoll(value));
      } else if (flag == "--stall-after-s") {
        options.memory_stall_after = std::chrono::seconds(std::stoll(value));
      } else if (flag == "--dir") {
        options.working_dir = value;
      } else if (flag == "--log") {
        options.output_file = value;
      } else if (flag == "--env") {
        options.env.push_back(value);
      } else if (flag == "--label") {
        label = value;
      } else {
        return Usage("unknown option " + flag);
      }
    } catch (const std::exception&) {
      return Usage("bad number for " + flag + ": " + value);
    }
  }
  if (i + 1 >= args.size()) return Usage("no command after --");
  options.argv.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  options.memory_limit_bytes = limit_mib << 20;
  options.kill_tree_on_oom = true;
  // What a killed test leaves in TMPDIR (t.TempDir, go's work folder) goes with the
  // run, as with gotestrun's own attempts.
  options.private_tmp = true;

  Sandbox sandbox;
  const auto start = std::chrono::system_clock::now();
  auto result = sandbox.Run(options);
  const auto end = std::chrono::system_clock::now();
  if (!result.ok()) return Usage(result.status().ToString());

  nlohmann::json line = {
      {"label", label},
      {"limit_bytes", options.memory_limit_bytes},
      {"peak_bytes", result->peak_bytes},
      {"oom_kills", result->oom_kill_count},
      {"oom_killed", result->oom_killed},
      {"memory_stall", result->memory_stall},
      {"timed_out", result->timed_out},
      {"exit_code", result->exit.exit_code},
      {"signal", result->exit.signal},
      {"start", Seconds(start)},
      {"end", Seconds(end)},
      {"wall_s", std::chrono::duration<double>(result->wall_time).count()},
      {"enforcement", std::string(MemoryEnforcementName(result->enforcement))},
      {"enforcement_note", result->enforcement_note},
  };
  std::cout << line.dump() << std::endl;
  return 0;
}
