#include "cli/command_line.h"

#include <functional>
#include <map>
#include <optional>
#include <vector>

namespace gotestrun::cli {

const char kUsage[] =
    "gotestrun: run Go test suites under memory limits; read OOM kills, retry with a better\n"
    "plan and say why a package needed its memory. The same engine as gotestrun-operator,\n"
    "on this machine: each shard attempt runs in a memory cgroup of its own.\n"
    "\n"
    "usage:\n"
    "  gotestrun run [PACKAGES...] [flags]       run a module's tests (default ./...)\n"
    "  gotestrun run -f RUN.yaml [flags]         run a GoTestRun manifest on this machine\n"
    "  gotestrun describe RUN_DIR                a local run, from its folder\n"
    "  gotestrun describe NAME [-n NAMESPACE] [--kubeconfig PATH]\n"
    "                                            a GoTestRun in a cluster\n"
    "  gotestrun version\n"
    "  gotestrun help\n"
    "\n"
    "run flags:\n"
    "  -f FILE             a GoTestRun manifest (\"-\": stdin). Its source and image are a\n"
    "                      cluster's: the module is the one in --module-dir (source.moduleDir\n"
    "                      taken inside it) and go the one on PATH. Flags override its fields.\n"
    "  --module-dir DIR    the Go module (default .)\n"
    "  --memory Q          every shard's first limit (default 512Mi)\n"
    "  --max-memory Q      no attempt goes above it (default 2Gi)\n"
    "  --shards N          shards to start with (default 1)\n"
    "  --max-shards N      shards at once, at most (default 32)\n"
    "  --parallel N        go test -parallel (default: go's)\n"
    "  --p N               go test -p (default: go's)\n"
    "  --max-attempts N    attempts per package, the first included (default 4)\n"
    "  --name NAME         the run's name (default: the module folder's name and the time)\n"
    "  --out RUN_DIR       the run folder (default MODULE/.gotestrun/runs/NAME)\n"
    "  --agent PATH        gotestrun-agent (default: next to gotestrun, the build tree, $PATH)\n"
    "  --json-progress     progress on stderr as one JSON object per line\n"
    "  --no-history        plan as a first run, and do not record this run's peaks in the\n"
    "                      module's memory history (MODULE/.gotestrun/history/)\n"
    "  --memory-stall-after D  end an attempt that sits at its memory limit while the\n"
    "                      kernel thrashes (refaults, major faults, memory pressure) for D,\n"
    "                      and retry it as after an OOM kill (default 10s, 2s to 10m)\n"
    "  --no-memory-stall   let such an attempt crawl until it ends or times out\n"
    "  --machine-memory Q  the most the limits of the shards running at once may add up\n"
    "                      to (default: the memory available to this process); at most\n"
    "                      one shard per CPU runs at once\n"
    "\n"
    "The run folder holds run.yaml, status.yaml (the status the operator would write),\n"
    "the evidence of every shard attempt (s<i>/a<k>/), report.html and junit.xml. Each\n"
    "run is planned from the peaks earlier runs of the module measured, and adds its own\n"
    "(MODULE/.gotestrun/history/); a package that grew past its baseline is flagged.\n"
    "Progress goes to stderr, the summary to stdout. Ctrl-C stops every process of the\n"
    "run and leaves the status Failed (Interrupted).\n"
    "\n"
    "exit codes of run:\n"
    "  0    every package passed\n"
    "  1    tests failed, a build failed, or the run failed otherwise (1 wins over 3)\n"
    "  2    bad usage or an invalid spec (the CRD's message), no module, no agent\n"
    "  3    could not fit in memory: a package ended on OOM kills (DoesNotFit at\n"
    "       --max-memory, or its attempts spent)\n"
    "  130  interrupted (SIGINT, SIGTERM)\n"
    "describe exits 0, 1 when the run cannot be read, 2 on bad usage.\n";

namespace {

// Splits "--name=value"; `value` empty when there is no '='.
std::pair<std::string, std::optional<std::string>> SplitOption(const std::string& arg) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos) return {arg, std::nullopt};
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

// Walks options and positionals. `takes_value` says which options have a value;
// `on_option` gets each option with its value (empty for a switch).
Status Walk(std::span<const std::string> args, const std::map<std::string, bool>& options,
            const std::function<Status(const std::string&, const std::string&)>& on_option,
            std::vector<std::string>& positional) {
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    auto [name, inline_value] = SplitOption(arg);
    auto known = options.find(name);
    if (known == options.end()) return InvalidArgumentError("unknown option " + name);
    if (!known->second) {
      if (inline_value) return InvalidArgumentError(name + " takes no value");
      GTR_RETURN_IF_ERROR(on_option(name, ""));
      continue;
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return InvalidArgumentError(name + " needs a value");
    }
    if (value.empty()) return InvalidArgumentError(name + " needs a value");
    GTR_RETURN_IF_ERROR(on_option(name, value));
  }
  return Status::Ok();
}

StatusOr<Command> ParseRun(std::span<const std::string> args) {
  Command c;
  c.kind = Command::Kind::kRun;
  cli::RunFlags& f = c.run;
  const std::map<std::string, bool> options = {
      {"-f", true},
      {"--filename", true},
      {"--module-dir", true},
      {"--memory", true},
      {"--max-memory", true},
      {"--shards", true},
      {"--max-shards", true},
      {"--parallel", true},
      {"--p", true},
      {"--max-attempts", true},
      {"--name", true},
      {"--out", true},
      {"--agent", true},
      {"--json-progress", false},
      {"--no-history", false},
      {"--help", false},
      {"--memory-stall-after", true},
      {"--no-memory-stall", false},
      {"--machine-memory", true},
      {"-h", false},
  };
  bool help = false;
  std::vector<std::string> positional;
  GTR_RETURN_IF_ERROR(Walk(
      args, options,
      [&](const std::string& name, const std::string& value) -> Status {
        if (name == "-f" || name == "--filename") f.manifest_file = value;
        else if (name == "--module-dir") f.module_dir = value;
        else if (name == "--memory") f.memory = value;
        else if (name == "--max-memory") f.max_memory = value;
        else if (name == "--shards") f.shards = value;
        else if (name == "--max-shards") f.max_shards = value;
        else if (name == "--parallel") f.parallel = value;
        else if (name == "--p") f.p = value;
        else if (name == "--max-attempts") f.max_attempts = value;
        else if (name == "--name") f.name = value;
        else if (name == "--out") f.out = value;
        else if (name == "--agent") f.agent = value;
        else if (name == "--json-progress") f.json_progress = true;
        else if (name == "--no-history") f.no_history = true;
        else if (name == "--memory-stall-after") f.memory_stall_after = value;
        else if (name == "--no-memory-stall") f.no_memory_stall = true;
        else if (name == "--machine-memory") f.machine_memory = value;
        else help = true;
        return Status::Ok();
      },
      positional));
  if (help) return Command{};
  f.packages = std::move(positional);
  return c;
}

StatusOr<Command> ParseDescribe(std::span<const std::string> args) {
  Command c;
  c.kind = Command::Kind::kDescribe;
  const std::map<std::string, bool> options = {
      {"-n", true}, {"--namespace", true}, {"--kubeconfig", true}, {"--help", false}, {"-h", false}};
  bool help = false;
  std::vector<std::string> positional;
  GTR_RETURN_IF_ERROR(Walk(
      args, options,
      [&](const std::string& name, const std::string& value) -> Status {
        if (name == "-n" || name == "--namespace") {
          c.describe.ns = value;
          c.describe.cluster = true;
        } else if (name == "--kubeconfig") {
          c.describe.kubeconfig = value;
          c.describe.cluster = true;
        } else {
          help = true;
        }
        return Status::Ok();
      },
      positional));
  if (help) return Command{};
  if (positional.size() != 1) {
    return InvalidArgumentError(positional.empty() ? "describe needs a run folder or the name of a GoTestRun"
                                                   : "describe takes one run folder or name, not " +
                                                         std::to_string(positional.size()));
  }
  c.describe.target = positional.front();
  return c;
}

}  // namespace

StatusOr<Command> ParseCommandLine(std::span<const std::string> args) {
  if (args.empty()) return InvalidArgumentError("no command");
  const std::string& command = args.front();
  std::span<const std::string> rest = args.subspan(1);
  if (command == "run") return ParseRun(rest);
  if (command == "describe") return ParseDescribe(rest);
  if (command == "help" || command == "--help" || command == "-h") return Command{};
  if (command == "version" || command == "--version") return Command{.kind = Command::Kind::kVersion};
  return InvalidArgumentError("unknown command " + command);
}

}  // namespace gotestrun::cli
