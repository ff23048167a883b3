// gotestrun: `run` a GoTestRun on this machine with the operator's engine, and
// `describe` a run, local or in a cluster. Wiring only; see local/ and engine/.
//
// Exit codes of `gotestrun run` (local/exit_code.h, and `gotestrun help`):
//   0 every package passed; 1 tests or a build failed, or the run failed otherwise;
//   2 bad usage, an invalid spec, no module or no agent; 3 could not fit in memory
//   (a package ended on OOM kills); 130 interrupted (SIGINT, SIGTERM).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "agent/install.h"
#include "base/files.h"
#include "base/terminal_text.h"
#include "base/version.h"
#include "cli/command_line.h"
#include "core/engine/describe.h"
#include "cli/agent_path.h"
#include "cli/executor.h"
#include "cli/exit_code.h"
#include "cli/progress.h"
#include "cli/local_run_folder.h"
#include "cli/run_spec.h"
#include "cli/local_runner.h"
#include "kube/client/client.h"
#include "sandbox/sandbox.h"

namespace {

using namespace gotestrun;
namespace fs = std::filesystem;

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

// A handler, not a blocked mask and sigwait: handlers are reset by exec, a blocked mask
// would be inherited by every process of the run.
void OnSignal(int) { g_stop.store(true); }

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int Usage(const std::string& problem) {
  std::fprintf(stderr, "gotestrun: %s\n\n%s", TerminalText(problem).c_str(), cli::kUsage);
  return cli::kExitUsage;
}

int Error(int code, const std::string& problem) {
  // Problems quote paths, names and messages from outside.
  std::fprintf(stderr, "gotestrun: %s\n", TerminalText(problem).c_str());
  return code;
}

cli::ProgressStyle StyleFor(const cli::RunFlags& flags) {
  if (flags.json_progress) return cli::ProgressStyle::kJson;
  const char* term = std::getenv("TERM");
  bool dumb = term == nullptr || std::string(term) == "dumb";
  return ::isatty(STDERR_FILENO) && !dumb ? cli::ProgressStyle::kTerminal : cli::ProgressStyle::kLines;
}

int Run(cli::RunFlags flags) {
  std::optional<nlohmann::json> manifest;
  if (!flags.manifest_file.empty()) {
    StatusOr<std::string> text = cli::ReadManifest(flags.manifest_file, std::cin);
    if (!text.ok()) return Error(cli::kExitUsage, "-f " + flags.manifest_file + ": " + text.status().message());
    StatusOr<nlohmann::json> object = cli::DecodeManifest(*text);
    if (!object.ok()) return Error(cli::kExitUsage, flags.manifest_file + ": " + object.status().message());
    manifest = std::move(*object);
  }
  if (const char* goflags = std::getenv("GOFLAGS"); goflags != nullptr) flags.shell_goflags = goflags;
  std::error_code ec;
  StatusOr<cli::LocalRun> run =
      cli::ResolveRun(flags, manifest, fs::current_path(ec).string(), std::chrono::system_clock::now());
  if (!run.ok()) return Error(cli::kExitUsage, run.status().message());
  if (Status s = cli::CheckModuleDir(run->module_dir); !s.ok()) return Error(cli::kExitUsage, s.message());
  StatusOr<std::string> self = agent::SelfExecutablePath();
  const char* path = std::getenv("PATH");
  StatusOr<std::string> agent_path = cli::FindAgent(flags.agent, self.ok() ? *self : "", path ? path : "");
  if (!agent_path.ok()) return Error(cli::kExitUsage, agent_path.status().message());

  InstallSignalHandlers();
  cli::Progress progress(StyleFor(flags), stderr);
  // Making the sandbox also ends what runs of a killed gotestrun left in their cgroups;
  // then their run folders in this module are told they ended.
  sandbox::Sandbox sandbox;
  for (const fs::directory_entry& e : fs::directory_iterator(run->module_dir + "/.gotestrun/runs", ec)) {
    StatusOr<bool> ended = cli::EndAbandonedRun(e.path().string());
    if (ended.ok() && *ended) {
      progress.Note("note: " + e.path().string() +
                    " was left unfinished by a gotestrun that is gone: its status now says Failed (Interrupted)");
    }
  }
  progress.Note("gotestrun: run " + run->name + " in " + run->run_dir);
  for (const std::string& note : run->notes) progress.Note("note: " + note);
  if (sandbox.enforcement() == sandbox::MemoryEnforcement::kRssWatch) {
    progress.Note("warning: no memory cgroup (" + sandbox.enforcement_note() +
                  "): limits are enforced by watching each attempt's RSS, and a kill at the limit is ours, "
                  "not the kernel's");
  }
  run->budget = cli::ReadMachineBudget(run->machine_memory);
  cli::SandboxExecutor executor(
      sandbox, {.agent = *agent_path, .module_dir = run->module_dir, .spec = run->spec, .env = run->env});
  StatusOr<cli::RunEnd> end = cli::RunLocally(*run, executor, progress, [] { return g_stop.load(); });
  if (!end.ok()) {
    return Error(end.status().code() == StatusCode::kAlreadyExists ? cli::kExitUsage : cli::kExitFailed,
                 end.status().message());
  }
  std::string summary = engine::SummarizeRun(end->run);
  std::fputs(("\n" + summary).c_str(), stdout);
  for (const std::string& r : end->reports) std::printf("report: %s\n", TerminalText(r).c_str());
  std::printf("status: %s\ndescribe: gotestrun describe %s\n", cli::LocalRunLayout(run->run_dir).status_yaml().c_str(),
              run->run_dir.c_str());
  std::fflush(stdout);
  return end->exit_code;
}

int DescribeCluster(const cli::DescribeArgs& args) {
  StatusOr<kube::ClusterConfig> config =
      args.kubeconfig.empty() ? kube::DefaultConfig() : kube::LoadKubeconfig(args.kubeconfig);
  if (!config.ok()) return Error(1, "kubernetes config: " + config.status().message());
  std::string ns = args.ns.empty() ? config->default_namespace : args.ns;
  StatusOr<std::unique_ptr<kube::Client>> client = kube::Client::Create(*config);
  if (!client.ok()) return Error(1, "kubernetes client: " + client.status().message());
  const kube::ResourceType runs{gotestrun::api::kGroup, gotestrun::api::kVersion, "gotestruns", true};
  StatusOr<nlohmann::json> run = (*client)->Get(runs, ns, args.target);
  if (!run.ok()) {
    if (run.status().code() == StatusCode::kNotFound) {
      return Error(1, "no GoTestRun " + args.target + " in namespace " + ns + " on " + config->Server() +
                          " (and no run folder of that name here)");
    }
    return Error(1, "get GoTestRun " + ns + "/" + args.target + ": " + run.status().message());
  }
  std::fputs(engine::DescribeRun(*run).c_str(), stdout);
  return 0;
}

int Describe(const cli::DescribeArgs& args) {
  std::error_code ec;
  bool folder = fs::is_directory(args.target, ec);
  if (!args.cluster && (folder || args.target.find('/') != std::string::npos)) {
    // A run its gotestrun never finished (killed) is told as ended, not as Running.
    StatusOr<bool> ended = cli::EndAbandonedRun(args.target);
    if (!ended.ok() && ended.status().code() != StatusCode::kNotFound) {
      std::fprintf(stderr, "gotestrun: %s\n", TerminalText(ended.status().message()).c_str());
    }
    StatusOr<nlohmann::json> run = cli::LoadRunObject(args.target);
    if (!run.ok()) return Error(1, run.status().message());
    std::fputs(engine::DescribeRun(*run).c_str(), stdout);
    return 0;
  }
  return DescribeCluster(args);
}

}  // namespace

int main(int argc, char** argv) {
  // The sandbox logs what it does; the progress display says what matters.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("gotestrun"));
  spdlog::set_level(spdlog::level::err);
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(cli::kUsage, stderr);
    return cli::kExitUsage;
  }
  StatusOr<cli::Command> command = cli::ParseCommandLine(args);
  if (!command.ok()) return Usage(command.status().message());
  switch (command->kind) {
    case cli::Command::Kind::kHelp: std::fputs(cli::kUsage, stdout); return 0;
    case cli::Command::Kind::kVersion: std::printf("gotestrun %s\n", kVersion); return 0;
    case cli::Command::Kind::kRun: return Run(command->run);
    case cli::Command::Kind::kDescribe: return Describe(command->describe);
  }
  return cli::kExitUsage;
}
