// gotestrun-agent: the program inside each test Pod. Wiring only; see the headers of
// agent/ for what each subcommand does.
#include <cstdio>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "agent/command_line.h"
#include "base/version.h"
#include "core/evidence/evidence.h"
#include "agent/exec_wrapper.h"
#include "agent/go_list.h"
#include "agent/install.h"
#include "agent/runner.h"
#include "agent/toolexec.h"
#include "base/files.h"

namespace {

using namespace gotestrun;
using namespace gotestrun::agent;

constexpr const char* kUsage =
    "usage:\n"
    "  gotestrun-agent install DEST\n"
    "  gotestrun-agent list --module-dir DIR [--tags T] [--out FILE] [PATTERNS...]\n"
    "  gotestrun-agent run --dir ATTEMPT_DIR --module-dir DIR [--parallel N] [--p N]\n"
    "      [--gomemlimit BYTES] [--heap-interval DURATION] [--timeout DURATION] [--tags T]\n"
    "      [--flag F]... PACKAGES...\n"
    "  gotestrun-agent exec --dir ATTEMPT_DIR BINARY ARGS...\n"
    "  gotestrun-agent toolexec --dir ATTEMPT_DIR TOOL ARGS...\n"
    "  gotestrun-agent version\n";

int UsageError(const Status& status) {
  std::fprintf(stderr, "gotestrun-agent: %s\n%s", status.message().c_str(), kUsage);
  return 2;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "gotestrun-agent: %s\n", status.ToString().c_str());
  return 1;
}

int Install(const std::vector<std::string>& args) {
  StatusOr<InstallOptions> options = ParseInstallArgs(args);
  if (!options.ok()) return UsageError(options.status());
  if (Status s = InstallSelf(options->dest); !s.ok()) return Fail(s);
  return 0;
}

int List(const std::vector<std::string>& args) {
  StatusOr<ListOptions> options = ParseListArgs(args);
  if (!options.ok()) return UsageError(options.status());
  StatusOr<std::vector<evidence::PackageListing>> packages =
      ListPackages(options->module_dir, options->tags, options->patterns);
  if (!packages.ok()) return Fail(packages.status());
  const std::string json = evidence::EncodePackageListings(*packages);
  if (options->out.empty()) {
    std::fwrite(json.data(), 1, json.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  if (Status s = WriteFileAtomic(options->out, json); !s.ok()) return Fail(s);
  return 0;
}

int Run(const std::vector<std::string>& args) {
  StatusOr<RunOptions> options = ParseRunArgs(args);
  if (!options.ok()) return UsageError(options.status());
  StatusOr<std::string> self = SelfExecutablePath();
  if (!self.ok()) return Fail(self.status());
  return RunAttempt(*options, *self);
}

int Exec(const std::vector<std::string>& args) {
  StatusOr<ExecOptions> options = ParseExecArgs(args);
  if (!options.ok()) return UsageError(options.status());
  ExitLike(RunTestBinary(*options));
}

int Toolexec(const std::vector<std::string>& args) {
  StatusOr<ExecOptions> options = ParseToolexecArgs(args);
  if (!options.ok()) return UsageError(options.status());
  ExitLike(RunBuildTool(*options));
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_logger_st("gotestrun-agent"));
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "install") return Install(args);
  if (command == "list") return List(args);
  if (command == "run") return Run(args);
  if (command == "exec") return Exec(args);
  if (command == "toolexec") return Toolexec(args);
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "version" || command == "--version") {
    std::printf("gotestrun-agent %s\n", kVersion);
    return 0;
  }
  std::fprintf(stderr, "gotestrun-agent: unknown command %s\n%s", command.c_str(), kUsage);
  return 2;
}
