#include "agent/go_test_command.h"

#include <array>
#include <utility>

#include "agent/heap_overlay.h"

namespace gotestrun::agent {
namespace {

struct OwnedFlag {
  std::string_view name;
  std::string_view instead;  // what to use instead, for the error message
};

constexpr std::array<OwnedFlag, 10> kOwnedFlags{{
    {"json", "the agent always streams -json into events.jsonl"},
    {"vet", "the agent runs with -vet=off: vet cannot read the heap snapshot overlay"},
    {"exec", "the agent's exec wrapper records how each test binary ends"},
    {"overlay", "the agent injects its heap snapshot file with -overlay"},
    {"toolexec", "the agent reserves -toolexec for build evidence"},
    {"parallel", "use --parallel"},
    {"test.parallel", "use --parallel"},
    {"p", "use --p"},
    {"o", "the agent runs the test binaries; it does not keep them"},
    {"c", "the agent runs the test binaries; it does not only compile them"},
}};

// The flag's name without dashes and value, or "" for an argument that is not a flag.
std::string_view FlagName(std::string_view arg) {
  if (arg.size() < 2 || arg[0] != '-') return {};
  arg.remove_prefix(arg[1] == '-' ? 2 : 1);
  return arg.substr(0, arg.find('='));
}

bool IsArgs(std::string_view arg) { return arg == "-args" || arg == "--args"; }

bool NeedsQuotes(std::string_view s) {
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\'' || c == '"') return true;
  }
  return s.empty();
}

StatusOr<std::string> Quote(std::string_view s) {
  if (!NeedsQuotes(s)) return std::string(s);
  if (s.find('\'') == std::string_view::npos) return "'" + std::string(s) + "'";
  if (s.find('"') == std::string_view::npos) return "\"" + std::string(s) + "\"";
  return InvalidArgumentError("path " + std::string(s) + " has both quote characters; go test -exec cannot take it");
}

}  // namespace

Status CheckUserFlags(const RunOptions& options) {
  bool after_args = false;
  for (const std::string& flag : options.flags) {
    if (!after_args && IsArgs(flag)) {
      after_args = true;
      continue;
    }
    const std::string_view name = FlagName(flag);
    if (name.empty()) continue;
    for (const OwnedFlag& owned : kOwnedFlags) {
      // After -args only the test binary's own spelling reaches anything.
      if (after_args && owned.name != "test.parallel") continue;
      if (name == owned.name) {
        return InvalidArgumentError("go test flag " + flag + " is set by the agent: " + std::string(owned.instead));
      }
    }
    if (after_args) continue;
    if (name == "tags" && !options.tags.empty()) {
      return InvalidArgumentError("go test flag " + flag + " conflicts with --tags; give the tags once, with --tags");
    }
    if (name == "timeout" && !options.timeout.empty()) {
      return InvalidArgumentError("go test flag " + flag + " conflicts with --timeout; give it once, with --timeout");
    }
  }
  return Status::Ok();
}

namespace {
StatusOr<std::string> WrapperValue(std::string_view agent_path, std::string_view subcommand,
                                   std::string_view attempt_dir) {
  StatusOr<std::string> agent = Quote(agent_path);
  if (!agent.ok()) return agent.status();
  StatusOr<std::string> dir = Quote(attempt_dir);
  if (!dir.ok()) return dir.status();
  return *agent + " " + std::string(subcommand) + " --dir " + *dir;
}
}  // namespace

StatusOr<std::string> ExecWrapperValue(std::string_view agent_path, std::string_view attempt_dir) {
  return WrapperValue(agent_path, "exec", attempt_dir);
}

StatusOr<std::string> ToolexecWrapperValue(std::string_view agent_path, std::string_view attempt_dir) {
  return WrapperValue(agent_path, "toolexec", attempt_dir);
}

StatusOr<std::vector<std::string>> GoTestArgv(const RunOptions& options, std::string_view agent_path,
                                              std::string_view overlay_json) {
  GTR_RETURN_IF_ERROR(CheckUserFlags(options));
  StatusOr<std::string> exec = ExecWrapperValue(agent_path, options.attempt_dir);
  if (!exec.ok()) return exec.status();
  StatusOr<std::string> toolexec = ToolexecWrapperValue(agent_path, options.attempt_dir);
  if (!toolexec.ok()) return toolexec.status();
  std::vector<std::string> argv{
      "go", "test", "-json", "-vet=off", "-exec", std::move(exec).value(), "-toolexec", std::move(toolexec).value()};
  if (!overlay_json.empty()) argv.push_back("-overlay=" + std::string(overlay_json));
  if (options.parallel) argv.push_back("-parallel=" + std::to_string(*options.parallel));
  if (options.p) argv.push_back("-p=" + std::to_string(*options.p));
  if (!options.timeout.empty()) argv.push_back("-timeout=" + options.timeout);
  if (!options.tags.empty()) argv.push_back("-tags=" + options.tags);
  // Packages must come before -args: go test hands everything after it to the binaries.
  auto args = options.flags.begin();
  for (; args != options.flags.end() && !IsArgs(*args); ++args) argv.push_back(*args);
  for (const std::string& package : options.packages) argv.push_back(package);
  argv.insert(argv.end(), args, options.flags.end());
  return argv;
}

std::vector<std::string> GoTestEnv(const RunOptions& options) {
  std::vector<std::string> env{std::string(kHeapIntervalEnv) + "=" + std::to_string(options.heap_interval.count()) +
                               "ms"};
  if (options.gomemlimit_bytes) {
    env.push_back(std::string(kGoMemLimitEnv) + "=" + std::to_string(*options.gomemlimit_bytes));
  }
  return env;
}

}  // namespace gotestrun::agent
